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
from ..whole_space import (
    check_whole_space_weight,
    kernel_error,
    kernel_terms,
    monomial_exponents,
    null_degree,
    radial_kernel,
    radial_slope,
)
from .certify import interval_kind, relative_interval
from .problem import SolveInfo

__all__ = ["WholeSpaceSolution", "solve_whole_space", "FlowBasis", "flow_basis"]

_U = 2.0**-53
# Kernel entries formed per block (rows x centres) when evaluating or certifying: bounds memory at ~ 8 * d of it.
_BLOCK = 1 << 21


def _distances(a, b):
    """``|a_i - b_j|_2`` in double, shape (len(a), len(b)): the one formula evaluation and certification share."""
    acc = np.zeros((a.shape[0], b.shape[0]))
    for c in range(a.shape[1]):
        diff = a[:, c, None] - b[None, :, c]
        acc += diff * diff
    return np.sqrt(acc)


class WholeSpaceSolution:
    """``h - h_ini = sum_j alpha_j phi(|x - x_j|) + sum_l c_l ((x - shift) / scale)^beta_l`` on ``R^d``.

    Parameters
    ----------
    centers : ndarray, shape (N, d)
        The data points ``x_j``.
    alpha : ndarray, shape (N, m)
    poly : ndarray, shape (L, m)
        Coefficients ``c_l`` of the free monomials (:func:`fpnorm.whole_space.monomial_exponents`).
    shift : ndarray, shape (d,)
    scale : float
    weight : Weight
        Its whole-space kernel (:func:`fpnorm.whole_space.kernel_terms`) is ``phi``.
    norm2 : ndarray, shape (m,)
        ``||h - h_ini||^2 = alpha^T A alpha`` per column.
    info : SolveInfo or None
    """

    def __init__(self, centers, alpha, poly, shift, scale, weight, norm2, info=None):
        self.centers, self.alpha, self.poly, self.shift, self.scale = centers, alpha, poly, shift, float(scale)
        self.weight, self.norm2, self.info = weight, norm2, info
        self.terms = kernel_terms(weight)
        self.exponents = monomial_exponents(weight.dim, null_degree(weight))

    @property
    def width(self):
        """Columns ``m``."""
        return self.alpha.shape[1]

    def basis(self, x):
        """The free monomials at points `x` (shape (Q, d)), shape (Q, L)."""
        t = (x - self.shift) / self.scale
        out = np.ones((x.shape[0], self.exponents.shape[0]))
        for col, beta in enumerate(self.exponents):
            for c, e in enumerate(beta):
                for _ in range(e):
                    out[:, col] *= t[:, c]
        return out

    def __call__(self, q):
        """Values at points `q` of shape (Q, d), shape (Q, m)."""
        out = np.empty((q.shape[0], self.width))
        rows = max(1, _BLOCK // max(1, self.centers.shape[0]))
        for start in range(0, q.shape[0], rows):
            sl = slice(start, min(q.shape[0], start + rows))
            out[sl] = radial_kernel(self.terms, _distances(q[sl], self.centers)) @ self.alpha \
                + self.basis(q[sl]) @ self.poly
        return out

    def gradient_norms(self, q):
        """``|grad h|_2`` at points `q` (shape (Q, d)), shape (Q, m)."""
        d = q.shape[1]
        out = np.empty((q.shape[0], self.width))
        rows = max(1, _BLOCK // max(1, self.centers.shape[0] * d))
        step = 1e-7 * self.scale
        for start in range(0, q.shape[0], rows):
            sl = slice(start, min(q.shape[0], start + rows))
            r = _distances(q[sl], self.centers)
            w = np.divide(radial_slope(self.terms, r), r, out=np.zeros_like(r), where=r > 0)
            grad = np.zeros((r.shape[0], d, self.width))
            for c in range(d):
                grad[:, c] = (w * (q[sl, c, None] - self.centers[None, :, c])) @ self.alpha
                if self.exponents.shape[0] > 1:   # the polynomial part: a central difference is exact for degree 2
                    e = np.zeros(d)
                    e[c] = step
                    grad[:, c] += (self.basis(q[sl] + e) - self.basis(q[sl] - e)) @ self.poly / (2 * step)
            out[sl] = np.sqrt(np.sum(grad**2, axis=1))
        return out

    @classmethod
    def _from_fields(cls, f):
        """A loaded solution (:mod:`fpnorm._state.schema`): shapes that agree with the weight."""
        weight, centers = check_whole_space_weight(f["weight"]), f["centers"]
        L = monomial_exponents(weight.dim, null_degree(weight)).shape[0]
        if centers.shape[1] != weight.dim or f["poly"].shape[0] != L or f["alpha"].shape[1] != f["norm2"].size:
            raise ValueError(f"WholeSpaceSolution: arrays 'centers' {centers.shape}, 'poly' {f['poly'].shape}, "
                             f"'alpha' {f['alpha'].shape} and 'norm2' {f['norm2'].shape} should agree with the "
                             f"weight {weight!r} (d = {weight.dim}, {L} free monomials)")
        return cls(centers, f["alpha"], f["poly"], f["shift"], f["scale"], weight, f["norm2"])


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
    WholeSpaceSolution
        ``info.residual`` certified at the points, ``info.condition`` the 1-norm condition estimate of
        ``Q2^T A Q2``, ``info.method`` "exact_kernel".

    Raises
    ------
    ValueError
        When the points do not determine the free polynomials (the minimiser is then not unique).
    """
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
    A = radial_kernel(terms, _distances(x, x))
    P = sol.basis(x)
    _check_unisolvent(P, weight, N, d, A)
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


def _check_unisolvent(P, weight, N, d, A):
    """``ValueError`` naming `points` when the kernel overflows or the points do not determine the free monomials."""
    if not np.isfinite(A).all():
        raise ValueError("Expected `points` whose kernel values phi(|x_i - x_j|) are finite, got points so far "
                         "apart that they overflow: rescale the points (and the weight with them, see the README's "
                         "'Data on an interval or a box').")
    L = P.shape[1]
    rank = int(np.linalg.matrix_rank(P)) if L else 0
    if rank < L:
        raise ValueError(f"Expected `points` that determine the polynomials of degree <= {null_degree(weight)} the "
                         f"weight {weight!r} leaves free on the whole space ({L} of them in d = {d}), got {N} "
                         f"point(s) on which they have rank {rank}: the minimum-norm interpolant is not unique. "
                         f"Add points off that {'line' if d == 2 else 'plane' if d == 3 else 'point'}, or use a "
                         f"weight with fewer free polynomials.")


class FlowBasis:
    """The whole-space LFP flow's eigen-decomposition at the points (see :func:`flow_basis`).

    Attributes
    ----------
    solution : WholeSpaceSolution
        The kernel, the free monomials, the points; its coefficients are set per time by :meth:`coefficients`.
    A, P, Q1, Q2, R : ndarray
        Kernel matrix (N, N), monomials (N, L), the QR factors of ``P`` (``Q2`` spans the moment conditions).
    lam, V : ndarray
        ``Q2^T A Q2 = V diag(lam) V^T``, ``lam`` descending, shapes (N - L,) and (N - L, N - L).
    """

    def __init__(self, solution, A, P, Q1, Q2, R, lam, V):
        self.solution, self.A, self.P, self.Q1, self.Q2, self.R, self.lam, self.V = solution, A, P, Q1, Q2, R, lam, V

    def coefficients(self, ts, rhs):
        """``alpha(t)`` (N, T * m) and ``c(t)`` (L, T * m), time-major, for right-hand sides `rhs` (N, m).

        ``alpha = Q2 V diag((1 - e^{-t lam / N}) / lam) V^T Q2^T r`` and ``c`` the least-squares fit of
        ``r - A alpha`` by the free monomials (the free part moves infinitely fast); both 0 at ``t = 0``. Directions
        with ``lam <= 0`` (rounding of a singular kernel matrix) never move.
        """
        N, m = rhs.shape
        L = self.P.shape[1]
        w = self.V.T @ (self.Q2.T @ rhs)                                      # (n, m)
        kept = self.lam > 0
        phi = np.zeros((ts.size, self.lam.size))
        with np.errstate(invalid="ignore", over="ignore"):
            phi[:, kept] = -np.expm1(-ts[:, None] * (self.lam[kept] / N)[None, :]) / self.lam[kept][None, :]
        b = (phi[:, :, None] * w[None]).transpose(1, 0, 2).reshape(self.lam.size, ts.size * m)
        alpha = self.Q2 @ (self.V @ b)
        target = np.tile(rhs, (1, ts.size)) - self.A @ alpha
        c = sla.solve_triangular(self.R[:L, :L], self.Q1.T @ target) if L else np.zeros((0, alpha.shape[1]))
        zero = np.repeat(ts == 0, m)
        alpha[:, zero], c[:, zero] = 0.0, 0.0                                  # h(0) = h_ini exactly
        return alpha, c


def flow_basis(weight, x):
    """The eigen-decomposition behind the whole-space LFP flow at points `x` (shape (N, d), distinct).

    Returns
    -------
    FlowBasis

    Raises
    ------
    ValueError
        When the points do not determine the free polynomials (as :func:`solve_whole_space`).
    """
    N, d = x.shape
    terms = kernel_terms(weight)
    exps = monomial_exponents(d, null_degree(weight))
    L = exps.shape[0]
    check_memory(8 * N * N * (d + 6), f"the {N} x {N} whole-space kernel matrix and its eigenvectors",
                 "Use fewer points.")
    shift = np.mean(x, axis=0)
    scale = float(np.max(np.abs(x - shift))) or 1.0
    sol = WholeSpaceSolution(x, np.zeros((N, 1)), np.zeros((L, 1)), shift, scale, weight, np.zeros(1))
    A = radial_kernel(terms, _distances(x, x))
    P = sol.basis(x)
    _check_unisolvent(P, weight, N, d, A)
    Q, R = np.linalg.qr(P, mode="complete") if L else (np.eye(N), np.zeros((0, 0)))
    Q2 = Q[:, L:]
    B = Q2.T @ A @ Q2
    lam, V = np.linalg.eigh((B + B.T) / 2)
    order = np.argsort(lam)[::-1]
    # eigenvalues within rounding of 0 (relative to the largest) carry no direction the data determine
    lam = lam[order]
    lam = np.where(lam > lam.size * np.finfo(float).eps * max(float(lam[0]) if lam.size else 0.0, 0.0), lam, 0.0)
    return FlowBasis(sol, A, P, Q[:, :L], Q2, R, lam, V[:, order])


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
        r = _distances(x[sl], x)
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
