"""The loss chart: loss against step on a log scale, one line per optimizer (and run, when
overlaying), built from named layers: the rounding band, the repeats' band, the curves, the hover
marks, the divergence crosses and the slider's step rule."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import (
    DIVERGED_COLOR,
    HOVER_POINTS,
    MAX_POINTS,
    LayeredChart,
    Runs,
    fade,
    finish,
    lane_scale,
    layered,
    legend_pick,
    most_steps,
    run_dash,
    series_name,
    step_scale,
    step_zoom,
)
from lab.app.charts.focus import action_steps, rounding_level
from lab.app.charts.loss_frames import band_frame, banded, curve_frame, divergence_frame
from lab.app.charts.slider import LOSS_SLIDER, step_rule, step_slider

CLIP = 1e3  # the loss axis stops at this many times the largest starting value


def loss_chart(
    runs: Runs, measure: str = "loss", max_points: int = MAX_POINTS, height: int = 380, focus: bool = True
) -> LayeredChart:
    """Loss against step on a log scale, one line per optimizer (and run, when overlaying); with
    repeats, each optimizer's median across them and a shaded min–max band.

    Hover shows optimizer, step, loss, w and b; clicking a legend entry highlights that line;
    a diverged line ends in a red cross at its last finite step. Each legend entry shows the
    optimizer's learning rate. ``focus`` (the default view) shows the learning: the step range
    until the last optimizer converged, and the axis down to just below the dtype's rounding level,
    with a grey band up to ten times that level (there the jitter is rounding, not learning).
    """
    bands = banded(runs)
    last = action_steps(runs, measure) if focus else None
    df = band_frame(runs, measure, max_points, last) if bands else curve_frame(runs, measure, max_points, last)
    level = max(rounding_level(res) for _, res in runs) if runs else 0.0
    y_range = loss_range(df, level if focus else 0.0)
    y_scale = alt.Scale(type="log", domain=list(y_range)) if y_range else alt.Scale(type="log")
    x_scale = step_scale(last)
    title = "loss (full data, MSE)" if measure == "loss" else "loss − best possible loss"
    base = alt.Chart(df).encode(
        x=alt.X("step:Q", title="step", scale=x_scale),
        y=alt.Y("value:Q", title=title, scale=y_scale),
        color=series_color(runs, df, bands),
        detail="segment:N",  # a step that cannot be drawn (a loss at or below the best) breaks the line
    )
    hover = alt.selection_point(fields=["step"], nearest=True, on="pointerover", empty=False, clear="pointerout")
    hovered = hover_rows(df)
    chart = layered(
        rounding_band(y_range, level, runs[0][1].config.dtype if runs else "", y_scale),
        repeats_band(base, y_scale, title) if bands else None,
        curves(base, df),
        hover_points(base, hovered, hover, bands),
        hover_rule(hovered, hover),
        divergence_crosses(shown_divergences(runs, measure, last, y_range), y_scale),
        # The step the paths chart's slider is at, as a dashed rule (its slider here is the same
        # log-spaced one; the page keeps the two in step).
        step_rule(x_scale),
        step_label(x_scale),
    )
    slider, upto = step_slider(most_steps(runs), LOSS_SLIDER)
    chart = chart.properties(height=height).add_params(step_zoom(), slider, upto)
    return finish(chart, columns=2)  # two columns: the labels carry the learning rate


def loss_range(df: pd.DataFrame, level: float) -> tuple[float, float] | None:
    """The loss axis's (bottom, top); None when nothing is drawn. A diverging run would stretch the
    axis to 1e70 and flatten every other curve: it stops at CLIP times the largest starting value
    (lines are clipped there, and the cross sits on the edge). The bottom is the smallest value, or
    with a rounding ``level`` (the focused view), a third of it."""
    starts = df[df["step"] == 0]["value"]
    if not (len(df) and len(starts)):
        return None
    top = float(min(df["value"].max(), CLIP * starts.max()))
    bottom = level / 3 if level > 0 else float(df["value"].min())
    return bottom, top


def shown_divergences(runs: Runs, measure: str, last: int | None, y_range: tuple[float, float] | None) -> pd.DataFrame:
    """:func:`divergence_frame` of the steps shown, each cross kept on the plot (at its top at most)."""
    div = divergence_frame(runs, measure)
    if last is not None:
        div = div[div["step"] <= last]
    if y_range is not None:
        div = div.assign(value=np.minimum(div["value"].to_numpy(float), y_range[1]))
    return div


def lr_legend(runs: Runs, bands: bool) -> alt.Legend:
    """The legend, each entry with its optimizer's learning rate ("Adam · lr 0.05"); its swatches as
    solid as the lines (not as faint as a repeats band)."""
    lrs = {
        series_name(prefix, ln, res.config.repeats, bands): ln.hyperparams.get("lr")
        for prefix, res in runs
        for ln in res.lanes
    }
    label = " : ".join(
        f"datum.label == {json.dumps(k, ensure_ascii=False)} ? {json.dumps(f'{k} · lr {v:g}', ensure_ascii=False)}"
        for k, v in lrs.items()
        if v
    )
    return alt.Legend(labelExpr=f"{label} : datum.label", symbolOpacity=1) if label else alt.Legend(symbolOpacity=1)


def series_color(runs: Runs, df: pd.DataFrame, bands: bool) -> alt.Color:
    """Each curve in its optimizer's colour, in the order drawn, the legend naming learning rates."""
    return alt.Color(
        "series:N",
        title="optimizer",
        sort=list(dict.fromkeys(df["series"])),
        scale=lane_scale(runs, bands),
        legend=lr_legend(runs, bands),
    )


def curves(base: alt.Chart, df: pd.DataFrame) -> alt.Chart:
    """The loss curves, a legend click fading the others; each overlaid run in its own dash."""
    pick = legend_pick("series")
    return base.mark_line(strokeWidth=2, clip=True).encode(opacity=fade(pick, 0.12), **run_dash(df)).add_params(pick)


def hover_rows(df: pd.DataFrame) -> pd.DataFrame:
    """At most HOVER_POINTS rows per curve (each curve's last kept): finding the nearest point among
    every drawn point is what makes a chart slow to appear, and the eye needs no more."""
    counts = df.groupby("series", sort=False)["step"].transform("size")
    every = np.ceil(counts / HOVER_POINTS).clip(lower=1)
    row_in_series = df.groupby("series", sort=False).cumcount()
    return df[(row_in_series % every == 0) | (row_in_series == counts - 1)]


def hover_points(base: alt.Chart, hovered: pd.DataFrame, hover: alt.Parameter, bands: bool) -> alt.Chart:
    """A dot on each curve at the hovered step, its tooltip the optimizer, step, loss, w and b
    (medians, with repeats, and the spread across them)."""
    tips = [
        alt.Tooltip("series:N", title="optimizer"),
        alt.Tooltip("step:Q"),
        alt.Tooltip("loss:Q", format=".4e", title="loss (median)" if bands else "loss"),
        alt.Tooltip("w:Q", format=".5f", title="w (median)" if bands else "w"),
        alt.Tooltip("b:Q", format=".5f", title="b (median)" if bands else "b"),
    ]
    if bands:  # the spread across the repeats at this step
        tips += [
            alt.Tooltip("lo:Q", format=".4e", title="smallest"),
            alt.Tooltip("hi:Q", format=".4e", title="largest"),
            alt.Tooltip("alive:Q", title="repeats"),
        ]
    return (
        base.properties(data=hovered)
        .mark_point(filled=True, size=60, clip=True)
        .encode(opacity=alt.condition(hover, alt.value(1.0), alt.value(0.0)), tooltip=tips)
        .add_params(hover)
    )


def hover_rule(hovered: pd.DataFrame, hover: alt.Parameter) -> alt.Chart:
    """A grey rule at the hovered step."""
    return alt.Chart(hovered).mark_rule(color="#999").encode(x="step:Q").transform_filter(hover)


def repeats_band(base: alt.Chart, y_scale: alt.Scale, title: str) -> alt.Chart:
    """Each optimizer's repeats: the min–max band behind its median line."""
    return base.mark_area(opacity=0.18, clip=True).encode(y=alt.Y("lo:Q", scale=y_scale, title=title), y2="hi:Q")


def divergence_crosses(div: pd.DataFrame, y_scale: alt.Scale) -> alt.Chart | None:
    """A red cross where each diverged curve ends, its tooltip the step it diverged (None: none did)."""
    if not len(div):
        return None
    return (
        alt.Chart(div)
        .mark_point(shape="cross", size=160, color=DIVERGED_COLOR, filled=True)
        .encode(
            x="step:Q",
            y=alt.Y("value:Q", scale=y_scale),
            tooltip=[
                alt.Tooltip("series:N", title="optimizer"),
                alt.Tooltip("diverged_at:Q", title="diverged at step"),
            ],
        )
    )


def rounding_band(
    y_range: tuple[float, float] | None, level: float, dtype: str, y_scale: alt.Scale
) -> alt.Chart | None:
    """A grey band from the axis's bottom up to 10x the rounding ``level``: there the curves jitter
    (None where that is below the plot)."""
    if y_range is None or 10 * level <= y_range[0]:
        return None
    band = pd.DataFrame({"from": [y_range[0]], "to": [10 * level], "what": [f"{dtype} rounding"]})
    return (
        alt.Chart(band)
        .mark_rect(color="#e6e6e6", opacity=0.7)
        .encode(y=alt.Y("from:Q", scale=y_scale), y2="to:Q", tooltip=[alt.Tooltip("what:N", title="below")])
    )


def step_label(x_scale: alt.Scale) -> alt.Chart:
    """The label "step N", left of the slider's dashed rule (right of it, it was cut at the right
    edge, where the slider starts: the last step)."""
    return (
        alt.Chart(pd.DataFrame({"at": [0]}))
        .transform_calculate(step="upto")
        .mark_text(align="right", baseline="top", dx=-4, dy=2, fontSize=12, clip=True, text={"expr": "'step ' + upto"})
        .encode(x=alt.X("step:Q", scale=x_scale), y=alt.value(0))
    )
