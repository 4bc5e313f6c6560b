"""Long float32 runs (issue 9): over 20 000 steps in torch's default dtype, every registry entry of
the batched rule follows torch.optim's own loop, on clean and on noisy data, until the rounding
regime, then hovers as torch's does; and what the lab must show hovering."""

from __future__ import annotations

import numpy as np
import pytest
from reference import LONG_DATA, assert_hovers_like_torch, long_float32

from lab.core import engine, optimizers
from lab.core.config import OptimizerConfig, RunConfig
from lab.core.rules import rule_for

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run), as in test_engine.py

BATCHED = [
    n for n in optimizers.registry().names() if rule_for(optimizers.get(n).torch_class, optimizers.get(n).defaults)
]


@pytest.fixture(scope="module")
def long_runs():
    return long_float32(tuple(OptimizerConfig(n) for n in BATCHED))


@pytest.mark.slow
@pytest.mark.parametrize("name", BATCHED)
@pytest.mark.parametrize("data", LONG_DATA)
def test_long_float32_runs_round_like_torch_optim(long_runs, data, name):
    """Over 20 000 float32 steps: the same path until the optimizer reaches the rounding regime
    (its gradient is then rounding noise, and adaptive optimizers amplify it: any two ways of
    rounding part there); after it, the same hovering — the largest distance from the optimum over
    the second half within a factor of 3 of torch's, or both below 1e-5."""
    ours, ref, optimum = long_runs[data, name]
    # Without a second moment nothing amplifies rounding: those paths agree all the way.
    rule = rule_for(optimizers.get(name).torch_class, optimizers.get(name).defaults)
    assert_hovers_like_torch(ours, ref, optimum, name, adaptive=bool(rule.gamma))


def test_what_hovers_and_why():
    """What the lab must show (and showed wrongly before the gradient rounded like autograd's):
    at a constant learning rate RMSProp never settles — it cycles about the optimum at about half
    its learning rate, in float32 and float64 alike; Adam settles in float64 but in float32, once its
    gradient is rounding noise that it divides by its own size, it hovers too."""
    rms = (OptimizerConfig("RMSProp"),)  # lr 0.01
    for dtype in ("float32", "float64"):
        for lr in (0.01, 0.001):
            res = engine.run(RunConfig(optimizers=(rms[0].with_hyperparams(lr=lr),), steps=12_000, dtype=dtype))
            hover = np.abs(res.lanes[0].w[8_000:] - res.optimum[0]).max()
            assert 0.4 * lr < hover < 0.6 * lr, (dtype, lr, hover)
    adam = (OptimizerConfig("Adam"),)
    f32 = engine.run(RunConfig(optimizers=adam, steps=20_000))
    f64 = engine.run(RunConfig(optimizers=adam, steps=20_000, dtype="float64"))
    assert np.abs(f32.lanes[0].w[10_000:] - f32.optimum[0]).max() > 1e-3
    assert np.abs(f64.lanes[0].w[10_000:] - f64.optimum[0]).max() < 1e-12
