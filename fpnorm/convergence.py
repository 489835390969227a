"""How far a truncated solve (finite K) is from its K = infinity limit.

- :func:`kernel_tail_bound` (from :mod:`fpnorm.solvers.tail`): a rigorous bound on
  ``sum_{|k|_inf > K} gamma(k)^2``, in any dimension; it bounds the kernel error ``sup_z |kappa(z) - kappa_K(z)|``.
- :func:`convergence_study`: solves over a sequence of K and reports successive differences, the distance to the
  exact K = None interpolant where an exact kernel exists (closed forms in 1-d, Ewald-split kernels in d <= 3), and the
  fitted algebraic rate.
- :func:`limit_distance`: the same question for one existing :class:`~fpnorm.FPInterpolator` (every truncated
  interpolant also carries an estimate, ``info.truncation_error``, that needs no second solve).

Observed rates (max over the circle of ``|h_K - h_inf|``, random points, smooth data; see tests/test_convergence.py):
PowerLaw p = 4 about ``K^-3``; PowerLaw p = 2 and LFP (the ``|k|^-2`` term dominates the tail) about ``K^-1``.
These match the kernel tails ``sum_{|k| > K} gamma(k)^2 ~ K^(1-p)``.
"""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._internal.checks import check_int, check_period
from ._internal.progress import progress
from .exceptions import IllPosedWeightWarning
from .interpolant import FPInterpolator
from .kernels import has_closed_form
from .lattice import torus_grid
from .lattice_kernels import has_torus_kernel
from .lattice_sums import warn_ill_posed
from .solvers.tail import kernel_tail_bound
from .weights import check_weight

__all__ = ["kernel_tail_bound", "convergence_study", "limit_distance", "ConvergenceResult", "fit_rate"]


def fit_rate(Ks, errors):
    """Least-squares slope ``r`` of ``log(error) = log(C) - r log(K)`` over the positive, finite errors.

    Returns ``nan`` when fewer than two usable points remain.
    """
    Ks, errors = np.asarray(Ks, dtype=float), np.asarray(errors, dtype=float)
    ok = np.isfinite(errors) & (errors > 0) & (Ks > 0)
    if np.count_nonzero(ok) < 2:
        return float("nan")
    slope = np.polyfit(np.log(Ks[ok]), np.log(errors[ok]), 1)[0]
    return float(-slope)


@dataclass
class ConvergenceResult:
    """The outcome of :func:`convergence_study`.

    Attributes
    ----------
    Ks : ndarray of int, shape (n,)
    successive : ndarray, shape (n - 1,)
        ``max_grid |h_{K_{i+1}} - h_{K_i}|``.
    to_limit : ndarray, shape (n,)
        ``max_grid |h_{K_i} - h_inf|`` against the exact K = None solve; all nan without an exact kernel.
    norms : ndarray, shape (n,)
        ``||h_K - h_ini||_gamma``.
    limit_norm : float
        ``||h_inf - h_ini||_gamma`` (nan without an exact kernel).
    tail_bounds : ndarray, shape (n,)
        :func:`kernel_tail_bound` at each K (nan for weights it does not cover).
    rate : float
        Fitted algebraic rate ``r`` in ``error ~ C K^-r``, from ``to_limit`` when available, else from
        ``successive`` (placed at the larger K of each pair). ``nan`` for an ill-posed weight (there is no limit to
        converge to; ``info["ill_posed"]`` says why).
    info : dict
        ``"n_grid"``: the number of evaluation points; ``"ill_posed"``: None, or why ``sum gamma(k)^2`` over the
        penalised modes diverges (:func:`fpnorm.lattice_sums.penalised_divergence`).
    """

    Ks: np.ndarray
    successive: np.ndarray
    to_limit: np.ndarray
    norms: np.ndarray
    limit_norm: float
    tail_bounds: np.ndarray
    rate: float
    info: dict = field(default_factory=dict)


def _grid(dim, period, n_grid):
    """About `n_grid` evaluation points: cell midpoints of a tensor grid (``(Q,)`` in 1-d, ``(Q, d)`` otherwise)."""
    side = n_grid if dim == 1 else max(2, int(round(n_grid ** (1.0 / dim))))
    x = torus_grid(side, dim, period, midpoints=True)
    return x[:, 0] if dim == 1 else x


def _safe_tail(weight, K):
    try:
        return kernel_tail_bound(weight, K)
    except ValueError:
        return float("nan")


def convergence_study(points, values, *, weight, Ks, period=1.0, h_ini=None, n_grid=4096, method="auto",
                      show_progress=None):
    """Solve for each K in `Ks` and measure how the truncated interpolants converge.

    Parameters
    ----------
    points : array_like, shape (N, d), or (N,) when d = 1
    values : array_like, shape (N,)
    weight : Weight
    Ks : sequence of int
        Increasing truncations (at least two).
    period : float
    h_ini : callable or array_like, optional
    n_grid : int
        Evaluation points: a midpoint grid of `n_grid` points in 1-d, about `n_grid` in a tensor grid otherwise.
    method : str
        Solve method for the truncated solves (see :data:`fpnorm.solvers.METHODS`).
    show_progress : bool, optional
        Progress bar on stderr (default: when it is a terminal).

    Returns
    -------
    ConvergenceResult

    Notes
    -----
    For an ill-posed weight (``sum gamma(k)^2`` over the penalised modes diverges, e.g. ``Sobolev(s)`` with
    ``2 s <= d``) the truncated interpolants have no limit: the study warns once
    (:class:`~fpnorm.exceptions.IllPosedWeightWarning`), still reports the measured differences and norms, and
    gives ``rate = nan`` with the reason in ``info["ill_posed"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import PowerLaw
    >>> x = np.array([0.05, 0.3, 0.42, 0.7, 0.9])
    >>> r = convergence_study(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4), Ks=[8, 16, 32, 64])
    >>> bool(2.5 < r.rate < 3.5)
    True
    """
    check_weight(weight)
    period = check_period(period)
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    Ks = [check_int(K, "Ks", minimum=0) for K in Ks]
    if len(Ks) < 2 or any(b <= a for a, b in zip(Ks, Ks[1:], strict=False)):
        raise ValueError(f"Expected `Ks` to be at least two strictly increasing integers, got {Ks}.")
    grid = _grid(weight.dim, period, n_grid)
    ill_posed = warn_ill_posed(weight)   # once here, not once per K below
    limit, limit_vals, limit_norm = None, None, float("nan")
    if has_closed_form(weight) or has_torus_kernel(weight):
        limit = FPInterpolator(points, values, weight=weight, K=None, h_ini=h_ini, period=period)
        limit_vals, limit_norm = limit(grid), limit.norm
    vals, norms = [], []
    for K in progress(Ks, desc="K", enabled=show_progress):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IllPosedWeightWarning)
            s = FPInterpolator(points, values, weight=weight, K=K, h_ini=h_ini, period=period, method=method)
        vals.append(s(grid))
        norms.append(s.norm)
    successive = np.array([np.max(np.abs(b - a)) for a, b in zip(vals, vals[1:], strict=False)])
    if limit is not None:
        to_limit = np.array([np.max(np.abs(v - limit_vals)) for v in vals])
        rate = fit_rate(Ks, to_limit)
    else:
        to_limit = np.full(len(Ks), np.nan)
        rate = fit_rate(Ks[1:], successive)
    if ill_posed is not None:
        # no K = inf interpolant exists: away from the points h_K drifts towards h_ini as the kernel's diagonal
        # sum_{|k|_inf <= K} gamma(k)^2 grows, so a rate fitted here would measure that drift, not convergence
        rate = math.nan
    tails = np.array([_safe_tail(weight, K) for K in Ks])
    return ConvergenceResult(np.array(Ks), successive, to_limit, np.array(norms, dtype=float), float(limit_norm),
                             tails, rate, {"n_grid": int(grid.shape[0]), "ill_posed": ill_posed})


def limit_distance(interpolant, *, n_grid=4096):
    """How far a truncated :class:`~fpnorm.FPInterpolator` is from its K = infinity limit.

    Parameters
    ----------
    interpolant : FPInterpolator
        Solved with an integer K.
    n_grid : int
        Evaluation grid size (as in :func:`convergence_study`).

    Returns
    -------
    dict
        ``"max_error"``: ``max_grid |h_K - h_inf|`` (nan without an exact kernel); ``"norm_K"``, ``"norm_inf"``:
        the two FP-norms; ``"tail_bound"``: :func:`kernel_tail_bound` at K (nan where not covered).
    """
    if not isinstance(interpolant, FPInterpolator):
        raise TypeError(f"Expected `interpolant` to be an FPInterpolator, got {type(interpolant).__name__}.")
    if interpolant.K is None:
        raise ValueError("Expected `interpolant` solved with an integer K, got K=None (it is the limit itself).")
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    s, w = interpolant, interpolant.weight
    out = {"max_error": float("nan"), "norm_K": s.norm, "norm_inf": float("nan"), "tail_bound": _safe_tail(w, s.K)}
    if has_closed_form(w) or has_torus_kernel(w):
        lim = FPInterpolator(s.points, s.values, weight=w, K=None, h_ini=s._h_ini, period=s.period)
        grid = _grid(w.dim, s.period, n_grid)
        out["max_error"] = float(np.max(np.abs(s(grid) - lim(grid))))
        out["norm_inf"] = lim.norm
    return out
