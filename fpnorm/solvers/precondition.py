"""Sparse inverse-Cholesky factor of a kernel matrix by Kullback-Leibler minimisation in a maximin ordering.

For points ``x_1..x_N`` on the unit torus ``[0, 1)^d`` and a stationary positive definite kernel
``kappa(z) = sum_k g_k e^{2 pi i k.z}``, :func:`build_kl_factor` returns a sparse ``L`` with ``L L^T ~ G^-1`` for
``G_ij = kappa(x_i - x_j)`` (Schaefer, Katzfuss, Owhadi, "Sparse Cholesky factorization by Kullback-Leibler
minimization", SIAM J. Sci. Comput. 2021):

- **Ordering.** :func:`fpnorm.solvers.maximin.maximin_ordering` orders the points coarse to fine: level by level, each
  level a maximal set of points at least ``r`` apart and at least ``r`` from every earlier point (``r`` halving from
  level to level; an ``r``-net hierarchy, so ``l_i``, the distance of point ``i`` to the points of coarser levels,
  lies in ``[r, 2r)``: the maximin ordering up to a factor 2). Within a level, points farther from the coarser ones
  come first.
- **Pattern.** The factor is lower triangular in the *reverse* ordering (fine to coarse): column ``i`` holds ``i``
  and the points earlier than ``i`` in the maximin ordering within torus distance ``max(rho * l_i, floor)`` (at
  most ``max_set``, the nearest). Earlier points are ``l_i``-separated, so a column has ``O(rho^d)`` entries within
  ``rho * l_i`` (the floor adds those within ``floor``, up to ``max_set``) and the factor ``O(N rho^d)``; the
  accuracy improves exponentially with ``rho`` for Matern-like kernels.
- **Floor.** A box-truncated kernel is band-limited: on balls much smaller than its resolution ``1/K`` it is nearly
  a low-degree polynomial, and a point closer than that to an earlier one is predicted by the whole neighbourhood at
  that scale, not by the few points within ``rho * l_i``. So no column looks less far than ``floor = FLOOR[d] / K``
  (``Kernel.resolution``). Measured on ``L^T G L`` (dense eigenvalues, d = 2, N = 5000, K = 64, Sobolev(2),
  rho = 5): without the floor its spectrum runs from 0.0019 to 2.7, with about 50 eigenvalues below 0.1, the
  smallest each on a pair of points closer than 0.07 / K; with the floor at 1 / K from 0.14 to 2.2, at 2 / K from
  0.49 to 1.55.
- **Columns.** Column ``i`` on its set ``S_i`` (``i`` first) is ``G_SS^-1 e_1 / sqrt(e_1^T G_SS^-1 e_1)``, the
  minimiser of the KL divergence between ``N(0, G)`` and ``N(0, (L L^T)^-1)`` over the pattern; when every set holds
  all earlier points it is the exact Cholesky factor of ``G^-1`` in the reverse ordering. The small matrices are
  solved in batches of equal size. They are written in increments ``x_a - x_r`` from the nearest earlier point ``r``,
  whose covariances are sums of variogram values ``kappa(0) - kappa(z)``, so a point far closer than ``1/K`` to
  another still gets an accurate column, and a relative ``jitter`` caps the columns' size on the tightest clusters
  (a preconditioner need not be exact: what the factor does not capture is left to the Krylov solver).

Contract for reuse (any stationary kernel, e.g. ``K = None`` kernels in closed form)::

    L, order = build_kl_factor(points, kernel, rho=rho)

``points`` has shape (N, d) in periods (the unit torus); ``kernel`` is a :class:`Kernel`, made by
:func:`box_kernel` from a truncated box of ``g = gamma(k)^2`` or directly from ``kappa(0)`` and a variogram callable
``z (n, d) -> kappa(0) - kappa(z)`` (which should keep its relative accuracy for small ``z``), and for a
band-limited kernel its resolution (the floor; 0, the default, for kernels that screen at every scale). ``L`` is a
``scipy.sparse.csc_matrix`` indexed like the points (not permuted); ``order`` is the maximin ordering, and
``L[order[::-1]][:, order[::-1]]`` is lower triangular. Use ``L.T @ r`` and ``L @ u`` as the two halves of the
preconditioner ``G^-1 ~ L L^T`` (CG on ``L^T G L``).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
from scipy.fft import irfftn, next_fast_len

from .._internal.memory import check_memory
from .._internal.threads import background, cores, map_threads
from .maximin import KLPattern, kl_pattern, unit_points
from .pairs import local_pairs
from .variogram import variogram_1d

__all__ = ["Kernel", "box_kernel", "table_memory", "build_kl_factor", "LocalKernel", "finite_weights", "local_kernel",
           "local_variograms", "kl_factor", "JITTER"]

# Relative jitter of the (unit-diagonal) local covariance matrices: trades exactness on the tightest clusters for
# columns that do not amplify rounding in the products. The box kernel is nearly a low-degree polynomial on a cluster
# much narrower than 1/K, so a point there is predicted from its neighbours far better than from its nearest one, and
# a larger jitter leaves that directions' scale wrong. Iterations at 1-d N = 1e5, K = 2^17, Sobolev(1.5), uniform
# random points (the benchmark's draw and seeds 1 / 2 / 3), at jitter 1e-9 / 1e-12 / 1e-14 / 1e-16: 200 / 25 / 15 /
# 18, seed 1 122 / 23 / 15 / 14, seed 2 - / 32 / 29 / -, seed 3 467 / 43 / 18 / 23. Unchanged between 1e-12 and 1e-15:
# the other Scale rows (1-d N = 5e3, 2e4, LFP(1,1) N = 1e5; 2-d N = 2e4 and 8e4; 3-d N = 2e4) and the K = None
# matrix-free solves (2-d and 3-d N = 2e4: 32 and 56).
JITTER = 1e-14
# d >= 2 box kernels: pairs with K |z|_2 below this get the variogram's Taylor series (_near_variogram); farther pairs
# come from the tabulated kernel.
_DIRECT_RANGE = 0.05
# Terms of that series: |2 pi k.z| <= 2 pi sqrt(3) _DIRECT_RANGE = 0.54, so the first term left out is below 2e-17 of
# the sum. Against the direct sums sum_k g_k 2 sin^2(pi k.z) it replaces, 2-d N = 8e4, K = 256 (~400 pairs within
# 0.05 / K, 263169 modes each): their variogram 0.28 s against 1.31 s (profile), the factor 2.7-3.0 s against 3.9 s.
_SERIES_TERMS = 7
# Table of the kernel in d >= 2: a cubic spline on a grid oversampled this much (at most _TABLE_POINTS nodes).
_TABLE_OVERSAMPLING = 4
_TABLE_POINTS = 2**24
# Kernel values per spline evaluation: bounds their temporaries.
_CHUNK = 2**22
# Entries of the local matrices solved in one batch (their temporaries are a few times this many floats). Smaller
# batches reuse their memory instead of faulting in fresh pages: measured in 3-d, N = 2e4, rho = 3, the factor took
# 2.5-2.7 s with 2^21 against 2.9-3.3 s with 2^23.
_LOCAL_ENTRIES = 2**21


@dataclass(frozen=True)
class Kernel:
    """A stationary kernel on the unit torus, as the factor needs it.

    Attributes
    ----------
    kappa0 : float
        ``kappa(0)``, positive.
    variogram : callable
        ``z`` of shape (n, d) (differences in periods) -> ``kappa(0) - kappa(z)``, shape (n,).
    dim : int
    resolution : float
        The length (in periods) below which the kernel is nearly polynomial: ``1/K`` for a box of half-width
        ``K``, 0 for a kernel that screens at every scale (``K = None``). Columns look at least ``FLOOR[d]`` of it
        far.
    """

    kappa0: float
    variogram: Callable
    dim: int
    resolution: float = 0.0


def box_kernel(g):
    """The :class:`Kernel` of a truncated box of finite, positive, even weights ``g = gamma(k)^2``.

    In 1-d the variogram to a few units of rounding of its own size (:func:`fpnorm.solvers.variogram.variogram_1d`);
    in d >= 2 a cubic spline of the kernel tabulated on an oversampled FFT grid, with a Taylor series for nearly
    coincident points (a preconditioner need not be exact).

    Parameters
    ----------
    g : ndarray, shape ``(2K+1,)*d``

    Examples
    --------
    >>> import numpy as np
    >>> k = np.arange(-8, 9)
    >>> ker = box_kernel(1.0 / (1.0 + (2 * np.pi * k) ** 2))
    >>> z = np.array([[0.1], [1e-9]])
    >>> exact = np.sum(2 * np.sin(np.pi * k * z) ** 2 / (1.0 + (2 * np.pi * k) ** 2), axis=1)
    >>> bool(np.allclose(ker.variogram(z), exact, rtol=1e-9, atol=0))
    True
    """
    g = np.asarray(g, dtype=float)
    dim = g.ndim
    if not (np.isfinite(g).all() and (g >= 0).all() and g.sum() > 0):
        raise ValueError(f"Expected `g` finite and nonnegative with a positive sum, got min {np.min(g)!r}, "
                         f"max {np.max(g)!r}.")
    K = g.shape[0] // 2
    kappa0 = float(np.sum(g))
    if dim == 1:
        def variogram(z):
            return variogram_1d(g, 2 * np.pi * _torus_abs(z[:, 0]), eps=1e-14)

        return Kernel(kappa0, variogram, 1, _box_resolution(g))
    n = _table_size(K, dim)
    check_memory(table_memory(K, dim), f"the preconditioner's kernel table ({n}^{dim})", "Use a smaller K.")
    coef = np.zeros((n,) * dim)
    idx = np.ix_(*[np.arange(-K, K + 1) % n] * dim)
    coef[idx] = g
    # kappa at the grid nodes j / n; g is even, so coef is Hermitian and its half spectrum gives kappa (real)
    table = irfftn(coef[..., :n // 2 + 1], s=(n,) * dim, overwrite_x=True, workers=cores()) * float(n) ** dim
    spline = ndi.spline_filter(table, order=3, mode="grid-wrap")
    del table
    series = []                      # made on the first near pair

    def variogram(z):
        zw = z - np.round(z)
        near = np.sqrt(np.sum(zw * zw, axis=1)) * K <= _DIRECT_RANGE
        out = np.empty(z.shape[0])
        far = np.flatnonzero(~near)

        def interpolate(part):                  # into disjoint entries of `out`: the parts may run side by side
            coords = (np.mod(z[part], 1.0) * n).T
            out[part] = kappa0 - ndi.map_coordinates(spline, coords, order=3, mode="grid-wrap", prefilter=False)

        # scipy.ndimage releases the GIL: the parts are shared among the cores, a part each at once, _CHUNK in all
        parts = max(cores(), -(-far.size * cores() // _CHUNK)) if far.size else 0
        map_threads(interpolate, np.array_split(far, parts))
        close = np.flatnonzero(near)
        if close.size and not series:
            series.append(_near_variogram(g))
        step = _CHUNK // (2 * _SERIES_TERMS + 1)            # the series' powers: 2 _SERIES_TERMS + 1 floats an axis
        for s in range(0, close.size, step):
            part = close[s:s + step]
            out[part] = series[0](zw[part])
        return out

    return Kernel(kappa0, variogram, dim, _box_resolution(g))


def _box_resolution(g):
    """The resolution of the box kernel of `g` (:attr:`Kernel.resolution`): ``1/K``."""
    return 1.0 / max(np.shape(g)[0] // 2, 1)


def _near_variogram(g):
    """``z (n, d) -> sum_k g_k 2 sin^2(pi k.z)`` for ``K |z|_2 <= _DIRECT_RANGE``, by its Taylor series
    ``sum_n (-1)^(n+1) (2 pi)^(2n) / (2n)! sum_k g_k (k.z)^(2n)``, each power expanded in the moments
    ``mu_a = sum_k g_k k^a`` (``|a| = 2n``): ``(2 n + 1)^d`` multiply-adds a pair instead of ``(2K+1)^d``. The terms
    are exact to the moments' rounding: within 1.3e-15 of the direct sum for weights even in each coordinate (every
    weight class of fpnorm), 4e-13 measured for a callable weight concentrated along a diagonal, whose mixed
    moments nearly cancel the pure ones (a preconditioner need not be exact)."""
    dim = g.ndim
    K = g.shape[0] // 2
    top = 2 * _SERIES_TERMS
    powers = np.arange(-K, K + 1, dtype=float)[:, None] ** np.arange(top + 1)        # (2K+1, top+1)
    letters = "abcdefgh"[:dim]
    mom = np.einsum(",".join(f"{c}{c.upper()}" for c in letters) + "," + letters + "->" + letters.upper(),
                    *([powers] * dim), g, optimize=True)                              # mu_a, a in [0, top]^d
    grids = np.meshgrid(*[np.arange(top + 1)] * dim, indexing="ij")
    degree = sum(grids)
    coef = np.zeros_like(mom)
    factorial = np.array([math.factorial(i) for i in range(top + 1)], dtype=float)
    for n in range(1, _SERIES_TERMS + 1):
        on = degree == 2 * n
        # (k.z)^(2n) = sum_{|a| = 2n} (2n)! / prod a_i! k^a z^a: the (2n)! cancels the series' own
        multinomial = 1.0 / np.prod([factorial[gi[on]] for gi in grids], axis=0)
        coef[on] = (-1.0) ** (n + 1) * (2 * np.pi) ** (2 * n) * multinomial * mom[on]
    spec = ",".join(f"z{c.upper()}" for c in letters) + "," + letters.upper() + "->z"

    def near(z):
        zp = [z[:, i:i + 1] ** np.arange(top + 1) for i in range(dim)]
        return np.einsum(spec, *zp, coef, optimize=True)

    return near


def table_memory(K, dim):
    """Bytes of the kernel table :func:`box_kernel` makes for a box of half-width `K` in `dim` dimensions (none in
    1-d): the table and its spline coefficients, ``24 n^d`` for ``n`` points an axis.

    Examples
    --------
    >>> table_memory(1000, 1), table_memory(24, 3) // 2**20
    (0, 172)
    """
    return 0 if dim == 1 else 24 * _table_size(K, dim) ** dim


def _table_size(K, dim):
    """Grid points per axis of the d >= 2 kernel table: oversampled, bounded in total, a fast FFT length."""
    want = _TABLE_OVERSAMPLING * (2 * K + 1)
    cap = int(_TABLE_POINTS ** (1.0 / dim))
    return next_fast_len(max(2 * K + 2, min(want, cap)))


def _torus_abs(z):
    """``|z|`` on the circle of period 1, in ``[0, 1/2]``."""
    return np.abs(z - np.round(z))


@dataclass(frozen=True)
class LocalKernel:
    """A kernel on a :class:`KLPattern`: the inputs of :func:`kl_factor`, kept to refactor the same points for the
    kernel plus another stationary term (``kappa0`` and ``variograms`` plus that term's).

    The columns share most of their pairs (about a quarter of the local pairs are distinct on the Scale rows), so the
    variogram is kept once per distinct pair, and another term need only be evaluated there.

    Attributes
    ----------
    pattern : KLPattern
    kappa0 : float
    pairs : int64 ndarray, shape (U, 2)
        The distinct local pairs (point indices, the smaller first; :func:`local_pairs`).
    values : ndarray, shape (U,)
        The variogram ``kappa(0) - kappa`` at those pairs.
    inverse : int ndarray, shape (P,)
        ``values[inverse]`` is the variogram on the pattern's local pairs, in the order of :meth:`KLPattern.buckets`.
    """

    pattern: KLPattern
    kappa0: float
    pairs: np.ndarray
    values: np.ndarray
    inverse: np.ndarray

    @property
    def variograms(self):
        """The variogram on the pattern's local pairs, shape (P,): :func:`local_variograms` of the kernel."""
        return self.values[self.inverse]


def local_variograms(pattern, kernel):
    """``kappa(0) - kappa(x_a - x_b)`` on the local pairs of `pattern` (:meth:`KLPattern.buckets`), shape (P,).

    The columns share most of their pairs: the variogram is evaluated once per distinct pair (:func:`local_pairs`).

    Examples
    --------
    >>> k = np.arange(-6, 7)
    >>> g = 1.0 / (1.0 + (2 * np.pi * k) ** 2)
    >>> pattern = kl_pattern(np.array([0.0, 0.5, 0.25, 0.26]), rho=2.0)
    >>> v = local_variograms(pattern, box_kernel(g))
    >>> exact = np.sum(2 * g * np.sin(np.pi * k * pattern.pair_distances()[:, None]) ** 2, axis=1)
    >>> bool(np.allclose(v, exact, rtol=1e-12, atol=0))
    True
    """
    pairs, inverse = local_pairs(pattern)
    return _pair_variograms(pattern, kernel, pairs)[inverse]


def _pair_variograms(pattern, kernel, pairs):
    """The kernel's variogram at the point pairs `pairs` (U, 2) of `pattern`."""
    x = pattern.points
    return kernel.variogram(x[pairs[:, 0]] - x[pairs[:, 1]]) if pairs.size else np.zeros(0)


def finite_weights(g):
    """``g = gamma(k)^2`` with its free (infinite) entries at its largest finite one (1 if none is finite): the
    weights a preconditioner factors. The kernel matrix is projected off the free modes, so any finite weight serves
    there, and the largest keeps them from looking nearly singular to the factor.

    Examples
    --------
    >>> finite_weights(np.array([0.1, np.inf, 0.2])).tolist()
    [0.1, 0.2, 0.2]
    """
    g = np.asarray(g, dtype=float)
    finite = g[np.isfinite(g)]
    return np.where(np.isinf(g), float(finite.max()) if finite.size else 1.0, g)


def local_kernel(points, g, *, rho=None, max_set=None, floor=None):
    """The box kernel of ``g = gamma(k)^2`` on its KL pattern (:class:`LocalKernel`), free entries of ``g`` as
    :func:`finite_weights` sets them.

    Parameters
    ----------
    points : ndarray, shape (N, d) or (N,)
        In periods on the unit torus.
    g : ndarray, shape ``(2K+1,)*d``
        Nonnegative, ``inf`` at free modes.
    rho, max_set, floor
        As in :func:`build_kl_factor` (default floor ``FLOOR[d] / K``).

    Returns
    -------
    LocalKernel

    Examples
    --------
    >>> g = np.r_[np.full(4, 0.1), np.inf, np.full(4, 0.1)]
    >>> local = local_kernel(np.array([0.0, 0.5, 0.25, 0.26]), g)      # K = 4: the floor 8 / K covers the circle
    >>> local.kappa0, np.diff(local.pattern.indptr).tolist()           # each point with every earlier one
    (0.9, [1, 2, 3, 4])
    """
    weights = finite_weights(g)
    # the d >= 2 kernel table (an FFT and a spline filter) is made in a thread while the pattern is, on two cores
    kernel = background(box_kernel, weights)
    pattern = kl_pattern(points, resolution=_box_resolution(weights), rho=rho, max_set=max_set, floor=floor)
    pairs, inverse = local_pairs(pattern)
    kernel = kernel.result()
    return LocalKernel(pattern, kernel.kappa0, pairs, _pair_variograms(pattern, kernel, pairs), inverse)


def kl_factor(pattern, kappa0, variograms, *, jitter=JITTER):
    """The KL columns on `pattern` for a kernel given by ``kappa(0)`` and its variogram on the local pairs.

    Parameters
    ----------
    pattern : KLPattern
    kappa0 : float
        ``kappa(0)``, positive.
    variograms : ndarray, shape (P,)
        ``kappa(0) - kappa`` on the pattern's local pairs (:func:`local_variograms`, or those plus another stationary
        positive definite kernel's).
    jitter : float
        As in :func:`build_kl_factor`.

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)

    Examples
    --------
    The factor of a kernel plus a nugget ``T0`` (``T0`` on the diagonal only) from the kernel's own values:

    >>> k = np.arange(-6, 7)
    >>> g = 1.0 / (1.0 + (2 * np.pi * k) ** 2)
    >>> x = np.random.default_rng(0).random(8)
    >>> pattern = kl_pattern(x, rho=100.0)
    >>> v = local_variograms(pattern, box_kernel(g))
    >>> L = kl_factor(pattern, g.sum() + 0.1, v + 0.1, jitter=0.0).toarray()
    >>> G = np.sum(g * np.cos(2 * np.pi * k * (x[:, None, None] - x[None, :, None])), axis=2) + 0.1 * np.eye(8)
    >>> bool(np.allclose(L.T @ G @ L, np.eye(8), atol=1e-8))
    True
    """
    N = pattern.points.shape[0]
    k0 = float(kappa0)
    if not 0 < k0 < np.inf:
        raise ValueError(f"Expected `kappa0` positive and finite, got {kappa0!r}.")
    sizes = np.diff(pattern.indptr)
    pairs = int(np.sum(sizes * (sizes - 1) // 2))
    if np.shape(variograms) != (pairs,):
        raise ValueError(f"Expected `variograms` of shape ({pairs},) (the pattern's local pairs), got "
                         f"{np.shape(variograms)}.")
    # one batch's temporaries in _columns: about eight arrays of the batch's entries, a batch at most _LOCAL_ENTRIES,
    # a batch on each core at once
    check_memory(64 * min(int(np.sum(sizes.astype(float) ** 2)), _LOCAL_ENTRIES * cores()) + 24 * int(np.sum(sizes)),
                 "the preconditioner's local matrices", "Use a smaller `rho`.")
    rows, cols, batches = [], [], []
    used = 0
    for S, a, b in pattern.buckets():
        B, n = S.shape
        rows.append(S.reshape(-1))
        cols.append(np.repeat(S[:, 0], n))
        if n == 1:
            batches.append((B, None, None, None))
            continue
        pairs = variograms[used:used + B * a.size].reshape(B, -1)
        used += B * a.size
        step = max(1, _LOCAL_ENTRIES // (n * n))           # columns per batch: bounded temporaries
        batches += [(n, pairs[c:c + step], a, b) for c in range(0, B, step)]

    def batch_columns(batch):
        n, pairs, a, b = batch
        if pairs is None:                                   # columns of one point (n is their number here)
            return np.full(n, 1.0 / np.sqrt(k0))
        gam = np.zeros((pairs.shape[0], n, n))
        gam[:, a, b] = pairs
        gam[:, b, a] = gam[:, a, b]
        return _columns(gam, k0, jitter).reshape(-1)

    # the batches are independent and numpy's batched solve releases the GIL: on two cores, a batch on each
    vals = map_threads(batch_columns, batches)
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N, N))


def build_kl_factor(points, kernel, *, rho=None, max_set=None, jitter=JITTER, floor=None):
    """The KL-minimising sparse inverse-Cholesky factor: ``L L^T ~ G^-1`` (see the module docstring).

    :func:`kl_pattern`, :func:`local_variograms` and :func:`kl_factor` in one call.

    Parameters
    ----------
    points : ndarray, shape (N, d) or (N,)
        In periods on the unit torus.
    kernel : Kernel
        See :func:`box_kernel`.
    rho : float, optional
        Sparsity radius in units of the length scales (default :data:`fpnorm.solvers.maximin.RHO` for the
        dimension).
    max_set : int, optional
        Largest column (default :data:`fpnorm.solvers.maximin.MAX_SET`).
    jitter : float
        Relative diagonal jitter of the local covariance matrices; 0 gives the exact KL minimiser.
    floor : float, optional
        Smallest radius of a column, in periods (default ``FLOOR[d] * kernel.resolution``,
        :data:`fpnorm.solvers.maximin.FLOOR`).

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)
    order : int ndarray, shape (N,)
        The maximin ordering; ``L`` is lower triangular in ``order[::-1]``.

    Examples
    --------
    With a radius covering every point the factor is exact:

    >>> import numpy as np
    >>> k = np.arange(-6, 7)
    >>> g = 1.0 / (1.0 + (2 * np.pi * k) ** 2)
    >>> x = np.random.default_rng(0).random(8)
    >>> L, order = build_kl_factor(x, box_kernel(g), rho=100.0, jitter=0.0)
    >>> G = np.sum(g * np.cos(2 * np.pi * k * (x[:, None, None] - x[None, :, None])), axis=2)
    >>> bool(np.allclose(L.toarray().T @ G @ L.toarray(), np.eye(8), atol=1e-8))
    True
    """
    if not isinstance(kernel, Kernel):
        raise TypeError(f"Expected `kernel` a Kernel (see box_kernel), got {type(kernel).__name__}.")
    x = unit_points(points)
    if x.shape[1] != kernel.dim:
        raise ValueError(f"Expected `points` of dimension {kernel.dim} (the kernel's), got {x.shape[1]}.")
    if not 0 <= kernel.resolution < np.inf:
        raise ValueError(f"Expected `kernel.resolution` finite and nonnegative, got {kernel.resolution!r}.")
    pattern = kl_pattern(x, resolution=kernel.resolution, rho=rho, max_set=max_set, floor=floor)
    return kl_factor(pattern, kernel.kappa0, local_variograms(pattern, kernel), jitter=jitter), pattern.order


def _columns(gam, k0, jitter):
    """KL columns ``G_SS^-1 e_0 / sqrt((G_SS^-1)_00)`` from the variogram matrices ``gam`` (B, n, n), n >= 2.

    Variables ``D_0 = Z_0 - Z_1``, ``Z_1``, ``D_a = Z_a - Z_1`` (point 1 the nearest earlier one) have covariances
    that are sums of variogram values, exact to rounding however close the points are; with ``T`` that change of
    variables (``T e_0 = e_0``), ``G^-1 e_0 = T^T S^-1 e_0`` and ``(G^-1)_00 = (S^-1)_00``.
    """
    B, n, _ = gam.shape
    gr = gam[:, :, 1]
    sig = gr[:, :, None] + gr[:, None, :] - gam
    sig[:, 1, :] = -gr
    sig[:, :, 1] = -gr
    sig[:, 1, 1] = k0
    diag = np.diagonal(sig, axis1=1, axis2=2)
    scale = np.sqrt(np.maximum(diag, 1e-300 * k0))
    unit = sig / (scale[:, :, None] * scale[:, None, :])
    unit[:, np.arange(n), np.arange(n)] = 1.0 + jitter
    rhs = np.zeros((B, n, 1))
    rhs[:, 0, 0] = 1.0
    try:
        s = np.linalg.solve(unit, rhs)[:, :, 0]
    except np.linalg.LinAlgError:
        s = np.stack([np.linalg.lstsq(u, rhs[0], rcond=None)[0][:, 0] for u in unit])
    s = s / scale / scale[:, :1]                                    # S^-1 e_0 in the unscaled variables
    s0 = s[:, 0]
    ok = (s0 > 0) & np.isfinite(s).all(axis=1)
    col = np.empty_like(s)
    col[:, :] = s
    col[:, 1] = s[:, 1] - s[:, 0] - s[:, 2:].sum(axis=1)           # T^T: Z_1 carries minus every increment
    col /= np.sqrt(np.where(ok, s0, 1.0))[:, None]
    col[~ok] = 0.0
    col[~ok, 0] = 1.0 / np.sqrt(k0)                                # a column the jitter could not save: diagonal
    return col
