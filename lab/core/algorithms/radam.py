"""RAdam: plain momentum while the running variance is untrustworthy, then a rectified Adam step."""

from __future__ import annotations

from lab.core.algorithms.adam import moments, moments_lines
from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def radam(p, g, s, hp):
    """RAdam: plain momentum until the running variance is trustworthy, then a rectified Adam step."""
    (b1, b2), lr, eps = hp["betas"], hp["lr"], hp["eps"]
    t = s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp, decoupled=hp["decoupled_weight_decay"])
    m, v = moments(p, g, s, hp)
    m_hat = m / (1 - b1**t)
    rho, r = rectification(b2, t)
    if rho <= 5:  # too few gradients to trust v: plain momentum
        return p - lr * m_hat
    return p - lr * r * m_hat * (1 - b2**t) ** 0.5 / (v.sqrt() + eps)


def rectification(b2, t):
    """(ρₜ, rₜ): the length of the running variance's memory at step ``t``, and the factor that
    rectifies Adam's step by it (None while ρₜ ≤ 5, where it is not defined)."""
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho <= 5:
        return rho, None
    return rho, ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5


def formula(hp):
    b1, b2 = hp["betas"]
    rho_inf = 2 / (1 - b2) - 1
    lr = tex(hp["lr"])
    return aligned(
        [
            *decay_line(hp, hp["decoupled_weight_decay"]),
            *moments_lines(hp),
            rf"\hat m_t &= \frac{{m_t}}{{1 - {tex(b1)}^t}}, \quad "
            rf"\rho_t = {rho_inf:.6g} - \frac{{2t\, {tex(b2)}^t}}{{1 - {tex(b2)}^t}}",
            rf"\rho_t \le 5:\ \theta_t &= \theta_{{t-1}} - {lr}\, \hat m_t",
            rf"\rho_t > 5:\ \theta_t &= \theta_{{t-1}} - {lr}\, r_t\, \hat m_t\, "
            rf"\frac{{\sqrt{{1 - {tex(b2)}^t}}}}{{\sqrt{{v_t}} + {tex(hp['eps'])}}}, \quad "
            rf"r_t = \sqrt{{\tfrac{{(\rho_t-4)(\rho_t-2)\,\rho_\infty}}{{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}}}",
        ]
    )


def derived(hp, before, s, t):
    (b1, b2), lr = hp["betas"], hp["lr"]
    rho, r = rectification(b2, t)
    out = {"1 − β₁ᵗ": 1 - b1**t, "ρₜ": rho}
    if rho <= 5:
        return {**out, EFFECTIVE: lr + 0 * s["exp_avg"]}
    return {**out, "rₜ": r, EFFECTIVE: lr * r * (1 - b2**t) ** 0.5 / (s["exp_avg_sq"].sqrt() + hp["eps"])}


ALGORITHM = Algorithm(
    torch_class="RAdam",
    step=radam,
    formula=formula,
    intuition="Early on, v has seen too few gradients to be trusted, so RAdam takes plain momentum steps; "
    "once the variance estimate is reliable (ρ > 5) it takes Adam steps scaled by a rectification r ≤ 1.",
    derived=derived,
    effective_means="lr before ρ > 5, then lr·r·√(1 − β₂ᵗ) / (√v + ε)",
)
