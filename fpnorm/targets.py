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
"""

import math

import numpy as np
from scipy import special

from ._internal.checks import as_query, check_choice, check_int, check_period

__all__ = ["Target", "get_target", "TARGETS"]

# Names understood by get_target (CLI --target, sweeps, validation).
TARGETS = ("sin", "bandlimited", "poisson", "gauss", "abs")

_R_POISSON = 0.5
_KAPPA_GAUSS = 1.0 / (2 * math.pi * 0.1) ** 2


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
            if self.name == "poisson":
                one = _R_POISSON ** np.abs(k).astype(float)
            else:
                one = (-1.0) ** np.abs(k) * special.ive(np.abs(k), _KAPPA_GAUSS)
            out = one.astype(complex)
            for _ in range(d - 1):
                out = np.multiply.outer(out, one)
            return out
        c = np.zeros((2 * K + 1,) * d, dtype=complex)
        centre = (K,) * d

        def put(vec, value):
            if max(abs(v) for v in vec) <= K:
                c[tuple(K + v for v in vec)] += value

        if self.name == "abs":
            c[centre] += 0.25
        elif self.name == "bandlimited":
            c[centre] += 0.2
        for j in range(d):
            e = [0] * d
            for m in range(1, K + 1):
                e[j] = m
                plus, minus = tuple(e), tuple(-v for v in e)
                if self.name == "sin" and m == 1:
                    put(plus, -0.5j / d)
                    put(minus, 0.5j / d)
                elif self.name == "bandlimited" and m in (1, 3):
                    amp = 0.5 if m == 1 else 0.5 * np.exp(0.3j) / 2j
                    put(plus, amp / d)
                    put(minus, np.conj(amp) / d)
                elif self.name == "abs" and m % 2 == 1:
                    put(plus, 1.0 / (d * math.pi**2 * m * m))
                    put(minus, 1.0 / (d * math.pi**2 * m * m))
        if self.name == "bandlimited" and d >= 2:
            e = [0] * d
            e[0] = e[1] = 1
            put(tuple(e), 0.125)
            put(tuple(-v for v in e), 0.125)
        return c

    def __repr__(self):
        return f"get_target({self.name!r}, dim={self.dim}, period={self.period})"


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
