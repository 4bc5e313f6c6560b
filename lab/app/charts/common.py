"""What every chart of the lab shares: payload bounds and downsampling, the finished-spec cache,
one colour per optimizer, legends below the plot and the heights that leave the plot its room,
log axes, and the legend's pick-and-fade.

What reaches the browser is bounded: every curve is downsampled to at most ``max_points``
points whatever the step count (first and last step kept, min and max of each bucket kept so
spikes survive), and only finite, positive values go to a log scale.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import altair as alt
import numpy as np
import pandas as pd

from lab.core import optimizers
from lab.core.caches import LRU
from lab.core.results import LaneResult, RunResult

MAX_POINTS = 300  # per curve: two points (min and max of a bucket) every ~3 px of a projected chart
MAX_TOTAL = 20_000  # per chart: with many curves each gets fewer points
HOVER_POINTS = 100  # hover targets per curve

# We bound every payload ourselves (above); Altair's own 5 000-row guard would otherwise turn
# eight optimizers into an exception. Same setting for every session, set once at import.
alt.data_transformers.disable_max_rows()
Runs = list[tuple[str, RunResult]]  # (prefix, result): prefix labels runs when overlaying several

# What ``alt.layer`` gives: a LayerChart, or a FacetChart where every layer has the same facet
# encoding (ours have none). The charts drawn in layers are declared as this.
LayeredChart: TypeAlias = alt.LayerChart | alt.FacetChart
ChartT = TypeVar("ChartT", bound=alt.TopLevelMixin)  # a top-level chart, kept as its own type


def spec(key: tuple, build: Callable[[], alt.TopLevelMixin]) -> dict:
    """The finished Vega-Lite spec for ``key``, built once per process. Equal configs give equal
    results, so a chart built for one user serves every user (and every rerun) showing the same runs."""
    return SPECS.get_or_build(key, lambda: build().to_dict(validate=False))  # tests validate the builders


SPECS = LRU(64, name="chart specs")


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


def series_name(prefix: str, lane: LaneResult, repeats: int, banded: bool = False) -> str:
    """A curve's name: the optimizer (and run); each repeat its own, unless the repeats are drawn as
    one median with a band."""
    name = lane.optimizer if repeats == 1 or banded else f"{lane.optimizer} #{lane.repeat}"
    return f"{prefix}{name}"


def most_steps(runs: Runs) -> int:
    """The longest run's step count (0 for no runs)."""
    return max((res.config.steps for _, res in runs), default=0)


def step_scale(last: int | None) -> alt.Scale:
    """The step axis: steps 0 … ``last``, or the whole run (None)."""
    return alt.Scale(domain=[0, last]) if last is not None else alt.Scale()


def step_zoom() -> alt.Parameter:
    """Zoom the step axis with Shift+wheel (a plain wheel keeps scrolling the page), pan by dragging,
    double-click to reset."""
    return alt.selection_interval(bind="scales", encodings=["x"], zoom="wheel![event.shiftKey]")


def run_dash(df: pd.DataFrame) -> dict:
    """Overlaid runs: an optimizer keeps its colour in each, and each run has its own dash."""
    return {"strokeDash": alt.StrokeDash("run:N", title="run")} if df["run"].astype(bool).any() else {}


def layered(*layers: alt.Chart | None) -> LayeredChart:
    """The ``layers`` drawn back to front; None is a layer not drawn (nothing to show)."""
    return alt.layer(*(layer for layer in layers if layer is not None))


def legend_pick(field: str) -> alt.Parameter:
    """Clicking a legend entry picks the marks of that ``field``'s value (the others fade: :func:`fade`)."""
    return alt.selection_point(fields=[field], bind="legend")


def fade(pick: alt.Parameter, faded: float) -> Any:
    """Opacity 1 for the picked marks (all, when none is picked), ``faded`` for the others."""
    return alt.condition(pick, alt.value(1.0), alt.value(faded))


COLORS = [  # tableau20, strong shades first
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
SHARED_COLOR = "#7b4173"  # a line several optimizers share (they coincide): no one optimizer's colour


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
    return COLORS[index % len(COLORS)]


def lane_scale(runs: Runs, bands: bool = False) -> alt.Scale:
    """Every lane's series in its optimizer's colour, whatever is left out of a chart."""
    series = {
        series_name(prefix, ln, res.config.repeats, bands): ln.optimizer for prefix, res in runs for ln in res.lanes
    }
    return alt.Scale(domain=list(series), range=[color_of(name) for name in series.values()])


def palette(n: int) -> alt.Scale:
    """The first ``n`` colours, for lines that are not optimizers."""
    return alt.Scale(range=[COLORS[i % len(COLORS)] for i in range(max(n, 1))])


def finish(chart: ChartT, columns: int = 3) -> ChartT:
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


def log_ticks(lo: float, hi: float) -> list[float]:
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


def thin(values: list[float], most: int) -> list[float]:
    """Every k-th of ``values`` (the first kept), k the smallest that leaves at most ``most``."""
    return values[:: -(-len(values) // most)] if values else values


# A rate or a loss on a log axis: 0.1, 0.05, 0.001, 100 as written, smaller and larger ones as 1e-4 and 1e6
# (not 0.0001 and 1,000,000).
LOG_LABELS = (
    "datum.value >= 0.001 && datum.value < 1e4 ? format(datum.value, '~g') "
    ": replace(format(datum.value, '.0e'), '+', '')"
)
