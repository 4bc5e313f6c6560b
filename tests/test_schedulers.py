"""Learning-rate schedules: the registry, the config, and every schedule's run against a plain
torch.optim + lr_scheduler loop (tests/reference.py builds its schedulers itself)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from reference import assert_follows_torch, paths, torch_loop
from torch.optim import lr_scheduler

from lab.core import cli, engine, explain, reproduce, schedulers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig, SchedulerConfig

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run)

NAMES = schedulers.registry().names()
# Batched lanes of every rule (plain, momentum, decoupled decay, ASGD's lagged η, NAdam, RAdam) and
# compiled kinds of their own (Adadelta, a centered RMSprop, Adafactor, whose relative step reads the rate).
LANES = (
    OptimizerConfig("GD"),
    OptimizerConfig("Mini-batch SGD"),
    OptimizerConfig("Momentum"),
    OptimizerConfig("AdaGrad"),
    OptimizerConfig("RMSProp"),
    OptimizerConfig("Adam"),
    OptimizerConfig.of("AdamW", weight_decay=0.1),
    OptimizerConfig("NAdam"),
    OptimizerConfig("RAdam"),
    OptimizerConfig("ASGD"),
    OptimizerConfig("Adadelta"),
    OptimizerConfig.of("RMSProp", label="RMSProp centered", centered=True),
    OptimizerConfig("Adafactor"),
)


def test_the_registry_offers_every_form_friendly_class_and_says_why_not_the_others():
    for name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts"):
        assert name in NAMES
    for name in ("LinearLR", "PolynomialLR", "OneCycleLR", "CyclicLR", "WarmupCosine", "ReduceLROnPlateau"):
        assert name in NAMES
    off = schedulers.unavailable()
    assert "function" in off["LambdaLR"] and "function" in off["MultiplicativeLR"]
    assert "WarmupCosine" in off["SequentialLR"]
    with pytest.raises(ValueError, match="not offered: needs lr_lambda"):
        schedulers.get("LambdaLR")
    with pytest.raises(ValueError, match="choices: CosineAnnealingLR"):
        schedulers.get("Cosine")
    assert schedulers.get("cosine_annealing_lr").name == "CosineAnnealingLR"
    for spec in schedulers.registry().specs:
        for p in spec.params:  # every parameter has a range a form can show, and a default
            assert p.describe_range() and (p.name in spec.derived or p.name in spec.defaults), (spec.name, p.name)


def test_schedules_are_described_in_the_labs_steps_not_torchs_epochs():
    """The lab steps a schedule after every optimizer step: what torch's docstrings call an epoch
    is one step here, and the form says so (StepLR: every step_size steps)."""
    for spec in schedulers.registry().specs:
        texts = [spec.description, *(p.help or "" for p in spec.params)]
        for text in texts:
            assert "epoch" not in text.lower() or "torch calls them epochs" in text, (spec.name, text)
    assert schedulers.get("StepLR").description == "Multiplies the rate by gamma every step_size steps."
    assert "milestone steps" in schedulers.get("MultiStepLR").description

    class EpochLR(lr_scheduler.LRScheduler):  # a class the lab has no words for: torch's, and what they mean
        """Halves the learning rate every epoch."""

    described = schedulers._description(EpochLR)
    assert described.startswith("Halves the learning rate every epoch.") and "torch calls them epochs" in described


def test_a_class_a_newer_torch_adds_is_discovered_and_probed(monkeypatch):
    class HalvingLR(lr_scheduler.LRScheduler):
        """Halves the rate every `every` steps."""

        def __init__(self, optimizer, every: int = 100, last_epoch: int = -1):
            self.every = every
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            return [b * 0.5 ** (self.last_epoch // self.every) for b in self.base_lrs]

    class NeedsAFunctionLR(lr_scheduler.LRScheduler):
        def __init__(self, optimizer, fn, last_epoch: int = -1):
            super().__init__(optimizer, last_epoch)

    monkeypatch.setattr(lr_scheduler, "HalvingLR", HalvingLR, raising=False)
    monkeypatch.setattr(lr_scheduler, "NeedsAFunctionLR", NeedsAFunctionLR, raising=False)
    schedulers.registry.cache_clear()
    try:
        spec = schedulers.get("HalvingLR")
        assert [p.name for p in spec.params] == ["every"] and spec.defaults == {"every": 100}
        assert "needs fn" in schedulers.unavailable()["NeedsAFunctionLR"]
        lr = schedulers.schedule("HalvingLR", spec.kwargs({}, 300), "SGD", {"lr": 0.8}, 300).lr
        np.testing.assert_array_equal(lr[[0, 99, 100, 299]], [0.8, 0.8, 0.4, 0.2])
    finally:
        schedulers.registry.cache_clear()


def test_lengths_without_a_torch_default_follow_the_run():
    cos = SchedulerConfig("CosineAnnealingLR")
    assert cos.kwargs(1_000)["T_max"] == 1_000 and cos.kwargs(30_000)["T_max"] == 30_000
    assert SchedulerConfig.of("CosineAnnealingLR", T_max=500).kwargs(30_000)["T_max"] == 500
    assert SchedulerConfig("MultiStepLR").kwargs(1_000)["milestones"] == (500, 750)
    lr = schedulers.schedule("CosineAnnealingLR", cos.kwargs(2_000), "Adam", OptimizerConfig("Adam").kwargs, 2_000).lr
    assert lr[0] == 0.05 and lr[-1] < 1e-7  # anneals to nothing by the last step, whatever the length


def test_text_json_and_checks():
    s = SchedulerConfig.parse("MultiStepLR:milestones=100,300,gamma=0.5")
    assert s.kwargs(1_000) == {"milestones": (100, 300), "gamma": 0.5}
    assert SchedulerConfig.parse(s.text) == s and SchedulerConfig.from_dict(s.to_dict()) == s
    assert SchedulerConfig.parse("StepLR:gamma=0.1") == SchedulerConfig("StepLR")  # torch's default: dropped
    cfg = RunConfig(
        scheduler="CosineAnnealingLR:T_max=800",
        optimizers=(OptimizerConfig("GD"), OptimizerConfig.of("Adam", scheduler="StepLR:step_size=100")),
    )
    assert RunConfig.from_json(cfg.to_json()) == cfg
    assert cfg.scheduler_of(cfg.optimizers[0]).name == "CosineAnnealingLR"
    assert cfg.scheduler_of(cfg.optimizers[1]).name == "StepLR"
    assert "scheduler" not in RunConfig().to_json()  # configs without one keep their old JSON
    assert cfg.schedule_text == "GD: CosineAnnealingLR:T_max=800; Adam: StepLR:step_size=100"
    assert RunConfig().schedule_text == "constant"
    bad = {
        "Foo": "unknown scheduler 'Foo'",
        "StepLR:step_size=0": r"StepLR.step_size = 0 is outside the allowed range \[1, 100000\]",
        "StepLR:gamma=x": "StepLR.gamma = 'x' is not a number",
        "StepLR:gama=0.5": "StepLR has no parameter 'gama'",
        "MultiStepLR:milestones=500,300": "must be increasing",
        "CyclicLR:mode=square": "is not one of",
        "OneCycleLR:three_phase=maybe": "is not true or false",
        "StepLR:step_size": "is not key=value",
    }
    for text, message in bad.items():
        with pytest.raises(ValueError, match=message):
            SchedulerConfig.parse(text)
    with pytest.raises(ValueError, match="AdaGrad: OneCycleLR cannot be used with Adagrad: optimizer must support"):
        RunConfig(scheduler="OneCycleLR:cycle_momentum=true")
    with pytest.raises(ValueError, match="total_steps = 10 must be at least the run's steps"):
        RunConfig(scheduler="OneCycleLR:total_steps=10")
    with pytest.raises(ValueError, match="warmup_steps = 500 must be below total_steps = 500"):
        RunConfig(scheduler="WarmupCosine:warmup_steps=500,total_steps=500")


@pytest.mark.parametrize("name", NAMES)
def test_every_schedule_equals_torch_optim_with_its_scheduler(name):
    """float64, 1 000 steps, noisy data: every lane's path equals a plain loop's with the real
    scheduler until the lane turns chaotic (plain RMSProp under OneCycleLR or CyclicLR, whose max_lr
    0.1 is ten times its own rate, circles the optimum), and the rate the lab records is the one the
    scheduler set."""
    cfg = RunConfig(optimizers=LANES, steps=1_000, dtype="float64", scheduler=name, data=DataConfig(noise=0.2), seed=5)
    res = engine.run(cfg)
    for lane, ours, opt in zip(res.lanes, paths(res), LANES, strict=True):
        assert lane.diverged_at is None, (name, opt.display)
        assert_follows_torch(ours, cfg, opt, 1e-7, label=f"{name} {opt.display}")
        assert lane.scheduler == {"class": name, "kwargs": cfg.scheduler.kwargs(1_000)}
        assert len(lane.lr) == 1_000 and np.isfinite(lane.lr).all()
    if name != "ReduceLROnPlateau":
        # the rate of every step, from a plain loop's param group
        params = [torch.zeros(1, requires_grad=True)]
        opt = torch.optim.Adam(params, lr=0.05)
        sched = cfg.scheduler.spec.build(opt, cfg.scheduler.kwargs(1_000))
        seen = []
        for _ in range(1_000):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        np.testing.assert_array_equal(res.lane("Adam").lr, seen)


def test_a_plateau_schedule_lowers_the_rate_when_the_loss_stops_improving():
    cfg = RunConfig(
        optimizers=(OptimizerConfig("SGD"),),
        scheduler="ReduceLROnPlateau:patience=20,factor=0.5",
        data=DataConfig(noise=0.5),
        steps=2_000,
    )
    lr = engine.run(cfg).lanes[0].lr
    assert lr[0] == 0.2 and lr[-1] < 0.2 / 8  # noisy single-sample losses stop improving: it halves often
    assert set(np.unique(lr)) <= {0.2 * 0.5**k for k in range(40)}


def test_schedules_that_cycle_momentum_run_through_torch_optim_and_agree():
    opts = (OptimizerConfig("Momentum"), OptimizerConfig("Adam"), OptimizerConfig("Nesterov"))
    for name in ("OneCycleLR", "CyclicLR"):
        cfg = RunConfig(optimizers=opts, steps=600, dtype="float64", scheduler=f"{name}:cycle_momentum=true")
        res = engine.run(cfg)
        for ours, opt in zip(paths(res), opts, strict=True):
            assert_follows_torch(ours, cfg, opt, 1e-9, label=f"{name} {opt.display}")


def test_one_schedule_per_optimizer():
    opts = (
        OptimizerConfig.of("Adam", scheduler="StepLR:step_size=100,gamma=0.5"),
        OptimizerConfig("Momentum"),
        OptimizerConfig.of("GD", scheduler="ExponentialLR:gamma=0.99"),
    )
    cfg = RunConfig(optimizers=opts, steps=500, dtype="float64", scheduler="CosineAnnealingLR")
    res = engine.run(cfg)
    assert [ln.scheduler["class"] for ln in res.lanes] == ["StepLR", "CosineAnnealingLR", "ExponentialLR"]
    assert res.lanes[0].lr[99] == 0.05 and res.lanes[0].lr[100] == 0.025
    for ours, opt in zip(paths(res), opts, strict=True):
        assert_follows_torch(ours, cfg, opt, 1e-9)
    plain = engine.run(cfg.replace(scheduler=None)).lanes[1]
    assert plain.lr is None and plain.scheduler is None


@pytest.mark.slow
def test_long_float32_runs_with_a_schedule_behave_like_torch_optim():
    """20 000 float32 steps under a cosine schedule, for the optimizers that amplify rounding: paths
    agree until the rounding regime, and the final distance from the optimum is of the same size as
    torch's (a decayed rate leaves both close)."""
    name = "CosineAnnealingLR"
    opts = (OptimizerConfig("RMSProp"), OptimizerConfig("Adam"), OptimizerConfig("NAdam"))
    cfg = RunConfig(optimizers=opts, steps=20_000, scheduler=name, data=DataConfig(noise=0.1), seed=9)
    res = engine.run(cfg)
    for ours, opt in zip(paths(res), opts, strict=True):
        ref = torch_loop(cfg, opt)
        np.testing.assert_allclose(ours[:300], ref[:300], rtol=0, atol=1e-4, err_msg=f"{name} {opt.display}")
        end_ours = np.abs(ours[-1000:] - res.optimum).max()
        end_ref = np.abs(ref[-1000:] - res.optimum).max()
        assert max(end_ours, end_ref) < 1e-5 or end_ref / 3 <= end_ours <= 3 * end_ref, (name, opt.display)


def test_csvs_and_the_reproduce_script_carry_the_schedule(tmp_path):
    out = tmp_path / "r"
    args = ["compare", "--out", str(out), "--steps", "300", "--quiet", "--optimizers", "GD,Adam,Adadelta"]
    assert cli.main([*args, "--scheduler", "MultiStepLR:milestones=100,200,gamma=0.5", "--dtype", "float64"]) == 0
    import pandas as pd

    summary, curves = pd.read_csv(out / "summary.csv"), pd.read_csv(out / "curves.csv")
    expected = '{"class": "MultiStepLR", "kwargs": {"gamma": 0.5, "milestones": [100, 200]}}'
    assert set(summary["scheduler"]) == {expected} and set(curves["scheduler"]) == {expected}
    adam = curves[curves["optimizer"] == "Adam"].set_index("step")["lr"]
    assert np.isnan(adam[0]) and adam[100] == 0.05 and adam[101] == 0.025 and adam[300] == 0.0125
    text = (out / "reproduce.py").read_text()
    assert "from torch.optim import lr_scheduler" in text and "scheduler_step(scheduler, loss)" in text
    run = subprocess.run([sys.executable, "-I", str(out / "reproduce.py")], capture_output=True, text=True, check=True)
    worst = float(run.stdout.strip().rsplit(" ", 1)[1])
    assert worst < 1e-9, run.stdout


def test_reproduce_script_without_a_schedule_has_none_of_it():
    res = engine.run(RunConfig(steps=20, optimizers=(OptimizerConfig("GD"),)))
    assert "lr_scheduler" not in reproduce.script(res)


def test_command_line_refuses_bad_schedules_in_one_line(tmp_path, capsys):
    base = ["compare", "--out", str(tmp_path), "--steps", "50", "--quiet"]
    for text in ("Nope", "StepLR:gamma=2", "OneCycleLR:cycle_momentum=true"):
        assert cli.main([*base, "--scheduler", text]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err
    assert cli.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "CosineAnnealingLR" in listing and "LambdaLR" in listing and "not offered" in listing


@pytest.mark.parametrize("name", ["Adam", "Momentum", "RMSProp", "ASGD"])
def test_an_explained_step_uses_the_rate_the_schedule_gave_it(name):
    cfg = RunConfig(optimizers=(OptimizerConfig(name),), steps=400, dtype="float64", scheduler="StepLR:step_size=50")
    lr = engine.run(cfg).lanes[0].lr
    for k in (1, 50, 51, 120):
        step = explain.explain_step(cfg, name, k)
        assert step.hyperparams["lr"] == lr[k - 1]
        assert step.max_abs_diff < 1e-12, (name, k)
    assert explain.agreement(cfg, name) < 1e-9  # ours, trained on its own with the schedule's rates
    plateau = cfg.replace(scheduler=SchedulerConfig.of("ReduceLROnPlateau", patience=5))
    assert explain.agreement(plateau, name) < 1e-9


def test_explain_on_the_command_line_takes_a_schedule(capsys):
    args = ["explain", "--optimizer", "Adam", "--step", "300", "--scheduler", "StepLR:step_size=100", "--json"]
    assert cli.main(args) == 0
    assert json.loads(capsys.readouterr().out)["hyperparams"]["lr"] == pytest.approx(0.05 * 0.1**2)


def test_one_pass_serves_every_lane_of_a_class_as_single_lanes_would():
    """Lanes of one class under one schedule share one stand-in (a param group each): the rates
    and what else the schedule changes equal one stand-in per lane; LBFGS (no groups) still works."""
    kws = [OptimizerConfig.of("GD", lr=lr).kwargs for lr in (0.05, 0.5)] + [OptimizerConfig("Momentum").kwargs]
    for text in ("CosineAnnealingWarmRestarts", "OneCycleLR:cycle_momentum=true", "CyclicLR:mode=triangular2"):
        sched = SchedulerConfig.parse(text)
        many = schedulers.schedules(sched.name, sched.kwargs(500), "SGD", kws, 500)
        for kw, got in zip(kws, many, strict=True):
            one = schedulers.schedule(sched.name, sched.kwargs(500), "SGD", kw, 500)
            np.testing.assert_array_equal(got.lr, one.lr)
            assert got.changes == one.changes == (("momentum",) if "cycle_momentum" in text else ())
    lbfgs = [OptimizerConfig("LBFGS").kwargs, OptimizerConfig.of("LBFGS", lr=0.5).kwargs]
    found = schedulers.schedules("StepLR", {"step_size": 10, "gamma": 0.5}, "LBFGS", lbfgs, 30)
    assert [s.lr[10] for s in found] == [0.5, 0.25]


def test_schedule_probes_are_kept_on_disk_once_per_install(tmp_path, monkeypatch):
    """A process that lists the schedules (a server's first Optimizers page, a run with a schedule)
    reads what an earlier one probed instead of building torch.optim objects (whose first one
    imports torch._dynamo, most of a second)."""
    from lab.core import optimizers as o

    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    calls = []
    real = schedulers._probe
    monkeypatch.setattr(schedulers, "_probe", lambda spec: calls.append(spec.name) or real(spec))

    def new_process() -> schedulers.Registry:
        o._probes_on_disk.cache_clear()
        schedulers.registry.cache_clear()
        return schedulers.registry()

    try:
        first = new_process()
        assert "CosineAnnealingLR" in calls and "CosineAnnealingLR" in first.names()  # probed, and offered
        written = json.loads(o.probe_cache_path().read_text())
        assert any(key.startswith("lr_scheduler.CosineAnnealingLR{") for key in written)
        calls.clear()
        again = new_process()
        assert calls == [] and again.names() == first.names() and again.unavailable == first.unavailable
    finally:
        o._probes_on_disk.cache_clear()
        schedulers.registry.cache_clear()
