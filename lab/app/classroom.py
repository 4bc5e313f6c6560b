"""A class room's board, pure: the challenge a teacher sets, and from the runs posted to the room
the frames the board draws — one row per optimizer lane, the leaderboard ranked by the challenge's
measure, the class's learning rate against result, each student's attempts, and every loss curve
within a point budget.

A run's lanes count for the challenge when they fit it: its problem, one of its optimizers, at
most its steps. The board shows every run; the leaderboard and the scatter only what counts, the
curves only the challenge's optimizers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lab.app.charts.common import downsample  # the charts' rule for what a curve keeps
from lab.core.config import OBJECTIVES, REGRESSION
from lab.store.rooms import RoomRun

FINAL_LOSS = "final loss"
STEPS_TO_TOL = "steps to tolerance"
MEASURES = (FINAL_LOSS, STEPS_TO_TOL)
CURVE_POINTS = 6_000  # every loss curve of the board together: the chart's payload stays small
FLOOR = 1e-16  # a final loss below this (float rounding) sits at it on a log axis
HIDDEN_NAME = "Student {}"  # a name when the teacher hides names: numbered by first post


@dataclass(frozen=True, kw_only=True)
class Challenge:
    """What a room's runs compete on; the default is an open room (anything counts, lowest final loss)."""

    problem: str | None = None  # an objective (lab.core.config.OBJECTIVES); None: any
    optimizers: tuple[str, ...] = ()  # display names; empty: any
    steps: int | None = None  # the step budget: runs of at most this many steps count; None: any
    measure: str = FINAL_LOSS  # FINAL_LOSS (lowest wins) or STEPS_TO_TOL (fewest wins; then lowest loss)

    def __post_init__(self) -> None:
        if self.problem is not None and self.problem not in OBJECTIVES:
            raise ValueError(f"problem {self.problem!r} is not one of {', '.join(OBJECTIVES)}")
        if self.measure not in MEASURES:
            raise ValueError(f"measure {self.measure!r} is not one of {', '.join(MEASURES)}")
        if self.steps is not None and not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"step budget {self.steps!r} is not a whole number of at least 1")
        object.__setattr__(self, "optimizers", tuple(self.optimizers))

    @property
    def is_open(self) -> bool:
        return self == Challenge()

    def to_json(self) -> str:
        return json.dumps(
            {"problem": self.problem, "optimizers": list(self.optimizers), "steps": self.steps, "measure": self.measure}
        )

    @classmethod
    def from_json(cls, text: str | None) -> Challenge:
        """The challenge kept as ``text`` (None: open; ValueError when unreadable)."""
        if text is None:
            return cls()
        d = json.loads(text)
        return cls(problem=d["problem"], optimizers=tuple(d["optimizers"]), steps=d["steps"], measure=d["measure"])

    def text(self) -> str:
        """The challenge in one sentence, as the board and the students read it."""
        parts = [f"on {self.problem}" if self.problem else "on any problem"]
        parts.append(f"with {' or '.join(self.optimizers)}" if self.optimizers else "with any optimizer")
        if self.steps is not None:
            parts.append(f"in at most {self.steps:,} steps")
        wins = "the lowest final loss wins" if self.measure == FINAL_LOSS else "the fewest steps to tolerance win"
        return f"{'Open room' if self.is_open else 'Challenge'}: {', '.join(parts)}; {wins}."

    def counts(self, lanes: pd.DataFrame) -> pd.Series:
        """Which of ``lanes`` (:func:`lanes_frame`) fit the challenge."""
        ok = pd.Series(True, index=lanes.index)
        if self.problem is not None:
            ok &= lanes["problem"] == self.problem
        if self.optimizers:
            ok &= lanes["optimizer"].isin(self.optimizers)
        if self.steps is not None:
            ok &= lanes["steps"] <= self.steps
        return ok


def shown_names(runs: list[RoomRun], hidden: bool) -> dict[str, str]:
    """Each nickname as the board shows it: itself, or "Student k" (k by first post) when hidden."""
    order = list(dict.fromkeys(r.nickname for r in runs))
    return {n: HIDDEN_NAME.format(i + 1) if hidden else n for i, n in enumerate(order)}


LANE_COLUMNS = ["post", "run", "student", "optimizer", "lr", "problem", "steps", "final_loss", "steps_to_tol", "status"]


def _lr(row: dict) -> float | None:
    lr = json.loads(row.get("hyperparams") or "{}").get("lr")
    return float(lr) if isinstance(lr, (int, float)) else None


def lanes_frame(runs: list[RoomRun], hidden: bool = False) -> pd.DataFrame:
    """One row per optimizer lane of every run (:data:`LANE_COLUMNS`), in the order posted."""
    names = shown_names(runs, hidden)
    rows = [
        {
            "post": r.id,
            "run": r.short_id,
            "student": names[r.nickname],
            "optimizer": row["optimizer"],
            "lr": _lr(row),
            "problem": row.get("objective", REGRESSION),
            "steps": row["steps"],
            "final_loss": row["final_loss"],
            "steps_to_tol": row["steps_to_tol"],
            "status": row["status"],
        }
        for r in runs
        for row in r.summary
    ]
    df = pd.DataFrame(rows, columns=LANE_COLUMNS)
    for col in ("lr", "final_loss", "steps_to_tol"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def scored(lanes: pd.DataFrame, challenge: Challenge) -> pd.DataFrame:
    """The lanes that count for ``challenge``, with ``score`` (lower is better; inf: no result) and
    ``tiebreak`` (the final loss)."""
    df = lanes[challenge.counts(lanes)].copy()
    loss = df["final_loss"].where(np.isfinite(df["final_loss"]), np.inf)
    df["tiebreak"] = loss.fillna(np.inf)
    df["score"] = df["tiebreak"] if challenge.measure == FINAL_LOSS else df["steps_to_tol"].fillna(np.inf)
    return df


def result_text(score: float, measure: str) -> str:
    if not math.isfinite(score):
        return "diverged" if measure == FINAL_LOSS else "not within tolerance"
    return f"{score:.3e}" if measure == FINAL_LOSS else f"{int(score):,} steps"


LEADERBOARD_COLUMNS = ["rank", "student", "result", "optimizer", "lr", "attempts"]


def leaderboard(lanes: pd.DataFrame, challenge: Challenge) -> pd.DataFrame:
    """Each student's best lane that counts, best first (ties: the lower final loss, then the earlier
    post): rank, student, result, optimizer, learning rate, and how many runs they posted (not the
    run's length: beside a result in steps it read as another result)."""
    attempts = lanes.groupby("student", sort=False)["post"].nunique()
    df = scored(lanes, challenge).sort_values(["score", "tiebreak", "post"], kind="stable")
    best = df.drop_duplicates("student").reset_index(drop=True)
    best["rank"] = np.arange(1, len(best) + 1)
    best["result"] = [result_text(s, challenge.measure) for s in best["score"]]
    best["attempts"] = best["student"].map(attempts).astype(int)
    return best[LEADERBOARD_COLUMNS]


PRESENT_ROWS = 8  # the leaderboard's rows on a projector (one screen)
PRESENT_COLUMNS = {"rank": "#", "student": "student", "result": "result", "optimizer": "optimizer", "lr": "lr"}


def leaderboard_html(board: pd.DataFrame, rows: int = PRESENT_ROWS) -> str:
    """The leaderboard's first ``rows`` as an HTML table for a projector (its type set by the page's
    CSS; the attempts have their own tab there), every cell escaped: a name is text, never markup;
    how many more under it."""
    shown = board.head(rows)[[c for c in PRESENT_COLUMNS if c in board]].rename(columns=PRESENT_COLUMNS)
    table = shown.to_html(index=False, escape=True, border=0, classes="class-leaderboard", na_rep="")
    more = len(board) - rows
    return table + (f'<p class="class-more">and {more:,} more</p>' if more > 0 else "")


def scatter_frame(lanes: pd.DataFrame, challenge: Challenge) -> pd.DataFrame:
    """The class's own sweep: each lane that counts and has a result, its learning rate against
    that result (the measure; a final loss below :data:`FLOOR` at the floor), per optimizer."""
    df = scored(lanes, challenge)
    df = df[np.isfinite(df["score"]) & (df["lr"] > 0)].copy()
    df["result"] = np.maximum(df["score"], FLOOR) if challenge.measure == FINAL_LOSS else df["score"]
    return df[["optimizer", "lr", "result", "student", "status"]].reset_index(drop=True)


def attempts(runs: list[RoomRun], hidden: bool = False) -> pd.DataFrame:
    """How many runs each student posted, most first (ties: who posted first)."""
    names = shown_names(runs, hidden)
    counts = pd.Series([names[r.nickname] for r in runs], dtype=object).value_counts(sort=False)
    df = pd.DataFrame({"student": counts.index, "attempts": counts.to_numpy()})
    return df.sort_values("attempts", ascending=False, kind="stable").reset_index(drop=True)


def curves_frame(
    runs: list[RoomRun], hidden: bool = False, budget: int = CURVE_POINTS, optimizers: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Every lane's loss curve (of ``optimizers`` only, when any are named: a challenge's), long
    format (post, student, optimizer, lr, step, loss), about
    ``budget`` points in all (each curve at least its first and last, lowest and highest points:
    300 runs of 7 optimizers draw 8 400): each curve keeps its first and last points and the lowest
    and highest of each stretch; only finite, positive losses (a log axis)."""
    names = shown_names(runs, hidden)
    curves = [(r, lane) for r in runs for lane in r.lanes if not optimizers or lane["optimizer"] in optimizers]
    per_curve = max(2, budget // max(1, len(curves)))
    parts: list[dict[str, Any]] = []
    for r, lane in curves:
        loss = np.asarray(lane["loss"], dtype=float)
        keep = downsample(loss, per_curve)
        steps, loss = np.asarray(lane["steps"])[keep], loss[keep]
        ok = np.isfinite(loss) & (loss > 0)
        who = {"post": r.id, "student": names[r.nickname], "optimizer": lane["optimizer"], "lr": lane["lr"]}
        parts.extend({**who, "step": s, "loss": v} for s, v in zip(steps[ok].tolist(), loss[ok].tolist(), strict=True))
    return pd.DataFrame(parts, columns=["post", "student", "optimizer", "lr", "step", "loss"])


@dataclass(frozen=True)
class Board:
    """Everything a room's board draws, built once per change of the room."""

    challenge: Challenge
    runs: int  # posted
    students: int
    leaderboard: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    scatter: pd.DataFrame = field(repr=False)
    attempts: pd.DataFrame = field(repr=False)


def board(runs: list[RoomRun], challenge: Challenge, hidden: bool = False) -> Board:
    lanes = lanes_frame(runs, hidden)
    return Board(
        challenge=challenge,
        runs=len(runs),
        students=len({r.nickname for r in runs}),
        leaderboard=leaderboard(lanes, challenge),
        curves=curves_frame(runs, hidden, optimizers=challenge.optimizers),
        scatter=scatter_frame(lanes, challenge),
        attempts=attempts(runs, hidden),
    )
