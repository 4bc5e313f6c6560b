"""RMSProp: each parameter's step divided by the root of a running mean of its squared gradients."""

from __future__ import annotations

from lab.core.algorithms.common import EFFECTIVE, Algorithm, aligned, decay_line, tex, weight_decay


def rmsprop(p, g, s, hp):
    """RMSProp: divide by the root of a running mean of squared gradients."""
    a, mu = hp["alpha"], hp["momentum"]
    s["step"] = s.get("step", 0) + 1
    p, g = weight_decay(p, g, hp)
    v = s["square_avg"] = a * s.get("square_avg", 0 * p) + (1 - a) * g * g
    if hp["centered"]:  # divide by the gradient's spread instead: subtract its squared mean
        mean = s["grad_avg"] = a * s.get("grad_avg", 0 * p) + (1 - a) * g
        v = v - mean * mean
    direction = g / (v.sqrt() + hp["eps"])
    if mu > 0:
        direction = s["momentum_buffer"] = mu * s.get("momentum_buffer", 0 * p) + direction
    return p - hp["lr"] * direction


def formula(hp):
    a = hp["alpha"]
    lines = [*decay_line(hp), rf"v_t &= {tex(a)}\, v_{{t-1}} + {tex(1 - a)}\, g_t^2"]
    root = r"\sqrt{v_t}"
    if hp["centered"]:
        lines.append(rf"\bar g_t &= {tex(a)}\, \bar g_{{t-1}} + {tex(1 - a)}\, g_t")
        root = r"\sqrt{v_t - \bar g_t^2}"
    direction = rf"\frac{{g_t}}{{{root} + {tex(hp['eps'])}}}"
    if hp["momentum"]:
        lines.append(rf"b_t &= {tex(hp['momentum'])}\, b_{{t-1}} + {direction}")
        direction = "b_t"
    return aligned([*lines, rf"\theta_t &= \theta_{{t-1}} - {tex(hp['lr'])}\, {direction}"])


def derived(hp, before, s, t):
    v = s["square_avg"] - s["grad_avg"] ** 2 if hp["centered"] else s["square_avg"]
    return {"√v": v.sqrt(), EFFECTIVE: hp["lr"] / (v.sqrt() + hp["eps"])}


ALGORITHM = Algorithm(
    torch_class="RMSprop",
    step=rmsprop,
    formula=formula,
    intuition="Like AdaGrad, but the sum becomes a running mean that forgets old gradients, so the step "
    "size can grow again. Dividing by the gradient's own size makes the step about the learning rate, "
    "whatever the gradient's scale — also near the optimum, where the gradient is tiny.",
    derived=derived,
    effective_means="lr / (√v + ε)",
)
