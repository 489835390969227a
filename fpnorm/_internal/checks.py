"""Validation at the public edge: every check names the argument, what was expected and what was seen."""

import math
import numbers
import re
import warnings

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..exceptions import TruncationWarning
from ..lattice import box_size

__all__ = ["check_int", "check_dim", "check_period", "as_times", "as_points", "as_values", "merge_duplicates",
           "as_query", "check_real", "check_choice", "evaluate_function", "duplicate_tolerance", "as_coefficients",
           "check_h_ini", "warn_truncation", "parse_number", "parse_int", "TRUNCATION_FRACTION",
           "TRUNCATION_TOLERANCE", "NUMBER_GRAMMAR", "TORUS_THEOREM", "points_memory", "query_memory", "h_ini_memory"]

# Coordinates are accepted within this many periods of the origin. Below it the float spacing at x is at most
# eps |x| < 2^-12 P, so a coordinate keeps at least 12 bits (3.6 digits) of its position on the torus; beyond it the
# reduction x mod P is still exact, but the double x itself pins the point down no better than that.
_MAX_WRAP_RATIO = 2.0**40
# A truncated solve warns (TruncationWarning) when its estimated distance to the K = infinity solution,
# SolveInfo.truncation_error, exceeds this fraction of max |y - h_ini|: the truncated answer is then materially
# another function.
TRUNCATION_TOLERANCE = 0.1
# Without that estimate (solves with bounds), interpolating more than this fraction of the (2K+1)^d modes' worth of
# points warns instead: the nearly square truncated system aliases (measured: at N = 128, K = 64, d = 1 the risk of
# a smooth fit grows about 20x).
TRUNCATION_FRACTION = 0.5
# Why the bound functions refuse period=None (check_period's `reason`).
TORUS_THEOREM = "the generalization bound is a theorem on the torus [0, P)^d, where the points are drawn uniformly"
# Two points coincide when their wrapped coordinates are within this many eps of max(P, |x_i|_inf, |x_j|_inf): the
# rounding of their own inputs and of the wrapping adds up to at most 2.5 eps of it (duplicate_tolerance).
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


def as_times(t):
    """Validated times: a float array of shape (T,) (each >= 0, ``numpy.inf`` allowed) and whether `t` was a scalar."""
    if isinstance(t, bool):
        raise TypeError(f"Expected `t` to be a real number or an array of them, got bool {t!r}.")
    arr = np.asarray(t)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"Expected `t` to be a real number or an array of them, got dtype {arr.dtype}.")
    if arr.ndim > 1:
        raise ValueError(f"Expected `t` to be a scalar or a 1-d array of times, got shape {arr.shape}.")
    arr = arr.astype(float)
    if np.isnan(arr).any():
        raise ValueError("Expected `t` to be times >= 0 (numpy.inf allowed), got NaN.")
    if (arr < 0).any():
        raise ValueError(f"Expected `t` >= 0 (numpy.inf allowed), got {float(arr[arr < 0].flat[0])}.")
    return arr.reshape(-1), arr.ndim == 0


def check_period(period, *, allow_none=False, reason=None):
    """A positive period; None (the whole space ``R^d``) only where `allow_none`, else a ``ValueError`` saying where
    it is supported and, with `reason`, why not here."""
    if period is None:
        if allow_none:
            return None
        why = reason or "this function works on the torus [0, P)^d"
        raise ValueError(f"Expected `period` to be a positive number, got None: {why}. The whole space (period=None) "
                         f"is supported by FPInterpolator(..., K=None) only.")
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
    """Refuse coordinates ``|x| >= 2^40 P`` (rows of `arr`), naming the first such row and the precision it keeps."""
    scale = np.max(np.abs(arr), axis=1) if arr.size else np.zeros(arr.shape[0])
    far = np.flatnonzero(scale >= _MAX_WRAP_RATIO * period)
    if far.size:
        big = float(scale[far[0]])
        spacing = float(np.spacing(big))
        kept = (f"only {math.log2(period / spacing):.0f} bits ({math.log10(period / spacing):.1f} digits)"
                if spacing < period else "not a single bit")
        raise ValueError(f"Expected `{name}` within 2^40 periods of the origin (|x| < {_MAX_WRAP_RATIO * period:.4g} "
                         f"for period {period:g}), got |x| = {big:.4g} at row {int(far[0])}: the float spacing there "
                         f"is {spacing:.3g} ({spacing / period:.2g} of the period), so the point keeps {kept} of its "
                         f"position on the torus. Pass coordinates reduced modulo the period, computed where they are "
                         f"still known to full precision.")


def duplicate_tolerance(scale, period):
    """Per-coordinate distance on the circle within which two points' wrapped coordinates are the same.

    Parameters
    ----------
    scale : ndarray, shape (N, d)
        ``|x_ic|``: each coordinate of each point's own input, before wrapping (as returned by :func:`as_points`).
    period : float

    Returns
    -------
    ndarray, shape (N, d)
        ``tol_ic = 4 eps max(P, |x_ic|)``. Points ``i`` and ``j`` coincide when in every axis ``c`` their wrapped
        coordinates are within ``max(tol_ic, tol_jc)`` of each other on the circle (:func:`merge_duplicates`).

    Notes
    -----
    A double ``x`` stands for its real value up to half its spacing, ``<= eps |x| / 2``. Reducing it modulo ``P``
    is exact (``fmod``); moving a negative remainder into ``[0, P)`` rounds by at most ``eps P / 2``, and so does the
    distance of two reduced coordinates on the circle. Two inputs that round the same real coordinate (``0.1`` and
    ``1.1`` for ``P = 1``; ``-0.25`` and ``0.75``) therefore differ after wrapping by at most
    ``2.5 eps max(P, |x_ic|, |x_jc|)``; the tolerance ``4 eps`` of it (4 to 8 units in the last place) covers that
    with a margin. It depends on the two points' own inputs only, never on the largest ``|x|`` of the set.
    """
    return _DUPLICATE_ULPS * np.finfo(float).eps * np.maximum(float(period), np.asarray(scale, dtype=float))


def points_memory(N, dim):
    """Peak bytes of checking N points in d = `dim` (:func:`as_points` with its float copy,
    :func:`duplicate_tolerance`, :func:`merge_duplicates` with complex values): measured 132 bytes a point in 1-d,
    195 in 3-d. The checks here allocate without checking (this module sits low in the import graph): callers check
    this estimate, :func:`query_memory` and :func:`h_ini_memory` with :func:`fpnorm._internal.memory.check_memory`."""
    return N * (136 + 48 * dim)


def query_memory(Q, dim):
    """Peak bytes of :func:`as_query` for Q points in d = `dim`: the float copy, the magnitudes of the wrapping check
    and the wrapped copy (the second freed before the third is made), and two boolean masks."""
    return Q * (24 * dim + 2)




def as_points(points, dim, period, name="points", *, return_scale=False):
    """Points as a new float array of shape (N, dim), wrapped into [0, period)^dim (as given when `period` is None).

    ``(N,)`` is accepted when ``dim == 1``. NaN/inf, wrong shapes and coordinates ``|x| >= 2^40 period`` (too far
    out for the double to place the point on the torus) raise ``ValueError``; booleans, strings, complex and object
    arrays raise ``TypeError``. With ``return_scale`` also returns ``|x|`` of the input before wrapping, shape
    (N, dim) (for :func:`duplicate_tolerance`).
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
    if period is None:   # the whole space: the points as given
        return (arr.copy(), np.abs(arr)) if return_scale else arr.copy()
    _check_wrappable(arr, period, name)
    wrapped = np.mod(arr, period)
    wrapped[wrapped >= period] = 0.0  # mod can round up to period itself
    return (wrapped, np.abs(arr)) if return_scale else wrapped


def as_query(query, dim, period):
    """Query points for evaluation: like :func:`as_points` but empty sets are allowed.

    The ``2^40`` periods rule holds for queries too: a value returned for a query that far out would be ``h`` at a
    point the double pins down to 12 bits or fewer of the period, and an array of values has no room to say so.
    """
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
    if period is None:   # the whole space: the points as given
        return arr.copy()
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
    tol : float or ndarray of shape (N, d)
        Per-coordinate tolerances (:func:`duplicate_tolerance`): points ``i`` and ``j`` coincide when in every axis
        ``c`` their distance on the circle is at most ``max(tol_ic, tol_jc)`` (0: exact equality only).

    Returns
    -------
    points, values, keep : the merged arrays and the indices (into the input) that were kept (the first of each
    group of coincident points).
    """
    N = len(points)
    tol = np.broadcast_to(np.asarray(tol, dtype=float), points.shape)
    if N > 1 and tol.max() > 0:
        # fast exit on the first axis: every gap between neighbours on the circle exceeds the larger tolerance of its
        # two ends, and each arc between two points starts and ends with such a gap, so no pair coincides
        order = np.argsort(points[:, 0], kind="stable")
        first, t = points[order, 0], tol[order, 0]
        if (np.all(np.diff(first) > np.maximum(t[:-1], t[1:]))
                and first[0] + period - first[-1] > max(t[0], t[-1])):
            return points, values, np.arange(N)
        # candidates: pairs within max(reach_i, reach_j) in the max-norm, reach_i = max_c tol_ic; the pairs within
        # the smallest reach come from one query, the others from a ball query around the point with the wider reach
        reach = tol.max(axis=1)
        tree = cKDTree(points, boxsize=period)
        pairs = [tree.query_pairs(reach.min(), p=np.inf, output_type="ndarray")]
        wider = np.flatnonzero(reach > reach.min())
        if wider.size:
            near = tree.query_ball_point(points[wider], reach[wider], p=np.inf)
            pairs.append(np.column_stack([np.repeat(wider, [len(n) for n in near]), np.concatenate(near)]))
        pairs = np.concatenate(pairs).reshape(-1, 2).astype(np.intp)
        gap = np.abs(points[pairs[:, 0]] - points[pairs[:, 1]])
        gap = np.minimum(gap, period - gap)
        pairs = pairs[np.all(gap <= np.maximum(tol[pairs[:, 0]], tol[pairs[:, 1]]), axis=1)]
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(N, N))
        _, inverse = connected_components(graph, directed=False)
        _, first = np.unique(inverse, return_index=True)  # labels are 0..groups-1
    else:
        _, first, inverse = np.unique(points, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    if len(first) == N:
        return points, values, np.arange(N)
    flat = values.reshape(N, -1)
    ref = flat[first[inverse]]   # each point's group's first value
    scale = np.maximum(np.max(np.abs(ref), axis=1), 1.0)
    differ = np.flatnonzero(np.any(np.abs(flat - ref) > 1e-12 * scale[:, None], axis=1))
    if differ.size:
        idx = np.flatnonzero(inverse == inverse[differ[0]])
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


def h_ini_memory(size):
    """Peak bytes of :func:`check_h_ini` for a coefficient array of `size` entries: its complex copy, the mirrored
    conjugate and the temporaries of the Hermitian test (measured 56 bytes an entry)."""
    return 64 * size


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
        warnings.warn(f"The truncated solution (K = {K}, d = {dim}) is {error:.2g} away from the K = inf one "
                      f"(info.truncation_error: max |h_K - h_inf|, estimated; measured in 1-d for PowerLaw p = 2, 4, "
                      f"LFP and Sobolev s = 1): {error / scale:.2g} times "
                      f"max |y - h_ini| = {scale:.2g}, above TRUNCATION_TOLERANCE = {TRUNCATION_TOLERANCE:g}. Raise "
                      f"K{advice}.", TruncationWarning, stacklevel=stacklevel)
        return
    if not crowded:
        return
    warnings.warn(f"{subject} = {N} is more than {part} the (2K+1)^d = {M} modes (K = {K}, d = {dim}): the truncated "
                  f"interpolant is then far from the K = inf minimiser (it aliases, and its error can grow with the "
                  f"number of points). Use K >= {need}.", TruncationWarning, stacklevel=stacklevel)


# The grammar of a number in a user's text (data files, command-line options, weight specs): an optional sign, ASCII
# digits with an optional decimal point, an optional exponent. Python's float() also takes "0_45", "١٢", " nan" and
# "infinity"; a cell "0_45" would silently become 45.0. re.ASCII keeps \d to 0-9.
NUMBER_GRAMMAR = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(NUMBER_GRAMMAR, re.ASCII)
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.ASCII | re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d{1,4000}", re.ASCII)


def parse_number(text, name, *, nonfinite=False):
    """The float written in `text` by :data:`NUMBER_GRAMMAR` (surrounding blanks allowed).

    `nonfinite` also accepts ``nan``, ``inf`` and ``infinity`` (any case, signed). A decimal beyond the float range
    (``1e999``) gives ``+-inf`` like ``float``; callers that need finite numbers check.

    Raises
    ------
    ValueError
        "Expected `name` to be a decimal number (...), got '...'."

    Examples
    --------
    >>> from fpnorm._internal.checks import parse_number
    >>> parse_number(" -1.5e3 ", "x")
    -1500.0
    >>> try:
    ...     parse_number("0_45", "x")
    ... except ValueError as exc:
    ...     print(str(exc)[-19:])
    words), got '0_45'.
    """
    if isinstance(text, str):
        stripped = text.strip()
        if _NUMBER.fullmatch(stripped) or (nonfinite and _NONFINITE.fullmatch(stripped)):
            return float(stripped)
    words = "; no underscores or hex" if nonfinite else "; no underscores, hex or words"
    raise ValueError(f"Expected `{name}` to be a decimal number (digits, an optional point and exponent{words}), got "
                     f"{_shown(text)}.")


def parse_int(text, name):
    """The integer written in `text`: an optional sign and at most 4000 ASCII digits (blanks around allowed).

    Raises
    ------
    ValueError
        "Expected `name` to be an integer (...), got '...'."

    Examples
    --------
    >>> from fpnorm._internal.checks import parse_int
    >>> parse_int(" -12 ", "n")
    -12
    """
    if isinstance(text, str) and _INTEGER.fullmatch(text.strip()):
        return int(text.strip())
    raise ValueError(f"Expected `{name}` to be an integer (an optional sign and at most 4000 digits 0-9), got "
                     f"{_shown(text)}.")


def _shown(text):
    text = repr(text)
    return text if len(text) <= 42 else f"{text[:40]}... ({len(text)} characters)"
