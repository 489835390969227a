"""Closed-form K = infinity kernels ``kappa(z) = sum_k gamma(k)^2 e^{2 pi i k z}`` on the circle.

``z`` is measured in periods (``z = (x - x') / P``): ``gamma`` is a function of the integer ``k`` alone, so the
period only rescales ``x``. Every kernel here is real, even and 1-periodic in ``z``. The constant mode is
``gamma(0)^2 = zero`` when the weight gives a finite ``zero`` and is left out (free) when ``zero`` is None.

- :func:`bernoulli_kernel`: ``sum_{k != 0} e^{2 pi i k z} / (2 pi k)^p`` for even ``p``, a Bernoulli polynomial.
- :func:`sobolev_kernel`: ``sum_k e^{2 pi i k z} / (1 + (2 pi k)^2)^s`` for ``s = 1, 2``, hyperbolic functions.
- :func:`closed_form_kernel`: the kernel of a weight (PowerLaw even p, LFP, Sobolev s in {1, 2}; all 1-d).
"""

import functools
import math
from fractions import Fraction

import numpy as np

from .weights import LFP, PowerLaw, Sobolev

__all__ = ["bernoulli_polynomial", "bernoulli_kernel", "sobolev_kernel", "closed_form_kernel",
           "has_closed_form", "spline_parts", "SOBOLEV_CLOSED_FORM"]

# Sobolev orders ``s`` whose 1-d kernel is implemented in closed form.
SOBOLEV_CLOSED_FORM = (1, 2)


@functools.cache
def _bernoulli_coefficients(p):
    """Exact coefficients of ``B_p(x)``, highest power first (Bernoulli numbers by the exact recurrence
    ``sum_{j<=n} C(n+1, j) B_j = 0``; scipy.special.bernoulli is off by 6e-14 in B_4)."""
    B = [Fraction(1)]
    for n in range(1, p + 1):
        B.append(-sum(math.comb(n + 1, j) * B[j] for j in range(n)) / (n + 1))
    return tuple(float(math.comb(p, j) * B[j]) for j in range(p + 1))


def bernoulli_polynomial(p, x):
    """The Bernoulli polynomial ``B_p(x)`` (Horner form of ``sum_j C(p, j) B_j x^(p-j)``, ``B_1 = -1/2``).

    Parameters
    ----------
    p : int
        Degree, ``p >= 0``.
    x : array_like of float, any shape

    Returns
    -------
    ndarray of float, same shape as `x`

    Examples
    --------
    >>> float(bernoulli_polynomial(2, 0.5))  # x^2 - x + 1/6
    -0.08333333333333334
    """
    coeffs = _bernoulli_coefficients(int(p))  # coefficient of x^(p-j)
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for c in coeffs:  # highest power first
        out = out * x + c
    return out


def bernoulli_kernel(z, p):
    """``sum_{k != 0} e^{2 pi i k z} / (2 pi k)^p`` for even ``p >= 2``.

    Parameters
    ----------
    z : array_like of float, any shape
        Offsets in periods.
    p : int
        Even order.

    Returns
    -------
    ndarray of float, same shape as `z`

    Notes
    -----
    From ``sum_{k != 0} e^{2 pi i k z} / k^p = -(2 pi i)^p B_p({z}) / p!`` (``{z}`` the fractional part):
    ``kappa_p(z) = (-1)^(p/2 + 1) B_p({z}) / p!``. It is the Green's function of ``(-d^2/dz^2)^(p/2)`` on the
    circle with the mean removed: ``(-1)^(p/2) kappa_p^(p) = delta - 1``; ``kappa_p`` has zero mean.

    Examples
    --------
    >>> float(bernoulli_kernel(0.0, 2))  # sum 1/(2 pi k)^2 = 2 zeta(2) / (4 pi^2) = 1/12
    0.08333333333333333
    """
    if p < 2 or p % 2:
        raise ValueError(f"Expected `p` to be an even integer >= 2, got {p!r}.")
    z = np.asarray(z, dtype=float)
    frac = z - np.floor(z)
    sign = -1.0 if (p // 2) % 2 == 0 else 1.0
    return sign * bernoulli_polynomial(int(p), frac) / math.factorial(int(p))


def sobolev_kernel(z, s):
    """``sum_k e^{2 pi i k z} / (1 + (2 pi k)^2)^s`` for ``s`` in :data:`SOBOLEV_CLOSED_FORM`.

    Parameters
    ----------
    z : array_like of float, any shape
    s : int

    Returns
    -------
    ndarray of float, same shape as `z`

    Notes
    -----
    With ``u = {z} - 1/2`` and ``f(c) = sum_k e^{2 pi i k z} / (c + (2 pi k)^2) = cosh(w u) / (2 w sinh(w/2))``,
    ``w = sqrt(c)`` (the Green's function of ``c - d^2/dz^2`` on the circle), the order-``s`` kernel is
    ``(-1)^(s-1) / (s-1)! * d^(s-1) f / dc^(s-1)`` at ``c = 1``. For ``s = 2``, with ``df/dc = f'(w) / (2 w)``::

        f'(w) = [u sinh(w u) 2 w sinh(w/2) - cosh(w u) (2 sinh(w/2) + w cosh(w/2))] / (2 w sinh(w/2))^2.

    Examples
    --------
    >>> round(float(sobolev_kernel(0.5, 1)), 12)  # 1 / (2 sinh(1/2))
    0.959517375667
    """
    if s not in SOBOLEV_CLOSED_FORM:
        raise ValueError(f"Expected `s` in {SOBOLEV_CLOSED_FORM} for a closed-form Sobolev kernel, got {s!r}.")
    z = np.asarray(z, dtype=float)
    u = (z - np.floor(z)) - 0.5
    sh, ch = math.sinh(0.5), math.cosh(0.5)
    if s == 1:
        return np.cosh(u) / (2.0 * sh)
    num = u * np.sinh(u) * 2.0 * sh - np.cosh(u) * (2.0 * sh + ch)
    dfdw = num / (2.0 * sh) ** 2
    return -dfdw / 2.0


def spline_parts(weight):
    """``(a2, a4)`` with ``gamma(k)^2 = a2 (2 pi k)^-2 + a4 (2 pi k)^-4`` for ``k != 0`` (1-d PowerLaw with p in
    {2, 4}, 1-d LFP), or None for any other weight: the weights whose K = infinity interpolant is a piecewise cubic."""
    if weight.dim != 1:
        return None
    if isinstance(weight, PowerLaw) and weight.p in (2.0, 4.0):
        return (1.0, 0.0) if weight.p == 2.0 else (0.0, 1.0)
    if isinstance(weight, LFP):
        return weight.a * (2 * math.pi) ** 2, weight.b * (2 * math.pi) ** 4
    return None


def has_closed_form(weight):
    """Whether :func:`closed_form_kernel` supports `weight` (1-d PowerLaw with even integer p >= 2, 1-d LFP,
    1-d Sobolev with s in :data:`SOBOLEV_CLOSED_FORM`)."""
    if weight.dim != 1:
        return False
    if isinstance(weight, PowerLaw):
        return weight.p >= 2 and weight.p == int(weight.p) and int(weight.p) % 2 == 0
    if isinstance(weight, LFP):
        return True
    if isinstance(weight, Sobolev):
        return weight.s in SOBOLEV_CLOSED_FORM
    return False


def closed_form_kernel(weight, *, penalised_only=False):
    """The exact kernel ``kappa(z) = sum_{k in Z} gamma(k)^2 e^{2 pi i k z}`` of a weight, as a function of ``z``.

    Parameters
    ----------
    weight : Weight
        1-d PowerLaw (even integer ``p >= 2``), LFP, or Sobolev (``s`` in :data:`SOBOLEV_CLOSED_FORM`).
    penalised_only : bool
        Leave out the ``k = 0`` term even when ``zero`` is finite.

    Returns
    -------
    callable
        ``kappa(z)`` for float arrays of any shape (offsets in periods), returning the same shape.

    Raises
    ------
    ValueError
        When the weight has no closed-form kernel here.

    Notes
    -----
    LFP in 1-d: ``gamma(k)^2 = a k^-2 + b k^-4 = a (2 pi)^2 (2 pi k)^-2 + b (2 pi)^4 (2 pi k)^-4``, so
    ``kappa = a (2 pi)^2 kappa_2 + b (2 pi)^4 kappa_4 (+ zero)`` with the Bernoulli kernels of
    :func:`bernoulli_kernel`. Sobolev kernels already include ``k = 0`` (``gamma(0)^2 = 1``).

    Examples
    --------
    >>> from fpnorm import PowerLaw
    >>> kappa = closed_form_kernel(PowerLaw(p=4))
    >>> round(float(kappa(0.0)), 15)  # 2 zeta(4) / (2 pi)^4 = 1/720
    0.001388888888889
    """
    if not has_closed_form(weight):
        raise ValueError(f"Expected a weight with a closed-form K = infinity kernel (1-d PowerLaw with even "
                         f"integer p >= 2, 1-d LFP, 1-d Sobolev with s in {SOBOLEV_CLOSED_FORM}), got {weight!r}. "
                         f"Use an integer K instead of K=None.")
    zero = 0.0 if (penalised_only or weight.zero is None) else weight.zero
    if isinstance(weight, Sobolev):
        s = int(weight.s)
        if penalised_only:
            return lambda z: sobolev_kernel(z, s) - 1.0
        return lambda z: sobolev_kernel(z, s)
    if isinstance(weight, PowerLaw):
        p = int(weight.p)
        return lambda z: bernoulli_kernel(z, p) + zero
    assert isinstance(weight, LFP)
    a2, a4 = spline_parts(weight)

    def kappa(z):
        out = np.full(np.shape(z), zero, dtype=float)
        if a2:
            out = out + a2 * bernoulli_kernel(z, 2)
        if a4:
            out = out + a4 * bernoulli_kernel(z, 4)
        return out

    return kappa
