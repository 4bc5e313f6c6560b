"""The compiled loop's interface: its coefficient columns named once, its records cached."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch
from reference import torch_loop

from lab.core import engine, kernel, rules
from lab.core.config import DataConfig, OptimizerConfig, RunConfig


def test_each_column_constant_is_the_index_of_its_name():
    """The kernel and the NumPy loop read the rule's table by these constants, never by 0…5."""
    assert len(set(rules.COEFFS)) == len(rules.COEFFS)
    for name in rules.COEFFS:
        assert getattr(rules, name.upper()) == rules.COEFFS.index(name), name


_CACHE_HITS = """
from lab.core import engine, kernel
from lab.core.config import RunConfig
assert engine.COMPILED_ON_CPU, "Numba (requirements.txt) is missing: there is no compiled loop to cache"
engine.run(RunConfig(steps=10))
print(sum(kernel.regression_steps.stats.cache_hits.values()))
"""


@pytest.mark.slow
def test_processes_that_start_together_compile_once_and_the_others_load_the_code(tmp_path):
    """Its arguments are records (named tuples of arrays), which Numba's cache keys and reloads. Two
    processes started at once on an empty cache (two replicas on a fresh install): one compiles and
    keeps the code while the other waits for it (caches.one_compiler_at_a_time), then loads it,
    instead of both compiling at once."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", _CACHE_HITS], env=env, stdout=subprocess.PIPE, text=True)

    def hits(proc: subprocess.Popen) -> int:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        return int(out.split()[-1])

    together = [start(), start()]
    assert sorted(hits(proc) for proc in together) == [0, 1]


# ------------------------------------------------------------------ torch's order of the batch sums
_X86 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.numeric
@pytest.mark.skipif(not _X86, reason="the sum's vector width is x86's (other CPUs: not measured)")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_bias_gradients_sum_is_torchs_to_the_last_bit(dtype):
    """torch's CPU sum (SumKernel.cpp's cascade) is fixed by its source: every batch size up to 1 000,
    then a few up to the size past which torch splits a sum between threads, on values spanning twelve
    orders of magnitude with both signs (where the order of a sum shows most)."""
    rng = np.random.default_rng(7)
    for size in [*range(1, 1001), 4_095, 4_096, 4_097, 20_000, 32_767]:
        a = (rng.standard_normal(size) * 10.0 ** rng.uniform(-6, 6, size)).astype(dtype)
        ours = kernel.torch_sum(a, size, kernel.sum_lanes(dtype))
        assert ours == torch.from_numpy(a).sum().item(), size
    assert kernel.torch_sum(np.array([-0.0], dtype), 1, kernel.sum_lanes(dtype)) == 0.0  # torch's 0 + …


@pytest.mark.numeric
def test_gradient_descent_in_float32_is_the_tutorials_loop_bit_for_bit():
    """With a learning rate that is a power of two, GD's update ``p − lr·g`` rounds once whether torch
    fuses it or not (its AVX2 and AVX-512 builds do, its generic one does not): what is left to differ
    is the gradient. With the sums in torch's order the float32 path is the tutorial's loop to the
    last bit, step after step — full batch and mini-batches, several data sets."""
    if not kernel.sums_match_torch("float32"):
        pytest.skip("this machine's BLAS adds mm(g.t(), x) in another order (kernel.sums_match_torch)")
    cases = [("GD", 0, 50, 0.5), ("GD", 3, 200, 0.25), ("Mini-batch SGD", 11, 1000, 0.125), ("SGD", 5, 100, 0.25)]
    for name, seed, samples, lr in cases:
        cfg = RunConfig(
            batch_size=32,
            optimizers=(OptimizerConfig.of(name, lr=lr),),
            steps=3_000,
            dtype="float32",
            seed=seed,
            data=DataConfig(samples=samples, noise=0.1),
        )
        lane = engine.run(cfg).lanes[0]
        ref = torch_loop(cfg, cfg.optimizers[0])
        assert lane.batch_size == {"GD": samples, "Mini-batch SGD": 32, "SGD": 1}[name]
        assert np.array_equal(np.stack([lane.w, lane.b], 1)[1:], ref[1:]), (name, seed, samples)
