"""Each guided experiment's stated result, checked against the engine's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from lab.app import experiments
from lab.core import engine, tuning
from lab.core.results import RunResult


def _excess(res: RunResult, name: str) -> float:
    lane = res.lane(name)
    return lane.final_loss - (res.min_loss or 0.0)


def check_valley(res: RunResult) -> None:
    assert res.lane("GD").diverged_at is not None and res.lane("Momentum").diverged_at is not None
    assert res.lane("Adam").status == "converged"
    tuned = engine.run(tuning.with_best_lrs(res.config, tuning.sweep(res.config)))
    assert tuned.lane("Momentum").status == "converged"
    assert tuned.lane("GD").status == "stopped at max steps" and _excess(tuned, "GD") > 0.01  # crawling


def check_noise(res: RunResult) -> None:
    assert res.lane("GD").status == "converged"
    assert _excess(res, "SGD") > 10 * _excess(res, "Mini-batch SGD") > 1e3 * _excess(res, "GD")


def _escape(res: RunResult, name: str) -> int:
    """The first step at which b is above 1: away from the saddle, into the valley at b = √2."""
    return int(np.argmax(res.lane(name).b > 1.0))


def check_saddle(res: RunResult) -> None:
    assert _escape(res, "GD") > 300 and _escape(res, "Momentum") < 100 and _escape(res, "RMSProp") < 20
    tol = {ln.optimizer: ln.steps_to_tol for ln in res.lanes}
    assert None not in tol.values() and max(tol, key=tol.get) == "RMSProp"
    assert tol["Adam"] < tol["RMSProp"] / 2


def check_far(res: RunResult) -> None:
    assert res.lane("Momentum").status == "converged" and abs(res.lane("Momentum").w[100] - 20) < 0.5
    assert res.lane("GD").status == "stopped at max steps"
    assert _excess(res, "AdaGrad") > 1.0 > _excess(res, "Adam") > _excess(res, "GD")


CHECKS = {"valley": check_valley, "noise": check_noise, "saddle": check_saddle, "far": check_far}


def test_every_experiment_has_a_check():
    assert set(CHECKS) == {e.key for e in experiments.EXPERIMENTS}


@pytest.mark.parametrize("key", [e.key for e in experiments.EXPERIMENTS])
def test_experiment_opens_cleanly_and_shows_what_it_says(key):
    state = experiments.get(key).state()
    assert state.notices == [] and state.autorun
    CHECKS[key](engine.run(state.config))


def test_unknown_experiment_names_the_choices():
    with pytest.raises(ValueError, match="choices: valley, noise"):
        experiments.get("nope")
