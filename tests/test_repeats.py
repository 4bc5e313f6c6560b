"""Several seeds: each optimizer trained from several starts and batch orders, drawn as a median
with a min–max band, and tabled as mean ± sd with how many converged."""

from __future__ import annotations

import json

import numpy as np
import pytest
from apptest_helpers import open_page, table

from lab.app import charts, tables
from lab.app.query import PageState, from_query, to_query
from lab.core import caches, engine
from lab.core.config import OptimizerConfig, RunConfig

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run)


@pytest.fixture(scope="module")
def result():
    opts = (OptimizerConfig("SGD"), OptimizerConfig("Mini-batch SGD"), OptimizerConfig.of("GD", lr=5.0))
    return engine.run(RunConfig(optimizers=opts, repeats=8, steps=600))


def test_the_band_is_the_median_and_the_spread_of_the_repeats(result):
    df = charts.band_frame([("", result)])
    assert set(df["series"]) <= {"SGD", "Mini-batch SGD", "GD"}
    sgd = [ln for ln in result.lanes if ln.optimizer == "SGD"]
    loss = np.stack([ln.loss for ln in sgd])
    for _, row in df[df["series"] == "SGD"].sample(20, random_state=0).iterrows():
        at = loss[:, int(row["step"])]
        assert row["value"] == pytest.approx(np.median(at))
        assert row["lo"] == pytest.approx(at.min()) and row["hi"] == pytest.approx(at.max())
        assert row["alive"] == 8


def test_a_diverged_repeat_leaves_the_band_where_it_ends(result):
    mom = [ln for ln in result.lanes if ln.optimizer == "GD"]
    assert all(ln.diverged_at is not None for ln in mom)  # lr 5 on this data: every repeat blows up
    df = charts.band_frame([("", result)])
    rows = df[df["series"] == "GD"]
    assert rows["step"].max() <= max(ln.diverged_at for ln in mom)
    assert (rows["alive"] <= 8).all()


def test_the_loss_chart_draws_medians_over_bands_in_each_optimizers_colour(result):
    spec = charts.loss_chart([("", result)]).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert "area" in marks and marks.index("area") < marks.index("line")  # the band behind the line
    color = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")["encoding"]["color"]
    assert color["scale"]["domain"] == ["SGD", "Mini-batch SGD", "GD"]
    assert color["scale"]["range"][0] == charts.color_of("SGD")


def test_the_table_gives_mean_sd_and_how_many_converged(result):
    t = tables.results_table(result).set_index("optimizer")
    assert set(t.index[:2]) == {"SGD", "Mini-batch SGD"}  # the converged first
    sgd = [ln for ln in result.lanes if ln.optimizer == "SGD"]
    w = np.array([ln.final_w for ln in sgd])
    assert t.loc["SGD", "w"] == pytest.approx(w.mean()) and t.loc["SGD", "w sd"] == pytest.approx(w.std(ddof=1))
    conv = [ln.steps_to_tol for ln in sgd if ln.steps_to_tol is not None]
    assert t.loc["SGD", "status"].startswith(f"{len(conv)} of 8 converged")
    assert t.loc["SGD", "steps to tol"] == pytest.approx(np.mean(conv))
    assert t.loc["GD", "status"] == "0 of 8 converged, 8 diverged" and np.isnan(t.loc["GD", "w"])
    assert t.index[-1] == "GD"


def test_repeats_travel_in_the_link_and_train_in_the_app():
    caches.clear_all()
    cfg = RunConfig(optimizers=(OptimizerConfig("SGD"), OptimizerConfig("Mini-batch SGD")), repeats=8, steps=600)
    query = to_query(PageState(cfg))
    assert query["repeats"] == "8" and from_query(query).config == cfg
    assert "repeats" not in to_query(PageState(cfg.replace(repeats=1)))  # old links stay as they were
    at = open_page("optimizers", query)
    assert not at.exception and at.number_input(key="opt.repeats").value == 8
    shown = table(at).set_index("optimizer")
    want = tables.results_table(engine.run(cfg)).set_index("optimizer")
    assert shown.loc["SGD", "w"] == pytest.approx(want.loc["SGD", "w"]) and "w sd" in shown.columns
    layers = json.loads(at.get("vega_lite_chart")[0].proto.spec)["layer"]
    assert "area" in [layer["mark"]["type"] for layer in layers]
    caches.clear_all()
