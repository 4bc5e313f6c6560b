"""The Optimizers page's policies as plain functions: which runs show, chart reuse, the share link,
the results table's marks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pandas as pd

from lab.app import tables, view
from lab.app.query import PageState, from_query
from lab.app.runs import RunStore
from lab.core import engine
from lab.core.config import OptimizerConfig, RunConfig


def _store_with(*configs: RunConfig) -> RunStore:
    store = RunStore()
    for cfg in configs:
        store.add(cfg, engine.run(cfg))
    return store


def test_same_run_ignores_only_the_device():
    cfg = RunConfig(steps=10)
    assert view.same_run(cfg, cfg.replace(device="cuda:0"))
    assert not view.same_run(cfg, cfg.replace(seed=1))


def test_shown_runs_and_their_chart_labels_and_keys():
    a, b = RunConfig(steps=10), RunConfig(steps=10, seed=1)
    store = _store_with(a, b)
    one = view.shown_entries(store, [2, 99])  # a deleted or unknown run is not shown
    assert [e.run_id for e in one] == [2]
    two = view.shown_entries(store, [1, 2])
    assert [p for p, _ in view.overlay(one)] == [""]
    assert [p for p, _ in view.overlay(two)] == ["#1 ", "#2 "]
    assert view.chart_key(two) == (("#1 ", a.to_json()), ("#2 ", b.to_json()))
    assert view.chart_key(one) != view.chart_key(view.shown_entries(store, [1]))


def test_heading_says_when_the_form_changed_since_the_run():
    cfg = RunConfig(steps=10)
    shown = view.shown_entries(_store_with(cfg), [1])
    assert view.results_heading(shown, PageState(cfg)) == "Results — run #1"
    assert "settings changed" in view.results_heading(shown, PageState(cfg.replace(steps=20)))


def test_share_link_keeps_same_lr_only_for_the_configuration_the_url_described():
    url_state = from_query({"opt": "GD,Adam", "same_lr": "0.1", "steps": "50"})
    same = parse_qs(urlparse(view.share_link("http://host/optimizers", url_state.config, url_state)).query)
    assert same["same_lr"] == ["0.1"] and "Adam.lr" not in same and same["run"] == ["1"]
    other_cfg = url_state.config.replace(steps=60)
    other = parse_qs(urlparse(view.share_link("http://host/optimizers", other_cfg, url_state)).query)
    assert "same_lr" not in other and other["Adam.lr"] == ["0.1"] and other["steps"] == ["60"]
    assert from_query({k: v[0] for k, v in other.items()}).config == other_cfg


def test_source_messages():
    assert "#3" in view.source_message("session", 3)
    assert "already trained on this server" in view.source_message("shared cache", 3)
    assert view.source_message("trained", 3) is None


def test_table_marks_only_columns_that_differ():
    cfg = RunConfig(optimizers=(OptimizerConfig("GD"), OptimizerConfig("Adam")), steps=200)
    table = tables.results_table(engine.run(cfg))
    assert "final loss" in tables.best_columns(table)
    tie = pd.DataFrame({"final loss": [1.0, 1.0], "time (ms)": [1.0, 2.0]})
    assert tables.best_columns(tie) == ["time (ms)"]
    html = tables.styled(table).to_html()
    assert tables.BEST_COLOR in html and "—" in html  # Adam never reaches tol here: its steps cell is "—"


def test_progress_is_throttled_but_always_reaches_the_end(monkeypatch):
    clock = iter([0.0, 0.01, 0.05, 0.2, 0.21, 0.22])
    monkeypatch.setattr(view.time, "perf_counter", lambda: next(clock))
    seen = []
    report = view.throttled(seen.append, every=0.1)
    for f in (0.1, 0.2, 0.3, 0.4, 0.5, 1.0):
        report(f)
    assert seen == [0.1, 0.4, 1.0]


def test_table_shows_each_learning_rate_names_its_targets_and_prints_rounding_as_zero():
    reg = tables.results_table(engine.run(RunConfig(steps=100)))
    assert list(reg.columns[:2]) == ["optimizer", "lr"]
    assert dict(zip(reg["optimizer"], reg["lr"], strict=True))["RMSProp"] == 0.01
    assert "|w − true w|" in reg.columns and "|w − w*|" not in reg.columns
    saddle = engine.run(RunConfig(steps=1_000, objective="saddle"))
    html = tables.styled(tables.results_table(saddle)).to_html()
    assert "|w − w at the minimum|" in html
    assert "-0.000000" not in html and "e-44" not in html and "e-45" not in html
    assert tables._fixed(-1e-9) == "0" and tables._sci(3.36e-44) == "0" and tables._sci(2.5e-3) == "2.50e-03"
