"""Rprop: only the gradient's sign counts; each parameter's step size grows while the sign holds."""

from __future__ import annotations

import torch

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, tex


def rprop(p, g, s, hp):
    """Rprop: only the gradient's sign counts; each parameter's step grows while the sign holds."""
    (down, up), (smallest, largest) = hp["etas"], hp["step_sizes"]
    s["step"] = s.get("step", 0) + 1
    same = (g * s.get("prev", 0 * p)).sign()  # +1: same sign as last time, -1: flipped, 0: either is 0
    factor = torch.ones_like(p)
    factor[same > 0], factor[same < 0] = up, down
    size = s["step_size"] = (s.get("step_size", hp["lr"] + 0 * p) * factor).clamp(smallest, largest)
    g = g.clone()
    g[same < 0] = 0.0  # after a flip, skip this parameter's step
    s["prev"] = g
    return p - g.sign() * size


def formula(hp):
    (down, up), (lo, hi) = hp["etas"], hp["step_sizes"]
    return aligned(
        [
            rf"s_t &= \operatorname{{clip}}\big(s_{{t-1}}\cdot \{{{tex(up)} \text{{ if }} g_t g_{{t-1}} > 0;\ "
            rf"{tex(down)} \text{{ if }} < 0;\ 1\}},\ {tex(lo)},\ {tex(hi)}\big) \quad (s_0 = {tex(hp['lr'])})",
            r"\theta_t &= \theta_{t-1} - s_t\, \operatorname{sign}(g_t) \quad (\text{no step after a sign flip})",
        ]
    )


def derived(hp, before, s, t):
    return {EFFECTIVE: s["step_size"]}


ALGORITHM = Algorithm(
    torch_class="Rprop",
    step=rprop,
    formula=formula,
    intuition="Only the gradient's sign matters. Each parameter's step grows while its gradient keeps its "
    "sign and shrinks when it flips, so the step size adapts to the landscape, not the gradient's size.",
    derived=derived,
    effective_means="the step size s itself (the step is s in size)",
)
