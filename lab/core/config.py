"""Run configuration: frozen dataclasses that validate themselves and round-trip to JSON.

A :class:`RunConfig` is everything a run depends on; the engine turns it into a result, and the
same config always gives the same result. Invalid values raise ``ValueError`` at construction,
with a message naming the field, the value and what is allowed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lab.core import optimizers, schedulers

MAX_STEPS = 100_000
MAX_SAMPLES = 100_000  # on the CPU
MAX_ACCELERATOR_SAMPLES = 1_000_000  # on a GPU (cuda, mps): the sizes where one pays off (the GPU page)
ACCELERATORS = ("cuda", "mps")  # the device types that take MAX_ACCELERATOR_SAMPLES
MAX_REPEATS = 32
MAX_LANES = 128  # optimizers x repeats trained together
REGRESSION = "regression"  # the tutorial's model; every other objective is a landscape
OBJECTIVES = (REGRESSION, "rosenbrock", "beale", "saddle")
DTYPES = ("float32", "float64")


def max_samples(device: str) -> int:
    """The most samples a run may have on ``device`` (a name: "cpu", "cuda:0", "mps"); a name that is
    not an accelerator's gets the CPU's."""
    return MAX_ACCELERATOR_SAMPLES if device.split(":")[0].strip() in ACCELERATORS else MAX_SAMPLES


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} = {int(value)} is outside the allowed range [{low}, {high}]")
    return int(value)


def _check_float(name: str, value: Any, low: float, high: float, low_open: bool = False) -> float:
    rng = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number in {rng}, got {value!r}")
    if not math.isfinite(value) or (value <= low if low_open else value < low) or value > high:
        raise ValueError(f"{name} = {value} is outside the allowed range {rng}")
    return float(value)


def _check_choice(name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} = {value!r} is not one of {list(choices)}")
    return value


@dataclass(frozen=True)
class DataConfig:
    """The regression data: y = true_w * x + true_b (+ Gaussian noise), x uniform in [0, 1)."""

    samples: int = 50  # number of (x, y) pairs
    true_w: float = 3.0  # slope the optimizers should find
    true_b: float = 0.8  # intercept the optimizers should find
    noise: float = 0.0  # standard deviation of the noise added to y
    # A learner's own data instead (lab.core.datasets): its content hash and file name. Then samples
    # is its row count and true_w, true_b its least-squares line (there is no other "true" line).
    dataset: str | None = None
    dataset_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", _check_int("data.samples", self.samples, 2, MAX_ACCELERATOR_SAMPLES))
        span = 100.0 if self.dataset is None else 1e12  # own data: any line its numbers give
        object.__setattr__(self, "true_w", _check_float("data.true_w", self.true_w, -span, span))
        object.__setattr__(self, "true_b", _check_float("data.true_b", self.true_b, -span, span))
        object.__setattr__(self, "noise", _check_float("data.noise", self.noise, 0.0, 100.0))
        if self.dataset is not None and not (
            isinstance(self.dataset, str) and re.fullmatch(r"sha256:[0-9a-f]{16}", self.dataset)
        ):
            raise ValueError(f"data.dataset = {self.dataset!r} is not a data set's hash (sha256: and 16 hex digits)")
        if self.dataset_name is not None and (not isinstance(self.dataset_name, str) or len(self.dataset_name) > 200):
            raise ValueError("data.dataset_name must be a file name of at most 200 characters")


@dataclass(frozen=True)
class SchedulerConfig:
    """A learning-rate schedule: a :mod:`lab.core.schedulers` entry with some parameters set. Those
    left out take their defaults, some of which follow the run's steps (see :meth:`kwargs`)."""

    name: str  # e.g. "CosineAnnealingLR" or "WarmupCosine"
    overrides: tuple[tuple[str, Any], ...] = ()  # (parameter, value), sorted by name

    def __post_init__(self) -> None:
        spec = schedulers.get(self.name)  # raises for unknown names
        object.__setattr__(self, "name", spec.name)
        raw = dict(self.overrides)
        norm = []
        for k in sorted(raw):
            value = spec.param(k).check(raw[k], spec.name)  # raises for unknown names and bad values
            if k in spec.derived or value != spec.defaults[k]:
                norm.append((k, value))
        object.__setattr__(self, "overrides", tuple(norm))

    @classmethod
    def of(cls, name: str, **params: Any) -> SchedulerConfig:
        return cls(name, tuple(params.items()))

    @property
    def spec(self) -> schedulers.SchedulerSpec:
        return schedulers.get(self.name)

    def kwargs(self, steps: int) -> dict[str, Any]:
        """Exactly the keyword arguments given to the schedule in a run of ``steps`` steps."""
        return self.spec.kwargs(dict(self.overrides), steps)

    def attach(self, optimizer: Any, steps: int) -> schedulers.Attached:
        """This schedule built on ``optimizer`` for a run of ``steps`` steps."""
        return schedulers.attach(optimizer, self.name, self.kwargs(steps))

    @property
    def text(self) -> str:
        """``Name:key=value,…`` as links and the command line write it (:meth:`parse` reads it)."""
        if not self.overrides:
            return self.name
        return self.name + ":" + ",".join(f"{k}={value_text(v)}" for k, v in self.overrides)

    @classmethod
    def parse(cls, text: str) -> SchedulerConfig:
        """``CosineAnnealingLR:T_max=1000,eta_min=0.001``; a list value is written 500,750."""
        name, _, rest = str(text).strip().partition(":")
        spec = schedulers.get(name.strip())
        values = {}
        for item in re.split(r",(?=\s*[A-Za-z_]\w*\s*=)", rest) if rest.strip() else []:
            key, eq, raw = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise ValueError(f"scheduler parameter {item.strip()!r} is not key=value")
            values[key] = parse_text(spec.param(key), raw.strip(), spec.name)
        return cls(spec.name, tuple(values.items()))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.overrides:
            out["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.overrides}
        return out

    @classmethod
    def from_dict(cls, d: SchedulerConfig | Mapping[str, Any] | str | None) -> SchedulerConfig | None:
        if d is None or isinstance(d, SchedulerConfig):
            return d
        if isinstance(d, str):
            return cls.parse(d)
        unknown = set(d) - {"name", "params"}
        if unknown:
            raise ValueError(f"scheduler entry has unknown keys {sorted(unknown)}")
        return cls(d["name"], tuple((d.get("params") or {}).items()))


def value_text(v: Any) -> str:
    """A value as links and the command line write it: true/false, lists joined by commas, floats
    to 10 significant digits."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(value_text(x) for x in v)
    return f"{v:.10g}" if isinstance(v, float) else str(v)


def parse_text(param: optimizers.HyperParam, raw: str, where: str) -> Any:
    """A parameter's value as text (a link, the command line, a form's text box) in the type its
    kind wants; the range is checked afterwards."""
    try:
        if param.kind == "bool":
            return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}[raw.lower()]
        if param.kind == "choice":
            return raw
        if param.kind in ("ints", "pair"):
            return tuple(float(x) for x in raw.strip("[]()").split(",") if x.strip())
        return float(raw)
    except (KeyError, ValueError):
        raise ValueError(
            f"{where}.{param.name} = {raw!r} is not {param.describe_range() if param.kind != 'float' else 'a number'}"
        ) from None


@dataclass(frozen=True)
class OptimizerConfig:
    """One optimizer in a run: a registry entry with some hyperparameters overridden."""

    name: str  # registry key, e.g. "Adam" or "Mini-batch SGD"
    overrides: tuple[tuple[str, Any], ...] = ()  # (hyperparameter, value), sorted by name
    batch_size: int | None = None  # None: the entry's batch mode decides
    label: str | None = None  # shown instead of the name (e.g. "Adam lr=0.1" in a sweep)
    scheduler: SchedulerConfig | None = None  # this optimizer's own schedule (else the run's)

    def __post_init__(self) -> None:
        spec = optimizers.get(self.name)  # raises for unknown names
        object.__setattr__(self, "scheduler", SchedulerConfig.from_dict(self.scheduler))
        object.__setattr__(self, "name", spec.name)
        raw = dict(self.overrides)
        checked = spec.hyperparams(raw)  # raises for unknown names and out-of-range values
        norm = tuple(sorted((k, checked[k]) for k in raw if checked[k] != spec.defaults[k]))
        object.__setattr__(self, "overrides", norm)
        if self.batch_size is not None:
            object.__setattr__(
                self, "batch_size", _check_int(f"{spec.name}.batch_size", self.batch_size, 1, MAX_ACCELERATOR_SAMPLES)
            )

    @classmethod
    def of(
        cls,
        name: str,
        batch_size: int | None = None,
        label: str | None = None,
        scheduler: SchedulerConfig | str | None = None,
        **hyperparams: Any,
    ):
        return cls(name, tuple(hyperparams.items()), batch_size, label, SchedulerConfig.from_dict(scheduler))

    def with_hyperparams(self, **values: Any) -> OptimizerConfig:
        """This optimizer with ``values`` set (checked again); its other settings kept."""
        return replace(self, overrides=(*self.overrides, *values.items()))

    @property
    def spec(self) -> optimizers.OptimizerSpec:
        return optimizers.get(self.name)

    @property
    def kwargs(self) -> dict[str, Any]:
        """Exactly the keyword arguments given to the torch.optim class."""
        return self.spec.hyperparams(dict(self.overrides))

    @property
    def display(self) -> str:
        return self.label or self.name

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.overrides:
            out["hyperparams"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.overrides}
        if self.batch_size is not None:
            out["batch_size"] = self.batch_size
        if self.label:
            out["label"] = self.label
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | str) -> OptimizerConfig:
        if isinstance(d, str):
            return cls(d)
        unknown = set(d) - {"name", "hyperparams", "batch_size", "label", "scheduler"}
        if unknown:
            raise ValueError(f"optimizer entry has unknown keys {sorted(unknown)}")
        return cls(
            d["name"],
            tuple((d.get("hyperparams") or {}).items()),
            d.get("batch_size"),
            d.get("label"),
            d.get("scheduler"),
        )


def preset_optimizers() -> tuple[OptimizerConfig, ...]:
    return tuple(OptimizerConfig(n) for n in optimizers.registry().presets())


@dataclass(frozen=True)
class RunConfig:
    """Everything a comparison depends on. Same config, same result."""

    optimizers: tuple[OptimizerConfig, ...] = field(default_factory=preset_optimizers)
    steps: int = 1_000  # optimizer steps per optimizer
    batch_size: int = 10  # samples per step for entries in "mini" batch mode
    data: DataConfig = field(default_factory=DataConfig)
    objective: str = REGRESSION  # or an analytic landscape: rosenbrock, beale, saddle
    seed: int = 0  # seeds data, initial parameters and batch order
    repeats: int = 1  # independent starts (different initial parameters and batch order)
    init: tuple[float, float] | None = None  # (w0, b0); None: drawn from the seed
    device: str = "cpu"  # cpu, cuda, cuda:N or mps
    dtype: str = "float32"  # float32 (torch's default) or float64
    tol: float = 1e-6  # converged once loss - best possible loss stays below this
    scheduler: SchedulerConfig | None = None  # one learning-rate schedule for every optimizer without its own

    def __post_init__(self) -> None:
        opts = tuple(o if isinstance(o, OptimizerConfig) else OptimizerConfig.from_dict(o) for o in self.optimizers)
        if not opts:
            raise ValueError("optimizers must name at least one optimizer")
        keys = [o.display for o in opts]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"optimizers must be distinct; repeated: {dupes} (give each a label)")
        object.__setattr__(self, "optimizers", opts)
        object.__setattr__(self, "steps", _check_int("steps", self.steps, 1, MAX_STEPS))
        if isinstance(self.data, Mapping):
            object.__setattr__(self, "data", DataConfig(**self.data))
        object.__setattr__(self, "objective", _check_choice("objective", self.objective, OBJECTIVES))
        n = self.data.samples
        object.__setattr__(self, "batch_size", _check_int("batch_size", self.batch_size, 1, n))
        for o in opts:
            if o.batch_size is not None and o.batch_size > n:
                raise ValueError(f"{o.display}.batch_size = {o.batch_size} is outside the allowed range [1, {n}]")
        object.__setattr__(self, "seed", _check_int("seed", self.seed, 0, 2**31 - 1))
        object.__setattr__(self, "repeats", _check_int("repeats", self.repeats, 1, MAX_REPEATS))
        if len(opts) * self.repeats > MAX_LANES:
            raise ValueError(
                f"optimizers x repeats = {len(opts)} x {self.repeats} is over the limit of {MAX_LANES} runs"
            )
        if self.init is not None:
            if not isinstance(self.init, (list, tuple)) or len(self.init) != 2:
                raise ValueError(f"init must be a pair (w0, b0), got {self.init!r}")
            object.__setattr__(
                self, "init", tuple(_check_float(f"init[{i}]", v, -1e3, 1e3) for i, v in enumerate(self.init))
            )
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a name such as 'cpu' or 'cuda:0', got {self.device!r}")
        if self.data.samples > max_samples(self.device):
            where = "the CPU" if self.device.split(":")[0] == "cpu" else f"device {self.device!r}"
            raise ValueError(
                f"data.samples = {self.data.samples} is outside the allowed range [2, {MAX_SAMPLES}] on {where} "
                f"(on an accelerator, device cuda or mps: up to {MAX_ACCELERATOR_SAMPLES})"
            )
        object.__setattr__(self, "dtype", _check_choice("dtype", self.dtype, DTYPES))
        object.__setattr__(self, "tol", _check_float("tol", self.tol, 0.0, 1e3, low_open=True))
        object.__setattr__(self, "scheduler", SchedulerConfig.from_dict(self.scheduler))
        for o in opts:  # torch's own checks (cycle_momentum needs momentum …), on stand-ins: cheap
            sched = self.scheduler_of(o)
            if sched is not None:
                try:
                    schedulers.check(sched.name, sched.kwargs(self.steps), o.spec.torch_class, o.kwargs, self.steps)
                except ValueError as exc:
                    raise ValueError(f"{o.display}: {exc}") from None

    @property
    def is_regression(self) -> bool:
        """Whether this run fits the regression (with data and batches) rather than a landscape."""
        return self.objective == REGRESSION

    def batch_size_of(self, opt: OptimizerConfig) -> int:
        """Samples per step for ``opt``: its own batch size, else its entry's batch mode."""
        if opt.batch_size is not None:
            return opt.batch_size
        return {"full": self.data.samples, "single": 1, "mini": self.batch_size}[opt.spec.batch]

    def scheduler_of(self, opt: OptimizerConfig) -> SchedulerConfig | None:
        """The learning-rate schedule ``opt`` follows: its own, else the run's (None: a constant rate)."""
        return opt.scheduler if opt.scheduler is not None else self.scheduler

    @property
    def schedule_text(self) -> str:
        """The learning-rate schedules in a few words: "constant", the run's schedule, or each
        optimizer's ("Adam: StepLR:step_size=100; GD: constant")."""
        if all(o.scheduler is None for o in self.optimizers):
            return "constant" if self.scheduler is None else self.scheduler.text
        own = (self.scheduler_of(o) for o in self.optimizers)
        return "; ".join(
            f"{o.display}: {s.text if s else 'constant'}" for o, s in zip(self.optimizers, own, strict=True)
        )

    def replace(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["optimizers"] = [o.to_dict() for o in self.optimizers]
        d["init"] = list(self.init) if self.init is not None else None
        if self.scheduler is None:
            del d["scheduler"]  # configs without a schedule keep the JSON (and cache keys) they had
        else:
            d["scheduler"] = self.scheduler.to_dict()
        return d

    def to_json(self) -> str:
        """Canonical JSON: equal configs give equal strings (usable as a cache key)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}; allowed: {sorted(known)}")
        kw = dict(d)
        if "optimizers" in kw:
            kw["optimizers"] = tuple(OptimizerConfig.from_dict(o) for o in kw["optimizers"])
        if kw.get("init") is not None:
            kw["init"] = tuple(kw["init"])
        if isinstance(kw.get("data"), Mapping):
            data_known = set(DataConfig.__dataclass_fields__)
            bad = set(kw["data"]) - data_known
            if bad:
                raise ValueError(f"unknown data fields {sorted(bad)}; allowed: {sorted(data_known)}")
            kw["data"] = DataConfig(**kw["data"])
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"config is not valid JSON: {exc}") from None
        if not isinstance(d, dict):
            raise ValueError("config JSON must be an object")
        return cls.from_dict(d)
