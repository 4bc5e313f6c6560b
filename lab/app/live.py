"""Live mode: which runs are short enough to retrain on every edit of the form.

The estimate is :mod:`lab.core.cost`'s (calibrated when the server starts); a run estimated at no
more than :data:`LIVE_SECONDS` retrains by itself, a longer one waits for Train all.
"""

from __future__ import annotations

from lab.core import cost
from lab.core.config import RunConfig

LIVE_SECONDS = 0.5  # estimated training time up to which an edit retrains by itself


def short(seconds: float) -> bool:
    """Whether a run estimated at ``seconds`` is short enough to retrain on an edit."""
    return seconds <= LIVE_SECONDS


def is_short(cfg: RunConfig) -> bool:
    """Whether an edit that leads to ``cfg`` retrains by itself."""
    return short(cost.estimate(cfg))
