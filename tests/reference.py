"""Plain torch.optim training loops: the ground truth the engine is compared with.

Written the way the tutorial trains (``nn.Linear``, ``MSELoss``, zero_grad / backward / step,
a closure for LBFGS), sharing nothing with the engine but the data, the starting point, the
hyperparameters and the batch order; and the helpers that set the engine's paths beside them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.optim import lr_scheduler

from lab.core import engine
from lab.core.config import DataConfig, OptimizerConfig, RunConfig
from lab.core.data import BatchStream, initial_params, make_data
from lab.core.landscapes import get as get_landscape


def torch_loop(
    cfg: RunConfig, opt: OptimizerConfig, repeat: int = 0, nudge: float = 0.0, until: Callable | None = None
) -> np.ndarray:
    """(steps + 1, 2) trajectory of (w, b) from a plain torch.optim loop; with ``until(k, w, b)``,
    only up to the first row k for which it is true (the trajectory so far). ``nudge``: every gradient
    moves by ± nudge times the size of the terms it sums (a random sign per parameter and evaluation,
    fixed seed), as if those sums had been rounded otherwise: near the optimum a gradient is a small
    difference of large terms, and its rounding is of the terms' size, not its own."""
    dtype = getattr(torch, cfg.dtype)
    signs = np.random.default_rng(0)
    if cfg.objective == "regression":
        lane = _Lane(cfg, opt, repeat)
        (w0, b0), params, loss_of, terms_of = lane.start, lane.params, lane.loss, lane.terms
    else:
        land = get_landscape(cfg.objective)
        w0, b0 = cfg.init if cfg.init is not None else land.start
        params = [
            torch.tensor([w0], dtype=dtype, requires_grad=True),
            torch.tensor([b0], dtype=dtype, requires_grad=True),
        ]

        def loss_of(i):
            return land.f(params[0], params[1]).sum()

        def terms_of(i):  # a surface's formula: terms of about its gradient's size, or of 1
            return [float(p.grad.abs().sum()) + 1.0 for p in params]

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
            if nudge:
                for p, size in zip(params, terms_of(i), strict=True):
                    p.grad.add_(nudge * size * signs.choice((-1.0, 1.0)))
            return loss

        loss = optimizer.step(closure)
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(loss.item())
        elif scheduler is not None:
            scheduler.step()
        out.append([params[0].item(), params[1].item()])
        if until is not None and until(i + 1, *out[-1]):
            break
    return np.array(out)


class _Lane:
    """One regression lane as the tutorial writes it: its data, an ``nn.Linear(1, 1)`` at the lane's
    start, ``MSELoss``, and the lane's batch order."""

    def __init__(self, cfg: RunConfig, opt: OptimizerConfig, repeat: int) -> None:
        dtype = getattr(torch, cfg.dtype)
        x, y = make_data(cfg.data, cfg.seed)
        self.x, self.y = x.to(dtype).unsqueeze(1), y.to(dtype).unsqueeze(1)
        w0, b0 = cfg.init if cfg.init is not None else initial_params(cfg.seed, cfg.repeats)[repeat].tolist()
        self.start = (w0, b0)
        self.model = nn.Linear(1, 1).to(dtype)
        with torch.no_grad():
            self.model.weight.fill_(w0)
            self.model.bias.fill_(b0)
        self.params = [self.model.weight, self.model.bias]
        self.criterion = nn.MSELoss()
        self.stream = BatchStream(cfg.data.samples, cfg.batch_size_of(opt), cfg.seed, repeat)
        self.batches = [] if self.stream.full else self.stream.take(cfg.steps)

    def batch(self, i: int):  # every sample in order, every step: x and y themselves (the same values)
        return (self.x, self.y) if self.stream.full else (self.x[self.batches[i]], self.y[self.batches[i]])

    def loss(self, i: int):
        xb, yb = self.batch(i)
        return self.criterion(self.model(xb), yb)  # (input, target): the right order

    def terms(self, i: int) -> list[float]:  # d/dw and d/db of the mean of (w x + b − y)², term by term
        xb, yb = self.batch(i)
        r = (self.model(xb) - yb).detach()
        return [float(2 * (r * xb).abs().mean()), float(2 * r.abs().mean())]


def torch_loops(runs: list[tuple[RunConfig, OptimizerConfig]]) -> list[np.ndarray]:
    """:func:`torch_loop`'s path for each (config, optimizer) pair, computed together: the pairs of one
    torch.optim class share one optimizer, each lane's (w, b) a param group with the lane's own
    hyperparameters, and a step sums every lane's loss for one ``backward``. torch.optim updates each
    group by itself, and each model's gradient is its own loss's (the sum passes 1 to each), so every
    path is the one torch_loop gives, bit for bit (tests/test_reference.py); what the lanes share is
    the Python around a step. For the long float32 runs: the regression, no schedule, and a class
    that evaluates its closure once a step (not LBFGS)."""
    steps = {cfg.steps for cfg, _ in runs}
    assert len(steps) == 1, f"lanes of {sorted(steps)} steps: one loop steps them all together"
    for cfg, opt in runs:
        assert cfg.objective == "regression" and cfg.scheduler_of(opt) is None and opt.spec.torch_class != "LBFGS"
    lanes = [_Lane(cfg, opt, 0) for cfg, opt in runs]
    classes: dict[type, list[int]] = {}
    for n, (_, opt) in enumerate(runs):
        classes.setdefault(opt.spec.cls, []).append(n)
    for members in classes.values():  # the optimizer's defaults are its first lane's: every group names them all
        assert len({frozenset(runs[n][1].kwargs) for n in members}) == 1, [runs[n][1].display for n in members]
    optimizers = [
        cls([{"params": lanes[n].params, **runs[n][1].kwargs} for n in members], **runs[members[0]][1].kwargs)
        for cls, members in classes.items()
    ]
    out = [[lane.start] for lane in lanes]
    for i in range(steps.pop()):
        for optimizer in optimizers:
            optimizer.zero_grad()
        sum(lane.loss(i) for lane in lanes).backward()
        for optimizer in optimizers:
            optimizer.step()
        for path, lane in zip(out, lanes, strict=True):
            path.append((lane.params[0].item(), lane.params[1].item()))
    return [np.array(path) for path in out]


# The long float32 runs (issue 9): their steps, and their data: clean, and noisy with another slope
# and intercept.
LONG_STEPS = 20_000
LONG_DATA = {"clean": (DataConfig(), 11), "noisy": (DataConfig(noise=0.1, true_w=-1.5, true_b=2.0), 12)}


def long_float32(opts: tuple[OptimizerConfig, ...], steps: int = LONG_STEPS) -> dict[tuple[str, str], tuple]:
    """Per data set of LONG_DATA and optimizer (its display name): the engine's (steps + 1, 2) path,
    torch.optim's, and the least-squares optimum, in float32 (torch's default). The engine trains
    the optimizers side by side, one run a data set; torch.optim steps every lane of both together."""
    configs = {key: RunConfig(optimizers=opts, steps=steps, data=d, seed=seed) for key, (d, seed) in LONG_DATA.items()}
    assert len({o.display for o in opts}) == len(opts), "two optimizers of one name"
    refs = iter(torch_loops([(cfg, o) for cfg in configs.values() for o in opts]))
    out = {}
    for key, cfg in configs.items():
        res = engine.run(cfg)
        for ours, o in zip(paths(res), opts, strict=True):
            out[key, o.display] = (ours, next(refs), res.optimum)
    assert next(refs, None) is None, "a reference path left over"
    return out


def paths(res) -> list[np.ndarray]:
    """An engine result's lanes as (steps + 1, 2) paths of (w, b), in the order of its optimizers."""
    return [np.stack([lane.w, lane.b], 1) for lane in res.lanes]


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


# Where a lane turns chaotic. An adaptive optimizer near the optimum divides rounding noise by its
# own size, and a lane circling the optimum (RMSProp at a constant rate) stretches any difference at
# every turn: from there on two ways of rounding the same sums part, as two runs of torch's own
# would on CPUs with other vector kernels. A shadow of torch's loop whose gradients are nudged far
# above any reordering of a sum (yet far below what a wrong formula changes) finds that step on
# whatever CPU runs the test: it is the first at which the shadow parts from torch by SENSITIVE.
NUDGE = {"float64": 1e-12, "float32": 2e-7}  # float32: a couple of ulps
SENSITIVE = {"float64": 1e-10, "float32": 1e-5}


def horizon(cfg: RunConfig, opt: OptimizerConfig, ref: np.ndarray, repeat: int = 0) -> int:
    """The first step of ``ref`` (torch's path) from which a last-bits difference grows past
    SENSITIVE; len(ref) if none does."""
    tol = SENSITIVE[cfg.dtype]

    def parted(k: int, w: float, b: float) -> bool:  # NaN counts as apart
        return not (abs(w - ref[k, 0]) <= tol and abs(b - ref[k, 1]) <= tol)

    shadow = torch_loop(cfg, opt, repeat, nudge=NUDGE[cfg.dtype], until=parted)  # stops where it parts
    apart = np.flatnonzero(~(np.abs(shadow - ref[: len(shadow)]).max(1) <= tol))
    return int(apart[0]) if len(apart) else len(ref)


def agreeing_steps(
    a: np.ndarray, b: np.ndarray, tol: float, cfg: RunConfig, opt: OptimizerConfig, repeat: int = 0, ref=None
) -> int:
    """How many leading rows of two (steps + 1, 2) paths of one lane must agree within ``tol``: every
    row when they do (the strictest comparison there is), else the rows before the lane's horizon,
    from torch's path ``ref`` (run here when not given). The horizon is a second, nudged torch.optim
    run as long as the first wherever the lane never turns chaotic: looked for only when needed."""
    if a.shape == b.shape and (np.abs(a - b) <= tol).all():
        return len(a)
    return horizon(cfg, opt, torch_loop(cfg, opt, repeat) if ref is None else ref, repeat)


def assert_follows_torch(
    ours: np.ndarray, cfg: RunConfig, opt: OptimizerConfig, tol: float, repeat: int = 0, label: str = ""
) -> int:
    """``ours`` is torch.optim's path within ``tol`` up to the lane's horizon; past it (where only the
    hover's size is defined) it stays as far from where torch settles as torch does, within a factor
    of 3 (or both within ``tol``). Returns the number of rows that had to agree (:func:`agreeing_steps`:
    every row where the paths agree throughout), for a test to check it came after the learning."""
    ref = torch_loop(cfg, opt, repeat)
    label = label or opt.display
    assert ours.shape == ref.shape, f"{label}: {len(ours)} rows against torch's {len(ref)}"
    h = agreeing_steps(ours, ref, tol, cfg, opt, repeat, ref=ref)
    np.testing.assert_allclose(ours[:h], ref[:h], rtol=0, atol=tol, err_msg=f"{label}, steps 0–{h - 1}")
    if h < len(ref):
        center = np.median(ref[h:], axis=0)
        size_ours, size_ref = (float(np.abs(p[h:] - center).max()) for p in (ours, ref))
        assert max(size_ours, size_ref) < tol or size_ref / 3 <= size_ours <= 3 * size_ref, (
            f"{label}: past step {h} ours strays {size_ours:.3g} from where torch settles, torch {size_ref:.3g}"
        )
    return h


def assert_hovers_like_torch(ours: np.ndarray, ref: np.ndarray, optimum, label: str, adaptive: bool) -> None:
    """A long float32 run: the same path as torch's (``ref``) until the optimizer reaches the rounding
    regime (its gradient is then rounding noise, and adaptive optimizers amplify it: any two ways of
    rounding part there); after it, the same hovering — the largest distance from the optimum over
    the second half within a factor of 3 of torch's, or both below 1e-5. ``adaptive``: the rule
    amplifies rounding (else the paths must agree all the way)."""
    assert ours.shape == ref.shape
    dist_ours = np.abs(ours - optimum).max(1)
    dist_ref = np.abs(ref - optimum).max(1)
    # The paths agree until torch comes within 1e-3 of where it settles (the optimum, or with
    # weight decay the point the decay pulls it to); from there on the gradient's rounding steers them.
    half = (len(ref) - 1) // 2
    center = np.median(ref[half:], axis=0)
    arrived = np.flatnonzero((dist_ref < 1e-5) | (np.abs(ref - center).max(1) < 1e-3))
    regime = int(arrived[0]) if len(arrived) and adaptive else len(ref)
    np.testing.assert_allclose(ours[:regime], ref[:regime], rtol=0, atol=1e-4, err_msg=f"{label} before step {regime}")
    hover_ours, hover_ref = dist_ours[half:].max(), dist_ref[half:].max()
    if max(hover_ours, hover_ref) >= 1e-5:
        assert hover_ref / 3 <= hover_ours <= 3 * hover_ref, (label, hover_ours, hover_ref)


def chaotic_lanes(cfg: RunConfig) -> list[str]:
    """The lanes of ``cfg`` that turn chaotic before its last step: a test that compares whole paths
    (or the largest difference along them) checks it has none, rather than assuming it."""
    return [
        f"{opt.display} #{r}"
        for opt in cfg.optimizers
        for r in range(cfg.repeats)
        if horizon(cfg, opt, torch_loop(cfg, opt, r), r) <= cfg.steps
    ]
