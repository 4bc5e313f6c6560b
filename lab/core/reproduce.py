"""A run as a plain PyTorch script: every lane retrained the tutorial's way, checked against the lab.

:func:`script` turns a :class:`RunResult` into one standalone Python file that needs only torch.
It holds the data (exactly the float64 values trained on), each lane's start, torch.optim class and
keyword arguments, the batch order's seed, and the lab's own numbers (the final w, b, loss and
up to ``CHECKPOINTS`` points of each path). Run, it trains every lane with ``nn.Linear(1, 1)``,
``MSELoss`` and ``zero_grad / backward / step`` (the surface's function on a landscape) and prints,
lane by lane, the lab's final numbers beside its own and the largest difference along the way.
"""

from __future__ import annotations

import inspect
import pprint

import numpy as np

from lab.core import landscapes
from lab.core.results import LaneResult, RunResult

CHECKPOINTS = 200  # points of each lab path written into the script for the comparison along the way

_HEADER = '''"""Reproduce an Optimizer Lab run in plain PyTorch.

{summary}

Needs only PyTorch (pip install torch). Run:  python {filename}

Every lane is trained the way the tutorial trains: {model}, the same torch.optim class and keyword
arguments, from the same start, on the same data in the same batch order, for the same number of
steps. For each lane it prints the lab's final w, b and loss beside its own, and the largest
difference from the lab's path along the way ({checkpoints} points per path).

In float64 the two agree to about 1e-9 or better. In float32 they agree until an optimizer reaches
the rounding regime near the optimum: there the gradient is rounding noise, and optimizers that divide
by its size (Adam, NAdam, RAdam...) keep stepping, so two programs that round in a different order
hover about the optimum along different paths, at the same distance.
"""

import math

import torch
from torch import nn

DTYPE = torch.{dtype}
STEPS = {steps}
SEED = {seed}
'''

_BATCHES = '''

def batch_order(samples, batch_size, seed, repeat):
    """The lab's batch order: every epoch a fresh random permutation of the samples, cut into
    consecutive batches (the last one shorter when the size does not divide them), like a shuffling
    DataLoader; all samples at every step when the batch is the full data."""
    mixed = seed
    for salt in (2, repeat):  # the lab's stream identifier for batch orders
        mixed = (mixed * 1_000_003 + salt + 1) % (2**62)
    generator = torch.Generator().manual_seed(mixed)
    while True:
        if batch_size >= samples:
            yield torch.arange(samples)
            continue
        permutation = torch.randperm(samples, generator=generator)
        for start in range(0, samples, batch_size):
            yield permutation[start : start + batch_size]
'''

_REGRESSION = '''
x = torch.tensor(X, dtype=torch.float64).to(DTYPE).unsqueeze(1)
y = torch.tensor(Y, dtype=torch.float64).to(DTYPE).unsqueeze(1)
criterion = nn.MSELoss()


def train(lane):
    """Train one lane; returns its (w, b) after each step (step 0: the start)."""
    model = nn.Linear(1, 1).to(DTYPE)
    with torch.no_grad():
        model.weight.fill_(lane["w0"])
        model.bias.fill_(lane["b0"])
    optimizer = getattr(torch.optim, lane["torch_class"])(model.parameters(), **lane["kwargs"])
    batches = batch_order(len(X), lane["batch_size"], SEED, lane["repeat"])
    path = [(lane["w0"], lane["b0"])]
    for _ in range(STEPS):
        idx = next(batches)

        def closure():
            optimizer.zero_grad()
            loss = criterion(model(x[idx]), y[idx])
            loss.backward()
            return loss

        optimizer.step(closure)
        path.append((model.weight.item(), model.bias.item()))
        if not all(math.isfinite(v) for v in path[-1]):
            break
    with torch.no_grad():
        loss = criterion(model(x), y).item()
    return path, loss
'''

_LANDSCAPE = '''

def train(lane):
    """Walk one lane over the surface; returns its (w, b) after each step (step 0: the start)."""
    w = torch.tensor([lane["w0"]], dtype=DTYPE, requires_grad=True)
    b = torch.tensor([lane["b0"]], dtype=DTYPE, requires_grad=True)
    optimizer = getattr(torch.optim, lane["torch_class"])([w, b], **lane["kwargs"])
    path = [(lane["w0"], lane["b0"])]
    for _ in range(STEPS):

        def closure():
            optimizer.zero_grad()
            loss = surface(w, b).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        path.append((w.item(), b.item()))
        if not all(math.isfinite(v) for v in path[-1]):
            break
    with torch.no_grad():
        loss = surface(w, b).item()
    return path, loss
'''

_SCHEDULES = '''

def make_scheduler(optimizer, spec):
    """A lane's learning-rate schedule (None: a constant rate); it steps once per optimizer step."""
    if spec is None:
        return None
    kwargs = spec["kwargs"]
    if spec["class"] == "WarmupCosine":  # the lab's preset: a linear warm-up, then a cosine
        warm = kwargs["warmup_steps"]
        parts = [
            lr_scheduler.LinearLR(optimizer, start_factor=kwargs["start_factor"], total_iters=warm),
            lr_scheduler.CosineAnnealingLR(optimizer, T_max=kwargs["total_steps"] - warm, eta_min=kwargs["eta_min"]),
        ]
        return lr_scheduler.SequentialLR(optimizer, parts, milestones=[warm])
    return getattr(lr_scheduler, spec["class"])(optimizer, **kwargs)


def scheduler_step(scheduler, loss):
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        scheduler.step(loss.item())  # it reacts to the loss of the step just taken
    elif scheduler is not None:
        scheduler.step()
'''

_MAIN = '''

def num(value, spec):
    """A number for the table; the lab has none for a lane that diverged there."""
    return format(value, spec) if value is not None else format("diverged", spec.split(".")[0] + "s")


def main():
    print(f"{'lane':24s} {'lab w':>12s} {'torch w':>12s} {'lab b':>12s} {'torch b':>12s} "
          f"{'lab loss':>11s} {'torch loss':>11s} {'max |diff|':>11s}")
    worst = 0.0
    for lane in LANES:
        path, loss = train(lane)
        lab = lane["lab"]
        diffs = [
            max(abs(path[step][0] - w), abs(path[step][1] - b))
            for step, w, b in zip(lab["steps"], lab["w"], lab["b"])
            if step < len(path)
        ]
        diff = max(diffs) if diffs else float("nan")
        name = lane["optimizer"] + (f" #{lane['repeat']}" if lane["repeat"] else "")
        if len(path) <= STEPS or lab["final_w"] is None:  # a blow-up: compare where, not how far
            here = f"diverged at step {len(path) - 1}" if len(path) <= STEPS else "finite to the end"
            print(f"{name:24s} here: {here}; the lab: {lab['status']} (a loss or parameter beyond float range)")
            continue
        worst = max(worst, diff)
        w, b = path[-1]
        print(f"{name:24s} {num(lab['final_w'], '12.6f')} {w:12.6f} {num(lab['final_b'], '12.6f')} {b:12.6f} "
              f"{num(lab['final_loss'], '11.4e')} {loss:11.4e} {diff:11.2e}")
    print(f"largest difference from the lab's paths (lanes that stayed finite): {worst:.3e}")


if __name__ == "__main__":
    main()
'''


def _literal(value):
    """Lists back to tuples (betas, etas), so the keyword arguments read as torch's own."""
    if isinstance(value, list):
        return tuple(_literal(v) for v in value)
    return value


def _with_schedules(train: str) -> str:
    """A ``train`` function that also builds and steps each lane's schedule."""
    made = train.replace(
        '**lane["kwargs"])\n', '**lane["kwargs"])\n    scheduler = make_scheduler(optimizer, lane["scheduler"])\n'
    )
    return made.replace(
        "        optimizer.step(closure)\n",
        "        loss = optimizer.step(closure)\n        scheduler_step(scheduler, loss)\n",
    )


def _lane(res: RunResult, lane: LaneResult) -> dict:
    n = len(lane.w)
    steps = np.unique(np.linspace(0, n - 1, min(n, CHECKPOINTS)).astype(int)).tolist()
    lab = {
        "status": lane.status,
        "final_w": lane.final_w,
        "final_b": lane.final_b,
        "final_loss": lane.final_loss,
        "steps": steps,
        "w": [float(lane.w[s]) for s in steps],
        "b": [float(lane.b[s]) for s in steps],
    }
    out = {
        "optimizer": lane.optimizer,
        "repeat": lane.repeat,
        "torch_class": lane.torch_class,
        "kwargs": {k: _literal(v) for k, v in lane.hyperparams.items()},
        "scheduler": None
        if lane.scheduler is None
        else {
            "class": lane.scheduler["class"],
            "kwargs": {k: _literal(v) for k, v in lane.scheduler["kwargs"].items()},
        },
        "w0": lane.w0,
        "b0": lane.b0,
    }
    if lane.batch_size is not None:
        out["batch_size"] = lane.batch_size
    out["lab"] = lab
    return out


def _floats(name: str, values: np.ndarray) -> str:
    items = [repr(float(v)) for v in values]
    lines = [", ".join(items[i : i + 6]) for i in range(0, len(items), 6)]
    return f"{name} = [\n" + "".join(f"    {line},\n" for line in lines) + "]\n"


def summary(res: RunResult) -> str:
    cfg = res.config
    if not cfg.is_regression:
        where = f"the {cfg.objective} surface"
    elif cfg.data.dataset is not None:
        where = f"the data set {cfg.data.dataset_name} ({cfg.data.samples} rows, {cfg.data.dataset})"
    else:
        where = f"{cfg.data.samples} samples of y = {cfg.data.true_w:g}x + {cfg.data.true_b:g}" + (
            f" + noise (std {cfg.data.noise:g})" if cfg.data.noise else ""
        )
    names = ", ".join(dict.fromkeys(ln.optimizer for ln in res.lanes))
    return (
        f"{names}: {cfg.steps:,} steps in {cfg.dtype} on {where}, seed {cfg.seed}"
        + (f", {cfg.repeats} repeats" if cfg.repeats > 1 else "")
        + f" (trained by the lab with torch {res.torch_version} on {res.device})."
    )


def script(res: RunResult, filename: str = "reproduce.py") -> str:
    """The standalone PyTorch script that retrains every lane of ``res`` and compares."""
    cfg = res.config
    parts = [
        _HEADER.format(
            summary=summary(res),
            filename=filename,
            model="nn.Linear(1, 1) and MSELoss" if cfg.is_regression else "the surface's function as the loss",
            checkpoints=CHECKPOINTS,
            dtype=cfg.dtype,
            steps=cfg.steps,
            seed=cfg.seed,
        )
    ]
    if cfg.is_regression:
        assert res.x is not None and res.y is not None  # a regression's result carries its data
        parts += ["\n# The data trained on (float64, exactly as the lab drew it).\n"]
        parts += [_floats("X", res.x), _floats("Y", res.y)]
    else:
        source = inspect.getsource(landscapes.get(cfg.objective).f)
        source = "def surface" + source[source.index("(") :]
        parts += [f"\n\n# The {cfg.objective} surface, as the lab defines it.\n", source, "\n"]
    lanes = [_lane(res, ln) for ln in res.lanes]
    parts += ["\n# Each lane: optimizer, start, keyword arguments, and the lab's numbers to compare with.\n"]
    parts += ["LANES = " + pprint.pformat(lanes, width=110, sort_dicts=False) + "\n"]
    train = _REGRESSION if cfg.is_regression else _LANDSCAPE
    if any(ln.scheduler is not None for ln in res.lanes):
        parts[0] = parts[0].replace(
            "from torch import nn\n", "from torch import nn\nfrom torch.optim import lr_scheduler\n"
        )
        parts += [_SCHEDULES]
        train = _with_schedules(train)
    parts += [_BATCHES, train] if cfg.is_regression else [train]
    parts += [_MAIN]
    return "".join(parts)
