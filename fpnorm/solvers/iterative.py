"""Matrix-free iterative solve: Craig's method in coefficient space, NUFFT products, a Vecchia preconditioner.

With ``A z = Phi(sqrt(g) z)`` the values at the points of scaled coefficients ``z`` (so ``||h||_gamma = ||z||``),
the minimum-norm interpolant is the minimum-norm solution of ``A z = r``. Craig's method (Golub-Kahan
bidiagonalisation; Paige 1974) solves it with one type-2 and one type-1 NUFFT per iteration, ``O(N + M log M)``
work. It runs on the left-preconditioned system ``W P A z = W P r``, which has the same solutions: ``P`` projects out
the free (unpenalised) basis functions (:class:`FreeModes`; their coefficients are fitted afterwards) and ``W`` is a
sparse approximate inverse factor, ``W^T W ~ G^-1`` for the kernel matrix ``G = A A^T``. Mathematically this is CG
on ``W G W^T``; working with coefficients rather than the dual variables ``alpha = G^-1 r`` matters when points
nearly coincide: the dual variables are then huge and cancel, and a residual computed from them loses every digit,
while the coefficients stay moderate.

The stopping test is on the interpolation misfit ``max|r - A z|``, the quantity the user asked about. Each Krylov
run is at most ``_RUN`` iterations, and ends early when its misfit sits flat (the floor that the rounding of its
recurrences sets) or runs away past convergence; its best iterate is kept, the residual is re-measured with the
exact forward map and a new run starts on what is left (iterative refinement), which resets that rounding.

Preconditioner: a Vecchia / Kullback-Leibler factor (Schaefer, Sullivan, Owhadi 2021). Points are ordered (sorted in
1-d, coarse to fine on dyadic grids in higher d, an approximate maximin ordering); row ``i`` of ``W`` is
``[1, -b_i] / sqrt(d_i)`` with ``b_i`` the kriging weights of ``i`` on its ``n_b`` nearest earlier points (in 1-d on
the circle: the last points also see the first ones across the period) and ``d_i`` the conditional variance. The
local covariances are written in increments: ``Z_i - Z_r`` from the nearest earlier point ``r``, and in 1-d each
further neighbour from the nearest member before it in the set. Their covariances are sums of variogram values
``kappa(0) - kappa(tau)`` (by a Taylor series when ``K |tau| <= 4`` in 1-d), and in 1-d those of increments shorter
than ``_SHORT / K`` come from a series in the increment's length, so points far closer than ``1/K`` (twins among the
neighbours too) still get accurate rows: at N = 2000, K = 3277, Sobolev(1.5) with 50 planted pairs 1e-5/K .. 1e-3/K
apart, the eigenvalues of ``W G W^T`` are those of the factor from exact local covariances ([3e-4, 4.2], one below
0.4). A local solve that turns inconsistent keeps the neighbours that still condition consistently. A relative
jitter ``_JITTER`` caps the rows' size (1e-12, 1e-14 and 1e-16 needed 64 / 63 / 62 iterations at N = 20000,
K = 32768, noisy data, and 199 / 226 / 193 with Sobolev(1.5) and smooth data).
For a Markov kernel in 1-d (Sobolev s = 1) the factor is nearly exact. Setup: one NUFFT at ``N (n_b + 1)^2``
differences and ``N`` small solves.

The other preconditioner (``preconditioner="kl"``, the default in 3-d, :data:`DEFAULT_PRECONDITIONER`) is the
KL-minimising factor of :mod:`fpnorm.solvers.precondition`: a true radius pattern ``rho * l_i`` in an ``r``-net maximin
ordering instead of a fixed number of nearest neighbours, so coarse points condition on a wide neighbourhood; ``W``
is its transpose (``W^T W = L L^T ~ G^-1``).
"""

import itertools

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .. import transforms
from .._internal.memory import check_memory
from .._internal.progress import progress
from .precondition import box_kernel, build_kl_factor
from .problem import FreeModes, Solution, SolveInfo, relative_residual, values_at_points

__all__ = ["solve_iterative", "iterative_memory", "vecchia_factor", "coarse_to_fine", "NEIGHBOURS", "PRECONDITIONERS",
           "DEFAULT_PRECONDITIONER"]

# Preconditioners of solve_iterative: "kl" the KL factor in maximin ordering (:mod:`fpnorm.solvers.precondition`),
# "vecchia" the nearest-neighbour factor of this module (sorted order in 1-d).
PRECONDITIONERS = ("kl", "vecchia")
# The default preconditioner by dimension, from benchmarks/bench_scale.py (uniform random points, Sobolev weights,
# rtol 1e-10): in 3-d the KL factor needs 46 iterations at N = 5000, K = 16 where the Vecchia factor needs 223; in
# 2-d (N = 5000, K = 64) it needs 511 / 372 / 242 at rho = 3 / 4 / 5 against the Vecchia factor's 236 at half the
# entries; in 1-d the sorted chain is nearly exact for the Markov-like Sobolev kernels (KL divergence 10 against 160
# for the maximin factor at rho = 6, N = 1500, K = 2048, Sobolev(1.5)).
DEFAULT_PRECONDITIONER = {1: "vecchia", 2: "vecchia", 3: "kl"}

# Earlier neighbours per point in the preconditioner (its rows have NEIGHBOURS + 1 entries).
NEIGHBOURS = 12
# Iterations per Krylov run: refinement then restarts on the exactly measured remainder, which resets the rounding
# that the recurrences accumulate on nearly singular problems (measured: runs of 200 reach 1e-11 where one long run
# drifts at 1e-6).
_RUN = 200
# A Krylov run ends early when its misfit has neither halved nor moved by more than a factor _FLAT over the last
# _STALL iterations: it sits on the floor that the rounding of its recurrences sets (measured near 1e-10 relative at
# N = 1e4, K = 2^14, Sobolev(1.5), 1e-9 at N = 2e4, K = 2^15), and a fresh run on the exactly measured remainder gets
# below it; plateaus where the misfit still swings are left to run (cutting them needed 787 iterations and failed
# where letting them run needs 290).
_STALL = 30
_FLAT = 1.5
_GAIN = 0.8
# A run also ends when its misfit exceeds its lowest by this factor: past convergence the recurrences drift off (seen
# reaching 1e2 after 3e-11 on an out-of-reach rtol); on the way the misfit swings by up to ~10x.
_DIVERGED = 1e3
# Increments of the preconditioner's local covariances shorter than _SHORT / K (angles) are summed by a series of
# _SHORT_TERMS terms (_short_increments): the last is below 0.1^12 / 12! ~ 2e-21 of the first. Longer increments
# lose at most ~1e-14 / (K delta)^2 ~ 1e-12 of their covariances to cancellation; the series costs _SHORT_TERMS sums
# at 2 (n_b + 1) differences per short increment (about 1% of the set members at 0.76 points per 1/K), in chunks
# of _SHORT_CHUNK differences.
_SHORT = 0.1
_SHORT_TERMS = 12
_SHORT_CHUNK = 2**17
# Relative jitter of the (unit-diagonal) local covariance matrices of the preconditioner.
_JITTER = 1e-12
# The variogram is summed by its Taylor series for K |tau| <= _TAYLOR_RANGE (1-d), with _TAYLOR_TERMS terms: the last
# is below 4^80 / 80! ~ 2e-71 of the first, and the alternating sum loses at most about two digits at the range end.
_TAYLOR_RANGE = 4.0
_TAYLOR_TERMS = 40
# Iterations in a row whose runs do not halve the best measured residual before the solve gives up.
_IDLE_ITERATIONS = 600
# finufft tolerance of the residual check.
_CHECK_EPS = 1e-15
# Loosest finufft tolerance of the Krylov products: the preconditioner's rows scale rounding in A z by up to
# 1 / sqrt(_JITTER), so the products are made that much tighter than the tolerance the residual target asks for.
_PROD_EPS = 1e-14
# Solves still running after this many seconds show a progress line with the residual (on a terminal only).
_PROGRESS_DELAY = 2.0


def iterative_memory(N, M, m=1, dim=1, neighbours=NEIGHBOURS):
    """Peak bytes of :func:`solve_iterative`: NUFFT plans' fine grids, Krylov vectors, the preconditioner setup."""
    grid = 16 * M * (2**dim) * m * 2          # two plans, oversampling 2 per axis
    vectors = 8 * N * m * 10 + 16 * M * m * 6    # point-space and coefficient-space Krylov vectors, temporaries
    nb = neighbours + 1
    # local matrices, differences, their kernel values and the increments' covariances: the factor's peak grew by
    # 95 bytes per N nb^2 in 1-d (1536 MiB at N = 1e5, K = 2^17, 12 neighbours)
    setup = 8 * N * nb * nb * 12 + 16 * N * nb * nb
    return grid + vectors + setup


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
    (-1 pads); a sparse (R, N) matrix."""
    N, dim = t.shape
    R, n = sets.shape
    kappa0 = float(np.sum(g))
    valid = sets >= 0
    safe = np.where(valid, sets, sets[:, :1])
    if dim == 1:
        gam = _set_variograms(t[:, 0], g, safe, eps)
    else:
        diffs = (t[safe][:, :, None, :] - t[safe][:, None, :, :]).reshape(-1, dim)
        kappa = transforms.kernel_values(g, diffs, eps=eps).reshape(R, n, n)
        gam = kappa0 - 0.5 * (kappa + np.swapaxes(kappa, 1, 2))      # the variogram kappa(0) - kappa(t_a - t_b)
    gam[:, np.arange(n), np.arange(n)] = 0.0
    # Variables: E_i = Z_i - Z_r, Z_r and E_a = Z_a - Z_b(a) (r the nearest neighbour, column 1 of the set; b(a) the
    # member before a in the set nearest to it, in 1-d, else r). Their covariances are sums of variogram values,
    # exact to rounding even for points far closer than 1/K, where kappa itself would lose every digit of the
    # conditional variance; in 1-d, those of increments shorter than _SHORT / K come from a series in their length
    # (_short_increments), as sums of variogram values cancel there.
    base = _bases(t[:, 0], safe, valid) if dim == 1 else np.ones((R, n), dtype=np.int64)
    at_base_c = np.take_along_axis(gam, np.broadcast_to(base[:, None, :], (R, n, n)), axis=2)   # gam[a, b(c)]
    at_base_a = np.take_along_axis(gam, np.broadcast_to(base[:, :, None], (R, n, n)), axis=1)   # gam[b(a), c]
    both = np.take_along_axis(at_base_a, np.broadcast_to(base[:, None, :], (R, n, n)), axis=2)   # gam[b(a), b(c)]
    sigma = at_base_c + at_base_a - gam - both
    to_r = at_base_a[:, :, 1] - gam[:, :, 1]                                 # Cov(E_a, Z_r)
    sigma[:, 1, :] = to_r
    sigma[:, :, 1] = to_r
    sigma[:, 1, 1] = kappa0
    if dim == 1:
        _short_increments(t[:, 0], g, safe, valid, base, sigma, eps)
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
    rows = np.repeat(np.arange(R), n)
    cols = safe.reshape(-1)
    vals = np.where(valid, u, 0.0).reshape(-1)
    return sp.csr_matrix((vals, (rows, cols)), shape=(R, N))


def _variogram_1d(g, d, eps):
    """``kappa(0) - kappa(d)`` at angle differences ``d`` (d = 1): finufft, and the Taylor series near 0."""
    kappa0 = float(np.sum(g))
    out = kappa0 - transforms.kernel_values(g, d[:, None], eps=eps)
    tau = np.abs(np.mod(d + np.pi, 2 * np.pi) - np.pi)
    near = tau * (g.shape[0] // 2) <= _TAYLOR_RANGE
    out[near] = _variogram_taylor(g, tau[near])
    return out


def _set_variograms(t, g, safe, eps):
    """``kappa(0) - kappa(t_a - t_b)`` for every two members of each set, shape (R, n, n) (d = 1).

    The chain's sets are runs of points consecutive in sorted order, so two members are at most ``n - 1`` sorted
    positions apart: the variogram is evaluated once per point and lag (``N n`` differences instead of ``R n^2``),
    and directly only for the pairs across the wrap.
    """
    R, n = safe.shape
    N = t.size
    srt = np.argsort(t, kind="stable")
    pos = np.empty(N, dtype=np.int64)
    pos[srt] = np.arange(N)
    p = pos[safe]
    lag = np.abs(p[:, :, None] - p[:, None, :])
    top = np.maximum(p[:, :, None], p[:, None, :])
    ts = t[srt]
    q = np.arange(N)[:, None]
    back = np.maximum(q - np.arange(n)[None, :], 0)
    table = _variogram_1d(g, (ts[q] - ts[back]).reshape(-1), eps).reshape(N, n)     # table[q, l]: q and q - l
    inside = lag < n
    gam = np.empty((R, n, n))
    gam[inside] = table[top[inside], lag[inside]]
    if not inside.all():
        gam[~inside] = _variogram_1d(g, (t[safe][:, :, None] - t[safe][:, None, :])[~inside], eps)
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


def _short_increments(t, g, safe, valid, base, sigma, eps):
    """Recompute, in place, the covariances of every short increment ``E_a = Z_a - Z_b(a)``
    (``K |t_a - t_b(a)| <= _SHORT``) with ``Z_r`` and the other increments of its set, by a series in
    ``delta = t_a - t_b(a)`` with no cancellation (d = 1).

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
    delta = np.mod(t[safe] - tb + np.pi, 2 * np.pi) - np.pi                          # (R, n)
    short = valid & (np.abs(delta) * K <= _SHORT) & (np.arange(n) != 1)[None, :] & valid[:, 1:2]
    rows, cols = np.nonzero(short)
    if rows.size == 0 or K == 0:
        return
    k = np.arange(-K, K + 1) / K
    coef = np.stack([g * (1j * k) ** j for j in range(1, _SHORT_TERMS + 1)], axis=1)  # F_n / K^n
    step = max(1, _SHORT_CHUNK // (2 * n))                # bounded memory: _SHORT_TERMS complex sums per point
    for start in range(0, rows.size, step):
        r, c = rows[start:start + step], cols[start:start + step]
        far = tb[r, c][:, None] - t[safe[r]]                                        # t_b(a) - t_c
        near = tb[r, c][:, None] - tb[r]                                            # t_b(a) - t_b(c)
        z = np.concatenate([far, near], axis=1).reshape(-1, 1)
        F = transforms.evaluate(coef, z, eps=eps).real.reshape(r.size, 2, n, _SHORT_TERMS)
        powers = np.cumprod((delta[r, c] * K)[:, None] / np.arange(1, _SHORT_TERMS + 1), axis=1)
        cov = np.einsum("sj,scj->sc", powers, F[:, 0] - F[:, 1])                     # Cov(E_a, E_c)
        cov[:, 1] = np.einsum("sj,sj->s", powers, F[:, 0, 1])                       # Cov(E_a, Z_r)
        keep = valid[r] & (np.arange(n)[None, :] != c[:, None])                     # not Var(E_a): exact already
        new = np.where(keep, cov, sigma[r, c, :])
        sigma[r, c, :] = new
        sigma[r, :, c] = new


def _robust_rows(unit, used):
    """``Sigma^-1 e_0`` of each unit-diagonal local matrix, shape (N, n, n), on its longest leading block that solves
    consistently: a positive, finite ``(Sigma^-1)_00`` and a conditional variance ``1 / (Sigma^-1)_00`` that does not
    grow as neighbours are added. Shape (N, n), zero beyond the block used; `used` (N, n) marks real neighbours.

    Where far neighbours' covariances with an increment of nearly coincident points lose their digits to
    cancellation, the full solve can give a negative ``(Sigma^-1)_00``; those rows then keep the neighbours that
    still condition consistently instead of dropping all of them (measured at N = 1e4, K = 2^14, Sobolev(1.5): four
    such rows made the solve stall at residual 9e-9).
    """
    N, n, _ = unit.shape
    best = np.zeros((N, n))
    best[:, 0] = 1.0
    variance = np.ones(N)
    alive = np.ones(N, dtype=bool)
    for c in range(2, n + 1):
        rhs = np.zeros((N, c, 1))
        rhs[:, 0, 0] = 1.0
        with np.errstate(all="ignore"):
            x = np.linalg.solve(unit[:, :c, :c], rhs)[:, :, 0]
        positive = x[:, 0] > 0
        var = 1.0 / np.where(positive, x[:, 0], 1.0)
        alive &= positive & np.isfinite(x).all(axis=1) & (var <= variance * (1 + 1e-6)) & used[:, c - 1]
        best[alive, :c] = x[alive]
        best[alive, c:] = 0.0
        variance = np.where(alive, var, variance)
    return best


def _variogram_taylor(g, tau):
    """``sum_k g_k (1 - cos(k tau))`` for ``K |tau| <= _TAYLOR_RANGE`` (d = 1) by its Taylor series.

    The terms are ``nu_n (K tau)^(2n) / (2n)!`` with ``nu_n = sum_k g_k (k/K)^(2n) <= nu_1``: no cancellation of
    ``kappa(0)`` against ``kappa(tau)``, so the result keeps its relative accuracy however small ``tau`` is.
    """
    K = g.shape[0] // 2
    q = (np.arange(-K, K + 1) / max(K, 1)) ** 2
    out = np.zeros_like(tau)
    x2 = (tau * K) ** 2
    power = np.ones_like(tau)
    qn = np.ones_like(q)
    for j in range(1, _TAYLOR_TERMS + 1):
        qn = qn * q
        power = power * x2 / ((2 * j - 1) * (2 * j))
        out += (-1) ** (j + 1) * float(np.sum(g * qn)) * power
    return out


def _craig(forward, adjoint, left, left_t, project, b, tol, maxiter, ticks=None, report=None, stall=None):
    """Craig's method (Golub-Kahan bidiagonalisation) for ``min ||z||`` subject to ``L P A z = L P b``.

    ``A`` maps scaled coefficients ``z`` (complex, shape ``box + (m,)``) to values at the points (real, (N, m));
    ``P`` projects the free basis functions out and ``L`` is the left preconditioner, so the constraint set, and
    hence the minimum-norm solution, is that of ``P A z = P b``. One independent run per column of ``b``; a column
    stops when its misfit ``max|P(b - A z)|`` (updated alongside the iterate from the products already computed) is
    at most `tol`, on breakdown, when the misfit sits flat (see ``_STALL``) or when it has grown ``_DIVERGED`` times
    above its lowest (past convergence, rounding drives the recurrences off). Craig's iterates approach the solution
    monotonically in norm while the misfit may rise and fall on the way, so the iterate of the lowest misfit is
    returned, with the iterations used and its dual variables
    ``y`` (``z = A^H y``, ``P y = y``): every ``v_j`` is ``A^H P L^T w_j`` with ``w_j`` following the same
    recurrence in point space, so ``y = P L^T sum_j zeta_j w_j`` costs no product. `ticks` (an iterator) is
    advanced once per iteration and `report` given the misfit (a progress line).
    """
    axes = tuple(range(b.ndim - 1))
    stall = maxiter + 1 if stall is None else stall

    def cnorm(v):
        return np.sqrt(np.sum(v.real**2 + v.imag**2, axis=tuple(range(v.ndim - 1))))

    def safe(x):
        return np.where(x > 0, x, 1.0)

    u = left(project(b))
    beta = np.sqrt(np.sum(u * u, axis=axes))
    u = u / safe(beta)
    v = adjoint(left_t(u))
    alpha = cnorm(v)
    v = v / safe(alpha)
    w = u / safe(alpha)
    active = (np.max(np.abs(project(b)), axis=axes) > tol) & (beta > 0) & (alpha > 0)
    zeta = np.where(active, beta / safe(alpha), 0.0)
    z = zeta * v
    y = zeta * w
    av = forward(v)
    fit = zeta * av
    it = 0
    best = np.full(active.shape, np.inf)       # the lowest misfit by halvings (the stall test)
    lowest = np.full(active.shape, np.inf)     # the lowest misfit, whose iterate is kept
    keep_z, keep_y = z.copy(), y.copy()
    since = np.zeros(active.shape, dtype=np.int64)
    recent = np.zeros((min(stall, maxiter + 1),) + active.shape)
    while active.any():
        misfit = np.max(np.abs(project(b - fit)), axis=axes)
        lower = active & (misfit < lowest)
        if lower.any():
            lowest = np.where(lower, misfit, lowest)
            keep_z[..., lower], keep_y[..., lower] = z[..., lower], y[..., lower]
        if it == maxiter:
            break
        it += 1
        improved = misfit < _GAIN * best
        best = np.where(improved, misfit, best)
        since = np.where(improved, 0, since + 1)
        recent[it % stall] = misfit
        flat = (since >= stall) & (np.max(recent, axis=0) < _FLAT * np.min(recent, axis=0))
        active &= (misfit > tol) & ~flat & (misfit < _DIVERGED * lowest)
        if report is not None:
            report(float(np.max(misfit)))
        if ticks is not None:
            next(ticks)
        u = left(project(av)) - alpha * u
        beta = np.sqrt(np.sum(u * u, axis=axes))
        u = u / safe(beta)
        v = adjoint(left_t(u)) - beta * v
        w = u - beta * w
        alpha = cnorm(v)
        v = v / safe(alpha)
        w = w / safe(alpha)
        active &= (beta > 0) & (alpha > 0)
        zeta = np.where(active, -beta * zeta / safe(alpha), 0.0)
        z = z + zeta * v
        y = y + zeta * w
        av = forward(v)
        fit = fit + zeta * av
    return keep_z, left_t(keep_y), it


def solve_iterative(problem, *, rtol=1e-10, maxiter=None, neighbours=NEIGHBOURS, preconditioner=None, rho=None):
    """Coefficient-space solve by Craig's method with NUFFT products and a Vecchia preconditioner; see the module
    docstring.

    Parameters
    ----------
    problem : Problem
    rtol : float
        Target relative residual ``max|h(x_n) - r_n| / max|r_n|``.
    maxiter : int, optional
        Iterations over all restarts (default ``max(500, min(N, 5000))``).
    neighbours : int
        Neighbours per point of the "vecchia" preconditioner.
    preconditioner : str, optional
        One of :data:`PRECONDITIONERS` (default :data:`DEFAULT_PRECONDITIONER` for the dimension).
    rho : float, optional
        Sparsity radius of the "kl" preconditioner (default :data:`fpnorm.solvers.precondition.RHO`).

    Returns
    -------
    Solution
        ``info.iterations`` counts Krylov iterations (one type-1 and one type-2 NUFFT each); ``info.condition`` is
        nan (not estimated).
    """
    if preconditioner is None:
        preconditioner = DEFAULT_PRECONDITIONER.get(problem.dim, "kl")
    if preconditioner not in PRECONDITIONERS:
        raise ValueError(f"Expected `preconditioner` to be one of {PRECONDITIONERS}, got {preconditioner!r}.")
    N, K, dim = problem.N, problem.K, problem.dim
    rhs = problem.rhs
    m = rhs.shape[1]
    maxiter = max(500, min(N, 5000)) if maxiter is None else int(maxiter)
    check_memory(iterative_memory(N, problem.M, m, dim, neighbours), f"the iterative solve ({N} points x "
                 f"{problem.M} modes)", "Use a smaller K or fewer points.")
    free = FreeModes(problem)
    gp = problem.g_penalised
    plan = transforms.NufftPlan(problem.t, K, n_trans=m, eps=min(problem.eps, _PROD_EPS))
    # the residual that refinement and the report rest on is measured at the tightest NUFFT tolerance: with nearly
    # coincident points sum |c_k| exceeds max |h| by orders of magnitude and problem.eps would hide misfits
    check = transforms.NufftPlan(problem.t, K, n_trans=m, eps=_CHECK_EPS)
    root = np.sqrt(gp)[..., None]

    finite = gp[np.isfinite(problem.g)]
    g_prec = np.where(np.isinf(problem.g), float(finite.max()) if finite.size else 1.0, gp)
    if preconditioner == "kl":
        L, _ = build_kl_factor(problem.t / (2 * np.pi), box_kernel(g_prec), rho=rho)
        W = L.T.tocsr()
    else:
        W = vecchia_factor(problem.t, g_prec, neighbours=neighbours, eps=1e-14)
    WT = W.T.tocsr()
    nf = free.n

    def forward(z):               # A z: values of the scaled coefficients at the points
        return plan.evaluate(root * z).real

    def adjoint(r):               # A^H r
        return root * plan.adjoint(r)

    def project(r):               # P r = Q_2 Q_2^T r: the part the free basis functions cannot fit
        return r if nf == 0 else free.lift(free.qt(r)[nf:])

    def coefficients(z, remainder):
        coef = root * z
        return free.add_free_part(coef, remainder - plan.evaluate(coef).real) if nf else coef

    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    tol = 0.5 * rtol * (scale if scale > 0 else 1.0)
    coef = np.zeros(gp.shape + (m,), dtype=complex)
    dual = np.zeros_like(rhs)                     # the dual variables of coef's penalised part
    remainder = rhs.copy()
    best = (relative_residual(np.zeros_like(rhs), rhs), coef, dual)
    used, runs, idle = 0, 0, 0
    # a progress line with the residual as it falls, on solves that last over _PROGRESS_DELAY (terminal only)
    shown = {"misfit": np.nan}
    norm = scale if scale > 0 else 1.0
    ticks = progress(itertools.count(), desc=f"fpnorm iterative ({N} points)", delay=_PROGRESS_DELAY,
                     postfix=lambda: f"residual ~{shown['misfit'] / norm:.1e} (target {rtol:.0e})")

    def report(misfit):
        shown["misfit"] = misfit
    # Krylov runs of at most _RUN iterations, each on the remainder measured exactly after the last (iterative
    # refinement: it resets the rounding the recurrences accumulate); the best measured solution is kept
    while best[0] > rtol and used < maxiter and idle < _IDLE_ITERATIONS:
        z, y, it = _craig(forward, adjoint, lambda r: W @ r, lambda u: project(WT @ u), project, remainder, tol,
                          min(_RUN, maxiter - used), ticks, report, _STALL)
        used, runs = used + it, runs + 1
        coef, dual = coef + coefficients(z, remainder), dual + y
        values = values_at_points(check.evaluate, coef, problem).real   # at t + t_lo: the points themselves
        res = relative_residual(values, rhs)
        idle = 0 if res < 0.5 * best[0] else idle + it
        if res < best[0]:
            best = (res, coef, dual)
        remainder = rhs - values
        if it == 0:
            break
    ticks.close()
    res, coef, dual = best
    attempts = []
    if res > rtol:
        attempts.append(f"iterative: residual {res:.2e} after {used} Craig iterations in {runs} runs (maxiter "
                        f"{maxiter})")
    # no factorisation to reuse: the preconditioner P W^T W P ~ G^-1 stands in for it, with the dual variables
    return Solution(coef, SolveInfo("iterative", res, float("nan"), used, attempts),
                    dual=lambda r: project(WT @ (W @ project(r))), alpha=dual)
