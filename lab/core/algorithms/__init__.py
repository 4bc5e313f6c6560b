r"""Every optimizer we write down, from scratch: one module each, holding together its step (a few
lines of plain tensor arithmetic), its update rule in LaTeX with the hyperparameters filled in, the
quantities the rule names (bias corrections, bias-corrected moments, and each parameter's *effective
step size*: what the rule multiplies its direction by) and a sentence or two of intuition.

What they share — the :class:`~lab.core.algorithms.common.Algorithm` record, weight decay, LaTeX
helpers — is in :mod:`lab.core.algorithms.common`; the step's calling convention is described there.
The page shows the steps as the code that ran (:func:`source`), and the tests hold them to
torch.optim at every step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from lab.core.algorithms import adadelta, adagrad, adam, adamax, adamw, asgd, nadam, radam, rmsprop, rprop, sgd
from lab.core.algorithms.common import EFFECTIVE, Algorithm, State

__all__ = ["ALGORITHMS", "EFFECTIVE", "Algorithm", "State", "get", "source"]

ALGORITHMS: dict[str, Algorithm] = {
    m.ALGORITHM.torch_class: m.ALGORITHM
    for m in (sgd, adagrad, rmsprop, adam, adamw, nadam, radam, adamax, adadelta, asgd, rprop)
}


def get(torch_class: str) -> Algorithm | None:
    """The algorithm written down for ``torch_class``, or None (no formula given)."""
    return ALGORITHMS.get(torch_class)


def source(algo: Algorithm) -> str:
    """The code that runs for ``algo``'s step: the step, then every function of ours it calls
    (weight decay, Adam's moments; AdamW shows Adam), each once, in the order they are first met."""
    return "\n\n".join(inspect.getsource(f) for f in _called(algo.step))


def _called(f: Callable, seen: tuple[Callable, ...] = ()) -> tuple[Callable, ...]:
    """``f`` and the functions of this package it names, depth first."""
    seen = (*seen, f)
    for name in f.__code__.co_names:
        g = f.__globals__.get(name)
        if inspect.isfunction(g) and g.__module__.startswith(__name__) and g not in seen:
            seen = _called(g, seen)
    return seen
