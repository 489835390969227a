"""Smoothing (penalised least-squares) fit: a closed form in the dual, no cvxpy.

The problem, with ``mu = smoothing > 0`` and real right-hand sides ``r = y - h_ini(x)``::

    minimise  mu * ||h - h_ini||_gamma^2  +  sum_n (h(x_n) - y_n)^2

over the box ``|k|_inf <= K`` (free modes, ``gamma = inf``, cost nothing). This is the usual smoothing-spline
convention: ``mu -> 0`` recovers the exact minimum-norm interpolant and ``mu -> inf`` recovers ``h_ini`` plus the
least-squares fit of the free modes to ``r`` (for a weight whose only free mode is ``k = 0``: ``h_ini`` plus the
mean of ``r``). It is the eps-regularised method of the LFP papers with ``lambda = 1/mu`` in front of the data term.

Closed form. Write ``h - h_ini = B u + F w`` (scaled penalised coordinates ``u``, free coefficients ``w``). The
stationarity conditions ``mu u = B^T (r - h)`` and ``F^T (r - h) = 0`` give ``u = B^T lambda`` with
``lambda = (r - h(x)) / mu``, ``F^T lambda = 0`` and::

    (G + mu I) lambda + F w = r,      G = B B^T,  G_ij = kappa(x_i - x_j),

solved with the free-mode projection of :class:`FreeModes`: ``lambda = Q_2 beta``,
``(G_2 + mu I) beta = Q_2^T r``, ``R w = Q_1^T (r - (G + mu I) lambda)``. ``G_2`` is factored once by a symmetric
eigendecomposition (negative round-off eigenvalues clipped to 0), so every ``mu > 0`` is solved stably. The
coefficients are ``c_k = gamma(k)^2 sum_n lambda_n e^{-i k.t_n}`` plus the free part.
"""

import time

import numpy as np
import scipy.linalg as sla

from .. import transforms
from .._internal.memory import check_memory
from .certify import certified_residual, sensitivity
from .problem import FreeModes, Solution, SolveInfo

__all__ = ["solve_smoothing", "smoothing_memory"]


def smoothing_memory(N):
    """Peak bytes of :func:`solve_smoothing`: ``G``, its projection, the eigenvectors and workspace."""
    return 8 * N * N * 5


def solve_smoothing(problem, smoothing):
    """Penalised least-squares fit; see the module docstring.

    Parameters
    ----------
    problem : Problem
        ``problem.rhs`` of shape (N, m) holds ``y - h_ini(x)``.
    smoothing : float
        ``mu > 0``, the weight of the norm against the sum of squared misfits.

    Returns
    -------
    Solution
        ``info.method`` is "smoothing"; ``info.residual`` is the relative residual of the optimality condition
        ``h(x_n) = r_n - mu lambda_n`` at the points, certified (:mod:`fpnorm.solvers.certify`; not the misfit to
        the data, which is nonzero by design); ``info.condition`` is ``cond(G_2 + mu I)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import Sobolev
    >>> from fpnorm.solvers import Problem
    >>> problem = Problem(2 * np.pi * np.array([[0.1], [0.4], [0.7]]), np.ones((3, 1)), 4, Sobolev(s=1).box(4))
    >>> sol = solve_smoothing(problem, 1e3)
    >>> sol.info.method, bool(abs(sol.coef[4, 0]) < 1e-2)     # large smoothing: h close to h_ini = 0
    ('smoothing', True)
    """
    t0 = time.perf_counter()
    N, K = problem.N, problem.K
    mu = float(smoothing)
    check_memory(smoothing_memory(N), f"the smoothing solve ({N} points)", "Use fewer points.")
    free = FreeModes(problem)
    gp = problem.g_penalised
    G = transforms.kernel_matrix(problem.t, gp, eps=problem.eps)
    G2 = free.project_matrix(G)
    evals, evecs = sla.eigh(G2, check_finite=False)
    evals = np.clip(evals, 0.0, None)
    cond = float((evals.max() + mu) / (evals.min() + mu)) if evals.size else 1.0
    r = problem.rhs
    r2 = free.qt(r)[free.n:]
    beta = evecs @ ((evecs.T @ r2) / (evals + mu)[:, None])
    lam = free.lift(beta)
    coef = gp[..., None] * transforms.adjoint(problem.t, lam, K, eps=problem.eps)
    coef = free.add_free_part(coef, r - G @ lam - mu * lam)
    # relative to the data r, like every other solve (not to the fitted values, which may be tiny), certified
    res, kind, _ = certified_residual(coef, problem, target=r - mu * lam)
    return Solution(coef, SolveInfo("smoothing", res, cond, 0, [], time.perf_counter() - t0, residual_kind=kind,
                                    sensitivity=sensitivity(coef, problem)), alpha=lam,
                    dual=lambda v: free.lift(evecs @ ((evecs.T @ free.qt(v)[free.n:]) / (evals + mu)[:, None])))
