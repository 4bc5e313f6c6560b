"""What a training costs before it runs: a model per path, calibrated on the machine that runs it.

A run's time is a sum over its lanes (one optimizer, one repeat) of steps × the cost of one step on
that lane's path, plus the loss of every step on the full data (computed after the run, for the
curves), plus a fixed part:

- **batched** lanes (an update rule the lab writes down, :mod:`lab.core.rules`): on the CPU the
  regression's steps run compiled, a fixed part per lane-step plus a part per sample of its batch;
  a surface's (or another device's) batched loop costs a fixed part per step for the whole stack;
- **LBFGS** lanes: on the CPU the regression's run compiled (:mod:`lab.core.lbfgs`), a part per
  lane-step and a part per sample of its batch, both measured over a whole run (a step evaluates
  its closure as often as it takes, up to ``max_eval``: scaled by ``max_eval`` beyond torch's default);
- **torch** lanes (a class without a rule, a schedule that reacts to the loss or moves momentum, or
  LBFGS on a surface or another device): ``zero_grad``, ``backward`` and ``step`` in Python every
  step, each closure evaluation a fixed part plus a part per sample; LBFGS evaluates its closure up to
  ``max_eval`` times per step;
- the **curves**: every lane's loss at every step on all samples.

:func:`calibrate` times a few milliseconds of each path on this machine (the server does it once at
start); :data:`DEFAULT` holds values measured on the project's 2-core machine (``costs.json``), for when
nothing was calibrated. ``benchmarks/bench_budget.py`` checks estimates against measured times over a grid.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from lab.core import engine, objectives, schedulers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig, SchedulerConfig
from lab.core.rules import lbfgs_limits, rule_for

_TRAIN = engine.run  # the engine itself, whatever later wraps engine.run (a test counting its calls)


@dataclass(frozen=True, kw_only=True)
class Costs:
    """Seconds per unit of work on one machine."""

    setup: float  # a run's fixed part: data, starts, lanes, result
    compiled_step: float  # one compiled lane-step (regression, CPU), besides its batch
    compiled_sample: float  # one sample of a compiled lane-step's batch
    stream_epoch: float  # one pass of a stochastic lane's batch order over the data (a new permutation)
    stacked_step: float  # one step of a batched loop that is not compiled (a surface, a device), whole stack
    stacked_lane: float  # one lane more in that step
    torch_step: float  # one torch.optim step of one lane: zero_grad, backward, step, history
    torch_sample: float  # one sample of a torch.optim closure's batch
    lbfgs_step: float  # one torch.optim LBFGS step at its default max_iter (as many closure evaluations as it takes)
    compiled_lbfgs_step: float  # one compiled LBFGS lane-step (regression, CPU), besides its batch
    compiled_lbfgs_sample: float  # one sample of a compiled LBFGS lane-step's batch
    schedule_step: float  # one step of a schedule's real class, run ahead of the batched loop (per class)
    curve_sample: float  # one sample of one lane-step's full-data loss (the curves)

    def scaled(self, factor: float) -> Costs:
        """Every cost times ``factor`` (a machine that slower)."""
        return Costs(**{k: v * factor for k, v in vars(self).items()})


# Measured once with calibrate() (where: the file's "measured_on"); data, so a new machine's figures
# replace the file, not code: json.dumps({"measured_on": …, "seconds": vars(calibrate())}).
DEFAULT = Costs(**json.loads((Path(__file__).with_name("costs.json")).read_text())["seconds"])
_calibrated: Costs | None = None


def costs() -> Costs:
    """The costs of this process's machine: calibrated if :func:`calibrate` ran, else the defaults."""
    return _calibrated or DEFAULT


def evaluations(opt: OptimizerConfig) -> int:
    """Closure evaluations a step may take: LBFGS's ``max_eval`` (torch: ``max_iter`` × 5/4 by
    default), one for every other class (torch evaluates it once per step)."""
    if opt.spec.torch_class != "LBFGS":
        return 1
    return lbfgs_limits(opt.kwargs)[1]


DEFAULT_LBFGS_EVALUATIONS = 25  # torch's max_eval at its default max_iter (20)


CYCLING = ("OneCycleLR", "CyclicLR")  # schedules that can cycle momentum or β₁ too (cycle_momentum)


def batched(cfg: RunConfig, opt: OptimizerConfig) -> bool:
    """Whether ``opt`` steps in the batched loop (a rule, and a schedule, if any, that only sets the
    rate) rather than through torch.optim — as :mod:`lab.core.engine` decides it (the compiled loop
    also has the kinds of rule besides the generic one)."""
    if rule_for(opt.spec.torch_class, opt.kwargs, compiled=_compiled(cfg)) is None:
        return False
    sched = cfg.scheduler_of(opt)
    if sched is None:
        return True
    if sched.spec.reacts_to_loss:
        return False
    cycled = "betas" in opt.kwargs or "momentum" in opt.kwargs  # torch cycles it even from 0
    return not (sched.name in CYCLING and sched.kwargs(cfg.steps).get("cycle_momentum") and cycled)


def compiled_lbfgs(cfg: RunConfig, opt: OptimizerConfig) -> bool:
    """Whether ``opt`` is LBFGS stepping compiled (:func:`lab.core.engine.lbfgs_compiles`): the
    regression on the CPU, at a constant rate or a schedule's rates known before the run."""
    sched = cfg.scheduler_of(opt)
    known = sched is None or not sched.spec.reacts_to_loss
    return opt.spec.torch_class == "LBFGS" and _compiled(cfg) and known


def _compiled(cfg: RunConfig) -> bool:
    """Whether the batched lanes of ``cfg`` run compiled (the regression on the CPU, where the engine
    compiles: :func:`lab.core.engine.compiles`)."""
    engine_compiles = engine.NUMPY_ON_CPU and engine.COMPILED_ON_CPU
    return cfg.is_regression and cfg.device in ("cpu", "auto") and engine_compiles


def estimate(cfg: RunConfig, unit: Costs | None = None) -> float:
    """Estimated seconds to train ``cfg`` here (on the CPU)."""
    c = unit or costs()
    n = cfg.data.samples if cfg.is_regression else 0
    compiled = _compiled(cfg)
    total, stacked = c.setup, False
    scheduled = set()  # (schedule, class): each runs its real class ahead of the batched loop, once
    for opt in cfg.optimizers:
        batch = cfg.batch_size_of(opt) if cfg.is_regression else 0
        stochastic = cfg.is_regression and 0 < batch < n
        sched, on_batch = cfg.scheduler_of(opt), batched(cfg, opt)
        if sched is not None and (on_batch or compiled_lbfgs(cfg, opt)):  # its real class runs ahead
            scheduled.add((sched, opt.spec.torch_class))
        if compiled_lbfgs(cfg, opt):
            per_step = _lbfgs_scale(opt) * (c.compiled_lbfgs_step + c.compiled_lbfgs_sample * batch)
        elif not on_batch:
            per_step = _torch_step(opt, batch, c)
        elif compiled:
            per_step = c.compiled_step + c.compiled_sample * batch
        else:
            per_step, stacked = c.stacked_lane, True
        if stochastic:
            per_step += c.stream_epoch * batch / n
        total += cfg.repeats * cfg.steps * (per_step + c.curve_sample * n)
    total += len(scheduled) * cfg.steps * c.schedule_step
    return total + (cfg.steps * c.stacked_step if stacked else 0.0)


def estimate_replay(cfg: RunConfig, name: str, unit: Costs | None = None) -> float:
    """Estimated seconds to replay optimizer ``name`` of ``cfg`` step by step with its torch.optim
    class over the whole run (Explain a step: its state at a step, its step sizes over the run)."""
    c = unit or costs()
    opt = next(o for o in cfg.optimizers if o.name == name or o.display == name)
    n = cfg.data.samples if cfg.is_regression else 0
    batch = cfg.batch_size_of(opt) if cfg.is_regression else 0
    return c.setup + cfg.steps * (_torch_step(opt, batch, c) + c.curve_sample * n)


def _torch_step(opt: OptimizerConfig, batch: int, c: Costs) -> float:
    """One step of ``opt`` through torch.optim on a batch of ``batch`` samples."""
    if opt.spec.torch_class == "LBFGS":
        return _lbfgs_scale(opt) * c.lbfgs_step + 2 * c.torch_sample * batch
    return evaluations(opt) * (c.torch_step + c.torch_sample * batch)


def _lbfgs_scale(opt: OptimizerConfig) -> float:
    """An LBFGS step's cost against one at torch's default max_eval: a larger one may take more."""
    return max(1.0, evaluations(opt) / DEFAULT_LBFGS_EVALUATIONS)


def _fastest(call: Callable[[], object], runs: int, before: Callable[[], object] = lambda: None) -> float:
    """Seconds of the fastest of ``runs`` calls, after one that pays the first-call costs; ``before``
    runs ahead of each, untimed."""
    call()
    times = []
    for _ in range(runs):
        before()
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return min(times)


def _timed(cfg: RunConfig) -> float:
    """Seconds for ``cfg``: the faster of two runs (a schedule's rates worked out afresh each time,
    as for a new run)."""
    return _fastest(lambda: _TRAIN(cfg), 2, before=schedulers.clear_cache)


def calibrate() -> Costs:
    """Time each path for a few milliseconds on this machine and keep the result for :func:`costs`,
    each within [¼, 8×] of the defaults (a timing taken while something else ran must not turn Live
    off or refuse every run for the life of the process). Returns the costs kept."""
    global _calibrated
    found = {}
    gd, sgd, lbfgs = (OptimizerConfig("GD"),), (OptimizerConfig("SGD"),), (OptimizerConfig("LBFGS"),)
    # Rprop under a schedule that reacts to the loss steps through torch.optim (every class has a
    # compiled rule or loop on the regression now)
    rprop, plateau = (OptimizerConfig("Rprop"),), SchedulerConfig.of("ReduceLROnPlateau")
    tiny, wide = DataConfig(samples=2), DataConfig(samples=4_000)
    found["setup"] = _timed(RunConfig(optimizers=gd, steps=1, batch_size=1, data=tiny))

    def per_step(cfg: RunConfig) -> float:
        return max((_timed(cfg) - found["setup"]) / cfg.steps, 1e-12)

    found["compiled_step"] = per_step(RunConfig(optimizers=gd, steps=10_000, batch_size=1, data=tiny))
    found["curve_sample"] = _curve_sample(wide)
    spent = per_step(RunConfig(optimizers=gd, steps=200, data=wide)) - found["compiled_step"]
    found["compiled_sample"] = max(spent / wide.samples - found["curve_sample"], 1e-13)
    shuffled = per_step(RunConfig(optimizers=sgd, steps=4_000, batch_size=1, data=tiny)) - found["compiled_step"]
    found["stream_epoch"] = max(shuffled * tiny.samples, 1e-12)  # one epoch every 2 steps
    adam = (OptimizerConfig("Adam"),)  # momentum and a second moment: every operation of the batched loop
    one = per_step(RunConfig(optimizers=adam, steps=1_000, objective="rosenbrock"))
    eight = per_step(RunConfig(optimizers=adam, repeats=8, steps=1_000, objective="rosenbrock"))
    found["stacked_lane"] = max((eight - one) / 7, 1e-12)
    found["stacked_step"] = max(one - found["stacked_lane"], 1e-12)
    found["torch_step"] = per_step(RunConfig(optimizers=rprop, steps=100, batch_size=1, data=tiny, scheduler=plateau))
    found["lbfgs_step"] = per_step(RunConfig(optimizers=lbfgs, steps=100, objective="rosenbrock"))  # torch.optim
    # compiled LBFGS on mini-batches (its own batch size: its entry trains on the full batch), which
    # never let it settle: a step takes as many evaluations as its line search asks
    by_one = (OptimizerConfig.of("LBFGS", batch_size=1),)
    found["compiled_lbfgs_step"] = per_step(RunConfig(optimizers=by_one, steps=500, batch_size=1, data=tiny))
    half = OptimizerConfig.of("LBFGS", batch_size=wide.samples // 2)
    spent = per_step(RunConfig(optimizers=(half,), steps=50, data=wide)) - found["compiled_lbfgs_step"]
    found["compiled_lbfgs_sample"] = max((spent - found["curve_sample"] * wide.samples) / half.batch_size, 1e-13)
    step_lr = SchedulerConfig.of("StepLR", step_size=100)
    scheduled = per_step(RunConfig(optimizers=gd, steps=2_000, batch_size=1, data=tiny, scheduler=step_lr))
    found["schedule_step"] = max(scheduled - found["compiled_step"], 1e-12)
    spent = per_step(RunConfig(optimizers=rprop, steps=50, data=wide, scheduler=plateau)) - found["torch_step"]
    found["torch_sample"] = max(spent / wide.samples - found["curve_sample"], 1e-13)
    default = vars(DEFAULT)
    _calibrated = Costs(**{k: min(max(v, default[k] / 4), default[k] * 8) for k, v in found.items()})
    return _calibrated


def _curve_sample(data: DataConfig) -> float:
    """Seconds per sample of one row of the curves' full-data loss: timed on the objective itself,
    over eight of its blocks, the fastest of three."""
    obj, _ = objectives.build(RunConfig(data=data), torch.float32, torch.device("cpu"))
    assert isinstance(obj, objectives.Regression)  # the default config's problem
    rows = 8 * max(1, obj.LOSS_BLOCK // data.samples)
    params = torch.zeros(rows, 1, 2, dtype=torch.float64)
    return max(_fastest(lambda: obj.loss(params), 3) / (rows * data.samples), 1e-13)
