"""The loss chart's data: each curve (or each optimizer's median over its repeats, with its band)
as a long, downsampled frame, and where the diverged curves end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.app.charts.common import MAX_POINTS, MAX_TOTAL, Runs, downsample, segments, series_name
from lab.core.results import LaneResult


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
                        "series": series_name(prefix, lane, res.config.repeats),
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
                        "series": series_name(prefix, lane, res.config.repeats),
                        "step": len(lane.loss) - 1,
                        "value": float(lane.loss[-1] - best),
                        "diverged_at": lane.diverged_at,
                    }
                )
    return pd.DataFrame(rows, columns=["series", "step", "value", "diverged_at"])
