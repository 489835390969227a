"""Solve paths for the minimum-norm interpolation problem, and the one place that chooses between them.

Every path takes a validated :class:`Problem` and returns a :class:`Solution` (complex box coefficients and a
:class:`SolveInfo`). :func:`solve` picks a path from a cost estimate, checks the residual against the exact forward
map, escalates to the stabler QR path when accuracy is lost, and warns or raises with the measured numbers. The
residual it reports is measured at the points themselves and certified (:mod:`fpnorm.solvers.certify`).
"""

import dataclasses
import time
import warnings

import numpy as np

from .._internal.memory import available_memory
from .._internal.pages import small_pages
from .._internal.threads import single_threaded
from ..exceptions import AccuracyWarning, MemoryEstimateError, SolveError
from .certify import certified_residual, extended_affordable, interval_kind, sensitivity
from .dense import cholesky_memory, solve_cholesky
from .iterative import NEIGHBOURS, iterative_memory, solve_iterative
from .problem import RESIDUAL_KINDS, Problem, Solution, SolveInfo, scale_exponent
from .qr import qr_memory, solve_qr, solve_svd

__all__ = ["METHODS", "Problem", "Solution", "SolveInfo", "solve", "choose_method", "estimate_costs",
           "residual_warning", "sensitivity_warning"]

# Methods a user may ask for; "auto" chooses (see choose_method). "periodic1d" and "exact_kernel" solve the
# K = infinity problem (K=None) in 1-d, see :mod:`fpnorm.solvers.periodic1d`, "lattice_kernel" (dense) in d = 1, 2, 3,
# see :mod:`fpnorm.solvers.lattice_limit`, "lattice_matfree" (matrix-free) in d = 2, 3, see
# :mod:`fpnorm.solvers.lattice_matfree`; the others need an integer K.
METHODS = ("auto", "qr", "svd", "cholesky", "iterative", "periodic1d", "exact_kernel", "lattice_kernel",
           "lattice_matfree")

# A result whose relative residual exceeds this is no interpolant at all: raise instead of warning.
UNUSABLE_RESIDUAL = 1e-4
# QR is always chosen below this many flops (it is then fast, and it is the stablest path).
_QR_ALWAYS_FLOPS = 4e7


# Cost model on a 2-core machine (measured; only ratios between methods matter): dense LAPACK flop rate, finufft
# seconds per nonuniform point at eps ~ 1e-13 by dimension, FFT seconds per mode, and a prior on CG iterations.
_FLOP_RATE = 1e10
# Householder QR through scipy runs far below the Cholesky rate on these shapes (measured: a 513 x 120 QR in 17 ms).
_QR_FLOP_RATE = 1e9
_NUFFT_POINT_SECONDS = {1: 6e-8, 2: 2e-7, 3: 1e-6}
# Seconds per point pair of the Cholesky path's kernel matrix (one type-2 NUFFT at the N (N - 1) / 2 differences,
# transforms.kernel_matrix, at its tight tolerance), by dimension. Measured (uniform random points, Sobolev(2), best of
# 2, N = 500 .. 2000): 1-d K = 16384 76-80 ns; 2-d K = 64 138-159 ns and K = 256 215 ns at N = 2000 (702 ns at
# N = 1000, where its blocks' FFTs weigh); 3-d K = 16 and 24 2.2-3.3 us, more than twice the 3-d NUFFT's cost a point
# above (the spreading kernel's w^3 grid points a difference).
_KERNEL_PAIR_SECONDS = {1: 8e-8, 2: 2e-7, 3: 2.5e-6}
_FFT_MODE_SECONDS = 2e-9
# Iterations with the default preconditioners (the KL factor with its resolution floor in d >= 2, the two-level
# correction on top), uniform random points, Sobolev(2), against Cholesky in the same process (best of 2, FPInterpolator
# whole): 2-d N = 1000 / 1500 / 3000 / 6000, K = 48 / 48 / 48 / 96: 25 / 22 / 18 / 27 iterations, 0.08 / 0.11 / 0.24 /
# 0.62 s against 0.11 / 0.32 / 1.00 / 4.32 s; 3-d N = 1000 / 2000 / 4000, K = 16 / 16 / 20: 17 / 17 / 19 iterations,
# 0.73 / 1.06 / 2.96 s against 1.18 / 2.44 / 9.09 s; 2-d N = 300 / 600, K = 32: 0.04 / 0.05 s against 0.03 / 0.05 s,
# N = 600, K = 64: 0.10 s against 0.07 s. The Scale rows (benchmarks/RESULTS.md): 2-d 13-27 at N / (2K+1)^2 = 0.3,
# 52-64 at 0.02-0.08; 3-d 16-21.
_CG_ITERATIONS = {1: 20, 2: 25, 3: 18}
# "auto" prefers the direct Cholesky path unless the iterative one is estimated this many times faster: 2 left the
# 3-d N = 2000, K = 16 solve on Cholesky, 2.2 times slower than the iterative one. Measured against both paths
# (FPInterpolator whole, uniform random points, best of 2), "auto" picks a path at most 1.36 times the faster one's
# time: 1-d K = 2^17, Sobolev(1.5), N = 300 / 1000 / 2000 Cholesky (0.27 / 0.34 / 0.55 s against 0.73 / 0.55 / 0.46 s);
# 1-d K = 16384, Sobolev(1), jittered points (benchmarks/run.py --only scaling), N = 250 / 500 / 1000 Cholesky (0.050 /
# 0.043 / 0.081 s against 0.076 / 0.091 / 0.091 s), 2000 / 3000 iterative (0.136 / 0.127 s against 0.280 / 0.573 s);
# 2-d Sobolev(2) K = 64, N = 1000 Cholesky (0.126 against 0.093 s), 2000-5000 iterative, K = 256, N = 300-2000 Cholesky
# (1.14 against 1.10 s at 2000); 3-d Sobolev(2) K = 16, N = 300 / 500 Cholesky (0.26 / 0.47 s against 0.46 / 0.47 s),
# 700 / 1000 iterative (0.52 / 0.54 s against 0.68 / 1.18 s), K = 24, N = 500 / 1000 Cholesky (0.68 / 1.33 s against
# 1.00 / 1.08 s), 2000 iterative (1.39 against 2.41 s).
_ITERATIVE_ADVANTAGE = 1.5
# QR is also chosen when its estimated time is within this factor of the fastest other path (it is the stablest).
_QR_PREMIUM = 3.0
# A method is considered to fit when its estimate is below this share of the available memory.
_MEMORY_SHARE = 0.5
# The certificate sums in extended precision (when the double-precision bar hides whether rtol is met) if that is
# modelled to take at most EXACT_SECONDS or this share of the solve's own time: the noisy d = 1, N = 4e5, K = 2^19
# row (730 s) models 2.4 s there: its double-precision bar read 1.4e-6 as a bound, the extended sums 8.9e-10.
_CERTIFY_SHARE = 0.05


def estimate_costs(N, M, dim=1, m=1):
    """Estimated seconds and peak bytes of each solve method for N points, M modes in d dimensions, m columns.

    Returns
    -------
    dict
        ``{method: (seconds, bytes)}`` for "qr", "cholesky" and "iterative".
    """
    point = _NUFFT_POINT_SECONDS.get(dim, _NUFFT_POINT_SECONDS[3] * 5.0 ** (dim - 3))
    fft = _FFT_MODE_SECONDS * M * max(np.log2(max(M, 2)), 1.0) * 2**dim
    nufft = N * point * m + fft * m
    qr = (2.0 * N * N * M + 4.0 * N * M * m) / _QR_FLOP_RATE + 3 * nufft
    pair = _KERNEL_PAIR_SECONDS.get(dim, _KERNEL_PAIR_SECONDS[3] * 5.0 ** (dim - 3))
    chol = 0.5 * N * N * pair + fft + N**3 / 3.0 / _FLOP_RATE + 8 * nufft
    nb = NEIGHBOURS + 1
    setup = N * nb * nb * point + N * nb**3 / _FLOP_RATE * 10
    iterative = setup + _CG_ITERATIONS.get(dim, 300) * 2 * nufft
    return {"qr": (qr, qr_memory(N, M)), "cholesky": (chol, cholesky_memory(N)),
            "iterative": (iterative, iterative_memory(N, M, m, dim))}


def choose_method(N, M, dim=1, m=1):
    """The method "auto" runs first for N points, M modes, d = `dim`, m right-hand sides.

    QR when it is cheap or at most :data:`_QR_PREMIUM` times dearer than the fastest other path (it never squares
    the condition number); otherwise the Cholesky path, unless its N x N matrix does not fit in memory or the
    matrix-free iterative path is estimated :data:`_ITERATIVE_ADVANTAGE` times faster (see :func:`estimate_costs`).
    """
    costs = estimate_costs(N, M, dim, m)
    budget = _MEMORY_SHARE * available_memory()
    chol_fits = costs["cholesky"][1] < budget
    iter_fits = costs["iterative"][1] < budget
    fastest = min(costs["cholesky"][0] if chol_fits else np.inf,
                  _ITERATIVE_ADVANTAGE * costs["iterative"][0] if iter_fits else np.inf)
    cheap = 2.0 * N * N * M <= _QR_ALWAYS_FLOPS or costs["qr"][0] <= _QR_PREMIUM * fastest
    if cheap and costs["qr"][1] < budget:
        return "qr"
    if chol_fits and not (iter_fits and _ITERATIVE_ADVANTAGE * costs["iterative"][0] < costs["cholesky"][0]):
        return "cholesky"
    if iter_fits or not chol_fits:
        return "iterative"
    return "cholesky"  # pragma: no cover - iterative never needs more memory than cholesky


def _fallbacks(first, N, M, dim, m):
    """Stabler methods to try, in order, when `first` misses rtol: those whose memory estimate fits."""
    costs = estimate_costs(N, M, dim, m)
    budget = _MEMORY_SHARE * available_memory()
    later = {"cholesky": ["qr"], "iterative": ["cholesky", "qr"], "qr": [], "svd": []}[first]
    return [name for name in later if costs[name][1] < budget]


_RUNNERS = {"qr": solve_qr, "svd": solve_svd, "cholesky": solve_cholesky, "iterative": solve_iterative}
# Runners that take the target residual (they stop refining or iterating once they reach it).
_TAKES_RTOL = ("cholesky", "iterative")
# Dense runs with at most this many flops (N^2 M for QR/SVD, N^3 for Cholesky) use one BLAS thread (single_threaded).
# Measured on the 2-core machine under load (load average ~2.5), best of 5: QR of 513 x 120 13.3 ms threaded against
# 2.1 ms on one thread, of 2001 x 400 1370 ms against 190 ms; Cholesky of N = 600 7.8 ms against 5.6 ms; above
# ~1e9 flops threads pay (Cholesky of N = 1200: 26 ms against 40 ms; QR of 4001 x 800 equal).
_SINGLE_THREAD_WORK = 1e9


def _dense_work(name, problem):
    """Flops of the dense factorisation of runner `name`; 0 for the matrix-free iterative runner, whose BLAS calls are
    all passes over ``N x k`` arrays (``k`` <= 27, the two-level correction, the free basis): memory-bound, where a
    second thread only waits (measured under load, N = 1e5, k = 17: ``V^T r`` 5.7 ms on two threads against 0.26 ms
    on one; the noisy d = 1, N = 1e5 Scale row 21.2 / 15.5 s against 11.5 / 9.4 s, alternating in one process)."""
    N, M = problem.N, problem.M
    return {"qr": N * N * M, "svd": N * N * M, "cholesky": N ** 3}.get(name, 0)


def _normalise(problem):
    """The problem with its right-hand sides scaled by a power of two to max |r| in [1/2, 1), and the exponent.

    The scaling is exact, so the relative residual is unchanged, and no solver sees data near under- or overflow.
    """
    exponent = scale_exponent(problem.rhs)
    if exponent == 0:
        return problem, 0
    return dataclasses.replace(problem, rhs=np.ldexp(problem.rhs, -exponent)), exponent


def _verified_residual(sol, problem, rtol=0.0, spent=0.0):
    """The relative residual of a solution at the points themselves, certified, and its kind ("exact" / "bound").

    Runners measure at the rounded angles with the tolerance of the solve; this measurement forms every phase
    exactly and bounds every rounding (:func:`fpnorm.solvers.certify.certified_residual`), so the reported residual
    is never below the true one and the escalation decisions rest on it. `spent`: the solve's own seconds.
    """
    if not np.isfinite(sol.coef).all():
        return np.nan, "bound"
    if sol.certified is not None:
        # the runner measured this very solution with a proven bound (the 1-d iterative solve's remainder); within
        # EXACT_SHARE it is the residual, and measuring again would cost about as much (noisy 1-d N = 1e5: 0.6 s)
        upper, kind, _ = interval_kind(*sol.certified)
        if kind == RESIDUAL_KINDS[0]:
            return upper, kind
    # double-precision sums first; extended precision when their bar hides whether rtol is met, within EXACT_WORK or
    # a share of the solve's own time, and always after a dense O(N^2 M) factorisation (it costs far less)
    affordable = sol.info.method in ("qr", "svd") or extended_affordable(
        problem.N, problem.K, problem.dim, sol.coef.size // problem.M, real=True,
        seconds=_CERTIFY_SHARE * spent)
    try:
        residual, kind, _ = certified_residual(sol.coef, problem, enough=rtol, affordable=affordable)
    except MemoryEstimateError:   # the extended sums do not fit: the double-precision bound stands
        residual, kind, _ = certified_residual(sol.coef, problem, enough=rtol, affordable=False)
    return residual, kind


def residual_warning(info, rtol, *, stacklevel):
    """Warn (:class:`~fpnorm.exceptions.AccuracyWarning`) when the residual exceeds `rtol`, with the numbers."""
    if not info.residual <= rtol:
        warnings.warn(f"Interpolation residual {info.residual:.2e} ({info.residual_kind}) exceeds rtol = {rtol:.0e} "
                      f"(method {info.method}, condition ~ {info.condition:.1e}).", AccuracyWarning,
                      stacklevel=stacklevel + 1)


def sensitivity_warning(info, rtol, *, stacklevel):
    """Warn (:class:`~fpnorm.exceptions.AccuracyWarning`) when the rounding of the points themselves moves the
    interpolant at them by more than `rtol` (``info.sensitivity``)."""
    if info.sensitivity > rtol:
        warnings.warn(f"Rounding the points themselves (relative machine epsilon {np.finfo(float).eps:.1e}) can "
                      f"move the interpolant at them by {info.sensitivity:.2e} relative to max|y| (info.sensitivity: "
                      f"max |h'| eps max|x|), more than rtol = {rtol:.0e}: the float points do not determine it "
                      f"to that accuracy (residual {info.residual:.2e}, {info.residual_kind}). Nearly coincident "
                      f"points with different values make the interpolant this large: merge them or smooth.",
                      AccuracyWarning, stacklevel=stacklevel + 1)


def _badness(sol):
    """The residual of a solution, with NaN (and a non-finite coefficient) counted as infinitely bad."""
    res = sol.info.residual
    return np.inf if np.isnan(res) or not np.isfinite(sol.coef).all() else res


def solve(problem, *, method="auto", rtol=1e-10):
    """Solve `problem` with `method`, escalating and checking the residual.

    Parameters
    ----------
    problem : Problem
    method : str
        One of :data:`METHODS`.
    rtol : float
        Target relative residual ``max|h(x_n) - y_n| / max|y_n|``.

    Returns
    -------
    Solution
        ``info.attempts`` lists every method left on the way and why.

    Warns
    -----
    AccuracyWarning
        When the best residual exceeds `rtol` but the result is still an approximate interpolant.

    Raises
    ------
    SolveError
        When no method reaches a residual of ``UNUSABLE_RESIDUAL``.
    """
    if method != "auto" and method not in _RUNNERS:
        raise ValueError(f"Expected `method` to be one of {('auto',) + tuple(_RUNNERS)} for a truncated (integer K) "
                         f"solve, got {method!r}.")
    start = time.perf_counter()
    problem, exponent = _normalise(problem)
    shape = (problem.N, problem.M, problem.dim, problem.rhs.shape[1])
    order = [choose_method(*shape)] if method == "auto" else [method]
    if method == "auto" or method == "cholesky":
        order += _fallbacks(order[0], *shape)  # stabler paths when the first misses rtol
    attempts, best = [], None
    for name in order:
        try:
            # small_pages: numpy asks for no huge pages for the runner's arrays (fpnorm._internal.pages)
            with single_threaded(_dense_work(name, problem) <= _SINGLE_THREAD_WORK), small_pages():
                begin = time.perf_counter()
                sol = _RUNNERS[name](problem, **({"rtol": rtol} if name in _TAKES_RTOL else {}))
                sol.info.residual, sol.info.residual_kind = _verified_residual(sol, problem, rtol,
                                                                               time.perf_counter() - begin)
        except MemoryEstimateError as exc:
            if len(order) == 1 or name == order[-1] and best is None:
                raise
            attempts.append(f"{name}: {exc}")
            continue
        except np.linalg.LinAlgError as exc:
            attempts.append(f"{name}: factorisation failed ({exc}); the kernel matrix is numerically singular")
            continue
        attempts.extend(sol.info.attempts)
        if best is None or _badness(sol) < _badness(best):  # a NaN residual loses to any number
            best = sol
        if sol.info.residual <= rtol:
            break
        attempts.append(f"{name}: residual {sol.info.residual:.2e} > rtol {rtol:.0e} "
                        f"(condition ~ {sol.info.condition:.1e})")
    if best is None:
        raise SolveError("No solve method produced an answer: " + "; ".join(attempts), method=order[-1])
    best.info.attempts = attempts
    info = best.info
    info.sensitivity = sensitivity(best.coef, problem) if np.isfinite(best.coef).all() else np.inf
    info.seconds = time.perf_counter() - start
    if exponent:  # undo the power-of-two scaling exactly (in two steps: 2**1024 itself overflows)
        half = exponent // 2
        with np.errstate(over="ignore", invalid="ignore"):
            best.coef = best.coef * np.ldexp(1.0, half) * np.ldexp(1.0, exponent - half)
            if best.alpha is not None:
                best.alpha = best.alpha * np.ldexp(1.0, half) * np.ldexp(1.0, exponent - half)
        if not np.isfinite(best.coef).all():
            raise SolveError(f"The interpolant's coefficients overflow the float range (data of size ~2^{exponent}); "
                             f"scale `values` down.", residual=info.residual, condition=info.condition,
                             method=info.method)
    if not info.residual <= UNUSABLE_RESIDUAL:
        raise SolveError(f"The best solve ({info.method}) misses the data by a relative {info.residual:.2e} "
                         f"(condition ~ {info.condition:.1e}); no usable interpolant. Points may be too close for "
                         f"this K and weight: merge near-duplicates, lower K, or use a rougher weight.",
                         residual=info.residual, condition=info.condition, method=info.method)
    residual_warning(info, rtol, stacklevel=3)
    sensitivity_warning(info, rtol, stacklevel=3)
    return best
