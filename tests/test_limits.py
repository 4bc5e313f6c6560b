"""What one visitor may ask of a shared server: read from the environment, refused with a message
naming the limit, its variable and how to run bigger."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from apptest_helpers import open_page, open_tab

from lab.app import limits, query, runs, view
from lab.app.limits import Limits
from lab.core import cli
from lab.core.config import DataConfig, RunConfig, max_samples


def test_profiles_and_overrides_come_from_the_environment():
    assert limits.load({}) == limits.PROFILES["local"]
    hosted = limits.load({"LAB_PROFILE": "hosted"})
    assert hosted == limits.PROFILES["hosted"] and hosted.steps < limits.PROFILES["local"].steps
    assert limits.load(
        {"LAB_PROFILE": "hosted", "LAB_MAX_STEPS": "2000", "LAB_MAX_RUNS_KEPT": "3"}
    ) == dataclasses.replace(hosted, steps=2000, runs_kept=3)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LAB_PROFILE": "classroom"}, "LAB_PROFILE = 'classroom' is not one of ['hosted', 'local']"),
        ({"LAB_MAX_STEPS": "lots"}, "LAB_MAX_STEPS = 'lots' is not a whole number in [1, 100000]"),
        ({"LAB_MAX_STEPS": "0"}, "LAB_MAX_STEPS = 0 is outside [1, 100000]"),
        ({"LAB_MAX_SAMPLES": "1e6"}, "LAB_MAX_SAMPLES = '1e6' is not a whole number"),
        ({"LAB_MAX_TRAININGS": "-2"}, "LAB_MAX_TRAININGS = -2 is outside [1, 1000]"),
    ],
)
def test_a_bad_setting_is_one_clear_error(env, message):
    with pytest.raises(ValueError) as err:
        limits.load(env)
    assert message in str(err.value)


def test_the_app_refuses_to_start_with_a_bad_setting():
    env = {**os.environ, "LAB_MAX_STEPS": "lots"}
    out = subprocess.run([sys.executable, "-c", "import lab.app.limits"], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "LAB_MAX_STEPS = 'lots'" in out.stderr


@pytest.fixture
def small(monkeypatch):
    tight = Limits(
        steps=500,
        samples=40,
        accelerator_samples=400,
        repeats=4,
        optimizers=3,
        sweep_lanes=20,
        runs_kept=4,
        trainings=2,
        upload_kb=1,
        upload_rows=30,
        seconds=0,
    )
    monkeypatch.setattr(limits, "LIMITS", tight)
    runs.SHARED.clear()
    yield tight
    runs.SHARED.clear()


def test_a_link_over_the_limits_is_told_what_it_asked_and_how_to_run_bigger(small):
    at = open_page("optimizers", query={"steps": "2000", "samples": "200", "repeats": "9"})
    notices = " ".join(w.value for w in at.warning)
    assert "repeats = 9 is over this server's limit of 4 (LAB_MAX_REPEATS)" in notices
    assert at.number_input(key="opt.repeats").value == 4
    assert "steps = 2,000 is over this server's limit of 500 (LAB_MAX_STEPS)" in notices
    assert "samples = 200 is over this server's limit of 40 (LAB_MAX_SAMPLES)" in notices
    assert "python -m lab compare --samples 200" in notices
    assert at.number_input(key="opt.steps").value == 500
    assert at.number_input(key="shared.samples").value == 40


def test_too_many_optimizers_are_refused_not_trimmed(small):
    at = open_page("optimizers", query={"opt": "GD,SGD,Momentum,Adam"})
    errors = " ".join(e.value for e in at.error)
    assert "optimizers = 4 is over this server's limit of 3 (LAB_MAX_OPTIMIZERS)" in errors
    assert at.button(key="opt.btn.train").disabled
    at.multiselect(key="opt.selected").set_value(["GD", "Adam"]).run()
    at.button(key="opt.btn.train").click().run()
    assert not at.exception and len(at.table) >= 1


def test_a_sweep_over_the_limit_is_refused_with_the_reason(small):
    at = open_page(
        "optimizers", query={"opt": "GD,Adam,RMSProp", "steps": "50"}
    )  # 3 x (9 rates + its own) less one shared: 29 > 20
    at.button(key="opt.btn.tune").click().run()
    assert not at.exception
    assert any(
        "learning-rate sweep runs = 29 is over this server's limit of 20 (LAB_MAX_SWEEP_LANES)" in e.value
        for e in at.error
    )


def test_history_keeps_at_most_the_limit(small):
    at = open_page("optimizers", query={"opt": "GD,Adam", "steps": "20", "samples": "30", "run": "1"})
    open_tab(at, "Downloads & history")  # the history is there once a run is
    assert at.number_input(key="opt.keep").proto.max == small.runs_kept


def test_an_upload_over_the_limits_says_which_and_how_to_run_bigger(small):
    at = open_page("optimizers")
    big = b"x,y\n" + b"".join(b"%d,%d\n" % (i, 2 * i) for i in range(35))  # 35 rows > 30; < 1 KB
    at.sidebar.file_uploader[0].upload("big.csv", big, "text/csv").run()
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "big.csv has 35 rows, over the limit of 30 on this server (LAB_MAX_UPLOAD_KB, LAB_MAX_UPLOAD_ROWS)" in errors
    assert "python -m lab compare --data big.csv" in errors and "The data in use is unchanged" in errors


def test_an_accelerator_takes_ten_times_the_samples_of_the_cpu():
    assert max_samples("cpu") == 100_000 and max_samples("cuda:1") == max_samples("mps") == 1_000_000
    RunConfig(data=DataConfig(samples=1_000_000), device="cuda")  # valid: the device is resolved when it runs
    with pytest.raises(ValueError) as err:
        RunConfig(data=DataConfig(samples=100_001))
    assert str(err.value) == (
        "data.samples = 100001 is outside the allowed range [2, 100000] on the CPU "
        "(on an accelerator, device cuda or mps: up to 1000000)"
    )
    with pytest.raises(ValueError, match=r"data.samples = 1000001 is outside the allowed range \[2, 1000000\]"):
        DataConfig(samples=1_000_001)
    assert limits.samples_limit("cpu") == "samples" and limits.samples_limit("cuda:0") == "accelerator_samples"
    assert limits.load({}).accelerator_samples == 1_000_000
    assert limits.load({"LAB_PROFILE": "hosted"}).accelerator_samples == 5_000
    assert limits.load({"LAB_MAX_ACCELERATOR_SAMPLES": "250000"}).accelerator_samples == 250_000
    with pytest.raises(ValueError, match=r"LAB_MAX_ACCELERATOR_SAMPLES = 2000000 is outside \[1, 1000000\]"):
        limits.load({"LAB_MAX_ACCELERATOR_SAMPLES": "2000000"})


def test_the_accelerators_limit_names_its_variable_and_the_samples_flag(small):
    value, notice = limits.within("accelerator_samples", 500)
    assert value == 400 and notice is not None
    assert notice.startswith("samples = 500 is over this server's limit of 400 (LAB_MAX_ACCELERATOR_SAMPLES).")
    assert "python -m lab compare --samples 500 --out results/" in notice
    for name in ("samples", "accelerator_samples"):  # more than a CPU run takes: the command names a GPU
        assert "python -m lab compare --samples 500000 --device cuda --out results/" in limits.within(name, 500_000)[1]
    big = RunConfig(data=DataConfig(samples=500_000), device="cuda:0")
    assert "--samples 500000 --device cuda:0 --out results/" in cli.command(big)
    assert view.same_run(big, big.replace(device="cuda"))  # the same question on another device, no limit re-read
    assert max_samples("CPU") == max_samples("none") == max_samples("") == 100_000  # only cuda and mps take more


def test_a_link_reads_its_samples_against_its_device():
    assert query.from_query({"device": "cuda:0", "samples": "500000"}).config.data.samples == 500_000
    few = query.from_query({"samples": "5", "batch": "2"})  # fewer samples than the default batch of 10
    assert (few.config.data.samples, few.config.batch_size, few.notices) == (5, 2, [])
    cpu = query.from_query({"samples": "500000"})
    assert cpu.config.data.samples == 50
    assert any("Ignored samples='500000'" in n and "on the CPU" in n for n in cpu.notices), cpu.notices


def test_a_link_for_an_accelerator_on_a_machine_without_one_falls_back_to_the_cpus_limit():
    at = open_page("optimizers", query={"device": "cuda:7", "samples": "500000"})
    notices = " ".join(w.value for w in at.warning)
    assert not at.exception
    assert "Ignored device='cuda:7'" in notices
    assert "samples = 500,000 is over this server's limit of 100,000 (LAB_MAX_SAMPLES)" in notices
    assert at.number_input(key="shared.samples").value == 100_000
    batch = {"opt": "GD,Mini-batch SGD", "Mini-batch SGD.batch_size": "200000"}
    at = open_page("optimizers", query={"device": "cuda:7", "samples": "500000", **batch})
    assert not at.exception and at.number_input(key="shared.samples").value == 100_000
