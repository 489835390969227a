"""Sparse inverse-Cholesky factor of a kernel matrix by Kullback-Leibler minimisation in a maximin ordering.

For points ``x_1..x_N`` on the unit torus ``[0, 1)^d`` and a stationary positive definite kernel
``kappa(z) = sum_k g_k e^{2 pi i k.z}``, :func:`build_kl_factor` returns a sparse ``L`` with ``L L^T ~ G^-1`` for
``G_ij = kappa(x_i - x_j)`` (Schaefer, Katzfuss, Owhadi, "Sparse Cholesky factorization by Kullback-Leibler
minimization", SIAM J. Sci. Comput. 2021):

- **Ordering.** :func:`maximin_ordering` orders the points coarse to fine: level by level, each level a maximal set
  of points at least ``r`` apart and at least ``r`` from every earlier point (``r`` halving from level to level; an
  ``r``-net hierarchy, so ``l_i``, the distance of point ``i`` to the points of coarser levels, lies in ``[r, 2r)``:
  the maximin ordering up to a factor 2). Within a level, points farther from the coarser ones come first.
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
from scipy.spatial import cKDTree

from .._internal.memory import check_memory
from .variogram import variogram_1d

__all__ = ["Kernel", "box_kernel", "table_memory", "maximin_ordering", "sparsity_sets", "build_kl_factor",
           "unique_inverse", "RHO", "MAX_SET", "FLOOR"]

# Default sparsity radius by dimension, from the measured radius-vs-iterations curve with the floor below (uniform
# random points, Sobolev(2), rtol 1e-10, solve_iterative in one process): 2-d N = 8e4, K = 256: 70 / 27 / 22 / 18
# iterations at rho = 2 / 3 / 4 / 5 with the factor taking 4.1 / 4.3 / 6.4 / 8.2 s (its columns growing like rho^2;
# these factor times are from before the near pairs' series, _SERIES_TERMS); 3-d N = 2e4, K = 24, floor 2 / K: 24 / 14
# at rho = 2 / 3 (factor 2.2 / 3.6 s). The 1-d value is the one its floor was measured with.
RHO = {1: 6.0, 2: 3.0, 3: 3.0}
# Smallest column radius in units of the kernel's resolution (module docstring, "Floor"), from solves of the
# benchmark rows (uniform random points, rtol 1e-10): 2-d N = 2e4, K = 128, Sobolev(2), rho = 5: 129 / 47 / 13 / 10
# iterations at floor 0 / 1 / 2 / 3; N = 8e4, K = 256, rho = 3: 27 / 16 at floor 2 / 3 (factor 4.3 / 6.9 s before the
# series); 3-d N = 2e4, K = 24, Sobolev(2), rho = 3: 57 / 25 / 16 / 14 at floor 0 / 1 / 1.5 / 2 (factor 2.3 s at 1.5,
# 3.6 s at 2); 1-d N = 1e5, K = 2^17, Sobolev(1.5): 523 / 77 / 24 / 20 at floor 2 / 4 / 8 / 12.
FLOOR = {1: 8.0, 2: 2.0, 3: 1.5}
# Largest column (the nearest points are kept): bounds the dense work per column on unusual point sets.
MAX_SET = {1: 24, 2: 48, 3: 64}
# Relative jitter of the (unit-diagonal) local covariance matrices: trades exactness on the tightest clusters for
# columns that do not amplify rounding in the products.
JITTER = 1e-12
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
# Kernel values per spline evaluation, keys per packing chunk (unique_inverse): bounds their temporaries.
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

        return Kernel(kappa0, variogram, 1, 1.0 / max(K, 1))
    n = _table_size(K, dim)
    check_memory(table_memory(K, dim), f"the preconditioner's kernel table ({n}^{dim})", "Use a smaller K.")
    coef = np.zeros((n,) * dim)
    idx = np.ix_(*[np.arange(-K, K + 1) % n] * dim)
    coef[idx] = g
    # kappa at the grid nodes j / n; g is even, so coef is Hermitian and its half spectrum gives kappa (real)
    table = irfftn(coef[..., :n // 2 + 1], s=(n,) * dim, overwrite_x=True) * float(n) ** dim
    spline = ndi.spline_filter(table, order=3, mode="grid-wrap")
    del table
    series = []                      # made on the first near pair

    def variogram(z):
        zw = z - np.round(z)
        near = np.sqrt(np.sum(zw * zw, axis=1)) * K <= _DIRECT_RANGE
        out = np.empty(z.shape[0])
        far = np.flatnonzero(~near)
        for s in range(0, far.size, _CHUNK):
            part = far[s:s + _CHUNK]
            coords = (np.mod(z[part], 1.0) * n).T
            out[part] = kappa0 - ndi.map_coordinates(spline, coords, order=3, mode="grid-wrap", prefilter=False)
        close = np.flatnonzero(near)
        if close.size and not series:
            series.append(_near_variogram(g))
        step = _CHUNK // (2 * _SERIES_TERMS + 1)            # the series' powers: 2 _SERIES_TERMS + 1 floats an axis
        for s in range(0, close.size, step):
            part = close[s:s + step]
            out[part] = series[0](zw[part])
        return out

    return Kernel(kappa0, variogram, dim, 1.0 / max(K, 1))


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


def _unit_points(points):
    x = np.asarray(points, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or not np.isfinite(x).all():
        raise ValueError(f"Expected `points` a finite array of shape (N, d) or (N,), got shape {np.shape(points)}.")
    x = np.mod(x, 1.0)
    x[x >= 1.0] = 0.0
    return x


def maximin_ordering(points):
    """A maximin (coarse-to-fine) ordering of points on the unit torus and each point's length scale.

    Level by level with ``r = sqrt(d)/2, sqrt(d)/4, ...``: the points at least ``r`` from every earlier point are
    candidates, and a maximal ``r``-separated subset of them (farthest first) joins the ordering. So every point
    after a level lies within ``r`` of the ordering so far, and ``l_i`` (the distance of ``i`` to the points of
    coarser levels) is in ``[r, 2r)`` on its level: the farthest-point ordering up to a factor 2.

    Parameters
    ----------
    points : ndarray, shape (N, d) or (N,)
        In periods (wrapped onto ``[0, 1)``).

    Returns
    -------
    order : int ndarray, shape (N,)
        Point indices, coarse to fine.
    length : ndarray, shape (N,)
        ``l_i`` indexed like the points; ``inf`` for the first point.

    Examples
    --------
    >>> order, length = maximin_ordering(np.array([0.0, 0.5, 0.25, 0.26]))
    >>> order.tolist(), length[order[1:]].round(2).tolist()
    ([0, 1, 2, 3], [0.5, 0.25, 0.01])
    """
    x = _unit_points(points)
    N, dim = x.shape
    length = np.full(N, np.inf)
    chosen = [np.array([0])]
    done = np.zeros(N, dtype=bool)
    done[0] = True
    r = np.sqrt(dim) / 2
    # each point's distance to the points ordered so far, kept up to date with each level's new points alone: after
    # a level every remaining point lies within r of the ordering, so only new points nearer than r can lower it (a
    # bounded query), and the minimum over the levels is the distance a query of all of them gives (the same
    # ordering and lengths). Measured with _separated's bounded query below, best of 3 in one process against a NUFFT
    # pair (eps 1e-12, K = 256 / 24): 2-d, 8e4 uniform points 0.56 s = 7.3 pairs, 3-d, 2e4 points 3.1 pairs, against
    # 10.2 and 3.9 pairs for a tree of all the ordered points rebuilt and queried by every remaining point per level
    dist = cKDTree(x[:1], boxsize=1.0).query(x, k=1)[0]
    while not done.all():
        rest = np.flatnonzero(~done)
        if r < 1e-16:                  # coincident points: the rest in any order
            cand, pri = rest, dist[rest]
            take = cand[np.argsort(-pri, kind="stable")]
        else:
            ok = dist[rest] >= r
            cand, pri = rest[ok], dist[rest[ok]]
            take = _separated(x, cand, pri, r)
        length[take] = dist[take]
        chosen.append(take)
        done[take] = True
        left = np.flatnonzero(~done)
        if left.size:
            near, _ = cKDTree(x[take], boxsize=1.0).query(x[left], k=1, distance_upper_bound=r)
            dist[left] = np.minimum(dist[left], near)
        r = r / 2
    return np.concatenate(chosen), length


def _separated(x, cand, pri, r):
    """A maximal subset of `cand` with pairwise torus distance >= r, farthest (highest `pri`) first; returned in
    decreasing priority.

    Rounds: in each cell of side ``r / sqrt(d)`` (any two of its points are within ``r``) only the highest-priority
    pending point competes; among those, the local maxima of priority over their ``r``-neighbours are kept (Luby),
    and every pending point within ``r`` of a kept one drops out. So no round looks at more than one point per cell
    (memory bounded by the packing number, not by the candidates), and the result is maximal: a candidate is left
    out only within ``r`` of a kept point.
    """
    if cand.size <= 1:
        return cand
    dim = x.shape[1]
    rank = np.empty(cand.size, dtype=np.int64)
    rank[np.lexsort((cand, -pri))] = np.arange(cand.size)       # 0 = highest priority
    cells = np.floor(x[cand] * (np.sqrt(dim) / r)).astype(np.int64)
    pending = np.ones(cand.size, dtype=bool)
    keep = np.zeros(cand.size, dtype=bool)
    while pending.any():
        sub = np.flatnonzero(pending)
        srt = sub[np.lexsort((rank[sub],) + tuple(cells[sub].T[::-1]))]
        first = np.ones(srt.size, dtype=bool)
        first[1:] = np.any(cells[srt[1:]] != cells[srt[:-1]], axis=1)
        lead = srt[first]                                       # the best pending point of each cell
        if lead.size == 1:
            new = lead
        else:
            pairs = cKDTree(x[cand[lead]], boxsize=1.0).query_pairs(r * (1 - 1e-12), output_type="ndarray")
            beaten = np.zeros(lead.size, dtype=bool)
            if pairs.size:
                a, b = pairs[:, 0], pairs[:, 1]
                beaten[np.where(rank[lead[a]] < rank[lead[b]], b, a)] = True
            new = lead[~beaten]
        keep[new] = True
        pending[new] = False
        rest = np.flatnonzero(pending)
        if rest.size:
            # only whether a kept point is nearer than r matters: a bounded query, which prunes the tree
            dist, _ = cKDTree(x[cand[new]], boxsize=1.0).query(x[cand[rest]], k=1, distance_upper_bound=r)
            pending[rest[dist < r * (1 - 1e-12)]] = False
    out = np.flatnonzero(keep)
    return cand[out[np.argsort(rank[out])]]


def sparsity_sets(points, order, length, rho, *, max_set=None, floor=0.0):
    """Each point's column: itself, then the earlier points (in `order`) within ``max(rho * l_i, floor)``, nearest
    first.

    Parameters
    ----------
    points : ndarray, shape (N, d) or (N,)
        In periods on the unit torus.
    order, length : ndarray, shape (N,)
        The maximin ordering and the length scales ``l_i`` (:func:`maximin_ordering`).
    rho : float
        Radius in units of ``l_i``.
    max_set : int, optional
        Largest set, the point included (default :data:`MAX_SET`): the nearest are kept.
    floor : float
        Smallest radius, in periods.

    Returns
    -------
    indptr, indices : int ndarrays
        The set of point ``i`` (indexed like the points) is ``indices[indptr[i]:indptr[i + 1]]``, starting with
        ``i``; at most `max_set` entries, the nearest kept.

    Examples
    --------
    >>> x = np.array([0.0, 0.5, 0.25, 0.26])
    >>> order, length = maximin_ordering(x)
    >>> indptr, indices = sparsity_sets(x, order, length, 2.0)
    >>> indices[indptr[3]:indptr[4]].tolist()        # 0.26: itself, then 0.25 (within 2 * 0.01)
    [3, 2]
    >>> indptr, indices = sparsity_sets(x, order, length, 2.0, floor=0.3)
    >>> indices[indptr[3]:indptr[4]].tolist()        # then 0.5 and 0.0, within the floor
    [3, 2, 1, 0]
    """
    x = _unit_points(points)
    N, dim = x.shape
    max_set = MAX_SET.get(dim, 64) if max_set is None else int(max_set)
    owners, members, dists = [order[:1]], [order[:1]], [np.zeros(1)]
    # one tree per level of the ordering (length scales within a factor 2): the earlier points are those before
    # the level's end, filtered by position
    for lo, hi in _batches(length[order]):
        if lo == 0:               # the first point alone (its length is inf): nothing is earlier
            continue
        here = order[lo:hi]
        tree = cKDTree(x[order[:hi]], boxsize=1.0)
        radius = np.minimum(np.maximum(rho * length[here], floor), np.sqrt(dim))
        a, js = _nearest_earlier(tree, x[here], np.arange(lo, hi), radius, max_set - 1)
        j, own = order[js], here[a]
        d = x[j] - x[own]
        d -= np.round(d)
        owners += [here, own]
        members += [here, j]
        dists += [np.full(here.size, -1.0), np.sum(d * d, axis=1)]
    own, mem, dist = np.concatenate(owners), np.concatenate(members), np.concatenate(dists)
    srt = np.lexsort((dist, own))                       # by owner, the point itself (-1) first, then nearest
    own, mem = own[srt], mem[srt]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(own, minlength=N))))
    return indptr, mem


def _nearest_earlier(tree, xq, pos, radius, want):
    """For query points `xq` at positions `pos` of the ordering (the `tree`'s indices are positions too): up to
    `want` nearest tree points before ``pos`` within `radius`, as (query rows, tree indices).

    A k-nearest query, doubling ``k`` for the points whose k-th neighbour is still within the radius with fewer than
    `want` found. Every point of a level lies within ``2 r`` of an earlier one and the level's own points are ``r``
    apart, so earlier points are at least about ``4^-d`` as dense as the level's and ``k`` stays a bounded multiple
    of `want` however many points crowd the radius: 2000 / 8000 / 32000 points within the floor of one another (2-d)
    took 0.06 / 0.24 / 1.2 s, where a ball query listed all N^2 / 2 pairs.
    """
    rows, cols = [], []
    todo = np.arange(xq.shape[0])
    n = tree.n
    k = want + 1
    while todo.size:
        kk = min(k, n)
        dist, js = tree.query(xq[todo], k=kk, distance_upper_bound=float(radius[todo].max()))
        dist, js = dist.reshape(todo.size, kk), js.reshape(todo.size, kk)
        ok = (js < n) & (dist <= radius[todo, None]) & (js < pos[todo, None])
        found = np.cumsum(ok, axis=1)
        more = (kk < n) & (js[:, -1] < n) & (dist[:, -1] <= radius[todo]) & (found[:, -1] < want)
        r, c = np.nonzero(ok & (found <= want) & ~more[:, None])
        rows.append(todo[r])
        cols.append(js[r, c])
        todo, k = todo[more], 2 * k
    return np.concatenate(rows), np.concatenate(cols).astype(np.int64)


def _batches(lengths):
    """Consecutive ranges of the ordering whose length scales lie within a factor 2 (one per level)."""
    N = lengths.size
    lev = np.floor(np.log2(np.where(np.isfinite(lengths) & (lengths > 0), lengths, 1.0))).astype(np.int64)
    lev[~np.isfinite(lengths)] = 10**6
    cuts = np.flatnonzero(np.diff(lev) != 0) + 1
    edges = np.concatenate(([0], cuts, [N]))
    return list(zip(edges[:-1], edges[1:], strict=True))


def build_kl_factor(points, kernel, *, rho=None, max_set=None, jitter=JITTER, floor=None):
    """The KL-minimising sparse inverse-Cholesky factor: ``L L^T ~ G^-1`` (see the module docstring).

    Parameters
    ----------
    points : ndarray, shape (N, d) or (N,)
        In periods on the unit torus.
    kernel : Kernel
        See :func:`box_kernel`.
    rho : float, optional
        Sparsity radius in units of the length scales (default :data:`RHO` for the dimension).
    max_set : int, optional
        Largest column (default :data:`MAX_SET`).
    jitter : float
        Relative diagonal jitter of the local covariance matrices; 0 gives the exact KL minimiser.
    floor : float, optional
        Smallest radius of a column, in periods (default ``FLOOR[d] * kernel.resolution``).

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
    x = _unit_points(points)
    N, dim = x.shape
    if dim != kernel.dim:
        raise ValueError(f"Expected `points` of dimension {kernel.dim} (the kernel's), got {dim}.")
    rho = RHO.get(dim, 2.0) if rho is None else float(rho)
    if not rho > 0:
        raise ValueError(f"Expected `rho` positive, got {rho!r}.")
    if floor is None:
        if not 0 <= kernel.resolution < np.inf:
            raise ValueError(f"Expected `kernel.resolution` finite and nonnegative, got {kernel.resolution!r}.")
        floor = FLOOR.get(dim, 2.0) * kernel.resolution
    floor = float(floor)
    if not 0 <= floor < np.inf:
        raise ValueError(f"Expected `floor` finite and nonnegative, got {floor!r}.")
    order, length = maximin_ordering(x)
    indptr, indices = sparsity_sets(x, order, length, rho, max_set=max_set, floor=floor)
    sizes = np.diff(indptr)
    entries = int(np.sum(sizes.astype(float) ** 2))
    # the pair keys and variogram values (a few floats per entry), and one batch's temporaries in _columns (about
    # eight arrays of the batch's entries, a batch holding at most _LOCAL_ENTRIES)
    check_memory(entries * 8 * 2 + 64 * min(entries, _LOCAL_ENTRIES), "the preconditioner's local matrices",
                 "Use a smaller `rho`.")
    k0 = kernel.kappa0
    # the columns share most of their pairs: the variogram is evaluated once per distinct pair
    buckets = []
    allkeys = np.empty(int(np.sum(sizes * (sizes - 1) // 2)), dtype=np.int64)    # written in place, not joined
    filled = 0
    for n in np.unique(sizes):
        who = np.flatnonzero(sizes == n)
        S = indices[indptr[who][:, None] + np.arange(n)]          # (B, n): the point, then nearest earlier first
        buckets.append(S)
        if n > 1:
            a, b = np.triu_indices(n, 1)
            step = max(1, _LOCAL_ENTRIES // (n * n))
            for c in range(0, S.shape[0], step):
                sa, sb = S[c:c + step, a], S[c:c + step, b]
                key = np.minimum(sa, sb, dtype=np.int64)
                key *= N
                key += np.maximum(sa, sb)
                allkeys[filled:filled + key.size] = key.reshape(-1)
                filled += key.size
    if allkeys.size:
        uniq, inverse = unique_inverse(allkeys, N * N, overwrite_keys=True)
        del allkeys
        z = x[uniq // N] - x[uniq % N]
        del uniq
        gam_pairs = kernel.variogram(z)[inverse]
        del inverse, z
    rows, cols, vals = [], [], []
    used = 0
    for S in buckets:
        B, n = S.shape
        if n == 1:
            rows.append(S[:, 0])
            cols.append(S[:, 0])
            vals.append(np.full(B, 1.0 / np.sqrt(k0)))
            continue
        a, b = np.triu_indices(n, 1)
        pairs = gam_pairs[used:used + B * a.size].reshape(B, -1)
        used += B * a.size
        step = max(1, _LOCAL_ENTRIES // (n * n))           # columns per batch: bounded temporaries
        for c in range(0, B, step):
            gam = np.zeros((min(step, B - c), n, n))
            gam[:, a, b] = pairs[c:c + step]
            gam[:, b, a] = gam[:, a, b]
            vals.append(_columns(gam, k0, jitter).reshape(-1))
        rows.append(S.reshape(-1))
        cols.append(np.repeat(S[:, 0], n))
    L = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N, N))
    return L, order


def unique_inverse(keys, bound, *, overwrite_keys=False):
    """``np.unique(keys, return_inverse=True)`` for nonnegative integer keys below `bound`, by one sort of the keys
    packed with their positions.

    ``numpy.unique`` with ``return_inverse`` argsorts the keys; sorting values is several times faster than sorting
    indices, so when the key and its position fit in 63 bits together they are sorted as one integer and the
    position read back from its low bits. Otherwise this is ``numpy.unique``. Besides the outputs it holds one more
    array of the keys' size (fresh memory is slow to fault in: measured on the 1.5e7 pair keys of a 3-d factor,
    N = 2e4, rho = 3, in a fresh process, 0.6 s against 2.1 s for ``numpy.unique``).

    Parameters
    ----------
    keys : int ndarray, shape (P,)
        Nonnegative, below `bound`.
    bound : int
        An upper bound on the keys.
    overwrite_keys : bool
        Whether `keys` (if int64 and contiguous) may be used as scratch space: its contents are then lost, and
        `inverse` may be returned in it.

    Returns
    -------
    uniq : int64 ndarray, shape (U,)
        The distinct keys, increasing.
    inverse : int64 ndarray, shape (P,)
        ``uniq[inverse] == keys``.

    Examples
    --------
    >>> uniq, inverse = unique_inverse(np.array([7, 3, 7, 0]), 8)
    >>> uniq.tolist(), inverse.tolist()
    ([0, 3, 7], [2, 1, 2, 0])
    """
    keys = np.asarray(keys).reshape(-1)
    P = keys.size
    shift = max(1, int(P - 1).bit_length())
    if P == 0 or int(bound - 1).bit_length() + shift > 63:
        uniq, inverse = np.unique(keys, return_inverse=True)
        return uniq.astype(np.int64), inverse.reshape(-1).astype(np.int64)
    if overwrite_keys and keys.dtype == np.int64 and keys.flags.c_contiguous:
        packed = keys
        packed <<= shift
    else:
        packed = np.left_shift(keys, shift, dtype=np.int64)
    for s in range(0, P, _CHUNK):                     # chunks: no temporary of the keys' size
        packed[s:s + _CHUNK] |= np.arange(s, min(P, s + _CHUNK), dtype=np.int64)
    packed.sort()
    position = packed & ((1 << shift) - 1)
    packed >>= shift
    new = np.empty(P, dtype=bool)                     # a key differs from the one before it
    new[0] = False
    np.not_equal(packed[1:], packed[:-1], out=new[1:])
    uniq = packed[np.concatenate(([0], np.flatnonzero(new)))]
    inverse = packed                                  # the sorted keys are no longer needed
    carry = 0
    for s in range(0, P, _CHUNK):
        ids = np.cumsum(new[s:s + _CHUNK], dtype=np.int64)
        ids += carry
        carry = int(ids[-1])
        inverse[position[s:s + _CHUNK]] = ids
    return uniq, inverse


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
