"""What a run gives back (plain CPU data), and its long-format tables for charts and CSV.

The same three tables serve the command line's CSV files and the app's downloads, so a CSV from
one can be compared with a CSV from the other column for column.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from lab.core.config import RunConfig

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_COLUMNS = [
    "optimizer",
    "repeat",
    "torch_class",
    "hyperparams",
    "scheduler",
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
    "data_name",
    "data_hash",
    "tol",
    "config",
]
CURVE_COLUMNS = ["optimizer", "repeat", "step", "loss", "w", "b", "lr", "scheduler"]


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
    lr: np.ndarray | None = None  # the learning rate of steps 1 … (a schedule's; None: constant, see hyperparams)
    scheduler: dict | None = None  # its schedule: {"class": name, "kwargs": every keyword argument}
    first_within: int | None = None  # first step whose excess loss was within tol (it may have left again)

    @property
    def scheduler_json(self) -> str | None:
        return None if self.scheduler is None else json.dumps(self.scheduler, sort_keys=True)

    def rates(self) -> np.ndarray:
        """(len(loss),): the learning rate of the update that led to each step (NaN at step 0);
        a lane without a schedule, or a class without ``lr``, has its constant rate (or NaN)."""
        out = np.full(len(self.loss), np.nan)
        if self.lr is not None:
            n = min(len(self.lr), len(out) - 1)
            out[1 : n + 1] = self.lr[:n]
        elif isinstance(self.hyperparams.get("lr"), (int, float)):
            out[1:] = self.hyperparams["lr"]
        return out

    @property
    def settled(self) -> bool:
        """Within tolerance over at least the last tenth of the run, or since it first got there
        (a lane that arrives late and stays has not left)."""
        if self.steps_to_tol is None:
            return False
        steps = len(self.loss) - 1
        return self.steps_to_tol <= steps - steps // 10 or self.steps_to_tol == self.first_within

    @property
    def status(self) -> str:
        """converged (settled within tolerance), hovering (got there and left again: it jumps about
        the optimum), diverged at step k, or stopped at max steps (not there yet)."""
        if self.diverged_at is not None:
            return f"diverged at step {self.diverged_at}"
        if self.settled:
            return "converged"
        return "hovering" if self.first_within is not None else "stopped at max steps"

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
    stopped: str | None = None  # why the run ended before the steps it was asked for (config.steps: those done)

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


def _error(value: float | None, target: float) -> float | None:
    return None if value is None or not np.isfinite(target) else abs(value - target)


def summary_rows(res: RunResult) -> list[dict]:
    """One row per optimizer and repeat (SUMMARY_COLUMNS); a missing value (a diverged run's final
    w) is None."""
    cfg = res.config
    is_reg = cfg.is_regression
    target = res.target
    return [
        {
            "optimizer": ln.optimizer,
            "repeat": ln.repeat,
            "torch_class": ln.torch_class,
            "hyperparams": json.dumps(ln.hyperparams, sort_keys=True),
            "scheduler": ln.scheduler_json,  # empty: a constant learning rate
            "batch_size": ln.batch_size,
            "steps": cfg.steps,
            "w0": ln.w0,
            "b0": ln.b0,
            "w": ln.final_w,
            "b": ln.final_b,
            "final_loss": ln.final_loss,
            "w_error": _error(ln.final_w, target[0]),
            "b_error": _error(ln.final_b, target[1]),
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
            "data_name": cfg.data.dataset_name if is_reg else None,  # a learner's own data (else empty)
            "data_hash": cfg.data.dataset if is_reg else None,
            "tol": cfg.tol,
            "config": cfg.to_json(),  # the whole run, so any summary row can reproduce it
        }
        for ln in res.lanes
    ]


def summary_frame(res: RunResult) -> pd.DataFrame:
    """:func:`summary_rows` as a DataFrame; missing values are NaN (<NA> in the integer columns)."""
    import pandas as pd  # here, not at the top: the command line writes its CSVs without pandas

    df = pd.DataFrame(summary_rows(res), columns=SUMMARY_COLUMNS)
    for col in ("w", "b", "final_loss", "w_error", "b_error"):
        df[col] = df[col].astype(float)
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


def curves_columns(res: RunResult) -> dict[str, np.ndarray]:
    """Long format (CURVE_COLUMNS): one row per optimizer, repeat and step (steps 0 … steps)."""
    lengths = [len(ln.loss) for ln in res.lanes]
    return {
        "optimizer": np.repeat(np.array([ln.optimizer for ln in res.lanes], dtype=object), lengths),
        "repeat": np.repeat([ln.repeat for ln in res.lanes], lengths),
        "step": np.concatenate([np.arange(n) for n in lengths]),
        "loss": np.concatenate([ln.loss for ln in res.lanes]),
        "w": np.concatenate([ln.w for ln in res.lanes]),
        "b": np.concatenate([ln.b for ln in res.lanes]),
        "lr": np.concatenate([ln.rates() for ln in res.lanes]),  # of the update that led to the row's step
        "scheduler": np.repeat(np.array([ln.scheduler_json for ln in res.lanes], dtype=object), lengths),
    }


def curves_frame(res: RunResult) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(curves_columns(res), columns=CURVE_COLUMNS)


def data_columns(res: RunResult) -> dict[str, np.ndarray]:
    empty = np.zeros(0)
    return {"x": empty if res.x is None else res.x, "y": empty if res.y is None else res.y}


def data_frame(res: RunResult) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(data_columns(res))


def write_csv(table: pd.DataFrame | pa.Table, where: Path | io.BytesIO) -> None:
    """A DataFrame or an Arrow table as CSV, fast (Arrow's writer: a 30 000-step curves file in a
    tenth of pandas' time). Every float is written with the fewest digits that read back to the same
    value; a missing value is an empty field."""
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    pa_csv.write_csv(table, where, pa_csv.WriteOptions(quoting_style="needed"))


def _arrow_table(columns: dict) -> pa.Table:
    """Columns (NumPy arrays or lists with None for missing) as an Arrow table, built from raw
    buffers: pyarrow's own converters load pandas to check their input (0.2 s of a command-line run
    that needs no pandas)."""
    return pa.Table.from_arrays([_arrow_array(v) for v in columns.values()], names=list(columns))


def _arrow_array(values) -> pa.Array:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        data = np.ascontiguousarray(values, dtype=np.float64 if values.dtype.kind == "f" else np.int64)
        kind = pa.float64() if data.dtype.kind == "f" else pa.int64()
        return pa.Array.from_buffers(kind, len(data), [None, pa.py_buffer(data)])
    values = list(values)
    valid = np.array([v is not None for v in values], dtype=bool)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if not valid.all() else None
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, str) for v in present):  # dictionary-encoded text
        names = list(dict.fromkeys(present))
        codes = {n: i for i, n in enumerate(names)}
        indices = np.array([codes[v] if v is not None else 0 for v in values], dtype=np.int32)
        encoded = [n.encode() for n in names]
        offsets = np.concatenate([[0], np.cumsum([len(b) for b in encoded])]).astype(np.int32)
        dictionary = pa.Array.from_buffers(
            pa.string(), len(names), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
        )
        index = pa.Array.from_buffers(pa.int32(), len(values), [bitmap, pa.py_buffer(indices)])
        return pa.DictionaryArray.from_arrays(index, dictionary)
    is_int = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in present)
    data = np.array([v if v is not None else 0 for v in values], dtype=np.int64 if is_int else np.float64)
    kind = pa.int64() if is_int else pa.float64()
    return pa.Array.from_buffers(kind, len(values), [bitmap, pa.py_buffer(data)])


def csv_bytes(df: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    write_csv(df, out)
    return out.getvalue()


def write_csvs(res: RunResult, out: Path) -> dict[str, Path]:
    """data.csv, summary.csv and curves.csv (plus config.json) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("data", "summary", "curves")}
    rows = summary_rows(res)
    write_csv(_arrow_table(data_columns(res)), paths["data"])
    write_csv(_arrow_table({c: [r[c] for r in rows] for c in SUMMARY_COLUMNS}), paths["summary"])
    write_csv(_arrow_table(curves_columns(res)), paths["curves"])
    (out / "config.json").write_text(json.dumps(res.config.to_dict(), indent=2, sort_keys=True) + "\n")
    return paths
