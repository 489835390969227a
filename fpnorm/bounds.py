"""The a-priori generalization bound of the frequency-principle theory, and the FP-norm of a target.

Theorem (Zhang, Xu, Luo, Ma 2019, eq. (18)). Let ``f`` be a function on the torus ``T = [0, P)^d`` with
``||f - h_ini||_gamma < inf`` and ``||gamma||_l2 < inf``. Draw ``x_1..x_M`` independently from the uniform law on
``T``, observe ``y_i = f(x_i)`` exactly (no noise), and let ``h_M`` be the minimiser of ``||h - h_ini||_gamma``
subject to ``h(x_i) = y_i`` over all of ``Z^d`` (``K = inf``). Then with probability at least ``1 - delta`` over the
draw of the points,

    L(h_M) = E_{x ~ U(T)} |h_M(x) - f(x)|  <=  ||f - h_ini||_gamma ||gamma||_l2 (2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M)).

Assumptions to quote with a number from this module: absolute loss; uniform sampling on the torus (not on a cube
with non-periodic targets); noiseless labels; the exact minimiser over the full lattice (an ``FPInterpolator`` with a
finite ``K`` approximates it; with ``K`` at least the band of a band-limited ``f`` its norm is no larger than
``||f - h_ini||_gamma``). The proof bounds ``|h(x)| <= ||h||_gamma ||gamma||_l2`` by Cauchy-Schwarz, so an unpenalised
mode (``gamma = inf``, e.g. ``zero=None``) or ``p <= d`` makes the bound vacuous (``math.inf``); we report that instead
of fudging ``gamma(0)`` to a finite value.
"""

import dataclasses
import math
import numbers
import warnings

import numpy as np

from . import transforms
from ._internal.checks import as_coefficients, check_int, check_period, check_real, evaluate_function
from ._internal.memory import check_memory
from .lattice import resize_box, torus_grid
from .lattice_sums import gamma_l2_info
from .weights import check_weight

__all__ = ["fp_norm", "FPNorm", "generalization_bound", "BoundResult", "bound_curve", "sample_complexity",
           "bound_factor"]

# fp_norm on a grid: the first box half-width and the default budget of grid points.
_K_START = 8
_MAX_GRID_POINTS = 2**22


# -- ||f - h_ini||_gamma ------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FPNorm:
    """``||f - h_ini||_gamma`` with its convergence record (``fp_norm(..., full=True)``).

    Attributes
    ----------
    value : float
        The norm (free modes, ``gamma = inf``, cost nothing).
    converged : bool
        False when grid refinement stopped at the budget before reaching ``rtol``.
    K : int
        Half-width of the last box (grid of ``(2K+1)^d`` points).
    change : float
        Relative change of the value over the last refinement (0 for coefficient arrays).
    """

    value: float
    converged: bool
    K: int
    change: float


def _weighted_norm(c, weight):
    K = (c.shape[0] - 1) // 2
    g = weight.box(K)
    inv = np.where(np.isinf(g), 0.0, 1.0 / np.where(np.isinf(g), 1.0, g))
    a = np.abs(c)
    scale = float(np.max(a, initial=0.0))  # scaled so tiny or huge coefficients neither underflow nor overflow
    if scale == 0.0:
        return 0.0
    return scale * float(np.sqrt(np.sum(inv * (a / scale) ** 2)))


def fp_norm(f, weight, h_ini=None, *, period=1.0, rtol=1e-10, max_points=_MAX_GRID_POINTS, full=False):
    """The FP-norm ``||f - h_ini||_gamma = (sum_k gamma(k)^-2 |(f - h_ini)^(k)|^2)^(1/2)``.

    Parameters
    ----------
    f : callable or array_like
        A function on the torus (``(Q, d)``, or ``(Q,)`` in 1-d, -> ``(Q,)``) or complex Fourier coefficients of
        shape ``(2K+1,)*d`` (index ``j`` means ``k = j - K``).
    weight : Weight
        The frequency weight; a function of the integer ``k`` (the period does not enter it).
    h_ini : callable or array_like, optional
        The initial function, same forms as `f`.
    period : float
        Period ``P`` of the torus; callables are sampled at ``x_j = P j / n``.
    rtol : float
        Grid refinement stops when the value changes by at most ``rtol`` (relative) from one grid to the next.
    max_points : int
        Budget of grid points ``(2K+1)^d``; refinement that has not converged within it warns.
    full : bool
        Return an :class:`FPNorm` record instead of the float.

    Returns
    -------
    float
        The norm. Modes with ``gamma = inf`` are ignored (free), exactly as in ``FPInterpolator.norm``.

    Warns
    -----
    UserWarning
        When refinement stops at `max_points` without converging (e.g. a rough target whose norm diverges).

    Notes
    -----
    Coefficient arrays are exact. A callable is sampled on grids of ``n = 2K+1`` points per axis with ``K = 8, 17,
    35, ...``; the FFT gives the aliased coefficients ``sum_m f^(k + n m)``, exact for trigonometric polynomials of
    band ``<= K`` (so the value is exact to rounding for band-limited ``f`` and ``h_ini``), and converging to the
    true coefficients for smooth ``f``. Grid coefficients below the FFT's rounding level
    (``4 eps log2(n^d) max|f - h_ini|``) are set to zero, so rounding noise is not amplified by ``gamma(k)^-2`` at
    high ``k``; coefficients that small are not resolved by the samples anyway.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import PowerLaw, fp_norm
    >>> # sin(2 pi x) has coefficients -+i/2 at k = +-1: the norm is sqrt(2 (2 pi)^4 / 4) = 2 pi^2 sqrt(2)
    >>> v = fp_norm(lambda x: np.sin(2 * np.pi * x), PowerLaw(p=4, dim=1))
    >>> bool(np.isclose(v, 2 * np.pi**2 * np.sqrt(2)))
    True
    """
    weight = check_weight(weight)
    d = weight.dim
    period = check_period(period)
    rtol = check_real(rtol, "rtol", minimum=0.0, strict_min=True)
    max_points = check_int(max_points, "max_points", minimum=1)
    arrays, funcs = [], []
    for name, item, sign in (("f", f, 1.0), ("h_ini", h_ini, -1.0)):
        if item is None and name == "h_ini":
            continue
        if callable(item):
            funcs.append((name, item, sign))
        else:
            arrays.append(sign * as_coefficients(item, d, name))
    K_arr = max([(a.shape[0] - 1) // 2 for a in arrays], default=0)
    exact = sum((resize_box(a, K_arr) for a in arrays), np.zeros((2 * K_arr + 1,) * d, dtype=complex))
    if not funcs:
        out = FPNorm(_weighted_norm(exact, weight), True, K_arr, 0.0)
        return out if full else out.value
    K = max(_K_START, K_arr)
    prev, change, value, converged = None, math.inf, math.nan, False
    while True:
        n = 2 * K + 1
        check_memory(n**d * 16 * 4, f"the grid of {n}^{d} points for fp_norm",
                     "Lower `max_points` or pass coefficients.")
        x = torus_grid(n, d, period)
        vals = sum(sign * evaluate_function(fn, x, name, x.shape[0], d) for name, fn, sign in funcs)
        vals = np.asarray(vals)
        c = transforms.grid_coefficients(vals.reshape((n,) * d))
        # FFT rounding leaves ~eps log2(n) max|f| in every mode; gamma^-2 would amplify it at high k.
        noise = 4.0 * np.finfo(float).eps * math.log2(vals.size + 1) * float(np.max(np.abs(vals), initial=0.0))
        c[np.abs(c) <= noise] = 0.0
        c += resize_box(exact, K)
        value = _weighted_norm(c, weight)
        if prev is not None:
            change = abs(value - prev) / max(value, np.finfo(float).tiny)
            if abs(value - prev) <= rtol * value or value == prev:
                converged = True
                break
        prev = value
        K_next = 2 * K + 1
        if (2 * K_next + 1) ** d > max_points:
            break
        K = K_next
    if not converged:
        warnings.warn(f"fp_norm did not converge: the value changed by a relative {change:.2e} (> rtol = {rtol:g}) "
                      f"on the last refinement, at a grid of {2 * K + 1}^{d} points (max_points = {max_points}); "
                      f"returning {value:.6g}. A rough target may have an infinite norm for this weight.",
                      UserWarning, stacklevel=2)
    out = FPNorm(value, converged, K, change)
    return out if full else out.value


# -- the bound ----------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BoundResult:
    """The a-priori bound and its parts (see the module docstring for the theorem and its assumptions).

    Attributes
    ----------
    value : float
        ``complexity_term + confidence_term``; ``math.inf`` when vacuous.
    f_norm : float
        ``||f - h_ini||_gamma``.
    gamma_l2 : float
        ``||gamma||_l2``.
    complexity_term : float
        ``f_norm * gamma_l2 * 2 / sqrt(M)`` (the Rademacher-complexity part).
    confidence_term : float
        ``f_norm * gamma_l2 * 4 sqrt(2 ln(4/delta) / M)``.
    M : int
        Number of samples.
    delta : float
        The bound holds with probability at least ``1 - delta``.
    vacuous : bool
        True when the value is infinite.
    reason : str or None
        Why it is vacuous.
    gamma_l2_error : float or None
        Certified error bound of ``gamma_l2`` when computed here.
    f_norm_converged : bool or None
        Whether the grid refinement of ``f_norm`` converged when computed here.
    """

    value: float
    f_norm: float
    gamma_l2: float
    complexity_term: float
    confidence_term: float
    M: int
    delta: float
    vacuous: bool = False
    reason: str | None = None
    gamma_l2_error: float | None = None
    f_norm_converged: bool | None = None

    def to_dict(self):
        """A JSON-safe dict: infinite values become None (``vacuous`` and ``reason`` say why)."""
        out = dataclasses.asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def _check_norm_value(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Expected `{name}` to be a real number, got {type(value).__name__} {value!r}.")
    value = float(value)
    if math.isnan(value) or value < 0:
        raise ValueError(f"Expected `{name}` >= 0 (inf allowed), got {value}.")
    return value


def _check_delta(delta):
    return check_real(delta, "delta", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True)


def _resolve(f_norm, gamma_l2, weight, f, h_ini, period):
    """(f_norm, gamma_l2, reason, gamma_l2_error, f_norm_converged) from what the caller gave."""
    reason, g_err, converged = None, None, None
    if gamma_l2 is None:
        if weight is None:
            raise ValueError("Expected `gamma_l2` or `weight` to be given, got neither.")
        info = gamma_l2_info(weight)
        gamma_l2, reason, g_err = info.value, info.reason, info.error_bound
    else:
        gamma_l2 = _check_norm_value(gamma_l2, "gamma_l2")
        if math.isinf(gamma_l2):
            reason = "||gamma||_l2 = inf"
    if f_norm is None:
        if f is None or weight is None:
            raise ValueError("Expected `f_norm`, or both `f` and `weight`, to be given.")
        rec = fp_norm(f, weight, h_ini, period=period, full=True)
        f_norm, converged = rec.value, rec.converged
    else:
        if f is not None:
            raise ValueError("Expected either `f_norm` or `f`, not both.")
        if h_ini is not None:
            raise ValueError("Expected `h_ini` only with `f` (it enters ||f - h_ini||_gamma), got it with `f_norm`.")
        f_norm = _check_norm_value(f_norm, "f_norm")
    if math.isinf(f_norm):
        reason = "; ".join(filter(None, [reason, "||f - h_ini||_gamma = inf"]))
    return f_norm, gamma_l2, reason, g_err, converged


def bound_factor(M, delta):
    """``2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M)`` (array-valued in `M`): the bound divided by
    ``||f - h_ini||_gamma ||gamma||_l2``."""
    M = np.asarray(M, dtype=float)
    return 2.0 / np.sqrt(M) + 4.0 * np.sqrt(2.0 * math.log(4.0 / delta) / M)


def generalization_bound(M, delta, *, f_norm=None, gamma_l2=None, weight=None, f=None, h_ini=None, period=1.0):
    """The a-priori bound on the population risk ``L(h_M) = E_x |h_M(x) - f(x)|`` of the minimum FP-norm
    interpolant of ``M`` uniform samples, holding with probability at least ``1 - delta``.

    Parameters
    ----------
    M : int
        Number of samples, ``M >= 1``.
    delta : float
        Failure probability, ``0 < delta < 1``.
    f_norm : float, optional
        ``||f - h_ini||_gamma`` (``inf`` allowed); otherwise computed by :func:`fp_norm` from `f` and `weight`.
    gamma_l2 : float, optional
        ``||gamma||_l2`` (``inf`` allowed); otherwise computed by :func:`~fpnorm.gamma_l2_norm` from `weight`.
    weight : Weight, optional
    f, h_ini : callable or array_like, optional
        The target and the initial function (see :func:`fp_norm`).
    period : float
        Period of the torus, used when sampling `f` and `h_ini`.

    Returns
    -------
    BoundResult

    Notes
    -----
    ``L(h_M) <= ||f - h_ini||_gamma ||gamma||_l2 (2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M))`` (Zhang, Xu, Luo, Ma 2019):
    absolute loss, uniform law on the torus, noiseless labels, exact minimiser over ``Z^d``. An infinite factor makes
    the bound vacuous (``value = inf``, ``vacuous = True``, ``reason`` says which factor), even if the other is 0.

    Examples
    --------
    >>> from fpnorm import generalization_bound
    >>> r = generalization_bound(100, 0.05, f_norm=2.0, gamma_l2=1.5)
    >>> round(r.value, 6), round(r.complexity_term, 6)
    (4.152497, 0.6)
    """
    M = check_int(M, "M", minimum=1)
    delta = _check_delta(delta)
    period = check_period(period)
    f_norm, gamma_l2, reason, g_err, converged = _resolve(f_norm, gamma_l2, weight, f, h_ini, period)
    vacuous = math.isinf(f_norm) or math.isinf(gamma_l2)
    if vacuous:
        comp = conf = value = math.inf
        reason = reason if "vacuous" in reason else reason + ": the bound is vacuous"
    else:
        C = f_norm * gamma_l2
        comp = C * 2.0 / math.sqrt(M)
        conf = C * 4.0 * math.sqrt(2.0 * math.log(4.0 / delta) / M)
        value = comp + conf
    return BoundResult(value, f_norm, gamma_l2, comp, conf, M, delta, vacuous, reason, g_err, converged)


def bound_curve(M, delta, *, f_norm=None, gamma_l2=None, weight=None, f=None, h_ini=None, period=1.0):
    """The bound as a function of ``M``: an array of sample sizes in, an array of bound values out.

    Parameters
    ----------
    M : array_like of numbers >= 1
    delta, f_norm, gamma_l2, weight, f, h_ini, period
        As in :func:`generalization_bound`; the norms are computed once.

    Returns
    -------
    ndarray of float, shape of `M`
        ``inf`` everywhere when the bound is vacuous.

    Examples
    --------
    >>> from fpnorm.bounds import bound_curve
    >>> bound_curve([100, 400], 0.05, f_norm=2.0, gamma_l2=1.5).round(6).tolist()
    [4.152497, 2.076249]
    """
    arr = np.asarray(M)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"Expected `M` to be an array of numbers, got dtype {arr.dtype}.")
    arr = arr.astype(float)
    if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 1):
        raise ValueError(f"Expected every `M` >= 1 and finite, got min {arr.min()}.")
    delta = _check_delta(delta)
    f_norm, gamma_l2, _, _, _ = _resolve(f_norm, gamma_l2, weight, f, h_ini, check_period(period))
    if math.isinf(f_norm) or math.isinf(gamma_l2):
        return np.full(arr.shape, math.inf)
    return f_norm * gamma_l2 * bound_factor(arr, delta)


def sample_complexity(epsilon, delta, *, f_norm=None, gamma_l2=None, weight=None, f=None, h_ini=None, period=1.0):
    """The smallest ``M`` for which the bound is at most `epsilon` at confidence ``1 - delta``.

    Parameters
    ----------
    epsilon : float
        Target risk, ``> 0``.
    delta, f_norm, gamma_l2, weight, f, h_ini, period
        As in :func:`generalization_bound`.

    Returns
    -------
    int or float
        ``ceil((C (2 + 4 sqrt(2 ln(4/delta))) / epsilon)^2)`` with ``C = ||f - h_ini||_gamma ||gamma||_l2``, checked
        against the bound itself; ``math.inf`` when the bound is vacuous or the answer exceeds about ``2^62``; 1 when
        ``C = 0``.

    Examples
    --------
    >>> from fpnorm.bounds import sample_complexity
    >>> sample_complexity(0.1, 0.05, f_norm=1.0, gamma_l2=1.0)
    19160
    """
    epsilon = check_real(epsilon, "epsilon", minimum=0.0, strict_min=True)
    delta = _check_delta(delta)
    f_norm, gamma_l2, _, _, _ = _resolve(f_norm, gamma_l2, weight, f, h_ini, check_period(period))
    if math.isinf(f_norm) or math.isinf(gamma_l2):
        return math.inf
    C = f_norm * gamma_l2
    if C == 0:
        return 1
    ratio = C * float(bound_factor(1, delta)) / epsilon
    if not ratio < 2.0**31:  # M ~ ratio^2 beyond 2^62 samples (or overflow): report it as inf
        return math.inf
    M = max(1, math.ceil(ratio**2))
    while M > 1 and C * float(bound_factor(M - 1, delta)) <= epsilon:
        M -= 1
    while C * float(bound_factor(M, delta)) > epsilon:
        M += 1
    return M
