"""The whole-line interpolant of the spline weights in O(N): a piecewise cubic, affine beyond the data.

For ``gamma(xi)^2 = a2 (2 pi xi)^-2 + a4 (2 pi xi)^-4`` (PowerLaw p = 2: ``(1, 0)``, p = 4: ``(0, 1)``; LFP:
``(a (2 pi)^2, b (2 pi)^4)``, :func:`fpnorm.kernels.spline_parts`) the whole-space kernel is
``phi = -a2 |x| / 2 + a4 |x|^3 / 12`` (:mod:`fpnorm.whole_space`), so ``h = sum_j alpha_j phi(x - x_j) + q`` is a
cubic between sorted nodes, with continuous ``h''`` (0 beyond the data), ``h'`` jumping by ``-a2 alpha_j`` and
``h'''`` by ``a4 alpha_j`` at ``x_j``. Eliminating ``alpha``: ``a4 [h']_j + a2 [h''']_j = 0`` at the inner nodes,
with the node values ``y_j`` and second derivatives ``M_j`` (``M_0 = M_{N-1} = 0``) as unknowns. That is a
tridiagonal system, strictly diagonally dominant when ``a4 > 0`` (``M = 0``, piecewise linear, when ``a4 = 0``),
solved in O(N) at the accuracy of its data -- the dense kernel form loses ``cond(A)`` (``~1e10`` at 400 points).

The node values are the data themselves, so the residual at the user's points is exactly 0. The slopes beyond the
data follow from the jump condition at the end nodes (the natural cubic spline's end slopes when ``a2 = 0``, constant
extension when ``a4 = 0``). ``||h||^2 = sum_j alpha_j y_j``.
"""

import time

import numpy as np
import scipy.linalg as sla

from .._internal.memory import check_memory
from ..kernels import spline_parts
from .problem import SolveInfo

__all__ = ["LineSpline", "solve_line"]


class LineSpline:
    """``h - h_ini`` on the line: cubic between sorted nodes ``z`` with node values and second derivatives, affine
    beyond them.

    Parameters
    ----------
    z : ndarray, shape (N,)
        Strictly increasing nodes.
    values, second : ndarray, shape (N, m)
        ``h(z_j)`` and ``h''(z_j)`` (``second`` is 0 at both ends).
    weight : Weight
        A 1-d spline weight (:func:`fpnorm.kernels.spline_parts`).
    norm2 : ndarray, shape (m,)
    info : SolveInfo or None
    """

    def __init__(self, z, values, second, weight, norm2, info=None):
        self.z, self.values, self.second, self.weight, self.norm2, self.info = z, values, second, weight, norm2, info
        a2, a4 = spline_parts(weight)
        d = np.diff(z)[:, None]
        self.slopes = (np.zeros(values.shape[1]), np.zeros(values.shape[1]))   # constant beyond when a4 = 0
        if z.size > 1 and a4 > 0:
            right0 = (values[1] - values[0]) / d[0] - d[0] * (2 * second[0] + second[1]) / 6
            left1 = (values[-1] - values[-2]) / d[-1] + d[-1] * (second[-2] + 2 * second[-1]) / 6
            # a4 [h'] + a2 [h'''] = 0 at the end nodes, with h''' = 0 beyond them
            self.slopes = (right0 + a2 / a4 * (second[1] - second[0]) / d[0],
                           left1 + a2 / a4 * (second[-1] - second[-2]) / d[-1])

    @property
    def width(self):
        """Columns ``m``."""
        return self.values.shape[1]

    def __call__(self, q):
        """Values at points `q` of shape (Q, 1), shape (Q, m); each cubic in Taylor form at its left node."""
        z, r, M = self.z, self.values, self.second
        q = q[:, 0]
        N = z.size
        j = np.clip(np.searchsorted(z, q, side="right") - 1, 0, max(N - 2, 0))
        out = np.empty((q.size, self.width))
        if N > 1:
            d = (z[j + 1] - z[j])[:, None]
            t = (q - z[j])[:, None]
            m0, m1, r0, r1 = M[j], M[j + 1], r[j], r[j + 1]
            slope = (r1 - r0) / d - d * (2 * m0 + m1) / 6
            out[:] = r0 + t * (slope + t * (m0 / 2 + t * (m1 - m0) / (6 * d)))
        else:
            out[:] = r[0]
        below, above = q < z[0], q >= z[-1]      # at the last node itself: its value, exactly
        out[below] = r[0] + (q[below] - z[0])[:, None] * self.slopes[0]
        out[above] = r[-1] + (q[above] - z[-1])[:, None] * self.slopes[1]
        return out

    @classmethod
    def _from_fields(cls, f):
        """A loaded solution (:mod:`fpnorm._state.schema`): a 1-d spline weight, shapes that agree."""
        if spline_parts(f["weight"]) is None or f["weight"].zero is not None:
            raise ValueError(f"LineSpline: the weight {f['weight']!r} should be a 1-d PowerLaw p in (2, 4) or LFP "
                             f"with zero=None")
        if f["values"].shape[1] != f["norm2"].size:
            raise ValueError(f"LineSpline: array 'values' has {f['values'].shape[1]} columns, 'norm2' "
                             f"{f['norm2'].size}")
        return cls(f["z"], f["values"], f["second"], f["weight"], f["norm2"])


def solve_line(weight, x, rhs, *, point_scale=None):
    """The whole-line interpolant of a spline weight (see the module docstring).

    Parameters
    ----------
    weight : Weight
        1-d, :func:`fpnorm.kernels.spline_parts` not None, ``zero=None``.
    x : ndarray, shape (N, 1)
        Distinct points.
    rhs : ndarray, shape (N, m)
    point_scale : float, optional
        The largest ``|x|`` of the points (for ``info.sensitivity``).

    Returns
    -------
    LineSpline
        ``info.residual`` 0 ("exact": the node values are the data), ``info.condition`` the 1-norm condition
        estimate of the tridiagonal matrix, ``info.method`` "exact_kernel".
    """
    start = time.perf_counter()
    a2, a4 = spline_parts(weight)
    N, m = rhs.shape
    check_memory(8 * N * (4 * m + 12), f"the whole-line spline of {N} points")
    order = np.argsort(x[:, 0], kind="stable")
    z, r = x[order, 0], rhs[order]
    M = np.zeros((N, m))
    condition = 1.0
    if N > 2 and a4 > 0:
        d = np.diff(z)
        slope = np.diff(r, axis=0) / d[:, None]
        inner = a4 * (d[1:] + d[:-1]) / 3 + a2 * (1 / d[1:] + 1 / d[:-1])
        off = a4 * d[1:-1] / 6 - a2 / d[1:-1]
        band = np.zeros((3, N - 2))
        band[0, 1:], band[1], band[2, :-1] = off, inner, off
        M[1:-1] = sla.solve_banded((1, 1), band, a4 * np.diff(slope, axis=0), check_finite=False)
        # diagonal dominance bounds the inverse: ||T^-1||_inf <= 1 / min(diag - |off-diagonals|)
        margin = inner - np.concatenate([[0.0], np.abs(off)]) - np.concatenate([np.abs(off), [0.0]])
        norm = float(np.max(inner + np.concatenate([[0.0], np.abs(off)]) + np.concatenate([np.abs(off), [0.0]])))
        condition = norm / float(np.min(margin))
    sol = LineSpline(z, r, M, weight, np.zeros(m))
    sol.norm2 = np.maximum(np.einsum("jm,jm->m", _dual(sol, a2, a4), r), 0.0)
    # |h'| at the nodes is at most the chord slope plus d max|M| / 2 on either side
    steep = 0.0
    if N > 1:
        d = np.diff(z)[:, None]
        steep = float(np.max(np.abs(np.diff(r, axis=0)) / d + d * np.maximum(np.abs(M[1:]), np.abs(M[:-1])) / 2))
    top = float(np.max(np.abs(r))) if r.size else 0.0
    span = float(np.max(np.abs(z))) if point_scale is None else float(point_scale)
    sol.info = SolveInfo("exact_kernel", 0.0, condition, 0, seconds=time.perf_counter() - start,
                         residual_kind="exact", truncation_error=0.0,
                         sensitivity=steep * np.finfo(float).eps * span / (top if top > 0 else 1.0))
    return sol


def _dual(sol, a2, a4):
    """``alpha_j``, shape (N, m): from the jump of ``h'''`` (``a4 alpha``) or, when ``a4 = 0``, of ``h'``."""
    z, r, M = sol.z, sol.values, sol.second
    N = z.size
    if N < 2:
        return np.zeros_like(r)
    d = np.diff(z)[:, None]
    if a4 > 0:
        third = np.vstack([np.zeros((1, r.shape[1])), np.diff(M, axis=0) / d, np.zeros((1, r.shape[1]))])
        return np.diff(third, axis=0) / a4
    slope = np.vstack([np.zeros((1, r.shape[1])), np.diff(r, axis=0) / d, np.zeros((1, r.shape[1]))])
    return -np.diff(slope, axis=0) / a2
