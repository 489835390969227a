"""Arithmetic near the ends of the double range: mantissa-exponent forms, exact power-of-two scaling, and results
beyond the range returned as ``inf`` with a :class:`~fpnorm.exceptions.FloatRangeWarning` carrying their size.

Data near the largest double (``1.8e308``) are scaled by an exact power of two before solving (as the solvers do,
:func:`fpnorm.solvers.problem.scale_exponent`); what is computed from the scaled numbers is then put back with
:func:`to_float`, which never makes a NaN: a result within range is exact up to the scaled computation's rounding, a
result beyond it is ``inf`` and said so.
"""

import math
import warnings

import numpy as np

from ..exceptions import FloatRangeWarning, SolveError

__all__ = ["weighted_norm", "product", "to_float", "unscale", "SAFE_EXPONENT"]

# Arrays whose largest modulus is below 2^SAFE_EXPONENT are summed as they are; larger ones are scaled by an exact
# power of two first. A sum of up to 2^100 terms of modulus below 2^900 cannot overflow (2^1000 < 1.8e308).
SAFE_EXPONENT = 900


def weighted_norm(a, root):
    """``sqrt(sum_k (a_k / root_k)^2)`` per column, as ``(mantissa, exponent)`` arrays so no quotient, square or sum
    over- or underflows.

    Parameters
    ----------
    a : ndarray of float, shape (M, m)
        Nonnegative moduli (finite).
    root : ndarray of float, shape (M,)
        Positive divisors; ``inf`` marks a free mode, which contributes nothing.

    Returns
    -------
    mantissa : ndarray of float, shape (m,)
        In ``[0, 2 sqrt(M)]``.
    exponent : ndarray of int, shape (m,)
        The norm is ``ldexp(mantissa, exponent)`` (see :func:`to_float`).
    """
    free = np.isinf(root)
    ma, ea = np.frexp(np.where(free[:, None], 0.0, a))
    mr, er = np.frexp(np.where(free, 1.0, root))
    q = ma / mr[:, None]                        # in [1/2, 2), or 0
    eq = ea.astype(np.int64) - er[:, None]
    live = q > 0
    top = np.max(np.where(live, eq, -(1 << 20)), axis=0)     # below any double's exponent
    top = np.where(live.any(axis=0), top, 0)
    with np.errstate(under="ignore"):          # terms 2^-1100 below the largest add nothing anyway
        terms = np.where(live, np.ldexp(q, np.maximum(eq - top, -1100)), 0.0)
    return np.sqrt(np.sum(terms * terms, axis=0)), top


def product(*factors):
    """``(mantissa, exponent)`` of the product of finite nonnegative floats, formed without intermediate overflow."""
    mantissa, exponent = 1.0, 0
    for f in factors:
        m, e = math.frexp(f)
        mantissa, exponent = mantissa * m, exponent + e
        m, e = math.frexp(mantissa)
        mantissa, exponent = m, exponent + e
    return mantissa, exponent


def to_float(mantissa, exponent, what, *, stacklevel=2):
    """``ldexp(mantissa, exponent)`` (scalars or arrays); where it exceeds the largest double, ``inf`` and a
    :class:`~fpnorm.exceptions.FloatRangeWarning` naming `what` and its value as a power of ten."""
    mantissa, exponent = np.asarray(mantissa, dtype=float), np.asarray(exponent)
    with np.errstate(over="ignore"):
        out = np.ldexp(mantissa, exponent.astype(np.int64) if exponent.size else exponent)
    over = np.isinf(out) & np.isfinite(mantissa)
    if over.any():
        m, e = float(mantissa[over].flat[0]), int(np.broadcast_to(exponent, mantissa.shape)[over].flat[0])
        m, shift = math.frexp(m)
        e += shift
        log10 = math.log10(abs(m)) + e * math.log10(2.0)
        warnings.warn(f"{what} is {m:.6g} * 2^{e} ~ 10^{log10:.2f}, beyond the largest double (~1.8e308): returned as "
                      f"inf. Scale the data down by a power of two: the result scales by the same factor.",
                      FloatRangeWarning, stacklevel=stacklevel + 1)
    return out


def unscale(arr, exponent, what):
    """``arr * 2^exponent`` (real or complex) exactly, in two steps (``2^1024`` itself overflows); raises
    :class:`~fpnorm.exceptions.SolveError` naming `what` when an entry leaves the double range."""
    half = exponent // 2
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr * np.ldexp(1.0, half) * np.ldexp(1.0, exponent - half)
    if not np.isfinite(out).all():
        raise SolveError(f"{what} overflow the float range (data of size ~2^{exponent}); scale `values` down by a "
                         f"power of two: the interpolant scales by the same factor.")
    return out
