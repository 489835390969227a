"""The a-priori generalization bound of the frequency-principle theory.

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
of fudging ``gamma(0)`` to a finite value. The first factor comes from :func:`fpnorm.fp_norm` with its status: a
divergent FP-norm (a target too rough for the weight) makes the bound vacuous with the reason, and an unresolved one
(the samples do not decide it) is carried as ``f_norm_status`` and warned about, never passed off as a plain number.
"""

import dataclasses
import math
import numbers
import warnings

import numpy as np

from ._internal.checks import TORUS_THEOREM, check_int, check_period, check_real
from ._internal.floatrange import product, to_float
from .exceptions import UnresolvedNormWarning
from .lattice_sums import gamma_l2_info
from .learning_curve import learning_curve
from .norms import FPNorm, fp_norm

__all__ = ["generalization_bound", "BoundResult", "bound_curve", "sample_complexity", "bound_factor"]


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
    f_norm_status : str or None
        The status of ``f_norm`` (one of :data:`fpnorm.norms.FPNORM_STATUSES`) when computed here or given as an
        :class:`~fpnorm.FPNorm`; None when given as a number.
        ``"unresolved"`` means ``f_norm`` and the bound are estimates the samples do not support: check them.
    f_norm_error : float or None
        The error bound of ``f_norm`` (:attr:`fpnorm.FPNorm.error_bound`) when known.
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
    f_norm_status: str | None = None
    f_norm_error: float | None = None

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


def _resolve(f_norm, gamma_l2, weight, f, h_ini, period, *, warn_given=False):
    """The norms from what the caller gave: ``(f_norm, gamma_l2, reason, gamma_l2_error, f_norm_record)``.

    The record is the :class:`~fpnorm.FPNorm` given or computed here (None when `f_norm` is a plain number). An
    unresolved norm computed here is warned about, once per call, with the numbers (the plain numbers returned by
    :func:`bound_curve` and :func:`sample_complexity` cannot carry its status); so is a given unresolved record with
    `warn_given` (those two functions)."""
    reason, g_err, record = None, None, None
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
        record = fp_norm(f, weight, h_ini, period=period, full=True)
        if record.status == "unresolved":
            warnings.warn(f"||f - h_ini||_gamma is unresolved ({record.reason}); the bound uses the partial sum "
                          f"{record.value:.6g} and is not a bound: f_norm_status = 'unresolved'.",
                          UnresolvedNormWarning, stacklevel=3)
    else:
        if f is not None:
            raise ValueError("Expected either `f_norm` or `f`, not both.")
        if h_ini is not None:
            raise ValueError("Expected `h_ini` only with `f` (it enters ||f - h_ini||_gamma), got it with `f_norm`.")
        if isinstance(f_norm, FPNorm):
            record = f_norm
            if warn_given and record.status == "unresolved":
                warnings.warn(f"The given ||f - h_ini||_gamma is unresolved ({record.reason}); the result uses the "
                              f"partial sum {record.value:.6g} and is not a bound.", UnresolvedNormWarning,
                              stacklevel=3)
        else:
            f_norm = _check_norm_value(f_norm, "f_norm")
    if record is not None:
        f_norm = record.value
    if math.isinf(f_norm):
        why = (f"the target's FP-norm ||f - h_ini||_gamma diverges: {record.reason}" if record is not None
               and record.reason else "||f - h_ini||_gamma = inf")
        reason = "; ".join(filter(None, [reason, why]))
    return f_norm, gamma_l2, reason, g_err, record


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
    f_norm : float or FPNorm, optional
        ``||f - h_ini||_gamma`` (``inf`` allowed), or the record of ``fp_norm(..., full=True)`` (its status and
        reason are carried); otherwise computed by :func:`~fpnorm.fp_norm` from `f` and `weight`.
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
    A target whose FP-norm diverges (``fp_norm`` status ``"divergent"``, e.g. ``|x - 1/2|`` under
    ``PowerLaw(p >= 3)``) gives a vacuous bound whose reason says why the norm diverges. An ``"unresolved"`` norm
    warns (:class:`~fpnorm.exceptions.UnresolvedNormWarning`) and sets ``f_norm_status``; the bound is then computed
    from the partial sum and is not a bound. The relative error of the value is that of ``f_norm``
    (``f_norm_error``) plus that of ``gamma_l2`` (``gamma_l2_error``).

    Examples
    --------
    >>> from fpnorm import PowerLaw, generalization_bound, get_target
    >>> r = generalization_bound(100, 0.05, f_norm=2.0, gamma_l2=1.5)
    >>> round(r.value, 6), round(r.complexity_term, 6)
    (4.152497, 0.6)
    >>> r = generalization_bound(1000, 0.05, weight=PowerLaw(p=4, zero=1.0), f=get_target("abs"))
    >>> r.value, r.vacuous, r.f_norm_status
    (inf, True, 'divergent')
    """
    M = check_int(M, "M", minimum=1)
    delta = _check_delta(delta)
    period = check_period(period, reason=TORUS_THEOREM)
    f_norm, gamma_l2, reason, g_err, record = _resolve(f_norm, gamma_l2, weight, f, h_ini, period)
    vacuous = math.isinf(f_norm) or math.isinf(gamma_l2)
    if vacuous:
        comp = conf = value = math.inf
        reason = reason if "vacuous" in reason else reason + ": the bound is vacuous"
    else:
        # products formed in mantissa-exponent form: f_norm * gamma_l2 alone may overflow while the bound is finite
        comp = _scaled(f_norm, gamma_l2, 2.0 / math.sqrt(M))
        conf = _scaled(f_norm, gamma_l2, 4.0 * math.sqrt(2.0 * math.log(4.0 / delta) / M))
        value = comp + conf
        if math.isinf(value):
            m, e = product(f_norm, gamma_l2, float(bound_factor(M, delta)))
            to_float(m, e, "The generalization bound", stacklevel=2)   # warns with its size
            reason = "; ".join(filter(None, [reason, f"the bound {m:.6g} * 2^{e} exceeds the largest double "
                                                     f"(~1.8e308)"]))
    status, f_err = (record.status, record.error_bound) if record is not None else (None, None)
    return BoundResult(value, f_norm, gamma_l2, comp, conf, M, delta, vacuous, reason, g_err, status, f_err)


def bound_curve(M, delta, *, f_norm=None, gamma_l2=None, weight=None, f=None, h_ini=None, period=1.0,
                predict=False):
    """The bound as a function of ``M``: an array of sample sizes in, an array of bound values out.

    Parameters
    ----------
    M : array_like of numbers >= 1
    delta, f_norm, gamma_l2, weight, f, h_ini, period
        As in :func:`generalization_bound`; the norms are computed once.
    predict : bool
        Also return the eigenlearning prediction of the mean square error at the same ``M`` (integers), from
        `weight` and `f` (:func:`fpnorm.learning_curve.learning_curve`; its ``rmse`` is on the scale of the risk).

    Returns
    -------
    ndarray of float, shape of `M`
        ``inf`` everywhere when the bound is vacuous.
    LearningCurve
        With `predict` only: ``(curve, learning_curve)``.

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
    f_norm, gamma_l2, _, _, _ = _resolve(f_norm, gamma_l2, weight, f, h_ini, check_period(period, reason=TORUS_THEOREM),
                                         warn_given=True)
    if predict and (weight is None or f is None):
        raise ValueError("Expected `weight` and `f` with `predict`=True (the prediction needs the spectrum and the "
                         "target's coefficients), got " + ("no `weight`" if weight is None else "no `f`") + ".")
    if math.isinf(f_norm) or math.isinf(gamma_l2):
        curve = np.full(arr.shape, math.inf)
    else:
        m, e = product(f_norm, gamma_l2)
        mb, eb = np.frexp(bound_factor(arr, delta))
        curve = to_float(m * mb, e + eb, "The generalization bound", stacklevel=2)
    if predict:
        return curve, learning_curve(arr.astype(np.int64).reshape(-1), weight=weight, f=f, h_ini=h_ini,
                                     period=period)
    return curve


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
    f_norm, gamma_l2, _, _, _ = _resolve(f_norm, gamma_l2, weight, f, h_ini, check_period(period, reason=TORUS_THEOREM),
                                         warn_given=True)
    if math.isinf(f_norm) or math.isinf(gamma_l2):
        return math.inf
    if f_norm == 0 or gamma_l2 == 0:
        return 1
    m, e = product(f_norm, gamma_l2, float(bound_factor(1, delta)))
    me, ee = math.frexp(epsilon)
    if e - ee > 33:  # M ~ ratio^2 beyond 2^62 samples: report it as inf (no product is formed that overflows)
        return math.inf
    ratio = math.ldexp(m / me, e - ee)
    if not ratio < 2.0**31:
        return math.inf
    M = max(1, math.ceil(ratio**2))
    while M > 1 and _scaled(f_norm, gamma_l2, float(bound_factor(M - 1, delta))) <= epsilon:
        M -= 1
    while _scaled(f_norm, gamma_l2, float(bound_factor(M, delta))) > epsilon:
        M += 1
    return M


def _scaled(f_norm, gamma_l2, factor):
    """``f_norm * gamma_l2 * factor`` without intermediate overflow; ``inf`` only when the product itself is beyond the
    largest double."""
    m, e = product(f_norm, gamma_l2, factor)
    return math.ldexp(m, e) if e <= 1024 else math.inf
