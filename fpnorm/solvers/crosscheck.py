"""Cross-checking a NUFFT-measured residual with exact sums when the interpolant's coefficients are large.

finufft's error is relative to ``sum_k |c_k|``, not to ``max |h|``: at its tightest tolerance it is about
``2e-13 sum_k |c_k|`` on nearly singular solutions (measured: N = 2000 uniform random points, K = 2048, noisy data,
``sum |c_k| ~ 3e6 max |y|``, where it put the residual at 2e-8 while exact sums gave 5e-7). When that floor is not
far below the target, the residual is re-measured by exact sums: at every point when that costs about a second,
else at the points where it is most at risk (the largest measured misfits and the most crowded points). In that
sampled case the points not checked keep finufft's measurement, so an error bar is added to it: the larger of
finufft's own error model, ``NUFFT_FLOOR sum_k |c_k|``, and ``SAMPLE_MARGIN`` times the largest disagreement of
finufft and exact sums seen at the checked points. The sampled disagreement alone is no bound (the 4x margin is one
measured case: on another CPU the unchecked points missed by more, and the reported residual fell below the exact
one); finufft's error model holds at every point, and the sampled term only widens the bar where finufft was seen
to do worse than its model.
"""

import numpy as np
from scipy.spatial import cKDTree

from .. import transforms
from .problem import relative_residual

__all__ = ["NUFFT_FLOOR", "CHECK_POINTS", "crosscheck_residual"]

# finufft's error at eps = 1e-15 relative to sum |c_k| (measured worst case 2e-13, rounded up).
NUFFT_FLOOR = 3e-13
# Exact sums over every point when N M is at most this (about a second); otherwise at CHECK_POINTS points.
FULL_CHECK_WORK = 1e8
# Points re-measured by exact sums on larger problems (half the largest misfits, half the most crowded points).
CHECK_POINTS = 256
# The disagreement seen at a sample of points, times this, widens the error bar beyond finufft's error model
# (NUFFT_FLOOR sum |c_k|) when the sample shows finufft doing worse than that model (measured: the maximum over 2000
# points was 4x the maximum over 247 sampled points; N = 2000, K = 2048, random points, noisy data). It is not a bound
# on its own: the floor term is what covers the points not checked.
SAMPLE_MARGIN = 4.0


def _crowded(t, count):
    """Indices of the `count` points with the smallest distance to another point (periodic)."""
    if t.shape[0] < 2:
        return np.arange(t.shape[0])
    tree = cKDTree(np.mod(t, 2 * np.pi), boxsize=2 * np.pi)
    dist, _ = tree.query(np.mod(t, 2 * np.pi), k=2)
    return np.argsort(dist[:, 1], kind="stable")[:count]


def crosscheck_residual(coef, problem, residual, rtol):
    """The residual with an error bar from exact sums, when finufft's floor could hide a miss of `rtol`.

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*d + (m,)``
    problem : Problem
    residual : float
        The NUFFT-measured relative residual.
    rtol : float
        The target.

    Returns
    -------
    residual : float
        Unchanged when ``NUFFT_FLOOR sum |c_k|`` is below ``rtol / 10`` of ``max |y|``; else the exact residual at
        every point when ``N M <= FULL_CHECK_WORK``; else ``max(residual + bar, exact residual at the checked points)``
        with the error bar ``bar = max(SAMPLE_MARGIN d, NUFFT_FLOOR sum |c_k|)`` (relative to ``max |y|``), ``d`` the
        largest disagreement of finufft and exact sums at the checked points: finufft's error model covers the points
        not checked, and the sampled term widens it where finufft was seen to miss by more.
    note : str or None
        What was checked, for ``SolveInfo.attempts``.
    """
    rhs = problem.rhs
    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    spread = float(np.max(np.sum(np.abs(coef.reshape(-1, rhs.shape[1])), axis=0))) if coef.size else 0.0
    if not np.isfinite(residual) or NUFFT_FLOOR * spread <= 0.1 * rtol * (scale if scale > 0 else 1.0):
        return residual, None
    t = problem.t
    norm = scale if scale > 0 else 1.0
    if problem.N * problem.M <= FULL_CHECK_WORK:
        exact = transforms.evaluate(coef, t, backend="direct").real
        out = relative_residual(exact, rhs)
        return out, (f"residual measured by exact sums at all {problem.N} points (sum |c_k| = "
                     f"{spread / norm:.1e} max|y|; finufft's would be {residual:.2e})")
    nufft = transforms.evaluate(coef, t, eps=1e-15).real
    worst = np.argsort(-np.max(np.abs(nufft - rhs), axis=1), kind="stable")[: CHECK_POINTS // 2]
    pick = np.unique(np.concatenate([worst, _crowded(t, CHECK_POINTS // 2)]))
    exact = transforms.evaluate(coef, t[pick], backend="direct").real
    disagreement = SAMPLE_MARGIN * float(np.max(np.abs(exact - nufft[pick]))) / norm
    floor = NUFFT_FLOOR * spread / norm
    bar = max(disagreement, floor)
    checked = relative_residual(exact, rhs[pick])
    out = max(residual + bar, checked)
    note = (f"residual cross-checked by exact sums at {pick.size} points (sum |c_k| = {spread / norm:.1e} max|y|): "
            f"finufft's {residual:.2e} plus an error bar of {bar:.1e}, the larger of finufft's error model "
            f"{NUFFT_FLOOR:g} sum |c_k| = {floor:.1e} and {SAMPLE_MARGIN:g} x the largest difference of finufft and "
            f"exact sums there = {disagreement:.1e}; exact residual at those points {checked:.2e}; reported {out:.2e}")
    return out, note
