"""A comparison's configuration as URL query parameters, and back.

Readable on purpose, so a teacher can edit a link by hand::

    ?opt=GD,Adam&steps=2000&seed=3&samples=50&noise=0.1&true_w=3&true_b=0.8&batch=10
     &device=cpu&tol=1e-06&Adam.lr=0.1&Adam.betas=0.8,0.99&GD.batch_size=5&same_lr=0.1&run=1
    ?opt=Momentum,Adam&problem=rosenbrock&steps=3000&run=1
    ?opt=RMSProp,Adam&steps=20000&dtype=float64&run=1
    ?opt=GD,Adam&sched=CosineAnnealingLR:eta_min=0.001&Adam.sched=StepLR:step_size=100,gamma=0.5&run=1

Reading never raises: a value that does not parse or is out of range is replaced by its default
and reported in a notice that names the parameter, the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lab.core import optimizers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig, SchedulerConfig, value_text

_DATA = {"samples": "samples", "noise": "noise", "true_w": "true_w", "true_b": "true_b"}
_TOP = {
    "steps": "steps",
    "seed": "seed",
    "batch": "batch_size",
    "device": "device",
    "tol": "tol",
    "problem": "objective",
    "dtype": "dtype",
    "repeats": "repeats",
    "sched": "scheduler",  # after steps: some schedules are checked against the run's length
}
_OMITTED_AT_DEFAULT = {"problem", "dtype", "repeats", "sched"}  # added later: links at their default stay as they were
# exp: a guided experiment (lab/app/session.py reads it); present: present mode (the page reads it);
# s: the session's token, r: a stored run (lab/app/archive.py); room: a class's join link (lab/app/rooms.py),
# which the Class page's link to this page carries along
_FLAGS = {"opt", "same_lr", "run", "exp", "present", "s", "r", "room"}


@dataclass
class PageState:
    """What the Optimizers page shows: a run config plus UI-only choices."""

    config: RunConfig = field(default_factory=RunConfig)
    same_lr: float | None = None  # one learning rate for every optimizer, when set
    autorun: bool = False  # train as soon as the page opens (shared links)
    experiment: str | None = None  # the guided experiment this state opens (lab/app/experiments.py)
    notices: list[str] = field(default_factory=list)


def _fmt(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, SchedulerConfig):
        return v.text
    return value_text(v)


def to_query(state: PageState, autorun: bool = True) -> dict[str, str]:
    cfg = state.config
    q: dict[str, str] = {"opt": ",".join(o.name for o in cfg.optimizers)}
    for key, attr in _TOP.items():
        if key not in _OMITTED_AT_DEFAULT or getattr(cfg, attr) != getattr(RunConfig, attr):
            q[key] = _fmt(getattr(cfg, attr))
    if cfg.data.dataset is not None:  # a file cannot travel in a link: its name and hash do
        q["data"] = cfg.data.dataset
        q["data_name"] = cfg.data.dataset_name or ""
    else:
        for key, attr in _DATA.items():
            q[key] = _fmt(getattr(cfg.data, attr))
    for o in cfg.optimizers:
        for name, value in o.overrides:
            if not (state.same_lr is not None and name == "lr"):
                q[f"{o.name}.{name}"] = _fmt(value)
        if o.batch_size is not None:
            q[f"{o.name}.batch_size"] = str(o.batch_size)
        if o.scheduler is not None:
            q[f"{o.name}.sched"] = o.scheduler.text
    if state.same_lr is not None:
        q["same_lr"] = _fmt(state.same_lr)
    if autorun:
        q["run"] = "1"
    return q


def _parse_value(text: str, default: Any) -> Any:
    t = text.strip()
    if isinstance(default, bool):
        if t.lower() in ("true", "1", "yes", "on"):
            return True
        if t.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not true or false")
    if isinstance(default, tuple):
        return tuple(float(x) for x in t.split(","))
    if default is None or isinstance(default, str):
        return None if t.lower() in ("none", "null", "") else t
    if isinstance(default, int):
        f = float(t)
        if not math.isfinite(f):  # int(inf) would overflow: a clear refusal instead
            raise ValueError(f"{text!r} is not a whole number")
        return int(f) if f == int(f) else f
    return float(t)


Notices = list[str]


def _ignored(key: str, value: str, why: str, fallback: Any) -> str:
    return f"Ignored {key}={value!r}: {why}. Using {fallback}."


def _read_unknown(q: Mapping[str, str]) -> Notices:
    known = set(_TOP) | set(_DATA) | _FLAGS | {"data", "data_name"}
    return [f"Ignored unknown parameter {key!r}." for key in q if key not in known and "." not in key]


def _read_data(q: Mapping[str, str], device: str) -> tuple[DataConfig, Notices]:
    """samples, noise, true_w, true_b; each checked together with those read before it (samples
    against the link's ``device``: an accelerator takes more). A link of a run on a learner's own
    data names the file, which must be uploaded again."""
    default, kw, notices = DataConfig(), dict[str, Any](), Notices()
    if "data" in q:
        name = q.get("data_name") or "of that run"
        notices.append(
            f"This link's run was trained on an uploaded data set, {name} ({q['data']}): links do not carry "
            "files. Upload it again (Data, in the sidebar) to train on it; the generated data is used meanwhile."
        )
    for key, attr in _DATA.items():
        if key in q:
            try:
                value = _parse_value(q[key], getattr(default, attr))
                RunConfig(data=DataConfig(**{**kw, attr: value}), device=device, batch_size=1)
                kw[attr] = value
            except ValueError as exc:
                notices.append(_ignored(key, q[key], str(exc), getattr(default, attr)))
    return DataConfig(**kw), notices


def _read_optimizers(q: Mapping[str, str]) -> tuple[tuple[OptimizerConfig, ...] | None, Notices]:
    """The ``opt`` list (known names, each once), or None for the presets."""
    if "opt" not in q:
        return None, []
    names, notices = [], []
    for raw in (n.strip() for n in q["opt"].split(",") if n.strip()):
        try:
            names.append(optimizers.get(raw).name)
        except ValueError as exc:
            notices.append(f"Ignored optimizer {raw!r}: {exc}.")
    if not names:
        return None, [*notices, "No known optimizer in 'opt'. Using the seven presets."]
    return tuple(OptimizerConfig(n) for n in dict.fromkeys(names)), notices


def _read_top(q: Mapping[str, str], cfg: RunConfig) -> tuple[RunConfig, Notices]:
    """steps, seed, batch, device, tol, problem, dtype: each applied to ``cfg`` if valid."""
    notices = []
    for key, attr in _TOP.items():
        if key in q:
            try:
                cfg = cfg.replace(**{attr: _parse_value(q[key], getattr(cfg, attr))})
            except ValueError as exc:
                now = getattr(cfg, attr)
                notices.append(_ignored(key, q[key], str(exc), "a constant learning rate" if now is None else now))
    return cfg, notices


def _read_same_lr(q: Mapping[str, str]) -> tuple[float | None, Notices]:
    if "same_lr" not in q:
        return None, []
    try:
        return optimizers.get("Adam").param("lr").check(float(q["same_lr"]), "same_lr"), []
    except ValueError as exc:
        return None, [_ignored("same_lr", q["same_lr"], str(exc), "each optimizer's own learning rate")]


def _read_overrides(q: Mapping[str, str], cfg: RunConfig) -> tuple[tuple[OptimizerConfig, ...], Notices]:
    """``Name.param=value`` for the chosen optimizers (hyperparameters and batch_size)."""
    opts, notices = list(cfg.optimizers), []
    for key in (k for k in q if "." in k):
        name, _, param = key.rpartition(".")
        canon = _canon(name)  # "adam.lr" and "Adam.lr" mean the same; o.name is canonical already
        idx = next((i for i, o in enumerate(opts) if o.name == canon), None)
        if idx is None:
            notices.append(f"Ignored {key!r}: {name!r} is not among the chosen optimizers.")
            continue
        o = opts[idx]
        try:
            if param == "batch_size":
                new = replace(o, batch_size=_parse_value(q[key], 1))
                cfg.replace(optimizers=(new,))  # checks the size against the data
            elif param == "sched":
                new = replace(o, scheduler=SchedulerConfig.parse(q[key]) if q[key].strip() else None)
                cfg.replace(optimizers=(new,))  # checks the schedule against the optimizer and the run
            else:
                new = o.with_hyperparams(**{param: _parse_value(q[key], o.spec.param(param).default)})
            opts[idx] = new
        except ValueError as exc:
            notices.append(_ignored(key, q[key], str(exc), "the default"))
    return tuple(opts), notices


def from_query(params: Mapping[str, Any]) -> PageState:
    """The page state a URL describes; bad or unknown parameters fall back to defaults, noted."""
    q = {k: (v[-1] if isinstance(v, list) else v) for k, v in params.items()}
    notices = _read_unknown(q)
    device = str(q.get("device", "")).strip() or "cpu"  # read again (and noted if bad) with the others
    data, found = _read_data(q, device)
    notices += found
    opts, found = _read_optimizers(q)
    notices += found
    cfg = RunConfig(data=data, device=device, batch_size=min(RunConfig.batch_size, data.samples))
    cfg = cfg if opts is None else cfg.replace(optimizers=opts)
    cfg, found = _read_top(q, cfg)
    notices += found
    same_lr, found = _read_same_lr(q)
    notices += found
    opts, found = _read_overrides(q, cfg)
    notices += found
    if same_lr is not None:
        opts = tuple(o.with_hyperparams(lr=same_lr) for o in opts)
    return PageState(
        config=cfg.replace(optimizers=opts),
        same_lr=same_lr,
        autorun=q.get("run", "0").strip() in ("1", "true", "yes"),
        notices=notices,
    )


def _canon(name: str) -> str | None:
    try:
        return optimizers.get(name).name
    except ValueError:
        return None
