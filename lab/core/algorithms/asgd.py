"""ASGD: SGD with a slowly decaying rate, and a running average of the parameters."""

from __future__ import annotations

import torch

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def asgd(p, g, s, hp):
    """ASGD: SGD with a slowly decaying rate, and a running average of the parameters (ax)."""
    lr, lambd, alpha = hp["lr"], hp["lambd"], hp["alpha"]
    t = s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp)
    eta = float(s.get("eta", torch.tensor(lr, dtype=torch.float32)))  # torch keeps eta and mu in float32
    p = p * (1 - lambd * eta) - eta * g
    mu = float(s.get("mu", torch.ones((), dtype=torch.float32)))
    s["ax"] = p.clone() if mu == 1 else s["ax"] + (p - s["ax"]) * mu
    s["eta"] = torch.tensor(lr / (1 + lambd * lr * t) ** alpha, dtype=torch.float32)  # the next step's rate
    s["mu"] = torch.tensor(1 / max(1, t - hp["t0"]), dtype=torch.float32)
    return p


def formula(hp):
    lr, lambd, alpha = tex(hp["lr"]), tex(hp["lambd"]), tex(hp["alpha"])
    return aligned(
        [
            *decay_line(hp),
            rf"\eta_t &= \frac{{{lr}}}{{(1 + {lambd}\cdot {lr}\,(t-1))^{{{alpha}}}}}",
            rf"\theta_t &= (1 - {lambd}\,\eta_t)\,\theta_{{t-1}} - \eta_t\, g_t",
            rf"\bar\theta_t &= \text{{average of }} \theta \text{{ from step }} {tex(hp['t0'])} \text{{ on}}",
        ]
    )


def derived(hp, before, s, t):
    eta = float(before["eta"]) if "eta" in before else hp["lr"]  # the rate this step used
    return {"ηₜ (this step)": eta, "η for the next step (eta)": float(s["eta"]), EFFECTIVE: eta}


ALGORITHM = Algorithm(
    torch_class="ASGD",
    step=asgd,
    formula=formula,
    intuition="SGD with a learning rate that decays slowly, plus a running average of the parameters "
    "(ax) that starts at step t0; the average is what the theory says converges, the parameters keep "
    "moving.",
    derived=derived,
    effective_means="η, the decaying learning rate",
)
