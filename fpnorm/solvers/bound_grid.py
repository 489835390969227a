"""The grid on which bounds on h are enforced: its density, certified between grid points, and the after-solve check.

Bounds ``lower <= h <= upper`` are enforced at the ``n^d`` points ``x = j P / n``. For ``v = h - h_ini`` with
Fourier coefficients ``c_k``, ``L1 = (2 pi/P) sum_k |k| |c_k|`` bounds ``|grad v|`` and
``L2 = (2 pi/P)^2 sum_k |k|^2 |c_k|`` bounds ``sum_j |d^2 v/dx_j^2|``; the grid is chosen (see
:func:`grid_points_per_axis`) so that a constant bound met on the grid holds everywhere to ``atol``. Values of a
solution on the whole grid cost one FFT (:func:`fpnorm.transforms.evaluate_grid`); design rows are formed only for
the grid points that enter the optimisation.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from .. import transforms
from .._internal.checks import evaluate_function
from .._internal.memory import check_memory
from ..lattice import box_points, box_points_memory, real_design, real_to_complex, torus_grid

__all__ = ["GridBounds", "BoundGrid", "bound_offsets", "derivative_bounds", "grid_points_per_axis", "as_bound",
           "check_bounds_fine", "check_data_within_bounds", "max_violation", "MAX_GRID_POINTS",
           "BOUND_RTOL", "bound_grid_memory"]

# Most points of the grid on which bounds are enforced (only the rows needed enter cvxpy; the grid itself costs
# O(n^d) memory and one FFT per check).
MAX_GRID_POINTS = 2**18
# The after-solve check uses 4n points per axis when (4n)^d stays below this, else 2n.
_FINE_CHECK_POINTS = 16_000_000
# Bounds hold between grid points to BOUND_RTOL * max|y - h_ini| (1 if the data are zero).
BOUND_RTOL = 1e-3


@dataclass
class GridBounds:
    """Bounds on ``v = h - h_ini``, enforced on a grid.

    Attributes
    ----------
    offsets : callable
        ``offsets(x)`` for grid points ``x`` of shape (Q, d) returns ``(lo, hi)``, each of shape (Q,), with
        ``-inf`` / ``+inf`` where there is no bound (``lo = lower - h_ini``, ``hi = upper - h_ini``).
    period : float
    atol : float
        Tolerance to which the bound must hold between grid points (absolute, in units of ``h``).
    """

    offsets: object
    period: float
    atol: float


def derivative_bounds(coef, period, dim):
    """Bounds on the first and second derivatives of ``v(x) = sum_k c_k e^{2 pi i k.x/P}``.

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*dim`` (+ ``(m,)``)
    period : float
    dim : int

    Returns
    -------
    L1 : float
        ``(2 pi/P) sum_k |k|_2 |c_k| >= max |grad v|``.
    L2 : float
        ``(2 pi/P)^2 sum_k |k|_2^2 |c_k| >= max sum_j |d^2 v / dx_j^2|``.
    Both are the largest over the columns.
    """
    K = (coef.shape[0] - 1) // 2
    check_memory(box_points_memory(K, dim) + 32 * (2 * K + 1) ** dim, f"the derivative bounds over the box "
                 f"|k|_inf <= {K} in d = {dim}", "Use a smaller K.")
    kn = np.linalg.norm(box_points(K, dim), axis=1)
    flat = np.abs(coef).reshape(kn.size, -1)
    w = 2 * np.pi / period
    return float(w * np.max(kn @ flat)), float(w * w * np.max((kn * kn) @ flat))


def grid_points_per_axis(L1, L2, dim, atol, K, period):
    """Points per axis ``n`` of the bound grid (spacing ``delta = P/n``) for a bound to hold to `atol` in between.

    Two certificates for ``v`` that meets a constant bound at every grid point; the grid takes the cheaper one:

    - first order: every point lies within ``delta sqrt(d)/2`` of a grid point, so the bound is missed by at most
      ``L1 delta sqrt(d)/2``;
    - second order: the multilinear interpolant of the grid values meets the bound (a convex combination), and
      ``v`` differs from it by at most ``L2 delta^2 / 8``.

    At least ``2K + 2`` points per axis; at most ``MAX_GRID_POINTS ** (1/d)``.

    Returns
    -------
    n : int
    capped : bool
        True when the cap stopped ``n`` short of the spacing the tolerance needs.
    """
    if atol > 0:
        first = period * L1 * np.sqrt(dim) / (2 * atol)
        second = period * np.sqrt(L2 / (8 * atol))
        need = int(min(np.ceil(min(first, second)), np.iinfo(np.int32).max))
    else:
        need = np.iinfo(np.int32).max
    cap = int(np.floor(MAX_GRID_POINTS ** (1.0 / dim) + 1e-9))
    n = max(2 * K + 2, need)
    return (min(n, cap), n > cap)


def bound_grid_memory(n, dim):
    """Peak bytes of a bound grid of ``n^dim`` points (:class:`BoundGrid`, :func:`check_bounds_fine`): its points,
    the bounds' offsets there, and one FFT's complex grid, its output and real part."""
    return n**dim * (16 * dim + 80)


class BoundGrid:
    """The ``n^d`` enforcement grid: bound offsets, values of a solution (one FFT), design rows on demand."""

    def __init__(self, n, bounds, K, dim, coordinates):
        self.n, self.K, self.dim, self.period = n, K, dim, bounds.period
        self.x = torus_grid(n, dim, bounds.period)
        self.lo, self.hi = bounds.offsets(self.x)
        self.coordinates = coordinates  # a ScaledDesign: its columns and scales, for real_coefficients

    def values(self, u, w):
        """``v`` at every grid point for scaled coordinates ``(u, w)``, shape (n^d,)."""
        coef = real_to_complex(self.coordinates.real_coefficients(u, w), self.K, self.dim)
        return transforms.evaluate_grid(coef, self.n, self.dim).real.reshape(-1)

    def violation(self, u, w):
        vg = self.values(u, w)
        return np.maximum(self.lo - vg, vg - self.hi)

    def rows(self, idx):
        """``(D, D_free, lo, hi)`` restricted to grid points ``idx``."""
        A = real_design((2 * np.pi / self.period) * self.x[idx], self.K, self.dim)
        c = self.coordinates
        return A[:, c.pen] * c.scales[c.pen], A[:, c.free_cols], self.lo[idx], self.hi[idx]


def bound_offsets(lower, upper, eval_h_ini, dim):
    """The ``offsets`` callable of :class:`GridBounds`: ``x -> (lower - h_ini, upper - h_ini)``.

    Parameters
    ----------
    lower, upper : None, float or callable on the torus
        Validated by :func:`as_bound`; None means no bound (``-inf`` / ``+inf``).
    eval_h_ini : callable
        ``x (Q, d) -> h_ini(x)`` of shape (Q,), or None when there is no ``h_ini``.
    dim : int
    """
    def offsets(x):
        n = x.shape[0]
        h0 = eval_h_ini(x)
        h0 = np.zeros(n) if h0 is None else h0
        out = []
        for b, name, inf in ((lower, "lower", -np.inf), (upper, "upper", np.inf)):
            if b is None:
                out.append(np.full(n, inf))
                continue
            v = evaluate_function(b, x, name, n, dim) if callable(b) else np.full(n, b)
            if np.iscomplexobj(v):
                raise TypeError(f"Expected `{name}` to return real values, got complex.")
            out.append(v - h0)
        return out[0], out[1]
    return offsets


def as_bound(bound, name):
    """A bound: None, a finite real number, or a callable on the torus."""
    if bound is None or callable(bound):
        return bound
    if isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer, np.floating)):
        raise TypeError(f"Expected `{name}` to be None, a real number or a callable on the torus, "
                        f"got {type(bound).__name__}.")
    if not np.isfinite(bound):
        raise ValueError(f"Expected `{name}` to be finite, got {bound}.")
    return float(bound)


def max_violation(v_pts, r, eps, v_grid, lo, hi):
    """Largest constraint violation (absolute): data band and grid bounds."""
    viol = 0.0
    if v_pts is not None:
        viol = max(viol, float(np.max(np.abs(v_pts - r) - (eps if eps is not None else 0.0))))
    if v_grid is not None:
        if np.any(np.isfinite(lo)):
            viol = max(viol, float(np.max(lo - v_grid)))
        if np.any(np.isfinite(hi)):
            viol = max(viol, float(np.max(v_grid - hi)))
    return max(viol, 0.0)


def check_data_within_bounds(bounds, problem, r, tol):
    """Bounds that the data break by more than their tolerance make the problem infeasible: say so up front."""
    x = problem.t * (bounds.period / (2 * np.pi))
    lo, hi = bounds.offsets(x)
    eps = (tol if tol is not None else np.zeros(problem.N))[:, None]
    slack = 1e-12 * max(float(np.max(np.abs(r))), 1.0)
    for name, gap in (("lower", lo[:, None] - (r + eps)), ("upper", (r - eps) - hi[:, None])):
        bad = np.flatnonzero(np.any(gap > slack, axis=1))
        if bad.size:
            raise ValueError(f"Expected `{name}` to admit the data within `tol`: at point(s) {bad[:10].tolist()} the "
                             f"value misses the bound by up to {float(np.max(gap)):.3e}; the problem is infeasible.")


def check_bounds_fine(coef, bounds, n, dim, *, stacklevel):
    """Evaluate on a grid four (or two) times finer than the enforcement grid and warn with the measured violation.

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*dim + (m,)``
        Coefficients of ``v = h - h_ini``.
    bounds : GridBounds
    n : int
        Points per axis of the enforcement grid.
    dim : int
    stacklevel : int
        Passed to :func:`warnings.warn` so that the warning points at the user's call.

    Returns
    -------
    float
        The largest violation found (0 when none).
    """
    P = bounds.period
    K = (coef.shape[0] - 1) // 2
    nf = max(4 * n if (4 * n) ** dim <= _FINE_CHECK_POINTS else 2 * n, 2 * K + 1)
    check_memory(bound_grid_memory(nf, dim), f"the check of the bounds on a grid of {nf}^{dim} points",
                 "Use a smaller K.")
    xf = torus_grid(nf, dim, P)  # a multiple 4n or 2n: contains the midpoints of the enforcement grid
    lo, hi = bounds.offsets(xf)
    vals = transforms.evaluate_grid(coef, nf, dim).real.reshape(nf**dim, -1)
    viol = max_violation(None, None, None, vals, lo[:, None], hi[:, None])
    if viol > bounds.atol:
        warnings.warn(f"A bound on h is violated between grid points by up to {viol:.3e} (checked on a {nf}^{dim} "
                      f"grid; stated tolerance {bounds.atol:.1e}). The enforcement grid of {n}^{dim} points is too "
                      f"coarse for this solution; use a smaller K or a smoother weight.", UserWarning,
                      stacklevel=stacklevel)
    return viol
