"""The engine against plain torch.optim loops, and its contracts (determinism, divergence,
errors, progress and cancel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
import torch
from reference import agreeing_steps, assert_follows_torch, paths

from lab.core import devices, engine, optimizers
from lab.core.config import DataConfig, OptimizerConfig, RunConfig
from lab.core.data import BatchStream, make_data
from lab.core.rules import rule_for

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run)

STEPS = 1_000
TOL = 1e-5


def _assert_matches_torch(cfg: RunConfig, opt: OptimizerConfig) -> None:
    res = engine.run(cfg)
    assert_follows_torch(paths(res)[0], cfg, opt, TOL, label=f"{opt.display}: {res.lanes[0].status}")


@pytest.mark.parametrize("name", optimizers.registry().names())
def test_every_registry_entry_equals_torch_optim(name):
    opt = OptimizerConfig(name)
    _assert_matches_torch(RunConfig(optimizers=(opt,), steps=STEPS, dtype="float64"), opt)


VARIANTS = [
    OptimizerConfig.of("SGD", lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    OptimizerConfig.of("Nesterov", batch_size=7, lr=0.05, weight_decay=0.02),
    OptimizerConfig.of("Adam", amsgrad=True),  # no generic rule: its own kind, compiled (test_compiled_rules.py)
    OptimizerConfig.of("Adam", lr=0.02, weight_decay=0.05, decoupled_weight_decay=True, betas=(0.8, 0.99)),
    OptimizerConfig.of("AdamW", batch_size=16, weight_decay=0.1),
    OptimizerConfig.of("AdaGrad", lr_decay=0.01, initial_accumulator_value=0.5, weight_decay=0.01),
    OptimizerConfig.of("RMSProp", centered=True),
    OptimizerConfig.of("RMSProp", momentum=0.5, batch_size=5),
    OptimizerConfig.of("RMSProp", alpha=0.9, lr=0.005, weight_decay=0.1, batch_size=3),
    OptimizerConfig.of("NAdam", decoupled_weight_decay=True, weight_decay=0.05, momentum_decay=0.01),
    OptimizerConfig.of("RAdam", decoupled_weight_decay=True, weight_decay=0.05, batch_size=9),
    OptimizerConfig.of("ASGD", lambd=0.01, alpha=0.5, weight_decay=0.01, batch_size=4),
    OptimizerConfig.of("LBFGS", line_search_fn="strong_wolfe", batch_size=25),
    OptimizerConfig.of("Rprop", etas=(0.3, 1.5), batch_size=10),
]


@pytest.mark.parametrize("opt", VARIANTS, ids=lambda o: f"{o.name}-{dict(o.overrides)}-{o.batch_size}")
def test_hyperparameter_variants_equal_torch_optim(opt):
    cfg = RunConfig(optimizers=(opt,), steps=STEPS, dtype="float64", data=DataConfig(noise=0.3), seed=3)
    _assert_matches_torch(cfg, opt)


@pytest.mark.parametrize("landscape", ["rosenbrock", "beale", "saddle"])
@pytest.mark.parametrize("name", ["Momentum", "Adam", "RMSProp", "LBFGS", "Adadelta"])
def test_landscapes_equal_torch_optim(landscape, name):
    opt = OptimizerConfig.of(name, lr=0.001) if name in ("Momentum", "Adam", "RMSProp") else OptimizerConfig(name)
    cfg = RunConfig(optimizers=(opt,), steps=STEPS, dtype="float64", objective=landscape)
    _assert_matches_torch(cfg, opt)


@pytest.mark.parametrize("loop", ["numpy", "tensor"])
@pytest.mark.parametrize("objective", ["regression", "saddle"])
def test_the_step_by_step_loops_equal_torch_optim_too(monkeypatch, objective, loop):
    """On the CPU the regression's batched steps run compiled, a surface's on NumPy views; on a GPU
    the same loop runs on tensors. Forcing each loop here keeps every path checked on machines
    without a GPU."""
    monkeypatch.setattr(engine, "COMPILED_ON_CPU", False)
    monkeypatch.setattr(engine, "NUMPY_ON_CPU", loop == "numpy")
    opts = tuple(OptimizerConfig(n) for n in ("GD", "SGD", "Mini-batch SGD", "Momentum", "AdaGrad", "RMSProp"))
    opts += (OptimizerConfig("Adam"), OptimizerConfig.of("AdamW", weight_decay=0.1), OptimizerConfig("ASGD"))
    if objective != "regression":
        opts = tuple(o.with_hyperparams(lr=0.001) for o in opts)
    cfg = RunConfig(optimizers=opts, steps=600, dtype="float64", objective=objective, data=DataConfig(noise=0.2))
    res = engine.run(cfg)
    for ours, opt in zip(paths(res), opts, strict=True):
        assert_follows_torch(ours, cfg, opt, TOL)


RULE_VARIANTS = [  # every variant with a batched rule, labelled apart from the presets, and the presets
    replace(v, label=f"{v.name} variant {i}")
    for i, v in enumerate(VARIANTS)
    if rule_for(v.spec.torch_class, v.kwargs) is not None
] + [OptimizerConfig(name) for name in ("GD", "SGD", "Mini-batch SGD", "Momentum", "AdaGrad", "RMSProp", "Adam")]


@pytest.mark.parametrize("dtype, steps, tol", [("float64", 1_000, 1e-12), ("float32", 300, 2e-6)])
def test_the_compiled_steps_equal_the_numpy_loop(monkeypatch, dtype, steps, tol):
    """Same arithmetic, operation for operation; only the order of each batch sum differs (sample
    order against BLAS's, which depends on the CPU): within a few ulps (float64: 1.3e-15 over 1 000
    steps; float32: up to 4.8e-7 over 300 steps) until a lane turns chaotic (reference.horizon:
    RMSProp circling the optimum, Adam at lr 0.02 with decoupled decay), where any last bit grows
    and the two loops part as either parts from torch.optim's. Two repeats, batch sizes that leave
    a shorter last batch, coupled and decoupled decay."""
    assert engine.COMPILED_ON_CPU, "Numba (requirements.txt) is missing: there is no compiled loop to compare"
    cfg = RunConfig(
        optimizers=tuple(RULE_VARIANTS), steps=steps, dtype=dtype, data=DataConfig(noise=0.3), repeats=2, seed=4
    )
    compiled = engine.run(cfg)
    monkeypatch.setattr(engine, "COMPILED_ON_CPU", False)
    loop = engine.run(cfg)
    assert len(compiled.lanes) == 2 * len(RULE_VARIANTS)
    lanes = [(o, r) for o in cfg.optimizers for r in range(cfg.repeats)]  # the engine's lane order
    both = zip(compiled.lanes, loop.lanes, paths(compiled), paths(loop), lanes, strict=True)
    for ours, theirs, our_path, their_path, (opt, repeat) in both:
        assert ours.status == theirs.status and ours.optimizer == opt.display and ours.repeat == repeat
        h = agreeing_steps(our_path, their_path, tol, cfg, opt, repeat)
        assert h > steps // 2, (opt.display, h)  # most of the run is compared
        np.testing.assert_allclose(ours.w[:h], theirs.w[:h], rtol=0, atol=tol, err_msg=ours.optimizer)
        np.testing.assert_allclose(ours.b[:h], theirs.b[:h], rtol=0, atol=tol, err_msg=ours.optimizer)


_DUMP_PATHS = """
import json, sys, numpy as np
from lab.core import engine
from lab.core.config import RunConfig
for k, cfg in enumerate(json.loads(sys.stdin.read())):
    res = engine.run(RunConfig.from_json(cfg))
    np.save(f"{sys.argv[1]}-{k}.npy", np.stack([np.stack([ln.w, ln.b]) for ln in res.lanes]))
"""


@pytest.mark.slow
def test_the_compiled_loop_gives_the_same_bits_on_every_cpu_target(tmp_path):
    """Numba compiles for the host CPU. Without fast-math it neither fuses nor reorders, so a build
    for a generic x86-64 (NUMBA_CPU_NAME=generic: no AVX at all), with torch held to its lowest
    kernels as well, gives the host build's bits exactly, in both dtypes: over 2 000 steps, through
    the lanes that turn chaotic and amplify any last bit. (One process builds both dtypes there.)"""
    assert engine.COMPILED_ON_CPU, "Numba (requirements.txt) is missing: there is no compiled loop to compare"
    cfgs = [
        RunConfig(optimizers=tuple(RULE_VARIANTS), steps=2_000, dtype=dtype, data=DataConfig(noise=0.3), seed=4)
        for dtype in ("float64", "float32")
    ]
    env = {**os.environ, "NUMBA_CPU_NAME": "generic", "ATEN_CPU_CAPABILITY": "default"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")  # compiled afresh for that target, kept apart
    out = tmp_path / "paths"
    code = [sys.executable, "-c", _DUMP_PATHS, str(out)]
    given = json.dumps([cfg.to_json() for cfg in cfgs])
    subprocess.run(code, input=given, env=env, text=True, check=True, timeout=300)
    for k, cfg in enumerate(cfgs):
        here = np.stack([np.stack([ln.w, ln.b]) for ln in engine.run(cfg).lanes])
        there = np.load(f"{out}-{k}.npy")
        assert there.shape == here.shape and np.isfinite(here).all(), cfg.dtype
        assert np.array_equal(there, here), cfg.dtype


def test_compiled_chunk_boundaries_change_nothing(monkeypatch):
    """A run cut into 1-step chunks gives the same bits as one cut into the largest ones."""
    assert engine.COMPILED_ON_CPU, "Numba (requirements.txt) is missing: there is no compiled loop to cut"
    cfg = RunConfig(optimizers=tuple(RULE_VARIANTS), steps=200, data=DataConfig(noise=0.3), seed=2)
    whole = engine.run(cfg)
    monkeypatch.setattr(engine, "COMPILED_WORK", 1)
    seen = []
    steps = engine.run(cfg, progress=seen.append)
    assert len(seen) == 200
    for a, b in zip(whole.lanes, steps.lanes, strict=True):
        assert np.array_equal(a.w, b.w) and np.array_equal(a.b, b.b) and np.array_equal(a.loss, b.loss)


def test_float32_default_stays_close_to_torch_optim():
    cfg = RunConfig(steps=STEPS)
    res = engine.run(cfg)
    for ours, opt in zip(paths(res), cfg.optimizers, strict=True):
        assert_follows_torch(ours, cfg, opt, 1e-4)


def test_every_preset_is_batched_and_converges_with_defaults():
    res = engine.run(RunConfig())
    assert [ln.optimizer for ln in res.lanes] == optimizers.registry().presets()
    for lane, opt in zip(res.lanes, RunConfig().optimizers, strict=True):
        assert rule_for(opt.spec.torch_class, opt.kwargs) is not None, opt.name
        assert lane.status == "converged", (lane.optimizer, lane.final_loss)
        assert abs(lane.final_w - 3.0) < 1e-3 and abs(lane.final_b - 0.8) < 1e-3, lane.optimizer


def test_loss_curve_is_the_full_data_mse():
    cfg = RunConfig(steps=50, dtype="float64", data=DataConfig(noise=0.5))
    res = engine.run(cfg)
    x, y = make_data(cfg.data, cfg.seed)
    for lane in res.lanes:
        direct = ((lane.w[:, None] * x.numpy()[None] + lane.b[:, None] - y.numpy()[None]) ** 2).mean(1)
        np.testing.assert_allclose(lane.loss, direct, rtol=1e-9, atol=1e-12)


def test_same_config_gives_identical_results_also_from_threads():
    cfgs = [RunConfig(steps=300, seed=s, data=DataConfig(noise=0.2), repeats=2) for s in (1, 2, 1, 2)]
    sequential = [engine.run(c) for c in cfgs]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(engine.run, cfgs))
    for a, b in zip(sequential, parallel, strict=True):
        for la, lb in zip(a.lanes, b.lanes, strict=True):
            np.testing.assert_array_equal(la.loss, lb.loss)
            np.testing.assert_array_equal(la.w, lb.w)
    assert not np.array_equal(sequential[0].lanes[0].loss, sequential[1].lanes[0].loss)


def test_engine_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    engine.run(RunConfig(steps=20))
    assert torch.equal(torch.rand(3), before)


def test_repeats_start_differently_and_share_batches_within_a_repeat():
    cfg = RunConfig(steps=10, repeats=3)
    res = engine.run(cfg)
    assert len(res.lanes) == 7 * 3
    starts = {(ln.w0, ln.b0) for ln in res.lanes}
    assert len(starts) == 3
    a = BatchStream(50, 10, 0, 1).take(12)
    b = BatchStream(50, 10, 0, 1).take(12)
    c = BatchStream(50, 10, 0, 2).take(12)
    assert all(torch.equal(i, j) for i, j in zip(a, b, strict=True))
    assert not all(torch.equal(i, j) for i, j in zip(a, c, strict=True))


def test_batches_cover_every_sample_once_per_epoch_even_when_size_does_not_divide():
    batches = BatchStream(50, 8, 0, 0).take(7)  # 6 batches of 8, one of 2
    assert [len(b) for b in batches] == [8] * 6 + [2]
    assert sorted(torch.cat(batches).tolist()) == list(range(50))


def test_learning_rate_sweep_is_batched_and_equals_single_runs():
    rates = np.geomspace(0.01, 0.7, 20)
    sweep = tuple(OptimizerConfig.of("GD", label=f"lr={lr:.3g}", lr=float(lr)) for lr in rates)
    cfg = RunConfig(optimizers=sweep, steps=200, dtype="float64")
    together = paths(engine.run(cfg))
    for i in (0, 7, 19):
        single = engine.run(cfg.replace(optimizers=(sweep[i],)))
        np.testing.assert_allclose(together[i], paths(single)[0], atol=1e-12)


def test_divergence_is_data_not_a_crash():
    opts = (
        OptimizerConfig.of("GD", label="GD lr=5", lr=5.0),
        OptimizerConfig("Adam"),
        OptimizerConfig("LBFGS"),
        OptimizerConfig.of("LBFGS", label="LBFGS lr=10", lr=10.0),
    )  # diverges through torch.optim
    res = engine.run(RunConfig(optimizers=opts))
    bad, adam, lbfgs, bad_torch = res.lanes
    assert bad.diverged_at is not None and bad.status == f"diverged at step {bad.diverged_at}"
    assert len(bad.loss) == bad.diverged_at and np.isfinite(bad.loss).all()
    assert bad.final_w is None and bad.final_loss is None
    assert adam.status == "converged" and lbfgs.status == "converged"
    from lab.core.results import summary_frame

    summary = summary_frame(res).set_index("optimizer")
    assert np.isnan(summary.loc["GD lr=5", "w"]) and summary.loc["Adam", "w"] == pytest.approx(3, abs=1e-3)
    assert bad_torch.status == f"diverged at step {bad_torch.diverged_at}" and bad_torch.final_b is None


def test_all_diverged_stops_early():
    opts = (OptimizerConfig.of("GD", lr=9.0),)
    seen = []
    res = engine.run(RunConfig(optimizers=opts, steps=100_000), progress=seen.append)
    lane = res.lanes[0]
    assert len(seen) == 1 and seen[0] < 1  # nothing computed after the first chunk, in which it diverged
    assert lane.diverged_at is not None and lane.diverged_at < seen[0] * 100_000


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: RunConfig(optimizers=(OptimizerConfig.of("Adam", lr=0.0),)), "Adam.lr"),
        (lambda: RunConfig(optimizers=(OptimizerConfig.of("Adam", lr=-1.0),)), "Adam.lr"),
        (lambda: RunConfig(optimizers=(OptimizerConfig.of("Adam", lr=float("nan")),)), "Adam.lr"),
        (lambda: RunConfig(optimizers=(OptimizerConfig.of("Adam", lr=float("inf")),)), "Adam.lr"),
        (lambda: RunConfig(steps=0), "steps"),
        (lambda: RunConfig(steps=10**9), "steps"),
        (lambda: RunConfig(data=DataConfig(samples=1)), "data.samples"),
        (lambda: RunConfig(batch_size=51), "batch_size"),
        (lambda: RunConfig(optimizers=(OptimizerConfig("Mini-batch SGD", batch_size=80),)), "batch_size"),
        (lambda: RunConfig(optimizers=(OptimizerConfig("Nadamax"),)), "Nadamax"),
        (lambda: RunConfig(optimizers=(OptimizerConfig.of("Adam", lrr=0.1),)), "lrr"),
        (lambda: RunConfig(optimizers=(OptimizerConfig.of("Adam", betas=(0.9, 1.5)),)), "Adam.betas[1]"),
        (lambda: RunConfig(optimizers=()), "optimizers"),
        (lambda: RunConfig(repeats=0), "repeats"),
        (lambda: RunConfig(tol=0), "tol"),
        (lambda: RunConfig(dtype="float16"), "dtype"),
        (lambda: RunConfig.from_dict({"stepz": 3}), "stepz"),
    ],
)
def test_bad_config_names_field_and_range(make, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")) as info:
        make()
    msg = str(info.value)
    assert any(word in msg for word in ("range", "choices", "one of", "allowed", "must", "limit")), msg


def test_unavailable_device_is_a_clear_error():
    with pytest.raises(ValueError, match=r"device = 'cuda:7' is not available.*available here: cpu"):
        engine.run(RunConfig(device="cuda:7"))
    with pytest.raises(ValueError, match="not a device name"):
        engine.run(RunConfig(device="gpu please"))


def test_unapplicable_optimizers_are_listed_with_a_reason():
    missing = optimizers.unavailable()
    assert "sparse" in missing["SparseAdam"].lower()
    assert "2D" in missing["Muon"]
    with pytest.raises(ValueError, match="cannot train this model"):
        optimizers.get("SparseAdam")
    every = {
        n
        for n in dir(torch.optim)
        if isinstance(getattr(torch.optim, n), type)
        and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)
        and n != "Optimizer"
    }
    covered = {s.torch_class for s in optimizers.registry().specs} | set(missing)
    assert every == covered


def test_registry_entries_carry_what_a_ui_needs():
    for spec in optimizers.registry().specs:
        lr = spec.param("lr")
        assert lr.log and lr.low_open and lr.low == 0 and spec.defaults["lr"] > 0
        assert spec.batch in optimizers.BATCH_MODES
        for p in spec.params:
            assert p.check(spec.defaults[p.name], spec.name) == spec.defaults[p.name]
    assert optimizers.get("mini-batch sgd").name == "Mini-batch SGD"
    assert optimizers.get("adagrad").torch_class == "Adagrad"


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "loop"])
def test_progress_reaches_one_and_cancel_stops(monkeypatch, compiled):
    monkeypatch.setattr(engine, "COMPILED_ON_CPU", compiled)
    chunk = engine.MAX_CHUNK if compiled else engine.CHUNK  # the presets on 50 samples: little work per step
    seen = []
    engine.run(RunConfig(steps=3 * chunk), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3
    stop = threading.Event()

    def cancel_after_first(fraction):
        stop.set()

    with pytest.raises(engine.RunCancelled):
        engine.run(RunConfig(steps=3 * chunk), progress=cancel_after_first, cancel=stop)


def test_compiled_chunks_shrink_with_the_work_per_step():
    """Progress and Stop stay responsive on large data: a compiled chunk is about COMPILED_WORK residuals."""
    data = DataConfig(samples=100_000)
    chunk = engine.COMPILED_WORK // 100_000
    seen = []
    engine.run(RunConfig(optimizers=(OptimizerConfig("GD"),), data=data, steps=3 * chunk), progress=seen.append)
    assert len(seen) == 3 and seen[0] == pytest.approx(1 / 3)


def test_config_round_trips_through_json():
    cfg = RunConfig(
        optimizers=(OptimizerConfig.of("Adam", lr=0.1, betas=(0.8, 0.99)), OptimizerConfig("SGD", batch_size=3)),
        steps=123,
        data=DataConfig(samples=40, noise=0.1),
        seed=9,
        repeats=2,
        init=(0.5, -0.5),
        tol=1e-4,
    )
    again = RunConfig.from_json(cfg.to_json())
    assert again == cfg and again.to_json() == cfg.to_json()
    assert again.optimizers[0].kwargs["betas"] == (0.8, 0.99)


def test_results_are_cpu_numpy():
    res = engine.run(RunConfig(steps=5))
    assert isinstance(res.lanes[0].loss, np.ndarray) and res.lanes[0].loss.dtype == np.float64
    assert res.device == "cpu" and res.torch_version == torch.__version__


@pytest.mark.parametrize("device", devices.device_names())
def test_every_device_this_machine_has_equals_torch_optim_on_the_cpu(device):
    """On a machine with an accelerator this runs there too; the reference always runs on the CPU."""
    opts = tuple(OptimizerConfig(n) for n in [*optimizers.registry().presets(), "LBFGS"])
    cfg = RunConfig(optimizers=opts, steps=300, dtype="float64", data=DataConfig(noise=0.3), device=device)
    res = engine.run(cfg)
    assert res.device == str(devices.resolve(device))
    for lane, ours, opt in zip(res.lanes, paths(res), opts, strict=True):
        assert isinstance(lane.w, np.ndarray)  # results come back as CPU NumPy
        assert_follows_torch(ours, cfg, opt, 1e-8)  # torch_loop runs on the CPU


def test_probes_are_kept_on_disk_once_per_install(tmp_path, monkeypatch):
    """A server's first visitor does not wait for every class to be probed again."""
    from lab.core import optimizers as o

    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    o._probes_on_disk.cache_clear()
    o._probe_class.cache_clear()
    calls = []
    real = o._probe
    monkeypatch.setattr(o, "_probe", lambda cls: calls.append(cls.__name__) or real(cls))
    try:
        first = o.unavailable()
        assert "SparseAdam" in first and calls  # probed, and written down
        assert json.loads(o.probe_cache_path().read_text())["SparseAdam"] == first["SparseAdam"]
        o._probes_on_disk.cache_clear()
        o._probe_class.cache_clear()
        calls.clear()
        assert o.unavailable() == first and calls == []  # a new process: read, not probed
        o.probe_cache_path().write_text("{not json")  # a damaged file is probed afresh, not an error
        o._probes_on_disk.cache_clear()
        o._probe_class.cache_clear()
        assert o.unavailable() == first and calls
    finally:
        o._probes_on_disk.cache_clear()
        o._probe_class.cache_clear()


def test_processes_probing_at_once_probe_each_class_once_and_keep_every_answer(tmp_path, monkeypatch):
    """Two processes starting together (a server's replicas): one that finds another probing waits
    for it and reads its answer instead of probing again; and one that read the file before
    another wrote to it adds its answers without writing over the other's."""
    import threading

    from lab.core import caches
    from lab.core import optimizers as o

    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    o._probes_on_disk.cache_clear()
    path = o.probe_cache_path()
    calls = []

    def probe():
        calls.append(1)
        return "probed here"

    try:
        assert o._probes_on_disk() == {}  # this process has read the (missing) file
        path.write_text(json.dumps({"Other": None}))  # another process kept an answer since
        assert o.remembered("Mine", probe) == "probed here" and len(calls) == 1
        assert json.loads(path.read_text()) == {"Other": None, "Mine": "probed here"}

        answers = []
        with caches.disk_lock(path.with_suffix(".lock")):  # another process is probing "Theirs"
            asking = threading.Thread(target=lambda: answers.append(o.remembered("Theirs", probe)))
            asking.start()
            asking.join(0.5)
            assert asking.is_alive()  # waiting for it, not probing
            path.write_text(json.dumps({**json.loads(path.read_text()), "Theirs": "their answer"}))
        asking.join(10)
        assert answers == ["their answer"] and len(calls) == 1
    finally:
        o._probes_on_disk.cache_clear()


def test_the_compiled_loop_still_compiles_where_its_cache_cannot_be_written(monkeypatch):
    from lab.core import kernel

    def njit(cache=False, **options):
        if cache:  # what Numba raises when neither __pycache__ nor its cache directory is writable
            raise RuntimeError("cannot cache function: no locator available")
        return lambda fn: ("compiled", fn, options)

    monkeypatch.setattr(kernel.numba, "njit", njit)
    assert kernel._compiled(len) == ("compiled", len, {"nogil": True, "error_model": "numpy"})
