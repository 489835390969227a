"""How far a truncated solve (integer K) is from its K = infinity limit.

- :func:`truncation_error`: an a-posteriori estimate of ``max_x |h_K(x) - h_inf(x)|`` for a solved problem, from the
  solver's factorisation, the kernel tail beyond K and a few NUFFTs (the figure ``SolveInfo.truncation_error``); in
  1-d for the weights with an O(N) K = infinity solver (PowerLaw p = 2, 4, LFP, Sobolev s = 1) a measurement against
  that limit.

The maths of the estimate. With ``kappa = kappa_K + tau`` (``tau`` the tail ``|k|_inf > K``), the truncated
interpolant is ``h_K = sum_n alpha_n kappa_K(x - x_n) + free part`` with ``G_K alpha = r`` and the limit is
``h_inf = sum_n beta_n kappa(x - x_n) + free part`` with ``(G_K + T) beta = r`` (``T_nm = tau(x_n - x_m)``; systems
projected off the free basis functions, ``+ mu I`` on both for a smoothing fit). Then ``e = h_inf - h_K`` has the
penalised coefficients ``g_k (Phi^H (beta - alpha))_k`` on the box and ``g_k (Phi^H beta)_k`` beyond it. ``beta`` is
found by preconditioned conjugate gradients on ``(G_K + T) beta = r``, started at ``alpha`` and preconditioned by the
solver's own factorisation of ``G_K``: the preconditioned matrix is ``I + G_K^-1 T``, so the first iterate is already
exact to first order in the tail (``e ~ rho - I_K[rho]``, with ``rho = sum_n alpha_n tau(x - x_n)`` the tail of
``h_K``'s dual expansion and ``I_K[rho]`` the truncated interpolant of its values at the points), and a few more
resolve the directions in which the tail dominates ``G_K`` (points closer than ``1/K``; ``N`` near
``(2K+1)^d / 2``). ``T`` is applied as the band ``K < |k|_inf <= K' = 3K/2`` exactly (a NUFFT pair) plus a model of
the far tail beyond ``K'``: its sum ``T_0 = sum_{|k|_inf > K'} gamma(k)^2`` on the diagonal and, between points closer
than a few ``1/K'``, ``T_0 exp(-v(z)/T_0)`` with ``v`` the far tail's variogram ``T_0 - tau_{K'}(z)`` near ``z = 0``
(its second moment for smooth weights, the continuum Riesz-potential constant for rough ones). The result's maximum
is taken on a grid that resolves the band ``K'``; the far tail itself is left out there, since it only sharpens
``e`` at the data points, where ``e`` vanishes.

Iterative solves leave no factorisation of ``G_K``, and their preconditioner preconditions ``G_K + T`` badly where
the tail separates nearly coincident points that ``G_K`` cannot: with it as the dual the iterations ran to their cap
unconverged (2-d N = 8e4, K = 256, Sobolev(2): 41; 1-d N = 1e5, K = 2^17, Sobolev(1.5): 41, the figure 374 times the
converged one). So the estimate factors its own kernel: a KL factor (:mod:`fpnorm.solvers.precondition`) of
``kappa_K`` plus the tail as the operator applies it (the band by a Gaussian with its sum and second moment, the far
tail by its model or, where that is its diagonal alone, a nugget ``T_0``), on the solve's own pattern and ``kappa_K``
values when the solve ran the KL factor (only the tail's values at the local pairs and the column solves are new),
on a pattern of its own where it ran the sorted chain (noisy 1-d data), inside the solve's two-level correction
(:meth:`fpnorm.solvers.coarse.TwoLevel.with_factor`, its ``G_K V`` kept). Measured, the estimate with that factor
against the solve's preconditioner (one process, uniform random points, smooth data): 2-d N = 2e4, K = 128, LFP(1,1)
3 against 39 applications; 2-d N = 8e4, K = 256, Sobolev(2) 10 against 41 (unconverged); 3-d N = 2e4, K = 24,
Sobolev(2) 3 against 24; 1-d N = 1e5, K = 2^17, Sobolev(1.5) 21 against 41 (unconverged: 1.5e-6, now 3.9e-9
against ``max |h_K - h_8K|`` = 3.8e-9), LFP(1,1) 9 against 41 (2.95e-9 against the exact distance 2.97e-9, where
the unconverged figure read 2.1e-8).
"""

import math

import numpy as np
import scipy.sparse as sp
from scipy import fft as sfft

from .. import transforms
from .._internal.memory import check_memory
from .._internal.threads import cores, single_threaded
from ..exceptions import MemoryEstimateError
from ..lattice import resize_box
from .precondition import kl_factor, local_kernel
from .problem import FreeModes, join_complex, scale_exponent
from .tail import far_tail_matrix, kernel_tail_bound, summed_tail, tail_moments

__all__ = ["truncation_error", "OUTER_FACTOR"]

# The band K < |k|_inf <= K' = ceil(OUTER_FACTOR K) is applied exactly. Measured on the 1-d closed forms (206 cases):
# 2 keeps the estimates within [0.53, 1.34] of the exact distance, 1.5 within [0.77, 1.34], at (1.5/2)^d of the cost.
OUTER_FACTOR = 1.5
# Conjugate gradients stop when the iterate's misfit at the points is below _CG_TOL times the RMS of e (so that
# h_inf - iterate, the limit interpolant of that misfit, is small against e), or after _CG_MAX iterations. Measured:
# 1 iteration for resolved problems, up to 11 for N near (2K+1)/2 in 1-d with an exact dual; with the KL factor of
# the estimate's own kernel (iterative solves, _tail_preconditioner) 2-21 on the Scale rows (module docstring). The
# cap is what stops a dual that preconditions G_K + T badly.
_CG_TOL = 0.3
_CG_MAX = 40
# finufft accuracy of the estimate's transforms. Their errors reach e through G_K^-1, amplified up to cond(G_K): the
# loose tolerance (with upsampling 1.25, about half the cost) serves kernel matrices whose condition estimate is at
# most _LOOSE_CONDITION, the middle or tight one the others (measured: 2000 random points, PowerLaw p = 4, K = 2048,
# cond 1e27, exact distance 4.9e-9: estimate 5.3e-5 at 1e-9, 2.4e-8 at 1e-14).
_LOOSE_EPS, _LOOSE_UPSAMPFAC, _LOOSE_CONDITION = 1e-9, 1.25, 1e6
_TIGHT_EPS = 1e-14
# The others, in d >= 2, run their conjugate gradients at a middle tolerance, half the cost of a tight pair (3-d,
# N = 2e4, box |k|_inf <= 36: 0.11 s against 0.22 s; the fine grid, not the kernel width, sets the cost there), and
# keep the result when the model of the transforms' error in e, eps sum g (||alpha||_1 + sum_j |a_j| ||p_j||_1)
# (finufft's error is about eps times the 1-norm of its input), is within _MODEL_SHARE of the RMS of e (6e-5 on that
# row; above 1e4 at the condition 1e27 above). Else the tight transforms go on from the middle result: they measure
# its misfit and its transforms afresh (two pairs) and stop at once when the misfit is within _CG_TOL, else iterate on
# (from scratch, when it misfits more than the start). The dual variables of nearly coincident points are huge and
# cancel, and so do their transforms' errors: on the 2-d N = 8e4, K = 256 Scale row the model read 1830 times the RMS
# of e, and the tight run stopped at once on the middle result (9 + 0 iterations, 1.3 s, against 1 + 9, 1.7 s, from
# scratch). 1-d goes to the tight transforms directly: a middle pair costs about a tight one there (1-d N = 1e5,
# K = 2^17, Sobolev(1.5): 18 iterations in 1.06 s against 1.04 s).
_MIDDLE_EPS, _MIDDLE_UPSAMPFAC = 1e-12, 1.6
_MODEL_SHARE = 1e-2
# The maximum of e is taken on a grid of n >= _OVERSAMPLE[d] (2K' + 1) points per axis (about 4 (2K'+1)^d points,
# the size of one NUFFT's upsampled grid), at most _GRID_POINTS in all (then n >= 2K' + 2: the grid still resolves
# the band, with a coarser maximum).
_OVERSAMPLE = {1: 4.0, 2: 2.0, 3: 1.6}
_GRID_POINTS = 1 << 24
# The exact 1-d limit replaces the estimate when it fits the data to this relative residual (its tridiagonal solve
# fits random points to ~1e-15; points much closer than a unit of rounding of [0, 1) merge in it).
_LIMIT_RESIDUAL = 1e-9
# Grid points per chunk of the exact 1-d limit's evaluation (its temporaries: some 45 floats a point at m = 3).
_LIMIT_CHUNK = 2**15


def truncation_error(problem, dual, weight, *, alpha=None, coef=None, limit=None, smoothing=0.0, is_complex=False,
                     condition=math.nan, local=None, coarse=None):
    """Estimate ``max_x |h_K(x) - h_inf(x)|`` on the torus for a solved truncated problem.

    Parameters
    ----------
    problem : Problem
        The solved problem (its right-hand sides and box weights ``problem.g = weight.box(K)``).
    dual : callable
        ``r -> alpha``: the solver's projected ``G_K^-1`` (:attr:`Solution.dual`; with ``+ mu I`` for a smoothing fit),
        or an approximation of it (a preconditioner: more iterations).
    alpha : ndarray, shape (N, m), optional
        The solution's dual variables (:attr:`Solution.alpha`); default ``dual(problem.rhs)``.
    coef : ndarray, shape (2K+1, m), optional
        The solution's coefficients (:attr:`Solution.coef`).
    limit : callable, optional
        ``(z, rhs) -> LimitSolution``: an exact K = infinity solver of the problem in 1-d (nodes ``z`` in periods,
        :func:`fpnorm.solvers.periodic1d.banded_solver`); with it and `coef`, an interpolation is measured instead of
        estimated (Notes).
    weight : Weight
        The weight, for ``gamma(k)^2`` beyond the box.
    smoothing : float
        ``mu`` of a smoothing fit (0 for interpolation).
    is_complex : bool
        Whether the right-hand sides hold real and imaginary parts (:func:`right_hand_sides`).
    condition : float
        The solver's estimate of ``cond(G_K)`` (nan: unknown); a well-conditioned system allows looser transforms.
    local, coarse : LocalKernel, TwoLevel, optional
        An iterative solve's KL pattern with ``G_K``'s values on it and its two-level correction
        (:attr:`Solution.local`, :attr:`Solution.coarse`): given `coarse`, the conjugate gradients are preconditioned by
        a KL factor of the estimate's own kernel, on `local`'s pattern (or one of its own when `local` is None),
        instead of `dual` (Notes).

    Returns
    -------
    float
        The estimate, in the units of the data, the largest over the right-hand sides; ``inf`` when the weight's
        tail sum diverges (no K = infinity limit exists); ``nan`` when it cannot be formed (a weight that is free
        beyond the box, or whose values underflow there; a weight known only through its values whose tail, summed
        on the lattice to ``12K``, does not decay fast enough to be extrapolated; more memory than is available).

    Notes
    -----
    An interpolation (no smoothing) given `coef` and `limit` (1-d PowerLaw p = 2, 4, LFP, Sobolev s = 1) is measured:
    ``h_inf`` is solved exactly and ``|h_K - h_inf|`` maximised on the grid below (12 points to a period of
    ``e^{i K x}``), which leaves it within a few percent of the true maximum; a ``h_inf`` that misses the data by more
    than ``_LIMIT_RESIDUAL`` falls back to the estimate.

    Otherwise, see the module docstring for the maths. It is an estimate, not a bound. Measured against the exact K =
    None interpolants in 1-d (409 cases: PowerLaw p = 2, 4, 6, LFP, Sobolev s = 1, 2; random, clustered, jittered and
    nearly coincident points, N up to (2K+1)/2, noisy data) it was between 0.76 and 1.34 times the exact distance, 98%
    of them between 0.82 and 1.08 (tests/test_truncation.py asserts a factor 1.5), and in 2-d and 3-d between 0.91 and
    1.11 times ``max |h_K - h_8K|``. It rests on the dual variables ``alpha``, which carry about ``cond(G_K) eps``
    relative error: when the solver's condition estimate approaches ``1 / eps`` (points far closer than ``1/K`` with a
    smooth weight) it is only an order of magnitude (measured: 15 times the distance at condition 1e26). Cost: per
    conjugate-gradient iteration (one or two for resolved problems, up to about ten near N = (2K+1)^d / 2) one
    application of the solver's factorisation (or preconditioner) and two NUFFTs on the box ``|k|_inf <= 3K/2``; two
    more NUFFTs for ``alpha``; one FFT on a grid of about ``4 (3K)^d`` points. For an iterative solve (`local`,
    `coarse`) a KL factor of the estimate's own kernel stands in for the factorisation (module docstring): its columns
    cost about what the solve's did (and its pattern too where the solve ran the sorted chain: about 3 s at 1-d N =
    1e5), and it takes 2-21 iterations on the Scale rows. Measured against the exact K = None interpolants at 0.76
    points per ``1/K`` in 1-d (N = 400 .. 2000, Sobolev s = 1.5, 2, PowerLaw p = 6) and N near ``(2K+1)^d / 2`` in 2-d
    and 3-d, where the reference fits its data well below the distance: 0.98-1.02 times the distance
    (tests/test_truncation.py asserts a factor 1.5); 0.99 and 1.03 times ``max |h_K - h_8K|`` at 1-d N = 2e4 and 1e5,
    where the solver's preconditioner as the dual left the iterations at their cap and the figure 19 and 385 times high.
    Where ``cond(G_K)`` nears ``1 / eps`` (PowerLaw p = 6, N = 1000, K = 1315) it is again only an order of magnitude
    (4.3 times the distance; 1300 times with the solver's preconditioner).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> x = np.array([0.1, 0.35, 0.5, 0.8])
    >>> s = FPInterpolator(x, np.abs(x - 0.5), weight=PowerLaw(p=2), K=32)   # K = inf: piecewise linear
    >>> exact = np.max(np.abs(s(np.linspace(0, 1, 20001)) - FPInterpolator(x, np.abs(x - 0.5), weight=PowerLaw(p=2),
    ...                                                                    K=None)(np.linspace(0, 1, 20001))))
    >>> bool(0.8 < s.info.truncation_error / exact < 1.25)
    True
    """
    try:
        if math.isinf(kernel_tail_bound(weight, problem.K)):
            return math.inf
        known = True
    except ValueError:  # a weight known only through its values: its tail is summed on the lattice
        known = False
    try:
        if limit is not None and coef is not None and smoothing == 0:
            found = _measured_1d(problem, coef, limit, is_complex)
            if found is not None:
                return found
        loose = condition <= _LOOSE_CONDITION  # False for nan
        return _estimate(problem, dual, alpha, weight, known, float(smoothing), is_complex, loose, local, coarse)
    except MemoryEstimateError:  # the estimate is extra: it never stops a solve that fits
        return math.nan


def _estimate(problem, dual, alpha, weight, known, mu, is_complex, loose, local, coarse):
    """:func:`truncation_error` for a weight with a convergent (or unknown) tail."""
    K, d = problem.K, problem.dim
    Ko = _outer_box(K)
    N, m = problem.rhs.shape
    check_memory(16 * (2 * Ko + 1) ** d * (6 * m + 2), f"the truncation-error estimate's box |k|_inf <= {Ko}",
                 "Use a smaller `K`.")
    try:
        go = weight.box(Ko)
    except ValueError:  # gamma(k)^2 underflows to 0 beyond the box
        return math.nan
    inner = np.zeros(go.shape, dtype=bool)
    inner[(slice(Ko - K, Ko + K + 1),) * d] = True
    if np.any(np.isinf(go[~inner])):  # free modes beyond K: the limit has another free part
        return math.nan
    if known:
        T0, variogram = tail_moments(weight, Ko)
    else:
        T0, variogram = summed_tail(weight, Ko), []
        if math.isnan(T0):
            return T0
    gpo = np.where(np.isinf(go), 0.0, go)
    band = np.where(inner, 0.0, gpo)[..., None]
    gpo = gpo[..., None]
    far = far_tail_matrix(problem.t, T0, variogram, d)
    free = FreeModes(problem)

    def project(v):
        return v if free.n == 0 else free.lift(free.qt(v)[free.n:])

    if coarse is not None:
        # an iterative solve; one that ran the sorted chain alone (noisy 1-d data) hands over no KL pattern, and the
        # estimate makes its own (1-d, N = 1e5, K = 2^17: about 3 s of the estimate's 5-6 s, module docstring)
        local = local_kernel(problem.t / (2 * math.pi), problem.g) if local is None else local
        dual = _tail_preconditioner(local, coarse, project, band[..., 0], T0, variogram, far, mu)
    exponent = scale_exponent(problem.rhs)
    alpha = dual(np.ldexp(problem.rhs, -exponent)) if alpha is None else np.ldexp(alpha, -exponent)
    # the loose transforms where the condition estimate allows them; else (d >= 2) the middle ones, kept when the
    # model of their error allows, and the tight ones from where those stopped
    tiers = [(_LOOSE_EPS, _LOOSE_UPSAMPFAC, False)] if loose else [(_TIGHT_EPS, None, False)]
    if not loose and d >= 2:
        tiers.insert(0, (_MIDDLE_EPS, _MIDDLE_UPSAMPFAC, True))
    found = None
    for eps, upsampfac, checked in tiers:
        plan = transforms.NufftPlan(problem.t, Ko, n_trans=m, eps=eps, upsampfac=upsampfac)
        found = _difference(plan, dual, project, alpha, gpo, band, far, mu, None if found is None else found[4],
                            eps * float(np.sum(gpo)) if checked else 0.0)
        if found[5]:
            break
    A, Xd, step_values, tail_alpha = found[:4]
    e_hat = band * A + gpo * Xd
    if free.n:  # the free part of h_inf - h_K: the free fit of -(G~ beta - G_K alpha) (+ mu (beta - alpha))
        shift = free.add_free_part(np.zeros(problem.g.shape + (m,), dtype=complex), -(step_values + tail_alpha))
        e_hat = e_hat + np.stack([resize_box(shift[..., j], Ko) for j in range(m)], axis=-1)
    e_hat = join_complex(e_hat, is_complex)
    side = _grid_side(Ko, d)
    worst = max(float(np.max(np.abs(_grid_values(e_hat[..., j], side, not is_complex))))
                for j in range(e_hat.shape[-1]))
    return float(np.ldexp(worst, exponent))


def _tail_preconditioner(local, coarse, project, band, T0, variogram, far, mu):
    """``r -> M r``, ``M ~ (G~ + mu I)^-1`` projected, for the estimate's conjugate gradients: the KL factor of the
    estimate's own kernel on the solve's pattern (its values there: ``G_K``'s plus the tail's), inside the solve's
    two-level correction.

    The tail is modelled as the operator applies it: the band ``K < |k|_inf <= K'`` by a Gaussian with its sum
    ``T_b`` and second moment (``T_b exp(-c_b |theta|^2 / T_b)``, positive definite, exact to second order at 0),
    the far tail by :func:`far_tail_matrix`'s model, or a nugget ``T_0`` where that model is its diagonal alone;
    ``mu`` (smoothing) is a nugget too. Every term is a stationary positive definite kernel, so the local matrices
    stay positive definite.
    """
    pattern = local.pattern
    # the distinct pairs' distances, their squares, the tail's values and a temporary (8 bytes a distinct pair each),
    # and the new variograms on the local pairs with kl_factor's copy: a MemoryEstimateError here leaves the estimate
    # nan, as its other checks do
    check_memory(32 * local.values.size + 16 * local.inverse.size, "the truncation estimate's KL factor",
                 "Use a smaller `K` or fewer points.")
    d = band.ndim
    Ko = (band.shape[0] - 1) // 2
    k2 = sum(k**2 for k in np.meshgrid(*[np.arange(-Ko, Ko + 1, dtype=float)] * d, indexing="ij", sparse=True))
    Tb = float(np.sum(band))
    cb = float(np.sum(band * k2)) / (2 * d)
    theta = pattern.distances(local.pairs[:, 0], local.pairs[:, 1])     # the tail is evaluated once a distinct pair
    theta *= 2 * math.pi
    theta2 = theta * theta
    extra = np.zeros_like(theta)
    if Tb > 0:
        np.multiply(theta2, -cb / Tb, out=extra)
        np.expm1(extra, out=extra)
        extra *= -Tb
    if not variogram or (sp.issparse(far) and far.nnz <= far.shape[0]):     # the far model's diagonal alone
        extra += T0
    elif T0 > 0:
        v = np.zeros_like(theta)
        for c, a in variogram:
            v += c * (theta2 if a == 2 else theta**a)
        v *= -1.0 / T0
        extra -= T0 * np.expm1(v, out=v)
    extra += mu
    extra += local.values
    L = kl_factor(pattern, local.kappa0 + Tb + T0 + mu, extra[local.inverse])
    two = coarse.with_factor(L.T.tocsr())

    def apply(r):             # on one BLAS thread, as the solve's own dual (solvers._dense_work)
        with single_threaded():
            return project(two.apply(project(r)))

    return apply


def _outer_box(K):
    """``K' = ceil(OUTER_FACTOR K)``, at least ``K + 1``: the band beyond ``K`` applied exactly, and resolved by the
    grid of the maximum."""
    return max(K + 1, int(math.ceil(OUTER_FACTOR * K)))


def _grid_side(Ko, d):
    """Points per axis of the grid on which ``max |e|`` is taken (memory checked for it)."""
    side = sfft.next_fast_len(int(math.ceil(_OVERSAMPLE.get(d, 1.0) * (2 * Ko + 1))))
    if side**d > _GRID_POINTS:
        side = sfft.next_fast_len(max(2 * Ko + 2, int(_GRID_POINTS ** (1.0 / d))))
    check_memory(32 * side**d, f"the truncation-error estimate's grid of {side}^{d} points", "Use a smaller `K`.")
    return side


def _measured_1d(problem, coef, limit, is_complex):
    """``max |h_K - h_inf|`` on the grid of :func:`_grid_side` with ``h_inf = limit(z, rhs)`` (1-d); None when it misses
    the data by more than ``_LIMIT_RESIDUAL`` (points too close for it)."""
    N, m = problem.rhs.shape
    K = problem.K
    side = _grid_side(_outer_box(K), 1)
    # h_K on the grid, and the limit's values and its evaluation's temporaries on a chunk of it (tracemalloc, 20 / 45
    # floats a grid point for m = 1 / 3 columns, piecewise cubic with a finite zero 24 / 45)
    check_memory(8 * side * (m + 2) + 8 * min(side, _LIMIT_CHUNK) * (14 * m + 16),
                 f"the K = infinity comparison on a grid of {side} points", "Use a smaller `K`.")
    exponent = scale_exponent(problem.rhs)
    z = np.mod(problem.t[:, 0] / (2 * math.pi), 1.0)
    z[z >= 1.0] = 0.0
    if np.unique(z).size < N:
        return None
    with np.errstate(all="ignore"):
        exact = limit(z, np.ldexp(problem.rhs, -exponent))
    if not exact.info.residual <= _LIMIT_RESIDUAL:       # also nan
        return None
    scaled = np.asarray(coef).reshape(2 * K + 1, m) * math.ldexp(1.0, -exponent)
    h_K = np.stack([_grid_values(scaled[:, j], side, True).real for j in range(m)], axis=1)
    # the limit on the grid in chunks: their temporaries are reused, where the whole grid's (tens of MB each) are
    # fresh memory every time (1-d N = 1e5, K = 2^17, LFP(1,1), side 1.57e6: 0.3-1.4 s in one process, a page fault
    # costing ~20 us on the 2-core machine)
    worst = 0.0
    for start in range(0, side, _LIMIT_CHUNK):
        grid = np.arange(start, min(side, start + _LIMIT_CHUNK)) / side
        e = join_complex(exact.evaluate(grid) - h_K[start:start + grid.size], is_complex)
        worst = max(worst, float(np.max(np.abs(e), initial=0.0)))
    return float(np.ldexp(worst, exponent)) if math.isfinite(worst) else None


def _difference(plan, dual, project, alpha, gpo, band, far, mu, start=None, model_scale=0.0):
    """Conjugate gradients for ``delta = beta - alpha``: ``(A, Xd, step_values, tail_alpha, delta, kept)`` (the
    transforms of ``alpha`` and of ``delta`` on the outer box, ``(G~ + mu I) delta`` and ``(G~ - G_K) alpha`` at the
    points, ``delta``, and whether the result stands: False when ``model_scale > 0`` (the transforms' ``eps sum g``)
    and the model of their error, ``eps sum g (||alpha||_1 + sum_j |a_j| ||p_j||_1)``, exceeds ``_MODEL_SHARE`` times
    the RMS of ``e``). From `start` (an earlier ``delta``) the misfit is measured first and the iteration stops at once
    when it is small enough; it starts from 0 instead when `start` misfits more than 0 does."""
    axes = tuple(range(gpo.ndim - 1))

    def quadratic(vhat, v):  # v^T (G~ + mu I) v per column, from v's transform on the outer box
        return np.sum(gpo * (vhat.real**2 + vhat.imag**2), axis=axes) + np.sum(v * (far @ v + mu * v), axis=0)

    def apply(vhat, v):  # (G~ + mu I) v at the points
        return plan.evaluate(gpo * vhat).real + far @ v + mu * v

    def e_rms(Xd):
        return np.sqrt(np.sum(np.abs(band * A + gpo * Xd) ** 2, axis=axes))

    def small(r, Xd):    # the misfit within _CG_TOL of the RMS of e, every column
        return np.all(np.max(np.abs(r), axis=0) <= _CG_TOL * e_rms(Xd))

    A = plan.adjoint(alpha)
    tail_alpha = plan.evaluate(band * A).real + far @ alpha       # (G~ - G_K) alpha at the points
    r = -project(tail_alpha)                                        # the K = inf residual of alpha
    step_values = np.zeros_like(alpha)                             # (G~ + mu I) delta at the points
    Xd = np.zeros_like(A)                                           # transform of delta
    delta = np.zeros_like(alpha)
    if start is not None:
        Xs = plan.adjoint(start)
        Gs = apply(Xs, start)
        rs = r - project(Gs)
        if np.max(np.abs(rs)) <= np.max(np.abs(r)):
            if small(rs, Xs):
                return A, Xs, Gs, tail_alpha, start, True
            r, step_values, Xd, delta = rs, Gs, Xs, start
    model = np.sum(np.abs(alpha), axis=0) + np.sum(np.abs(delta), axis=0)
    z = dual(r)
    p, P = z, plan.adjoint(z)
    rz = np.sum(r * z, axis=0)
    for it in range(_CG_MAX):
        pq = quadratic(P, p)
        a = np.where(pq > 0, rz / np.where(pq > 0, pq, 1.0), 0.0)
        Gp = apply(P, p)
        Xd, step_values, delta = Xd + a * P, step_values + a * Gp, delta + a * p
        model = model + np.abs(a) * np.sum(np.abs(p), axis=0)
        r = r - a * project(Gp)
        if it == _CG_MAX - 1 or small(r, Xd) or not np.any(a):
            break
        z = dual(r)
        rz_new = np.sum(r * z, axis=0)
        beta = np.where(rz != 0, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
        p, P, rz = z + beta * p, plan.adjoint(z) + beta * P, rz_new
    return A, Xd, step_values, tail_alpha, delta, not np.any(model_scale * model > _MODEL_SHARE * e_rms(Xd))


def _grid_values(coef, side, real):
    """``sum_k c_k e^{2 pi i k.j/side}`` on the grid ``j in {0..side-1}^d``, ``side >= 2K + 2``: by a real inverse FFT
    of the half spectrum when the coefficients are those of a real function (``real``)."""
    d, K = coef.ndim, (coef.shape[0] - 1) // 2
    idx = np.arange(-K, K + 1) % side
    if not real:
        full = np.zeros((side,) * d, dtype=complex)
        full[np.ix_(*([idx] * d))] = coef
        return sfft.ifftn(full, overwrite_x=True, workers=cores()) * float(side) ** d
    half = np.zeros((side,) * (d - 1) + (side // 2 + 1,), dtype=complex)
    half[np.ix_(*([idx] * (d - 1) + [np.arange(K + 1)]))] = coef[..., K:]
    return sfft.irfftn(half, s=(side,) * d, overwrite_x=True, workers=cores()) * float(side) ** d
