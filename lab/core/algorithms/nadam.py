"""NAdam: Adam with Nesterov momentum, its momentum factor warming up over the first steps."""

from __future__ import annotations

import torch

from lab.core.algorithms.adam import effective, moments, moments_lines
from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def nadam(p, g, s, hp):
    """NAdam: Adam with Nesterov momentum, using this step's and the next step's momentum factor."""
    b2, lr, eps = hp["betas"][1], hp["lr"], hp["eps"]
    t = s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp, decoupled=hp["decoupled_weight_decay"])
    mu, mu_next = momentum_factor(hp, t), momentum_factor(hp, t + 1)
    s["mu_product"] = s.get("mu_product", torch.ones((), dtype=torch.float32)) * mu  # torch keeps it in float32
    prod = float(s["mu_product"])
    m, v = moments(p, g, s, hp)
    denom = (v / (1 - b2**t)).sqrt() + eps
    return p - lr * (1 - mu) / (1 - prod) * g / denom - lr * mu_next / (1 - prod * mu_next) * m / denom


def momentum_factor(hp, t):
    """μₜ = β₁·(1 − ½·0.96^(t·ψ)): the momentum factor of step ``t``."""
    return hp["betas"][0] * (1 - 0.5 * 0.96 ** (t * hp["momentum_decay"]))


def formula(hp):
    b1, b2 = hp["betas"]
    lr, psi = tex(hp["lr"]), tex(hp["momentum_decay"])
    return aligned(
        [
            *decay_line(hp, hp["decoupled_weight_decay"]),
            rf"\mu_t &= {tex(b1)}\,(1 - \tfrac12\, 0.96^{{{psi}\,t}}), \quad \Pi_t = \mu_1 \cdots \mu_t",
            *moments_lines(hp),
            rf"\hat v_t &= \frac{{v_t}}{{1 - {tex(b2)}^t}}",
            rf"\theta_t &= \theta_{{t-1}} - {lr}\Big(\frac{{1-\mu_t}}{{1-\Pi_t}}\, g_t + "
            rf"\frac{{\mu_{{t+1}}}}{{1-\Pi_t\,\mu_{{t+1}}}}\, m_t\Big) "
            rf"\Big/ \big(\sqrt{{\hat v_t}} + {tex(hp['eps'])}\big)",
        ]
    )


def derived(hp, before, s, t):
    v_hat = s["exp_avg_sq"] / (1 - hp["betas"][1] ** t)
    mu, prod = momentum_factor(hp, t), float(s["mu_product"])
    return {"μₜ": mu, "Πₜ (mu_product)": prod, "v̂": v_hat, EFFECTIVE: effective(hp, v_hat)}


ALGORITHM = Algorithm(
    torch_class="NAdam",
    step=nadam,
    formula=formula,
    intuition="Adam with Nesterov's look-ahead: the step mixes the new gradient and the momentum using "
    "the next step's momentum factor; the factor μ warms up slowly over the first steps.",
    derived=derived,
    effective_means="lr / (√v̂ + ε)",
)
