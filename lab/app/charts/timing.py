"""The GPU page's timing chart: milliseconds per training step against samples, per device and model."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lab.app.charts.common import TRUE_COLOR, LayeredChart, finish, palette


def timing_chart(table: pd.DataFrame, height: int = 340) -> LayeredChart:
    """Milliseconds per training step against samples, log-log, one line per device and model:
    the device by colour, the model by dash (its legend draws each dash)."""
    df = table.dropna(subset=["ms_per_step"])
    base = alt.Chart(df).encode(
        x=alt.X("samples:Q", scale=alt.Scale(type="log"), title="samples in the batch"),
        y=alt.Y("ms_per_step:Q", scale=alt.Scale(type="log"), title="ms per training step"),
        color=alt.Color("device:N", scale=palette(df["device"].nunique())),
        tooltip=["device:N", "model:N", "samples:Q", alt.Tooltip("ms_per_step:Q", format=".3f")],
    )
    # Lines and points as two layers: a line with point=True gets a legend of (invisible) points for
    # its dashes, while a plain line's legend draws them.
    lines = base.mark_line(strokeWidth=2).encode(
        strokeDash=alt.StrokeDash("model:N", legend=alt.Legend(symbolStrokeColor=TRUE_COLOR))
    )
    return finish(alt.layer(lines, base.mark_point(filled=True, size=30)).properties(height=height))
