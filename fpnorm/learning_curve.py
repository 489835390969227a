"""The predicted risk of minimum FP-norm interpolation from ``gamma`` and the target's coefficients alone.

On the torus with uniform samples the kernel's eigenfunctions are exactly the Fourier modes and its eigenvalues are
``lambda_k = gamma(k)^2``, so the spectral theory of kernel-regression learning curves (Bordelon, Canatar, Pehlevan,
arXiv 2002.02561; Canatar et al., arXiv 2006.13198; Simon et al., "eigenlearning") applies with no approximation in
the eigen-decomposition. In the ridgeless limit it reads

    sum_k lambda_k / (lambda_k + kappa) = M,        L_k = lambda_k / (lambda_k + kappa),
    E_0 = M / (M - sum_k L_k^2),                    mse = E_0 (sum_k (1 - L_k)^2 |f^(k)|^2 + noise^2),

with free modes (``gamma = inf``) learned exactly (``L_k = 1``), each using up one degree of freedom. The sums run
over all of ``Z^d`` (:func:`learning_curve`: shells of ``|k|_2`` with certified tails).
"""

import dataclasses
import math

import numpy as np
from scipy import integrate, optimize, signal

from . import transforms
from ._internal.checks import as_coefficients, check_int, check_period, check_real, evaluate_function
from .lattice import resize_box, torus_grid
from .lattice_sums import epstein_zeta, gamma_l2_info
from .targets import Target
from .weights import LFP, PowerLaw, Sobolev, check_weight

__all__ = ["LearningCurve", "learning_curve", "LEARNING_CURVE_STATUSES"]

# "certified": the coefficients are exact with certified tails (targets, arrays); "sampled": a callable's coefficients
# from grid FFTs, with the change between the last two grids as an uncertified error estimate.
LEARNING_CURVE_STATUSES = ("certified", "sampled")
_EPS = np.finfo(float).eps
# The shells' tail is cut where its effect on sum_k L_k is below this fraction of M.
_SHELL_RTOL = 1e-7
# Budget of shells n = |k|^2 (d >= 2) or of radii (d = 1), and of the target's box.
_MAX_SHELLS = 2**22
_MAX_BOX = 2**22
# A sampled callable's grid stops at this many points (a function with a jump or a kink never meets _COEF_RTOL).
_MAX_SAMPLED = 2**16
# The target's box grows until the coefficients' tail is below this fraction of their energy.
_COEF_RTOL = 1e-12
# Axis modes k = j e_1, j = 0.._TABLE - 1, in the learnability table.
_TABLE = 65


@dataclasses.dataclass(frozen=True)
class LearningCurve:
    """The eigenlearning prediction of the risk of minimum FP-norm interpolation (:func:`learning_curve`).

    Attributes
    ----------
    M : ndarray of int, shape (n,)
        Sample sizes.
    mse : ndarray, shape (n,)
        ``E_0 (sum_k (1 - L_k)^2 |f^(k)|^2 + noise^2)``: the predicted mean square error against noisy test labels;
        against ``f`` itself it is ``mse - noise^2``.
    error_bound : ndarray, shape (n,)
        Bound on ``|mse - formula|`` from the certified tails of the sums (an estimate when ``status`` is
        ``"sampled"``).
    effective_regularisation : ndarray, shape (n,)
        ``kappa``, the root of ``sum_k lambda_k / (lambda_k + kappa) = M``.
    e0 : ndarray, shape (n,)
        ``E_0 = M / (M - sum_k L_k^2)``, the factor by which noise (and bias) is amplified.
    bias : ndarray, shape (n,)
        ``sum_k (1 - L_k)^2 |f^(k)|^2``.
    learnability : ndarray, shape (n, 65)
        ``L_k`` at the axis modes ``k = j e_1``, ``j = 0..64`` (for the radial built-in weights, the shell
        ``|k|_2 = j``); 1 for a free mode.
    noise : float
    weight : Weight
    status : str
        One of :data:`LEARNING_CURVE_STATUSES`.
    """

    M: np.ndarray
    mse: np.ndarray
    error_bound: np.ndarray
    effective_regularisation: np.ndarray
    e0: np.ndarray
    bias: np.ndarray
    learnability: np.ndarray
    noise: float
    weight: object
    status: str

    def learnability_at(self, k):
        """``L_k`` for integer wave vectors `k` of shape (..., d): shape (n,) + k.shape[:-1]."""
        g = self.weight.gamma2(np.asarray(k))
        kap = self.effective_regularisation.reshape((-1,) + (1,) * g.ndim)
        return np.where(np.isinf(g), 1.0, g / (np.where(np.isinf(g), 0.0, g) + kap))

    @property
    def rmse(self):
        """``sqrt(mse)``: compare with the absolute-loss risk ``L(h) <= sqrt(E |h - f|^2)`` of the bound."""
        return np.sqrt(self.mse)


def _radial(weight, n):
    """``gamma(k)^2`` as a function of ``n = |k|_2^2 >= 1`` (float array), for the built-in weights."""
    d = weight.dim
    if isinstance(weight, PowerLaw):
        return (4 * math.pi**2 * n) ** (-weight.p / 2)
    if isinstance(weight, LFP):
        return weight.a * n ** (-(d + 1) / 2) + weight.b * n ** (-(d + 3) / 2)
    return (1.0 + 4 * math.pi**2 * n) ** -weight.s


def _nonzero_total(weight, power):
    """``(sum_{k != 0} gamma(k)^(2 power), error bound)`` for ``power`` 1 or 2 (Epstein zeta sums)."""
    d = weight.dim
    if isinstance(weight, PowerLaw):
        z, e = epstein_zeta(power * weight.p, d, full=True)[:2]
        c = (2 * math.pi) ** (-power * weight.p)
        return c * z, c * e + 4 * _EPS * c * z
    if isinstance(weight, LFP):
        a, b = weight.a, weight.b
        terms = ((a, d + 1.0), (b, d + 3.0)) if power == 1 else ((a * a, 2 * d + 2.0), (2 * a * b, 2 * d + 4.0),
                                                                 (b * b, 2 * d + 6.0))
        total = err = 0.0
        for coef, s in terms:
            if coef:
                z, e = epstein_zeta(s, d, full=True)[:2]
                total, err = total + coef * z, err + coef * e
        return total, err + 4 * _EPS * total
    info = gamma_l2_info(weight if power == 1 else Sobolev(s=2 * weight.s, dim=d))
    return info.sum - 1.0, 2 * info.value * info.error_bound + 2 * _EPS * info.sum


def _intersect(a, b):
    return max(a[0], b[0]), max(min(a[1], b[1]), max(a[0], b[0]))


def _shells(d, R):
    """``(n, r_d(n))`` over the nonempty shells ``1 <= n <= R^2``."""
    if d == 1:
        j = np.arange(1, R + 1, dtype=float)
        return j * j, np.full(j.size, 2.0)
    n_max = R * R
    theta = np.zeros(n_max + 1)
    theta[np.arange(0, R + 1) ** 2] = 2.0
    theta[0] = 1.0
    out = theta
    for _ in range(d - 1):
        out = np.rint(signal.fftconvolve(out, theta)[: n_max + 1])
    n = np.flatnonzero(out[1:] > 0) + 1
    return n.astype(float), out[n]


class _Spectrum:
    """``lambda_k`` over ``Z^d``: exact shell sums inside ``|k|_2 <= R`` and certified brackets outside."""

    def __init__(self, weight):
        self.weight, self.d = weight, weight.dim
        self.free = 1 if (not isinstance(weight, Sobolev) and weight.zero is None) else 0
        self.zero = 0.0 if self.free or isinstance(weight, Sobolev) else weight.zero
        if isinstance(weight, Sobolev):
            self.zero = 1.0
        self.total, self.total_err = _nonzero_total(weight, 1)
        self.total2, self.total2_err = _nonzero_total(weight, 2) if math.isfinite(self.total) else (math.inf, 0.0)
        self.R = None

    def set_radius(self, R):
        self.R = R
        self.n, self.count = _shells(self.d, R)
        self.lam = _radial(self.weight, self.n)
        inside = float(np.sum(self.count * self.lam))
        inside2 = float(np.sum(self.count * self.lam**2))
        # the sums over |k| > R: the Epstein totals minus the shells, brackets [low, high] with both errors
        err1 = self.total_err + 8 * _EPS * self.total
        err2 = self.total2_err + 8 * _EPS * self.total2
        self.t1 = (max(self.total - inside - err1, 0.0), self.total - inside + err1)
        self.t2 = (max(self.total2 - inside2 - err2, 0.0), max(self.total2 - inside2 + err2, 0.0))
        if self.d == 1:
            # the subtraction leaves ~eps * total, which 1/kappa amplifies at large M; in 1-d the tails are also
            # bracketed by integrals of the decreasing lambda: 2 int_{R+1}^inf <= sum_{|j| > R} <= 2 int_R^inf
            self.t1 = _intersect(self.t1, self._integrals(R, 1))
            self.t2 = _intersect(self.t2, self._integrals(R, 2))
        R_out = math.sqrt(self.n[-1] + 1) if self.d > 1 else R + 1.0
        self.lam_out = float(_radial(self.weight, np.array(R_out * R_out)))   # the largest lambda outside

    def _integrals(self, R, power):
        def lam(u):
            return float(_radial(self.weight, np.array(u * u))) ** power

        lo, lo_err = integrate.quad(lam, R + 1.0, np.inf, epsabs=0.0, epsrel=1e-12, limit=200)
        hi, hi_err = integrate.quad(lam, float(R), np.inf, epsabs=0.0, epsrel=1e-12, limit=200)
        return 2 * max(lo - lo_err, 0.0) * (1 - 1e-12), 2 * (hi + hi_err) * (1 + 1e-12)

    def _outside(self, kappa):
        """Brackets of ``sum_{|k| > R} L_k`` and ``sum_{|k| > R} L_k^2``: with ``lambda <= lam_out`` there,
        ``max(lambda/kappa - lambda^2/kappa^2, lambda/(lam_out + kappa)) <= L <= lambda/kappa -
        lambda^2/(kappa (lam_out + kappa))`` and ``(lambda/(lam_out + kappa))^2 <= L^2 <= lambda^2/kappa^2``."""
        (t1l, t1h), (t2l, t2h) = self.t1, self.t2
        c = self.lam_out + kappa
        s1 = (max(t1l / kappa - t2h / kappa**2, t1l / c), t1h / kappa - t2l / (kappa * c))
        s2 = (t2l / c**2, min(t2h / kappa**2, t1h / kappa))
        return s1, s2

    def sums(self, kappa, upper):
        """``(sum L_k, sum L_k^2)`` with the outside part at its upper (`upper`) or lower end."""
        L = self.lam / (self.lam + kappa)
        zero = self.zero / (self.zero + kappa) if self.zero else 0.0
        s1 = self.free + zero + float(np.sum(self.count * L))
        s2 = self.free + zero**2 + float(np.sum(self.count * L * L))
        o1, o2 = self._outside(kappa)
        return s1 + o1[int(upper)], s2 + o2[int(upper)]

    def width(self, kappa):
        """How far the outside brackets move ``sum L`` and ``sum L^2``."""
        o1, o2 = self._outside(kappa)
        return max(o1[1] - o1[0], o2[1] - o2[0])

    def solve(self, M, upper):
        def excess(log_kappa):
            return self.sums(math.exp(log_kappa), upper)[0] - M
        lo, hi = -50.0, 5.0
        while excess(lo) < 0:
            lo -= 50.0
        while excess(hi) > 0:
            hi += 20.0
        return math.exp(optimize.brentq(excess, lo, hi, xtol=1e-15, rtol=4 * _EPS))


def _coefficients(f, f_coef, h_ini, d, period):
    """``(c, tail_high, status)``: the coefficients of ``f - h_ini`` on a box and a bound on ``sum |c_k|^2`` beyond
    it (an estimate for a sampled callable)."""
    items = [(f, 1.0), (f_coef, 1.0), (h_ini, -1.0)]
    arrays, targets, funcs = [], [], []
    for item, sign in items:
        if item is None:
            continue
        if isinstance(item, Target) and item.dim == d and item.period == period:
            targets.append((sign, item))
        elif callable(item):
            funcs.append((sign, item))
        else:
            arrays.append(sign * as_coefficients(item, d, "f_coef" if item is f_coef else "h_ini"))
    K0 = max([(a.shape[0] - 1) // 2 for a in arrays] + [t.band or 0 for _, t in targets] + [0])
    exact = sum((resize_box(a, K0) for a in arrays), np.zeros((2 * K0 + 1,) * d, dtype=complex))
    if not targets and not funcs:
        return exact, 0.0, "certified"
    banded = all(t.band is not None for _, t in targets) and not funcs
    K = K0 if banded else max(K0, 32)
    aux = PowerLaw(p=2.0, dim=d, zero=1.0)
    prev = None
    while True:
        c = resize_box(exact, K) + sum(sign * t.coefficients(K) for sign, t in targets)
        if funcs:
            n = 2 * K + 1
            x = torus_grid(n, d, period)
            vals = sum(sign * evaluate_function(fn, x, "f", x.shape[0], d) for sign, fn in funcs)
            c = c + transforms.grid_coefficients(np.asarray(vals).reshape((n,) * d))
        energy = float(np.sum(np.abs(c) ** 2))
        if funcs:
            tail = math.inf if prev is None else float(np.sum(np.abs(resize_box(prev, K) - c) ** 2))
        else:   # sum_{|k|_inf > K} |c|^2 <= sum (2 pi |k|)^2 |c|^2 / (2 pi (K+1))^2, Minkowski over the targets
            roots = [math.sqrt(t.tail_bound(aux, K).high) for _, t in targets]
            tail = sum(roots) ** 2 / (2 * math.pi * (K + 1)) ** 2
        if tail <= _COEF_RTOL * energy or (2 * (2 * K + 1) + 1) ** d > (_MAX_SAMPLED if funcs else _MAX_BOX):
            return c, tail, "sampled" if funcs else "certified"
        prev, K = c, 2 * K + 1


def learning_curve(M, *, weight, f=None, f_coef=None, h_ini=None, noise=0.0, period=1.0):
    """The predicted mean square error of the minimum FP-norm interpolant of ``M`` uniform samples (eigenlearning).

    Parameters
    ----------
    M : int or array_like of int
        Sample sizes, each larger than the number of free modes.
    weight : Weight
        A built-in weight (:class:`~fpnorm.PowerLaw`, :class:`~fpnorm.LFP`, :class:`~fpnorm.Sobolev`) with a
        convergent ``sum_k gamma(k)^2`` over the penalised modes.
    f : callable or Target, optional
        The target. A target from :func:`fpnorm.get_target` gives exact coefficients with certified tails; another
        callable is sampled on grids (``status = "sampled"``).
    f_coef : array_like, optional
        The target's Fourier coefficients on a box ``(2K+1,)*d`` instead of (or added to) `f`.
    h_ini : callable, Target or array_like, optional
        The initial function; ``f - h_ini`` is what is learned.
    noise : float
        Standard deviation of independent label noise.
    period : float

    Returns
    -------
    LearningCurve

    Notes
    -----
    *What it predicts.* ``mse - noise^2`` is the predicted ``E_x |h_M(x) - f(x)|^2`` (squared loss, uniform ``x``) of
    the interpolant of ``M`` uniform samples, averaged in the theory over sample sets. It is exact in the limit of
    large ``M`` with the spectrum rescaled (the ``1/M`` corrections are not included) and assumes i.i.d. uniform
    points. Since ``E|h - f| <= (E|h - f|^2)^(1/2)``, ``rmse`` predicts an upper value of the absolute-loss risk
    ``L(h_M)`` of the a-priori bound (18).

    *Typical or mean?* For uniform points on the torus the error of an interpolant is local: a sample set with a wide
    gap where ``f`` is rough (a kink) has a much larger error than a typical one. Measured over sample sets (notebook
    03, ``tests/test_learning_curve.py``; ``M = 32, 128, 512``), the prediction divided by the **median** Monte-Carlo
    MSE is 0.88, 1.35, 2.4 for ``pi^2 B_2({x})`` (coefficients ``1/(2 k^2)``, ``LFP(1, 1, zero=1)``, exact ``K = None``
    solves, 200 sets), 0.42, 0.43, 0.59 for ``abs`` (300 sets), and 0.76 to 0.98 for ``abs`` in 2-d under
    ``PowerLaw(3)`` and ``LFP(1, 1)`` (12 sets). The **mean** is 3.5 to 4.5 times the median in 1-d, dominated by the
    rare sets with a wide gap at the kink, and equal to it within 1.3x in 2-d (many small gaps). The formula is a
    typical-case prediction. It is made for target spectra like power laws: for ``poisson`` (coefficients ``2^-|k|``)
    under ``LFP(1, 1)`` it is 0.2 to 0.5 times the median (20 sets), and for ``gauss`` (coefficients decaying faster
    than exponentially) under ``PowerLaw(4)`` it falls 7 to 100 times below the median at ``M = 32..512``: the
    measured error is then set by the widest gaps, not by the spectrum.

    *Certified sums.* For the radial built-in weights ``lambda_k`` depends on ``|k|_2^2 = n`` only: the sums run over
    the shells ``n <= R^2`` with their exact counts, and beyond them ``lambda/kappa - lambda^2/kappa^2 <= L <=
    lambda/kappa`` with ``sum_{|k| > R} lambda`` the Epstein-zeta total minus the shells and ``sum_{|k| > R}
    lambda^2 <= lambda_max sum_{|k| > R} lambda``. ``R`` grows until
    that bracket moves ``sum L`` by less than ``1e-7 M``. The bias sums the target's coefficients on a box and
    bounds the rest by ``sum_{|k|_inf > K} |f^(k)|^2`` (the target's certified tail, :meth:`Target.tail_bound`).
    ``kappa`` is solved at both ends of the brackets and ``error_bound`` spans the results.

    Examples
    --------
    >>> from fpnorm import LFP, get_target
    >>> from fpnorm.learning_curve import learning_curve
    >>> lc = learning_curve([32, 128], weight=LFP(1.0, 1.0, zero=1.0), f=get_target("abs"))
    >>> [f"{v:.2e}" for v in lc.mse]
    ['2.35e-05', '2.68e-07']
    >>> bool(lc.learnability[0, 1] > lc.learnability[0, 10])    # low frequencies are learned first
    True
    """
    weight = check_weight(weight)
    d = weight.dim
    if not isinstance(weight, (PowerLaw, LFP, Sobolev)):
        raise ValueError(f"Expected a built-in weight (PowerLaw, LFP, Sobolev), whose spectrum over Z^d has "
                         f"certified sums, got {weight!r}.")
    period = check_period(period)
    noise = check_real(noise, "noise", minimum=0.0)
    Ms = np.atleast_1d(np.asarray(M))
    if Ms.dtype.kind not in "iu" and not (Ms.dtype.kind == "f" and np.all(Ms == np.round(Ms))):
        raise TypeError(f"Expected `M` to be an integer or an array of integers, got dtype {Ms.dtype}.")
    Ms = Ms.astype(np.int64).reshape(-1)
    if f is None and f_coef is None:
        raise ValueError("Expected `f` or `f_coef` (the target), got neither.")
    spec = _Spectrum(weight)
    if not math.isfinite(spec.total):
        raise ValueError(f"Expected a weight with sum_k gamma(k)^2 < inf over the penalised modes, got {weight!r}: "
                         f"the interpolation problem is ill-posed and has no learning curve.")
    for m in Ms:
        check_int(int(m), "M", minimum=spec.free + 1)
    c, c_tail, status = _coefficients(f, f_coef, h_ini, d, period)
    K = (c.shape[0] - 1) // 2
    g = weight.box(K)
    power = np.abs(c) ** 2
    out = {k: [] for k in ("kappa", "e0", "bias", "mse", "err", "table")}
    spec.set_radius(max(16, int(4 * max(Ms.max(), 2) ** (1.0 / d))))
    for m in Ms:
        results = []
        for upper in (True, False):
            while True:
                kappa = spec.solve(float(m), upper)
                if spec.width(kappa) <= _SHELL_RTOL * m or _next_radius(spec) is None:
                    break
                spec.set_radius(_next_radius(spec))
            s2 = spec.sums(kappa, upper)[1]
            e0 = m / (m - s2)
            one_minus = np.where(np.isinf(g), 0.0, kappa / (np.where(np.isinf(g), 0.0, g) + kappa))
            bias = float(np.sum(one_minus**2 * power))
            for tail in (0.0, c_tail):
                results.append((kappa, e0, bias + tail, e0 * (bias + tail + noise**2)))
        mses = [r[3] for r in results]
        kappa, e0, bias, _ = results[0]
        mid = 0.5 * (max(mses) + min(mses))
        out["kappa"].append(kappa)
        out["e0"].append(e0)
        out["bias"].append(bias + 0.5 * c_tail)
        out["mse"].append(mid)
        out["err"].append(0.5 * (max(mses) - min(mses)) + 8 * _EPS * mid)
        j = np.arange(_TABLE, dtype=float)
        lam = np.where(j == 0, spec.zero if not spec.free else math.inf, _radial(weight, np.maximum(j, 1) ** 2))
        out["table"].append(np.where(np.isinf(lam), 1.0, lam / (np.where(np.isinf(lam), 0.0, lam) + kappa)))
    return LearningCurve(Ms, np.array(out["mse"]), np.array(out["err"]), np.array(out["kappa"]),
                         np.array(out["e0"]), np.array(out["bias"]), np.array(out["table"]), noise, weight, status)


def _next_radius(spec):
    R = 2 * spec.R
    return R if (R if spec.d == 1 else R * R) <= _MAX_SHELLS else None
