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
           "real_design", "torus_grid", "resize_box"]


def box_shape(K, dim):
    """Shape ``(2K+1,)*dim`` of a coefficient array."""
    return (2 * K + 1,) * dim


def box_size(K, dim):
    """Number of modes ``(2K+1)^dim``."""
    return (2 * K + 1) ** dim


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


def real_design(t, K, dim, cols=None):
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

    Returns
    -------
    ndarray, shape (N, M) or (N, len(cols))

    Notes
    -----
    Every entry is within a few units of rounding of ``cos(k.t_n)`` or ``sin(k.t_n)`` at the floating-point
    ``t_n``: the 1-d factors ``e^{i k t}`` come from :func:`_exp_1d` (phases formed without rounding), and a
    product of ``dim`` such factors adds ``dim`` roundings.

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
        return _real_columns(t, K, dim, cols)
    design = np.empty((N, M), dtype=float)
    design[:, 0] = 1.0
    if dim == 1:  # the half box is k = 1..K
        if K:
            e = _exp_1d(t[:, 0], K)
            design[:, 1:H + 1] = e.real
            design[:, H + 1:] = e.imag
        return design
    pos = np.ones((N, dim, K + 1), dtype=complex)                          # k = 0..K along each axis
    for j in range(dim if K else 0):
        pos[:, j, 1:] = _exp_1d(t[:, j], K)
    e = np.concatenate([pos[:, :, :0:-1].conj(), pos], axis=2)            # k = -K..K
    full = e[:, 0, :]
    for j in range(1, dim):
        full = (full[:, :, None] * e[:, j, None, :]).reshape(N, -1)
    half = full[:, H + 1:]
    design[:, 1:H + 1] = half.real
    design[:, H + 1:] = half.imag
    return design


def _real_columns(t, K, dim, cols):
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
        axis = np.concatenate([np.ones((N, 1), dtype=complex), _exp_1d(t[:, j], top)], axis=1)  # k = 0..top
        factor = axis[:, np.abs(ks[:, j])]
        e *= np.where(ks[:, j] < 0, factor.conj(), factor)
    out[:, wave] = np.where(cols[wave] <= H, e.real, e.imag)
    return out


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


def _exp_1d(t, K):
    """``e^{i k t_n}`` for ``k = 1..K``, shape (N, K), by angle addition: ``k = qB + r`` with ``B ~ sqrt(K)``.

    Only ``N (B + K/B)`` phases are exponentiated (``2 N sqrt(K)`` instead of ``N K``; the elementwise products are
    far cheaper than ``cos``/``sin``). Each phase ``m t`` is formed without rounding: ``t = t_hi + t_lo`` with
    ``t_hi`` on a grid coarse enough that ``m t_hi`` is exact, and ``e^{i m t} = e^{i m t_hi} e^{i m t_lo}`` (the
    second factor is within ``~1e-7`` of 1). So every entry is within a few units of rounding of ``e^{i k t_n}`` at
    the floating-point ``t_n`` -- closer than ``cos(k * t_n)``, whose rounded phase is off by up to ``|k t_n| 2^-53``.
    """
    B = max(1, int(np.ceil(np.sqrt(K + 1))))
    Q = -(-(K + 1) // B)
    top = float(np.max(np.abs(t))) if t.size else 0.0
    # fractional bits of t_hi so that (multiplier < 2^bits(Q B)) * t_hi fits in 53 bits
    frac = 53 - int(Q * B).bit_length() - max(0, int(np.frexp(top)[1]))
    hi = np.ldexp(np.round(np.ldexp(t, frac)), -frac)
    lo = t - hi                                                  # exact

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
