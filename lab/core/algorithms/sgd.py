"""SGD: plain, with momentum (a velocity), or with Nesterov momentum."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def sgd(p, g, s, hp):
    """SGD: plain, with momentum (a velocity) or with Nesterov momentum (look ahead along it)."""
    lr, mu = hp["lr"], hp["momentum"]
    p, g = weight_decay(p, g, hp)
    if mu:
        if "momentum_buffer" in s:
            s["momentum_buffer"] = mu * s["momentum_buffer"] + (1 - hp["dampening"]) * g
        else:
            s["momentum_buffer"] = g.clone()  # first step: the velocity is the gradient
        v = s["momentum_buffer"]
        g = g + mu * v if hp["nesterov"] else v
    return p - lr * g


def formula(hp):
    lr, mu, damp = tex(hp["lr"]), hp["momentum"], hp["dampening"]
    lines = decay_line(hp)
    if not mu:
        return aligned([*lines, rf"\theta_t &= \theta_{{t-1}} - {lr}\, g_t"])
    new = "g_t" if not damp else rf"{tex(1 - damp)}\,g_t"
    lines.append(rf"v_t &= {tex(mu)}\, v_{{t-1}} + {new} \quad (v_1 = g_1)")
    step = rf"(g_t + {tex(mu)}\, v_t)" if hp["nesterov"] else "v_t"
    return aligned([*lines, rf"\theta_t &= \theta_{{t-1}} - {lr}\, {step}"])


def derived(hp, before, s, t):
    return {EFFECTIVE: hp["lr"]}


def intuition(hp: Mapping[str, Any]) -> str:
    """SGD's intuition for the variant ``hp`` sets: plain, with momentum, or with Nesterov momentum."""
    plain = "Step against the gradient, a fixed fraction (the learning rate) of it"
    if not hp.get("momentum"):
        return (
            plain + ": a steep slope gives a long step, a gentle one a short step, and every parameter moves by "
            "the same fraction of its own gradient."
        )
    text = (
        plain + ", but along a velocity: each step keeps a share (the momentum) of the last one and adds the new "
        "gradient, so a steady slope speeds it up and a zig-zag cancels out."
    )
    if hp.get("nesterov"):
        text += " Nesterov adds the velocity to the gradient once more, as if looking ahead."
    return text


ALGORITHM = Algorithm(
    torch_class="SGD",
    step=sgd,
    formula=formula,
    intuition=intuition,
    derived=derived,
    effective_means="the learning rate: the same for every parameter at every step",
)
