"""Learning-rate schedules on the Optimizers page (AppTest): the selector, its parameters, one per
optimizer, the rate chart, the link and the table against the engine."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_helpers import open_page, open_tab, result_tabs, table

from lab.app import charts, form
from lab.app.query import PageState, to_query
from lab.core import caches, engine
from lab.core.config import OptimizerConfig, RunConfig, SchedulerConfig


@pytest.fixture(autouse=True)
def fresh_shared_cache():
    caches.clear_all()
    yield
    caches.clear_all()


def _charts(at) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _has_rate_chart(at) -> bool:
    return any(c.get("layer", [{}])[0].get("encoding", {}).get("y", {}).get("field") == "lr" for c in _charts(at))


def test_a_schedule_chosen_in_the_form_trains_draws_the_rates_and_travels_in_the_link(engine_calls):
    at = open_page("optimizers")
    assert not at.exception and not _has_rate_chart(at)
    at.selectbox(key=form.sched_key(form.ALL)).set_value("CosineAnnealingLR").run()
    at.number_input(key=form.sched_key(form.ALL, "CosineAnnealingLR", "eta_min")).set_value(0.001).run()
    at.button(key="opt.btn.train").click().run()
    assert not at.exception
    cfg = engine_calls[-1]
    assert cfg.scheduler == SchedulerConfig.of("CosineAnnealingLR", eta_min=0.001)
    assert cfg.scheduler.kwargs(cfg.steps)["T_max"] == cfg.steps  # left empty: the run's steps
    shown = table(at).set_index("optimizer")
    res = engine.run(cfg)
    for lane in res.lanes:
        assert shown.loc[lane.optimizer, "w"] == lane.final_w
    assert "Schedule" in result_tabs(at) and not _has_rate_chart(at)  # in its own tab, computed when opened
    assert _has_rate_chart(open_tab(at, "Schedule"))
    # Live: each edit retrained (the schedule at its defaults, then with eta_min); Train all found the last
    schedules = at.session_state["opt.store"].history()["schedule"].tolist()
    assert schedules == ["CosineAnnealingLR:eta_min=0.001", "CosineAnnealingLR"]  # the newest first
    link = at.text_input(key="opt.share_link").value
    assert "sched=CosineAnnealingLR%3Aeta_min%3D0.001" in link


def test_one_schedule_per_optimizer(engine_calls):
    at = open_page("optimizers")
    at.multiselect(key="opt.selected").set_value(["GD", "Adam"]).run()
    at.toggle(key=form.EACH).set_value(True).run()
    at.selectbox(key=form.sched_key("Adam")).set_value("StepLR").run()
    at.number_input(key=form.sched_key("Adam", "StepLR", "step_size")).set_value(100).run()
    at.button(key="opt.btn.train").click().run()
    assert not at.exception
    cfg = engine_calls[-1]
    assert cfg.scheduler is None
    assert [o.scheduler for o in cfg.optimizers] == [None, SchedulerConfig.of("StepLR", step_size=100)]
    assert "Adam.sched=StepLR%3Astep_size%3D100" in at.text_input(key="opt.share_link").value


def test_a_link_with_a_schedule_fills_the_form_and_trains_it():
    cfg = RunConfig(
        optimizers=(OptimizerConfig("Momentum"), OptimizerConfig("Adam")),
        steps=600,
        scheduler=SchedulerConfig.of("MultiStepLR", milestones=(200, 400), gamma=0.5),
    )
    at = open_page("optimizers", query=to_query(PageState(cfg)))
    assert not at.exception
    assert at.selectbox(key=form.sched_key(form.ALL)).value == "MultiStepLR"
    assert at.text_input(key=form.sched_key(form.ALL, "MultiStepLR", "milestones")).value == "200, 400"
    shown = table(at).set_index("optimizer")
    res = engine.run(cfg)
    assert shown.loc["Adam", "w"] == res.lane("Adam").final_w
    assert res.lane("Adam").lr[199] == 0.05 and res.lane("Adam").lr[200] == 0.025


def test_a_bad_schedule_value_is_a_clear_error_and_keeps_the_run():
    at = open_page("optimizers")
    at.button(key="opt.btn.train").click().run()
    at.selectbox(key=form.sched_key(form.ALL)).set_value("MultiStepLR").run()
    at.text_input(key=form.sched_key(form.ALL, "MultiStepLR", "milestones")).set_value("300, abc").run()
    assert not at.exception
    assert any("MultiStepLR.milestones" in e.value for e in at.error)
    assert len(at.table) >= 1  # the earlier run is still on screen
    at.text_input(key=form.sched_key(form.ALL, "MultiStepLR", "milestones")).set_value("300, 200").run()
    assert any("must be increasing" in e.value for e in at.error)


def test_the_rate_chart_is_bounded_and_marks_the_schedule():
    cfg = RunConfig(steps=30_000, scheduler="CosineAnnealingWarmRestarts")
    res = engine.run(cfg)
    df = charts.lr_frame([("", res)])
    assert df.groupby("series").size().max() <= charts.MAX_POINTS
    assert set(df["schedule"]) == {"CosineAnnealingWarmRestarts"}
    adam = df[df["series"] == "Adam"]
    assert adam["lr"].max() == 0.05 and adam["lr"].min() < 1e-6  # each restart's top and bottom survive
    restarts = np.flatnonzero(np.diff(adam["lr"].to_numpy()) > 0.04)
    assert len(restarts) == 3  # T_0 = a quarter of the run: three restarts
    charts.lr_chart([("", res)]).to_dict()  # a valid Vega-Lite spec
    assert not charts.scheduled([("", engine.run(RunConfig(steps=10)))])
