"""Exact K = infinity solves on the circle: a cyclic tridiagonal system (O(N)) and a dense closed-form kernel solve.

The banded route covers every weight with ``gamma(k)^2 = a2 (2 pi k)^-2 + a4 (2 pi k)^-4`` for ``k != 0`` (PowerLaw
p = 2: ``(1, 0)``; p = 4: ``(0, 1)``; LFP: ``(a (2 pi)^2, b (2 pi)^4)``), with ``k = 0`` free or ``gamma(0)^2 = zero``.
Other closed-form kernels (PowerLaw even p >= 6, Sobolev) go through :func:`solve_exact_kernel`, a dense bordered
solve with iterative refinement whose residual is reported honestly.

Everything here works in ``z = x / P`` in ``[0, 1)`` (the weight is a function of the integer ``k``).
"""

import functools
import math
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._internal.memory import check_memory
from ..kernels import bernoulli_polynomial, closed_form_kernel, spline_parts
from ..weights import Sobolev
from .certify_limit import limit_residual
from .hyperbolic1d import solve_hyperbolic1d
from .problem import SolveInfo, relative_residual

__all__ = ["PiecewiseCubic", "PiecewiseLinear", "Shifted", "KernelExpansion", "LimitSolution", "solve_periodic1d",
           "banded_solver",
           "solve_exact_kernel", "solve_limit", "LIMIT_METHODS", "periodic1d_memory", "exact_kernel_memory"]

# Methods that solve the K = infinity problem (FPInterpolator with K=None); "auto" picks the banded one when it can.
LIMIT_METHODS = ("auto", "periodic1d", "exact_kernel")

# Query points evaluated per chunk by the dense kernel expansion (bounds memory at chunk * N floats).
_CHUNK = 1 << 12


class _NodePiece:
    """What the piecewise forms share: node values ``values`` (N, m) on sorted nodes ``z`` and a ``lead`` multiple
    of a Bernoulli polynomial started at ``z_0``."""

    @property
    def width(self):
        """Columns ``m``."""
        return self.values.shape[1]

    def _join(self, ahead, behind, t, qf, dq, order):
        """The piece's values (``ahead`` from the node on the left; ``behind`` from the node on the right where
        ``t < 0``, reached only through ``dq``) plus ``lead B_order({z - z_0}) / order!``."""
        out = np.where(t >= 0, ahead, behind)
        if np.any(self.lead):
            w = qf - self.z[0] + (0.0 if dq is None else dq)
            out = out + self.lead * (bernoulli_polynomial(order, w - np.floor(w)) / math.factorial(order))[:, None]
        return out


class PiecewiseCubic(_NodePiece):
    """A periodic function, cubic between sorted nodes ``z_0 < ... < z_{N-1}`` in ``[0, 1)``, continuous, with
    continuous second derivative, given by its node values and node second derivatives (jumps of ``h'`` and
    ``h'''`` are allowed), plus ``lead * q(z)`` with ``q`` the C^2 quartic ``B_4({z - z_0}) / 24``.

    Parameters
    ----------
    z : ndarray, shape (N,)
    values, second : ndarray, shape (N, m)
        ``h(z_j)`` and ``h''(z_j)`` of the cubic part.
    lead : ndarray, shape (m,), optional
        Coefficient of ``q`` (default 0).
    """

    def __init__(self, z, values, second, lead=None):
        self.z, self.values, self.second = z, values, second
        self.d = np.diff(np.append(z, z[0] + 1.0))
        self.lead = np.zeros(values.shape[1]) if lead is None else lead

    def __call__(self, q, dq=None):
        """Values at points ``q + dq`` (``q`` of shape (Q,), any reals; ``dq`` a tiny exact remainder of ``q``, e.g.
        from :func:`fpnorm.lattice.exact_quotient`), shape (Q, m).

        Each cubic is written as its Taylor polynomial at the node nearest the query's side: exactly the node value
        there, so at the nodes themselves nothing is lost to the cancellation of the two-sided form.
        """
        z, d = self.z, self.d
        N = z.size
        q = np.asarray(q, dtype=float)
        qf = q - np.floor(q)
        j = np.searchsorted(z, qf, side="right") - 1
        t = qf - z[j % N] + np.where(j < 0, 1.0, 0.0)
        if dq is not None:
            t = t + dq                            # exact enough: a query next to a node has t of the size of dq
        j = j % N
        jn, jp = (j + 1) % N, (j - 1) % N
        dj, dp = d[j][:, None], d[jp][:, None]
        t = t[:, None]
        r0, r1, rp = self.values[j], self.values[jn], self.values[jp]
        m0, m1, mp = self.second[j], self.second[jn], self.second[jp]
        right = (r1 - r0) / dj - dj * (2 * m0 + m1) / 6          # h'(z_j+) of the cubic on [z_j, z_j+1]
        left = (r0 - rp) / dp + dp * (mp + 2 * m0) / 6           # h'(z_j-) of the cubic on [z_j-1, z_j]
        ahead = r0 + t * (right + t * (m0 / 2 + t * (m1 - m0) / (6 * dj)))
        behind = r0 + t * (left + t * (m0 / 2 + t * (m0 - mp) / (6 * dp)))   # t < 0 only through dq
        return self._join(ahead, behind, t, qf, dq, 4)

    def mean(self):
        """``int_0^1 h``, shape (m,) (``q`` has zero mean)."""
        d = self.d[:, None]
        r1, m1 = np.roll(self.values, -1, axis=0), np.roll(self.second, -1, axis=0)
        return np.sum(d * (self.values + r1) / 2 - d**3 * (self.second + m1) / 24, axis=0)


class LimitSolution:
    """The K = infinity interpolant ``h - h_ini`` held in piecewise form.

    Attributes
    ----------
    evaluate : PiecewiseCubic, PiecewiseLinear, KernelExpansion or Shifted
        ``evaluate(z)`` for ``z`` of shape (Q,) in periods, returns shape (Q, m).
    norm2 : ndarray, shape (m,)
        ``||h - h_ini||_gamma^2`` per real column.
    info : SolveInfo or None
        How it was solved (None for a loaded solution: its interpolant holds the record).
    """

    def __init__(self, evaluate, norm2, info=None):
        self.evaluate, self.norm2, self.info = evaluate, norm2, info

    @classmethod
    def _from_fields(cls, f):
        """A loaded solution (:mod:`fpnorm._state.schema`): its piece has a column per squared norm."""
        if f["evaluate"].width != f["norm2"].size:
            raise ValueError(f"LimitSolution: the piece has {f['evaluate'].width} columns, array 'norm2' "
                             f"{f['norm2'].size}")
        return cls(f["evaluate"], f["norm2"])


def _cyclic_matrix(d, a2, a4):
    """The symmetric cyclic tridiagonal matrix of the jump relations (see :func:`solve_periodic1d`), CSC."""
    N = d.size
    dm = np.roll(d, 1)  # d_{j-1}
    diag = a4 * (dm + d) / 3.0 + a2 * (1.0 / d + 1.0 / dm)
    off = a4 * d / 6.0 - a2 / d  # couples j and j+1
    j = np.arange(N)
    rows = np.concatenate([j, j, (j + 1) % N])
    cols = np.concatenate([j, (j + 1) % N, j])
    vals = np.concatenate([diag, off, off])
    return sp.csc_matrix((vals, (rows, cols)), shape=(N, N))  # duplicates (N <= 2) are summed


def _slopes(z, r):
    d = np.diff(np.append(z, z[0] + 1.0))[:, None]
    return (np.roll(r, -1, axis=0) - r) / d


def periodic1d_memory(N, m=1):
    """Peak bytes of :func:`solve_limit` by the banded route, from checked points to certified residual: measured
    (N = 10^6) 283 bytes a point for PowerLaw p = 2, 620 for p = 4, 732 for LFP with a finite ``zero``, 928 for p = 4
    with m = 4 columns; the validation of the points (:func:`fpnorm._internal.checks.points_memory`) included."""
    return N * (768 + 256 * m)


def exact_kernel_memory(N, m=1):
    """Peak bytes of :func:`solve_limit` by :func:`solve_exact_kernel`: the N x N kernel, its differences and
    polynomial temporaries, the bordered matrix, its LU factor and the certification's N x N kernel (measured 49
    to 65 bytes per matrix entry at N = 3000 for Sobolev s = 1, 2 and PowerLaw p = 6)."""
    return 80 * (N + 1) ** 2 + periodic1d_memory(N, m)


def solve_periodic1d(z, rhs, *, a2, a4, zero=None):
    """Exact K = infinity interpolant for ``gamma(k)^2 = a2 (2 pi k)^-2 + a4 (2 pi k)^-4`` (k != 0), in O(N).

    Parameters
    ----------
    z : ndarray, shape (N,)
        Distinct nodes in ``[0, 1)`` (any order).
    rhs : ndarray, shape (N, m)
        Real data ``y - h_ini`` at the nodes.
    a2, a4 : float
        Nonnegative, not both zero.
    zero : float or None
        ``gamma(0)^2``; None leaves the constant free.

    Returns
    -------
    LimitSolution

    Notes
    -----
    With ``K_p(z) = sum_{k != 0} e^{2 pi i k z} / (2 pi k)^p`` we have ``K_2'' = 1 - delta`` and
    ``K_4'''' = delta - 1``. The free-constant solution ``h = sum_j alpha_j kappa(z - z_j) + c`` with
    ``sum_j alpha_j = 0`` is therefore, between nodes, a cubic (``h'''' = 0``); it is continuous with continuous
    ``h''``, and at node ``j`` its first and third derivatives jump by ``[h']_j = -a2 alpha_j``,
    ``[h''']_j = a4 alpha_j``, i.e. ``a4 [h']_j + a2 [h''']_j = 0``. Writing each cubic through its end values
    ``r_j`` and end second derivatives ``M_j`` (gaps ``d_j``, slopes ``D_j = (r_{j+1} - r_j) / d_j``) gives, for
    every node, the symmetric, diagonally dominant cyclic tridiagonal system::

        a4 (d_{j-1} M_{j-1} + 2 (d_{j-1} + d_j) M_j + d_j M_{j+1}) / 6
          - a2 ((M_{j+1} - M_j) / d_j - (M_j - M_{j-1}) / d_{j-1})  =  a4 (D_j - D_{j-1}),

    solved by a sparse LU (O(N) fill). ``a4 = 0`` (PowerLaw p = 2) is the periodic piecewise-linear interpolant and
    ``a2 = 0`` (p = 4) the periodic cubic spline. The norm comes from the piecewise form exactly: with
    ``v = sum alpha_j K_4(z - z_j)`` one has ``h'' = a4 v''`` and ``h''' = a4 v'''`` between nodes and
    ``||h||^2 = sum_k |alpha^(k)|^2 (a2 / (2 pi k)^2 + a4 / (2 pi k)^4) = a2 int v'''^2 + a4 int v''^2``, so
    ``||h||^2 = (a2 / a4^2) int h'''^2 + (1 / a4) int h''^2`` (``int h'^2 / a2`` when ``a4 = 0``): sums of
    nonnegative terms, no cancellation.

    A finite ``zero = g0`` is a rank-one correction: ``h_g0 = h_free + t u``, where ``u`` is the minimum-seminorm
    function with ``u(z_j) = 0`` and mean 1 (a cubic part plus ``c4 B_4({z - z_0}) / 24``, or
    ``c2 B_2({z - z_0}) / 2`` when ``a4 = 0``), ``A = ||u||^2``, ``mu* = mean(h_free)`` and
    ``t = -mu* / (1 + A g0)``; ``||h_g0||^2 = ||h_free||^2 + t^2 A + (mu* + t)^2 / g0``.
    """
    if not (a2 >= 0 and a4 >= 0 and (a2 > 0 or a4 > 0)):
        raise ValueError(f"Expected `a2`, `a4` >= 0 and not both zero, got a2 = {a2}, a4 = {a4}.")
    check_memory(periodic1d_memory(*rhs.shape), f"the exact K = None solve of {rhs.shape[0]} points "
                 f"({rhs.shape[1]} right-hand side(s))", "Use fewer points.")
    order = np.argsort(z, kind="stable")
    zs, r = z[order], rhs[order]
    N, m = r.shape
    d = np.diff(np.append(zs, zs[0] + 1.0))
    free_part, norm2 = _free_solve(zs, d, r, a2, a4)
    evaluate = free_part
    if zero is not None:
        mu_star = free_part.mean()
        u, A = _unit_mean_bump(zs, d, a2, a4)
        t = -mu_star / (1.0 + A * zero)
        mu = mu_star + t
        norm2 = norm2 + t**2 * A + mu**2 / zero
        evaluate = Shifted(free_part, u, t)
    res = relative_residual(evaluate(zs), r)
    info = SolveInfo("periodic1d", res, float("nan"), 0)
    return LimitSolution(evaluate, norm2, info)


class Shifted:
    """``f + t u``: the free-constant solution ``f`` plus the rank-one correction ``t u`` of a finite ``zero``.

    ``f`` and ``u`` are both :class:`PiecewiseCubic` or both :class:`PiecewiseLinear` (``u`` with one column);
    ``t`` has shape (m,).
    """

    def __init__(self, f, u, t):
        self.f, self.u, self.t = f, u, t

    @property
    def width(self):
        return self.f.width

    @classmethod
    def _from_fields(cls, f):
        """A loaded correction (:mod:`fpnorm._state.schema`): ``u`` of the kind of ``f``, on its nodes, one column."""
        base, bump = f["f"], f["u"]
        if type(base) is not type(bump) or bump.width != 1 or not np.array_equal(base.z, bump.z) \
                or f["t"].shape != (base.width,):
            raise ValueError(f"Shifted: 'u' should be a one-column {type(base).__name__} on the nodes of 'f' and 't' "
                             f"should have shape ({base.width},)")
        return cls(base, bump, f["t"])

    def __call__(self, q, dq=None):
        return self.f(q, dq) + self.u(q, dq)[:, :1] * self.t


class PiecewiseLinear(_NodePiece):
    """Periodic piecewise-linear function through ``(z_j, values_j)`` (plus ``lead * B_2({z - z_0}) / 2``).

    Parameters
    ----------
    z : ndarray, shape (N,)
        Sorted nodes in ``[0, 1)``.
    values : ndarray, shape (N, m)
    lead : ndarray, shape (m,), optional
    """

    def __init__(self, z, values, lead=None):
        self.z, self.values = z, values
        self.d = np.diff(np.append(z, z[0] + 1.0))
        self.lead = np.zeros(values.shape[1]) if lead is None else lead

    def __call__(self, q, dq=None):
        """Values at ``q + dq`` (see :meth:`PiecewiseCubic.__call__`), shape (Q, m)."""
        z, N = self.z, self.z.size
        qf = np.asarray(q, dtype=float)
        qf = qf - np.floor(qf)
        j = np.searchsorted(z, qf, side="right") - 1
        t = qf - z[j % N] + np.where(j < 0, 1.0, 0.0)
        if dq is not None:
            t = t + dq
        t = t[:, None]
        j = j % N
        r = self.values
        jn, jp = (j + 1) % N, (j - 1) % N
        ahead = r[j] + (r[jn] - r[j]) * (t / self.d[j][:, None])
        behind = r[j] + (r[j] - r[jp]) * (t / self.d[jp][:, None])      # t < 0 only through dq
        return self._join(ahead, behind, t, qf, dq, 2)

    def mean(self):
        return np.sum(self.d[:, None] * (self.values + np.roll(self.values, -1, axis=0)) / 2, axis=0)


def _free_solve(zs, d, r, a2, a4, extra=None):
    """Free-constant solution on sorted nodes; returns (function, norm^2 per column)."""
    if a4 == 0:
        f = PiecewiseLinear(zs, r)
        D = _slopes(zs, r)
        return f, np.sum(d[:, None] * D**2, axis=0) / a2
    D = _slopes(zs, r)
    b = a4 * (D - np.roll(D, 1, axis=0))
    if extra is not None:
        b = b + extra
    A = _cyclic_matrix(d, a2, a4)
    M = spla.splu(A).solve(np.ascontiguousarray(b)) if zs.size > 1 else b / A.toarray()[0, 0]
    M = M.reshape(r.shape)
    f = PiecewiseCubic(zs, r, M)
    M1 = np.roll(M, -1, axis=0)
    s = (M1 - M) / d[:, None]
    int_h2 = np.sum(d[:, None] * (M * M + M * M1 + M1 * M1) / 3.0, axis=0)
    int_h3 = np.sum(d[:, None] * s * s, axis=0)
    return f, (a2 / a4**2) * int_h3 + int_h2 / a4


def _unit_mean_bump(zs, d, a2, a4):
    """The minimum-seminorm ``u`` with ``u(z_j) = 0`` and mean 1, and ``A = ||u||^2`` (see solve_periodic1d)."""
    N = zs.size
    w = zs - zs[0]
    if a4 == 0:
        qv = (bernoulli_polynomial(2, w) / 2.0)[:, None]
        lin = PiecewiseLinear(zs, -qv)
        c2 = 1.0 / lin.mean()[0]  # q has zero mean
        u = PiecewiseLinear(zs, -c2 * qv, lead=np.array([c2]))
        return u, -c2 / a2
    qv = (bernoulli_polynomial(4, w) / 24.0)[:, None]
    extra = np.zeros((N, 1))
    extra[0, 0] = -a2  # a2 [q''']_0, with q''' = B_1({z - z_0}) jumping by -1 at z_0
    f, _ = _free_solve(zs, d, -qv, a2, a4, extra=extra)
    c4 = 1.0 / f.mean()[0]
    u = PiecewiseCubic(zs, c4 * f.values, c4 * f.second, lead=np.array([c4]))
    return u, c4 / a4


class KernelExpansion:
    """``h(z) = sum_j alpha_j kappa(z - z_j) + c``: evaluation of a dense kernel solution in chunks.

    Parameters
    ----------
    z : ndarray, shape (N,)
    alpha : ndarray, shape (N, m)
    c : ndarray, shape (m,)
    weight : Weight
        Its closed-form kernel (:func:`fpnorm.kernels.closed_form_kernel`) is ``kappa``.
    """

    def __init__(self, z, alpha, c, weight):
        self.z, self.alpha, self.c, self.weight = z, alpha, c, weight
        self.kappa = closed_form_kernel(weight)

    @property
    def width(self):
        """Columns ``m``."""
        return self.alpha.shape[1]

    def __call__(self, q, dq=None):
        q = np.asarray(q, dtype=float)
        out = np.empty((q.size, self.alpha.shape[1]))
        for start in range(0, q.size, _CHUNK):
            sl = slice(start, min(q.size, start + _CHUNK))
            diff = q[sl, None] - self.z[None, :]
            if dq is not None:
                diff = diff + dq[sl, None]
            out[sl] = self.kappa(diff) @ self.alpha + self.c
        return out


def solve_exact_kernel(z, rhs, *, weight, refine=4):
    """Dense solve with a closed-form kernel: ``G alpha (+ c 1) = r`` (``1^T alpha = 0`` when the constant is free).

    Parameters
    ----------
    z : ndarray, shape (N,)
    rhs : ndarray, shape (N, m)
    weight : Weight
        With a closed-form kernel ``kappa`` (:func:`fpnorm.kernels.closed_form_kernel`, the ``k = 0`` term included
        when it is penalised); ``zero=None`` leaves the constant free (bordered system).
    refine : int
        Steps of iterative refinement against the same matrix.

    Returns
    -------
    LimitSolution
        ``info.residual`` is measured by re-evaluating the expansion at the nodes; ``info.condition`` is the
        1-norm condition estimate of the (bordered) matrix. This path is O(N^3) and loses accuracy with the
        conditioning of ``G``; use it only where no banded route exists.
    """
    N, m = rhs.shape
    check_memory(exact_kernel_memory(N, m), f"the {N} x {N} closed-form kernel matrix of the exact K = None solve",
                 "Use fewer points, or a weight with a banded solve (PowerLaw p = 2 or 4, LFP).")
    kappa, free_constant = closed_form_kernel(weight), weight.zero is None
    G = kappa(z[:, None] - z[None, :])
    n = N + 1 if free_constant else N
    B = np.zeros((n, n))
    B[:N, :N] = G
    if free_constant:
        B[:N, N] = 1.0
        B[N, :N] = 1.0
    b = np.zeros((n, m))
    b[:N] = rhs
    lu = sla.lu_factor(B, check_finite=False)
    anorm = np.max(np.sum(np.abs(B), axis=0))
    rcond = sla.lapack.dgecon(lu[0], anorm, norm="1")[0]
    x = sla.lu_solve(lu, b)
    steps = 0
    for _ in range(refine):
        x_new = x + sla.lu_solve(lu, b - B @ x)
        if not np.max(np.abs(b - B @ x_new)) < np.max(np.abs(b - B @ x)):
            break
        x, steps = x_new, steps + 1
    alpha = x[:N]
    c = x[N] if free_constant else np.zeros(m)
    f = KernelExpansion(z, alpha, c, weight)
    res = relative_residual(f(z), rhs)
    norm2 = np.maximum(np.einsum("im,im->m", alpha, G @ alpha), 0.0)
    info = SolveInfo("exact_kernel", res, 1.0 / rcond if rcond > 0 else np.inf, steps)
    return LimitSolution(f, norm2, info)


def solve_limit(weight, z, rhs, *, method="auto", dz=None, point_scale=None):
    """Solve the K = infinity problem for a 1-d weight with a closed-form kernel.

    Parameters
    ----------
    weight : Weight
        See :func:`fpnorm.kernels.has_closed_form`.
    z : ndarray, shape (N,)
        Distinct nodes in periods, in ``[0, 1)``.
    rhs : ndarray, shape (N, m)
        Real right-hand sides ``y - h_ini``.
    method : str
        One of :data:`LIMIT_METHODS`: "periodic1d" (O(N), PowerLaw p in {2, 4} and LFP), "exact_kernel" (dense
        closed-form kernel, O(N^3), every closed form), "auto" (the first that applies).
    dz : ndarray, shape (N,), optional
        ``x / P - z``, the exact remainder of the nodes (:func:`fpnorm.lattice.exact_quotient`): the residual is
        certified at ``z + dz``, the user's points.
    point_scale : float, optional
        The largest ``|x| / P`` of the points as given (for ``info.sensitivity``).

    Returns
    -------
    LimitSolution
        ``info.residual`` certified at the points (:func:`fpnorm.solvers.certify_limit.limit_residual`).
    """
    start = time.perf_counter()
    sol = _dispatch(weight, z, rhs, method)
    sol.info.residual, sol.info.residual_kind, sol.info.sensitivity = limit_residual(sol.evaluate, z, dz, rhs,
                                                                                     point_scale)
    sol.info.seconds = time.perf_counter() - start
    return sol


def banded_solver(weight):
    """``(z, rhs) -> LimitSolution``: an exact K = infinity solver in O(N) for a weight that has one, else None: 1-d
    PowerLaw p = 2, 4 and LFP (:func:`solve_periodic1d`), 1-d Sobolev s = 1
    (:func:`fpnorm.solvers.hyperbolic1d.solve_hyperbolic1d`, whose residual is measured, not certified).

    Examples
    --------
    >>> from fpnorm import PowerLaw, Sobolev
    >>> banded_solver(PowerLaw(p=2))(np.array([0.1, 0.6]), np.array([[1.0], [0.0]])).evaluate(np.array([0.35]))
    array([[0.5]])
    >>> banded_solver(Sobolev(s=2)) is None
    True
    """
    if isinstance(weight, Sobolev) and weight.dim == 1 and weight.s == 1:
        return lambda z, rhs: LimitSolution(*solve_hyperbolic1d(z, rhs))
    parts = spline_parts(weight)
    if parts is None:
        return None
    return functools.partial(solve_periodic1d, a2=parts[0], a4=parts[1], zero=weight.zero)


def _dispatch(weight, z, rhs, method):
    parts = spline_parts(weight)
    if method == "auto":
        method = "periodic1d" if parts is not None else "exact_kernel"
    if method == "periodic1d":
        if parts is None:
            raise ValueError(f"Expected a weight with gamma(k)^-2 a combination of (2 pi k)^2 and (2 pi k)^4 "
                             f"(PowerLaw p = 2 or 4, LFP) for `method`='periodic1d', got {weight!r}; use "
                             f"method='exact_kernel'.")
        return solve_periodic1d(z, rhs, a2=parts[0], a4=parts[1], zero=weight.zero)
    return solve_exact_kernel(z, rhs, weight=weight)
