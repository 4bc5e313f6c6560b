"""The gradient-noise view of the paths chart and the variance chart beside it: for plain SGD on
mini-batches, at the paths slider's step, the full-data gradient's step, this batch's (the step
taken) and a cloud of other batches'; and the batch gradient's variance against batch size."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import LayeredChart, color_of
from lab.app.charts.slider import at_slider, slider_steps, step_slider
from lab.core import noise
from lab.core.caches import LRU
from lab.core.results import RunResult

NOISE_SLIDER = "noise step "  # the variance chart's copy of the paths slider (the page mirrors it)
ROW_KEY = 10**6  # a path row's key: lane number * ROW_KEY + step (steps are at most 100 000)
# noise_frames by chart key: the paths chart and the variance chart use the same
NOISE = LRU(8, name="noise frames")


def row_keys(res: RunResult, optimizers, steps) -> list[int]:
    """The path rows' keys of the (optimizer, step) pairs: the lane's number among the run's
    optimizers times ROW_KEY, plus the step."""
    lane_no = {name: i for i, name in enumerate(dict.fromkeys(ln.optimizer for ln in res.lanes))}
    return [lane_no[o] * ROW_KEY + k for o, k in zip(optimizers, steps, strict=True)]


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
    a = pd.DataFrame(
        {
            "key": row_keys(res, a["optimizer"], a["step"]),
            "kind": a["kind"].str[0],  # f(ull data), t(his batch), o(ther batch)
            "dw": [float(f"{v:.3g}") for v in a["dw"]],
            "db": [float(f"{v:.3g}") for v in a["db"]],
        }
    )
    return a, pd.DataFrame(spread, columns=["optimizer", "step", "trace", "samples", "batch_size", "lr"])


def noise_for(key: tuple, res: RunResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`noise_frames` of ``res`` (whose charts are keyed ``key``), computed once per process."""
    return NOISE.get_or_build(key, lambda: noise_frames(res))


# The arrows of the gradient-noise view: (kind, colour, stroke width, opacity), drawn in this order.
NOISE_KINDS = (
    ("other batch", "#8c8c8c", 1.0, 0.55),
    ("full data", "#111111", 2.5, 1.0),
    ("this batch", "#d62728", 2.5, 1.0),
)


def arrow_tips() -> list:
    """An arrow's tooltip: its optimizer, kind, step and length."""
    return ["optimizer:N", "kind:N", "step:Q", alt.Tooltip("dw:Q", format=".3e"), alt.Tooltip("db:Q", format=".3e")]


def noise_layers(arrows: pd.DataFrame, path: pd.DataFrame, upto: alt.Parameter) -> list[alt.Chart]:
    """Arrows from the slider's point of each plain-SGD path: the full-data gradient's step, this
    batch's (the step taken), and a faint cloud of other batches' (heads turned in screen space)."""
    base = arrow_rows(arrows, path, upto)
    layers = []
    for kind, color, width, opacity in NOISE_KINDS:
        one = base.transform_filter(alt.datum.kind == kind[0]).transform_calculate(kind=f"'{kind}'")
        layers += [arrow_shafts(one, color, width, opacity), arrow_heads(one, color, width, opacity)]
    return layers


def arrow_rows(arrows: pd.DataFrame, path: pd.DataFrame, upto: alt.Parameter) -> alt.Chart:
    """The arrows at the slider's step, each from its path's point (w, b), looked up by key among
    the ``path`` rows, to (w2, b2)."""
    points = alt.LookupData(
        data=alt.InlineData(values=path.to_dict("records")), key="key", fields=["optimizer", "w", "b"]
    )
    keyed = alt.Chart(arrows).transform_calculate(lane=f"floor(datum.key / {ROW_KEY})", step=f"datum.key % {ROW_KEY}")
    return (
        at_slider(keyed, upto, lane="lane")
        .transform_lookup(lookup="key", from_=points)
        .transform_calculate(w2="datum.w + datum.dw", b2="datum.b + datum.db")
    )


def arrow_shafts(one: alt.Chart, color: str, width: float, opacity: float) -> alt.Chart:
    """One kind's arrows' shafts, from the point to the arrow's end."""
    return one.mark_rule(color=color, strokeWidth=width, opacity=opacity, clip=True).encode(
        x="w:Q", y="b:Q", x2="w2:Q", y2="b2:Q", tooltip=arrow_tips()
    )


def arrow_heads(one: alt.Chart, color: str, width: float, opacity: float) -> alt.Chart:
    """One kind's arrowheads, each turned along its arrow on screen (y grows downwards there)."""
    angle = alt.ExprRef(
        "atan2(scale('x', datum.w2) - scale('x', datum.w), scale('y', datum.b) - scale('y', datum.b2)) * 180 / PI"
    )
    return one.mark_point(
        shape="triangle-up", filled=True, color=color, opacity=opacity, size=28 * width, angle=angle
    ).encode(x="w2:Q", y="b2:Q", tooltip=arrow_tips())


def noise_variance_chart(spread: pd.DataFrame, steps: int, height: int = 260) -> LayeredChart:
    """The mini-batch gradient's total variance against batch size at the slider's point (log–log),
    exact from the data: tr Σ / m · (N − m)/(N − 1). A dot marks each optimizer's own batch size."""
    n = int(spread["samples"].max()) if len(spread) else 2
    slider, upto = step_slider(steps, NOISE_SLIDER)  # the paths slider's positions (mirrored)
    variance = f"datum.trace / datum.m * ({n} - datum.m) / {max(n - 1, 1)}"
    encoding = {
        "x": alt.X("m:Q", title="batch size m", scale=alt.Scale(type="log")),
        "y": alt.Y("variance:Q", title="variance of the batch gradient", scale=alt.Scale(type="log")),
        "color": optimizer_color(spread),
    }
    layers = [variance_curves(spread, upto, n, variance, encoding), own_batches(spread, upto, variance, encoding)]
    return alt.layer(*layers, step_caption()).properties(height=height).add_params(slider, upto)


def optimizer_color(spread: pd.DataFrame) -> alt.Color:
    """Each optimizer in its colour, no legend (the paths chart names them)."""
    names = list(dict.fromkeys(spread["optimizer"]))
    return alt.Color("optimizer:N", scale=alt.Scale(domain=names, range=[color_of(o) for o in names]), legend=None)


def variance_curves(spread: pd.DataFrame, upto: alt.Parameter, n: int, variance: str, encoding: dict) -> alt.Chart:
    """Each optimizer's variance at the slider's step for 40 batch sizes from 1 to ``n`` − 1."""
    ms = np.unique(np.round(np.logspace(0, np.log10(max(n - 1, 1)), 40)).astype(int)).tolist()
    return (
        at_slider(alt.Chart(spread), upto)
        .transform_calculate(m=f"{json.dumps(ms)}")
        .transform_flatten(["m"])
        .transform_calculate(variance=variance)
        .mark_line(strokeWidth=2)
        .encode(**encoding, detail="optimizer:N")
    )


def own_batches(spread: pd.DataFrame, upto: alt.Parameter, variance: str, encoding: dict) -> alt.Chart:
    """A dot at each optimizer's own batch size."""
    return (
        at_slider(alt.Chart(spread), upto)
        .transform_calculate(m="datum.batch_size")
        .transform_calculate(variance=variance)
        .mark_point(filled=True, size=90, stroke="black", strokeWidth=1)
        .encode(
            **encoding,
            tooltip=[
                "optimizer:N",
                alt.Tooltip("step:Q"),
                alt.Tooltip("m:Q", title="its batch size"),
                alt.Tooltip("variance:Q", format=".3e"),
                alt.Tooltip("trace:Q", format=".3e", title="per-sample variance (tr Σ)"),
            ],
        )
    )


def step_caption() -> alt.Chart:
    """The label "at step N", top right."""
    return alt.Chart(pd.DataFrame({"at": [0]})).mark_text(
        align="right", baseline="top", fontSize=12, x="width", dx=-4, y=4, text={"expr": "'at step ' + upto"}
    )
