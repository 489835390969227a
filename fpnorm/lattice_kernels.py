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

The truncation radii of both sums are chosen from Gaussian tail bounds (``_real_tail``, ``_recip_tail``) so that
each tail is below a quarter of a unit of rounding of a lower bound on ``kappa(0)``; :attr:`TorusKernel.error` adds a
bound on the rounding of the sums.
"""

import functools
import math

import numpy as np
import scipy.sparse as sp
from scipy import special
from scipy.linalg import blas
from scipy.spatial import cKDTree

from .weights import LFP, PowerLaw, Sobolev

__all__ = ["TorusKernel", "torus_kernel", "has_torus_kernel", "split_for_pairs", "TORUS_KERNEL_DIMS"]

# Dimensions with an Ewald-split K = infinity kernel.
TORUS_KERNEL_DIMS = (1, 2, 3)
_U = 2.0**-53
# The splitting parameter per dimension: real space within R = 3.5 sqrt(eta), reciprocal within 3.5 / sqrt(eta).
# Smaller in d = 2 and 3, where the reciprocal part of a kernel matrix is one BLAS product of cos/sin features
# (modes ~ eta^(-d/2)) and the real-space part costs special functions on every pair for the nearest image (whatever
# R) plus the pairs within R of the other images. In d = 2, eta = 0.02 is the largest with R < 1/2 (the nearest image
# only; assembly of an N = 2000 LFP matrix measured fastest there on the 2-core machine). In d = 3 a larger eta
# assembles faster (0.08: 15% at N = 2000) but widens the error bound from 6e-14 to 9e-14 kappa(0).
_ETA = {1: 0.25, 2: 0.02, 3: 0.06}
# Entries per block of the real-space sums: the special functions' temporaries stay in cache (blocks of 2^21 entries
# measured 1.4x slower at N = 2000).
_CHUNK = 1 << 16
# Terms of the series of e^{-c t / 4 pi} on t <= eta (Sobolev): the first left out, (eta / 4 pi)^11 / 11!, is below
# 1e-23 for eta <= 0.4.
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


# x = pi R^2 / eta at which the real-space tail meets the kernel's tolerance (measured: 35.0 to 37 for LFP and
# Sobolev weights in d = 2, 3): R ~ sqrt(_XR / pi) sqrt(eta).
_XR = 35.0
# Largest splitting parameter of split_for_pairs: its radius ~0.41 stays below 1/2 (one image of a pair within R).
_ETA_NEAR_MAX = 0.014


def split_for_pairs(N, dim, pairs):
    """The splitting parameter ``eta`` that gives each of `N` uniformly spread points on the unit torus about `pairs`
    neighbours within the real-space radius ``R`` (at most ``_ETA_NEAR_MAX``, whose ``R`` is below 1/2): the split
    of :meth:`TorusKernel.near_matrix` plus a reciprocal box for large point sets (d = 2, 3).

    Examples
    --------
    >>> from fpnorm import LFP
    >>> k = TorusKernel(LFP(a=1.0, b=1.0, dim=2), eta=split_for_pairs(20000, 2, 200))
    >>> round(3.14159 * k.R**2 * 20000)      # neighbours within R of a point
    193
    """
    if dim == 2:
        R2 = pairs / (math.pi * N)
    else:
        R2 = (3.0 * pairs / (4.0 * math.pi * N)) ** (2.0 / 3.0)
    return min(_ETA_NEAR_MAX, R2 * math.pi / _XR)


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
    # from 0.25 in steps of 0.01 (the default splits); a small eta (the matrix-free path's few near pairs) starts
    # at 2 sqrt(eta) and steps by a 200th of it
    R = min(0.25, 2.0 * math.sqrt(eta))
    step = 0.01 if R == 0.25 else R / 200.0
    while _real_tail(terms, d, eta, R) > tol:
        R += step
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
    first = ks[np.arange(ks.shape[0]), np.argmax(ks != 0, axis=1)]
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
    eta, R : float
        The splitting parameter and the real-space radius: the terms of images farther than ``R`` are within the
        tail bound in :attr:`error` (:meth:`near_matrix` keeps the pairs within ``R``).

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
        # the terms sharing a base order p0 share one recurrence: {p: (extra steps, [(index in chain, factor)])}
        chains = {}
        for C, s, c in sorted(self._terms, key=lambda t: t[1]):
            b = s - d / 2.0
            base = b + 1.0 - (math.ceil(b + 1.0) - 1)
            start = min([p for p in chains if p - base == round(p - base)] or [b + 1.0])
            series = _SERIES if c else 0
            for m in range(series + 1):
                coef = C * (4 * math.pi) ** -s / math.gamma(s) * (-c / (4 * math.pi)) ** m / math.factorial(m) \
                    * self.eta ** (b + m)
                chains.setdefault(start, [0, []])[1].append((int(round(b + 1.0 + m - start)), coef))
        self._chains = {}
        for start, (_, parts) in chains.items():
            self._chains[start] = (max(i for i, _ in parts), parts)
        self.value0 = float(self(np.zeros((1, d)))[0])
        self.error = self._error_bound()

    def _error_bound(self):
        d = self.dim
        steps = max(int(math.ceil(s - d / 2.0 + 1.0)) + (_SERIES if c else 0) for _, s, c in self._terms)
        uses = any(s - d / 2.0 + 1.0 - math.ceil(s - d / 2.0) not in (0.5, 1.0) for _, s, _ in self._terms)
        rel = _GAMMAINCC_RTOL if uses else 0.0
        # every real-space term within (16 (steps + 4) u + rel) of f(0), one term per image offset at most
        real = self._offsets.shape[0] * _real_magnitude(self._terms, d, self.eta) * (16 * (steps + 4) * _U + rel)
        kz = np.sum(np.abs(self._modes), axis=1) * 2.0   # |k.x| <= |k|_1 for points in [0, 1)^d, features included
        recip = float(np.sum(2 * self._w * (8 * _U + 2 * math.pi * kz * 4 * _U + _GAMMAINCC_RTOL)))
        return 2.0 * self._tol + recip + abs(self._w0) * (4 * _U + _GAMMAINCC_RTOL) + real \
            + abs(self._const) * 8 * _U + 4 * _U * abs(self.value0)

    # -- the two halves, on offsets reduced to [-1/2, 1/2]^d ----------------------------------------------------
    def _real(self, z):
        """Real-space sum at reduced offsets: ``z`` a list of d coordinate arrays of one shape, in [-1/2, 1/2]."""
        eta = self.eta
        out = np.full(z[0].shape, self._const)
        R2 = self.R**2
        for n in self._offsets:
            r2 = (z[0] + n[0]) ** 2
            for i in range(1, self.dim):
                r2 += (z[i] + n[i]) ** 2
            if not np.any(n):
                # the nearest image on every pair: the terms beyond R are exact terms of the sum, below the tail
                # bound, so summing them costs no accuracy and spares the gather of the pairs within R
                r2 *= math.pi / eta
                out += self._radial(r2)
                continue
            near = np.nonzero(r2 <= R2)
            if near[0].size:
                out[near] += self._radial((math.pi / eta) * r2[near])
        return out

    @staticmethod
    def default_eta(dim):
        """The default splitting parameter in dimension `dim` (its real-space radius is below 1/2 in d = 2, 3)."""
        return _ETA[dim]

    @property
    def real_constant(self):
        """The constant of the real-space sum (``-C (4 pi)^-s eta^s / (s Gamma(s))`` per power-law term): part of
        every ``kappa(z)``, whatever the distance."""
        return self._const

    def radial(self, r2):
        """The real-space terms of one image at squared distances `r2` (array, in periods squared), without
        :attr:`real_constant`: ``kappa(z) = real_constant + sum_n radial(|z + n|^2) + reciprocal(z)``, and the images
        farther than :attr:`R` add less than the tail bound in :attr:`error` (:func:`_real_tail`)."""
        return self._radial((math.pi / self.eta) * np.asarray(r2, dtype=float))

    def weight_box(self):
        """The reciprocal part as a box of Fourier weights: ``(W, kmax)`` with ``W`` of shape ``(2 kmax + 1,)*d``,
        ``W_k = W_-k`` the weight of ``e^{2 pi i k.z}`` and :attr:`real_constant` folded into ``W_0``, so
        ``kappa(z) = sum_n radial(|z + n|^2) + sum_k W_k e^{2 pi i k.z}``."""
        modes, w, w0 = self._modes, self._w, self._w0
        kmax = int(np.max(np.abs(modes))) if modes.size else 0
        W = np.zeros((2 * kmax + 1,) * self.dim)
        W[tuple((modes + kmax).T)] = w
        W[tuple((kmax - modes).T)] = w
        W[(kmax,) * self.dim] = w0 + self._const
        return W, kmax

    def near_matrix(self, x, y=None):
        """The real-space terms ``radial(|x_i - y_j|^2)`` (nearest image) on the pairs within :attr:`R`, a
        ``scipy.sparse.csr_matrix`` of shape (N, M) (``y = x`` by default, the diagonal included); the pairs are
        found on k-d trees with periodic boxes. Needs ``R < 1/2``, where no other image of a pair is within ``R``:
        the terms left out are within the tail bound of :attr:`error`."""
        if self.R >= 0.5:
            raise ValueError(f"Expected a split with a real-space radius below 1/2, got eta={self.eta} (R = "
                             f"{self.R:.3f}).")
        x = np.asarray(x, dtype=float)
        # a hair beyond R, so no pair within R is lost to the trees' rounding (one beyond adds an exact term)
        radius = self.R * (1 + 1e-12)
        tx = cKDTree(_unit_torus(x), boxsize=1.0)
        if y is None:
            pairs = tx.query_pairs(radius, output_type="ndarray")
            i, j = pairs[:, 0], pairs[:, 1]
            vals = self.radial(_torus_r2(x[i] - x[j]))
            n = np.arange(x.shape[0])
            rows, cols = np.concatenate([i, j, n]), np.concatenate([j, i, n])
            data = np.concatenate([vals, vals, np.full(n.size, float(self.radial(np.zeros(1))[0]))])
            return sp.csr_matrix((data, (rows, cols)), shape=(x.shape[0], x.shape[0]))
        y = np.asarray(y, dtype=float)
        coo = tx.sparse_distance_matrix(cKDTree(_unit_torus(y), boxsize=1.0), radius, output_type="ndarray")
        i, j = coo["i"].astype(np.int64), coo["j"].astype(np.int64)
        vals = self.radial(_torus_r2(x[i] - y[j]))
        return sp.csr_matrix((vals, (i, j)), shape=(x.shape[0], y.shape[0]))

    def _radial(self, x):
        """``sum_terms C (4 pi)^-s / Gamma(s) sum_m (-c / 4 pi)^m / m! eta^(b+m) E_(b+m+1)(x)`` (one image each)."""
        acc = np.zeros_like(x)
        for p, (extra, parts) in self._chains.items():
            chain, _ = _expint_chain(x, p, extra)
            for order, coef in parts:
                acc += coef * chain[order]
        return acc

    def features(self, x):
        """``cos(2 pi k.x)`` and ``sin(2 pi k.x)`` for the kept modes, each (P, n).

        Products of the per-axis ``e^{2 pi i k_i x_i}`` (one table of ``2 k_max + 1`` columns per axis): the modes
        come in runs of consecutive last coordinates with the others fixed, so each run is one broadcast product,
        several times cheaper than a cos and a sin per entry, and no less accurate (each factor is within a few units
        of rounding plus its own phase's rounding, ``2 pi |k_i x_i| u``, which :attr:`error` allows for)."""
        x = np.asarray(x, dtype=float)
        P, d = x.shape
        modes = self._modes
        n = modes.shape[0]
        cos, sin = np.empty((P, n)), np.empty((P, n))
        if n == 0:
            return cos, sin
        kk = int(np.max(np.abs(modes)))
        ks = np.arange(-kk, kk + 1, dtype=float)
        tables = []
        for i in range(d):
            ph = (2 * math.pi) * (x[:, i, None] * ks)
            tables.append((np.cos(ph), np.sin(ph)))
        starts, stops = self._runs
        last_c, last_s = tables[-1]
        for a, b in zip(starts, stops, strict=True):
            pc, ps = np.ones((P, 1)), np.zeros((P, 1))
            for i in range(d - 1):
                j = modes[a, i] + kk
                c, s = tables[i][0][:, j, None], tables[i][1][:, j, None]
                pc, ps = pc * c - ps * s, ps * c + pc * s
            cols = slice(modes[a, -1] + kk, modes[b - 1, -1] + kk + 1)
            np.multiply(pc, last_c[:, cols], out=cos[:, a:b])
            cos[:, a:b] -= ps * last_s[:, cols]
            np.multiply(ps, last_c[:, cols], out=sin[:, a:b])
            sin[:, a:b] += pc * last_s[:, cols]
        return cos, sin

    @functools.cached_property
    def _runs(self):
        """Starts and stops of the runs of modes with equal leading coordinates and consecutive last ones."""
        modes = self._modes
        step = np.any(np.diff(modes[:, :-1], axis=0) != 0, axis=1) | (np.diff(modes[:, -1]) != 1)
        cut = np.nonzero(step)[0] + 1
        return np.r_[0, cut], np.r_[cut, modes.shape[0]]

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
            cos = np.cos((2 * math.pi) * (zc @ self._modes.T.astype(float)))
            out[start:start + chunk] = self._real(list(zc.T)) + 2.0 * (cos @ self._w) + self._w0
        return out.reshape(shape)

    def matrix(self, x, y=None, *, split=False, features=None):
        """``kappa(x_i - y_j)``, shape (N, M), for points ``x`` (N, d) and ``y`` (M, d) in periods (``y = x`` by
        default: the kernel matrix, exactly symmetric). The reciprocal part is one product of cos/sin features;
        ``split=True`` returns the real-space and reciprocal parts separately (their sum is the matrix); `features`
        may pass :meth:`features` of ``x``, already computed."""
        x = np.asarray(x, dtype=float)
        sym = y is None
        y = x if sym else np.asarray(y, dtype=float)
        sw = np.sqrt(2.0 * self._w)
        cx, sx = self.features(x) if features is None else features
        if sym:
            F = np.concatenate([cx * sw, sx * sw], axis=1)
            # the lower triangle of F F^T (BLAS syrk, half a product), mirrored
            rec = blas.dsyrk(1.0, F, lower=1)          # the strict upper triangle is left zero
            _mirror_lower(rec)
        else:
            cy, sy = self.features(y)
            rec = (cx * (2 * self._w)) @ cy.T + (sx * (2 * self._w)) @ sy.T
        rec += self._w0
        real = np.zeros((x.shape[0], y.shape[0]))
        rows = max(1, _CHUNK // max(1, y.shape[0]))
        for start in range(0, x.shape[0], rows):
            sl = slice(start, min(x.shape[0], start + rows))
            cols = slice(0, sl.stop if sym else y.shape[0])    # symmetric: the lower triangle, mirrored below
            real[sl, cols] = self._real(_reduced_differences(x[sl], y[cols]))
        if sym:
            _mirror_lower(real)
        return (real, rec) if split else real + rec

    @property
    def mode_weights(self):
        """``(modes, weights, w0)``: one of each pair ``+-k`` (int, shape (n, d)), the weights of ``2 cos(2 pi k.z)``
        in the reciprocal sum (so the sum is ``sum 2 w cos + w0``), and the constant mode's weight."""
        return self._modes, self._w, self._w0

    @property
    def free_constant(self):
        """Whether the constant mode is left out (free): power-law weights with ``zero=None``."""
        return self.weight.zero is None and not isinstance(self.weight, Sobolev)

    def holder(self, delta):
        """A bound on ``|kappa(z + e) - kappa(z)|`` over ``|e| <= delta`` (float or array): a Lipschitz bound (the
        real-space part's measured on rays through 0, grid step ``2^-12``, doubled; the reciprocal part's exact)
        times ``delta``, plus, for each term with
        ``2 s - d < 1`` (Holder at 0), twice its whole-space singular part ``C (2 pi)^-2s pi^(2s - d/2)
        |Gamma(d/2 - s)| / Gamma(s) delta^(2s - d)``."""
        if not hasattr(self, "_lip"):
            t = np.arange(-(1 << 11), (1 << 11) + 1) / float(1 << 12)
            d = self.dim
            best = 0.0
            for v in [np.eye(d)[i] for i in range(d)] + [np.ones(d) / math.sqrt(d)]:
                ray = t[:, None] * v[None, :]
                vals = self._real(list((ray - np.round(ray)).T))
                best = max(best, float(np.max(np.abs(np.diff(vals)))) * (1 << 12))
            # the reciprocal part's gradient is at most sum 2 w_k 2 pi |k| (exact bound)
            recip = float(np.sum(2 * self._w * 2 * math.pi * np.sqrt(np.sum(self._modes.astype(float) ** 2, axis=1))))
            self._lip = 2.0 * best + recip
        delta = np.asarray(delta, dtype=float)
        out = self._lip * delta
        for C, s, _ in self._terms:
            e = 2 * s - self.dim
            if e < 1:
                out = out + 2 * abs(C) * (2 * math.pi) ** (-2 * s) * math.pi ** (2 * s - self.dim / 2) \
                    * abs(math.gamma(self.dim / 2 - s)) / math.gamma(s) * delta**e
        return out

    def transform(self, x, alpha):
        """The nodes' transform ``(sum_j alpha_j cos(2 pi k.x_j), sum_j alpha_j sin(2 pi k.x_j))``, each (n, m)."""
        cx, sx = self.features(x)
        return cx.T @ alpha, sx.T @ alpha

    def expand(self, q, x, alpha, *, transform=None):
        """``sum_j kappa(q - x_j) alpha_j``, shape (Q, m), for queries ``q`` (Q, d), nodes ``x`` (N, d), ``alpha``
        (N, m); the reciprocal part through the nodes' transform (:meth:`transform`, computed when not given),
        ``O((Q + N) n)`` for ``n`` modes."""
        Cx, Sx = self.transform(x, alpha) if transform is None else transform
        out = np.empty((q.shape[0], alpha.shape[1]))
        total = np.sum(alpha, axis=0)
        rows = max(1, _CHUNK // max(1, x.shape[0], self._modes.shape[0]))
        for start in range(0, q.shape[0], rows):
            sl = slice(start, min(q.shape[0], start + rows))
            cq, sq = self.features(q[sl])
            rec = (cq * (2 * self._w)) @ Cx + (sq * (2 * self._w)) @ Sx + self._w0 * total
            real = self._real(_reduced_differences(q[sl], x))
            out[sl] = rec + real @ alpha
        return out


def _mirror_lower(a, block=256):
    """Copy the strict lower triangle of the square array `a` onto its upper triangle, in place, by square tiles
    (a whole-matrix transpose strides through memory and costs several times more at a few thousand rows)."""
    n = a.shape[0]
    for i in range(0, n, block):
        bi = slice(i, min(n, i + block))
        for j in range(0, i, block):
            bj = slice(j, min(n, j + block))
            a[bj, bi] = a[bi, bj].T
        tile = a[bi, bi]
        upper = np.triu_indices(tile.shape[0], 1)
        tile[upper] = tile.T[upper]


def _unit_torus(x):
    """Coordinates in ``[0, 1)`` for the periodic k-d trees (``mod`` can round up to 1)."""
    u = np.mod(x, 1.0)
    u[u >= 1.0] = 0.0
    return u


def _torus_r2(diff):
    """``|diff|^2`` of differences reduced to ``[-1/2, 1/2]^d``, shape (n,)."""
    diff = diff - np.round(diff)
    return np.sum(diff * diff, axis=1)


def _reduced_differences(x, y):
    """``x_i - y_j`` reduced to ``[-1/2, 1/2]``, as a list of d arrays of shape (N, M)."""
    out = []
    for i in range(x.shape[1]):
        diff = x[:, i, None] - y[None, :, i]
        diff -= np.round(diff)
        out.append(diff)
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
