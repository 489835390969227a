"""The FP-norm of a target, ``||f - h_ini||_gamma``: exact, certified, extrapolated with an error bound, or infinite.

:func:`fp_norm` reads its input in one of three ways:

- coefficient arrays are exact;
- targets that know their coefficients (:class:`fpnorm.targets.Target`) give an exact partial sum on a box and a
  rigorous bracket of the rest (:meth:`~fpnorm.targets.Target.tail_bound`), or prove that the norm is infinite;
- other callables are sampled on grids of ``n = 2K+1`` points per axis, ``K = 8, 17, 35, ...``. Two grids that
  agree and show no content beyond the coarser one's band mean a trigonometric polynomial: exact. Otherwise the
  decay of the weighted energy over the shells ``|k|_inf = j`` is fitted (:mod:`fpnorm.decay`), which decides
  divergence and gives the tail beyond the resolved shells with an error bound.

The result's ``status`` is one of :data:`FPNORM_STATUSES`.
"""

import dataclasses
import math
import warnings

import numpy as np

from . import transforms
from ._internal.checks import as_coefficients, check_int, check_period, check_real, evaluate_function
from ._internal.floatrange import SAFE_EXPONENT, product
from ._internal.memory import check_memory
from .decay import FPNORM_STATUSES, fit_shell_decay
from .exceptions import UnresolvedNormWarning
from .lattice import resize_box, torus_grid
from .solvers.problem import scale_exponent
from .targets import Target
from .weights import check_weight

__all__ = ["fp_norm", "FPNorm", "FPNORM_STATUSES"]

# fp_norm on a grid: the first box half-width and the default budget of grid points (and of a target's box).
_K_START = 8
_MAX_GRID_POINTS = 2**22
_EPS = np.finfo(float).eps
# An extrapolated value whose error bound exceeds this fraction of it is reported as unresolved.
_MAX_RELATIVE_ERROR = 0.1
# Samples show a trigonometric polynomial only when its outermost shell stands this far above the rounding level nu:
# a spectrum that fades into the rounding (k^-4 reaches nu near k = 2000) is not cut off, and is fitted instead.
_SHARP = 1e3


@dataclasses.dataclass(frozen=True)
class FPNorm:
    """``||f - h_ini||_gamma`` with what is known about it (``fp_norm(..., full=True)``).

    Attributes
    ----------
    value : float
        The norm; ``math.inf`` when ``status == "divergent"``. Free modes (``gamma = inf``) cost nothing.
    error_bound : float
        A bound on ``|value - true|``: rounding only for ``"exact"``; rigorous for ``"converged"`` targets; an
        estimate from the fitted decay for sampled callables; 0 for ``"divergent"`` (``reason`` gives the evidence);
        ``math.inf`` for ``"unresolved"``.
    status : str
        One of :data:`FPNORM_STATUSES`: ``"exact"`` (coefficient arrays, band-limited targets and callables whose
        samples show a trigonometric polynomial), ``"converged"`` (the tail beyond the box or the resolved shells is
        certified, or estimated below ``rtol``), ``"extrapolated"`` (the value includes a fitted tail, and
        ``error_bound`` says how well it is known), ``"divergent"`` (the norm is infinite) or ``"unresolved"`` (the
        samples do not decide; ``value`` is the partial sum over the resolved shells).
    K : int
        Half-width of the last box: the grid (``2K+1`` points per axis) for sampled callables, the partial sum's box
        otherwise.
    reason : str or None
        For ``"divergent"`` and ``"unresolved"``: why, with the numbers.
    """

    value: float
    error_bound: float
    status: str
    K: int
    reason: str | None = None

    def __post_init__(self):
        """The fields agree: a record built by hand or loaded from a file cannot pass off an infinite norm as finite."""
        if self.status not in FPNORM_STATUSES:
            raise ValueError(f"Expected FPNorm `status` to be one of {FPNORM_STATUSES}, got {self.status!r}.")
        unknown = self.status == "unresolved" and math.isnan(self.value)
        if not unknown and (not (self.value >= 0) or math.isinf(self.value) != (self.status == "divergent")):
            raise ValueError(f"Expected FPNorm `value` >= 0 (nan only when 'unresolved'), infinite exactly when "
                             f"`status` is 'divergent', got value {self.value!r} with status {self.status!r}.")
        if not (self.error_bound >= 0):
            raise ValueError(f"Expected FPNorm `error_bound` >= 0, got {self.error_bound!r}.")

    @property
    def finite(self):
        """Whether the norm is finite (every status but ``"divergent"``)."""
        return self.status != "divergent"


def _penalty(weight, K):
    """``gamma(k)^-2`` on the box, 0 on free modes."""
    g = weight.box(K)
    free = np.isinf(g)
    return np.where(free, 0.0, 1.0 / np.where(free, 1.0, g))


def _weighted_sum(c, w):
    """``sum w |c|^2`` of coefficients already scaled to at most 1 (see :func:`_scale`)."""
    return float(np.sum(w * np.abs(c) ** 2))


def _scale(c):
    """The largest modulus of `c` (1 when all are 0): coefficients are divided by it (:func:`_divide`), so that tiny
    or huge functions neither underflow nor overflow when squared, and the norm multiplied back."""
    top = float(np.max(np.abs(c), initial=0.0))
    return top if top > 0 else 1.0


def _divide(c, scale):
    """``c / scale`` for complex `c`, part by part: numpy's complex division squares a subnormal `scale` to 0."""
    out = np.array(c, dtype=complex)
    out.view(float)[...] /= scale
    return out


def _rounding(n_modes):
    """Relative rounding error of a weighted sum of squares over `n_modes` modes (pairwise summation)."""
    return (math.log2(n_modes + 1) + 16) * _EPS


def _from_squares(value2, error2, rounding):
    """``(value, error_bound)`` of a square root, from ``value2 +- error2``."""
    value = math.sqrt(max(value2, 0.0))
    low = math.sqrt(max(value2 - error2, 0.0))
    return value, (value - low if math.isfinite(error2) else math.inf) + rounding * value


def _shells(K, d):
    """``|k|_inf`` on the box, flat int array."""
    m = np.abs(np.arange(-K, K + 1))
    out = m
    for _ in range(d - 1):
        out = np.maximum.outer(out, m)
    return out.ravel()


def fp_norm(f, weight, h_ini=None, *, period=1.0, rtol=1e-10, max_points=_MAX_GRID_POINTS, full=False):
    """The FP-norm ``||f - h_ini||_gamma = (sum_k gamma(k)^-2 |(f - h_ini)^(k)|^2)^(1/2)``.

    Parameters
    ----------
    f : callable or array_like
        A function on the torus (``(Q, d)``, or ``(Q,)`` in 1-d, -> ``(Q,)``), a target from
        :func:`fpnorm.targets.get_target` (its exact coefficients are used), or complex Fourier coefficients of shape
        ``(2K+1,)*d`` (index ``j`` means ``k = j - K``).
    weight : Weight
        The frequency weight; a function of the integer ``k`` (the period does not enter it).
    h_ini : callable or array_like, optional
        The initial function, same forms as `f`.
    period : float
        Period ``P`` of the torus; callables are sampled at ``x_j = P j / n``. A target is used exactly when its
        period is `period`.
    rtol : float
        Refinement stops once the error bound is at most ``rtol`` times the value; a tail below ``rtol`` times the
        value makes the status ``"converged"`` rather than ``"extrapolated"``.
    max_points : int
        Budget of grid points ``(2K+1)^d`` for sampled callables, and of the box of a target's partial sum.
    full : bool
        Return an :class:`FPNorm` record (value, error bound, status, reason) instead of the float.

    Returns
    -------
    float or FPNorm
        The norm (``math.inf`` when it diverges). Modes with ``gamma = inf`` are ignored (free), exactly as in
        ``FPInterpolator.norm``.

    Warns
    -----
    UnresolvedNormWarning
        When the status is ``"unresolved"`` (not with `full`, whose record says so): the returned value is the
        partial sum over the shells the samples resolve, and the message says what is missing.

    Notes
    -----
    Coefficient arrays are exact. A target sums its exact coefficients on boxes of growing ``K`` until its
    certified tail bracket is below rounding or the budget is reached; ``abs`` is infinite exactly when
    ``gamma^-2`` grows like ``|k|^P`` with ``P >= 3`` (e.g. ``PowerLaw(p >= 3)``, ``LFP`` with ``d >= 2``).

    A callable is sampled; the FFT on ``n`` points gives the aliased coefficients ``sum_m f^(k + n m)``. Grid
    coefficients below the FFT's rounding level ``nu = 4 eps log2(n^d) max|f - h_ini|`` are set to zero (so rounding
    noise is not amplified by ``gamma^-2``). The difference between two successive grids estimates the aliasing
    error; ``nu`` the rounding error. When two grids agree to ``2 nu`` and the finer one has nothing beyond the
    coarser one's box, ``f - h_ini`` is a trigonometric polynomial to the samples' precision: exact. Otherwise the
    weighted energy over dyadic blocks of shells is fitted by ``C j^-q`` (:func:`fpnorm.decay.fit_shell_decay`): ``q``
    near or below 1 (with the unweighted energy decaying) is divergent; above 1 the partial sum over the resolved
    shells plus the fitted tail is returned with an error bound; what the samples cannot decide is unresolved.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import PowerLaw, fp_norm, get_target
    >>> # sin(2 pi x) has coefficients -+i/2 at k = +-1: the norm is sqrt(2 (2 pi)^4 / 4) = 2 pi^2 sqrt(2)
    >>> v = fp_norm(lambda x: np.sin(2 * np.pi * x), PowerLaw(p=4, dim=1))
    >>> bool(np.isclose(v, 2 * np.pi**2 * np.sqrt(2)))
    True
    >>> r = fp_norm(get_target("abs"), PowerLaw(p=4, zero=1.0), full=True)   # |x - 1/2|: coefficients ~ k^-2
    >>> r.value, r.status
    (inf, 'divergent')
    >>> r = fp_norm(get_target("abs"), PowerLaw(p=2, zero=1.0), full=True)   # 1/16 + 1
    >>> r.status, bool(abs(r.value - (17 / 16) ** 0.5) <= r.error_bound < 1e-14)
    ('converged', True)
    """
    weight = check_weight(weight)
    d = weight.dim
    period = check_period(period)
    rtol = check_real(rtol, "rtol", minimum=0.0, strict_min=True)
    max_points = check_int(max_points, "max_points", minimum=1)
    arrays, targets, funcs = [], [], []
    for name, item, sign in (("f", f, 1.0), ("h_ini", h_ini, -1.0)):
        if item is None and name == "h_ini":
            continue
        if isinstance(item, Target) and item.dim == d and item.period == period:
            targets.append((sign, item))
        elif callable(item):
            funcs.append((name, item, sign))
        else:
            if isinstance(item, np.ndarray):  # its complex copy, the signed copy, the sum and the padded box
                check_memory(64 * item.size, f"the `{name}` coefficient array of shape {item.shape}",
                             f"Pass `{name}` on a smaller box.")
            arrays.append(sign * as_coefficients(item, d, name))
    K_arr = max([(a.shape[0] - 1) // 2 for a in arrays], default=0)
    exact = sum((resize_box(a, K_arr) for a in arrays), np.zeros((2 * K_arr + 1,) * d, dtype=complex))
    if len(targets) == 2 and targets[0][1] == targets[1][1]:
        targets = []  # f - h_ini = 0 exactly
    if not funcs and not targets:
        scale = _scale(exact)
        value = _times(scale, math.sqrt(_weighted_sum(_divide(exact, scale), _penalty(weight, K_arr))))
        out = FPNorm(value, _rounding(exact.size) * value, "exact", K_arr)
    else:
        out = None
        if not funcs:
            out = _target_norm(targets, exact, weight, max_points)
        if out is None:  # a sampled callable, or a weight whose growth no target can bound
            out = _sampled_norm(funcs, targets, exact, weight, period, rtol, max_points)
    if out.status == "unresolved" and not full:
        warnings.warn(f"fp_norm could not resolve ||f - h_ini||_gamma from the samples up to a grid of "
                      f"{2 * out.K + 1}^{d} points (max_points = {max_points}): {out.reason}. Returning "
                      f"{out.value:.6g}, the partial sum over the resolved shells; it is not a bound.",
                      UnresolvedNormWarning, stacklevel=2)
    return out if full else out.value


def _target_norm(targets, exact, weight, max_points):
    """Exact partial sums of targets (and arrays) with the targets' certified tail brackets; None when a tail
    cannot be bounded (a callable weight) or two tails are infinite (their difference is unknown)."""
    d = weight.dim
    K = max(_K_START, (exact.shape[0] - 1) // 2, *[t.band or 0 for _, t in targets])
    scale = None
    while True:
        c = resize_box(exact, K) + sum(sign * t.coefficients(K) for sign, t in targets)
        scale = _scale(c) if scale is None else scale
        c = _divide(c, scale)
        partial = _weighted_sum(c, _penalty(weight, K))
        tails = [t.tail_bound(weight, K) for _, t in targets]
        if any(t is None for t in tails):
            return None
        infinite = [t for t in tails if math.isinf(t.high)]
        if len(infinite) > 1:
            return None
        if infinite:
            return FPNorm(math.inf, 0.0, "divergent", K, infinite[0].reason)
        # Minkowski on the tail: | ||f||_T - ||h||_T | <= ||f - h||_T <= ||f||_T + ||h||_T
        roots = [(math.sqrt(t.low) / scale, math.sqrt(t.high) / scale) for t in tails]
        high = sum(r[1] for r in roots) ** 2
        low = max([r[0] - (sum(s[1] for s in roots) - r[1]) for r in roots] + [0.0]) ** 2
        gap = high - low
        if gap <= _EPS * partial or _next_K(K, d, max_points) is None:
            break
        K = _next_K(K, d, max_points)
    value, error = _from_squares(partial + 0.5 * (low + high), 0.5 * gap, _rounding(c.size))
    return FPNorm(_times(scale, value), scale * error, "exact" if high == 0 else "converged", K)


def _next_K(K, d, max_points):
    """The next box half-width, ``2K + 1``, when its ``(4K+3)^d`` points fit in `max_points`; else None."""
    K_next = 2 * K + 1
    return K_next if (2 * K_next + 1) ** d <= max_points else None


def _sampled_norm(funcs, targets, exact, weight, period, rtol, max_points):
    """Sample the callables on refining grids (targets and arrays add their exact coefficients) until two grids show
    a trigonometric polynomial, the fitted decay meets `rtol`, rounding stops the resolved shells from growing, or
    the budget is spent."""
    d = weight.dim
    K = max(_K_START, (exact.shape[0] - 1) // 2, *[t.band or 0 for _, t in targets])
    prev, fit, last_top, scale, shift = None, None, None, None, None
    while True:
        n = 2 * K + 1
        check_memory(n**d * 16 * 8, f"the grid of {n}^{d} points for fp_norm",
                     "Lower `max_points` or pass coefficients.")
        nu = 0.0
        if funcs:
            x = torus_grid(n, d, period)
            vals = np.asarray(sum(sign * evaluate_function(fn, x, name, x.shape[0], d) for name, fn, sign in funcs))
            if not np.isfinite(vals).all():   # finite samples whose sum (f - h_ini) leaves the double range
                raise ValueError("Expected `f` - `h_ini` within the double range, got an overflow at the samples: "
                                 "scale both down by a power of two (the norm scales by the same factor).")
            if shift is None:
                # samples near 1.8e308 make the FFT's sums overflow: every grid is transformed scaled by the same
                # exact power of two (taken from the first grid), and the norm scaled back at the end
                shift = max(scale_exponent(vals.reshape(-1, 1)) - SAFE_EXPONENT, 0)
            c = transforms.grid_coefficients(np.ldexp(vals, -shift).reshape((n,) * d))
            # FFT rounding leaves ~eps log2(n) max|f| in every mode; gamma^-2 would amplify it at high k.
            nu = 4.0 * _EPS * math.log2(vals.size + 1) * float(np.max(np.abs(np.ldexp(vals, -shift)), initial=0.0))
            nu = max(nu, np.finfo(float).smallest_subnormal * vals.size)
            c[np.abs(c) <= nu] = 0.0
        else:
            c = np.zeros((n,) * d, dtype=complex)
        known = resize_box(exact, K) + sum(sign * t.coefficients(K) for sign, t in targets)
        c += _divide(known, math.ldexp(1.0, shift)) if shift else known
        scale = _scale(c) if scale is None else scale
        c = _divide(c, scale)
        nu /= scale
        w = _penalty(weight, K)
        if prev is not None:
            done = _exact_polynomial(c, prev, w, nu)
            if done is not None:
                return _rescaled(done, scale, shift)
            fit = _fit(c, prev, w, nu, rtol)
            value, error = _from_squares(fit.value2, fit.error2, 0.0)
            settled = fit.status in ("converged", "extrapolated") and error <= rtol * value
            if settled or (fit.top == last_top and fit.status != "unresolved"):
                break  # accurate enough, or limited by rounding: finer grids resolve nothing more
            last_top = fit.top
        prev = c
        if _next_K(K, d, max_points) is None:
            break
        K = _next_K(K, d, max_points)
    if fit is None:
        return FPNorm(_times(scale, math.sqrt(_weighted_sum(c, w)), shift or 0), math.inf, "unresolved", K,
                      f"one grid ({n}^{d} points) fits in max_points = {max_points}; two are needed to estimate the "
                      f"aliasing error")
    return _rescaled(_record(fit, K, c.size), scale, shift)


def _rescaled(record, scale, shift=None):
    """The record of coefficients that were divided by `scale` and by ``2^shift``, in the caller's units."""
    if math.isnan(record.value):
        return record
    with np.errstate(over="ignore"):
        error = float(np.ldexp(scale * record.error_bound, shift or 0))
    return dataclasses.replace(record, value=_times(scale, record.value, shift or 0), error_bound=error)


def _times(scale, value, shift=0):
    """``scale * value * 2^shift`` for a finite nonnegative value; a product beyond the double range is refused (an
    FP-norm of ``inf`` means divergence, which a finite norm too large for a double is not)."""
    if math.isinf(value):
        return value
    mantissa, exponent = product(scale, value)
    exponent += shift
    if mantissa > 0 and exponent > 1024:
        log10 = math.log10(mantissa) + exponent * math.log10(2.0)
        raise ValueError(f"Expected `f` - `h_ini` whose FP-norm fits in a double (below ~1.8e308), got a norm of "
                         f"{mantissa:.6g} * 2^{exponent} ~ 10^{log10:.2f}: scale `f` (and `h_ini`) down by a power "
                         f"of two, the norm scales by the same factor.")
    return math.ldexp(mantissa, exponent)


def _exact_polynomial(c, prev, w, nu):
    """The exact record when the two grids show the same trigonometric polynomial inside the coarser box, cut off
    well above the rounding level."""
    K, Kp = (c.shape[0] - 1) // 2, (prev.shape[0] - 1) // 2
    d = c.ndim
    inner = (slice(K - Kp, K + Kp + 1),) * d
    outside = c.copy()
    outside[inner] = 0.0
    if np.any(outside) or np.any(np.abs(c[inner] - prev) > 2 * nu + 8 * _EPS * np.abs(c[inner])):
        return None
    shells = _shells(K, d).reshape(c.shape)
    band = int(np.max(np.where(c != 0, shells, 0)))
    if band > 0 and float(np.max(np.abs(c[shells == band]))) < _SHARP * nu:
        return None
    value = math.sqrt(_weighted_sum(c, w))
    noise = 2 * nu * math.sqrt(float(np.sum(w[shells <= band])))
    return FPNorm(value, noise + _rounding(c.size) * value, "exact", K)


def _fit(c, prev, w, nu, rtol):
    """Fit the decay over the shells of the coarser box, where the two grids estimate the aliasing error."""
    K, Kp = (c.shape[0] - 1) // 2, (prev.shape[0] - 1) // 2
    d = c.ndim
    inner = (slice(K - Kp, K + Kp + 1),) * d
    shells = _shells(K, d)
    inner_shells = _shells(Kp, d)
    power = np.abs(c).ravel() ** 2
    W = np.bincount(shells, weights=w.ravel() * power, minlength=K + 1)[: Kp + 1]
    E = np.bincount(shells, weights=power, minlength=K + 1)[: Kp + 1]
    alias = np.bincount(inner_shells, weights=(w[inner] * np.abs(c[inner] - prev) ** 2).ravel(), minlength=Kp + 1)
    noise = np.bincount(shells, weights=w.ravel(), minlength=K + 1)[: Kp + 1] * (2 * nu) ** 2
    return fit_shell_decay(W, E, alias, noise, rel=_rounding(c.size), rtol=rtol)


def _record(fit, K, n_modes):
    """The FPNorm of a fit (in the scaled units of the coefficients it saw)."""
    if fit.status == "divergent":
        return FPNorm(math.inf, 0.0, "divergent", K, fit.reason)
    value, error = _from_squares(fit.value2, fit.error2, _rounding(n_modes))
    if fit.status == "unresolved":
        return FPNorm(value, math.inf, "unresolved", K, fit.reason)
    if error > _MAX_RELATIVE_ERROR * value:
        return FPNorm(value, math.inf, "unresolved", K,
                      f"the weighted energy behaves like j^-q with q = {fit.rate:.3f} +- {fit.rate_error:.1e} over the "
                      f"shells |k|_inf = j = {fit.shells[0]}..{fit.shells[1]}: the tail beyond them is "
                      f"{fit.tail / fit.value2:.0%} of the squared norm and leaves the norm uncertain by "
                      f"{error / value:.0%}, more than {_MAX_RELATIVE_ERROR:.0%}")
    return FPNorm(value, error, fit.status, K)
