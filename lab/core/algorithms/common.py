r"""What every algorithm shares: the record one is written down as, LaTeX helpers, and weight decay.

A step ``step(p, g, s, hp)`` takes the parameters ``p`` = (w, b) as one tensor, the gradient ``g``
at ``p``, the optimizer's state ``s`` (a dict, named as torch.optim names it, filled in on the first
step) and the hyperparameters ``hp`` (the keyword arguments of the torch.optim class), and returns
the new parameters. State that torch keeps per parameter is a (2,) tensor here; ``step`` is a whole
number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

State = dict[str, Any]
EFFECTIVE = "effective step size"  # the derived quantity every algorithm names


@dataclass(frozen=True, kw_only=True)
class Algorithm:
    """One update rule written down: the implementation, its formula and what it means."""

    torch_class: str
    step: Callable[[torch.Tensor, torch.Tensor, State, Mapping[str, Any]], torch.Tensor]
    formula: Callable[[Mapping[str, Any]], str]  # LaTeX with the hyperparameters filled in
    # what the rule does, in words; a function of the hyperparameters where they change the rule (SGD
    # with or without momentum): :meth:`intuition_for`
    intuition: str | Callable[[Mapping[str, Any]], str]
    # (hp, state before the step, state after it, t) -> {name: value}; values are floats or (2,) tensors
    # over (w, b). EFFECTIVE is what the rule multiplies its direction by, per parameter.
    derived: Callable[[Mapping[str, Any], State, State, int], dict[str, Any]]
    effective_means: str  # what EFFECTIVE is, in words

    def intuition_for(self, hp: Mapping[str, Any]) -> str:
        """The intuition for this rule with the hyperparameters ``hp``."""
        return self.intuition(hp) if callable(self.intuition) else self.intuition


# ----------------------------------------------------------------------------------- weight decay
def weight_decay(p, g, hp, decoupled=False):
    """Weight decay as torch applies it: added to the gradient (an L2 pull), or, decoupled
    (AdamW), the weights shrunk directly and the gradient left as it is."""
    wd = hp["weight_decay"]
    if wd and decoupled:
        return p * (1 - hp["lr"] * wd), g
    if wd:
        return p, g + wd * p
    return p, g


def decay_line(hp: Mapping[str, Any], decoupled: bool = False) -> list[str]:
    """:func:`weight_decay` as a line of the formula (none without weight decay)."""
    wd = hp.get("weight_decay", 0.0)
    if not wd:
        return []
    if decoupled:
        return [rf"\theta &\leftarrow (1 - {tex(hp['lr'])}\cdot{tex(wd)})\,\theta"]
    return [rf"g_t &\leftarrow g_t + {tex(wd)}\,\theta_{{t-1}}"]


# ------------------------------------------------------------------------------------------ LaTeX
def tex(x: float) -> str:
    """A number for LaTeX: 0.9, 10^{-8}, 5\\cdot 10^{-4}."""
    text = f"{x:g}"
    if "e" not in text:
        return text
    mant, exp = text.split("e")
    return f"10^{{{int(exp)}}}" if mant == "1" else f"{mant}\\cdot 10^{{{int(exp)}}}"


def aligned(lines: list[str]) -> str:
    """The formula's lines, aligned at their ``&``."""
    return r"\begin{aligned}" + r"\\ ".join(lines) + r"\end{aligned}"
