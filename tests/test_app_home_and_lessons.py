"""Home, the shared sidebar and the lesson pages (Autograd, PyTorch API, GPU) through Streamlit's
AppTest: every page loads, the numbers shown are torch's, inputs survive a visit elsewhere."""

from __future__ import annotations

import functools
import gc
import json
import sys

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import PAGES, open_page

from lab.app import experiments, runs
from lab.core import devices
from lab.lessons import api, gpu
from lab.lessons import autograd as ag

pytestmark = pytest.mark.usefixtures("fresh_shared_cache")  # no run found in a cache another test filled


@pytest.fixture
def fake_gpu(monkeypatch):
    """No GPU here: a fake cuda:0 in the device list, to run the pages' accelerator branches."""
    fake = devices.DeviceInfo("cuda:0", "Test GPU, 80.0 GiB", 80.0)
    monkeypatch.setattr(devices, "available_devices", lambda: [devices.DeviceInfo("cpu", "CPU"), fake])


def test_home_links_every_section_and_shares_a_sidebar():
    at = open_page()
    assert not at.exception
    links = at.get("page_link")
    assert [link.label.strip("*") for link in links[:5]] == ["Autograd", "PyTorch API", "Optimizers", "GPU", "Class"]
    experiment_links = [(link.proto.page, link.proto.query_string) for link in links[5:]]
    assert [q for _, q in experiment_links] == [f"exp={e.key}" for e in experiments.EXPERIMENTS]
    assert {p for p, _ in experiment_links} == {links[2].proto.page}  # each opens the Optimizers page
    device = at.sidebar.selectbox(key="shared.device")
    assert [o.split(" — ")[0] for o in device.options] == devices.device_names() and device.value == "cpu"


def test_the_sidebars_samples_follow_the_device_chosen(fake_gpu):
    """An accelerator takes up to 10⁶ samples, the CPU 10⁵: back on the CPU, more is brought down, said so."""
    at = open_page()
    at.sidebar.selectbox(key="shared.device").set_value("cuda:0").run()
    at.sidebar.number_input(key="shared.samples").set_value(500_000).run()
    assert not at.exception and at.sidebar.number_input(key="shared.samples").value == 500_000
    assert "At most 1,000,000 on cuda:0" in at.sidebar.number_input(key="shared.samples").help
    at.sidebar.selectbox(key="shared.device").set_value("cpu").run()
    assert not at.exception and at.sidebar.number_input(key="shared.samples").value == 100_000
    assert any(c.value == "Samples brought to 100,000: the most cpu takes on this server." for c in at.sidebar.caption)
    assert "Data in use** — generated: 100000 samples" in " ".join(c.value for c in at.sidebar.caption)


def test_the_autograd_page_trains_on_the_cpu_within_its_limit(fake_gpu):
    """The sidebar's samples may be an accelerator's 10⁶; the fit by hand runs on the CPU: at most its 10⁵."""
    at = open_page("autograd")
    at.number_input(key="ag.steps").set_value(5).run()
    at.sidebar.selectbox(key="shared.device").set_value("cuda:0").run()
    at.sidebar.number_input(key="shared.samples").set_value(500_000).run()
    assert not at.exception
    said = "This page trains on the CPU: 100,000 samples, the most the CPU takes on this server."
    assert said in [c.value for c in at.caption]


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_loads_with_defaults(page):
    at = open_page(page)
    assert not at.exception
    assert at.sidebar.selectbox(key="shared.device").value == "cpu"


def test_autograd_page_shows_torch_numbers():
    at = open_page("autograd")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["x.grad (from out.backward())"] == "4.5, 4.5, 4.5, 4.5"
    at.number_input(key="ag.x0").set_value(3.0).run()
    assert {m.label: m.value for m in at.metric}["x.grad (from out.backward())"] == "7.5, 4.5, 4.5, 4.5"
    calls = at.dataframe[2].value  # backward twice without zeroing
    assert list(calls["x.grad"]) == ["7.5, 4.5, 4.5, 4.5", "15, 9, 9, 9"]
    at.toggle(key="ag.forget").set_value(True).run()
    assert not at.exception and any("Without zeroing" in w.value for w in at.warning)


def test_api_page_steps_the_optimizer_and_shows_train_eval_difference():
    at = open_page("api")
    assert not at.exception
    at.button(key="api.btn.step").click().run()
    phases = at.dataframe[2].value
    assert list(phases["phase"])[-1] == "after optimizer.step()"
    te = at.dataframe[4].value
    assert not (te["net.train()"] == te["net.eval()"]).all()
    at.text_input(key="api.pred").set_value("1, two").run()
    assert not at.exception and any("not a list of numbers" in e.value for e in at.error)


def test_gpu_page_lists_the_devices_torch_sees():
    at = open_page("gpu")
    assert not at.exception
    shown = list(at.dataframe[0].value["device"])
    assert shown == devices.device_names()
    assert len(at.get("vega_lite_chart")) == 1


def test_autograd_page_controls_change_what_torch_computes():
    at = open_page("autograd")
    at.slider(key="ag.times").set_value(4).run()
    assert list(at.dataframe[2].value["x.grad"]) == [", ".join([f"{4.5 * k:g}"] * 4) for k in range(1, 5)]
    at.number_input(key="ag.lr").set_value(0.1).run()
    at.number_input(key="ag.steps").set_value(200).run()
    fit = ag.fit_by_hand(0.1, 200)  # the sidebar's defaults: seed 0, 50 samples of y = 3x + 0.8
    metrics = {m.label: m.value for m in at.metric}
    assert not at.exception
    assert (metrics["w"], metrics["b"]) == (f"{fit.w[-1]:.4f}", f"{fit.b[-1]:.4f}")
    assert metrics["final loss"] == f"{fit.loss[-1]:.3e}"


def test_autograd_hand_fit_that_blows_up_says_so_instead_of_nan():
    at = open_page("autograd")
    at.number_input(key="ag.lr").set_value(2.0).run()
    metrics = {m.label: (m.value, m.delta) for m in at.metric}
    step = ag.fit_by_hand(2.0, 3_000).diverged_at
    assert not at.exception and step is not None
    assert metrics["w"] == ("diverged", f"not finite from step {step}")
    assert not any("nan" in f"{v} {d}".lower() for v, d in metrics.values())


def test_api_page_controls_each_do_what_they_say():
    at = open_page("api")
    at.selectbox(key="api.opt").set_value("Adam").run()
    at.number_input(key="api.lr").set_value(0.5).run()
    at.button(key="api.btn.step").click().run()
    at.button(key="api.btn.step").click().run()
    assert any("Steps taken: 2." in c.value for c in at.caption)
    last = at.dataframe[2].value.iloc[-1]
    assert last["w"] == pytest.approx(api.lifecycle("Adam", 0.5, 2)[-1]["w"])
    state = json.loads(at.json[0].value)
    assert state["w.step"] == [2.0] and {"w.exp_avg", "w.exp_avg_sq", "b.exp_avg"} <= set(state)
    at.button(key="api.btn.reset").click().run()
    assert any("Steps taken: 0." in c.value for c in at.caption) and not at.json

    at.text_input(key="api.target").set_value("3, -0.5, 2, 7").run()
    mse = np.mean(np.square(np.array([2.5, 0.0, 2.1, 7.8]) - [3, -0.5, 2, 7]))
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["nn.MSELoss()(predictions, targets)"]) == pytest.approx(mse, rel=1e-5)
    for i, v in enumerate([0.0, 0.0, 3.0]):
        at.number_input(key=f"api.logit{i}").set_value(v).run()
    at.radio(key="api.cls").set_value(2).run()
    p = np.exp([0.0, 0.0, 3.0]) / np.exp([0.0, 0.0, 3.0]).sum()
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["nn.CrossEntropyLoss()(logits, target)"]) == pytest.approx(-np.log(p[2]), rel=1e-5)

    at.number_input(key="api.steps").set_value(2000).run()
    at.number_input(key="api.tlr").set_value(0.01).run()
    at.button(key="api.btn.run").click().run()
    run = api.tutorial_training(2000, 0.01)
    metrics = {m.label: m.value for m in at.metric}
    assert not at.exception
    assert (metrics["w"], metrics["b"]) == (f"{run['w']:.4f}", f"{run['b']:.4f}")


def test_gpu_page_measure_again_asks_for_a_fresh_measurement(monkeypatch):
    asked = []
    real = gpu.measured
    monkeypatch.setattr(gpu, "measured", lambda names, **kw: asked.append(kw["refresh"]) or real(names))
    at = open_page("gpu")
    at.button(key="gpu.btn.again").click().run()
    assert not at.exception and asked == [False, True]


def test_gpu_page_times_the_engine_when_asked(monkeypatch):
    real = gpu.measured
    short = functools.partial(gpu.measure_engine, cases=((50, 100), (200_000, 5)))
    asked = []
    monkeypatch.setattr(gpu, "measured", lambda names, **kw: asked.append(kw.get("what")) or real(names, **kw))
    monkeypatch.setattr(gpu, "measure_engine", short)
    at = open_page("gpu")
    tables = len(at.dataframe)
    assert not at.exception and gpu.measure_engine not in asked  # not on load: it trains for seconds
    at.button(key="gpu.btn.engine").click().run()
    assert not at.exception and asked[-1] is short
    timed = at.dataframe[tables].value
    assert list(timed.columns) == ["samples", "steps", "cpu"] and timed["cpu"].iloc[0] > 0
    said = "Cells showing None were not run: cpu, 200,000 samples, 5 steps — "
    said += "not run: over the 100,000 samples a run may have on cpu"
    assert said in [c.value for c in at.caption]
    assert any("No accelerator here" in m.value for m in at.markdown)


def test_gpu_page_with_an_accelerator_shows_its_column_and_verdict(monkeypatch, fake_gpu):
    """No GPU here: a fake one in the device list and the measurement, to run the page's GPU branch."""
    rows = [(d, m, n, t) for d in ("cpu", "cuda:0") for m in gpu.MODELS for n, t in [(50, 0.1), (10**6, 9.0)]]
    rows = [(d, m, n, t / 10 if d != "cpu" and n > 50 else t, "") for d, m, n, t in rows]
    table = pd.DataFrame(rows, columns=["device", "model", "samples", "ms_per_step", "note"])
    monkeypatch.setattr(gpu, "measured", lambda names, **kw: table)
    at = open_page("gpu")
    assert not at.exception
    assert list(at.dataframe[0].value["device"]) == ["cpu", "cuda:0"]
    assert "cuda:0" in at.dataframe[2].value.columns
    assert any("faster than the CPU from 1,000,000 samples on" in m.value for m in at.markdown)
    assert not any("No accelerator" in i.value for i in at.info)


def test_inputs_survive_a_visit_to_another_page():
    at = open_page("optimizers")
    at.number_input(key="opt.steps").set_value(700).run()
    at.number_input(key="opt.hp.Adam.lr").set_value(0.2).run()
    at.switch_page(PAGES["autograd"]).run()
    at.number_input(key="ag.x0").set_value(2.0).run()
    at.switch_page(PAGES["api"]).run()
    at.text_input(key="api.pred").set_value("1, 2").run()
    at.switch_page(PAGES["optimizers"]).run()
    assert at.number_input(key="opt.steps").value == 700
    assert at.number_input(key="opt.hp.Adam.lr").value == 0.2
    at.switch_page(PAGES["autograd"]).run()
    assert at.number_input(key="ag.x0").value == 2.0
    at.switch_page(PAGES["api"]).run()
    assert at.text_input(key="api.pred").value == "1, 2"
    assert not at.exception


def test_autograd_page_prints_no_float_storage_noise():
    """float32 values through tolist() carry 17 digits (0.1 → 0.10000000149011612): no text, metric or
    table cell on the page shows more than 8 significant digits."""
    import re

    at = open_page("autograd")
    for i, v in enumerate([0.1, 0.2, -0.7, 1.3]):
        at.number_input(key=f"ag.x{i}").set_value(v)
    at.run()
    at.slider(key="ag.times").set_value(3).run()
    assert not at.exception
    shown = []
    for kind in ("markdown", "caption", "latex", "text", "title", "header", "subheader", "info", "success"):
        shown += [str(e.value) for e in at.get(kind)]
    shown += [str(e.value) for e in [*at.warning, *at.error]]
    shown += [f"{m.label} {m.value} {m.delta}" for m in at.metric]
    for frame in [*at.dataframe, *at.table]:
        df = frame.value
        shown += [str(c) for c in df.columns] + [str(v) for v in df.to_numpy().ravel()]
    assert len(at.dataframe) == 3 and any("0.1" in s for s in shown)  # the tables were read
    noisy = [
        (number, text)
        for text in shown
        for number in re.findall(r"\d+\.\d+", text)
        if len(number.replace(".", "").lstrip("0")) > 8
    ]
    assert noisy == []


@pytest.mark.parametrize("page", ["autograd", "api"])
def test_code_blocks_wrap_long_lines_instead_of_cutting_them(page):
    at = open_page(page)
    assert not at.exception and len(at.code) >= 5
    assert [c.proto.wrap_lines for c in at.code] == [True] * len(at.code)


def test_api_page_says_how_long_the_tutorial_run_took(monkeypatch):
    """No promised duration ('a few seconds' took 16–29 s on a busy 2-core machine): the page times
    the run it does and says so."""
    import re
    import time

    real = api.tutorial_training

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "tutorial_training", slow)
    at = open_page("api")
    before = " ".join(i.value for i in at.info)
    assert "Press **Run**" in before and "a few seconds" not in before and "tens of seconds" in before
    at.number_input(key="api.steps").set_value(1000).run()
    started = time.perf_counter()
    at.button(key="api.btn.run").click().run()
    wall = time.perf_counter() - started
    assert not at.exception
    said = [m for c in at.caption if (m := re.fullmatch(r"1,000 steps took (\S+) s here: (\S+) ms a step\.", c.value))]
    assert len(said) == 1
    seconds, per_step = float(said[0][1]), float(said[0][2])
    assert 0.3 <= seconds <= wall + 0.01 and per_step == pytest.approx(seconds, rel=0.01)


def test_the_first_run_freezes_what_the_server_has_loaded(monkeypatch):
    """Streamlit collects garbage after every script run; what is loaded by the first run (torch,
    pandas, Altair, Streamlit, the lab) is frozen out of those collections, once a process
    (lab.app.runs.freeze_loaded), else every rerun of every session walks it again (125-156 ms)."""
    real, calls = gc.freeze, []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(1) or real())
    monkeypatch.setattr(runs, "_frozen", False)  # a new process
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    at = open_page()
    at.run()  # a rerun, and another session's first run: nothing frozen again
    open_page()
    assert calls == [1] and gc.get_freeze_count() > 100_000


def test_the_hosted_launcher_freezes_before_its_server_starts(monkeypatch):
    """``python -m lab.serve`` freezes when no session exists yet (under ``streamlit run`` the first
    session's own state would be frozen with the modules, and kept for the process's life)."""
    from streamlit.web import cli

    from lab import serve

    seen = []
    monkeypatch.setattr(serve, "warm_up", lambda: None)
    monkeypatch.setattr(cli, "main", lambda: seen.append(gc.get_freeze_count()) or 0)
    monkeypatch.setattr(sys, "argv", ["lab.serve"])
    monkeypatch.setattr(runs, "_frozen", False)  # a new process
    gc.unfreeze()
    with pytest.raises(SystemExit):
        serve.main()
    assert seen and seen[0] > 100_000
