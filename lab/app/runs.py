"""Keeping runs: a bounded per-session history, a process-wide cache shared by all sessions,
training slots for a shared server, and CSV exports of one or many runs.

Everything here is plain Python; the app keeps one :class:`RunStore` in each session's state.
Results are immutable and the same config always gives the same result, so a result trained for
one user can be handed to every other user who asks for the same config.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import torch

from lab.app import limits, live
from lab.app.fairqueue import FairQueue
from lab.app.limits import LIMITS
from lab.core import caches, cli, cost, engine, results, tuning
from lab.core.config import RunConfig, value_text
from lab.core.results import RunResult, curves_frame, summary_frame

DEFAULT_MAX_RUNS = min(10, LIMITS.runs_kept)
SESSION_BYTES = 64 * 2**20  # per-session history budget
SHARED_BYTES = 256 * 2**20  # process-wide cache budget


def result_bytes(res: RunResult) -> int:
    """Approximate memory held by a result's arrays."""
    return sum(ln.loss.nbytes + ln.w.nbytes + ln.b.nbytes for ln in res.lanes) + (
        0 if res.x is None or res.y is None else res.x.nbytes + res.y.nbytes
    )


@dataclass(frozen=True)
class Entry:
    run_id: int
    created: datetime
    config: RunConfig  # what trained: a stopped run's config has the steps it reached
    result: RunResult
    source: str  # "trained", "shared cache"
    asked: RunConfig | None = None  # what was asked, when it differs (a run stopped at its time limit)
    short_id: str | None = None  # its id in the run store (lab/store), once kept there: ?r=<short_id>

    def describe(self) -> dict:
        """The history's row: every setting that can tell two runs apart, in a few words each."""
        cfg = self.config
        return {
            "run": self.run_id,
            "time": self.created.strftime("%H:%M:%S"),
            "optimizers": ", ".join(o.display for o in cfg.optimizers),
            "learning rates": rates_text(cfg),
            "schedule": cfg.schedule_text,
            "precision": cfg.dtype,
            "problem": cfg.objective,
            "data": data_text(cfg),
            "steps": cfg.steps,
            "repeats": cfg.repeats,
            "seed": cfg.seed,
            "samples": cfg.data.samples,
            "noise": cfg.data.noise,
            "batch": cfg.batch_size,
            "device": self.result.device,
            "seconds": round(self.result.seconds, 3),
        }

    def label(self) -> str:
        """One line for the history's picker: what tells this run from the others (the learning
        rates and the precision always; repeats, a schedule, a surface or own data where set)."""
        cfg = self.config
        n = len(cfg.optimizers)
        parts = [
            f"#{self.run_id}",
            f"{self.created:%H:%M:%S}",
            f"{n} optimizer{'s' if n > 1 else ''}: {rates_text(cfg)}",
            cfg.dtype,
            f"{cfg.steps:,} steps",
            f"seed {cfg.seed}",
        ]
        if cfg.repeats > 1:
            parts.append(f"{cfg.repeats} repeats")
        if cfg.schedule_text != "constant":
            parts.append(f"schedule {cfg.schedule_text}")
        if not cfg.is_regression:
            parts.append(cfg.objective)
        elif cfg.data.dataset is not None:
            parts.append(data_text(cfg))
        return " · ".join(parts)


HISTORY_COLUMNS = (
    "run",
    "time",
    "optimizers",
    "learning rates",
    "schedule",
    "precision",
    "problem",
    "data",
    "steps",
    "repeats",
    "seed",
    "samples",
    "noise",
    "batch",
    "device",
    "seconds",
)


def rates_text(cfg: RunConfig) -> str:
    """The learning rates in a few words: "same lr 0.01" when every optimizer has that one rate
    ("lr 0.01" for a single optimizer), else each optimizer's ("Adam 0.01, SGD 0.1")."""
    rates = [(o.display, o.kwargs.get("lr")) for o in cfg.optimizers]
    values = {lr for _, lr in rates}
    if len(values) == 1:
        (lr,) = values
        return "—" if lr is None else f"{'same lr' if len(rates) > 1 else 'lr'} {value_text(lr)}"
    return ", ".join(f"{name} {'—' if lr is None else value_text(lr)}" for name, lr in rates)


def data_text(cfg: RunConfig) -> str:
    """The data a run fitted: an uploaded file by name, else the generated line; none on a surface."""
    if not cfg.is_regression:
        return "—"
    d = cfg.data
    if d.dataset is not None:
        return f"your file {d.dataset_name or d.dataset}"
    return f"generated y = {value_text(d.true_w)}x + {value_text(d.true_b)}"


def share_warning(cfg: RunConfig) -> str | None:
    """What to tell the one who shares a link to ``cfg``: that a run on an uploaded file cannot be
    reopened from the link alone (links carry the file's name and hash, never its rows). None when
    the link carries everything."""
    d = cfg.data
    if not cfg.is_regression or d.dataset is None:
        return None
    name = d.dataset_name or "your uploaded file"
    return (
        f"This run trained on your uploaded file {name} ({d.samples:,} rows), and links do not carry files: "
        f"whoever opens this link gets the generated data until they upload {name} themselves. "
        "Send the file along with the link."
    )


@dataclass
class RunStore:
    """The runs of one session, newest last, bounded by count and by memory.

    ``trained`` counts engine calls made for this session, ``hits`` the requests answered from
    the store without training again. A ``keeper`` (lab/app/archive.py) writes each new run to the
    database and takes deleted ones out of the session's stored history.
    """

    max_runs: int = DEFAULT_MAX_RUNS
    max_bytes: int = SESSION_BYTES
    entries: OrderedDict[str, Entry] = field(default_factory=OrderedDict)
    next_id: int = 1
    trained: int = 0
    hits: int = 0
    keeper: Any = None  # .keep(entry) -> the entry as kept (its short id); .forget(entries)

    def get(self, cfg: RunConfig) -> Entry | None:
        entry = self.entries.get(cfg.to_json())
        if entry is not None:
            self.hits += 1
        return entry

    def add(self, cfg: RunConfig, result: RunResult, source: str = "trained") -> tuple[Entry, list[Entry]]:
        """Keep ``result``; returns the entry and the entries dropped to stay within bounds."""
        key = cfg.to_json()
        if key in self.entries:
            return self.entries[key], []
        asked = cfg if result.config != cfg else None
        entry = Entry(
            run_id=self.next_id, created=datetime.now(), config=result.config, result=result, source=source, asked=asked
        )
        self.next_id += 1
        if self.keeper is not None:
            entry = self.keeper.keep(entry)
        return entry, self.put(key, entry)

    def put(self, key: str, entry: Entry) -> list[Entry]:
        """Keep ``entry`` under ``key`` (a config's JSON) as it is; returns the entries dropped."""
        self.entries[key] = entry
        self.next_id = max(self.next_id, entry.run_id + 1)
        return self.trim()

    def trim(self) -> list[Entry]:
        dropped = []
        while len(self.entries) > max(1, self.max_runs) or (
            len(self.entries) > 1 and sum(result_bytes(e.result) for e in self.entries.values()) > self.max_bytes
        ):
            dropped.append(self.entries.popitem(last=False)[1])
        return dropped

    def by_id(self, run_id: int) -> Entry | None:
        return next((e for e in self.entries.values() if e.run_id == run_id), None)

    def delete(self, run_ids: list[int]) -> int:
        keys = [k for k, e in self.entries.items() if e.run_id in set(run_ids)]
        gone = [self.entries.pop(k) for k in keys]
        if self.keeper is not None:
            self.keeper.forget(gone)
        return len(gone)

    def history(self) -> pd.DataFrame:
        """One row per kept run, newest first (:data:`HISTORY_COLUMNS`)."""
        rows = [e.describe() for e in reversed(self.entries.values())]
        return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


SHARED = caches.LRU(32, SHARED_BYTES, result_bytes, name="runs")  # results by config JSON, for every session
# The process's trainings, queued fairly (lab/app/fairqueue.py): at most LAB_MAX_TRAININGS at once (by
# default one per core: more would only slow each down), one per session, first come first served.
# One of those slots is kept for short work (a default link, a live edit): long trainings hold the
# GIL in Python loops, and with every core's slot taken by them a student's page took 2.4-3.3 s to show
# a 0.01 s run; with one fewer, 1.4-1.9 s.
QUEUE = FairQueue(slots=max(1, LIMITS.trainings - 1), short_slots=1)


SWITCH_INTERVAL = 0.0005  # seconds a thread holds the GIL before another waiting one gets it


@functools.cache
def configure_process() -> None:
    """Process-wide settings, once (functools.cache makes later calls no-ops): one intra-op thread
    per training (the tensors are tiny; concurrency comes from users training at the same time), and
    the cost model calibrated on this machine, in the background (a quarter of a second of timed
    steps, after each path's first-call costs — which the first visitor then does not pay; until it
    is done, estimates use the defaults measured on a 2-core machine)."""
    torch.set_num_threads(1)
    # A training through torch.optim is a Python loop that holds the GIL; the server's other threads
    # (the web server answering a page's requests, another student's script) ask for it hundreds of
    # times a page and each wait lasted up to the switch interval (5 ms by default).
    sys.setswitchinterval(SWITCH_INTERVAL)
    if os.environ.get("LAB_CALIBRATE", "1") != "0":  # the tests keep the defaults: estimates that stay put
        # not a daemon: a process that exits meanwhile waits for it (torch's threads abort otherwise)
        threading.Thread(target=_calibrate, name="calibrate", daemon=False).start()


_FREEZING = threading.Lock()
_frozen = False  # a flag of its own: gc.get_freeze_count() walks every frozen object (~20 ms)


def freeze_loaded() -> None:
    """Streamlit runs a full garbage collection after every script run (``runner.postScriptGC``),
    a fragment's included: with torch, pandas and Altair loaded that walked ~260 000 objects, 125-156
    ms of CPU (measured) holding the GIL on every rerun of every session (a teacher's board reruns
    every second), while all of those objects live as long as the process. Moved to the permanent
    generation (``gc.freeze``), they are no longer walked: what the runs create still is. Measured
    with a teacher's board open and idle: its server spent 0.11-0.17 CPU-s in 10 s instead of 2.06.

    Once per process, and as early as everything is loaded: ``python -m lab.serve`` (the hosted
    set-ups) before its server starts, when no session exists yet; under ``streamlit run`` at the
    first script run (from lab/Home.py), with the modules every page imports loaded first. Frozen
    objects are never collected, so there the first session's own state stays for the process's life
    (one session, at most its history's budget, :data:`SESSION_BYTES`)."""
    global _frozen
    if _frozen:
        return
    with _FREEZING:
        if _frozen:
            return
        from lab.app import charts, steps, tables, view  # noqa: F401  (loaded for what they allocate)

        gc.collect()  # what is garbage already is not kept
        gc.freeze()
        _frozen = True


@contextlib.contextmanager
def training_slot(
    session: str | None = None,
    short: bool = False,
    on_wait: Callable[[int], None] | None = None,
    wait: bool = True,
) -> Iterator[None]:
    """Hold one of the process's training slots for ``session`` (None: a request of its own);
    ``on_wait(place)`` while queued. ``short``: work estimated as short as a live edit. ``wait=False``:
    :class:`fairqueue.Busy` at once when no slot is free."""
    with QUEUE.slot(session or f"request-{next(_REQUESTS)}", short, on_wait, wait=wait):
        yield


_REQUESTS = itertools.count()


def _calibrate() -> None:
    """The cost model's calibration, in a slot of the queue like any training (timed beside another
    training, it would measure the contention)."""
    with training_slot("calibration"):
        cost.calibrate()


def budget_refusal(cfg: RunConfig, estimate: float | None = None) -> str | None:
    """Why training ``cfg`` here is refused (None when it is within the budget)."""
    estimate = cost.estimate(cfg) if estimate is None else estimate
    return limits.check_budget(estimate, "This run", cli.command(cfg), fitting_steps(cfg, estimate))


def fitting_steps(cfg: RunConfig, estimate: float) -> str:
    """What would fit the budget with the rest as it is: the steps (the cost grows with them)."""
    budget = limits.LIMITS.seconds
    fit = int(cfg.steps * budget / estimate)  # an estimate has its set-up's cost: never 0
    return f"{fit:,} steps or fewer fit, with the rest as it is" if fit >= 1 else ""


class OverBudget(ValueError):
    """A training refused before it starts: its estimate is over the server's budget."""


def time_limit(estimate: float) -> float | None:
    """The hard cap of a training estimated at ``estimate`` seconds: twice the larger of the estimate
    and the server's budget (none where there is no budget: on one's own machine)."""
    budget = limits.LIMITS.seconds
    return None if not budget else 2.0 * max(estimate, budget)


def fetch_or_train(
    store: RunStore,
    cfg: RunConfig,
    progress: Callable[[float], None] | None = None,
    on_wait: Callable[[int], None] | None = None,
    shared: caches.LRU = SHARED,
    session: str | None = None,
    wait: bool = True,
) -> tuple[Entry, list[Entry], str]:
    """The run for ``cfg``: from this session's store, else the shared cache, else the engine (in a
    fair slot, stopped past :func:`time_limit`; a stopped run is kept in the session only, as the
    run of the steps it reached).

    Returns the entry, the entries dropped from the store to make room, and where it came from
    ("session", "shared cache" or "trained").
    """
    entry = store.get(cfg)
    if entry is not None:
        return entry, [], "session"
    estimate = cost.estimate(cfg)
    refused = budget_refusal(cfg, estimate)
    if refused is not None and shared.get(cfg.to_json()) is None:  # to be trained: refused before it starts
        raise OverBudget(refused)
    result, trained = _shared_or_computed(
        shared,
        cfg.to_json(),
        lambda: engine.run(cfg, progress=progress, time_limit=time_limit(estimate)),
        on_wait,
        session,
        short=live.short(estimate),
        wait=wait,
    )
    store.trained += int(trained)
    source = "trained" if trained else "shared cache"
    entry, dropped = store.add(cfg, result, source)  # a stopped run under what was asked: asking again finds it
    return entry, dropped, source


def _shared_or_computed(
    shared: caches.LRU,
    key: Hashable,
    compute: Callable[[], Any],
    on_wait: Callable[[int], None] | None,
    session: str | None = None,
    short: bool = False,
    wait: bool = True,
) -> tuple[Any, bool]:
    """The value under ``key`` in ``shared``, else computed in a training slot and kept there (unless
    it stopped short of what was asked). Returns the value and whether it was computed now."""
    value = shared.get(key)
    if value is not None:
        return value, False
    with training_slot(session, short, on_wait, wait):
        value = shared.get(key)  # trained meanwhile for someone else who asked the same (a class, one link)
        if value is not None:
            return value, False
        value = compute()
        if getattr(value, "stopped", None) is None:
            shared.put(key, value)  # before the slot is freed: the next in the queue finds it there
    return value, True


# learning-rate sweeps by config JSON and grid, for every session (tables only: small)
SWEEPS = caches.LRU(16, name="sweeps")


def fetch_or_sweep(
    cfg: RunConfig,
    grid: tuple[float, ...] = tuning.GRID,
    progress: Callable[[float], None] | None = None,
    on_wait: Callable[[int], None] | None = None,
    shared: caches.LRU = SWEEPS,
    session: str | None = None,
) -> tuple[tuning.Sweep, bool]:
    """The learning-rate sweep of ``cfg``: from the shared cache, else trained in a training slot
    (refused before it starts when over the budget). Returns the sweep and whether it was trained now."""
    estimate = sum(cost.estimate(c) for c in tuning.configs(cfg, grid))
    refused = limits.check_budget(estimate, "This sweep", "lab.core.tuning.sweep(config) in Python")
    if refused is not None and shared.get((cfg.to_json(), tuple(grid))) is None:
        raise OverBudget(refused)
    cap = time_limit(estimate)
    return _shared_or_computed(
        shared,
        (cfg.to_json(), tuple(grid)),
        lambda: tuning.sweep(cfg, grid, progress=progress, time_limit=cap),
        on_wait,
        session,
    )


def export_summary(entries: list[Entry]) -> pd.DataFrame:
    """The command line's summary.csv columns, with a leading run_id column."""
    return _stack(entries, summary_frame)


def export_curves(entries: list[Entry]) -> pd.DataFrame:
    """The command line's curves.csv columns, with a leading run_id column."""
    return _stack(entries, curves_frame)


def _stack(entries: list[Entry], frame: Callable[[RunResult], pd.DataFrame]) -> pd.DataFrame:
    parts = [frame(e.result).assign(run_id=e.run_id) for e in entries]
    df = pd.concat(parts, ignore_index=True)
    return df[["run_id", *[c for c in df.columns if c != "run_id"]]]


csv_bytes = results.csv_bytes  # the command line's CSV writer, for the page's downloads
