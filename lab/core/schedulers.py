"""The learning-rate schedule registry: every ``torch.optim.lr_scheduler`` class a form can set up,
plus a warm-up + cosine preset built from SequentialLR.

Classes are discovered from ``torch.optim.lr_scheduler`` at first use (a newer torch brings its new
ones) and probed once with a few real steps on a real optimizer; a class that needs something a form
or a link cannot carry (a Python function, other schedulers) is listed in :func:`unavailable` with
the reason.

The lab steps a schedule once per optimizer step (``optimizer.step(); scheduler.step()``), so every
length below is counted in optimizer steps. Lengths a schedule needs but torch gives no default for
(``T_max``, ``step_size`` …) default to a share of the run's steps: ``CosineAnnealingLR`` with
nothing set anneals over the whole run, however long it is.

:func:`schedule` gives the learning rate of every step, computed by the real class on a stand-in
optimizer of the lane's class (a schedule looks at nothing but the optimizer's param groups), and
which other hyperparameters it changes (OneCycleLR and CyclicLR can cycle momentum or β₁).
ReduceLROnPlateau reacts to the loss, so its rates only exist inside a run (:class:`Attached`).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.optim import lr_scheduler

from lab.core import caches, optimizers
from lab.core.optimizers import HyperParam, infer_range

MAX_LENGTH = 100_000  # the longest length in steps a form offers (a run's steps are capped there too)
CYCLED = ("momentum", "betas")  # hyperparameters besides lr a schedule may change

# What the lab knows about lr_scheduler keyword arguments: kind, range, help, and the lab's default
# where torch has none or a different one suits better (``lab_default``, or ``derive``: a function of
# the run's steps). "Class.name" wins over "name".
_STEPS = dict(kind="int", low=1, high=MAX_LENGTH)
_KNOWN: dict[str, dict[str, Any]] = {
    "step_size": dict(_STEPS, help="steps between two decays", derive=lambda n: max(1, n // 4)),
    "gamma": dict(kind="float", low=0.0, high=1.0, low_open=True, help="factor the rate is multiplied by"),
    "ExponentialLR.gamma": dict(
        kind="float",
        low=0.0,
        high=1.0,
        low_open=True,
        help="factor the rate is multiplied by at every step",
        derive=lambda n: round(0.01 ** (1 / n), 6),  # down to about a hundredth by the last step
    ),
    "CyclicLR.gamma": dict(
        kind="float", low=0.0, high=1.0, low_open=True, help="exp_range: amplitude's decay per step"
    ),
    "milestones": dict(
        kind="ints",
        low=1,
        high=MAX_LENGTH,
        help="steps at which the rate is multiplied by gamma",
        derive=lambda n: (max(1, n // 2), max(2, 3 * n // 4)),
    ),
    "factor": dict(kind="float", low=0.0, high=1.0, low_open=True, help="factor applied to the rate"),
    "ReduceLROnPlateau.factor": dict(
        kind="float", low=0.0, high=0.999, low_open=True, help="factor applied to the rate on a plateau"
    ),
    "total_iters": dict(_STEPS, help="steps the change lasts", derive=lambda n: max(1, n // 10)),
    "PolynomialLR.total_iters": dict(_STEPS, help="steps until the rate reaches zero", derive=lambda n: n),
    "start_factor": dict(kind="float", low=0.0, high=1.0, low_open=True, help="share of the rate at the first step"),
    "end_factor": dict(kind="float", low=0.0, high=1.0, help="share of the rate at the end of the change"),
    "power": dict(kind="float", low=0.0, high=10.0, help="1: linear decay; higher: faster at first"),
    "T_max": dict(_STEPS, help="steps from the rate down to eta_min (half a cosine period)", derive=lambda n: n),
    "T_0": dict(_STEPS, help="steps until the first restart", derive=lambda n: max(1, n // 4)),
    "T_mult": dict(kind="int", low=1, high=10, help="each period is this many times the last"),
    "eta_min": dict(kind="float", low=0.0, high=10.0, help="the lowest rate"),
    "base_lr": dict(
        kind="float", low=0.0, high=10.0, low_open=True, log=True, help="lowest rate of a cycle", lab_default=0.001
    ),
    "max_lr": dict(
        kind="float", low=0.0, high=10.0, low_open=True, log=True, help="highest rate of a cycle", lab_default=0.1
    ),
    "step_size_up": dict(_STEPS, help="steps from the lowest rate to the highest", derive=lambda n: max(1, n // 10)),
    "CyclicLR.mode": dict(kind="choice", choices=("triangular", "triangular2", "exp_range"), help="shape of the cycle"),
    "ReduceLROnPlateau.mode": dict(kind="choice", choices=("min",), help="the loss should go down"),
    "scale_mode": dict(kind="choice", choices=("cycle", "iterations"), help="what exp_range's decay counts"),
    "cycle_momentum": dict(
        kind="bool",
        help="also cycle momentum (or Adam's β₁) against the rate; only for optimizers that have one. "
        "The lab starts with false (torch: true) so that one schedule suits every optimizer",
        lab_default=False,
    ),
    "base_momentum": dict(kind="float", low=0.0, high=0.999, help="momentum at the highest rate"),
    "max_momentum": dict(kind="float", low=0.0, high=0.999, help="momentum at the lowest rate"),
    "total_steps": dict(_STEPS, help="length of the cycle in steps (at least the run's)", derive=lambda n: n),
    "pct_start": dict(kind="float", low=0.0, high=1.0, low_open=True, help="share of the cycle spent rising"),
    "anneal_strategy": dict(kind="choice", choices=("cos", "linear"), help="shape of the rise and fall"),
    "div_factor": dict(kind="float", low=1.0, high=1e4, log=True, help="first rate = max_lr / div_factor"),
    "final_div_factor": dict(kind="float", low=1.0, high=1e6, log=True, help="last rate = first rate / this"),
    "three_phase": dict(kind="bool", help="a third phase that anneals below the first rate"),
    "patience": dict(kind="int", low=0, high=MAX_LENGTH, help="steps without improvement before the rate drops"),
    "threshold": dict(kind="float", low=0.0, high=1.0, help="how much better counts as an improvement"),
    "threshold_mode": dict(kind="choice", choices=("rel", "abs"), help="threshold relative to the best, or absolute"),
    "cooldown": dict(kind="int", low=0, high=MAX_LENGTH, help="steps to wait after a drop"),
    "min_lr": dict(kind="float", low=0.0, high=10.0, help="the rate never drops below this"),
    "eps": dict(kind="float", low=0.0, high=1.0, help="drops smaller than this are skipped"),
}
# What each schedule does, in the lab's terms: torch's docstrings count in "epochs", but the lab steps a
# schedule after every optimizer step, so each of torch's epochs is one step here.
_DESCRIPTIONS = {
    "CosineAnnealingLR": "Lowers the rate from its start to eta_min along half a cosine over T_max steps.",
    "StepLR": "Multiplies the rate by gamma every step_size steps.",
    "MultiStepLR": "Multiplies the rate by gamma at each of the milestone steps.",
    "ExponentialLR": "Multiplies the rate by gamma at every step.",
    "LinearLR": "Changes the rate in a straight line from start_factor to end_factor times its own over "
    "total_iters steps, then keeps it.",
    "ConstantLR": "Multiplies the rate by factor for the first total_iters steps, then gives it back in full.",
    "PolynomialLR": "Lowers the rate to zero over total_iters steps along (1 − step/total_iters)^power.",
    "CosineAnnealingWarmRestarts": "Lowers the rate to eta_min along half a cosine over T_0 steps, then starts "
    "again from the top; each period is T_mult times the last.",
    "OneCycleLR": "The 1cycle policy: the rate rises from max_lr / div_factor to max_lr over the first pct_start "
    "of total_steps steps, then falls far below where it started.",
    "CyclicLR": "Cycles the rate between base_lr and max_lr: step_size_up steps up, as many down.",
    "ReduceLROnPlateau": "Multiplies the rate by factor once the loss has not improved for patience steps.",
}
_EPOCHS = " (torch calls them epochs; the lab steps the schedule after every optimizer step, so each is one step)"


def _description(cls: type) -> str:
    """What the schedule ``cls`` does, counted in the lab's steps; for a class the lab has no words for
    (a newer torch's), its docstring's first line and what its epochs are here."""
    if cls.__name__ in _DESCRIPTIONS:
        return _DESCRIPTIONS[cls.__name__]
    doc = (inspect.getdoc(cls) or "").split("\n")[0]
    return doc + _EPOCHS if "epoch" in doc.lower() else doc


_MECHANICS = {"self", "optimizer", "last_epoch", "verbose"}
_NOT_OFFERED = {
    "LambdaLR": "needs lr_lambda, a Python function of the step, which a form or a link cannot carry",
    "MultiplicativeLR": "needs lr_lambda, a Python function of the step, which a form or a link cannot carry",
    "SequentialLR": "chains other schedulers; offered as the WarmupCosine preset",
    "ChainedScheduler": "applies other schedulers together; the lab offers one schedule at a time",
}
_ORDER = (  # the form's order; classes a newer torch adds come after these
    "CosineAnnealingLR",
    "WarmupCosine",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "LinearLR",
    "ConstantLR",
    "PolynomialLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "CyclicLR",
    "ReduceLROnPlateau",
)


@dataclass(frozen=True)
class SchedulerSpec:
    """One schedule the lab offers: its parameters (torch's keyword arguments), defaults and how
    to build it on an optimizer."""

    name: str
    params: tuple[HyperParam, ...]
    defaults: Mapping[str, Any]  # fixed defaults; the ``derived`` ones depend on the run's steps
    derived: Mapping[str, Callable[[int], Any]]
    description: str
    build: Callable[[torch.optim.Optimizer, dict[str, Any]], Any]
    reacts_to_loss: bool = False  # ReduceLROnPlateau: step(loss)

    def param(self, name: str) -> HyperParam:
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"{self.name} has no parameter {name!r}; choices: {[p.name for p in self.params]}")

    def kwargs(self, overrides: Mapping[str, Any], steps: int) -> dict[str, Any]:
        """Every keyword argument for a run of ``steps`` steps: defaults, derived ones, ``overrides``."""
        out = dict(self.defaults)
        out.update({k: f(steps) for k, f in self.derived.items()})
        for k, v in overrides.items():
            out[k] = self.param(k).check(v, self.name)
        return out

    def default_text(self, name: str) -> str:
        """How a parameter's default reads in a form or ``list``: the value, or what it follows."""
        if name in self.derived:
            at = {n: self.derived[name](n) for n in (1000, 10_000)}
            return "follows the run's steps (" + ", ".join(f"{v} for {n}" for n, v in at.items()) + ")"
        return repr(self.defaults[name])


def _warmup_cosine(
    opt: torch.optim.Optimizer, warmup_steps: int, total_steps: int, start_factor: float, eta_min: float
):
    """Linear warm-up from ``start_factor``·lr to lr over ``warmup_steps``, then a cosine down to
    ``eta_min`` at ``total_steps``: SequentialLR(LinearLR, CosineAnnealingLR)."""
    if warmup_steps >= total_steps:
        raise ValueError(f"WarmupCosine.warmup_steps = {warmup_steps} must be below total_steps = {total_steps}")
    return lr_scheduler.SequentialLR(
        opt,
        [
            lr_scheduler.LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps),
            lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps - warmup_steps, eta_min=eta_min),
        ],
        milestones=[warmup_steps],
    )


_PRESET = SchedulerSpec(
    name="WarmupCosine",
    params=(
        HyperParam("warmup_steps", "int", None, 1, MAX_LENGTH, help="steps of linear warm-up"),
        HyperParam("total_steps", "int", None, 2, MAX_LENGTH, help="step at which the cosine reaches eta_min"),
        HyperParam("start_factor", "float", 0.01, 0.0, 1.0, low_open=True, help="share of the rate at step 1"),
        HyperParam("eta_min", "float", 0.0, 0.0, 10.0, help="the lowest rate"),
    ),
    defaults={"start_factor": 0.01, "eta_min": 0.0},
    derived={"warmup_steps": lambda n: max(1, n // 10), "total_steps": lambda n: max(2, n)},
    description="Linear warm-up, then cosine annealing (SequentialLR of LinearLR and CosineAnnealingLR).",
    build=lambda opt, kw: _warmup_cosine(opt, **kw),
)


def _spec_of(cls: type) -> SchedulerSpec | str:
    """The spec of a discovered class, or why the lab cannot offer it."""
    if cls.__name__ in _NOT_OFFERED:
        return _NOT_OFFERED[cls.__name__]
    params, defaults, derived = [], {}, {}
    for p in inspect.signature(cls).parameters.values():
        if p.name in _MECHANICS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        info = dict(_KNOWN.get(f"{cls.__name__}.{p.name}") or _KNOWN.get(p.name) or {})
        derive = info.pop("derive", None)
        default = info.pop("lab_default", p.default)
        has_default = default is not inspect.Parameter.empty
        if not info and has_default:
            info = infer_range(default) or {}  # a parameter the lab does not know: guessed from its default
        if not info or (derive is None and (not has_default or default is None)):
            if has_default:
                continue  # e.g. scale_fn=None, epochs=None: kept at torch's default
            return f"needs {p.name}, which the lab does not know how to choose"
        if derive is not None:
            derived[p.name] = derive
        else:
            defaults[p.name] = default
        params.append(HyperParam(name=p.name, default=None if derive else default, **info))
    return SchedulerSpec(
        name=cls.__name__,
        params=tuple(params),
        defaults=defaults,
        derived=derived,
        description=_description(cls),
        build=lambda opt, kw: cls(opt, **kw),
        reacts_to_loss=issubclass(cls, lr_scheduler.ReduceLROnPlateau),
    )


PROBE_STEPS = 20


def _probe(spec: SchedulerSpec) -> str | None:
    """A few real steps of ``spec`` with its defaults on an SGD with momentum; the error, or None."""
    try:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        attached = Attached(spec.build(opt, spec.kwargs({}, PROBE_STEPS)), spec.reacts_to_loss)
        for _ in range(PROBE_STEPS):
            opt.step(_no_loss)
            attached.step(1.0)
    except Exception as exc:  # any failure means "cannot offer"; torch says why
        return f"{type(exc).__name__}: {exc}"
    return None


def _probe_once(spec: SchedulerSpec) -> str | None:
    """:func:`_probe`, its success kept on disk beside the optimizers' probes: probing builds a
    torch.optim object, and the first one a process builds imports torch._dynamo (most of a second
    that a server's first visit to the Optimizers page, or a ``python -m lab`` run with a schedule,
    would wait for). The key holds the arguments probed, so a change to the lab's defaults probes
    again; a failure is probed again in every process (it may come from the lab's own code, fixed
    since)."""
    try:
        probed = json.dumps(spec.kwargs({}, PROBE_STEPS), sort_keys=True, default=str)
    except Exception as exc:  # the lab's defaults for it cannot be built: not offered, torch's words
        return f"{type(exc).__name__}: {exc}"
    return optimizers.remembered(f"lr_scheduler.{spec.name}{probed}", lambda: _probe(spec), keep_failure=False)


def _no_loss() -> torch.Tensor:
    return torch.zeros(())


class Registry:
    def __init__(self, specs: tuple[SchedulerSpec, ...], unavailable: Mapping[str, str]):
        self.specs, self.unavailable = specs, dict(unavailable)

    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def get(self, name: str) -> SchedulerSpec:
        key = str(name).replace("_", "").replace("-", "").replace(" ", "").lower()
        for s in self.specs:
            if s.name.lower() == key:
                return s
        for cls_name, why in self.unavailable.items():
            if cls_name.lower() == key:
                raise ValueError(f"scheduler {name!r} is not offered: {why}")
        raise ValueError(f"unknown scheduler {name!r}; choices: {', '.join(self.names())}")


@functools.cache
def registry() -> Registry:
    found = {
        n: c
        for n, c in vars(lr_scheduler).items()
        if inspect.isclass(c)
        and issubclass(c, lr_scheduler.LRScheduler)
        and not n.startswith("_")
        and c is not lr_scheduler.LRScheduler
    }
    specs, unavailable = [_PRESET], {}
    for name in sorted(found):
        spec = _spec_of(found[name])
        why = spec if isinstance(spec, str) else _probe_once(spec)
        if why is not None:
            unavailable[name] = why
        elif not isinstance(spec, str):
            specs.append(spec)
    rank = {n: i for i, n in enumerate(_ORDER)}
    specs.sort(key=lambda s: (rank.get(s.name, len(rank)), s.name))
    return Registry(tuple(specs), unavailable)


def get(name: str) -> SchedulerSpec:
    """The schedule called ``name`` (case, spaces, dashes and underscores ignored)."""
    return registry().get(name)


def unavailable() -> Mapping[str, str]:
    """lr_scheduler classes the lab does not offer, with the reason."""
    return registry().unavailable


class Attached:
    """A built schedule, stepped once after every optimizer step (with the step's loss where it
    reacts to it)."""

    def __init__(self, scheduler: Any, reacts_to_loss: bool):
        self.scheduler, self.reacts_to_loss = scheduler, reacts_to_loss

    def step(self, loss: float | torch.Tensor | None) -> None:
        if self.reacts_to_loss:
            if loss is None:
                raise ValueError(f"{type(self.scheduler).__name__} steps on the loss: pass it")
            self.scheduler.step(float(loss.detach() if isinstance(loss, torch.Tensor) else loss))
        else:
            self.scheduler.step()


def attach(optimizer: torch.optim.Optimizer, name: str, kwargs: Mapping[str, Any]) -> Attached:
    """The schedule ``name`` built on ``optimizer`` with ``kwargs`` (already resolved for the run)."""
    spec = get(name)
    return Attached(spec.build(optimizer, dict(kwargs)), spec.reacts_to_loss)


def group_values(group: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters a schedule may change, as a param group holds them now."""
    return {k: group[k] for k in ("lr", *CYCLED) if k in group}


@dataclass(frozen=True)
class Schedule:
    """What a schedule gives one lane over a run."""

    lr: np.ndarray  # (steps,): the learning rate of step 1 … steps
    changes: tuple[str, ...]  # other hyperparameters it changes on the way (momentum, betas)


def stand_in(
    name: str, kwargs: Mapping[str, Any], torch_class: str, opt_kwargs: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> tuple[torch.optim.Optimizer, Attached]:
    """An optimizer of ``torch_class(**opt_kwargs)`` on a parameter without a gradient (with a list of
    keyword arguments, one param group each), with the schedule attached: each group holds the rate
    (and momentum, betas) of every step as a real loop's would. A schedule looks at nothing else, and
    treats each group on its own; ReduceLROnPlateau looks at the losses it is given."""
    cls = getattr(torch.optim, torch_class)
    if isinstance(opt_kwargs, Mapping):
        opt = cls([torch.zeros(1, requires_grad=True)], **opt_kwargs)
    else:
        opt = cls([{"params": [torch.zeros(1, requires_grad=True)], **kw} for kw in opt_kwargs])
    attached = attach(opt, name, kwargs)
    opt.step(_no_loss)  # torch checks once, at the schedule's first step, that the optimizer stepped
    return opt, attached


def _decode(text: str) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()}


def clear_cache() -> None:
    """Forget the rates worked out so far (a timing of a new run's cost needs them worked out again)."""
    _schedules.cache_clear()


@caches.memo("schedules", maxsize=64)
def _schedules(name: str, sched_kwargs: str, torch_class: str, opt_kwargs: tuple[str, ...], steps: int):
    kws = [_decode(k) for k in opt_kwargs]
    try:  # every lane of the class in one pass: one param group each
        opt, attached = stand_in(name, _decode(sched_kwargs), torch_class, kws)
    except ValueError:  # a class without param groups (LBFGS): one stand-in each
        return tuple(s for k in opt_kwargs for s in _schedules(name, sched_kwargs, torch_class, (k,), steps))
    groups = opt.param_groups
    # What the schedule changes besides the rate: set at construction (differs from the lane's own
    # value), or written later (each group watches its momentum and betas).
    changed = [{k for k in CYCLED if k in g and g[k] != kw.get(k, g[k])} for g, kw in zip(groups, kws, strict=True)]
    groups[:] = [_Watched(g, seen) for g, seen in zip(groups, changed, strict=True)]
    lr = np.empty((len(groups), steps))
    for i in range(steps):
        lr[:, i] = [g["lr"] for g in groups]
        attached.step(None)
    lr.flags.writeable = False
    return tuple(Schedule(lr=lr[j], changes=tuple(sorted(changed[j]))) for j in range(len(groups)))


class _Watched(dict):
    """A param group that notes which of momentum and betas are written with a new value."""

    def __init__(self, group: dict, seen: set[str]):
        super().__init__(group)
        self.seen = seen

    def __setitem__(self, key: str, value: Any) -> None:
        if key in CYCLED and value != self.get(key, value):
            self.seen.add(key)
        super().__setitem__(key, value)


def schedules(
    name: str, kwargs: Mapping[str, Any], torch_class: str, opt_kwargs: Sequence[Mapping[str, Any]], steps: int
) -> list[Schedule]:
    """The learning rate of every step of each lane of ``torch_class`` (one per keyword-argument set
    of ``opt_kwargs``) under the schedule ``name(**kwargs)``, from the real classes in one pass
    (cached: a class asking for the same schedules computes them once). Not for schedules that react
    to the loss."""
    if get(name).reacts_to_loss:
        raise ValueError(f"{name} reacts to the loss: its rates exist only inside a run")
    keys = [_key(kw) for kw in opt_kwargs]
    distinct = tuple(dict.fromkeys(keys))
    found = dict(zip(distinct, _schedules(name, _key(kwargs), torch_class, distinct, steps), strict=True))
    return [found[k] for k in keys]


def schedule(
    name: str, kwargs: Mapping[str, Any], torch_class: str, opt_kwargs: Mapping[str, Any], steps: int
) -> Schedule:
    """:func:`schedules` for one lane."""
    return schedules(name, kwargs, torch_class, [opt_kwargs], steps)[0]


def _key(kwargs: Mapping[str, Any]) -> str:
    return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}, sort_keys=True)


def check(name: str, kwargs: Mapping[str, Any], torch_class: str, opt_kwargs: Mapping[str, Any], steps: int) -> None:
    """Raise ValueError (with torch's reason) if the schedule cannot run ``steps`` steps on this
    optimizer: built on a stand-in of the class, as cheap as constructing both."""
    if "total_steps" in kwargs and kwargs["total_steps"] < steps and name == "OneCycleLR":
        raise ValueError(f"OneCycleLR.total_steps = {kwargs['total_steps']} must be at least the run's steps ({steps})")
    try:
        stand_in(name, kwargs, torch_class, opt_kwargs)
    except Exception as exc:  # torch's own refusal, e.g. cycle_momentum on an optimizer without momentum
        raise ValueError(f"{name} cannot be used with {torch_class}: {exc}") from None
