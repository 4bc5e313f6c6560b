"""The class board's attempts: how many runs each student posted, a bar each, most first."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lab.app.charts.common import DATA_COLOR, LayeredChart, chart_height, layered

BAR = 18  # px per student
LEAST = 2 * BAR  # px: the plot of one or two students


def attempts_chart(df: pd.DataFrame, most: int = 40) -> LayeredChart:
    """A horizontal bar per student (the ``most`` busiest), its count at its end; the height asked
    for holds the bars and, under them, the x axis."""
    shown = df.head(most)
    base = alt.Chart(shown).encode(
        y=alt.Y("student:N", sort=None, title=None, axis=alt.Axis(labelLimit=200, labelOverlap=False)),
        x=alt.X("attempts:Q", title="runs posted", axis=alt.Axis(tickMinStep=1)),
    )
    return layered(bars(base), counts(base)).properties(height=chart_height(max(LEAST, BAR * len(shown))))


def bars(base: alt.Chart) -> alt.Chart:
    return base.mark_bar(color=DATA_COLOR, opacity=0.7)


def counts(base: alt.Chart) -> alt.Chart:
    """Each bar's count written at its end."""
    return base.mark_text(align="left", dx=3).encode(text="attempts:Q")
