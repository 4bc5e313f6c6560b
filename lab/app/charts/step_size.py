"""The Explain tab's step-size chart: each parameter's effective step size and the step it took,
over the run (log-log), the explained step marked."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import TRUE_COLOR, LayeredChart, finish

PARAM_COLORS = {"w": "#4e79a7", "b": "#e15759"}


def step_size_frame(tr, at: np.ndarray) -> pd.DataFrame:
    """Long frame (step, parameter, measure, value) of a :class:`lab.core.explain.Trace` at the
    steps ``at``: each parameter's effective step size and the size of the step it took, |Δθ|.
    Values that cannot sit on a log scale (0, NaN) are left out."""
    at = at[at <= tr.steps]
    taken = np.abs(np.diff(tr.params, axis=0))[at - 1]
    parts = [("step taken |Δθ|", taken)]
    if tr.effective is not None:
        parts.insert(0, ("effective step size", tr.effective[at - 1]))
    rows = [
        pd.DataFrame({"step": at, "parameter": name, "measure": measure, "value": values[:, i]})
        for measure, values in parts
        for i, name in enumerate(("w", "b"))
    ]
    df = pd.concat(rows, ignore_index=True)
    return df[np.isfinite(df["value"]) & (df["value"] > 0)].reset_index(drop=True)


def step_size_chart(tr, at: np.ndarray, k: int, height: int = 300) -> LayeredChart:
    """How each parameter's effective step size (solid) and the step it actually took (dashed)
    evolve over the run, log-log, with the explained step ``k`` marked."""
    layer = alt.layer(step_size_lines(step_size_frame(tr, at), tr.steps), explained_step(k))
    return finish(layer.properties(height=height), columns=1)


def step_size_lines(df: pd.DataFrame, steps: int) -> alt.Chart:
    """Each parameter's sizes in its colour, the measure by dash, on a log step axis 1 … ``steps``."""
    x = alt.X("step:Q", scale=alt.Scale(type="log", domain=[1, max(steps, 2)]), title="step (log)")
    return (
        alt.Chart(df)
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="size"),
            color=alt.Color(
                "parameter:N", scale=alt.Scale(domain=list(PARAM_COLORS), range=list(PARAM_COLORS.values()))
            ),
            strokeDash=alt.StrokeDash("measure:N", sort=["effective step size", "step taken |Δθ|"]),
            tooltip=["parameter:N", "measure:N", "step:Q", alt.Tooltip("value:Q", format=".4e")],
        )
    )


def explained_step(k: int) -> alt.Chart:
    """A dashed rule at the explained step ``k``."""
    return (
        alt.Chart(pd.DataFrame({"step": [k]}))
        .mark_rule(color=TRUE_COLOR, strokeDash=[5, 4])
        .encode(x=alt.X("step:Q", scale=alt.Scale(type="log")), tooltip=[alt.Tooltip("step:Q", title="explained step")])
    )
