"""Cross-checking a NUFFT-measured residual with exact sums when the interpolant's coefficients are large.

finufft's error is relative to ``sum_k |c_k|``, not to ``max |h|``: at its tightest tolerance it is about
``2e-13 sum_k |c_k|`` on nearly singular solutions (measured: N = 2000 uniform random points, K = 2048, noisy data,
``sum |c_k| ~ 3e6 max |y|``, where it put the residual at 2e-8 while exact sums gave 5e-7). When that floor is not
far below the target, the residual is re-measured by exact sums: at every point when that costs about a second,
else at the points where it is most at risk (the largest measured misfits and the most crowded points), and then
the disagreement between the two measurements, with a margin, is added to the reported residual as its error bar.
"""

import numpy as np
from scipy.spatial import cKDTree

from .. import transforms
from ._common import relative_residual

__all__ = ["NUFFT_FLOOR", "CHECK_POINTS", "crosscheck_residual"]

# finufft's error at eps = 1e-15 relative to sum |c_k| (measured worst case 2e-13, rounded up).
NUFFT_FLOOR = 3e-13
# Exact sums over every point when N M is at most this (about a second); otherwise at CHECK_POINTS points.
FULL_CHECK_WORK = 1e8
# Points re-measured by exact sums on larger problems (half the largest misfits, half the most crowded points).
CHECK_POINTS = 256
# The disagreement seen at a sample of points, times this, bounds it at the points not checked (measured: the
# maximum over 2000 points was 4x the maximum over 247 sampled points; N = 2000, K = 2048, random points, noisy data).
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
        every point when ``N M <= FULL_CHECK_WORK``; else ``max(residual + SAMPLE_MARGIN d, exact residual at the
        checked points)`` with ``d`` the largest disagreement of finufft and exact sums there.
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
    checked = relative_residual(exact, rhs[pick])
    out = max(residual + disagreement, checked)
    note = (f"residual cross-checked by exact sums at {pick.size} points (sum |c_k| = {spread / norm:.1e} max|y|): "
            f"{SAMPLE_MARGIN:g} x the largest difference of finufft and exact sums, {disagreement:.1e}, is added; "
            f"reported {out:.2e}")
    return out, note
