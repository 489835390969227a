"""The one place that calls finufft: trigonometric sums between points and the coefficient box.

All functions take angles ``t = 2 pi x / P`` of shape (N, d) in ``[0, 2 pi)`` (differences in ``(-2 pi, 2 pi)``)
and coefficient arrays of shape ``(2K+1,)*d`` with ``k = j - K``.

- :func:`evaluate`  (type 2): ``f_i = sum_k c_k e^{+i k.t_i}``
- :func:`adjoint`   (type 1): ``c_k = sum_i w_i e^{-i k.t_i}``
- :func:`kernel_matrix`: ``G_ij = kappa(t_i - t_j)``, ``kappa(z) = sum_k g_k e^{i k.z}`` for an even real ``g``.

Each picks finufft (``d <= 3``) or an exact direct sum (tiny sizes, ``d > 3``, and tests via ``backend="direct"``).
finufft's tolerance ``eps`` is relative to ``sum |c_k|`` (type 2) or ``sum |w_i|`` (type 1).
"""

import numpy as np

from ._memory import check_memory

__all__ = ["evaluate", "evaluate_grid", "adjoint", "kernel_matrix", "grid_coefficients", "BACKENDS", "DEFAULT_EPS"]

BACKENDS = ("auto", "finufft", "direct")
DEFAULT_EPS = 1e-14
# Direct sums cost N * M complex exponentials; below this they beat finufft's set-up.
_DIRECT_WORK = 2e5
# Rows per chunk of a direct sum, sized so a chunk's exponentials stay near 64 MiB.
_CHUNK_BYTES = 64 * 2**20


def _finufft():
    import finufft

    return finufft


def _choose(backend, dim, work):
    if backend not in BACKENDS:
        raise ValueError(f"Expected `backend` to be one of {BACKENDS}, got {backend!r}.")
    if backend == "auto":
        return "direct" if (dim > 3 or work <= _DIRECT_WORK) else "finufft"
    if backend == "finufft" and dim > 3:
        raise ValueError(f"finufft supports d <= 3; got d = {dim}. Use backend='direct'.")
    return backend


def _exp_rows(t, K):
    """Complex exponentials e^{i k.t} over the whole box for a chunk of points; shape (n, M)."""
    n, dim = t.shape
    e = np.exp(1j * t[:, :, None] * np.arange(-K, K + 1)[None, None, :])
    full = e[:, 0, :]
    for j in range(1, dim):
        full = (full[:, :, None] * e[:, j, None, :]).reshape(n, -1)
    return full


def _chunks(N, M):
    rows = max(1, int(_CHUNK_BYTES // (16 * max(M, 1))))
    for start in range(0, N, rows):
        yield slice(start, min(N, start + rows))


def _nufft_eps(eps):
    return max(float(eps), 1e-15)


def evaluate(coef, t, *, eps=DEFAULT_EPS, backend="auto"):
    """Type-2 sum ``f_i = sum_k c_k e^{i k.t_i}``.

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*d`` or ``(2K+1,)*d + (m,)``
    t : float ndarray, shape (N, d)

    Returns
    -------
    complex ndarray, shape (N,) or (N, m)
    """
    N, dim = t.shape
    K = (coef.shape[0] - 1) // 2
    M = (2 * K + 1) ** dim
    extra = coef.shape[dim:]
    flat = np.ascontiguousarray(coef, dtype=complex).reshape((M, -1))
    if _choose(backend, dim, N * M) == "direct":
        out = np.empty((N, flat.shape[1]), dtype=complex)
        for sl in _chunks(N, M):
            out[sl] = _exp_rows(t[sl], K) @ flat
    else:
        fin = _finufft()
        fn = (fin.nufft1d2, fin.nufft2d2, fin.nufft3d2)[dim - 1]
        coords = [np.ascontiguousarray(t[:, j]) for j in range(dim)]
        out = np.empty((N, flat.shape[1]), dtype=complex)
        for col in range(flat.shape[1]):
            f = np.ascontiguousarray(flat[:, col].reshape((2 * K + 1,) * dim))
            out[:, col] = fn(*coords, f, eps=_nufft_eps(eps), isign=1)
    return out.reshape((N,) + extra)


def evaluate_grid(coef, n, dim):
    """``f_j = sum_k c_k e^{2 pi i k.j/n}`` on the regular grid ``j in {0..n-1}^dim`` by one inverse FFT (exact).

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*dim`` or ``(2K+1,)*dim + (m,)``, with ``2K + 1 <= n``
    n : int
        Points per axis; grid point ``j`` is ``x = j P / n`` (C order over the axes, like ``meshgrid(indexing="ij")``).
    dim : int

    Returns
    -------
    complex ndarray, shape ``(n,)*dim`` or ``(n,)*dim + (m,)``
    """
    K = (coef.shape[0] - 1) // 2
    if 2 * K + 1 > n:
        raise ValueError(f"Expected `n` >= 2K + 1 = {2 * K + 1} grid points per axis, got {n}.")
    coef = np.asarray(coef, dtype=complex)
    full = np.zeros((n,) * dim + coef.shape[dim:], dtype=complex)
    idx = np.arange(-K, K + 1) % n
    full[np.ix_(*([idx] * dim))] = coef
    return np.fft.ifftn(full, axes=tuple(range(dim))) * float(n) ** dim


def adjoint(t, w, K, *, eps=DEFAULT_EPS, backend="auto"):
    """Type-1 sum ``c_k = sum_i w_i e^{-i k.t_i}`` on the box ``|k|_inf <= K``.

    Parameters
    ----------
    t : float ndarray, shape (N, d)
    w : ndarray, shape (N,) or (N, m)

    Returns
    -------
    complex ndarray, shape ``(2K+1,)*d`` (+ ``(m,)``)
    """
    N, dim = t.shape
    M = (2 * K + 1) ** dim
    w = np.asarray(w)
    extra = w.shape[1:]
    w2 = np.ascontiguousarray(w, dtype=complex).reshape((N, -1))
    if _choose(backend, dim, N * M) == "direct":
        out = np.zeros((M, w2.shape[1]), dtype=complex)
        for sl in _chunks(N, M):
            out += _exp_rows(t[sl], K).conj().T @ w2[sl]
    else:
        fin = _finufft()
        fn = (fin.nufft1d1, fin.nufft2d1, fin.nufft3d1)[dim - 1]
        coords = [np.ascontiguousarray(t[:, j]) for j in range(dim)]
        out = np.empty((M, w2.shape[1]), dtype=complex)
        shape = (2 * K + 1,) * dim
        for col in range(w2.shape[1]):
            out[:, col] = fn(*coords, np.ascontiguousarray(w2[:, col]), shape, eps=_nufft_eps(eps),
                             isign=-1).reshape(-1)
    return out.reshape((2 * K + 1,) * dim + extra)


def kernel_matrix(t, g, *, eps=DEFAULT_EPS, backend="auto"):
    """Dense kernel matrix ``G_ij = sum_k g_k cos(k.(t_i - t_j))`` for an even, finite, real ``g`` on the box.

    Parameters
    ----------
    t : float ndarray, shape (N, d)
    g : float ndarray, shape ``(2K+1,)*d``, even in ``k``, finite

    Returns
    -------
    float ndarray, shape (N, N), symmetric
    """
    N, dim = t.shape
    K = (g.shape[0] - 1) // 2
    M = g.size
    check_memory(8 * N * N * 3, f"the {N} x {N} kernel matrix", "Use method='iterative' or fewer points.")
    n_pairs = N * (N - 1) // 2
    if _choose(backend, dim, n_pairs * M) == "direct":
        e = _exp_rows(t, K)
        G = ((e * g.reshape(-1)) @ e.conj().T).real
        return 0.5 * (G + G.T)
    iu, ju = np.triu_indices(N, k=1)
    diffs = t[iu] - t[ju]
    vals = evaluate(np.asarray(g, dtype=complex), diffs, eps=eps, backend="finufft").real
    G = np.empty((N, N))
    G[iu, ju] = vals
    G[ju, iu] = vals
    G[np.arange(N), np.arange(N)] = float(np.sum(g))
    return G


def grid_coefficients(values):
    """Fourier coefficients from samples on a uniform grid of odd size ``n = 2K+1`` per axis (numpy.fft).

    Parameters
    ----------
    values : ndarray, shape ``(n,)*d``, n odd
        Samples at ``x_j = P j / n``.

    Returns
    -------
    complex ndarray, shape ``(n,)*d``
        ``c_k = n^-d sum_j f(x_j) e^{-2 pi i k.j/n}`` for ``|k|_inf <= K`` (index ``j`` means ``k = j - K``):
        exact for trigonometric polynomials of band ``<= K``, otherwise aliased (``c_k = sum_m f^(k + n m)``).
    """
    values = np.asarray(values)
    n = values.shape[0]
    if n % 2 == 0 or any(s != n for s in values.shape):
        raise ValueError(f"Expected `values` on an odd grid of equal sides (n,)*d, got shape {values.shape}.")
    return np.fft.fftshift(np.fft.fftn(values)) / values.size
