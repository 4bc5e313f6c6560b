"""What one visitor may ask of this server, read once from the environment, and the notices past it.

The core accepts long runs (see :mod:`lab.core.config`); a shared demo keeps one request to seconds.
Two profiles: ``local`` (the default: generous, for one person on their own machine) and ``hosted``
(``LAB_PROFILE=hosted``: a class on a small shared server). Each limit can be set on its own with
``LAB_MAX_<NAME>`` (e.g. ``LAB_MAX_STEPS=20000``); on Streamlit Community Cloud, root-level secrets
are environment variables too, so the same names go in the app's secrets. A bad value stops the app
at start with a message naming the variable.

A request over a limit is never clipped silently: the notice names what was asked, the limit, the
variable that sets it, and how to run bigger (the command line on one's own machine).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from lab.core.config import MAX_ACCELERATOR_SAMPLES, MAX_LANES, MAX_REPEATS, MAX_SAMPLES, MAX_STEPS, max_samples


@dataclass(frozen=True, kw_only=True)
class Limits:
    steps: int  # optimizer steps per optimizer in one run
    samples: int  # data samples (on the CPU)
    accelerator_samples: int  # data samples of a run on an accelerator (cuda, mps)
    repeats: int  # independent starts (and batch orders) per optimizer in one run
    optimizers: int  # optimizers trained side by side in one run
    sweep_lanes: int  # (optimizer, learning rate) pairs in one "Tune learning rates"
    runs_kept: int  # runs one session may keep in its history
    trainings: int  # trainings (runs, sweeps, replays) running at once in this process; the rest queue
    upload_kb: int  # size of an uploaded CSV (Streamlit's own cap, server.maxUploadSize, is 5 MB)
    upload_rows: int  # rows of an uploaded CSV (and at most `samples`)
    seconds: int  # estimated seconds of training one request may ask for (0: no budget); cap: twice that
    # The Class page's rooms (defaults: the local profile's).
    rooms: int = 20  # class rooms open at once on this server
    room_runs: int = 2_000  # runs one room holds
    posts_per_minute: int = 30  # runs one session posts to its room in a minute (Live posts every retrained edit)
    nickname: int = 24  # characters of a nickname in a room
    room_code: int = 4  # characters of the room codes this server draws (31 letters and digits each: 31**4 ≈ 920 000)


_CORES = max(1, os.cpu_count() or 1)
# The two profiles, one row a limit: local (one person on their own machine: generous, no seconds budget) and
# hosted (a class on ~2 cores and < 3 GB: every request a few seconds at most, memory bounded per session).
_PROFILE_NAMES = ("local", "hosted")
_BY_PROFILE = {  # limit: (local, hosted)
    "steps": (50_000, 30_000),
    "samples": (MAX_SAMPLES, 5_000),
    "accelerator_samples": (MAX_ACCELERATOR_SAMPLES, 5_000),
    "repeats": (MAX_REPEATS, 8),
    "optimizers": (MAX_LANES, 12),
    "sweep_lanes": (400, 120),
    "runs_kept": (50, 10),
    "trainings": (_CORES, _CORES),
    "upload_kb": (5_120, 1_024),
    "upload_rows": (MAX_SAMPLES, 5_000),
    "seconds": (0, 4),
    "rooms": (20, 10),
    "room_runs": (2_000, 600),
    "posts_per_minute": (30, 12),
}
PROFILES = {
    profile: Limits(**{name: values[i] for name, values in _BY_PROFILE.items()})
    for i, profile in enumerate(_PROFILE_NAMES)
}
CEILINGS = {
    "steps": MAX_STEPS,
    "samples": MAX_SAMPLES,
    "accelerator_samples": MAX_ACCELERATOR_SAMPLES,
    "repeats": MAX_REPEATS,
    "optimizers": MAX_LANES,
    "sweep_lanes": 2_000,
    "upload_kb": 5_120,
    "upload_rows": MAX_SAMPLES,
    "seconds": 3_600,
    "room_runs": 20_000,
    "nickname": 40,  # the database's column (lab/store/schema.py)
    "room_code": 16,
}
FLOORS = {"seconds": 0, "room_code": 4}  # 0 seconds: no budget; a code of 4 or more: not guessed by trying


def variable(name: str) -> str:
    return f"LAB_MAX_{name.upper()}"


def load(environ: Mapping[str, str] = os.environ) -> Limits:
    """The limits the environment sets (``LAB_PROFILE`` and ``LAB_MAX_*``); ValueError naming the
    variable for a value that is not a whole number in range."""
    profile = environ.get("LAB_PROFILE", "local").strip().lower() or "local"
    if profile not in PROFILES:
        raise ValueError(f"LAB_PROFILE = {profile!r} is not one of {sorted(PROFILES)}")
    out = PROFILES[profile]
    for f in fields(Limits):
        text = environ.get(variable(f.name))
        if text is None or not text.strip():
            continue
        high = CEILINGS.get(f.name, 1_000)
        low = FLOORS.get(f.name, 1)
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{variable(f.name)} = {text!r} is not a whole number in [{low}, {high}]") from None
        if not low <= value <= high:
            raise ValueError(f"{variable(f.name)} = {value} is outside [{low}, {high}]")
        out = replace(out, **{f.name: value})
    return out


LIMITS = load()  # once per process: every session of this server shares them


def refusal(name: str, asked: int, what: str, bigger: str, limits: Limits | None = None) -> str | None:
    """The notice for ``asked`` over the limit ``name`` (None when within): what was asked, the
    limit and its variable, and how to run bigger. The limits are read at call time, so tests and
    pages see a changed LIMITS."""
    limit = getattr(limits or LIMITS, name)
    if asked <= limit:
        return None
    return (
        f"{what} = {asked:,} is over this server's limit of {limit:,} ({variable(name)}). "
        f"To run bigger, use the command line on your own machine: {bigger}"
    )


def samples_limit(device: str) -> str:
    """The limit on a run's samples on ``device``: ``samples`` on the CPU, else ``accelerator_samples``."""
    return "samples" if max_samples(device) == MAX_SAMPLES else "accelerator_samples"


def within(name: str, asked: int, limits: Limits | None = None) -> tuple[int, str | None]:
    """A link's ``asked`` for the limit ``name`` (steps, samples, accelerator_samples, repeats; the
    ``compare`` flag drops the ``accelerator_``) brought within the limit, and the notice saying so
    (None when within)."""
    flag = name.removeprefix("accelerator_")
    device = " --device cuda" if flag == "samples" and asked > MAX_SAMPLES else ""  # more than a CPU run takes
    notice = refusal(name, asked, flag, f"python -m lab compare --{flag} {asked}{device} --out results/", limits)
    limit = getattr(limits or LIMITS, name)
    return (asked, None) if notice is None else (limit, notice + f" Using {limit:,}.")


def check_run(optimizers: int, repeats: int = 1, limits: Limits | None = None) -> str | None:
    """Why a run of ``optimizers`` optimizers, each ``repeats`` times, is refused, or None."""
    return refusal(
        "optimizers", optimizers, "optimizers", "python -m lab compare --optimizers all --out results/", limits
    ) or refusal("repeats", repeats, "repeats", f"python -m lab compare --repeats {repeats} --out results/", limits)


def check_sweep(lanes: int, limits: Limits | None = None) -> str | None:
    """Why a learning-rate sweep of ``lanes`` (optimizer, rate) pairs is refused, or None."""
    bigger = "choose fewer optimizers, or sweep with lab.core.tuning"
    return refusal("sweep_lanes", lanes, "learning-rate sweep runs", bigger, limits)


def duration(seconds: float) -> str:
    """An estimated time as a learner reads it: "Under 0.01 s", "About 0.35 s", "About 12 s",
    "About 6.5 minutes"."""
    if seconds < 0.01:
        return "Under 0.01 s"
    if seconds < 1:
        return f"About {seconds:.2f} s"
    value, unit = seconds, "s"
    if seconds >= 100:
        value, unit = seconds / 60, "minutes"
    if seconds >= 6_000:
        value, unit = seconds / 3_600, "hours"
    return f"About {value:.2g} {unit}" if value < 10 else f"About {value:.0f} {unit}"


def over_budget(estimate: float, limits: Limits | None = None) -> bool:
    """Whether ``estimate`` seconds of training are over this server's budget (never where there is none)."""
    budget = (limits or LIMITS).seconds
    return bool(budget) and estimate > budget


def check_budget(estimate: float, what: str, command: str, hint: str = "", limits: Limits | None = None) -> str | None:
    """Why ``what``, estimated at ``estimate`` seconds of training, is refused here (None when within
    the budget, or where there is none): the estimate, the budget and its variable, what would fit
    (``hint``), and the command that runs it on one's own machine."""
    if not over_budget(estimate, limits):
        return None
    budget = (limits or LIMITS).seconds
    fits = f" {hint}." if hint else " Fewer steps, samples, repeats or optimizers bring it within."
    return (
        f"{what} would take {duration(estimate).lower()} of training, over this server's budget of {budget} s "
        f"per request ({variable('seconds')}).{fits} On your own machine: `{command}`"
    )
