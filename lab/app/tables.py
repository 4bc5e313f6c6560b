"""The Optimizers page's results table: which rows, in which order, and how each column reads.

A plain DataFrame builder and its display rules, so tests check the table a learner sees without
a browser; the page only hands them to ``st.table``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.app.charts import precision, rounding_level
from lab.core.results import LaneResult, RunResult


def _fixed(v: float) -> str:
    """Six decimals, and a plain 0 where rounding would print -0.000000."""
    return "0" if abs(v) < 5e-7 else f"{v:.6f}"


def _sci(v: float) -> str:
    """Three significant digits; 0 for what is float rounding next to the numbers shown (3.4e-44)."""
    return "0" if abs(v) < 1e-30 else f"{v:.2e}"


def target_names(res: RunResult) -> tuple[str, str]:
    """The error columns' headers, naming what each is measured against: the true line the data
    were drawn from, or a landscape's minimum. (Converged, the tolerance and the paths' diamond use
    the best fit: the least-squares line of the data, which noise moves off the true one.)"""
    if res.config.is_regression and res.config.data.dataset is not None:
        return "|w − best-fit w|", "|b − best-fit b|"  # own data: no line it was drawn from
    if res.config.is_regression:
        return "|w − true w|", "|b − true b|"
    return "|w − w at the minimum|", "|b − b at the minimum|"


ERRORS = (
    "|w − true w|",
    "|b − true b|",
    "|w − best-fit w|",
    "|b − best-fit b|",
    "|w − w at the minimum|",
    "|b − b at the minimum|",
)
# How each numeric column is printed; the best (lowest) of each is marked where values differ.
FORMATS = {
    "lr": "{:g}",
    "w": _fixed,
    "b": _fixed,
    "final loss": "{:.3e}",
    **dict.fromkeys(ERRORS, _sci),
    "time (ms)": "{:.1f}",
    "steps to tol": "{:.0f}",
    "w sd": _sci,
}
LOWER_IS_BETTER = ("final loss", *ERRORS, "steps to tol", "time (ms)")
HEADERS = {"steps to tol": "steps to tolerance"}  # the page's words for a column (the CSVs keep the short name)
BEST_COLOR = "#c7f0d2"


def status_word(lane: LaneResult) -> str:
    """The status a learner reads: converged, hovering, diverged at step k, or not yet."""
    return "not yet" if lane.status == "stopped at max steps" else lane.status


def shared_ms(res: RunResult) -> float | None:
    """The time in ms when every lane shares one (lanes batched together split their pass's time
    equally, so a per-row time would say nothing): said once, not per row; None otherwise."""
    times = {lane.seconds for lane in res.lanes}
    return 1000 * times.pop() if len(times) == 1 and len(res.lanes) > 1 else None


def results_table(res: RunResult) -> pd.DataFrame:
    """Final results, one row per optimizer: converged first by steps to tolerance, then the rest by
    final loss, diverged last. With repeats, one row per optimizer over them (:func:`repeats_table`).
    A time every row shares is left out (:func:`shared_ms`)."""
    table = repeats_table(res) if res.config.repeats > 1 else _single_table(res)
    return table.drop(columns=["time (ms)"], errors="ignore") if shared_ms(res) is not None else table


def _single_table(res: RunResult) -> pd.DataFrame:
    rows = []
    target = res.target
    w_err, b_err = target_names(res)
    for lane in res.lanes:
        rows.append(
            {
                "optimizer": lane.optimizer if res.config.repeats == 1 else f"{lane.optimizer} #{lane.repeat}",
                "lr": lane.hyperparams.get("lr"),
                "w": lane.final_w,
                "b": lane.final_b,
                "final loss": lane.final_loss,
                w_err: None if lane.final_w is None else abs(lane.final_w - target[0]),
                b_err: None if lane.final_b is None else abs(lane.final_b - target[1]),
                "steps to tol": lane.steps_to_tol if lane.settled else None,  # a hovering lane's is no arrival
                "time (ms)": 1000 * lane.seconds,
                "status": status_word(lane),
                "_rank": (0 if lane.settled else 1 if lane.diverged_at is None else 2),
            }
        )
    df = pd.DataFrame(rows)
    df["_key"] = np.where(df["_rank"] == 0, df["steps to tol"].astype(float), df["final loss"].astype(float))
    df = df.sort_values(["_rank", "_key"], kind="stable").drop(columns=["_rank", "_key"]).reset_index(drop=True)
    for col in ("lr", "w", "b", "final loss", w_err, b_err):
        df[col] = df[col].astype(float)
    df["steps to tol"] = df["steps to tol"].astype(float)  # NaN where never reached
    return df


def repeats_table(res: RunResult) -> pd.DataFrame:
    """One row per optimizer over its repeats, in eight columns (more leave each number a sliver of
    a laptop-wide page): the mean w and its standard deviation (the spread of where the starts end
    up), the mean b and final loss (over the repeats that did not diverge), the mean steps to
    tolerance of those that converged, and how many converged. Most converged first, then fewest
    steps, then loss.

    Left out as redundant here: the error columns (w and its spread, beside the target, say it), b's
    spread (a fitted line's intercept moves with its slope) and the time (repeats measure spread, not
    speed: a single run's table has it)."""
    groups: dict[str, list] = {}
    for lane in res.lanes:
        groups.setdefault(lane.optimizer, []).append(lane)
    rows = []
    for name, lanes in groups.items():
        ok = [ln for ln in lanes if ln.final_w is not None]
        conv = [ln.steps_to_tol for ln in lanes if ln.settled]
        w = np.array([ln.final_w for ln in ok], dtype=float)
        b = np.array([ln.final_b for ln in ok], dtype=float)
        loss = np.array([ln.final_loss for ln in ok], dtype=float)
        diverged = len(lanes) - len(ok)

        def mean(v: np.ndarray) -> float:
            return float(v.mean()) if len(v) else np.nan

        rows.append(
            {
                "optimizer": name,
                "lr": lanes[0].hyperparams.get("lr"),
                "w": mean(w),
                "w sd": float(w.std(ddof=1)) if len(w) > 1 else np.nan,
                "b": mean(b),
                "final loss": mean(loss),
                "steps to tol": float(np.mean(conv)) if conv else np.nan,
                "status": f"{len(conv)} of {len(lanes)} converged" + (f", {diverged} diverged" if diverged else ""),
                "_conv": len(conv),
            }
        )
    df = pd.DataFrame(rows)
    df = df.sort_values(["_conv", "steps to tol", "final loss"], ascending=[False, True, True], kind="stable")
    df = df.drop(columns=["_conv"]).reset_index(drop=True)
    df["lr"] = df["lr"].astype(float)
    return df


def best_columns(table: pd.DataFrame) -> list[str]:
    """The columns whose lowest value is worth marking: present, and not a tie of every row."""
    return [c for c in LOWER_IS_BETTER if c in table.columns and table[c].nunique(dropna=True) > 1]


ULPS = 8  # values this many roundings apart (relative to their size) are the same number, rounded twice


def margins(res: RunResult) -> dict[str, tuple[float, float]]:
    """Per column, (absolute, relative): two values closer than absolute + relative × their size are
    the run precision's rounding, not a result. A loss under the rounding floor
    (:func:`lab.app.charts.rounding_level`), an error of w or b within a few roundings of the
    parameter's size; both within a few roundings of their own size."""
    eps = precision(res)
    scale = max(1.0, *(abs(v) for v in res.target if np.isfinite(v)))
    return {
        "final loss": (ULPS * rounding_level(res), ULPS * eps),
        **dict.fromkeys(ERRORS, (ULPS * eps * scale, ULPS * eps)),
    }


def best_row(values: pd.Series, margin: float = 0.0, relative: float = 0.0) -> int | None:
    """The position of the lowest value when it is lower than every other by more than rounding
    (``margin`` absolute plus ``relative`` of the values' size); None for a tie or a single value."""
    v = values.to_numpy(dtype=float)
    ok = np.flatnonzero(np.isfinite(v))
    if len(ok) < 2:
        return None
    order = ok[np.argsort(v[ok], kind="stable")]
    lo, runner_up = v[order[0]], v[order[1]]
    return int(order[0]) if runner_up - lo > margin + relative * max(abs(lo), abs(runner_up)) else None


RANKING_NOTE = (
    "A ranking holds for these learning rates only: each optimizer here runs at its own rate (the lr "
    "column), and a rate that suits one is too small or too large for another. **Tune learning rates** "
    "compares each at its best; the guided experiments show where Adam's per-parameter steps win."
)


def styled(table: pd.DataFrame, res: RunResult | None = None):
    """``table`` as the page shows it: the best of each column marked where it beats the rest beyond
    the run's rounding (``res`` gives the precision; without it, any difference counts), numbers
    formatted, each cell on one line, no index."""
    room = margins(res) if res is not None else {}
    marked, formats = best_columns(table), {c: f for c, f in FORMATS.items() if c in table.columns}
    page = {c: HEADERS.get(c, c) for c in table.columns}  # the heads the page shows (Streamlit draws no relabels)
    named = {shown: c for c, shown in page.items()}

    def mark(column: pd.Series) -> list[str]:
        best = best_row(column, *room.get(named[column.name], (0.0, 0.0)))
        return [f"background-color: {BEST_COLOR}" if i == best else "" for i in range(len(column))]

    return (
        table.rename(columns=page)
        .style.apply(mark, subset=[page[c] for c in marked])
        # no cell breaks across lines ("1.191e-|13"): scoped to this table, like the marks above
        .set_table_styles([{"selector": "td", "props": [("white-space", "nowrap")]}], overwrite=False)
        .format({page[c]: f for c, f in formats.items()}, na_rep="—")
        .hide(axis="index")
    )
