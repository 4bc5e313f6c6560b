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

The loop takes four named records (:class:`State`, :class:`Data`, :class:`Batches`,
:class:`Update`): a rule that needs more state or more constants adds fields to them, and the
coefficient table's columns are read by the names :mod:`lab.core.rules` gives them (module-level
ints, which Numba freezes into the compiled code).

The loop holds no Python objects, so it runs without the GIL: while it runs, other visitors'
sessions go on on another core. Compiled once per dtype (about half a second) and kept in ``__pycache__`` (or
Numba's cache directory; where neither can be written, each process compiles it again).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from lab.core.rules import ETA_N, ETA_Q, C, D, E, K


class State(NamedTuple):
    """What the steps change, in place: ``p``, ``m``, ``v`` (2, lanes) — row 0 every lane's w, row
    1 its b — the parameters and the rule's first and second moments; ``hist`` (steps + 1, 2,
    lanes) the parameters after every step."""

    p: np.ndarray
    m: np.ndarray
    v: np.ndarray
    hist: np.ndarray


class Data(NamedTuple):
    """The samples ``x``, ``y`` (n + 1,) in the run's dtype, with a zero row at index n: the padding
    that a shorter batch's indices point at."""

    x: np.ndarray
    y: np.ndarray


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
    whether any lane uses that term (one that none uses is skipped, as the NumPy loop skips it)."""

    coef: np.ndarray
    lam: np.ndarray
    a: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    use_lam: bool
    use_m: bool
    use_v: bool


def _compiled(fn):
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:  # nowhere to keep the compiled code (a read-only install): compile per process
        return numba.njit(**options)(fn)


@_compiled
def regression_steps(state, data, batches, update, row0):
    """Advance every lane of ``state`` by ``len(update.coef)`` steps, writing step ``row0 + 1 + i``
    into ``state.hist``. Division by zero gives inf or NaN, as in NumPy: non-finite is data."""
    p, m, v, hist = state.p, state.m, state.v, state.hist  # by name: a record may gain fields
    x, y = data.x, data.y
    idx, full, lo, hi, key, scale = batches.idx, batches.full, batches.lo, batches.hi, batches.key, batches.scale
    coef, lam, a, beta, gamma = update.coef, update.lam, update.a, update.beta, update.gamma
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
                coef[i, C, lane],
                coef[i, D, lane],
                coef[i, ETA_N, lane],
                coef[i, ETA_Q, lane],
                coef[i, K, lane],
                coef[i, E, lane],
            )
            for row in range(2):
                g = gw if row == 0 else gb
                q = p[row, lane]
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
