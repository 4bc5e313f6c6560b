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


# One row a landscape: name, function, start, minimum, min_loss, window, jitter (see Landscape).
_ROWS = (
    ("rosenbrock", _rosenbrock, (-1.5, 2.0), (1.0, 1.0), 0.0, (-2.0, 2.0, -1.0, 3.0), 0.2),
    ("beale", _beale, (1.0, 1.5), (3.0, 0.5), 0.0, (-4.5, 4.5, -4.5, 4.5), 0.2),
    ("saddle", _saddle, (-1.0, 1e-3), (0.0, 2**0.5), -1.0, (-1.5, 1.5, -2.0, 2.0), 0.05),
)
_WORDS = {  # name: (title, description)
    "rosenbrock": (
        "Rosenbrock — a curved, narrow valley",
        "A curved, narrow valley: easy to reach, slow to follow to the minimum at (1, 1).",
    ),
    "beale": ("Beale — plateaus and sharp ridges", "Flat plateaus and sharp ridges; the minimum sits at (3, 0.5)."),
    "saddle": (
        "Saddle — escape a saddle point",
        "A saddle point at the origin between two valleys at b = ±√2: who escapes it fastest?",
    ),
}
_ALL = tuple(
    Landscape(
        name=name,
        f=f,
        start=start,
        minimum=minimum,
        min_loss=min_loss,
        window=window,
        jitter=jitter,
        title=_WORDS[name][0],
        description=_WORDS[name][1],
    )
    for name, f, start, minimum, min_loss, window, jitter in _ROWS
)
LANDSCAPES: dict[str, Landscape] = {land.name: land for land in _ALL}


def get(name: str) -> Landscape:
    try:
        return LANDSCAPES[name]
    except KeyError:
        raise ValueError(f"unknown landscape {name!r}; choices: {', '.join(LANDSCAPES)}") from None
