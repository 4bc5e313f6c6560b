"""Guided experiments: ready-made comparisons on the Optimizers page, each with the question it
asks and what its result shows.

An experiment is a set of the Optimizers page's URL parameters (see :mod:`lab.app.query`), so it is
also a link a teacher can share: ``/optimizers?exp=saddle`` loads and trains it. What each one
says its result shows is checked against the engine's numbers in ``tests/test_experiments.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lab.app.query import PageState, from_query


@dataclass(frozen=True)
class Experiment:
    key: str  # the value of ?exp=
    title: str
    question: str  # what to ask before pressing
    look_for: str  # what the result shows (tested)
    query: Mapping[str, str]  # the Optimizers page's URL parameters
    measure: str = "loss"  # the loss chart's view the text talks about: "loss" or "excess"

    def state(self) -> PageState:
        """The page state this experiment opens: its configuration, trained at once."""
        state = from_query({**self.query, "run": "1"})
        state.experiment = self.key
        return state


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        "valley",
        "A narrow, curved valley",
        "On the Rosenbrock surface, with the learning rates that work well for the regression, who reaches "
        "the minimum at (1, 1)?",
        "GD and Momentum are thrown off the steep valley wall within a few steps (diverged); Adam, whose "
        "step is scaled per parameter, walks down and along the valley to the minimum. Now press **Tune "
        "learning rates**: at a learning rate small enough to survive the wall, GD crawls along the flat "
        "valley floor while Momentum builds speed there and arrives.",
        {"problem": "rosenbrock", "opt": "GD,Momentum,Adam", "steps": "2000"},
    ),
    Experiment(
        "noise",
        "Noisy data: why SGD never settles",
        "With noise in the data and the same learning rate for all, do GD, SGD and mini-batch SGD end at the "
        "same place?",
        "GD, using every sample, settles on the best possible line. SGD, one sample per step, keeps jumping "
        "around it: its final loss stays far above the best (plot *loss − best possible loss*). Mini-batch "
        "SGD, averaging 10 samples, jumps less. A smaller learning rate, or a larger batch, calms them.",
        {"opt": "GD,SGD,Mini-batch SGD", "noise": "0.5", "same_lr": "0.2", "steps": "2000"},
        measure="excess",
    ),
    Experiment(
        "saddle",
        "Escaping a saddle point",
        "Starting almost exactly on a saddle, where the surface is nearly flat, with one small learning rate "
        "for all: who gets away to a valley first, and who settles there first?",
        "At the saddle the gradient is almost zero, so GD's steps are too: it needs over 300 steps to get "
        "away (b above 1; hover the paths). Momentum adds its small steps up and leaves in under 100. "
        "RMSProp divides each step by the gradient's recent size, so even a tiny gradient gives a full step: "
        "it is away in under 20. But in the valley those full-size steps keep it rattling around the "
        "minimum: it gets there first and leaves again (the table says hovering; it is back only at the very "
        "end); Adam, which also averages the direction, settles well before it.",
        {"problem": "saddle", "opt": "GD,Momentum,RMSProp,Adam", "same_lr": "0.01", "steps": "1000"},
    ),
    Experiment(
        "far",
        "A target far from the start",
        "The data follow y = 20x − 5, far from where every optimizer starts. With one learning rate for all, "
        "who gets there?",
        "Momentum arrives within about 100 steps. GD gets close but slows down as the gradient shrinks. "
        "AdaGrad stalls: it divides each step by the root of the sum of all past squared gradients, which "
        "only grows, so its steps shrink to nothing long before the target. Adam's steps do not shrink that "
        "way, but at this learning rate each is at most about 0.05 long, so after 1 000 steps it is still "
        "on its way.",
        {"opt": "GD,Momentum,AdaGrad,Adam", "true_w": "20", "true_b": "-5", "same_lr": "0.05", "steps": "1000"},
    ),
    Experiment(
        "hover",
        "Does Adam ever settle?",
        "Train for 20 000 steps, as the tutorial does, at each optimizer's constant learning rate. GD settles on "
        "the best line. Do RMSProp and Adam?",
        "GD settles: its loss falls to float32's floor (about 1e-13) and stays there. RMSProp never settles: from "
        "about step 1 200 it cycles around the best line, w about 0.005 off — half its learning rate (hover the "
        "curve, or watch the paths). Adam settles at first, then near step 10 000 it starts jumping about too: "
        "there its gradient is float32 rounding noise, and Adam divides the gradient by its own running size, so "
        "noise becomes full-size steps. Now set **Precision** to float64 and train again: Adam stays settled, "
        "RMSProp still cycles — its cycle is the algorithm, not rounding. A smaller learning rate shrinks it "
        "(RMSProp at lr 0.001: about 0.0005), and a learning rate that decays removes it.",
        {"opt": "GD,RMSProp,Adam", "steps": "20000"},
    ),
    Experiment(
        "settle",
        "A decaying rate lets Adam settle",
        "On noisy data, Adam on mini-batches of 10, RMSProp and mini-batch SGD never settle at a constant "
        "learning rate. Does a rate that decays to zero over the run (cosine annealing) let them?",
        "With the cosine schedule all three end within about 1e-7 of the best possible loss (plot *loss − best "
        "possible loss*), and the rate chart below shows why — each step is scaled by a rate that is almost zero "
        "by the end. Now set **Learning-rate schedule** to *None* and train again: at a constant rate mini-batch "
        "SGD and Adam keep jumping with each new batch (their excess stays around 1e-3 and 1e-4) and RMSProp "
        "keeps circling the best line, even though its gradient is exact. The price shows in the table: each "
        "gets within tolerance for good only in the last quarter of the run, once the rate is small, and "
        "mini-batch SGD so late (the last twentieth) that it still counts as hovering — settling comes from the "
        "decay, so a schedule must leave the optimizer time to arrive first.",
        {
            "opt": "Adam,RMSProp,Mini-batch SGD",
            "Adam.batch_size": "10",
            "noise": "0.3",
            "steps": "2000",
            "sched": "CosineAnnealingLR",
        },
        measure="excess",
    ),
)


def get(key: str) -> Experiment:
    for e in EXPERIMENTS:
        if e.key == key:
            return e
    raise ValueError(f"unknown experiment {key!r}; choices: {', '.join(e.key for e in EXPERIMENTS)}")
