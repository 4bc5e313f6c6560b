"""What an accelerator buys: the GPU page's measurements, printed as Markdown tables with each
accelerator's speed-up over the CPU measured in the same run.

1. Per-step time of a plain training step (forward, MSELoss, backward, SGD step) for 50 to 10⁶
   samples and two model sizes, waiting for the device before reading the clock
   (lab/lessons/gpu.py: ``step_time``, ``measure``).
2. The lab's own engine: seconds to train the seven presets side by side, 30 000 steps on the
   tutorial's 50 samples and 300 steps on 10⁵ and 10⁶ (``engine_time``, ``measure_engine``; the
   CPU takes at most 10⁵ samples, an accelerator 10⁶).

Both on the CPU and on every accelerator torch sees here.

    python benchmarks/bench_devices.py                 # every device this machine has
    python benchmarks/bench_devices.py --budget 0.5    # longer timing per cell, steadier figures

On a machine without an accelerator it prints the CPU's figures and says so.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from lab.core import devices
from lab.lessons import gpu


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


if __name__ == "__main__":
    main()
