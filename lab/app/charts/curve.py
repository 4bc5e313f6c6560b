"""One curve against step on a log scale: the Autograd and PyTorch API pages' loss."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import COLORS, MAX_POINTS, downsample


def curve_chart(values: np.ndarray, y_title: str = "loss", height: int = 260, max_points: int = MAX_POINTS):
    """One curve against step on a log scale (downsampled; non-positive values left off)."""
    values = np.asarray(values, dtype=float)
    steps = np.flatnonzero(np.isfinite(values) & (values > 0))
    pick = steps[downsample(np.log10(values[steps]), max_points)]
    df = pd.DataFrame({"step": pick, y_title: values[pick]})
    return (
        alt.Chart(df)
        .mark_line(strokeWidth=2, color=COLORS[0])
        .encode(
            x="step:Q",
            y=alt.Y(f"{y_title}:Q", scale=alt.Scale(type="log")),
            tooltip=["step:Q", alt.Tooltip(f"{y_title}:Q", format=".4e")],
        )
        .properties(height=height)
    )
