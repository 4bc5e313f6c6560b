"""What the focused view of the loss and rate charts shows: the steps in which the learning happens,
and the loss down to just below the dtype's rounding level (below it the jitter is rounding, not
learning)."""

from __future__ import annotations

import numpy as np

from lab.app.charts.common import Runs, most_steps
from lab.core.results import RunResult

FALLING = 10.0  # a curve more than this factor above where it goes later is still falling


def precision(res: RunResult) -> float:
    """The machine epsilon of the run's dtype."""
    return float(np.finfo(np.float32 if res.config.dtype == "float32" else np.float64).eps)


def rounding_level(res: RunResult) -> float:
    """About where the loss (or its excess over the best) is the dtype's rounding rather than
    learning: the run's precision times the loss's scale, squared for the residuals' part."""
    eps = precision(res)
    if res.y is not None:
        return eps * eps * float(np.mean(res.y**2)) + eps * (res.min_loss or 0.0)
    return eps * max(1.0, abs(res.min_loss or 0.0))


def still_falling(loss: np.ndarray, floor: float) -> int:
    """The last step at which ``loss`` is still more than FALLING times above the lowest it reaches
    later and above ``floor`` (where the curve is rounding, not learning); 0 if none."""
    later = np.minimum.accumulate(np.nan_to_num(loss, nan=np.inf)[::-1])[::-1]  # the lowest from each step on
    falling = np.flatnonzero((loss > FALLING * later) & (loss > floor))
    return int(falling[-1]) if len(falling) else 0


def action_steps(runs: Runs, measure: str = "loss") -> int | None:
    """The steps in which the learning happens: until the last optimizer has settled within
    tolerance and none of them is still falling (``measure``'s curve more than FALLING times above
    where it goes later, above the rounding band), with a margin; None when one never settles
    (then every step matters)."""
    ends = []
    for _, res in runs:
        floor = FALLING * rounding_level(res)
        best = (res.min_loss or 0.0) if measure == "excess" else 0.0
        for lane in res.lanes:
            if lane.diverged_at is not None:
                continue
            if not lane.settled:  # still falling, or hovering: every step matters
                return None
            assert lane.steps_to_tol is not None  # settled: it got within tolerance
            ends += [lane.steps_to_tol, still_falling(lane.loss - best, floor)]
    if not ends:
        return None
    return min(most_steps(runs), max(20, int(1.15 * max(ends)) + 10))


def window_caption(runs: Runs, measure: str = "loss", focus: bool = True) -> str:
    """What part of the run the loss chart shows, in words."""
    steps = most_steps(runs)
    last = action_steps(runs, measure) if focus else None
    if last is None or last >= steps:
        return f"All {steps:,} steps."
    return (
        f"Steps 0–{last:,} of {steps:,}: where the learning happens (no curve falls further after it). "
        "**Full range** shows all."
    )
