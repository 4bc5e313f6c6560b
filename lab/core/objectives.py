"""What the optimizers minimise: the tutorial's regression, or a two-parameter landscape.

An objective serves the engine in two ways:

* batched, for every lane at once: ``gradients(batches, count)`` gives a function
  ``(step, P) -> G`` over stacked parameters ``P`` of shape (lanes, 2, 1), and ``loss(P)`` gives
  the full objective of any (..., 2) stack of parameters;
* one lane at a time, as a plain torch program: ``leaf_params`` makes the tensors a
  ``torch.optim`` class receives and ``batch_loss`` their differentiable loss on one batch.
  Optimizers without a batched rule, and the tests' reference loops, use this path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
    bias (1,). The loss is quadratic, so the batch gradient is affine in (w, b):
    ``G = A·p + c`` with A = 2/|B|·Σ x̃x̃ᵀ and c = −2/|B|·Σ y·x̃ over the batch (x̃ = (x, 1)).
    The full loss is evaluated as L* + (p − p*)ᵀH(p − p*) around the least-squares solution p*,
    which is exact and keeps its precision down to tiny losses.
    """

    stochastic = True

    def __init__(self, x: torch.Tensor, y: torch.Tensor, dtype: torch.dtype, device: torch.device):
        self.x64, self.y64 = x, y  # float64 CPU master copy
        self.dtype, self.device = dtype, device
        xt = torch.stack([x, torch.ones_like(x)], 1)  # (N, 2)
        zero = torch.zeros(1, 2, dtype=torch.float64)
        self._xx = torch.cat([(xt.unsqueeze(2) * xt.unsqueeze(1)).reshape(-1, 4), zero.repeat(1, 2)])
        self._xy = torch.cat([xt * y.unsqueeze(1), zero])
        # Least squares in closed form from centred sums (no LAPACK: its threading may change
        # the last bits, and equal configs must give equal bits).
        xc, yc = x - x.mean(), y - y.mean()
        w_star = float((xc * yc).sum() / (xc * xc).sum())
        b_star = float(y.mean()) - w_star * float(x.mean())
        self.optimum = (w_star, b_star)
        self.min_loss = float(((w_star * x + b_star - y) ** 2).mean())
        mx, mxx = float(x.mean()), float((x * x).mean())
        self._quad = (mxx, 2 * mx, 1.0)  # loss = L* + mxx·dw² + 2·mx·dw·db + db²
        self.x = x.to(device, dtype).unsqueeze(1)
        self.y = y.to(device, dtype).unsqueeze(1)

    def loss(self, p: torch.Tensor) -> torch.Tensor:
        # Elementwise on purpose: a matmul's summation order can depend on threading, and the
        # same config must give the same bits whatever else the process is doing.
        p = p.to(torch.float64)
        dw, db = p[..., 0] - self.optimum[0], p[..., 1] - self.optimum[1]
        hww, hwb, hbb = self._quad
        return self.min_loss + hww * dw * dw + hwb * dw * db + hbb * db * db

    def gradients(self, batches: Sequence[Batch], lane_batch: Sequence[int], count: int) -> GradFn:
        tables_a, tables_c = [], []
        for idx, sizes in batches:
            scale = (2.0 / sizes).unsqueeze(1)
            tables_a.append(self._xx[idx].sum(1) * scale)
            tables_c.append(-self._xy[idx].sum(1) * scale)
        pick = torch.tensor(lane_batch)
        a = torch.stack(tables_a, 1)[:, pick].reshape(count, len(pick), 2, 2)
        c = torch.stack(tables_c, 1)[:, pick].reshape(count, len(pick), 2, 1)
        a_steps = a.to(self.device, self.dtype).unbind(0)
        c_steps = c.to(self.device, self.dtype).unbind(0)
        return lambda i, p: torch.baddbmm(c_steps[i], a_steps[i], p)

    def leaf_params(self, w0: float, b0: float) -> list[torch.Tensor]:
        w = torch.tensor([[w0]], dtype=self.dtype, device=self.device, requires_grad=True)
        b = torch.tensor([b0], dtype=self.dtype, device=self.device, requires_grad=True)
        return [w, b]

    def batch_loss(self, params: Sequence[torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
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

    def gradients(self, batches: Sequence[Batch], lane_batch: Sequence[int], count: int) -> GradFn:
        def grad(_: int, p: torch.Tensor) -> torch.Tensor:
            with torch.enable_grad():
                q = p.detach().requires_grad_(True)
                self.land.f(q[:, 0], q[:, 1]).sum().backward()
            return q.grad

        return grad

    def leaf_params(self, w0: float, b0: float) -> list[torch.Tensor]:
        return [torch.tensor([v], dtype=self.dtype, device=self.device, requires_grad=True) for v in (w0, b0)]

    def batch_loss(self, params: Sequence[torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
        w, b = params
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
