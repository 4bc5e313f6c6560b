"""Adamax: Adam with the root of squares replaced by a decaying maximum of |g|."""

from __future__ import annotations

import torch

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def adamax(p, g, s, hp):
    """Adamax: Adam with the root of squares replaced by a decaying maximum of |g|."""
    (b1, b2), lr, eps = hp["betas"], hp["lr"], hp["eps"]
    t = s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp)
    m = s["exp_avg"] = b1 * s.get("exp_avg", 0 * p) + (1 - b1) * g
    u = s["exp_inf"] = torch.maximum(b2 * s.get("exp_inf", 0 * p), g.abs() + eps)
    return p - lr / (1 - b1**t) * m / u


def formula(hp):
    b1, b2 = hp["betas"]
    return aligned(
        [
            *decay_line(hp),
            rf"m_t &= {tex(b1)}\, m_{{t-1}} + {tex(1 - b1)}\, g_t",
            rf"u_t &= \max({tex(b2)}\, u_{{t-1}},\ |g_t| + {tex(hp['eps'])})",
            rf"\theta_t &= \theta_{{t-1}} - \frac{{{tex(hp['lr'])}}}{{1 - {tex(b1)}^t}}\, \frac{{m_t}}{{u_t}}",
        ]
    )


def derived(hp, before, s, t):
    b1 = hp["betas"][0]
    return {"1 − β₁ᵗ": 1 - b1**t, EFFECTIVE: hp["lr"] / (1 - b1**t) / s["exp_inf"]}


ALGORITHM = Algorithm(
    torch_class="Adamax",
    step=adamax,
    formula=formula,
    intuition="Adam with the root of the mean square replaced by a decaying maximum of |g|: one large "
    "gradient keeps the steps small for a while.",
    derived=derived,
    effective_means="lr / ((1 − β₁ᵗ)·u)",
)
