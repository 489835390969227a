"""The Vecchia factor: a sparse ``W`` with ``W^T W ~ G^-1`` from kriging each point on a few earlier neighbours.

A Vecchia / Kullback-Leibler factor (Schaefer, Sullivan, Owhadi 2021). Points are ordered (sorted in
1-d, coarse to fine on dyadic grids in higher d, an approximate maximin ordering); row ``i`` of ``W`` is
``[1, -b_i] / sqrt(d_i)`` with ``b_i`` the kriging weights of ``i`` on its ``n_b`` nearest earlier points (in 1-d on
the circle: the last points also see the first ones across the period) and ``d_i`` the conditional variance. The
local covariances are written in increments: ``Z_i - Z_r`` from the nearest earlier point ``r``, and in 1-d each
further neighbour from the nearest member before it in the set. Their covariances are sums of variogram values
``kappa(0) - kappa(tau)`` (in 1-d to a few units of rounding of their own size, :mod:`fpnorm.solvers.variogram`),
and in 1-d those of increments shorter
than ``_SHORT / K`` come from a series in the increment's length, so points far closer than ``1/K`` (twins among the
neighbours too) still get accurate rows: at N = 2000, K = 3277, Sobolev(1.5) with 50 planted pairs 1e-5/K .. 1e-3/K
apart, the eigenvalues of ``W G W^T`` are those of the factor from exact local covariances ([3e-4, 4.2], one below
0.4). A local solve that turns inconsistent keeps the neighbours that still condition consistently. A relative
jitter ``_JITTER`` caps the rows' size (1e-12, 1e-14 and 1e-16 needed 64 / 63 / 62 iterations at N = 20000,
K = 32768, noisy data, and 199 / 226 / 193 with Sobolev(1.5) and smooth data).
For a Markov kernel in 1-d (Sobolev s = 1) the factor is nearly exact. Setup: one NUFFT at ``N (n_b + 1)``
differences in 1-d (``N n_b (n_b + 1) / 2`` in higher d), the short increments' series, and ``N`` batched small
solves, in blocks of rows.

Examples
--------
>>> import numpy as np
>>> K = 64
>>> g = 1.0 / (1.0 + (2 * np.pi * np.arange(-K, K + 1)) ** 2)
>>> t = 2 * np.pi * np.random.default_rng(0).random((50, 1))
>>> W = vecchia_factor(t, g, neighbours=4, eps=1e-14)
>>> W.shape, W.nnz <= 50 * 5
((50, 50), True)
"""

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .. import transforms
from .._internal.threads import cores, map_threads
from .pairs import unique_inverse
from .variogram import variogram_1d, wrap_angle

__all__ = ["vecchia_factor", "vecchia_memory", "coarse_to_fine", "NEIGHBOURS"]

# Earlier neighbours per point in the preconditioner (its rows have NEIGHBOURS + 1 entries).
NEIGHBOURS = 12
# Increments of the preconditioner's local covariances shorter than _SHORT / K (angles) are summed by a series of
# _SHORT_TERMS terms (_short_increments): the last is below 0.1^12 / 12! ~ 2e-21 of the first. Longer increments
# lose at most ~1e-14 / (K delta)^2 ~ 1e-12 of their covariances to cancellation; the series costs _SHORT_TERMS sums
# at 2 (n_b + 1) differences per short increment (about 1% of the set members at 0.76 points per 1/K), in chunks
# of _SHORT_CHUNK differences: each chunk's finufft transforms the whole box _SHORT_TERMS times, so fewer, larger
# chunks cost less (N = 1e5, K = 2^17: 14484 short increments, 0.52 s in three chunks of 2^17, 0.35 s in one of 2^19;
# a chunk's sums and temporaries are ~300 bytes a difference).
_SHORT = 0.1
_SHORT_TERMS = 12
_SHORT_CHUNK = 2**19
# Differences per chunk in which _short_increments finds the distinct pairs of points (their keys and inverse, 16
# bytes each, and the distinct pairs' sums, 96 bytes each at most).
_SHORT_KEYS = 2**20
# Local-matrix entries per block of rows in _factor_rows: ~16 MiB per (rows, n, n) intermediate (measured at N = 1e5,
# K = 2^17, 1-d: the factor took 2.7 s against 3.7 s made whole).
_BLOCK_ENTRIES = 2**21
# Relative jitter of the (unit-diagonal) local covariance matrices of the preconditioner.
_JITTER = 1e-12


def coarse_to_fine(x):
    """An approximately maximin ordering of points on the unit torus, coarse to fine, and each point's level.

    Parameters
    ----------
    x : ndarray, shape (N, d), in ``[0, 1)``

    Returns
    -------
    order : int ndarray, shape (N,)
        Point indices, first the one point of level 0, then one new point per occupied cell of the ``2^l`` grid.
    level : int ndarray, shape (N,)
        Level of each point (indexed like `x`).
    """
    N, dim = x.shape
    L = max(1, min(int(np.ceil(np.log2(max(N, 2)) / dim)) + 2, 60 // dim))
    chosen = np.zeros(N, dtype=bool)
    level = np.full(N, L + 1, dtype=np.int64)
    order = []
    for lev in range(L + 1):
        cells = np.minimum((x * 2**lev).astype(np.int64), 2**lev - 1)
        cid = np.ravel_multi_index(tuple(cells.T), (2**lev,) * dim)
        fresh = ~chosen & ~np.isin(cid, cid[chosen])
        idx = np.flatnonzero(fresh)
        _, first = np.unique(cid[idx], return_index=True)
        new = idx[np.sort(first)]
        order.append(new)
        chosen[new] = True
        level[new] = lev
        if chosen.all():
            break
    order.append(np.flatnonzero(~chosen))
    return np.concatenate(order), level


def _neighbour_sets(x, order, level, nb):
    """Each point and its (up to) `nb` nearest points of coarser levels; shape (N, nb + 1), -1 pads."""
    N = x.shape[0]
    sets = np.full((N, nb + 1), -1, dtype=np.int64)
    sets[:, 0] = np.arange(N)
    levels = np.unique(level)
    for lev in levels[1:]:
        prev = np.flatnonzero(level < lev)
        here = np.flatnonzero(level == lev)
        k = min(nb, prev.size)
        tree = cKDTree(x[prev], boxsize=1.0)
        _, j = tree.query(x[here], k=k)
        sets[here, 1:k + 1] = prev[np.reshape(j, (here.size, k))]
    return sets


def _chain_sets(x, nb):
    """1-d: each point and its `nb` nearest earlier points on the circle in sorted order (the points before it and,
    across the wrap, the first points), nearest first; -1 pads."""
    N = x.size
    srt = np.argsort(x, kind="stable")
    xs = x[srt]
    pos = np.arange(N)
    back = pos[:, None] - np.arange(1, nb + 1)[None, :]
    wrap = np.broadcast_to(np.arange(nb)[None, :], (N, nb))
    cand = np.concatenate([back, wrap], axis=1)
    ok = (cand >= 0) & (cand < pos[:, None])
    ok[:, nb:] &= cand[:, nb:] < pos[:, None] - nb          # not already among the points just before
    dist = np.abs(xs[np.where(ok, cand, 0)] - xs[:, None])
    dist = np.where(ok, np.minimum(dist, 1.0 - dist), np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :nb]
    pick = np.take_along_axis(cand, order, axis=1)
    pick = np.where(np.isfinite(np.take_along_axis(dist, order, axis=1)), pick, -1)
    sets = np.full((N, nb + 1), -1, dtype=np.int64)
    sets[srt, 0] = srt
    sets[srt, 1:] = np.where(pick >= 0, srt[np.maximum(pick, 0)], -1)
    return sets


def vecchia_memory(N, neighbours=NEIGHBOURS, dim=1):
    """Peak bytes of :func:`vecchia_factor` at N points: the sets, the variogram table and the sparse factor
    (``N n_b`` entries each), the short increments' covariances (at most ``N n_b^2``, when every member is one), and
    the ``(rows, n, n)`` intermediates of one block of rows on each core, and in 1-d (`dim`) one chunk of the short
    increments' series and their distinct pairs of points. Measured peaks (tracemalloc, one core) against this model:
    239 MiB against 646 at N = 1e5, K = 2^17 (1-d); 167 against 435 at N = 8e4, K = 256 (2-d); 150 against 253 at N =
    2e4, K = 24 (3-d); finufft's own grids (~20 MiB at these boxes) come on top.

    Examples
    --------
    >>> vecchia_memory(100_000) < 2**30
    True
    """
    nb = neighbours + 1
    short = 300 * min(_SHORT_CHUNK, 2 * N * nb * nb) + 112 * min(_SHORT_KEYS, 2 * N * nb * nb) if dim == 1 else 0
    return 9 * N * nb * nb + 128 * N * nb + 96 * min(N * nb * nb, _BLOCK_ENTRIES * cores()) + short


def vecchia_factor(t, g, *, neighbours=NEIGHBOURS, eps=1e-10, jitter=None):
    """Sparse ``W`` with ``W^T W ~ G^-1`` for the kernel matrix of an even, finite, positive weight ``g``.

    Parameters
    ----------
    t : ndarray, shape (N, d)
        Angles in ``[0, 2 pi)``.
    g : ndarray, shape ``(2K+1,)*d``
        Finite, positive ``gamma(k)^2``.
    neighbours : int
        Earlier neighbours per row.
    eps : float
        finufft tolerance for the local kernel values.
    jitter : float, optional
        Added to the diagonal of the unit-diagonal local covariance matrices (default ``_JITTER``); 0 gives the exact
        Vecchia factor.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (N, N)
        Row ``i`` is ``[1, -b_i] / sqrt(d_i)`` on ``i`` and its neighbours: ``b_i`` the kriging weights of ``i`` on
        its neighbours, ``d_i`` the conditional variance (of the jittered local covariances).
    """
    N, dim = t.shape
    x = np.mod(t / (2 * np.pi), 1.0)
    x[x >= 1.0] = 0.0
    nb = max(0, min(int(neighbours), N - 1))
    if dim == 1:
        sets = _chain_sets(x[:, 0], nb)
    else:
        order, level = coarse_to_fine(x)
        sets = _neighbour_sets(x, order, level, nb)
    if nb == 0:                      # no neighbours: the diagonal preconditioner 1 / sqrt(kappa(0))
        return sp.diags(np.full(N, 1.0 / np.sqrt(float(np.sum(g))))).tocsr()
    return _factor_rows(t, g, sets, eps, _JITTER if jitter is None else float(jitter))


def _factor_rows(t, g, sets, eps, jitter):
    """Rows ``[1, -b_i] / sqrt(d_i)`` for sets of shape (R, n): each row's point, then its neighbours nearest first
    (-1 pads); a sparse (R, N) matrix.

    The rows are made in blocks of about ``_BLOCK_ENTRIES`` local-matrix entries: each block's dozen ``(rows, n, n)``
    intermediates then stay in memory already paged in (fresh pages cost more than the arithmetic on them here).
    """
    N, dim = t.shape
    R, n = sets.shape
    valid = sets >= 0
    safe = np.where(valid, sets, sets[:, :1])
    blocks = [slice(start, start + max(1, _BLOCK_ENTRIES // (n * n))) for start in
              range(0, R, max(1, _BLOCK_ENTRIES // (n * n)))]
    if dim == 1:
        lags = _lag_table(t[:, 0], g, n, eps, safe)
        base = np.concatenate([_bases(t[:, 0], safe[b], valid[b]) for b in blocks])
        short = _short_increments(t[:, 0], g, safe, valid, base, eps)
    else:
        lags, short, base = None, None, np.ones((R, n), dtype=np.int64)
    # in 1-d the blocks are independent numpy arithmetic, which releases the GIL: on two cores, a block on each (in
    # higher d each block runs its own finufft, one at a time)
    def rows_of(b):
        return _block_rows(t, g, safe[b], valid[b], base[b], eps, jitter, lags, short, b)

    vals = np.concatenate(map_threads(rows_of, blocks) if dim == 1 else [rows_of(b) for b in blocks])
    rows = np.repeat(np.arange(R), n)
    return sp.csr_matrix((vals, (rows, safe.reshape(-1))), shape=(R, N))


def _block_rows(t, g, safe, valid, base, eps, jitter, lags, short, block):
    """The values of :func:`_factor_rows`' rows for the sets of one `block` (a slice of rows), flattened (R n,),
    zero at the pads; `short` the covariances of :func:`_short_increments` for all rows (d = 1)."""
    N, dim = t.shape
    R, n = safe.shape
    kappa0 = float(np.sum(g))
    if dim == 1:
        gam = _set_variograms(safe, lags, block)
    else:
        # the variogram kappa(0) - kappa(t_a - t_b), even in the difference: one NUFFT at the pairs a < b
        upper, lower = np.triu_indices(n, 1)
        ts = t[safe]
        diffs = (ts[:, upper] - ts[:, lower]).reshape(-1, dim)
        gam = np.zeros((R, n, n))
        gam[:, upper, lower] = kappa0 - transforms.kernel_values(g, diffs, eps=eps).reshape(R, -1)
        gam[:, lower, upper] = gam[:, upper, lower]
    gam[:, np.arange(n), np.arange(n)] = 0.0
    # Variables: E_i = Z_i - Z_r, Z_r and E_a = Z_a - Z_b(a) (r the nearest neighbour, column 1 of the set; b(a) the
    # member before a in the set nearest to it, in 1-d, else r). Their covariances are sums of variogram values,
    # exact to rounding even for points far closer than 1/K, where kappa itself would lose every digit of the
    # conditional variance; in 1-d, those of increments shorter than _SHORT / K come from a series in their length
    # (_short_increments), as sums of variogram values cancel there.
    # gathered by flat indices, numpy's fast path for a take (1-d, 7000 rows of 17: 5.6 ms against 8.5 for
    # take_along_axis; the second 12 ms against 28 for take_along_axis through the transposed view)
    flat = gam.reshape(-1)
    offsets = np.arange(R)[:, None, None] * (n * n)
    at_base_c = flat.take(offsets + np.arange(n)[None, :, None] * n + base[:, None, :])   # gam[a, b(c)]
    at_base_a = at_base_c.transpose(0, 2, 1)                # gam[b(a), c] = gam[c, b(a)]: gam is symmetric
    both = flat.take(offsets + base[:, None, :] * n + base[:, :, None])   # gam[b(c), b(a)] = gam[b(a), b(c)]
    sigma = at_base_c + at_base_a - gam - both
    to_r = at_base_a[:, :, 1] - gam[:, :, 1]                                 # Cov(E_a, Z_r)
    sigma[:, 1, :] = to_r
    sigma[:, :, 1] = to_r
    sigma[:, 1, 1] = kappa0
    if dim == 1:
        rows, cols, cov, keep = short
        mine = (rows >= block.start) & (rows < block.start + R)
        r, c = rows[mine] - block.start, cols[mine]
        new = np.where(keep[mine], cov[mine], sigma[r, c, :])
        sigma[r, c, :] = new
        sigma[r, :, c] = new
    alone = ~valid[:, 1]                   # no earlier neighbour: the row is e_i / sqrt(kappa(0))
    used = valid & ~alone[:, None]
    pair = used[:, :, None] & used[:, None, :]
    eye = np.eye(n, dtype=bool)[None]
    sigma = np.where(pair, sigma, np.where(eye, kappa0, 0.0))
    scale = np.sqrt(np.maximum(np.diagonal(sigma, axis1=1, axis2=2), 1e-300 * kappa0))
    unit = sigma / (scale[:, :, None] * scale[:, None, :]) + jitter * np.eye(n)[None]
    x = _robust_rows(unit, used) / scale / scale[:, :1]                # Sigma^-1 e_0
    x0 = x[:, 0]
    ok = x0 > 0
    cond_var = np.where(ok, 1.0 / np.where(ok, x0, 1.0), kappa0)       # d_i = 1 / (Sigma^-1)_00
    c = -x / np.where(ok, x0, 1.0)[:, None]                               # E_i ~ c_1 Z_r + sum_a c_a E_a
    c[:, 0] = 0.0
    c = np.where(used, c, 0.0)
    u = np.zeros((R, n))                  # (E_i - c_1 Z_r - sum_a c_a E_a) in the points' values
    u[:, 0] = 1.0
    u[:, 1] = -1.0 - c[:, 1]
    u[:, 2:] = -c[:, 2:]
    for j in range(2, n):
        np.add.at(u, (np.arange(R), base[:, j]), c[:, j])
    bad = ~ok | alone
    u[bad, 0] = 1.0
    u[bad, 1:] = 0.0
    u /= np.sqrt(np.where(bad, kappa0, cond_var))[:, None]
    return np.where(valid, u, 0.0).reshape(-1)


def _lag_table(t, g, n, eps, safe):
    """Each point's sorted position, ``kappa(0) - kappa`` between the points at sorted positions ``q`` and ``q - l``
    for ``l < n``, flat at ``q n + l``, and the whole ``(n, n)`` variograms of the sets (rows of `safe`) whose members
    lie further apart in sorted order, those across the wrap (d = 1): what :func:`_set_variograms` gathers.

    The sets across the wrap are the last points' in sorted order, spread over every block of rows: their variograms
    take one finufft here instead of one per block (each transforms the whole box: 0.25 s of a 1.8 s factor at
    N = 1e5, K = 2^17, in eight blocks).
    """
    N = t.size
    srt = np.argsort(t, kind="stable")
    pos = np.empty(N, dtype=np.int64)
    pos[srt] = np.arange(N)
    ts = t[srt]
    q = np.arange(N)[:, None]
    back = np.maximum(q - np.arange(n)[None, :], 0)
    p = pos[safe]
    far = np.flatnonzero(p.max(axis=1) - p.min(axis=1) >= n)
    tf = t[safe[far]]
    where = np.full(safe.shape[0], -1, dtype=np.int64)
    where[far] = np.arange(far.size)
    return (pos, variogram_1d(g, (ts[q] - ts[back]).reshape(-1), eps=eps), where,
            variogram_1d(g, tf[:, :, None] - tf[:, None, :], eps=eps))


def _set_variograms(safe, lags, block):
    """``kappa(0) - kappa(t_a - t_b)`` for every two members of each set of the rows `block` (a slice; `safe` those
    rows' sets), shape (R, n, n) (d = 1), from :func:`_lag_table`'s `lags`.

    The chain's sets are runs of points consecutive in sorted order, so two members are at most ``n - 1`` sorted
    positions apart: the variogram is evaluated once per point and lag (``N n`` differences instead of ``R n^2``),
    and the sets across the wrap once each.
    """
    R, n = safe.shape
    pos, table, where, wrapped = lags
    # positions as 32-bit integers where they fit, and one flat gather: the (R, n, n) index arrays are the cost here
    # (0.4 s at N = 1e5, n = 13, against 1.3 s through 64-bit indices and boolean masks)
    p = pos[safe].astype(np.int32 if pos.size * n < 2**31 else np.int64)
    lag = np.abs(p[:, :, None] - p[:, None, :])
    flat = np.maximum(p[:, :, None], p[:, None, :]) * lag.dtype.type(n) + lag
    np.putmask(flat, lag >= n, 0)
    gam = np.take(table, flat)
    mine = where[block]
    gam[mine >= 0] = wrapped[mine[mine >= 0]]
    return gam


def _bases(t, safe, valid):
    """1-d: for each set member past the nearest neighbour (column 1), the column of the member before it in the set
    that is nearest to it on the circle; column 0 (the row's point) takes column 1. Shape (R, n)."""
    R, n = safe.shape
    x = t[safe] / (2 * np.pi)
    d = np.abs(x[:, :, None] - x[:, None, :])
    d = np.minimum(d, 1.0 - d)
    d = np.where(valid[:, None, :], d, np.inf)
    earlier = np.tril(np.ones((n, n), dtype=bool), -1)
    earlier[:, 0] = False                                # column 0 is no one's base
    d = np.where(earlier[None], d, np.inf)
    base = np.argmin(d, axis=2)
    base[:, :2] = 1
    return base


def _short_increments(t, g, safe, valid, base, eps):
    """The covariances of every short increment ``E_a = Z_a - Z_b(a)`` (``K |t_a - t_b(a)| <= _SHORT``) with ``Z_r``
    and the other increments of its set, by a series in ``delta = t_a - t_b(a)`` with no cancellation (d = 1): its
    rows and columns (S,), the covariances (S, n) and where they replace the variogram's (S, n).

    From variogram values these covariances are differences of numbers of order ``kappa(0)``, each rounded at
    finufft's tolerance, while their value is of order ``delta``: for pairs far closer than ``1/K`` that leaves
    wrong conditional variances (measured: a dense ``W G W^T`` at N = 2000, K = 3277, Sobolev(1.5), with 50 planted
    pairs 1e-5/K .. 1e-3/K apart had eigenvalues up to 289 and down to 1e-2; with exact covariances [3e-4, 4.2]).
    Here ``Cov(E_a, E_c) = sum_n delta^n / n! Re[F_n(t_b(a) - t_c) - F_n(t_b(a) - t_b(c))]`` and
    ``Cov(E_a, Z_r) = sum_n delta^n / n! Re F_n(t_b(a) - t_r)``, ``F_n(z) = sum_k g_k (ik)^n e^{ikz}``: one NUFFT
    per term at ``2 n`` differences per short increment.
    """
    K = g.shape[0] // 2
    R, n = safe.shape
    tb = t[np.take_along_axis(safe, base, axis=1)]                                  # t_b(a)
    delta = wrap_angle(t[safe] - tb)                                                 # (R, n)
    short = valid & (np.abs(delta) * K <= _SHORT) & (np.arange(n) != 1)[None, :] & valid[:, 1:2]
    rows, cols = np.nonzero(short)
    out = np.zeros((rows.size, n)), np.zeros((rows.size, n), dtype=bool)
    if rows.size == 0 or K == 0:
        return rows, cols, out[0], out[1]
    k = np.arange(-K, K + 1) / K
    coef = np.stack([g * (1j * k) ** j for j in range(1, _SHORT_TERMS + 1)], axis=1)  # F_n / K^n
    # F_n at the differences t_P - t_Q, P = b(a) and Q a member c or its base b(c). Neighbouring points' sets overlap,
    # so the same pair of points recurs in up to n_b rows: each distinct pair is summed once (the same sum, whichever
    # rows ask for it), in chunks of rows taken in sorted order, so that overlapping sets share a chunk (measured at
    # N = 1e5, K = 2^17: 3.8e5 differences, 0.2 of them distinct)
    N = t.size
    rank = np.empty(N, dtype=np.int64)
    rank[np.argsort(t, kind="stable")] = np.arange(N)
    by_position = np.argsort(rank[rows], kind="stable")
    rows, cols = rows[by_position], cols[by_position]
    first = safe[rows, base[rows, cols]].astype(np.int64)                           # P = b(a), the increment's base
    base_points = np.take_along_axis(safe, base, axis=1)                            # b(c) for every member c
    powers = np.cumprod((delta[rows, cols] * K)[:, None] / np.arange(1, _SHORT_TERMS + 1), axis=1)
    step = max(1, _SHORT_KEYS // (2 * n))                                           # rows per chunk
    for start in range(0, rows.size, step):
        sl = slice(start, start + step)
        r = rows[sl]
        keys = first[sl, None] * N + np.concatenate([safe[r], base_points[r]], axis=1)
        pairs, inverse = unique_inverse(keys, N * N, overwrite_keys=True)
        F = np.empty((pairs.size, _SHORT_TERMS))
        for s0 in range(0, pairs.size, _SHORT_CHUNK):
            part = pairs[s0:s0 + _SHORT_CHUNK]
            F[s0:s0 + _SHORT_CHUNK] = transforms.evaluate(coef, (t[part // N] - t[part % N])[:, None], eps=eps).real
        inverse = inverse.reshape(-1, 2, n)
        for s1 in range(0, r.size, max(1, _SHORT_CHUNK // (2 * n))):
            sub = slice(s1, s1 + max(1, _SHORT_CHUNK // (2 * n)))
            Fs = F[inverse[sub]]                                                     # (s, 2, n, terms)
            cov = np.einsum("sj,scj->sc", powers[sl][sub], Fs[:, 0] - Fs[:, 1])      # Cov(E_a, E_c)
            cov[:, 1] = np.einsum("sj,sj->s", powers[sl][sub], Fs[:, 0, 1])          # Cov(E_a, Z_r)
            out[0][start + s1:start + s1 + cov.shape[0]] = cov
    out[1][:] = valid[rows] & (np.arange(n)[None, :] != cols[:, None])               # not Var(E_a): exact already
    return rows, cols, out[0], out[1]


def _robust_rows(unit, used):
    """``Sigma^-1 e_0`` of each unit-diagonal local matrix, shape (N, n, n), on its longest leading block that solves
    consistently: the neighbours' leading block positive definite (Cholesky pivots positive and finite) and a positive
    conditional variance. Shape (N, n), zero beyond the block used; `used` (N, n) marks real neighbours.

    One batched Cholesky of the neighbours' block ``S_NN = L L^T`` and ``w = L^-1 s_N0`` give every leading block at
    once: the conditional variance of point 0 on the first ``c`` neighbours is ``S_00 - sum_{j<c} w_j^2``, and its
    kriging weights ``L_c^-T w_c``. Where far neighbours' covariances with an increment of nearly coincident points
    lose their digits to cancellation, the whole block can be indefinite; those rows then keep the neighbours that
    still condition consistently instead of dropping all of them (measured at N = 1e4, K = 2^14, Sobolev(1.5): four
    such rows made the solve stall at residual 9e-9). Made column by column over the batch: at N = 1e5, n = 13 this
    took 0.15 s where a batched LU solve per leading block took 0.6 s.
    """
    R, n, _ = unit.shape
    m = n - 1
    S = unit[:, 1:, 1:]
    s = unit[:, 1:, 0]
    L = np.zeros((R, m, m))
    w = np.zeros((R, m))
    good = np.ones(R, dtype=bool)              # every pivot so far positive and finite
    ok = np.zeros((R, m), dtype=bool)          # the block of the first j + 1 neighbours is usable
    with np.errstate(all="ignore"):
        for j in range(m):
            col = S[:, j:, j] - np.einsum("rik,rk->ri", L[:, j:, :j], L[:, j, :j])
            pivot = col[:, 0]
            good &= np.isfinite(pivot) & (pivot > 0)
            root = np.sqrt(np.where(good, pivot, 1.0))
            L[:, j:, j] = np.where(good[:, None], col / root[:, None], 0.0)
            L[:, j, j] = np.where(good, L[:, j, j], 1.0)
            w[:, j] = np.where(good, (s[:, j] - np.einsum("rk,rk->r", L[:, j, :j], w[:, :j])) / root, 0.0)
            ok[:, j] = good
        variance = unit[:, 0, 0][:, None] - np.cumsum(w * w, axis=1)    # on the first j + 1 neighbours
        ok &= (variance > 0) & np.isfinite(variance) & used[:, 1:]
        ok = np.logical_and.accumulate(ok, axis=1)
        size = ok.sum(axis=1)                                            # neighbours kept
        d = np.where(size > 0, np.take_along_axis(variance, np.maximum(size - 1, 0)[:, None], axis=1)[:, 0],
                     unit[:, 0, 0])
        keep = np.arange(m)[None, :] < size[:, None]
        w = np.where(keep, w, 0.0)
        b = np.zeros((R, m))                                             # L^-T w on the kept block
        for j in range(m - 1, -1, -1):
            b[:, j] = np.where(keep[:, j], (w[:, j] - np.einsum("rk,rk->r", L[:, j + 1:, j], b[:, j + 1:]))
                               / L[:, j, j], 0.0)
    best = np.zeros((R, n))
    best[:, 0] = 1.0 / d
    best[:, 1:] = -b / d[:, None]
    return best
