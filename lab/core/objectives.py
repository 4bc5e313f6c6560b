"""What the optimizers minimise: the tutorial's regression, or a two-parameter landscape.

An objective serves the engine in two ways:

* batched, for every lane at once: ``gradients(batches, count)`` gives a function
  ``(step, P) -> G`` over stacked parameters ``P`` of shape (2, lanes), and ``loss(P)`` gives
  the full objective of any (..., 2) stack of parameters;
* one lane at a time, as a plain torch program: ``leaf_params`` makes the tensors a
  ``torch.optim`` class receives and ``batch_loss`` their differentiable loss on one batch.
  Optimizers without a batched rule, and the tests' reference loops, use this path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from lab.core import landscapes
from lab.core.config import RunConfig
from lab.core.data import initial_params, make_data

Batch = tuple[torch.Tensor, torch.Tensor]  # padded (steps, width) indices, (steps,) batch sizes
GradFn = Callable[[int, torch.Tensor], torch.Tensor]


class Regression:
    """Mean squared error of y ≈ w·x + b on the run's data: the tutorial's ``Lr`` model.

    The parameters handed to torch.optim have ``nn.Linear(1, 1)``'s shapes: weight (1, 1) and
    bias (1,). Gradients and losses follow autograd's numerical model: every lane's gradient is
    computed from its per-sample residuals ``w·xᵢ + b − yᵢ`` in the run's dtype and on its device,
    scaled by 2/|B| and summed, as ``nn.Linear`` + ``MSELoss`` + ``backward()`` do. Near the optimum
    that gradient is rounding noise rather than exactly zero, and adaptive optimizers, which
    divide by its running size, keep stepping there just as they do in torch.
    """

    stochastic = True
    BLOCK_ELEMENTS = 1 << 21  # bound on the per-block gathered batch tables (steps x lanes x width)
    # Rows x samples per block of the curves' loss: 2 MB of float64 temporaries, reused by the allocator
    # block after block (2^21 took fresh memory each time: 1.3 s instead of 0.14 s for 28 lanes x 5 000
    # steps x 1 000 samples, the first time). Each row is its own mean: the split changes no result.
    LOSS_BLOCK = 1 << 18

    def __init__(self, x: torch.Tensor, y: torch.Tensor, dtype: torch.dtype, device: torch.device):
        self.x64, self.y64 = x, y  # float64 CPU master copy
        self.dtype, self.device = dtype, device
        # Least squares in closed form from centred sums, in float64 (no LAPACK: its threading may
        # change the last bits, and equal configs must give equal bits).
        xc, yc = x - x.mean(), y - y.mean()
        w_star = float((xc * yc).sum() / (xc * xc).sum())
        b_star = float(y.mean()) - w_star * float(x.mean())
        self.optimum = (w_star, b_star)
        self.min_loss = float(((w_star * x + b_star - y) ** 2).mean())
        self.x = x.to(device, dtype).unsqueeze(1)  # (N, 1), as nn.Linear takes it
        self.y = y.to(device, dtype).unsqueeze(1)
        zero = torch.zeros(1, dtype=dtype, device=device)
        self._xp = torch.cat([self.x[:, 0], zero])  # index N: the zero row that padded batches point at
        self._yp = torch.cat([self.y[:, 0], zero])

    def padded_data(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y as NumPy arrays of the run's dtype (CPU) with the zero row at index n that padded
        batches point at: the compiled loop's data."""
        return self._xp.numpy(), self._yp.numpy()

    def loss(self, p: torch.Tensor) -> torch.Tensor:
        """The full-data MSE at each (w, b) of a (..., 2) stack, as ``criterion(model(x), y).item()``
        gives it: computed in the run's dtype on its device, returned as float64 on the CPU."""
        flat = p.reshape(-1, 2).to(self.device, self.dtype)
        rows = max(1, self.LOSS_BLOCK // len(self._xp))
        x, y = self.x[:, 0], self.y[:, 0]
        out = [
            (part[:, :1] * x + part[:, 1:] - y).square().mean(1)  # w·x, + b, − y: each rounded
            for part in flat.split(rows)  # bounded memory for long runs on large data
        ]
        return torch.cat(out).to("cpu", torch.float64).reshape(p.shape[:-1])

    def gradients(self, batches: Sequence[Batch], lane_batch: Sequence[int], count: int, numpy: bool = False) -> GradFn:
        """``(i, P) -> G``: the batch gradient of step i for every lane of P (2, lanes), a tensor on
        the run's device or (``numpy``, on the CPU) a NumPy array of the run's dtype.

        The samples of every distinct batch of step i (one per batch size and repeat) are laid
        side by side as rows ``(xⱼ, 1)``; every lane's residuals are formed on all of them,
        ``rⱼ = w·xⱼ + b − yⱼ``, in the run's dtype, rounded after each operation as nn.Linear's
        forward does. Each lane then keeps its own batch's residuals scaled by 2/|B| (``gⱼ``, as
        MSELoss's backward forms them), and a matrix product sums ``gⱼ·(xⱼ, 1)`` (as nn.Linear's
        backward does). Tables are built a block of steps at a time; when every lane uses the full
        data they are the same at every step.
        """
        n = len(self._xp) - 1
        widths = [idx.shape[1] for idx, _ in batches]
        offsets = [sum(widths[:k]) for k in range(len(widths))]
        total, lanes = sum(widths), len(lane_batch)
        constant = all(bool((i == i[:1]).all()) for i, _ in batches)  # full batches: the same every step
        block = 1 if constant else max(1, min(count, self.BLOCK_ELEMENTS // (total * (3 * lanes + 2))))
        tables: dict[int, list[tuple]] = {}

        def build(sl: slice) -> list[tuple]:
            idx = torch.cat([i[sl] for i, _ in batches], 1).to(self.device)  # (block, total), n = padding
            real = (idx < n).to(self.dtype)
            rows = torch.stack([self._xp[idx], real], 2)  # (block, total, 2): (xⱼ, 1), zero for padding
            neg_y = -self._yp[idx].unsqueeze(2)  # (block, total, 1)
            scale = torch.zeros(len(idx), total, lanes, dtype=torch.float64)
            for lane, k in enumerate(lane_batch):  # each lane weighs its own batch's samples only
                seg = slice(offsets[k], offsets[k] + widths[k])
                scale[:, seg, lane] = (2.0 / batches[k][1][sl]).unsqueeze(1)
            scale = scale.to(self.device, self.dtype) * real.unsqueeze(2)
            # Every table at its full (total, lanes) shape: NumPy is quicker without broadcasting.
            shape = (len(idx), total, lanes)
            x, neg_y = rows[..., :1].expand(shape).contiguous(), neg_y.expand(shape).contiguous()
            out = x, rows.transpose(1, 2).contiguous(), neg_y, scale
            return list(zip(*(t.numpy() for t in out) if numpy else out, strict=True))  # one tuple per step

        def tables_of(i: int) -> tuple[torch.Tensor, ...]:
            start = 0 if constant else i - i % block
            if start not in tables:
                tables.clear()
                tables[start] = build(slice(start, start + block))
            return tables[start][0 if constant else i - start]

        def grad(i: int, p):
            x, rows_t, neg_y, scale = tables_of(i)
            r = x * p[0]  # (total, lanes): w·x, rounded, then + b, rounded, as nn.Linear does (no fused
            r += p[1]  # multiply-add: that would round differently, e.g. not to 0 where y = w·x + b exactly)
            r += neg_y  # − y
            r *= scale  # gⱼ = (2/|B|)·rⱼ on the lane's own batch, 0 elsewhere
            return rows_t @ r  # (2, lanes): Σ gⱼ·(xⱼ, 1)

        return grad

    def leaf_params(self, w0: float, b0: float) -> list[torch.Tensor]:
        w = torch.tensor([[w0]], dtype=self.dtype, device=self.device, requires_grad=True)
        b = torch.tensor([b0], dtype=self.dtype, device=self.device, requires_grad=True)
        return [w, b]

    def batch_loss(self, params: Sequence[torch.Tensor], idx: torch.Tensor | None) -> torch.Tensor:
        if idx is None:
            raise ValueError("the regression's loss is over a batch: give its sample indices")
        idx = idx.to(self.device)
        w, b = params
        return F.mse_loss(F.linear(self.x[idx], w, b), self.y[idx])


class Surface:
    """A two-parameter landscape f(w, b); there is no data, so batches do not matter."""

    stochastic = False

    def __init__(self, land: landscapes.Landscape, dtype: torch.dtype, device: torch.device):
        self.land, self.dtype, self.device = land, dtype, device
        self.min_loss = land.min_loss
        self.optimum = land.minimum

    def loss(self, p: torch.Tensor) -> torch.Tensor:
        p = p.to(torch.float64)
        return self.land.f(p[..., 0], p[..., 1])

    def gradients(self, batches: Sequence[Batch], lane_batch: Sequence[int], count: int, numpy: bool = False) -> GradFn:
        def grad(_: int, p):
            with torch.enable_grad():
                q = torch.as_tensor(p).detach().clone().requires_grad_(True)
                self.land.f(q[0], q[1]).sum().backward()
            g = q.grad
            assert g is not None  # q requires grad and f depends on it
            return g.numpy() if numpy else g

        return grad

    def leaf_params(self, w0: float, b0: float) -> list[torch.Tensor]:
        return [torch.tensor([v], dtype=self.dtype, device=self.device, requires_grad=True) for v in (w0, b0)]

    def batch_loss(self, params: Sequence[torch.Tensor], idx: torch.Tensor | None) -> torch.Tensor:
        w, b = params  # a surface has no data: idx is not used
        return self.land.f(w, b).sum()


Objective = Regression | Surface


def build(cfg: RunConfig, dtype: torch.dtype, device: torch.device) -> tuple[Objective, torch.Tensor]:
    """The objective of ``cfg`` and the (repeats, 2) float64 starting points."""
    if cfg.is_regression:
        x, y = make_data(cfg.data, cfg.seed)
        obj: Objective = Regression(x, y, dtype, device)
        starts = initial_params(cfg.seed, cfg.repeats)
    else:
        land = landscapes.get(cfg.objective)
        obj = Surface(land, dtype, device)
        jitter = initial_params(cfg.seed, cfg.repeats) * land.jitter
        jitter[0] = 0.0
        starts = torch.tensor(land.start, dtype=torch.float64) + jitter
    if cfg.init is not None:
        starts[:] = torch.tensor(cfg.init, dtype=torch.float64)  # repeats then differ in batch order only
    return obj, starts
