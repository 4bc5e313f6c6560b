"""Explain one step of one lane with torch's own numbers, and check our from-scratch rule beside it.

A lane is replayed with its real torch.optim class, exactly as the engine's reference loop trains
it: the run's data and dtype, the lane's start and batch order, ``zero_grad / backward / step``.
Steps count from 1: step k's gradient is taken at the parameters left by k − 1 updates, and
"after" means after the k-th update.

* :func:`explain_step` — step k in full: parameters, gradient and ``optimizer.state`` before and
  after, the quantities the rule names (bias corrections, effective step sizes …), and the same
  step computed by :mod:`lab.core.algorithms` from torch's state before it, with the difference.
* :func:`trace` — the whole lane: parameters, gradients and each parameter's effective step size
  at every step (for the chart of how step sizes evolve).
* :func:`scratch_run` / :func:`agreement` — our implementation trained on its own from the same
  start and batches, and its largest distance from torch.optim's trajectory.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from lab.core import algorithms, devices, objectives, schedulers
from lab.core.config import OptimizerConfig, RunConfig
from lab.core.data import BatchStream

PARAMS = ("w", "b")


def lane_of(cfg: RunConfig, name: str) -> OptimizerConfig:
    """The run's optimizer shown as ``name`` (its label or registry name, case ignored)."""
    for opt in cfg.optimizers:
        if name.lower() in (opt.display.lower(), opt.name.lower()):
            return opt
    choices = ", ".join(o.display for o in cfg.optimizers)
    raise ValueError(f"optimizer {name!r} is not in this run; choices: {choices}")


def _check_step(cfg: RunConfig, k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= cfg.steps:
        raise ValueError(f"step = {k!r} is outside the run's steps [1, {cfg.steps}]")
    return k


class _Lane:
    """One lane's problem: the objective in the run's dtype, the start and the batch of each step."""

    def __init__(self, cfg: RunConfig, opt: OptimizerConfig, repeat: int):
        if not 0 <= repeat < cfg.repeats:
            raise ValueError(f"repeat = {repeat} is outside [0, {cfg.repeats - 1}]")
        self.cfg, self.opt = cfg, opt
        device = devices.resolve(cfg.device)
        self.obj, starts = objectives.build(cfg, getattr(torch, cfg.dtype), device)
        self.start = (float(starts[repeat, 0]), float(starts[repeat, 1]))
        size = cfg.batch_size_of(opt) if cfg.is_regression else cfg.data.samples
        self.batches = BatchStream(cfg.data.samples, size, cfg.seed, repeat).take(cfg.steps)
        self.sched = cfg.scheduler_of(opt)

    def attach(self, optimizer) -> schedulers.Attached | None:
        """The lane's learning-rate schedule on ``optimizer`` (None: a constant rate)."""
        if self.sched is None:
            return None
        return self.sched.attach(optimizer, self.cfg.steps)

    def stand_in(self) -> tuple[Any, schedulers.Attached | None]:
        """An optimizer whose param group follows the lane's schedule, for a loop without torch's
        own step (ours)."""
        if self.sched is None:
            return None, None
        kwargs = self.sched.kwargs(self.cfg.steps)
        return schedulers.stand_in(self.sched.name, kwargs, self.opt.spec.torch_class, self.opt.kwargs)

    def batch(self, k: int) -> torch.Tensor | None:
        return self.batches[k - 1] if self.obj.stochastic else None

    def loss_and_grad(self, params: list[torch.Tensor], k: int) -> torch.Tensor:
        with torch.enable_grad():
            loss = self.obj.batch_loss(params, self.batch(k))
            loss.backward()
        return loss


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def _replay(lane: _Lane, steps: int) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, float, torch.Tensor, Any]]:
    """``(k, params before, gradient, batch loss, params after, optimizer)`` for k = 1 … steps,
    from the real torch.optim class (the gradient and loss of a closure's first evaluation)."""
    params = lane.obj.leaf_params(*lane.start)
    optimizer = lane.opt.spec.cls(params, **lane.opt.kwargs)
    sched, last_loss = lane.attach(optimizer), None
    for k in range(1, steps + 1):
        if sched is not None and k > 1:  # stepped here, not after the yield: a caller that stops at
            sched.step(last_loss)  # step k finds the optimizer holding step k's rate
        before = _flat(params).clone()
        seen: list[tuple[torch.Tensor, float]] = []

        def closure(k=k):
            optimizer.zero_grad()
            loss = lane.loss_and_grad(params, k)
            if not seen:
                seen.append((_flat(p.grad for p in params).clone(), loss.item()))
            return loss

        optimizer.step(closure)
        grad, last_loss = seen[0]
        yield k, before, grad, last_loss, _flat(params).clone(), optimizer
        if not torch.isfinite(_flat(params)).all():
            return


def hyperparams_now(kwargs: dict[str, Any], optimizer) -> dict[str, Any]:
    """The keyword arguments with what a schedule changes (lr, momentum, betas) as the optimizer's
    param group holds them now: the values its next step uses."""
    if optimizer is None:
        return dict(kwargs)
    now = schedulers.group_values(optimizer.param_groups[0])
    return {**kwargs, **{k: v for k, v in now.items() if k in kwargs}}


def scratch_state(optimizer, params=None) -> algorithms.State:
    """torch's per-parameter state as :mod:`lab.core.algorithms` keeps it: one (2,) tensor over
    (w, b) per entry, ``step`` as a whole number, scalars shared by both (0-d tensors) as they are.
    Entries of other shapes (LBFGS's history) are left out."""
    params = params if params is not None else optimizer.param_groups[0]["params"]
    states = [optimizer.state.get(p, {}) for p in params]
    out: algorithms.State = {}
    for key in dict.fromkeys(k for st in states for k in st):
        values = [st.get(key) for st in states]
        if not all(isinstance(v, torch.Tensor) for v in values):
            continue
        if key == "step":
            out[key] = int(float(values[0]))
        elif all(v.dim() == 0 for v in values):
            out[key] = values[0].clone()
        elif all(v.numel() == 1 for v in values):
            out[key] = torch.cat([v.detach().reshape(-1) for v in values]).clone()
    return out


def _number(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return float(v) if v.numel() == 1 else [float(x) for x in v.detach().reshape(-1)]
    if isinstance(v, (list, tuple)):
        return [_number(x) for x in v]
    return v if v is None or isinstance(v, (bool, int, float, str)) else repr(v)


def torch_state(optimizer) -> dict[str, dict[str, Any]]:
    """``optimizer.state`` with tensors as numbers: {"w": {...}, "b": {...}} (empty before a
    class's first step)."""
    params = optimizer.param_groups[0]["params"]
    return {
        n: {k: _number(v) for k, v in optimizer.state.get(p, {}).items()} for n, p in zip(PARAMS, params, strict=True)
    }


def _pair(t: torch.Tensor) -> dict[str, float]:
    return {"w": float(t[0]), "b": float(t[1])}


def _derived_numbers(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _pair(v) if isinstance(v, torch.Tensor) and v.numel() == 2 else _number(v) for k, v in values.items()}


@dataclass(frozen=True, kw_only=True)
class StepExplained:
    """One step of one lane, from torch.optim and from our implementation (``to_json`` for the CLI)."""

    optimizer: str
    torch_class: str
    hyperparams: dict[str, Any]
    step: int
    steps: int
    dtype: str
    w0: float
    b0: float
    batch: list[int] | None  # the samples of this step (None on a surface)
    loss: float  # the batch loss at params_before, as the closure returned it
    params_before: dict[str, float]
    grad: dict[str, float]
    state_before: dict[str, dict[str, Any]]
    state_after: dict[str, dict[str, Any]]
    params_after: dict[str, float]
    update: dict[str, float]  # params_after − params_before
    derived: dict[str, Any]  # what the rule names, from torch's state ({} without a formula)
    scratch_params_after: dict[str, float] | None  # None: no implementation of ours
    max_abs_diff: float | None  # largest |ours − torch| over w and b after the step
    formula: str | None  # LaTeX, hyperparameters filled in
    intuition: str | None
    effective_means: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def explain_step(cfg: RunConfig, name: str, k: int, repeat: int = 0) -> StepExplained:
    """Step ``k`` of the lane ``name`` (see the module docstring). Raises ValueError for an
    optimizer not in the run or a step outside [1, steps], or if the lane diverged before k."""
    opt, k = lane_of(cfg, name), _check_step(cfg, k)
    lane = _Lane(cfg, opt, repeat)
    algo = algorithms.get(opt.spec.torch_class)
    state_before: dict = {}
    ours_before: algorithms.State = {}
    last = None
    for last in _replay(lane, k):
        if last[0] == k - 1:
            state_before, ours_before = torch_state(last[-1]), scratch_state(last[-1])
    if last is None or last[0] != k:
        raise ValueError(f"{opt.display} diverged before step {k}: its parameters are no longer finite")
    _, before, grad, loss, after, optimizer = last
    if k == 1:  # some classes fill their state in at construction (Adagrad's sum)
        fresh = opt.spec.cls(lane.obj.leaf_params(*lane.start), **opt.kwargs)
        state_before, ours_before = torch_state(fresh), scratch_state(fresh)
    hp = hyperparams_now(opt.kwargs, optimizer if lane.sched is not None else None)
    ours_after = mine = None
    derived: dict[str, Any] = {}
    if algo is not None:
        s = copy.deepcopy(ours_before)
        mine = algo.step(before.clone(), grad.clone(), s, hp)
        derived = _derived_numbers(algo.derived(hp, ours_before, scratch_state(optimizer), k))
        ours_after = _pair(mine)
    batch = lane.batch(k)
    return StepExplained(
        optimizer=opt.display,
        torch_class=opt.spec.torch_class,
        hyperparams={key: list(v) if isinstance(v, tuple) else v for key, v in hp.items()},
        step=k,
        steps=cfg.steps,
        dtype=cfg.dtype,
        w0=lane.start[0],
        b0=lane.start[1],
        batch=[int(i) for i in batch] if batch is not None else None,
        loss=loss,
        params_before=_pair(before),
        grad=_pair(grad),
        state_before=state_before,
        state_after=torch_state(optimizer),
        params_after=_pair(after),
        update=_pair(after - before),
        derived=derived,
        scratch_params_after=ours_after,
        max_abs_diff=None if mine is None else float((mine - after).abs().max()),
        formula=algo.formula(hp) if algo else None,
        intuition=algo.intuition_for(hp) if algo else None,
        effective_means=algo.effective_means if algo else None,
    )


@dataclass(frozen=True, kw_only=True)
class Trace:
    """A lane replayed with torch.optim over the whole run."""

    optimizer: str
    torch_class: str
    params: np.ndarray  # (steps + 1, 2): (w, b) before step 1 and after every step
    grads: np.ndarray  # (steps, 2): the gradient of step k in row k − 1
    effective: np.ndarray | None  # (steps, 2): each parameter's effective step size (None: no formula)
    one_step_diff: float | None  # largest |ours − torch| over the steps, ours from torch's state before each

    @property
    def steps(self) -> int:
        return len(self.grads)


def trace(cfg: RunConfig, name: str, repeat: int = 0, steps: int | None = None, at: np.ndarray | None = None) -> Trace:
    """The lane ``name`` replayed with torch.optim for ``steps`` (default: the run's) steps.

    At the steps ``at`` (default: every step) it also takes our implementation's step from torch's
    state and the effective step sizes; ``effective`` is NaN at the other steps (a chart needs a
    few hundred, and a long run would otherwise spend most of its time on them)."""
    opt = lane_of(cfg, name)
    steps = cfg.steps if steps is None else _check_step(cfg, steps)
    lane = _Lane(cfg, opt, repeat)
    algo, hp = algorithms.get(opt.spec.torch_class), opt.kwargs
    wanted = np.zeros(steps + 2, dtype=bool)
    wanted[np.arange(1, steps + 1) if at is None else np.clip(np.asarray(at, dtype=np.int64), 1, steps)] = True
    start = torch.tensor(lane.start, dtype=getattr(torch, cfg.dtype))
    params, grads, worst = [start.to(torch.float64)], [], 0.0
    effective = np.full((steps, 2), np.nan)
    ours_before = scratch_state(opt.spec.cls(lane.obj.leaf_params(*lane.start), **hp))
    for k, before, grad, _, after, optimizer in _replay(lane, steps):
        params.append(after.to(torch.float64))
        grads.append(grad.to(torch.float64))
        if algo is None or not (wanted[k] or wanted[k + 1]):
            continue
        if lane.sched is not None:
            hp = hyperparams_now(opt.kwargs, optimizer)
        ours_after = scratch_state(optimizer)
        if wanted[k]:
            mine = algo.step(before.clone(), grad.clone(), copy.deepcopy(ours_before), hp)
            worst = max(worst, float((mine - after).abs().max()))
            value = algo.derived(hp, ours_before, ours_after, k)[algorithms.EFFECTIVE]
            effective[k - 1] = torch.as_tensor(value, dtype=torch.float64).expand(2).cpu().numpy()
        ours_before = ours_after
    n = len(grads)
    return Trace(
        optimizer=opt.display,
        torch_class=opt.spec.torch_class,
        params=torch.stack(params).cpu().numpy(),
        grads=torch.stack(grads).cpu().numpy() if n else np.zeros((0, 2)),
        effective=effective[:n] if algo is not None else None,
        one_step_diff=worst if algo is not None else None,
    )


def scratch_run(cfg: RunConfig, name: str, repeat: int = 0, steps: int | None = None) -> np.ndarray | None:
    """(steps + 1, 2): our implementation trained on its own (its own state, gradients at its own
    parameters) from the lane's start on the lane's batches; None without an implementation."""
    opt = lane_of(cfg, name)
    algo = algorithms.get(opt.spec.torch_class)
    if algo is None:
        return None
    steps = cfg.steps if steps is None else _check_step(cfg, steps)
    lane = _Lane(cfg, opt, repeat)
    dtype = getattr(torch, cfg.dtype)
    p = torch.tensor(lane.start, dtype=dtype, device=devices.resolve(cfg.device))
    state = scratch_state(opt.spec.cls(lane.obj.leaf_params(*lane.start), **opt.kwargs))
    rates, sched = lane.stand_in()  # the schedule's rate of each step, stepped with our own losses
    out = [p.to("cpu", torch.float64)]
    for k in range(1, steps + 1):
        leaf = lane.obj.leaf_params(float(p[0]), float(p[1]))
        loss = lane.loss_and_grad(leaf, k)
        p = algo.step(p, _flat(t.grad for t in leaf), state, hyperparams_now(opt.kwargs, rates))
        out.append(p.to("cpu", torch.float64))
        if not torch.isfinite(p).all():
            break
        if sched is not None:
            sched.step(loss)
    return torch.stack(out).numpy()


def agreement(cfg: RunConfig, name: str, repeat: int = 0, steps: int | None = None) -> float | None:
    """Largest |ours − torch.optim| over (w, b) and every step, each trained on its own."""
    ours = scratch_run(cfg, name, repeat, steps)
    if ours is None:
        return None
    theirs = trace(cfg, name, repeat, steps).params
    n = min(len(ours), len(theirs))
    return float(np.abs(ours[:n] - theirs[:n]).max())


def source(torch_class: str) -> str | None:
    """The code of our implementation for ``torch_class``: its step and what it calls (AdamW shows Adam's)."""
    algo = algorithms.get(torch_class)
    return None if algo is None else algorithms.source(algo)


def rows(step: StepExplained) -> list[tuple[str, Any, Any]]:
    """The step as (quantity, w, b) rows, in reading order; a value both share sits under w with
    b None; state entries are named as torch names them."""

    def state_rows(state: dict[str, dict[str, Any]], when: str) -> list[tuple[str, Any, Any]]:
        keys = dict.fromkeys(k for n in PARAMS for k in state.get(n, {}))
        return [(f"state {when}: {k}", state["w"].get(k), state["b"].get(k)) for k in keys]

    def pair(label: str, v: dict[str, float] | None) -> list[tuple[str, Any, Any]]:
        return [] if v is None else [(label, v["w"], v["b"])]

    derived = [(k, v["w"], v["b"]) if isinstance(v, dict) else (k, v, None) for k, v in step.derived.items()]
    return [
        *pair("parameters before", step.params_before),
        *pair("gradient", step.grad),
        *state_rows(step.state_before, "before"),
        *state_rows(step.state_after, "after"),
        *derived,
        *pair("update Δ", step.update),
        *pair("parameters after (torch)", step.params_after),
        *pair("parameters after (ours)", step.scratch_params_after),
    ]


def cell(v: Any) -> str:
    """One value of :func:`rows` as shown (page and command line): numbers to 9 significant
    digits, a list (LBFGS's history) by its length, nothing for a value a parameter lacks."""
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"[{len(v)} values]" if isinstance(v, list) else str(v)
    return f"{v:.9g}"


def as_text(step: StepExplained) -> str:
    """The step as a readable text table (the command line's default output)."""

    hp = ", ".join(f"{k}={v}" for k, v in step.hyperparams.items())
    batch = (
        "—"
        if step.batch is None
        else f"{len(step.batch)} sample(s): {step.batch[:12]}" + (" …" if len(step.batch) > 12 else "")
    )
    head = [
        f"{step.optimizer} (torch.optim.{step.torch_class}) — step {step.step} of {step.steps}, {step.dtype}",
        f"hyperparameters: {hp}",
        f"start (w0, b0) = ({step.w0:.9g}, {step.b0:.9g}); batch: {batch}; batch loss before the step {step.loss:.9g}",
    ]
    table = [(label, cell(w), cell(b)) for label, w, b in rows(step)]
    width = max(len(r[0]) for r in table)
    lines = [f"{'':{width}s}  {'w':>16s}  {'b':>16s}"] + [f"{a:{width}s}  {w:>16s}  {b:>16s}" for a, w, b in table]
    if step.max_abs_diff is None:
        tail = "No formula is written down for this class: the numbers above are torch's own."
    else:
        tail = (
            f"largest |ours − torch| after the step: {step.max_abs_diff:.3g}. "
            f"Effective step size: {step.effective_means}."
        )
    return "\n".join([*head, "", *lines, "", tail])
