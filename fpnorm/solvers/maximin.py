"""The pattern of a KL factor (:mod:`fpnorm.solvers.precondition`): a maximin ordering of the points and each
column's sparsity set, all of the factor that depends on the points alone.

- :func:`maximin_ordering`: coarse to fine, level by level, each level a maximal set of points at least ``r`` apart and
  at least ``r`` from every earlier point (``r`` halving from level to level), with each point's length scale ``l_i``.
- :func:`sparsity_sets`: column ``i`` holds ``i`` and the earlier points within ``max(rho * l_i, floor)`` (at most
  ``max_set``, the nearest).
- :func:`kl_pattern` makes both (:class:`KLPattern`), so that several kernels can be factored on the same points
  (the truncation estimate of an iterative solve refactors the solve's kernel plus its tail,
  :mod:`fpnorm.solvers.truncation`).
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .._internal.threads import cores
from .pairs import local_pairs, stable_order

__all__ = ["KLPattern", "kl_pattern", "maximin_ordering", "sparsity_sets", "unit_points", "resolution_floor", "RHO",
           "FLOOR", "MAX_SET"]

# Default sparsity radius by dimension, from the measured radius-vs-iterations curve with the floor below (uniform
# random points, Sobolev(2), rtol 1e-10, solve_iterative in one process): 2-d N = 8e4, K = 256: 70 / 27 / 22 / 18
# iterations at rho = 2 / 3 / 4 / 5 with the factor taking 4.1 / 4.3 / 6.4 / 8.2 s (its columns growing like rho^2;
# these factor times are from before the near pairs' series, fpnorm.solvers.precondition); 3-d N = 2e4, K = 24, floor
# 2 / K: 24 / 14 at rho = 2 / 3 (factor 2.2 / 3.6 s). The 1-d value is the one its floor was measured with.
RHO = {1: 6.0, 2: 3.0, 3: 3.0}
# Smallest column radius in units of the kernel's resolution (fpnorm.solvers.precondition's docstring, "Floor"), from
# solves of the benchmark rows (uniform random points, rtol 1e-10): 2-d N = 2e4, K = 128, Sobolev(2), rho = 5: 129 / 47
# / 13 / 10 iterations at floor 0 / 1 / 2 / 3; N = 8e4, K = 256, rho = 3: 27 / 16 at floor 2 / 3 (factor 4.3 / 6.9 s
# before the series); 3-d N = 2e4, K = 24, Sobolev(2), rho = 3: 57 / 25 / 16 / 14 at floor 0 / 1 / 1.5 / 2 (factor 2.3
# s at 1.5, 3.6 s at 2); 1-d N = 1e5, K = 2^17, Sobolev(1.5): 523 / 77 / 24 / 20 at floor 2 / 4 / 8 / 12.
FLOOR = {1: 8.0, 2: 2.0, 3: 1.5}
# Largest column (the nearest points are kept): bounds the dense work per column on unusual point sets.
MAX_SET = {1: 24, 2: 48, 3: 64}
# Distances formed in one batch (KLPattern.distances): measured on the KL patterns' distinct pairs, best of 5, one
# core: 2-d N = 8e4, K = 256 (2.0e6 pairs) 0.015 s at 2^14 .. 2^18, 0.027 s at 2^21; 3-d N = 2e4, K = 24 (2.4e6)
# 0.020 / 0.020 / 0.022 / 0.035 s at 2^14 / 2^16 / 2^18 / 2^21.
_DISTANCE_CHUNK = 2**16


def unit_points(points):
    """`points` as an (N, d) array wrapped onto the unit torus ``[0, 1)^d`` (a 1-d array is N points of d = 1).

    Examples
    --------
    >>> unit_points(np.array([1.25, -0.25])).tolist()
    [[0.25], [0.75]]
    """
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
    x = unit_points(points)
    return _ordering_1d(x[:, 0]) if x.shape[1] == 1 else _ordering(x)


def _ordering(x):
    """:func:`maximin_ordering` of (N, d) points on the unit torus, any d: each level's distances by bounded
    nearest-site queries."""
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
    dist = _nearest_distance(x[:1], x, np.inf)
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
        if left.size and take.size:
            dist[left] = np.minimum(dist[left], _nearest_distance(x[take], x[left], r))
        r = r / 2
    return np.concatenate(chosen), length


def _ordering_1d(x):
    """:func:`maximin_ordering` of N points on the unit circle: :func:`_ordering`'s levels (the same candidates,
    cells, leads, ties and distances, so the same ordering and lengths) on the points sorted once, where each
    distance to the nearest new point is that to the new points either side in sorted order (:func:`_either_side`)
    instead of a sort and a binary search per level and round (measured at N = 1e5 uniform random points: 0.09 s
    against 0.33 s, best of 3 in one process)."""
    N = x.size
    srt = np.argsort(x, kind="stable")
    xs = x[srt]                                   # everything below is in sorted positions
    first = np.zeros(N, dtype=bool)
    first[np.flatnonzero(srt == 0)] = True
    dist = _either_side(xs, first)
    length = np.full(N, np.inf)
    chosen = [np.array([0])]
    done = first
    r = 0.5
    while not done.all():
        rest = np.flatnonzero(~done)
        if r < 1e-16:                            # coincident points: the rest in any order
            take = rest[np.lexsort((srt[rest], -dist[rest]))]
        else:
            cand = rest[dist[rest] >= r]
            take = _separated_1d(xs, cand, dist[cand], srt[cand], r)
        length[srt[take]] = dist[take]
        chosen.append(srt[take])
        was = ~done
        done[take] = True
        if take.size and not done.all():
            around = np.flatnonzero(was)          # the new points and the points still left, in sorted order
            near = _either_side(xs[around], done[around])
            left = ~done[around]
            dist[around[left]] = np.minimum(dist[around[left]], near[left])
        r = r / 2
    return np.concatenate(chosen), length


def _either_side(xs, site):
    """Torus distance of each of the sorted points `xs` (1-d) to the nearest of those flagged `site` (at least
    one): the nearest site before it and after it in sorted order, cyclically, their differences wrapped by rounding
    as in :func:`_nearest_distance` (the same distances: a site of equal value is at distance 0 either way)."""
    n = xs.size
    idx = np.arange(n)
    before = np.maximum.accumulate(np.where(site, idx, -1))
    after = np.minimum.accumulate(np.where(site, idx, n)[::-1])[::-1]
    on = np.flatnonzero(site)
    before[before < 0] = on[-1]
    after[after >= n] = on[0]
    left, right = xs - xs[before], xs[after] - xs
    left -= np.round(left)
    right -= np.round(right)
    return np.minimum(np.abs(left), np.abs(right))


def _separated_1d(xs, cand, pri, ident, r):
    """:func:`_separated` for sorted 1-d points: `cand` increasing positions into `xs`, their priorities `pri` and
    their indices among the points `ident` (ties go to the lower index, as there); the same rounds, with each
    cell's best pending point found by reductions over the cell's run (cells are runs in sorted order) instead of a
    sort by cell and priority."""
    if cand.size <= 1:
        return cand
    cells = np.floor(xs[cand] * (1.0 / r)).astype(np.int64)
    pending = np.ones(cand.size, dtype=bool)
    keep = np.zeros(cand.size, dtype=bool)
    while pending.any():
        pend = np.flatnonzero(pending)
        opens = np.r_[True, cells[pend[1:]] != cells[pend[:-1]]]            # a pending point opens its cell
        starts = np.flatnonzero(opens)
        cell = np.cumsum(opens) - 1
        top = pri[pend] == np.maximum.reduceat(pri[pend], starts)[cell]
        low = np.minimum.reduceat(np.where(top, ident[pend], np.iinfo(np.int64).max), starts)
        lead = pend[top & (ident[pend] == low[cell])]        # the best pending point of each cell, in cell order
        if lead.size == 1:
            new = lead
        else:
            pairs = _close_pairs(xs[cand[lead]][:, None], r * (1 - 1e-12))
            beaten = np.zeros(lead.size, dtype=bool)
            if pairs.size:
                a, b = lead[pairs[:, 0]], lead[pairs[:, 1]]
                a_first = (pri[a] > pri[b]) | ((pri[a] == pri[b]) & (ident[a] < ident[b]))
                beaten[np.where(a_first, pairs[:, 1], pairs[:, 0])] = True
            new = lead[~beaten]
        fresh = np.zeros(cand.size, dtype=bool)
        fresh[new] = True
        keep |= fresh
        pending &= ~fresh
        if pending.any():
            # only whether a kept point is nearer than r matters
            around = np.flatnonzero(pending | fresh)
            near = _either_side(xs[cand[around]], fresh[around])
            pending[around[pending[around] & (near < r * (1 - 1e-12))]] = False
    out = np.flatnonzero(keep)
    return cand[out[np.lexsort((ident[out], -pri[out]))]]


def _nearest_distance(sites, query, bound):
    """Torus distance of each `query` point to its nearest site, both (n, d) on the unit torus; ``inf`` where that
    is beyond `bound` (d >= 2: a bounded query prunes the tree). In 1-d by one sort and a binary search: there it
    serves :func:`_ordering` of 1-d points, the reference the tests hold :func:`_ordering_1d` to."""
    if sites.shape[1] > 1:
        return _tree(sites).query(query, k=1, distance_upper_bound=bound, workers=cores())[0]
    s = np.sort(sites[:, 0])
    q = query[:, 0]
    i = np.searchsorted(s, q)
    # the sites either side (i - 1 = -1 wraps to the last, i = n to the first), their differences wrapped by
    # rounding, which keeps them exact for nearly coincident points (1 - mod(-d, 1) would lose them)
    left, right = q - s[i - 1], s[i % s.size] - q
    left -= np.round(left)
    right -= np.round(right)
    return np.minimum(np.abs(left), np.abs(right))


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
    # by priority, ties by index (a stable sort where `cand` increases, as the ordering's candidates do)
    increasing = bool(np.all(cand[1:] > cand[:-1]))
    by_rank = np.argsort(-pri, kind="stable") if increasing else np.lexsort((cand, -pri))
    rank = np.empty(cand.size, dtype=np.int64)
    rank[by_rank] = np.arange(cand.size)                        # 0 = highest priority
    cells = np.floor(x[cand] * (np.sqrt(dim) / r)).astype(np.int64)
    # by cell, then by priority: a round's pending points keep this order, so each cell's best comes first
    if dim == 1:
        by_cell = by_rank[np.argsort(cells[by_rank, 0], kind="stable")]
    else:
        by_cell = np.lexsort((rank,) + tuple(cells.T[::-1]))
    pending = np.ones(cand.size, dtype=bool)
    keep = np.zeros(cand.size, dtype=bool)
    while pending.any():
        srt = by_cell[pending[by_cell]]
        first = np.ones(srt.size, dtype=bool)
        first[1:] = np.any(cells[srt[1:]] != cells[srt[:-1]], axis=1)
        lead = srt[first]                                       # the best pending point of each cell
        if lead.size == 1:
            new = lead
        else:
            pairs = _close_pairs(x[cand[lead]], r * (1 - 1e-12))
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
            dist = _nearest_distance(x[cand[new]], x[cand[rest]], r)
            pending[rest[dist < r * (1 - 1e-12)]] = False
    out = np.flatnonzero(keep)
    return cand[out[np.argsort(rank[out])]]


def _tree(points):
    """A k-d tree of (n, d) points on the unit torus, built unbalanced and with loose nodes: the faster build (2-d
    2e4 points 2.6 ms against 4.7; the 2-d N = 8e4 ordering 0.39-0.45 s against 0.46-0.51, 1-d N = 1e5 sparsity sets
    0.12 s against 0.15 s). Its queries give the same distances and pairs; a k-nearest query may order points at
    exactly equal distances otherwise, so a set cut at ``max_set`` among such ties may keep another of them."""
    return cKDTree(points, boxsize=1.0, balanced_tree=False, compact_nodes=False)


def _close_pairs(p, r):
    """The pairs ``(a, b)`` of the points `p` (n, d) on the unit torus closer than `r`, as an (n_pairs, 2) array
    (a pair may appear twice). In 1-d the points must be sorted and at most one in each interval ``[j r, (j + 1) r)``
    (each cell's lead in :func:`_separated_1d` and :func:`_separated`): then only neighbours one or two apart,
    cyclically, can be that close (two: across the last, shorter interval), and their differences replace a tree."""
    n, dim = p.shape
    if dim > 1:
        return _tree(p).query_pairs(r, output_type="ndarray")
    i = np.arange(n)
    out = []
    for offset in (1, 2)[:max(n - 1, 0)]:
        j = (i + offset) % n
        gap = p[j, 0] - p[i, 0]
        gap -= np.round(gap)
        close = np.abs(gap) < r
        out.append(np.stack((i[close], j[close]), axis=1))
    return np.concatenate(out) if out else np.empty((0, 2), dtype=np.int64)


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
    x = unit_points(points)
    N, dim = x.shape
    max_set = MAX_SET.get(dim, 64) if max_set is None else int(max_set)
    owners, members = [order[:1]], [order[:1]]
    # one tree per batch of levels (_batches): the earlier points are those before the batch's end, filtered by
    # position
    for lo, hi in _batches(length[order]):
        if lo == 0:               # the first point alone (its length is inf): nothing is earlier
            continue
        here = order[lo:hi]
        tree = _tree(x[order[:hi]])
        radius = np.minimum(np.maximum(rho * length[here], floor), np.sqrt(dim))
        a, js = _nearest_earlier(tree, x[here], np.arange(lo, hi), radius, max_set - 1)
        owners += [here, here[a]]
        members += [here, order[js]]
    # by owner, stably: each owner's entries come from one batch, the point itself first, then its neighbours in the
    # k-nearest query's order (nearest first)
    own, mem = np.concatenate(owners), np.concatenate(members)
    mem = mem[stable_order(own)]
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
        # the query's bound is strict: a point exactly at the largest radius is kept by the next larger float
        bound = float(np.nextafter(radius[todo].max(), np.inf))
        dist, js = tree.query(xq[todo], k=kk, distance_upper_bound=bound, workers=cores())
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
    """Consecutive ranges of the ordering, each one level (length scales within a factor 2) or several consecutive
    levels that together hold at most as many points as come before them: a tree of the earlier points is then
    rebuilt once per doubling of the points, not once per level (the levels of the points far closer than their
    neighbours' spacing are many and small: 1-d N = 1e5 uniform random points have 35 levels, the last 17 holding
    3% of the points)."""
    N = lengths.size
    lev = np.floor(np.log2(np.where(np.isfinite(lengths) & (lengths > 0), lengths, 1.0))).astype(np.int64)
    lev[~np.isfinite(lengths)] = 10**6
    cuts = np.flatnonzero(np.diff(lev) != 0) + 1
    edges = np.concatenate(([0], cuts, [N]))
    merged = [0, int(edges[1])]
    for hi in edges[2:]:
        if merged[-2] > 0 and hi - merged[-2] <= merged[-2]:
            merged[-1] = int(hi)               # this level joins the open batch
        else:
            merged.append(int(hi))
    return list(zip(merged[:-1], merged[1:], strict=True))


@dataclass(frozen=True)
class KLPattern:
    """What a KL factor takes from the points alone: the maximin ordering and each column's set.

    Made by :func:`kl_pattern`; :func:`local_variograms` evaluates a kernel on its local pairs and :func:`kl_factor`
    solves the columns, so one pattern serves several kernels on the same points (the truncation estimate of an
    iterative solve refactors the solve's kernel plus its tail, :mod:`fpnorm.solvers.truncation`).

    Attributes
    ----------
    points : ndarray, shape (N, d)
        On the unit torus ``[0, 1)^d``.
    order : int ndarray, shape (N,)
        The maximin ordering (:func:`maximin_ordering`).
    indptr, indices : int ndarrays
        The sets (:func:`sparsity_sets`): column ``i`` is ``indices[indptr[i]:indptr[i + 1]]``, ``i`` first.
    """

    points: np.ndarray
    order: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray

    def buckets(self):
        """The columns grouped by set size: ``[(S, a, b), ...]`` with ``S`` (B, n) the sets of the ``B`` columns of
        size ``n`` (increasing ``n``, columns in point order) and ``a < b`` (``triu_indices(n, 1)``) their pairs.
        The local pairs are ``S[:, a], S[:, b]`` in this order, bucket after bucket (:func:`local_variograms`)."""
        sizes = np.diff(self.indptr)
        out = []
        for n in np.unique(sizes):
            who = np.flatnonzero(sizes == n)
            a, b = np.triu_indices(n, 1)
            out.append((self.indices[self.indptr[who][:, None] + np.arange(n)], a, b))
        return out

    def pair_distances(self):
        """Torus distances (in periods) of the local pairs, shape (P,), in the order of :meth:`buckets`."""
        pairs, inverse = local_pairs(self)
        return self.distances(pairs[:, 0], pairs[:, 1])[inverse]

    def distances(self, first, second):
        """Torus distances (in periods) between the points ``first`` and ``second`` (int arrays of one shape)."""
        out = np.empty(np.shape(first))
        flat_first, flat_second, flat = np.ravel(first), np.ravel(second), out.reshape(-1)
        # a coordinate at a time, gathered from its own contiguous column, in chunks that stay in cache: 0.017 s
        # against 0.083 s for whole rows gathered at once (2-d N = 8e4, K = 256: 2e6 distinct local pairs)
        columns = [np.ascontiguousarray(self.points[:, j]) for j in range(self.points.shape[1])]
        for c in range(0, flat.size, _DISTANCE_CHUNK):
            a, b = flat_first[c:c + _DISTANCE_CHUNK], flat_second[c:c + _DISTANCE_CHUNK]
            total = np.zeros(a.size)
            for column in columns:
                z = column.take(a)
                z -= column.take(b)
                z -= np.rint(z)
                z *= z
                total += z
            np.sqrt(total, out=flat[c:c + _DISTANCE_CHUNK])
        return out


def resolution_floor(resolution, dim):
    """The smallest column radius for a kernel of this `resolution` (``1/K`` for a box of half-width ``K``):
    ``FLOOR[d]`` of it.

    Examples
    --------
    >>> resolution_floor(1 / 256, 2)
    0.0078125
    """
    return FLOOR.get(dim, 2.0) * resolution


def kl_pattern(points, *, resolution=0.0, rho=None, max_set=None, floor=None):
    """The maximin ordering and sparsity sets of a KL factor (:class:`KLPattern`).

    Parameters
    ----------
    points : ndarray, shape (N, d) or (N,)
        In periods on the unit torus.
    resolution : float
        The kernel's resolution (:attr:`Kernel.resolution`), for the default floor.
    rho, max_set, floor
        As in :func:`build_kl_factor` (default floor ``FLOOR[d] * resolution``).

    Returns
    -------
    KLPattern

    Examples
    --------
    >>> pattern = kl_pattern(np.array([0.0, 0.5, 0.25, 0.26]), rho=2.0)
    >>> pattern.order.tolist(), pattern.indices[pattern.indptr[3]:pattern.indptr[4]].tolist()
    ([0, 1, 2, 3], [3, 2])
    >>> pattern.pair_distances().round(2).tolist()   # columns 1 and 3 (two points), then 2 (three: 2, 1, 0)
    [0.5, 0.01, 0.25, 0.25, 0.5]
    """
    x = unit_points(points)
    dim = x.shape[1]
    rho = RHO.get(dim, 2.0) if rho is None else float(rho)
    if not rho > 0:
        raise ValueError(f"Expected `rho` positive, got {rho!r}.")
    if floor is None:
        if not 0 <= resolution < np.inf:
            raise ValueError(f"Expected `resolution` finite and nonnegative, got {resolution!r}.")
        floor = resolution_floor(resolution, dim)
    floor = float(floor)
    if not 0 <= floor < np.inf:
        raise ValueError(f"Expected `floor` finite and nonnegative, got {floor!r}.")
    order, length = maximin_ordering(x)
    indptr, indices = sparsity_sets(x, order, length, rho, max_set=max_set, floor=floor)
    return KLPattern(x, order, indptr, indices)

