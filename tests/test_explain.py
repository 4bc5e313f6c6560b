"""Explain a step: our from-scratch implementations against torch.optim, the explained numbers
against an independent replay, and the command line's ``explain``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from reference import agreeing_steps, assert_follows_torch
from torch import nn

from lab.core import algorithms, engine, explain
from lab.core.config import DataConfig, OptimizerConfig, RunConfig
from lab.core.data import BatchStream, initial_params, make_data

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run)

# (registry name, hyperparameters): each implementation at its defaults and at other values.
CASES = [
    ("GD", {}),
    ("Momentum", {"dampening": 0.3, "weight_decay": 0.01}),
    ("Nesterov", {"weight_decay": 0.02}),
    ("Mini-batch SGD", {"momentum": 0.5}),  # a stochastic lane
    ("AdaGrad", {}),
    ("AdaGrad", {"lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("RMSProp", {}),
    ("RMSProp", {"centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.01}),
    ("Adam", {"decoupled_weight_decay": True, "weight_decay": 0.05, "betas": (0.8, 0.99)}),
    ("AdamW", {}),
    ("AdamW", {"amsgrad": True, "eps": 1e-6}),
    ("NAdam", {}),
    ("NAdam", {"weight_decay": 0.01, "decoupled_weight_decay": True, "momentum_decay": 0.01}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.02, "weight_decay": 0.01, "betas": (0.8, 0.99)}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.01, "betas": (0.5, 0.9)}),
    ("Adadelta", {}),
    ("Adadelta", {"rho": 0.5, "weight_decay": 0.01}),
    ("ASGD", {}),
    ("ASGD", {"t0": 100.0, "lambd": 1e-3, "weight_decay": 0.01}),
    ("Rprop", {}),
    ("Rprop", {"etas": (0.3, 1.5), "step_sizes": (1e-4, 1.0)}),
]


def _cfg(name: str, hp: dict, steps: int = 1000, **kw) -> RunConfig:
    opt = OptimizerConfig.of(name, **hp)
    defaults = dict(steps=steps, dtype="float64", data=DataConfig(noise=0.1), seed=3)
    return RunConfig(optimizers=(opt,), **{**defaults, **kw})


def test_every_class_with_a_rule_written_down_is_covered_here():
    assert {OptimizerConfig(name).spec.torch_class for name, _ in CASES} == set(algorithms.ALGORITHMS)


@pytest.mark.parametrize(("name", "hp"), CASES, ids=[f"{n}-{'default' if not h else 'custom'}" for n, h in CASES])
def test_our_implementation_follows_torch_optim_at_every_step(name, hp):
    """Trained on its own (its own state and gradients) against the plain torch.optim loop: the
    same path until the lane turns chaotic (reference.horizon), the same hover after it."""
    cfg = _cfg(name, hp)
    ours = explain.scratch_run(cfg, name)
    h = assert_follows_torch(ours, cfg, cfg.optimizers[0], 1e-9)
    assert np.abs(ours[h - 1] - ours[0]).max() > 0.1  # it trained before the horizon: not a standing lane


@pytest.mark.parametrize(("name", "hp"), CASES[::3], ids=[n for n, _ in CASES[::3]])
def test_from_torchs_state_each_step_is_torchs_step(name, hp):
    tr = explain.trace(_cfg(name, hp, steps=300), name)
    assert tr.one_step_diff is not None and tr.one_step_diff < 1e-12
    assert np.isfinite(tr.effective).all() and (tr.effective > 0).all()


@pytest.mark.parametrize(
    "name", ["Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW", "NAdam", "RAdam", "ASGD"]
)
def test_our_implementations_and_the_engines_batched_rules_agree(name):
    cfg = _cfg(name, {}, steps=1000, data=DataConfig(noise=0.0))
    batched = engine.run(cfg).lanes[0]
    ours, theirs = explain.scratch_run(cfg, name), np.stack([batched.w, batched.b], 1)
    h = agreeing_steps(ours, theirs, 1e-6, cfg, cfg.optimizers[0])
    assert h > 100, h
    np.testing.assert_allclose(ours[:h], theirs[:h], rtol=0, atol=1e-6)


def _independent_step(cfg: RunConfig, opt: OptimizerConfig, k: int) -> dict:
    """The tutorial's loop (nn.Linear, MSELoss) to step k, recording what explain reports."""
    x, y = make_data(cfg.data, cfg.seed)
    x, y = x.unsqueeze(1), y.unsqueeze(1)
    w0, b0 = initial_params(cfg.seed, 1)[0].tolist()
    model = nn.Linear(1, 1).double()
    with torch.no_grad():
        model.weight.fill_(w0)
        model.bias.fill_(b0)
    optimizer = opt.spec.cls(model.parameters(), **opt.kwargs)
    batches = BatchStream(cfg.data.samples, cfg.batch_size_of(opt), cfg.seed, 0).take(k)
    for i, idx in enumerate(batches, start=1):
        before = [model.weight.item(), model.bias.item()]
        loss = nn.MSELoss()(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        grad = [model.weight.grad.item(), model.bias.grad.item()]
        optimizer.step()
        if i == k:
            state = {
                n: {key: float(v) for key, v in optimizer.state[p].items()}
                for n, p in zip("wb", model.parameters(), strict=True)
            }
            return {"before": before, "grad": grad, "after": [model.weight.item(), model.bias.item()], "state": state}
    raise AssertionError("unreachable")


@pytest.mark.parametrize(("name", "k"), [("Adam", 1), ("Adam", 500), ("Adam", 1000), ("RMSProp", 25), ("SGD", 777)])
def test_explained_numbers_are_those_of_an_independent_torch_replay(name, k):
    cfg = _cfg(name, {})
    got = explain.explain_step(cfg, name, k)
    ref = _independent_step(cfg, cfg.optimizers[0], k)
    pairs = [(got.params_before, ref["before"]), (got.grad, ref["grad"]), (got.params_after, ref["after"])]
    for mine, theirs in pairs:
        assert [mine["w"], mine["b"]] == pytest.approx(theirs, abs=1e-12)
    for p in "wb":
        assert got.state_after[p] == pytest.approx(ref["state"][p], abs=1e-12)
    assert got.max_abs_diff < 1e-12
    assert got.update["w"] == pytest.approx(ref["after"][0] - ref["before"][0], abs=1e-15)
    if name == "SGD":  # a stochastic lane: the batch of that step is the one sample it used
        assert got.batch == BatchStream(cfg.data.samples, 1, cfg.seed, 0).take(k)[-1].tolist()


def test_adams_derived_quantities_follow_from_its_state():
    cfg = _cfg("Adam", {})
    s = explain.explain_step(cfg, "Adam", 25)
    (b1, b2), lr, eps = cfg.optimizers[0].kwargs["betas"], 0.05, 1e-8
    for p in "wb":
        v_hat = s.state_after[p]["exp_avg_sq"] / (1 - b2**25)
        assert s.derived["v̂ = v / (1 − β₂ᵗ)"][p] == pytest.approx(v_hat, rel=1e-12)
        assert s.derived[algorithms.EFFECTIVE][p] == pytest.approx(lr / (v_hat**0.5 + eps), rel=1e-12)
        m_hat = s.state_after[p]["exp_avg"] / (1 - b1**25)
        assert s.update[p] == pytest.approx(-s.derived[algorithms.EFFECTIVE][p] * m_hat, rel=1e-9)
    assert s.state_before["w"]["step"] == 24 and s.state_after["w"]["step"] == 25


def test_the_step_size_claims_the_page_makes():
    """AdaGrad's effective step size only shrinks; Adam's first steps are lr in size whatever
    the gradient's scale; SGD's is its learning rate."""
    ada = explain.trace(_cfg("AdaGrad", {}, steps=300), "AdaGrad")
    assert (np.diff(ada.effective, axis=0) <= 0).all()
    for scale in (1.0, 30.0):
        cfg = _cfg("Adam", {}, steps=5, data=DataConfig(true_w=3.0 * scale, true_b=0.8 * scale))
        adam = explain.trace(cfg, "Adam")
        assert np.abs(np.diff(adam.params, axis=0))[0] == pytest.approx([0.05, 0.05], rel=1e-6)
    sgd = explain.trace(_cfg("GD", {}, steps=10), "GD")
    assert np.all(sgd.effective == 0.5)


@pytest.mark.parametrize(
    ("name", "hp", "says", "never"),
    [
        ("GD", {}, [], ["momentum", "velocity", "nesterov"]),  # plain SGD: not a word about momentum
        ("Mini-batch SGD", {}, [], ["momentum", "velocity", "nesterov"]),
        ("Mini-batch SGD", {"momentum": 0.5}, ["momentum", "velocity"], ["nesterov"]),
        ("Momentum", {}, ["momentum", "velocity"], ["nesterov"]),
        ("Nesterov", {}, ["momentum", "nesterov"], []),
    ],
)
def test_sgds_intuition_speaks_of_momentum_only_when_it_has_some(name, hp, says, never):
    text = explain.explain_step(_cfg(name, hp, steps=5), name, 3).intuition.lower()
    assert text.startswith("step against the gradient")
    assert all(w in text for w in says) and not any(w in text for w in never), text


def test_a_class_without_a_formula_still_shows_torchs_state():
    cfg = _cfg("LBFGS", {}, steps=5)
    s = explain.explain_step(cfg, "LBFGS", 2)
    assert s.formula is None and s.max_abs_diff is None and s.scratch_params_after is None
    assert "n_iter" in s.state_after["w"]
    assert "No formula" in explain.as_text(s)


def test_a_surface_lane_is_explained_too():
    cfg = RunConfig(optimizers=(OptimizerConfig("Adam"),), objective="rosenbrock", steps=200, dtype="float64")
    s = explain.explain_step(cfg, "Adam", 100)
    assert s.batch is None and s.max_abs_diff < 1e-12


def test_bad_requests_raise_one_clear_error():
    cfg = _cfg("Adam", {}, steps=10)
    with pytest.raises(ValueError, match=r"step = 11 is outside the run's steps \[1, 10\]"):
        explain.explain_step(cfg, "Adam", 11)
    with pytest.raises(ValueError, match="not in this run"):
        explain.explain_step(cfg, "RMSProp", 1)
    diverging = RunConfig(optimizers=(OptimizerConfig.of("GD", lr=9.0),), steps=400)
    with pytest.raises(ValueError, match="diverged before step 400"):
        explain.explain_step(diverging, "GD", 400)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", "explain", *args], capture_output=True, text=True, timeout=120)


def test_cli_explain_json_has_the_promised_fields_and_torchs_numbers():
    out = _cli("--optimizer", "Mini-batch SGD", "--step", "40", "--noise", "0.1", "--dtype", "float64", "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    for key in ("optimizer", "torch_class", "hyperparams", "step", "w0", "b0", "params_before", "grad"):
        assert key in got
    for key in ("state_before", "state_after", "params_after", "scratch_params_after", "max_abs_diff"):
        assert key in got
    cfg = RunConfig(optimizers=(OptimizerConfig("Mini-batch SGD"),), data=DataConfig(noise=0.1), dtype="float64")
    ref = _independent_step(cfg, cfg.optimizers[0], 40)
    assert [got["params_after"]["w"], got["params_after"]["b"]] == pytest.approx(ref["after"], abs=1e-12)
    assert got["max_abs_diff"] < 1e-12


def test_cli_explain_prints_a_readable_table():
    out = _cli("--optimizer", "Adam", "--step", "25")
    assert out.returncode == 0, out.stderr
    assert "state after: exp_avg_sq" in out.stdout and "effective step size" in out.stdout
    assert "largest |ours − torch|" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "Nope", "--step", "1"], "unknown optimizer 'Nope'"),
        (["--optimizer", "Adam", "--step", "0"], "--step 0 is outside [1, --steps = 1000]"),
        (["--optimizer", "Adam", "--step", "5", "--steps", "4"], "--step 5 is outside [1, --steps = 4]"),
        (["--optimizer", "Adam", "--step", "two"], "invalid int value: 'two'"),
        (["--optimizer", "Adam", "--step", "1", "--dtype", "float16"], "invalid choice: 'float16'"),
        (["--optimizer", "Adam", "--step", "1", "--samples", "1"], "data.samples = 1 is outside"),
        (["--step", "1"], "the following arguments are required: --optimizer"),
    ],
)
def test_cli_explain_bad_input_is_one_line_and_exit_2(lab_cli, args, message):
    """In this process (``lab_cli``): the two tests above start the real one, and tests/test_cli.py
    shows the process itself exits 2 with the one line, for the lab's checks and argparse's."""
    code, _, err = lab_cli("explain", *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
