"""The Optimizers page's "Explain a step": replays cached for every session, and the tables shown.

Equal configs give equal replays, so one learner's "Adam, step 25" serves the whole class; each
replay takes a training slot like a run does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.app.runs import training_slot
from lab.core import algorithms, caches, explain
from lab.core.config import RunConfig

AGREE_STEPS = 2_000  # the side-by-side check trains each implementation this far (at most)
CHART_POINTS = 300  # steps at which the step-size chart evaluates the rule

_STEPS = caches.LRU(64, name="explained steps")
_TRACES = caches.LRU(16, name="explained traces")
_AGREEMENT = caches.LRU(16, name="explained agreement")


def default_step(steps: int) -> int:
    """Step 25 (late enough that momentum and running averages have built up), or the last."""
    return min(25, steps)


def step(cfg: RunConfig, name: str, k: int) -> explain.StepExplained:
    def build():
        with training_slot():
            return explain.explain_step(cfg, name, k)

    return _STEPS.get_or_build((cfg.to_json(), name, k), build)


def chart_steps(steps: int, points: int = CHART_POINTS) -> np.ndarray:
    """Log-spaced steps from 1 to ``steps`` (the early steps change fastest), each at most once."""
    return np.unique(np.round(np.geomspace(1, steps, points)).astype(np.int64))


def trace(cfg: RunConfig, name: str) -> explain.Trace:
    def build():
        with training_slot():
            return explain.trace(cfg, name, at=chart_steps(cfg.steps))

    return _TRACES.get_or_build((cfg.to_json(), name), build)


def step_frame(s: explain.StepExplained) -> pd.DataFrame:
    """The step as rows (quantity, w, b), as :func:`lab.core.explain.cell` prints them."""
    rows = [{"quantity": q, "w": explain.cell(w), "b": explain.cell(b)} for q, w, b in explain.rows(s)]
    return pd.DataFrame(rows).set_index("quantity")


def agreement_frame(cfg: RunConfig) -> pd.DataFrame:
    """Every optimizer of the run with an implementation of ours: its largest |ours − torch.optim|
    over (w, b), each trained on its own for the first AGREE_STEPS steps (or the run's)."""

    def build():
        short = cfg.replace(steps=min(cfg.steps, AGREE_STEPS))
        out = []
        for opt in cfg.optimizers:
            if algorithms.get(opt.spec.torch_class) is None:
                continue
            with training_slot():
                diff = explain.agreement(short, opt.display)
            out.append(
                {
                    "optimizer": opt.display,
                    "torch.optim class": opt.spec.torch_class,
                    "steps compared": short.steps,
                    "largest |ours − torch|": diff,
                }
            )
        return pd.DataFrame(out)

    return _AGREEMENT.get_or_build(cfg.to_json(), build)
