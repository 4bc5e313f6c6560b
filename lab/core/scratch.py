r"""Every optimizer we write down, from scratch: a few lines of plain tensor arithmetic each.

Each ``step(p, g, s, hp)`` takes the parameters ``p`` = (w, b) as one tensor, the gradient ``g``
at ``p``, the optimizer's state ``s`` (a dict, named as torch.optim names it, filled in on the
first step) and the hyperparameters ``hp`` (the keyword arguments of the torch.optim class), and
returns the new parameters. State that torch keeps per parameter is a (2,) tensor here; ``step``
is a whole number. The page shows these functions as the code that ran, and the tests hold them
to torch.optim at every step.

Each :class:`Algorithm` also carries the update rule in LaTeX with the hyperparameters filled in,
a sentence or two of intuition, and :func:`derived` quantities the rule names (bias corrections,
bias-corrected moments, and each parameter's *effective step size*: what the rule multiplies its
direction by).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

State = dict[str, Any]
EFFECTIVE = "effective step size"  # the derived quantity every algorithm names


# ------------------------------------------------------------------------------ the implementations
def sgd(p, g, s, hp):
    """SGD: plain, with momentum (a velocity) or with Nesterov momentum (look ahead along it)."""
    lr, mu = hp["lr"], hp["momentum"]
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    if mu:
        if "momentum_buffer" in s:
            s["momentum_buffer"] = mu * s["momentum_buffer"] + (1 - hp["dampening"]) * g
        else:
            s["momentum_buffer"] = g.clone()  # first step: the velocity is the gradient
        v = s["momentum_buffer"]
        g = g + mu * v if hp["nesterov"] else v
    return p - lr * g


def adagrad(p, g, s, hp):
    """AdaGrad: divide by the root of the sum of every squared gradient so far."""
    t = s["step"] = s.get("step", 0) + 1
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    lr = hp["lr"] / (1 + (t - 1) * hp["lr_decay"])
    s["sum"] = s.get("sum", hp["initial_accumulator_value"] + 0 * p) + g * g
    return p - lr * g / (s["sum"].sqrt() + hp["eps"])


def rmsprop(p, g, s, hp):
    """RMSProp: divide by the root of a running mean of squared gradients."""
    a, mu = hp["alpha"], hp["momentum"]
    s["step"] = s.get("step", 0) + 1
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    v = s["square_avg"] = a * s.get("square_avg", 0 * p) + (1 - a) * g * g
    if hp["centered"]:  # divide by the gradient's spread instead: subtract its squared mean
        mean = s["grad_avg"] = a * s.get("grad_avg", 0 * p) + (1 - a) * g
        v = v - mean * mean
    direction = g / (v.sqrt() + hp["eps"])
    if mu > 0:
        direction = s["momentum_buffer"] = mu * s.get("momentum_buffer", 0 * p) + direction
    return p - hp["lr"] * direction


def adam(p, g, s, hp):
    """Adam: momentum (m) divided by an RMSProp-style root (v), both bias-corrected."""
    (b1, b2), lr, eps, wd = hp["betas"], hp["lr"], hp["eps"], hp["weight_decay"]
    t = s["step"] = s.get("step", 0) + 1
    if wd and hp.get("decoupled_weight_decay"):
        p = p * (1 - lr * wd)  # AdamW: shrink the weights directly, not through the gradient
    elif wd:
        g = g + wd * p
    m = s["exp_avg"] = b1 * s.get("exp_avg", 0 * p) + (1 - b1) * g
    v = s["exp_avg_sq"] = b2 * s.get("exp_avg_sq", 0 * p) + (1 - b2) * g * g
    if hp.get("amsgrad"):  # never let the denominator shrink
        v = s["max_exp_avg_sq"] = torch.maximum(s.get("max_exp_avg_sq", 0 * p), v)
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return p - lr * m_hat / (v_hat.sqrt() + eps)


def adamw(p, g, s, hp):
    """AdamW: Adam with decoupled weight decay."""
    return adam(p, g, s, {**hp, "decoupled_weight_decay": True})


def nadam(p, g, s, hp):
    """NAdam: Adam with Nesterov momentum, using this step's and the next step's momentum factor."""
    (b1, b2), lr, eps, wd = hp["betas"], hp["lr"], hp["eps"], hp["weight_decay"]
    t = s["step"] = s.get("step", 0) + 1
    if wd and hp["decoupled_weight_decay"]:
        p = p * (1 - lr * wd)
    elif wd:
        g = g + wd * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * hp["momentum_decay"]))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * hp["momentum_decay"]))
    s["mu_product"] = s.get("mu_product", torch.ones((), dtype=torch.float32)) * mu  # torch keeps it in float32
    prod = float(s["mu_product"])
    m = s["exp_avg"] = b1 * s.get("exp_avg", 0 * p) + (1 - b1) * g
    v = s["exp_avg_sq"] = b2 * s.get("exp_avg_sq", 0 * p) + (1 - b2) * g * g
    denom = (v / (1 - b2**t)).sqrt() + eps
    return p - lr * (1 - mu) / (1 - prod) * g / denom - lr * mu_next / (1 - prod * mu_next) * m / denom


def radam(p, g, s, hp):
    """RAdam: plain momentum until the running variance is trustworthy, then a rectified Adam step."""
    (b1, b2), lr, eps, wd = hp["betas"], hp["lr"], hp["eps"], hp["weight_decay"]
    t = s["step"] = s.get("step", 0) + 1
    if wd and hp["decoupled_weight_decay"]:
        p = p * (1 - lr * wd)
    elif wd:
        g = g + wd * p
    m = s["exp_avg"] = b1 * s.get("exp_avg", 0 * p) + (1 - b1) * g
    v = s["exp_avg_sq"] = b2 * s.get("exp_avg_sq", 0 * p) + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho <= 5:
        return p - lr * m_hat
    r = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5
    return p - lr * r * m_hat * (1 - b2**t) ** 0.5 / (v.sqrt() + eps)


def adamax(p, g, s, hp):
    """Adamax: Adam with the root of squares replaced by a decaying maximum of |g|."""
    (b1, b2), lr, eps = hp["betas"], hp["lr"], hp["eps"]
    t = s["step"] = s.get("step", 0) + 1
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    m = s["exp_avg"] = b1 * s.get("exp_avg", 0 * p) + (1 - b1) * g
    u = s["exp_inf"] = torch.maximum(b2 * s.get("exp_inf", 0 * p), g.abs() + eps)
    return p - lr / (1 - b1**t) * m / u


def adadelta(p, g, s, hp):
    """Adadelta: the step's own running size over the gradient's running size, no units to tune."""
    rho, eps = hp["rho"], hp["eps"]
    s["step"] = s.get("step", 0) + 1
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    # ρ·v + (1 − ρ)·g², with torch's rounding (addcmul): late in a run Adadelta amplifies a
    # last-bit difference, so ours rounds exactly as torch's does
    v = s["square_avg"] = torch.addcmul(rho * s.get("square_avg", 0 * p), g, g, value=1 - rho)
    delta = (s.get("acc_delta", 0 * p) + eps).sqrt() / (v + eps).sqrt() * g
    s["acc_delta"] = torch.addcmul(rho * s.get("acc_delta", 0 * p), delta, delta, value=1 - rho)
    return p - hp["lr"] * delta


def asgd(p, g, s, hp):
    """ASGD: SGD with a slowly decaying rate, and a running average of the parameters (ax)."""
    lr, lambd, alpha = hp["lr"], hp["lambd"], hp["alpha"]
    t = s["step"] = s.get("step", 0) + 1
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    eta = float(s.get("eta", torch.tensor(lr, dtype=torch.float32)))  # torch keeps eta and mu in float32
    p = p * (1 - lambd * eta) - eta * g
    mu = float(s.get("mu", torch.ones((), dtype=torch.float32)))
    s["ax"] = p.clone() if mu == 1 else s["ax"] + (p - s["ax"]) * mu
    s["eta"] = torch.tensor(lr / (1 + lambd * lr * t) ** alpha, dtype=torch.float32)  # the next step's rate
    s["mu"] = torch.tensor(1 / max(1, t - hp["t0"]), dtype=torch.float32)
    return p


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


# --------------------------------------------------------------------------------- the formulas
def tex(x: float) -> str:
    """A number for LaTeX: 0.9, 10^{-8}, 5\\cdot 10^{-4}."""
    text = f"{x:g}"
    if "e" not in text:
        return text
    mant, exp = text.split("e")
    return f"10^{{{int(exp)}}}" if mant == "1" else f"{mant}\\cdot 10^{{{int(exp)}}}"


def _decay_line(hp: Mapping[str, Any], decoupled: bool = False) -> list[str]:
    wd = hp.get("weight_decay", 0.0)
    if not wd:
        return []
    if decoupled:
        return [rf"\theta &\leftarrow (1 - {tex(hp['lr'])}\cdot{tex(wd)})\,\theta"]
    return [rf"g_t &\leftarrow g_t + {tex(wd)}\,\theta_{{t-1}}"]


def _aligned(lines: list[str]) -> str:
    return r"\begin{aligned}" + r"\\ ".join(lines) + r"\end{aligned}"


def _sgd_tex(hp):
    lr, mu, damp = tex(hp["lr"]), hp["momentum"], hp["dampening"]
    lines = _decay_line(hp)
    if not mu:
        return _aligned([*lines, rf"\theta_t &= \theta_{{t-1}} - {lr}\, g_t"])
    new = "g_t" if not damp else rf"{tex(1 - damp)}\,g_t"
    lines.append(rf"v_t &= {tex(mu)}\, v_{{t-1}} + {new} \quad (v_1 = g_1)")
    step = rf"(g_t + {tex(mu)}\, v_t)" if hp["nesterov"] else "v_t"
    return _aligned([*lines, rf"\theta_t &= \theta_{{t-1}} - {lr}\, {step}"])


def _adagrad_tex(hp):
    rate = tex(hp["lr"]) if not hp["lr_decay"] else rf"\frac{{{tex(hp['lr'])}}}{{1 + (t-1)\,{tex(hp['lr_decay'])}}}"
    start = tex(hp["initial_accumulator_value"])
    return _aligned(
        [
            *_decay_line(hp),
            rf"G_t &= G_{{t-1}} + g_t^2 \quad (G_0 = {start})",
            rf"\theta_t &= \theta_{{t-1}} - {rate}\,\frac{{g_t}}{{\sqrt{{G_t}} + {tex(hp['eps'])}}}",
        ]
    )


def _rmsprop_tex(hp):
    a = hp["alpha"]
    lines = [*_decay_line(hp), rf"v_t &= {tex(a)}\, v_{{t-1}} + {tex(1 - a)}\, g_t^2"]
    root = r"\sqrt{v_t}"
    if hp["centered"]:
        lines.append(rf"\bar g_t &= {tex(a)}\, \bar g_{{t-1}} + {tex(1 - a)}\, g_t")
        root = r"\sqrt{v_t - \bar g_t^2}"
    direction = rf"\frac{{g_t}}{{{root} + {tex(hp['eps'])}}}"
    if hp["momentum"]:
        lines.append(rf"b_t &= {tex(hp['momentum'])}\, b_{{t-1}} + {direction}")
        direction = "b_t"
    return _aligned([*lines, rf"\theta_t &= \theta_{{t-1}} - {tex(hp['lr'])}\, {direction}"])


def _moments(hp) -> list[str]:
    b1, b2 = hp["betas"]
    return [
        rf"m_t &= {tex(b1)}\, m_{{t-1}} + {tex(1 - b1)}\, g_t",
        rf"v_t &= {tex(b2)}\, v_{{t-1}} + {tex(1 - b2)}\, g_t^2",
    ]


def _adam_tex(hp, decoupled=None):
    b1, b2 = hp["betas"]
    decoupled = hp.get("decoupled_weight_decay", False) if decoupled is None else decoupled
    v = r"\hat v_t"
    lines = [*_decay_line(hp, decoupled), *_moments(hp)]
    lines.append(rf"\hat m_t &= \frac{{m_t}}{{1 - {tex(b1)}^t}}, \quad \hat v_t = \frac{{v_t}}{{1 - {tex(b2)}^t}}")
    if hp.get("amsgrad"):
        lines.append(r"\hat v^{\max}_t &= \max(\hat v^{\max}_{t-1}, \hat v_t)")
        v = r"\hat v^{\max}_t"
    lr, eps = tex(hp["lr"]), tex(hp["eps"])
    lines.append(rf"\theta_t &= \theta_{{t-1}} - {lr}\, \frac{{\hat m_t}}{{\sqrt{{{v}}} + {eps}}}")
    return _aligned(lines)


def _nadam_tex(hp):
    b1, b2 = hp["betas"]
    lr, psi = tex(hp["lr"]), tex(hp["momentum_decay"])
    return _aligned(
        [
            *_decay_line(hp, hp["decoupled_weight_decay"]),
            rf"\mu_t &= {tex(b1)}\,(1 - \tfrac12\, 0.96^{{{psi}\,t}}), \quad \Pi_t = \mu_1 \cdots \mu_t",
            *_moments(hp),
            rf"\hat v_t &= \frac{{v_t}}{{1 - {tex(b2)}^t}}",
            rf"\theta_t &= \theta_{{t-1}} - {lr}\Big(\frac{{1-\mu_t}}{{1-\Pi_t}}\, g_t + "
            rf"\frac{{\mu_{{t+1}}}}{{1-\Pi_t\,\mu_{{t+1}}}}\, m_t\Big) "
            rf"\Big/ \big(\sqrt{{\hat v_t}} + {tex(hp['eps'])}\big)",
        ]
    )


def _radam_tex(hp):
    b1, b2 = hp["betas"]
    rho_inf = 2 / (1 - b2) - 1
    lr = tex(hp["lr"])
    return _aligned(
        [
            *_decay_line(hp, hp["decoupled_weight_decay"]),
            *_moments(hp),
            rf"\hat m_t &= \frac{{m_t}}{{1 - {tex(b1)}^t}}, \quad "
            rf"\rho_t = {rho_inf:.6g} - \frac{{2t\, {tex(b2)}^t}}{{1 - {tex(b2)}^t}}",
            rf"\rho_t \le 5:\ \theta_t &= \theta_{{t-1}} - {lr}\, \hat m_t",
            rf"\rho_t > 5:\ \theta_t &= \theta_{{t-1}} - {lr}\, r_t\, \hat m_t\, "
            rf"\frac{{\sqrt{{1 - {tex(b2)}^t}}}}{{\sqrt{{v_t}} + {tex(hp['eps'])}}}, \quad "
            rf"r_t = \sqrt{{\tfrac{{(\rho_t-4)(\rho_t-2)\,\rho_\infty}}{{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}}}",
        ]
    )


def _adamax_tex(hp):
    b1, b2 = hp["betas"]
    return _aligned(
        [
            *_decay_line(hp),
            rf"m_t &= {tex(b1)}\, m_{{t-1}} + {tex(1 - b1)}\, g_t",
            rf"u_t &= \max({tex(b2)}\, u_{{t-1}},\ |g_t| + {tex(hp['eps'])})",
            rf"\theta_t &= \theta_{{t-1}} - \frac{{{tex(hp['lr'])}}}{{1 - {tex(b1)}^t}}\, \frac{{m_t}}{{u_t}}",
        ]
    )


def _adadelta_tex(hp):
    rho, eps = hp["rho"], tex(hp["eps"])
    return _aligned(
        [
            *_decay_line(hp),
            rf"v_t &= {tex(rho)}\, v_{{t-1}} + {tex(1 - rho)}\, g_t^2",
            rf"\Delta_t &= \frac{{\sqrt{{u_{{t-1}} + {eps}}}}}{{\sqrt{{v_t + {eps}}}}}\, g_t, \quad "
            rf"u_t = {tex(rho)}\, u_{{t-1}} + {tex(1 - rho)}\, \Delta_t^2",
            rf"\theta_t &= \theta_{{t-1}} - {tex(hp['lr'])}\, \Delta_t",
        ]
    )


def _asgd_tex(hp):
    lr, lambd, alpha = tex(hp["lr"]), tex(hp["lambd"]), tex(hp["alpha"])
    return _aligned(
        [
            *_decay_line(hp),
            rf"\eta_t &= \frac{{{lr}}}{{(1 + {lambd}\cdot {lr}\,(t-1))^{{{alpha}}}}}",
            rf"\theta_t &= (1 - {lambd}\,\eta_t)\,\theta_{{t-1}} - \eta_t\, g_t",
            rf"\bar\theta_t &= \text{{average of }} \theta \text{{ from step }} {tex(hp['t0'])} \text{{ on}}",
        ]
    )


def _rprop_tex(hp):
    (down, up), (lo, hi) = hp["etas"], hp["step_sizes"]
    return _aligned(
        [
            rf"s_t &= \operatorname{{clip}}\big(s_{{t-1}}\cdot \{{{tex(up)} \text{{ if }} g_t g_{{t-1}} > 0;\ "
            rf"{tex(down)} \text{{ if }} < 0;\ 1\}},\ {tex(lo)},\ {tex(hi)}\big) \quad (s_0 = {tex(hp['lr'])})",
            r"\theta_t &= \theta_{t-1} - s_t\, \operatorname{sign}(g_t) \quad (\text{no step after a sign flip})",
        ]
    )


# ------------------------------------------------------------------------- derived quantities
# Each takes (hp, state before the step, state after it, t) and returns {name: value}; values are floats or (2,)
# tensors over (w, b). EFFECTIVE is what the rule multiplies its direction by, per parameter.
def _lr_only(hp, before, s, t):
    return {EFFECTIVE: hp["lr"]}


def _adagrad_derived(hp, before, s, t):
    lr = hp["lr"] / (1 + (t - 1) * hp["lr_decay"])
    return {"learning rate this step": lr, EFFECTIVE: lr / (s["sum"].sqrt() + hp["eps"])}


def _rmsprop_derived(hp, before, s, t):
    v = s["square_avg"] - s["grad_avg"] ** 2 if hp["centered"] else s["square_avg"]
    return {"√v": v.sqrt(), EFFECTIVE: hp["lr"] / (v.sqrt() + hp["eps"])}


def _adam_derived(hp, before, s, t):
    (b1, b2), lr = hp["betas"], hp["lr"]
    v = s["max_exp_avg_sq"] if hp.get("amsgrad") else s["exp_avg_sq"]
    m_hat, v_hat = s["exp_avg"] / (1 - b1**t), v / (1 - b2**t)
    return {
        "1 − β₁ᵗ": 1 - b1**t,
        "1 − β₂ᵗ": 1 - b2**t,
        "m̂ = m / (1 − β₁ᵗ)": m_hat,
        "v̂ = v / (1 − β₂ᵗ)": v_hat,
        EFFECTIVE: lr / (v_hat.sqrt() + hp["eps"]),
    }


def _nadam_derived(hp, before, s, t):
    (b1, b2), lr = hp["betas"], hp["lr"]
    mu = b1 * (1 - 0.5 * 0.96 ** (t * hp["momentum_decay"]))
    v_hat = s["exp_avg_sq"] / (1 - b2**t)
    return {"μₜ": mu, "Πₜ (mu_product)": float(s["mu_product"]), "v̂": v_hat, EFFECTIVE: lr / (v_hat.sqrt() + hp["eps"])}


def _radam_derived(hp, before, s, t):
    (b1, b2), lr = hp["betas"], hp["lr"]
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    out = {"1 − β₁ᵗ": 1 - b1**t, "ρₜ": rho}
    if rho <= 5:
        return {**out, EFFECTIVE: lr + 0 * s["exp_avg"]}
    r = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5
    return {**out, "rₜ": r, EFFECTIVE: lr * r * (1 - b2**t) ** 0.5 / (s["exp_avg_sq"].sqrt() + hp["eps"])}


def _adamax_derived(hp, before, s, t):
    b1 = hp["betas"][0]
    return {"1 − β₁ᵗ": 1 - b1**t, EFFECTIVE: hp["lr"] / (1 - b1**t) / s["exp_inf"]}


def _adadelta_derived(hp, before, s, t):
    u = before.get("acc_delta", 0 * s["square_avg"])  # the running size of steps, before this one
    return {EFFECTIVE: hp["lr"] * (u + hp["eps"]).sqrt() / (s["square_avg"] + hp["eps"]).sqrt()}


def _asgd_derived(hp, before, s, t):
    eta = float(before["eta"]) if "eta" in before else hp["lr"]  # the rate this step used
    return {"ηₜ (this step)": eta, "η for the next step (eta)": float(s["eta"]), EFFECTIVE: eta}


def _rprop_derived(hp, before, s, t):
    return {EFFECTIVE: s["step_size"]}


def _sgd_intuition(hp: Mapping[str, Any]) -> str:
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


@dataclass(frozen=True, kw_only=True)
class Algorithm:
    """One update rule written down: the implementation, its formula and what it means."""

    torch_class: str
    step: Callable[[torch.Tensor, torch.Tensor, State, Mapping[str, Any]], torch.Tensor]
    formula: Callable[[Mapping[str, Any]], str]  # LaTeX with the hyperparameters filled in
    # what the rule does, in words; a function of the hyperparameters where they change the rule (SGD
    # with or without momentum): :meth:`intuition_for`
    intuition: str | Callable[[Mapping[str, Any]], str]
    derived: Callable[[Mapping[str, Any], State, State, int], dict[str, Any]]
    effective_means: str  # what EFFECTIVE is, in words

    def intuition_for(self, hp: Mapping[str, Any]) -> str:
        """The intuition for this rule with the hyperparameters ``hp``."""
        return self.intuition(hp) if callable(self.intuition) else self.intuition


ALGORITHMS: dict[str, Algorithm] = {
    a.torch_class: a
    for a in (
        Algorithm(
            torch_class="SGD",
            step=sgd,
            formula=_sgd_tex,
            intuition=_sgd_intuition,
            derived=_lr_only,
            effective_means="the learning rate: the same for every parameter at every step",
        ),
        Algorithm(
            torch_class="Adagrad",
            step=adagrad,
            formula=_adagrad_tex,
            intuition="Each parameter gets its own step size: the learning rate divided by the root of the sum "
            "of all its squared gradients so far. A parameter with large gradients slows down; and since the sum "
            "only grows, every step size only shrinks.",
            derived=_adagrad_derived,
            effective_means="lr / (√G + ε): it only shrinks",
        ),
        Algorithm(
            torch_class="RMSprop",
            step=rmsprop,
            formula=_rmsprop_tex,
            intuition="Like AdaGrad, but the sum becomes a running mean that forgets old gradients, so the step "
            "size can grow again. Dividing by the gradient's own size makes the step about the learning rate, "
            "whatever the gradient's scale — also near the optimum, where the gradient is tiny.",
            derived=_rmsprop_derived,
            effective_means="lr / (√v + ε)",
        ),
        Algorithm(
            torch_class="Adam",
            step=adam,
            formula=_adam_tex,
            intuition="Momentum (m) divided by RMSProp's root (√v), both corrected for starting at zero. The "
            "step is about the learning rate in size, whatever the gradient's scale, and its direction is "
            "smoothed over recent steps.",
            derived=_adam_derived,
            effective_means="lr / (√v̂ + ε), applied to m̂: the step itself is about lr while m̂ ≈ √v̂",
        ),
        Algorithm(
            torch_class="AdamW",
            step=adamw,
            formula=lambda hp: _adam_tex(hp, decoupled=True),
            intuition="Adam whose weight decay shrinks the weights directly instead of being added to the "
            "gradient, so the decay is not divided by √v̂ along with it.",
            derived=_adam_derived,
            effective_means="lr / (√v̂ + ε), applied to m̂",
        ),
        Algorithm(
            torch_class="NAdam",
            step=nadam,
            formula=_nadam_tex,
            intuition="Adam with Nesterov's look-ahead: the step mixes the new gradient and the momentum using "
            "the next step's momentum factor; the factor μ warms up slowly over the first steps.",
            derived=_nadam_derived,
            effective_means="lr / (√v̂ + ε)",
        ),
        Algorithm(
            torch_class="RAdam",
            step=radam,
            formula=_radam_tex,
            intuition="Early on, v has seen too few gradients to be trusted, so RAdam takes plain momentum steps; "
            "once the variance estimate is reliable (ρ > 5) it takes Adam steps scaled by a rectification r ≤ 1.",
            derived=_radam_derived,
            effective_means="lr before ρ > 5, then lr·r·√(1 − β₂ᵗ) / (√v + ε)",
        ),
        Algorithm(
            torch_class="Adamax",
            step=adamax,
            formula=_adamax_tex,
            intuition="Adam with the root of the mean square replaced by a decaying maximum of |g|: one large "
            "gradient keeps the steps small for a while.",
            derived=_adamax_derived,
            effective_means="lr / ((1 − β₁ᵗ)·u)",
        ),
        Algorithm(
            torch_class="Adadelta",
            step=adadelta,
            formula=_adadelta_tex,
            intuition="The step is the running size of past steps divided by the running size of gradients, so "
            "its units match the parameter's and the learning rate can stay at 1.",
            derived=_adadelta_derived,
            effective_means="lr·√(u + ε) / √(v + ε), with u before the step",
        ),
        Algorithm(
            torch_class="ASGD",
            step=asgd,
            formula=_asgd_tex,
            intuition="SGD with a learning rate that decays slowly, plus a running average of the parameters "
            "(ax) that starts at step t0; the average is what the theory says converges, the parameters keep "
            "moving.",
            derived=_asgd_derived,
            effective_means="η, the decaying learning rate",
        ),
        Algorithm(
            torch_class="Rprop",
            step=rprop,
            formula=_rprop_tex,
            intuition="Only the gradient's sign matters. Each parameter's step grows while its gradient keeps its "
            "sign and shrinks when it flips, so the step size adapts to the landscape, not the gradient's size.",
            derived=_rprop_derived,
            effective_means="the step size s itself (the step is s in size)",
        ),
    )
}


def get(torch_class: str) -> Algorithm | None:
    """The algorithm written down for ``torch_class``, or None (no formula given)."""
    return ALGORITHMS.get(torch_class)
