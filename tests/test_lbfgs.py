"""LBFGS compiled (lab.core.lbfgs) against torch.optim.LBFGS itself: both line searches, the
history, max_iter / max_eval and the tolerances' early exits, full batch and mini-batches."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from reference import assert_follows_torch, assert_hovers_like_torch, paths, torch_loop

from lab.core import engine, rules
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

WOLFE = {"line_search_fn": "strong_wolfe"}
VARIANTS = [
    OptimizerConfig("LBFGS"),
    OptimizerConfig.of("LBFGS", **WOLFE),
    OptimizerConfig.of("LBFGS", lr=0.5, history_size=3, max_iter=4),
    OptimizerConfig.of("LBFGS", lr=0.05, history_size=2, max_iter=3, tolerance_change=1e-3),  # lack of progress
    OptimizerConfig.of("LBFGS", **WOLFE, history_size=2, max_iter=7),  # max_eval 8: the line search runs out
    OptimizerConfig.of("LBFGS", **WOLFE, lr=0.7, tolerance_grad=1e-3, tolerance_change=1e-4),  # early exits
    # the line search keeps torch's own tolerance_change (1e-9), whatever the optimizer's
    OptimizerConfig.of("LBFGS", **WOLFE, lr=1.5, tolerance_change=0.05),
]
LABELLED = tuple(replace(o, label=f"LBFGS {i}") for i, o in enumerate(VARIANTS))
MINI = tuple(
    replace(o, label=f"LBFGS mini {i}")
    for i, o in enumerate(
        [
            OptimizerConfig.of("LBFGS", lr=0.1, max_iter=2, batch_size=10),
            OptimizerConfig.of("LBFGS", **WOLFE, batch_size=25),
        ]
    )
)


def test_the_regression_steps_lbfgs_compiled_and_a_surface_through_torch_optim(monkeypatch):
    """The comparisons below would pass as well through torch.optim: this one says which ran."""
    through_torch = []
    real = engine._TorchLane
    monkeypatch.setattr(engine, "_TorchLane", lambda lane, *a: through_torch.append(lane.opt.name) or real(lane, *a))
    engine.run(RunConfig(optimizers=(*LABELLED, *MINI), steps=20))
    assert through_torch == []
    engine.run(RunConfig(optimizers=VARIANTS[:1], steps=20, objective="rosenbrock"))
    engine.run(RunConfig(optimizers=VARIANTS[:1], steps=20, scheduler="ReduceLROnPlateau"))  # reacts to the loss
    assert through_torch == ["LBFGS", "LBFGS"]


def test_lbfgs_is_listed_as_compiled_and_runs_so_on_the_regression():
    assert rules.not_compiled("LBFGS", {}) is None
    cfg = RunConfig(optimizers=(OptimizerConfig("LBFGS"),), steps=3)
    obj, starts = engine.objectives.build(cfg, torch.float32, torch.device("cpu"))
    lane = engine._make_lanes(cfg, starts, compiled=True)[0]
    assert engine.lbfgs_compiles(lane, obj, torch.device("cpu"))
    surface = cfg.replace(objective="rosenbrock")
    obj, starts = engine.objectives.build(surface, torch.float32, torch.device("cpu"))
    assert not engine.lbfgs_compiles(engine._make_lanes(surface, starts, compiled=False)[0], obj, torch.device("cpu"))


def _torch_fuses_add_alpha() -> bool:
    """Whether torch's CPU kernels round ``add(x, alpha=s)`` once (its AVX2/AVX-512 builds; not
    ATEN_CPU_CAPABILITY=default), as the compiled loop does."""
    s = 1.0 + 2**-12  # s·s = 1 + 2⁻¹¹ + 2⁻²⁴: rounded alone, its last term is lost
    x, y = torch.tensor([-1.0], dtype=torch.float32), torch.tensor([s], dtype=torch.float32)
    return x.add(y, alpha=s).item() == 2**-11 + 2**-24


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_short_full_batch_runs_are_torch_optims_bit_for_bit(dtype):
    """40 steps of every variant, full batch, where the paths have not turned chaotic: equal where
    torch fuses its multiply-adds as the loop does, else within a few ulps."""
    cfg = RunConfig(optimizers=LABELLED, steps=40, dtype=dtype, data=DataConfig(noise=0.3), seed=3)
    tol = 0.0 if _torch_fuses_add_alpha() else {"float64": 1e-12, "float32": 1e-5}[dtype]
    for ours, opt in zip(paths(engine.run(cfg)), cfg.optimizers, strict=True):
        np.testing.assert_allclose(ours, torch_loop(cfg, opt), rtol=0, atol=tol, err_msg=opt.display)


def test_uncompiled_lbfgs_still_steps_through_torch_optim(monkeypatch):
    monkeypatch.setattr(engine, "COMPILED_ON_CPU", False)
    cfg = RunConfig(optimizers=LABELLED[:2], steps=20, dtype="float64", seed=3)
    for ours, opt in zip(paths(engine.run(cfg)), cfg.optimizers, strict=True):
        np.testing.assert_array_equal(ours, torch_loop(cfg, opt), err_msg=opt.display)


@pytest.mark.numeric
@pytest.mark.parametrize("scheduler", [None, "StepLR"])
def test_lbfgs_in_float64_follows_torch_optim_at_every_step(scheduler):
    """1 000 steps within 1e-10 of torch.optim up to the horizon (``reference.horizon``), then the
    same hover; mini-batches too (where the horizon comes early: LBFGS on a few samples jumps)."""
    opts = LABELLED + MINI
    cfg = RunConfig(
        optimizers=opts, steps=1_000, dtype="float64", data=DataConfig(noise=0.3), seed=3, scheduler=scheduler
    )
    for ours, opt in zip(paths(engine.run(cfg)), cfg.optimizers, strict=True):
        assert_follows_torch(ours, cfg, opt, 1e-10, label=f"{opt.display} {scheduler}")


@pytest.mark.numeric
@pytest.mark.parametrize("data", [DataConfig(), DataConfig(noise=0.1, true_w=-1.5, true_b=2.0)], ids=["clean", "noisy"])
def test_long_float32_lbfgs_runs_round_like_torch_optim(data):
    cfg = RunConfig(optimizers=LABELLED[:2], steps=20_000, data=data, seed=11)
    res = engine.run(cfg)
    for ours, opt in zip(paths(res), cfg.optimizers, strict=True):
        assert_hovers_like_torch(ours, torch_loop(cfg, opt), res.optimum, opt.display, adaptive=True)
