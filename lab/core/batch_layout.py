"""Where each lane of a compiled loop finds its batch: one table of the step's sample indices for
all stochastic batch keys side by side, and per lane whether it uses all samples, else its slice of
that table (:class:`lab.core.kernel.Batches`). Shared by the rule-based lanes and LBFGS's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Layout:
    """Per batch key: ``key_full`` whether it is every sample; per lane: ``batch`` its key's index,
    ``full``, and ``lo``:``hi`` its columns of the step's index table; ``work`` residuals per step."""

    key_full: list[bool]
    batch: np.ndarray
    full: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, streams: Sequence, lane_batch: Sequence[int]) -> Layout:
        """``streams``: each batch key's BatchStream, in key order; ``lane_batch``: each lane's key."""
        key_full = [s.full for s in streams]
        widths = [s.width for s in streams]
        starts = np.cumsum([0] + [0 if full else w for w, full in zip(widths, key_full, strict=True)])
        batch = np.array(lane_batch, dtype=np.int64)
        lo = starts[batch].astype(np.int64)
        hi = lo + np.array(widths, dtype=np.int64)[batch]
        return cls(key_full=key_full, batch=batch, full=np.array(key_full)[batch], lo=lo, hi=hi)

    @property
    def work(self) -> int:
        """Residuals per step of all lanes (a full batch's width is the data's size)."""
        return int((self.hi - self.lo).sum())

    def batches(self, taken: list, steps: int, dtype: torch.dtype):
        """The kernel's :class:`~lab.core.kernel.Batches` of ``steps`` steps from each key's
        ``take_padded(steps)``: the stochastic keys' indices side by side and each batch's 2/|B|."""
        from lab.core import kernel

        parts = [i for (i, _), full in zip(taken, self.key_full, strict=True) if not full]
        idx = torch.cat(parts, 1).numpy() if parts else np.zeros((steps, 0), dtype=np.int64)
        scale = (2.0 / torch.stack([s for _, s in taken], 1)).to(dtype).numpy()  # (steps, batches): 2/|B|
        return kernel.Batches(idx=idx, full=self.full, lo=self.lo, hi=self.hi, key=self.batch, scale=scale)
