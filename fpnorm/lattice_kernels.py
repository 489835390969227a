"""K = infinity kernels ``kappa(z) = sum_k gamma(k)^2 e^{2 pi i k.z}`` on the torus in d = 1, 2, 3, by Ewald splitting.

``z`` is measured in periods, shape (..., d). The constant mode is ``gamma(0)^2 = zero`` when the weight gives a
finite ``zero`` and left out (free) when ``zero`` is None; Sobolev weights include ``gamma(0)^2 = 1``.

Every supported weight is a sum of terms ``C (c + 4 pi^2 |k|^2)^-s`` (``c = 0``: power laws, ``k = 0`` left out;
``c = 1``: Sobolev). With
``(c + 4 pi^2 k^2)^-s = (4 pi)^-s / Gamma(s) int_0^inf t^(s-1) e^{-c t / 4 pi} e^{-pi k^2 t} dt`` split at ``t = eta``
(Crandall 1998), each lattice sum ``T(z) = sum_k (c + 4 pi^2 |k|^2)^-s e^{2 pi i k.z}`` is

- reciprocal: ``sum_k (c + 4 pi^2 k^2)^-s Q(s, eta (c / 4 pi + pi k^2)) cos(2 pi k.z)`` (``Q`` the regularised upper
  incomplete gamma function, Gaussian decay in ``k``);
- real space, by Poisson summation over the images ``r_n = |z + n|``:
  ``(4 pi)^-s / Gamma(s) [sum_n sum_m (-c / 4 pi)^m / m! eta^(b+m) E_(b+m+1)(pi r_n^2 / eta) - [c = 0] eta^s / s]``
  with ``b = s - d/2 > 0`` and ``E_p`` the generalised exponential integral (Gaussian decay in ``r_n``; the series in
  ``m`` is ``e^{-c t / 4 pi}`` expanded on ``t <= eta``, and is empty for power laws).

``E_p(x)`` comes from ``E_(p0)`` with ``p0`` in ``(0, 1]`` (``erfc`` for the half-integer orders of the LFP weight,
``exp1`` for integer orders, ``gammaincc`` otherwise) by the upward recurrence ``p E_(p+1) = e^{-x} - x E_p``.
``E_(b+1)(0) = 1 / b`` is finite: every kernel here is finite at ``z = 0``, since ``s > d/2``.

The truncation radii of both sums are chosen from Gaussian tail bounds (:func:`_real_tail`, :func:`_recip_tail`) so
that each tail is
below a quarter of a unit of rounding of a lower bound on ``kappa(0)``; :attr:`TorusKernel.error` adds a bound on the
rounding of the sums.
"""

import functools
import math

import numpy as np
from scipy import special

from .weights import LFP, PowerLaw, Sobolev

__all__ = ["TorusKernel", "torus_kernel", "has_torus_kernel", "TORUS_KERNEL_DIMS"]

# Dimensions with an Ewald-split K = infinity kernel.
TORUS_KERNEL_DIMS = (1, 2, 3)
_U = 2.0**-53
# The splitting parameter per dimension: real space within R = 3.5 sqrt(eta), reciprocal within 3.5 / sqrt(eta).
# Smaller in d = 2 and 3, where the reciprocal part of a kernel matrix is one BLAS product of cos/sin features and
# each real-space image costs special functions on every pair.
_ETA = {1: 0.25, 2: 0.06, 3: 0.1}
# Terms of the series of e^{-c t / 4 pi} on t <= eta (Sobolev): (eta / 4 pi)^m / m! < 1e-21 at m = 9, eta <= 0.25.
_SERIES = 10
# Relative accuracy assumed of scipy's gammaincc (orders p0 other than 1/2, 1); erfc, exp, exp1 within a few units.
_GAMMAINCC_RTOL = 1e-14


def has_torus_kernel(weight):
    """Whether :class:`TorusKernel` supports `weight`: PowerLaw with ``p > d``, LFP, Sobolev with ``s > d/2``, in
    ``d`` in :data:`TORUS_KERNEL_DIMS` (the weights whose ``sum gamma(k)^2`` over the penalised modes converges)."""
    if weight.dim not in TORUS_KERNEL_DIMS:
        return False
    if isinstance(weight, PowerLaw):
        return weight.p > weight.dim
    if isinstance(weight, LFP):
        return weight.a > 0 or weight.b > 0
    if isinstance(weight, Sobolev):
        return 2 * weight.s > weight.dim
    return False


def _terms(weight):
    """``[(C, s, c)]`` with ``gamma(k)^2 = sum C (c + 4 pi^2 |k|^2)^-s`` for ``k != 0``, and the constant mode."""
    d = weight.dim
    zero = 0.0 if weight.zero is None else float(weight.zero)
    if isinstance(weight, PowerLaw):                      # (2 pi |k|)^-p = (4 pi^2 |k|^2)^(-p/2)
        return [(1.0, weight.p / 2.0, 0.0)], zero
    if isinstance(weight, LFP):                           # a |k|^-(d+1) = a (2 pi)^(d+1) (4 pi^2 |k|^2)^(-(d+1)/2)
        out = [(weight.a * (2 * math.pi) ** (d + 1), (d + 1) / 2.0, 0.0),
               (weight.b * (2 * math.pi) ** (d + 3), (d + 3) / 2.0, 0.0)]
        return [t for t in out if t[0] > 0], zero
    assert isinstance(weight, Sobolev)
    return [(1.0, float(weight.s), 1.0)], 0.0             # k = 0 is the sum's own c^-s = 1


def _expint_chain(x, p, extra):
    """``E_p(x), E_(p+1)(x), ..., E_(p+extra)(x)`` for ``p > 1`` and ``x >= 0`` (array), by recurrence from
    ``E_(p0)``, ``p0 = p - ceil(p) + 1`` in ``(0, 1]``. Returns a list of arrays and whether gammaincc was used."""
    steps = int(math.ceil(p)) - 1
    p0 = p - steps
    at0 = x == 0
    xs = np.where(at0, 1.0, x)
    if p0 == 1.0:
        xe = np.where(at0, 0.0, xs * special.exp1(xs))                      # x E_1(x) -> 0 as x -> 0
        used = False
    elif p0 == 0.5:
        rx = np.sqrt(x)
        xe = math.sqrt(math.pi) * rx * special.erfc(rx)                     # x E_(1/2)(x) = sqrt(pi x) erfc(sqrt x)
        used = False
    else:
        xe = np.where(at0, 0.0, xs**p0 * (special.gamma(1 - p0) * special.gammaincc(1 - p0, xs)))
        used = True
    ex = np.exp(-x)
    q, out = p0, []
    for i in range(steps + extra):
        e = (ex - xe) / q                                                   # E_(q+1)
        q += 1.0
        if i >= steps - 1:
            out.append(e)
        xe = x * e
    return out, used


# Share of the Gaussian exponent the tail bounds keep for the leading factor (the rest sums the lattice).
_THETA = 0.9


def _gauss_lattice(a, d):
    """A bound on ``sum_v e^{-a |v|^2}`` over any shifted copy of ``Z^d``: per axis a unimodal sum is at most its
    maximum plus its integral, ``1 + sqrt(pi / a)``."""
    return (1.0 + math.sqrt(math.pi / a)) ** d


def _real_tail(terms, d, eta, R):
    """A bound on the real-space terms beyond ``|z + n| > R``: ``E_p(x) <= e^{-x} / x`` (``p >= 0``), the series
    in ``m`` is at most ``e^{c eta / 4 pi}`` times its first term, and ``e^{-pi r^2 / eta} <= e^{-theta pi R^2 / eta}
    e^{-(1 - theta) pi r^2 / eta}`` for ``r > R``."""
    xR = math.pi * R**2 / eta
    F = sum(abs(C) * (4 * math.pi) ** -s / math.gamma(s) * eta ** (s - d / 2) * math.exp(c * eta / (4 * math.pi))
            for C, s, c in terms) / xR
    return F * math.exp(-_THETA * xR) * _gauss_lattice((1 - _THETA) * math.pi / eta, d)


def _recip_tail(terms, d, eta, Kc):
    """A bound on the reciprocal terms beyond ``|k| > Kc``: ``Gamma(s, y) <= y^(s-1) e^{-y} / (1 - (s-1)/y)`` for
    ``y > s - 1`` (``<= y^(s-1) e^{-y}`` when ``s <= 1``), ``c + 4 pi^2 k^2 >= 4 pi^2 Kc^2``, and the Gaussian as in
    :func:`_real_tail`; inf while ``y <= s - 1``."""
    G = 0.0
    for C, s, c in terms:
        y = eta * (c + 4 * math.pi**2 * Kc**2) / (4 * math.pi)
        if s > 1 and y <= 2 * (s - 1):
            return math.inf
        corr = 1.0 if s <= 1 else 1.0 / (1.0 - (s - 1) / y)
        G += abs(C) * (eta / (4 * math.pi)) ** (s - 1) * math.exp(-eta * c / (4 * math.pi)) * corr / (
            4 * math.pi**2 * Kc**2 * math.gamma(s))
    return G * math.exp(-_THETA * math.pi * eta * Kc**2) * _gauss_lattice((1 - _THETA) * math.pi * eta, d)


@functools.cache
def _setup(terms, d, eta, zero, tol):
    """Cutoffs and precomputed pieces: (R, offsets, modes (n, d) int with one of each +-k pair, their weights)."""
    R = 0.25
    while _real_tail(terms, d, eta, R) > tol:
        R += 0.01
    Kc = 1.0
    while _recip_tail(terms, d, eta, Kc) > tol:
        Kc += 0.05
    # image offsets n whose distance to the cell [-1/2, 1/2]^d is at most R
    m = int(math.ceil(R + 0.5))
    grid = np.stack(np.meshgrid(*([np.arange(-m, m + 1)] * d), indexing="ij"), axis=-1).reshape(-1, d)
    dist = np.sqrt(np.sum(np.maximum(np.abs(grid) - 0.5, 0.0) ** 2, axis=1))
    offsets = grid[dist <= R].astype(float)
    kk = int(math.floor(Kc))
    ks = np.stack(np.meshgrid(*([np.arange(-kk, kk + 1)] * d), indexing="ij"), axis=-1).reshape(-1, d)
    r2 = np.sum(ks.astype(float) ** 2, axis=1)
    # one of each pair +-k: the first nonzero coordinate positive
    first = np.array([next((v for v in row if v != 0), 0) for row in ks])
    keep = (r2 <= Kc**2) & (first > 0)
    modes = ks[keep]
    rho2 = r2[keep]
    w = np.zeros(modes.shape[0])
    w0 = zero
    for C, s, c in terms:
        lam = c + 4 * math.pi**2 * rho2
        w += C * lam**-s * special.gammaincc(s, eta * lam / (4 * math.pi))
        if c > 0:
            w0 += C * c**-s * special.gammaincc(s, eta * c / (4 * math.pi))
    return R, offsets, modes, w, w0


def _real_magnitude(terms, d, eta):
    """``f(0)``: the largest real-space term (each term ``f(|z + n|)`` is at most this)."""
    total = 0.0
    for C, s, c in terms:
        b = s - d / 2.0
        total += abs(C) * (4 * math.pi) ** -s / math.gamma(s) * eta**b / b * math.exp(c * eta / (4 * math.pi))
    return total


class TorusKernel:
    """The exact (K = infinity) kernel of a weight on the torus, by Ewald splitting.

    Parameters
    ----------
    weight : Weight
        PowerLaw (``p > d``), LFP or Sobolev (``s > d/2``) in ``d = 1, 2, 3`` (:func:`has_torus_kernel`).
    eta : float, optional
        The splitting parameter (default per dimension); the value does not change the kernel beyond its error.

    Attributes
    ----------
    error : float
        A bound on ``|fl(kappa(z)) - kappa(z)|`` for every ``z``: the two truncated tails (integral bounds) plus the
        rounding of the sums (each term within a few units of rounding of its magnitude, gammaincc within
        ``1e-14``).
    value0 : float
        ``kappa(0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import PowerLaw
    >>> kappa = TorusKernel(PowerLaw(p=4, dim=1))
    >>> abs(float(kappa(np.zeros((1, 1)))[0]) - 1 / 720) < 1e-17     # 2 zeta(4) / (2 pi)^4
    True
    """

    def __init__(self, weight, *, eta=None):
        if not has_torus_kernel(weight):
            raise ValueError(f"Expected a weight with a K = infinity torus kernel (PowerLaw with p > d, LFP, Sobolev "
                             f"with s > d/2; d in {TORUS_KERNEL_DIMS}), got {weight!r}. Use an integer K instead of "
                             f"K=None.")
        self.weight, self.dim = weight, weight.dim
        d = self.dim
        self.eta = float(_ETA[d] if eta is None else eta)
        terms, zero = _terms(weight)
        self._terms = tuple(terms)
        # a lower bound on kappa(0): the 2d unit vectors (and the constant mode)
        lower = 2 * float(np.sum(weight.gamma2(np.eye(d, dtype=np.int64)))) + zero
        if isinstance(weight, Sobolev):
            lower += 1.0
        self._tol = 0.25 * _U * lower
        self.R, self._offsets, self._modes, self._w, self._w0 = _setup(self._terms, d, self.eta, zero, self._tol)
        self._const = 0.0
        for C, s, c in self._terms:
            if c == 0:
                self._const -= C * (4 * math.pi) ** -s / math.gamma(s) * self.eta**s / s
        self.value0 = float(self(np.zeros((1, d)))[0])
        self.error = self._error_bound()

    def _error_bound(self):
        d = self.dim
        steps = max(int(math.ceil(s - d / 2.0 + 1.0)) + (_SERIES if c else 0) for _, s, c in self._terms)
        uses = any(s - d / 2.0 + 1.0 - math.ceil(s - d / 2.0) not in (0.5, 1.0) for _, s, _ in self._terms)
        rel = _GAMMAINCC_RTOL if uses else 0.0
        # every real-space term within (16 (steps + 4) u + rel) of f(0), one term per image offset at most
        real = self._offsets.shape[0] * _real_magnitude(self._terms, d, self.eta) * (16 * (steps + 4) * _U + rel)
        kz = np.sum(np.abs(self._modes), axis=1)                     # |k.z| <= |k|_1 / 2 in the reduced cell
        recip = float(np.sum(2 * self._w * (8 * _U + 2 * math.pi * kz * 4 * _U + _GAMMAINCC_RTOL)))
        return 2.0 * self._tol + recip + abs(self._w0) * (4 * _U + _GAMMAINCC_RTOL) + real \
            + abs(self._const) * 8 * _U + 4 * _U * abs(self.value0)

    # -- the two halves, on offsets reduced to [-1/2, 1/2]^d ----------------------------------------------------
    def _real(self, z):
        """Real-space sum at reduced offsets ``z`` (P, d), shape (P,)."""
        d, eta = self.dim, self.eta
        out = np.full(z.shape[0], self._const)
        R2 = self.R**2
        for n in self._offsets:
            r2 = np.sum((z + n) ** 2, axis=1)
            near = np.nonzero(r2 <= R2)[0]
            if near.size == 0:
                continue
            x = (np.pi / eta) * r2[near]
            acc = np.zeros(near.size)
            for C, s, c in self._terms:
                b = s - d / 2.0
                chain, _ = _expint_chain(x, b + 1.0, _SERIES if c else 0)
                pre = C * (4 * math.pi) ** -s / math.gamma(s)
                for m, e in enumerate(chain):
                    acc += pre * (-c / (4 * math.pi)) ** m / math.factorial(m) * eta ** (b + m) * e
            out[near] += acc
        return out

    def _features(self, x):
        """``cos(2 pi k.x)`` and ``sin(2 pi k.x)`` for the kept modes, each (P, n)."""
        ph = (2 * math.pi) * (x @ self._modes.T.astype(float))
        return np.cos(ph), np.sin(ph)

    # -- public evaluation ---------------------------------------------------------------------------------------
    def __call__(self, z):
        """``kappa(z)`` for ``z`` of shape (..., d) in periods (d = 1 also accepts any shape), same leading shape."""
        z = np.asarray(z, dtype=float)
        if self.dim == 1 and (z.ndim == 0 or z.shape[-1] != 1):
            z = z[..., None]
        shape = z.shape[:-1]
        flat = z.reshape(-1, self.dim)
        flat = flat - np.round(flat)
        out = np.empty(flat.shape[0])
        chunk = max(1, (1 << 22) // max(1, self._modes.shape[0] + self._offsets.shape[0]))
        for start in range(0, flat.shape[0], chunk):
            zc = flat[start:start + chunk]
            cos, _ = self._features(zc)
            out[start:start + chunk] = self._real(zc) + 2.0 * (cos @ self._w) + self._w0
        return out.reshape(shape)

    def matrix(self, x, y=None):
        """``kappa(x_i - y_j)``, shape (N, M), for points ``x`` (N, d) and ``y`` (M, d) in periods (``y = x`` by
        default: the kernel matrix, exactly symmetric). The reciprocal part is one product of cos/sin features."""
        x = np.asarray(x, dtype=float)
        sym = y is None
        y = x if sym else np.asarray(y, dtype=float)
        sw = np.sqrt(2.0 * self._w)
        cx, sx = self._features(x)
        if sym:
            F = np.concatenate([cx * sw, sx * sw], axis=1)
            out = F @ F.T
        else:
            cy, sy = self._features(y)
            out = (cx * (2 * self._w)) @ cy.T + (sx * (2 * self._w)) @ sy.T
        out += self._w0
        rows = max(1, (1 << 21) // max(1, y.shape[0]))
        for start in range(0, x.shape[0], rows):
            sl = slice(start, min(x.shape[0], start + rows))
            z = (x[sl, None, :] - y[None, :, :]).reshape(-1, self.dim)
            out[sl] += self._real(z - np.round(z)).reshape(-1, y.shape[0])
        if sym:
            out = (out + out.T) / 2.0
        return out

    def expand(self, q, x, alpha):
        """``sum_j kappa(q - x_j) alpha_j``, shape (Q, m), for queries ``q`` (Q, d), nodes ``x`` (N, d), ``alpha``
        (N, m); the reciprocal part through the nodes' transform, ``O((Q + N) n)`` for ``n`` modes."""
        cx, sx = self._features(x)
        Cx, Sx = cx.T @ alpha, sx.T @ alpha                          # (n, m)
        out = np.empty((q.shape[0], alpha.shape[1]))
        total = np.sum(alpha, axis=0)
        rows = max(1, (1 << 21) // max(1, x.shape[0]))
        for start in range(0, q.shape[0], rows):
            sl = slice(start, min(q.shape[0], start + rows))
            cq, sq = self._features(q[sl])
            rec = (cq * (2 * self._w)) @ Cx + (sq * (2 * self._w)) @ Sx + self._w0 * total
            z = (q[sl, None, :] - x[None, :, :]).reshape(-1, self.dim)
            real = self._real(z - np.round(z)).reshape(-1, x.shape[0])
            out[sl] = rec + real @ alpha
        return out


def torus_kernel(weight, z):
    """``kappa(z) = sum_k gamma(k)^2 e^{2 pi i k.z}`` at offsets ``z`` in periods (shape (..., d)), exact to
    :attr:`TorusKernel.error` (see :class:`TorusKernel`).

    Examples
    --------
    >>> from fpnorm import LFP
    >>> v = torus_kernel(LFP(a=1.0, b=0.0, dim=2), [[0.5, 0.5], [-0.5, 0.5]])
    >>> bool(abs(v[0] - v[1]) < 1e-15)
    True
    """
    return TorusKernel(weight)(z)
