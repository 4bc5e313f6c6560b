"""Each optimizer at its best learning rate: a sweep over a log grid, every lane trained together.

A comparison at each optimizer's default learning rate partly measures how well the defaults suit
the problem. Sweeping the learning rate answers the fairer question — what can each update rule do
at its best here? — and shows how sensitive each one is to the choice.

For every optimizer of a config (its other hyperparameters kept), every grid value inside the
learning rate's allowed range, and its current learning rate, becomes one lane, labelled
``"<optimizer> @ lr <value>"``. The lanes run through :func:`lab.core.engine.run` (batched where the
engine can), on the config's data, steps, seed and device, with one repeat. The best learning
rate of an optimizer is the one that reaches the tolerance in the fewest steps; when none does,
the lowest final loss; a learning rate that diverged is never best. Classes in ``NOT_SWEPT``
(LBFGS) are left out, with the reason.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from lab.core import engine
from lab.core.config import MAX_LANES, OptimizerConfig, RunConfig
from lab.core.results import LaneResult

GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)  # log-spaced: half a decade apart
# torch.optim classes left out of a sweep, and why (they keep their learning rate).
NOT_SWEPT = {
    "LBFGS": "each of its steps runs up to max_iter (20) loss evaluations and a line search of its own, "
    "and on a surface it steps through torch.optim (its sweep would take about a minute there); it keeps "
    "its learning rate",
}
COLUMNS = ["optimizer", "lr", "status", "steps_to_tol", "final_loss", "excess_loss", "best"]


@dataclass(frozen=True)
class Sweep:
    config: RunConfig  # what was swept: the optimizers with their own hyperparameters
    grid: tuple[float, ...]
    table: pd.DataFrame  # one row per (optimizer, lr) tried: COLUMNS
    best: dict[str, float]  # optimizer (display name) -> best lr; absent when every lr diverged
    seconds: float
    skipped: dict[str, str]  # optimizer (display name) -> why it was not swept


def not_swept(opt: OptimizerConfig) -> str | None:
    """Why ``opt`` is left out of a sweep, or None when it is swept."""
    if "lr" not in opt.kwargs:
        return "it has no learning rate"
    return NOT_SWEPT.get(opt.spec.torch_class)


def lanes(cfg: RunConfig, grid: tuple[float, ...] = GRID) -> list[tuple[OptimizerConfig, OptimizerConfig]]:
    """(the config's optimizer, one swept variant) for every grid value its lr range allows, and
    for its current learning rate too — so the best found is never worse than what it had."""
    out = []
    for opt in cfg.optimizers:
        if not_swept(opt) is not None:
            continue
        lr_param = opt.spec.param("lr")
        tried = set()
        for lr in sorted({*grid, opt.kwargs["lr"]}):
            label = f"{opt.display} @ lr {lr:.6g}"
            try:
                lr_param.check(lr, opt.display)
            except ValueError:
                continue
            if label not in tried:
                tried.add(label)
                out.append((opt, replace(opt.with_hyperparams(lr=lr), label=label)))
    return out


def runs(cfg: RunConfig, pairs: list[tuple[OptimizerConfig, OptimizerConfig]]) -> list[tuple[list, RunConfig]]:
    """The runs a sweep trains for ``pairs`` (see :func:`lanes`): at most MAX_LANES lanes a run, one
    repeat; each with the pairs it trains."""
    chunks = [pairs[i : i + MAX_LANES] for i in range(0, len(pairs), MAX_LANES)]
    return [(chunk, cfg.replace(optimizers=tuple(v for _, v in chunk), repeats=1)) for chunk in chunks]


def configs(cfg: RunConfig, grid: tuple[float, ...] = GRID) -> list[RunConfig]:
    """The runs a sweep of ``cfg`` trains (what the cost model estimates)."""
    return [run for _, run in runs(cfg, lanes(cfg, grid))]


def score(lane: LaneResult, min_loss: float | None) -> tuple:
    """Smaller is better: converged soonest, then lowest final loss (a lane that hovers about the
    optimum among them); diverged last."""
    if lane.diverged_at is not None:
        return (2, 0.0)
    if lane.settled:
        return (0, lane.steps_to_tol, lane.final_loss)
    final = lane.final_loss
    return (1, math.inf if final is None else final - (min_loss or 0.0))


def sweep(
    cfg: RunConfig,
    grid: tuple[float, ...] = GRID,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    time_limit: float | None = None,
) -> Sweep:
    """Train every optimizer of ``cfg`` at every learning rate of ``grid``; pick each one's best.
    Past ``time_limit`` seconds in all, ValueError: a sweep cut short would pick from rates it did not
    finish."""
    pairs = lanes(cfg, grid)
    if not pairs:
        raise ValueError(
            "none of the chosen optimizers can be swept: "
            + "; ".join(f"{o.display}: {not_swept(o)}" for o in cfg.optimizers)
        )
    t0 = time.perf_counter()
    planned = runs(cfg, pairs)
    results = []
    for k, (chunk, run) in enumerate(planned):

        def part(f: float, k: int = k) -> None:
            if progress is not None:
                progress((k + f) / len(planned))

        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0.0)
        res = engine.run(run, progress=part, cancel=cancel, time_limit=left)
        if res.stopped is not None:
            raise ValueError(
                f"the sweep was stopped past its time limit of {time_limit:.1f} s (stopped at step "
                f"{res.config.steps:,} of {run.steps:,} of one of its runs): a sweep needs every rate to its last "
                "step; fewer optimizers or steps finish in time"
            )
        results += [(opt, variant, res.lane(variant.display), res.min_loss) for opt, variant in chunk]
    rows, best, best_score = [], {}, dict[str, tuple]()
    for opt, variant, lane, min_loss in results:
        lr = variant.kwargs["lr"]
        s = score(lane, min_loss)
        final = lane.final_loss
        rows.append(
            {
                "optimizer": opt.display,
                "lr": lr,
                "status": lane.status,
                "steps_to_tol": lane.steps_to_tol,
                "final_loss": math.nan if final is None else final,
                "excess_loss": math.nan if final is None else final - (min_loss or 0.0),
            }
        )
        if s[0] < 2 and (opt.display not in best_score or s < best_score[opt.display]):
            best[opt.display], best_score[opt.display] = lr, s
    table = pd.DataFrame(rows, columns=COLUMNS[:-1])
    table["best"] = [best.get(o) == lr for o, lr in zip(table.optimizer, table.lr, strict=True)]
    table["steps_to_tol"] = table["steps_to_tol"].astype("Int64")
    skipped = {o.display: why for o in cfg.optimizers if (why := not_swept(o)) is not None}
    return Sweep(cfg, tuple(grid), table, best, time.perf_counter() - t0, skipped)


def with_best_lrs(cfg: RunConfig, found: Sweep) -> RunConfig:
    """``cfg`` with each optimizer's learning rate set to the best the sweep found."""
    return cfg.replace(
        optimizers=tuple(
            o if o.display not in found.best else o.with_hyperparams(lr=found.best[o.display]) for o in cfg.optimizers
        )
    )
