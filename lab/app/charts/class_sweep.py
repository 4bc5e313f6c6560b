"""The class's own learning-rate sweep: each lane that counts for the room's challenge, its learning
rate against its result, one colour per optimizer (lab/app/classroom.py's scatter_frame)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lab.app.charts.class_curves import optimizer_color
from lab.app.charts.common import LOG_LABELS, chart_height, fade, finish, legend_pick, log_ticks

FADED = 0.15
PAD = 1.5  # the rate axis reaches this factor past the lowest and highest rate: no point on its edge
EDGE = 10  # px: the result axis's room past the best and worst result (a point is drawn whole)


def class_sweep_chart(df: pd.DataFrame, measure: str, plot_height: int = 260, legend_beside: bool = False) -> alt.Chart:
    """Result against learning rate (log), a point per lane: the final loss on a log axis, or the
    steps to tolerance on a linear one. A legend click picks one optimizer. The height as
    :func:`~lab.app.charts.class_curves.class_curves_chart`'s."""
    names = list(dict.fromkeys(df["optimizer"]))
    pick = legend_pick("optimizer")
    chart = points(df, names, measure, pick).add_params(pick)
    return finish(chart.properties(height=chart_height(plot_height, 0 if legend_beside else len(names))))


def result_axis(measure: str) -> alt.Y:
    if measure == "final loss":
        scale = alt.Scale(type="log", padding=EDGE)
        return alt.Y("result:Q", title="final loss", scale=scale, axis=alt.Axis(labelExpr=LOG_LABELS))
    return alt.Y("result:Q", title="steps to tolerance", scale=alt.Scale(zero=False, padding=EDGE))


def rate_axis(df: pd.DataFrame) -> alt.X:
    """The learning rate (log), from a little below the lowest rate tried to a little above the
    highest, ticks at powers of ten (else 1, 2, 5)."""
    if not len(df):
        return alt.X("lr:Q", title="learning rate", scale=alt.Scale(type="log"))
    lo, hi = float(df["lr"].min()) / PAD, float(df["lr"].max()) * PAD
    return alt.X(
        "lr:Q",
        title="learning rate",
        scale=alt.Scale(type="log", domain=[lo, hi], nice=False),
        axis=alt.Axis(labelExpr=LOG_LABELS, values=log_ticks(lo, hi) or alt.Undefined),
    )


def points(df: pd.DataFrame, names: list[str], measure: str, pick: alt.Parameter) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_point(filled=True, size=70)
        .encode(
            x=rate_axis(df),
            y=result_axis(measure),
            color=optimizer_color(names),
            opacity=fade(pick, FADED),
            tooltip=["student:N", "optimizer:N", alt.Tooltip("lr:Q", format="g"), alt.Tooltip("result:Q", format=".4")],
        )
    )
