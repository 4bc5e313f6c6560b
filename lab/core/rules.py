r"""One update rule that many torch.optim classes are instances of.

For each lane (one optimizer from one start), gradient :math:`G`, parameters :math:`p` and step
:math:`t = 1, 2, \dots`::

    g ← G + λ·p                              coupled weight decay
    m ← a·m + c_t·g                           first moment / velocity
    v ← β·v + γ·g²                            second moment / accumulator   (v starts at v0)
    p ← d_t·p − η_t·(n_t·m + q_t·g) / (k_t·√v + e_t)

The constants (λ, a, β, γ, v0) and the per-step coefficients (c, d, η, n, q, k, e) are chosen per
class so that the rule reproduces that class's step exactly (up to floating-point rounding):

=========  ============================================================================
SGD        λ=wd, a=μ, c₁=1, c_t=1−dampening; n=1, q=0 (momentum), n=μ, q=1 (Nesterov),
           n=0, q=1 (no momentum); k=0, e=1, η=lr
Adam(W)    a=β₁, c=1−β₁, β=β₂, γ=1−β₂, n_t=1/(1−β₁ᵗ), k_t=1/√(1−β₂ᵗ), e=ε, η=lr;
           decoupled decay: λ=0, d=1−lr·wd
Adagrad    β=γ=1, v0=initial_accumulator_value, q=1, k=1, e=ε, η_t=lr/(1+(t−1)·lr_decay)
RMSprop    β=α, γ=1−α, q=1, k=1, e=ε, η=lr (plain: no momentum, not centered)
NAdam      Adam's moments; μ_t=β₁(1−½·0.96^(tψ)), Π_t=∏μ; n_t=μ_{t+1}/(1−Π_tμ_{t+1}),
           q_t=(1−μ_t)/(1−Π_t), k_t=1/√(1−β₂ᵗ)
RAdam      Adam's moments; while ρ_t>5: n_t=r_t·√(1−β₂ᵗ)/(1−β₁ᵗ), k=1, e=ε;
           before: n_t=1/(1−β₁ᵗ), k=0, e=1
ASGD       q=1, k=0, e=1, η_t = lr/(1+λ_a·lr·(t−1))^α rounded to float32, d_t = 1−λ_a·η_t
=========  ============================================================================

With a learning-rate schedule, η (and what is derived from it: d for decoupled decay, ASGD's
η_t) follows the schedule's rate of each step, as torch reads it from the param group.

AMSGrad, centered or momentum RMSprop, Adamax, Adadelta, Rprop and Adafactor are no instance of
it: each is a rule of its own *kind* (:data:`KINDS`), which only the compiled loop
(:mod:`lab.core.kernel`) runs, operation by operation as torch's single-tensor implementation
rounds it; ``rule_for(..., compiled=True)`` gives them. LBFGS has a compiled loop of its own
(:data:`OWN_LOOP`). Anything else (classes a newer torch adds) has no rule and runs through
torch.optim itself (:func:`not_compiled` says why). Tests check every rule against the real class.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

COEFFS = ("c", "d", "eta_n", "eta_q", "k", "e", "eta")  # the columns of Rule.table, in order
# Their indices, for code that reads the table by column. The compiled loop (lab.core.kernel) freezes
# them into its cached machine code, which Numba renews only when kernel.py itself changes: after
# reordering these, touch kernel.py (or delete its __pycache__).
C, D, ETA_N, ETA_Q, K, E, ETA = range(len(COEFFS))

# The kinds of rule (Rule.kind), by the int the compiled loop branches on; 0 is the rule above.
KINDS = ("generic", "amsgrad", "rmsprop", "adamax", "adadelta", "rprop", "adafactor")
GENERIC, AMSGRAD, RMSPROP, ADAMAX, ADADELTA, RPROP, ADAFACTOR = range(len(KINDS))
KIND_CONSTS = 3  # Rule.consts: a kind's constants beyond lam, a, beta, gamma (padded with zeros)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Constants of the update rule for one lane and a function giving its per-step coefficients."""

    per_step: Callable[[np.ndarray], Mapping[str, Any]]  # t (float64) -> coefficient arrays or scalars
    lam: float = 0.0  # coupled weight decay λ
    a: float = 0.0  # first-moment decay
    beta: float = 0.0  # second-moment decay
    gamma: float = 0.0  # weight of g² in the second moment
    v0: float = 0.0  # initial second moment
    kind: int = GENERIC  # another kind of rule (KINDS): only the compiled loop runs it
    m0: float = 0.0  # initial first moment (Rprop: its step size, the first step's rate)
    consts: tuple[float, ...] = ()  # the kind's own constants, at most KIND_CONSTS, as torch's Python floats

    def table(self, t0: int, t1: int) -> np.ndarray:
        """Coefficients of steps t0+1 … t1 as a (t1 - t0, len(COEFFS)) float64 array with the columns
        COEFFS: c, d, η·n, η·q, k, e, η (η folded into the numerator saves an operation per step;
        a kind that rounds η·n otherwise gives "eta_n" itself)."""
        t = np.arange(t0 + 1, t1 + 1, dtype=np.float64)
        base = {"c": 0.0, "d": 1.0, "eta": 0.0, "n": 0.0, "q": 0.0, "k": 0.0, "e": 1.0}
        base.update(self.per_step(t))
        if "eta_n" not in base:
            base["eta_n"] = np.multiply(base["n"], base["eta"])
        base["eta_q"] = np.multiply(base["q"], base["eta"])
        return np.stack([np.broadcast_to(np.asarray(base[k], dtype=np.float64), t.shape) for k in COEFFS], 1)


LR = Callable[[np.ndarray], Any]  # step t (float64) -> the learning rate of those steps


def _decay(kw: Mapping[str, Any], decoupled: bool, lr: LR) -> tuple[float, LR]:
    """(λ, d_t) for weight decay applied to the gradient (coupled) or to the weights (decoupled)."""
    wd = kw.get("weight_decay", 0.0)
    return (0.0, lambda t: 1.0 - lr(t) * wd) if decoupled else (wd, lambda t: 1.0)


def _sgd(kw: Mapping[str, Any], lr: LR) -> Rule:
    mu, damp = kw["momentum"], kw["dampening"]
    if mu == 0:
        return Rule(lam=kw["weight_decay"], per_step=lambda t: {"q": 1.0, "eta": lr(t)})
    n, q = (mu, 1.0) if kw["nesterov"] else (1.0, 0.0)
    return Rule(
        lam=kw["weight_decay"],
        a=mu,
        per_step=lambda t: {"c": np.where(t == 1, 1.0, 1.0 - damp), "n": n, "q": q, "eta": lr(t)},
    )


def _adam(kw: Mapping[str, Any], lr: LR, decoupled: bool) -> Rule | None:
    if kw.get("amsgrad"):
        return None
    (b1, b2), eps = kw["betas"], kw["eps"]
    lam, d = _decay(kw, decoupled, lr)
    return Rule(
        lam=lam,
        a=b1,
        beta=b2,
        gamma=1.0 - b2,
        per_step=lambda t: {
            "c": 1.0 - b1,
            "d": d(t),
            "eta": lr(t),
            "n": 1.0 / (1.0 - b1**t),
            "k": 1.0 / np.sqrt(1.0 - b2**t),
            "e": eps,
        },
    )


def _adagrad(kw: Mapping[str, Any], lr: LR) -> Rule:
    decay, eps = kw["lr_decay"], kw["eps"]
    return Rule(
        lam=kw["weight_decay"],
        beta=1.0,
        gamma=1.0,
        v0=kw["initial_accumulator_value"],
        per_step=lambda t: {"eta": lr(t) / (1.0 + (t - 1.0) * decay), "q": 1.0, "k": 1.0, "e": eps},
    )


def _rmsprop(kw: Mapping[str, Any], lr: LR) -> Rule | None:
    if kw["centered"] or kw["momentum"] != 0:
        return None
    alpha, eps = kw["alpha"], kw["eps"]
    return Rule(
        lam=kw["weight_decay"],
        beta=alpha,
        gamma=1.0 - alpha,
        per_step=lambda t: {"eta": lr(t), "q": 1.0, "k": 1.0, "e": eps},
    )


def _nadam(kw: Mapping[str, Any], lr: LR) -> Rule:
    (b1, b2), eps, psi = kw["betas"], kw["eps"], kw["momentum_decay"]
    lam, d = _decay(kw, kw["decoupled_weight_decay"], lr)

    def per_step(t: np.ndarray) -> dict[str, Any]:
        upto = np.arange(1, int(t[-1]) + 2, dtype=np.float64)
        mus = b1 * (1.0 - 0.5 * 0.96 ** (upto * psi))  # μ_1 … μ_{t_last + 1}
        prods = np.cumprod(mus)
        i = t.astype(np.int64) - 1
        mu, mu_next, prod = mus[i], mus[i + 1], prods[i]
        return {
            "c": 1.0 - b1,
            "d": d(t),
            "eta": lr(t),
            "n": mu_next / (1.0 - prod * mu_next),
            "q": (1.0 - mu) / (1.0 - prod),
            "k": 1.0 / np.sqrt(1.0 - b2**t),
            "e": eps,
        }

    return Rule(lam=lam, a=b1, beta=b2, gamma=1.0 - b2, per_step=per_step)


def _radam(kw: Mapping[str, Any], lr: LR) -> Rule:
    (b1, b2), eps = kw["betas"], kw["eps"]
    lam, d = _decay(kw, kw["decoupled_weight_decay"], lr)
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def per_step(t: np.ndarray) -> dict[str, Any]:
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        rho = rho_inf - 2.0 * t * b2**t / bc2
        on = rho > 5.0
        with np.errstate(invalid="ignore", divide="ignore"):
            rect = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return {
            "c": 1.0 - b1,
            "d": d(t),
            "eta": lr(t),
            "n": np.where(on, rect * np.sqrt(bc2) / bc1, 1.0 / bc1),
            "k": np.where(on, 1.0, 0.0),
            "e": np.where(on, eps, 1.0),
        }

    return Rule(lam=lam, a=b1, beta=b2, gamma=1.0 - b2, per_step=per_step)


def _asgd(kw: Mapping[str, Any], lr: LR) -> Rule:
    lambd, alpha = kw["lambd"], kw["alpha"]

    def per_step(t: np.ndarray) -> dict[str, Any]:
        # torch steps with the η it computed at the end of the step before, from that step's rate
        # (step 1: the rate itself)
        before = lr(np.maximum(t - 1.0, 1.0))
        eta = before / (1.0 + lambd * before * (t - 1.0)) ** alpha
        # torch keeps η in a 0-d tensor of its scalar dtype (float32) and steps with its .item()
        eta = np.asarray(eta, dtype=np.float32).astype(np.float64)
        return {"eta": eta, "d": 1.0 - lambd * eta, "q": 1.0}

    return Rule(lam=kw["weight_decay"], per_step=per_step)


# ------------------------------------------------------------------ kinds only the compiled loop runs
# Their columns hold torch's own Python-float scalars (cast to the run's dtype when applied, as torch
# casts them): eta_n the step size lr/(1−β₁ᵗ) as torch divides it, k √(1−β₂ᵗ), e ε, eta the rate.


def _amsgrad(kw: Mapping[str, Any], lr: LR, decoupled: bool) -> Rule:
    (b1, b2), eps = kw["betas"], kw["eps"]
    lam, d = _decay(kw, decoupled, lr)
    return Rule(
        kind=AMSGRAD,
        lam=lam,
        a=1.0 - b1,  # exp_avg.lerp_(grad, 1 − β₁)
        beta=b2,
        gamma=1.0 - b2,
        per_step=lambda t: {"d": d(t), "eta_n": lr(t) / (1.0 - b1**t), "k": (1.0 - b2**t) ** 0.5, "e": eps},
    )


def _adam_compiled(kw: Mapping[str, Any], lr: LR, decoupled: bool) -> Rule | None:
    return _amsgrad(kw, lr, decoupled) if kw.get("amsgrad") else None


def _rmsprop_compiled(kw: Mapping[str, Any], lr: LR) -> Rule | None:
    if not kw["centered"] and kw["momentum"] == 0:
        return None  # plain RMSprop is the generic rule's
    alpha = kw["alpha"]
    return Rule(
        kind=RMSPROP,
        lam=kw["weight_decay"],
        a=kw["momentum"],
        beta=alpha,
        gamma=1.0 - alpha,
        consts=(1.0 if kw["centered"] else 0.0,),
        per_step=lambda t: {"eta": lr(t), "e": kw["eps"]},
    )


def _adamax(kw: Mapping[str, Any], lr: LR) -> Rule:
    (b1, b2), eps = kw["betas"], kw["eps"]
    return Rule(
        kind=ADAMAX,
        lam=kw["weight_decay"],
        a=1.0 - b1,
        beta=b2,
        per_step=lambda t: {"eta_n": lr(t) / (1.0 - b1**t), "e": eps},
    )


def _adadelta(kw: Mapping[str, Any], lr: LR) -> Rule:
    rho = kw["rho"]
    return Rule(
        kind=ADADELTA,
        lam=kw["weight_decay"],
        beta=rho,
        gamma=1.0 - rho,
        per_step=lambda t: {"eta": lr(t), "e": kw["eps"]},
    )


def _rprop(kw: Mapping[str, Any], lr: LR) -> Rule:
    (minus, plus), (low, high) = kw["etas"], kw["step_sizes"]
    first = float(np.asarray(lr(np.ones(1)), dtype=np.float64).reshape(-1)[0])  # the rate when its state is made
    return Rule(kind=RPROP, a=plus, beta=minus, consts=(low, high), m0=first, per_step=lambda t: {})


@functools.lru_cache(maxsize=64)
def _python_powers(first: int, count: int, exponent: float) -> np.ndarray:
    """s ** exponent for the steps s = first … first + count − 1 as Python floats compute it (libm's
    pow, which NumPy's vectorised power and even its sqrt do not always equal)."""
    out = np.array([float(s) ** exponent for s in range(first, first + count)])
    out.flags.writeable = False
    return out


def _adafactor(kw: Mapping[str, Any], lr: LR) -> Rule | None:
    """c the running variances' weight tᵉ (e = beta2_decay), eta the relative step ρ_t = min(lr, 1/√t),
    d the decay 1 − lr·wd; consts ε₁ (NaN: torch's default, the run dtype's machine epsilon), ε₂ and
    the clipping threshold d."""
    if kw.get("maximize"):
        return None  # never set by the lab (a mechanic): torch.optim steps it
    eps1, eps2 = kw.get("eps", (None, 1e-3))
    decay, wd = kw["beta2_decay"], kw["weight_decay"]

    def per_step(t: np.ndarray) -> dict[str, Any]:
        first, count = int(t[0]), len(t)
        rate = np.broadcast_to(np.asarray(lr(t), dtype=np.float64), t.shape)
        inv = 1.0 / _python_powers(first, count, 0.5)
        return {
            "c": _python_powers(first, count, decay),
            "eta": np.where(inv < rate, inv, rate),  # Python's min(lr, 1 / step ** 0.5)
            "d": 1.0 - rate * wd,
        }

    return Rule(kind=ADAFACTOR, consts=(math.nan if eps1 is None else eps1, eps2, kw["d"]), per_step=per_step)


# Classes with a compiled loop of their own rather than a rule (several gradient evaluations a step).
OWN_LOOP = {"LBFGS": "lab.core.lbfgs"}


def lbfgs_limits(kwargs: Mapping[str, Any]) -> tuple[int, int]:
    """LBFGS's (max_iter, max_eval) per step, with torch's defaults: 20 and max_iter × 5/4."""
    max_iter = int(kwargs.get("max_iter", 20))
    max_eval = kwargs.get("max_eval")
    return max_iter, max_iter * 5 // 4 if max_eval is None else int(max_eval)


Builder = Callable[[Mapping[str, Any], LR], Rule | None]


def _decoupled(kw: Mapping[str, Any]) -> bool:
    return bool(kw.get("decoupled_weight_decay", False))


# torch class -> (its generic rule, its kind that only the compiled loop has); the kind is tried first.
_BUILDERS: dict[str, tuple[Builder | None, Builder | None]] = {
    "SGD": (_sgd, None),
    "Adam": (lambda kw, lr: _adam(kw, lr, _decoupled(kw)), lambda kw, lr: _adam_compiled(kw, lr, _decoupled(kw))),
    "AdamW": (lambda kw, lr: _adam(kw, lr, True), lambda kw, lr: _adam_compiled(kw, lr, True)),
    "Adagrad": (_adagrad, None),
    "RMSprop": (_rmsprop, _rmsprop_compiled),
    "NAdam": (_nadam, None),
    "RAdam": (_radam, None),
    "ASGD": (_asgd, None),
    "Adamax": (None, _adamax),
    "Adadelta": (None, _adadelta),
    "Rprop": (None, _rprop),
    "Adafactor": (None, _adafactor),
}


def rule_for(
    torch_class: str, kwargs: Mapping[str, Any], lrs: np.ndarray | None = None, *, compiled: bool = False
) -> Rule | None:
    """The rule reproducing ``torch_class(**kwargs)``, or None when it needs torch.optim itself.
    ``lrs``: the learning rate of steps 1, 2, … (a schedule's); None: ``kwargs["lr"]`` throughout.
    ``compiled``: the lane runs in the compiled loop, which also has the kinds besides the generic rule."""
    generic, kind = _BUILDERS.get(torch_class, (None, None))
    builders = [kind, generic] if compiled else [generic]
    if lrs is None:
        constant = kwargs["lr"]
        lr: LR = lambda t: constant  # noqa: E731
    else:
        lr = lambda t: lrs[t.astype(np.int64) - 1]  # noqa: E731
    for build in builders:
        rule = None if build is None else build(kwargs, lr)
        if rule is not None:
            return rule
    return None


def not_compiled(torch_class: str, kwargs: Mapping[str, Any]) -> str | None:
    """Why ``torch_class(**kwargs)`` does not run in the compiled loop; None when it does."""
    if torch_class in OWN_LOOP:
        return None
    if rule_for(torch_class, kwargs, compiled=True) is not None:
        return None
    return "no compiled rule for this class: torch.optim steps it"
