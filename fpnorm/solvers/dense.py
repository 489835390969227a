"""Dense kernel (dual) solve: the N x N kernel matrix by finufft, one Cholesky factorisation, refinement.

``G_ij = kappa(x_i - x_j)`` with ``kappa`` the kernel of the penalised modes. After projecting out the free modes
(:class:`FreeModes`), ``G_2 = Q_2^T G Q_2`` is symmetric positive definite; ``G_2 beta = Q_2^T r``,
``alpha = Q_2 beta``, and the coefficients are ``c_k = g_k sum_n alpha_n e^{-i k.t_n}`` (one type-1 NUFFT) plus the
free part. The residual is measured at the points (type-2 NUFFT at the rounded angles plus the first-order step to
the points, :func:`~fpnorm.solvers.problem.values_at_points`) and refined with the same factor.
Cost: one NUFFT at the N(N-1)/2 differences plus N^3/3 flops; this is the floor of any direct method.
"""

import numpy as np
import scipy.linalg as sla

from .. import transforms
from .._internal.memory import check_memory
from .problem import FreeModes, Solution, SolveInfo, relative_residual, values_at_points

__all__ = ["solve_cholesky", "cholesky_memory"]


def cholesky_memory(N):
    """Peak bytes of :func:`solve_cholesky`: G, its projection and factor, a temporary of their size, and the NUFFT's
    difference blocks (at most 2^22 differences at a time; measured 35 bytes per matrix entry at N = 3000)."""
    return 8 * N * N * 4 + 48 * min(1 << 22, N * N)


def solve_cholesky(problem, *, refine=3, rtol=1e-10):
    """Kernel-space solve with a Cholesky factorisation; raises ``numpy.linalg.LinAlgError`` if G_2 is not
    numerically positive definite (the caller then falls back to a stabler method).

    Returns
    -------
    Solution
    """
    N, K, dim = problem.N, problem.K, problem.dim
    need = cholesky_memory(N)
    if dim > 3:  # no finufft: the plan keeps the N x M exponentials and the kernel matrix is a direct sum
        need += transforms.direct_sum_memory(N, K, dim, problem.rhs.shape[1]) + transforms.kernel_matrix_memory(
            N, K, dim, direct=True)
    check_memory(need, f"the Cholesky solve's {N} x {N} kernel matrix, its projection and factor"
                 + (f" (direct sums over {problem.M} modes in d = {dim})" if dim > 3 else ""),
                 "Use method='iterative' (matrix-free) or fewer points" + (", or a smaller `K`." if dim > 3 else "."))
    plan = transforms.NufftPlan(problem.t, K, n_trans=problem.rhs.shape[1], eps=problem.eps)  # reused below
    free = FreeModes(problem)
    gp = problem.g_penalised
    G = transforms.kernel_matrix(problem.t, gp, eps=problem.eps)
    G2 = free.project_matrix(G)
    del G
    anorm = float(np.max(np.sum(np.abs(G2), axis=0))) if G2.size else 0.0
    factor = sla.cho_factor(G2, lower=False, overwrite_a=True, check_finite=False)
    rcond = sla.lapack.dpocon(factor[0], anorm, uplo="U")[0] if G2.size else 1.0
    cond = 1.0 / rcond if rcond > 0 else np.inf

    def correction(r):
        beta = sla.cho_solve(factor, free.qt(r)[free.n:], check_finite=False)
        alpha = free.lift(beta)
        coef = gp[..., None] * plan.adjoint(alpha)
        return free.add_free_part(coef, r - plan.evaluate(coef).real) if free.n else coef

    rhs = problem.rhs
    coef = correction(rhs)
    values = values_at_points(plan.evaluate, coef, problem).real     # at the points t + t_lo, at the problem's eps
    res = relative_residual(values, rhs)
    steps = 0
    for _ in range(refine):
        if res <= rtol * 1e-3 or res == 0.0:
            break
        trial = coef + correction(rhs - values)
        trial_values = values_at_points(plan.evaluate, trial, problem).real
        trial_res = relative_residual(trial_values, rhs)
        if not trial_res < res:
            break
        coef, res, values = trial, trial_res, trial_values
        steps += 1
    return Solution(coef, SolveInfo("cholesky", res, cond, steps),
                    dual=lambda r: free.lift(sla.cho_solve(factor, free.qt(r)[free.n:], check_finite=False)))
