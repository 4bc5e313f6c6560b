"""torch.optim.LBFGS on the regression, compiled (Numba): torch 2.13's ``torch/optim/lbfgs.py``
operation by operation, each lane's steps in one call with no Python between them.

Each step re-evaluates the batch's loss and gradient (:func:`lab.core.kernel.batch_gradient`, in
torch's sums) up to ``max_eval`` times on the same batch, as torch calls its closure. The flat
gradient is (∂w, ∂b), weight then bias; the vectors (direction, history of s and y) have two
elements in the parameters' dtype, and their dots round each product and add them in order, as
torch's ``dot`` does (measured, both dtypes). ``add_(…, alpha=a)`` rounds once (a fused
multiply-add, as torch's x86 kernels do).

**Scalars of two types.** torch's LBFGS mixes 0-d tensors in the parameters' dtype (dots, H_diag,
the first step's t when 1/‖g‖₁ < 1, whatever the line search computes from them) with Python
floats (the loss from ``float(closure())``, ``lr``, the bounds of a bracket that started at 0).
Where the two meet the Python float is cast to the tensor's dtype and the result is a tensor;
comparisons run in the tensor's dtype; ``float / tensor`` is ``tensor.reciprocal() * float``. Here
a scalar is a pair (value as float64, is-a-tensor) and :func:`_op` applies those rules, so a
float32 run rounds where torch rounds. In float64 the types coincide.
"""

from __future__ import annotations

import numba
import numpy as np

from lab.core.kernel import _compiled, _fma, batch_gradient, torch_sum

ADD, SUB, MUL, DIV = range(4)
C1, C2 = 1e-4, 0.9  # _strong_wolfe's Armijo and curvature constants
WOLFE_TOL_CHANGE = 1e-9  # _strong_wolfe's own tolerance_change: torch's step() leaves it at its default

# Per-lane constants, columns of ``conf`` (float64): lr comes per step from its own table.
MAX_ITER, MAX_EVAL, TOL_GRAD, TOL_CHANGE, HISTORY, WOLFE = range(6)
# Per-lane state kept between steps, columns of ``keep`` (float64) and ``vec`` (the dtype's).
T, H_DIAG, N_ITER, H_START, H_LEN = range(5)
D0, D1, PG0, PG1 = range(4)


def _called(fn):
    """A helper the loop calls: compiled on its own and left to LLVM to inline (Numba's own
    ``inline="always"`` made the first compile take ~24 s instead of ~6 s, for the same speed)."""
    return numba.njit(cache=True, error_model="numpy")(fn)  # x / 0 is inf or nan, as in torch, not an exception


@_called
def _op(k, a, ta, b, tb, like):
    """a ∘ b of two scalars (value, is-a-tensor): in the dtype of ``like`` if either is a tensor
    (the Python float cast to it first; float / tensor as reciprocal × float), else in float64."""
    if not (ta or tb):
        if k == ADD:
            return a + b, False
        if k == SUB:
            return a - b, False
        if k == MUL:
            return a * b, False
        return a / b, False
    x, y = like.dtype.type(a), like.dtype.type(b)
    if k == ADD:
        r = x + y
    elif k == SUB:
        r = x - y
    elif k == MUL:
        r = x * y
    elif ta:
        r = x / y
    else:
        r = like.dtype.type(1) / y  # Tensor.__rtruediv__: self.reciprocal() * other
        r = r * x
    return np.float64(r), True


@_called
def _lt(a, ta, b, tb, like):
    """a < b, in the tensor's dtype where either is one."""
    if ta or tb:
        return like.dtype.type(a) < like.dtype.type(b)
    return a < b


@_called
def _pmax(a, ta, b, tb, like):
    """Python's max(a, b): b only if b > a."""
    return (b, tb) if _lt(a, ta, b, tb, like) else (a, ta)


@_called
def _pmin(a, ta, b, tb, like):
    """Python's min(a, b): b only if b < a."""
    return (b, tb) if _lt(b, tb, a, ta, like) else (a, ta)


@_called
def _dot(a0, a1, b0, b1):
    """torch.dot of two 2-element vectors: each product rounded, added in order."""
    return a0 * b0 + a1 * b1


@_called
def _evaluate(data, batches, i, lane, w, b, sq):
    """``float(closure())`` and the flat gradient at (w, b): MSELoss's mean (torch's sum of the
    squared residuals, divided by |B|) and autograd's (∂w, ∂b)."""
    gw, gb, count = batch_gradient(data, batches, i, lane, w, b, sq)
    loss = torch_sum(sq, count, data.lanes) / data.x.dtype.type(count)
    return np.float64(loss), gw, gb


@_called
def _along(data, batches, i, lane, sq, w, b, t, d0, d1):
    """torch's ``_directional_evaluate`` at (w, b) + t·d, and its directional derivative g·d."""
    cast = data.x.dtype.type
    f, g0, g1 = _evaluate(data, batches, i, lane, _fma(cast(t), d0, w), _fma(cast(t), d1, b), sq)
    return f, g0, g1, _dot(g0, g1, d0, d1)


@_called
def _cubic(x1, tx1, f1, g1, x2, tx2, f2, g2, lo, tlo, hi, thi, like):
    """_cubic_interpolate with bounds (lo, hi); g1, g2 tensors, f1, f2 Python floats."""
    two = like.dtype.type(2)
    den, td = _op(SUB, x1, tx1, x2, tx2, like)
    q, tq = _op(DIV, 3 * (f1 - f2), False, den, td, like)
    g1, g2 = like.dtype.type(g1), like.dtype.type(g2)
    d1 = like.dtype.type(_op(SUB, np.float64(g1 + g2), True, q, tq, like)[0])
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if not _lt(x2, tx2, x1, tx1, like):  # x1 <= x2
            frac = (g2 + d2 - d1) / (g2 - g1 + two * d2)
            span, ts = _op(SUB, x2, tx2, x1, tx1, like)
            at, tat = x2, tx2
        else:
            frac = (g1 + d2 - d1) / (g1 - g2 + two * d2)
            span, ts = _op(SUB, x1, tx1, x2, tx2, like)
            at, tat = x1, tx1
        move, tm = _op(MUL, span, ts, np.float64(frac), True, like)
        pos, tp = _op(SUB, at, tat, move, tm, like)
        m, tm = _pmax(pos, tp, lo, tlo, like)
        return _pmin(m, tm, hi, thi, like)
    mid, tmid = _op(ADD, lo, tlo, hi, thi, like)
    return _op(DIV, mid, tmid, 2.0, False, like)


@_called
def _bounds(x1, tx1, x2, tx2, like):
    """_cubic_interpolate's default bounds: (x1, x2) if x1 <= x2 else (x2, x1)."""
    if not _lt(x2, tx2, x1, tx1, like):
        return x1, tx1, x2, tx2
    return x2, tx2, x1, tx1


@_called
def _armijo_fails(f_new, f, t, tt, gtd, like):
    """f_new > f + c1·t·gtd, with torch's types."""
    c1t, tc = _op(MUL, C1, False, t, tt, like)
    drop, td = _op(MUL, c1t, tc, gtd, True, like)
    rhs, tr = _op(ADD, f, False, drop, td, like)
    return _lt(rhs, tr, f_new, False, like)


@_called
def _curvature_holds(gtd_new, gtd, like):
    """abs(gtd_new) <= -c2·gtd, in the tensors' dtype."""
    return abs(like.dtype.type(gtd_new)) <= like.dtype.type(-C2) * like.dtype.type(gtd)


@_called
def _set(br, j, t, tt, f, g0, g1, gtd):
    """Bracket entry j: its t (and whether a tensor), loss, gradient and directional derivative."""
    br[0, j], br[1, j], br[2, j], br[3, j], br[4, j], br[5, j] = t, 1.0 if tt else 0.0, f, g0, g1, gtd


@_called
def _copy(br, to, frm):
    for k in range(6):
        br[k, to] = br[k, frm]


@_called
def _strong_wolfe(data, batches, i, lane, sq, br, w, b, t, tt, d0, d1, f, g0, g1, gtd, tol_change, max_ls):
    """torch's _strong_wolfe from (w, b) along d: (loss, gradient, t, t is a tensor, evaluations)."""
    like = data.x
    d_norm = max(abs(d0), abs(d1))
    f_new, n0, n1, gtd_new = _along(data, batches, i, lane, sq, w, b, t, d0, d1)
    evals = 1
    t_prev, tpt, f_prev, p0, p1, gtd_prev = 0.0, False, f, g0, g1, gtd
    done, ls_iter, size = False, 0, 2
    while ls_iter < max_ls:
        if _armijo_fails(f_new, f, t, tt, gtd, like) or (ls_iter > 1 and f_new >= f_prev):
            break
        if _curvature_holds(gtd_new, gtd, like):
            size, done = 1, True
            break
        if gtd_new >= 0:
            break
        gap, tg = _op(SUB, t, tt, t_prev, tpt, like)
        gap, tg = _op(MUL, 0.01, False, gap, tg, like)
        lo, tlo = _op(ADD, t, tt, gap, tg, like)
        hi, thi = _op(MUL, t, tt, 10.0, False, like)
        tmp, tmpt = t, tt
        t, tt = _cubic(t_prev, tpt, f_prev, gtd_prev, t, tt, f_new, gtd_new, lo, tlo, hi, thi, like)
        t_prev, tpt, f_prev, p0, p1, gtd_prev = tmp, tmpt, f_new, n0, n1, gtd_new
        f_new, n0, n1, gtd_new = _along(data, batches, i, lane, sq, w, b, t, d0, d1)
        evals += 1
        ls_iter += 1
    if size == 1:
        _set(br, 0, t, tt, f_new, n0, n1, gtd_new)
    elif ls_iter == max_ls:  # bracket [0, t]; its derivatives are never read
        _set(br, 0, 0.0, False, f, g0, g1, gtd)
        _set(br, 1, t, tt, f_new, n0, n1, gtd_new)
    else:
        _set(br, 0, t_prev, tpt, f_prev, p0, p1, gtd_prev)
        _set(br, 1, t, tt, f_new, n0, n1, gtd_new)
    insuf = False
    low, high = (0, 1) if br[2, 0] <= br[2, size - 1] else (1, 0)
    while not done and ls_iter < max_ls:
        width, tw = _op(SUB, br[0, 1], br[1, 1] > 0, br[0, 0], br[1, 0] > 0, like)
        span, ts = _op(MUL, abs(width), tw, np.float64(d_norm), True, like)
        if _lt(span, ts, tol_change, False, like):
            break
        a, ta, z, tz = br[0, 0], br[1, 0] > 0, br[0, 1], br[1, 1] > 0
        lo, tlo, hi, thi = _bounds(a, ta, z, tz, like)
        t, tt = _cubic(a, ta, br[2, 0], br[5, 0], z, tz, br[2, 1], br[5, 1], lo, tlo, hi, thi, like)
        bmax, tmax = _pmax(a, ta, z, tz, like)
        bmin, tmin = _pmin(a, ta, z, tz, like)
        eps, te = _op(SUB, bmax, tmax, bmin, tmin, like)
        eps, te = _op(MUL, 0.1, False, eps, te, like)
        above, ta_ = _op(SUB, bmax, tmax, t, tt, like)
        below, tb_ = _op(SUB, t, tt, bmin, tmin, like)
        near, tn = _pmin(above, ta_, below, tb_, like)
        if _lt(near, tn, eps, te, like):
            if insuf or not _lt(t, tt, bmax, tmax, like) or not _lt(bmin, tmin, t, tt, like):
                above, ta_ = _op(SUB, t, tt, bmax, tmax, like)
                below, tb_ = _op(SUB, t, tt, bmin, tmin, like)
                if _lt(abs(above), ta_, abs(below), tb_, like):
                    t, tt = _op(SUB, bmax, tmax, eps, te, like)
                else:
                    t, tt = _op(ADD, bmin, tmin, eps, te, like)
                insuf = False
            else:
                insuf = True
        else:
            insuf = False
        f_new, n0, n1, gtd_new = _along(data, batches, i, lane, sq, w, b, t, d0, d1)
        evals += 1
        ls_iter += 1
        if _armijo_fails(f_new, f, t, tt, gtd, like) or f_new >= br[2, low]:
            _set(br, high, t, tt, f_new, n0, n1, gtd_new)
            low, high = (0, 1) if br[2, 0] <= br[2, 1] else (1, 0)
        else:
            if _curvature_holds(gtd_new, gtd, like):
                done = True
            else:
                span, ts = _op(SUB, br[0, high], br[1, high] > 0, br[0, low], br[1, low] > 0, like)
                if _op(MUL, gtd_new, True, span, ts, like)[0] >= 0:
                    _copy(br, high, low)
            _set(br, low, t, tt, f_new, n0, n1, gtd_new)
    cast = like.dtype.type
    return br[2, low], cast(br[3, low]), cast(br[4, low]), br[0, low], br[1, low] > 0, evals


@_called
def _direction(g0, g1, lane, keep, vec, dirs, stps, ro, al, cap):
    """The L-BFGS direction from gradient g: the history updated with (y, s) = (g − g_prev, d·t) when
    y·s > 1e-10, then the two-loop recursion (torch's one buffer q, then r = q·H_diag)."""
    cast = dirs.dtype.type
    size = dirs.shape[1]
    y0, y1 = g0 - vec[lane, PG0], g1 - vec[lane, PG1]
    t = cast(keep[lane, T])
    s0, s1 = vec[lane, D0] * t, vec[lane, D1] * t
    ys = _dot(y0, y1, s0, s1)
    start, count = int(keep[lane, H_START]), int(keep[lane, H_LEN])
    if ys > cast(1e-10):
        if count == cap:  # drop the oldest
            start, count = (start + 1) % size, count - 1
        slot = (start + count) % size
        dirs[lane, slot, 0], dirs[lane, slot, 1], stps[lane, slot, 0], stps[lane, slot, 1] = y0, y1, s0, s1
        ro[lane, slot] = cast(1) / ys
        count += 1
        keep[lane, H_DIAG] = ys / _dot(y0, y1, y0, y1)
        keep[lane, H_START], keep[lane, H_LEN] = start, count
    q0, q1 = -g0, -g1
    for k in range(count - 1, -1, -1):
        slot = (start + k) % size
        al[k] = _dot(stps[lane, slot, 0], stps[lane, slot, 1], q0, q1) * ro[lane, slot]
        q0, q1 = _fma(-al[k], dirs[lane, slot, 0], q0), _fma(-al[k], dirs[lane, slot, 1], q1)
    h = cast(keep[lane, H_DIAG])
    r0, r1 = q0 * h, q1 * h
    for k in range(count):
        slot = (start + k) % size
        be = _dot(dirs[lane, slot, 0], dirs[lane, slot, 1], r0, r1) * ro[lane, slot]
        r0, r1 = _fma(al[k] - be, stps[lane, slot, 0], r0), _fma(al[k] - be, stps[lane, slot, 1], r1)
    return r0, r1


@_called
def _first_t(g0, g1, lr, like):
    """The first iteration's t = min(1, 1/‖g‖₁)·lr: a tensor when 1/‖g‖₁ < 1, else the float lr."""
    cast = like.dtype.type
    inv = cast(1) / (abs(g0) + abs(g1))
    return (np.float64(inv * cast(lr)), True) if inv < cast(1) else (lr, False)


@_called
def _step(data, batches, i, lane, sq, al, br, w, b, lr, conf, keep, vec, dirs, stps, ro):
    """One ``LBFGS.step(closure)`` of ``lane`` from (w, b) on step i's batch: the new (w, b)."""
    like = data.x
    cast = like.dtype.type
    max_iter, max_eval = int(conf[lane, MAX_ITER]), int(conf[lane, MAX_EVAL])
    tol_grad, tol_change = cast(conf[lane, TOL_GRAD]), conf[lane, TOL_CHANGE]
    loss, g0, g1 = _evaluate(data, batches, i, lane, w, b, sq)
    evals = 1
    if max(abs(g0), abs(g1)) <= tol_grad:
        return w, b
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        keep[lane, N_ITER] += 1
        first = keep[lane, N_ITER] == 1
        if first:
            d0, d1 = -g0, -g1
            keep[lane, H_START], keep[lane, H_LEN], keep[lane, H_DIAG] = 0, 0, 1.0
        else:
            d0, d1 = _direction(g0, g1, lane, keep, vec, dirs, stps, ro, al, int(conf[lane, HISTORY]))
        vec[lane, D0], vec[lane, D1], vec[lane, PG0], vec[lane, PG1] = d0, d1, g0, g1
        prev_loss = loss
        t, tt = _first_t(g0, g1, lr, like) if first else (lr, False)
        keep[lane, T] = t
        gtd = _dot(g0, g1, d0, d1)
        if gtd > cast(-tol_change):
            break
        evaluated, opt = 0, False
        if conf[lane, WOLFE] != 0:
            loss, g0, g1, t, tt, evaluated = _strong_wolfe(
                data, batches, i, lane, sq, br, w, b, t, tt, d0, d1, loss, g0, g1, gtd,
                WOLFE_TOL_CHANGE, max_eval - evals,
            )  # fmt: skip
            keep[lane, T] = t
            w, b = _fma(cast(t), d0, w), _fma(cast(t), d1, b)
            opt = max(abs(g0), abs(g1)) <= tol_grad
        else:
            w, b = _fma(cast(t), d0, w), _fma(cast(t), d1, b)
            if n_iter != max_iter:  # torch re-evaluates except after its last iteration
                loss, g0, g1 = _evaluate(data, batches, i, lane, w, b, sq)
                opt, evaluated = max(abs(g0), abs(g1)) <= tol_grad, 1
        evals += evaluated
        if n_iter == max_iter or evals >= max_eval or opt:
            break
        if max(abs(d0 * cast(t)), abs(d1 * cast(t))) <= cast(tol_change):  # lack of progress
            break
        if abs(loss - prev_loss) < tol_change:
            break
    return w, b


@_compiled
def lbfgs_steps(p, hist, data, batches, lrs, conf, keep, vec, dirs, stps, ro, row0):
    """Advance every lane of ``p`` (2, lanes) by ``len(lrs)`` LBFGS steps, step i at the rates
    ``lrs[i]``, writing step ``row0 + 1 + i`` into ``hist``. ``conf`` (lanes, 6) each lane's
    max_iter, max_eval, tolerance_grad, tolerance_change, history_size and whether it uses the
    strong-Wolfe line search; the state torch keeps between steps: ``keep`` (lanes, 5) float64 t,
    H_diag, n_iter and the history ring's start and length, ``vec`` (lanes, 4) d and prev_flat_grad,
    ``dirs``/``stps`` (lanes, history, 2) y and s, ``ro`` (lanes, history) 1/(y·s). A lane stops at
    its first non-finite parameter, as the engine's torch.optim lanes do."""
    like = data.x
    sq = np.empty(data.r.shape[0], like.dtype)
    al = np.empty(dirs.shape[1], like.dtype)
    br = np.empty((6, 2))
    for lane in range(p.shape[1]):
        w, b = p[0, lane], p[1, lane]
        for i in range(lrs.shape[0]):
            if not (np.isfinite(w) and np.isfinite(b)):
                break
            w, b = _step(data, batches, i, lane, sq, al, br, w, b, lrs[i, lane], conf, keep, vec, dirs, stps, ro)
            hist[row0 + 1 + i, 0, lane], hist[row0 + 1 + i, 1, lane] = w, b
        p[0, lane], p[1, lane] = w, b
