"""Section 4, running on a GPU: the functions the GPU page runs and shows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pandas as pd
import torch
from torch import nn

from lab import devices
from lab.api_lesson import Lr, seeded
from lab.data import generator

SAMPLES = (50, 1_000, 10_000, 100_000, 1_000_000)


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
    """Seconds per training step (forward, loss, backward, SGD step), waiting for the device."""
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
    n = max(3, min(200, int(budget / max(one, 1e-6))))
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    devices.synchronize(device)
    return (time.perf_counter() - t0) / n


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


def crossover(table: pd.DataFrame) -> dict[tuple[str, str], int | None]:
    """For each accelerator and model: the smallest size at which it beats the CPU (None: never)."""
    out: dict[tuple[str, str], int | None] = {}
    cpu = table[table.device == "cpu"].set_index(["model", "samples"])["ms_per_step"]
    for (dev, model), part in table[table.device != "cpu"].groupby(["device", "model"]):
        wins = [
            int(r.samples)
            for r in part.itertuples()
            if (model, r.samples) in cpu.index and r.ms_per_step < cpu[(model, r.samples)]
        ]  # a NaN (not run) never wins
        out[(dev, model)] = min(wins) if wins else None
    return out


_MEASURED: dict[tuple[str, ...], tuple[float, pd.DataFrame]] = {}
_MEASURING = threading.Lock()  # one measurement at a time: concurrent ones would skew each other


def measured(
    device_names: tuple[str, ...],
    ttl: float = 3600,
    refresh: bool = False,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """:func:`measure`, run at most once per device set and ``ttl`` seconds for the whole process
    (every visitor of a shared server sees the same table)."""
    with _MEASURING:
        hit = _MEASURED.get(device_names)
        if hit is None or refresh or time.monotonic() - hit[0] > ttl:
            hit = (time.monotonic(), measure(list(device_names), progress=progress))
            _MEASURED[device_names] = hit
        return hit[1].copy()
