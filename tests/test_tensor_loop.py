"""The regression's batched steps on tensors (lab.core.tensor_loop), the loop a GPU runs: forced onto
the CPU here (its numbers against torch.optim are in test_engine's step-by-step test), its chunks
and its fused update; on a CUDA device, the captured graphs' replays against the eager loop."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from reference import assert_follows_torch, paths

from lab.core import devices, engine, optimizers, tensor_loop
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

pytestmark = pytest.mark.numeric

PRESETS = tuple(OptimizerConfig(n) for n in optimizers.registry().presets())
# Coupled and decoupled decay, a batch size that leaves a shorter last batch (37 samples in 7s).
OTHERS = (
    OptimizerConfig.of("AdamW", weight_decay=0.1),
    replace(OptimizerConfig.of("SGD", weight_decay=0.05, momentum=0.5, batch_size=7), label="SGD, batches of 7"),
)
CUDA = [d for d in devices.device_names() if d.startswith("cuda")]


def _run(monkeypatch, cfg: RunConfig, progress=None, **flags) -> list[np.ndarray]:
    """Every lane's (steps + 1, 2) path, the batched lanes on tensors (on the CPU: not compiled, not
    on NumPy views), with tensor_loop's ``flags`` set."""
    monkeypatch.setattr(engine, "COMPILED_ON_CPU", False)
    monkeypatch.setattr(engine, "NUMPY_ON_CPU", False)
    for name, value in flags.items():
        monkeypatch.setattr(tensor_loop, name, value)
    res = engine.run(cfg, progress=progress)
    return paths(res)


def _lanes(cfg: RunConfig):
    """(index, optimizer, repeat) of every lane, in the engine's order: each optimizer's repeats."""
    return [(i * cfg.repeats + r, opt, r) for i, opt in enumerate(cfg.optimizers) for r in range(cfg.repeats)]


def _cfg(dtype: str, steps: int, device: str = "cpu") -> RunConfig:
    data = DataConfig(samples=37, noise=0.3)
    return RunConfig(optimizers=PRESETS + OTHERS, steps=steps, dtype=dtype, data=data, repeats=2, device=device)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("steps, chunks", [(150, 3), (40, 1)])
def test_chunks_of_any_length_give_the_same_bits(monkeypatch, dtype, steps, chunks):
    """The buffers are refilled chunk after chunk (coefficients, each stream's batches, the state):
    chunks of one step give the very numbers of longer chunks (150 steps in chunks of 64: 64 + 64 +
    22) or of a run shorter than a chunk. (Chunks of 64 instead of the engine's 512: the same refills
    in a quarter of the steps; test_the_fused_update_follows_torch_optim runs the engine's own.)"""
    monkeypatch.setattr(engine, "CHUNK", 64)
    cfg = _cfg(dtype, steps)
    calls: list[float] = []
    whole = _run(monkeypatch, cfg, progress=calls.append)
    assert len(calls) == chunks
    calls.clear()
    single = _run(monkeypatch, cfg, progress=calls.append, GRAPH_ELEMENTS=1)
    assert len(calls) == steps
    for i, opt, r in _lanes(cfg):
        np.testing.assert_array_equal(whole[i], single[i], err_msg=f"{opt.display}, repeat {r}")


def test_the_fused_update_follows_torch_optim(monkeypatch):
    """``addcmul``/``addcdiv`` in place of the separate products and sums: the same steps, rounded
    otherwise by at most a few ulps a step."""
    cfg = _cfg("float64", 600)
    paths = _run(monkeypatch, cfg, FUSED=True)
    for i, opt, r in _lanes(cfg):
        assert_follows_torch(paths[i], cfg, opt, 1e-8, repeat=r)


@pytest.mark.parametrize("device", CUDA or [pytest.param("cuda", marks=pytest.mark.skip(reason="no CUDA device"))])
@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_graph_replays_equal_the_eager_loop_bit_for_bit(monkeypatch, device, fused, dtype):
    """On a CUDA device whole chunks are captured as graphs and replayed: the same kernels on the same
    buffers, so the same bits as launching them one by one, and torch.optim's path (on the CPU)."""
    cfg = _cfg(dtype, 2_000, device)
    replays = []
    real_replay = torch.cuda.CUDAGraph.replay
    monkeypatch.setattr(torch.cuda.CUDAGraph, "replay", lambda g: (replays.append(g), real_replay(g))[1])
    graphed = _run(monkeypatch, cfg, GRAPHS=True, FUSED=fused)
    assert len(replays) == 2  # 2 000 steps: 512 eager (the warm-up), 2 × 512 replayed, 464 eager
    eager = _run(monkeypatch, cfg, GRAPHS=False, FUSED=fused)
    assert len(replays) == 2
    for i, opt, r in _lanes(cfg):
        np.testing.assert_array_equal(graphed[i], eager[i], err_msg=f"{opt.display}, repeat {r}")
    if dtype == "float64":  # the first 600 steps (two chunks: the eager one and a replayed one)
        short = cfg.replace(steps=600)
        for i, opt, r in _lanes(cfg):
            assert_follows_torch(graphed[i][:601], short, opt, 1e-8, repeat=r)


def test_a_float32_run_keeps_no_float64_on_the_device(monkeypatch):
    """MPS has no float64: every floating-point buffer the loop keeps on the device is in the run's
    dtype (2/|B| is worked out in float64 on the host)."""
    loops: list[tensor_loop.TensorLoop] = []
    init = tensor_loop.TensorLoop.__init__

    def recording(self, *args, **kwargs):
        init(self, *args, **kwargs)
        loops.append(self)

    monkeypatch.setattr(tensor_loop.TensorLoop, "__init__", recording)
    _run(monkeypatch, _cfg("float32", 20))
    (loop,) = loops
    buffers = [t for v in vars(loop).values() for t in (v if isinstance(v, list) else [v]) if torch.is_tensor(t)]
    floating = [t for t in buffers if t.is_floating_point()]
    assert len(floating) >= 7 and {t.dtype for t in floating} == {torch.float32}
