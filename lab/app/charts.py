"""Chart builders: pure functions from results to ``alt.Chart`` (test them with ``to_dict()``).

What reaches the browser is bounded: every curve is downsampled to at most ``max_points``
points whatever the step count (first and last step kept, min and max of each bucket kept so
spikes survive), and only finite, positive values go to a log scale — a diverged run's line ends
at its last finite step and is marked there.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import torch

from lab.core import caches, landscapes, noise, optimizers
from lab.core.results import LaneResult, RunResult

MAX_POINTS = 300  # per curve: two points (min and max of a bucket) every ~3 px of a projected chart
MAX_TOTAL = 20_000  # per chart: with many curves each gets fewer points
HOVER_POINTS = 100  # hover targets per curve
SLIDER_POSITIONS = 400  # positions of the paths chart's (log-spaced) step slider

# We bound every payload ourselves (above); Altair's own 5 000-row guard would otherwise turn
# eight optimizers into an exception. Same setting for every session, set once at import.
alt.data_transformers.disable_max_rows()
Runs = list[tuple[str, RunResult]]  # (prefix, result): prefix labels runs when overlaying several


def spec(key: tuple, build: Callable[[], alt.TopLevelMixin]) -> dict:
    """The finished Vega-Lite spec for ``key``, built once per process. Equal configs give equal
    results, so a chart built for one user serves every user (and every rerun) showing the same runs."""
    return SPECS.get_or_build(key, lambda: build().to_dict(validate=False))  # tests validate the builders


SPECS = caches.LRU(64, name="chart specs")


def downsample(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep the first, the last, and the min and
    max of every bucket of ``y`` (NaNs ignored)."""
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2) // 2)
    size = -(-(n - 2) // buckets)
    body = np.full(buckets * size, np.nan)
    body[: n - 2] = y[1:-1]
    rows = body.reshape(buckets, size)
    keep = [0, n - 1]
    valid = ~np.isnan(rows).all(1)
    if valid.any():
        filled_lo = np.where(np.isnan(rows), np.inf, rows)
        filled_hi = np.where(np.isnan(rows), -np.inf, rows)
        base = 1 + np.arange(buckets) * size
        keep.extend((base + filled_lo.argmin(1))[valid])
        keep.extend((base + filled_hi.argmax(1))[valid])
    return np.unique(np.clip(keep, 0, n - 1))


def segments(ok: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """For the kept ``steps`` of a curve whose drawable steps are ``ok`` (a mask over every step): a
    number per kept step that changes wherever a step between two kept ones could not be drawn, so
    the line breaks there instead of joining the two with a straight ramp."""
    missing = np.concatenate([[0], np.cumsum(~ok)])  # missing[k]: undrawable steps before step k
    return missing[steps]  # equal for two kept steps only when none in between is missing


def _series(prefix: str, lane: LaneResult, repeats: int, banded: bool = False) -> str:
    """A curve's name: the optimizer (and run); each repeat its own, unless the repeats are drawn as
    one median with a band."""
    name = lane.optimizer if repeats == 1 or banded else f"{lane.optimizer} #{lane.repeat}"
    return f"{prefix}{name}"


def banded(runs: Runs) -> bool:
    """Whether the loss chart draws each optimizer's repeats as a median and a min–max band."""
    return any(res.config.repeats > 1 for _, res in runs)


def band_frame(
    runs: Runs, measure: str = "loss", max_points: int = MAX_POINTS, last: int | None = None
) -> pd.DataFrame:
    """Each optimizer across its repeats, downsampled on the median: curve_frame's columns (value,
    loss, w and b are medians over the repeats still finite at that step) plus ``lo`` and ``hi``
    (the band: smallest and largest value) and ``alive`` (repeats with a value there)."""
    end = None if last is None else last + 1
    parts = []
    for prefix, res in runs:
        best = res.min_loss or 0.0
        groups: dict[str, list[LaneResult]] = {}
        for lane in res.lanes:
            groups.setdefault(lane.optimizer, []).append(lane)
        for name, lanes in groups.items():
            stacked = {a: np.full((len(lanes), res.config.steps + 1), np.nan) for a in ("loss", "w", "b")}
            for i, lane in enumerate(lanes):
                for a, m in stacked.items():
                    m[i, : len(lane.loss)] = getattr(lane, a)
            value = stacked["loss"][:, :end] - best if measure == "excess" else stacked["loss"][:, :end]
            value = np.where(np.isfinite(value) & (value > 0), value, np.nan)
            alive = np.isfinite(value).sum(0)
            steps = np.flatnonzero(alive > 0)
            if len(steps) == 0:
                continue
            v = value[:, steps]
            med = np.nanmedian(v, 0)
            pick = downsample(np.log10(med), max_points)
            idx = steps[pick]
            ok = np.isfinite(stacked["loss"][:, idx])  # medians of loss, w and b over the same repeats

            def median(a: str, idx=idx, ok=ok) -> np.ndarray:
                return np.nanmedian(np.where(ok, stacked[a][:, idx], np.nan), 0)

            parts.append(
                pd.DataFrame(
                    {
                        "series": f"{prefix}{name}",
                        "run": prefix.strip(),
                        "optimizer": name,
                        "repeat": -1,
                        "step": idx,
                        "value": med[pick],
                        "loss": median("loss"),
                        "w": median("w"),
                        "b": median("b"),
                        "lo": np.nanmin(v[:, pick], 0),
                        "hi": np.nanmax(v[:, pick], 0),
                        "alive": alive[idx],
                        "segment": segments(alive > 0, idx),
                    }
                )
            )
    cols = ["series", "run", "optimizer", "repeat", "step", "value", "loss", "w", "b", "lo", "hi", "alive", "segment"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def curve_frame(
    runs: Runs, measure: str = "loss", max_points: int = MAX_POINTS, last: int | None = None
) -> pd.DataFrame:
    """Downsampled long frame: series, run (the overlay's prefix), optimizer, repeat, step, value, loss,
    w, b, segment.

    ``measure`` is "loss" or "excess" (loss above the best possible loss). Rows whose value
    cannot sit on a log scale (zero, negative, NaN, inf) are left out, and the line breaks there
    (``segment``). ``last``: only steps 0 … last are drawn, and the points are chosen among them
    (downsampling the whole run and then cropping would leave a window of a few hundred steps with
    a handful of points: an oscillation would vanish).
    """
    end = None if last is None else last + 1
    parts = []
    curves = sum(len(res.lanes) for _, res in runs)
    max_points = max(50, min(max_points, MAX_TOTAL // max(curves, 1)))
    for prefix, res in runs:
        best = res.min_loss or 0.0
        for lane in res.lanes:
            value = lane.loss[:end] - best if measure == "excess" else lane.loss[:end]
            ok = np.isfinite(value) & (value > 0)
            steps = np.flatnonzero(ok)
            if len(steps) == 0:
                continue
            pick = steps[downsample(np.log10(value[steps]), max_points)]
            parts.append(
                pd.DataFrame(
                    {
                        "series": _series(prefix, lane, res.config.repeats),
                        "run": prefix.strip(),
                        "optimizer": lane.optimizer,
                        "repeat": lane.repeat,
                        "step": pick,
                        "value": value[pick],
                        "loss": lane.loss[pick],
                        "w": lane.w[pick],
                        "b": lane.b[pick],
                        "segment": segments(ok, pick),
                    }
                )
            )
    cols = ["series", "run", "optimizer", "repeat", "step", "value", "loss", "w", "b", "segment"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def divergence_frame(runs: Runs, measure: str = "loss") -> pd.DataFrame:
    """Where each diverged run's curve ends: last finite step and its value (``measure`` as in
    :func:`curve_frame`), and the step it diverged."""
    rows = []
    for prefix, res in runs:
        best = (res.min_loss or 0.0) if measure == "excess" else 0.0
        for lane in res.lanes:
            if lane.diverged_at is not None and len(lane.loss) > 0 and lane.loss[-1] - best > 0:
                rows.append(
                    {
                        "series": _series(prefix, lane, res.config.repeats),
                        "step": len(lane.loss) - 1,
                        "value": float(lane.loss[-1] - best),
                        "diverged_at": lane.diverged_at,
                    }
                )
    return pd.DataFrame(rows, columns=["series", "step", "value", "diverged_at"])


def precision(res: RunResult) -> float:
    """The machine epsilon of the run's dtype."""
    return float(np.finfo(np.float32 if res.config.dtype == "float32" else np.float64).eps)


def rounding_level(res: RunResult) -> float:
    """About where the loss (or its excess over the best) is the dtype's rounding rather than
    learning: the run's precision times the loss's scale, squared for the residuals' part."""
    eps = precision(res)
    if res.y is not None:
        return eps * eps * float(np.mean(res.y**2)) + eps * (res.min_loss or 0.0)
    return eps * max(1.0, abs(res.min_loss or 0.0))


FALLING = 10.0  # a curve more than this factor above where it goes later is still falling


def still_falling(loss: np.ndarray, floor: float) -> int:
    """The last step at which ``loss`` is still more than FALLING times above the lowest it reaches
    later and above ``floor`` (where the curve is rounding, not learning); 0 if none."""
    later = np.minimum.accumulate(np.nan_to_num(loss, nan=np.inf)[::-1])[::-1]  # the lowest from each step on
    falling = np.flatnonzero((loss > FALLING * later) & (loss > floor))
    return int(falling[-1]) if len(falling) else 0


def action_steps(runs: Runs, measure: str = "loss") -> int | None:
    """The steps in which the learning happens: until the last optimizer has settled within
    tolerance and none of them is still falling (``measure``'s curve more than FALLING times above
    where it goes later, above the rounding band), with a margin; None when one never settles
    (then every step matters)."""
    ends = []
    for _, res in runs:
        floor = FALLING * rounding_level(res)
        best = (res.min_loss or 0.0) if measure == "excess" else 0.0
        for lane in res.lanes:
            if lane.diverged_at is not None:
                continue
            if not lane.settled:  # still falling, or hovering: every step matters
                return None
            ends += [lane.steps_to_tol, still_falling(lane.loss - best, floor)]
    if not ends:
        return None
    steps = max(res.config.steps for _, res in runs)
    return min(steps, max(20, int(1.15 * max(ends)) + 10))


def window_caption(runs: Runs, measure: str = "loss", focus: bool = True) -> str:
    """What part of the run the loss chart shows, in words."""
    steps = max((res.config.steps for _, res in runs), default=0)
    last = action_steps(runs, measure) if focus else None
    if last is None or last >= steps:
        return f"All {steps:,} steps."
    return (
        f"Steps 0–{last:,} of {steps:,}: where the learning happens (no curve falls further after it). "
        "**Full range** shows all."
    )


def loss_chart(
    runs: Runs, measure: str = "loss", max_points: int = MAX_POINTS, height: int = 380, focus: bool = True
) -> alt.Chart:
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
    div = divergence_frame(runs, measure)
    if last is not None:
        div = div[div["step"] <= last]
    title = "loss (full data, MSE)" if measure == "loss" else "loss − best possible loss"
    level = max(rounding_level(res) for _, res in runs) if runs else 0.0
    # A diverging run would stretch the axis to 1e70 and flatten every other curve: the axis stops
    # at 1 000x the largest starting value, lines are clipped there, and the cross sits on the edge.
    starts = df[df["step"] == 0]["value"]
    bottom = None
    if len(df) and len(starts):
        top = float(min(df["value"].max(), 1e3 * starts.max()))
        bottom = float(df["value"].min())
        if focus and level > 0:
            bottom = level / 3
        y_scale = alt.Scale(type="log", domain=[bottom, top])
        div = div.assign(value=np.minimum(div["value"].to_numpy(float), top))
    else:
        y_scale = alt.Scale(type="log")
    x_scale = alt.Scale(domain=[0, last]) if last is not None else alt.Scale()
    lrs = {
        _series(prefix, ln, res.config.repeats, bands): ln.hyperparams.get("lr")
        for prefix, res in runs
        for ln in res.lanes
    }
    label = " : ".join(
        f"datum.label == {json.dumps(k, ensure_ascii=False)} ? {json.dumps(f'{k} · lr {v:g}', ensure_ascii=False)}"
        for k, v in lrs.items()
        if v
    )
    legend_pick = alt.selection_point(fields=["series"], bind="legend")
    hover = alt.selection_point(fields=["step"], nearest=True, on="pointerover", empty=False, clear="pointerout")
    # symbolOpacity: the legend's swatches as solid as the lines (not as faint as a repeats band)
    legend = alt.Legend(labelExpr=f"{label} : datum.label", symbolOpacity=1) if label else alt.Legend(symbolOpacity=1)
    color = alt.Color(
        "series:N",
        title="optimizer",
        sort=list(dict.fromkeys(df["series"])),
        scale=_lane_scale(runs, bands),
        legend=legend,
    )
    base = alt.Chart(df).encode(
        x=alt.X("step:Q", title="step", scale=x_scale),
        y=alt.Y("value:Q", title=title, scale=y_scale),
        color=color,
        detail="segment:N",  # a step that cannot be drawn (a loss at or below the best) breaks the line
    )
    # Overlaid runs: an optimizer keeps its colour in each, and each run has its own dash.
    dash = {"strokeDash": alt.StrokeDash("run:N", title="run")} if df["run"].astype(bool).any() else {}
    lines = (
        base.mark_line(strokeWidth=2, clip=True)
        .encode(opacity=alt.condition(legend_pick, alt.value(1.0), alt.value(0.12)), **dash)
        .add_params(legend_pick)
    )
    # Hover marks on a thinned copy (at most HOVER_POINTS per curve): finding the nearest point
    # among every drawn point is what makes a chart slow to appear, and the eye needs no more.
    counts = df.groupby("series", sort=False)["step"].transform("size")
    every = np.ceil(counts / HOVER_POINTS).clip(lower=1)
    position = df.groupby("series", sort=False).cumcount()
    thin = df[(position % every == 0) | (position == counts - 1)]
    hover_base = base.properties(data=thin)
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
    points = (
        hover_base.mark_point(filled=True, size=60, clip=True)
        .encode(opacity=alt.condition(hover, alt.value(1.0), alt.value(0.0)), tooltip=tips)
        .add_params(hover)
    )
    rule = alt.Chart(thin).mark_rule(color="#999").encode(x="step:Q").transform_filter(hover)
    layers = [lines, points, rule]
    if bands:  # each optimizer's repeats: the min–max band behind its median line
        band = base.mark_area(opacity=0.18, clip=True).encode(y=alt.Y("lo:Q", scale=y_scale, title=title), y2="hi:Q")
        layers.insert(0, band)
    if len(div):
        layers.append(
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
    if bottom is not None and 10 * level > bottom:  # the rounding band: up to 10x the level, the curves jitter
        band = pd.DataFrame({"from": [bottom], "to": [10 * level], "what": [f"{runs[0][1].config.dtype} rounding"]})
        layers.insert(
            0,
            alt.Chart(band)
            .mark_rect(color="#e6e6e6", opacity=0.7)
            .encode(y=alt.Y("from:Q", scale=y_scale), y2="to:Q", tooltip=[alt.Tooltip("what:N", title="below")]),
        )
    # Zoom the step axis with Shift+wheel (a plain wheel keeps scrolling the page), pan by dragging,
    # double-click to reset.
    # The step the paths chart's slider is at, as a dashed rule (its slider here is the same
    # log-spaced one; the page keeps the two in step).
    position, upto = _step_params(max((res.config.steps for _, res in runs), default=0), LOSS_SLIDER)
    marker = _step_rule(x_scale)
    marker_label = (
        alt.Chart(pd.DataFrame({"at": [0]}))
        .transform_calculate(step="upto")
        # right of the line it was cut at the right edge, where the slider starts (the last step)
        .mark_text(align="right", baseline="top", dx=-4, dy=2, fontSize=12, clip=True, text={"expr": "'step ' + upto"})
        .encode(x=alt.X("step:Q", scale=x_scale), y=alt.value(0))
    )
    layers += [marker, marker_label]
    zoom = alt.selection_interval(bind="scales", encodings=["x"], zoom="wheel![event.shiftKey]")
    chart = alt.layer(*layers).properties(height=height).add_params(zoom, position, upto)
    return _finish(chart, columns=2)  # two columns: the labels carry the learning rate


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
                        "series": _series(prefix, lane, res.config.repeats, banded_),
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


def lr_chart(runs: Runs, max_points: int = MAX_POINTS, height: int = 170, focus: bool = True) -> alt.Chart:
    """The learning rate each optimizer used at each step (log scale), drawn under the loss chart on
    the same step axis (the same range as the loss chart's ``focus``), with the same dashed rule at
    the step the paths chart's slider is at. Lanes with the same rates are one line (:func:`lr_lines`),
    in a colour of its own and labelled with their names; a lane's own line has its optimizer's colour
    (the loss chart's legend names it)."""
    df = lr_lines(runs, max_points)
    last = action_steps(runs) if focus else None
    x_scale = alt.Scale(domain=[0, last]) if last is not None else alt.Scale()
    legend_pick = alt.selection_point(fields=["series"], bind="legend")
    # Down to a ten-thousandth of the largest rate: a cosine's last few steps dive towards 0 and would
    # squeeze every schedule's shape into the top of the chart (the line leaves the chart there).
    top = float(df["lr"].max()) if len(df) else 1.0
    bottom = max(float(df["lr"].min()), top * 1e-4) if len(df) else 1e-4
    y_scale = alt.Scale(type="log", domain=[bottom, top])
    ticks = _log_ticks(bottom, top)
    axis = alt.Axis(labelExpr=LOG_LABELS, **({"values": ticks} if ticks else {}))
    series = list(dict.fromkeys(df["series"]))
    first = df.drop_duplicates("series")
    colors = [color_of(o) if n == 1 else SHARED_COLOR for o, n in zip(first["optimizer"], first["lanes"], strict=True)]
    base = alt.Chart(df).encode(
        x=alt.X("step:Q", title="step", scale=x_scale),
        y=alt.Y("lr:Q", title="learning rate", scale=y_scale, axis=axis),
        color=alt.Color(
            "series:N",
            title="optimizer",
            sort=series,
            scale=alt.Scale(domain=series, range=colors),
            legend=None,  # the loss chart's legend above names the colours; a shared line has a label
        ),
    )
    dash = {"strokeDash": alt.StrokeDash("run:N", title="run")} if df["run"].astype(bool).any() else {}
    lines = (
        base.mark_line(strokeWidth=2, clip=True, interpolate="step-after")
        .encode(
            opacity=alt.condition(legend_pick, alt.value(1.0), alt.value(0.12)),
            tooltip=[
                alt.Tooltip("series:N", title="optimizer"),
                alt.Tooltip("schedule:N"),
                alt.Tooltip("step:Q"),
                alt.Tooltip("lr:Q", format=".4e", title="learning rate"),
            ],
            **dash,
        )
        .add_params(legend_pick)
    )
    # A shared line's names at its start, under it when it starts in the upper half of the axis.
    middle = float(np.sqrt(bottom * top))
    starts = (
        base.transform_filter("datum.lanes > 1")
        .transform_window(first="row_number()", groupby=["series"], sort=[alt.SortField("step")])
        .transform_filter("datum.first == 1")
    )
    labels = [
        starts.transform_filter(f"datum.lr {'>' if below else '<='} {middle}")
        .mark_text(align="left", baseline="top" if below else "bottom", dx=4, dy=3 if below else -3, fontSize=12)
        .encode(text="series:N")
        for below in (True, False)
    ]
    position, upto = _step_params(max((res.config.steps for _, res in runs), default=0), "rate step ")
    marker = _step_rule(x_scale)
    zoom = alt.selection_interval(bind="scales", encodings=["x"], zoom="wheel![event.shiftKey]")
    return alt.layer(lines, *labels, marker).properties(height=height).add_params(zoom, position, upto)


def fit_chart(res: RunResult, max_scatter: int = 2_000, plot_height: int = 260) -> alt.Chart:
    """The data as a scatter, each optimizer's fitted line (first repeat), and the true line dashed;
    optimizers that ended on the same line share one (:func:`data_chart`). ``plot_height``: the plot's,
    the legend below gets room of its own."""
    fits = [
        (ln.optimizer, ln.final_w, ln.final_b, color_of(ln.optimizer))
        for ln in res.lanes
        if ln.repeat == 0 and ln.final_w is not None
    ]
    data = res.config.data
    target = "best fit" if data.dataset is not None else "true"
    groups = same_lines(fits, float(res.x.min()), float(res.x.max()), _span_of(res.y))
    columns = 1 if any(len(g) > 1 for g in groups) else 2
    height = chart_height(plot_height, 1 + len(groups), columns)
    return data_chart(res.x, res.y, data.true_w, data.true_b, fits, max_scatter, height, target)


SAME_LINE = 0.005  # two fitted lines this close (a share of the data's y span, at both ends) are one


def _span_of(y: np.ndarray) -> float:
    return float(np.ptp(y)) if len(y) and np.isfinite(y).all() and np.ptp(y) > 0 else 1.0


def same_lines(fits, lo: float, hi: float, span: float, tol: float = SAME_LINE) -> list[list[int]]:
    """The fits (name, w, b, colour) grouped by the line they draw from x = ``lo`` to ``hi``: each
    group's lines are within ``tol`` × ``span`` of its first at both ends (on a chart ``span`` high
    they are the same line to the eye). Indices into ``fits``, in their order."""
    ends = [(w * lo + b, w * hi + b) for _, w, b, _ in fits]
    groups: list[list[int]] = []
    for i, (a, z) in enumerate(ends):
        home = next(
            (g for g in groups if abs(a - ends[g[0]][0]) <= tol * span and abs(z - ends[g[0]][1]) <= tol * span),
            None,
        )
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups


def data_chart(
    x: np.ndarray,
    y: np.ndarray,
    true_w: float,
    true_b: float,
    fits: list[tuple[str, float, float, str]] = (),
    max_scatter: int = 2_000,
    height: int = 320,
    target: str = "true",
) -> alt.Chart:
    """A scatter of (x, y) (at most ``max_scatter`` points), the true line dashed (``target`` names
    it: "true", or "best fit" for a learner's own data), and lines y = w·x + b for each
    (name, w, b, colour) in ``fits``. Fits that draw the same line (:func:`same_lines`) are one
    legend entry naming them all ("GD, SGD, Adam — the same line"), in a colour of its own."""
    n = len(x)
    pick = np.linspace(0, n - 1, min(n, max_scatter)).astype(int)
    pts = pd.DataFrame({"x": x[pick], "y": y[pick]})
    lo, hi = float(x.min()), float(x.max())
    true_label = f"{target}: y = {true_w:.4g}x {'−' if true_b < 0 else '+'} {abs(true_b):.4g}"
    true = {"line": true_label, "label": true_label, "w": true_w, "b": true_b, "kind": "true"}
    rows = []
    labels, colors = [true_label], [TRUE_COLOR]
    for group in same_lines(fits, lo, hi, _span_of(y)):
        names = [fits[i][0] for i in group]
        labels.append(f"{', '.join(names)} — the same line" if len(group) > 1 else names[0])
        colors.append(SHARED_COLOR if len(group) > 1 else fits[group[0]][3])
        for i in group:
            name, w, b, _ = fits[i]
            rows += [
                {"line": name, "label": labels[-1], "w": w, "b": b, "x": v, "y": w * v + b, "kind": "fit"}
                for v in (lo, hi)
            ]
    # the true line last: drawn on top, its dashes show it where a fitted line lies on it
    lines = pd.DataFrame(rows + [{**true, "x": v, "y": true_w * v + true_b} for v in (lo, hi)])
    legend_pick = alt.selection_point(fields=["label"], bind="legend")
    scatter = (
        alt.Chart(pts)
        .mark_circle(size=40, color=DATA_COLOR, opacity=0.45)
        .encode(
            x=alt.X("x:Q", title="x"),
            y=alt.Y("y:Q", title="y"),
            tooltip=[alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")],
        )
    )
    shared = len(labels) < len(fits) + 1
    fitted = (
        alt.Chart(lines)
        .mark_line(strokeWidth=2)
        .encode(
            x="x:Q",
            y="y:Q",
            color=alt.Color(
                "label:N",
                title="line",
                sort=labels,
                # the true line in near-black, each fitted one in its own colour (the loss chart's)
                scale=alt.Scale(domain=labels, range=colors),
                # a shared line's label is long: one column, and room for it
                legend=alt.Legend(columns=1, labelLimit=600) if shared else alt.Undefined,
            ),
            strokeDash=alt.condition("datum.kind == 'true'", alt.value([6, 4]), alt.value([1, 0])),
            opacity=alt.condition(legend_pick, alt.value(1.0), alt.value(0.15)),
            detail="line:N",  # each optimizer's own line: on a shared one they lie on top of each other
            tooltip=[alt.Tooltip("line:N"), alt.Tooltip("w:Q", format=".6g"), alt.Tooltip("b:Q", format=".6g")],
        )
        .add_params(legend_pick)
    )
    return _finish(alt.layer(scatter, fitted).properties(height=height), columns=2)


def slider_steps(last: int) -> np.ndarray:
    """Every step the log-spaced slider of :func:`_step_params` can be at, as Vega computes it
    (JavaScript's round: halves up)."""
    at = np.floor((last + 1) ** (np.arange(SLIDER_POSITIONS + 1) / SLIDER_POSITIONS) + 0.5) - 1
    return np.unique(at.astype(np.int64))


def noise_frames(res: RunResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gradient-noise arrows and spreads (:mod:`lab.core.noise`) of the run's plain SGD lanes
    at every step the paths slider can be at; numbers rounded for the browser (an arrow's length to
    4 significant digits, the point to 7)."""
    arrows, spread = [], []
    steps = slider_steps(int(res.config.steps))
    for lane in noise.eligible(res):
        found = noise.noise(res, lane, steps)
        arrows += found.arrows
        spread += found.spread
    a = pd.DataFrame(arrows, columns=["optimizer", "step", "kind", "w", "b", "dw", "db"])
    # Small in the browser: the point comes from the path's own rows (a lookup by optimizer and
    # step), the kind is one letter, a step's length keeps 3 significant digits.
    lane_no = {name: i for i, name in enumerate(dict.fromkeys(ln.optimizer for ln in res.lanes))}
    a = pd.DataFrame(
        {
            "key": [lane_no[o] * _KEY + k for o, k in zip(a["optimizer"], a["step"], strict=True)],
            "kind": a["kind"].str[0],  # f(ull data), t(his batch), o(ther batch)
            "dw": [float(f"{v:.3g}") for v in a["dw"]],
            "db": [float(f"{v:.3g}") for v in a["db"]],
        }
    )
    return a, pd.DataFrame(spread, columns=["optimizer", "step", "trace", "samples", "batch_size", "lr"])


_KEY = 10**6  # a path row's key: lane number * _KEY + step (steps are at most 100 000)
# noise_frames by chart key: the paths chart and the variance chart use the same
NOISE = caches.LRU(8, name="noise frames")


def noise_for(key: tuple, res: RunResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`noise_frames` of ``res`` (whose charts are keyed ``key``), computed once per process."""
    return NOISE.get_or_build(key, lambda: noise_frames(res))


def _at_slider(chart: alt.Chart, upto: alt.Parameter, lane: str = "optimizer") -> alt.Chart:
    """Each lane's rows at its latest step at or before the slider's."""
    return (
        chart.transform_filter(alt.datum.step <= upto)
        .transform_joinaggregate(latest="max(step)", groupby=[lane])
        .transform_filter(alt.datum.step == alt.datum.latest)
    )


# The arrows of the gradient-noise view: (kind, colour, stroke width, opacity), drawn in this order.
NOISE_KINDS = (
    ("other batch", "#8c8c8c", 1.0, 0.55),
    ("full data", "#111111", 2.5, 1.0),
    ("this batch", "#d62728", 2.5, 1.0),
)


def _noise_layers(arrows: pd.DataFrame, path: pd.DataFrame, upto: alt.Parameter) -> list[alt.Chart]:
    """Arrows from the slider's point of each plain-SGD path: the full-data gradient's step, this
    batch's (the step taken), and a faint cloud of other batches' (heads turned in screen space)."""
    points = alt.LookupData(
        data=alt.InlineData(values=path.to_dict("records")), key="key", fields=["optimizer", "w", "b"]
    )
    base = (
        _at_slider(
            alt.Chart(arrows).transform_calculate(lane=f"floor(datum.key / {_KEY})", step=f"datum.key % {_KEY}"),
            upto,
            lane="lane",
        )
        .transform_lookup(lookup="key", from_=points)
        .transform_calculate(w2="datum.w + datum.dw", b2="datum.b + datum.db")
    )
    # the angle of the head: from the arrow's direction on screen (y grows downwards there)
    angle = alt.ExprRef(
        "atan2(scale('x', datum.w2) - scale('x', datum.w), scale('y', datum.b) - scale('y', datum.b2)) * 180 / PI"
    )
    layers = []
    for kind, color, width, opacity in NOISE_KINDS:
        one = base.transform_filter(alt.datum.kind == kind[0]).transform_calculate(kind=f"'{kind}'")
        tips = ["optimizer:N", "kind:N", "step:Q", alt.Tooltip("dw:Q", format=".3e"), alt.Tooltip("db:Q", format=".3e")]
        layers.append(
            one.mark_rule(color=color, strokeWidth=width, opacity=opacity, clip=True).encode(
                x="w:Q", y="b:Q", x2="w2:Q", y2="b2:Q", tooltip=tips
            )
        )
        layers.append(
            one.mark_point(
                shape="triangle-up", filled=True, color=color, opacity=opacity, size=28 * width, angle=angle
            ).encode(x="w2:Q", y="b2:Q", tooltip=tips)
        )
    return layers


def noise_variance_chart(spread: pd.DataFrame, steps: int, height: int = 260) -> alt.Chart:
    """The mini-batch gradient's total variance against batch size at the slider's point (log–log),
    exact from the data: tr Σ / m · (N − m)/(N − 1). A dot marks each optimizer's own batch size."""
    n = int(spread["samples"].max()) if len(spread) else 2
    ms = np.unique(np.round(np.logspace(0, np.log10(max(n - 1, 1)), 40)).astype(int)).tolist()
    position, upto = _step_params(steps, "noise step ")  # the paths slider's positions (mirrored)
    factor = f"datum.trace / datum.m * ({n} - datum.m) / {max(n - 1, 1)}"
    base = (
        _at_slider(alt.Chart(spread), upto)
        .transform_calculate(m=f"{json.dumps(ms)}")
        .transform_flatten(["m"])
        .transform_calculate(variance=factor)
    )
    color = alt.Color(
        "optimizer:N",
        scale=alt.Scale(
            domain=list(dict.fromkeys(spread["optimizer"])),
            range=[color_of(o) for o in dict.fromkeys(spread["optimizer"])],
        ),
        legend=None,
    )
    axis_x = alt.X("m:Q", title="batch size m", scale=alt.Scale(type="log"))
    axis_y = alt.Y("variance:Q", title="variance of the batch gradient", scale=alt.Scale(type="log"))
    line = base.mark_line(strokeWidth=2).encode(x=axis_x, y=axis_y, color=color, detail="optimizer:N")
    own = (
        _at_slider(alt.Chart(spread), upto)
        .transform_calculate(m="datum.batch_size")
        .transform_calculate(variance=factor)
        .mark_point(filled=True, size=90, stroke="black", strokeWidth=1)
        .encode(
            x=axis_x,
            y=axis_y,
            color=color,
            tooltip=[
                "optimizer:N",
                alt.Tooltip("step:Q"),
                alt.Tooltip("m:Q", title="its batch size"),
                alt.Tooltip("variance:Q", format=".3e"),
                alt.Tooltip("trace:Q", format=".3e", title="per-sample variance (tr Σ)"),
            ],
        )
    )
    label = alt.Chart(pd.DataFrame({"at": [0]})).mark_text(
        align="right", baseline="top", fontSize=12, x="width", dx=-4, y=4, text={"expr": "'at step ' + upto"}
    )
    return alt.layer(line, own, label).properties(height=height).add_params(position, upto)


def trajectory_chart(
    res: RunResult,
    max_points: int = 400,
    grid: int = 40,
    plot_height: int = 400,
    noise_arrows: pd.DataFrame | None = None,
) -> alt.Chart:
    """Each optimizer's path through (w, b) over a heat map of the loss (log colour scale); with
    ``noise_arrows`` (:func:`noise_frames`), the gradient-noise arrows at the slider's step.
    ``plot_height``: the plot's (at most about 2:1 on a page 900 px wide); the legend gets room of its own.

    The window is a landscape's own; for the regression it spans the paths that did not diverge
    (a diverging path would stretch it to 1e30) and the best (w, b); paths are clipped to it."""
    paths = []
    on_slider = slider_steps(int(res.config.steps)) if noise_arrows is not None else None
    with_arrows = {ln.optimizer for ln in noise.eligible(res)} if noise_arrows is not None else set()
    for lane in res.lanes:
        if lane.repeat != 0 or len(lane.w) == 0:
            continue
        pick = downsample(np.hypot(lane.w - lane.w[-1], lane.b - lane.b[-1]), max_points)
        if lane.optimizer in with_arrows:  # the path's head sits where the arrows start
            pick = np.union1d(pick, on_slider[on_slider < len(lane.w)])
        paths.append(
            pd.DataFrame(
                {
                    "optimizer": lane.optimizer,
                    "step": pick,
                    "w": lane.w[pick],
                    "b": lane.b[pick],
                    "loss": lane.loss[pick],
                    "diverged": lane.diverged_at is not None,
                }
            )
        )
    cols = ["optimizer", "step", "w", "b", "loss", "diverged"]
    path = pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=cols)
    if res.x is None:
        window = landscapes.get(res.config.objective).window
    else:
        kept = path[~path["diverged"].astype(bool)] if (~path["diverged"].astype(bool)).any() else path
        ws = np.concatenate([kept["w"].to_numpy(float), [res.optimum[0]]])
        bs = np.concatenate([kept["b"].to_numpy(float), [res.optimum[1]]])
        window = (*_span(ws[np.isfinite(ws)]), *_span(bs[np.isfinite(bs)]))
    bg = _surface(lambda gw, gb: _surface_loss(res, gw, gb), window, grid)
    legend_pick = alt.selection_point(fields=["optimizer"], bind="legend")
    # A slider under the chart replays the race: each path is drawn up to that step and ends in a
    # large dot (the last kept point at or before it). It runs in the browser: no rerun, no server work.
    # The slider is log-spaced (position p of SLIDER_POSITIONS is step (steps + 1)^(p/N) − 1): the early
    # steps, where most of the story happens, get as much of it as the late ones.
    # Vega shows a range input's own value, here the slider's position (0 … SLIDER_POSITIONS), not a
    # step: the page hides it, and the name says where the step is.
    position, upto = _step_params(int(res.config.steps), PATHS_SLIDER)
    # one entry per optimizer (the paths are the first repeat's, named by optimizer alone)
    order, lane_scale = list(dict.fromkeys(path["optimizer"])), _lane_scale([("", res)], bands=True)
    color = alt.Color("optimizer:N", sort=order, scale=lane_scale)
    tooltip = [
        "optimizer:N",
        "step:Q",
        alt.Tooltip("w:Q", format=".4f"),
        alt.Tooltip("b:Q", format=".4f"),
        alt.Tooltip("loss:Q", format=".3e"),
    ]
    fade = alt.condition(legend_pick, alt.value(1.0), alt.value(0.1))
    shown = alt.Chart(path.drop(columns="diverged")).transform_filter(alt.datum.step <= upto)
    lines = (
        shown.mark_line(strokeWidth=2, point=alt.OverlayMarkDef(size=12), clip=True)
        .encode(x="w:Q", y="b:Q", order="step:Q", color=color, opacity=fade, tooltip=tooltip)
        .add_params(legend_pick)
    )
    heads = (
        shown.transform_window(rank="rank()", sort=[alt.SortField("step", order="descending")], groupby=["optimizer"])
        .transform_filter(alt.datum.rank == 1)
        .mark_point(filled=True, size=110, stroke="black", strokeWidth=1, clip=True)
        .encode(
            x="w:Q",
            y="b:Q",
            color=alt.Color("optimizer:N", sort=order, scale=lane_scale, legend=None),
            opacity=fade,
            tooltip=tooltip,
        )
    )
    best = _marker(res.optimum, "best fit (w, b)" if res.x is not None else "minimum", "diamond")
    step_label = (
        alt.Chart(pd.DataFrame({"at": [0]}))
        .mark_text(
            align="left",
            baseline="top",
            fontSize=13,
            fontWeight="bold",
            text={"expr": f"'step ' + format(upto, ',') + ' of {int(res.config.steps):,}'"},
        )
        .encode(x=alt.value(6), y=alt.value(6))
    )
    layers = [bg, lines, heads, best, step_label]
    if noise_arrows is not None and len(noise_arrows):
        lane_no = {name: i for i, name in enumerate(dict.fromkeys(ln.optimizer for ln in res.lanes))}
        keyed = path.assign(key=[lane_no[o] * _KEY + k for o, k in zip(path["optimizer"], path["step"], strict=True)])
        keyed = keyed[keyed["key"].isin(set(noise_arrows["key"]))][["key", "optimizer", "w", "b"]]
        layers[3:3] = _noise_layers(noise_arrows, keyed, upto)
    chart = alt.layer(*layers).add_params(position, upto)
    return _finish(chart.properties(height=chart_height(plot_height, len(lane_scale.domain))))


PATHS_SLIDER = "replay up to step (printed top left; log-spaced) "  # the paths chart's slider, by name
LOSS_SLIDER = "mark a step (printed at the dashed line; log-spaced) "  # the loss chart's slider


def _step_rule(x_scale: alt.Scale) -> alt.Chart:
    """A dashed rule at the step ``upto`` (see :func:`_step_params`)."""
    return (
        alt.Chart(pd.DataFrame({"at": [0]}))
        .transform_calculate(step="upto")
        .mark_rule(color=TRUE_COLOR, strokeDash=[5, 4], strokeWidth=1.5, clip=True)
        .encode(x=alt.X("step:Q", scale=x_scale))
    )


def _step_params(last: int, name: str) -> tuple[alt.Parameter, alt.Parameter]:
    """A log-spaced step slider: ``position`` (bound to a range input) and ``upto``, the step it is
    at: (last + 1)^(position / SLIDER_POSITIONS) − 1, so the early steps get as much room as the late."""
    position = alt.param(
        name="position",
        value=SLIDER_POSITIONS,
        bind=alt.binding_range(min=0, max=SLIDER_POSITIONS, step=1, name=name),
    )
    upto = alt.param(name="upto", expr=f"round(pow({last + 1}, position / {SLIDER_POSITIONS})) - 1")
    return position, upto


def landscape_chart(name: str, grid: int = 40, height: int = 380):
    """A landscape's surface (log colour scale), its minimum (diamond) and the start (circle)."""
    land = landscapes.get(name)
    layers = [_surface(lambda gw, gb: _height(land, gw, gb), land.window, grid)]
    if land.minimum is not None:
        layers.append(_marker(land.minimum, "minimum", "diamond"))
    layers.append(_marker(land.start, "start", "circle"))
    return alt.layer(*layers).properties(height=height)


def _surface(loss: Callable[[np.ndarray, np.ndarray], np.ndarray], window: tuple, grid: int) -> alt.Chart:
    """A heat map of ``loss`` over ``window`` = (w_lo, w_hi, b_lo, b_hi), darker where higher."""
    w_lo, w_hi, b_lo, b_hi = window
    gw, gb = np.meshgrid(np.linspace(w_lo, w_hi, grid), np.linspace(b_lo, b_hi, grid))
    values = loss(gw, gb)
    dw, db = (w_hi - w_lo) / (grid - 1), (b_hi - b_lo) / (grid - 1)
    heat = pd.DataFrame(
        {
            "w": gw.ravel(),
            "b": gb.ravel(),
            "w2": gw.ravel() + dw,
            "b2": gb.ravel() + db,
            "loss": np.maximum(values.ravel(), 1e-12),
        }
    )
    return (
        alt.Chart(heat)
        .mark_rect(opacity=0.55)
        .encode(
            x=alt.X("w:Q", title="w", scale=alt.Scale(domain=[w_lo, w_hi + dw], nice=False)),
            x2="w2:Q",
            y=alt.Y("b:Q", title="b", scale=alt.Scale(domain=[b_lo, b_hi + db], nice=False)),
            y2="b2:Q",
            color=alt.Color("loss:Q", scale=alt.Scale(type="log", scheme="greys"), legend=None),
        )
    )


def _marker(at: tuple[float, float], what: str, shape: str) -> alt.Chart:
    return (
        alt.Chart(pd.DataFrame({"w": [at[0]], "b": [at[1]], "what": [what]}))
        .mark_point(shape=shape, size=160, color="black", filled=True)
        .encode(
            x="w:Q", y="b:Q", tooltip=["what:N", alt.Tooltip("w:Q", format=".4g"), alt.Tooltip("b:Q", format=".4g")]
        )
    )


_COLORS = [  # tableau20, strong shades first
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#393b79",  # (tableau's red is kept for divergence marks)
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


DATA_COLOR = "#3a3a3a"  # the data points: no optimizer's colour
TRUE_COLOR = "#222222"  # the true line (dashed)
DIVERGED_COLOR = "#d62728"  # a diverged run's mark, whatever its optimizer's colour


@functools.cache
def _registry_order() -> dict[str, int]:
    return {name: i for i, name in enumerate(optimizers.registry().names())}


def color_of(optimizer: str) -> str:
    """The colour of an optimizer (by its display name) in every chart of the lab: the registry's
    order picks it, so Adam has one colour in the loss, fit, paths and sweep charts of any run
    whatever else is in it or dropped from it. A name outside the registry (a custom label) gets a
    colour from a hash of the name."""
    index = _registry_order().get(optimizer)
    if index is None:
        index = zlib.crc32(optimizer.encode())
    return _COLORS[index % len(_COLORS)]


def _finish(chart: alt.TopLevelMixin, columns: int = 3) -> alt.TopLevelMixin:
    """Legends below the plot (a projected chart keeps its width for the data), in columns, with
    line swatches, so a line's colour and dash read as they are drawn."""
    return chart.configure_legend(
        orient="bottom", columns=columns, labelLimit=170, symbolType="stroke", symbolStrokeWidth=3, titleOrient="top"
    )


# Streamlit draws a chart with autosize "fit": the height a spec asks for is the whole chart's, the
# x axis and the legend below the plot included (measured in Chromium: a legend of 3 rows took 88 px,
# of 4 rows 106 px, the x axis and padding about 78 px more).
X_AXIS_ROOM = 78  # px: the x axis's labels and title, and the padding
LEGEND_ROOM = 54  # px: a legend below the plot, its offset and title
LEGEND_ROW = 18  # px: each row of it


def chart_height(plot: int, entries: int = 0, columns: int = 3) -> int:
    """The height to ask for so that the plot itself is about ``plot`` px tall, under it the x axis
    and a legend of ``entries`` in ``columns`` (0: none)."""
    rows = -(-entries // columns) if entries else 0
    return plot + X_AXIS_ROOM + (LEGEND_ROOM + LEGEND_ROW * rows if rows else 0)


SHARED_COLOR = "#7b4173"  # a line several optimizers share (they coincide): no one optimizer's colour


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis from ``lo`` to ``hi``: the powers of ten in it, or where fewer
    than two fit, 1, 2 and 5 times them (then every digit), exact in decimal."""
    if not (0 < lo <= hi and np.isfinite(hi)):
        return []
    decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    values: list[float] = []
    for digits in ((1,), (1, 2, 5), range(1, 10)):
        values = [v for k in decades for m in digits if lo * (1 - 1e-9) <= (v := float(f"{m}e{k}")) <= hi * (1 + 1e-9)]
        if len(values) >= 2:
            break
    return values


def _thin(values: list[float], most: int) -> list[float]:
    """Every k-th of ``values`` (the first kept), k the smallest that leaves at most ``most``."""
    return values[:: -(-len(values) // most)] if values else values


# A rate or a loss on a log axis: 0.1, 0.05, 0.001, 100 as written, smaller and larger ones as 1e-4 and 1e6
# (not 0.0001 and 1,000,000).
LOG_LABELS = (
    "datum.value >= 0.001 && datum.value < 1e4 ? format(datum.value, '~g') "
    ": replace(format(datum.value, '.0e'), '+', '')"
)


def _lane_scale(runs: Runs, bands: bool = False) -> alt.Scale:
    """Every lane's series in its optimizer's colour, whatever is left out of a chart."""
    series = {_series(prefix, ln, res.config.repeats, bands): ln.optimizer for prefix, res in runs for ln in res.lanes}
    return alt.Scale(domain=list(series), range=[color_of(name) for name in series.values()])


def _palette(n: int) -> alt.Scale:
    return alt.Scale(range=[_COLORS[i % len(_COLORS)] for i in range(max(n, 1))])


def _span(v: np.ndarray) -> tuple[float, float]:
    lo, hi = (float(v.min()), float(v.max())) if len(v) else (-1.0, 1.0)
    pad = max(0.1 * (hi - lo), 0.1)
    return lo - pad, hi + pad


def _surface_loss(res: RunResult, gw: np.ndarray, gb: np.ndarray) -> np.ndarray:
    if res.x is not None:
        r = gw[..., None] * res.x + gb[..., None] - res.y
        return (r * r).mean(-1)
    return _height(landscapes.get(res.config.objective), gw, gb)


def _height(land: landscapes.Landscape, gw: np.ndarray, gb: np.ndarray) -> np.ndarray:
    """A landscape's height above its minimum on a grid, kept above 0 for a log colour scale."""
    return land.f(torch.from_numpy(gw), torch.from_numpy(gb)).numpy() - (land.min_loss or 0.0) + 1e-12


def curve_chart(values: np.ndarray, y_title: str = "loss", height: int = 260, max_points: int = MAX_POINTS):
    """One curve against step on a log scale (downsampled; non-positive values left off)."""
    values = np.asarray(values, dtype=float)
    steps = np.flatnonzero(np.isfinite(values) & (values > 0))
    pick = steps[downsample(np.log10(values[steps]), max_points)]
    df = pd.DataFrame({"step": pick, y_title: values[pick]})
    return (
        alt.Chart(df)
        .mark_line(strokeWidth=2, color=_COLORS[0])
        .encode(
            x="step:Q",
            y=alt.Y(f"{y_title}:Q", scale=alt.Scale(type="log")),
            tooltip=["step:Q", alt.Tooltip(f"{y_title}:Q", format=".4e")],
        )
        .properties(height=height)
    )


def sweep_chart(table: pd.DataFrame, floor: float = 1e-16, plot_height: int = 280) -> alt.Chart:
    """Final loss above the best possible against learning rate, log-log, one line per optimizer
    (a learning-rate sweep: ``lab.core.tuning.Sweep.table``). Each optimizer's chosen learning rate
    (the fewest steps to tolerance, else the lowest loss: not always the lowest point) is a large
    diamond; a learning rate that diverged is a red cross above the plot, one row per optimizer so
    that crosses never hide each other. Values below ``floor`` (float rounding) sit at the floor.
    ``plot_height``: the plot's (its loss axis spans some 20 decades); the legend gets room of its own."""
    df = table.copy()
    df["lr"] = df["lr"].astype(float)
    ok = df["excess_loss"].notna() & np.isfinite(df["excess_loss"].astype(float))
    df["value"] = np.where(ok, np.maximum(df["excess_loss"].astype(float).fillna(floor), floor), np.nan)
    finite = df.loc[ok, "value"]
    top = float(finite.max()) * 10 if len(finite) else 1.0
    bottom = float(finite.min()) if len(finite) else floor
    names = list(dict.fromkeys(df["optimizer"]))
    diverged = df["status"].fillna("").str.startswith("diverged")
    # A diverged rate sits above the top, each optimizer on its own row (x3 apart on the log axis).
    df["value"] = np.where(diverged, top * 3.0 ** (1 + df["optimizer"].map(names.index)), df["value"].fillna(top))
    ceiling = top * 3.0 ** (1 + len(names)) if diverged.any() else top
    df["steps to tol"] = df["steps_to_tol"].astype("Float64").astype(float)
    df["chosen"] = np.where(
        df["best"], np.where(df["steps to tol"].notna(), "fewest steps to tolerance", "lowest final loss"), ""
    )
    color = alt.Color("optimizer:N", sort=names, scale=alt.Scale(domain=names, range=[color_of(n) for n in names]))
    y = alt.Y(
        "value:Q",
        title="final loss − best possible",
        scale=alt.Scale(type="log", domain=[bottom, ceiling]),
        axis=alt.Axis(labelExpr=LOG_LABELS, values=_thin(_log_ticks(bottom, ceiling), 9) or alt.Undefined),
    )
    rates = _log_ticks(float(df["lr"].min()), float(df["lr"].max())) if len(df) else []
    x = alt.X(
        "lr:Q",
        title="learning rate",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(labelExpr=LOG_LABELS, values=rates or alt.Undefined),
    )
    tooltip = [
        "optimizer:N",
        alt.Tooltip("lr:Q", format="g"),
        "status:N",
        alt.Tooltip("steps to tol:Q", format=".0f"),
        alt.Tooltip("final_loss:Q", title="final loss", format=".4e"),
        alt.Tooltip("chosen:N", title="chosen for"),
    ]
    pick = alt.selection_point(fields=["optimizer"], bind="legend")
    fade = alt.condition(pick, alt.value(1.0), alt.value(0.12))
    base = alt.Chart(df).encode(x=x, y=y, color=color, tooltip=tooltip)
    lines = base.transform_filter("datum.status != null && indexof(datum.status, 'diverged') < 0")
    layers = [
        lines.mark_line(point=True, strokeWidth=2).encode(opacity=fade).add_params(pick),
        base.transform_filter("datum.best").mark_point(shape="diamond", size=220, filled=True).encode(opacity=fade),
        base.transform_filter("indexof(datum.status, 'diverged') >= 0")
        .mark_point(shape="cross", size=150, filled=True, stroke="white", strokeWidth=1)
        .encode(color=alt.value(DIVERGED_COLOR), opacity=fade),
    ]
    if diverged.any():  # the band the crosses sit in, labelled
        band = pd.DataFrame({"from": [top * 1.7], "to": [ceiling * 1.7], "label": ["diverged"]})
        layers.insert(0, alt.Chart(band).mark_rect(color="#fbe3e3").encode(y="from:Q", y2="to:Q"))
    return _finish(alt.layer(*layers).properties(height=chart_height(plot_height, len(names))))


def timing_chart(table: pd.DataFrame, height: int = 340) -> alt.Chart:
    """Milliseconds per training step against samples, log-log, one line per device and model:
    the device by colour, the model by dash (its legend draws each dash)."""
    df = table.dropna(subset=["ms_per_step"])
    base = alt.Chart(df).encode(
        x=alt.X("samples:Q", scale=alt.Scale(type="log"), title="samples in the batch"),
        y=alt.Y("ms_per_step:Q", scale=alt.Scale(type="log"), title="ms per training step"),
        color=alt.Color("device:N", scale=_palette(df["device"].nunique())),
        tooltip=["device:N", "model:N", "samples:Q", alt.Tooltip("ms_per_step:Q", format=".3f")],
    )
    # Lines and points as two layers: a line with point=True gets a legend of (invisible) points for
    # its dashes, while a plain line's legend draws them.
    lines = base.mark_line(strokeWidth=2).encode(
        strokeDash=alt.StrokeDash("model:N", legend=alt.Legend(symbolStrokeColor=TRUE_COLOR))
    )
    return _finish(alt.layer(lines, base.mark_point(filled=True, size=30)).properties(height=height))


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


def step_size_chart(tr, at: np.ndarray, k: int, height: int = 300) -> alt.Chart:
    """How each parameter's effective step size (solid) and the step it actually took (dashed)
    evolve over the run, log-log, with the explained step ``k`` marked."""
    df = step_size_frame(tr, at)
    x = alt.X("step:Q", scale=alt.Scale(type="log", domain=[1, max(tr.steps, 2)]), title="step (log)")
    lines = (
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
    marker = (
        alt.Chart(pd.DataFrame({"step": [k]}))
        .mark_rule(color=TRUE_COLOR, strokeDash=[5, 4])
        .encode(x=alt.X("step:Q", scale=alt.Scale(type="log")), tooltip=[alt.Tooltip("step:Q", title="explained step")])
    )
    return _finish(alt.layer(lines, marker).properties(height=height), columns=1)
