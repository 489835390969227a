"""The exact K = infinity interpolant of the 1-d Sobolev s = 1 weight: piecewise hyperbolic, in O(N), with no system.

With ``gamma(k)^2 = (1 + (2 pi k)^2)^-1`` the squared norm is ``int_0^1 h^2 + h'^2`` (in periods), a sum over the gaps
between sorted nodes. Given the node values, each gap's part is smallest for ``h'' = h`` there, so the minimiser
interpolating ``r_j`` at ``z_j`` is, on the gap ``[z_j, z_j + d_j]``,

    ``h(z) = (r_j sinh(z_j + d_j - z) + r_{j+1} sinh(z - z_j)) / sinh(d_j)``,

continuous with jumps of ``h'`` at the nodes (the kernel ``cosh(1/2 - |z|) / (2 sinh(1/2))`` has the same shape).
Its squared norm is ``sum_j [h h']`` over the gaps, ``(r_j - r_{j+1})^2 coth(d_j) + 2 r_j r_{j+1} tanh(d_j / 2)``.
The truncation measurement of :mod:`fpnorm.solvers.truncation` compares against it
(:func:`fpnorm.solvers.periodic1d.banded_solver`); ``K = None`` solves of this weight go through the dense
closed-form kernel (:func:`fpnorm.solvers.periodic1d.solve_exact_kernel`), whose residual is certified.

Examples
--------
>>> import numpy as np
>>> piece, norm2, info = solve_hyperbolic1d(np.array([0.0, 0.5]), np.array([[1.0], [1.0]]))
>>> bool(np.isclose(piece(np.array([0.25]))[0, 0], 1.0 / np.cosh(0.25)))   # 2 sinh(1/4) / sinh(1/2)
True
"""

import numpy as np

from .._internal.memory import check_memory
from .problem import SolveInfo, relative_residual

__all__ = ["PiecewiseHyperbolic", "solve_hyperbolic1d"]


class PiecewiseHyperbolic:
    """The periodic function with ``h'' = h`` between sorted nodes ``z`` in ``[0, 1)`` and values ``values`` (N, m)
    at them."""

    def __init__(self, z, values):
        self.z, self.values = z, values
        self.d = np.diff(np.append(z, z[0] + 1.0))

    @property
    def width(self):
        """Columns ``m``."""
        return self.values.shape[1]

    def __call__(self, q):
        """Values at ``q`` (shape (Q,), any reals), shape (Q, m)."""
        z, N = self.z, self.z.size
        qf = np.asarray(q, dtype=float)
        qf = qf - np.floor(qf)
        j = np.searchsorted(z, qf, side="right") - 1
        t = qf - z[j % N] + np.where(j < 0, 1.0, 0.0)       # from the node on the left, in [0, d_j)
        j = j % N
        d = self.d[j]
        s = np.sinh(d)
        return (self.values[j] * (np.sinh(d - t) / s)[:, None]
                + self.values[(j + 1) % N] * (np.sinh(t) / s)[:, None])


def solve_hyperbolic1d(z, rhs):
    """Exact K = infinity interpolant for ``gamma(k)^2 = (1 + (2 pi k)^2)^-1`` (1-d Sobolev s = 1), in O(N).

    Parameters
    ----------
    z : ndarray, shape (N,)
        Distinct nodes in ``[0, 1)`` (any order).
    rhs : ndarray, shape (N, m)
        Real data at the nodes.

    Returns
    -------
    piece : PiecewiseHyperbolic
    norm2 : ndarray, shape (m,)
        ``||h||_gamma^2`` per column.
    info : SolveInfo
        ``info.residual`` measured at the nodes (0 up to rounding: the pieces take the data there).
    """
    check_memory(64 * rhs.size + 32 * z.size, f"the exact K = None interpolant of {z.size} points",
                 "Use fewer points.")
    order = np.argsort(z, kind="stable")
    zs, r = z[order], rhs[order]
    piece = PiecewiseHyperbolic(zs, r)
    a, b, d = r, np.roll(r, -1, axis=0), piece.d[:, None]
    norm2 = np.sum((a - b) ** 2 / np.tanh(d) + 2 * a * b * np.tanh(d / 2), axis=0)
    info = SolveInfo("hyperbolic1d", relative_residual(piece(zs), r), float("nan"), 0)
    return piece, norm2, info
