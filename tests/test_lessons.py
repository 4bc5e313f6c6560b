"""The section pages' pure functions: the numbers they show are the ones torch computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lab.core import devices
from lab.lessons import api, gpu
from lab.lessons import autograd as ag


@pytest.mark.parametrize("x", [[1, 1, 1, 1], [0.0, -2.0, 3.5, 10.0]])
def test_chain_gradient_matches_the_formula(x):
    res = ag.chain(x)
    assert res["out"].item() == pytest.approx(np.mean([3 * (v + 2) ** 2 for v in x]), rel=1e-6)
    np.testing.assert_allclose(res["x.grad"].flatten().tolist(), ag.expected_grad(x), rtol=1e-6)
    assert ag.describe(res["y"])["grad_fn"] == "AddBackward0" and ag.describe(res["x"])["is_leaf"]
    assert ag.describe(res["out"])["grad_fn"] == "MeanBackward0"


def test_ones_give_four_and_a_half_and_backward_twice_doubles():
    assert ag.chain([1, 1, 1, 1])["x.grad"].flatten().tolist() == [4.5] * 4
    assert ag.accumulate([1, 1, 1, 1], 3) == [[4.5] * 4, [9.0] * 4, [13.5] * 4]


def test_tables_print_float32_values_without_the_storage_digits():
    """tolist() gives 0.1 stored in float32 as 0.10000000149011612: the page shows 6 significant digits."""
    res = ag.chain([0.1, 0.2, -0.7, 1.3])
    assert res["x"].tolist()[0][0] == pytest.approx(0.10000000149011612, abs=0)  # the noise is there
    assert ag.describe(res["x"])["value"] == "[[0.1, 0.2], [-0.7, 1.3]]"
    assert ag.describe(res["y"])["value"] == "[[2.1, 2.2], [1.3, 3.3]]"
    assert ag.describe(res["out"])["value"] == "16.3725"  # mean(3·y²) = 65.49 / 4
    assert ag.shown(9.425986289978027) == "9.42599" and ag.shown(2.9999999999999996) == "3"
    assert ag.shown([[1.0, -2.5e-9], [True, 7]]) == "[[1, -2.5e-09], [True, 7]]"


def test_switching_tracking():
    sw = ag.switching(0)
    assert sw["a.requires_grad before"] is False and sw["a"].requires_grad
    assert type(sw["b"].grad_fn).__name__ == "SumBackward0"
    assert sw["c"].grad_fn is None and not sw["c"].requires_grad and sw["c"].item() == pytest.approx(sw["b"].item())
    assert sw["d"].grad_fn is None and not sw["d"].requires_grad


def test_graph_follows_next_functions():
    res = ag.chain([1, 1, 1, 1])
    dot = ag.graph_dot(res["out"], {id(res["x"]): "x"})
    for name in ("MeanBackward0", "MulBackward0", "AddBackward0", "AccumulateGrad", "x (2, 2)"):
        assert name in dot
    loss_dot = ag.regression_loss_graph()
    assert "w (1,)" in loss_dot and "b (1,)" in loss_dot and "PowBackward0" in loss_dot


def test_fit_by_hand_converges_and_forgetting_to_zero_does_not():
    good = ag.fit_by_hand()
    assert abs(good.w[-1] - 3) < 0.1 and abs(good.b[-1] - 0.8) < 0.1 and good.loss[-1] < 1e-3
    bad = ag.fit_by_hand(zero_grad=False)
    assert bad.loss[-1] > 100 * good.loss[-1]


@pytest.mark.parametrize(("zero_grad", "momentum"), [(True, 0.0), (False, 1.0)])
def test_fit_by_hand_equals_torch_optim_sgd(zero_grad, momentum):
    """The hand update is torch.optim.SGD; forgetting to zero the gradients adds each one to the
    sum of all before it, which is SGD with momentum 1 (and no dampening)."""
    fit = ag.fit_by_hand(lr=0.05, steps=200, zero_grad=zero_grad, seed=4, noise=0.2)
    x, y = torch.tensor(fit.x), torch.tensor(fit.y)
    w, b = (torch.tensor([v], requires_grad=True) for v in fit.start)
    opt = torch.optim.SGD([w, b], lr=0.05, momentum=momentum)
    ws, bs, losses = [], [], []
    for _ in range(200):
        opt.zero_grad()
        loss = ((x * w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
        ws.append(w.item()), bs.append(b.item()), losses.append(loss.item())
    np.testing.assert_allclose(np.array([ws, bs, losses]), np.array([fit.w, fit.b, fit.loss]), rtol=1e-5, atol=1e-6)


def test_anatomy_and_the_global_rng_untouched():
    state = torch.random.get_rng_state()
    a = api.anatomy(3)
    assert [n for n, *_ in a["named_parameters"]] == ["linear.weight", "linear.bias"]
    assert a["model(x)"] == a["model.forward(x)"] == pytest.approx(a["x @ w.T + b"])
    api.train_vs_eval(3)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("name", ["SGD", "SGD + momentum", "Adam"])
def test_lifecycle_phases_match_a_plain_loop(name):
    phases = api.lifecycle(name, 0.1, 3)
    assert [p["phase"] for p in phases] == [
        "start of the step",
        "after zero_grad()",
        "after loss.backward()",
        "after optimizer.step()",
    ]
    assert phases[1]["w.grad"] is None and phases[2]["w.grad"] is not None
    assert phases[2]["w"] == phases[1]["w"] and phases[3]["w"] != phases[2]["w"]
    again = api.lifecycle(name, 0.1, 3)
    assert again == phases  # deterministic: recomputed from scratch on every press
    # after the step, the loss is the one at the new parameters (a small step downhill), not a repeat
    assert phases[3]["loss"] != phases[2]["loss"] and phases[3]["loss"] < phases[2]["loss"]
    if name == "SGD":
        assert phases[3]["state"] == {} or all("momentum_buffer" in k for k in phases[3]["state"])
        assert phases[3]["w"] == pytest.approx(phases[2]["w"] - 0.1 * phases[2]["w.grad"], abs=1e-7)
    if name == "Adam":
        assert phases[3]["state"]["w.step"] == [3.0]


def test_losses():
    m = api.mse([2.5, 0.0, 2.1, 7.8], [3, -0.5, 2, 8])
    assert m["loss"] == pytest.approx(np.mean(np.square([-0.5, 0.5, 0.1, -0.2])), rel=1e-6)
    ce = api.cross_entropy([2.0, 0.5, -1.0], 2)
    p = np.exp([2.0, 0.5, -1.0]) / np.exp([2.0, 0.5, -1.0]).sum()
    assert ce["loss"] == pytest.approx(-np.log(p[2]), rel=1e-5) and ce["probabilities"] == pytest.approx(p)


def test_train_and_eval_outputs_differ_and_are_repeatable():
    a, b = api.train_vs_eval(0), api.train_vs_eval(0)
    assert a == b
    assert not np.allclose(a["train"], a["eval"])


def test_tutorial_training_reproduces_the_tutorial():
    seen = []
    r = api.tutorial_training(steps=3000, progress=seen.append)
    assert seen == [1 / 3, 2 / 3, 1.0]
    assert r["losses"][-1] < r["losses"][0] and len(r["losses"]) == 3000


def test_took_reports_the_measured_time_per_run_and_per_step():
    assert api.took(30_000, 16.24) == "30,000 steps took 16.2 s here: 0.541 ms a step."
    assert api.took(1, 0.0004) == "1 step took 0.0004 s here: 0.4 ms a step."


@pytest.mark.parametrize("device", devices.device_names())
def test_roundtrip_reports_devices(device):
    steps = gpu.roundtrip(device)
    where = str(devices.resolve(device))
    assert [s["device"] for s in steps][:5] == ["cpu", "cpu", where, where, where]
    assert steps[-1]["device"] == "NumPy array (5, 1)" and len(steps[-1]["value"]) == 5


def test_step_time_waits_for_the_device_before_reading_the_clock(monkeypatch):
    seen = []
    monkeypatch.setattr(gpu.devices, "synchronize", seen.append)
    assert gpu.step_time("cpu", gpu.Lr, 50, budget=0.001) > 0
    # after the warm-up, after the single timed step, after each timed round
    assert seen == [torch.device("cpu")] * (2 + gpu.ROUNDS)


def test_crossover_finds_the_first_size_where_the_accelerator_wins():
    rows = [
        ("cpu", "Lr", 50, 0.07),
        ("cpu", "Lr", 1_000, 0.08),
        ("cpu", "Lr", 100_000, 0.3),
        ("cuda:0", "Lr", 50, 0.12),
        ("cuda:0", "Lr", 1_000, 0.05),
        ("cuda:0", "Lr", 100_000, 0.06),
        # the CPU was not run at 1 000 (predicted too slow): an accelerator that ran there wins
        ("cpu", "MLP", 50, 0.2),
        ("cpu", "MLP", 1_000, float("nan")),
        ("cuda:0", "MLP", 50, 0.3),
        ("cuda:0", "MLP", 1_000, 0.1),
        # an accelerator that did not run never wins
        ("mps", "MLP", 50, 0.3),
        ("mps", "MLP", 1_000, float("nan")),
    ]
    table = pd.DataFrame(rows, columns=["device", "model", "samples", "ms_per_step"])
    assert gpu.crossover(table) == {("cuda:0", "Lr"): 1_000, ("cuda:0", "MLP"): 1_000, ("mps", "MLP"): None}


def test_verdict_says_where_each_accelerator_wins():
    rows = [("cpu", m, n, t) for m in gpu.MODELS for n, t in [(50, 0.07), (10_000, 0.2), (1_000_000, float("nan"))]]
    rows += [("cuda:0", m, n, t) for m in gpu.MODELS for n, t in [(50, 0.11), (10_000, 0.1), (1_000_000, 0.3)]]
    text = gpu.verdict(pd.DataFrame(rows, columns=["device", "model", "samples", "ms_per_step"]))
    first = next(iter(gpu.MODELS))
    assert f"**cuda:0**, {first}: faster than the CPU from 10,000 samples on." in text
    assert "For the tutorial's 50 samples" in text and "cpu 0.070 ms, cuda:0 0.110 ms" in text
    cpu_only = gpu.verdict(pd.DataFrame(rows[:3], columns=["device", "model", "samples", "ms_per_step"]))
    assert "a CPU step takes 0.070 ms" in cpu_only and "no accelerator here" in cpu_only


def test_measurement_is_bounded_and_stops_slow_series():
    table = gpu.measure(["cpu"], samples=(50, 1_000, 100_000), budget=0.01, too_slow=0.001)
    assert set(table["model"]) == set(gpu.MODELS)
    assert (table["ms_per_step"].dropna() > 0).all()
    assert (table["note"] != "").any()  # the wide model at 100 000 samples is predicted too slow
    assert gpu.crossover(table) == {}  # no accelerator here


def test_device_list_matches_torch():
    names = devices.device_names()
    assert names[0] == "cpu"
    assert len([n for n in names if n.startswith("cuda")]) == (
        torch.cuda.device_count() if torch.cuda.is_available() else 0
    )


def test_the_optimizer_state_is_shown_without_float32_storage_digits():
    from lab.lessons import api

    phases = api.lifecycle("Adam", 0.1, presses=1)
    state = phases[-1]["state"]
    raw = [v for value in state.values() if isinstance(value, list) for v in value]
    assert any(len(repr(v).replace("-", "").replace(".", "").lstrip("0")) > 8 for v in raw)  # the storage's digits
    shown = api.readable(state)
    for key, value in shown.items():
        for v, r in zip(
            value if isinstance(value, list) else [value],
            state[key] if isinstance(value, list) else [state[key]],
            strict=True,
        ):
            assert v == float(f"{r:.6g}") and len(repr(v).replace("-", "").replace(".", "").lstrip("0")) <= 7


@pytest.mark.parametrize("device", devices.device_names())
def test_the_engine_is_timed_on_each_device_within_its_limit_on_samples(device):
    table = gpu.measure_engine([device], cases=((50, 200), (200_000, 5)))
    first, big = table.iloc[0], table.iloc[1]
    assert 0 < first.seconds < 30 and first.us_per_step == pytest.approx(1e6 * first.seconds / 200)
    assert first.note == "" and (big.samples, big.steps) == (200_000, 5)
    if device == "cpu":  # over its 10⁵ samples: not run, said why
        assert np.isnan(big.seconds) and big.note == "not run: over the 100,000 samples a run may have on cpu"
        text = gpu.engine_verdict(table)
        said = f"On the CPU, the seven presets side by side: 200 steps on 50 samples in {first.seconds:.2f} s."
        assert text.startswith(said) and "No accelerator here" in text
    else:  # an accelerator takes 10⁶
        assert 0 < big.seconds < 30 and big.note == ""
    capped = gpu.measure_engine([device], cases=((200_000, 5),), caps=(1_000,))  # a server's own limit
    assert capped.note[0] == f"not run: over the 1,000 samples a run may have on {device}"


def test_the_engine_verdict_compares_each_accelerator_with_the_cpu():
    rows = [("cpu", 50, 30_000, 0.2), ("cpu", 100_000, 300, 0.5), ("cpu", 1_000_000, 300, float("nan"))]
    rows += [("cuda:0", 50, 30_000, 1.0), ("cuda:0", 100_000, 300, 0.1), ("cuda:0", 1_000_000, 300, 0.3)]
    text = gpu.engine_verdict(pd.DataFrame(rows, columns=["device", "samples", "steps", "seconds"]))
    assert "- **cuda:0**, 30,000 steps on 50 samples: 1.00 s (0.20× the CPU's speed)." in text
    assert "- **cuda:0**, 300 steps on 100,000 samples: 0.10 s (5.00× the CPU's speed)." in text
    assert "- **cuda:0**, 300 steps on 1,000,000 samples: 0.30 s (more samples than the CPU takes)." in text
    assert "No accelerator" not in text
