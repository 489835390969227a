"""A two-level preconditioner: a sparse factor ``W`` (``W^T W ~ G^-1``) corrected on the lowest Fourier modes.

The sparse factors of :mod:`fpnorm.solvers.vecchia` and :mod:`fpnorm.solvers.precondition` are local: each row
conditions a point on a few neighbours, so they capture ``G`` at short range and miss its largest, smoothest part, the
lowest Fourier modes at the points, which carry most of ``kappa``. Measured on ``W G W^T`` (1-d, Sobolev(1.5), uniform
random points at 0.76 points per ``1/K``, Lanczos): besides a few cluster eigenvalues, the constant mode sits at 3e-5
and the pair ``cos t, sin t`` at 18 for N = 2e4; at N = 1e5 they are 1e-6 and 59, and they move apart as N grows.
That is why the Krylov iterations grew with N.

The balancing correction (Mandel 1993; Tang, Nabben, Vuik, Erlangga, J. Sci. Comput. 2009, "BNN") puts those modes
right: with ``V`` the values at the points of the real Fourier modes ``|k|_inf <= width`` (projected and orthonormal)
and ``E = V^T G V``,

    ``M = P^T W^T W P + V E^-1 V^T``,   ``P = I - G V E^-1 V^T``,

is symmetric positive definite for any ``W`` of full rank, and ``M G`` has the spectrum of ``W^T W G`` on the
``G``-orthogonal complement of the modes, with the modes themselves at exactly 1. Craig's method takes the factored
form ``M = L^T L``, ``L = [W P; S V^T]`` with ``S^T S = E^-1`` (``L`` has ``N + k`` rows; it is injective, so the
preconditioned constraints have the solutions of the original ones). ``G V`` costs one type-1 transform (of ones,
on the box widened by ``width``: each mode's is a shift of it) and ``(k + 1) / 2`` type-2 transforms (a complex mode
gives its cos and sin columns) once (:func:`mode_products`); every application ``O(N k)`` besides ``W``.
Preconditioned CG to 1e-10 on ``G`` (uniform random points, the Scale rows of benchmarks/bench_scale.py): 1-d
N = 1e5, K = 2^17, Sobolev(1.5) 529 iterations with ``W`` alone, 108 / 87 / 113 / 78 with width 4 / 8 / 16 / 32;
LFP(1,1) 54 and 31 / 22 (width 4 / 8); 2-d N = 8e4, K = 256, Sobolev(2) 467 and 216 / 187 (width 2 / 4); N = 2e4,
K = 128, LFP(1,1) 208 and 162 / 159 / 151 (width 1 / 2 / 4); 3-d N = 2e4, K = 24, Sobolev(2), the KL factor, 85 and
50 / 41 / 36 (width 1 / 2 / 3).

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> t = 2 * np.pi * np.random.default_rng(0).random((40, 1))
>>> g = 1.0 / (1.0 + np.arange(-16, 17) ** 2.0)
>>> two = two_level(sp.identity(40, format="csr"), t, g, width=2, eps=1e-12)
>>> two.modes, two.left(np.ones((40, 1))).shape
(5, (45, 1))
"""

import copy

import numpy as np

from .. import transforms

__all__ = ["TwoLevel", "two_level", "coarse_space", "low_modes", "mode_products", "coarse_memory", "COARSE_WIDTH"]

# The half-width of the box of corrected modes by dimension (1 + (2 w + 1)^d - 1 real columns: 17, 25, 27), from the
# measurements in the module docstring: each column costs half a type-2 transform of set-up (mode_products), so 3-d
# stops at width 1 (width 2 would be 63 transforms for 9 fewer iterations).
COARSE_WIDTH = {1: 8, 2: 2, 3: 1}
# Columns of V transformed together (bounds the coefficient arrays of G V at 8 boxes).
_CHUNK = 8
# Eigenvalues of E below this fraction of its largest are dropped with their directions (modes the points cannot
# tell apart, or a free mode's remnant after projection).
_RCOND = 1e-12
# G V from the products of the modes themselves (mode_products) when the modes at the points are no worse conditioned
# than this: the coefficients X of V = B X then scale the products' errors by at most this factor.
_COND_MAX = 100.0


def coarse_memory(N, M, dim, width=None):
    """Peak bytes of :func:`two_level` and its :class:`TwoLevel`: ``V``, ``G V`` and their scaled copies (``N k``
    each, and the SVD's), and one chunk of ``G V``'s coefficients (``M _CHUNK`` complex, twice; :func:`mode_products`
    holds one chunk, its copy for finufft and the widened transform of ones, no more).

    Examples
    --------
    >>> coarse_memory(100_000, 2**18 + 1, 1) < 2**30
    True
    """
    width = COARSE_WIDTH.get(dim, 1) if width is None else width
    k = (2 * width + 1) ** dim if width >= 0 else 0
    return 8 * N * k * 6 + 32 * M * min(k, _CHUNK)


def low_modes(t, width):
    """Values at angles `t` (N, d) of the real Fourier modes ``|k|_inf <= width``: ``1``, and ``cos(k.t)``,
    ``sin(k.t)`` for ``k`` in half of the box; shape ``(N, (2 width + 1)^d)``."""
    N, dim = t.shape
    phase = t @ _half_box(width, dim).T.astype(float)
    return np.concatenate([np.ones((N, 1)), np.cos(phase), np.sin(phase)], axis=1)


def _half_box(width, dim):
    """The modes ``k`` of ``|k|_inf <= width`` with ``k > -k`` lexicographically (one of each pair ``+-k``), in the
    column order of :func:`low_modes` and :func:`mode_products`."""
    grid = np.stack(np.meshgrid(*[np.arange(-width, width + 1)] * dim, indexing="ij"), axis=-1).reshape(-1, dim)
    return grid[[tuple(k) > tuple(-k) for k in grid]]


class TwoLevel:
    """The balancing preconditioner ``M = L^T L``, ``L = [W P; S V^T]`` (module docstring) from ``V`` (N, k) with
    orthonormal columns and ``GV = G V``.

    Attributes
    ----------
    modes : int
        Directions corrected (``k`` less those ``E`` cannot resolve).
    """

    def __init__(self, W, V, GV):
        self._W, self._WT = W, W.T.tocsr()
        E = V.T @ GV
        lam, U = np.linalg.eigh(0.5 * (E + E.T))
        keep = lam > _RCOND * max(float(lam.max(initial=0.0)), 0.0)
        scale = U[:, keep] / np.sqrt(lam[keep])             # S^T: S^T S = E^-1 on the kept directions
        self._Vs, self._GVs = V @ scale, GV @ scale
        self.modes = int(keep.sum())

    def left(self, r):
        """``L r`` for r of shape (N,) or (N, m): ``(N + k,)`` (+ ``(m,)``)."""
        c = self._Vs.T @ r
        out = np.empty((self._W.shape[0] + c.shape[0],) + c.shape[1:])
        out[:self._W.shape[0]] = self._W @ (r - self._GVs @ c)
        out[self._W.shape[0]:] = c
        return out

    def left_t(self, u):
        """``L^T u`` for u of shape ``(N + k,)`` (+ ``(m,)``)."""
        N = self._W.shape[0]
        x = self._WT @ u[:N]
        x += self._Vs @ (u[N:] - self._GVs.T @ x)
        return x

    def apply(self, r):
        """``M r = L^T L r``."""
        return self.left_t(self.left(r))

    def with_factor(self, W):
        """The same correction (its modes, ``E`` and ``G V``) around another sparse factor ``W`` of the same points.

        ``M`` stays symmetric positive definite for any ``W`` of full rank, and for a kernel matrix ``G + T`` it
        still puts ``G``'s lowest modes right: the truncation estimate of an iterative solve
        (:mod:`fpnorm.solvers.truncation`) refactors ``G_K`` plus its tail and keeps the solve's ``G_K V``, which
        costs ``k`` NUFFT pairs to make, where the tail moves the low modes by a small part of ``E``.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> t = 2 * np.pi * np.random.default_rng(0).random((40, 1))
        >>> two = two_level(sp.identity(40, format="csr"), t, 1.0 / (1.0 + np.arange(-16, 17) ** 2.0), width=2,
        ...                 eps=1e-12)
        >>> half = two.with_factor(0.5 * sp.identity(40, format="csr"))
        >>> r = np.random.default_rng(1).standard_normal(40)
        >>> bool(np.allclose(half.apply_factor(r), 0.25 * r)), half.modes == two.modes
        (True, True)
        """
        if W.shape != self._W.shape:
            raise ValueError(f"Expected `W` of shape {self._W.shape} (the correction's points), got {W.shape}.")
        out = copy.copy(self)
        out._W, out._WT = W, W.T.tocsr()
        return out

    def apply_factor(self, r):
        """``W^T W r``: the sparse factor alone, without the correction."""
        return self._WT @ (self._W @ r)


def two_level(W, t, g, *, width, eps, project=None):
    """:class:`TwoLevel` for the kernel matrix ``G = P Phi diag(g) Phi^H P`` at angles `t` (N, d): ``W`` around
    :func:`coarse_space`.

    Parameters
    ----------
    W : scipy.sparse matrix, shape (N, N)
        The sparse factor, ``W^T W ~ G^-1``.
    t, g, width, eps, project
        As in :func:`coarse_space`.
    """
    return TwoLevel(W, *coarse_space(t, g, width=width, eps=eps, project=project))


def coarse_space(t, g, *, width, eps, project=None):
    """``(V, G V)``: the projected low modes at the points, orthonormal, and their products with the kernel matrix
    ``G = P Phi diag(g) Phi^H P`` at angles `t` (N, d), the part of :class:`TwoLevel` that does not depend on the
    sparse factor (so it can be made while the factor is).

    Parameters
    ----------
    t : ndarray, shape (N, d)
        Angles.
    g : ndarray, shape ``(2K+1,)*d``
        The penalised ``gamma(k)^2`` (zero at free modes).
    width : int
        Half-width of the box of corrected modes (0: the constant alone; negative: none).
    eps : float
        finufft tolerance of ``G V`` (the preconditioner need not be exact: ``M`` stays positive definite).
    project : callable, optional
        ``P``, the orthogonal projection out of the free basis functions (default: none).

    Returns
    -------
    V, GV : ndarrays, shape (N, k)
    """
    N, dim = t.shape
    project = (lambda r: r) if project is None else project
    if width < 0:
        return np.zeros((N, 0)), np.zeros((N, 0))
    B = low_modes(t, int(width))
    # an orthonormal basis of the projected modes' span; the singular vectors, not a QR without pivoting, whose
    # column for a mode the projection removed (the free constant) is an arbitrary direction outside that span
    U, sv, _ = np.linalg.svd(project(B), full_matrices=False)
    V = U[:, sv > 1e-8 * max(float(sv.max(initial=0.0)), 1e-300)]
    if not V.shape[1]:
        return V, np.zeros_like(V)
    # V = B X when the projection keeps the span of the modes (free modes inside the corrected box, or none), and
    # then G V = P (G_0 B) X with G_0 B from one transform of ones and (k + 1) / 2 of the complex modes
    # (mode_products) instead of k transform pairs: one process, against one NUFFT pair (eps 1e-12) timed in the same
    # run, with the free constant projected out, the shared machine loaded: 2-d N = 8e4, K = 256, eps 1e-10: 23-46
    # pairs -> 10-17; 3-d N = 2e4, K = 24: 20-46 -> 6-13; 1-d N = 1e5, K = 2^17, eps 1e-14: 19-23 -> 10-12. X by the
    # normal equations (B^T B is k x k: 5 ms at N = 8e4, k = 25, where an SVD of B took 71 ms, a pair), used only when
    # B is well conditioned (the products' errors then stay those of the transforms, and the equations' ~cond(B)^2 u)
    # and X reproduces V to the transforms' tolerance; otherwise the columns of V are transformed
    lam, E = np.linalg.eigh(B.T @ B)
    if lam[0] > _COND_MAX ** -2 * lam[-1]:
        X = E @ ((E.T @ (B.T @ V)) / lam[:, None])
        if np.max(np.abs(B @ X - V)) <= eps * np.max(np.abs(V)):
            return V, project(mode_products(t, g, int(width), eps=eps) @ X)
    return V, project(_column_products(V, t, g, eps))


def mode_products(t, g, width, *, eps):
    """``G_0 B`` for the unprojected kernel matrix ``G_0 = Phi diag(g) Phi^H`` at angles `t` (N, d) and ``B`` the
    real Fourier modes ``|k|_inf <= width`` at the points (:func:`low_modes`, in its column order).

    With ``S = Phi^H 1`` on the box widened by `width` (one type-1 transform), the mode ``e_j = e^{i k_j.t}`` has
    ``(Phi^H e_j)(k) = S(k - k_j)``, a shift; ``G_0`` is real (``g`` even), so the cos and sin columns of ``k_j`` are
    the real and imaginary parts of ``G_0 e_j``. That is one type-1 transform and ``((2 width + 1)^d + 1) / 2``
    type-2 transforms, where transforming the real columns costs ``(2 width + 1)^d`` of each.

    Parameters
    ----------
    t : ndarray, shape (N, d)
        Angles.
    g : ndarray, shape ``(2K+1,)*d``
        Real, even in ``k``.
    width : int
        Half-width of the box of modes, ``>= 0``.
    eps : float
        finufft tolerance.

    Returns
    -------
    ndarray, shape ``(N, (2 width + 1)^d)``

    Examples
    --------
    >>> import numpy as np
    >>> t = 2 * np.pi * np.random.default_rng(0).random((30, 1))
    >>> g = 1.0 / (1.0 + np.arange(-8, 9) ** 2.0)
    >>> G0 = (g * np.exp(1j * (t - t.T)[..., None] * np.arange(-8, 9))).sum(axis=-1).real
    >>> bool(np.allclose(mode_products(t, g, 1, eps=1e-14), G0 @ low_modes(t, 1), rtol=0, atol=1e-10))
    True
    """
    N, dim = t.shape
    g = np.asarray(g)
    if g.ndim != dim or len(set(g.shape)) != 1 or g.shape[0] % 2 != 1:
        raise ValueError(f"Expected `g` a box of shape (2K+1,)*{dim} (the points' dimension), got shape {g.shape}.")
    if not (isinstance(width, (int, np.integer)) and width >= 0):
        raise ValueError(f"Expected `width` a nonnegative integer, got {width!r}.")
    K = g.shape[0] // 2
    shifts = np.concatenate([np.zeros((1, dim), dtype=int), _half_box(width, dim)])
    S = transforms.NufftPlan(t, K + width, eps=eps).adjoint(np.ones(N, dtype=complex))
    out = np.empty((N, 2 * len(shifts) - 1))
    # chunks of equal width (at most _CHUNK boxes): a padded last chunk would transform zero columns
    n = len(shifts)
    chunk = -(-n // -(-n // _CHUNK))
    plan = transforms.NufftPlan(t, K, n_trans=chunk, eps=eps)
    coef = np.zeros(g.shape + (chunk,), dtype=complex)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        for j in range(start, stop):
            coef[..., j - start] = g * S[tuple(slice(width - s, width - s + 2 * K + 1) for s in shifts[j])]
        coef[..., stop - start:] = 0.0
        vals = plan.evaluate(coef)[:, :stop - start]
        for j in range(start, stop):
            out[:, j] = vals[:, j - start].real
            if j:
                out[:, n - 1 + j] = vals[:, j - start].imag
    return out


def _column_products(V, t, g, eps):
    """``G_0 V`` column by column: a type-1 and a type-2 transform each."""
    N, k = V.shape
    K = g.shape[0] // 2
    GV = np.empty_like(V)
    # chunks of equal width (at most _CHUNK): a padded last chunk would transform zero columns
    chunk = -(-k // -(-k // _CHUNK))
    plan = transforms.NufftPlan(t, K, n_trans=chunk, eps=eps)
    for start in range(0, k, chunk):
        cols = V[:, start:start + chunk]
        pad = np.zeros((N, chunk))
        pad[:, :cols.shape[1]] = cols
        coef = plan.adjoint(pad)
        coef *= g[..., None]
        GV[:, start:start + chunk] = plan.evaluate(coef).real[:, :cols.shape[1]]
    return GV
