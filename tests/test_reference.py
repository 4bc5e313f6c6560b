"""The reference itself: torch_loops (many lanes stepped together) gives each lane the path
torch_loop gives it alone, bit for bit, so the long runs may use either."""

from __future__ import annotations

import numpy as np
import pytest
from reference import LONG_DATA, torch_loop, torch_loops

from lab.core import optimizers
from lab.core.config import OptimizerConfig, RunConfig

pytestmark = pytest.mark.numeric

# Every registry entry a long run steps together (test_float32.py) and every other kind with its
# hyperparameters (test_compiled_rules.py): each class twice or more, on clean and noisy data.
STEPPED = [
    *(OptimizerConfig(n) for n in optimizers.registry().names() if optimizers.get(n).torch_class != "LBFGS"),
    OptimizerConfig.of("Adam", amsgrad=True, weight_decay=0.05, betas=(0.8, 0.99), batch_size=16),
    OptimizerConfig.of("RMSProp", centered=True, momentum=0.9, alpha=0.9, lr=0.005, weight_decay=0.01, batch_size=3),
    OptimizerConfig.of("Adafactor", lr=0.5, beta2_decay=-0.5, d=2.0, weight_decay=0.05, batch_size=10),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lanes_stepped_together_are_each_torch_optims_own_loop(dtype):
    runs = [
        (RunConfig(optimizers=(opt,), steps=300, data=d, seed=seed, dtype=dtype), opt)
        for d, seed in LONG_DATA.values()
        for opt in STEPPED
    ]
    assert len({opt.spec.cls for _, opt in runs}) < len(runs)  # classes shared, so lanes share optimizers
    together = torch_loops(runs)
    for (cfg, opt), path in zip(runs, together, strict=True):
        alone = torch_loop(cfg, opt)
        assert not np.array_equal(alone[-1], alone[0]), opt.display  # it trained
        np.testing.assert_array_equal(path, alone, err_msg=f"{opt.display}, seed {cfg.seed}")
