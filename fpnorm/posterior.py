"""A-posteriori error of a fitted interpolant: the power-function bound and Rippa's leave-one-out error.

For the minimum-norm interpolant ``h`` of ``f`` at ``X = {x_1..x_N}`` (Wendland, Scattered Data Approximation,
ch. 11), every ``x`` on the torus obeys

    |f(x) - h(x)| <= P_X(x) ||f - h||_gamma,    ||f - h||_gamma^2 = ||f - h_ini||_gamma^2 - ||h - h_ini||_gamma^2,

with the power function ``P_X(x)^2 = kappa(0) - [k_x; p_x]^T B^-1 [k_x; p_x]`` (``B`` the bordered kernel matrix of
:class:`fpnorm.gram.KernelSystem`, ``k_x = kappa(x - x_j)``, ``p_x`` the free basis at ``x``). It holds for every
sample set. :func:`loo_error` gives the leave-one-out residuals of the same system in one factorisation.
"""

import math

import numpy as np
import scipy.linalg as sla

from . import transforms
from ._internal.checks import as_query
from ._internal.memory import check_memory
from .gram import KernelSystem
from .norms import fp_norm
from .targets import Target

__all__ = ["PosteriorBound", "posterior_bound", "loo_error"]

_EPS = np.finfo(float).eps
# Relative accuracy taken for every kernel value: finufft's requested tolerance for box kernels, a few hundred units
# of rounding for the closed forms (Bernoulli polynomials of degree <= 8 by Horner).
_KERNEL_RTOL = max(transforms.DEFAULT_EPS, 256 * _EPS)
# The sup is taken over a grid of about this many points per data point (at most _SUP_MAX_POINTS points).
_SUP_PER_POINT = 16
_SUP_MAX_POINTS = 2**15
# Query points per block of the power function (each block costs an N x block product).
_BLOCK = 2048
# `f` must take the interpolated values at the points to this relative accuracy for the bound to be about it.
_INTERPOLATES_RTOL = 1e-8


class PosteriorBound:
    """The power-function bound of a fitted interpolant (:func:`posterior_bound`).

    Attributes
    ----------
    f_norm : float
        The upper end used for ``||f - h_ini||_gamma`` (value plus certified error, or as given).
    norm : float
        A certified lower bound on ``||h - h_ini||_gamma`` (weak duality with the computed dual coefficients).
    residual_norm : float
        ``||f - h||_gamma <= sqrt(f_norm^2 - norm^2)``: the factor that multiplies the power function.
    f_norm_status : str or None
        The status of ``f_norm`` when computed from `f` (see :func:`fpnorm.fp_norm`); None when given.
    """

    def __init__(self, system, W, f_norm, norm, f_norm_status):
        self._system, self._W = system, W
        self.f_norm, self.norm, self.f_norm_status = f_norm, norm, f_norm_status
        self.residual_norm = math.sqrt(max(f_norm**2 - norm**2, 0.0)) if math.isfinite(f_norm) else math.inf
        self._defect = _reproduction_defect(system, W)
        self._sup = self._l2 = None

    # -- the power function -----------------------------------------------------------------------------------
    def power_function(self, query):
        """A certified upper bound on ``P_X(x)`` at query points (shape (Q, d) or (Q,) in 1-d): shape (Q,).

        ``P_X(x)^2 <= Q(u) = kappa(0) - 2 u^T k_x + u^T G u`` for every weight vector ``u`` that reproduces the free
        modes; ``u`` is the computed Lagrange vector (equality when exact) and the subtraction's rounding is bounded
        by ``(2 (N + 3) eps + eta) kappa(0) (1 + ||u||_1)^2`` with ``eta`` the kernel values' relative accuracy
        (for a torus kernel at least its error bound over ``kappa(0)``).
        """
        ks = self._system
        q = as_query(query, ks.dim, ks.period)
        out = np.empty(q.shape[0])
        for start in range(0, q.shape[0], _BLOCK):
            sl = slice(start, start + _BLOCK)
            k = ks.cross(q[sl])
            u = self._W[:, : ks.N] @ k + self._W[:, ks.N:] @ ks.free_at(q[sl]).T
            value = ks.kappa0 - 2.0 * np.sum(u * k, axis=0) + np.sum(u * (ks.G @ u), axis=0)
            slack = (2 * (ks.N + 3) * _EPS + _rtol(ks)) * ks.kappa0 * (1.0 + np.sum(np.abs(u), axis=0)) ** 2
            out[sl] = np.sqrt(np.maximum(value + slack, 0.0))
        return out

    def pointwise(self, query):
        """The bound on ``|f(x) - h(x)|`` at query points: shape (Q,)."""
        if not math.isfinite(self.residual_norm):
            return np.full(as_query(query, self._system.dim, self._system.period).shape[0], math.inf)
        return self.power_function(query) * self.residual_norm + self._free_term()

    def _free_term(self):
        """The free modes' share: ``sum_b |r_b(x)| |(f - h)^_b|`` with ``r`` the reproduction defect of the computed
        weights (a few units of rounding) and ``|(f - h)^_b| <= 2 sup |f - h|``."""
        n_f = self._system.n_free
        if n_f == 0 or self._defect == 0:
            return 0.0
        grow = 2 * n_f * self._defect
        return grow * self._sup_penalised() / (1.0 - grow) if grow < 1 else math.inf

    # -- sup and L2 over the torus ----------------------------------------------------------------------------------
    def _sup_penalised(self):
        if self._sup is None:
            self._sup = self._sup_power() * self.residual_norm if math.isfinite(self.residual_norm) else math.inf
        return self._sup

    @property
    def sup(self):
        """A certified bound on ``sup_x |f(x) - h(x)|`` over the torus (see :func:`posterior_bound`)."""
        return self._sup_penalised() + self._free_term()

    def _sup_power(self):
        ks = self._system
        if ks.n_free and np.any(ks.free_means != 1.0):
            return math.inf   # free modes other than the constant change between a grid point and its cell
        n = max(2, int(min(_SUP_PER_POINT * ks.N, _SUP_MAX_POINTS) ** (1.0 / ks.dim)))
        h = ks.period / n
        axes = [np.arange(n) * h] * ks.dim
        grid = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
        top = float(np.max(self.power_function(grid)))
        return top + math.sqrt(2.0 * ks.cell_modulus(h / 2, _KERNEL_RTOL))

    @property
    def l2(self):
        """A certified bound on ``(E_x |f(x) - h(x)|^2)^(1/2)`` over the torus (see :func:`posterior_bound`)."""
        if self._l2 is None:
            mean, slack = _mean_power2(self._system, self._W)
            if not math.isfinite(self.residual_norm):
                self._l2 = math.inf
            else:
                self._l2 = math.sqrt(mean) * self.residual_norm + self._free_term()
            if slack > 0.1 * mean:
                # the root mean square never exceeds the sup, and the trace formula's rounding slack (ill-conditioned
                # G: large Lagrange weights) can: then the sup is the better bound
                self._l2 = min(self._l2, self.sup)
        return self._l2

    def to_dict(self):
        return {"f_norm": self.f_norm, "norm": self.norm, "residual_norm": self.residual_norm, "sup": self.sup,
                "l2": self.l2, "f_norm_status": self.f_norm_status}

    def __repr__(self):
        return (f"PosteriorBound(residual_norm={self.residual_norm:.4g}, f_norm={self.f_norm:.4g}, "
                f"norm={self.norm:.4g})")


def _rtol(ks):
    """The kernel values' accuracy relative to ``kappa(0)``: the rounding of box sums and closed forms, or a torus
    kernel's own error bound when larger."""
    return max(_KERNEL_RTOL, ks.kernel_error / ks.kappa0) if ks.kappa0 > 0 else _KERNEL_RTOL


def _inverse(ks):
    """``W``: the first ``N`` rows of ``B^-1`` (shape (N, N + n_f)), corrected so that ``F^T W = [0, I]`` up to
    rounding (the reproduction of the free modes that the error functional needs)."""
    B = ks.bordered()
    lu = sla.lu_factor(B, check_finite=False)
    W = sla.lu_solve(lu, np.eye(B.shape[0]), check_finite=False)[: ks.N]
    if ks.n_free:
        target = np.zeros((ks.n_free, B.shape[0]))
        target[:, ks.N:] = np.eye(ks.n_free)
        F = ks.F
        W += F @ np.linalg.solve(F.T @ F, target - F.T @ W)
    return W, lu


def _reproduction_defect(ks, W):
    """``max_b sup_x |p_b(x) - sum_j u_j(x) p_b(x_j)|`` for ``u(x) = W [k_x; p_x]``, from ``|k_x| <= kappa(0)``
    and ``|p_b| <= 1``."""
    if ks.n_free == 0:
        return 0.0
    D = ks.F.T @ W
    D[:, ks.N:] -= np.eye(ks.n_free)
    rows = np.sum(np.abs(D[:, : ks.N]), axis=1) * (ks.kappa0 + ks.kernel_error) + np.sum(np.abs(D[:, ks.N:]), axis=1)
    return float(np.max(rows)) * (1 + 4 * ks.N * _EPS)


def _mean_power2(ks, W):
    """A certified upper bound on the torus mean of ``P_X^2``: ``E_x Q(W v(x))`` for the computed weights, which is
    ``kappa(0) - 2 tr(W_1 G2) + tr(W_1^T G W_1 G2) + tr(W_2^T G W_2 D)`` (``E_x k_x k_x^T = G2``, ``E_x p_x p_x^T =
    D`` diagonal, ``E_x k_x p_x^T = 0`` since the free modes are not in the kernel), plus its rounding: ``(bound,
    rounding slack)``; ``(inf, inf)`` without a kernel of ``gamma^4``."""
    G2 = ks.second_moment()
    if G2 is None:
        return math.inf, math.inf
    N = ks.N
    W1, W2 = W[:, :N], W[:, N:]
    GW1 = ks.G @ W1
    value = ks.kappa0 - 2 * np.sum(W1 * G2.T) + np.sum((W1.T @ GW1) * G2.T)
    A1 = np.abs(W1)
    size = ks.kappa0 + 2 * np.sum(A1 * np.abs(G2).T) + np.sum((A1.T @ np.abs(ks.G) @ A1) * np.abs(G2).T)
    if ks.n_free:
        value += np.sum((W2.T @ ks.G @ W2) * np.diag(ks.free_means))
        size += np.sum((np.abs(W2).T @ np.abs(ks.G) @ np.abs(W2)) * np.diag(ks.free_means))
    slack = (4 * (N + 3) * _EPS + 2 * _KERNEL_RTOL) * float(size)
    if ks.kernel_error or ks.kernel4_error:
        # entries of G (and kappa(0)) within e1, of G2 within e2 (torus kernels): the perturbation of each term
        e1, e2 = ks.kernel_error, ks.kernel4_error
        col = np.sum(A1, axis=0)
        slack += e1 + 2 * e2 * float(np.sum(A1)) + e2 * float(np.sum(np.abs(W1.T @ GW1))) \
            + e1 * float(np.sum(np.outer(col, col) * (np.abs(G2).T + e2)))
        if ks.n_free:
            c2 = np.sum(np.abs(W2), axis=0)
            slack += e1 * float(np.sum(c2**2 * ks.free_means))
    return max(float(value) + slack, 0.0), slack


def _rhs(s):
    """The real right-hand sides ``y - h_ini(x)`` of a fitted interpolant as (N, m) columns (real and imaginary parts
    of complex data side by side)."""
    y = np.asarray(s.values)
    h0 = s.h_ini_at(s.points)
    r = (y if y.ndim == 2 else y[:, None]) - (h0 if h0.ndim == 2 else h0[:, None])
    return np.concatenate([r.real, r.imag], axis=1) if np.iscomplexobj(r) else r


def _interpolates(s, f):
    """Raise when the values fitted by `s` are not ``f`` at its points."""
    fx = np.asarray(f(s.points if s.dim > 1 else s.points[:, 0]))
    y = np.asarray(s.values)
    if y.shape != fx.shape:
        raise ValueError(f"Expected `s` to interpolate one function (values of shape {fx.shape}), got values of "
                         f"shape {y.shape}.")
    gap = float(np.max(np.abs(y - fx)))
    scale = float(np.max(np.abs(fx), initial=0.0)) or 1.0
    if gap > _INTERPOLATES_RTOL * scale:
        raise ValueError(f"Expected `s` to interpolate `f` (values = f(points)), got max |values - f(points)| = "
                         f"{gap:.3e}: the power-function bound is about the interpolant of f.")


def _in_box(f, s):
    """Raise when `f` has Fourier content beyond the interpolant's box (an integer K)."""
    if isinstance(f, Target):
        if f.band is None or f.band > s.K:
            raise ValueError(f"Expected `f` with no Fourier coefficients beyond the box |k|_inf <= K = {s.K} (the "
                             f"bound is a theorem about functions of the interpolant's space), got {f!r} "
                             f"(band {f.band}). Solve with K=None or a box that holds f.")
        return
    if not callable(f):
        c = np.asarray(f)
        K = (c.shape[0] - 1) // 2
        if K > s.K:
            inner = (slice(K - s.K, K + s.K + 1),) * c.ndim
            rest = c.copy()
            rest[inner] = 0
            if np.any(rest):
                raise ValueError(f"Expected `f` with no Fourier coefficients beyond the box |k|_inf <= K = {s.K}, "
                                 f"got nonzero coefficients out to |k|_inf = {K}.")


def posterior_bound(s, *, f=None, f_norm=None):
    """The power-function bound on ``|f(x) - h(x)|`` of a fitted interpolant, which holds for every sample set.

    Parameters
    ----------
    s : FPInterpolator
        A plain interpolant (no smoothing, tolerances or bounds) of one real right-hand side, integer ``K`` in any
        ``d`` or ``K=None``.
    f : callable, Target or array_like, optional
        The function `s` interpolates (checked at the points): its FP-norm ``||f - h_ini||_gamma`` comes from
        :func:`fpnorm.fp_norm`, value plus certified error. With an integer ``K``, ``f`` must lie in the box
        (a band-limited target or a coefficient array; the theorem is about the interpolant's own space).
    f_norm : float, optional
        ``||f - h_ini||_gamma`` as known to you, instead of `f` (you then assert ``f`` lies in the space).

    Returns
    -------
    PosteriorBound
        ``pointwise(q)``, ``sup``, ``l2`` and the norms used.

    Notes
    -----
    *Pointwise.* ``P_X(x)^2 = kappa(0) - [k_x; p_x]^T B^-1 [k_x; p_x]`` is computed as ``Q(u) = kappa(0) -
    2 u^T k_x + u^T G u`` at the computed Lagrange weights ``u = W [k_x; p_x]`` (``W`` from one LU factorisation of
    ``B``, corrected to reproduce the free modes). ``Q(u) >= P_X(x)^2`` for every such ``u``, so ill-conditioning only
    loosens the bound; the subtraction's rounding is added, never subtracted, and a negative result is read as 0
    only after that slack. ``||h - h_ini||_gamma`` is bounded below by weak duality,
    ``beta^T r / (beta^T G beta)^(1/2)`` with ``beta`` the computed dual coefficients (free modes projected out), so
    ``||f - h||_gamma`` is bounded above.

    *L2.* On the torus ``E_x k_x k_x^T = G2`` with ``G2_ij = sum_k gamma(k)^4 e^{2 pi i k.(x_i - x_j)/P}`` and
    ``E_x p_x p_x^T`` is diagonal (1 for the constant, 1/2 for a cosine or sine), so
    ``E_x P_X^2 = kappa(0) - tr(B^-1 E_x v v^T)`` exactly; it is evaluated as ``E_x Q(W v)`` with the rounding added.
    ``G2`` is a box sum for an integer ``K`` and, for ``K = None``, a closed form in 1-d (Bernoulli kernels of
    ``gamma^4``) or a combination of Ewald-split torus kernels in d = 1, 2, 3 (``gamma^4`` of ``PowerLaw(p)`` is
    ``PowerLaw(2p)``, of ``Sobolev(s)`` is ``Sobolev(2s)``, of LFP three power laws), whose error bounds enter the
    slack; where none exists ``l2`` is ``inf``.

    *Sup.* ``P_X`` is bounded on a grid of spacing ``h`` (about 16 points per data point), and inside each cell by
    ``P_X(x) <= P_X(y) + ||kappa_x - kappa_y|| = P_X(y) + (2 (kappa(0) - kappa(x - y)))^(1/2)`` (the Lagrange weights
    of the grid point ``y`` used at ``x``), with ``kappa(0) - kappa(z) <= sum_k gamma^2 min(2, (2 pi |k|_1 h/2P)^2
    / 2)`` on a box, its closed form (increasing on ``[0, P/2]``) for a 1-d closed-form ``K = None`` kernel, and
    ``sum_k gamma^2 min(2, 2 pi^2 |k|^2 delta^2)`` (``delta = sqrt(d) h / 2P``, an exact ball sum plus the tail
    ``2 (kappa(0) - ball sum)`` with ``kappa(0)`` at its certified upper end) for a torus kernel. Only a constant free
    mode is supported by this step (``sup`` is ``inf`` otherwise).

    For ``K = None`` in d = 2, 3 (and 1-d weights without a closed form) the kernel is the Ewald-split
    :class:`fpnorm.lattice_kernels.TorusKernel`; its error bound on every kernel value is added to each slack.

    The bound is about the exact interpolant; the computed one differs from it by the solve's error
    (``s.info.residual`` at the points).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, LFP, get_target
    >>> from fpnorm.posterior import posterior_bound
    >>> f = get_target("abs")
    >>> x = np.random.default_rng(0).random(64)
    >>> s = FPInterpolator(x, f(x), weight=LFP(1.0, 1.0, zero=1.0), K=None)
    >>> b = posterior_bound(s, f=f)
    >>> q = np.linspace(0, 1, 1001)
    >>> bool(np.all(np.abs(f(q) - s(q)) <= b.pointwise(q))), bool(np.max(np.abs(f(q) - s(q))) <= b.sup)
    (True, True)
    """
    if (f is None) == (f_norm is None):
        raise ValueError("Expected exactly one of `f` and `f_norm`, got "
                         f"{'both' if f is not None else 'neither'}.")
    if getattr(s, "smoothing", 0.0) or np.asarray(s.values).ndim != 1 or np.iscomplexobj(s.values):
        raise ValueError("Expected `s` to be a plain interpolant of one real right-hand side (no smoothing), got "
                         f"values of shape {np.shape(s.values)} and dtype {np.asarray(s.values).dtype}, smoothing = "
                         f"{getattr(s, 'smoothing', 0.0)}.")
    status = None
    if f is not None:
        if callable(f):
            _interpolates(s, f)
        if s.K is not None:
            _in_box(f, s)
        r = fp_norm(f, s.weight, h_ini=s.h_ini, period=s.period, full=True)
        status = r.status
        if status == "unresolved":
            f_norm = math.inf
        else:
            f_norm = r.value + r.error_bound
    elif not (f_norm >= 0):
        raise ValueError(f"Expected `f_norm` >= 0, got {f_norm!r}.")
    f_norm = float(f_norm)
    ks = KernelSystem.from_interpolant(s)
    W, _ = _inverse(ks)
    norm = _norm_lower(ks, W, _rhs(s)[:, 0])
    if f_norm < norm:
        raise ValueError(f"Expected `f_norm` >= ||h - h_ini||_gamma >= {norm:.6g} (the interpolant of f has the "
                         f"least norm among the functions that take f's values), got {f_norm:.6g}.")
    return PosteriorBound(ks, W, f_norm, norm, status)


def _norm_lower(ks, W, r):
    """A certified lower bound on ``||h - h_ini||_gamma``: ``beta^T r / (beta^T G beta)^(1/2)`` for any ``beta`` with
    ``F^T beta = 0`` (``<h, sum_j beta_j kappa_j> = beta^T r``), at the computed ``beta = W_1 r`` made exactly
    orthogonal to the free basis in exact arithmetic up to the rounding bounded here."""
    beta = W[:, : ks.N] @ r
    if ks.n_free:
        beta -= ks.F @ np.linalg.lstsq(ks.F, beta, rcond=None)[0]
    num = float(beta @ r)
    den = float(beta @ (ks.G @ beta))
    n = ks.N
    err_num = 2 * n * _EPS * float(np.abs(beta) @ np.abs(r))
    err_den = (2 * n * _EPS + _KERNEL_RTOL) * float(np.abs(beta) @ (np.abs(ks.G) @ np.abs(beta))) \
        + ks.kernel_error * float(np.sum(np.abs(beta))) ** 2
    if ks.n_free:
        # beta^T r = <h, sum beta_j kappa_j> + (F^T beta)^T c with c the free coefficients of h - h_ini; rounding
        # leaves F^T beta ~ eps |beta|, and |c| is taken as twice the computed one plus the data's scale
        c = np.linalg.lstsq(ks.F, r - ks.G @ (W[:, : ks.N] @ r), rcond=None)[0]
        scale = 2 * float(np.max(np.abs(c), initial=0.0)) + float(np.max(np.abs(r), initial=0.0))
        err_num += float(np.sum(np.abs(ks.F.T @ beta))) * scale
    num -= err_num
    den += err_den
    if num <= 0 or den <= 0:
        return 0.0
    return num / math.sqrt(den)


def loo_error(s, *, full=False):
    """The leave-one-out mean squared error of an interpolant by Rippa's formula, from one factorisation.

    Parameters
    ----------
    s : FPInterpolator
        A plain interpolant (no smoothing), integer ``K`` in any ``d`` or ``K=None``; several or complex right-hand
        sides are allowed.
    full : bool
        Return the residuals ``e_i = y_i - h^(-i)(x_i)`` (shape (N,) or (N, m)) instead of their mean square.

    Returns
    -------
    float or ndarray
        ``mean_i |e_i|^2`` (one value per right-hand side when there are several), or the residuals.

    Notes
    -----
    Removing point ``i`` from the bordered system ``B [alpha; c] = [r; 0]`` (``B = [[G, F], [F^T, 0]]``) and refitting
    gives ``e_i = alpha_i / (B^-1)_ii`` (Rippa 1999; with the free modes the bordered inverse's diagonal replaces
    ``(G^-1)_ii``). Exact in exact arithmetic; the factorisation's accuracy is that of ``B``'s conditioning (and, for
    ``K = None`` through the Ewald-split torus kernel in d = 2, 3, the kernel values are within
    ``KernelSystem.kernel_error``, a few units of rounding of ``kappa(0)``: an estimate, not a certified figure). For an
    integer ``K`` the refits are in the same box; with more free basis functions than ``N - 1`` points there is no
    refit and this raises.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> from fpnorm.posterior import loo_error
    >>> x = np.arange(8) / 8
    >>> s = FPInterpolator(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=2), K=None)   # piecewise linear
    >>> e = loo_error(s, full=True)   # dropping a node: the chord between its neighbours
    >>> bool(np.allclose(e, np.sin(2 * np.pi * x) * (1 - np.cos(2 * np.pi / 8))))
    True
    """
    if getattr(s, "smoothing", 0.0):
        raise ValueError(f"Expected a plain interpolant `s` (smoothing = 0), got smoothing = {s.smoothing}.")
    ks = KernelSystem.from_interpolant(s)
    if ks.N < ks.n_free + 2:
        raise ValueError(f"Expected at least {ks.n_free + 2} points in `s` for a leave-one-out refit with "
                         f"{ks.n_free} free basis functions, got {ks.N}.")
    check_memory(8 * 3 * (ks.N + ks.n_free) ** 2, f"the inverse of the {ks.N} x {ks.N} bordered kernel matrix")
    y = np.asarray(s.values)
    r = _rhs(s)
    B = ks.bordered()
    lu = sla.lu_factor(B, check_finite=False)
    inv = sla.lu_solve(lu, np.eye(B.shape[0]), check_finite=False)
    rhs = np.zeros((B.shape[0], r.shape[1]))
    rhs[: ks.N] = r
    alpha = inv[: ks.N] @ rhs
    e = alpha / np.diag(inv)[: ks.N, None]
    if np.iscomplexobj(y):
        m = e.shape[1] // 2
        e = e[:, :m] + 1j * e[:, m:]
    if y.ndim == 1:
        e = e[:, 0]
    if full:
        return e
    out = np.mean(np.abs(e) ** 2, axis=0)
    return float(out) if y.ndim == 1 else out

