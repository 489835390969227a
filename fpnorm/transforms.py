"""The one place that calls finufft: trigonometric sums between points and the coefficient box.

All functions take angles ``t = 2 pi x / P`` of shape (N, d) in ``[0, 2 pi)`` (differences in ``(-2 pi, 2 pi)``)
and coefficient arrays of shape ``(2K+1,)*d`` with ``k = j - K``.

- :func:`evaluate`  (type 2): ``f_i = sum_k c_k e^{+i k.t_i}``; :func:`evaluate_sets` several of them on one box,
  each at its own points, through one plan
- :func:`adjoint`   (type 1): ``c_k = sum_i w_i e^{-i k.t_i}``
- :func:`kernel_matrix`: ``G_ij = kappa(t_i - t_j)``, ``kappa(z) = sum_k g_k e^{i k.z}`` for an even real ``g``.
- :class:`NufftPlan`: both sums at fixed points, with finufft plans built once and reused (iterative solves).

Each picks finufft (``d <= 3``) or an exact direct sum (tiny sizes, ``d > 3``, and tests via ``backend="direct"``).
finufft's tolerance ``eps`` is relative to ``sum |c_k|`` (type 2) or ``sum |w_i|`` (type 1); :func:`eps_for_rtol`
derives it from the accuracy a user asks of a solve.
"""


import finufft
import numpy as np

from ._internal.checks import check_int
from ._internal.memory import check_memory
from ._internal.threads import cores

__all__ = ["evaluate", "evaluate_sets", "evaluate_grid", "adjoint", "kernel_matrix", "kernel_values",
           "grid_coefficients", "NufftPlan", "eps_for_rtol", "BACKENDS", "DEFAULT_EPS", "direct_sum_memory",
           "nufft_memory", "kernel_matrix_memory"]

BACKENDS = ("auto", "finufft", "direct")
DEFAULT_EPS = 1e-14
# Direct sums cost N * M complex exponentials; below this they beat finufft's set-up (single-threaded, measured).
_DIRECT_WORK = 4e3
# Rows per chunk of a direct sum, sized so a chunk's exponentials stay near 64 MiB.
_CHUNK_BYTES = 64 * 2**20
# Point differences per finufft call when assembling a kernel matrix (bounds the difference arrays' memory).
_PAIR_CHUNK = 1 << 22
# finufft runs single-threaded below this many nonuniform points, unless its upsampled grid has at least
# _THREADED_GRID points. Measured on the 2-core machine, quiet, a type-2 and a type-1 transform on two threads against
# one (best of 15): 0.64-0.91 of the time where the grid (2 (2K+1))^d has 5e5 points or more (1-d N = 5e3 .. 4e5,
# K = 2^17 and 2^19; 2-d N = 2e4 and 8e4, K = 256; 3-d N = 5e3 .. 2e4, K = 24; but 1.18 at 2-d N = 5e3, K = 256),
# 1.17-1.51 on smaller grids (1-d N = 2e4, K = 32768; 2-d N = 2e4, K = 128); under load from other jobs one thread was
# faster on every Scale row.
_THREADED_POINTS = 1 << 20
_THREADED_GRID = 1 << 19
# finufft's accuracy stops improving below this tolerance in double precision.
_EPS_FLOOR = 1e-15


def _threads(points, K=0, dim=1):
    """Threads for a finufft call on `points` nonuniform points and the box ``|k|_inf <= K`` in `dim` dimensions: one
    below :data:`_THREADED_POINTS` points on a grid below :data:`_THREADED_GRID` (thread start-up and contention cost
    more than they save there), else all cores this process may use."""
    small = points < _THREADED_POINTS and (2 * (2 * K + 1)) ** dim < _THREADED_GRID
    return 1 if small else cores()


def eps_for_rtol(rtol):
    """finufft tolerance for a solve asked to reach relative residual `rtol`.

    Three digits below ``rtol`` (the NUFFT error is relative to ``sum |c_k|``, which may exceed ``max |h|``), never
    below ``1e-15`` nor above ``1e-6``.
    """
    return float(min(max(1e-3 * float(rtol), _EPS_FLOOR), 1e-6))


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


def direct_sum_memory(rows, K, dim, m=1):
    """Peak bytes of a direct sum over the box ``|k|_inf <= K`` for `rows` points at once and `m` columns: the
    exponentials of :func:`_exp_rows` (the last product and the one before it), the coefficients as complex, and the
    result."""
    M = (2 * K + 1) ** dim
    return 16 * rows * (M + M // (2 * K + 1) + dim * (2 * K + 1)) + 16 * M * m + 16 * rows * m


def nufft_memory(N, K, dim, m=1):
    """Bytes of a finufft sum between N points and the box ``|k|_inf <= K`` with m columns: finufft's upsampled grid
    (at most factor 2 per axis, plus the kernel's width), the coefficients and values as complex, and its sorting."""
    fine = 1
    for _ in range(dim):
        fine *= 2 * (2 * K + 1) + 32
    M = (2 * K + 1) ** dim
    return 16 * fine * m + 2 * 16 * M * m + 2 * 16 * N * m + 8 * N * (dim + 2)


def _check_direct(rows, K, dim, m, what):
    check_memory(direct_sum_memory(rows, K, dim, m), f"{what}: a direct sum of {rows} points x {(2 * K + 1) ** dim} "
                 f"modes (d = {dim}, K = {K}) at once", "Use a smaller `K`." + (" finufft covers d <= 3." if dim > 3
                                                                                  else ""))


def _chunk_rows(M):
    return max(1, int(_CHUNK_BYTES // (16 * max(M, 1))))


def _chunks(N, M):
    rows = _chunk_rows(M)
    for start in range(0, N, rows):
        yield slice(start, min(N, start + rows))


# finufft's tightest tolerance by dimension (below it, 3-d kernels would need more than their maximal width 16).
_EPS_FLOOR_BY_DIM = {1: _EPS_FLOOR, 2: _EPS_FLOOR, 3: 2e-15}


def _nufft_eps(eps, dim=1):
    return max(float(eps), _EPS_FLOOR_BY_DIM.get(dim, _EPS_FLOOR))


def _coords(t):
    return [np.ascontiguousarray(t[:, j], dtype=float) for j in range(t.shape[1])]


class NufftPlan:
    """Type-2 (evaluate) and type-1 (adjoint) sums at fixed points, with finufft plans made once.

    Parameters
    ----------
    t : float ndarray, shape (N, d)
        Angles.
    K : int
        Box half-width.
    n_trans : int
        Number of vectors transformed together (columns of the right-hand sides).
    eps : float
        finufft tolerance.
    backend : str
        One of :data:`BACKENDS`; "direct" keeps the exponentials in memory (tests, tiny sizes).
    upsampfac : float, optional
        finufft's upsampling factor (default: finufft's choice, 2 at tight tolerances); 1.25 roughly halves the work
        and supports tolerances down to about ``1e-9``.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm.transforms import NufftPlan
    >>> plan = NufftPlan(np.array([[0.5], [2.0]]), K=3, eps=1e-12)
    >>> c = np.zeros(7, complex); c[3] = 1.0          # the constant function 1
    >>> bool(np.allclose(plan.evaluate(c), 1.0))
    True
    """

    def __init__(self, t, K, *, n_trans=1, eps=DEFAULT_EPS, backend="auto", upsampfac=None):
        self.t = t
        self.N, self.dim = t.shape
        self.K = int(K)
        self.shape = (2 * self.K + 1,) * self.dim
        self.M = int(np.prod(self.shape))
        self.n_trans = int(n_trans)
        self.backend = _choose(backend, self.dim, self.N * self.M)
        if self.backend == "direct":
            _check_direct(self.N, self.K, self.dim, self.n_trans, "the exponentials of a direct sum kept for reuse")
            self._e = _exp_rows(t, self.K)
            return
        check_memory(nufft_memory(self.N, self.K, self.dim, self.n_trans), f"finufft's sums between {self.N} points "
                     f"and {self.M} modes (d = {self.dim})", "Use a smaller `K`.")
        self._eps = _nufft_eps(eps, self.dim)
        self._options = {} if upsampfac is None else {"upsampfac": float(upsampfac)}
        self._plans = {}

    def _plan(self, kind):
        """The finufft plan of type `kind` (1 or 2), made and given the points on first use."""
        if kind not in self._plans:
            plan = finufft.Plan(kind, self.shape, isign=1 if kind == 2 else -1, eps=self._eps,
                                   n_trans=self.n_trans, nthreads=_threads(self.N, self.K, self.dim), **self._options)
            plan.setpts(*_coords(self.t))
            self._plans[kind] = plan
        return self._plans[kind]

    def evaluate(self, coef):
        """``f_i = sum_k c_k e^{i k.t_i}``; coef of shape ``(2K+1,)*d`` (+ ``(n_trans,)``), result (N,) (+
        ``(n_trans,)``)."""
        extra = coef.shape[self.dim:]
        flat = np.asarray(coef, dtype=complex).reshape((self.M, -1))
        if self.backend == "direct":
            return (self._e @ flat).reshape((self.N,) + extra)
        data = np.ascontiguousarray(flat.T).reshape((flat.shape[1],) + self.shape)
        out = self._plan(2).execute(data if self.n_trans > 1 else data[0])
        return np.reshape(out, (-1, self.N)).T.reshape((self.N,) + extra)

    def adjoint(self, w):
        """``c_k = sum_i w_i e^{-i k.t_i}``; w of shape (N,) (+ (n_trans,)), result ``(2K+1,)*d`` (+ ``(n_trans,)``)."""
        w = np.asarray(w)
        extra = w.shape[1:]
        w2 = w.reshape((self.N, -1))
        if self.backend == "direct":
            return (self._e.conj().T @ w2).reshape(self.shape + extra)
        data = np.ascontiguousarray(w2.T, dtype=complex)
        out = self._plan(1).execute(data if self.n_trans > 1 else data[0])
        return np.reshape(out, (-1, self.M)).T.reshape(self.shape + extra)


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
        _check_direct(min(N, _chunk_rows(M)), K, dim, flat.shape[1], f"evaluating at {N} points")
        out = np.empty((N, flat.shape[1]), dtype=complex)
        for sl in _chunks(N, M):
            out[sl] = _exp_rows(t[sl], K) @ flat
        return out.reshape((N,) + extra)
    plan = NufftPlan(t, K, n_trans=flat.shape[1], eps=eps, backend="finufft")
    return plan.evaluate(flat.reshape((2 * K + 1,) * dim + (flat.shape[1],))).reshape((N,) + extra)


def evaluate_sets(items, *, eps=DEFAULT_EPS):
    """Type-2 sums of several coefficient arrays on one box, each at its own points:
    ``[evaluate(c, t, eps=eps) for c, t in items]`` through one finufft plan whose points are reset per item.

    A plan's set-up (its fine grid and FFT plan) costs about what its execution does at 1e5 points: nine sums at
    ``K = 2^17`` and 1e3 .. 4e5 points took 0.28 s with a plan each and 0.11 s with one (finufft 2.5, one thread).

    Parameters
    ----------
    items : sequence of (coef, t)
        ``coef`` of shape ``(2K+1,)*d`` (one ``K`` for all), ``t`` of shape ``(n, d)``.

    Returns
    -------
    list of complex ndarrays, shape (n,) each

    Examples
    --------
    >>> c = np.zeros(5, complex); c[2] = 1.0; c[3] = 0.5              # 1 + 0.5 e^{it}
    >>> a, b = evaluate_sets([(c, np.zeros((1, 1))), (2 * c, np.full((2, 1), np.pi))])
    >>> np.round(a.real, 12).tolist(), np.round(b.real, 12).tolist()
    ([1.5], [1.0, 1.0])
    """
    items = list(items)
    if not items:
        return []
    dim = items[0][1].shape[1]
    K = (items[0][0].shape[0] - 1) // 2
    M = (2 * K + 1) ** dim
    most = max(t.shape[0] for _, t in items)
    if _choose("auto", dim, most * M) == "direct":           # tiny sums, and d > 3
        return [evaluate(c, t, eps=eps) for c, t in items]
    check_memory(nufft_memory(most, K, dim), f"finufft's sums between {most} points and {M} modes (d = {dim})",
                 "Use a smaller `K`.")
    plan = finufft.Plan(2, (2 * K + 1,) * dim, isign=1, eps=_nufft_eps(eps, dim), nthreads=_threads(most, K, dim))
    out = []
    for coef, t in items:
        plan.setpts(*_coords(t))
        out.append(plan.execute(np.ascontiguousarray(coef, dtype=complex)))
    return out


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
        _check_direct(min(N, _chunk_rows(M)), K, dim, w2.shape[1], f"the adjoint sum of {N} points")
        out = np.zeros((M, w2.shape[1]), dtype=complex)
        for sl in _chunks(N, M):
            out += _exp_rows(t[sl], K).conj().T @ w2[sl]
        return out.reshape((2 * K + 1,) * dim + extra)
    plan = NufftPlan(t, K, n_trans=w2.shape[1], eps=eps, backend="finufft")
    return plan.adjoint(w2).reshape((2 * K + 1,) * dim + extra)


def kernel_values(g, z, *, eps=DEFAULT_EPS, backend="auto"):
    """``kappa(z_p) = sum_k g_k cos(k.z_p)`` at point differences ``z`` of shape (n, d) for an even real ``g``."""
    return evaluate(np.asarray(g, dtype=complex), z, eps=eps, backend=backend).real


def kernel_matrix_memory(N, K, dim, *, direct=False):
    """Peak bytes of :func:`kernel_matrix`: ``G`` and its symmetrisation, plus the ``N x M`` exponentials, their
    weighted and conjugated copies of a direct sum, or finufft's difference blocks and upsampled grid."""
    if direct:
        return 3 * direct_sum_memory(N, K, dim) + 16 * N * N + 24 * N * N
    pairs = min(_PAIR_CHUNK, N * N)
    return 8 * N * N + 48 * pairs + nufft_memory(0, K, dim) + 8 * pairs * dim


def kernel_matrix(t, g, *, eps=DEFAULT_EPS, backend="auto"):
    """Dense kernel matrix ``G_ij = sum_k g_k cos(k.(t_i - t_j))`` for an even, finite, real ``g`` on the box.

    Parameters
    ----------
    t : float ndarray, shape (N, d)
    g : float ndarray, shape ``(2K+1,)*d``, even in ``k``, finite

    Returns
    -------
    float ndarray, shape (N, N), symmetric

    Notes
    -----
    One type-2 NUFFT at the ``N(N-1)/2`` differences ``t_i - t_j, i < j``, fed to finufft in rectangular blocks of
    rows (at most ``2^22`` differences, at most ``N/16`` rows, so about 3% of the pairs are computed twice) that are
    written into ``G`` without index arrays; the diagonal is ``sum_k g_k``.
    """
    N, dim = t.shape
    K = (g.shape[0] - 1) // 2
    M = g.size
    n_pairs = N * (N - 1) // 2
    direct = _choose(backend, dim, n_pairs * M) == "direct"
    check_memory(kernel_matrix_memory(N, K, dim, direct=direct), f"the {N} x {N} kernel matrix"
                 + (f" by a direct sum over {M} modes (d = {dim})" if direct else ""),
                 "Use method='iterative', fewer points or a smaller `K`." if direct
                 else "Use method='iterative' or fewer points.")
    if direct:
        e = _exp_rows(t, K)
        G = ((e * g.reshape(-1)) @ e.conj().T).real
        return 0.5 * (G + G.T)
    plan = finufft.Plan(2, g.shape, isign=1, eps=_nufft_eps(eps, dim), nthreads=_threads(n_pairs))
    coef = np.ascontiguousarray(g, dtype=complex)
    G = np.empty((N, N))
    start = 0
    while start < N - 1:
        # rows start..stop-1 against every column > start: a rectangle, written as one block and its transpose
        # (exactly symmetric); the few pairs j <= i inside it are computed twice and dropped.
        width = N - start - 1
        rows = max(1, min(N - 1 - start, _PAIR_CHUNK // width, max(32, N // 16)))
        stop = start + rows
        plan.setpts(*[np.subtract.outer(t[start:stop, j], t[start + 1:, j]).ravel() for j in range(dim)])
        vals = plan.execute(coef).real.reshape(rows, width)
        G[start:stop, start + 1:] = vals
        G[stop:, start:stop] = vals[:, stop - start - 1:].T
        upper = np.triu(G[start:stop, start:stop], 1)   # the square inside the block: keep its upper half, mirrored
        G[start:stop, start:stop] = upper + upper.T
        start = stop
    G[np.arange(N), np.arange(N)] = float(np.sum(g))
    return G


def grid_coefficients(values, K=None):
    """Fourier coefficients from samples on a uniform grid of ``n`` points per axis (numpy.fft).

    Parameters
    ----------
    values : ndarray, shape ``(n,)*d``
        Samples at ``x_j = P j / n`` (see :func:`fpnorm.lattice.torus_grid`).
    K : int, optional
        Box half-width of the result, ``2K + 1 <= n``; default ``(n - 1) / 2`` for odd ``n``.

    Returns
    -------
    complex ndarray, shape ``(2K+1,)*d``
        ``c_k = n^-d sum_j f(x_j) e^{-2 pi i k.j/n}`` for ``|k|_inf <= K`` (index ``j`` means ``k = j - K``):
        exact for trigonometric polynomials of band ``<= K`` when ``n >= 2K + 1``, otherwise aliased
        (``c_k = sum_m f^(k + n m)``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(5) / 5
    >>> c = grid_coefficients(np.cos(2 * np.pi * x))       # k = -2..2
    >>> bool(np.allclose(c, [0, 0.5, 0, 0.5, 0], atol=1e-15))
    True
    """
    values = np.asarray(values)
    n = values.shape[0]
    if any(s != n for s in values.shape) or (K is None and n % 2 == 0):
        raise ValueError(f"Expected `values` on a grid of equal sides (n,)*d (n odd unless `K` is given), got shape "
                         f"{values.shape}.")
    K = (n - 1) // 2 if K is None else check_int(K, "K", minimum=0)
    if 2 * K + 1 > n:
        raise ValueError(f"Expected `n` >= 2K + 1 = {2 * K + 1} grid points per axis, got {n}.")
    spec = np.fft.fftn(values) / values.size
    idx = np.arange(-K, K + 1) % n
    return spec[np.ix_(*([idx] * values.ndim))]
