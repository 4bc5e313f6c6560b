"""The regression's batched step loop, compiled (Numba): every step of every rule-based lane in
one call, with no Python between steps.

It computes exactly what the engine's NumPy loop does (:class:`lab.core.engine._Stacked`, with
:meth:`lab.core.objectives.Regression.gradients`), in the same numerical model as autograd: each
lane's residuals ``w·xᵢ + b − yᵢ`` of its own batch, scaled by 2/|B|, summed into (∂w, ∂b), then
the update rule of :mod:`lab.core.rules` — every operation in the run's dtype and rounded after
each one. Numba leaves float arithmetic as written (no fused multiply-add, no reassociation
without ``fastmath``), so a float32 run rounds like the tutorial's loop: near the optimum the
gradient is rounding noise, not zero, and RMSProp and Adam hover as they do in torch. The one
freedom taken is the order of each batch sum (in sample order here; BLAS's order in the NumPy
loop; torch's own is a third), which autograd does not fix either.

The loop holds no Python objects, so it runs without the GIL: while it runs, other visitors'
sessions go on on another core. Compiled once per dtype (about half a second) and kept in ``__pycache__`` (or
Numba's cache directory; where neither can be written, each process compiles it again).
"""

from __future__ import annotations

import numba
import numpy as np


def _compiled(fn):
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:  # nowhere to keep the compiled code (a read-only install): compile per process
        return numba.njit(**options)(fn)


@_compiled
def regression_steps(p, m, v, hist, row0, x, y, idx, full, lo, hi, key, scale, coef, lam, a, beta, gamma, flags):
    """Advance every lane by ``len(coef)`` steps, writing step ``row0 + 1 + i`` into ``hist``.

    ``p``, ``m``, ``v``: (2, lanes) parameters and moments, updated in place; ``hist``: (steps + 1,
    2, lanes). ``x``, ``y``: the data with one zero row appended (index n, the padding). Lane l
    uses all n samples when ``full[l]``, else the indices ``idx[i, lo[l]:hi[l]]`` at step i (n
    where its batch is shorter); ``scale[i, key[l]]`` is its batch's 2/|B|. ``coef``: (steps, 6,
    lanes) with columns c, d, η·n, η·q, k, e, and ``lam``, ``a``, ``beta``, ``gamma`` per lane, as
    in :mod:`lab.core.rules`; ``flags`` = (use λ, use m, use v): a term no lane uses is skipped, as
    the NumPy loop skips it. Division by zero gives inf or NaN, as in NumPy: non-finite is data.
    """
    use_lam, use_m, use_v = flags[0], flags[1], flags[2]
    n = x.shape[0] - 1
    zero = x[n]  # 0 in the run's dtype
    for i in range(coef.shape[0]):
        for lane in range(p.shape[1]):
            w, b = p[0, lane], p[1, lane]
            s = scale[i, key[lane]]
            gw, gb = zero, zero
            count = n if full[lane] else hi[lane] - lo[lane]
            for j in range(count):
                t = j if full[lane] else idx[i, lo[lane] + j]
                if t == n:  # padding of a shorter last batch
                    continue
                r = x[t] * w  # rounded after each operation, as nn.Linear's forward and MSELoss's backward
                r = r + b
                r = r - y[t]
                r = r * s
                gw = gw + r * x[t]
                gb = gb + r
            c, d, en, eq, k, e = (
                coef[i, 0, lane],
                coef[i, 1, lane],
                coef[i, 2, lane],
                coef[i, 3, lane],
                coef[i, 4, lane],
                coef[i, 5, lane],
            )
            for row in range(2):
                g = gw if row == 0 else gb
                q = p[row, lane]
                if use_lam:
                    g = g + lam[lane] * q
                if use_m:
                    mm = m[row, lane] * a[lane]
                    mm = mm + c * g
                    m[row, lane] = mm
                    num = mm * en
                    num = num + eq * g
                else:
                    num = eq * g
                if use_v:
                    vv = v[row, lane] * beta[lane]
                    vv = vv + g * g * gamma[lane]
                    v[row, lane] = vv
                    den = np.sqrt(vv)
                    den = den * k
                    den = den + e
                else:
                    den = e
                new = q * d - num / den
                hist[row0 + 1 + i, row, lane] = new
                p[row, lane] = new
