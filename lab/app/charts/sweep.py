"""The sweep chart: final loss above the best possible against learning rate, log-log, one line per
optimizer; each one's chosen rate a diamond, a rate that diverged a red cross above the plot."""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from lab.app.charts.common import (
    DIVERGED_COLOR,
    LOG_LABELS,
    LayeredChart,
    chart_height,
    color_of,
    fade,
    finish,
    layered,
    legend_pick,
    log_ticks,
    thin,
)

FADED = 0.12  # the opacity of the optimizers not picked in the legend


@dataclass(frozen=True)
class LossAxis:
    bottom: float  # the lowest final loss drawn (or the floor)
    top: float  # ten times the highest
    ceiling: float  # above the top, a row per optimizer for its diverged rates (the top when none diverged)


def sweep_chart(table: pd.DataFrame, floor: float = 1e-16, plot_height: int = 280) -> LayeredChart:
    """Final loss above the best possible against learning rate, log-log, one line per optimizer
    (a learning-rate sweep: ``lab.core.tuning.Sweep.table``). Each optimizer's chosen learning rate
    (the fewest steps to tolerance, else the lowest loss: not always the lowest point) is a large
    diamond; a learning rate that diverged is a red cross above the plot, one row per optimizer so
    that crosses never hide each other. Values below ``floor`` (float rounding) sit at the floor.
    ``plot_height``: the plot's (its loss axis spans some 20 decades); the legend gets room of its own."""
    df, axis = sweep_frame(table, floor)
    names = list(dict.fromkeys(df["optimizer"]))
    color = alt.Color("optimizer:N", sort=names, scale=alt.Scale(domain=names, range=[color_of(n) for n in names]))
    base = alt.Chart(df).encode(x=rate_x(df), y=loss_y(axis), color=color, tooltip=sweep_tooltip())
    pick = legend_pick("optimizer")
    chart = layered(diverged_band(axis), rate_curves(base, pick), chosen_rates(base, pick), diverged_rates(base, pick))
    return finish(chart.properties(height=chart_height(plot_height, len(names))))


def sweep_frame(table: pd.DataFrame, floor: float) -> tuple[pd.DataFrame, LossAxis]:
    """The sweep's rows with ``value`` (the final loss above the best, at least ``floor``; a diverged
    rate's row above the top), ``steps to tol`` and ``chosen`` (what the chosen rate is best at), and
    the loss axis."""
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
    return df, LossAxis(bottom=bottom, top=top, ceiling=ceiling)


def loss_y(axis: LossAxis) -> alt.Y:
    """The loss axis, from the bottom to the ceiling, at most 9 ticks at powers of ten."""
    return alt.Y(
        "value:Q",
        title="final loss − best possible",
        scale=alt.Scale(type="log", domain=[axis.bottom, axis.ceiling]),
        axis=alt.Axis(labelExpr=LOG_LABELS, values=thin(log_ticks(axis.bottom, axis.ceiling), 9) or alt.Undefined),
    )


def rate_x(df: pd.DataFrame) -> alt.X:
    """The learning-rate axis (log), ticks at powers of ten (else 1, 2, 5)."""
    rates = log_ticks(float(df["lr"].min()), float(df["lr"].max())) if len(df) else []
    return alt.X(
        "lr:Q",
        title="learning rate",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(labelExpr=LOG_LABELS, values=rates or alt.Undefined),
    )


def sweep_tooltip() -> list:
    """A rate's tooltip: optimizer, rate, status, steps to tolerance, final loss, what it was chosen for."""
    return [
        "optimizer:N",
        alt.Tooltip("lr:Q", format="g"),
        "status:N",
        alt.Tooltip("steps to tol:Q", format=".0f"),
        alt.Tooltip("final_loss:Q", title="final loss", format=".4e"),
        alt.Tooltip("chosen:N", title="chosen for"),
    ]


def rate_curves(base: alt.Chart, pick: alt.Parameter) -> alt.Chart:
    """Each optimizer's final loss over the rates that did not diverge, a legend click fading the others."""
    lines = base.transform_filter("datum.status != null && indexof(datum.status, 'diverged') < 0")
    return lines.mark_line(point=True, strokeWidth=2).encode(opacity=fade(pick, FADED)).add_params(pick)


def chosen_rates(base: alt.Chart, pick: alt.Parameter) -> alt.Chart:
    """A large diamond at each optimizer's chosen rate."""
    return (
        base.transform_filter("datum.best")
        .mark_point(shape="diamond", size=220, filled=True)
        .encode(opacity=fade(pick, FADED))
    )


def diverged_rates(base: alt.Chart, pick: alt.Parameter) -> alt.Chart:
    """A red cross at each rate that diverged, in its optimizer's row above the plot."""
    return (
        base.transform_filter("indexof(datum.status, 'diverged') >= 0")
        .mark_point(shape="cross", size=150, filled=True, stroke="white", strokeWidth=1)
        .encode(color=alt.value(DIVERGED_COLOR), opacity=fade(pick, FADED))
    )


def diverged_band(axis: LossAxis) -> alt.Chart | None:
    """The band the crosses sit in, labelled (None: no rate diverged)."""
    if axis.ceiling <= axis.top:
        return None
    band = pd.DataFrame({"from": [axis.top * 1.7], "to": [axis.ceiling * 1.7], "label": ["diverged"]})
    return alt.Chart(band).mark_rect(color="#fbe3e3").encode(y="from:Q", y2="to:Q")
