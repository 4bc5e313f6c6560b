"""Honest statuses, the verdict above the chart, and a table that marks only real differences."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_helpers import open_page, table

from lab.app import tables, verdict
from lab.core import engine
from lab.core.config import OptimizerConfig, RunConfig


@pytest.fixture(scope="module")
def default_run():
    return engine.run(RunConfig())


@pytest.fixture(scope="module")
def hover_run():
    """The 'hover' experiment's run: GD settles, RMSProp circles, Adam settles and then jumps about."""
    opts = (OptimizerConfig("GD"), OptimizerConfig("RMSProp"), OptimizerConfig("Adam"))
    return engine.run(RunConfig(optimizers=opts, steps=20_000))


def _excess(lane, res):
    return lane.loss - res.min_loss


def test_statuses_follow_the_loss_over_the_run(hover_run):
    tol, steps = hover_run.config.tol, hover_run.config.steps
    for lane in hover_run.lanes:
        within = _excess(lane, hover_run) <= tol
        assert lane.first_within == int(np.argmax(within))  # each got there at some point
        stays = within[steps - steps // 10 :].all()
        assert lane.settled == stays, lane.optimizer
        assert lane.status == ("converged" if stays else "hovering"), lane.optimizer
    assert hover_run.lane("Adam").status == "hovering"  # the table said "converged" at 19 972 of 20 000
    not_yet = engine.run(RunConfig(optimizers=(OptimizerConfig("AdaGrad"),), steps=20)).lanes[0]
    assert not_yet.first_within is None and not_yet.status == "stopped at max steps"
    assert tables.status_word(not_yet) == "not yet"


def test_a_lane_that_arrives_late_and_stays_has_converged():
    """Within tolerance only from the last tenth of the run, but never out again once in."""
    res = engine.run(RunConfig(optimizers=(OptimizerConfig("GD"),), steps=95))  # GD arrives at step 89
    lane = res.lanes[0]
    assert lane.steps_to_tol > 0.9 * 95 and lane.steps_to_tol == lane.first_within
    assert lane.status == "converged"


def test_the_verdict_names_who_settled_first_and_who_did_not(default_run, hover_run):
    first = min(default_run.lanes, key=lambda ln: ln.steps_to_tol)
    text = verdict.verdict(default_run)
    assert text.startswith(f"At these learning rates **{first.optimizer}** settled")
    assert f"in {first.steps_to_tol:,} steps" in text
    assert "**Tune learning rates**" in text  # every optimizer at its default rate
    hover = verdict.verdict(hover_run)
    assert "**GD** alone settled" in hover
    assert "**RMSProp** and **Adam** get there but do not stay" in hover


def test_the_verdict_says_diverged_and_not_yet_and_drops_the_tune_pointer_off_the_defaults():
    opts = (OptimizerConfig.of("GD", lr=5.0), OptimizerConfig("AdaGrad"))
    res = engine.run(RunConfig(optimizers=opts, steps=50))
    text = verdict.verdict(res)
    gd = res.lane("GD")
    assert "no optimizer settled" in text
    assert "**AdaGrad** is not there yet after 50 steps" in text
    assert f"Diverged (GD at step {gd.diverged_at})" in text
    assert "Tune" not in text


def _marked(table_frame, res) -> set[tuple[str, str]]:
    styler = tables.styled(table_frame, res)
    styler._compute()
    return {(table_frame.iloc[r]["optimizer"], table_frame.columns[c]) for (r, c), css in styler.ctx.items() if css}


def test_best_marks_only_values_apart_beyond_the_precisions_rounding(default_run, hover_run):
    # The default run: every final loss and error is float32 rounding (1e-14 … 1e-12): nothing to mark
    # there; only the steps to tolerance differ.
    t = tables.results_table(default_run)
    first = min(default_run.lanes, key=lambda ln: ln.steps_to_tol).optimizer
    assert _marked(t, default_run) == {(first, "steps to tol")}
    # Without the run's precision any difference counts: the old marks.
    assert ("Momentum", "final loss") in _marked(t, None)
    # On the saddle every final loss is -1.000000 up to its last bits: none is green.
    saddle = engine.run(RunConfig(steps=1_000, objective="saddle"))
    assert not {c for _, c in _marked(tables.results_table(saddle), saddle)} & {"final loss", "|w − w at the minimum|"}
    # GD settled and RMSProp circles far above the floor: GD's loss and errors are marked. (Adam, which
    # jumps about near the floor, may end a run at any height: it is left out.)
    gd_rms = engine.run(hover_run.config.replace(optimizers=hover_run.config.optimizers[:2]))
    marks = _marked(tables.results_table(gd_rms), gd_rms)
    assert {("GD", "final loss"), ("GD", "|w − true w|"), ("GD", "|b − true b|")} <= marks


def test_best_row_needs_a_margin_over_the_runner_up():
    import pandas as pd

    assert tables.best_row(pd.Series([1.0, 2.0, 3.0])) == 0
    assert tables.best_row(pd.Series([2.0, 1.0, 1.0])) is None  # a tie is no best
    assert tables.best_row(pd.Series([1.0, 1.5]), margin=1.0) is None
    assert tables.best_row(pd.Series([1.0, 1.0 + 1e-9]), relative=1e-6) is None
    assert tables.best_row(pd.Series([np.nan, 1.0])) is None  # one value: nothing to beat


def test_a_time_shared_by_batched_optimizers_is_said_once(default_run):
    assert tables.shared_ms(default_run) == pytest.approx(1000 * default_run.lanes[0].seconds)
    assert "time (ms)" not in tables.results_table(default_run).columns
    apart = engine.run(RunConfig(optimizers=(OptimizerConfig("GD"), OptimizerConfig("LBFGS")), steps=20))
    assert tables.shared_ms(apart) is None and "time (ms)" in tables.results_table(apart).columns


def test_the_page_puts_the_verdict_above_the_chart_and_calls_adam_hovering():
    at = open_page("optimizers", {"exp": "hover"})
    assert not at.exception
    said = [m.value for m in at.markdown if m.value.startswith("At these learning rates")]
    assert len(said) == 1 and "**RMSProp** and **Adam** get there but do not stay" in said[0]
    shown = table(at).set_index("optimizer")
    assert shown.loc["Adam", "status"] == "hovering" and shown.loc["GD", "status"] == "converged"
