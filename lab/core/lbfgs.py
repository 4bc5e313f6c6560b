"""LBFGS lanes of a regression run on the CPU, compiled (:mod:`lab.core.lbfgs_kernel`): torch's
algorithm with its state kept between chunks of steps, so a run reports progress and can be
stopped as for the other lanes. Imported only by a run that has such lanes (it imports Numba)."""

from __future__ import annotations

import time

import numpy as np
import torch

from lab.core import kernel, lbfgs_kernel
from lab.core.batch_layout import Layout
from lab.core.engine import keep_steps
from lab.core.rules import lbfgs_limits

WORK = 1 << 23  # residuals per chunk, counting every evaluation a step may take
MAX_CHUNK = 16_384


def settings(kwargs) -> tuple[float, ...]:
    """A lane's row of the kernel's ``conf``: torch's defaults where the kwargs leave them out."""
    max_iter, max_eval = lbfgs_limits(kwargs)
    wolfe = kwargs.get("line_search_fn")
    if wolfe not in (None, "strong_wolfe"):
        raise ValueError(f"LBFGS supports line_search_fn None or 'strong_wolfe', not {wolfe!r}")
    return (
        max_iter,
        max_eval,
        kwargs.get("tolerance_grad", 1e-7),
        kwargs.get("tolerance_change", 1e-9),
        int(kwargs.get("history_size", 100)),
        1.0 if wolfe else 0.0,
    )


class Lanes:
    """Every compiled LBFGS lane of a run (``lanes``: the engine's, each with ``opt``, ``start``,
    ``batch_key`` and ``lr``, a schedule's known rates or None)."""

    def __init__(self, lanes, obj, streams: dict, steps: int, dtype: torch.dtype):
        self.lanes, self.streams, self.dtype = lanes, streams, dtype
        self.keys = sorted({ln.batch_key for ln in lanes})
        self.layout = Layout.of([streams[k] for k in self.keys], [self.keys.index(ln.batch_key) for ln in lanes])
        self.data = kernel.Data.of(*obj.padded_data())
        np_dtype = self.data.x.dtype
        self.conf = np.array([settings(ln.opt.kwargs) for ln in lanes], dtype=np.float64)
        history = max(1, int(self.conf[:, lbfgs_kernel.HISTORY].max()))
        count = len(lanes)
        self.p = np.array([ln.start for ln in lanes], dtype=np_dtype).T.copy()
        self.hist = np.full((steps + 1, 2, count), np.nan, dtype=np_dtype)
        self.hist[0] = self.p
        self.keep = np.zeros((count, 5))
        self.vec = np.zeros((count, 4), dtype=np_dtype)
        self.dirs = np.zeros((count, history, 2), dtype=np_dtype)
        self.stps = np.zeros_like(self.dirs)
        self.ro = np.zeros((count, history), dtype=np_dtype)
        evals = self.conf[:, lbfgs_kernel.MAX_EVAL].max() + 1
        self.chunk = max(1, min(MAX_CHUNK, int(WORK // max(1.0, self.layout.work * evals))))
        self.alive, self.seconds = True, 0.0

    def _rates(self, done: int, count: int) -> np.ndarray:
        """(count, lanes) the rate of each lane's steps done + 1 … done + count, as Python floats."""
        cols = [
            np.full(count, float(ln.opt.kwargs.get("lr", 1.0))) if ln.lr is None else ln.lr[done : done + count]
            for ln in self.lanes
        ]
        return np.ascontiguousarray(np.stack(cols, 1), dtype=np.float64)

    def advance(self, done: int, count: int) -> None:
        t0 = time.perf_counter()
        taken = [self.streams[k].take_padded(count) for k in self.keys]
        batches = self.layout.batches(taken, count, self.dtype)
        lbfgs_kernel.lbfgs_steps(
            self.p, self.hist, self.data, batches, self._rates(done, count), self.conf,
            self.keep, self.vec, self.dirs, self.stps, self.ro, done,
        )  # fmt: skip
        self.alive = bool(np.isfinite(self.p).any())
        self.seconds += time.perf_counter() - t0

    def truncate(self, done: int) -> None:
        """Keep the first ``done`` steps (a run stopped early)."""
        self.hist = keep_steps(self.hist, self.lanes, done)

    def path(self, i: int) -> torch.Tensor:
        """(steps + 1, 2) float64: lane i's (w, b) at every step, NaN from where it diverged."""
        path = torch.from_numpy(self.hist[:, :, i].astype(np.float64))
        path[0] = torch.tensor(self.lanes[i].start, dtype=torch.float64)  # as given, as torch.optim lanes keep it
        return path
