"""The regression's batched steps on torch tensors: a GPU's, or the CPU's where the tests force it.

One step of every rule-based lane is ~20 tiny tensor operations (the residuals, a matrix product
for the batch sums, the update). Launched from Python one by one, each costs a GPU far more than
its arithmetic: the seven presets took 6.9 s for 30 000 steps on an H200, against 0.31 s compiled
on its CPU. So the loop here reads everything a chunk of steps needs from buffers that stay in
place — the chunk's coefficient table, each batch stream's sample indices and batch sizes, the
state — and writes every step's parameters into an output buffer. On a CUDA device those fixed
addresses let a whole chunk be captured once as a CUDA graph (``torch.cuda.CUDAGraph``) and
replayed chunk after chunk: one launch for thousands of kernels (1.2 s for those 30 000 steps).
The first full chunk runs eagerly (it also warms cuBLAS up, which capture requires), a shorter last
chunk too. A chunk's gathered tables are bounded (``GRAPH_ELEMENTS``): on 10⁶ samples a chunk is
6 steps, whose arithmetic then outweighs their launches anyway.

The arithmetic is the step-by-step loop's, operation for operation (:func:`update`, shared with
it): the batch tables are gathered on the device from the indices, rows ``(xⱼ, 1)`` per sample,
each lane's residuals ``w·xⱼ + b − yⱼ`` scaled by ``2/|B|`` on its own batch and 0 elsewhere, summed
by one matrix product. Replayed or eager, the numbers are the same; tests check both against
torch.optim.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lab.core.rules import COEFFS, ETA_N, ETA_Q, C, D, E, K

GRAPHS = True  # capture chunks as CUDA graphs on a CUDA device (tests switch it off to compare)
FUSED = False  # the products fused with their sums (``update``'s ``fused``): fewer kernels a step
# Bound on a chunk's gathered tables, steps x samples x lanes (256 MB of float32, 512 MB of float64).
# On the H200, 300 steps on 10⁶ samples: 0.67 s at 2^24 (a chunk of 1 step), 0.32 s at 2^26 (6 steps),
# 0.29 s at 2^28; on 50 samples (chunks of 512 either way) the same.
GRAPH_ELEMENTS = 1 << 26
_CAPTURE = threading.Lock()  # torch captures one CUDA graph at a time per process


@dataclass(frozen=True)
class Moments:
    """A stack's per-lane constants (weight decay λ, momentum a, second-moment β and γ, as rows
    broadcast over w and b) and which of the three terms any lane uses."""

    lam: Any
    a: Any
    beta: Any
    gamma: Any
    use_lam: bool
    use_m: bool
    use_v: bool


def update(xp, g, p, m, v, mo: Moments, coef: Sequence, out, decay: bool = True, fused: bool = False):
    """One generic step of every lane, in place on m and v; the new parameters go to ``out``.

    ``coef`` holds the step's (c, d, η·n, η·q, k, e) rows; ``xp`` is NumPy or torch. Each
    operation rounds as torch.optim's single-tensor step does on the CPU. With ``decay`` off the
    weights' factor d is 1 throughout and its multiplication is left out (it changes nothing).
    ``fused`` (torch only) pairs a product with its sum (``addcmul``, ``addcdiv``, as torch.optim's
    steps write them): fewer kernels on a GPU, where they round as one fused multiply-add."""
    if fused:
        return _fused_update(g, p, m, v, mo, coef, out)
    c, d, n, q, k, e = coef
    if mo.use_lam:
        g = g + mo.lam * p
    if mo.use_m:
        m *= mo.a
        m += c * g
        num = m * n
        num += q * g
    else:
        num = q * g
    if mo.use_v:
        v *= mo.beta
        v += mo.gamma * g * g  # (γ·g)·g, as torch's addcmul_ rounds
        den = xp.sqrt(v)
        den *= k
        den += e
    else:
        den = e
    return xp.subtract(p * d if decay else p, num / den, out=out)


def _fused_update(g, p, m, v, mo: Moments, coef: Sequence, out):
    c, d, n, q, k, e = coef
    if mo.use_lam:
        g = torch.addcmul(g, mo.lam, p)
    num = q * g
    if mo.use_m:
        m.mul_(mo.a).addcmul_(c, g)
        num = torch.addcmul(num, m, n)
    den = torch.addcmul(e, v.mul_(mo.beta).addcmul_(mo.gamma * g, g).sqrt(), k) if mo.use_v else e
    return torch.addcdiv(p * d, num, den, value=-1, out=out)


def _two_over(sizes: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """2/|B| for float64 batch sizes, rounded to ``dtype``: the scale MSELoss's backward gives each
    residual."""
    return (2.0 / sizes).to(dtype)


class TensorLoop:
    """The batched regression steps of a stack on torch tensors, a chunk at a time from fixed
    buffers (a CUDA graph per chunk length on a CUDA device).

    ``p``, ``m`` and ``v`` are the stack's (2, lanes) state, updated in place; ``streams`` gives
    each batch key's stream and ``lane_batch`` each lane's key."""

    def __init__(self, obj, streams: Sequence, lane_batch: Sequence[int], mo: Moments, state, chunk: int):
        self.obj, self.streams, self.mo = obj, list(streams), mo
        self.p, self.m, self.v = state
        dev, dt = obj.device, obj.dtype
        self.n = len(obj._xp) - 1
        widths = [s.width for s in self.streams]
        total, lanes = sum(widths), len(lane_batch)
        self.size = max(1, min(chunk, GRAPH_ELEMENTS // (total * (lanes + 4))))  # steps per chunk
        size = self.size
        # Each stream's sample indices and 2/|B| (worked out in float64 on the host, then rounded to
        # the run's dtype: MPS has no float64) of every step. Rows a short chunk leaves unfilled hold
        # padding (index n, the zero row).
        self.idx = [torch.full((size, w), self.n, dtype=torch.long, device=dev) for w in widths]
        self.half = [torch.zeros(size, dtype=dt, device=dev) for _ in widths]
        for s, idx, half in zip(self.streams, self.idx, self.half, strict=True):
            if s.full:  # every sample, every step: filled once
                idx.copy_(torch.arange(self.n, device=dev).expand(size, -1))
                half.fill_(_two_over(torch.tensor([float(self.n)], dtype=torch.float64), dt).item())
        self.coef = torch.empty(size, len(COEFFS), lanes, dtype=dt, device=dev)
        self.out = torch.empty(size, 2, lanes, dtype=dt, device=dev)
        own = torch.zeros(total, lanes, dtype=dt)  # 1 where a sample is in the lane's own batch stream
        offsets = np.cumsum([0, *widths])
        for lane, key in enumerate(lane_batch):
            own[offsets[key] : offsets[key + 1], lane] = 1
        self.own = own.to(dev)
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.capture = GRAPHS and dev.type == "cuda"
        self.fused = FUSED
        self.warm = False

    def advance(self, table: np.ndarray, batches: list, hist_rows: torch.Tensor) -> None:
        """Step ``len(table)`` ≤ ``size`` steps with the coefficient table (steps, COEFFS, lanes)
        and each stream's padded batches; every step's parameters go to ``hist_rows``."""
        count = len(table)
        self.coef[:count].copy_(torch.from_numpy(table))
        for s, idx, half, (i, b) in zip(self.streams, self.idx, self.half, batches, strict=True):
            if not s.full:
                idx[:count].copy_(i)
                half[:count].copy_(_two_over(b, half.dtype))
        if self.capture and count == self.size:
            self._replay(count)
        else:
            self._steps(count)
        hist_rows.copy_(self.out[:count])

    def _replay(self, count: int) -> None:
        dev = self.obj.device
        graph = self.graphs.get(count)
        with torch.cuda.device(dev):
            if graph is None and not self.warm:  # the first chunk eagerly, on a side stream as capture wants
                side = torch.cuda.Stream(dev)
                side.wait_stream(torch.cuda.current_stream(dev))
                with torch.cuda.stream(side):
                    self._steps(count)
                torch.cuda.current_stream(dev).wait_stream(side)
                self.warm = True
                return
            if graph is None:
                graph = self.graphs[count] = torch.cuda.CUDAGraph()
                # Records the kernels without running them, on a stream of this run's device. One
                # capture at a time in the process (torch's rule); other threads' runs go on meanwhile.
                with (
                    _CAPTURE,
                    torch.cuda.graph(graph, stream=torch.cuda.Stream(dev), capture_error_mode="thread_local"),
                ):
                    self._steps(count)
            graph.replay()

    def _tables(self):
        """The chunk's gathered batch tables: per step, each sample's x (steps, total), its rows
        (xⱼ, 1) (steps, 2, total), −y (steps, total) and every lane's scale 2/|B| on its own batch,
        0 elsewhere and on padding (steps, total, lanes)."""
        dt = self.obj.dtype
        real = [(idx < self.n).to(dt) for idx in self.idx]
        x = torch.cat([self.obj._xp[idx] for idx in self.idx], 1)
        neg_y = -torch.cat([self.obj._yp[idx] for idx in self.idx], 1)
        scale = torch.cat([h.unsqueeze(1) * r for h, r in zip(self.half, real, strict=True)], 1)
        rows = torch.stack([x, torch.cat(real, 1)], 1)
        return x.unsqueeze(2), rows, neg_y.unsqueeze(2), scale.unsqueeze(2) * self.own

    def _steps(self, count: int) -> None:
        x, rows, neg_y, scale = self._tables()
        p, m, v = self.p, self.m, self.v
        for i in range(count):
            if self.fused:
                r = torch.addcmul(p[1], x[i], p[0])  # w·x + b, as one multiply-add (cuBLAS's addmm too)
            else:
                r = x[i] * p[0]  # (total, lanes): w·x, rounded, + b, rounded, − y, as nn.Linear and MSELoss do
                r += p[1]
            r += neg_y[i]
            r *= scale[i]  # gⱼ = (2/|B|)·rⱼ on the lane's own batch, 0 elsewhere
            g = rows[i] @ r  # (2, lanes): Σ gⱼ·(xⱼ, 1), as nn.Linear's backward sums
            cf = self.coef[i]
            coefs = [cf[j] for j in (C, D, ETA_N, ETA_Q, K, E)]
            p = update(torch, g, p, m, v, self.mo, coefs, self.out[i], fused=self.fused)
        self.p.copy_(p)
