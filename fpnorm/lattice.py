"""The truncated index box ``|k|_inf <= K`` and its real (cos/sin) packing.

Coefficient arrays have shape ``(2K+1,)*d``; index ``j`` along an axis means ``k = j - K``. Flattened in C order,
the point ``-k`` sits at flat index ``M - 1 - f`` when ``k`` sits at ``f`` (``M = (2K+1)^d``), and ``k = 0`` at the
centre ``(M - 1) / 2``. The *half box* is the set of flat indices above the centre: one of each pair ``{k, -k}``.

Real functions are written in the real basis ``1, cos(2 pi k.x/P), sin(2 pi k.x/P)`` for ``k`` in the half box:
``h = a_0 + sum_k a_k cos + b_k sin`` with ``h^(k) = (a_k - i b_k)/2`` and ``h^(-k) = (a_k + i b_k)/2``. Real
coefficient vectors are stored as ``[a_0, a_1..a_H, b_1..b_H]`` (length ``M``, ``H = (M-1)/2``).
"""

import numpy as np

__all__ = ["box_shape", "box_size", "box_points", "half_points", "real_to_complex", "complex_to_real",
           "real_design", "torus_grid", "resize_box", "exact_angles", "exact_quotient", "TWO_PI_HI", "TWO_PI_LO",
           "axis_exponentials", "box_points_memory", "real_design_memory", "torus_grid_memory"]


def box_shape(K, dim):
    """Shape ``(2K+1,)*dim`` of a coefficient array."""
    return (2 * K + 1,) * dim


def box_size(K, dim):
    """Number of modes ``(2K+1)^dim``."""
    return (2 * K + 1) ** dim


def box_points_memory(K, dim):
    """Peak bytes of :func:`box_points`: the ``dim`` meshgrid axes, their stack and its int64 copy.

    The builders of this module allocate without checking (it sits on the lowest floor of the import graph): their
    callers check this estimate, :func:`real_design_memory` and :func:`torus_grid_memory` with
    :func:`fpnorm._internal.memory.check_memory`."""
    return 3 * 8 * dim * box_size(K, dim)


def box_points(K, dim):
    """All lattice points of the box in flat C order, int array of shape ``((2K+1)^dim, dim)``."""
    axes = np.meshgrid(*([np.arange(-K, K + 1)] * dim), indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=-1).astype(np.int64)


def half_points(K, dim):
    """Lattice points of the half box (flat indices above the centre), shape ``(H, dim)``."""
    return box_points(K, dim)[(box_size(K, dim) + 1) // 2:]


def resize_box(coef, K):
    """Coefficients ``(2K'+1,)*d`` on the box ``|k|_inf <= K``: zero-padded when ``K > K'``, cut when ``K < K'``.

    Examples
    --------
    >>> import numpy as np
    >>> resize_box(np.array([1.0, 2.0, 3.0]), 2).tolist(), resize_box(np.arange(5.0), 0).tolist()
    ([0.0, 1.0, 2.0, 3.0, 0.0], [2.0])
    """
    dim = coef.ndim
    K_in = (coef.shape[0] - 1) // 2
    if K_in == K:
        return coef
    out = np.zeros((2 * K + 1,) * dim, dtype=coef.dtype)
    common = min(K, K_in)
    src = tuple(slice(K_in - common, K_in + common + 1) for _ in range(dim))
    dst = tuple(slice(K - common, K + common + 1) for _ in range(dim))
    out[dst] = coef[src]
    return out


def real_to_complex(u, K, dim):
    """Complex box coefficients from real ``[a_0, a, b]`` vectors.

    Parameters
    ----------
    u : ndarray, shape (M,) or (M, m)
    Returns
    -------
    ndarray of complex, shape ``(2K+1,)*dim`` (+ ``(m,)``)
    """
    M = box_size(K, dim)
    H = (M - 1) // 2
    u = np.asarray(u)
    tail = u.shape[1:]
    c = np.empty((M,) + tail, dtype=complex)
    a0, a, b = u[0], u[1:H + 1], u[H + 1:]
    c[H] = a0
    c[H + 1:] = 0.5 * (a - 1j * b)
    c[:H] = (0.5 * (a + 1j * b))[::-1]
    return c.reshape(box_shape(K, dim) + tail)


def complex_to_real(c, K, dim):
    """Inverse of :func:`real_to_complex` for Hermitian coefficients (real functions).

    The anti-Hermitian part (the imaginary part of the function) is discarded; use it on ``c.real``-function
    coefficients only, or split a complex function into real and imaginary parts first.
    """
    M = box_size(K, dim)
    H = (M - 1) // 2
    c = np.asarray(c)
    tail = c.shape[dim:]
    flat = c.reshape((M,) + tail)
    pos, neg = flat[H + 1:], flat[:H][::-1]
    u = np.empty((M,) + tail, dtype=float)
    u[0] = flat[H].real
    u[1:H + 1] = (pos + neg).real
    u[H + 1:] = (1j * (pos - neg)).real
    return u


def real_design_memory(N, K, dim):
    """Peak bytes of :func:`real_design` (all columns): the ``N x M`` matrix, the complex products over the box
    (the last two axes' products live together) and the per-axis exponentials."""
    M = box_size(K, dim)
    if dim == 1:
        return 8 * N * M + 16 * N * (K + 3 * int(np.sqrt(K + 1)) + 3) * 2
    return 8 * N * M + 16 * N * (M + M // (2 * K + 1)) + 16 * N * dim * (4 * K + 4) + 16 * N * M // 2


def real_design(t, K, dim, cols=None, *, t_lo=None):
    """Real basis functions at points: the matrix ``[1, cos(k.t), sin(k.t)]``, with exactly formed phases.

    Parameters
    ----------
    t : ndarray, shape (N, dim)
        Angles ``2 pi x / P``.
    K : int
    dim : int
    cols : array_like of int, optional
        Columns to build (indices into the length-``M`` real basis ``[a_0, a_1..a_H, b_1..b_H]``); all by default.
        Only these columns are computed, so a few columns of a large box cost ``O(N K)``, not ``O(N M)``.
    t_lo : ndarray, shape (N, dim), optional
        Low parts of the angles (:func:`exact_angles`): the phases are then ``k.(t + t_lo)``, the user's points'.

    Returns
    -------
    ndarray, shape (N, M) or (N, len(cols))

    Notes
    -----
    Every entry is within a few units of rounding of ``cos(k.t_n)`` or ``sin(k.t_n)`` at the floating-point
    ``t_n`` (at ``t_n + t_lo_n`` when `t_lo` is given): the 1-d factors ``e^{i k t}`` come from :func:`_exp_1d`
    (phases formed without rounding), and a product of ``dim`` such factors adds ``dim`` roundings.

    Examples
    --------
    >>> import numpy as np
    >>> A = real_design(np.array([[0.5]]), 2, 1)            # [1, cos t, cos 2t, sin t, sin 2t]
    >>> bool(np.allclose(A, [[1, np.cos(0.5), np.cos(1.0), np.sin(0.5), np.sin(1.0)]]))
    True
    >>> bool(np.allclose(real_design(np.array([[0.5]]), 2, 1, cols=[3, 0]), A[:, [3, 0]], rtol=0, atol=1e-15))
    True
    """
    N = t.shape[0]
    M = box_size(K, dim)
    H = (M - 1) // 2
    if cols is not None:
        cols = np.asarray(cols, dtype=np.int64).reshape(-1)
        if cols.size and (cols.min() < 0 or cols.max() >= M):
            raise ValueError(f"Expected `cols` in [0, {M}) (the real basis of K = {K} in d = {dim}), got "
                             f"{cols[(cols < 0) | (cols >= M)][:5].tolist()}.")
        return _real_columns(t, K, dim, cols, t_lo)
    design = np.empty((N, M), dtype=float)
    design[:, 0] = 1.0
    if dim == 1:  # the half box is k = 1..K
        if K:
            e = _exp_1d(t[:, 0], K, _low(t_lo, 0))
            design[:, 1:H + 1] = e.real
            design[:, H + 1:] = e.imag
        return design
    pos = np.ones((N, dim, K + 1), dtype=complex)                          # k = 0..K along each axis
    for j in range(dim if K else 0):
        pos[:, j, 1:] = _exp_1d(t[:, j], K, _low(t_lo, j))
    e = np.concatenate([pos[:, :, :0:-1].conj(), pos], axis=2)            # k = -K..K
    full = e[:, 0, :]
    for j in range(1, dim):
        full = (full[:, :, None] * e[:, j, None, :]).reshape(N, -1)
    half = full[:, H + 1:]
    design[:, 1:H + 1] = half.real
    design[:, H + 1:] = half.imag
    return design


def _low(t_lo, j):
    """Axis `j` of the angles' low parts, or None."""
    return None if t_lo is None else t_lo[:, j]


def _real_columns(t, K, dim, cols, t_lo=None):
    """The columns `cols` of :func:`real_design`, each ``e^{i k.t}`` a product of exactly phased 1-d factors."""
    N = t.shape[0]
    H = (box_size(K, dim) - 1) // 2
    out = np.ones((N, cols.size))
    wave = cols > 0
    if not wave.any():
        return out
    ks = half_points(K, dim)[(cols[wave] - 1) % H]                         # (n, dim)
    e = np.ones((N, ks.shape[0]), dtype=complex)
    for j in range(dim):
        top = int(np.max(np.abs(ks[:, j])))
        if top == 0:
            continue
        axis = np.concatenate([np.ones((N, 1), dtype=complex), _exp_1d(t[:, j], top, _low(t_lo, j))],
                              axis=1)                                       # k = 0..top
        factor = axis[:, np.abs(ks[:, j])]
        e *= np.where(ks[:, j] < 0, factor.conj(), factor)
    out[:, wave] = np.where(cols[wave] <= H, e.real, e.imag)
    return out


def torus_grid_memory(n, dim):
    """Peak bytes of :func:`torus_grid`: the ``dim`` meshgrid axes and their stack."""
    return 2 * 8 * dim * n**dim


def torus_grid(n, dim, period, *, midpoints=False):
    """The regular grid of ``n^dim`` points on the torus ``[0, P)^dim``, in C order over the axes.

    Parameters
    ----------
    n : int
        Points per axis; point ``j`` of an axis is ``j P / n`` (``(j + 1/2) P / n`` with `midpoints`).
    dim : int
    period : float
    midpoints : bool
        Cell centres instead of cell corners.

    Returns
    -------
    ndarray, shape (n**dim, dim)
        Like ``meshgrid(..., indexing="ij")`` flattened, so ``values.reshape((n,)*dim)`` puts axis ``j`` first.

    Examples
    --------
    >>> torus_grid(2, 2, 1.0).tolist()
    [[0.0, 0.0], [0.0, 0.5], [0.5, 0.0], [0.5, 0.5]]
    """
    axis = (np.arange(n) + (0.5 if midpoints else 0.0)) * (period / n)
    axes = np.meshgrid(*([axis] * dim), indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=-1)


def exact_angles(x, period):
    """The angles ``2 pi x / P`` of points as unevaluated sums ``t + t_lo`` of two floats, exact to ~``2^-104``.

    ``t`` is ``2 pi x / P`` rounded (``|t_lo| <= ulp(t) / 2``). A phase ``k t`` formed from the rounded angle alone
    is off by ``|k t_lo|``, and a trigonometric sum by up to ``sum_k |k| |c_k| |t_lo|``: far more than rounding when
    the coefficients are large. :func:`real_design` and :func:`axis_exponentials` take ``t_lo`` and form the phases
    of the points themselves.

    Parameters
    ----------
    x : float ndarray, any shape
        Points, wrapped into ``[0, P)``.
    period : float

    Returns
    -------
    t, t_lo : float ndarrays of the shape of `x`

    Examples
    --------
    >>> t, t_lo = exact_angles(np.array([0.25]), 1.0)       # pi / 2 = t + t_lo
    >>> float(t[0]) == np.pi / 2, float(t_lo[0])
    (True, 6.123233995736766e-17)
    """
    q, q_lo = exact_quotient(x, period)
    hi, lo = _two_product(np.full_like(q, TWO_PI_HI), q)
    rest = lo + (TWO_PI_HI * q_lo + TWO_PI_LO * q)
    t = hi + rest
    t_lo = rest - (t - hi)                       # |hi| >= |rest|: the rounding error of t, exactly
    return t, t_lo


def exact_quotient(x, period):
    """``x / P`` as an unevaluated sum ``q + q_lo`` of two floats: ``q = fl(x / P)``, exact to ~``2^-104``.

    Examples
    --------
    >>> q, q_lo = exact_quotient(np.array([1.0]), 3.0)       # 1/3 - fl(1/3) = 2^-54 / 3
    >>> float(q[0]) == 1 / 3, float(q_lo[0]) == 2.0**-54 / 3
    (True, True)
    """
    x = np.asarray(x, dtype=float)
    P = float(period)
    exponent = int(np.frexp(P)[1])
    # scaled by 2^-exponent (exact), the remainder x - q P is formed without rounding
    xs, Ps = np.ldexp(x, -exponent), np.ldexp(P, -exponent)
    q = xs / Ps
    p, e = _two_product(q, np.full_like(q, Ps))
    return q, ((xs - p) - e) / Ps                # xs - p is exact (p is within two units of rounding of xs)


# 2 pi as the unevaluated sum of two floats (2 pi - TWO_PI_HI = 2.449e-16, rounded to 53 bits)
TWO_PI_HI = 6.283185307179586
TWO_PI_LO = 2.4492935982947064e-16


def _split(a):
    """Dekker's split: ``a = hi + lo`` with 26-bit halves, so products of halves are exact."""
    c = 134217729.0 * a                          # 2^27 + 1
    hi = c - (c - a)
    return hi, a - hi


def _two_product(a, b):
    """``a b = p + e`` exactly (Dekker), for arrays of finite floats far from overflow."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def axis_exponentials(t, K, *, t_lo=None, extended=False, half=False):
    """``e^{i k (t_n + t_lo_n)}`` for ``k = -K..K`` with exactly formed phases, as two angle-addition factors.

    With ``B = ceil(sqrt(2K + 1))`` and ``k + K = q B + r``: ``e^{i k t} = shift_n high[n, q] low[n, r]``,
    ``shift = e^{-i K t}`` (with `half`: ``k = 0..K``, ``B = ceil(sqrt(K + 1))``, ``k = q B + r``, ``shift = 1``).
    Evaluating a trigonometric sum through these factors is one matrix product of the ``(N, B)`` lows with the
    coefficients, then a sum over ``q``: no ``N x (2K+1)`` array.

    Parameters
    ----------
    t : float ndarray, shape (N,)
    K : int
    t_lo : float ndarray, shape (N,), optional
        Low parts of the angles (:func:`exact_angles`).
    extended : bool
        Compute in ``numpy.clongdouble`` (64-bit significands on x86; plain double where the platform has no
        wider type) instead of complex128.
    half : bool
        Only ``k = 0..K``.

    Returns
    -------
    shift : complex ndarray, shape (N,)
    high : complex ndarray, shape (N, Q)
    low : complex ndarray, shape (N, B)
        Each entry is within ``EXP_ERROR_UNITS`` units of rounding (of the working type) of its exact value.

    Examples
    --------
    >>> t = np.array([0.3, 2.0])
    >>> shift, high, low = axis_exponentials(t, 3)
    >>> B = low.shape[1]
    >>> e = (shift[:, None, None] * high[:, :, None] * low[:, None, :]).reshape(2, -1)[:, :7]
    >>> bool(np.allclose(e, np.exp(1j * t[:, None] * np.arange(-3, 4)), rtol=0, atol=1e-15))
    True
    """
    n = K + 1 if half else 2 * K + 1
    B = max(1, int(np.ceil(np.sqrt(n))))
    Q = -(-n // B)
    low = _phased(t, np.arange(B, dtype=float), t_lo, extended)
    high = _phased(t, B * np.arange(Q, dtype=float), t_lo, extended)
    shift = _phased(t, np.array([0.0 if half else -float(K)]), t_lo, extended)[:, 0]
    return shift, high, low


# Bound on the error of an entry of axis_exponentials, in units of rounding u of the working type. Assumed: libm's
# cos and sin are within LIBM_ULPS ulps (glibc documents at most 1-2 ulps in double and long double); an ulp of a
# value of modulus up to 1 is at most 2u. So each of the two exponentials of a phase (the exact big part, the small
# part) is within 2 sqrt(2) LIBM_ULPS u of its value, and their product adds sqrt(2) gamma_2 ~ 2 sqrt(2) u:
# 4 sqrt(2) 4 + 2 sqrt(2) = 25.5 (the rounded small phase adds < 1e-6 u; terms of order u^2 are left to the callers'
# (1 - phi) denominators).
LIBM_ULPS = 4
EXP_ERROR_UNITS = 26.0
# Largest small phase of _phased summed by Taylor polynomials instead of libm (the small phases are ~1e-5 and below
# for boxes up to K ~ 2^17 in 1-d).
_TAYLOR_PHASE = 2.0**-10
# Entries per block of rows in _phased.
_PHASE_BLOCK = 1 << 16


def _phased(t, mult, t_lo, extended):
    """``e^{i m (t + t_lo)}`` for integer multipliers ``mult`` (as floats, ``|m| < 2^20``), shape (N, len(mult)).

    ``t = hi + lo`` with ``hi`` on a grid so coarse that ``m hi`` is exact (libm reduces an exact argument
    correctly); ``m (lo + t_lo)`` is below ``~1e-6``, so its rounding is far below a unit of the result.
    """
    top = float(np.max(np.abs(t))) if t.size else 0.0
    most = float(np.max(np.abs(mult))) if mult.size else 0.0
    frac = 53 - int(most).bit_length() - max(0, int(np.frexp(top)[1]))
    hi = np.ldexp(np.round(np.ldexp(t, frac)), -frac)
    real = np.longdouble if extended else float
    lo = (t - hi).astype(real)                                   # exact
    if t_lo is not None:
        lo = lo + t_lo.astype(real)
    cplx = np.clongdouble if extended else complex
    out = np.empty((t.shape[0], mult.shape[0]), dtype=cplx)
    # by blocks of rows: the temporaries stay small and are reused (fresh pages cost more than the cos and sin here:
    # measured 3x faster at 1e5 points and 363 multipliers)
    rows = max(1, _PHASE_BLOCK // max(1, mult.shape[0]))
    for start in range(0, t.shape[0], rows):
        sl = slice(start, start + rows)
        big = (hi[sl, None] * mult).astype(real)                 # exact products
        small = lo[sl, None] * mult.astype(real)
        block = np.empty(big.shape, dtype=cplx)
        block.real, block.imag = np.cos(big), np.sin(big)
        part = np.empty(big.shape, dtype=cplx)
        if float(np.max(np.abs(small))) <= _TAYLOR_PHASE:
            # cos and sin of the small phase by their Taylor polynomials (several times faster than libm): the
            # terms left out, s^6/720 and s^7/5040, are below 2^-69 (a fortieth of a unit of long double rounding),
            # and the evaluation rounds within about 3 units, inside the LIBM_ULPS that EXP_ERROR_UNITS allows
            s2 = small * small
            part.real = 1.0 - 0.5 * s2 * (1.0 - s2 / 12.0)
            part.imag = small * (1.0 - s2 / 6.0 * (1.0 - s2 / 20.0))
        else:
            part.real, part.imag = np.cos(small), np.sin(small)
        np.multiply(block, part, out=out[sl])
    return out


def _exp_1d(t, K, t_lo=None):
    """``e^{i k t_n}`` for ``k = 1..K``, shape (N, K), by angle addition: ``k = qB + r`` with ``B ~ sqrt(K)``.

    Only ``N (B + K/B)`` phases are exponentiated (``2 N sqrt(K)`` instead of ``N K``; the elementwise products are
    far cheaper than ``cos``/``sin``). Each phase ``m t`` is formed without rounding: ``t = t_hi + t_lo`` with
    ``t_hi`` on a grid coarse enough that ``m t_hi`` is exact, and ``e^{i m t} = e^{i m t_hi} e^{i m t_lo}`` (the
    second factor is within ``~1e-7`` of 1). So every entry is within a few units of rounding of ``e^{i k t_n}`` at
    the floating-point ``t_n`` -- closer than ``cos(k * t_n)``, whose rounded phase is off by up to ``|k t_n| 2^-53``.
    With `t_lo` (:func:`exact_angles`) the angle is ``t_n + t_lo_n``: ``t_lo`` joins the small part.
    """
    B = max(1, int(np.ceil(np.sqrt(K + 1))))
    Q = -(-(K + 1) // B)
    top = float(np.max(np.abs(t))) if t.size else 0.0
    # fractional bits of t_hi so that (multiplier < 2^bits(Q B)) * t_hi fits in 53 bits
    frac = 53 - int(Q * B).bit_length() - max(0, int(np.frexp(top)[1]))
    hi = np.ldexp(np.round(np.ldexp(t, frac)), -frac)
    lo = t - hi                                                  # exact
    if t_lo is not None:  # |lo + t_lo| < 2^-frac: its rounding, times a multiplier < 2^bits, stays below u^2
        lo = lo + t_lo

    def expi(mult):
        x = lo[:, None] * mult
        if x.size and np.max(np.abs(x)) < 1e-6:  # e^{ix} = 1 + ix - x^2/2 to within |x|^3/6 < 2e-19
            small = (1.0 - 0.5 * x * x) + 1j * x
        else:
            small = np.exp(1j * x)
        return np.exp(1j * (hi[:, None] * mult)) * small

    low = expi(np.arange(B, dtype=float))                        # r = 0..B-1
    high = expi(B * np.arange(Q, dtype=float))                   # qB, q = 0..Q-1
    return (high[:, :, None] * low[:, None, :]).reshape(t.shape[0], Q * B)[:, 1:K + 1]
