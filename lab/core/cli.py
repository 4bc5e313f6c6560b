"""Command line: ``python -m lab compare --out DIR ...``, ``python -m lab explain ...`` and ``python -m lab list``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NoReturn

from lab.core import cost, datasets, engine, explain, optimizers, reproduce, rules, schedulers
from lab.core.config import OBJECTIVES, DataConfig, OptimizerConfig, RunConfig, SchedulerConfig
from lab.core.data import kept_config
from lab.core.results import summary_rows, write_csvs

PROGRESS_AFTER = 1.0  # seconds a run must have taken before its progress is reported on stderr


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, not a usage dump
        self.exit(2, f"error: {message} (see --help)\n")


def _optimizer_list(text: str) -> tuple[OptimizerConfig, ...]:
    reg = optimizers.registry()
    if text.strip().lower() == "presets":
        names = reg.presets()
    elif text.strip().lower() == "all":
        names = reg.names()
    else:
        names = [n.strip() for n in text.split(",") if n.strip()]
    return tuple(OptimizerConfig(n) for n in names)


def _run_options(c: argparse.ArgumentParser) -> None:
    """The options that define a run, shared by compare and explain."""
    d = RunConfig()
    c.add_argument("--steps", type=int, default=d.steps)
    c.add_argument("--seed", type=int, default=d.seed)
    c.add_argument("--samples", type=int, default=d.data.samples)
    c.add_argument("--noise", type=float, default=d.data.noise)
    c.add_argument("--true-w", type=float, default=d.data.true_w)
    c.add_argument("--true-b", type=float, default=d.data.true_b)
    c.add_argument("--batch-size", type=int, default=d.batch_size, help="batch size of mini-batch entries")
    c.add_argument("--device", default=d.device)
    c.add_argument("--dtype", default=d.dtype, choices=["float32", "float64"])
    c.add_argument("--objective", default=d.objective, choices=list(OBJECTIVES))
    c.add_argument("--data", type=Path, help="your own data: a CSV with columns x and y (replaces the generated data)")
    c.add_argument("--x-col", help="the CSV column to use as x (default: x)")
    c.add_argument("--y-col", help="the CSV column to use as y (default: y)")
    c.add_argument(
        "--scheduler",
        help="a learning-rate schedule for every optimizer, NAME[:key=value,...], "
        "e.g. CosineAnnealingLR:T_max=1000 (see `list`; default: none, a constant rate)",
    )


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m lab", description="Optimizer Lab from the command line.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    c = sub.add_parser("compare", help="train optimizers side by side and write CSV files")
    c.add_argument("--out", required=True, type=Path, help="folder for data.csv, summary.csv, curves.csv")
    c.add_argument("--optimizers", default="presets", help="NAME,NAME,… | presets | all (default: presets)")
    _run_options(c)
    c.add_argument("--repeats", type=int, default=RunConfig().repeats)
    c.add_argument("--tol", type=float, default=RunConfig().tol)
    c.add_argument("--quiet", action="store_true", help="no progress and no table")
    c.add_argument(
        "--dry-run", action="store_true", help="print the estimated training time on this machine, train nothing"
    )
    e = sub.add_parser("explain", help="one step of one optimizer: torch.optim's numbers and our implementation's")
    e.add_argument("--optimizer", required=True, help="registry name, e.g. Adam or 'Mini-batch SGD'")
    e.add_argument("--step", type=int, required=True, help="the step, from 1 to --steps")
    _run_options(e)
    e.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    sub.add_parser("list", help="list the optimizers and the learning-rate schedules (and what cannot apply)")
    return p


def _data(args: argparse.Namespace) -> DataConfig:
    """The generated data the options describe, or the CSV of --data (checked like an upload)."""
    if args.data is None:
        return DataConfig(args.samples, args.true_w, args.true_b, args.noise)
    try:
        raw = args.data.read_bytes()
    except OSError as exc:
        raise ValueError(f"--data {args.data}: {exc.strerror or exc}") from None
    return kept_config(datasets.parse_csv(raw, args.data.name, args.x_col, args.y_col))


def _config(args: argparse.Namespace, optimizers_: tuple[OptimizerConfig, ...], **extra) -> RunConfig:
    data = _data(args)
    return RunConfig(
        optimizers=optimizers_,
        steps=args.steps,
        batch_size=min(args.batch_size, data.samples) if args.data is not None else args.batch_size,
        data=data,
        objective=args.objective,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        scheduler=None
        if args.scheduler is None or args.scheduler.strip().lower() == "none"
        else SchedulerConfig.parse(args.scheduler),
        **extra,
    )


def _progress(quiet: bool):
    """Progress on stderr for a run that lasts: nothing for one done within PROGRESS_AFTER seconds."""
    if quiet:
        return None
    tty = sys.stderr.isatty()
    last, start = [-1], time.perf_counter()

    def report(fraction: float) -> None:
        if time.perf_counter() - start < PROGRESS_AFTER:
            return
        pct = int(fraction * 100)
        if tty:
            sys.stderr.write(f"\rtraining … {pct:3d}%")
            if fraction >= 1:
                sys.stderr.write("\n")
        elif pct // 10 > last[0]:
            last[0] = pct // 10
            sys.stderr.write(f"training … {pct}%\n")
        sys.stderr.flush()

    return report


def _compare(args: argparse.Namespace) -> int:
    cfg = _config(args, _optimizer_list(args.optimizers), repeats=args.repeats, tol=args.tol)
    if args.dry_run:
        cost.calibrate()
        lanes = len(cfg.optimizers) * cfg.repeats
        print(f"estimated {cost.estimate(cfg):.2f} s to train {lanes} runs × {cfg.steps:,} steps on this machine")
        return 0
    result = engine.run(cfg, progress=_progress(args.quiet))
    paths = write_csvs(result, args.out)
    paths["reproduce"] = args.out / "reproduce.py"
    paths["reproduce"].write_text(reproduce.script(result))
    if not args.quiet:
        print(_table(result))
        print(
            f"{len(result.lanes)} runs × {cfg.steps} steps in {result.seconds:.2f} s on {result.device}; "
            f"wrote {', '.join(str(p) for p in paths.values())}"
        )
    return 0


FLAGS = {  # compare's flag for a RunConfig field (data fields under data.)
    "steps": "--steps",
    "seed": "--seed",
    "batch_size": "--batch-size",
    "dtype": "--dtype",
    "objective": "--objective",
    "repeats": "--repeats",
    "tol": "--tol",
    "data.samples": "--samples",
    "data.noise": "--noise",
    "data.true_w": "--true-w",
    "data.true_b": "--true-b",
}


def flags(cfg: RunConfig, command: str = "compare") -> list[str]:
    """The options of ``command`` that say ``cfg``'s settings that differ from the defaults (explain
    has no --repeats or --tol: it explains one lane)."""
    default, out = RunConfig(), []
    for attr, flag in FLAGS.items():
        if command == "explain" and attr in ("repeats", "tol"):
            continue
        obj, base = (cfg.data, default.data) if attr.startswith("data.") else (cfg, default)
        name = attr.removeprefix("data.")
        value = getattr(obj, name)
        if value != getattr(base, name):
            out.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    if cfg.device != default.device:
        out.append(f"--device {cfg.device}")
    if cfg.scheduler is not None:
        out.append(f"--scheduler '{cfg.scheduler.text}'")
    return out


def command(cfg: RunConfig) -> str:
    """The ``python -m lab compare`` command that trains ``cfg`` (its settings that differ from the
    defaults). What the flags cannot say — an optimizer's own hyperparameters, a schedule per
    optimizer, a learner's own data — is named after it."""
    names = ",".join(o.name for o in cfg.optimizers)
    parts = ["python -m lab compare"]
    if [o.name for o in cfg.optimizers] != list(optimizers.registry().presets()):
        parts.append(f"--optimizers '{names}'" if " " in names else f"--optimizers {names}")
    parts += [*flags(cfg), "--out results/"]
    unsaid = [
        what
        for what, present in (
            ("each optimizer's own settings", any(o.overrides or o.batch_size for o in cfg.optimizers)),
            ("a schedule per optimizer", any(o.scheduler is not None for o in cfg.optimizers)),
            ("your own data (add --data FILE.csv)", cfg.data.dataset is not None),
        )
        if present
    ]
    return " ".join(parts) + (f" (then {', '.join(unsaid)}: not flags)" if unsaid else "")


def _table(result) -> str:
    """The summary as an aligned text table: optimizer, (repeat,) w, b, final loss, steps to tol, status."""
    cols = ["optimizer", *(["repeat"] if result.config.repeats > 1 else []), "w", "b", "final_loss"]
    cols += ["steps_to_tol", "status"]

    def cell(v) -> str:
        return "—" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)

    rows = [[cell(r[c]) for c in cols] for r in summary_rows(result)]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    lines = [cols, *rows]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) for line in lines)


def _explain(args: argparse.Namespace) -> int:
    cfg = _config(args, (OptimizerConfig(args.optimizer),))
    if not 1 <= args.step <= cfg.steps:
        raise ValueError(f"--step {args.step} is outside [1, --steps = {cfg.steps}]")
    step = explain.explain_step(cfg, cfg.optimizers[0].name, args.step)
    print(json.dumps(step.to_json()) if args.json else explain.as_text(step))
    return 0


def _list() -> int:
    reg = optimizers.registry()
    for s in reg.specs:
        tag = "preset" if s.preset else "      "
        print(f"{s.name:16s} {tag} torch.optim.{s.torch_class:10s} batch={s.batch:6s} {dict(s.defaults)}")
        why = rules.not_compiled(s.torch_class, s.defaults)
        gpu = rules.rule_for(s.torch_class, dict(s.defaults)) is not None  # the generic rule: the tensor loop's
        where = "compiled on the CPU, a CUDA graph on a GPU" if gpu else "compiled on the CPU, torch.optim on a GPU"
        print(f"{'':23s} {where + ' (the regression)' if why is None else 'not compiled: ' + why}")
    for name, why in reg.unavailable.items():
        print(f"{name:16s} cannot apply: {why}")
    print("\nlearning-rate schedules (--scheduler NAME[:key=value,...]; one step per optimizer step):")
    sch = schedulers.registry()
    for spec in sch.specs:
        print(f"{spec.name:28s} {spec.description}")
        for p in spec.params:
            print(f"    {p.name:16s} {p.describe_range():40s} default: {spec.default_text(p.name)}")
    for name, why in sch.unavailable.items():
        print(f"{name:28s} not offered: {why}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"compare": _compare, "explain": _explain}.get(args.command, lambda _: _list())(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write results: {exc}", file=sys.stderr)
        return 1
