"""Validation at the public edge: every check names the argument, what was expected and what was seen."""

import math
import numbers
import warnings

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..exceptions import TruncationWarning
from ..lattice import box_size

__all__ = ["check_int", "check_dim", "check_period", "as_points", "as_values", "merge_duplicates", "as_query",
           "check_real", "check_choice", "evaluate_function", "duplicate_tolerance", "as_coefficients",
           "check_h_ini", "warn_truncation", "TRUNCATION_FRACTION", "TRUNCATION_TOLERANCE"]

# Wrapping ``x`` onto the torus keeps no digit at all once ``|x| / period`` reaches this (float spacing ~ period).
_MAX_WRAP_RATIO = 2.0**52
# A truncated solve warns (TruncationWarning) when its estimated distance to the K = infinity solution,
# SolveInfo.truncation_error, exceeds this fraction of max |y - h_ini|: the truncated answer is then materially
# another function.
TRUNCATION_TOLERANCE = 0.1
# Without that estimate (solves with bounds), interpolating more than this fraction of the (2K+1)^d modes' worth of
# points warns instead: the nearly square truncated system aliases (measured: at N = 128, K = 64, d = 1 the risk of
# a smooth fit grows about 20x).
TRUNCATION_FRACTION = 0.5
# Points closer than this many units in the last place of ``max(period, max|x|)`` coincide (after wrapping).
_DUPLICATE_ULPS = 4.0


def check_int(value, name, *, minimum=None, allow_none=False):
    """An integer (not bool), optionally >= minimum."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            raise TypeError(f"Expected `{name}` to be an integer, got float {value!r}; pass {int(value)}.")
        raise TypeError(f"Expected `{name}` to be an integer{' or None' if allow_none else ''}, "
                        f"got {type(value).__name__} {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"Expected `{name}` >= {minimum}, got {value}.")
    return value


def check_real(value, name, *, minimum=None, maximum=None, strict_min=False, strict_max=False):
    """A finite real number within optional bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Expected `{name}` to be a real number, got {type(value).__name__} {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"Expected `{name}` to be finite, got {value}.")
    if minimum is not None and (value < minimum or (strict_min and value == minimum)):
        raise ValueError(f"Expected `{name}` {'>' if strict_min else '>='} {minimum}, got {value}.")
    if maximum is not None and (value > maximum or (strict_max and value == maximum)):
        raise ValueError(f"Expected `{name}` {'<' if strict_max else '<='} {maximum}, got {value}.")
    return value


def check_dim(dim):
    """The dimension ``d`` of a torus or a weight: a positive integer (not bool)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"Expected `dim` to be a positive integer, got {type(dim).__name__} {dim!r}.")
    if dim < 1:
        raise ValueError(f"Expected `dim` to be a positive integer, got {dim}.")
    return int(dim)


def check_choice(value, name, choices):
    """One of an enumerated set (kept in one module constant)."""
    if value not in choices:
        raise ValueError(f"Expected `{name}` to be one of {tuple(choices)}, got {value!r}.")
    return value


def check_period(period):
    return check_real(period, "period", minimum=0.0, strict_min=True)


def _as_array(x, name):
    """``np.asarray`` with ragged and mixed sequences turned into a clear ``ValueError``."""
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise ValueError(f"Expected `{name}` to be a rectangular array of numbers (rows of equal length), "
                         f"got a ragged or mixed sequence ({type(exc).__name__}: {exc}).") from None


def _as_float_array(x, name):
    arr = _as_array(x, name)
    if arr.dtype.kind == "b":
        raise TypeError(f"Expected `{name}` to hold real coordinates, got booleans (dtype bool).")
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"Expected `{name}` to be a real numeric array, got dtype {arr.dtype}.")
    return arr.astype(float)


def _check_wrappable(arr, period, name):
    big = np.abs(arr).max() if arr.size else 0.0
    if big >= _MAX_WRAP_RATIO * period:
        raise ValueError(f"Expected `{name}` within about 2^52 periods of the origin (|x| < "
                         f"{_MAX_WRAP_RATIO * period:.3g} "
                         f"for period {period}), got |x| = {big:.3g}: wrapping it onto the torus keeps no digits.")
    return float(big)


def duplicate_tolerance(max_abs, period):
    """Distance (max-norm, after wrapping) below which two points are the same point of the torus.

    Wrapping ``x`` onto ``[0, period)`` is exact up to rounding of order ``eps * max(period, |x|)``; points that
    differ by a few such units (e.g. ``0.1`` and ``1.1`` for period 1) are one point.
    """
    return _DUPLICATE_ULPS * np.finfo(float).eps * max(float(period), float(max_abs))


def as_points(points, dim, period, name="points", *, return_scale=False):
    """Points as a new float array of shape (N, dim), wrapped into [0, period)^dim.

    ``(N,)`` is accepted when ``dim == 1``. NaN/inf and wrong shapes raise ``ValueError``; booleans, strings,
    complex and object arrays raise ``TypeError``. With ``return_scale`` also returns ``max |x|`` of the input
    (for :func:`duplicate_tolerance`).
    """
    arr = _as_float_array(points, name)
    if arr.ndim == 1 and dim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != dim:
        expect = f"(N, {dim})" + (" or (N,)" if dim == 1 else "")
        raise ValueError(f"Expected `{name}` to have shape {expect} to match the weight's dim={dim}, "
                         f"got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"Expected `{name}` to hold at least one point, got 0.")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ValueError(f"Expected `{name}` to be finite; got NaN or inf at row(s) "
                         f"{np.flatnonzero(bad)[:10].tolist()}.")
    big = _check_wrappable(arr, period, name)
    wrapped = np.mod(arr, period)
    wrapped[wrapped >= period] = 0.0  # mod can round up to period itself
    return (wrapped, big) if return_scale else wrapped


def as_query(query, dim, period):
    """Query points for evaluation: like :func:`as_points` but empty sets are allowed."""
    arr = _as_float_array(query, "query")
    if arr.ndim == 1 and dim == 1:
        arr = arr[:, None]
    if arr.ndim == 0 or (arr.ndim == 1 and dim != 1):
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        expect = f"(Q, {dim})" + (" or (Q,)" if dim == 1 else "")
        raise ValueError(f"Expected `query` to have shape {expect}, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError("Expected `query` to be finite; got NaN or inf.")
    _check_wrappable(arr, period, "query")
    wrapped = np.mod(arr, period)
    wrapped[wrapped >= period] = 0.0  # mod can round up to period itself
    return wrapped


def as_values(values, N, name="values"):
    """Values as a new array of shape (N,) or (N, m), float or complex, finite (booleans count as 0/1)."""
    arr = _as_array(values, name)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"Expected `{name}` to be a numeric array, got dtype {arr.dtype}.")
    arr = arr.astype(complex if arr.dtype.kind == "c" else float)
    if arr.ndim not in (1, 2):
        raise ValueError(f"Expected `{name}` to have shape ({N},) or ({N}, m), got shape {arr.shape}.")
    if arr.shape[0] != N:
        raise ValueError(f"Expected `{name}` to have {N} rows (one per point), got {arr.shape[0]}.")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"Expected `{name}` to have at least one column, got shape {arr.shape}.")
    bad = ~np.isfinite(arr.reshape(N, -1)).all(axis=1)
    if bad.any():
        raise ValueError(f"Expected `{name}` to be finite; got NaN or inf at row(s) "
                         f"{np.flatnonzero(bad)[:10].tolist()}.")
    big = float(np.max(np.abs(arr))) if arr.size else 0.0
    if 0.0 < big < np.finfo(float).tiny:
        raise ValueError(f"Expected `{name}` of normal floating-point size, got max |{name}| = {big:.3g} (subnormal, "
                         f"below {np.finfo(float).tiny:.3g}): no interpolant keeps relative accuracy there. Scale the "
                         f"data up (the interpolant is linear in it).")
    return arr


def merge_duplicates(points, values, *, period=None, tol=0.0):
    """Merge repeated points (after wrapping). Equal values merge; different values raise naming the indices.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Wrapped points in ``[0, period)^d``.
    values : ndarray, shape (N,) or (N, m)
    period : float, optional
        With ``tol > 0``: the torus period, so that points near ``0`` and near ``period`` can coincide.
    tol : float
        Max-norm distance on the torus at or below which points coincide (0: exact equality only).

    Returns
    -------
    points, values, keep : the merged arrays and the indices (into the input) that were kept (the first of each
    group of coincident points).
    """
    N = len(points)
    if tol > 0 and N > 1:
        # fast exit: if no two first coordinates are within `tol` on the circle, no two points are (max-norm)
        first_axis = np.sort(points[:, 0])
        if np.min(np.diff(first_axis), initial=np.inf) > tol and first_axis[0] + period - first_axis[-1] > tol:
            return points, values, np.arange(N)
        tree = cKDTree(points, boxsize=period)
        pairs = tree.query_pairs(tol, p=np.inf, output_type="ndarray")
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(N, N))
        _, inverse = connected_components(graph, directed=False)
        _, first = np.unique(inverse, return_index=True)  # labels are 0..groups-1
    else:
        _, first, inverse = np.unique(points, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    if len(first) == N:
        return points, values, np.arange(N)
    flat = values.reshape(N, -1)
    for group in np.flatnonzero(np.bincount(inverse) > 1):
        idx = np.flatnonzero(inverse == group)
        ref = flat[idx[0]]
        scale = max(np.max(np.abs(ref)), 1.0)
        if np.any(np.abs(flat[idx] - ref) > 1e-12 * scale):
            raise ValueError(f"Expected one value per point: points at indices {idx.tolist()} coincide (on the "
                             f"torus) but their `values` differ.")
    keep = np.sort(first)
    return points[keep], values[keep], keep


def evaluate_function(fn, x, name, expected_len, dim):
    """Call a torus function (``(Q, d)`` -> ``(Q,)``, or ``(Q,)`` -> ``(Q,)`` in 1-d) and check its output."""
    arg = (x[:, 0] if dim == 1 else x).copy()  # a user function may write into its argument: never into our points
    try:
        out = fn(arg)
    except Exception as exc:
        raise ValueError(f"Calling `{name}` on points of shape {arg.shape} failed: {type(exc).__name__}: "
                         f"{exc}") from exc
    out = np.asarray(out)
    if out.dtype == object or out.dtype.kind not in "biufc":
        raise TypeError(f"Expected `{name}` to return numbers, got dtype {out.dtype}.")
    if out.shape != (expected_len,):
        if out.shape == (expected_len, 1):
            out = out[:, 0]
        else:
            raise ValueError(f"Expected `{name}` to return shape ({expected_len},) for {expected_len} points, "
                             f"got {out.shape}.")
    if not np.isfinite(out).all():
        raise ValueError(f"Expected `{name}` to return finite values; got NaN or inf.")
    return out


def as_coefficients(coef, dim, name, *, accepted="a callable or a coefficient array"):
    """Fourier coefficients on a box: a finite numeric array of shape ``(2K+1,)*dim`` (odd, equal sides), as complex.

    Parameters
    ----------
    coef : array_like
    dim : int
    name : str
        The argument's name, for messages.
    accepted : str
        What the argument may be, for the message when it is not numeric.
    """
    arr = np.asarray(coef)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"Expected `{name}` to be {accepted}, got dtype {arr.dtype}.")
    n = arr.shape[0] if arr.ndim else 0
    if arr.ndim != dim or n % 2 == 0 or any(s != n for s in arr.shape):
        raise ValueError(f"Expected `{name}` coefficients of shape (2K'+1,)*{dim} (odd, equal sides), "
                         f"got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"Expected `{name}` coefficients to be finite; got NaN or inf.")
    return arr.astype(complex)


def check_h_ini(h_ini, dim):
    """Validate an initial function: None, a callable on the torus, or a coefficient array ``(2K'+1,)*dim``.

    Returns
    -------
    h_ini : None, callable or complex ndarray
    is_real : bool
        True when a coefficient array is Hermitian (a real function); True for None and callables.
    """
    if h_ini is None or callable(h_ini):
        return h_ini, True
    arr = as_coefficients(h_ini, dim, "h_ini", accepted="None, a callable or a coefficient array")
    mirror = np.conj(arr[(slice(None, None, -1),) * dim])
    is_real = bool(np.allclose(arr, mirror, rtol=0.0, atol=1e-14 * max(np.abs(arr).max(), 1e-300)))
    return arr, is_real


def warn_truncation(N, K, dim, subject, *, error=math.nan, scale=0.0, stacklevel=3):
    """Warn (:class:`~fpnorm.exceptions.TruncationWarning`) when a truncated solve is far from its K = inf limit.

    With an estimate `error` of ``max |h_K - h_inf|`` (``SolveInfo.truncation_error``): when it exceeds
    ``TRUNCATION_TOLERANCE * scale`` (``scale = max |y - h_ini|``); an infinite estimate (a weight with no K = inf
    limit) is left to the warning about the weight. Without one (nan): when ``N > TRUNCATION_FRACTION (2K+1)^dim``.
    `subject` names the count ``N`` in the message (e.g. ``"max(`Ms`)"``); the advice is the smallest ``K`` whose box
    is large enough. `stacklevel` is counted from this function (3: the caller of the function that calls it).
    """
    M = box_size(K, dim)
    need = max(K + 1, int(math.ceil(((N / TRUNCATION_FRACTION) ** (1.0 / dim) - 1) / 2)) - 1)
    while N > TRUNCATION_FRACTION * box_size(need, dim):
        need += 1
    part = "half" if TRUNCATION_FRACTION == 0.5 else f"{TRUNCATION_FRACTION:g} times"
    crowded = N > TRUNCATION_FRACTION * M
    if not math.isnan(error):
        if math.isinf(error) or not error > TRUNCATION_TOLERANCE * scale:
            return
        advice = (f" ({subject} = {N} is more than {part} the (2K+1)^d = {M} modes: use K >= {need})" if crowded
                  else "")
        warnings.warn(f"The truncated solution (K = {K}, d = {dim}) is estimated to be {error:.2g} away from the K = "
                      f"inf one (info.truncation_error, an estimate of max |h_K - h_inf|): {error / scale:.2g} times "
                      f"max |y - h_ini| = {scale:.2g}, above TRUNCATION_TOLERANCE = {TRUNCATION_TOLERANCE:g}. Raise "
                      f"K{advice}.", TruncationWarning, stacklevel=stacklevel)
        return
    if not crowded:
        return
    warnings.warn(f"{subject} = {N} is more than {part} the (2K+1)^d = {M} modes (K = {K}, d = {dim}): the truncated "
                  f"interpolant is then far from the K = inf minimiser (it aliases, and its error can grow with the "
                  f"number of points). Use K >= {need}.", TruncationWarning, stacklevel=stacklevel)
