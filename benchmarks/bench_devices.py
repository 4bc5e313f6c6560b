"""What an accelerator buys: the GPU page's measurement, printed as a Markdown table with each
accelerator's speed-up over the CPU measured in the same run.

Per-step time of a full training step (forward, MSELoss, backward, SGD step) for 50 to 10⁶
samples and two model sizes, on the CPU and on every accelerator torch sees here, waiting for
the device before reading the clock (lab/lessons/gpu.py: ``step_time``, ``measure``).

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


def markdown(table) -> str:
    """One row per (model, samples); a ms column per device and a speed-up column per accelerator."""
    wide = table.pivot_table(index=["model", "samples"], columns="device", values="ms_per_step", dropna=False)
    names = list(dict.fromkeys(table.device))
    accelerators = [d for d in names if d != "cpu"]
    head = ["model", "samples"] + [f"{d} ms/step" for d in names] + [f"{d} speed-up" for d in accelerators]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (model, samples), row in wide.iterrows():
        cells = [model, f"{samples:,}"] + ["not run" if pd.isna(row[d]) else f"{row[d]:.3f}" for d in names]
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


if __name__ == "__main__":
    main()
