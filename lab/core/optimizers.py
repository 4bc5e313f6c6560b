"""The optimizer registry: the tutorial's seven algorithms as presets, plus every other
``torch.optim`` optimizer that can train the lab's two-parameter model.

Entries are discovered from ``torch.optim`` at first use, so a newer torch brings its new
optimizers along. Each class is probed once with one real step on an ``nn.Linear(1, 1)``-shaped
pair of parameters; a class that cannot train it (``SparseAdam`` wants sparse gradients,
``Muon`` wants 2-D parameters only) is listed in :func:`unavailable` with torch's own reason
instead of being dropped silently.

Each :class:`OptimizerSpec` carries what a UI needs: a display name, the torch class, its
hyperparameters with default, range and slider scale, and a batch mode.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import math
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from lab.core import caches

BATCH_MODES = ("full", "single", "mini")

# Keyword arguments of torch.optim classes that are about *how* the step runs, not *what* it
# computes; the lab never exposes them.
_MECHANICS = {"params", "self", "foreach", "maximize", "capturable", "differentiable", "fused"}


@dataclass(frozen=True)
class HyperParam:
    """One keyword argument of a torch.optim class, with what a form needs to edit it."""

    name: str
    kind: str  # "float" | "int" | "bool" | "pair" | "choice" | "ints" (increasing whole numbers)
    default: Any
    low: Any = None  # float, or a (low, low) pair for kind "pair"
    high: Any = None
    log: bool = False  # a logarithmic slider suits this value
    low_open: bool = False  # the lower bound itself is not allowed (lr > 0)
    choices: tuple = ()
    help: str = ""

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` normalised for torch, or raise ValueError naming field and range."""
        field_name = f"{where}.{self.name}"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{field_name} must be true or false, got {value!r}")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{field_name} = {value!r} is not one of {list(self.choices)}")
            return value
        if self.kind == "ints":
            if not isinstance(value, (list, tuple)) or not value:
                raise ValueError(f"{field_name} must be a list of whole numbers, got {value!r}")
            out = tuple(
                _check_number(v, f"{field_name}[{i}]", self.low, self.high, False, int) for i, v in enumerate(value)
            )
            if any(a >= b for a, b in itertools.pairwise(out)):
                raise ValueError(f"{field_name} = {list(out)} must be increasing")
            return out
        if self.kind == "pair":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError(f"{field_name} must be a pair of numbers, got {value!r}")
            return tuple(
                _check_number(v, f"{field_name}[{i}]", lo, hi, False, float)
                for i, (v, lo, hi) in enumerate(zip(value, self.low, self.high, strict=True))
            )
        cast = int if self.kind == "int" else float
        return _check_number(value, field_name, self.low, self.high, self.low_open, cast)

    def describe_range(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return " | ".join(str(c) for c in self.choices)
        if self.kind == "ints":
            return f"increasing whole numbers in [{self.low:g}, {self.high:g}]"
        if self.kind == "pair":
            return " and ".join(f"[{lo:g}, {hi:g}]" for lo, hi in zip(self.low, self.high, strict=True))
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"


def _check_number(value: Any, field_name: str, low: float, high: float, low_open: bool, cast):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field_name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{field_name} = {value} is not finite; allowed range {_rng(low, high, low_open)}")
    if cast is int and value != int(value):
        raise ValueError(f"{field_name} must be a whole number, got {value!r}")
    if (value <= low if low_open else value < low) or value > high:
        raise ValueError(f"{field_name} = {value:g} is outside the allowed range {_rng(low, high, low_open)}")
    return cast(value)


def _rng(low: float, high: float, low_open: bool) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}]"


# What the lab knows about common torch.optim keyword arguments: kind, range, scale, help.
# Keys are "Class.name" (wins) or "name". Anything not here is inferred from its default.
_KNOWN: dict[str, dict[str, Any]] = {
    "lr": dict(kind="float", low=0.0, high=10.0, log=True, low_open=True, help="learning rate: the step size"),
    "momentum": dict(kind="float", low=0.0, high=0.999, help="fraction of the last update kept (velocity)"),
    "dampening": dict(kind="float", low=0.0, high=1.0, help="scales down the new gradient in the velocity"),
    "weight_decay": dict(kind="float", low=0.0, high=1.0, help="L2 pull of the parameters towards zero"),
    "nesterov": dict(kind="bool", help="look ahead along the velocity before taking the gradient"),
    "betas": dict(
        kind="pair",
        low=(0.0, 0.0),
        high=(0.9999, 0.9999),
        help="decay rates of the running mean of gradients and of squared gradients",
    ),
    "eps": dict(kind="float", low=1e-12, high=1.0, log=True, help="added to the denominator for stability"),
    "amsgrad": dict(kind="bool", help="use the maximum of past squared-gradient averages"),
    "lr_decay": dict(kind="float", low=0.0, high=1.0, help="learning rate decay per step"),
    "initial_accumulator_value": dict(kind="float", low=0.0, high=10.0, help="starting sum of squared gradients"),
    "alpha": dict(kind="float", low=0.0, high=0.9999, help="decay rate of the squared-gradient average"),
    "ASGD.alpha": dict(kind="float", low=0.0, high=1.0, help="power of the step-size decay"),
    "centered": dict(kind="bool", help="normalise by the gradient's variance instead of its second moment"),
    "rho": dict(kind="float", low=0.0, high=0.9999, help="decay rate of the running averages"),
    "lambd": dict(kind="float", low=0.0, high=1.0, help="decay term"),
    "t0": dict(kind="float", low=0.0, high=1e9, help="step at which averaging starts"),
    "momentum_decay": dict(kind="float", low=0.0, high=0.1, help="schedule of the momentum coefficient"),
    "decoupled_weight_decay": dict(kind="bool", help="decay the weights directly (AdamW-style)"),
    "etas": dict(
        kind="pair", low=(0.01, 1.0), high=(1.0, 5.0), help="multiplicative decrease and increase of each step size"
    ),
    "step_sizes": dict(kind="pair", low=(0.0, 1e-6), high=(1.0, 1000.0), help="smallest and largest step size"),
    "max_iter": dict(kind="int", low=1, high=100, help="inner iterations per step"),
    "tolerance_grad": dict(kind="float", low=0.0, high=1.0, help="stop when the gradient is smaller"),
    "tolerance_change": dict(kind="float", low=0.0, high=1.0, help="stop when progress is smaller"),
    "history_size": dict(kind="int", low=1, high=1000, help="number of past updates remembered"),
    "line_search_fn": dict(kind="choice", choices=(None, "strong_wolfe"), help="line search (None: fixed step)"),
    "beta2_decay": dict(kind="float", low=-1.0, high=0.0, help="decay-rate exponent of the second moment"),
    "d": dict(kind="float", low=0.01, high=100.0, help="clipping threshold of the update"),
}


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: one torch.optim class with preset hyperparameters and a batch mode."""

    name: str  # registry key, e.g. "Mini-batch SGD"
    torch_class: str  # e.g. "SGD"
    defaults: Mapping[str, Any]  # the keyword arguments given to the class
    params: tuple[HyperParam, ...]
    batch: str = "full"  # "full" | "single" | "mini"
    preset: bool = False  # one of the tutorial's seven
    description: str = ""

    @property
    def cls(self) -> type[torch.optim.Optimizer]:
        return getattr(torch.optim, self.torch_class)

    def param(self, name: str) -> HyperParam:
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"{self.name} has no hyperparameter {name!r}; choices: {[p.name for p in self.params]}")

    def hyperparams(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """All exposed keyword arguments: the defaults with ``overrides`` checked and applied."""
        kwargs = dict(self.defaults)
        for name, value in (overrides or {}).items():
            kwargs[name] = self.param(name).check(value, self.name)
        return kwargs


@dataclass(frozen=True, kw_only=True)
class _Named:
    """A registry entry the lab names itself: a torch.optim class with its own defaults."""

    name: str
    torch_class: str
    overrides: Mapping[str, Any]  # differences from torch's defaults
    batch: str = "full"
    description: str


# The tutorial's seven algorithms, one row each: name, torch.optim class, its differences from torch's
# defaults, batch. Learning rates are chosen so that each one converges on the default data (50 samples
# of y = 3x + 0.8) within the default 1 000 steps; tests check it.
_Row = tuple[str, str, dict[str, Any], str]
_PRESET_ROWS: tuple[_Row, ...] = (
    ("GD", "SGD", {"lr": 0.5}, "full"),
    ("SGD", "SGD", {"lr": 0.2}, "single"),
    ("Mini-batch SGD", "SGD", {"lr": 0.3}, "mini"),
    ("Momentum", "SGD", {"lr": 0.1, "momentum": 0.9}, "full"),
    ("AdaGrad", "Adagrad", {"lr": 0.5}, "full"),
    ("RMSProp", "RMSprop", {"lr": 0.01}, "full"),
    ("Adam", "Adam", {"lr": 0.05}, "full"),
)
# Named variants beyond the seven, in the same columns.
_VARIANT_ROWS: tuple[_Row, ...] = (("Nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, "full"),)
_DESCRIPTIONS = {
    "GD": "Gradient descent: every step uses all samples.",
    "SGD": "Stochastic gradient descent: every step uses one random sample.",
    "Mini-batch SGD": "Every step uses a small random batch.",
    "Momentum": "SGD with a velocity that averages past gradients, damping zig-zags.",
    "AdaGrad": "Divides each step by the root of the sum of all past squared gradients.",
    "RMSProp": "Divides each step by a running root-mean-square of recent gradients.",
    "Adam": "Momentum plus RMSProp-style scaling, with bias correction.",
    "Nesterov": "Momentum that takes the gradient at the look-ahead point.",
}


def _named(rows: tuple[_Row, ...]) -> tuple[_Named, ...]:
    return tuple(
        _Named(name=name, torch_class=torch_class, overrides=overrides, batch=batch, description=_DESCRIPTIONS[name])
        for name, torch_class, overrides, batch in rows
    )


_PRESETS = _named(_PRESET_ROWS)
_VARIANTS = _named(_VARIANT_ROWS)

# Defaults for discovered classes that converge here.
_DISCOVERED_DEFAULTS: dict[str, dict[str, Any]] = {
    "AdamW": {"lr": 0.05},
    "NAdam": {"lr": 0.1},
    "RAdam": {"lr": 0.1},
    "Adamax": {"lr": 0.2},
    "Adadelta": {"lr": 1.0},
    "ASGD": {"lr": 0.5},
    "Rprop": {"lr": 0.01},
    "LBFGS": {"lr": 1.0},
    "Adafactor": {"lr": 0.05},
}


def _hyperparams_of(cls: type) -> tuple[HyperParam, ...]:
    """The editable keyword arguments of a torch.optim class, from its signature."""
    out = []
    for p in inspect.signature(cls).parameters.values():
        if p.name in _MECHANICS or p.default is inspect.Parameter.empty:
            continue
        info = _KNOWN.get(f"{cls.__name__}.{p.name}") or _KNOWN.get(p.name)
        default = p.default
        if info is None:
            info = infer_range(default)
            if info is None:
                continue  # e.g. Adafactor's eps=(None, 1e-3): kept at torch's default
        if info["kind"] == "pair":
            if not (
                isinstance(default, tuple) and len(default) == 2 and all(isinstance(v, (int, float)) for v in default)
            ):
                continue
            default = tuple(float(v) for v in default)
        elif info["kind"] in ("float", "int"):
            if isinstance(default, bool) or not isinstance(default, (int, float)):
                continue  # e.g. Adafactor's eps=(None, 1e-3): kept at torch's default
            default = float(default) if info["kind"] == "float" else int(default)
        out.append(HyperParam(name=p.name, default=default, **info))
    return tuple(out)


def infer_range(default: Any) -> dict[str, Any] | None:
    """Range for a keyword argument the lab does not know, guessed from its default (None: a
    default a form cannot edit)."""
    if isinstance(default, bool):
        return dict(kind="bool")
    if isinstance(default, int):
        return dict(kind="int", low=0, high=max(10 * default, 10))
    if isinstance(default, float) and math.isfinite(default):
        if default > 0:
            return dict(kind="float", low=0.0, high=max(10 * default, 1.0), log=default < 0.01)
        return dict(kind="float", low=min(10 * default, -1.0), high=1.0)
    return None


def _probe(cls: type) -> str | None:
    """One real step of ``cls`` on an nn.Linear(1, 1)-shaped problem; the error text, or None."""
    w = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    x = torch.linspace(0, 1, 5, dtype=torch.float64).unsqueeze(1)
    y = 3 * x + 0.8
    try:
        opt = cls([w, b])

        def closure():
            opt.zero_grad()
            loss = ((x @ w.T + b - y) ** 2).mean()
            loss.backward()
            return loss

        opt.step(closure)
    except Exception as exc:  # any failure means "cannot apply"; torch says why
        return f"{type(exc).__name__}: {exc}"
    if not (torch.isfinite(w).all() and torch.isfinite(b).all()):
        return "its first step gave non-finite parameters"
    return None


def probe_cache_path() -> Path:
    """Where probe results are kept between processes: one file per torch version (and Python),
    under ``$LAB_CACHE_DIR`` or ``~/.cache/optimizer-lab``."""
    root = Path(os.environ.get("LAB_CACHE_DIR") or Path.home() / ".cache" / "optimizer-lab")
    return root / f"probes-torch{torch.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}.json"


def _read_probes(path: Path) -> dict[str, str | None]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


@functools.cache
def _probes_on_disk() -> dict[str, str | None]:
    """The file as this process first read it, what :func:`remembered` read from it since (under its
    lock) and what this process has added."""
    return _read_probes(probe_cache_path())


def _remember(key: str, why: str | None) -> None:
    """Add one probe's result to the file (best effort: a read-only disk only costs the next start
    its probes). Called under :func:`remembered`'s lock, after it read what others kept: no
    process's results are written over."""
    known = _probes_on_disk()
    known[key] = why
    path = probe_cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
        tmp.write_text(json.dumps(known, sort_keys=True))
        tmp.replace(path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        pass


def remembered(key: str, probe: Callable[[], str | None], keep_failure: bool = True) -> str | None:
    """``probe()``'s answer (an error's text, or None) once per install, kept on disk per torch
    version under ``key``: the first torch.optim object a process builds imports torch._dynamo, most
    of a second, and probing every class costs about as much again — a server's first visitor (or
    every ``python -m lab`` with a schedule) would wait for it. A missing or damaged file: probed.
    ``keep_failure=False``: only a success is kept."""
    known = _probes_on_disk()
    if key in known:
        return known[key]
    path = probe_cache_path()
    with caches.disk_lock(path.with_suffix(".lock")):  # processes starting together probe once
        known.update(_read_probes(path))  # what another process kept meanwhile
        if key in known:
            return known[key]
        why = probe()
        if why is None or keep_failure:
            _remember(key, why)
    return why


@functools.cache
def _probe_class(cls_name: str) -> str | None:
    """:func:`_probe` once per class and install (:func:`remembered`)."""
    return remembered(cls_name, lambda: _probe(getattr(torch.optim, cls_name)))


class Registry:
    """Every optimizer the lab offers. The named entries (the tutorial's seven and the variants)
    use classes the test-suite trains with; every other torch.optim class is probed with one real
    step the first time something asks for it (its own name, or the whole list), not before."""

    def __init__(
        self, named: tuple[OptimizerSpec, ...], discovered: tuple[OptimizerSpec, ...], others: tuple[str, ...]
    ):
        self._named, self._discovered = named, discovered
        self._others = others  # classes the named entries use, or that have no spec: probed for the list only

    @property
    def specs(self) -> tuple[OptimizerSpec, ...]:
        return self._named + tuple(s for s in self._discovered if _probe_class(s.torch_class) is None)

    @property
    def unavailable(self) -> Mapping[str, str]:
        """torch class name -> why it cannot train this model."""
        names = sorted({s.torch_class for s in self._discovered} | set(self._others))
        return {n: why for n in names if (why := _probe_class(n)) is not None}

    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def presets(self) -> list[str]:
        return [s.name for s in self._named if s.preset]

    def get(self, name: str) -> OptimizerSpec:
        key = _normalise(name)
        for s in self._named:
            if _normalise(s.name) == key:
                return s
        for s in self._discovered:
            if _normalise(s.name) == key:
                why = _probe_class(s.torch_class)
                if why is None:
                    return s
                raise ValueError(f"optimizer {name!r} cannot train this model ({why})")
        for cls_name, why in self.unavailable.items():
            if _normalise(cls_name) == key:
                raise ValueError(f"optimizer {name!r} cannot train this model ({why})")
        raise ValueError(f"unknown optimizer {name!r}; choices: {', '.join(self.names())}")


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


@functools.cache
def registry() -> Registry:
    """Build the registry once per process (thread-safe enough: nothing in it changes but the
    probe results, each computed once)."""
    classes = {
        n: c
        for n, c in vars(torch.optim).items()
        if inspect.isclass(c) and issubclass(c, torch.optim.Optimizer) and c is not torch.optim.Optimizer
    }

    def spec(entry: _Named, preset: bool) -> OptimizerSpec:
        params = _hyperparams_of(classes[entry.torch_class])
        base = OptimizerSpec(
            name=entry.name,
            torch_class=entry.torch_class,
            defaults={p.name: p.default for p in params},
            params=params,
            batch=entry.batch,
            preset=preset,
            description=entry.description,
        )
        return replace(base, defaults=base.hyperparams(entry.overrides))

    named = tuple(spec(e, preset=True) for e in _PRESETS) + tuple(spec(e, preset=False) for e in _VARIANTS)
    covered = {s.torch_class for s in named}
    discovered = []
    for cls_name in sorted(classes, key=str.lower):
        if cls_name in covered:
            continue
        doc = (inspect.getdoc(classes[cls_name]) or "").split("\n")[0]
        overrides = _DISCOVERED_DEFAULTS.get(cls_name, {})
        discovered.append(
            spec(_Named(name=cls_name, torch_class=cls_name, overrides=overrides, description=doc), False)
        )
    others = tuple(n for n in classes if n not in {s.torch_class for s in discovered})
    return Registry(named, tuple(discovered), others)


def get(name: str) -> OptimizerSpec:
    """The registry entry called ``name`` (case, spaces and dashes ignored)."""
    return registry().get(name)


def unavailable() -> Mapping[str, str]:
    """torch.optim classes that cannot train this model, with the reason."""
    return registry().unavailable
