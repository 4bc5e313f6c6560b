"""Adam: momentum divided by an RMSProp-style root, both bias-corrected; its two running moments
serve NAdam and RAdam too."""

from __future__ import annotations

import torch

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def adam(p, g, s, hp):
    """Adam: momentum (m) divided by an RMSProp-style root (v), both bias-corrected."""
    (b1, b2), lr, eps = hp["betas"], hp["lr"], hp["eps"]
    t = s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp, decoupled=hp.get("decoupled_weight_decay"))  # AdamW: decoupled
    m, v = moments(p, g, s, hp)
    if hp.get("amsgrad"):  # never let the denominator shrink
        v = s["max_exp_avg_sq"] = torch.maximum(s.get("max_exp_avg_sq", 0 * p), v)
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return p - lr * m_hat / (v_hat.sqrt() + eps)


def moments(p, g, s, hp):
    """The running means of the gradient (m) and of its square (v), kept in ``s``."""
    b1, b2 = hp["betas"]
    m = s["exp_avg"] = b1 * s.get("exp_avg", 0 * p) + (1 - b1) * g
    v = s["exp_avg_sq"] = b2 * s.get("exp_avg_sq", 0 * p) + (1 - b2) * g * g
    return m, v


def moments_lines(hp) -> list[str]:
    """:func:`moments` as lines of a formula."""
    b1, b2 = hp["betas"]
    return [
        rf"m_t &= {tex(b1)}\, m_{{t-1}} + {tex(1 - b1)}\, g_t",
        rf"v_t &= {tex(b2)}\, v_{{t-1}} + {tex(1 - b2)}\, g_t^2",
    ]


def formula(hp, decoupled=None):
    b1, b2 = hp["betas"]
    decoupled = hp.get("decoupled_weight_decay", False) if decoupled is None else decoupled
    v = r"\hat v_t"
    lines = [*decay_line(hp, decoupled), *moments_lines(hp)]
    lines.append(rf"\hat m_t &= \frac{{m_t}}{{1 - {tex(b1)}^t}}, \quad \hat v_t = \frac{{v_t}}{{1 - {tex(b2)}^t}}")
    if hp.get("amsgrad"):
        lines.append(r"\hat v^{\max}_t &= \max(\hat v^{\max}_{t-1}, \hat v_t)")
        v = r"\hat v^{\max}_t"
    lr, eps = tex(hp["lr"]), tex(hp["eps"])
    lines.append(rf"\theta_t &= \theta_{{t-1}} - {lr}\, \frac{{\hat m_t}}{{\sqrt{{{v}}} + {eps}}}")
    return aligned(lines)


def derived(hp, before, s, t):
    b1, b2 = hp["betas"]
    v = s["max_exp_avg_sq"] if hp.get("amsgrad") else s["exp_avg_sq"]
    m_hat, v_hat = s["exp_avg"] / (1 - b1**t), v / (1 - b2**t)
    return {
        "1 − β₁ᵗ": 1 - b1**t,
        "1 − β₂ᵗ": 1 - b2**t,
        "m̂ = m / (1 − β₁ᵗ)": m_hat,
        "v̂ = v / (1 − β₂ᵗ)": v_hat,
        EFFECTIVE: effective(hp, v_hat),
    }


def effective(hp, v_hat):
    """Adam's effective step size, lr / (√v̂ + ε): what it multiplies m̂ by (NAdam's too)."""
    return hp["lr"] / (v_hat.sqrt() + hp["eps"])


ALGORITHM = Algorithm(
    torch_class="Adam",
    step=adam,
    formula=formula,
    intuition="Momentum (m) divided by RMSProp's root (√v), both corrected for starting at zero. The "
    "step is about the learning rate in size, whatever the gradient's scale, and its direction is "
    "smoothed over recent steps.",
    derived=derived,
    effective_means="lr / (√v̂ + ε), applied to m̂: the step itself is about lr while m̂ ≈ √v̂",
)
