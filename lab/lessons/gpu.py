"""Section 4, running on a GPU: the functions the GPU page runs and shows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import torch
from torch import nn

from lab.core import devices, engine
from lab.core.config import DataConfig, RunConfig, max_samples
from lab.core.data import generator
from lab.lessons.api import Lr, seeded

SAMPLES = (50, 1_000, 10_000, 100_000, 1_000_000)
ROUNDS = 3  # timed rounds per cell; the fastest counts


def roundtrip(device_name: str, seed: int = 0) -> list[dict]:
    """Data and model to the device, one forward pass there, the result back to NumPy."""
    device = torch.device(device_name)  # e.g. "cuda:0" if torch.cuda.is_available() else "cpu"
    steps = []
    x = torch.rand(5, 1, generator=generator(seed, 31))
    steps.append({"step": "x = torch.rand(5, 1)", "device": str(x.device)})
    model = seeded(Lr, seed)
    steps.append({"step": "model = Lr()", "device": str(model.linear.weight.device)})
    x = x.to(device)
    steps.append({"step": "x = x.to(device)", "device": str(x.device)})
    model = model.to(device)  # moves every parameter and buffer
    steps.append({"step": "model = model.to(device)", "device": str(model.linear.weight.device)})
    predict = model(x)  # computed where its inputs live
    steps.append({"step": "predict = model(x)", "device": str(predict.device)})
    result = predict.cpu().detach().numpy()  # back to the CPU, out of the graph, into NumPy
    steps.append(
        {
            "step": "predict.cpu().detach().numpy()",
            "device": f"NumPy array {result.shape}",
            "value": [round(float(v), 4) for v in result.flatten()],
        }
    )
    return steps


def wide_model() -> nn.Module:
    """A wider model than the tutorial's: two hidden layers of 64 units."""
    return nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))


MODELS: dict[str, Callable[[], nn.Module]] = {"Lr (1 → 1)": Lr, "MLP (1 → 64 → 64 → 1)": wide_model}


def step_time(
    device_name: str, make: Callable[[], nn.Module], samples: int, budget: float = 0.15, seed: int = 0
) -> float:
    """Seconds per training step (forward, loss, backward, SGD step), waiting for the device:
    the fastest of ``ROUNDS`` timed rounds that together take about ``budget`` seconds."""
    device = torch.device(device_name)
    x = torch.rand(samples, 1, generator=generator(seed, 32)).to(device)
    y = 3 * x + 0.8
    model = seeded(make, seed).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    criterion = nn.MSELoss()

    def step():
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()

    step()  # warm-up: allocations, kernel selection
    devices.synchronize(device)
    t0 = time.perf_counter()
    step()
    devices.synchronize(device)  # GPU work is queued: without this we would time the queueing
    one = time.perf_counter() - t0
    n = max(2, min(100, int(budget / ROUNDS / max(one, 1e-6))))
    best = float("inf")
    for _ in range(ROUNDS):  # the fastest round: the least disturbed by whatever else the machine does
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        devices.synchronize(device)
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def measure(
    device_names: list[str],
    samples: tuple[int, ...] = SAMPLES,
    budget: float = 0.15,
    too_slow: float = 0.3,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """Per-step time for every device, model and size, smallest size first. When a step is
    predicted (from the last size, scaled by the sample count) to take over ``too_slow`` seconds,
    that (device, model) series stops there: the whole table takes seconds, not minutes."""
    rows = []
    cells = [(d, m, n) for d in device_names for m in MODELS for n in samples]
    last: dict[tuple[str, str], tuple[int, float]] = {}
    for i, (dev, name, n) in enumerate(cells):
        prev = last.get((dev, name))
        if prev is not None and prev[1] * n / prev[0] > too_slow:
            rows.append(
                {
                    "device": dev,
                    "model": name,
                    "samples": n,
                    "ms_per_step": float("nan"),
                    "note": f"not run: would take over {too_slow:g} s per step",
                }
            )
        else:
            seconds = step_time(dev, MODELS[name], n, budget)
            last[(dev, name)] = (n, seconds)
            rows.append({"device": dev, "model": name, "samples": n, "ms_per_step": 1000 * seconds, "note": ""})
        if progress is not None:
            progress((i + 1) / len(cells))
    return pd.DataFrame(rows, columns=["device", "model", "samples", "ms_per_step", "note"])


def cpu_times(table: pd.DataFrame) -> pd.Series:
    """The CPU's ms per step, indexed by (model, samples); NaN where it was not run."""
    return table[table.device == "cpu"].set_index(["model", "samples"])["ms_per_step"]


def crossover(table: pd.DataFrame) -> dict[tuple[str, str], int | None]:
    """For each accelerator and model: the smallest size at which it beats the CPU (None: never).

    An accelerator that was not run (NaN) never wins; a CPU that was not run at that size was
    predicted by :func:`measure` to be too slow, so any accelerator time measured there wins."""
    out: dict[tuple[str, str], int | None] = {}
    cpu = cpu_times(table)
    for (dev, model), part in table[table.device != "cpu"].groupby(["device", "model"], sort=False):
        wins = [
            int(r.samples)
            for r in part.itertuples()
            if (model, r.samples) in cpu.index
            and pd.notna(r.ms_per_step)
            and (pd.isna(cpu[(model, r.samples)]) or r.ms_per_step < cpu[(model, r.samples)])
        ]
        out[(dev, model)] = min(wins) if wins else None
    return out


def verdict(table: pd.DataFrame) -> str:
    """What the measurement says, in words (Markdown): where each accelerator starts to win, and
    the tutorial's own size."""
    first = next(iter(MODELS))
    tiny = table[(table.samples == min(table.samples)) & (table.model == first)].set_index("device")["ms_per_step"]
    n = int(min(table.samples))
    cpu = cpu_times(table)
    wins = crossover(table)
    if not wins:
        return (
            f"For the tutorial's {n} samples a CPU step takes {tiny.get('cpu', float('nan')):.3f} ms. There is "
            "no accelerator here to compare with. What to expect on one: each GPU step pays a fixed cost to "
            "launch its kernels (microseconds each, whatever the size), so a step this small is no faster "
            "there, and only big batches or wide models have enough arithmetic to hide that cost."
        )
    lines = []
    for (dev, model), size in wins.items():
        if size is None:
            lines.append(f"- **{dev}**, {model}: never faster than the CPU in this range.")
        else:
            note = " (the CPU was not run there: predicted too slow)" if pd.isna(cpu[(model, size)]) else ""
            lines.append(f"- **{dev}**, {model}: faster than the CPU from {size:,} samples on{note}.")
    at_n = ", ".join(f"{d} {v:.3f} ms" for d, v in tiny.items())
    return (
        "\n".join(lines)
        + f"\n\nFor the tutorial's {n} samples ({first}): {at_n}. Each GPU step pays a fixed cost to launch "
        "its kernels; only big batches or wide models have enough arithmetic to hide it."
    )


# The lab's own engine (lab.core.engine), not a plain torch loop: the seven presets side by side on
# the tutorial's data for a long run, and on large data sets, where an accelerator may pay off.
ENGINE_CASES = ((50, 30_000), (100_000, 300), (1_000_000, 300))  # (samples, steps)


def engine_time(device_name: str, samples: int, steps: int, seed: int = 0) -> float:
    """Seconds for the lab's engine to train the seven presets side by side, ``steps`` steps on
    ``samples`` generated samples, on the device, results back on the CPU (so the device has
    finished). A short run first, untimed: compiling or loading the step loop, the device's first
    kernels. The faster of two runs counts."""
    cfg = RunConfig(steps=steps, data=DataConfig(samples=samples), seed=seed, device=device_name)
    engine.run(cfg.replace(steps=min(steps, 10)))
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        engine.run(cfg)
        best = min(best, time.perf_counter() - t0)
    return best


def measure_engine(
    device_names: list[str],
    cases: tuple[tuple[int, int], ...] = ENGINE_CASES,
    progress: Callable[[float], None] | None = None,
    caps: tuple[int, ...] | None = None,
) -> pd.DataFrame:
    """:func:`engine_time` for every device and (samples, steps); a case over a device's limit on
    samples (``caps``, one per device: a server's own; else the engine's, where the CPU's is the
    lower) is not run, and its note says why."""
    limit = dict(zip(device_names, caps or [max_samples(d) for d in device_names], strict=True))
    rows = []
    cells = [(d, n, k) for d in device_names for n, k in cases]
    for i, (dev, n, k) in enumerate(cells):
        if n > limit[dev]:
            row = {"seconds": float("nan"), "note": f"not run: over the {limit[dev]:,} samples a run may have on {dev}"}
        else:
            row = {"seconds": engine_time(dev, n, k), "note": ""}
        rows.append({"device": dev, "samples": n, "steps": k, **row, "us_per_step": 1e6 * row["seconds"] / k})
        if progress is not None:
            progress((i + 1) / len(cells))
    return pd.DataFrame(rows, columns=["device", "samples", "steps", "seconds", "us_per_step", "note"])


def engine_verdict(table: pd.DataFrame) -> str:
    """What the engine's timings say, in words (Markdown): the CPU's, then each accelerator's
    against it where the CPU ran the same case."""
    cpu = table[(table.device == "cpu") & table.seconds.notna()]
    base = cpu.set_index(["samples", "steps"])["seconds"]
    lines = [
        "On the CPU, the seven presets side by side: "
        + "; ".join(f"{r.steps:,} steps on {r.samples:,} samples in {r.seconds:.2f} s" for r in cpu.itertuples())
        + "."
    ]
    for r in table[(table.device != "cpu") & table.seconds.notna()].itertuples():
        than = base.get((r.samples, r.steps))
        versus = "more samples than the CPU takes" if than is None else f"{than / r.seconds:.2f}× the CPU's speed"
        lines.append(f"- **{r.device}**, {r.steps:,} steps on {r.samples:,} samples: {r.seconds:.2f} s ({versus}).")
    if len(lines) == 1:
        lines.append(
            "\nNo accelerator here to compare with. On one, each step is a few dozen small tensor "
            "operations, replayed as a CUDA graph a chunk of steps at a time; each still costs the "
            "device microseconds, so it pays off only where a step has a lot of arithmetic, on large data."
        )
    return "\n".join(lines)


_MEASURED: dict[tuple[Callable, tuple[str, ...], tuple], tuple[float, pd.DataFrame]] = {}
_MEASURING = threading.Lock()  # one measurement at a time: concurrent ones would skew each other


def measured(
    device_names: tuple[str, ...],
    ttl: float = 3600,
    refresh: bool = False,
    progress: Callable[[float], None] | None = None,
    what: Callable[..., pd.DataFrame] = measure,
    **options: Any,
) -> pd.DataFrame:
    """``what`` (:func:`measure`, or :func:`measure_engine`) with ``options``, run at most once per
    device set, options and ``ttl`` seconds for the whole process (every visitor of a shared server
    sees the same table)."""
    key = (what, device_names, tuple(sorted(options.items())))
    with _MEASURING:
        hit = _MEASURED.get(key)
        if hit is None or refresh or time.monotonic() - hit[0] > ttl:
            hit = (time.monotonic(), what(list(device_names), progress=progress, **options))
            _MEASURED[key] = hit
        return hit[1].copy()
