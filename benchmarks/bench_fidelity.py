"""Long float32 runs: the engine against the tutorial's torch.optim loop, optimizer by optimizer.

For each optimizer, one engine run and one plain loop (``nn.Linear(1, 1)``, ``MSELoss``,
``zero_grad / backward / step``, float32, CPU) from the same data, start, hyperparameters and
batch order. Printed per optimizer: the final w and loss of each, the largest |w − w*| over the
second half of the run (w* the least-squares optimum) of each, and the step where the two
trajectories first differ by more than 1e-4.

    python benchmarks/bench_fidelity.py                       # 30 000 steps, seed 0, clean data
    python benchmarks/bench_fidelity.py --steps 20000 --noise 0.1 --seed 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from lab.core import engine
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import torch_loop

DEFAULT = "GD,Momentum,AdaGrad,RMSProp,Adam,NAdam,RAdam,Nesterov,Adamax,SGD,Mini-batch SGD"


def compare(cfg: RunConfig, opt: OptimizerConfig) -> dict:
    """The engine's lane for ``opt`` against the plain loop, as the numbers printed per row."""
    res = engine.run(cfg.replace(optimizers=(opt,)))
    lane = res.lanes[0]
    ours = np.stack([lane.w, lane.b], 1)
    ref = torch_loop(cfg, opt)
    w_star = res.optimum[0]
    half = cfg.steps // 2
    apart = np.flatnonzero(np.abs(ours - ref[: len(ours)]).max(1) > 1e-4)
    return {
        "optimizer": opt.display,
        "lab_w": lane.w[-1],
        "lab_loss": lane.loss[-1],
        "torch_w": ref[-1, 0],
        "lab_hover": np.abs(lane.w[half:] - w_star).max(),
        "torch_hover": np.abs(ref[half:, 0] - w_star).max(),
        "apart_at": int(apart[0]) if len(apart) else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--optimizers", default=DEFAULT)
    ap.add_argument("--steps", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=0.0)
    args = ap.parse_args()
    cfg = RunConfig(steps=args.steps, seed=args.seed, data=DataConfig(noise=args.noise))
    print(f"float32, {args.steps} steps, seed {args.seed}, noise {args.noise}; w* = least-squares optimum")
    print(
        f"{'optimizer':16s} {'lab w':>10s} {'lab loss':>10s} {'torch w':>10s} "
        f"{'max|w-w*| 2nd half: lab':>25s} {'torch':>9s} {'ratio':>7s} {'apart >1e-4 at':>15s}"
    )
    t0 = time.perf_counter()
    for name in args.optimizers.split(","):
        r = compare(cfg, OptimizerConfig(name.strip()))
        ratio = r["lab_hover"] / r["torch_hover"] if r["torch_hover"] > 0 else float("nan")
        print(
            f"{r['optimizer']:16s} {r['lab_w']:10.6f} {r['lab_loss']:10.2e} {r['torch_w']:10.6f} "
            f"{r['lab_hover']:25.2e} {r['torch_hover']:9.2e} {ratio:7.2f} {r['apart_at']!s:>15s}"
        )
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
