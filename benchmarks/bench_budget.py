"""The cost model against the clock: estimate (lab/core/cost.py, calibrated in this run) against the
measured training time (median of 3) over a grid of configurations — optimizer classes (compiled, through
torch.optim, LBFGS), steps, samples, repeats, batch sizes, schedules, a surface. The budget refuses
and the hard cap stops by these estimates, so each must be within 2× of what it estimates.

    python benchmarks/bench_budget.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch

from lab.core import cost, engine, schedulers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig, SchedulerConfig

CLASSES = {
    "7 presets (compiled)": ("GD", "SGD", "Mini-batch SGD", "Momentum", "AdaGrad", "RMSProp", "Adam"),
    "5 more classes (compiled)": ("Rprop", "Adadelta", "Adafactor", "Adamax", "ASGD"),
    "LBFGS (compiled)": ("LBFGS",),
    "Adam + Rprop": ("Adam", "Rprop"),
}
SCHEDULES = {
    "constant": None,
    "StepLR": SchedulerConfig.of("StepLR", step_size=100),
    "ReduceLROnPlateau": SchedulerConfig.of("ReduceLROnPlateau"),
}


def _opts(*names: str) -> tuple[OptimizerConfig, ...]:
    return tuple(OptimizerConfig(n) for n in names)


def grid(quick: bool) -> list[tuple[str, RunConfig]]:
    steps = (1_000, 10_000) if not quick else (1_000,)
    samples = (50, 1_000, 5_000) if not quick else (50, 2_000)
    out = []
    for (name, classes), n, s in itertools.product(CLASSES.items(), samples, steps):
        opts = _opts(*classes)
        out.append((f"{name}, n={n}, {s:,} steps", RunConfig(optimizers=opts, steps=s, data=DataConfig(samples=n))))
    presets = _opts(*CLASSES["7 presets (compiled)"])
    for r, b in itertools.product((1, 4), (1, 10, 100)):
        cfg = RunConfig(optimizers=presets, steps=5_000, repeats=r, batch_size=b, data=DataConfig(samples=1_000))
        out.append((f"7 presets, {r} repeats, batch {b}, n=1000", cfg))
    for name, sched in SCHEDULES.items():
        if sched is not None:
            out.append((f"7 presets, {name}", RunConfig(optimizers=presets, steps=3_000, scheduler=sched)))
    plateau = SchedulerConfig.of("ReduceLROnPlateau")  # steps through torch.optim: a fifth of the steps
    out.append(
        (
            "Adam + Rprop, ReduceLROnPlateau, n=1000",
            RunConfig(optimizers=_opts("Adam", "Rprop"), steps=600, scheduler=plateau, data=DataConfig(samples=1_000)),
        )
    )
    out.append(("7 presets, rosenbrock", RunConfig(optimizers=presets, steps=5_000, objective="rosenbrock")))
    out.append(("Rprop + LBFGS, beale", RunConfig(optimizers=_opts("Rprop", "LBFGS"), steps=1_000, objective="beale")))
    return out


def measured(cfg: RunConfig, repeats: int = 3) -> float:
    """The median of ``repeats`` timed runs, after one that pays the first-call costs (a schedule's
    rates worked out afresh each time, as for a new run)."""
    engine.run(cfg)
    times = []
    for _ in range(repeats):
        schedulers.clear_cache()
        t0 = time.perf_counter()
        engine.run(cfg)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smaller grid")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as the server runs each training
    t0 = time.perf_counter()
    costs = cost.calibrate()
    print(f"calibrated in {time.perf_counter() - t0:.2f} s: {costs}\n")
    rows, worst = [], 1.0
    print(f"{'configuration':48s} {'estimate':>9s} {'measured':>9s} {'ratio':>6s}")
    for name, cfg in grid(args.quick):
        est, real = cost.estimate(cfg), measured(cfg)
        ratio = est / real
        worst = max(worst, ratio, 1 / ratio)
        rows.append((name, est, real, ratio))
        flag = "" if 0.5 <= ratio <= 2 else "  <- outside 2x"
        print(f"{name:48s} {est:8.3f}s {real:8.3f}s {ratio:6.2f}{flag}", flush=True)
    inside = sum(0.5 <= r <= 2 for *_, r in rows)
    print(f"\n{inside} of {len(rows)} estimates within 2x of the measured time; worst factor {worst:.2f}")


if __name__ == "__main__":
    main()
