"""The URL codec and the run store: pure pieces behind the Optimizers page."""

from __future__ import annotations

import pandas as pd
import pytest

from lab.app import runs
from lab.app.query import PageState, from_query, to_query
from lab.core import engine
from lab.core.caches import LRU
from lab.core.config import DataConfig, OptimizerConfig, RunConfig
from lab.core.results import CURVE_COLUMNS


def test_query_round_trip():
    cfg = RunConfig(
        optimizers=(
            OptimizerConfig.of("Adam", lr=0.1, betas=(0.8, 0.99), amsgrad=True),
            OptimizerConfig("SGD", batch_size=3),
            OptimizerConfig.of("LBFGS", line_search_fn="strong_wolfe"),
        ),
        steps=321,
        batch_size=7,
        seed=5,
        data=DataConfig(samples=30, noise=0.25, true_w=-1.0, true_b=2.0),
        tol=1e-4,
    )
    state = from_query(to_query(PageState(cfg)))
    assert state.config == cfg and state.notices == [] and state.autorun


def test_problem_round_trip_and_old_links_unchanged():
    cfg = RunConfig(objective="saddle", steps=400, optimizers=(OptimizerConfig.of("Adam", lr=0.1),))
    q = to_query(PageState(cfg))
    assert q["problem"] == "saddle" and from_query(q).config == cfg
    assert "problem" not in to_query(PageState(RunConfig()))  # regression links look as before


def test_same_lr_round_trip():
    base = RunConfig()
    cfg = base.replace(optimizers=tuple(OptimizerConfig.of(o.name, lr=0.2) for o in base.optimizers))
    q = to_query(PageState(cfg, same_lr=0.2), autorun=False)
    assert q["same_lr"] == "0.2" and not any(k.endswith(".lr") for k in q)
    state = from_query(q)
    assert state.config == cfg and state.same_lr == 0.2 and not state.autorun


@pytest.mark.parametrize(
    "params, needle",
    [
        ({"steps": "-4"}, "steps='-4'"),
        ({"steps": "abc"}, "steps='abc'"),
        ({"opt": "Adam,Zoom"}, "'Zoom'"),
        ({"opt": "Adam", "Adam.lr": "0"}, "Adam.lr='0'"),
        ({"opt": "Adam", "Adam.bogus": "1"}, "Adam.bogus"),
        ({"opt": "Adam", "GD.lr": "1"}, "'GD' is not among the chosen optimizers"),
        ({"samples": "1"}, "samples='1'"),
        ({"batch": "500"}, "batch='500'"),
        ({"what": "ever"}, "'what'"),
        ({"same_lr": "100"}, "same_lr='100'"),
        ({"opt": "SGD", "SGD.batch_size": "999"}, "SGD.batch_size='999'"),
        ({"problem": "moon"}, "problem='moon'"),
    ],
)
def test_bad_query_values_fall_back_with_a_notice(params, needle):
    state = from_query(params)
    assert any(needle in n for n in state.notices), state.notices
    RunConfig.from_json(state.config.to_json())  # still a valid config


def test_store_is_bounded_by_count_and_memory():
    store = runs.RunStore(max_runs=2)
    results = [(c, engine.run(c)) for c in (RunConfig(steps=s) for s in (10, 20, 30))]
    dropped = []
    for cfg, res in results:
        dropped += store.add(cfg, res)[1]
    assert [e.config.steps for e in store.entries.values()] == [20, 30]
    assert [d.config.steps for d in dropped] == [10]
    small = runs.RunStore(max_runs=10, max_bytes=runs.result_bytes(results[0][1]) + 1)
    for cfg, res in results:
        small.add(cfg, res)
    assert len(small.entries) == 1


def test_fetch_or_train_counts_engine_calls_and_shares_across_sessions():
    shared = LRU(8)
    a, b = runs.RunStore(), runs.RunStore()
    cfg = RunConfig(steps=50, seed=77)
    _, _, src1 = runs.fetch_or_train(a, cfg, shared=shared)
    _, _, src2 = runs.fetch_or_train(a, cfg, shared=shared)
    _, _, src3 = runs.fetch_or_train(b, cfg, shared=shared)
    assert (src1, src2, src3) == ("trained", "session", "shared cache")
    assert (a.trained, a.hits, b.trained) == (1, 1, 0)


def test_exports_have_the_cli_columns_and_a_run_id():
    store = runs.RunStore()
    for s in (10, 20):
        cfg = RunConfig(steps=s)
        store.add(cfg, engine.run(cfg))
    every = list(store.entries.values())
    summary = runs.export_summary(every)
    assert summary.columns[0] == "run_id" and sorted(set(summary["run_id"])) == [1, 2]
    curves = pd.read_csv(pd.io.common.BytesIO(runs.csv_bytes(runs.export_curves(every))))
    assert list(curves.columns) == ["run_id", *CURVE_COLUMNS]
    assert len(curves) == 7 * 11 + 7 * 21
    assert store.delete([1]) == 1 and list(store.history()["run"]) == [2]


def test_keep_inputs_writes_back_only_the_given_keys():
    from lab.app.session import keep_inputs

    written = []

    class Recording(dict):
        def __setitem__(self, key, value):
            written.append(key)
            super().__setitem__(key, value)

    before = {
        "opt.steps": 5,
        "opt.hp.Adam.lr": 0.1,
        "opt.btn.train": True,
        "opt.dl.summary.csv": False,
        "opt.share_link": "http://x",
        "ag.x0": 1.0,
        "shared.seed": 3,
    }
    state = Recording(before)
    keep_inputs(state)
    assert sorted(written) == ["ag.x0", "opt.hp.Adam.lr", "opt.steps"]
    assert state == before


def test_hyperparameter_keys_in_urls_ignore_case():
    state = from_query({"opt": "Adam", "adam.lr": "0.2"})
    assert state.notices == [] and state.config.optimizers[0].kwargs["lr"] == 0.2


def test_url_is_read_once_unless_it_names_an_experiment_not_loaded_yet():
    from lab.app import session

    state: dict = {}
    session.init_from_url(state, {"seed": "7", "noise": "0.3"})
    assert state[session.SEED] == 7 and state[session.URL_STATE].experiment is None
    state["opt.ready"] = state["opt.autoran"] = True
    session.init_from_url(state, {"seed": "9"})  # a later run: the URL is not read again
    assert state[session.SEED] == 7 and state["opt.ready"]

    session.init_from_url(state, {"exp": "noise"})
    page = state[session.URL_STATE]
    assert page.experiment == "noise" and page.autorun
    assert state[session.NOISE] == 0.5 and state[session.SEED] == 0  # the experiment's, not the old ones
    assert "opt.ready" not in state and "opt.autoran" not in state  # the page takes the new state

    state["opt.ready"] = True
    session.init_from_url(state, {"exp": "noise"})  # the same URL on the next run: loaded already
    assert state["opt.ready"]
    session.init_from_url(state, {"opt": "GD"})  # the page rewrote the URL after training
    session.init_from_url(state, {"exp": "noise"})  # the same link clicked again loads it again
    assert "opt.ready" not in state


def test_a_class_join_links_room_is_not_an_unknown_parameter():
    """The Class page's link to the Optimizers page carries its ?room= along (lab/app/rooms.py)."""
    state = from_query({"room": "K7MQ", "s": "a" * 22})
    assert state.notices == [] and state.config == PageState().config
