"""Chart builders as pure functions: bounded payloads, nothing non-finite or non-positive on a
log scale, diverged runs marked."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lab.app import charts, tables
from lab.core import engine, landscapes, optimizers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig


def _datasets(chart) -> dict[str, list[dict]]:
    return chart.to_dict()["datasets"]


def _curve_sets(chart) -> list[list[dict]]:
    """The datasets holding curve points, largest first (the drawn lines, then the hover marks)."""
    sets = [rows for rows in _datasets(chart).values() if rows and "series" in rows[0] and "loss" in rows[0]]
    return sorted(sets, key=len, reverse=True)


def _curve_rows(chart) -> list[dict]:
    return _curve_sets(chart)[0]


@pytest.fixture(scope="module")
def long_run():
    opts = (*RunConfig().optimizers, OptimizerConfig.of("GD", label="GD lr=5", lr=5.0))
    return engine.run(RunConfig(optimizers=opts, steps=30_000, data=DataConfig(noise=0.1)))


def test_downsample_keeps_ends_and_extremes():
    rng = np.random.default_rng(0)
    y = rng.normal(size=30_001)
    y[12_345] = 100.0
    y[23_456] = -100.0
    idx = charts.downsample(y, 1_000)
    assert len(idx) <= 1_000 and idx[0] == 0 and idx[-1] == 30_000
    assert 12_345 in idx and 23_456 in idx
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(charts.downsample(y[:500], 1_000), np.arange(500))


def test_loss_chart_payload_is_bounded_per_curve_and_finite(long_run):
    chart = charts.loss_chart([("", long_run)])
    rows = _curve_rows(chart)
    per_series = {}
    for row in rows:
        per_series[row["series"]] = per_series.get(row["series"], 0) + 1
        assert math.isfinite(row["value"]) and row["value"] > 0
        assert all(math.isfinite(row[k]) for k in ("loss", "w", "b"))
    assert max(per_series.values()) <= 1_000
    assert len(per_series) == 8
    steps = {s: [r["step"] for r in rows if r["series"] == s] for s in per_series}
    assert all(min(v) == 0 for v in steps.values())
    assert max(steps["Adam"]) == 30_000
    hover = _curve_sets(chart)[1]
    per_hover = {s: sum(r["series"] == s for r in hover) for s in per_series}
    assert max(per_hover.values()) <= charts.HOVER_POINTS + 1
    assert len(json.dumps(chart.to_dict())) < 2_500_000


def test_diverged_run_ends_at_its_last_finite_step_and_is_marked(long_run):
    lane = long_run.lane("GD lr=5")
    chart = charts.loss_chart([("", long_run)])
    rows = [r for r in _curve_rows(chart) if r["series"] == "GD lr=5"]
    assert max(r["step"] for r in rows) == lane.diverged_at - 1
    marks = [r for rows in _datasets(chart).values() for r in rows if "diverged_at" in r]
    top = 1e3 * max(ln.loss[0] for ln in long_run.lanes)  # the axis stops at 1 000x the largest start
    assert marks == [
        {
            "series": "GD lr=5",
            "step": lane.diverged_at - 1,
            "value": pytest.approx(top),
            "diverged_at": lane.diverged_at,
        }
    ]
    layers = [layer for layer in chart.to_dict()["layer"] if "field" in layer.get("encoding", {}).get("y", {})]
    domains = [layer["encoding"]["y"]["scale"].get("domain") for layer in layers]
    assert all(d is not None and d[1] == pytest.approx(top) for d in domains)


def test_excess_loss_drops_zero_and_negative_values():
    res = engine.run(RunConfig(steps=2_000, dtype="float64"))  # GD reaches a loss of ~1e-31
    frame = charts.curve_frame([("", res)], "excess")
    assert (frame["value"] > 0).all() and np.isfinite(frame["value"]).all()


def test_overlay_labels_each_run():
    a = engine.run(RunConfig(steps=100))
    b = engine.run(RunConfig(steps=100, seed=1))
    rows = _curve_rows(charts.loss_chart([("#1 ", a), ("#2 ", b)]))
    assert {r["series"] for r in rows} == {f"#{i} {o.name}" for i in (1, 2) for o in RunConfig().optimizers}


def test_fit_and_paths_charts_have_finite_data(long_run):
    for chart in (charts.fit_chart(long_run), charts.trajectory_chart(long_run)):
        for rows in _datasets(chart).values():
            for row in rows:
                for v in row.values():
                    assert not isinstance(v, float) or math.isfinite(v), row
    lines = [r for rows in _datasets(charts.fit_chart(long_run)).values() for r in rows if "line" in r]
    assert {r["line"] for r in lines} >= {"GD", "Adam"} and "GD lr=5" not in {r["line"] for r in lines}


def test_landscape_paths_chart():
    res = engine.run(
        RunConfig(
            objective="rosenbrock",
            steps=500,
            optimizers=(OptimizerConfig.of("Adam", lr=0.01), OptimizerConfig("LBFGS")),
        )
    )
    assert charts.trajectory_chart(res).to_dict()


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "saddle"])
def test_landscape_chart_before_training(name):
    rows = [r for rs in _datasets(charts.landscape_chart(name)).values() for r in rs]
    heat = [r for r in rows if "w2" in r]
    assert len(heat) == 40 * 40 and all(math.isfinite(r["loss"]) and r["loss"] > 0 for r in heat)
    marks = {r["what"]: (r["w"], r["b"]) for r in rows if "what" in r}
    land = landscapes.get(name)
    assert marks == {"minimum": land.minimum, "start": land.start}


def test_paths_window_ignores_a_diverged_path(long_run):
    """GD lr=5 blows up to ~1e30 before it diverges; the window still frames the others."""
    spec = charts.trajectory_chart(long_run).to_dict()
    domains = [
        layer["encoding"]["x"]["scale"]["domain"]
        for layer in spec["layer"]
        if "scale" in layer["encoding"].get("x", {})
    ]
    lo, hi = domains[0]
    assert -10 < lo < 3 < hi < 10


@pytest.mark.parametrize("measure", ["loss", "excess"])
def test_divergence_cross_sits_at_the_end_of_its_curve(long_run, measure):
    """With noisy data the best loss is above 0: on the excess plot the cross must sit on the
    excess, where its line ends, not on the raw loss."""
    runs = [("", long_run)]
    curve = charts.curve_frame(runs, measure, max_points=100_000)
    end = curve[curve.series == "GD lr=5"].iloc[-1]
    cross = charts.divergence_frame(runs, measure).set_index("series").loc["GD lr=5"]
    assert cross["step"] == end["step"] and cross["value"] == pytest.approx(end["value"], rel=1e-12)


def test_paths_replay_with_a_step_slider(long_run):
    spec = charts.trajectory_chart(long_run).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    position, upto = params["position"], params["upto"]
    assert position["bind"]["input"] == "range" and position["bind"]["max"] == position["value"]
    # Log-spaced: the slider's end is the last step, its middle step ~173 of 30 000, its start step 0.
    to_step = lambda pos: round((30_000 + 1) ** (pos / charts.SLIDER_POSITIONS)) - 1  # noqa: E731
    assert upto["expr"] == f"round(pow(30001, position / {charts.SLIDER_POSITIONS})) - 1"
    assert to_step(charts.SLIDER_POSITIONS) == 30_000 and to_step(0) == 0
    assert 100 < to_step(charts.SLIDER_POSITIONS // 2) < 200
    filtered = [layer for layer in spec["layer"] if {"filter": "(datum.step <= upto)"} in layer.get("transform", [])]
    assert len(filtered) == 2  # the paths up to the chosen step, and a dot where each one is then
    heads = next(layer for layer in filtered if any("window" in t for t in layer["transform"]))
    assert heads["encoding"]["color"]["legend"] is None  # one legend, not two


def test_results_table_sorts_and_keeps_missing_values_missing(long_run):
    table = tables.results_table(long_run)
    assert list(table["optimizer"])[-1] == "GD lr=5"
    assert np.isnan(table.iloc[-1]["w"]) and table.iloc[-1]["status"].startswith("diverged at step")
    converged = table[table["status"] == "converged"]["steps to tol"].tolist()
    assert converged == sorted(converged)


def _colors(spec) -> dict[str, str]:
    """Every name → colour an optimizer-coloured scale in a Vega-Lite spec gives (all layers)."""
    found: dict[str, str] = {}

    def walk(node):
        if isinstance(node, dict):
            scale = node.get("color", {}).get("scale", {}) if isinstance(node.get("color"), dict) else {}
            if isinstance(scale, dict) and "domain" in scale and "range" in scale:
                found.update(zip(scale["domain"], scale["range"], strict=False))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def test_one_colour_per_optimizer_in_every_chart_even_when_a_run_diverges():
    """GD at lr 5 diverges and drops out of the fit; Adam must keep its colour in all four charts."""
    from lab.core import tuning

    cfg = RunConfig(optimizers=(OptimizerConfig.of("GD", lr=5.0), OptimizerConfig("Adam")), steps=200)
    res = engine.run(cfg)
    assert res.lane("GD").diverged_at is not None
    sweep = tuning.sweep(cfg.replace(optimizers=(OptimizerConfig("Momentum"), OptimizerConfig("Adam"))), (0.01, 0.1))
    specs = {
        "loss": charts.loss_chart([("", res)]).to_dict(),
        "fit": charts.fit_chart(res).to_dict(),
        "paths": charts.trajectory_chart(res).to_dict(),
        "sweep": charts.sweep_chart(sweep.table).to_dict(),
    }
    adam = {name: _colors(spec).get("Adam") for name, spec in specs.items()}
    assert set(adam.values()) == {charts.color_of("Adam")}, adam
    assert charts.color_of("Adam") != charts.color_of("GD") != charts.color_of("Momentum")
    every = [charts.color_of(n) for n in optimizers.registry().names()]
    assert len(set(every)) == len(every) and charts.DATA_COLOR not in every  # no two alike, none the data's


def test_sweep_chart_marks_divergence_in_red_without_overlap_and_says_why_each_rate_was_chosen():
    from lab.core import tuning

    cfg = RunConfig(optimizers=(OptimizerConfig("GD"), OptimizerConfig("Momentum"), OptimizerConfig("Adam")), steps=300)
    table = tuning.sweep(cfg, (0.01, 0.1, 1.0, 3.0)).table  # at 3 every one of them diverges
    spec = charts.sweep_chart(table).to_dict()
    rows = next(r for r in _datasets(charts.sweep_chart(table)).values() if r and "chosen" in r[0])
    crosses = [r for r in rows if str(r["status"]).startswith("diverged")]
    at_three = [r["value"] for r in crosses if r["lr"] == 3.0]
    assert len(at_three) >= 2 and len(at_three) == len(set(at_three))  # one row per optimizer: none hidden
    cross_layer = next(layer for layer in spec["layer"] if layer.get("mark", {}).get("shape") == "cross")
    assert cross_layer["encoding"]["color"] == {"value": charts.DIVERGED_COLOR}
    assert charts.DIVERGED_COLOR not in [charts.color_of(n) for n in optimizers.registry().names()]
    chosen = {r["optimizer"]: r["chosen"] for r in rows if r["best"]}
    assert set(chosen.values()) <= {"fewest steps to tolerance", "lowest final loss"} and chosen


def test_loss_chart_opens_on_the_learning_with_rounding_shaded_and_each_learning_rate_in_the_legend():
    opts = tuple(o for o in RunConfig().optimizers if o.name != "RMSProp")  # (RMSProp never settles: see below)
    res = engine.run(RunConfig(optimizers=opts, steps=2_000))  # float32: the learning is over well before the end
    focus = charts.loss_chart([("", res)]).to_dict()
    full = charts.loss_chart([("", res)], focus=False).to_dict()
    last = charts.action_steps([("", res)])
    slowest = max(ln.steps_to_tol for ln in res.lanes)
    assert slowest < last < res.config.steps
    floor = charts.FALLING * charts.rounding_level(res)
    assert all(charts.still_falling(ln.loss, floor) < last for ln in res.lanes)  # none cut while falling
    lines = next(layer for layer in focus["layer"] if layer["mark"]["type"] == "line")
    assert lines["encoding"]["x"]["scale"]["domain"] == [0, last]
    level = charts.rounding_level(res)
    assert 1e-14 < level < 1e-12  # float32's floor for this data, where the curves stop learning
    assert lines["encoding"]["y"]["scale"]["domain"][0] == pytest.approx(level / 3, rel=1e-9, abs=0)
    band = focus["layer"][0]
    assert band["mark"]["type"] == "rect" and band["encoding"]["y2"]["field"] == "to"
    legend = lines["encoding"]["color"]["legend"]["labelExpr"]
    assert "Adam · lr 0.05" in legend and "AdaGrad · lr 0.5" in legend
    full_lines = next(layer for layer in full["layer"] if layer["mark"]["type"] == "line")
    assert "domain" not in full_lines["encoding"]["x"].get("scale", {})
    assert full_lines["encoding"]["y"]["scale"]["domain"][0] < level / 3  # down to the smallest value
    hover = engine.run(RunConfig(optimizers=(OptimizerConfig("RMSProp"),), steps=3_000))
    assert charts.action_steps([("", hover)]) is None  # it never settles: every step matters


def test_line_legends_sit_below_with_line_swatches_and_the_gpu_chart_shows_its_dashes():
    table = pd.DataFrame(
        {
            "device": ["cpu", "cpu", "cpu", "cpu"],
            "model": ["Lr", "Lr", "MLP", "MLP"],
            "samples": [50, 1000, 50, 1000],
            "ms_per_step": [0.06, 0.07, 0.14, 0.3],
        }
    )
    spec = charts.timing_chart(table).to_dict()
    legend = spec["config"]["legend"]
    assert legend["orient"] == "bottom" and legend["symbolType"] == "stroke"
    dash_legend = next(layer for layer in spec["layer"] if "strokeDash" in layer.get("encoding", {}))["encoding"][
        "strokeDash"
    ]["legend"]
    assert dash_legend["symbolStrokeColor"] == charts.TRUE_COLOR  # a visible dash swatch, not an empty one
    res = engine.run(RunConfig(steps=20))
    for chart in (charts.loss_chart([("", res)]), charts.fit_chart(res), charts.trajectory_chart(res)):
        assert chart.to_dict()["config"]["legend"]["orient"] == "bottom"


def _peaks(values: np.ndarray) -> int:
    d = np.diff(np.log(values))
    return int(((d[:-1] > 0) & (d[1:] < 0)).sum())


def test_the_focused_loss_chart_downsamples_inside_its_window_and_keeps_every_oscillation():
    """The tuned GD, Momentum, Adam of a 2 000-step link: Momentum's loss rises and falls 29 times in
    steps 0–180. Downsampling the whole run and then cropping kept 12 of them."""
    opts = (OptimizerConfig("GD"), OptimizerConfig("Momentum"), OptimizerConfig.of("Adam", lr=0.3))
    res = engine.run(RunConfig(optimizers=opts, steps=2_000))
    runs = [("", res)]
    last = charts.action_steps(runs)
    assert last < 500
    raw = _peaks(res.lane("Momentum").loss[:181])
    frame = charts.curve_frame(runs, last=last)
    momentum = frame[(frame["optimizer"] == "Momentum") & (frame["step"] <= 180)].sort_values("step")
    assert raw >= 20 and _peaks(momentum["value"].to_numpy()) == raw
    assert frame["step"].max() == last
    whole = charts.curve_frame(runs)  # the old way: a few hundred points for 2 000 steps
    cropped = whole[(whole["optimizer"] == "Momentum") & (whole["step"] <= 180)].sort_values("step")
    assert _peaks(cropped["value"].to_numpy()) < raw / 2
    spec = charts.loss_chart(runs).to_dict()
    lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert lines["encoding"]["x"]["scale"]["domain"] == [0, last]
    assert charts.window_caption(runs) == (
        f"Steps 0–{last:,} of 2,000: where the learning happens (no curve falls further after it). "
        "**Full range** shows all."
    )
    assert charts.window_caption(runs, focus=False) == "All 2,000 steps."


def test_a_curve_breaks_where_its_steps_cannot_be_drawn():
    """On noisy data loss − best possible loss reaches 0 or below (rounding) in float32: those steps cannot sit on
    a log scale, and the line breaks there instead of ramping straight across them."""
    opts = (OptimizerConfig("GD"), OptimizerConfig("Adam"))
    res = engine.run(RunConfig(optimizers=opts, steps=3_000, data=DataConfig(noise=0.3)))
    frame = charts.curve_frame([("", res)], "excess", max_points=100_000)
    broke = 0
    for name, rows in frame.groupby("optimizer"):
        lane = res.lane(name)
        drawable = (lane.loss - res.min_loss) > 0
        steps, seg = rows["step"].to_numpy(), rows["segment"].to_numpy()
        for (a, sa), (b, sb) in zip(zip(steps, seg, strict=True), zip(steps[1:], seg[1:], strict=True), strict=False):
            gap = not drawable[a + 1 : b].all()
            assert (sa != sb) == gap, (name, a, b)
            broke += gap
    assert broke > 0  # the case arises: float32's loss dips to the best possible loss
    spec = charts.loss_chart([("", res)], "excess").to_dict()
    lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert lines["encoding"]["detail"]["field"] == "segment"
    assert charts.segments(np.array([True, False, True, True]), np.array([0, 2, 3])).tolist() == [0, 1, 1]


def _plot_height(spec: dict, entries: int, columns: int = 3) -> int:
    """The plot's own height in Streamlit, which sizes a chart with autosize "fit": the spec's height
    less the x axis and the legend below (:func:`charts.chart_height`)."""
    return spec["height"] - charts.chart_height(0, entries, columns)


def test_the_sweep_chart_gives_its_20_decades_a_plot_tall_enough_for_its_title():
    """Seven optimizers: the legend below took 3 rows, and 320 px left the plot 134 px for 20
    decades, too short for its 26-character y title, which was cut. Ticks at powers of ten."""
    from lab.core import tuning

    table = tuning.sweep(RunConfig(steps=200), (1e-3, 0.01, 0.1, 1.0)).table
    spec = charts.sweep_chart(table).to_dict()
    plot = _plot_height(spec, entries=7)
    y = spec["layer"][-1]["encoding"]["y"]
    assert plot >= 260 and len(y["title"]) * 7 < plot  # about 7 px a character at the axis title's size
    decades = np.log10(y["scale"]["domain"][1] / y["scale"]["domain"][0])
    assert 12 < decades < 30 and plot / decades >= 10  # at least 10 px a decade
    assert y["axis"]["values"] and all(math.log10(v).is_integer() for v in y["axis"]["values"])
    x = spec["layer"][-1]["encoding"]["x"]
    assert x["axis"]["values"] == [0.001, 0.01, 0.1, 1.0]


def test_log_ticks_are_powers_of_ten_or_else_one_two_five():
    assert charts.log_ticks(3e-5, 0.02) == [1e-4, 1e-3, 1e-2]
    assert charts.log_ticks(0.03, 0.1) == [0.05, 0.1]
    assert charts.log_ticks(0.06, 0.09) == [0.06, 0.07, 0.08, 0.09]
    assert charts.log_ticks(0.0, 1.0) == []


def test_lanes_with_the_same_rates_are_one_line_in_the_rate_chart_naming_them_all():
    """Four optimizers at one learning rate under one StepLR: one line, labelled "GD, SGD, Momentum,
    Adam", in a colour that is none of theirs; AdaGrad at another rate keeps its own line and colour."""
    from lab.core.config import SchedulerConfig

    names = ("GD", "SGD", "Momentum", "Adam")
    opts = (*(OptimizerConfig.of(n, lr=0.01) for n in names), OptimizerConfig.of("AdaGrad", lr=0.5))
    res = engine.run(RunConfig(optimizers=opts, steps=400, scheduler=SchedulerConfig.of("StepLR", gamma=0.1)))
    assert len({tuple(ln.rates()[1:]) for ln in res.lanes}) == 2  # (step 0 has no rate: NaN)
    df = charts.lr_lines([("", res)])
    assert list(dict.fromkeys(df["series"])) == ["GD, SGD, Momentum, Adam", "AdaGrad"]
    assert df.groupby("series", sort=False)["lanes"].first().tolist() == [4, 1]
    spec = charts.lr_chart([("", res)]).to_dict()
    rows = next(r for r in spec["datasets"].values() if r and "lr" in r[0])
    assert {r["series"] for r in rows} == {"GD, SGD, Momentum, Adam", "AdaGrad"}
    lines = spec["layer"][0]["encoding"]
    scale = lines["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "GD, SGD, Momentum, Adam": charts.SHARED_COLOR,
        "AdaGrad": charts.color_of("AdaGrad"),
    }
    texts = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"]
    assert texts and all(layer["encoding"]["text"]["field"] == "series" for layer in texts)
    assert all({"filter": "datum.lanes > 1"} in layer["transform"] for layer in texts)  # only shared lines
    # StepLR at gamma 0.1: 0.01 down to 1e-5; AdaGrad 0.5 down to 5e-4. Ticks at the powers of ten,
    # written 0.01, 0.001 and 1e-4 (not 0.0001).
    assert lines["y"]["axis"]["values"] == [1e-4, 1e-3, 1e-2, 1e-1]
    assert "'.0e'" in lines["y"]["axis"]["labelExpr"] and "'~g'" in lines["y"]["axis"]["labelExpr"]


def test_the_paths_chart_is_at_most_about_two_to_one():
    """380 px for the whole chart left the plot 197 px under a legend of 3 rows: 4.5:1 at 900 px."""
    res = engine.run(RunConfig(steps=50, repeats=2))
    spec = charts.trajectory_chart(res).to_dict()
    domain = next(
        layer["encoding"]["color"]["scale"]["domain"]
        for layer in spec["layer"]
        if "domain" in layer.get("encoding", {}).get("color", {}).get("scale", {})
    )
    assert domain == [o.display for o in RunConfig().optimizers]  # one entry per optimizer, not per repeat
    plot = _plot_height(spec, entries=len(domain))
    assert plot >= 380 and (900 - 60) / plot <= 2.25  # 60 px: the b axis


def test_optimizers_that_end_on_the_same_line_share_one_in_the_fit_chart():
    """Converged optimizers end on the best fit: drawn as one line whose legend names them all. One
    stopped early (GD at a tiny learning rate) keeps its own line and colour."""
    opts = (
        OptimizerConfig("GD"),
        OptimizerConfig("Momentum"),
        OptimizerConfig("Adam"),
        OptimizerConfig.of("GD", label="slow GD", lr=1e-3),
    )
    res = engine.run(RunConfig(optimizers=opts, steps=1_000))
    ends = {ln.optimizer: (ln.final_w, ln.final_b) for ln in res.lanes}
    assert all(ends[n] == pytest.approx(ends["GD"], abs=1e-4) for n in ("Momentum", "Adam"))
    assert ends["slow GD"][0] < ends["GD"][0] - 0.1
    spec = charts.fit_chart(res).to_dict()
    color = spec["layer"][1]["encoding"]["color"]
    true = f"true: y = {res.config.data.true_w:.4g}x + {res.config.data.true_b:.4g}"
    assert dict(zip(color["scale"]["domain"], color["scale"]["range"], strict=True)) == {
        true: charts.TRUE_COLOR,
        "GD, Momentum, Adam — the same line": charts.SHARED_COLOR,
        "slow GD": charts.color_of("slow GD"),
    }
    assert color["legend"]["columns"] == 1 and color["legend"]["labelLimit"] >= 400  # the long label whole
    lines = next(r for r in spec["datasets"].values() if r and "label" in r[0])
    assert {r["line"] for r in lines if r["label"] == "GD, Momentum, Adam — the same line"} == {
        "GD",
        "Momentum",
        "Adam",
    }
    assert _plot_height(spec, entries=3, columns=1) >= 250


def test_fits_are_the_same_line_within_a_share_of_the_data_span():
    fits = [("a", 3.0, 0.8, ""), ("b", 3.0, 0.8 + 0.004, ""), ("c", 3.0 + 0.02, 0.8, ""), ("d", 3.0, 0.8 - 0.004, "")]
    # on x in [0, 1] and a y span of 3: within 0.015 of a's ends at both ends is a's line
    assert charts.same_lines(fits, 0.0, 1.0, 3.0) == [[0, 1, 3], [2]]
    assert charts.same_lines(fits, 0.0, 1.0, 3.0, tol=0.01) == [[0, 1, 2, 3]]
    assert charts.same_lines(fits, 0.0, 1.0, 3.0, tol=0.0) == [[0], [1], [2], [3]]


def test_the_paths_slider_says_what_it_does_and_the_chart_prints_the_step():
    """Vega shows a range input's own value, the slider's position 0 … 400 (log-spaced), which means
    nothing: the page hides it (view.NARROW_CSS). The slider's name says where the step is shown."""
    from lab.app import view

    res = engine.run(RunConfig(steps=30_000, optimizers=(OptimizerConfig("Adam"),)))
    spec = charts.trajectory_chart(res).to_dict()
    bind = next(p for p in spec["params"] if p["name"] == "position")["bind"]
    assert bind["name"] == charts.PATHS_SLIDER and "replay" in bind["name"] and "printed top left" in bind["name"]
    texts = [layer["mark"]["text"]["expr"] for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"]
    assert texts == ["'step ' + format(upto, ',') + ' of 30,000'"]
    assert '[class*="st-key-opt-paths_chart"] .vega-bind input[type=range] + span { display: none; }' in view.NARROW_CSS


def test_the_loss_charts_slider_says_where_its_step_is_printed():
    res = engine.run(RunConfig(steps=2_000, optimizers=(OptimizerConfig("Adam"),)))
    spec = charts.loss_chart([("", res)]).to_dict()
    bind = next(p for p in spec["params"] if p["name"] == "position")["bind"]
    assert bind["name"] == charts.LOSS_SLIDER and "printed at the dashed line" in bind["name"]
    texts = [layer["mark"]["text"]["expr"] for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"]
    assert "'step ' + upto" in texts  # the step, printed beside the dashed line


@pytest.mark.parametrize("students", [1, 2, 12, 60])
def test_the_attempts_chart_holds_its_bars_and_its_axis(students):
    from lab.app.charts import attempts, common

    df = pd.DataFrame({"student": [f"s{i}" for i in range(students)], "attempts": range(students, 0, -1)})
    spec = charts.attempts_chart(df).to_dict()
    bars = attempts.BAR * min(students, 40)
    assert spec["height"] == max(bars, attempts.LEAST) + common.X_AXIS_ROOM


def test_the_class_sweep_keeps_its_lowest_and_highest_rate_off_the_edges():
    df = pd.DataFrame({"optimizer": "Adam", "lr": [0.05, 0.1, 0.3], "result": [500.0, 250.0, 143.0]})
    spec = charts.class_sweep_chart(df, "steps to tolerance").to_dict()
    lo, hi = spec["encoding"]["x"]["scale"]["domain"]
    assert lo < 0.05 and hi > 0.3 and spec["encoding"]["x"]["scale"]["type"] == "log"
    for measure in ("steps to tolerance", "final loss"):  # the best and worst results whole, not cut by the edge
        assert charts.class_sweep_chart(df, measure).to_dict()["encoding"]["y"]["scale"]["padding"] > 0
