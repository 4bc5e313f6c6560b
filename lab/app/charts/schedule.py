"""The learning-rate chart: the rate each optimizer used at each step (log scale), under the loss
chart on the same step axis; lanes with the same rates are one line, labelled with their names."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import (
    LOG_LABELS,
    MAX_POINTS,
    SHARED_COLOR,
    LayeredChart,
    Runs,
    color_of,
    downsample,
    fade,
    legend_pick,
    log_ticks,
    most_steps,
    run_dash,
    series_name,
    step_scale,
    step_zoom,
)
from lab.app.charts.focus import action_steps
from lab.app.charts.slider import step_rule, step_slider

RATE_SLIDER = "rate step "  # the rate chart's copy of the loss chart's slider (the page keeps them in step)


def scheduled(runs: Runs) -> bool:
    """Whether a learning-rate schedule changes any lane's rate (then the page draws the rates)."""
    return any(lane.lr is not None for _, res in runs for lane in res.lanes)


def lr_frame(runs: Runs, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Long frame (series, run, optimizer, step, lr, schedule): the learning rate of the update that
    led to each step, downsampled (min and max of each bucket kept, so a restart's jump survives).
    With repeats, the first repeat's (the same for all, except under ReduceLROnPlateau). Rates that
    cannot sit on a log scale (0 at a cosine's very end) are left out."""
    parts = []
    for prefix, res in runs:
        banded_ = res.config.repeats > 1
        for lane in res.lanes:
            if banded_ and lane.repeat > 0:
                continue
            rate = lane.rates()
            steps = np.flatnonzero(np.isfinite(rate) & (rate > 0))
            if len(steps) == 0:
                continue
            pick = steps[downsample(np.log10(rate[steps]), max_points)]
            parts.append(
                pd.DataFrame(
                    {
                        "series": series_name(prefix, lane, res.config.repeats, banded_),
                        "run": prefix.strip(),
                        "optimizer": lane.optimizer,
                        "step": pick,
                        "lr": rate[pick],
                        "schedule": lane.scheduler["class"] if lane.scheduler else "constant",
                    }
                )
            )
    cols = ["series", "run", "optimizer", "step", "lr", "schedule"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def lr_lines(runs: Runs, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """:func:`lr_frame` with one line per set of lanes whose drawn rates are the same (the same run,
    steps and rates: e.g. four optimizers at one learning rate under one StepLR): its ``series``
    names them all ("GD, SGD, Adam"), ``lanes`` counts them."""
    df = lr_frame(runs, max_points)
    groups: dict[tuple, list[str]] = {}
    for series, part in df.groupby("series", sort=False):
        key = (part["run"].iloc[0], tuple(part["step"]), tuple(part["lr"]), part["schedule"].iloc[0])
        groups.setdefault(key, []).append(series)
    parts = []
    for (run, *_), members in groups.items():
        part = df[df["series"] == members[0]]
        names = [df.loc[df["series"] == m, "optimizer"].iloc[0] for m in members]
        label = ((f"{run} " if run else "") + ", ".join(names)) if len(members) > 1 else members[0]
        parts.append(part.assign(series=label, optimizer=", ".join(names), lanes=len(members)))
    cols = [*df.columns, "lanes"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def lr_chart(runs: Runs, max_points: int = MAX_POINTS, height: int = 170, focus: bool = True) -> LayeredChart:
    """The learning rate each optimizer used at each step (log scale), drawn under the loss chart on
    the same step axis (the same range as the loss chart's ``focus``), with the same dashed rule at
    the step the paths chart's slider is at. Lanes with the same rates are one line (:func:`lr_lines`),
    in a colour of its own and labelled with their names; a lane's own line has its optimizer's colour
    (the loss chart's legend names it)."""
    df = lr_lines(runs, max_points)
    x_scale = step_scale(action_steps(runs) if focus else None)
    bottom, top = rate_range(df)
    base = alt.Chart(df).encode(
        x=alt.X("step:Q", title="step", scale=x_scale),
        y=alt.Y(
            "lr:Q",
            title="learning rate",
            scale=alt.Scale(type="log", domain=[bottom, top]),
            axis=rate_axis(bottom, top),
        ),
        color=line_color(df),
    )
    middle = float(np.sqrt(bottom * top))
    labels = [shared_label(base, middle, below) for below in (True, False)]
    slider, upto = step_slider(most_steps(runs), RATE_SLIDER)
    layer = alt.layer(rate_lines(base, df), *labels, step_rule(x_scale))
    return layer.properties(height=height).add_params(step_zoom(), slider, upto)


def rate_range(df: pd.DataFrame) -> tuple[float, float]:
    """The rate axis's (bottom, top): down to a ten-thousandth of the largest rate, since a cosine's
    last few steps dive towards 0 and would squeeze every schedule's shape into the top of the chart
    (the line leaves the chart there)."""
    top = float(df["lr"].max()) if len(df) else 1.0
    bottom = max(float(df["lr"].min()), top * 1e-4) if len(df) else 1e-4
    return bottom, top


def rate_axis(bottom: float, top: float) -> alt.Axis:
    """Ticks at the powers of ten (else 1, 2, 5), written 0.01 and 1e-4."""
    ticks = log_ticks(bottom, top)
    return alt.Axis(labelExpr=LOG_LABELS, values=ticks or alt.Undefined)


def line_color(df: pd.DataFrame) -> alt.Color:
    """A lane's own line in its optimizer's colour, a shared line in SHARED_COLOR; no legend (the
    loss chart's legend above names the colours; a shared line has a label)."""
    series = list(dict.fromkeys(df["series"]))
    first = df.drop_duplicates("series")
    colors = [color_of(o) if n == 1 else SHARED_COLOR for o, n in zip(first["optimizer"], first["lanes"], strict=True)]
    return alt.Color(
        "series:N",
        title="optimizer",
        sort=series,
        scale=alt.Scale(domain=series, range=colors),
        legend=None,
    )


def rate_lines(base: alt.Chart, df: pd.DataFrame) -> alt.Chart:
    """The rates as steps (a rate holds until the next update), a legend click fading the others."""
    pick = legend_pick("series")
    return (
        base.mark_line(strokeWidth=2, clip=True, interpolate="step-after")
        .encode(
            opacity=fade(pick, 0.12),
            tooltip=[
                alt.Tooltip("series:N", title="optimizer"),
                alt.Tooltip("schedule:N"),
                alt.Tooltip("step:Q"),
                alt.Tooltip("lr:Q", format=".4e", title="learning rate"),
            ],
            **run_dash(df),
        )
        .add_params(pick)
    )


def shared_label(base: alt.Chart, middle: float, below: bool) -> alt.Chart:
    """The names of each shared line at its start: under it (``below``) for the lines that start above
    the axis's ``middle``, over it for the others."""
    starts = (
        base.transform_filter("datum.lanes > 1")
        .transform_window(first="row_number()", groupby=["series"], sort=[alt.SortField("step")])
        .transform_filter("datum.first == 1")
    )
    return (
        starts.transform_filter(f"datum.lr {'>' if below else '<='} {middle}")
        .mark_text(align="left", baseline="top" if below else "bottom", dx=4, dy=3 if below else -3, fontSize=12)
        .encode(text="series:N")
    )
