"""Engine speed against the naive way, measured in one process and printed as a ratio.

The naive way is the tutorial's training loop run once per optimizer: an ``nn.Linear(1, 1)``,
``MSELoss``, ``zero_grad / backward / step`` and ``loss.item()`` recorded every step, on the
same data, starting point, hyperparameters and batch order as the engine. The engine trains
the same optimizers side by side (see lab/core/engine.py).

    python benchmarks/bench_engine.py                 # 7 presets x 30 000 steps, x 1 000 steps, the
                                                      # learning-rate sweep of 7 presets x 1 000 steps,
                                                      # and both as whole processes
    python benchmarks/bench_engine.py --steps 5000    # a quicker look

    python benchmarks/bench_engine.py --only-all      # just every registry optimizer x 30 000 steps

It also times every registry optimizer x 30 000 steps (the classes the compiled loop has a rule
for, and the rest through torch.optim), and the 7 presets x 30 000 steps under a learning-rate
schedule (CosineAnnealingLR): the
naive loop then calls ``scheduler.step()`` after every ``optimizer.step()``; the engine takes the
schedule's rates from the real class once and stays batched.

The process case times ``python -m lab compare --optimizers presets --steps N --out DIR`` (imports,
training, the three CSVs and reproduce.py) against this file run as ``--naive-process``: a process
that imports torch, trains the same presets with the tutorial's loop and writes its curves CSV.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from lab.core import engine, optimizers, tuning
from lab.core.config import OptimizerConfig, RunConfig
from lab.core.data import BatchStream, initial_params, make_data


def naive(cfg: RunConfig, out: Path | None = None) -> float:
    """Seconds for the tutorial's loop, once per optimizer of ``cfg`` (curves written to ``out``)."""
    x, y = make_data(cfg.data, cfg.seed)
    x, y = x.float().unsqueeze(1), y.float().unsqueeze(1)
    w0, b0 = initial_params(cfg.seed, 1)[0].tolist()
    t0 = time.perf_counter()
    for opt in cfg.optimizers:
        model = nn.Linear(1, 1)
        with torch.no_grad():
            model.weight.fill_(w0)
            model.bias.fill_(b0)
        criterion = nn.MSELoss()
        optimizer = opt.spec.cls(model.parameters(), **opt.kwargs)
        sched = cfg.scheduler_of(opt)
        scheduler = None if sched is None else sched.attach(optimizer, cfg.steps)
        batches = BatchStream(cfg.data.samples, cfg.batch_size_of(opt), cfg.seed, 0).take(cfg.steps)
        rows = []
        for step, idx in enumerate(batches):
            loss = criterion(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            if opt.spec.torch_class == "LBFGS":  # it evaluates the loss again, as the tutorial's closure

                def closure(idx=idx):
                    optimizer.zero_grad()
                    again = criterion(model(x[idx]), y[idx])
                    again.backward()
                    return again

                optimizer.step(closure)
            else:
                optimizer.step()
            if scheduler is not None:
                scheduler.step(loss)
            rows.append((opt.name, step, loss.item(), model.weight.item(), model.bias.item()))
        if out is not None:
            with (out / "curves.csv").open("a", newline="") as f:
                csv.writer(f).writerows(rows)
    return time.perf_counter() - t0


def best_of(fn, repeats: int) -> tuple[float, list[float]]:
    times = [fn() for _ in range(repeats)]
    return statistics.median(times), times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30_000, help="steps of the long comparison")
    ap.add_argument("--short", type=int, default=1_000, help="steps of the short, in-process comparison")
    ap.add_argument("--repeats", type=int, default=5, help="engine timings per size (median shown)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for both sides (default: torch's)")
    ap.add_argument("--naive-process", type=Path, metavar="DIR", help=argparse.SUPPRESS)  # the process case's baseline
    ap.add_argument("--no-process", action="store_true", help="skip the whole-process case")
    ap.add_argument("--only-all", action="store_true", help="only every registry optimizer x --steps")
    args = ap.parse_args()
    if args.naive_process:
        naive(RunConfig(steps=args.steps), out=args.naive_process)
        return
    if args.threads:
        torch.set_num_threads(args.threads)  # process-wide, so it applies to both sides alike

    long_cfg, short_cfg = RunConfig(steps=args.steps), RunConfig(steps=args.short)
    engine.run(short_cfg)  # warm-up: registry probe, first allocations
    every_optimizer(args.steps, args.repeats)
    if args.only_all:
        return

    def timed(cfg):
        t0 = time.perf_counter()
        engine.run(cfg)
        return time.perf_counter() - t0

    lanes = len(long_cfg.optimizers)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {lanes} presets: "
        f"{', '.join(o.name for o in long_cfg.optimizers)}"
    )
    naive_long = naive(long_cfg)
    eng_long, all_long = best_of(lambda: timed(long_cfg), args.repeats)
    naive_short = naive(short_cfg)
    eng_short, all_short = best_of(lambda: timed(short_cfg), args.repeats)

    sched_cfg = long_cfg.replace(scheduler="CosineAnnealingLR")
    naive_sched = naive(sched_cfg)
    eng_sched, _ = best_of(lambda: timed(sched_cfg), args.repeats)
    rows = [
        (f"{lanes} x {args.steps} steps", naive_long, eng_long),
        (f"{lanes} x {args.short} steps", naive_short, eng_short),
        (f"{lanes} x {args.steps} steps, cosine", naive_sched, eng_sched),
    ]
    print(f"{'case':24s} {'naive loop':>12s} {'engine':>10s} {'speed-up':>9s} {'naive µs/step/opt':>18s}")
    for name, nv, en in rows:
        steps = int(name.split("x ")[1].split()[0])
        print(f"{name:24s} {nv:11.3f}s {en:9.3f}s {nv / en:8.1f}x {1e6 * nv / (steps * lanes):17.1f}")
    print(f"engine runs (s): long {[round(t, 3) for t in all_long]}, short {[round(t, 4) for t in all_short]}")
    print(
        f"targets: long speed-up >= 25x -> {'met' if naive_long / eng_long >= 25 else 'NOT met'}; "
        f"short <= 0.15 s -> {'met' if eng_short <= 0.15 else 'NOT met'}"
    )

    # The page's "Tune learning rates": every (preset, lr) lane of the sweep in one engine call,
    # against the naive loop once per lane.
    lanes = tuple(variant for _, variant in tuning.lanes(short_cfg))
    sweep_cfg = short_cfg.replace(optimizers=lanes)
    naive_sweep = naive(sweep_cfg)
    eng_sweep, _ = best_of(lambda: timed_sweep(short_cfg), args.repeats)
    print(
        f"learning-rate sweep, {len(lanes)} lanes x {args.short} steps: naive loop {naive_sweep:.3f}s, "
        f"tuning.sweep {eng_sweep:.3f}s, speed-up {naive_sweep / eng_sweep:.1f}x"
    )
    if not args.no_process:
        processes(args.steps)


def processes(steps: int) -> None:
    """Whole processes, imports and files included: the lab's command line against the naive loop."""

    def timed_process(cmd: list[str]) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([*cmd, tmp], check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

    lab = [sys.executable, "-m", "lab", "compare", "--optimizers", "presets", "--steps", str(steps), "--out"]
    naive_cmd = [sys.executable, __file__, "--steps", str(steps), "--naive-process"]
    lab_s = statistics.median(timed_process(lab) for _ in range(3))
    naive_s = timed_process(naive_cmd)
    print(
        f"whole process, 7 presets x {steps} steps (imports, training, CSVs): naive loop {naive_s:.2f}s, "
        f"python -m lab compare {lab_s:.2f}s (median of 3), speed-up {naive_s / lab_s:.1f}x"
    )


def every_optimizer(steps: int, repeats: int) -> None:
    """Every registry optimizer side by side against the naive loop once per optimizer."""
    names = optimizers.registry().names()
    cfg = RunConfig(optimizers=tuple(OptimizerConfig(n) for n in names), steps=steps)
    engine.run(cfg.replace(steps=10))  # warm-up: the compiled loop's code for these kinds
    naive_s = naive(cfg)
    eng, times = best_of(lambda: _timed(cfg), repeats)
    print(
        f"every registry optimizer ({len(names)}) x {steps} steps: naive loop {naive_s:.2f}s, "
        f"engine {eng:.3f}s (median of {[round(t, 3) for t in times]}), speed-up {naive_s / eng:.1f}x"
    )


def _timed(cfg: RunConfig) -> float:
    t0 = time.perf_counter()
    engine.run(cfg)
    return time.perf_counter() - t0


def timed_sweep(cfg: RunConfig) -> float:
    t0 = time.perf_counter()
    tuning.sweep(cfg)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
