"""Adadelta: the running size of past steps over the running size of gradients."""

from __future__ import annotations

import torch

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def adadelta(p, g, s, hp):
    """Adadelta: the step's own running size over the gradient's running size, no units to tune."""
    rho, eps = hp["rho"], hp["eps"]
    s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp)
    # ρ·v + (1 − ρ)·g², with torch's rounding (addcmul): late in a run Adadelta amplifies a
    # last-bit difference, so ours rounds exactly as torch's does
    v = s["square_avg"] = torch.addcmul(rho * s.get("square_avg", 0 * p), g, g, value=1 - rho)
    delta = (s.get("acc_delta", 0 * p) + eps).sqrt() / (v + eps).sqrt() * g
    s["acc_delta"] = torch.addcmul(rho * s.get("acc_delta", 0 * p), delta, delta, value=1 - rho)
    return p - hp["lr"] * delta


def formula(hp):
    rho, eps = hp["rho"], tex(hp["eps"])
    return aligned(
        [
            *decay_line(hp),
            rf"v_t &= {tex(rho)}\, v_{{t-1}} + {tex(1 - rho)}\, g_t^2",
            rf"\Delta_t &= \frac{{\sqrt{{u_{{t-1}} + {eps}}}}}{{\sqrt{{v_t + {eps}}}}}\, g_t, \quad "
            rf"u_t = {tex(rho)}\, u_{{t-1}} + {tex(1 - rho)}\, \Delta_t^2",
            rf"\theta_t &= \theta_{{t-1}} - {tex(hp['lr'])}\, \Delta_t",
        ]
    )


def derived(hp, before, s, t):
    u = before.get("acc_delta", 0 * s["square_avg"])  # the running size of steps, before this one
    return {EFFECTIVE: hp["lr"] * (u + hp["eps"]).sqrt() / (s["square_avg"] + hp["eps"]).sqrt()}


ALGORITHM = Algorithm(
    torch_class="Adadelta",
    step=adadelta,
    formula=formula,
    intuition="The step is the running size of past steps divided by the running size of gradients, so "
    "its units match the parameter's and the learning rate can stay at 1.",
    derived=derived,
    effective_means="lr·√(u + ε) / √(v + ε), with u before the step",
)
