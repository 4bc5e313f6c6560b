"""The Optimizers page through Streamlit's AppTest: Train all and Tune against the engine, surfaces,
experiment links, the share link, the caches, downloads, URL parameters and the run history."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import MediaCapture, open_page, open_tab, result_tabs, table

from lab.app import experiments, tables
from lab.app.query import PageState, to_query
from lab.core import engine, optimizers, reproduce, tuning
from lab.core.config import DataConfig, OptimizerConfig, RunConfig
from lab.core.results import SUMMARY_COLUMNS, config_from_summary

pytestmark = pytest.mark.usefixtures("fresh_shared_cache")  # no run found in a cache another test filled


def _train(at):
    at.button(key="opt.btn.train").click().run()
    assert not at.exception
    return at


def _by_optimizer(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("optimizer")


def test_train_all_table_equals_the_engine():
    at = _train(open_page("optimizers"))
    shown = _by_optimizer(table(at))
    res = engine.run(RunConfig())
    assert len(shown) == 7 and set(shown.index) == {ln.optimizer for ln in res.lanes}
    for lane in res.lanes:
        row = shown.loc[lane.optimizer]
        assert row["w"] == lane.final_w and row["b"] == lane.final_b and row["final loss"] == lane.final_loss
        assert row["steps to tolerance"] == lane.steps_to_tol and row["status"] == "converged"
    assert len(at.get("vega_lite_chart")) == 1  # the loss curves; the table is the open tab
    assert result_tabs(at) == ["Table", "Fit", "Paths", "Explain a step", "Downloads & history"]
    assert len(open_tab(at, "Fit").get("vega_lite_chart")) == 2 and not at.exception  # and the fit


def test_tune_sets_each_best_learning_rate_and_train_all_uses_them(monkeypatch, engine_calls):
    sweeps = []
    real = tuning.sweep
    monkeypatch.setattr(tuning, "sweep", lambda cfg, *a, **kw: sweeps.append(cfg) or real(cfg, *a, **kw))
    at = open_page("optimizers")
    at.button(key="opt.btn.tune").click().run()
    assert not at.exception
    retrained = engine_calls[-1]
    expected = real(RunConfig())
    for name, lr in expected.best.items():
        assert at.session_state[f"opt.hp.{name}.lr"] == lr, name
    assert retrained == tuning.with_best_lrs(RunConfig(), expected)  # Live: the best rates retrained by themselves
    at = _train(at)  # and Train all trains (finds) the same
    shown = _by_optimizer(table(at))
    for lane in engine.run(tuning.with_best_lrs(RunConfig(), expected)).lanes:
        assert shown.loc[lane.optimizer, "final loss"] == lane.final_loss, lane.optimizer
    assert any("A ranking holds for these learning rates only" in (c.help or "") for c in at.caption)
    assert "Sweep" in result_tabs(at)
    open_tab(at, "Sweep")
    assert len(at.get("vega_lite_chart")) == 1 + 1  # the loss chart, and the sweep
    assert any("set to its best" in m.value for m in at.markdown)
    assert not any("From earlier settings" in c.value for c in at.caption)  # it describes the form
    at.number_input(key="opt.steps").set_value(500).run()
    assert any("From earlier settings" in c.value for c in at.caption)
    other = open_page("optimizers")  # another visitor, same settings: the sweep is not run again
    other.button(key="opt.btn.tune").click().run()
    assert len(sweeps) == 1 and other.session_state["opt.hp.Adam.lr"] == expected.best["Adam"]


@pytest.mark.parametrize("problem", ["rosenbrock", "saddle"])
def test_a_surface_trains_shows_paths_and_travels_in_the_link(problem):
    at = open_page("optimizers")
    at.toggle(key="opt.live").set_value(False).run()  # the surface before training (Live would train it)
    at.selectbox(key="opt.problem").set_value(problem).run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 1  # the surface, before training
    assert at.number_input(key="opt.batch").disabled  # no data: no batches
    at = _train(at)
    assert len(at.get("vega_lite_chart")) == 2  # loss and paths: on a surface the Paths tab opens first
    assert result_tabs(at) == ["Paths", "Table", "Explain a step", "Downloads & history"]
    shown = _by_optimizer(table(open_tab(at, "Table")))
    for lane in engine.run(RunConfig(objective=problem)).lanes:
        assert shown.loc[lane.optimizer, "status"] == tables.status_word(lane)
        if lane.final_loss is not None:
            assert shown.loc[lane.optimizer, "final loss"] == lane.final_loss
    link = at.text_input(key="opt.share_link").value
    assert f"problem={problem}" in link
    fresh = open_page("optimizers", query=dict(parse_qsl(urlsplit(link).query)))
    assert not fresh.exception and fresh.selectbox(key="opt.problem").value == problem
    pd.testing.assert_frame_equal(table(open_tab(fresh, "Table")), table(at))


def test_tuning_only_lbfgs_is_a_clear_error_not_an_exception():
    at = open_page("optimizers")
    at.multiselect(key="opt.selected").set_value(["LBFGS"]).run()
    at.button(key="opt.btn.tune").click().run()
    assert not at.exception
    assert any("Cannot tune" in e.value and "max_iter" in e.value for e in at.error)


def test_an_experiment_link_loads_trains_and_says_what_to_look_for():
    at = open_page("optimizers", query={"exp": "saddle"})
    saddle = experiments.get("saddle")
    assert not at.exception and at.session_state["opt.problem"] == "saddle"
    assert any(saddle.look_for[:40] in i.value for i in at.info)
    shown = _by_optimizer(table(open_tab(at, "Table")))
    assert list(shown.index) != [] and set(shown.index) == {"GD", "Momentum", "RMSProp", "Adam"}
    for lane in engine.run(saddle.state().config).lanes:
        assert shown.loc[lane.optimizer, "final loss"] == lane.final_loss
    # A second experiment's link in the same session replaces the settings, sidebar data included.
    at.query_params.clear()
    at.query_params["exp"] = "far"
    at.run()
    assert not at.exception and at.session_state["shared.true_w"] == 20.0
    assert any("A target far from the start" in i.value for i in at.info)
    assert set(_by_optimizer(table(at)).index) == {"GD", "Momentum", "AdaGrad", "Adam"}


def test_the_share_box_always_holds_the_run_on_screen():
    at = open_page("optimizers")
    at.number_input(key="opt.steps").set_value(300)
    at = _train(at)
    assert "steps=300" in at.text_input(key="opt.share_link").value
    at.number_input(key="opt.steps").set_value(600)
    at = _train(at)
    assert "steps=600" in at.text_input(key="opt.share_link").value
    # A guided experiment loaded in the same session: its own link, which reopens its explanation.
    at.query_params.clear()
    at.query_params["exp"] = "saddle"
    at.run()
    assert not at.exception and at.text_input(key="opt.share_link").value.endswith("?exp=saddle")


def test_a_link_over_the_apps_step_limit_says_so_and_how_to_run_bigger():
    at = open_page("optimizers", query={"steps": "99999", "opt": "Adamm,GD"})
    notices = [w.value for w in at.warning]
    assert any(
        "steps = 99,999" in n and "50,000 (LAB_MAX_STEPS)" in n and "python -m lab compare --steps 99999" in n
        for n in notices
    )
    assert at.number_input(key="opt.steps").value == 50_000
    assert any("Adamm" in n for n in notices)
    at.number_input(key="opt.steps").set_value(100)
    at = _train(at)  # the notices were about the link: gone once the learner trains their own
    assert not any("Adamm" in w.value or "99,999" in w.value for w in at.warning)


def test_the_noisy_data_experiment_opens_on_the_excess_loss_it_talks_about():
    at = open_page("optimizers", query={"exp": "noise"})
    assert not at.exception and at.radio(key="opt.measure").value == "excess"
    layers = json.loads(at.get("vega_lite_chart")[0].proto.spec)["layer"]
    assert "loss − best possible loss" in [layer.get("encoding", {}).get("y", {}).get("title") for layer in layers]


def _order(at) -> list[str]:
    """The page's elements top to bottom, as 'kind:text-or-key'."""
    out = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            label = getattr(child, "value", None) if child.type in ("subheader", "markdown") else None
            out.append(f"{child.type}:{label if isinstance(label, str) else getattr(child, 'key', '')}")
            walk(child)

    walk(at.main if hasattr(at, "main") else at)
    return out


def test_the_results_sit_beside_the_controls_and_train_all():
    at = open_page("optimizers", query={"exp": "saddle"})
    # the workspace: a column with the controls and Train all, and the results in another beside it
    left = next(c for c in at.main.columns if any(e.endswith(":opt.problem") for e in _order(c)))
    right = next(c for c in at.main.columns if any(e.startswith("subheader:Results") for e in _order(c)))
    order = _order(left)
    assert not any(e.endswith(":opt.problem") for e in _order(right))
    train = next(i for i, e in enumerate(order) if e.endswith(":opt.btn.train"))
    assert train < next(i for i, e in enumerate(order) if e.endswith(":opt.problem"))  # Train above its form
    assert not at.expander or not at.expander[0].proto.expanded  # nothing opened above the workspace


def test_an_unknown_experiment_is_a_notice():
    at = open_page("optimizers", query={"exp": "nope"})
    assert not at.exception and any("Ignored exp='nope'" in w.value for w in at.warning)


def test_second_identical_request_comes_from_the_session_cache(engine_calls):
    at = _train(open_page("optimizers"))
    first = table(at)
    _train(at)
    assert len(engine_calls) == 1
    store = at.session_state["opt.store"]
    assert store.trained == 1 and store.hits == 1 and len(store.entries) == 1
    assert any("shown again from this session's history" in m.value for m in at.toast)
    pd.testing.assert_frame_equal(table(at), first)  # (the time shared by the batch is said once, not a column)


def test_sessions_share_results_of_equal_configs(engine_calls):
    _train(open_page("optimizers"))
    other = _train(open_page("optimizers"))
    assert len(engine_calls) == 1
    entry = next(iter(other.session_state["opt.store"].entries.values()))
    assert entry.source == "shared cache"
    assert any("already trained on this server" in m.value for m in other.toast)


def test_changed_settings_train_again(engine_calls):
    at = _train(open_page("optimizers"))
    at.number_input(key="opt.steps").set_value(400).run()
    _train(at)
    assert len(engine_calls) == 2 and engine_calls[1].steps == 400
    assert len(at.session_state["opt.store"].entries) == 2


def test_downloaded_csv_parses_and_matches_the_table(monkeypatch):
    media = MediaCapture(monkeypatch)
    at = _train(open_page("optimizers"))
    shown = _by_optimizer(table(at))
    buttons = {b.proto.label: b for b in open_tab(at, "Downloads & history").get("download_button")}
    summary = pd.read_csv(io.BytesIO(media.of(buttons["Summary CSV"])))
    assert list(summary.columns) == ["run_id", *SUMMARY_COLUMNS]
    assert config_from_summary(summary, run_id=1) == RunConfig()  # the CSV alone reproduces the run
    for _, row in summary.iterrows():
        assert row["w"] == shown.loc[row["optimizer"], "w"] and row["b"] == shown.loc[row["optimizer"], "b"]
        assert row["final_loss"] == pytest.approx(shown.loc[row["optimizer"], "final loss"], rel=1e-15)
    curves = pd.read_csv(io.BytesIO(media.of(buttons["Curves CSV"])))
    assert list(curves.columns) == ["run_id", "optimizer", "repeat", "step", "loss", "w", "b", "lr", "scheduler"]
    assert len(curves) == 7 * 1001
    every = pd.read_csv(io.BytesIO(media.of(buttons["All runs: summary CSV"])))
    assert set(every["run_id"]) == {1}
    script = media.of(buttons["PyTorch script"]).decode()  # the command line's reproduce.py of the same run
    assert script == reproduce.script(engine.run(RunConfig()))


def test_url_query_reproduces_the_configuration():
    cfg = RunConfig(
        optimizers=(
            OptimizerConfig.of("Adam", lr=0.1, betas=(0.8, 0.99)),
            OptimizerConfig("Mini-batch SGD"),
            OptimizerConfig("LBFGS"),
        ),
        steps=700,
        batch_size=5,
        seed=11,
        data=DataConfig(samples=40, noise=0.2, true_w=-2.0, true_b=1.5),
    )
    at = open_page("optimizers", query=to_query(PageState(cfg)))
    assert not at.exception
    assert at.multiselect(key="opt.selected").value == ["Adam", "Mini-batch SGD", "LBFGS"]
    assert at.number_input(key="opt.steps").value == 700
    assert at.sidebar.number_input(key="shared.seed").value == 11
    shown = _by_optimizer(table(at))  # the link trains on opening
    res = engine.run(cfg)
    for lane in res.lanes:
        assert shown.loc[lane.optimizer, "w"] == lane.final_w
        assert shown.loc[lane.optimizer, "final loss"] == lane.final_loss
    assert at.query_params["seed"] == ["11"] or at.query_params["seed"] == "11"


def test_bad_url_parameters_fall_back_with_a_visible_notice():
    at = open_page(
        "optimizers",
        query={
            "steps": "lots",
            "opt": "Adam,Nope",
            "Adam.lr": "-3",
            "colour": "red",
            "device": "cuda:9",
            "samples": "1",
        },
    )
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    for needle in ("steps='lots'", "'Nope'", "Adam.lr", "'colour'", "cuda:9", "samples"):
        assert needle in text, needle
    assert at.number_input(key="opt.steps").value == 1000
    assert at.multiselect(key="opt.selected").value == ["Adam"]
    assert at.sidebar.selectbox(key="shared.device").value == "cpu"


def test_a_diverging_learning_rate_is_a_row_not_a_crash():
    at = open_page("optimizers")
    at.toggle(key="opt.same_lr_on").set_value(True).run()
    at.number_input(key="opt.same_lr").set_value(1.5).run()
    _train(at)
    statuses = table(at)["status"].tolist()
    assert any(s.startswith("diverged at step") for s in statuses)
    assert any(s == "converged" for s in statuses)


def test_no_optimizer_chosen_is_a_clear_error_and_keeps_the_last_run():
    at = _train(open_page("optimizers"))
    at.multiselect(key="opt.selected").set_value([]).run()
    assert not at.exception
    assert any("optimizers must name at least one optimizer" in e.value for e in at.error)
    assert at.button(key="opt.btn.train").disabled
    assert len(table(at)) == 7  # the earlier results are still on screen


def test_hyperparameters_in_expanders_change_the_run(engine_calls):
    at = open_page("optimizers")
    at.multiselect(key="opt.selected").set_value(["Adam"]).run()
    at.number_input(key="opt.hp.Adam.lr").set_value(0.2).run()
    at.number_input(key="opt.hp.Adam.betas.0").set_value(0.5).run()
    _train(at)
    assert engine_calls[-1].optimizers[0].kwargs["lr"] == 0.2
    assert engine_calls[-1].optimizers[0].kwargs["betas"] == (0.5, 0.999)


def test_history_bound_drops_the_oldest():
    at = open_page("optimizers", {"steps": "100", "run": "1"})
    open_tab(at, "Downloads & history")  # the history, and how many runs it keeps
    at.number_input(key="opt.keep").set_value(2).run()
    for steps in (200, 300):
        at.number_input(key="opt.steps").set_value(steps).run()
        _train(at)
    store = at.session_state["opt.store"]
    assert [e.config.steps for e in store.entries.values()] == [200, 300]
    assert np.isfinite(table(open_tab(at, "Table"))["w"]).all()


def test_every_registry_optimizer_at_once_with_paths_shown():
    at = open_page("optimizers")
    at.multiselect(key="opt.selected").set_value(optimizers.registry().names()).run()
    at.number_input(key="opt.steps").set_value(3000).run()
    _train(at)
    assert len(table(at)) == len(optimizers.registry().names())
    open_tab(at, "Paths")
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 2  # the loss curves and the paths


def test_history_shows_overlays_and_deletes_runs():
    at = open_page("optimizers")
    for steps in (100, 200, 300):
        at.number_input(key="opt.steps").set_value(steps).run()
        _train(at)
    open_tab(at, "Downloads & history")
    at.multiselect(key="opt.picked").set_value([1, 3]).run()
    at.button(key="opt.btn.overlay").click().run()
    assert not at.exception
    assert any("Results — run #1 vs run #3" in h.value for h in at.subheader)
    loss_spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"#1 GD"' in loss_spec and '"#3 Adam"' in loss_spec
    assert len(open_tab(at, "Fit").get("vega_lite_chart")) == 3  # the loss chart, and each run's fit
    assert len(open_tab(at, "Table").table) == 2  # each run's table
    store = at.session_state["opt.store"]
    for i, run_id in enumerate((1, 3)):
        expected = engine.run(store.by_id(run_id).config).lane("GD").final_w
        assert table(at, i).set_index("optimizer").loc["GD", "w"] == expected
    open_tab(at, "Downloads & history")
    at.multiselect(key="opt.picked").set_value([2]).run()
    at.button(key="opt.btn.show").click().run()
    assert any("Results — run #2" in h.value for h in at.subheader)
    at.multiselect(key="opt.picked").set_value([1, 2]).run()
    at.button(key="opt.btn.delete").click().run()
    assert not at.exception
    assert [e.run_id for e in at.session_state["opt.store"].entries.values()] == [3]
    assert any("Press **Train all**" in i.value for i in at.info)  # run #2 was on screen and is gone
