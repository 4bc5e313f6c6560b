"""The sentence above a run's chart: who reached the tolerance first and in how many steps, who did
not settle, who is not there yet and who diverged — at these learning rates. Built from the run's
numbers only (the lanes' statuses, see :attr:`lab.core.results.LaneResult.status`)."""

from __future__ import annotations

from lab.core.results import LaneResult, RunResult


def _names(lanes: list[LaneResult]) -> str:
    """ "A", "A and B", "A, B and C" (bold)."""
    names = [f"**{ln.optimizer}**" for ln in lanes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _at_default_rates(res: RunResult) -> bool:
    """Every optimizer at its registry's default learning rate, with no schedule."""
    cfg = res.config
    return all(
        cfg.scheduler_of(opt) is None and opt.kwargs.get("lr") == opt.spec.defaults.get("lr") for opt in cfg.optimizers
    )


def verdict(res: RunResult) -> str:
    """One short paragraph (Markdown) read from ``res``: with repeats, each optimizer's first start
    stands for it, and the table gives the spread."""
    lanes = [ln for ln in res.lanes if ln.repeat == 0]
    steps, tol = res.config.steps, res.config.tol
    settled = sorted((ln for ln in lanes if ln.settled), key=lambda ln: ln.steps_to_tol or 0)
    hovering = [ln for ln in lanes if ln.status == "hovering"]
    not_yet = [ln for ln in lanes if ln.status == "stopped at max steps"]
    diverged = [ln for ln in lanes if ln.diverged_at is not None]
    parts = []
    if not settled:
        parts.append(f"At these learning rates no optimizer settled within {tol:g} of the best possible loss.")
    elif len(settled) == 1:
        first = settled[0]
        parts.append(
            f"At these learning rates {_names([first])} alone settled within {tol:g} of the best possible loss, "
            f"in {first.steps_to_tol:,} steps."
        )
    else:
        first, rest = settled[0], settled[1:]
        then = ", ".join(f"{ln.optimizer} ({ln.steps_to_tol:,})" for ln in rest[:8])
        more = f" and {len(rest) - 8} more" if len(rest) > 8 else ""
        parts.append(
            f"At these learning rates {_names([first])} settled within {tol:g} of the best possible loss first, "
            f"in {first.steps_to_tol:,} steps; then {then}{more}."
        )
    if hovering:
        one = len(hovering) == 1
        parts.append(
            f"{_names(hovering)} {'gets' if one else 'get'} there but {'does' if one else 'do'} not stay: "
            f"{'its' if one else 'their'} loss leaves the tolerance again (circling or jumping about the optimum)."
        )
    if not_yet:
        parts.append(f"{_names(not_yet)} {'is' if len(not_yet) == 1 else 'are'} not there yet after {steps:,} steps.")
    if diverged:
        when = ", ".join(f"{ln.optimizer} at step {ln.diverged_at:,}" for ln in diverged)
        parts.append(f"Diverged ({when}): {'its' if len(diverged) == 1 else 'their'} learning rate is too large here.")
    if _at_default_rates(res) and len(lanes) > 1:
        parts.append("Each runs at its default rate: **Tune learning rates** compares them each at its best.")
    return " ".join(parts)


HELP = (
    "Read from this run's numbers. Settled: the loss stays within the tolerance of the best possible loss "
    "over at least the last tenth of the run. Gets there but does not stay: it came within the tolerance and "
    "left again (a constant rate that keeps the steps full-size near the optimum). A ranking holds for these "
    "learning rates only."
)
