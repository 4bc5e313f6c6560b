"""The Optimizers page's form as plain functions over a dict standing in for st.session_state."""

from __future__ import annotations

import pytest

from lab.app import form, limits, session
from lab.app.query import PageState
from lab.core import tuning
from lab.core.config import DataConfig, OptimizerConfig, RunConfig


def _sidebar(cfg: RunConfig) -> dict:
    return {
        session.SEED: cfg.seed,
        session.DEVICE: cfg.device,
        session.SAMPLES: cfg.data.samples,
        session.NOISE: cfg.data.noise,
        session.TRUE_W: cfg.data.true_w,
        session.TRUE_B: cfg.data.true_b,
    }


@pytest.mark.parametrize(
    "page",
    [
        PageState(),
        PageState(
            RunConfig(
                optimizers=(OptimizerConfig.of("Adam", lr=0.1, betas=(0.8, 0.99)), OptimizerConfig("Rprop")),
                steps=700,
                batch_size=5,
                objective="beale",
                seed=3,
                data=DataConfig(noise=0.2),
            )
        ),
        PageState(RunConfig().replace(optimizers=(OptimizerConfig.of("GD", lr=0.3),)), same_lr=0.3),
    ],
)
def test_what_is_written_reads_back(page):
    state = _sidebar(page.config)
    form.write(state, page)
    back, error = form.read(state)
    assert error is None and back.config == page.config and back.same_lr == page.same_lr


def test_a_bad_value_is_a_message_naming_the_field():
    state = _sidebar(RunConfig())
    form.write(state, PageState())
    state[form.K("selected")] = []
    assert form.read(state) == (None, "optimizers must name at least one optimizer")
    state[form.K("selected")] = ["Adam"]
    state[form.K("steps")] = 0
    page, error = form.read(state)
    assert page is None and "steps = 0" in error


def test_tuned_rates_replace_the_form_once():
    state = _sidebar(RunConfig())
    form.write(state, PageState(RunConfig(), same_lr=0.1))
    state[form.TUNED] = {"GD": 0.3, "Adam": 1.0}
    form.apply_tuned_lrs(state)
    assert state[form.hp_key("GD", "lr")] == 0.3 and state[form.hp_key("Adam", "lr")] == 1.0
    assert state[form.K("same_lr_on")] is False and form.TUNED not in state
    page, _ = form.read(state)
    assert page.config.optimizers[0].kwargs["lr"] == 0.3


def test_sweep_texts_say_when_the_form_has_moved_on():
    cfg = RunConfig(optimizers=(OptimizerConfig("GD"), OptimizerConfig("LBFGS")), steps=100)
    found = tuning.sweep(cfg, (0.1, 3.0))
    tuned = PageState(tuning.with_best_lrs(cfg, found))
    assert form.sweep_is_current(found, tuned) and not form.sweep_is_current(found, PageState(cfg.replace(steps=99)))
    assert form.sweep_summary(found, True).endswith(
        "With Live on they are already retrained at these rates; else press **Train all**."
    )
    caption = form.sweep_caption(found, False)
    assert "100 steps at each learning rate, on this data, seed 0." in caption
    assert "Not swept: LBFGS" in caption and caption.endswith("The settings have changed since this sweep.")


def test_run_caption_names_the_surface_or_the_data():
    assert "on the saddle surface" in form.run_caption(RunConfig(objective="saddle"), "cpu", 0.1, "trained")
    text = form.run_caption(RunConfig(data=DataConfig(noise=0.25)), "cpu", 0.123, "shared cache")
    assert text == (
        "7 optimizers × 1,000 steps on cpu in 0.12 s · float32 · seed 0 · 50 samples, noise 0.25 · "
        "from this server's cache"
    )
    assert "source" not in form.run_caption(RunConfig(), "cpu", 0.1, "trained")  # just trained: nothing to add
    assert "· float64 ·" in form.run_caption(RunConfig(dtype="float64"), "cpu", 0.1, "trained")


def test_precision_travels_through_the_form_and_the_url():
    from lab.app.query import PageState, from_query, to_query

    cfg = RunConfig(dtype="float64", steps=20)
    state = {}
    form.write(state, PageState(cfg))
    state.update({"shared.seed": 0, "shared.samples": 50, "shared.noise": 0.0, "shared.true_w": 3.0})
    state["shared.true_b"], state["shared.device"] = 0.8, "cpu"
    read, error = form.read(state)
    assert error is None and read.config.dtype == "float64"
    q = to_query(PageState(cfg))
    assert q["dtype"] == "float64" and "dtype" not in to_query(PageState(RunConfig()))
    assert from_query(q).config == cfg


def _written(page: PageState) -> dict:
    state = _sidebar(page.config)
    form.write(state, page)
    return state


def test_the_learning_rate_table_shows_and_takes_each_rate():
    cfg = RunConfig(optimizers=(OptimizerConfig("GD"), OptimizerConfig.of("Adam", lr=0.1, betas=(0.8, 0.99))))
    state = _written(PageState(cfg))
    names = ["GD", "Adam"]
    rows = form.hp_rows(state, names)
    assert [(r["optimizer"], r[form.LR_COLUMN]) for r in rows] == [("GD", 0.5), ("Adam", 0.1)]
    assert rows[1][form.MORE_COLUMN] == "all samples, betas (0.8, 0.99), eps 1e-08"  # what is set, not zeros
    refused = form.apply_hp_edits(state, names, {"edited_rows": {0: {form.LR_COLUMN: 0.2}, "1": {"other": 3}}})
    assert refused == [] and form.read(state)[0].config.optimizers[0].kwargs["lr"] == 0.2
    for bad, why in [(-1.0, "Adam.lr = -1 is outside the allowed range (0, 10]"), (None, "Adam.lr is empty")]:
        refused = form.apply_hp_edits(state, names, {"edited_rows": {1: {form.LR_COLUMN: bad}}})
        assert len(refused) == 1 and why in refused[0]
    assert form.read(state)[0].config.optimizers[1].kwargs["lr"] == 0.1  # nothing refused was written
    state[form.K("same_lr_on")], state[form.K("same_lr")] = True, 0.03
    assert {r[form.LR_COLUMN] for r in form.hp_rows(state, names)} == {0.03}  # the one rate for all


def test_reset_brings_back_the_tutorials_defaults_after_an_experiment():
    from lab.app import experiments

    saddle = experiments.get("saddle").state()
    state = _written(saddle)
    state[form.sched_key(form.ALL)] = "StepLR"
    state[session.TRUE_W] = 20.0
    form.reset(state)
    page, error = form.read(state)
    assert error is None and page == PageState() and page.config == RunConfig()
    assert form.what_it_set(saddle) == (
        "Set by the link: optimizers GD, Momentum, RMSProp, Adam; problem saddle; one learning rate for all 0.01."
    )
    assert form.what_it_set(PageState()) is None


def test_an_estimate_reads_as_a_learner_says_it():
    assert [limits.duration(s) for s in (0.004, 0.35, 4.0, 12.4, 390, 5_980, 23_000, 1e6)] == [
        "Under 0.01 s",
        "About 0.35 s",
        "About 4 s",
        "About 12 s",
        "About 6.5 minutes",
        "About 100 minutes",  # not "1e+02"
        "About 6.4 hours",
        "About 278 hours",
    ]
