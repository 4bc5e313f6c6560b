"""The class board's loss curves: every lane every student posted, overlaid as thin lines, one
colour per optimizer (lab/app/classroom.py's curves_frame)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lab.app.charts.common import LOG_LABELS, chart_height, color_of, fade, finish, legend_pick

LINE_WIDTH = 1.0  # px: hundreds of curves, thin
OPACITY = 0.45  # overlapping lines darken where many students land
FADED = 0.05  # the optimizers not picked in the legend


def class_curves_chart(df: pd.DataFrame, plot_height: int = 300, legend_beside: bool = False) -> alt.Chart:
    """Loss (log) against step, a thin line per posted lane, coloured by optimizer; a legend click
    picks one optimizer and fades the others; a curve's tooltip names its student and rate. The
    height holds the legend under the plot, or (``legend_beside``: present mode puts it there) not."""
    names = list(dict.fromkeys(df["optimizer"]))
    pick = legend_pick("optimizer")
    chart = curves(df, names, pick).add_params(pick)
    return finish(chart.properties(height=chart_height(plot_height, 0 if legend_beside else len(names))))


def optimizer_color(names: list[str]) -> alt.Color:
    """Each optimizer in its colour of every chart of the lab."""
    return alt.Color("optimizer:N", sort=names, scale=alt.Scale(domain=names, range=[color_of(n) for n in names]))


def curves(df: pd.DataFrame, names: list[str], pick: alt.Parameter) -> alt.Chart:
    """A line per (post, optimizer), thin and translucent."""
    return (
        alt.Chart(df)
        .mark_line(strokeWidth=LINE_WIDTH, clip=True)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("loss:Q", title="loss", scale=alt.Scale(type="log"), axis=alt.Axis(labelExpr=LOG_LABELS)),
            color=optimizer_color(names),
            detail="post:N",
            opacity=fade(pick, FADED) if names else alt.value(OPACITY),
            strokeOpacity=alt.value(OPACITY),
            tooltip=["student:N", "optimizer:N", alt.Tooltip("lr:Q", format="g", title="learning rate")],
        )
    )
