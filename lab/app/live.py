"""Live mode: which runs are short enough to retrain on every edit of the form.

A rough cost model, per lane and step, measured on a 2-core machine (``benchmarks/bench_browser.py``
times the whole edit → chart cycle): the compiled regression loop costs a fixed part plus a part per
sample of the batch; a surface's batched loop a fixed part; a lane stepped through torch.optim (a
class without a compiled rule, or a schedule that reacts to the loss) a Python call each step. A run
estimated at no more than :data:`LIVE_SECONDS` retrains by itself; a longer one waits for Train.
"""

from __future__ import annotations

from lab.core.config import RunConfig
from lab.core.rules import rule_for

LIVE_SECONDS = 0.5  # estimated training time up to which an edit retrains by itself
OVERHEAD_S = 0.01  # a run's set-up: data, starts, batch tables
COMPILED_STEP_S = 4e-7  # one compiled lane-step, besides its batch
COMPILED_SAMPLE_S = 1e-8  # one sample of a compiled lane-step's batch
SURFACE_STEP_S = 1.5e-5  # one lane-step of a surface's batched loop
TORCH_STEP_S = 2.5e-4  # one lane-step through torch.optim


def compiled(cfg: RunConfig, i: int) -> bool:
    """Whether optimizer ``i`` of ``cfg`` runs in the batched loop (a rule, and a schedule, if any,
    that only sets the rate) rather than stepping through torch.optim."""
    opt = cfg.optimizers[i]
    sched = cfg.scheduler_of(opt)
    if sched is not None and sched.spec.reacts_to_loss:
        return False
    return rule_for(opt.spec.torch_class, opt.kwargs) is not None


def estimate_seconds(cfg: RunConfig) -> float:
    """The estimated time to train ``cfg`` on this kind of machine's CPU."""
    total = OVERHEAD_S
    for i, opt in enumerate(cfg.optimizers):
        if not compiled(cfg, i):
            per_step = TORCH_STEP_S
        elif cfg.is_regression:
            per_step = COMPILED_STEP_S + COMPILED_SAMPLE_S * cfg.batch_size_of(opt)
        else:
            per_step = SURFACE_STEP_S
        total += per_step * cfg.steps * cfg.repeats
    return total


def is_short(cfg: RunConfig) -> bool:
    """Whether an edit that leads to ``cfg`` retrains by itself."""
    return estimate_seconds(cfg) <= LIVE_SECONDS
