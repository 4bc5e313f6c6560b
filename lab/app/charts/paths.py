"""The paths chart: each optimizer's path through (w, b) over a heat map of the loss, replayed by a
step slider in the browser, with the gradient-noise arrows of plain SGD; and a landscape's surface
before training."""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import torch

from lab.app.charts.common import LayeredChart, chart_height, downsample, fade, finish, lane_scale, layered, legend_pick
from lab.app.charts.gradient_noise import noise_layers, row_keys
from lab.app.charts.slider import PATHS_SLIDER, slider_steps, step_slider
from lab.core import landscapes, noise
from lab.core.results import RunResult


def trajectory_chart(
    res: RunResult,
    max_points: int = 400,
    grid: int = 40,
    plot_height: int = 400,
    noise_arrows: pd.DataFrame | None = None,
) -> LayeredChart:
    """Each optimizer's path through (w, b) over a heat map of the loss (log colour scale); with
    ``noise_arrows`` (:func:`noise_frames`), the gradient-noise arrows at the slider's step.
    ``plot_height``: the plot's (at most about 2:1 on a page 900 px wide); the legend gets room of its own.

    The window is a landscape's own; for the regression it spans the paths that did not diverge
    (a diverging path would stretch it to 1e30) and the best (w, b); paths are clipped to it.

    A slider under the chart (:mod:`lab.app.charts.slider`) replays the race: each path is drawn up
    to that step and ends in a large dot (the last kept point at or before it)."""
    path = path_frame(res, max_points, with_noise=noise_arrows is not None)
    slider, upto = step_slider(int(res.config.steps), PATHS_SLIDER)
    # one entry per optimizer (the paths are the first repeat's, named by optimizer alone)
    order, scale = list(dict.fromkeys(path["optimizer"])), lane_scale([("", res)], bands=True)
    pick = legend_pick("optimizer")
    shown = alt.Chart(path.drop(columns="diverged")).transform_filter(alt.datum.step <= upto)
    arrows = noise_arrows is not None and len(noise_arrows)
    layers = [
        loss_surface(lambda gw, gb: _surface_loss(res, gw, gb), paths_window(res, path), grid),
        path_lines(shown, order, scale, pick),
        path_heads(shown, order, scale, pick),
        *(noise_layers(noise_arrows, arrow_points(res, path, noise_arrows), upto) if arrows else []),
        optimum_marker(res),
        replay_label(int(res.config.steps)),
    ]
    chart = layered(*layers).add_params(slider, upto)
    return finish(chart.properties(height=chart_height(plot_height, len(scale.domain))))


def path_frame(res: RunResult, max_points: int, with_noise: bool = False) -> pd.DataFrame:
    """Each optimizer's path (first repeat): optimizer, step, w, b, loss, diverged; downsampled on
    the distance to its end. ``with_noise``: a plain-SGD path keeps every step the slider can be
    at, so its head sits where the noise arrows start."""
    paths = []
    on_slider = slider_steps(int(res.config.steps)) if with_noise else np.zeros(0, dtype=np.int64)
    with_arrows = {ln.optimizer for ln in noise.eligible(res)} if with_noise else set()
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
    return pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=cols)


def paths_window(res: RunResult, path: pd.DataFrame) -> tuple[float, float, float, float]:
    """(w_lo, w_hi, b_lo, b_hi): a landscape's own window; for the regression, the paths that did
    not diverge (all, if every one did) and the best (w, b), padded."""
    if res.x is None:
        return landscapes.get(res.config.objective).window
    assert res.optimum is not None  # a regression's result carries its least-squares fit
    kept = path[~path["diverged"].astype(bool)] if (~path["diverged"].astype(bool)).any() else path
    ws = np.concatenate([kept["w"].to_numpy(float), [res.optimum[0]]])
    bs = np.concatenate([kept["b"].to_numpy(float), [res.optimum[1]]])
    return (*_span(ws[np.isfinite(ws)]), *_span(bs[np.isfinite(bs)]))


def arrow_points(res: RunResult, path: pd.DataFrame, noise_arrows: pd.DataFrame) -> pd.DataFrame:
    """The path rows the noise arrows start from (key, optimizer, w, b)."""
    keyed = path.assign(key=row_keys(res, path["optimizer"], path["step"]))
    return keyed[keyed["key"].isin(set(noise_arrows["key"]))][["key", "optimizer", "w", "b"]]


def path_tooltip() -> list:
    """A path point's tooltip: optimizer, step, w, b and loss."""
    return [
        "optimizer:N",
        "step:Q",
        alt.Tooltip("w:Q", format=".4f"),
        alt.Tooltip("b:Q", format=".4f"),
        alt.Tooltip("loss:Q", format=".3e"),
    ]


def path_lines(shown: alt.Chart, order: list[str], scale: alt.Scale, pick: alt.Parameter) -> alt.Chart:
    """Each path up to the slider's step, small dots at its kept points; the legend picks one."""
    return (
        shown.mark_line(strokeWidth=2, point=alt.OverlayMarkDef(size=12), clip=True)
        .encode(
            x="w:Q",
            y="b:Q",
            order="step:Q",
            color=alt.Color("optimizer:N", sort=order, scale=scale),
            opacity=fade(pick, 0.1),
            tooltip=path_tooltip(),
        )
        .add_params(pick)
    )


def path_heads(shown: alt.Chart, order: list[str], scale: alt.Scale, pick: alt.Parameter) -> alt.Chart:
    """A large dot where each path is at the slider's step (its last kept point at or before it)."""
    return (
        shown.transform_window(rank="rank()", sort=[alt.SortField("step", order="descending")], groupby=["optimizer"])
        .transform_filter(alt.datum.rank == 1)
        .mark_point(filled=True, size=110, stroke="black", strokeWidth=1, clip=True)
        .encode(
            x="w:Q",
            y="b:Q",
            color=alt.Color("optimizer:N", sort=order, scale=scale, legend=None),  # one legend, not two
            opacity=fade(pick, 0.1),
            tooltip=path_tooltip(),
        )
    )


def replay_label(steps: int) -> alt.Chart:
    """The label "step N of M", top left: the slider's step (its own value is a position, hidden)."""
    return (
        alt.Chart(pd.DataFrame({"at": [0]}))
        .mark_text(
            align="left",
            baseline="top",
            fontSize=13,
            fontWeight="bold",
            text={"expr": f"'step ' + format(upto, ',') + ' of {steps:,}'"},
        )
        .encode(x=alt.value(6), y=alt.value(6))
    )


def landscape_chart(name: str, grid: int = 40, height: int = 380) -> LayeredChart:
    """A landscape's surface (log colour scale), its minimum (diamond) and the start (circle)."""
    land = landscapes.get(name)
    layers = [loss_surface(lambda gw, gb: _height(land, gw, gb), land.window, grid)]
    if land.minimum is not None:
        layers.append(point_marker(land.minimum, "minimum", "diamond"))
    layers.append(point_marker(land.start, "start", "circle"))
    return alt.layer(*layers).properties(height=height)


def loss_surface(loss: Callable[[np.ndarray, np.ndarray], np.ndarray], window: tuple, grid: int) -> alt.Chart:
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


def optimum_marker(res: RunResult) -> alt.Chart | None:
    """A diamond at the best fit (w, b), or at a landscape's minimum (None: one unbounded below has none)."""
    if res.optimum is None:
        return None
    return point_marker(res.optimum, "best fit (w, b)" if res.x is not None else "minimum", "diamond")


def point_marker(at: tuple[float, float], what: str, shape: str) -> alt.Chart:
    """A black ``shape`` at ``at`` = (w, b), named ``what`` in its tooltip."""
    return (
        alt.Chart(pd.DataFrame({"w": [at[0]], "b": [at[1]], "what": [what]}))
        .mark_point(shape=shape, size=160, color="black", filled=True)
        .encode(
            x="w:Q", y="b:Q", tooltip=["what:N", alt.Tooltip("w:Q", format=".4g"), alt.Tooltip("b:Q", format=".4g")]
        )
    )


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
