"""A run result as the store keeps it, and back.

What is kept of a run is what its charts, table and downloads draw: every lane's scalars exactly
(final values, steps to tolerance, status, timings) and its curves — loss, w, b and the learning
rate — at up to :data:`LANE_POINTS` steps (every step of a short run; for a longer one the first,
the last and the lowest and highest loss of each stretch, so spikes and divergences survive, as the
charts keep them). Arrays travel as base64 of little-endian float64 (int32 for steps) inside JSON:
exact, NaN and infinity included, and a third of the size of decimal text.

A restored lane has an array entry per step, as a trained one: each step between two kept steps
holds the value of the kept step before it. The generated data is drawn again from the config
(the same seed draws the same points); a learner's uploaded data is kept with the run.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from lab.core.config import RunConfig
from lab.core.results import LaneResult, RunResult, summary_rows

LANE_POINTS = 600  # per lane: twice what a chart draws of a curve (lab.app.charts.MAX_POINTS)
RUN_POINTS = 6_000  # per run: many lanes share it (each keeps at least MIN_LANE_POINTS)
MIN_LANE_POINTS = 150
FORMAT = 1  # of the curves JSON; a reader refuses a format it does not know
BOARD_POINTS = 40  # per lane, what a class board draws of a run posted to a room (hundreds of runs overlaid)

_LANE_SCALARS = (
    "optimizer",
    "name",
    "repeat",
    "torch_class",
    "hyperparams",
    "batch_size",
    "w0",
    "b0",
    "steps_to_tol",
    "seconds",
    "diverged_at",
    "scheduler",
    "first_within",
)


def _pack(a: np.ndarray, dtype: str = "<f8") -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _unpack(text: str, dtype: str = "<f8") -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).astype(np.float64 if "f" in dtype else np.int64)


def lane_points(lanes: int) -> int:
    """How many steps each of ``lanes`` lanes keeps at most."""
    return max(MIN_LANE_POINTS, min(LANE_POINTS, RUN_POINTS // max(1, lanes)))


def kept_steps(loss: np.ndarray, points: int) -> np.ndarray:
    """The steps of a lane kept at ``points`` points: every one when they fit, else the chart's own
    choice (first, last, and each stretch's lowest and highest loss)."""
    from lab.app.charts import downsample  # the charts' rule: what is kept is what they would draw

    return downsample(loss, points)


def _lane_dict(lane: LaneResult, points: int) -> dict[str, Any]:
    steps = kept_steps(lane.loss, points)
    out = {name: getattr(lane, name) for name in _LANE_SCALARS}
    out.update(
        length=len(lane.loss),
        steps=_pack(steps, "<i4"),
        loss=_pack(lane.loss[steps]),
        w=_pack(lane.w[steps]),
        b=_pack(lane.b[steps]),
        lr=None if lane.lr is None else _pack(lane.rates()[steps]),
    )
    return out


def encode(res: RunResult) -> tuple[str, str]:
    """(summary JSON, curves JSON) of ``res``."""
    points = lane_points(len(res.lanes))
    uploaded = res.config.is_regression and res.config.data.dataset is not None
    curves = {
        "format": FORMAT,
        "device": res.device,
        "torch_version": res.torch_version,
        "seconds": res.seconds,
        "optimum": None if res.optimum is None else [float(v) for v in res.optimum],
        "min_loss": res.min_loss,
        "stopped": res.stopped,
        "x": _pack(res.x) if uploaded and res.x is not None else None,
        "y": _pack(res.y) if uploaded and res.y is not None else None,
        "lanes": [_lane_dict(lane, points) for lane in res.lanes],
    }
    return json.dumps(summary_rows(res), default=_plain), json.dumps(curves, default=_plain)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (json writes those; NaN and inf included)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not kept in a run's JSON")


def _held(steps: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    """An entry per step: each step holds the value of the last kept step at or before it."""
    at = np.searchsorted(steps, np.arange(length), side="right") - 1
    return values[np.clip(at, 0, len(values) - 1)]


def _lane(d: dict[str, Any]) -> LaneResult:
    steps, length = _unpack(d["steps"], "<i4"), int(d["length"])
    rates = None if d["lr"] is None else _held(steps, _unpack(d["lr"]), length)[1:]
    return LaneResult(
        **{name: d[name] for name in _LANE_SCALARS},
        loss=_held(steps, _unpack(d["loss"]), length),
        w=_held(steps, _unpack(d["w"]), length),
        b=_held(steps, _unpack(d["b"]), length),
        lr=rates,
    )


def _data(cfg: RunConfig, curves: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not cfg.is_regression:
        return None, None
    if curves["x"] is not None:
        return _unpack(curves["x"]), _unpack(curves["y"])
    from lab.core.data import make_data  # torch: only when a generated data set is drawn again

    x, y = make_data(cfg.data, cfg.seed)
    return x.numpy(), y.numpy()


def decode(config: str, curves: str) -> RunResult:
    """The result kept as ``config`` and ``curves`` JSON (ValueError when unreadable)."""
    cfg = RunConfig.from_json(config)
    d = json.loads(curves)
    if d.get("format") != FORMAT:
        raise ValueError(f"curves format {d.get('format')!r} is not one this Optimizer Lab reads ({FORMAT})")
    x, y = _data(cfg, d)
    return RunResult(
        config=cfg,
        lanes=tuple(_lane(lane) for lane in d["lanes"]),
        x=x,
        y=y,
        optimum=None if d["optimum"] is None else tuple(d["optimum"]),
        min_loss=d["min_loss"],
        device=d["device"],
        torch_version=d["torch_version"],
        seconds=d["seconds"],
        stopped=d["stopped"],
    )


def board(res: RunResult, points: int = BOARD_POINTS) -> str:
    """The board JSON of ``res``: each lane's optimizer, learning rate and its loss at a few steps
    (the first, the last, each stretch's lowest and highest), as plain numbers — what a class board
    overlays of hundreds of runs, read without decoding the full curves."""
    lanes = []
    for lane in res.lanes:
        steps = kept_steps(lane.loss, points)
        lanes.append(
            {
                "optimizer": lane.optimizer,
                "lr": lane.hyperparams.get("lr"),
                "steps": [int(s) for s in steps],
                "loss": [float(v) for v in lane.loss[steps]],
            }
        )
    return json.dumps({"format": FORMAT, "lanes": lanes}, default=_plain)
