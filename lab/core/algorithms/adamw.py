"""AdamW: Adam whose weight decay shrinks the weights directly."""

from __future__ import annotations

from lab.core.algorithms.adam import adam, derived
from lab.core.algorithms.adam import formula as adam_formula
from lab.core.algorithms.common import Algorithm


def adamw(p, g, s, hp):
    """AdamW: Adam with decoupled weight decay."""
    return adam(p, g, s, {**hp, "decoupled_weight_decay": True})


def formula(hp):
    return adam_formula(hp, decoupled=True)


ALGORITHM = Algorithm(
    torch_class="AdamW",
    step=adamw,
    formula=formula,
    intuition="Adam whose weight decay shrinks the weights directly instead of being added to the "
    "gradient, so the decay is not divided by √v̂ along with it.",
    derived=derived,
    effective_means="lr / (√v̂ + ε), applied to m̂",
)
