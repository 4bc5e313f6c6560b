"""Classic two-parameter test functions, to watch optimizers move on a surface.

Each is written with torch operations on tensors of any shape, so the same function evaluates
a whole grid for a contour plot, a stack of lanes in the engine, and a leaf tensor in a plain
autograd loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True, kw_only=True)
class Landscape:
    name: str
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    start: tuple[float, float]  # default starting point (w0, b0)
    minimum: tuple[float, float] | None  # a global minimiser, None when unbounded
    min_loss: float | None
    window: tuple[float, float, float, float]  # w_min, w_max, b_min, b_max for plots
    jitter: float  # spread of the starting points of repeats after the first
    description: str
    title: str = ""  # a few words, for a menu


def _rosenbrock(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (1 - w) ** 2 + 100 * (b - w**2) ** 2


def _beale(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (1.5 - w + w * b) ** 2 + (2.25 - w + w * b**2) ** 2 + (2.625 - w + w * b**3) ** 2


def _saddle(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return w**2 - b**2 + b**4 / 4


_ALL = (
    Landscape(
        name="rosenbrock",
        f=_rosenbrock,
        start=(-1.5, 2.0),
        minimum=(1.0, 1.0),
        min_loss=0.0,
        window=(-2.0, 2.0, -1.0, 3.0),
        jitter=0.2,
        description="A curved, narrow valley: easy to reach, slow to follow to the minimum at (1, 1).",
        title="Rosenbrock — a curved, narrow valley",
    ),
    Landscape(
        name="beale",
        f=_beale,
        start=(1.0, 1.5),
        minimum=(3.0, 0.5),
        min_loss=0.0,
        window=(-4.5, 4.5, -4.5, 4.5),
        jitter=0.2,
        description="Flat plateaus and sharp ridges; the minimum sits at (3, 0.5).",
        title="Beale — plateaus and sharp ridges",
    ),
    Landscape(
        name="saddle",
        f=_saddle,
        start=(-1.0, 1e-3),
        minimum=(0.0, 2**0.5),
        min_loss=-1.0,
        window=(-1.5, 1.5, -2.0, 2.0),
        jitter=0.05,
        description="A saddle point at the origin between two valleys at b = ±√2: who escapes it fastest?",
        title="Saddle — escape a saddle point",
    ),
)
LANDSCAPES: dict[str, Landscape] = {land.name: land for land in _ALL}


def get(name: str) -> Landscape:
    try:
        return LANDSCAPES[name]
    except KeyError:
        raise ValueError(f"unknown landscape {name!r}; choices: {', '.join(LANDSCAPES)}") from None
