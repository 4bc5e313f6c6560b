"""AdaGrad: each parameter's step divided by the root of the sum of all its squared gradients."""

from __future__ import annotations

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def adagrad(p, g, s, hp):
    """AdaGrad: divide by the root of the sum of every squared gradient so far."""
    t = s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp)
    lr = rate(hp, t)
    s["sum"] = s.get("sum", hp["initial_accumulator_value"] + 0 * p) + g * g
    return p - lr * g / (s["sum"].sqrt() + hp["eps"])


def rate(hp, t):
    """The learning rate of step ``t``: lr / (1 + (t − 1)·lr_decay)."""
    return hp["lr"] / (1 + (t - 1) * hp["lr_decay"])


def formula(hp):
    lr = tex(hp["lr"]) if not hp["lr_decay"] else rf"\frac{{{tex(hp['lr'])}}}{{1 + (t-1)\,{tex(hp['lr_decay'])}}}"
    start = tex(hp["initial_accumulator_value"])
    return aligned(
        [
            *decay_line(hp),
            rf"G_t &= G_{{t-1}} + g_t^2 \quad (G_0 = {start})",
            rf"\theta_t &= \theta_{{t-1}} - {lr}\,\frac{{g_t}}{{\sqrt{{G_t}} + {tex(hp['eps'])}}}",
        ]
    )


def derived(hp, before, s, t):
    lr = rate(hp, t)
    return {"learning rate this step": lr, EFFECTIVE: lr / (s["sum"].sqrt() + hp["eps"])}


ALGORITHM = Algorithm(
    torch_class="Adagrad",
    step=adagrad,
    formula=formula,
    intuition="Each parameter gets its own step size: the learning rate divided by the root of the sum "
    "of all its squared gradients so far. A parameter with large gradients slows down; and since the sum "
    "only grows, every step size only shrinks.",
    derived=derived,
    effective_means="lr / (√G + ε): it only shrinks",
)
