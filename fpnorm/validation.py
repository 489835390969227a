"""Monte-Carlo validation of the generalization bound: fit minimum FP-norm interpolants to random samples, measure
their population risk by quadrature, and compare with the a-priori bound.

:func:`population_risk` estimates ``L(h) = E_{x ~ U([0, P)^d)} |h(x) - f(x)|`` with an honest error bar;
:func:`validate_bound` runs the experiment over a list of sample sizes and returns a :class:`BoundValidation`.
"""

import dataclasses
import math
import warnings

import numpy as np
from scipy.stats import qmc

from ._internal.checks import (
    TORUS_THEOREM,
    check_choice,
    check_h_ini,
    check_int,
    check_period,
    check_real,
    evaluate_function,
    warn_truncation,
)
from ._internal.progress import progress
from .bounds import generalization_bound
from .exceptions import IllPosedWeightWarning, TruncationWarning, UnresolvedNormWarning
from .interpolant import FPInterpolator
from .lattice import box_size
from .lattice_sums import gamma_l2_info, warn_ill_posed
from .learning_curve import learning_curve
from .norms import fp_norm
from .posterior import loo_error, posterior_bound
from .solvers.problem import evaluate_h_ini
from .weights import check_weight

__all__ = ["population_risk", "validate_bound", "BoundValidation", "QUADRATURES"]

# Quadrature rules of population_risk: randomised (scrambled) Sobol points, or plain Monte Carlo.
QUADRATURES = ("sobol", "mc")


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"Expected `seed` to be None, an int or a numpy Generator, got {type(seed).__name__}.")
    return np.random.default_rng(seed)


def population_risk(h, f, *, dim, period=1.0, n=4096, replicates=16, method="sobol", seed=None):
    """Estimate ``L(h) = E_{x ~ U([0, P)^d)} |h(x) - f(x)|`` with a standard error.

    Parameters
    ----------
    h, f : callable
        Functions on the torus: ``(Q, d)`` (or ``(Q,)`` when ``d = 1``) -> ``(Q,)``; e.g. an ``FPInterpolator`` and
        a target from :mod:`fpnorm.targets`.
    dim : int
        Dimension ``d``.
    period : float
        Period ``P`` (default 1).
    n : int
        Total number of evaluation points (default 4096), split over `replicates` independent randomisations.
    replicates : int
        Independent randomisations (default 16, at least 2); the error bar is their standard error.
    method : str
        One of :data:`QUADRATURES`: ``"sobol"`` (scrambled Sobol points, ``n // replicates`` rounded down to a power
        of two per replicate; error ``~ n^-1`` for smooth integrands) or ``"mc"`` (uniform points).
    seed : int, numpy Generator or None
        Randomness of the points (default None: fresh entropy).

    Returns
    -------
    estimate : float
        Mean of the replicate estimates.
    stderr : float
        Standard error of the mean over replicates: each replicate is an unbiased estimate of ``L(h)``, so
        a 95% interval is ``estimate +- t stderr`` with ``t`` the 0.975 quantile of Student's t with
        ``replicates - 1`` degrees of freedom (2.13 for the default 16 replicates; 12.7 for 2, so keep ``replicates``
        at 8 or more when the interval matters).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm.validation import population_risk
    >>> est, err = population_risk(lambda x: np.sin(2 * np.pi * x), lambda x: 0 * x, dim=1, seed=0)
    >>> bool(abs(est - 2 / np.pi) < 5 * err + 1e-12)   # E|sin(2 pi x)| = 2/pi
    True
    """
    if not callable(h) or not callable(f):
        raise TypeError(f"Expected `h` and `f` to be callables on the torus, got {type(h).__name__} and "
                        f"{type(f).__name__}.")
    dim = check_int(dim, "dim", minimum=1)
    period = check_period(period, reason=TORUS_THEOREM)
    n = check_int(n, "n", minimum=2)
    replicates = check_int(replicates, "replicates", minimum=2)
    check_choice(method, "method", QUADRATURES)
    if n < replicates:
        raise ValueError(f"Expected `n` >= `replicates` = {replicates}, got {n}.")
    rng = _rng(seed)
    per = n // replicates
    if method == "sobol":
        per = 1 << int(math.floor(math.log2(per)))
    if method == "sobol":
        u = np.concatenate([qmc.Sobol(dim, scramble=True, seed=rng).random_base2(int(math.log2(per)))
                            for _ in range(replicates)])
    else:
        u = rng.random((replicates * per, dim))
    x = period * u
    Q = x.shape[0]
    diff = np.abs(evaluate_function(h, x, "h", Q, dim) - evaluate_function(f, x, "f", Q, dim))
    estimates = diff.reshape(replicates, per).mean(axis=1)
    return float(np.mean(estimates)), float(np.std(estimates, ddof=1) / math.sqrt(replicates))


@dataclasses.dataclass(frozen=True)
class BoundValidation:
    """Result of :func:`validate_bound`.

    Attributes
    ----------
    Ms : ndarray of int, shape (n_M,)
    risks : ndarray, shape (n_M, trials)
        Estimated population risk ``L(h_M)`` of each trial.
    stderrs : ndarray, shape (n_M, trials)
        Quadrature standard errors of `risks`.
    bounds : ndarray, shape (n_M,)
        The a-priori bound at each ``M`` (``inf`` when vacuous).
    held : ndarray of float, shape (n_M,)
        Fraction of trials with ``risk <= bound``.
    held_fraction : float
        The same over all trials; the theorem promises at least ``1 - delta`` at each ``M``.
    decay_rate : float
        ``-slope`` of a least-squares fit of ``log(mean risk)`` against ``log M`` (the bound decays at rate 1/2).
    decay_rate_stderr : float
        Standard error of that slope (nan with fewer than three ``M``).
    delta, f_norm, gamma_l2 : float
    vacuous : bool
    weight, K : the weight and truncation used
    f_norm_status : str
        The status of ``f_norm`` (:data:`fpnorm.norms.FPNORM_STATUSES`): ``"divergent"`` makes every bound infinite;
        ``"unresolved"`` means the bounds use an estimate the samples do not support.
    reason : str or None
        Why the bound is vacuous (None when finite).
    mse : ndarray, shape (n_M, trials), optional
        With ``predict=True``: the Monte-Carlo mean square error ``E_x |h_M - f|^2`` of each trial (None otherwise).
    loo : ndarray, shape (n_M, trials), optional
        Rippa's leave-one-out mean squared error of each trial (:func:`fpnorm.posterior.loo_error`).
    power_bound : ndarray, shape (n_M, trials), optional
        The power-function bound on the root mean square error ``(E_x |h_M - f|^2)^(1/2)`` of each trial
        (:func:`fpnorm.posterior.posterior_bound`, ``l2``); nan where the theorem does not apply (``f`` outside an
        integer ``K``'s box, an unresolved norm).
    predicted : ndarray, shape (n_M,), optional
        The eigenlearning prediction of the MSE (:func:`fpnorm.learning_curve.learning_curve`); nan for a weight it
        does not cover.
    """

    Ms: np.ndarray
    risks: np.ndarray
    stderrs: np.ndarray
    bounds: np.ndarray
    held: np.ndarray
    held_fraction: float
    decay_rate: float
    decay_rate_stderr: float
    delta: float
    f_norm: float
    gamma_l2: float
    vacuous: bool
    weight: object
    K: int
    f_norm_status: str
    reason: str | None
    mse: np.ndarray = None
    loo: np.ndarray = None
    power_bound: np.ndarray = None
    predicted: np.ndarray = None

    @property
    def mean_risk(self):
        """Mean risk over trials at each ``M``, shape (n_M,)."""
        return self.risks.mean(axis=1)

    def summary(self):
        """Per-``M`` statistics as a list of dicts (JSON-safe: an infinite bound becomes None)."""
        rows = []
        for i, M in enumerate(self.Ms):
            r = self.risks[i]
            b = float(self.bounds[i])
            rows.append({"M": int(M), "mean_risk": float(r.mean()), "std_risk": float(r.std(ddof=1)) if r.size > 1
                         else 0.0, "max_risk": float(r.max()), "max_stderr": float(self.stderrs[i].max()),
                         "bound": b if math.isfinite(b) else None, "held": float(self.held[i])})
            if self.mse is not None:
                rows[-1].update(_prediction_row(self, i))
        return rows

    def plot(self, *, ax=None):
        """Log-log plot of the trial risks, their mean and the bound against ``M``, headless like
        :mod:`fpnorm.plotting` (no pyplot state).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Draw into this axes; a new figure by default.

        Returns
        -------
        matplotlib.figure.Figure
            The figure drawn into; save it with ``fig.savefig(path)``.

        Examples
        --------
        >>> from fpnorm import PowerLaw
        >>> from fpnorm.targets import get_target
        >>> from fpnorm.validation import validate_bound
        >>> res = validate_bound(get_target("sin"), weight=PowerLaw(p=4, zero=1.0), K=16, Ms=[4, 8], trials=2,
        ...                      n_quad=256)
        >>> fig = res.plot()
        >>> fig.axes[0].get_xscale(), len(fig.axes[0].get_lines())
        ('log', 4)
        """
        from .plotting import plot_bound_validation  # plotting sits above the results it draws

        return plot_bound_validation(self, ax=ax)


def _json_float(x):
    return float(x) if math.isfinite(x) else None


def _prediction_row(v, i):
    """The per-``M`` prediction, leave-one-out and power-function statistics of a run with ``predict=True``."""
    mse, loo, power = v.mse[i], v.loo[i], v.power_bound[i]
    median = float(np.median(mse))
    return {"median_mse": median, "mean_mse": float(np.mean(mse)), "predicted_mse": _json_float(v.predicted[i]),
            "predicted_over_median": _json_float(v.predicted[i] / median) if median > 0 else None,
            "median_loo": float(np.median(loo)), "loo_over_mse_median": float(np.median(loo / mse)),
            "median_power_bound": _json_float(float(np.median(power))),
            "power_bound_over_rmse_median": _json_float(float(np.median(power / np.sqrt(mse))))}


def _predict_trial(s, f, q, fq, norm):
    """(MSE on the quadrature points, LOO, power-function bound on the RMS error) of one fit; `norm` is the FPNorm
    of ``f - h_ini``, computed once for the run (``s`` interpolates ``f`` by construction)."""
    mse = float(np.mean(np.abs(s(q) - fq) ** 2))
    try:
        if s.K is None:   # the exact kernel's space holds every f of finite norm
            f_norm = math.nan if norm.status == "unresolved" else norm.value + norm.error_bound
            power = posterior_bound(s, f_norm=f_norm).l2 if math.isfinite(f_norm) or norm.status == "divergent" \
                else math.nan
        else:
            power = posterior_bound(s, f=f).l2
    except ValueError:   # f outside the box of an integer K, or values not f's: the theorem does not apply
        power = math.nan
    return mse, loo_error(s), power


def validate_bound(f, *, weight, K, Ms, trials=10, delta=0.05, h_ini=None, period=1.0, seed=0, n_quad=4096,
                   quadrature="sobol", method="auto", show_progress=None, predict=False):
    """Check the generalization bound by simulation.

    For each ``M`` in `Ms` and each trial: draw ``M`` uniform points on the torus, fit
    ``FPInterpolator(points, f(points), weight=weight, K=K, h_ini=h_ini)``, estimate its population risk with
    :func:`population_risk`, and compare with :func:`~fpnorm.generalization_bound` at `delta`.

    Parameters
    ----------
    f : callable
        The target on the torus (``(Q, d)`` or ``(Q,)`` in 1-d -> ``(Q,)``), e.g. from :mod:`fpnorm.targets`.
    weight : Weight
    K : int or None
        Truncation of the interpolants; needs ``(2K+1)^d >= max(Ms)``; None for the exact ``K = inf`` interpolants
        (what ``FPInterpolator(..., K=None)`` supports: the 1-d closed forms, and the Ewald-split torus kernels of
        PowerLaw, LFP and Sobolev weights in d = 1, 2, 3, :func:`fpnorm.lattice_kernels.has_torus_kernel`). Warns once
        (:class:`~fpnorm.exceptions.TruncationWarning`, with the fit farthest from its limit) when a fit's estimated
        distance to its K = inf limit (``info.truncation_error``) exceeds ``TRUNCATION_TOLERANCE`` times
        ``max |f(x_i) - h_ini(x_i)|``. The theorem is about ``K = inf``; choose ``K`` at least the band of a
        band-limited ``f`` (or large for a smooth one): near-square systems (``M`` close to ``(2K+1)^d``) give
        interpolants whose risk can grow with ``M``.
    Ms : sequence of int
        Sample sizes, each ``>= 1``.
    trials : int
        Trials per ``M`` (default 10).
    delta : float
        Confidence parameter of the bound (default 0.05).
    h_ini : callable or array_like, optional
        Initial function, passed to the interpolant and to the norm.
    period : float
    seed : int, numpy Generator or None
        Seed of the points and of the quadrature (default 0: reproducible).
    n_quad : int
        Quadrature points per risk estimate (default 4096).
    quadrature : str
        One of :data:`QUADRATURES`.
    method : str
        Solve method of the interpolants.
    show_progress : bool, optional
        Progress bar on stderr (default: when stderr is a terminal).
    predict : bool
        Also record, per trial, the Monte-Carlo MSE (on `n_quad` uniform points), Rippa's leave-one-out MSE and the
        power-function bound on the RMS error, and per ``M`` the eigenlearning prediction (``mse``, ``loo``,
        ``power_bound``, ``predicted``; see :meth:`BoundValidation.summary`). Costs one ``N^3`` factorisation per fit.

    Returns
    -------
    BoundValidation

    Notes
    -----
    The bound is vacuous (``inf``; every trial "holds" trivially) when ``||gamma||_l2 = inf``, e.g. with
    ``zero=None``, or when the target is too rough for the weight (``||f - h_ini||_gamma = inf``, e.g. ``abs`` under
    ``PowerLaw(p=4)``): the result says so in ``vacuous``, ``f_norm_status`` and ``reason``. An unresolved
    ``f_norm`` warns (:class:`~fpnorm.exceptions.UnresolvedNormWarning`). An ill-posed weight (``sum gamma(k)^2`` over
    the penalised modes diverges) warns once (:class:`~fpnorm.exceptions.IllPosedWeightWarning`): its interpolants
    depend on `K`. Smooth targets typically show a decay rate far above the bound's ``1/2`` (the bound is worst-case
    over the ``||.||_gamma`` ball); rough ones approach it.

    Examples
    --------
    >>> from fpnorm import PowerLaw
    >>> from fpnorm.targets import get_target
    >>> from fpnorm.validation import validate_bound
    >>> res = validate_bound(get_target("poisson"), weight=PowerLaw(p=4, dim=1, zero=1.0), K=64, Ms=[8, 16, 32],
    ...                      trials=2, n_quad=512)
    >>> res.held_fraction, bool(res.decay_rate > 1.0)
    (1.0, True)
    """
    weight = check_weight(weight)
    d = weight.dim
    K = check_int(K, "K", minimum=0, allow_none=True)
    trials = check_int(trials, "trials", minimum=1)
    delta = check_real(delta, "delta", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True)
    period = check_period(period, reason=TORUS_THEOREM)
    if not callable(f):
        raise TypeError(f"Expected `f` to be a callable on the torus, got {type(f).__name__}.")
    Ms_arr = np.asarray(Ms)
    if Ms_arr.ndim != 1 or Ms_arr.size == 0 or Ms_arr.dtype.kind not in "iu":
        raise ValueError(f"Expected `Ms` to be a non-empty 1-d sequence of integers, got {Ms!r}.")
    if Ms_arr.min() < 1:
        raise ValueError(f"Expected every `Ms` >= 1, got {int(Ms_arr.min())}.")
    if K is not None and Ms_arr.max() > box_size(K, d):
        raise ValueError(f"Expected every `Ms` <= (2K+1)^d = {box_size(K, d)} for K = {K} in d = {d}, got "
                         f"{int(Ms_arr.max())}.")
    warn_ill_posed(weight)  # once here, not once per fit below
    rng = _rng(seed)
    info = gamma_l2_info(weight)
    norm = fp_norm(f, weight, h_ini, period=period, full=True)
    if norm.status == "unresolved":
        warnings.warn(f"||f - h_ini||_gamma is unresolved ({norm.reason}); the bounds use the partial sum "
                      f"{norm.value:.6g} and are not bounds: f_norm_status = 'unresolved'.", UnresolvedNormWarning,
                      stacklevel=2)
    reason = None
    risks = np.empty((Ms_arr.size, trials))
    errs = np.empty_like(risks)
    bounds = np.empty(Ms_arr.size)
    jobs = [(i, int(M), trial) for i, M in enumerate(Ms_arr) for trial in range(trials)]
    worst = (-math.inf, int(Ms_arr.max()), math.nan, 0.0)  # the fit farthest from its K = inf limit, relatively
    h_ini_checked, h_ini_real = check_h_ini(h_ini, d)
    if predict:
        extra = np.full((3, Ms_arr.size, trials), math.nan)
        q = period * rng.random((n_quad, d))
        q = q[:, 0] if d == 1 else q
        fq = evaluate_function(f, q.reshape(n_quad, d), "f", n_quad, d)
        try:
            predicted = learning_curve(Ms_arr, weight=weight, f=f, h_ini=h_ini, period=period).mse
        except ValueError:   # a weight whose spectrum has no certified sums
            predicted = np.full(Ms_arr.size, math.nan)
    for i, M, trial in progress(jobs, desc="validate_bound", enabled=show_progress):
        x = period * rng.random((M, d))
        xs = x[:, 0] if d == 1 else x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncationWarning)  # once for the whole run, below
            warnings.simplefilter("ignore", IllPosedWeightWarning)
            s = FPInterpolator(xs, evaluate_function(f, x, "f", M, d), weight=weight, K=K, h_ini=h_ini,
                               period=period, method=method)
        start = evaluate_h_ini(h_ini_checked, h_ini_real, s.points, period)
        scale = float(np.max(np.abs(s.values - (0.0 if start is None else start))))
        error = s.info.truncation_error
        if not math.isnan(error) and (error / scale if scale > 0 else error) > worst[0]:
            worst = (error / scale if scale > 0 else error, M, error, scale)
        risks[i, trial], errs[i, trial] = population_risk(s, f, dim=d, period=period, n=n_quad, method=quadrature,
                                                          seed=rng)
        if predict:
            extra[:, i, trial] = _predict_trial(s, f, q, fq, norm)
        if trial == 0:
            bound = generalization_bound(M, delta, f_norm=norm, gamma_l2=info.value)
            bounds[i] = bound.value
            reason = bound.reason
    if K is not None:
        warn_truncation(worst[1], K, d, "M", error=worst[2], scale=worst[3])
    held = np.mean(risks <= bounds[:, None], axis=1)
    mean = risks.mean(axis=1)
    rate, rate_err = math.nan, math.nan
    ok = mean > 0
    if ok.sum() >= 2:
        X = np.log(Ms_arr[ok].astype(float))
        Y = np.log(mean[ok])
        A = np.vstack([X, np.ones_like(X)]).T
        coef, res, *_ = np.linalg.lstsq(A, Y, rcond=None)
        rate = -float(coef[0])
        if ok.sum() >= 3:
            resid = Y - A @ coef
            s2 = float(resid @ resid) / (ok.sum() - 2)
            rate_err = math.sqrt(s2 / float(np.sum((X - X.mean()) ** 2)))
    return BoundValidation(Ms_arr.astype(int), risks, errs, bounds, held, float(np.mean(held)), rate, rate_err,
                           delta, norm.value, info.value, not math.isfinite(info.value) or not norm.finite,
                           weight, K, norm.status, reason, *((extra[0], extra[1], extra[2], predicted) if predict
                                                             else ()))
