"""A small registry of named target functions on the torus ``[0, P)^d``, smooth and rough, in any dimension.

Every target is a callable ``f(x)`` with ``x`` of shape (Q, d) (or (Q,) when d = 1) returning shape (Q,), and
knows its exact Fourier coefficients (``h^(k) = P^-d int f e^{-2 pi i k.x/P}``) on any box, so norms and risks
computed from samples can be checked against exact values. With ``u = x / P``:

==============  ==============================================================  ======================
name            f(u)                                                            coefficients
==============  ==============================================================  ======================
``sin``         ``(1/d) sum_j sin(2 pi u_j)``                                   ``-+ i/(2d)`` at ``+-e_j``
``bandlimited`` ``0.2 + (1/d) sum_j [cos(2 pi u_j) + 0.5 sin(6 pi u_j + 0.3)]``  band ``|k|_inf <= 3``
                ``+ 0.25 cos(2 pi (u_1 + u_2))`` (d >= 2)
``poisson``     ``prod_j (1 - r^2) / (1 - 2 r cos(2 pi u_j) + r^2)``, r = 1/2     ``r^|k|_1`` (analytic)
``gauss``       ``prod_j exp(kappa (cos(2 pi (u_j - 1/2)) - 1))``, a bump of      ``prod (-1)^k_j e^-kappa
                width sigma = 0.1 at the centre, ``kappa = 1/(2 pi sigma)^2``     I_k_j(kappa)``
``abs``         ``(1/d) sum_j |u_j - 1/2|`` (kinks: rough)                       ``1/(d pi^2 k^2)``, k odd
==============  ==============================================================  ======================

Each target also bounds what lies beyond any box: :meth:`Target.tail_bound` brackets
``sum_{|k|_inf > K} gamma(k)^-2 |f^(k)|^2`` rigorously from the exact coefficients and the weight's growth
(:func:`fpnorm.weights.weight_growth`), or says that the sum diverges, so :func:`fpnorm.fp_norm` of a target is
exact, certified, or infinite.
"""

import dataclasses
import math

import numpy as np
from scipy import special

from ._internal.checks import as_query, check_choice, check_int, check_period
from .weights import check_weight, weight_growth

__all__ = ["Target", "TailBound", "get_target", "TARGETS"]

# Names understood by get_target (CLI --target, sweeps, validation).
TARGETS = ("sin", "bandlimited", "poisson", "gauss", "abs")

_R_POISSON = 0.5
_KAPPA_GAUSS = 1.0 / (2 * math.pi * 0.1) ** 2
# Relative slack on closed-form sums (scipy's Hurwitz zeta and Bessel values are accurate to a few ulps).
_SLACK = 1e-13


@dataclasses.dataclass(frozen=True)
class TailBound:
    """A bracket ``low <= sum_{|k|_inf > K} gamma(k)^-2 |f^(k)|^2 <= high`` (:meth:`Target.tail_bound`).

    Attributes
    ----------
    low, high : float
        Both ``math.inf`` when the sum diverges.
    reason : str or None
        Why it diverges.
    """

    low: float
    high: float
    reason: str | None = None


class Target:
    """A named function on the torus with exact Fourier coefficients; make one with :func:`get_target`.

    Attributes
    ----------
    name : str
    dim : int
    period : float
    band : int or None
        The largest ``|k|_inf`` with a nonzero coefficient (None: not band-limited).
    smooth : bool
        False for targets with kinks (``abs``).
    """

    def __init__(self, name, dim, period):
        self.name = check_choice(name, "name", TARGETS)
        self.dim = check_int(dim, "dim", minimum=1)
        self.period = check_period(period)
        self.band = {"sin": 1, "bandlimited": 3}.get(name)
        self.smooth = name != "abs"

    def __call__(self, x):
        u = as_query(x, self.dim, self.period) / self.period
        d, tau = self.dim, 2 * math.pi
        if self.name == "sin":
            return np.mean(np.sin(tau * u), axis=1)
        if self.name == "bandlimited":
            out = 0.2 + np.mean(np.cos(tau * u) + 0.5 * np.sin(3 * tau * u + 0.3), axis=1)
            if d >= 2:
                out += 0.25 * np.cos(tau * (u[:, 0] + u[:, 1]))
            return out
        if self.name == "poisson":
            r = _R_POISSON
            return np.prod((1 - r * r) / (1 - 2 * r * np.cos(tau * u) + r * r), axis=1)
        if self.name == "gauss":
            return np.prod(np.exp(_KAPPA_GAUSS * (np.cos(tau * (u - 0.5)) - 1.0)), axis=1)
        return np.mean(np.abs(u - 0.5), axis=1)

    def coefficients(self, K):
        """Exact Fourier coefficients on the box ``|k|_inf <= K``, complex array of shape ``(2K+1,)*d``."""
        K = check_int(K, "K", minimum=0)
        d = self.dim
        k = np.arange(-K, K + 1)
        if self.name in ("poisson", "gauss"):
            one = self._factor(k) * (1.0 if self.name == "poisson" else (-1.0) ** np.abs(k))
            out = one.astype(complex)
            for _ in range(d - 1):
                out = np.multiply.outer(out, one)
            return out
        c = np.zeros((2 * K + 1,) * d, dtype=complex)
        centre = (K,) * d
        line = np.zeros(2 * K + 1, dtype=complex)  # the coefficients along one axis, k = m e_j
        m = np.abs(k)
        if self.name == "abs":
            c[centre] = 0.25
            odd = m % 2 == 1
            line[odd] = 1.0 / (d * math.pi**2 * m[odd].astype(float) ** 2)
        elif self.name == "sin":
            line[m == 1] = np.array([0.5j, -0.5j])[: int(np.sum(m == 1))] / d
        else:
            c[centre] = 0.2
            amp = {1: 0.5, 3: 0.5 * np.exp(0.3j) / 2j}
            for mm, a in amp.items():
                if mm <= K:
                    line[K + mm], line[K - mm] = a / d, np.conj(a) / d
        for j in range(d):
            idx = list(centre)
            idx[j] = slice(None)
            c[tuple(idx)] += line
        if self.name == "bandlimited" and d >= 2 and K >= 1:
            e = np.array(centre)
            e[:2] += 1
            c[tuple(e)] += 0.125
            e[:2] -= 2
            c[tuple(e)] += 0.125
        return c

    def _factor(self, m):
        """The coefficients' modulus along one axis of a product target (poisson, gauss), at integers ``m``."""
        m = np.abs(np.asarray(m))
        if self.name == "poisson":
            return _R_POISSON ** m.astype(float)
        return special.ive(m, _KAPPA_GAUSS)

    def tail_bound(self, weight, K):
        """Bracket ``sum_{|k|_inf > K} gamma(k)^-2 |f^(k)|^2``: the part of ``||f||_gamma^2`` outside the box.

        Parameters
        ----------
        weight : Weight
            A weight of dimension :attr:`dim`.
        K : int
            Box half-width, ``K >= 0``.

        Returns
        -------
        TailBound or None
            A rigorous bracket (``inf`` when the sum diverges); None when `weight` was made from a callable (its
            growth beyond the box is not known).

        Notes
        -----
        Free modes (``gamma = inf``) count 0. With ``c_low r^P <= gamma^-2 <= c_high r^P`` for ``r = |k|_2 > K``
        (:func:`fpnorm.weights.weight_growth`):

        - ``sin``, ``bandlimited``: the exact remainder of a finite sum (0 once ``K`` reaches the band).
        - ``abs``: ``f^(+-m e_j) = 1/(d pi^2 m^2)`` for odd ``m`` and nothing else off the centre, so the tail is
          ``(2/(d pi^4)) sum_{odd m > K} gamma(m e_1)^-2 m^-4``, between ``c_low`` and ``c_high`` times
          ``(2/(d pi^4)) 2^-s zeta(s, m_0/2)`` with ``s = 4 - P`` and ``m_0`` the first odd ``m > K`` (Hurwitz zeta);
          it diverges when ``P >= 3``.
        - ``poisson``, ``gauss``: ``|f^(k)|^2 = prod_j g(k_j)``. Every ``k`` outside the box has some
          ``|k_i| > K``, and ``|k|_2^P <= |k|_1^P <= max(1, d^(P-1)) sum_j |k_j|^P``, so the tail is at most
          ``c_high max(1, d^(P-1)) d (T_P S_0^(d-1) + (d-1) T_0 S_P S_0^(d-2))`` with ``S_q = sum_m |m|^q g(m)``
          and ``T_q`` the same over ``|m| > K``. ``S_0`` is ``(1 + r^2)/(1 - r^2)`` (poisson) or
          ``e^(-2 kappa) I_0(2 kappa)`` (gauss, Neumann's addition theorem); the tails use ``g = r^(2m)`` and
          ``e^-kappa I_m(kappa) <= (kappa/2)^m / m!`` with a geometric bound once the terms' ratio is below 1/2.
          The lower end is 0.

        Examples
        --------
        >>> import math
        >>> from fpnorm import PowerLaw
        >>> from fpnorm.targets import get_target
        >>> t = get_target("abs").tail_bound(PowerLaw(p=2), 0)   # all of sum 2 (2 pi m)^2 / (pi^2 m^2)^2 = 1
        >>> round(t.low, 12), round(t.high, 12)
        (1.0, 1.0)
        >>> get_target("abs").tail_bound(PowerLaw(p=4), 10).high
        inf
        """
        check_weight(weight)
        if weight.dim != self.dim:
            raise ValueError(f"Expected `weight` of dim {self.dim} (the target's), got dim {weight.dim}.")
        K = check_int(K, "K", minimum=0)
        if self.band is not None:
            if K >= self.band:
                return TailBound(0.0, 0.0)
            c = self.coefficients(self.band)
            c[(slice(self.band - K, self.band + K + 1),) * self.dim] = 0.0
            g2 = weight.box(self.band)
            total = float(np.sum(np.where(np.isinf(g2), 0.0, np.abs(c) ** 2 / g2)))
            return TailBound(total * (1 - _SLACK), total * (1 + _SLACK))
        growth = weight_growth(weight, K + 1.0)
        if growth is None:
            return None
        if self.name == "abs":
            return self._abs_tail(weight, K, *growth)
        return self._product_tail(K, *growth)

    def _abs_tail(self, weight, K, P, c_low, c_high):
        d, s = self.dim, 4.0 - P
        if s <= 1.0:
            return TailBound(math.inf, math.inf, (
                f"the target 'abs' has Fourier coefficients 1/(d pi^2 m^2) at k = +-m e_j for every odd m, and "
                f"gamma(k)^-2 grows like |k|^{P:g} for {weight!r}, so sum_k gamma(k)^-2 |f^(k)|^2 is a multiple of "
                f"sum over odd m of m^{P - 4:g}, which diverges (exponent >= -1)"))
        m0 = K + 1 if K % 2 == 0 else K + 2
        base = 2.0 / (d * math.pi**4) * 2.0**-s * float(special.zeta(s, m0 / 2.0))
        return TailBound(c_low * base * (1 - _SLACK), c_high * base * (1 + _SLACK))

    def _product_tail(self, K, P, c_low, c_high):
        d = self.dim
        if self.name == "poisson":
            r2 = _R_POISSON**2
            s0 = (1 + r2) / (1 - r2)

            def log_majorant(m):
                return m * math.log(r2)

            def ratio(m):
                return r2
        else:
            s0 = float(special.ive(0, 2 * _KAPPA_GAUSS))
            half = _KAPPA_GAUSS / 2

            def log_majorant(m):
                return 2 * (m * math.log(half) - math.lgamma(m + 1))

            def ratio(m):
                return (half / (m + 1)) ** 2
        s0 *= 1 + _SLACK

        def tail(q, m0):  # >= sum_{m >= m0} m^q g(m), m0 >= 1
            return _geometric_tail(lambda m: math.exp(q * math.log(m) + log_majorant(m)),
                                   lambda m: (1 + 1 / m) ** q * ratio(m), m0)

        t_p, t_0 = 2 * tail(P, K + 1), 2 * tail(0.0, K + 1)
        m = np.arange(1, K + 1)
        explicit = float(np.sum(m.astype(float) ** P * self._factor(m) ** 2))
        s_p = (2 * (explicit + tail(P, K + 1)) + (float(self._factor(0)) ** 2 if P == 0 else 0.0)) * (1 + _SLACK)
        const = c_high * max(1.0, d ** (P - 1)) * d
        high = const * (t_p * s0 ** (d - 1) + (d - 1) * t_0 * s_p * s0 ** max(d - 2, 0))
        return TailBound(0.0, high * (1 + _SLACK))

    def __eq__(self, other):
        return (type(self) is type(other) and (self.name, self.dim, self.period)
                == (other.name, other.dim, other.period))

    def __hash__(self):
        return hash((self.name, self.dim, self.period))

    def __repr__(self):
        return f"get_target({self.name!r}, dim={self.dim}, period={self.period})"


def _geometric_tail(term, ratio, m0):
    """Upper bound on ``sum_{m >= m0} term(m)`` when ``ratio(m)`` bounds ``term(m'+1)/term(m')`` for all
    ``m' >= m`` (a nonincreasing bound): terms are added until the ratio is at most 1/2, then a geometric series."""
    total, m = 0.0, m0
    while ratio(m) > 0.5:
        total += term(m)
        m += 1
    return total + term(m) / (1 - ratio(m))


def get_target(name, dim=1, *, period=1.0):
    """The registered target `name` on the torus ``[0, period)^dim``.

    Parameters
    ----------
    name : str
        One of :data:`TARGETS`.
    dim : int
        Dimension ``d``.
    period : float
        Period ``P``.

    Returns
    -------
    Target
        Callable ``(Q, d)`` (or ``(Q,)`` in 1-d) -> ``(Q,)``, with ``coefficients(K)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm.targets import get_target
    >>> f = get_target("sin", dim=2)
    >>> float(f(np.array([[0.25, 0.0]]))[0])
    0.5
    """
    return Target(name, dim, period)
