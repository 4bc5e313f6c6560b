"""What a run gives back (plain CPU data), and its long-format tables for charts and CSV.

The same three tables serve the command line's CSV files and the app's downloads, so a CSV from
one can be compared with a CSV from the other column for column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lab.core.config import RunConfig

SUMMARY_COLUMNS = [
    "optimizer",
    "repeat",
    "torch_class",
    "hyperparams",
    "batch_size",
    "steps",
    "w0",
    "b0",
    "w",
    "b",
    "final_loss",
    "w_error",
    "b_error",
    "steps_to_tol",
    "seconds",
    "status",
    "seed",
    "device",
    "torch_version",
    "objective",
    "dtype",
    "samples",
    "noise",
    "true_w",
    "true_b",
    "tol",
    "config",
]
CURVE_COLUMNS = ["optimizer", "repeat", "step", "loss", "w", "b"]


@dataclass(frozen=True)
class LaneResult:
    """One optimizer from one start. Arrays hold steps 0 … n: they stop where a run diverged."""

    optimizer: str  # display name
    name: str  # registry key
    repeat: int
    torch_class: str
    hyperparams: dict  # exactly the keyword arguments given to the torch.optim class
    batch_size: int | None  # samples per step (None on a landscape)
    w0: float
    b0: float
    loss: np.ndarray  # full-data loss at each step, before that step's update
    w: np.ndarray
    b: np.ndarray
    steps_to_tol: int | None  # first step from which the excess loss stays below tol
    seconds: float  # wall time; lanes batched together share their pass's time equally
    diverged_at: int | None  # first step whose loss or parameters were not finite

    @property
    def status(self) -> str:
        if self.diverged_at is not None:
            return f"diverged at step {self.diverged_at}"
        return "converged" if self.steps_to_tol is not None else "stopped at max steps"

    def _final(self, arr: np.ndarray) -> float | None:
        return None if self.diverged_at is not None else float(arr[-1])

    @property
    def final_w(self) -> float | None:
        return self._final(self.w)

    @property
    def final_b(self) -> float | None:
        return self._final(self.b)

    @property
    def final_loss(self) -> float | None:
        return self._final(self.loss)


@dataclass(frozen=True)
class RunResult:
    config: RunConfig
    lanes: tuple[LaneResult, ...]
    x: np.ndarray | None  # the data trained on (regression only)
    y: np.ndarray | None
    optimum: tuple[float, float] | None  # best (w, b): least squares, or the landscape's minimum
    min_loss: float | None
    device: str
    torch_version: str
    seconds: float

    @property
    def target(self) -> tuple[float, float]:
        """The (w, b) each optimizer is measured against: the data's true line for the regression,
        the minimum on a landscape (NaN where it has none)."""
        if self.config.is_regression:
            return (self.config.data.true_w, self.config.data.true_b)
        return self.optimum or (np.nan, np.nan)

    def lane(self, optimizer: str, repeat: int = 0) -> LaneResult:
        for lane in self.lanes:
            if lane.optimizer == optimizer and lane.repeat == repeat:
                return lane
        raise KeyError(f"no lane {optimizer!r} repeat {repeat}")


def _num(v: float | None) -> float:
    return np.nan if v is None else v


def summary_frame(res: RunResult) -> pd.DataFrame:
    """One row per optimizer and repeat; missing values (a diverged run's final w) are NaN."""
    cfg = res.config
    is_reg = cfg.is_regression
    target = res.target
    rows = []
    for ln in res.lanes:
        rows.append(
            {
                "optimizer": ln.optimizer,
                "repeat": ln.repeat,
                "torch_class": ln.torch_class,
                "hyperparams": json.dumps(ln.hyperparams, sort_keys=True),
                "batch_size": ln.batch_size,
                "steps": cfg.steps,
                "w0": ln.w0,
                "b0": ln.b0,
                "w": _num(ln.final_w),
                "b": _num(ln.final_b),
                "final_loss": _num(ln.final_loss),
                "w_error": abs(_num(ln.final_w) - target[0]),
                "b_error": abs(_num(ln.final_b) - target[1]),
                "steps_to_tol": ln.steps_to_tol,
                "seconds": ln.seconds,
                "status": ln.status,
                "seed": cfg.seed,
                "device": res.device,
                "torch_version": res.torch_version,
                "objective": cfg.objective,
                "dtype": cfg.dtype,
                "samples": cfg.data.samples if is_reg else None,
                "noise": cfg.data.noise if is_reg else None,
                "true_w": target[0],
                "true_b": target[1],
                "tol": cfg.tol,
                "config": cfg.to_json(),  # the whole run, so any summary row can reproduce it
            }
        )
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    df["steps_to_tol"] = df["steps_to_tol"].astype("Int64")
    df["batch_size"] = df["batch_size"].astype("Int64")
    return df


def config_from_summary(summary: pd.DataFrame, run_id: int | None = None) -> RunConfig:
    """The exact configuration behind a summary table (the command line's summary.csv or the app's
    export; pick one run of a multi-run export with ``run_id``)."""
    if "config" not in summary.columns or summary.empty:
        raise ValueError("summary has no 'config' column (written by Optimizer Lab 0.1 and later)")
    if run_id is not None:
        if "run_id" not in summary.columns or run_id not in set(summary["run_id"]):
            raise ValueError(f"run_id = {run_id} is not in this summary")
        summary = summary[summary["run_id"] == run_id]
    configs = set(summary["config"])
    if len(configs) != 1:
        raise ValueError(f"summary holds {len(configs)} runs; choose one with run_id")
    return RunConfig.from_json(configs.pop())


def curves_frame(res: RunResult) -> pd.DataFrame:
    """Long format: one row per optimizer, repeat and step (steps 0 … steps)."""
    parts = [
        pd.DataFrame(
            {
                "optimizer": ln.optimizer,
                "repeat": ln.repeat,
                "step": np.arange(len(ln.loss)),
                "loss": ln.loss,
                "w": ln.w,
                "b": ln.b,
            }
        )
        for ln in res.lanes
    ]
    return pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]


def data_frame(res: RunResult) -> pd.DataFrame:
    if res.x is None:
        return pd.DataFrame({"x": [], "y": []})
    return pd.DataFrame({"x": res.x, "y": res.y})


def write_csvs(res: RunResult, out: Path) -> dict[str, Path]:
    """data.csv, summary.csv and curves.csv (plus config.json) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("data", "summary", "curves")}
    data_frame(res).to_csv(paths["data"], index=False, float_format="%.17g")
    summary_frame(res).to_csv(paths["summary"], index=False, float_format="%.17g")
    curves_frame(res).to_csv(paths["curves"], index=False, float_format="%.9g")
    (out / "config.json").write_text(json.dumps(res.config.to_dict(), indent=2, sort_keys=True) + "\n")
    return paths
