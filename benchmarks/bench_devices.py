"""What an accelerator buys: the GPU page's measurements, printed as Markdown tables with each
accelerator's speed-up over the CPU measured in the same run.

1. Per-step time of a plain training step (forward, MSELoss, backward, SGD step) for 50 to 10⁶
   samples and two model sizes, waiting for the device before reading the clock
   (lab/lessons/gpu.py: ``step_time``, ``measure``).
2. The lab's own engine: seconds to train the seven presets side by side, 30 000 steps on the
   tutorial's 50 samples and 300 steps on 10⁵ and 10⁶ (``engine_time``, ``measure_engine``; the
   CPU takes at most 10⁵ samples, an accelerator 10⁶).
3. On a CUDA device, the tensor loop's ways of launching its kernels (lab/core/tensor_loop.py):
   one by one from Python, a chunk as one CUDA graph replay, and that with the products fused with
   their sums, against the CPU's compiled loop in the same run — at 50 samples and at 10⁶ (the
   CPU's limit of 10⁵ lifted for this comparison only).

Both on the CPU and on every accelerator torch sees here.

    python benchmarks/bench_devices.py                 # every device this machine has
    python benchmarks/bench_devices.py --budget 0.5    # longer timing per cell, steadier figures

On a machine without an accelerator it prints the CPU's figures and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import pandas as pd
import torch

from lab.core import config, devices, tensor_loop
from lab.lessons import gpu

LAUNCHES = (("one by one", False, False), ("graph replays", True, False), ("graph replays, fused", True, True))


def markdown(table, index=("model", "samples"), value="ms_per_step", unit="ms/step") -> str:
    """One row per ``index``; a ``value`` column per device and a speed-up column per accelerator."""
    wide = table.pivot(index=list(index), columns="device", values=value)  # the rows measured, NaN kept
    names = list(dict.fromkeys(table.device))
    accelerators = [d for d in names if d != "cpu"]
    head = [*index] + [f"{d} {unit}" for d in names] + [f"{d} speed-up" for d in accelerators]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for keys, row in wide.iterrows():
        cells = [k if isinstance(k, str) else f"{k:,}" for k in keys]
        cells += ["not run" if pd.isna(row[d]) else f"{row[d]:.3f}" for d in names]
        for d in accelerators:
            cells.append("—" if pd.isna(row[d]) or pd.isna(row["cpu"]) else f"{row['cpu'] / row[d]:.2f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def _settings(module, **values):
    """``module``'s attributes set to ``values`` for the block, then restored."""
    old = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(module, name, value)


def launches(cuda: list[str], cases=((50, 30_000), (1_000_000, 300))) -> pd.DataFrame:
    """Seconds for the seven presets (``gpu.engine_time``) on each CUDA device for each way of
    launching the tensor loop's kernels, and on the CPU (compiled) as the baseline of each case."""
    rows = []
    for samples, steps in cases:
        with _settings(config, MAX_SAMPLES=config.MAX_ACCELERATOR_SAMPLES):
            cpu = gpu.engine_time("cpu", samples, steps)
        rows.append({"samples": samples, "steps": steps, "device": "cpu", "launch": "compiled", "seconds": cpu})
        for dev in cuda:
            for label, graphs, fused in LAUNCHES:
                with _settings(tensor_loop, GRAPHS=graphs, FUSED=fused):
                    seconds = gpu.engine_time(dev, samples, steps)
                rows.append({"samples": samples, "steps": steps, "device": dev, "launch": label, "seconds": seconds})
    table = pd.DataFrame(rows)
    base = table[table.device == "cpu"].set_index(["samples", "steps"])["seconds"]
    table["cpu_over_this"] = [base[(r.samples, r.steps)] / r.seconds for r in table.itertuples()]
    table["us_per_step"] = 1e6 * table.seconds / table.steps
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=0.15, help="seconds of timed steps per cell (default 0.15)")
    args = ap.parse_args()
    infos = devices.available_devices()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)")
    for d in infos:
        print(f"- {d.name}: {d.description}")
    t0 = time.perf_counter()
    table = gpu.measure([d.name for d in infos], budget=args.budget)
    print(f"\nmeasured in {time.perf_counter() - t0:.1f} s\n")
    print(markdown(table))
    for r in table[table.note != ""].itertuples():
        print(f"\n{r.device}, {r.model}, {r.samples:,} samples: {r.note}", end="")
    print("\n\n" + gpu.verdict(table))

    t0 = time.perf_counter()
    engine = gpu.measure_engine([d.name for d in infos])
    print(f"\n## The lab's engine: the seven presets side by side (measured in {time.perf_counter() - t0:.1f} s)\n")
    print(markdown(engine, index=("samples", "steps"), value="seconds", unit="s"))
    for r in engine[engine.note != ""].itertuples():
        print(f"\n{r.device}, {r.samples:,} samples: {r.note}", end="")
    print("\n\n" + gpu.engine_verdict(engine))

    cuda = [d.name for d in infos if d.name.startswith("cuda")]
    if cuda:
        t0 = time.perf_counter()
        table = launches(cuda)
        print(f"\n## The tensor loop's launches on CUDA (measured in {time.perf_counter() - t0:.1f} s)\n")
        print("| samples | steps | device | launch | seconds | µs/step | CPU's time over this |")
        print("|---|---|---|---|---|---|---|")
        for r in table.itertuples():
            print(
                f"| {r.samples:,} | {r.steps:,} | {r.device} | {r.launch} | {r.seconds:.3f} | {r.us_per_step:.1f} "
                f"| {r.cpu_over_this:.2f}× |"
            )


if __name__ == "__main__":
    main()
