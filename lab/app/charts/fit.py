"""The fit chart: the data as a scatter, each optimizer's fitted line and the true line dashed;
optimizers that ended on the same line share one, whose legend entry names them all."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import (
    DATA_COLOR,
    SHARED_COLOR,
    TRUE_COLOR,
    LayeredChart,
    chart_height,
    color_of,
    fade,
    finish,
    legend_pick,
)
from lab.core.results import RunResult


def fit_chart(res: RunResult, max_scatter: int = 2_000, plot_height: int = 260) -> LayeredChart:
    """The data as a scatter, each optimizer's fitted line (first repeat), and the true line dashed;
    optimizers that ended on the same line share one (:func:`data_chart`). ``plot_height``: the plot's,
    the legend below gets room of its own."""
    assert res.x is not None and res.y is not None  # a regression's result carries its data
    fits = [
        (ln.optimizer, ln.final_w, ln.final_b, color_of(ln.optimizer))
        for ln in res.lanes
        if ln.repeat == 0 and ln.final_w is not None and ln.final_b is not None  # (both None: diverged)
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
    fits: Sequence[tuple[str, float, float, str]] = (),
    max_scatter: int = 2_000,
    height: int = 320,
    target: str = "true",
) -> LayeredChart:
    """A scatter of (x, y) (at most ``max_scatter`` points), the true line dashed (``target`` names
    it: "true", or "best fit" for a learner's own data), and lines y = w·x + b for each
    (name, w, b, colour) in ``fits``. Fits that draw the same line (:func:`same_lines`) are one
    legend entry naming them all ("GD, SGD, Adam — the same line"), in a colour of its own."""
    lines, labels, colors = line_frame(x, y, true_w, true_b, fits, target)
    shared = len(labels) < len(fits) + 1
    layer = alt.layer(data_scatter(x, y, max_scatter), fitted_lines(lines, labels, colors, shared))
    return finish(layer.properties(height=height), columns=2)


def line_frame(
    x: np.ndarray, y: np.ndarray, true_w: float, true_b: float, fits, target: str
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Both ends of every line (line, label, w, b, x, y, kind: "fit" or "true"), the true one last
    (drawn on top, its dashes show it where a fitted line lies on it); and the legend's labels and
    colours, the true line's first."""
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
    lines = pd.DataFrame(rows + [{**true, "x": v, "y": true_w * v + true_b} for v in (lo, hi)])
    return lines, labels, colors


def data_scatter(x: np.ndarray, y: np.ndarray, max_scatter: int) -> alt.Chart:
    """The data points, at most ``max_scatter`` of them (evenly spaced)."""
    n = len(x)
    pick = np.linspace(0, n - 1, min(n, max_scatter)).astype(int)
    return (
        alt.Chart(pd.DataFrame({"x": x[pick], "y": y[pick]}))
        .mark_circle(size=40, color=DATA_COLOR, opacity=0.45)
        .encode(
            x=alt.X("x:Q", title="x"),
            y=alt.Y("y:Q", title="y"),
            tooltip=[alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")],
        )
    )


def fitted_lines(lines: pd.DataFrame, labels: list[str], colors: list[str], shared: bool) -> alt.Chart:
    """The true line dashed and each fitted one solid, one legend entry per ``labels`` (a ``shared``
    line's label is long: then one column, and room for it), a legend click fading the others."""
    pick = legend_pick("label")
    return (
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
                legend=alt.Legend(columns=1, labelLimit=600) if shared else alt.Undefined,
            ),
            strokeDash=alt.condition("datum.kind == 'true'", alt.value([6, 4]), alt.value([1, 0])),
            opacity=fade(pick, 0.15),
            detail="line:N",  # each optimizer's own line: on a shared one they lie on top of each other
            tooltip=[alt.Tooltip("line:N"), alt.Tooltip("w:Q", format=".6g"), alt.Tooltip("b:Q", format=".6g")],
        )
        .add_params(pick)
    )
