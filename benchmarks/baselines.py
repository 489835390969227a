"""The baselines fpnorm is measured against, each built the way a careful user would write it.

- :func:`cvxpy_solve`: the minimum-norm problem in cvxpy (Clarabel), scaled real variables ``v = W^-1/2 u``.
- :func:`floor_time`: one finufft type-2 evaluation of the kernel at the N(N-1)/2 differences plus one LAPACK Cholesky
  (scipy.linalg.cho_factor) of an N x N matrix: the floor of any direct kernel method.
- :func:`lfp_ridge_solve`: the LFP paper authors' method, a dense ridge solve ``(E^T E + eps W^-1) F = E^T y`` on a
  fixed cos/sin basis (E the N x M design matrix, W the weights), eps = 1e-6.
"""

import time

import finufft
import numpy as np
import scipy.linalg as sla

from fpnorm.lattice import half_points

__all__ = ["real_design", "real_weights", "cvxpy_solve", "floor_time", "lfp_ridge_solve", "least_norm_reference"]


def real_design(x, K, dim):
    """``[1, cos(2 pi k.x), sin(2 pi k.x)]`` for k in the half box, shape (N, (2K+1)^d), built from scratch."""
    k = half_points(K, dim).astype(float)
    phase = 2 * np.pi * np.reshape(x, (len(x), dim)) @ k.T
    return np.hstack([np.ones((len(x), 1)), np.cos(phase), np.sin(phase)])


def real_weights(weight, K):
    """Weights of the real basis columns such that ``||h||_gamma^2 = sum_j u_j^2 / w_j``: g_0, then 2 g_k twice."""
    dim = weight.dim
    g_half = weight.gamma2(half_points(K, dim))
    g0 = float(weight.gamma2(np.zeros(dim, dtype=int)))
    return np.concatenate([[g0], 2 * g_half, 2 * g_half])


def least_norm_reference(x, y, weight, K):
    """``||h||_gamma`` of the least-norm interpolant by LAPACK's SVD least squares on the scaled design (no kernel):
    an independent reference, accurate to about cond(design) * 1e-16."""
    w = real_weights(weight, K)
    if np.any(np.isinf(w)):
        raise ValueError("least_norm_reference needs finite weights.")
    B = real_design(x, K, weight.dim) * np.sqrt(w)
    v = np.linalg.lstsq(B, y, rcond=None)[0]
    return float(np.linalg.norm(v))


def cvxpy_solve(x, y, weight, K):
    """Minimise ``||v||^2`` subject to ``B v = y``, ``B = E diag(sqrt(w))``, with cvxpy + Clarabel.

    Returns
    -------
    seconds, norm, residual, status
    """
    import cvxpy as cp

    start = time.perf_counter()
    w = real_weights(weight, K)
    B = real_design(x, K, weight.dim) * np.sqrt(w)
    v = cp.Variable(B.shape[1])
    prob = cp.Problem(cp.Minimize(cp.sum_squares(v)), [B @ v == y])
    prob.solve(solver=cp.CLARABEL)
    seconds = time.perf_counter() - start
    vv = np.asarray(v.value)
    residual = float(np.max(np.abs(B @ vv - y)) / np.max(np.abs(y)))
    return seconds, float(np.linalg.norm(vv)), residual, prob.status


def floor_time(t, g, eps, *, repeats=1):
    """Seconds of one finufft type-2 at the N(N-1)/2 differences (plan, points, execute) plus one ``cho_factor``.

    The difference array is built outside the clock. The matrix factorised is the kernel matrix itself (built
    outside the clock too), so the Cholesky does the same work as the solver's.
    """
    N, dim = t.shape
    iu, ju = np.triu_indices(N, k=1)
    diffs = [np.ascontiguousarray(t[iu, j] - t[ju, j]) for j in range(dim)]
    coef = np.ascontiguousarray(g, dtype=complex)
    best_nufft = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        plan = finufft.Plan(2, g.shape, isign=1, eps=eps)
        plan.setpts(*diffs)
        vals = plan.execute(coef).real
        best_nufft = min(best_nufft, time.perf_counter() - start)
    G = np.empty((N, N))
    G[iu, ju] = vals
    G[ju, iu] = vals
    G[np.arange(N), np.arange(N)] = float(np.sum(g))
    del iu, ju, diffs
    best_chol = np.inf
    for _ in range(repeats):
        A = G.copy()
        start = time.perf_counter()
        sla.cho_factor(A, lower=False, overwrite_a=True, check_finite=False)
        best_chol = min(best_chol, time.perf_counter() - start)
    return best_nufft + best_chol, best_nufft, best_chol


def lfp_ridge_solve(x, y, weight, K, *, ridge=1e-6):
    """The dense ridge method: ``(E^T E + ridge W^-1) F = E^T y`` on the (2K+1)-function cos/sin basis.

    ``W^-1`` is 0 on unpenalised columns. Solved by Cholesky (scipy.linalg.solve, assume_a="pos"), the fastest dense
    choice for this SPD system.

    Returns
    -------
    seconds, norm, residual
    """
    start = time.perf_counter()
    w = real_weights(weight, K)
    winv = np.where(np.isinf(w), 0.0, 1.0 / np.where(np.isinf(w), 1.0, w))
    E = real_design(x, K, weight.dim)
    A = E.T @ E
    A[np.diag_indices_from(A)] += ridge * winv
    F = sla.solve(A, E.T @ y, assume_a="pos", check_finite=False)
    seconds = time.perf_counter() - start
    residual = float(np.max(np.abs(E @ F - y)) / np.max(np.abs(y)))
    norm = float(np.sqrt(np.sum(winv * F**2)))
    return seconds, norm, residual
