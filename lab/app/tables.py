"""The Optimizers page's results table: which rows, in which order, and how each column reads.

A plain DataFrame builder and its display rules, so tests check the table a learner sees without
a browser; the page only hands them to ``st.table``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.core.results import RunResult

# How each numeric column is printed; the best (lowest) of each is marked where values differ.
FORMATS = {
    "w": "{:.6f}",
    "b": "{:.6f}",
    "final loss": "{:.3e}",
    "|w − w*|": "{:.2e}",
    "|b − b*|": "{:.2e}",
    "time (ms)": "{:.1f}",
    "steps to tol": "{:.0f}",
}
LOWER_IS_BETTER = ("final loss", "|w − w*|", "|b − b*|", "steps to tol", "time (ms)")
BEST_COLOR = "#c7f0d2"


def results_table(res: RunResult) -> pd.DataFrame:
    """Final results, one row per optimizer (and repeat): converged first by steps to tolerance,
    then the rest by final loss, diverged last."""
    rows = []
    target = res.target
    for lane in res.lanes:
        rows.append(
            {
                "optimizer": lane.optimizer if res.config.repeats == 1 else f"{lane.optimizer} #{lane.repeat}",
                "w": lane.final_w,
                "b": lane.final_b,
                "final loss": lane.final_loss,
                "|w − w*|": None if lane.final_w is None else abs(lane.final_w - target[0]),
                "|b − b*|": None if lane.final_b is None else abs(lane.final_b - target[1]),
                "steps to tol": lane.steps_to_tol,
                "time (ms)": 1000 * lane.seconds,
                "status": lane.status if lane.status != "stopped at max steps" else "not converged",
                "_rank": (0 if lane.steps_to_tol is not None else 1 if lane.diverged_at is None else 2),
            }
        )
    df = pd.DataFrame(rows)
    df["_key"] = np.where(df["_rank"] == 0, df["steps to tol"].astype(float), df["final loss"].astype(float))
    df = df.sort_values(["_rank", "_key"], kind="stable").drop(columns=["_rank", "_key"]).reset_index(drop=True)
    for col in ("w", "b", "final loss", "|w − w*|", "|b − b*|"):
        df[col] = df[col].astype(float)
    df["steps to tol"] = df["steps to tol"].astype(float)  # NaN where never reached
    return df


def best_columns(table: pd.DataFrame) -> list[str]:
    """The columns whose lowest value is worth marking: present, and not a tie of every row."""
    return [c for c in LOWER_IS_BETTER if c in table.columns and table[c].nunique(dropna=True) > 1]


def styled(table: pd.DataFrame):
    """``table`` as the page shows it: best of each column marked, numbers formatted, no index."""
    return (
        table.style.highlight_min(subset=best_columns(table), color=BEST_COLOR)
        .format(FORMATS, na_rep="—")
        .hide(axis="index")
    )
