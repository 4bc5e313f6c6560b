"""Live mode: an edit that leads to a short run retrains and redraws by itself; a long one waits for
Train all and says why; the switch turns it off."""

from __future__ import annotations

import pytest
from apptest_helpers import open_page, table

from lab.app import form, live
from lab.core import cost, optimizers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

pytestmark = pytest.mark.usefixtures("fresh_shared_cache")


def test_the_tutorials_runs_and_every_optimizer_at_30000_steps_are_short_and_a_heavy_run_is_not():
    assert live.is_short(RunConfig())  # 7 × 1 000 steps, compiled
    assert live.is_short(RunConfig(steps=3_000))
    every = tuple(OptimizerConfig(n) for n in optimizers.registry().names())
    assert live.is_short(RunConfig(optimizers=every, steps=30_000))  # every class compiled (issue 21)
    assert not live.is_short(RunConfig(optimizers=every, steps=30_000, repeats=4, data=DataConfig(samples=5_000)))
    assert not live.is_short(RunConfig(optimizers=every, steps=30_000, objective="rosenbrock"))  # LBFGS: torch.optim


def _edit_adam_lr(at, lr: float):
    return at.number_input(key=form.hp_key("Adam", "lr")).set_value(lr).run()


def test_an_edit_retrains_a_short_run_by_itself(engine_calls):
    at = open_page("optimizers", {"run": "1"})
    assert len(engine_calls) == 1
    _edit_adam_lr(at, 0.2)
    assert not at.exception and len(engine_calls) == 2  # no press of Train all
    adam = next(o for o in engine_calls[-1].optimizers if o.name == "Adam")
    assert adam.kwargs["lr"] == 0.2
    shown = table(at).set_index("optimizer")
    assert shown.loc["Adam", "lr"] == 0.2  # the table on screen is the new run's
    at.number_input(key="opt.steps").set_value(1500).run()
    assert len(engine_calls) == 3 and engine_calls[-1].steps == 1500
    at.run()  # a rerun without an edit trains nothing
    assert len(engine_calls) == 3


def test_with_live_off_an_edit_waits_for_train_all(engine_calls):
    at = open_page("optimizers", {"run": "1"})
    at.toggle(key="opt.live").set_value(False).run()
    at.number_input(key="opt.steps").set_value(1500).run()
    assert len(engine_calls) == 1
    at.button(key="opt.btn.train").click().run()
    assert len(engine_calls) == 2 and engine_calls[-1].steps == 1500


def test_an_edit_to_a_long_run_waits_and_says_so(engine_calls, monkeypatch):
    monkeypatch.setattr(live, "LIVE_SECONDS", cost.estimate(RunConfig(steps=2_000)))
    at = open_page("optimizers", {"run": "1"})
    at.number_input(key="opt.steps").set_value(5_000).run()
    assert len(engine_calls) == 1  # too long to retrain on an edit
    assert any("s to train here" in c.value and "press **Train all**" in c.value for c in at.caption)
