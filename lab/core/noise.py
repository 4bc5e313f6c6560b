r"""Why SGD is noisy, from the run's own data: the full-data gradient, the mini-batch gradient a
step actually used, the gradients other batches would have given, and the mini-batch gradient's
variance against batch size — computed exactly, not sampled.

At (w, b) each sample i has the gradient :math:`g_i = 2 r_i (x_i, 1)` of its squared error, with
residual :math:`r_i = w x_i + b - y_i`; the full-data gradient is their mean :math:`G`. A batch
of m samples drawn without replacement (each of the lab's batches is one: a slice of a random
permutation) has the mean of its samples' gradients, whose expectation is G and whose total
variance (the trace of its covariance) is

.. math:: \operatorname{tr} \operatorname{Cov}(g_B) = \frac{1}{m} \cdot \frac{N - m}{N - 1} \cdot
          \operatorname{tr} \Sigma, \qquad \Sigma = \frac{1}{N} \sum_i (g_i - G)(g_i - G)^\top

— the 1/m law, with the finite-population factor that brings it to 0 when the batch is all the data.
Everything here is float64 on the CPU (the arrows are drawn, not trained with).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lab.core.data import BatchStream, generator
from lab.core.results import LaneResult, RunResult

CLOUD = 8  # other batches drawn per step for the cloud


def sample_grads(x: np.ndarray, y: np.ndarray, w: float, b: float) -> np.ndarray:
    """(N, 2): each sample's gradient of its squared error at (w, b)."""
    r = 2.0 * (w * x + b - y)
    return np.stack([r * x, r], 1)


def trace_cov(grads: np.ndarray) -> float:
    """tr Σ: the per-sample gradients' total variance about their mean (population form, 1/N)."""
    return float(((grads - grads.mean(0)) ** 2).sum(1).mean())


def batch_variance(tr_sigma: float, samples: int, m: np.ndarray | int) -> np.ndarray:
    """The total variance of the mean gradient of m samples drawn without replacement."""
    m = np.asarray(m, dtype=np.float64)
    if samples == 1:
        return np.zeros_like(m)
    return tr_sigma / m * (samples - m) / (samples - 1)


def eligible(res: RunResult) -> list[LaneResult]:
    """The lanes whose step is the learning rate times a mini-batch gradient: plain SGD (no
    momentum, no weight decay) on batches smaller than the data, on the regression (first repeat)."""
    if res.x is None:
        return []
    n = len(res.x)
    return [
        ln
        for ln in res.lanes
        if ln.repeat == 0
        and ln.torch_class == "SGD"
        and not ln.hyperparams.get("momentum")
        and not ln.hyperparams.get("weight_decay")
        and ln.batch_size is not None
        and ln.batch_size < n
    ]


@dataclass(frozen=True)
class Noise:
    """Per step of one lane: the point, the arrows' ends (the step each gradient would take) and the
    cloud, as long rows for a chart."""

    arrows: list[dict]  # optimizer, step, kind ("full data" | "this batch" | "other batch"), w, b, dw, db
    spread: list[dict]  # optimizer, step, trace (tr Σ at that point), samples, batch_size, lr


def noise(res: RunResult, lane: LaneResult, steps: np.ndarray, cloud: int = CLOUD) -> Noise:
    """Gradient noise of ``lane`` at ``steps`` (points on its path; each step's arrows are the step it
    takes from there: full-data and batch gradients times that step's learning rate; at the path's
    last point, the batch and rate the next step would have)."""
    x, y = np.asarray(res.x, dtype=np.float64), np.asarray(res.y, dtype=np.float64)
    if lane.batch_size is None:
        raise ValueError("gradient noise is a regression's: a surface's gradient is exact")
    n, m, cfg = len(x), lane.batch_size, res.config
    last = len(lane.w) - 1  # the path's last point (the arrows there: the step a next batch would take)
    steps = np.unique(np.clip(np.asarray(steps, dtype=np.int64), 0, last))
    if last < 0:
        return Noise([], [])
    batches = BatchStream(n, m, cfg.seed, lane.repeat).take(int(steps[-1]) + 1)
    rates = lane.rates()
    pick = generator(cfg.seed, 7, lane.repeat)  # the cloud's batches: the same on every rerun
    perms = -(-cloud * m // n)  # permutations to cut the cloud's batches from, as a shuffling loader would
    arrows, spread = [], []
    for k in steps.tolist():
        w, b, lr = float(lane.w[k]), float(lane.b[k]), float(rates[min(k + 1, len(rates) - 1)])
        g = sample_grads(x, y, w, b)
        full, used = g.mean(0), g[batches[k].numpy()].mean(0)
        idx = torch.cat([torch.randperm(n, generator=pick) for _ in range(perms)])[: cloud * m]
        others = g[idx.view(cloud, m).numpy()].mean(1)
        rows = [("full data", full), ("this batch", used)] + [("other batch", o) for o in others]
        for kind, grad in rows:
            arrows.append(
                {
                    "optimizer": lane.optimizer,
                    "step": k,
                    "kind": kind,
                    "w": w,
                    "b": b,
                    "dw": -lr * float(grad[0]),  # the step this gradient takes: −lr · gradient
                    "db": -lr * float(grad[1]),
                }
            )
        spread.append(
            {"optimizer": lane.optimizer, "step": k, "trace": trace_cov(g), "samples": n, "batch_size": m, "lr": lr}
        )
    return Noise(arrows, spread)
