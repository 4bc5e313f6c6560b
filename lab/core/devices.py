"""Which devices this machine has, and turning a device name into a ``torch.device``."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # "cpu", "cuda:0", "mps"
    description: str  # e.g. "NVIDIA H100 80GB HBM3, 79.1 GiB"
    memory_gib: float | None = None


def available_devices() -> list[DeviceInfo]:
    """The CPU, each CUDA device and Apple's MPS when present, in that order."""
    cores = os.cpu_count() or 1
    out = [DeviceInfo("cpu", f"CPU, {cores} core{'s' if cores != 1 else ''}")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            gib = p.total_memory / 2**30
            out.append(DeviceInfo(f"cuda:{i}", f"{p.name}, {gib:.1f} GiB", gib))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(DeviceInfo("mps", "Apple Metal (MPS)"))
    return out


def device_names() -> list[str]:
    return [d.name for d in available_devices()]


def resolve(name: str) -> torch.device:
    """``torch.device`` for ``name``; ValueError naming the devices this machine has otherwise."""
    have = device_names()
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device = {name!r} is not a device name; available here: {', '.join(have)}") from None
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", 0)
    key = str(dev)
    if key not in have:
        raise ValueError(f"device = {name!r} is not available on this machine; available here: {', '.join(have)}")
    return dev


def synchronize(dev: torch.device) -> None:
    """Wait for queued work on ``dev`` (for honest timings on accelerators)."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()
