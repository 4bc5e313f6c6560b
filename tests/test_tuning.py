"""The learning-rate sweep against one engine run per (optimizer, learning rate)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lab.app import charts
from lab.core import engine, tuning
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run)

GRID = (1e-3, 1e-2, 0.1, 1.0, 3.0)


@pytest.fixture(scope="module")
def cfg():
    opts = (
        OptimizerConfig.of("GD", lr=0.05),  # 0.05 is not on the grid: it is tried too
        OptimizerConfig.of("Momentum", momentum=0.8),
        OptimizerConfig.of("Adam", betas=(0.8, 0.99)),
        OptimizerConfig("Rprop"),  # a compiled kind of its own, not the generic rule
        OptimizerConfig("Adafactor"),  # a compiled kind too
        OptimizerConfig.of("AdaGrad", scheduler="ReduceLROnPlateau"),  # a schedule reacting to the loss: torch.optim
    )
    return RunConfig(optimizers=opts, steps=150, dtype="float64", data=DataConfig(noise=0.2), seed=5)


@pytest.fixture(scope="module")
def found(cfg):
    return tuning.sweep(cfg, GRID)


def test_every_lane_equals_its_own_run_and_the_best_is_the_best(cfg, found):
    for opt in cfg.optimizers:
        rows = found.table[found.table.optimizer == opt.display]
        tried = sorted({*GRID, opt.kwargs["lr"]})
        assert list(rows.lr) == tried
        scores = {}
        for lr, row in zip(rows.lr, rows.itertuples(), strict=True):
            alone = opt.with_hyperparams(lr=lr)
            res = engine.run(cfg.replace(optimizers=(alone,)))
            lane = res.lanes[0]
            assert row.status == lane.status, (opt.display, lr)
            if lane.final_loss is None:
                assert np.isnan(row.final_loss)
            else:
                assert row.final_loss == pytest.approx(lane.final_loss, rel=1e-9, abs=1e-15)
                scores[lr] = tuning.score(lane, res.min_loss)
        assert found.best[opt.display] == min(scores, key=scores.get), opt.display
        assert list(rows.lr[rows.best]) == [found.best[opt.display]]


def test_a_diverging_learning_rate_is_a_row_never_the_best():
    found = tuning.sweep(RunConfig(optimizers=(OptimizerConfig("GD"),), steps=300), (0.1, 3.0))
    gd = found.table.set_index("lr")
    assert gd.loc[3.0, "status"].startswith("diverged")  # float32 overflows: lr 3 overshoots here
    assert np.isnan(gd.loc[3.0, "final_loss"]) and not gd.loc[3.0, "best"]
    assert found.best == {"GD": 0.5}  # the current lr (the preset's 0.5) was tried and is best


def test_with_best_lrs_keeps_every_other_hyperparameter(cfg, found):
    tuned = tuning.with_best_lrs(cfg, found)
    for before, after in zip(cfg.optimizers, tuned.optimizers, strict=True):
        assert after.kwargs["lr"] == found.best[before.display]
        assert {k: v for k, v in after.kwargs.items() if k != "lr"} == {
            k: v for k, v in before.kwargs.items() if k != "lr"
        }
    assert tuned.steps == cfg.steps and tuned.data == cfg.data and tuned.seed == cfg.seed


def test_lanes_over_the_limit_are_trained_in_chunks(monkeypatch, cfg):
    seen = []
    monkeypatch.setattr(tuning, "MAX_LANES", 3)
    small = tuning.sweep(cfg.replace(steps=20), GRID, progress=seen.append)
    whole = tuning.sweep(cfg.replace(steps=20), GRID)
    assert small.table.drop(columns="status").equals(whole.table.drop(columns="status"))
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_sweep_chart_is_finite_and_marks_each_best(found):
    d = charts.sweep_chart(found.table).to_dict()
    rows = next(iter(d["datasets"].values()))
    assert len(rows) == len(found.table)
    assert all(np.isfinite(r["value"]) and r["value"] > 0 for r in rows)
    assert sum(r["best"] for r in rows) == len(found.best)
    json.dumps(d)  # what Streamlit sends must serialise


def test_lbfgs_is_left_out_with_a_reason_and_keeps_its_rate():
    cfg = RunConfig(optimizers=(OptimizerConfig("Adam"), OptimizerConfig.of("LBFGS", lr=0.5)), steps=50)
    found = tuning.sweep(cfg, GRID)
    assert set(found.table.optimizer) == {"Adam"} and "max_iter" in found.skipped["LBFGS"]
    assert tuning.with_best_lrs(cfg, found).optimizers[1] == cfg.optimizers[1]
    with pytest.raises(ValueError, match="LBFGS: each of its steps"):
        tuning.sweep(cfg.replace(optimizers=(cfg.optimizers[1],)), GRID)
