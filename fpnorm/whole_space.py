"""Whole-space kernels: the generalised Fourier transform of ``gamma(xi)^2`` on ``R^d`` and the polynomials it
leaves free.

On the whole space (``period=None``) the FP-norm is ``||h||^2 = int_{R^d} gamma(xi)^-2 |h^(xi)|^2 d xi`` with
``h^(xi) = int h(x) e^{-2 pi i xi.x} dx`` and ``gamma(xi)^2`` the weight's formula (:mod:`fpnorm.weights`) at the real
frequency ``xi`` (cycles per unit length). Its minimiser subject to ``h(x_i) = y_i`` is a radial-basis interpolant::

    h(x) = sum_j alpha_j phi(|x - x_j|) + q(x),    sum_j alpha_j x_j^beta = 0 for every free monomial x^beta,

with ``phi`` the (generalised) Fourier transform of ``gamma^2`` and ``q`` a polynomial of degree at most
:func:`null_degree` -- the functions whose Fourier transform lives at ``xi = 0`` and costs nothing. Then
``||h||^2 = sum_ij alpha_i alpha_j phi(|x_i - x_j|)``.

- ``|xi|^-alpha`` (``d < alpha``) transforms to ``pi^(alpha - d/2) Gamma((d - alpha)/2) / Gamma(alpha/2)
  |x|^(alpha - d)`` (Gelfand-Shilov). When ``alpha - d = 2j`` is an even integer the Gamma function has a pole; the
  limit ``alpha -> d + 2j`` is ``(-1)^(j+1) 2 pi^(alpha - d/2) / (Gamma(alpha/2) j!) |x|^(2j) log|x|`` plus a multiple
  of the polynomial ``|x|^(2j)``, which the moment conditions remove from ``h`` and from the norm (every term of
  ``alpha_i alpha_k |x_i - x_k|^(2j)`` holds a moment of degree ``<= j``). So ``|x|^3 / 12`` is the cubic spline's
  kernel on the line and ``|x|^2 log|x| / (8 pi)`` the thin-plate spline's in the plane, with the exact norms.
- Sobolev ``(1 + 4 pi^2 |xi|^2)^-s`` (``s > d/2``) transforms to the Matérn function
  ``(2 pi)^(-d/2) 2^(1-s) / Gamma(s) r^nu K_nu(r)``, ``nu = s - d/2``, equal to ``(4 pi)^(-d/2) Gamma(nu) / Gamma(s)``
  at ``r = 0``; nothing is free.
- Free polynomials: point values are bounded by the norm after subtracting the Taylor polynomial of
  ``e^{2 pi i xi.x}`` of degree ``j - 1`` when ``int_{|xi| < 1} gamma^2 |xi|^(2j)`` is finite, i.e. ``j > (p - d)/2``
  for a weight behaving like ``|xi|^-p`` at small ``xi``: the polynomials of degree ``<= floor((p - d)/2)`` are free.
  ``PowerLaw(p)``: ``floor((p - d)/2)`` (0, constants, for ``p = 2`` on the line; 1, affine, for ``p = 4`` on the
  line and in the plane); ``LFP(a, b)``: affine when ``b > 0`` (``p = d + 3``), constants when ``b = 0``. This is
  the limit of the torus problems of growing period (only the mean free): a polynomial of degree ``j`` periodised
  over ``P`` costs ``~ P^(d - p + 2j)`` there, which vanishes or stays bounded (the log case) exactly for these
  degrees. It frees fewer polynomials than the Beppo-Levi splines when ``p/2 - 1 > (p - d)/2``: ``PowerLaw(p=4,
  dim=3)`` is ``-r / (8 pi)`` plus a constant (scipy's ``RBFInterpolator(kernel="linear", degree=0)``), not the
  D^2 spline with an affine part.

The kernel is a tuple of terms, each ``("power", c, beta)`` (``c r^beta``), ``("log", c, beta)``
(``c r^beta log r``, 0 at ``r = 0``) or ``("matern", c, nu)`` (``c r^nu K_nu(r)``).
"""

import math

import numpy as np
import scipy.linalg as sla
from scipy.special import gamma as gamma_fn
from scipy.special import kv

from ._internal.memory import check_memory
from .weights import LFP, PowerLaw, Sobolev, check_weight

__all__ = ["kernel_terms", "null_degree", "radial_kernel", "radial_slope", "kernel_error", "monomial_exponents",
           "power_transform", "check_whole_space_weight", "BESSEL_RTOL", "WholeSpaceSolution", "FlowBasis",
           "flow_basis", "pairwise_distances", "check_unisolvent"]

_U = 2.0**-53
# Kernel entries formed per block (rows x centres) when evaluating: bounds memory at ~ 8 * d of it.
_BLOCK = 1 << 21
# Relative error of scipy.special.kv (AMOS) taken in the certified residual of Sobolev kernels. Measured at most
# 1.1e-14 against mpmath.besselk for orders in [-0.5, 4.5] and r in [1e-6, 600] (tests/test_whole_space.py): a
# measured constant with a factor 90 of margin, not a proof.
BESSEL_RTOL = 1e-12


def power_transform(alpha, d):
    """The generalised Fourier transform of ``|xi|^-alpha`` on ``R^d`` (``alpha > d``) as one kernel term.

    Parameters
    ----------
    alpha : float
    d : int

    Returns
    -------
    tuple
        ``("power", c, alpha - d)`` or, when ``alpha - d`` is an even integer ``2j``, ``("log", c, 2j)``.

    Examples
    --------
    >>> import math
    >>> kind, c, beta = power_transform(4.0, 1)             # |x|^3 / 12 after the factor (2 pi)^-4
    >>> kind, round(c / (2 * math.pi) ** 4, 15), beta
    ('power', 0.083333333333333, 3.0)
    >>> kind, c, beta = power_transform(4.0, 2)             # the thin-plate spline r^2 log r / (8 pi)
    >>> kind, round(c / (2 * math.pi) ** 4 * 8 * math.pi, 14), beta
    ('log', 1.0, 2)
    """
    beta = alpha - d
    j = round(beta / 2)
    if beta == 2 * j:   # a pole of Gamma((d - alpha)/2): the log limit (see the module docstring)
        c = (-1) ** (j + 1) * 2.0 * math.pi ** (alpha - d / 2) / (math.gamma(alpha / 2) * math.factorial(j))
        return ("log", c, int(2 * j))
    return ("power", math.pi ** (alpha - d / 2) * float(gamma_fn((d - alpha) / 2)) / math.gamma(alpha / 2), beta)


def check_whole_space_weight(weight):
    """`weight` when it has a whole-space kernel here; ``ValueError`` saying why not otherwise."""
    check_weight(weight)
    d = weight.dim
    if not isinstance(weight, (PowerLaw, LFP, Sobolev)):
        raise ValueError(f"Expected `weight` to be PowerLaw, LFP or Sobolev for period=None (the whole space), got "
                         f"{weight!r}: only their Fourier transforms are known in closed form.")
    if isinstance(weight, (PowerLaw, LFP)) and weight.zero is not None:
        raise ValueError(f"Expected `weight` with zero=None for period=None, got {weight!r}: on the whole space the "
                         f"single frequency xi = 0 has measure zero, so gamma(0) cannot penalise anything; the "
                         f"polynomials the weight leaves free (degree <= {null_degree(weight)}) cost nothing.")
    if isinstance(weight, PowerLaw) and not weight.p > d:
        raise ValueError(f"Expected `weight` PowerLaw with p > d = {d} for period=None, got p = {weight.p}: "
                         f"int gamma(xi)^2 d xi diverges at large xi, so point values are not bounded by the norm "
                         f"and no interpolant of minimum norm exists.")
    if isinstance(weight, Sobolev) and not 2 * weight.s > d:
        raise ValueError(f"Expected `weight` Sobolev with s > d/2 = {d / 2} for period=None, got s = {weight.s}: "
                         f"int gamma(xi)^2 d xi diverges, so point values are not bounded by the norm.")
    return weight


def kernel_terms(weight):
    """The whole-space kernel ``phi(r)`` of a weight as a tuple of terms (see the module docstring).

    Examples
    --------
    >>> from fpnorm import LFP
    >>> [(kind, round(c, 6), beta) for kind, c, beta in kernel_terms(LFP(a=1.0, b=0.0))]   # -2 pi^2 |x|
    [('power', -19.739209, 1.0)]
    """
    check_whole_space_weight(weight)
    d = weight.dim
    if isinstance(weight, PowerLaw):
        kind, c, beta = power_transform(weight.p, d)
        return ((kind, c * (2 * math.pi) ** -weight.p, beta),)
    if isinstance(weight, LFP):
        terms = []
        for coef, alpha in ((weight.a, d + 1.0), (weight.b, d + 3.0)):
            if coef > 0:
                kind, c, beta = power_transform(alpha, d)
                terms.append((kind, coef * c, beta))
        return tuple(terms)
    s = weight.s
    return (("matern", (2 * math.pi) ** (-d / 2) * 2.0 ** (1 - s) / math.gamma(s), s - d / 2),)


def null_degree(weight):
    """The largest degree of the polynomials the weight leaves free on ``R^d`` (-1: none).

    Examples
    --------
    >>> from fpnorm import PowerLaw, LFP, Sobolev
    >>> null_degree(PowerLaw(p=4, dim=1)), null_degree(PowerLaw(p=4, dim=2)), null_degree(PowerLaw(p=2, dim=1))
    (1, 1, 0)
    >>> null_degree(LFP(a=1.0, b=1.0, dim=3)), null_degree(LFP(a=1.0, b=0.0)), null_degree(Sobolev(s=1))
    (1, 0, -1)
    """
    d = weight.dim
    if isinstance(weight, PowerLaw):
        small = weight.p                            # gamma^2 ~ |xi|^-p at small xi
    elif isinstance(weight, LFP):
        small = d + 3.0 if weight.b > 0 else d + 1.0
    else:
        return -1
    return int(math.floor((small - d) / 2))


def monomial_exponents(d, degree):
    """Exponents of the monomials ``x^beta`` with ``|beta| <= degree`` in ``d`` variables, shape (L, d), by degree."""
    out = [()]
    rows = [np.zeros(d, dtype=np.int64)] if degree >= 0 else []
    for _ in range(degree):
        out = [e + (i,) for e in out for i in range(d) if not e or i >= e[-1]]
        for e in out:
            rows.append(np.bincount(np.array(e, dtype=np.int64), minlength=d))
    return np.array(rows, dtype=np.int64).reshape(-1, d)


def radial_kernel(terms, r):
    """``phi(r)`` for distances ``r >= 0`` (any shape)."""
    r = np.asarray(r, dtype=float)
    out = np.zeros_like(r)
    pos = r > 0
    for kind, c, beta in terms:
        if kind in ("power", "log"):
            with np.errstate(over="ignore", invalid="ignore"):   # far-out points overflow: the solver refuses them
                out[pos] += c * r[pos] ** beta * (np.log(r[pos]) if kind == "log" else 1.0)
        else:
            nu = beta
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                val = c * r[pos] ** nu * kv(nu, r[pos])
            out[pos] += np.where(np.isfinite(val), val, 0.0)   # r^nu K_nu(r) underflows to 0 far out
            out[~pos] += c * math.gamma(nu) * 2.0 ** (nu - 1)
    return out


def radial_slope(terms, r):
    """``phi'(r)`` for ``r > 0`` (0 at ``r = 0``, where every kernel here with a free polynomial or ``nu > 1/2`` is
    flat or a cusp that the sensitivity estimate does not need)."""
    r = np.asarray(r, dtype=float)
    out = np.zeros_like(r)
    pos = r > 0
    rp = r[pos]
    for kind, c, beta in terms:
        if kind == "power":
            out[pos] += c * beta * rp ** (beta - 1)
        elif kind == "log":
            out[pos] += c * rp ** (beta - 1) * (beta * np.log(rp) + 1.0)
        else:
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                val = -c * rp ** beta * kv(beta - 1, rp)       # (r^nu K_nu)' = -r^nu K_(nu-1)
            out[pos] += np.where(np.isfinite(val), val, 0.0)
    return out


def kernel_error(terms, r, d):
    """A bound on ``|fl(phi(fl(r))) - phi(r)|`` at exact distances ``r`` computed from float coordinates.

    ``fl(r) = sqrt(sum (x_c - x'_c)^2)`` in double is within ``delta = (d + 4) u`` relative of the exact distance
    (one rounding per difference, two per square, ``d - 1`` in the sum, one in the square root, halved by the root);
    a term then moves by at most ``|r phi'|`` times ``delta`` (with a second-order margin) plus the rounding of its
    own evaluation (pow and log within a unit each, products: four units; kv within :data:`BESSEL_RTOL`).
    """
    r = np.asarray(r, dtype=float)
    delta = (d + 4) * _U
    out = np.zeros_like(r)
    pos = r > 0
    rp = r[pos]
    for kind, c, beta in terms:
        if kind == "power":
            mag = abs(c) * rp ** beta
            out[pos] += mag * (beta * delta * (1 + 2 * beta * delta) + 6 * _U)
        elif kind == "log":
            lg = np.abs(np.log(rp))
            mag = abs(c) * rp ** beta * (1 + 2 * beta * delta)
            out[pos] += mag * (delta * (1 + 2 * delta) * (beta * lg + 1) + 6 * _U * (lg + 1))
        else:
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                value = abs(c) * rp ** beta * kv(beta, rp)
                slope = abs(c) * rp ** (beta + 1) * kv(beta - 1, rp)    # |r phi'|: (r^nu K_nu)' = -r^nu K_(nu-1)
            value, slope = (np.where(np.isfinite(v), v, 0.0) for v in (value, slope))
            out[pos] += value * (BESSEL_RTOL + 6 * _U) + 2 * delta * slope
            out[~pos] += abs(c) * math.gamma(beta) * 2.0 ** (beta - 1) * (BESSEL_RTOL + 4 * _U)
    return out


def pairwise_distances(a, b):
    """``|a_i - b_j|_2`` in double, shape (len(a), len(b)): the one formula evaluation and certification share."""
    acc = np.zeros((a.shape[0], b.shape[0]))
    for c in range(a.shape[1]):
        diff = a[:, c, None] - b[None, :, c]
        acc += diff * diff
    return np.sqrt(acc)


class WholeSpaceSolution:
    """``h - h_ini = sum_j alpha_j phi(|x - x_j|) + sum_l c_l ((x - shift) / scale)^beta_l`` on ``R^d``.

    Parameters
    ----------
    centers : ndarray, shape (N, d)
        The data points ``x_j``.
    alpha : ndarray, shape (N, m)
    poly : ndarray, shape (L, m)
        Coefficients ``c_l`` of the free monomials (:func:`fpnorm.whole_space.monomial_exponents`).
    shift : ndarray, shape (d,)
    scale : float
    weight : Weight
        Its whole-space kernel (:func:`fpnorm.whole_space.kernel_terms`) is ``phi``.
    norm2 : ndarray, shape (m,)
        ``||h - h_ini||^2 = alpha^T A alpha`` per column.
    info : SolveInfo or None
    """

    def __init__(self, centers, alpha, poly, shift, scale, weight, norm2, info=None):
        self.centers, self.alpha, self.poly, self.shift, self.scale = centers, alpha, poly, shift, float(scale)
        self.weight, self.norm2, self.info = weight, norm2, info
        self.terms = kernel_terms(weight)
        self.exponents = monomial_exponents(weight.dim, null_degree(weight))

    @property
    def width(self):
        """Columns ``m``."""
        return self.alpha.shape[1]

    def basis(self, x):
        """The free monomials at points `x` (shape (Q, d)), shape (Q, L)."""
        t = (x - self.shift) / self.scale
        out = np.ones((x.shape[0], self.exponents.shape[0]))
        for col, beta in enumerate(self.exponents):
            for c, e in enumerate(beta):
                for _ in range(e):
                    out[:, col] *= t[:, c]
        return out

    def __call__(self, q):
        """Values at points `q` of shape (Q, d), shape (Q, m)."""
        out = np.empty((q.shape[0], self.width))
        rows = max(1, _BLOCK // max(1, self.centers.shape[0]))
        for start in range(0, q.shape[0], rows):
            sl = slice(start, min(q.shape[0], start + rows))
            out[sl] = radial_kernel(self.terms, pairwise_distances(q[sl], self.centers)) @ self.alpha \
                + self.basis(q[sl]) @ self.poly
        return out

    def gradient_norms(self, q):
        """``|grad h|_2`` at points `q` (shape (Q, d)), shape (Q, m)."""
        d = q.shape[1]
        out = np.empty((q.shape[0], self.width))
        rows = max(1, _BLOCK // max(1, self.centers.shape[0] * d))
        step = 1e-7 * self.scale
        for start in range(0, q.shape[0], rows):
            sl = slice(start, min(q.shape[0], start + rows))
            r = pairwise_distances(q[sl], self.centers)
            w = np.divide(radial_slope(self.terms, r), r, out=np.zeros_like(r), where=r > 0)
            grad = np.zeros((r.shape[0], d, self.width))
            for c in range(d):
                grad[:, c] = (w * (q[sl, c, None] - self.centers[None, :, c])) @ self.alpha
                if self.exponents.shape[0] > 1:   # the polynomial part: a central difference is exact for degree 2
                    e = np.zeros(d)
                    e[c] = step
                    grad[:, c] += (self.basis(q[sl] + e) - self.basis(q[sl] - e)) @ self.poly / (2 * step)
            out[sl] = np.sqrt(np.sum(grad**2, axis=1))
        return out

    @classmethod
    def _from_fields(cls, f):
        """A loaded solution (:mod:`fpnorm._state.schema`): shapes that agree with the weight."""
        weight, centers = check_whole_space_weight(f["weight"]), f["centers"]
        L = monomial_exponents(weight.dim, null_degree(weight)).shape[0]
        if centers.shape[1] != weight.dim or f["poly"].shape[0] != L or f["alpha"].shape[1] != f["norm2"].size:
            raise ValueError(f"WholeSpaceSolution: arrays 'centers' {centers.shape}, 'poly' {f['poly'].shape}, "
                             f"'alpha' {f['alpha'].shape} and 'norm2' {f['norm2'].shape} should agree with the "
                             f"weight {weight!r} (d = {weight.dim}, {L} free monomials)")
        return cls(centers, f["alpha"], f["poly"], f["shift"], f["scale"], weight, f["norm2"])


def check_unisolvent(P, weight, N, d, A):
    """``ValueError`` naming `points` when the kernel overflows or the points do not determine the free monomials."""
    if not np.isfinite(A).all():
        raise ValueError("Expected `points` whose kernel values phi(|x_i - x_j|) are finite, got points so far "
                         "apart that they overflow: rescale the points (and the weight with them, see the README's "
                         "'Data on an interval or a box').")
    L = P.shape[1]
    rank = int(np.linalg.matrix_rank(P)) if L else 0
    if rank < L:
        raise ValueError(f"Expected `points` that determine the polynomials of degree <= {null_degree(weight)} the "
                         f"weight {weight!r} leaves free on the whole space ({L} of them in d = {d}), got {N} "
                         f"point(s) on which they have rank {rank}: the minimum-norm interpolant is not unique. "
                         f"Add points off that {'line' if d == 2 else 'plane' if d == 3 else 'point'}, or use a "
                         f"weight with fewer free polynomials.")


class FlowBasis:
    """The whole-space LFP flow's eigen-decomposition at the points (see :func:`flow_basis`).

    Attributes
    ----------
    solution : WholeSpaceSolution
        The kernel, the free monomials, the points; its coefficients are set per time by :meth:`coefficients`.
    A, P, Q1, Q2, R : ndarray
        Kernel matrix (N, N), monomials (N, L), the QR factors of ``P`` (``Q2`` spans the moment conditions).
    lam, V : ndarray
        ``Q2^T A Q2 = V diag(lam) V^T``, ``lam`` descending, shapes (N - L,) and (N - L, N - L).
    """

    def __init__(self, solution, A, P, Q1, Q2, R, lam, V):
        self.solution, self.A, self.P, self.Q1, self.Q2, self.R, self.lam, self.V = solution, A, P, Q1, Q2, R, lam, V

    def coefficients(self, ts, rhs):
        """``alpha(t)`` (N, T * m) and ``c(t)`` (L, T * m), time-major, for right-hand sides `rhs` (N, m).

        ``alpha = Q2 V diag((1 - e^{-t lam / N}) / lam) V^T Q2^T r`` and ``c`` the least-squares fit of
        ``r - A alpha`` by the free monomials (the free part moves infinitely fast); both 0 at ``t = 0``. Directions
        with ``lam <= 0`` (rounding of a singular kernel matrix) never move.
        """
        N, m = rhs.shape
        L = self.P.shape[1]
        w = self.V.T @ (self.Q2.T @ rhs)                                      # (n, m)
        kept = self.lam > 0
        phi = np.zeros((ts.size, self.lam.size))
        with np.errstate(invalid="ignore", over="ignore"):
            phi[:, kept] = -np.expm1(-ts[:, None] * (self.lam[kept] / N)[None, :]) / self.lam[kept][None, :]
        b = (phi[:, :, None] * w[None]).transpose(1, 0, 2).reshape(self.lam.size, ts.size * m)
        alpha = self.Q2 @ (self.V @ b)
        target = np.tile(rhs, (1, ts.size)) - self.A @ alpha
        c = sla.solve_triangular(self.R[:L, :L], self.Q1.T @ target) if L else np.zeros((0, alpha.shape[1]))
        zero = np.repeat(ts == 0, m)
        alpha[:, zero], c[:, zero] = 0.0, 0.0                                  # h(0) = h_ini exactly
        return alpha, c


def flow_basis(weight, x):
    """The eigen-decomposition behind the whole-space LFP flow at points `x` (shape (N, d), distinct).

    Returns
    -------
    FlowBasis

    Raises
    ------
    ValueError
        When the points do not determine the free polynomials (as :func:`solve_whole_space`).
    """
    N, d = x.shape
    terms = kernel_terms(weight)
    exps = monomial_exponents(d, null_degree(weight))
    L = exps.shape[0]
    check_memory(8 * N * N * (d + 6), f"the {N} x {N} whole-space kernel matrix and its eigenvectors",
                 "Use fewer points.")
    shift = np.mean(x, axis=0)
    scale = float(np.max(np.abs(x - shift))) or 1.0
    sol = WholeSpaceSolution(x, np.zeros((N, 1)), np.zeros((L, 1)), shift, scale, weight, np.zeros(1))
    A = radial_kernel(terms, pairwise_distances(x, x))
    P = sol.basis(x)
    check_unisolvent(P, weight, N, d, A)
    Q, R = np.linalg.qr(P, mode="complete") if L else (np.eye(N), np.zeros((0, 0)))
    Q2 = Q[:, L:]
    B = Q2.T @ A @ Q2
    lam, V = np.linalg.eigh((B + B.T) / 2)
    order = np.argsort(lam)[::-1]
    # eigenvalues within rounding of 0 (relative to the largest) carry no direction the data determine
    lam = lam[order]
    lam = np.where(lam > lam.size * np.finfo(float).eps * max(float(lam[0]) if lam.size else 0.0, 0.0), lam, 0.0)
    return FlowBasis(sol, A, P, Q[:, :L], Q2, R, lam, V[:, order])
