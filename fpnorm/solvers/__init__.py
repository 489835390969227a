"""Solve paths for the minimum-norm interpolation problem, and the one place that chooses between them.

Every path takes a validated :class:`Problem` and returns a :class:`Solution` (complex box coefficients and a
:class:`SolveInfo`). :func:`solve` picks a path from a cost estimate, checks the residual against the exact forward
map, escalates to the stabler QR path when accuracy is lost, and warns or raises with the measured numbers.
"""

import time
import warnings

import numpy as np

from .._memory import available_memory
from ..exceptions import AccuracyWarning, MemoryEstimateError, SolveError
from ._common import Problem, Solution, SolveInfo
from .dense import cholesky_memory, solve_cholesky
from .qr import qr_memory, solve_qr, solve_svd

__all__ = ["METHODS", "Problem", "Solution", "SolveInfo", "solve", "choose_method"]

# Methods a user may ask for; "auto" chooses (see choose_method). "periodic1d" and "exact_kernel" solve the
# K = infinity problem (K=None) in 1-d, see :mod:`fpnorm.solvers.periodic1d`; the others need an integer K.
METHODS = ("auto", "qr", "svd", "cholesky", "periodic1d", "exact_kernel")

# A result whose relative residual exceeds this is no interpolant at all: raise instead of warning.
UNUSABLE_RESIDUAL = 1e-4
# QR is always chosen below this many flops (it is then fast, and it is the stablest path).
_QR_ALWAYS_FLOPS = 5e8


def choose_method(N, M):
    """The method "auto" runs first for N points and M modes: QR when it is cheap or no dearer than a Cholesky of
    the kernel matrix (it never squares the condition number), Cholesky otherwise."""
    qr_flops = 2.0 * N * N * M
    if qr_flops <= max(_QR_ALWAYS_FLOPS, 2.0 * N**3) and qr_memory(N, M) < 0.5 * available_memory():
        return "qr"
    return "cholesky"


_RUNNERS = {"qr": solve_qr, "svd": solve_svd, "cholesky": solve_cholesky}


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
    order = [choose_method(problem.N, problem.M)] if method == "auto" else [method]
    if method in ("auto", "cholesky") and order[0] == "cholesky":
        order.append("qr")  # the stable fallback
    attempts, best = [], None
    for name in order:
        try:
            sol = _RUNNERS[name](problem)
        except MemoryEstimateError as exc:
            if len(order) == 1 or name == order[-1] and best is None:
                raise
            attempts.append(f"{name}: {exc}")
            continue
        except np.linalg.LinAlgError as exc:
            attempts.append(f"{name}: factorisation failed ({exc}); the kernel matrix is numerically singular")
            continue
        attempts.extend(sol.info.attempts)
        if best is None or sol.info.residual < best.info.residual:
            best = sol
        if sol.info.residual <= rtol:
            break
        attempts.append(f"{name}: residual {sol.info.residual:.2e} > rtol {rtol:.0e} "
                        f"(condition ~ {sol.info.condition:.1e})")
    if best is None:
        raise SolveError("No solve method produced an answer: " + "; ".join(attempts), method=order[-1])
    best.info.attempts = attempts
    best.info.seconds = time.perf_counter() - start
    info = best.info
    if not info.residual <= UNUSABLE_RESIDUAL:
        raise SolveError(f"The best solve ({info.method}) misses the data by a relative {info.residual:.2e} "
                         f"(condition ~ {info.condition:.1e}); no usable interpolant. Points may be too close for "
                         f"this K and weight: merge near-duplicates, lower K, or use a rougher weight.",
                         residual=info.residual, condition=info.condition, method=info.method)
    if info.residual > rtol:
        warnings.warn(f"Interpolation residual {info.residual:.2e} exceeds rtol = {rtol:.0e} "
                      f"(method {info.method}, condition ~ {info.condition:.1e}).", AccuracyWarning, stacklevel=3)
    return best
