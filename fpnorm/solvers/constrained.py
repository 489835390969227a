"""Constrained minimum-norm fits: tolerances on the data and lower/upper bounds on h, on cvxpy or an exact dual.

The problem, per right-hand side, with ``r = y - h_ini(x)`` and ``v = h - h_ini`` on the box ``|k|_inf <= K``::

    minimise  ||v||_gamma^2
    subject to  |v(x_n) - r_n| <= eps_n                   (tolerances; eps = 0 is an equality)
                lo(z) <= v(z) <= hi(z)  for z on a grid    (bounds, lo = lower - h_ini, hi = upper - h_ini)

Coordinates. ``v = B u + F w`` in the real cos/sin basis of :mod:`fpnorm.lattice`: ``u`` are the penalised
coefficients scaled by ``sqrt(gamma^2)`` (as in :mod:`fpnorm.solvers.qr`, so ``||v||_gamma = ||u||_2``), ``w`` the
free (``gamma = inf``) coefficients, unscaled and unpenalised. cvxpy minimises ``||u / s0||_2`` (same minimiser as
the squared norm, better scaled) with ``s0 = max|r| / max_n ||B_n||`` so that variables and rows are O(1).

Tolerances only: the exact dual route. Stationarity gives ``u = B^T lambda``, ``F^T lambda = 0``, and the optimality
conditions ``lambda_n > 0 => v(x_n) = r_n - eps_n``, ``lambda_n < 0 => v(x_n) = r_n + eps_n``,
``lambda_n = 0 => |v(x_n) - r_n| <= eps_n``: the solution is the exact minimum-norm interpolant through the active
points with shifted data. An active-set iteration on the N dual variables (each step one exact interpolation on the
active set by a projected QR, as in :mod:`fpnorm.solvers.qr`) finds the active set; the answer is accepted only when
every optimality condition holds, else cvxpy solves the primal (also for more than ``ACTIVE_SET_MAX_POINTS``
points, where Clarabel is faster; its norms agree to about 1e-7, values to about 1e-5). cvxpy remains the check
(tests compare both).

Bounds: cvxpy, on the grid of :mod:`fpnorm.solvers.bound_grid`, by cutting planes: solve with the grid points the
unbounded solution violates (or nearly so), add every grid point the answer violates, repeat. A minimiser under a
subset of convex constraints that meets all of them is the minimiser under all of them, so the answer is that of
the full grid while only a few rows enter cvxpy. If the solution's derivative bounds ask for a finer grid, the grid
is refined and the loop repeats.

Uniqueness: ``u`` (hence the penalised part of ``h``) is unique. With free modes and few active points the free part
``w`` can be non-unique (e.g. a constant within every tolerance band); any minimiser is then returned.
"""

import time
import warnings

import numpy as np
import scipy.linalg as sla

from .._internal.memory import check_memory
from ..exceptions import AccuracyWarning, SolveError
from ..lattice import real_to_complex
from .bound_grid import (
    MAX_GRID_POINTS,
    BoundGrid,
    bound_grid_memory,
    check_bounds_fine,
    check_data_within_bounds,
    derivative_bounds,
    grid_points_per_axis,
)
from .certify import band_violation, sensitivity
from .problem import FreeModes, Solution, SolveInfo, scaled_design

__all__ = ["SOLVERS", "ACTIVE_SET_MAX_POINTS", "solve_constrained", "as_tolerances", "constrained_memory"]

# cvxpy solvers a user may name with ``solver=`` (CLARABEL is the default and the one tested).
SOLVERS = ("CLARABEL", "SCS", "OSQP", "ECOS")
# A relative constraint violation above this warns (AccuracyWarning) even when the solver reports "optimal".
_VIOLATION_WARN = 1e-6
# cvxpy statuses that come with a usable answer.
_USABLE = ("optimal", "optimal_inaccurate")
# The active-set route is exact to rounding and takes about 2N steps of O(N |A|^2) each: as fast as Clarabel up to
# about this many points, slower above (benchmarks/bench_constrained.py), where cvxpy solves the problem directly.
ACTIVE_SET_MAX_POINTS = 64
# A bulk active-set step changes the points whose violation is at least this share of the worst one.
_BULK_SHARE = 0.5


def as_tolerances(tol, N):
    """`tol` as an array of shape (N,) of finite numbers >= 0 (a scalar is broadcast)."""
    if callable(tol) or isinstance(tol, (str, bytes, bool)):
        raise TypeError(f"Expected `tol` to be a real number or an array of shape ({N},), got {type(tol).__name__}.")
    arr = np.asarray(tol)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"Expected `tol` to be a real number or an array of shape ({N},), got dtype {arr.dtype}.")
    if arr.ndim == 0:
        arr = np.full(N, float(arr))
    if arr.shape != (N,):
        raise ValueError(f"Expected `tol` to be a scalar or have shape ({N},) (one per point), got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("Expected `tol` to be finite and >= 0 everywhere, got "
                         f"min {np.min(arr) if arr.size else 0.0}.")
    return arr.astype(float)


# -- exact dual route for tolerances only ---------------------------------------------------------------------------
def _interpolate_subset(B, F, z):
    """Minimum ``||u||`` with ``B u + F w = z``: returns ``(u, w, lam)`` with ``u = B^T lam``, or None if singular."""
    n_a, n_f = B.shape[0], F.shape[1]
    if n_a < n_f or n_a > B.shape[1] + n_f:
        return None
    if n_f:
        Qf, Rf = sla.qr(F, mode="full")
        d = np.abs(np.diag(Rf[:n_f]))
        if d.min() <= 1e-10 * max(d.max(), 1.0):
            return None
        Q1, Q2 = Qf[:, :n_f], Qf[:, n_f:]
    else:
        Q1, Q2 = np.zeros((n_a, 0)), np.eye(n_a)
    B2 = Q2.T @ B
    if B2.shape[0]:
        Qb, Rb = sla.qr(B2.T, mode="economic")
        d = np.abs(np.diag(Rb))
        if d.min() <= d.max() * max(B2.shape) * np.finfo(float).eps:
            return None
        y = sla.solve_triangular(Rb, Q2.T @ z, trans="T")
        u = Qb @ y
        lam = Q2 @ sla.solve_triangular(Rb, y)
    else:
        u, lam = np.zeros(B.shape[1]), np.zeros(n_a)
    w = sla.solve_triangular(Rf[:n_f], Q1.T @ (z - B @ u)) if n_f else np.zeros(0)
    return u, w, lam


def _active_set(B, F, r, tol, scale):
    """Active-set solve of the tolerance problem; ``(u, w, lam, iterations)``, or None when it cycles or stalls.

    Start from the points outside their band at ``v = 0``. Each step solves the exact interpolation on the active
    set with data ``r - s tol``; then active points whose multiplier has the wrong sign are dropped, or, when there
    are none, points outside their band are added with the sign that pulls them back. Bulk changes first; if that
    cycles, one change a step (the most negative multiplier, else the worst violation) from where it stood.
    """
    Q = None
    if B.shape[1] > B.shape[0]:
        # u lies in range(B^T) = range(Q) for B^T = Q R: work with y = Q^T u and the N x N rows R^T instead of the
        # N x M_p rows B (same norms, same constraints), so each step costs O(N |A|^2) rather than O(M_p |A|^2)
        Q, R = sla.qr(B.T, mode="economic", check_finite=False)
        B = R.T
    sign = np.where(r > tol, 1, np.where(r < -tol, -1, 0))
    total = 0
    for single in (False, True):
        got, sign, its = _active_set_pass(B, F, r, tol, scale, sign, single)
        total += its
        if got is not None:
            u, w, lam = got
            return (u if Q is None else Q @ u), w, lam, total
        if sign is None:
            return None
    return None


def _active_set_pass(B, F, r, tol, scale, sign, single):
    N = r.shape[0]
    slack = 1e-9 * scale
    seen = set()
    max_iter = max(100, 2 * N)
    for it in range(1, max_iter + 1):
        key = sign.tobytes()
        if key in seen:
            return None, sign, it  # cycling
        seen.add(key)
        act = np.flatnonzero(sign)
        sol = _interpolate_subset(B[act], F[act], r[act] - sign[act] * tol[act])
        if sol is None:
            return None, None, it
        u, w, lam_a = sol
        lam = np.zeros(N)
        lam[act] = lam_a
        h = B @ u + F @ w
        tiny = 1e-12 * max(float(np.max(np.abs(lam))), np.finfo(float).tiny)
        wrongness = -lam_a * sign[act]
        gap = np.abs(h - r) - tol
        sign = sign.copy()
        if np.any(wrongness > tiny):
            worst = np.max(wrongness)
            drop = act[np.argmax(wrongness)] if single else act[wrongness > max(tiny, _BULK_SHARE * worst)]
            sign[drop] = 0
        elif np.any(gap > slack):
            worst = np.max(gap)
            add = np.argmax(gap) if single else np.flatnonzero(gap > max(slack, _BULK_SHARE * worst))
            sign[add] = np.where(h[add] > r[add], -1, 1)
        else:
            return (u, w, lam), sign, it
    return None, sign, max_iter


# -- cvxpy primal ---------------------------------------------------------------------------------------------------
def _cvxpy_solve(B, F, r, tol, grid, solver):
    """One right-hand side on cvxpy; grid is ``(D, D_free, lo, hi)`` (design rows on grid points) or None.

    The minimiser ``u`` lies in the row space of the constraint rows ``C = [B; D]`` (a component orthogonal to it
    changes no constraint and only adds norm), so with ``C^T = Q R`` (economic QR) cvxpy works with ``y = Q^T u``
    and the rows ``R^T``: as many variables as constraint rows rather than modes.
    """
    import cvxpy as cp  # cvxpy (~1 s to import) loads only for tolerance and bound problems that need it

    Q = None
    C = B if grid is None else np.vstack([B, grid[0]])
    if C.shape[0] < C.shape[1]:
        Q, R = sla.qr(C.T, mode="economic", check_finite=False)
        B = R.T[: B.shape[0]]
        if grid is not None:
            grid = (R.T[B.shape[0]:],) + tuple(grid[1:])

    # u = s0 * x with s0 = max|r| / max row norm of B, so that x, the objective and the rows are all O(1);
    # the objective is ||x||_2 (a second-order cone), better scaled than its square and with the same minimiser.
    s0 = max(float(np.max(np.abs(r))), np.finfo(float).tiny) / max(float(np.max(np.linalg.norm(B, axis=1))),
                                                                    np.finfo(float).tiny)
    x = cp.Variable(B.shape[1])
    w = cp.Variable(F.shape[1]) if F.shape[1] else None
    fit = (s0 * B) @ x + (F @ w if w is not None else 0)
    cons = []
    if tol is None or not np.any(tol > 0):
        cons.append(fit == r)
    else:
        cons.append(cp.abs(fit - r) <= tol)
    if grid is not None:
        D, Dfree, lo, hi = grid
        vals = (s0 * D) @ x + (Dfree @ w if w is not None else 0)
        if np.any(np.isfinite(lo)):
            sel = np.isfinite(lo)
            cons.append(vals[np.flatnonzero(sel)] >= lo[sel])
        if np.any(np.isfinite(hi)):
            sel = np.isfinite(hi)
            cons.append(vals[np.flatnonzero(sel)] <= hi[sel])
    prob = cp.Problem(cp.Minimize(cp.norm(x, 2)), cons)
    try:
        with warnings.catch_warnings():  # cvxpy's own "may be inaccurate": the status says it, and we warn
            warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
            prob.solve(solver=solver)
    except cp.error.SolverError as exc:
        raise SolveError(f"The cvxpy solver {solver} failed: {exc}", method="cvxpy") from exc
    if prob.status not in _USABLE:
        what = (" the tolerances and bounds admit no h on this box (lower > upper somewhere, or bounds that the "
                "data violate by more than `tol`)" if "infeasible" in prob.status else "")
        raise SolveError(f"The cvxpy solver {solver} returned status {prob.status!r}{';' if what else '.'}{what}",
                         method="cvxpy")
    u = s0 * np.asarray(x.value, float)
    return (u if Q is None else Q @ u), (np.asarray(w.value, float) if w is not None else np.zeros(0)), prob.status


def _unbounded_start(B, F, r, tol, scale):
    """The solution without bounds (exact route), to seed the cutting planes with the rows it violates; or None.

    Above ``ACTIVE_SET_MAX_POINTS`` points the exact interpolant (``tol = 0``, one QR) stands in for it.

    Returns
    -------
    (u, w, optimal) or None
        ``optimal`` is True when ``(u, w)`` solves the problem without bounds exactly.
    """
    if tol is None or B.shape[0] > ACTIVE_SET_MAX_POINTS:
        got = _interpolate_subset(B, F, r)
        return None if got is None else got[:2] + (tol is None or not np.any(tol > 0),)
    got = _active_set(B, F, r, tol, scale)
    return None if got is None else got[:2] + (True,)


def _solve_exchange(B, F, r, tol, grid, solver, start, scale, *, max_rounds=30):
    """Cutting planes: cvxpy on a growing subset of the grid rows until the answer meets every row.

    A convex problem's minimiser on a subset of the constraints that satisfies all of them minimises the full
    problem too, so the result is the full-grid solution at a fraction of the cost (few bounds are active).

    Returns
    -------
    u, w, status, rounds, rows_used
    """
    tiny = 1e-9 * scale
    if start is not None:  # rows near active or violated for the unbounded or the previous (coarser-grid) answer
        viol = grid.violation(*start[:2])
        if start[2] and np.all(viol <= tiny):
            return start[0], start[1], "optimal", 0, 0  # the exact unbounded optimum already meets every bound
        use = viol > -1e-3 * scale
    else:
        use = np.zeros(grid.lo.size, bool)
        use[:: max(1, grid.lo.size // 4096)] = True
    for rounds in range(1, max_rounds + 1):  # noqa: B007 - the count of rounds is returned
        rows = np.flatnonzero(use)
        u, w, status = _cvxpy_solve(B, F, r, tol, grid.rows(rows) if rows.size else None, solver)
        new = (grid.violation(u, w) > tiny) & ~use
        if not new.any():
            break
        use |= new
    return u, w, status, rounds, int(use.sum())


# -- the one entry point ----------------------------------------------------------------------------------------------
def constrained_memory(N, M):
    """Peak bytes of :func:`solve_constrained` before its bound grid: the real design, its scaled copies, and the
    active set's factorisations or cvxpy's copies of it (measured N = 150, M = 6001: 63 bytes per design entry with
    tolerances on cvxpy, 52 with bounds met by the unbounded optimum)."""
    return 64 * N * M


def solve_constrained(problem, *, tol=None, bounds=None, solver="CLARABEL"):
    """Minimum-norm fit under tolerances and/or grid bounds; see the module docstring.

    Parameters
    ----------
    problem : Problem
        ``problem.rhs`` (N, m) holds ``y - h_ini(x)``; every column is solved on its own.
    tol : ndarray of shape (N,), optional
        ``eps_n >= 0``; None means equality at every point.
    bounds : GridBounds, optional
    solver : str
        One of :data:`SOLVERS`, for the cvxpy solves.

    Returns
    -------
    Solution
        ``info.method`` is "active-set" (exact dual route), "cvxpy", or "qr" (bounds only, and the exact
        interpolant meets them); ``info.residual`` is the largest constraint
        violation (data bands and bound grid) relative to ``max |r|``, the bands' certified at the points
        (``info.residual_kind`` says how, :mod:`fpnorm.solvers.certify`), the grid's as measured on the grid;
        ``info.status`` the worst solver status.

    Warns
    -----
    UserWarning
        When a bound, checked on a grid four (or, in large cases, two) times finer, is violated by more than
        ``bounds.atol``.
    AccuracyWarning
        When cvxpy reports "optimal_inaccurate", or the relative violation exceeds ``1e-6``.

    Raises
    ------
    SolveError
        When cvxpy fails or the constraints are infeasible; the message carries the solver's status or message.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import Sobolev
    >>> from fpnorm.solvers import Problem
    >>> t = 2 * np.pi * np.array([[0.1], [0.4], [0.7]])
    >>> sol = solve_constrained(Problem(t, np.array([[1.0], [0.2], [-1.0]]), 4, Sobolev(s=1).box(4)),
    ...                         tol=np.full(3, 0.5))
    >>> sol.info.method, sol.info.status, bool(sol.info.residual < 1e-12)
    ('active-set', 'optimal', True)
    """
    t0 = time.perf_counter()
    N, M, K, dim = problem.N, problem.M, problem.K, problem.dim
    check_memory(constrained_memory(N, M), f"the constrained solve ({N} points x {M} modes)", "Use a smaller K.")
    sd = scaled_design(problem, FreeModes(problem))
    B, F = sd.A, sd.F
    r = problem.rhs
    m = r.shape[1]
    scale = float(np.max(np.abs(r))) if r.size and np.max(np.abs(r)) > 0 else 1.0
    attempts, statuses, methods, iters = [], [], set(), 0
    grid = None
    if bounds is None:
        reals = []
        if N > ACTIVE_SET_MAX_POINTS:
            attempts.append(f"active-set: skipped for N = {N} > ACTIVE_SET_MAX_POINTS = {ACTIVE_SET_MAX_POINTS}; "
                            f"solved on cvxpy ({solver})")
        for j in range(m):
            band = tol if tol is not None else np.zeros(N)
            got = _active_set(B, F, r[:, j], band, scale) if N <= ACTIVE_SET_MAX_POINTS else None
            if got is None and N <= ACTIVE_SET_MAX_POINTS:
                attempts.append(f"active-set: column {j}: no verified active set; solved on cvxpy ({solver})")
            if got is None:
                u, w, st = _cvxpy_solve(B, F, r[:, j], tol, None, solver)
                methods.add("cvxpy")
            else:
                u, w, _, it = got
                st = "optimal"
                iters += it
                methods.add("active-set")
            statuses.append(st)
            reals.append(sd.real_coefficients(u, w))
        coef = real_to_complex(np.stack(reals, axis=1), K, dim)
    else:
        P = bounds.period
        check_data_within_bounds(bounds, problem, r, tol)
        n, capped = 2 * K + 2, False
        starts = [_unbounded_start(B, F, r[:, j], tol, scale) for j in range(m)]
        for _ in range(4):
            n_used = n
            check_memory(bound_grid_memory(n, dim), f"the bound grid ({n}^{dim} points)", "Use a smaller K.")
            grid = BoundGrid(n, bounds, K, dim, sd)
            reals, statuses = [], []
            for j in range(m):
                u, w, st, rounds, used = _solve_exchange(B, F, r[:, j], tol, grid, solver, starts[j], scale)
                starts[j] = (u, w, rounds == 0 and starts[j] is not None and starts[j][2])
                statuses.append(st)
                iters += rounds
                reals.append(sd.real_coefficients(u, w))
            coef = real_to_complex(np.stack(reals, axis=1), K, dim)
            n_new, capped = grid_points_per_axis(*derivative_bounds(coef, P, dim), dim, bounds.atol, K, P)
            if n_new <= n:
                break
            attempts.append(f"cvxpy: bound grid {n}^{dim} too coarse for the solution's derivatives; refined to "
                            f"{n_new}^{dim}")
            n = min(int(np.ceil(1.1 * n_new)), int(np.floor(MAX_GRID_POINTS ** (1.0 / dim) + 1e-9)))
        if iters:
            methods.add("cvxpy")
        else:  # the unbounded optimum met every bound: no cvxpy solve was needed
            methods.add("active-set" if tol is not None and np.any(tol > 0) else "qr")
        attempts.append(f"cvxpy: bounds enforced on a {n_used}^{dim} grid ({used} of its points were needed as "
                        f"constraints)")
        if capped:
            attempts.append(f"cvxpy: bound grid capped at {n_used}^{dim} points (MAX_GRID_POINTS = "
                            f"{MAX_GRID_POINTS})")
        check_bounds_fine(coef, bounds, n_used, dim, stacklevel=4)
    # the data bands' violation at the points themselves, certified (relative to max |r|, as `scale` is)
    data, kind = band_violation(coef, problem, tol[:, None] if tol is not None else 0.0)
    viol = data * scale
    if grid is not None:
        viol = max(viol, max(float(np.max(grid.violation(x[sd.pen] / sd.scales[sd.pen], x[sd.free_cols])))
                             for x in reals))
    status = "optimal_inaccurate" if "optimal_inaccurate" in statuses else "optimal"
    if status != "optimal" or viol / scale > _VIOLATION_WARN:
        warnings.warn(f"cvxpy ({solver}) reports status {status!r}; largest constraint violation "
                      f"{viol / scale:.2e} (relative).", AccuracyWarning, stacklevel=3)
    method = "cvxpy" if "cvxpy" in methods else methods.pop()
    return Solution(coef, SolveInfo(method, viol / scale, float("nan"), iters, attempts, time.perf_counter() - t0,
                                    status, residual_kind=kind, sensitivity=sensitivity(coef, problem)))
