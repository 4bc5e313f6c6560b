"""The kinds of rule that only the compiled loop runs (AMSGrad, centered or momentum RMSprop,
Adamax, Adadelta, Rprop, Adafactor) against torch.optim itself, and where they run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from reference import LONG_DATA, assert_follows_torch, assert_hovers_like_torch, long_float32, paths, torch_loop

from lab.core import engine, objectives, rules
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

NEW_KINDS = [  # every kind, with default and non-default hyperparameters, full batch and mini-batches
    OptimizerConfig.of("Adam", amsgrad=True),
    OptimizerConfig.of("Adam", amsgrad=True, weight_decay=0.05, betas=(0.8, 0.99), batch_size=16),
    OptimizerConfig.of("Adam", amsgrad=True, weight_decay=0.05, decoupled_weight_decay=True, eps=1e-6),
    OptimizerConfig.of("AdamW", amsgrad=True, weight_decay=0.1, batch_size=7),
    OptimizerConfig.of("RMSProp", centered=True),
    OptimizerConfig.of("RMSProp", momentum=0.5, batch_size=5),
    OptimizerConfig.of("RMSProp", centered=True, momentum=0.9, alpha=0.9, lr=0.005, weight_decay=0.01, batch_size=3),
    OptimizerConfig("Adamax"),
    OptimizerConfig.of("Adamax", betas=(0.8, 0.99), lr=0.05, weight_decay=0.05, eps=1e-6, batch_size=10),
    OptimizerConfig("Adadelta"),
    OptimizerConfig.of("Adadelta", rho=0.95, eps=1e-5, lr=0.5, weight_decay=0.01, batch_size=8),
    OptimizerConfig("Rprop"),
    OptimizerConfig.of("Rprop", etas=(0.3, 1.5), step_sizes=(1e-4, 1.0), batch_size=10),
    OptimizerConfig("Adafactor"),  # the weight 2-D (factored variances), the bias 1-D: both shapes each step
    OptimizerConfig.of("Adafactor", lr=0.5, beta2_decay=-0.5, d=2.0, weight_decay=0.05, batch_size=10),
    OptimizerConfig.of("Adafactor", lr=0.02, beta2_decay=-0.95, batch_size=3),  # its update clipped at d = 1
]
LABELLED = tuple(replace(o, label=f"{o.name} kind {i}") for i, o in enumerate(NEW_KINDS))


def test_each_variant_has_a_kind_of_its_own_only_for_the_compiled_loop():
    for opt in NEW_KINDS:
        assert rules.rule_for(opt.spec.torch_class, opt.kwargs) is None, opt.display  # elsewhere: torch.optim
        rule = rules.rule_for(opt.spec.torch_class, opt.kwargs, compiled=True)
        assert rule is not None and rule.kind != rules.GENERIC and len(rule.consts) <= rules.KIND_CONSTS
        assert rules.not_compiled(opt.spec.torch_class, opt.kwargs) is None
    plain = OptimizerConfig("RMSProp")  # plain RMSprop and Adam stay the generic rule's
    assert rules.rule_for(plain.spec.torch_class, plain.kwargs, compiled=True).kind == rules.GENERIC
    assert rules.not_compiled("LBFGS", {}) is None  # a compiled loop of its own (tests/test_lbfgs.py)


def test_a_stack_of_other_kinds_refuses_to_run_uncompiled(monkeypatch):
    """Only the compiled loop has them: the NumPy and tensor loops would step them as the generic rule."""
    monkeypatch.setattr(engine, "COMPILED_ON_CPU", False)
    cfg = RunConfig(optimizers=(OptimizerConfig("Adamax"),), steps=5)
    obj, starts = objectives.build(cfg, torch.float64, torch.device("cpu"))
    lane = engine._make_lanes(cfg, starts, compiled=True)[0]
    with pytest.raises(ValueError, match="compiled loop"):
        engine._Stacked([lane], obj, {}, 5, torch.float64, torch.device("cpu"))


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "torch.optim"])
def test_a_short_run_of_every_kind_is_torch_optims(monkeypatch, compiled):
    """200 float64 steps, compiled and (without Numba) through torch.optim: torch's path within 1e-12."""
    monkeypatch.setattr(engine, "COMPILED_ON_CPU", compiled)
    cfg = RunConfig(optimizers=LABELLED, steps=200, dtype="float64", data=DataConfig(noise=0.3), seed=3)
    for ours, opt in zip(paths(engine.run(cfg)), cfg.optimizers, strict=True):
        np.testing.assert_allclose(ours, torch_loop(cfg, opt), rtol=0, atol=1e-12, err_msg=opt.display)


@pytest.mark.numeric
@pytest.mark.parametrize("scheduler", [None, "CosineAnnealingLR", "StepLR"])
def test_every_kind_in_float64_is_torch_optim_at_every_step(scheduler):
    """1 000 steps within 1e-10 of torch.optim's (measured: within a few ulps) up to the step from which
    a last-bit difference grows (``reference.horizon``: a lane hovering about the optimum turns it into
    a different but equally valid path; torch's own generic build, which does not fuse its
    multiply-adds, parts there from its AVX2 build), then the same hover; constant rates, and schedules
    whose rates the lane reads from the schedule's table."""
    cfg = RunConfig(
        optimizers=LABELLED, steps=1_000, dtype="float64", data=DataConfig(noise=0.3), seed=3, scheduler=scheduler
    )
    for ours, opt in zip(paths(engine.run(cfg)), cfg.optimizers, strict=True):
        assert_follows_torch(ours, cfg, opt, 1e-10, label=f"{opt.display} {scheduler}")


DEFAULTS = (*LABELLED[0:1], LABELLED[4], LABELLED[5], LABELLED[7], LABELLED[9], LABELLED[11], LABELLED[13])


@pytest.fixture(scope="module")
def long_runs():
    return long_float32(DEFAULTS)


@pytest.mark.numeric
@pytest.mark.parametrize("label", [o.display for o in DEFAULTS])
@pytest.mark.parametrize("data", LONG_DATA)
def test_long_float32_runs_of_every_kind_round_like_torch_optim(long_runs, data, label):
    """Over 20 000 float32 steps, as the generic rule's lanes: torch's path until the rounding regime,
    then the same hovering."""
    ours, ref, optimum = long_runs[data, label]
    assert_hovers_like_torch(ours, ref, optimum, label, adaptive=True)


@pytest.mark.numeric
@pytest.mark.parametrize("scheduler", [None, "CosineAnnealingLR"])
def test_asgd_steps_with_the_float32_rate_torch_keeps(scheduler):
    """torch keeps ASGD's η in a 0-d float32 tensor and steps with its value: the generic rule rounds
    η so too, and float64 lanes follow torch.optim within 1e-10 (with η in float64 they parted by
    about 1e-8). Its running average ``ax`` changes no parameter: the lab shows w and b, as torch's
    parameters are, and *Explain a step* shows ``ax`` from torch's own state."""
    opts = (
        OptimizerConfig("ASGD"),
        OptimizerConfig.of("ASGD", t0=10.0, lambd=0.01, alpha=0.5, weight_decay=0.01, batch_size=4),
    )
    opts = tuple(replace(o, label=f"ASGD {i}") for i, o in enumerate(opts))
    cfg = RunConfig(
        optimizers=opts, steps=1_000, dtype="float64", data=DataConfig(noise=0.3), seed=3, scheduler=scheduler
    )
    for ours, opt in zip(paths(engine.run(cfg)), cfg.optimizers, strict=True):
        assert_follows_torch(ours, cfg, opt, 1e-10, label=f"{opt.display} {scheduler}")
