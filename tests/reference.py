"""Plain torch.optim training loops: the ground truth the engine is compared with.

Written the way the tutorial trains (``nn.Linear``, ``MSELoss``, zero_grad / backward / step,
a closure for LBFGS), sharing nothing with the engine but the data, the starting point, the
hyperparameters and the batch order.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.optim import lr_scheduler

from lab.core.config import OptimizerConfig, RunConfig
from lab.core.data import BatchStream, initial_params, make_data
from lab.core.landscapes import get as get_landscape


def torch_loop(cfg: RunConfig, opt: OptimizerConfig, repeat: int = 0) -> np.ndarray:
    """(steps + 1, 2) trajectory of (w, b) from a plain torch.optim loop."""
    dtype = getattr(torch, cfg.dtype)
    if cfg.objective == "regression":
        x, y = make_data(cfg.data, cfg.seed)
        x, y = x.to(dtype).unsqueeze(1), y.to(dtype).unsqueeze(1)
        w0, b0 = cfg.init if cfg.init is not None else initial_params(cfg.seed, cfg.repeats)[repeat].tolist()
        model = nn.Linear(1, 1).to(dtype)
        with torch.no_grad():
            model.weight.fill_(w0)
            model.bias.fill_(b0)
        params = [model.weight, model.bias]
        criterion = nn.MSELoss()
        stream = BatchStream(cfg.data.samples, cfg.batch_size_of(opt), cfg.seed, repeat)
        batches = stream.take(cfg.steps)

        def loss_of(i):
            idx = batches[i]
            return criterion(model(x[idx]), y[idx])  # (input, target): the right order
    else:
        land = get_landscape(cfg.objective)
        w0, b0 = cfg.init if cfg.init is not None else land.start
        params = [
            torch.tensor([w0], dtype=dtype, requires_grad=True),
            torch.tensor([b0], dtype=dtype, requires_grad=True),
        ]

        def loss_of(i):
            return land.f(params[0], params[1]).sum()

    optimizer = opt.spec.cls(params, **opt.kwargs)
    scheduler, sched = None, cfg.scheduler_of(opt)
    if sched is not None:
        scheduler = _scheduler(optimizer, sched.name, sched.kwargs(cfg.steps))
    out = [[w0, b0]]
    for i in range(cfg.steps):

        def closure(i=i):
            optimizer.zero_grad()
            loss = loss_of(i)
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(loss.item())
        elif scheduler is not None:
            scheduler.step()
        out.append([float(params[0].detach().reshape(-1)[0]), float(params[1].detach().reshape(-1)[0])])
    return np.array(out)


def _scheduler(optimizer, name: str, kwargs: dict):
    """The torch scheduler ``name``, written out here rather than taken from the lab's registry."""
    if name == "WarmupCosine":
        warm, total = kwargs["warmup_steps"], kwargs["total_steps"]
        return lr_scheduler.SequentialLR(
            optimizer,
            [
                lr_scheduler.LinearLR(optimizer, start_factor=kwargs["start_factor"], total_iters=warm),
                lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - warm, eta_min=kwargs["eta_min"]),
            ],
            milestones=[warm],
        )
    return getattr(lr_scheduler, name)(optimizer, **kwargs)
