"""The Optimizers page's form, kept in a mapping of widget keys to values: ``st.session_state`` in
the app, a plain dict in tests. Writing a configuration into the widgets' keys, reading one back,
and the sentences the page builds from results. Nothing here imports Streamlit."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from lab.app import keys, limits, session
from lab.app.query import PageState, to_query
from lab.core import landscapes, optimizers, schedulers, tuning
from lab.core.config import REGRESSION, OptimizerConfig, RunConfig, SchedulerConfig, parse_text

K = keys.OPT  # the page's session-state namespace
TUNED = K("tuned_lrs")  # learning rates found by a sweep, to apply before the widgets are drawn
CONSTANT = "none"  # the schedule selector's "no schedule"
ALL = "all"  # the scope of the run's one schedule; an optimizer's own is scoped by its name
EACH = K("sched_each")  # one schedule per optimizer (else one for all)


def hp_key(name: str, param: str, part: int | None = None) -> str:
    """The widget key of one hyperparameter (``part`` 0 or 1 of a pair such as Adam's betas)."""
    return K("hp", name, param) if part is None else K("hp", name, param, part)


def sched_key(scope: str, name: str | None = None, param: str | None = None) -> str:
    """The widget key of a schedule selector (``scope``: ALL or an optimizer's name) or, with
    ``name`` and ``param``, of one of that schedule's parameters."""
    return K("sched", scope) if name is None else K("sched", scope, name, param)


def schedule_title(name: str) -> str:
    return "None — a constant learning rate" if name == CONSTANT else name


def _write_schedule(state: MutableMapping[str, Any], scope: str, sched: SchedulerConfig | None) -> None:
    state[sched_key(scope)] = CONSTANT if sched is None else sched.name
    if sched is None:
        return
    given = dict(sched.overrides)
    for p in sched.spec.params:
        value = given.get(p.name, sched.spec.defaults.get(p.name))  # None: follows the run's steps
        state[sched_key(scope, sched.name, p.name)] = (
            ", ".join(map(str, value)) if p.kind == "ints" and value else value
        )


def read_schedule(state: Mapping[str, Any], scope: str) -> SchedulerConfig | None:
    """The schedule chosen for ``scope`` with the parameters set in its widgets (an empty one
    follows the run's steps); raises ValueError naming a bad value."""
    name = state.get(sched_key(scope), CONSTANT)
    if name == CONSTANT:
        return None
    spec = schedulers.get(name)
    values = {}
    for p in spec.params:
        value = state.get(sched_key(scope, name, p.name))
        if isinstance(value, str):  # a list, typed as text: "500, 750" (empty: follows the run's steps)
            value = parse_text(p, value.strip(), name) if value.strip() else None
        if value is not None:
            values[p.name] = value
    return SchedulerConfig(name, tuple(values.items()))


def write(state: MutableMapping[str, Any], page: PageState) -> None:
    """Set the form's widgets to ``page``'s configuration (the sidebar's fields are not the form's)."""
    cfg = page.config
    state[K("selected")] = [o.name for o in cfg.optimizers]
    state[K("problem")] = cfg.objective
    state[K("dtype")] = cfg.dtype
    state[K("steps")] = min(cfg.steps, limits.LIMITS.steps)  # the URL layer has said so if it clipped
    state[K("batch")] = cfg.batch_size
    state[K("repeats")] = min(cfg.repeats, limits.LIMITS.repeats)
    state[K("same_lr_on")] = page.same_lr is not None
    state[K("same_lr")] = page.same_lr if page.same_lr is not None else 0.05
    state[EACH] = any(o.scheduler is not None for o in cfg.optimizers)
    _write_schedule(state, ALL, None if state[EACH] else cfg.scheduler)
    for o in cfg.optimizers:
        _write_schedule(state, o.name, cfg.scheduler_of(o) if state[EACH] else None)
    for o in cfg.optimizers:
        for p, value in o.kwargs.items():
            if isinstance(value, tuple):
                state[hp_key(o.name, p, 0)], state[hp_key(o.name, p, 1)] = value
            else:
                state[hp_key(o.name, p)] = value


def read_optimizer(state: Mapping[str, Any], spec: optimizers.OptimizerSpec, same_lr: float | None) -> OptimizerConfig:
    """One optimizer's hyperparameters from its widgets (defaults where a widget was never drawn)."""
    values: dict[str, Any] = {}
    for p in spec.params:
        if p.kind == "pair":
            default = spec.defaults[p.name]
            values[p.name] = tuple(state.get(hp_key(spec.name, p.name, i), default[i]) for i in (0, 1))
        else:
            values[p.name] = state.get(hp_key(spec.name, p.name), spec.defaults[p.name])
    if same_lr is not None:
        values["lr"] = same_lr
    own = read_schedule(state, spec.name) if state.get(EACH) else None
    return OptimizerConfig.of(spec.name, scheduler=own, **values)


def read(state: Mapping[str, Any]) -> tuple[PageState | None, str | None]:
    """The configuration the form and the sidebar describe, or the message naming what is wrong."""
    try:
        same_lr = float(state[K("same_lr")]) if state[K("same_lr_on")] else None
        reg = optimizers.registry()
        opts = tuple(read_optimizer(state, reg.get(n), same_lr) for n in state[K("selected")])
        repeats = int(state.get(K("repeats"), 1))
        if (refused := limits.check_run(len(opts), repeats)) is not None:
            return None, refused
        cfg = RunConfig(
            optimizers=opts,
            steps=int(state[K("steps")]),
            batch_size=int(state[K("batch")]),
            objective=state[K("problem")],
            dtype=state.get(K("dtype"), RunConfig.dtype),
            repeats=repeats,
            scheduler=None if state.get(EACH) else read_schedule(state, ALL),
            **session.shared_fields(state),
        )
        return PageState(cfg, same_lr), None
    except ValueError as exc:
        return None, str(exc)


def apply_tuned_lrs(state: MutableMapping[str, Any]) -> None:
    """After a sweep: each optimizer's learning-rate widget takes its best (and "same learning
    rate for all" goes off). Call before the widgets are drawn."""
    best = state.pop(TUNED, None)
    if best:
        for name, lr in best.items():
            state[hp_key(name, "lr")] = lr
        state[K("same_lr_on")] = False


def step_size(low: float, high: float, default: float, log: bool) -> float:
    """The +/- step of a number input: a tenth of the default on a log range, else 1 % of the range."""
    if log:
        return float(max(abs(default) / 10, 1e-12))
    return float(max((high - low) / 100, 1e-6))


def problem_title(name: str) -> str:
    if name == REGRESSION:
        return "Regression — fit y = w·x + b to the data (the tutorial)"
    return landscapes.get(name).title


def problem_caption(name: str) -> str:
    if name == REGRESSION:
        return (
            "The loss is the mean squared error of y = w·x + b on the sidebar's data; SGD and mini-batch SGD "
            "see a random part of it at each step."
        )
    return (
        f"{landscapes.get(name).description} The loss is the surface's height at (w, b) and the gradient is "
        "exact, so batch sizes do not apply, nor does the sidebar's data."
    )


def run_caption(cfg: RunConfig, device: str, seconds: float, source: str) -> str:
    if not cfg.is_regression:
        where = f"on the {cfg.objective} surface"
    elif cfg.data.dataset is not None:
        where = f"seed {cfg.seed} · your data {cfg.data.dataset_name} ({cfg.data.samples} rows)"
    else:
        where = f"seed {cfg.seed} · {cfg.data.samples} samples, noise {cfg.data.noise:g}"
    repeats = f" × {cfg.repeats} repeats (median and min–max band)" if cfg.repeats > 1 else ""
    if cfg.schedule_text != "constant":
        where += f" · learning rate: {cfg.schedule_text}"
    return (
        f"{len(cfg.optimizers)} optimizers{repeats} × {cfg.steps:,} steps on {device} in {seconds:.2f} s · "
        f"{cfg.dtype} · "
        f"{where}{SOURCE_WORDS.get(source, '')}"
    )


SOURCE_WORDS = {  # where a run on screen came from, for the run's caption (trained now: nothing to say)
    "shared cache": " · from this server's cache",
    "session": " · from this session's history",
    "stored": " · from this session's stored history",
    "link": " · a stored run opened from its link",
}


LOSS_FLOOR = (
    "The loss is what the tutorial's loop prints, `criterion(model(x), y).item()`, in the run's precision. "
    "In float32 it cannot go much below about 1e-13 on clean data (w and b themselves are rounded to about "
    "7 digits), and near the best possible loss the gradient is rounding noise: a curve that jitters there "
    "is rounding, and Adam-like optimizers, which divide by the gradient's own size, turn it into steps. "
    "The grey band marks that rounding; **Full range** shows every step and value. Choose float64 for the "
    "exact picture."
)
DTYPE_TITLES = {
    "float32": "float32 — torch's default",
    "float64": "float64 — the exact picture",
}
DTYPE_HELP = (
    "The precision every number of the run is computed in. float32, torch's default, keeps about 7 digits: "
    "near the optimum the gradient becomes rounding noise, the loss stops near 1e-13 (or the noise's "
    "floor), and optimizers that divide by the gradient's own size (Adam, NAdam, RAdam) keep stepping "
    "there. float64 keeps about 16 digits."
)


def sweep_is_current(found: tuning.Sweep, page: PageState | None) -> bool:
    """Whether the form still shows the swept settings with the learning rates the sweep chose."""
    return page is not None and tuning.with_best_lrs(found.config, found) == page.config


def sweep_summary(found: tuning.Sweep, current: bool) -> str:
    return (
        "Each optimizer's learning rate is set to its best (◆): "
        + ", ".join(f"**{n}** {lr:g}" for n, lr in found.best.items())
        + (". With Live on they are already retrained at these rates; else press **Train all**." if current else ".")
    )


def sweep_caption(found: tuning.Sweep, current: bool) -> str:
    cfg = found.config
    never = sorted(set(found.table.optimizer) - set(found.best))  # diverged at every learning rate
    return (
        f"{cfg.steps:,} steps at each learning rate, "
        + (f"on the {cfg.objective} surface. " if not cfg.is_regression else f"on this data, seed {cfg.seed}. ")
        + "A wide, flat valley means an optimizer forgives a rough choice; a narrow one means the learning "
        "rate must be just right. ◆ the rate chosen: the one that gets within tolerance in the fewest steps "
        "(a faster rate may end a little higher than a slower one), or the lowest if none gets there. "
        "Red crosses in the band on top: diverged, one row per optimizer."
        + (f" Diverged at every learning rate: {', '.join(never)}." if never else "")
        + "".join(f" Not swept: {name} — {why}." for name, why in found.skipped.items())
        + ("" if current else " The settings have changed since this sweep.")
    )


# ------------------------------------------------------------ the learning rates as one table
HP_TABLE = K("hp_table")  # the data editor's key, with a version appended (a fresh editor after each edit)
HP_NOTICES = K("hp_notices")  # cells the table refused, with the reason, shown under it
LR_COLUMN, MORE_COLUMN = "learning rate", "other hyperparameters (in its box below)"


def _value_text(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{v:g}" for v in value) + ")"
    return f"{value:g}" if isinstance(value, float) else str(value)


BATCH_WORDS = {"full": "all samples", "single": "one sample", "mini": "mini-batches"}  # what a step sees


def hp_rows(state: Mapping[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """One row per chosen optimizer: its learning rate as the form holds it (the shared one when
    "same learning rate for all" is on) and, in words, what it steps on and its other hyperparameters
    that are set (not 0 or off)."""
    reg = optimizers.registry()
    same = float(state[K("same_lr")]) if state.get(K("same_lr_on")) else None
    rows = []
    for name in names:
        spec = reg.get(name)
        opt = read_optimizer(state, spec, None)
        batch = BATCH_WORDS[spec.batch]
        set_ = [f"{k} {_value_text(v)}" for k, v in opt.kwargs.items() if k != "lr" and v not in (0, False, None)]
        rows.append(
            {
                "optimizer": name,
                LR_COLUMN: same if same is not None else opt.kwargs.get("lr"),
                MORE_COLUMN: ", ".join([batch, *set_[:3]]),
            }
        )
    return rows


def apply_hp_edits(state: MutableMapping[str, Any], names: list[str], edits: Mapping[str, Any]) -> list[str]:
    """Write the learning rates edited in the table (a data editor's value: ``{"edited_rows":
    {row: {column: value}}}``) into the optimizers' fields; a value torch would refuse is not
    written, and its notice (naming the optimizer, the field and the allowed range) is returned."""
    reg = optimizers.registry()
    refused = []
    for row, cells in edits.get("edited_rows", {}).items():
        if LR_COLUMN not in cells or not 0 <= int(row) < len(names):
            continue
        spec = reg.get(names[int(row)])
        value = cells[LR_COLUMN]
        try:
            if value is None:
                raise ValueError(f"{spec.name}.lr is empty: give a number")
            state[hp_key(spec.name, "lr")] = spec.param("lr").check(float(value), spec.name)
        except (TypeError, ValueError) as exc:
            refused.append(f"Not changed: {exc}.")
    return refused


def reset(state: MutableMapping[str, Any]) -> None:
    """The tutorial's defaults in every field of the form and in the sidebar's generated data (what
    a first visit shows); an uploaded data set stays in use."""
    for key in [k for k in state if isinstance(k, str) and k.startswith((K("hp", ""), K("sched", "")))]:
        del state[key]
    default = PageState()
    write(state, default)
    data = default.config.data
    for key, value in zip(
        (session.SEED, session.SAMPLES, session.NOISE, session.TRUE_W, session.TRUE_B),
        (default.config.seed, data.samples, data.noise, data.true_w, data.true_b),
        strict=True,
    ):
        state[key] = value


_SAID = {"opt": "optimizers", "same_lr": "one learning rate for all", "sched": "schedule", "exp": "experiment"}


def what_it_set(page: PageState) -> str | None:
    """One line: what a link or a guided experiment changed from the tutorial's defaults (None: nothing)."""
    given, default = to_query(page), to_query(PageState())
    changed = [
        f"{_SAID.get(k, k)} {v.replace(',', ', ')}"
        for k, v in given.items()
        if default.get(k) != v and k not in ("run", "exp")
    ]
    return "Set by the link: " + "; ".join(changed) + "." if changed else None
