"""Gradient noise: the arrows are the steps SGD takes, the variance law is exact, and the page
draws both at the slider's step."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pyarrow as pa
import pytest
import torch
from apptest_helpers import open_page, open_tab

from lab.app import charts
from lab.core import caches, engine, noise
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run)

NOISY = RunConfig(
    optimizers=(OptimizerConfig("SGD"), OptimizerConfig("Mini-batch SGD"), OptimizerConfig("GD")),
    data=DataConfig(noise=0.3),
    steps=400,
)


def test_only_plain_sgd_on_batches_gets_arrows():
    res = engine.run(NOISY.replace(optimizers=(*NOISY.optimizers, OptimizerConfig.of("Momentum", batch_size=5))))
    assert [ln.optimizer for ln in noise.eligible(res)] == ["SGD", "Mini-batch SGD"]  # not GD, not momentum
    assert noise.eligible(engine.run(RunConfig(objective="rosenbrock", steps=10))) == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_this_batch_arrow_is_the_step_taken_and_the_full_data_arrow_is_gds(dtype):
    res = engine.run(NOISY.replace(dtype=dtype))
    x, y = torch.tensor(res.x), torch.tensor(res.y)
    tol = 1e-6 if dtype == "float32" else 1e-12
    for lane in noise.eligible(res):
        found = noise.noise(res, lane, np.array([0, 1, 17, 200, 399]))
        lr = lane.hyperparams["lr"]
        for a in found.arrows:
            k = a["step"]
            if a["kind"] == "this batch":  # ends on the path's next point
                assert a["w"] + a["dw"] == pytest.approx(lane.w[k + 1], abs=tol)
                assert a["b"] + a["db"] == pytest.approx(lane.b[k + 1], abs=tol)
            if a["kind"] == "full data":  # −lr × autograd's gradient of the full-data MSE
                w = torch.tensor(a["w"], dtype=torch.float64, requires_grad=True)
                b = torch.tensor(a["b"], dtype=torch.float64, requires_grad=True)
                ((w * x + b - y) ** 2).mean().backward()
                assert a["dw"] == pytest.approx(-lr * float(w.grad), rel=1e-12)
                assert a["db"] == pytest.approx(-lr * float(b.grad), rel=1e-12)
        kinds = [a["kind"] for a in found.arrows if a["step"] == 17]
        assert kinds.count("other batch") == noise.CLOUD and kinds.count("this batch") == 1


def test_the_variance_law_is_exact_against_every_batch():
    """Every batch of m of N samples, enumerated: their mean gradient is the full-data gradient, and
    their total variance is tr Σ / m · (N − m)/(N − 1)."""
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(9, generator=g, dtype=torch.float64).numpy(), torch.randn(9, generator=g).double().numpy()
    grads = noise.sample_grads(x, y, 0.7, -0.2)
    tr = noise.trace_cov(grads)
    for m in range(1, 10):
        means = np.array([grads[list(c)].mean(0) for c in itertools.combinations(range(9), m)])
        np.testing.assert_allclose(means.mean(0), grads.mean(0), rtol=1e-12)
        var = ((means - means.mean(0)) ** 2).sum(1).mean()
        assert var == pytest.approx(float(noise.batch_variance(tr, 9, m)), rel=1e-10, abs=1e-15)
    assert float(noise.batch_variance(tr, 9, 9)) == 0.0
    halving = noise.batch_variance(tr, 10_000, np.array([1, 2, 4, 8]))
    np.testing.assert_allclose(halving[1:] / halving[:-1], 0.5, rtol=1e-3)  # the 1/m law


def test_the_arrows_sit_at_every_step_the_slider_can_show_and_stay_bounded():
    steps = charts.slider_steps(30_000)
    js_round = np.floor(30_001 ** (np.arange(charts.SLIDER_POSITIONS + 1) / charts.SLIDER_POSITIONS) + 0.5) - 1
    assert set(steps) == set(js_round.astype(int)) and steps[0] == 0 and steps[-1] == 30_000
    res = engine.run(NOISY.replace(steps=30_000))
    arrows, spread = charts.noise_frames(res)
    lanes = len(noise.eligible(res))
    shown = charts.slider_steps(30_000)
    assert len(spread) == lanes * len(shown)  # every step the slider can be at
    assert len(arrows) == len(spread) * (2 + noise.CLOUD)
    spec = charts.trajectory_chart(res, noise_arrows=arrows).to_dict(validate=True)
    assert len(json.dumps(spec)) < 1_500_000
    charts.noise_variance_chart(spread, 30_000).to_dict(validate=True)


def test_the_page_draws_the_arrows_and_the_variance_chart():
    caches.clear_all()
    query = {"opt": "SGD,Mini-batch SGD,GD", "noise": "0.3", "steps": "400", "run": "1"}
    at = open_page("optimizers", query)
    assert not at.exception
    open_tab(at, "Paths")
    at.toggle(key="opt.noise").set_value(True).run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    specs = [json.loads(c.proto.spec) for c in charts]
    heads = [  # (chart, the arrowheads' layer)
        (c, layer) for c, s in zip(charts, specs, strict=True) for layer in s.get("layer", [])
        if layer.get("mark", {}).get("shape") == "triangle-up"
    ]  # fmt: skip
    assert len(heads) == 3  # the full data's, this batch's, the other batches' heads
    chart, layer = heads[0]  # one table of arrows behind them
    data = next(d for d in chart.proto.datasets if d.name == layer["data"]["name"])
    arrows = pa.ipc.open_stream(data.data.data).read_all().to_pandas()
    # the full data's step, this batch's, and other batches' at every replayed step
    assert set(arrows["kind"]) == {"f", "t", "o"} and (arrows["kind"] == "o").sum() >= noise.CLOUD
    assert any(
        layer.get("encoding", {}).get("x", {}).get("field") == "m" for s in specs for layer in s.get("layer", [])
    )  # the variance chart
    # A run without plain SGD on batches offers no such switch.
    other = open_page("optimizers", {"opt": "GD,Adam", "steps": "50", "run": "1"})
    open_tab(other, "Paths")
    assert not other.exception and not [t for t in other.toggle if t.key == "opt.noise"]
    caches.clear_all()
