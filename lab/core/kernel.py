"""The regression's batched step loop, compiled (Numba): every step of every rule-based lane in
one call, with no Python between steps.

It computes exactly what the engine's NumPy loop does (:class:`lab.core.engine._Stacked`, with
:meth:`lab.core.objectives.Regression.gradients`), in the same numerical model as autograd: each
lane's residuals ``w·xᵢ + b − yᵢ`` of its own batch, scaled by 2/|B|, summed into (∂w, ∂b), then
the update rule of :mod:`lab.core.rules` — every operation in the run's dtype and rounded after
each one. Numba leaves float arithmetic as written (no fused multiply-add, no reassociation
without ``fastmath``), so a float32 run rounds like the tutorial's loop: near the optimum the
gradient is rounding noise, not zero, and RMSProp and Adam hover as they do in torch.

The batch sums follow torch's own order on the CPU, so the gradient is autograd's to the last bit:
∂w, the product ``mm(g.t(), x)`` that MKL computes, adds in sample order (measured: no other order
fits, on every MKL code path); ∂b, ``g.sum(0)``, is torch's cascade sum (ATen's SumKernel.cpp:
four rows of vectors of :data:`SUM_LANES` elements, each column summed in levels of 16), which
:func:`torch_sum` writes out. Where that cannot hold — another BLAS, a CPU whose MKL blocks
differently — :func:`sums_match_torch` says so, in a millisecond.

The loop takes four named records (:class:`State`, :class:`Data`, :class:`Batches`,
:class:`Update`): a rule that needs more state or more constants adds fields to them, and the
coefficient table's columns are read by the names :mod:`lab.core.rules` gives them (module-level
ints, which Numba freezes into the compiled code).

The loop holds no Python objects, so it runs without the GIL: while it runs, other visitors'
sessions go on on another core. Compiled once per dtype (a few seconds) and kept in ``__pycache__`` (or
Numba's cache directory; where neither can be written, each process compiles it again). Processes that
start together (a server's replicas, a test run's workers) compile one at a time
(:func:`lab.core.caches.one_compiler_at_a_time`): the first compiles and keeps the code, the others then load it.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import intrinsic

from lab.core import caches
from lab.core.rules import ADADELTA, ADAFACTOR, ADAMAX, AMSGRAD, ETA, ETA_N, ETA_Q, GENERIC, RMSPROP, RPROP, C, D, E, K


class State(NamedTuple):
    """What the steps change, in place: ``p``, ``m``, ``v`` (2, lanes) — row 0 every lane's w, row
    1 its b — the parameters and the rule's first and second moments; ``u`` (2, lanes) a third
    state that some kinds keep (AMSGrad's largest second moment, centered RMSprop's mean gradient,
    Adadelta's mean squared update, Rprop's previous gradient; Rprop keeps its step sizes in ``m``);
    ``hist`` (steps + 1, 2, lanes) the parameters after every step."""

    p: np.ndarray
    m: np.ndarray
    v: np.ndarray
    u: np.ndarray
    hist: np.ndarray


class Data(NamedTuple):
    """The samples ``x``, ``y`` (n + 1,) in the run's dtype, with a zero row at index n: the padding
    that a shorter batch's indices point at; ``lanes``: :func:`sum_lanes` of that dtype; ``r``
    scratch (n,) for one batch's residuals."""

    x: np.ndarray
    y: np.ndarray
    lanes: int
    r: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> Data:
        return cls(x=x, y=y, lanes=sum_lanes(x.dtype), r=np.empty(len(x) - 1, dtype=x.dtype))


SUM_VECTOR_BYTES = 32  # torch's CPU sum kernel's vector on x86, under every capability (AVX-512 runs its AVX2 build)


def sum_lanes(dtype) -> int:
    """Elements per vector of torch's CPU sum: 8 for float32, 4 for float64."""
    return SUM_VECTOR_BYTES // np.dtype(dtype).itemsize


class Batches(NamedTuple):
    """Which samples each lane's gradient sums at step i: all n when ``full[lane]``, else the indices
    ``idx[i, lo[lane]:hi[lane]]`` (n where its batch is shorter); ``scale[i, key[lane]]`` is its
    batch's 2/|B| in the run's dtype."""

    idx: np.ndarray  # (steps, Σ widths of the stochastic batch keys) int64
    full: np.ndarray  # (lanes,) bool
    lo: np.ndarray  # (lanes,) int64
    hi: np.ndarray  # (lanes,) int64
    key: np.ndarray  # (lanes,) int64: the lane's column of scale
    scale: np.ndarray  # (steps, batch keys)


class Update(NamedTuple):
    """The update rule of :mod:`lab.core.rules`: ``coef`` (steps, len(rules.COEFFS), lanes) its
    per-step coefficients, in the run's dtype, with the columns :data:`lab.core.rules.COEFFS`;
    ``lam``, ``a``, ``beta``, ``gamma`` (lanes,) its constants; ``use_lam``, ``use_m``, ``use_v``:
    whether any lane of the generic kind uses that term (one that none uses is skipped, as the NumPy
    loop skips it); ``kind`` (lanes,) each lane's :data:`lab.core.rules.KINDS` index and ``consts``
    (KIND_CONSTS, lanes) float64 its kind's own constants, as torch's Python floats (a kind casts one
    to the run's dtype where torch applies it to a tensor); ``wide`` the table ``coef`` was cast from,
    in float64, for a kind that computes with Python floats (Adafactor's step size)."""

    coef: np.ndarray
    lam: np.ndarray
    a: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    use_lam: bool
    use_m: bool
    use_v: bool
    kind: np.ndarray
    consts: np.ndarray
    wide: np.ndarray


def _compiled(fn):
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return caches.one_compiler_at_a_time(numba.njit(cache=True, **options)(fn))
    except RuntimeError:  # nowhere to keep the compiled code (a read-only install): compile per process
        return numba.njit(**options)(fn)


@numba.njit(cache=True, inline="always")
def _ceil_log2(x):
    """ATen's CeilLog2 (native/cpu/utils.h): 1 for x ≤ 2."""
    if x <= 2:
        return 1
    r, v = 0, x - 1
    while v > 0:
        v >>= 1
        r += 1
    return r


@numba.njit(cache=True, inline="always")
def _cascade(a, start, stride, rows, power):
    """One column of ATen's multi_row_sum: ``rows`` operands a[start + i·stride] added into level 0,
    which is added into level 1 every 2**power operands; level 1 into level 2 every 2**(2·power),
    level 2 into 3 every 2**(3·power); at the end level 0 + 1 + 2 + 3."""
    zero = a.dtype.type(0)
    step = 1 << power
    l0, l1, l2, l3 = zero, zero, zero, zero
    mask = step - 1
    i, at = 0, start
    while i + step <= rows:
        for _ in range(step):
            l0 = l0 + a[at]
            at += stride
            i += 1
        l1 = l1 + l0
        l0 = zero
        if (i & (mask << power)) == 0:
            l2 = l2 + l1
            l1 = zero
            if (i & (mask << (2 * power))) == 0:
                l3 = l3 + l2
                l2 = zero
    while i < rows:
        l0 = l0 + a[at]
        at += stride
        i += 1
    l0 = l0 + l1
    l0 = l0 + l2
    return l0 + l3


@caches.one_compiler_at_a_time  # also called from Python (sums_match_torch)
@numba.njit(cache=True)
def torch_sum(a, count, lanes):
    """``a[:count].sum()`` as torch's CPU kernel adds it while the sum runs on one thread (fewer than
    32 768 elements, or one torch thread), in a's dtype: SumKernel.cpp's cascade_sum over
    ``lanes``-wide vectors. With V whole vectors in R = V // 4 rows of four, each lane l adds
    column 0 (vectors 4i), the vectors left over after the rows, columns 1, 2 and 3; the result is
    0 + the elements after the last whole vector + lane 0 + … + lane ``lanes`` − 1. Fewer than
    ``lanes`` elements: the same with one-element vectors."""
    zero = a.dtype.type(0)
    width = lanes if count >= lanes else 1
    vecs = count // width
    rows = vecs // 4
    power = max(4, _ceil_log2(rows) // 4)
    total = zero
    for t in range(vecs * width, count):  # the elements after the last whole vector (none when width is 1)
        total = total + a[t]
    for lane in range(width):
        v = _cascade(a, lane, 4 * width, rows, power)
        for q in range(rows * 4, vecs):
            v = v + a[q * width + lane]
        for k in range(1, 4):
            v = v + _cascade(a, k * width + lane, 4 * width, rows, power)
        total = total + v
    return zero + total


@caches.one_compiler_at_a_time
@numba.njit(cache=True)
def _dot(g, x, count):
    """Σ g[i]·x[i] in sample order, each product rounded before it is added."""
    total = g.dtype.type(0)
    for i in range(count):
        total = total + g[i] * x[i]
    return total


@numba.njit(cache=True, inline="always")
def batch_gradient(data, batches, i, lane, w, b, sq):
    """(∂w, ∂b, |B|) of ``lane``'s batch at step i, at (w, b), as autograd forms them; where ``sq`` has
    room, sq[j] = the j-th sample's squared residual (MSELoss's term, unscaled)."""
    x, y, res, n = data.x, data.y, data.r, data.x.shape[0] - 1
    full, lo = batches.full[lane], batches.lo[lane]
    s = batches.scale[i, batches.key[lane]]
    loss = sq.shape[0] > 0
    gw = x[n]  # 0 in the run's dtype
    count = n if full else batches.hi[lane] - lo
    real = 0  # the batch's samples (a shorter last batch is padded at its end)
    for j in range(count):
        t = j if full else batches.idx[i, lo + j]
        if t == n:
            continue
        r = x[t] * w  # rounded after each operation, as nn.Linear's forward and MSELoss's backward
        r = r + b
        r = r - y[t]
        if loss:
            sq[real] = r * r
        r = r * s
        gw = gw + r * x[t]  # MKL's order for mm(g.t(), x)
        res[real] = r
        real += 1
    return gw, torch_sum(res, real, data.lanes), real  # torch's order for g.sum(0)


@functools.cache
def sums_match_torch(dtype: str = "float32") -> bool:
    """Whether this machine's torch adds a batch's gradient in the order the loop does: ``g.sum(0)``
    and ``mm(g.t(), x)`` on fixed vectors of the batch sizes the lab uses, spanning twelve orders of
    magnitude, compared bit for bit (about a millisecond, once per process and dtype). False on a
    BLAS that blocks its products otherwise (another CPU family's MKL, OpenBLAS, Accelerate)."""
    import torch

    rng = np.random.default_rng(0)
    for size in (1, 5, 10, 32, 37, 64, 600, 1000):
        g = (rng.standard_normal(size) * 10.0 ** rng.uniform(-6, 6, size)).astype(dtype)
        x = rng.random(size).astype(dtype)
        tg, tx = torch.from_numpy(g)[:, None], torch.from_numpy(x)[:, None]
        theirs = (tg.sum(0).item(), torch.mm(tg.t(), tx).item())
        ours = (torch_sum(g, size, sum_lanes(dtype)), _dot(g, x, size))
        if theirs != tuple(float(o) for o in ours):
            return False
    return True


# ------------------------------------------------------------------ the other kinds of rule
# Each follows torch's _single_tensor_* step operation by operation. torch's CPU kernels on x86
# (its AVX2 and AVX-512 builds) fuse ``add(x, alpha=s)``, ``lerp`` and ``addcmul`` into one
# rounding (measured: a + s·b, self + w·(end − self) and self + (s·t1)·t2 each round once) and
# round ``addcdiv``'s division apart: self + (s·t1)/t2. _fma rounds once on every target (LLVM's
# fma: the instruction where there is one, else libm's). Python-float scalars arrive in the run's
# dtype, as torch casts them when it applies them.


@intrinsic
def _fma(typingctx, x, y, z):
    """x·y + z rounded once."""

    def codegen(context, builder, sig, args):
        return builder.fma(*args)

    return x(x, y, z), codegen


@numba.njit(cache=True, inline="always")
def _lerp(start, end, w, one):
    """torch's lerp (ATen's Lerp.h), fused as its CPU kernel rounds it."""
    if abs(w) < 0.5:
        return _fma(w, end - start, start)
    return _fma(start - end, one - w, end)  # end − (end − start)·(1 − w)


@numba.njit(cache=True, inline="always")
def _maximum(x, y):
    """torch.maximum: NaN if either is."""
    return x if (x >= y or x != x) else y


@numba.njit(cache=True, inline="always")
def _sign(x, one):
    """torch.sign: −1, 1, or x itself (±0, NaN)."""
    return one if x > 0 else (-one if x < 0 else x)


@numba.njit(cache=True, inline="always")
def _decayed(g, q, lam):
    """grad.add(param, alpha=weight_decay), when weight_decay != 0."""
    return g if lam == 0 else _fma(lam, q, g)


@numba.njit(cache=True, inline="always")
def _mean_square(v, x, beta, gamma):
    """v.mul_(β).addcmul_(x, x, value=γ)."""
    v = v * beta
    return _fma(gamma * x, x, v)


@numba.njit(cache=True, inline="always")
def _one(up):
    """1 in the run's dtype."""
    return up.coef.dtype.type(1)


# Each kind takes the lane's gradient g, parameter q and states m, v, u of one row (0: w, 1: b) and
# reads its constants by name from the Update record ``up`` at step i and lane: adding a kind or a
# constant widens no signature. It returns (new parameter, m, v, u).


@numba.njit(cache=True, inline="always")
def _amsgrad(g, q, m, v, u, up, i, lane, row):
    """Adam(W) with amsgrad=True: a = 1 − β₁, beta = β₂, gamma = 1 − β₂, d the decoupled decay."""
    g = _decayed(g, q, up.lam[lane])
    q = q * up.coef[i, D, lane]
    m = _lerp(m, g, up.a[lane], _one(up))
    v = _mean_square(v, g, up.beta[lane], up.gamma[lane])
    u = _maximum(u, v)
    den = np.sqrt(u) / up.coef[i, K, lane]
    den = den + up.coef[i, E, lane]
    return q + (-up.coef[i, ETA_N, lane] * m) / den, m, v, u


@numba.njit(cache=True, inline="always")
def _rmsprop(g, q, m, v, u, up, i, lane, row):
    """RMSprop centered (consts[0] = 1) and/or with momentum a: beta = α, gamma = 1 − α."""
    a, eta = up.a[lane], up.coef[i, ETA, lane]
    g = _decayed(g, q, up.lam[lane])
    v = _mean_square(v, g, up.beta[lane], up.gamma[lane])
    if up.consts[0, lane] != 0:
        u = _lerp(u, g, up.gamma[lane], _one(up))
        avg = np.sqrt(_fma(-u, u, v))  # square_avg.addcmul(grad_avg, grad_avg, value=-1)
    else:
        avg = np.sqrt(v)
    avg = avg + up.coef[i, E, lane]
    if a > 0:
        m = m * a
        m = m + g / avg
        return _fma(-eta, m, q), m, v, u
    return q + (-eta * g) / avg, m, v, u


@numba.njit(cache=True, inline="always")
def _adamax(g, q, m, v, u, up, i, lane, row):
    """Adamax: a = 1 − β₁, beta = β₂; v the infinity norm."""
    g = _decayed(g, q, up.lam[lane])
    m = _lerp(m, g, up.a[lane], _one(up))
    v = _maximum(v * up.beta[lane], abs(g) + up.coef[i, E, lane])
    return q + (-up.coef[i, ETA_N, lane] * m) / v, m, v, u


@numba.njit(cache=True, inline="always")
def _adadelta(g, q, m, v, u, up, i, lane, row):
    """Adadelta: beta = ρ, gamma = 1 − ρ; u the mean squared update."""
    beta, gamma, e = up.beta[lane], up.gamma[lane], up.coef[i, E, lane]
    g = _decayed(g, q, up.lam[lane])
    v = _mean_square(v, g, beta, gamma)
    std = np.sqrt(v + e)
    delta = np.sqrt(u + e)
    delta = delta / std
    delta = delta * g
    u = _mean_square(u, delta, beta, gamma)
    return _fma(-up.coef[i, ETA, lane], delta, q), m, v, u


@numba.njit(cache=True, inline="always")
def _rprop(g, q, m, v, u, up, i, lane, row):
    """Rprop: a = η₊, beta = η₋, step sizes m within [consts[0], consts[1]]; u the previous gradient."""
    one, minus, cast = _one(up), up.beta[lane], up.coef.dtype.type
    s = _sign(g * u, one)
    factor = up.a[lane] if s > 0 else (minus if s < 0 else (s if s != s else one))
    m = m * factor
    m = m if m != m else min(max(m, cast(up.consts[0, lane])), cast(up.consts[1, lane]))  # clamp_, NaN kept
    if factor == minus:
        g = one - one
    return q - _sign(g, one) * m, m, v, g  # addcmul_(sign, step, value=-1): the product is exact


@numba.njit(cache=True, inline="always")
def _python_max(x, y):
    """Python's max(x, y) of two floats: y only if y > x (so x when y is NaN)."""
    return y if y > x else x


@numba.njit(cache=True, inline="always")
def _adafactor(g, q, m, v, u, up, i, lane, row):
    """Adafactor: v the running mean of g² (row 0: the weight's row variance — its column variance,
    the same operations on the same 1×1 gradient, is equal to it; row 1: the bias's variance).
    The step size α and the clipping run in Python floats (float64), as torch computes them from
    ``.item()``; coef C is tᵉ, D the decay, wide ETA the relative step ρ_t, consts ε₁, ε₂, d."""
    one, cast = _one(up), up.coef.dtype.type
    eps1, eps2, clip = up.consts[0, lane], up.consts[1, lane], up.consts[2, lane]
    if eps1 != eps1:  # eps=(None, …): the parameter dtype's machine epsilon
        eps1 = np.finfo(up.coef.dtype).eps
    alpha = _python_max(eps2, np.float64(abs(q))) * up.wide[i, ETA, lane]  # max(eps2, ‖p‖/√numel)·ρ_t
    q = q * up.coef[i, D, lane]  # param.mul_(1 − lr·wd)
    v = _lerp(v, g * g, up.coef[i, C, lane], one)  # norm(g, dim).square_() / 1, or grad * grad
    est = v
    if row == 0:  # (row_var @ col_var) / row_var.mean(dim=-2).clamp_(min=ε₁)
        est = v * v
        est = est / _maximum(v, cast(eps1))
    upd = one / np.sqrt(_maximum(est, cast(eps1 * eps1)))  # clamp_(min=ε₁²).rsqrt_()
    upd = upd * g
    denom = _python_max(1.0, np.float64(abs(upd)) / clip)  # max(1, ‖update‖ / (√numel·d))
    return _fma(cast(-alpha / denom), upd, q), m, v, u  # param.add_(update, alpha=−α/denom)


@numba.njit(cache=True, inline="always")
def _other_kind(g, q, m, v, u, up, i, lane, row):
    """(new parameter, m, v, u) of a lane whose rule is not the generic one."""
    kind = up.kind[lane]
    if kind == AMSGRAD:
        return _amsgrad(g, q, m, v, u, up, i, lane, row)
    if kind == RMSPROP:
        return _rmsprop(g, q, m, v, u, up, i, lane, row)
    if kind == ADAMAX:
        return _adamax(g, q, m, v, u, up, i, lane, row)
    if kind == ADADELTA:
        return _adadelta(g, q, m, v, u, up, i, lane, row)
    if kind == RPROP:
        return _rprop(g, q, m, v, u, up, i, lane, row)
    if kind == ADAFACTOR:
        return _adafactor(g, q, m, v, u, up, i, lane, row)
    return (g - g) / (g - g), m, v, u  # a kind this loop does not know: never built by lab.core.rules


@_compiled
def regression_steps(state, data, batches, update, row0):
    """Advance every lane of ``state`` by ``len(update.coef)`` steps, writing step ``row0 + 1 + i``
    into ``state.hist``. Division by zero gives inf or NaN, as in NumPy: non-finite is data."""
    p, m, v, u, hist = state.p, state.m, state.v, state.u, state.hist  # by name: a record may gain fields
    res = data.r
    coef, lam, a, beta, gamma = update.coef, update.lam, update.a, update.beta, update.gamma
    for i in range(coef.shape[0]):
        for lane in range(p.shape[1]):
            gw, gb, _ = batch_gradient(data, batches, i, lane, p[0, lane], p[1, lane], res[:0])
            c, d, en, eq, k, e = (
                coef[i, C, lane],
                coef[i, D, lane],
                coef[i, ETA_N, lane],
                coef[i, ETA_Q, lane],
                coef[i, K, lane],
                coef[i, E, lane],
            )
            kind = update.kind[lane]
            for row in range(2):
                g = gw if row == 0 else gb
                q = p[row, lane]
                if kind != GENERIC:
                    new, m[row, lane], v[row, lane], u[row, lane] = _other_kind(
                        g, q, m[row, lane], v[row, lane], u[row, lane], update, i, lane, row
                    )
                    hist[row0 + 1 + i, row, lane] = new
                    p[row, lane] = new
                    continue
                if update.use_lam:
                    g = g + lam[lane] * q
                if update.use_m:
                    mm = m[row, lane] * a[lane]
                    mm = mm + c * g
                    m[row, lane] = mm
                    num = mm * en
                    num = num + eq * g
                else:
                    num = eq * g
                if update.use_v:
                    vv = v[row, lane] * beta[lane]
                    vv = vv + gamma[lane] * g * g  # as addcmul_(g, g, value=γ) rounds: (γ·g)·g
                    v[row, lane] = vv
                    den = np.sqrt(vv)
                    den = den * k
                    den = den + e
                else:
                    den = e
                new = q * d - num / den
                hist[row0 + 1 + i, row, lane] = new
                p[row, lane] = new
