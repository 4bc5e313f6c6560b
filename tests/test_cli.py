"""``python -m lab compare``: files, columns, numbers, and one clear line on bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.core import cli, engine
from lab.core.config import DataConfig, OptimizerConfig, RunConfig
from lab.core.data import make_data

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def documented_columns(file: str) -> list[str]:
    """The columns docs/cli.md gives ``file``, in its order: the names in backticks of the paragraph
    that starts ``**file**:`` (summary.csv), else of the file's row in the table (curves.csv)."""
    text = DOCS.read_text()
    found = re.search(rf"^\*\*{re.escape(file)}\*\*:(.+?)\n\n", text, re.S | re.M)
    found = found or re.search(rf"^\| `{re.escape(file)}` \|(.+)$", text, re.M)
    assert found, f"docs/cli.md says nothing of {file}'s columns"
    names = [n.strip() for quoted in re.findall(r"`([^`]+)`", found.group(1)) for n in quoted.split(",")]
    return [n for n in names if re.fullmatch(r"[a-z][a-z0-9_]*", n)]


def test_compare_writes_the_three_csvs(tmp_path, capsys):
    rc = cli.main(
        [
            "compare",
            "--out",
            str(tmp_path),
            "--steps",
            "300",
            "--seed",
            "4",
            "--noise",
            "0.1",
            "--optimizers",
            "GD,adam,Mini-batch SGD",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Mini-batch SGD" in printed and ("converged" in printed or "stopped" in printed)

    data = pd.read_csv(tmp_path / "data.csv")
    x, y = make_data(DataConfig(noise=0.1), 4)
    np.testing.assert_array_equal(data["x"].to_numpy(), x.numpy())
    np.testing.assert_array_equal(data["y"].to_numpy(), y.numpy())

    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary.columns) == documented_columns("summary.csv")  # the docs say exactly what is written
    assert {"w0", "b0", "w", "b", "seed", "device", "torch_version", "config"} <= set(summary.columns)  # to rerun it
    assert list(summary["optimizer"]) == ["GD", "Adam", "Mini-batch SGD"]
    assert list(summary["torch_class"]) == ["SGD", "Adam", "SGD"]
    assert json.loads(summary.loc[1, "hyperparams"]) == {
        "lr": 0.05,
        "betas": [0.9, 0.999],
        "eps": 1e-08,
        "weight_decay": 0.0,
        "amsgrad": False,
        "decoupled_weight_decay": False,
    }
    assert list(summary["batch_size"]) == [50, 50, 10]

    cfg = RunConfig(
        optimizers=tuple(OptimizerConfig(n) for n in ("GD", "Adam", "Mini-batch SGD")),
        steps=300,
        seed=4,
        data=DataConfig(noise=0.1),
    )
    res = engine.run(cfg)
    np.testing.assert_array_equal(summary["w"].to_numpy(), [ln.final_w for ln in res.lanes])
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert list(curves.columns) == documented_columns("curves.csv")
    assert documented_columns("curves.csv") == ["optimizer", "repeat", "step", "loss", "w", "b", "lr", "scheduler"]
    assert len(curves) == 3 * 301
    adam = curves[curves.optimizer == "Adam"]
    np.testing.assert_allclose(adam["loss"].to_numpy(), res.lane("Adam").loss, rtol=1e-8)


BAD_INPUT = {  # what the command line says: the one line it must print
    "--steps 0": "steps = 0 is outside the allowed range [1, 100000]",
    "--optimizers Adam,Nope": "unknown optimizer 'Nope'",
    "--samples 1": "data.samples = 1 is outside",
    "--device cuda:3": "not available on this machine",
    "--steps ten": "invalid int value",
    "--optimizers SparseAdam": "cannot train this model",
}


@pytest.mark.parametrize("args", BAD_INPUT)
def test_bad_input_prints_one_line_and_exits_non_zero(tmp_path, lab_cli, args):
    code, _, err = lab_cli("compare", "--out", str(tmp_path / "o"), *args.split())
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and BAD_INPUT[args] in lines[0], err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", ["--steps 0", "--steps ten"])  # the lab's own check, argparse's
def test_the_process_itself_exits_2_with_the_one_line(tmp_path, args):
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "compare", "--out", str(tmp_path / "o"), *args.split()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and BAD_INPUT[args] in lines[0], proc.stderr


def _compare_stderr(tmp_path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "compare", "--out", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.slow  # seconds of real training in a real process; the rule itself is checked just below
def test_runs_that_last_report_progress_on_stderr(tmp_path):
    # On a surface LBFGS still steps through torch.optim (~1 ms a step here; on the regression it is
    # compiled): 6 000 steps take seconds, reported from the first second on.
    slow = _compare_stderr(tmp_path, "--optimizers", "LBFGS,Adam", "--objective", "rosenbrock", "--steps", "6000")
    shown = [int(p) for p in re.findall(r"training … (\d+)%", slow)]
    assert len(shown) >= 5 and shown == sorted(shown) and shown[-1] == 100, slow


def test_progress_is_quiet_for_a_run_done_within_a_second_and_reported_after(monkeypatch, capsys):
    # The rule itself, on a clock of the test's own (a quick run's wall time depends on the machine's load).
    now = [100.0]
    monkeypatch.setattr(cli.time, "perf_counter", lambda: now[0])
    report = cli._progress(quiet=False)
    for fraction in (0.2, 0.6, 1.0):
        now[0] += 0.3 * cli.PROGRESS_AFTER
        report(fraction)
    assert capsys.readouterr().err == ""
    now[0] += cli.PROGRESS_AFTER
    report(1.0)
    assert capsys.readouterr().err == "training … 100%\n"
    assert cli._progress(quiet=True) is None


def test_list_shows_presets_and_the_unapplicable(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "Mini-batch SGD" in out and "SparseAdam" in out and "cannot apply" in out
    # Where each class runs: the generic rule in the GPU's graph loop too, the other kinds only on the CPU.
    lines = out.splitlines()
    where = {lines[i].split()[0]: lines[i + 1].strip() for i in range(len(lines) - 1) if lines[i + 1].startswith(" ")}
    assert where["Adam"] == "compiled on the CPU, a CUDA graph on a GPU (the regression)"
    assert where["Adamax"] == where["LBFGS"] == "compiled on the CPU, torch.optim on a GPU (the regression)"


def test_summary_csv_gives_back_the_exact_config(tmp_path):
    from lab.core.results import config_from_summary

    assert (
        cli.main(
            [
                "compare",
                "--out",
                str(tmp_path),
                "--steps",
                "50",
                "--seed",
                "9",
                "--repeats",
                "2",
                "--optimizers",
                "presets",
                "--quiet",
            ]
        )
        == 0
    )
    summary = pd.read_csv(tmp_path / "summary.csv")
    cfg = config_from_summary(summary)
    assert cfg == RunConfig.from_json((tmp_path / "config.json").read_text())
    res = engine.run(cfg)
    np.testing.assert_array_equal(summary["w"].to_numpy(), [ln.final_w for ln in res.lanes])
