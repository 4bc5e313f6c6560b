"""What this server lets one request ask for, and the notice when a link asks for more.

The core accepts long runs (see :mod:`lab.core.config`); a shared demo keeps one request to
seconds. A request over a limit is never clipped silently: the notice names what was asked, the
limit, and how to run bigger (the command line on one's own machine).
"""

from __future__ import annotations

from lab.core.config import MAX_STEPS

APP_MAX_STEPS = min(MAX_STEPS, 50_000)  # optimizer steps per optimizer in one request


def within_steps(steps: int) -> tuple[int, str | None]:
    """``steps`` brought within the app's limit, and the notice saying so (None when within)."""
    if steps <= APP_MAX_STEPS:
        return steps, None
    return APP_MAX_STEPS, (
        f"steps={steps:,} is over this app's limit of {APP_MAX_STEPS:,} steps per optimizer; using "
        f"{APP_MAX_STEPS:,}. To run {steps:,} steps, use the command line on your own machine: "
        f"python -m lab compare --steps {steps} --out results/"
    )
