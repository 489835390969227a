"""Matrix-free iterative solve: preconditioned conjugate gradients on the kernel system, NUFFT matvecs.

The dual system ``G alpha = r`` (``G_ij = kappa(t_i - t_j)``, the kernel of the penalised modes) is never formed:
``G v = Phi (g * Phi^H v)`` is one type-1 and one type-2 NUFFT, ``O(N + M log M)`` work. Free modes are handled as
in the dense path: CG runs on the projected SPD system ``G_2 beta = Q_2^T r`` (:class:`FreeModes`), and the free
coefficients are fitted afterwards. The CG residual ``r - G alpha`` *is* the interpolation misfit ``y - h(x)``, so the
stopping test is on the quantity the user asked about; the final residual is re-measured with the exact forward map
and CG is restarted on what is left (iterative refinement) when rounding has drifted it above ``rtol``.

Preconditioner: a sparse approximate inverse ``G^-1 ~ W^T W`` of Vecchia / Kullback-Leibler type (Schaefer,
Sullivan, Owhadi 2021). Points are ordered coarse to fine on dyadic grids (an approximate maximin ordering); row
``i`` of ``W`` is ``Theta_s^-1 e_1 / sqrt(e_1^T Theta_s^-1 e_1)`` for the local kernel matrix ``Theta_s`` on ``i``
and its ``n_b`` nearest earlier points (periodic distance). For a Markov kernel in 1-d (Sobolev s = 1, the
exponential kernel) this is nearly exact; for Matern-like kernels in any ``d`` it bounds the CG iteration count
almost independently of ``N``. Setup costs one NUFFT at ``N (n_b + 1)^2`` differences and ``N`` small solves.
"""

import itertools

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .. import transforms
from .._memory import check_memory
from .._progress import progress
from ._common import FreeModes, Solution, SolveInfo, complex_coef, relative_residual

__all__ = ["solve_iterative", "iterative_memory", "vecchia_factor", "coarse_to_fine", "NEIGHBOURS"]

# Earlier neighbours per point in the preconditioner (its rows have NEIGHBOURS + 1 entries).
NEIGHBOURS = 12
# Iterative-refinement restarts after the first CG run.
_RESTARTS = 3
# finufft tolerance of the residual check.
_CHECK_EPS = 1e-14
# Solves with at least this many points show a CG progress line (on a terminal only).
_PROGRESS_MIN_POINTS = 5000


def iterative_memory(N, M, m=1, dim=1, neighbours=NEIGHBOURS):
    """Peak bytes of :func:`solve_iterative`: NUFFT plans' fine grids, Krylov vectors, the preconditioner setup."""
    grid = 16 * M * (2**dim) * m * 2          # two plans, oversampling 2 per axis
    vectors = 8 * N * m * 10
    nb = neighbours + 1
    setup = 8 * N * nb * nb * 6 + 16 * N * nb * nb   # local matrices, differences, their kernel values
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
    """1-d: each point and the `nb` points before it in sorted order (the first point's set wraps around)."""
    N = x.size
    srt = np.argsort(x, kind="stable")
    pos = np.arange(N)
    sets = np.full((N, nb + 1), -1, dtype=np.int64)
    sets[srt, 0] = srt
    for j in range(1, nb + 1):
        prev = pos - j
        ok = prev >= 0
        sets[srt[ok], j] = srt[prev[ok]]
    return sets


def vecchia_factor(t, g, *, neighbours=NEIGHBOURS, eps=1e-10):
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

    Returns
    -------
    scipy.sparse.csr_matrix, shape (N, N)
        Row ``i`` is ``[1, -b_i] / sqrt(d_i)`` on ``i`` and its neighbours: ``b_i`` the kriging weights of ``i`` on
        its neighbours, ``d_i`` the conditional variance (floored at ``1e-14 kappa(0)``).
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
    n = nb + 1
    valid = sets >= 0
    safe = np.where(valid, sets, sets[:, :1])
    diffs = (t[safe][:, :, None, :] - t[safe][:, None, :, :]).reshape(-1, dim)
    kappa0 = float(np.sum(g))
    theta = transforms.kernel_values(g, diffs, eps=eps).reshape(N, n, n)
    theta = 0.5 * (theta + np.swapaxes(theta, 1, 2))
    pair = valid[:, :, None] & valid[:, None, :]
    eye = np.eye(n, dtype=bool)[None]
    theta = np.where(pair, theta, np.where(eye, kappa0, 0.0))
    theta += (1e-13 * n * kappa0) * np.eye(n)[None]
    rhs = np.zeros((N, n, 1))
    rhs[:, 0, 0] = 1.0
    u = np.linalg.solve(theta, rhs)[:, :, 0]
    u0 = u[:, 0]
    cond_var = np.where(u0 > 0, 1.0 / np.where(u0 > 0, u0, 1.0), kappa0)     # d_i = 1 / (Theta^-1)_11
    cond_var = np.maximum(cond_var, 1e-14 * kappa0)
    u = (u / np.where(u0 > 0, u0, 1.0)[:, None]) / np.sqrt(cond_var)[:, None]  # [1, -b_i] / sqrt(d_i)
    u[u0 <= 0, 1:] = 0.0
    rows = np.repeat(np.arange(N), n)
    cols = safe.reshape(-1)
    vals = np.where(valid, u, 0.0).reshape(-1)
    return sp.csr_matrix((vals, (rows, cols)), shape=(N, N))


def _pcg(apply_a, apply_p, b, misfit, tol, maxiter):
    """Preconditioned CG, one independent run per column of ``b`` (shape (n, m)); stops a column when
    ``max|misfit(r)| <= tol`` or on breakdown (``p^T A p <= 0`` from rounding). Returns, per column, the iterate with
    the smallest misfit seen (CG's misfit is not monotone, and drifts on nearly singular systems), and the
    iterations used."""
    x = np.zeros_like(b)
    r = b.copy()
    z = apply_p(r)
    p = z.copy()
    rz = np.sum(r * z, axis=0)
    best_err = np.max(np.abs(misfit(r)), axis=0)
    best = x.copy()
    active = best_err > tol
    it = 0
    # a progress line on long solves (shown only when stderr is a terminal)
    ticks = progress(itertools.count(), desc=f"fpnorm CG ({b.shape[0]} points)",
                     enabled=None if b.shape[0] >= _PROGRESS_MIN_POINTS else False)
    for _ in ticks:
        if not (it < maxiter and active.any()):
            break
        ap = apply_a(p)
        pap = np.sum(p * ap, axis=0)
        ok = active & (pap > 0)
        alpha = np.where(ok, rz / np.where(ok, pap, 1.0), 0.0)
        x += alpha * p
        r -= alpha * ap
        it += 1
        err = np.max(np.abs(misfit(r)), axis=0)
        better = ok & (err < best_err)
        best[:, better] = x[:, better]
        best_err = np.where(better, err, best_err)
        active = ok & (err > tol)
        z = apply_p(r)
        rz_new = np.sum(r * z, axis=0)
        beta = np.where(active, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
        p = z + beta * p
        rz = rz_new
    ticks.close()
    return best, it


def solve_iterative(problem, *, rtol=1e-10, maxiter=None, neighbours=NEIGHBOURS):
    """Kernel-space solve by preconditioned CG with NUFFT matvecs; see the module docstring.

    Parameters
    ----------
    problem : Problem
    rtol : float
        Target relative residual ``max|h(x_n) - r_n| / max|r_n|``.
    maxiter : int, optional
        CG iterations over all restarts (default ``max(500, min(N, 5000))``).
    neighbours : int
        Preconditioner neighbours per point.

    Returns
    -------
    Solution
        ``info.iterations`` counts CG iterations; ``info.condition`` is nan (not estimated).
    """
    N, K, dim = problem.N, problem.K, problem.dim
    rhs = problem.rhs
    m = rhs.shape[1]
    maxiter = max(500, min(N, 5000)) if maxiter is None else int(maxiter)
    check_memory(iterative_memory(N, problem.M, m, dim, neighbours), f"the iterative solve ({N} points x "
                 f"{problem.M} modes)", "Use a smaller K or fewer points.")
    free = FreeModes(problem)
    gp = problem.g_penalised
    plan = transforms.NufftPlan(problem.t, K, n_trans=m, eps=problem.eps)
    # the residual that refinement and the report rest on is measured at the tightest NUFFT tolerance: with nearly
    # coincident points sum |c_k| exceeds max |h| by orders of magnitude and problem.eps would hide misfits
    check = transforms.NufftPlan(problem.t, K, n_trans=m, eps=_CHECK_EPS)
    gcol = gp[..., None]

    def kernel_apply(v):          # G v for v of shape (N, m)
        return plan.evaluate(gcol * plan.adjoint(v)).real

    finite = gp[np.isfinite(problem.g)]
    g_prec = np.where(np.isinf(problem.g), float(finite.max()) if finite.size else 1.0, gp)
    W = vecchia_factor(problem.t, g_prec, neighbours=neighbours, eps=1e-14)
    nf = free.n

    def apply_a(beta):
        return free.qt(kernel_apply(free.lift(beta)))[nf:]

    def apply_p(r):
        return free.qt(W.T @ (W @ free.lift(r)))[nf:]

    def coefficients(alpha, r):
        coef = gcol * plan.adjoint(alpha)
        if nf:
            real_free = free.free_coefficients(r - plan.evaluate(coef).real)
            real = np.zeros((problem.M, m))
            real[free.cols] = real_free
            coef = coef + complex_coef(real, K, dim)
        return coef

    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    tol = 0.5 * rtol * (scale if scale > 0 else 1.0)
    coef = np.zeros(gp.shape + (m,), dtype=complex)
    remainder = rhs.copy()
    res = relative_residual(np.zeros_like(rhs), rhs)
    used = 0
    attempts = []
    for _ in range(1 + _RESTARTS):
        if res <= rtol or used >= maxiter:
            break
        b = free.qt(remainder)[nf:]
        beta, it = _pcg(apply_a, apply_p, b, free.lift, tol, maxiter - used)
        used += it
        trial = coef + coefficients(free.lift(beta), remainder)
        values = check.evaluate(trial).real
        trial_res = relative_residual(values, rhs)
        if not trial_res < res:
            break
        coef, res = trial, trial_res
        remainder = rhs - values
    if res > rtol:
        attempts.append(f"iterative: residual {res:.2e} after {used} CG iterations (maxiter {maxiter})")
    return Solution(coef, SolveInfo("iterative", res, float("nan"), used, attempts))
