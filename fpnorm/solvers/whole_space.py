"""The minimum-norm interpolant on the whole space ``R^d`` (``period=None``): a dense saddle-point solve.

With the kernel ``phi`` and the free monomials of :mod:`fpnorm.whole_space`, the interpolant
``h = sum_j alpha_j phi(|x - x_j|) + sum_l c_l p_l(x)`` solves::

    [ A    P ] [alpha]   [y]
    [ P^T  0 ] [  c  ] = [0],      A_ij = phi(|x_i - x_j|),  P_il = p_l(x_i),

where ``p_l(x) = ((x - shift) / scale)^beta_l`` are the monomials about the points' centre. With ``P = [Q1 Q2] R``
(QR), ``alpha = Q2 b`` and ``Q2^T A Q2 b = Q2^T y``: ``Q2^T A Q2`` is positive definite (``alpha^T A alpha`` is the
squared norm of ``h``), so it is a Cholesky factorisation, refined on the whole saddle system. The points must
determine the free polynomials (``P`` of full column rank, e.g. not all on one line for an affine part in 2-d);
otherwise the minimiser is not unique.

The residual is certified at the user's float points like :mod:`fpnorm.solvers.certify_limit`'s kernel sums: the
classical bound of a floating-point sum (Higham, sec. 3.1) plus each kernel value's error
(:func:`fpnorm.whole_space.kernel_error`) and each monomial's rounding.
"""

import time

import numpy as np
import scipy.linalg as sla

from .._internal.memory import check_memory
from ..kernels import spline_parts
from ..whole_space import (
    WholeSpaceSolution,
    check_unisolvent,
    kernel_error,
    kernel_terms,
    monomial_exponents,
    null_degree,
    pairwise_distances,
    radial_kernel,
)
from .certify import interval_kind, relative_interval
from .line_spline import solve_line
from .problem import SolveInfo

__all__ = ["solve_whole_space"]

_U = 2.0**-53
# Kernel entries formed per block (rows x centres) when evaluating or certifying: bounds memory at ~ 8 * d of it.
_BLOCK = 1 << 21


def solve_whole_space(weight, x, rhs, *, refine=4, point_scale=None):
    """Solve the whole-space interpolation problem by a dense saddle-point solve.

    Parameters
    ----------
    weight : Weight
        PowerLaw (``p > d``, ``zero=None``), LFP (``zero=None``) or Sobolev (``s > d/2``).
    x : ndarray, shape (N, d)
        Distinct points, as given (not wrapped).
    rhs : ndarray, shape (N, m)
        Real right-hand sides ``y - h_ini(x)``.
    refine : int
        Steps of iterative refinement on the saddle system.
    point_scale : float, optional
        The largest ``|x|_2`` of the points (for ``info.sensitivity``).

    Returns
    -------
    WholeSpaceSolution or LineSpline
        ``info.residual`` certified at the points, ``info.condition`` the 1-norm condition estimate of
        ``Q2^T A Q2``, ``info.method`` "exact_kernel". The 1-d spline weights (PowerLaw p in {2, 4}, LFP) go
        through :func:`fpnorm.solvers.line_spline.solve_line` instead: O(N), piecewise cubic, exact node values.

    Raises
    ------
    ValueError
        When the points do not determine the free polynomials (the minimiser is then not unique).
    """
    if spline_parts(weight) is not None:
        return solve_line(weight, x, rhs, point_scale=point_scale)
    start = time.perf_counter()
    N, d = x.shape
    m = rhs.shape[1]
    terms = kernel_terms(weight)
    exps = monomial_exponents(d, null_degree(weight))
    L = exps.shape[0]
    check_memory(8 * N * N * (d + 4) + 8 * N * (L + 4 * m), f"the {N} x {N} whole-space kernel matrix",
                 "Use fewer points.")
    shift = np.mean(x, axis=0)
    scale = float(np.max(np.abs(x - shift))) or 1.0
    sol = WholeSpaceSolution(x, np.zeros((N, m)), np.zeros((L, m)), shift, scale, weight, np.zeros(m))
    A = radial_kernel(terms, pairwise_distances(x, x))
    P = sol.basis(x)
    check_unisolvent(P, weight, N, d, A)
    Q, R = np.linalg.qr(P, mode="complete") if L else (np.eye(N), np.zeros((0, 0)))
    Q1, Q2 = Q[:, :L], Q[:, L:]
    AQ2 = A @ Q2
    B = Q2.T @ AQ2
    B = (B + B.T) / 2
    try:
        factor = sla.cho_factor(B, lower=False, check_finite=False)
        rcond = sla.lapack.dpocon(factor[0], float(np.max(np.sum(np.abs(B), axis=0))) if B.size else 0.0)[0] \
            if B.size else 1.0
        inner = lambda b: sla.cho_solve(factor, b, check_finite=False)    # noqa: E731
    except np.linalg.LinAlgError:
        # rounding made the projected matrix indefinite (condition near 1e16): an LU still solves it
        lu = sla.lu_factor(B, check_finite=False)
        rcond = sla.lapack.dgecon(lu[0], float(np.max(np.sum(np.abs(B), axis=0))), norm="1")[0]
        inner = lambda b: sla.lu_solve(lu, b, check_finite=False)    # noqa: E731

    def saddle(f, g):
        """``[A P; P^T 0]^-1 [f; g]``."""
        a1 = Q1 @ sla.solve_triangular(R[:L, :L], g, trans="T") if L else np.zeros_like(f)
        b = inner(Q2.T @ (f - A @ a1)) if B.size else np.zeros((0, f.shape[1]))
        alpha = a1 + Q2 @ b
        c = sla.solve_triangular(R[:L, :L], Q1.T @ (f - A @ alpha)) if L else np.zeros((0, f.shape[1]))
        return alpha, c

    def misfit(alpha, c):
        return rhs - A @ alpha - P @ c, -(P.T @ alpha)

    alpha, c = saddle(rhs, np.zeros((L, m)))
    steps = 0
    for _ in range(refine):
        f, g = misfit(alpha, c)
        da, dc = saddle(f, g)
        new_a, new_c = alpha + da, c + dc
        f2, g2 = misfit(new_a, new_c)
        if not np.max(np.abs(f2), initial=0.0) + np.max(np.abs(g2), initial=0.0) \
                < np.max(np.abs(f), initial=0.0) + np.max(np.abs(g), initial=0.0):
            break
        alpha, c, steps = new_a, new_c, steps + 1
    sol.alpha, sol.poly = alpha, c
    sol.norm2 = np.maximum(np.einsum("im,im->m", alpha, A @ alpha), 0.0)
    residual, kind = _certified_residual(sol, rhs)
    top = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    span = float(np.max(np.linalg.norm(x, axis=1))) if point_scale is None else float(point_scale)
    slope = float(np.max(sol.gradient_norms(x), initial=0.0))
    sens = slope * np.finfo(float).eps * span / (top if top > 0 else 1.0)
    sol.info = SolveInfo("exact_kernel", residual, 1.0 / rcond if rcond > 0 else np.inf, steps,
                         seconds=time.perf_counter() - start, residual_kind=kind, sensitivity=sens,
                         truncation_error=0.0)
    return sol


def _certified_residual(sol, rhs):
    """``max |h(x_n) - y_n| / max |y|`` at the centres themselves, the upper end of a certified interval, and its
    kind ("exact" / "bound"), for the values ``sol(x)`` computes."""
    x = sol.centers
    N, d = x.shape
    L = sol.exponents.shape[0]
    degree = int(np.max(np.sum(sol.exponents, axis=1), initial=0))
    n = N + L + 1
    gamma = n * _U / (1 - n * _U)
    mono = (3 * degree + 1) * _U / (1 - (3 * degree + 1) * _U)
    hi = np.empty_like(rhs)
    lo = np.empty_like(rhs)
    rows = max(1, _BLOCK // max(1, N))
    for start in range(0, N, rows):
        sl = slice(start, min(N, start + rows))
        r = pairwise_distances(x[sl], x)
        phi = radial_kernel(sol.terms, r)
        basis = np.abs(sol.basis(x[sl]))
        values = phi @ sol.alpha + sol.basis(x[sl]) @ sol.poly
        bar = (gamma * (np.abs(phi) @ np.abs(sol.alpha) + basis @ np.abs(sol.poly))
               + kernel_error(sol.terms, r, d) @ np.abs(sol.alpha) + mono * (basis @ np.abs(sol.poly))
               + _U * np.abs(values))
        absolute = np.abs(values - rhs[sl])
        hi[sl] = absolute * (1 + 2 * _U) + bar
        lo[sl] = np.maximum(absolute * (1 - 2 * _U) - bar, 0.0)
    upper, lower = relative_interval(hi, lo, rhs)
    residual, kind, _ = interval_kind(upper, lower)
    return residual, kind
