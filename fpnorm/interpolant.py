"""FPInterpolator: the minimum FP-norm interpolant on the torus. Validates, picks a solver, holds the result,
evaluates."""

import dataclasses
import math

import numpy as np

from . import io, transforms
from ._internal.checks import (
    TRUNCATION_FRACTION,
    as_points,
    as_query,
    as_values,
    check_choice,
    check_h_ini,
    check_int,
    check_period,
    check_real,
    duplicate_tolerance,
    h_ini_memory,
    merge_duplicates,
    points_memory,
    query_memory,
    warn_truncation,
)
from ._internal.floatrange import SAFE_EXPONENT, to_float, unscale, weighted_norm
from ._internal.memory import check_memory
from ._internal.pages import small_pages
from .kernels import has_closed_form
from .lattice import box_size, exact_angles, exact_quotient
from .lattice_kernels import TorusKernel, has_torus_kernel
from .lattice_sums import warn_ill_posed
from .solvers import METHODS, Problem, residual_warning, sensitivity_warning, solve
from .solvers.bound_grid import BOUND_RTOL, GridBounds, as_bound, bound_offsets
from .solvers.certify import point_values
from .solvers.constrained import SOLVERS, as_tolerances, solve_constrained
from .solvers.lattice_limit import LATTICE_METHOD, LatticeExpansion, solve_lattice_limit
from .solvers.lattice_matfree import MATFREE_DIMS, MATFREE_METHOD, lattice_method, solve_lattice_matfree
from .solvers.line_spline import LineSpline
from .solvers.periodic1d import LIMIT_METHODS, KernelExpansion, LimitSolution, banded_solver, solve_limit
from .solvers.problem import evaluate_h_ini, join_complex, right_hand_sides, scale_exponent
from .solvers.smoothing import solve_smoothing
from .solvers.truncation import truncation_error
from .solvers.whole_space import solve_whole_space
from .weights import check_weight
from .whole_space import WholeSpaceSolution, check_whole_space_weight

__all__ = ["FPInterpolator"]

# Query points evaluated per chunk: bounds memory of evaluation at ``_EVAL_CHUNK * m`` complex numbers.
_EVAL_CHUNK = 1 << 18
# Methods for K=None (besides "auto"): the 1-d closed forms and the Ewald-split kernels in d = 1, 2, 3 (dense) and
# d = 2, 3 (matrix-free).
_LIMIT = LIMIT_METHODS[1:] + (LATTICE_METHOD, MATFREE_METHOD)
# Methods that need an integer K.
_TRUNCATED = tuple(m for m in METHODS if m not in _LIMIT)


class FPInterpolator:
    """Minimum FP-norm interpolant on the torus ``[0, P)^d``.

    Solves, on the box ``|k|_inf <= K``::

        minimise  ||h - h_ini||_gamma^2 = sum_k gamma(k)^-2 |(h - h_ini)^(k)|^2   subject to  h(x_i) = y_i.

    Parameters
    ----------
    points : array_like, shape (N, d), or (N,) when d = 1
        Interpolation nodes within ``2^40`` periods of the origin; wrapped into ``[0, period)^d``. Points that
        coincide on the torus (every wrapped coordinate within ``4 eps max(P, |x_i|, |x_j|)`` of their own inputs,
        e.g. ``0.1`` and ``1.1`` for period 1) are merged when their values are equal and raise ``ValueError``
        naming their indices when not. Never modified.
    values : array_like, shape (N,) or (N, m)
        Data ``y_i``; ``m`` right-hand sides share one factorisation. Real or complex.
    weight : Weight
        The frequency weight ``gamma(k)^2``; its ``dim`` fixes ``d``. A weight whose ``sum gamma(k)^2`` over the
        penalised modes diverges (PowerLaw ``p <= d``, Sobolev ``2 s <= d``) warns
        (:class:`~fpnorm.exceptions.IllPosedWeightWarning`): no ``K = inf`` solution exists, the answer depends on K.
    K : int or None
        Truncation ``|k|_inf <= K``. Needs ``(2K+1)^d`` modes at least as many as distinct points. The distance of
        the truncated solution to the K = infinity one is estimated (``info.truncation_error``), and an interpolant
        farther than :data:`~fpnorm._internal.checks.TRUNCATION_TOLERANCE` times ``max |y - h_ini|`` warns
        (:class:`~fpnorm.exceptions.TruncationWarning`; with bounds, which have no estimate: more points than half the
        modes). None means K = infinity, solved exactly: in 1-d with the closed-form kernels (:mod:`fpnorm.kernels`;
        O(N) and accurate to rounding for PowerLaw p in {2, 4} and LFP), otherwise (PowerLaw p > d, LFP, Sobolev
        s > d/2 in d = 1, 2, 3) by a dense solve with the Ewald-split kernel (:mod:`fpnorm.lattice_kernels`,
        :mod:`fpnorm.solvers.lattice_limit`; at most ``DENSE_LIMIT_MAX_POINTS`` points), in d = 2, 3 from
        ``MATFREE_MIN_POINTS`` points on matrix-free (:mod:`fpnorm.solvers.lattice_matfree`: a sparse near part and
        a NUFFT pair per product, preconditioned conjugate gradients; ``method="lattice_matfree"`` forces it).
    h_ini : callable or array_like, optional
        Initial function: a callable on the torus (``(Q, d)`` -> ``(Q,)``) or a complex coefficient array of shape
        ``(2K'+1,)*d`` (any ``K'``). The result is ``h_ini`` plus the minimum-norm correction.
    period : float or None
        Period ``P`` of the torus (default 1). None: the whole space ``R^d`` with ``K=None``: minimise
        ``int gamma(xi)^-2 |h^(xi)|^2 d xi`` over ``R^d`` (points not wrapped, plain interpolation, ``h_ini`` None or
        a callable), solved exactly by :func:`fpnorm.solvers.whole_space.solve_whole_space` with the kernels of
        :mod:`fpnorm.whole_space`.
    method : str
        One of :data:`fpnorm.solvers.METHODS`; "auto" (default) chooses from a cost estimate and escalates to the
        stable QR path when a faster one loses accuracy.
    rtol : float
        Target relative residual ``max|h(x_i) - y_i| / max|y_i - h_ini(x_i)|`` (default 1e-10); a worse result warns
        (:class:`~fpnorm.exceptions.AccuracyWarning`), an unusable one raises :class:`~fpnorm.exceptions.SolveError`.
    tol : float or array_like of shape (N,)
        Tolerances ``eps_i >= 0``: minimise the norm subject to ``|h(x_i) - y_i| <= eps_i`` (real data only).
        ``tol=0`` (default) with no bounds is the exact interpolation problem, solved by the closed form.
    lower, upper : float or callable, optional
        Bounds ``lower <= h <= upper`` on the torus (real data only), enforced on a regular grid; see Notes.
    smoothing : float
        ``mu >= 0``. When positive, minimise ``mu ||h - h_ini||_gamma^2 + sum_i (h(x_i) - y_i)^2`` instead (closed
        form, :mod:`fpnorm.solvers.smoothing`); ``mu -> 0`` is interpolation, ``mu -> inf`` is ``h_ini`` plus the
        least-squares fit of the free modes. Not combinable with `tol`, `lower`, `upper`.
    solver : str
        cvxpy solver for tolerance and bound problems, one of :data:`fpnorm.solvers.constrained.SOLVERS`.

    Attributes
    ----------
    coef : ndarray of complex, shape ``(2K+1,)*d`` or ``(2K+1,)*d + (m,)``
        Fourier coefficients of ``h - h_ini`` (not available for ``K=None``: raises ``AttributeError``).
    norm : float or ndarray of shape (m,)
        ``||h - h_ini||_gamma`` (free modes cost nothing).
    info : SolveInfo
        Method used, measured residual, condition estimate, iterations, attempts, seconds, and
        ``truncation_error``: an estimate of ``max_x |h_K(x) - h_inf(x)|`` (see Notes).
    points, values : ndarray
        The (wrapped, merged) data actually interpolated.

    Notes
    -----
    The problem is well posed when the ``(2K+1)^d`` box modes restricted to the points have full row rank and the
    free modes (``gamma = inf``) are linearly independent at the points; the solution is then unique. It is
    ``c = Gamma Phi^H alpha`` plus a free part, with ``G alpha = y`` for the kernel matrix
    ``G_ij = sum_k gamma(k)^2 e^{2 pi i k.(x_i - x_j)/P}`` (the README's "The maths").

    Variants (:mod:`fpnorm.solvers.constrained`, :mod:`fpnorm.solvers.smoothing`): with tolerances only, an exact
    active-set method on the dual in N variables (cvxpy when it cannot verify its answer, or for more than
    ``ACTIVE_SET_MAX_POINTS`` points); with bounds, cvxpy
    (Clarabel by default) in scaled real coordinates. Bounds are enforced on a grid of ``n^d`` points, ``n >= 2K + 2``,
    with ``min(L1 P sqrt(d) / (2n), L2 P^2 / (8 n^2)) <= BOUND_RTOL * max|y - h_ini|`` for the solution's
    derivative bounds ``L1 = (2 pi/P) sum_k |k| |c_k|``, ``L2 = (2 pi/P)^2 sum_k |k|^2 |c_k|`` (re-solved on a finer
    grid until it holds, at most ``MAX_GRID_POINTS`` points): then a constant bound holds between grid points to
    that tolerance. The result is checked on a grid two or four times finer (this also covers callable bounds and
    ``h_ini``) and a ``UserWarning`` gives the measured violation. For these variants
    ``info.residual`` is the largest relative constraint violation (smoothing: of its optimality condition) and
    ``info.status`` the solver status.

    ``info.truncation_error`` estimates how far the truncated solution is from the K = infinity one on the whole
    torus (:func:`fpnorm.solvers.truncation.truncation_error`: the kernel tail beyond K applied to the solution's
    dual variables, through the solver's own factorisation). It is an estimate, not a bound: measured between 0.76
    and 1.34 times the exact distance on the 1-d closed forms, far less reliable when the kernel matrix's condition
    approaches ``1e16``. In 1-d with a PowerLaw p = 2, 4, LFP or Sobolev s = 1 weight it is measured instead, against
    the exact K = infinity interpolant solved in O(N), on a grid (within a few percent of the maximum). It is ``inf``
    when the weight's ``sum gamma(k)^2`` diverges (the problem has no K = infinity limit), 0 for ``K=None``, and nan
    with tolerances or bounds (not estimated); smoothing fits are compared with the K = infinity smoothing fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> x = np.array([0.1, 0.3, 0.55, 0.8])
    >>> s = FPInterpolator(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4, dim=1), K=64)
    >>> bool(np.allclose(s(x), np.sin(2 * np.pi * x)))
    True

    Tolerances, bounds and smoothing:

    >>> t = FPInterpolator(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4, dim=1), K=16, tol=0.1)
    >>> bool(np.all(np.abs(t(x) - np.sin(2 * np.pi * x)) <= 0.1 + 1e-9)), t.norm < s.norm
    (True, True)
    >>> b = FPInterpolator(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4, dim=1), K=16, lower=-1.0, upper=1.0)
    >>> b.info.status, bool(np.abs(b(np.linspace(0, 1, 1001))).max() <= 1.0 + 1e-3)
    ('optimal', True)
    >>> m = FPInterpolator(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4, dim=1), K=16, smoothing=1e6)
    >>> bool(np.allclose(m(x), np.mean(np.sin(2 * np.pi * x)), atol=1e-3))
    True
    """

    def __init__(self, points, values, *, weight, K, h_ini=None, period=1.0, method="auto", rtol=1e-10, tol=0.0,
                 lower=None, upper=None, smoothing=0.0, solver="CLARABEL"):
        self.weight = check_weight(weight)
        self.dim = d = weight.dim
        self.period = check_period(period, allow_none=True)
        self.K = check_int(K, "K", minimum=0, allow_none=True)
        check_choice(method, "method", METHODS)
        if self.period is None:
            self._init_whole_space(points, values, h_ini, method, rtol, tol, lower, upper, smoothing)
            return
        if (self.K is None) != (method in _LIMIT) and method != "auto":
            raise ValueError(f"Expected `method` in {('auto',) + _LIMIT} for K=None and in {_TRUNCATED} for an "
                             f"integer K, got method={method!r} with K={self.K!r}.")
        if self.K is None and not (has_closed_form(weight) or has_torus_kernel(weight)):
            TorusKernel(weight)  # raises the ValueError that names what K=None supports
        self.rtol = check_real(rtol, "rtol", minimum=0.0, strict_min=True)
        self.smoothing = check_real(smoothing, "smoothing", minimum=0.0)
        check_choice(solver, "solver", SOLVERS)
        lower, upper = as_bound(lower, "lower"), as_bound(upper, "upper")
        _check_input_memory(points, "points", points_memory)
        if isinstance(h_ini, np.ndarray):
            check_memory(h_ini_memory(h_ini.size), f"the `h_ini` coefficient array of shape {h_ini.shape}",
                         "Pass `h_ini` on a smaller box, or as a callable.")
        x, scale = as_points(points, d, self.period, return_scale=True)
        y = as_values(values, x.shape[0])
        tolerances = as_tolerances(tol, x.shape[0])
        x, y, self.kept = merge_duplicates(x, y, period=self.period, tol=duplicate_tolerance(scale, self.period))
        tolerances = tolerances[self.kept] if np.any(tolerances > 0) else None
        bounded = lower is not None or upper is not None
        if self.smoothing > 0 and (tolerances is not None or bounded):
            raise ValueError("Expected `smoothing` = 0 when `tol`, `lower` or `upper` is given, got "
                             f"smoothing = {self.smoothing}: the variants do not combine.")
        if self.K is None and (self.smoothing > 0 or tolerances is not None or bounded):
            raise ValueError("Expected an integer `K` with `tol`, `lower`, `upper` or `smoothing`, got K=None: the "
                             "exact K = infinity solve supports plain interpolation only.")
        self.points, self.values = x, y
        if self.K is None:
            self._h_ini, self._h_ini_real = check_h_ini(h_ini, d)
            rhs, self._complex = right_hand_sides(y, self._eval_h_ini(x))
            self._init_limit(x, y, rhs, method, float(np.max(scale)))
            return
        N, M = x.shape[0], box_size(self.K, d)
        if N > M and self.smoothing == 0 and tolerances is None:
            need = int(np.ceil((N ** (1.0 / d) - 1) / 2))
            raise ValueError(f"Expected at most (2K+1)^d = {M} distinct points for K = {self.K} in d = {d}, got {N}: "
                             f"with more points than modes no exact interpolant exists. Use K >= {need}.")
        m = 1 if y.ndim == 1 else y.shape[1]
        check_memory(M * (8 * d + 40 + 32 * m), f"the coefficient box |k|_inf <= {self.K} in d = {d} ({M} modes)",
                     "Use a smaller `K`.")
        g = self.weight.box(self.K)
        warn_ill_posed(weight)   # every variant: with no K = inf solution the answer depends on K
        self._h_ini, self._h_ini_real = check_h_ini(h_ini, d)
        rhs, self._complex = right_hand_sides(y, self._eval_h_ini(x))   # h_ini is evaluated once the cheap checks pass
        if self._complex and (tolerances is not None or bounded):
            raise ValueError("Expected real `values` and a real `h_ini` with `tol`, `lower` or `upper`, got "
                             f"complex {'values' if np.iscomplexobj(y) else 'h_ini'}.")
        t, t_lo = exact_angles(x, self.period)   # the points' angles to ~2^-104: residuals are measured at them
        check_memory(8 * N * rhs.shape[1] * 4 + 16 * M * rhs.shape[1], "the right-hand sides and coefficients")
        top = max(float(np.max(scale)), float(np.max(x)))
        problem = Problem(t, rhs, self.K, g, eps=transforms.eps_for_rtol(self.rtol), t_lo=t_lo,
                          angle_scale=2 * np.pi * np.sqrt(d) * top / self.period)
        shift = 0
        if self.smoothing > 0:
            # the fit is linear in the data: solved for the data scaled by an exact power of two (as solve() does),
            # so no sum in the solve overflows for data near 1.8e308
            shift = scale_exponent(rhs)
            problem = dataclasses.replace(problem, rhs=np.ldexp(rhs, -shift))
            sol = solve_smoothing(problem, self.smoothing)
        elif tolerances is not None or bounded:
            _check_data_range(rhs)
            scale = float(np.max(np.abs(rhs))) or 1.0
            grid = (GridBounds(bound_offsets(lower, upper, self._eval_h_ini, d), self.period, BOUND_RTOL * scale)
                    if bounded else None)
            sol = solve_constrained(problem, tol=tolerances, bounds=grid, solver=solver)
        else:
            sol = solve(problem, method=method, rtol=self.rtol)
        # a smoothing fit of more points than half the modes is not estimated: there the estimate was measured at a
        # quarter of the distance to the K = infinity smoothing fit (PowerLaw p = 2, N = 500, K = 16)
        if sol.dual is not None and not (self.smoothing > 0 and N > TRUNCATION_FRACTION * M):
            with small_pages():     # no huge pages asked for, as in solve() (fpnorm._internal.pages)
                sol.info.truncation_error = truncation_error(
                    problem, sol.dual, self.weight, alpha=sol.alpha, coef=sol.coef, limit=banded_solver(self.weight),
                    smoothing=self.smoothing, is_complex=self._complex, condition=sol.info.condition, local=sol.local,
                    coarse=sol.coarse)
        sol.dual = sol.alpha = sol.local = sol.coarse = None  # the factorisation is not kept
        if shift:
            sol.coef, sol.info.truncation_error = unscale(sol.coef, shift, "the smoothing fit's coefficients"), \
                math.ldexp(sol.info.truncation_error, shift) if math.isfinite(sol.info.truncation_error or 0.0) \
                else sol.info.truncation_error
        if self.smoothing == 0 and tolerances is None:
            warn_truncation(N, self.K, d, "the number of distinct points N", error=sol.info.truncation_error,
                            scale=float(np.max(np.abs(rhs))))
        if self.smoothing > 0 or tolerances is not None or bounded:  # solve() says so itself
            sensitivity_warning(sol.info, self.rtol, stacklevel=2)
        coef = join_complex(sol.coef, self._complex)
        if self._complex:
            # the certificate covers the real and imaginary columns one by one; joining them into complex
            # coefficients rounds each by u |c_k|, and |h - y| is at most sqrt(2) times the larger part
            joined = float(np.max(np.sum(np.abs(coef.reshape(M, -1)), axis=0))) * np.finfo(float).eps
            before = sol.info.residual
            sol.info.residual = _complex_residual(before, joined / (float(np.max(np.abs(rhs))) or 1.0))
            sol.info.residual_kind = "bound"
            if before <= self.rtol < sol.info.residual and self.smoothing == 0 and tolerances is None \
                    and not bounded:
                residual_warning(sol.info, self.rtol, stacklevel=2)
        self._coef = coef if y.ndim == 2 else coef[..., 0]
        self.info = sol.info
        self._g = g
        self._limit = None

    def _init_whole_space(self, points, values, h_ini, method, rtol, tol, lower, upper, smoothing):
        """period=None: the whole space, solved by :func:`fpnorm.solvers.whole_space.solve_whole_space`."""
        if self.K is not None or method not in ("auto", "exact_kernel"):
            raise ValueError(f"Expected K=None and `method` in ('auto', 'exact_kernel') with period=None (the whole "
                             f"space has no Fourier box), got K={self.K!r}, method={method!r}.")
        if any(np.any(np.asarray(t) != 0) for t in (tol, smoothing)) or lower is not None or upper is not None:
            raise ValueError("Expected no `tol`, `lower`, `upper` or `smoothing` with period=None: the whole-space "
                             "solve supports plain interpolation only.")
        if h_ini is not None and not callable(h_ini):
            raise TypeError(f"Expected `h_ini` to be None or a callable on R^d with period=None, got "
                            f"{type(h_ini).__name__}: Fourier coefficients describe a periodic function.")
        check_whole_space_weight(self.weight)
        self.rtol = check_real(rtol, "rtol", minimum=0.0, strict_min=True)
        self.smoothing = 0.0
        x, scale = as_points(points, self.dim, None, return_scale=True)
        y = as_values(values, x.shape[0])
        x, y, self.kept = merge_duplicates(x, y)   # no wrapping: only equal floats are one point
        self.points, self.values = x, y
        self._h_ini, self._h_ini_real = h_ini, True
        rhs, self._complex = right_hand_sides(y, self._eval_h_ini(x))
        self._limit_exponent = scale_exponent(rhs)
        self._limit = solve_whole_space(self.weight, x, np.ldexp(rhs, -self._limit_exponent),
                                        point_scale=float(np.max(np.linalg.norm(scale, axis=1))))
        self.info = self._limit.info
        if self._complex:  # the real and imaginary parts are certified one by one; |h - y| is at most sqrt(2) times
            self.info.residual = _complex_residual(self.info.residual, 0.0)
            self.info.residual_kind = "bound"
        residual_warning(self.info, self.rtol, stacklevel=3)
        sensitivity_warning(self.info, self.rtol, stacklevel=3)
        self._multi = y.ndim == 2

    def _init_limit(self, x, y, rhs, method, scale):
        """K = infinity: the exact closed-form solve of :func:`fpnorm.solvers.periodic1d.solve_limit` in 1-d, the
        Ewald-split kernel solve otherwise, dense (:func:`fpnorm.solvers.lattice_limit.solve_lattice_limit`) or
        matrix-free (:func:`fpnorm.solvers.lattice_matfree.solve_lattice_matfree`), as
        :func:`fpnorm.solvers.lattice_matfree.lattice_method` chooses."""
        # the data scaled by an exact power of two (as solvers.solve does) so no square in the solve overflows
        self._limit_exponent = scale_exponent(rhs)
        scaled = np.ldexp(rhs, -self._limit_exponent)
        point_scale = max(scale, float(np.max(x))) / self.period
        lattice = method in (LATTICE_METHOD, MATFREE_METHOD) or (method == "auto" and not has_closed_form(self.weight))
        if not lattice and self.dim != 1:
            raise ValueError(f"Expected `method` in ('auto', {LATTICE_METHOD!r}, {MATFREE_METHOD!r}) for K=None in "
                             f"d = {self.dim}, got method={method!r} (a 1-d method).")
        if method == MATFREE_METHOD and self.dim not in MATFREE_DIMS:
            raise ValueError(f"Expected `method` in ('auto', {LATTICE_METHOD!r}) for K=None in d = {self.dim}, got "
                             f"method={method!r} (matrix-free in d in {MATFREE_DIMS} only).")
        if lattice:
            if not has_torus_kernel(self.weight):
                TorusKernel(self.weight)     # raises the ValueError that names what the method supports
            # the nodes and their exact remainders x / P - z, coordinate by coordinate
            parts = [exact_quotient(x[:, i], self.period) for i in range(self.dim)]
            z = np.stack([p[0] for p in parts], axis=1)
            dz = np.stack([p[1] for p in parts], axis=1)
            if method == "auto":
                method = lattice_method(z.shape[0], self.dim)
            with small_pages():     # no huge pages asked for, as in solve() (fpnorm._internal.pages)
                if method == MATFREE_METHOD:
                    piece = solve_lattice_matfree(z, scaled, weight=self.weight, dz=dz, point_scale=point_scale,
                                                  rtol=self.rtol)
                else:
                    piece = solve_lattice_limit(z, scaled, weight=self.weight, dz=dz, point_scale=point_scale)
            self._limit = LimitSolution(*piece)
        else:
            z, dz = exact_quotient(x[:, 0], self.period)     # the nodes and their exact remainder x / P - z
            self._limit = solve_limit(self.weight, z, scaled, method=method, dz=dz, point_scale=point_scale)
        self.info = self._limit.info
        if self._complex:  # the real and imaginary parts are certified one by one; |h - y| is at most sqrt(2) times
            self.info.residual = _complex_residual(self.info.residual, 0.0)
            self.info.residual_kind = "bound"
        self.info.truncation_error = 0.0  # no truncation
        residual_warning(self.info, self.rtol, stacklevel=3)
        sensitivity_warning(self.info, self.rtol, stacklevel=3)
        self._multi = y.ndim == 2

    @property
    def coef(self):
        """Complex Fourier coefficients of ``h - h_ini`` on the box (not available for ``K=None``)."""
        if self._limit is not None:
            raise AttributeError("`coef` is not available for K=None (K = infinity has infinitely many "
                                 "coefficients); evaluate the interpolant instead, or solve with an integer K.")
        return self._coef

    def _eval_h_ini(self, x):
        return evaluate_h_ini(self._h_ini, self._h_ini_real, x, self.period)

    @property
    def h_ini(self):
        """The initial function as given (a callable or coefficient array), or None."""
        return self._h_ini

    def h_ini_at(self, query):
        """``h_ini`` at query points of shape (Q, d) (or (Q,) in 1-d): shape (Q,); zeros when there is none."""
        q = as_query(query, self.dim, self.period)
        vals = self._eval_h_ini(q)
        return np.zeros(q.shape[0]) if vals is None else np.asarray(vals)

    # -- results --------------------------------------------------------------------------------------------------
    @property
    def norm(self):
        """``||h - h_ini||_gamma``: a float, or an array of shape (m,) for several right-hand sides."""
        if self._limit is not None:
            n2 = self._limit.norm2
            if self._complex:
                n2 = n2[: n2.size // 2] + n2[n2.size // 2:]
            val = to_float(np.sqrt(n2), self._limit_exponent, "||h - h_ini||_gamma")
            return val if self._multi else float(val[0])
        # sum |c_k|^2 / gamma(k)^2 in mantissa-exponent form: no quotient, square or sum over- or underflows, and a
        # norm beyond the double range is inf with a warning (data near 1.8e308 have norms far beyond it)
        g = self._g
        mantissa, exponent = weighted_norm(np.abs(self.coef).reshape((g.size, -1)), np.sqrt(g).ravel())
        val = to_float(mantissa, exponent, "||h - h_ini||_gamma")
        return float(val[0]) if self.coef.ndim == self.dim else val

    def __call__(self, query):
        """Evaluate ``h`` at query points.

        Parameters
        ----------
        query : array_like, shape (Q, d), or (Q,) when d = 1
            Any real points (wrapped onto the torus).

        Returns
        -------
        ndarray, shape (Q,) or (Q, m)
            Real unless the data or ``h_ini`` are complex. Phases are formed exactly, and the sum is a NUFFT only
            when finufft's error (about ``1e-12 sum_k |c_k|``) stays below a tenth of ``max(rtol, info.residual)
            max|y|``; else a direct sum within a proven bound (:func:`~fpnorm.solvers.certify.point_values`), so at
            the data points it agrees with ``info.residual``.
        """
        _check_input_memory(query, "query", query_memory)
        q = as_query(query, self.dim, self.period)
        if self._limit is not None:
            return self._call_limit(q)
        Q = q.shape[0]
        extra = self.coef.shape[self.dim:]
        check_memory(16 * Q * int(np.prod(extra)), f"evaluating at {Q} query points", "Evaluate in smaller batches.")
        out = np.empty((Q,) + extra, dtype=complex)
        # a NUFFT's error must stay a tenth of the accuracy the interpolant has at its data
        accuracy = 0.1 * max(self.rtol, self.info.residual) * float(np.max(np.abs(self.values), initial=0.0))
        # coefficients near the double limit are summed scaled by an exact power of two (sums of them overflow)
        coef, shift = self.coef, scale_exponent(self.coef.reshape(-1, 1)) if self.coef.size else 0
        shift = shift if abs(shift) > SAFE_EXPONENT else 0
        if shift:
            coef = np.ldexp(coef.real, -shift) + 1j * np.ldexp(coef.imag, -shift)
            accuracy = math.ldexp(accuracy, -shift)
        for start in range(0, Q, _EVAL_CHUNK):
            sl = slice(start, min(Q, start + _EVAL_CHUNK))
            out[sl] = point_values(coef, q[sl], self.period, tolerance=accuracy, real=not self._complex)
            if shift:
                out[sl] = (to_float(out[sl].real, shift, "h(query)", stacklevel=3)
                           + 1j * to_float(out[sl].imag, shift, "h(query)", stacklevel=3))
            h0 = self._eval_h_ini(q[sl])
            if h0 is not None:
                out[sl] += h0.reshape((-1,) + (1,) * len(extra))
        return out if self._complex else out.real

    def _call_limit(self, q):
        # the values, their complex join, h_ini's values added
        check_memory(8 * q.shape[0] * self._limit.norm2.size * 3, f"evaluating at {q.shape[0]} query points",
                     "Evaluate in smaller batches.")
        out = np.empty((q.shape[0], self._limit.norm2.size))
        for start in range(0, q.shape[0], _EVAL_CHUNK):
            sl = slice(start, min(q.shape[0], start + _EVAL_CHUNK))
            if self.period is None:
                part = self._limit(q[sl])
            elif isinstance(self._limit.evaluate, LatticeExpansion):
                part = self._limit.evaluate(np.stack([exact_quotient(q[sl, i], self.period)[0]
                                                      for i in range(self.dim)], axis=1))
            else:
                part = self._limit.evaluate(*exact_quotient(q[sl, 0], self.period))
            out[sl] = to_float(part, self._limit_exponent, "h(query)", stacklevel=3)
        out = join_complex(out, self._complex)
        h0 = self._eval_h_ini(q) if q.shape[0] else None
        if h0 is not None:
            out = out + h0[:, None]
        return out if self._multi else out[:, 0]

    # -- persistence (fpnorm.io; the schema is in fpnorm._state.schema) --------------------------------------------
    def save(self, path):
        """Save to an ``.npz`` file (plain arrays + JSON, no pickle); :meth:`load` gives back an identical object.

        What is stored: the data actually interpolated (wrapped, merged ``points`` and ``values``, the ``kept``
        indices), the coefficients ``coef`` of ``h - h_ini`` (for ``K=None`` instead the piecewise K = infinity
        solution), ``h_ini`` when it is a coefficient array, the weight as its spec string, ``K``, ``period``,
        ``rtol``, ``smoothing`` and the :class:`~fpnorm.solvers.SolveInfo`. The weight's box is recomputed on load
        (a deterministic function of the spec), so evaluation and ``norm`` are identical bit for bit. Raises
        ``ValueError`` when the weight or ``h_ini`` is a Python callable (code is never stored).
        """
        io.save(self, path)

    @classmethod
    def load(cls, path):
        """Load an interpolant written by :meth:`save` (``allow_pickle=False``; untrusted files are safe)."""
        return io.load(path, expect="FPInterpolator")

    def _state_fields(self):
        return {"weight": self.weight, "dim": self.dim, "K": self.K, "period": self.period, "rtol": self.rtol,
                "smoothing": self.smoothing, "complex": self._complex, "h_ini_real": self._h_ini_real,
                "points": self.points, "values": self.values, "kept": np.asarray(self.kept, dtype=np.int64),
                "coef": None if self._limit is not None else self._coef, "h_ini": self._h_ini, "info": self.info,
                "limit": self._limit, "limit_exponent": self._limit_exponent if self._limit is not None else None}

    @classmethod
    def _from_fields(cls, f):
        """An interpolant from checked fields (:func:`fpnorm._state.schema.decode`): the invariants across fields."""
        K, N = f["K"], f["points"].shape[0]
        if N == 0:
            raise ValueError("FPInterpolator array 'points' should hold at least one point")
        whole = f["period"] is None
        if whole != isinstance(f["limit"], (WholeSpaceSolution, LineSpline)) or (whole and f["h_ini"] is not None):
            raise ValueError("FPInterpolator with period None should have a 'limit' of class WholeSpaceSolution or "
                             "LineSpline and no array 'h_ini', and only then")
        lattice = not whole and f["limit"] is not None and isinstance(f["limit"].evaluate, LatticeExpansion)
        if K is None and ((f["dim"] != 1 and not (whole or lattice)) or f["limit"] is None or f["coef"] is not None
                          or f["limit_exponent"] is None):
            raise ValueError(f"FPInterpolator with K=None should have metadata 'dim' 1 (got {f['dim']}), a 'limit' "
                             f"and a 'limit_exponent', and no array 'coef'")
        if K is not None and (f["coef"] is None or f["limit"] is not None or f["limit_exponent"] is not None):
            raise ValueError("FPInterpolator with an integer K should have the array 'coef' and no 'limit' nor "
                             "'limit_exponent'")
        if f["h_ini"] is not None and f["h_ini"].shape[0] % 2 == 0:
            raise ValueError(f"FPInterpolator array 'h_ini' should have odd sides, got shape {f['h_ini'].shape}")
        s = cls.__new__(cls)
        s.weight, s.dim, s.period, s.K, s.rtol, s.smoothing = (f[k] for k in ("weight", "dim", "period", "K", "rtol",
                                                                              "smoothing"))
        s.points, s.values, s.kept, s._coef, s.info = f["points"], f["values"], f["kept"], f["coef"], f["info"]
        s._h_ini, s._h_ini_real, s._complex = f["h_ini"], f["h_ini_real"], f["complex"]
        s._limit, s._multi = f["limit"], s.values.ndim == 2
        if K is None:
            width = (1 if s.values.ndim == 1 else s.values.shape[1]) * (2 if s._complex else 1)
            if s._limit.norm2.shape != (width,):
                raise ValueError(f"FPInterpolator array 'limit_norm2' should have shape ({width},), got "
                                 f"{s._limit.norm2.shape}")
            kernel = s._limit if whole else s._limit.evaluate
            if (isinstance(kernel, (KernelExpansion, LatticeExpansion, WholeSpaceSolution, LineSpline))
                    and kernel.weight != s.weight):
                raise ValueError(f"FPInterpolator: the K = None kernel's weight {kernel.weight!r} should be the "
                                 f"interpolant's, {s.weight!r}")
            s._limit.info = s.info
            s._limit_exponent = f["limit_exponent"]
        else:
            s._g = s.weight.box(K)
        return s

    def __repr__(self):
        if self._limit is not None:
            return (f"FPInterpolator(N={self.points.shape[0]}, weight={self.weight!r}, K=None, "
                    f"period={self.period}, method={self.info.method!r}, residual={self.info.residual:.1e})")
        m = "" if self.coef.ndim == self.dim else f", m={self.coef.shape[-1]}"
        return (f"FPInterpolator(N={self.points.shape[0]}{m}, weight={self.weight!r}, K={self.K}, "
                f"period={self.period}, method={self.info.method!r}, residual={self.info.residual:.1e})")


# Tolerance and bound problems are solved as given (their tolerances and bounds are in the data's units). Measured
# (PowerLaw p = 4, K = 16, 4 points): data of size 1e305 solve as accurately as data of size 1, data of size 1.7e308
# overflow inside the solve; 2^1000 (~1.07e301) keeps a margin for more points and rougher weights.
_MAX_CONSTRAINED_EXPONENT = 1000


def _check_data_range(rhs):
    top = float(np.max(np.abs(rhs), initial=0.0))
    if top >= math.ldexp(1.0, _MAX_CONSTRAINED_EXPONENT):
        raise ValueError(f"Expected `values` (less `h_ini`) below 2^{_MAX_CONSTRAINED_EXPONENT} ~ 1.07e301 in "
                         f"magnitude with `tol`, `lower` or `upper`, got max |y - h_ini| = {top:.6g}. Scale `values`, "
                         f"`tol`, `lower`, `upper` and `h_ini` down by a power of two: the interpolant scales by the "
                         f"same factor.")


def _check_input_memory(arr, name, estimate):
    """Check the memory of validating `arr` (points or queries, shape (N, d) or (N,)) before it is copied. Only
    arrays: a Python sequence holds at least 32 bytes a number itself, and its shape is the validation's to check."""
    if not isinstance(arr, np.ndarray):
        return
    shape = arr.shape
    N, d = (shape[0] if shape else 1), (int(np.prod(shape[1:])) if len(shape) > 1 else 1)
    check_memory(estimate(N, d), f"checking {N} points of `{name}` in d = {d}",
                 f"Pass fewer points in `{name}`" + (" (evaluate in batches)." if name == "query" else "."))


def _complex_residual(parts, joined):
    """A bound on ``max |h(x_i) - y_i| / max |y|`` for complex data from the larger relative residual of the real and
    imaginary parts, `parts`, plus `joined`, the relative rounding of joining them into complex coefficients."""
    return math.sqrt(2.0) * (parts + joined)
