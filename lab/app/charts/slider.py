"""The log-spaced step slider the loss, rate, paths and noise charts share: a range input whose
position p of SLIDER_POSITIONS is step (steps + 1)^(p/N) − 1, so the early steps, where most of the
story happens, get as much of it as the late ones. It runs in the browser: no rerun, no server work.

Vega shows a range input's own value, here the slider's position (0 … SLIDER_POSITIONS), not a
step: the page hides it, the slider's label says where the step is printed, and each chart prints
it from the ``upto`` parameter.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import TRUE_COLOR

SLIDER_POSITIONS = 400  # positions of the (log-spaced) step slider
PATHS_SLIDER = "replay up to step (printed top left; log-spaced) "  # the paths chart's slider, by name
LOSS_SLIDER = "mark a step (printed at the dashed line; log-spaced) "  # the loss chart's slider
SLIDER_PARAM = "position"  # the range input's parameter in the spec: its raw position, not a step


def step_slider(last: int, label: str) -> tuple[alt.Parameter, alt.Parameter]:
    """A log-spaced step slider labelled ``label``: the range input (its position 0 …
    SLIDER_POSITIONS) and ``upto``, the step it is at: (last + 1)^(position / SLIDER_POSITIONS) − 1."""
    slider = alt.param(
        name=SLIDER_PARAM,
        value=SLIDER_POSITIONS,
        bind=alt.binding_range(min=0, max=SLIDER_POSITIONS, step=1, name=label),
    )
    upto = alt.param(name="upto", expr=f"round(pow({last + 1}, {SLIDER_PARAM} / {SLIDER_POSITIONS})) - 1")
    return slider, upto


def slider_steps(last: int) -> np.ndarray:
    """Every step the log-spaced slider of :func:`step_slider` can be at, as Vega computes it
    (JavaScript's round: halves up)."""
    at = np.floor((last + 1) ** (np.arange(SLIDER_POSITIONS + 1) / SLIDER_POSITIONS) + 0.5) - 1
    return np.unique(at.astype(np.int64))


def step_rule(x_scale: alt.Scale) -> alt.Chart:
    """A dashed rule at the step ``upto`` (see :func:`step_slider`)."""
    return (
        alt.Chart(pd.DataFrame({"at": [0]}))
        .transform_calculate(step="upto")
        .mark_rule(color=TRUE_COLOR, strokeDash=[5, 4], strokeWidth=1.5, clip=True)
        .encode(x=alt.X("step:Q", scale=x_scale))
    )


def at_slider(chart: alt.Chart, upto: alt.Parameter, lane: str = "optimizer") -> alt.Chart:
    """Each lane's rows at its latest step at or before the slider's."""
    return (
        chart.transform_filter(alt.datum.step <= upto)
        .transform_joinaggregate(latest="max(step)", groupby=[lane])
        .transform_filter(alt.datum.step == alt.datum.latest)
    )
