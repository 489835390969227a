"""The residual at the user's points, certified: exactly phased sums with a proven error bound.

A solution's values at the points are ``h(x_n) = sum_k c_k e^{i k.theta_n}``, ``theta_n = 2 pi x_n / P``. They are
computed here with every phase ``k.theta_n`` formed exactly (the angles as ``t + t_lo``,
:func:`fpnorm.lattice.exact_angles`; the exponentials by angle addition, :func:`fpnorm.lattice.axis_exponentials`),
and summed as matrix products whose rounding has the classical bound: a computed complex inner product of length
``n`` is within ``sqrt(2) gamma_{n+2} sum |x_i| |y_i|`` of the exact one, ``gamma_n = n u / (1 - n u)`` (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., sec. 3.1 and 3.6), whatever the order of summation.
With ``phi`` the sum of all relative perturbations a term meets (each unit-modulus factor's error, each inner
product's ``sqrt(2) gamma``), every value is within ``phi / (1 - phi) sum_k |c_k|`` of the exact one.

Up to ``EXACT_WORK`` terms (or :data:`EXACT_SECONDS` of the Taylor NUFFT below) the sums run in extended precision
(``numpy.clongdouble``: a unit of rounding ``2^-64`` on x86), so the bound is some ``1e-17 sum_k |c_k|``: far
below the residual even when ``sum_k |c_k|`` is ``1e8`` times the data, and the residual is reported as "exact".
Beyond, the sums run in double precision through BLAS
(``N M`` multiply-adds as one matrix product) and the residual is reported as a "bound". Either way the figure is
the upper end of the certified interval, so it is never below the true residual. The only assumption is libm's
accuracy for ``cos`` and ``sin`` (:data:`fpnorm.lattice.LIBM_ULPS`).

Where it is cheaper by the time models (:func:`direct_seconds`, :func:`fpnorm.solvers.certify_fft.taylor_seconds`)
and, in double precision, its bound is about as tight (:func:`fast_path`), the values come from a low-rank Taylor
NUFFT instead (:mod:`fpnorm.solvers.certify_fft`: ``T`` power-of-two FFTs and ``T``
multiply-adds per point), with its own proven bound of the same form ``phi sum_k |c_k|``. It adds one assumption,
next to libm's: every output of scipy.fft's complex power-of-two transforms (its default backend, pocketfft, a
Cooley-Tukey network) is within ``((1 + eta)^{log2 n} - 1) sum_k |x_k|`` of the exact one, ``eta`` =
:data:`fpnorm.solvers.certify_fft.FFT_LEVEL_ERROR` (a twiddle's, a complex product's and a complex sum's rounding,
with a safety factor; measured far inside it against exact sums).
"""

import numpy as np

from .. import transforms
from .._internal.memory import check_memory
from .._internal.threads import cores, map_threads
from ..lattice import EXP_ERROR_UNITS, axis_exponentials, exact_angles
from .certify_fft import box_columns, fold_half, relative_bound, taylor_plan, taylor_seconds, taylor_values
from .problem import RESIDUAL_KINDS, Problem, values_at_points

__all__ = ["EXACT_WORK", "EXACT_SECONDS", "EXACT_SHARE", "NUFFT_ERROR", "DIRECT_SUM_CAP", "certified_values",
           "certified_residual", "band_violation", "sensitivity", "point_values", "relative_interval", "interval_kind",
           "certified_values_memory", "direct_seconds", "extended_affordable", "fast_path"]

# Terms (points x modes x columns) up to which values are summed in extended precision: about 0.5 s on the 2-core
# machine (numpy's long-double products run at ~25 ns a complex multiply-add, measured: 3.2 s for N = 8000 points
# and 16385 modes, against 0.34 s for the double-precision BLAS route). solve() also sums in extended precision
# after a dense QR/SVD solve, whose O(N^2 M) cost dwarfs it.
EXACT_WORK = 2e7
# Modelled seconds up to which the extended-precision Taylor NUFFT runs where the direct sums would exceed EXACT_WORK
# (about 0.7 s at 1e5 points and K = 2^17 in 1-d, with a bound of 1e-18 sum |c_k| against 1e-13 in double; 2-d and
# 3-d boxes of the sizes model at 10 s and more).
EXACT_SECONDS = 2.0
# The residual is "exact" when its certified interval is this narrow relative to its lower end: the reported upper
# end is then the residual to within 10%, never below it.
EXACT_SHARE = 0.1
# finufft's error at eps = 1e-15 relative to sum |c_k| is about 2e-13 to 4e-13 in the worst cases measured (N = 2000
# and N = 8000 uniform random points, noisy data); point_values takes a NUFFT only when this times sum |c_k| is within
# the accuracy asked for.
NUFFT_ERROR = 1e-12
# point_values sums directly up to this many terms (~5 s in double precision through BLAS) when a NUFFT would be
# too coarse; beyond, it takes the NUFFT anyway.
DIRECT_SUM_CAP = 2e9
# Bytes of the largest intermediate array per chunk of points.
_CHUNK_BYTES = 64 * 2**20
# Time model of the double-precision direct sums (one core, measured on the shared 2-core machine): an exactly
# phased exponential of axis_exponentials costs ~56 ns (4.1 s for 1e5 points and 2 x 363 of them), a term of the
# 1-d matrix product ~0.12 ns (BLAS: 1.3-4 s for 1e5 points and 131073 modes, by the machine's load), a term in
# d >= 2 ~0.3 ns (the last axis's matrix product, then the further axes point by point, _sums_last_axis_first; the
# machine loaded: 2.4-3.0 s for 8e4 points and 257 x 513 modes, 0.40-0.45 s for 2e4 points and 25 x 49^2, 0.41 s
# for 2e4 points, 129 x 257 modes and 3 columns).
_EXP_NS = 56.0
_TERM_NS = {1: 0.12}
_TERM_NS_ND = 0.3
# numpy's long-double complex multiply-add (EXACT_WORK's measurement)
_EXTENDED_TERM_NS = 25.0
# The Taylor NUFFT (:mod:`fpnorm.solvers.certify_fft`) replaces the double-precision direct sums when its modelled
# time is lower and its a-priori bound at most this many times theirs (they are alike: a few hundred to a few
# thousand units of rounding of sum |c_k| where it is faster), or within what the caller can accept.
_FAST_BOUND_RATIO = 4.0
# certified_residual accepts a bound on the values of this share of `enough` (times max |rhs|): a residual near
# `enough` then keeps an interval within EXACT_SHARE of it.
_ENOUGH_SHARE = 0.02


def _unit(extended):
    """Unit of rounding of the working type."""
    return float(np.finfo(np.longdouble if extended else float).eps) / 2


def _gamma(n, u):
    return n * u / (1.0 - n * u)


def _relative_bound(K, dim, extended, real=False):
    """``phi / (1 - phi)``: the values' error relative to ``sum_k |c_k|`` (module docstring)."""
    u = _unit(extended)
    n = 2 * K + 1
    first = K + 1 if real else n
    B = max(1, int(np.ceil(np.sqrt(first))))
    Q = -(-first // B)
    root2 = np.sqrt(2.0)
    # every axis: its shift, high and low factors and the two products joining them (sqrt(2) gamma_2 each)
    phi = dim * (3 * EXP_ERROR_UNITS * u + 2 * root2 * _gamma(2, u))
    # the inner products: length B (the lows), Q (the highs) on the first axis, 2K+1 on each further one
    phi += root2 * (_gamma(B + 2, u) + _gamma(Q + 2, u) + (dim - 1) * _gamma(n + 2, u))
    if real:  # the folded coefficients c_k + conj(c_-k) are rounded once, in the working precision
        phi += u
    return phi / (1.0 - phi)


def direct_seconds(N, K, dim, m=1, *, real=False, extended=False):
    """Modelled seconds of the direct sums of :func:`certified_values` (one core), in double or extended precision."""
    n = 2 * K + 1
    first = K + 1 if real else n
    exps = N * (2 * np.sqrt(first) + 2 * (dim - 1) * np.sqrt(n)) * _EXP_NS
    term = _EXTENDED_TERM_NS if extended else _TERM_NS.get(dim, _TERM_NS_ND)
    return (exps + N * first * n ** (dim - 1) * m * term) * 1e-9


def extended_affordable(N, K, dim, m=1, *, real=False, seconds=0.0):
    """Whether :func:`certified_values` in extended precision fits its time budget: ``N M m <= EXACT_WORK`` for the
    direct sums, or the Taylor NUFFT's modelled time within :data:`EXACT_SECONDS` or `seconds`, the larger."""
    if N * (2 * K + 1) ** dim * m <= EXACT_WORK:
        return True
    return taylor_seconds(N, K, dim, m, real=real, extended=True)[0] <= max(EXACT_SECONDS, seconds)


def fast_path(N, K, dim, m=1, *, real=False, allowance=0.0):
    """The grid oversampling (1 or 2) of the Taylor NUFFT when :func:`certified_values` takes it in double
    precision (cheaper by the time models, its a-priori bound within ``_FAST_BOUND_RATIO`` of the direct sums' or
    within `allowance`, relative to ``sum_k |c_k|``), else None."""
    seconds, grow = taylor_seconds(N, K, dim, m, real=real)
    if not seconds < direct_seconds(N, K, dim, m, real=real):
        return None
    axes, R = taylor_plan(K, dim, real, grow)
    z = sum(a[3] * np.pi / a[4] for a in axes)
    bound = relative_bound(axes, R, z, [2.0**-50 * np.pi / a[4] for a in axes], real=real)
    return grow if bound <= max(_FAST_BOUND_RATIO * _relative_bound(K, dim, False, real), allowance) else None


def certified_values_memory(N, K, dim, m=1, *, extended=False):
    """Peak bytes of :func:`certified_values` at N points: the angle-addition factors of every axis, the padded
    coefficients and their transpose, the chunk's intermediates (the exponentials of the axes after the first and
    the partial sums: at most a few times ``_CHUNK_BYTES``) and the result."""
    item = 32 if extended else 16
    n = 2 * K + 1
    B = max(1, int(np.ceil(np.sqrt(n))))
    factors = N * dim * (2 * B + 3) * item
    return factors + 3 * (n + B) ** dim * m * item + 4 * _CHUNK_BYTES + 2 * N * m * item


def certified_values(coef, t, t_lo=None, *, extended=None, real=False, fast=None, tolerance=0.0):
    """``h_n = sum_k c_k e^{i k.(t_n + t_lo_n)}`` with exact phases, and a proven bound on the error of every value.

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*d`` (+ ``(m,)``)
    t : float ndarray, shape (N, d)
        Angles.
    t_lo : float ndarray, shape (N, d), optional
        Their low parts (:func:`fpnorm.lattice.exact_angles`).
    extended : bool, optional
        Sum in ``numpy.clongdouble``; default: when ``N M m <= EXACT_WORK``.
    real : bool
        Only ``Re h``, at half the cost: ``Re h = Re sum_{k_1 >= 0} d_k e^{i k.t}`` with ``d_k = c_k + conj(c_-k)``
        for ``k_1 > 0`` and ``d_k = c_k`` for ``k_1 = 0`` (an identity for any coefficients).
    fast : bool, optional
        The Taylor NUFFT (:func:`fpnorm.solvers.certify_fft.taylor_values`, its own proven bound) instead of the
        direct sums; default where it is cheaper (in double precision, :func:`fast_path`; in extended precision by
        the time models alone: both bounds are far below what a caller asks).
    tolerance : float
        An error of every value the caller accepts (absolute): the default `fast` also takes the Taylor NUFFT when
        its bound is within it.

    Returns
    -------
    values : complex ndarray, shape (N,) (+ ``(m,)``); clongdouble when `extended`; real with `real`
    error : float ndarray, shape (m,) or ()
        ``|values_n - h_n| <= error`` (``|values_n - Re h_n|`` with `real`) for every point of a column.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([0.5, 0.0, 0.5], dtype=complex)           # cos(t)
    >>> v, err = certified_values(c, np.array([[0.25], [2.0]]))
    >>> bool(np.all(np.abs(v - np.cos([0.25, 2.0])) <= 1e-15)), bool(err < 1e-16)
    (True, True)
    """
    N, dim = t.shape
    n, K, tail, flat, m = box_columns(coef, dim)
    if extended is None:
        extended = N * n**dim * m <= EXACT_WORK
    rho = np.sum(np.abs(flat.reshape(-1, m)), axis=0) * (1 + 4 * n**dim * 2.0**-53)   # rounded up
    if not extended:
        allowance = float(tolerance / np.max(rho)) if np.max(rho, initial=0.0) > 0 else 0.0
        grow = fast_path(N, K, dim, m, real=real, allowance=allowance) if fast is None else (1 if fast else None)
        if grow is not None:
            values, error = taylor_values(coef, t, t_lo, real=real, grow=grow)
            if values is not None:
                return values, error
    elif fast is not False:
        seconds, grow = taylor_seconds(N, K, dim, m, real=real, extended=True)
        if fast or seconds < direct_seconds(N, K, dim, m, real=real, extended=True):
            values, error = taylor_values(coef, t, t_lo, real=real, grow=grow, extended=True)
            if values is not None:
                return values, error
    cplx = np.clongdouble if extended else complex
    check_memory(certified_values_memory(N, K, dim, m, extended=extended), f"the certified sums at {N} points over "
                 f"{n ** dim} modes (d = {dim})", "Use a smaller `K` or fewer points.")
    error = _relative_bound(K, dim, extended, real) * rho
    axes = [axis_exponentials(t[:, j], K, t_lo=None if t_lo is None else t_lo[:, j], extended=extended,
                              half=real and j == 0) for j in range(dim)]
    B, Q = axes[0][2].shape[1], axes[0][1].shape[1]
    first = fold_half(flat, K, dim, cplx) if real else flat   # k_1 < 0 onto k_1 > 0 (-k, conjugated)
    if dim > 1:
        out = _sums_last_axis_first(first, axes, n, cplx)
    else:
        # padded to Q B entries: (Q, B, m) -> (B, Q m) for one matrix product with the lows
        padded = np.zeros((Q * B, m), dtype=cplx)
        padded[:first.shape[0]] = first
        right = np.ascontiguousarray(padded.reshape(Q, B, m).transpose(1, 0, 2).reshape(B, Q * m))
        out = np.empty((N, m), dtype=cplx)
        rows = max(1, int(_CHUNK_BYTES // (np.dtype(cplx).itemsize * Q * m)))
        for start in range(0, N, rows):
            sl = slice(start, min(N, start + rows))
            shift, high, low = (a[sl] for a in axes[0])
            part = (low @ right).reshape(-1, Q, m)
            out[sl] = np.einsum("iqz,iq->iz", part, high) * shift[:, None]
    if real:
        out = out.real
    return out.reshape((N,) + tail), error.reshape(tail)


def _sums_last_axis_first(first, axes, n, cplx):
    """The sums of :func:`certified_values` in d >= 2, (N, m), from the (folded) coefficients `first` and every
    axis's angle-addition factors `axes`: the last axis first, as one matrix product of its exponentials (N, n) with
    the coefficients, then the further axes down to the second point by point, then the first through its factors.

    Every term meets the same perturbations as in any other order of the axes (one inner product per axis, of length
    ``n``, and ``B`` and ``Q`` on the first; each axis's factors and their products), so the bound of
    :func:`_relative_bound` holds. The matrix product's inner dimension is ``n``, where contracting the first axis's
    lows first gives ``B``: measured on one core, 3400 points of the 3-d box K = 24 (real), 38 ms against 153 ms for
    that product, which the first-axis order also follows with a sum over ``Q B`` entries a point (1.1 s at 2e4
    points).
    """
    dim = len(axes)
    N = axes[0][0].shape[0]
    B, Q = axes[0][2].shape[1], axes[0][1].shape[1]
    m = first.shape[-1]
    padded = np.zeros((Q * B,) + first.shape[1:], dtype=cplx)
    padded[:first.shape[0]] = first
    # (n_d, Q B, n_2, ..., n_{d-1}, m): the last axis leads
    right = np.ascontiguousarray(np.moveaxis(padded, dim - 1, 0)).reshape(n, -1)
    out = np.empty((N, m), dtype=cplx)

    def chunk(sl):                  # the rows `sl` of `out`: chunks write disjoint rows and may run side by side
        r = sl.stop - sl.start
        acc = _full(*(a[sl] for a in axes[dim - 1]), n) @ right                 # (r, Q B n^(d-2) m)
        for j in range(dim - 2, 0, -1):
            acc = np.einsum("iyaz,ia->iyz", acc.reshape(r, -1, n, m), _full(*(a[sl] for a in axes[j]), n))
        shift, high, low = (a[sl] for a in axes[0])
        acc = np.einsum("iqbz,ib->iqz", acc.reshape(r, Q, B, m), low)
        out[sl] = np.einsum("iqz,iq->iz", acc, high) * shift[:, None]

    # one chunk a core at once (the products and einsums release the GIL), within the chunks' memory in all:
    # measured on two cores, 2-d N = 2e4, K = 128 and 3-d N = 2e4, K = 24 (real) at 0.55-0.6 of one core's time
    workers = cores()
    rows = max(1, int(_CHUNK_BYTES // (np.dtype(cplx).itemsize * max(right.shape[1], n) * workers)))
    map_threads(chunk, [slice(start, min(N, start + rows)) for start in range(0, N, rows)])
    return out


def _full(shift, high, low, n):
    """The exponentials of an axis, (rows, n), from its angle-addition factors (two products each)."""
    return (shift[:, None, None] * high[:, :, None] * low[:, None, :]).reshape(shift.shape[0], -1)[:, :n]


def certified_residual(coef, problem, target=None, *, extended=None, enough=0.0, affordable=None):
    """The relative residual ``max_n |Re h(x_n) - target_n| / max |rhs|`` at the points, certified.

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*d + (m,)``
    problem : Problem
    target : float ndarray, shape (N, m), optional
        The values ``h`` should take (default ``problem.rhs``; the smoothing fit's optimality condition has others).
    extended : bool, optional
        Sum in extended precision (True) or in double precision (False). By default in double precision first
        (BLAS, cheap), then again in extended precision when that interval is wider than :data:`EXACT_SHARE`, its
        upper end above `enough`, and the work `affordable`.
    enough : float
        A residual bound that needs no sharper figure (``rtol`` for a solve).
    affordable : bool, optional
        Whether the extended-precision sums may run; default :func:`extended_affordable`.

    Returns
    -------
    residual : float
        The upper end of the certified interval: never below the true residual.
    kind : str
        "exact" when the interval is within :data:`EXACT_SHARE` of its lower end, else "bound"
        (:data:`fpnorm.solvers.problem.RESIDUAL_KINDS`).
    lower : float
        The interval's lower end.
    """
    if extended is None:
        upper, lower = _interval(coef, problem, target, False, enough=enough)
        result = interval_kind(upper, lower)
        if affordable is None:
            m = coef.size // problem.M
            affordable = extended_affordable(problem.N, problem.K, problem.dim, m, real=True)
        if result[1] == RESIDUAL_KINDS[0] or not upper > enough or not affordable:
            return result
        extended = True
    upper, lower = _interval(coef, problem, target, extended)
    return interval_kind(upper, lower)


def _interval(coef, problem, target, extended, band=None, enough=0.0):
    """Upper and lower ends of the certified relative residual (of the band violation ``|r| - band`` with `band`);
    values within ``_ENOUGH_SHARE enough max |rhs|`` are accurate enough."""
    rhs = problem.rhs
    target = rhs if target is None else target
    if not np.isfinite(coef).all():
        return np.nan, np.nan
    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    values, error = certified_values(coef, problem.t, problem.t_lo, extended=extended, real=True,
                                     tolerance=_ENOUGH_SHARE * enough * scale)
    u = _unit(values.dtype == np.longdouble)
    diff = np.abs(values - target.astype(values.dtype))                              # (N, m), rounded by u
    hi = diff * (1 + 2 * u) + error
    lo = np.maximum(diff * (1 - 2 * u) - error, 0)
    if band is not None:
        hi, lo = np.maximum(hi - band, 0), np.maximum(lo - band, 0)
    return relative_interval(hi, lo, rhs)


def relative_interval(hi, lo, rhs):
    """``(max hi, max lo) / max |rhs|`` (absolute when `rhs` is zero), rounded outwards: upper and lower ends."""
    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    scale = scale if scale > 0 else 1.0
    # the conversion to float, the division and this product each round by at most 2^-53
    eps = 2.0**-52
    upper = float(np.max(hi)) / scale * (1 + 2 * eps) if np.size(hi) else 0.0
    lower = float(np.max(lo)) / scale * (1 - 2 * eps) if np.size(lo) else 0.0
    return upper, lower


def interval_kind(upper, lower):
    """The report of a certified interval: ``(upper, kind, lower)`` with kind "exact" when the interval is within
    :data:`EXACT_SHARE` of its lower end (or both ends are 0), else "bound"."""
    if not np.isfinite(upper):
        return upper, RESIDUAL_KINDS[1], lower
    exact = upper <= (1 + EXACT_SHARE) * lower or upper == 0.0
    return upper, RESIDUAL_KINDS[0] if exact else RESIDUAL_KINDS[1], lower


def band_violation(coef, problem, band, *, extended=None):
    """Certified largest violation of ``|h(x_n) - r_n| <= band_n`` relative to ``max |r|``: (upper, kind)."""
    upper, lower = _interval(coef, problem, None, extended, band=band)
    return interval_kind(upper, lower)[:2]


def sensitivity(coef, problem):
    """``sum_k |c_k| |k|_2 eps theta / max |rhs|``: how far the rounding of the points moves ``h``, relative.

    ``theta`` is ``problem.angle_scale`` (the largest ``|2 pi x / P|_2`` of the points as given), else the largest
    ``|t_n|_2``; ``eps`` is machine epsilon; the largest over columns.
    """
    dim, K = problem.dim, problem.K
    flat = np.abs(np.asarray(coef)).reshape((2 * K + 1,) * dim + (-1,))
    ks = np.arange(-K, K + 1, dtype=float) ** 2
    norm2 = sum(ks.reshape((1,) * j + (-1,) + (1,) * (dim - j)) for j in range(dim))
    weighted = np.sum((np.sqrt(norm2) * flat).reshape(-1, flat.shape[-1]), axis=0)
    theta = problem.angle_scale
    if theta is None:
        theta = float(np.max(np.linalg.norm(problem.t, axis=1))) if problem.N else 0.0
    rhs = problem.rhs
    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    return float(np.max(weighted, initial=0.0) * np.finfo(float).eps * theta / (scale if scale > 0 else 1.0))


def point_values(coef, x, period, *, tolerance=0.0, real=False):
    """``h(x) = sum_k c_k e^{2 pi i k.x / P}`` at wrapped points `x` (shape (Q, d)), complex, shape (Q,) (+ (m,)).

    Phases are formed exactly (:func:`fpnorm.lattice.exact_angles`). When finufft's error, about
    ``NUFFT_ERROR sum_k |c_k|``, is within `tolerance` (absolute), one type-2 NUFFT at its tightest tolerance plus
    the first-order step from the rounded angles to the points (:func:`fpnorm.solvers.problem.values_at_points`).
    Otherwise (large, cancelling coefficients) a direct sum, :func:`certified_values` (within its proven bound),
    rounded once to double -- unless it would exceed ``DIRECT_SUM_CAP`` terms, where the NUFFT is taken anyway.
    With `real` only ``Re h`` is wanted (the direct sum then costs half).
    """
    Q, dim = x.shape
    t, t_lo = exact_angles(x, period)
    work = Q * coef.size
    rho = float(np.max(np.sum(np.abs(coef).reshape(coef.shape[0] ** dim, -1), axis=0), initial=0.0))
    if NUFFT_ERROR * rho > tolerance and work <= DIRECT_SUM_CAP:
        return certified_values(coef, t, t_lo, real=real)[0].astype(float if real else complex)
    K = (coef.shape[0] - 1) // 2
    probe = Problem(t, np.zeros((Q, 0)), K, np.zeros((1,) * dim), t_lo=t_lo)
    return values_at_points(lambda c: transforms.evaluate(c, t, eps=1e-15), coef, probe)
