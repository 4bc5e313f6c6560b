"""The plain PyTorch script a run exports: standalone, readable, and in agreement with the lab."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from reference import chaotic_lanes

from lab.core import cli, engine, reproduce
from lab.core.config import DataConfig, OptimizerConfig, RunConfig

pytestmark = pytest.mark.numeric  # repeated under another CPU capability in CI (.ci/run)


def _run_script(text: str, tmp_path) -> dict[str, str]:
    """Execute the script in a fresh interpreter (nothing but torch importable from the lab's
    side: it runs from an empty folder) and return its rows by lane name, plus the summary line."""
    path = tmp_path / "reproduce.py"
    path.write_text(text)
    out = subprocess.run(
        [sys.executable, "-I", str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True
    ).stdout
    rows = {line[:24].strip(): line[24:] for line in out.splitlines()[1:-1]}
    rows["largest"] = float(re.search(r"lanes that stayed finite\): (\S+)", out).group(1))
    return rows


def test_regression_script_retrains_full_batch_and_stochastic_lanes_alike(tmp_path):
    opts = (*RunConfig().optimizers, OptimizerConfig("LBFGS"), OptimizerConfig.of("GD", label="GD lr=5", lr=5.0))
    cfg = RunConfig(optimizers=opts, steps=400, data=DataConfig(noise=0.2), seed=4, repeats=2)
    res = engine.run(cfg)
    rows = _run_script(reproduce.script(res), tmp_path)
    assert chaotic_lanes(cfg.replace(optimizers=opts[:-1])) == []  # so whole paths compare (GD lr=5 diverges)
    assert rows["largest"] < 1e-5  # float32: a few last-bit roundings
    for lane in res.lanes:
        name = lane.optimizer + (f" #{lane.repeat}" if lane.repeat else "")
        if lane.diverged_at is None:
            lab_w, torch_w = (float(v) for v in rows[name].split()[:2])
            assert lab_w == pytest.approx(lane.final_w, abs=1e-6) and torch_w == pytest.approx(lab_w, abs=1e-5)
        else:
            assert "diverged at step" in rows[name] and f"the lab: {lane.status}" in rows[name]


def test_float64_script_agrees_to_rounding(tmp_path):
    cfg = RunConfig(steps=1_000, dtype="float64", data=DataConfig(noise=0.1), seed=2)
    rows = _run_script(reproduce.script(engine.run(cfg)), tmp_path)
    assert chaotic_lanes(cfg) == []  # so whole paths compare
    assert rows["largest"] < 1e-9


def test_landscape_script_walks_the_same_surface(tmp_path):
    opts = (OptimizerConfig.of("Adam", lr=0.01), OptimizerConfig.of("Momentum", lr=0.001), OptimizerConfig("LBFGS"))
    cfg = RunConfig(optimizers=opts, steps=500, objective="rosenbrock")
    text = reproduce.script(engine.run(cfg))
    assert "def surface(w" in text and "nn.Linear" not in text.split('"""', 2)[2]
    # so whole paths compare (LBFGS's line search makes discrete choices a nudge can flip, but it steps
    # through torch.optim in the lab too: the same CPU rounds both alike)
    assert chaotic_lanes(cfg.replace(optimizers=opts[:2])) == []
    assert _run_script(text, tmp_path)["largest"] < 1e-5


def test_compare_writes_the_script_beside_the_csvs(tmp_path):
    out = tmp_path / "r"
    assert cli.main(["compare", "--out", str(out), "--steps", "50", "--quiet", "--optimizers", "GD,Adam"]) == 0
    text = (out / "reproduce.py").read_text()
    assert "import torch" in text and "STEPS = 50" in text and "'optimizer': 'Adam'" in text
    compile(text, "reproduce.py", "exec")
