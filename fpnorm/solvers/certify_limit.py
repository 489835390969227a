"""The residual of a K = infinity solution at the user's points, certified.

The solution lives in periods, ``z = x / P``; the solve saw the rounded nodes ``z_j = fl(x_j / P)``, and the points
themselves lie ``dz_j = x_j / P - z_j`` (exact, :func:`fpnorm.lattice.exact_quotient`; zero when ``P`` is a power
of two) beyond them. For the piecewise solutions of :mod:`fpnorm.solvers.periodic1d` the value at a point is, with
the one-sided derivative on the side of ``dz``::

    h(z_j + dz) = h(z_j) + h'(z_j +- 0) dz + R,    |R| <= max |h''| dz^2 / 2 + max |h'''| |dz|^3 / 6,

and ``h(z_j)`` is known in closed form: the stored node value plus the polynomial lead term (a Bernoulli
polynomial), evaluated here in extended precision with its Horner error bound. Every rounding is bounded, so the
result is a certified interval like :mod:`fpnorm.solvers.certify`'s.

For the dense closed-form kernel expansion (``method="exact_kernel"``) the value is a kernel sum; its bar is the
classical bound of a floating-point sum (Higham, sec. 3.1), plus the closed-form kernel's own evaluation error (the
Horner bound of its Bernoulli polynomials, a few units of rounding of the hyperbolic Sobolev forms), plus the
rounding of the offsets times a Lipschitz bound of the kernel measured on a grid of ``2^14`` points and doubled.
"""

import math

import numpy as np
from scipy.special import bernoulli, comb

from ..kernels import spline_parts
from ..weights import PowerLaw, Sobolev
from .certify import interval_kind, relative_interval

__all__ = ["limit_residual", "kernel_error"]

_U = 2.0**-53
# Step (in periods) of the difference quotients that estimate |h'| of a kernel expansion for the sensitivity, at most
# a quarter of the closest gap between nodes.
_STEP = 1e-6


def _horner(coeffs, w):
    """A polynomial (highest power first) at long-double `w`, and a bound on its rounding (Higham 5.1)."""
    out = np.zeros_like(w)
    for c in coeffs:
        out = out * w + np.longdouble(c)
    v = float(np.finfo(np.longdouble).eps) / 2
    n = 2 * (len(coeffs) - 1)
    mag = sum(abs(float(c)) for c in coeffs)              # |w| <= 1
    return out, n * v / (1 - n * v) * mag


def _node_expansion(piece):
    """At the sorted nodes of a piece: value (long double), its error bound, right and left slopes, the slopes'
    magnitude (their rounding is below 8 u times it) and bounds on |h''| and |h'''| nearby; each shape (N, m)."""
    if hasattr(piece, "f"):                                               # Shifted: f + t u
        f, g = _node_expansion(piece.f), _node_expansion(piece.u)
        t = piece.t
        tl = t.astype(np.longdouble)
        v = float(np.finfo(np.longdouble).eps) / 2
        prod = tl * g[0][:, :1]
        value = f[0] + prod
        err = f[1] + np.abs(t) * g[1][:, :1] + 2 * v * (np.abs(prod) + np.abs(value)).astype(float)
        right, left = f[2] + t * g[2][:, :1], f[3] + t * g[3][:, :1]
        mag = f[4] + np.abs(t) * g[4][:, :1] + np.abs(f[2]) + np.abs(f[3]) + np.abs(t * g[2][:, :1]) \
            + np.abs(t * g[3][:, :1])
        return value, err, right, left, mag, f[5] + np.abs(t) * g[5][:, :1], f[6] + np.abs(t) * g[6][:, :1]
    z, d, r, lead = piece.z, piece.d[:, None], piece.values, piece.lead
    dp = np.roll(d, 1, axis=0)
    rn, rp = np.roll(r, -1, axis=0), np.roll(r, 1, axis=0)
    w = (z - z[0]).astype(np.longdouble)[:, None]            # in [0, 1): exact to a unit of long-double rounding
    wf = (z - z[0])[:, None]
    if hasattr(piece, "second"):                                          # PiecewiseCubic
        M = piece.second
        Mn, Mp = np.roll(M, -1, axis=0), np.roll(M, 1, axis=0)
        q, q_err = _horner([1.0, -2.0, 1.0, 0.0, np.longdouble(-1) / 30], w)     # B_4
        value = r.astype(np.longdouble) + lead.astype(np.longdouble) * q / 24
        slope_lead = lead * (((wf - 1.5) * wf + 0.5) * wf) / 6             # lead * B_3(w) / 6 = lead * q'
        right = (rn - r) / d - d * (2 * M + Mn) / 6 + slope_lead
        left = (r - rp) / dp + dp * (Mp + 2 * M) / 6 + slope_lead
        mag = (np.abs(rn) + 2 * np.abs(r) + np.abs(rp)) / np.minimum(d, dp) \
            + np.maximum(d, dp) * (np.abs(Mp) + 2 * np.abs(M) + np.abs(Mn)) / 6 + np.abs(lead)
        second = np.maximum(np.maximum(np.abs(M), np.abs(Mn)), np.abs(Mp)) + np.abs(lead) / 12
        third = (np.abs(Mn) + 2 * np.abs(M) + np.abs(Mp)) / np.minimum(d, dp) + np.abs(lead)
        lead_err = np.abs(lead) * (q_err / 24 + 4 * float(np.finfo(np.longdouble).eps))
    else:                                                                 # PiecewiseLinear
        b2, b2_err = _horner([1.0, -1.0, np.longdouble(1) / 6], w)                # B_2
        value = r.astype(np.longdouble) + lead.astype(np.longdouble) * b2 / 2
        right = (rn - r) / d + lead * (wf - 0.5)
        left = (r - rp) / dp + lead * np.where(wf == 0, 0.5, wf - 0.5)   # B_1 jumps at z_0
        mag = (np.abs(rn) + 2 * np.abs(r) + np.abs(rp)) / np.minimum(d, dp) + np.abs(lead)
        second = np.abs(lead) + 0 * r
        third = 0 * r
        lead_err = np.abs(lead) * (b2_err / 2 + 4 * float(np.finfo(np.longdouble).eps))
    v = float(np.finfo(np.longdouble).eps) / 2
    err = lead_err + 2 * v * np.abs(value).astype(float)
    return value, err, right, left, mag, second, third


def limit_residual(piece, z, dz, rhs, point_scale=None):
    """Certified residual ``max |h(x_n) - y_n| / max |y|`` of a K = infinity solution, and its sensitivity.

    Parameters
    ----------
    piece : PiecewiseCubic, PiecewiseLinear, Shifted or KernelExpansion
    z : ndarray, shape (N,)
        The nodes as solved (``fl(x / P)``), in the order of `rhs`.
    dz : ndarray, shape (N,), or None
        ``x / P - z`` (None: zero).
    rhs : ndarray, shape (N, m)
    point_scale : float, optional
        The largest ``|x| / P`` of the points as given, for the sensitivity (default: ``max z``).

    Returns
    -------
    residual : float
        The upper end of the certified interval.
    kind : str
        "exact" or "bound" (:func:`fpnorm.solvers.certify.interval_kind`).
    sensitivity : float
        ``max_n |h'(z_n)| eps point_scale / max |y|``: how far the rounding of the points moves ``h`` (for a kernel
        expansion ``|h'|`` is estimated by difference quotients).
    """
    dz = np.zeros(z.shape) if dz is None else dz
    scale_pts = float(np.max(z, initial=0.0)) if point_scale is None else float(point_scale)
    if hasattr(piece, "alpha"):
        hi, lo = _kernel_interval(piece, z, dz, rhs)
        # |h'| at the nodes by one-sided difference quotients (an estimate: Sum |alpha_j| times the kernel's
        # Lipschitz constant bounds it too, but cancelling dual coefficients make that far too large)
        nodes = np.sort(piece.z)
        gap = float(np.min(np.diff(np.append(nodes, nodes[0] + 1.0)))) if nodes.size > 1 else 1.0
        step = max(min(_STEP, gap / 4), 1e-14)   # inside the closest pair of nodes, where cancelling alphas bite
        slope = np.maximum(np.abs(piece(z + step) - piece(z)), np.abs(piece(z) - piece(z - step))) / step
    else:
        order = np.argsort(z, kind="stable")
        value, err, right, left, mag, second, third = _node_expansion(piece)
        d = dz[order][:, None]
        slope = np.where(d >= 0, right, left)
        v = float(np.finfo(np.longdouble).eps) / 2
        diff = value - rhs[order].astype(np.longdouble)
        move = slope.astype(np.longdouble) * d.astype(np.longdouble)
        res = diff + move
        ad = np.abs(d)
        bar = (err + v * (np.abs(diff) + np.abs(move) + np.abs(res)).astype(float) + 8 * _U * mag * ad
               + second * ad**2 / 2 + third * ad**3 / 6)
        absolute = np.abs(res).astype(float)
        hi, lo = absolute * (1 + 2 * _U) + bar, np.maximum(absolute * (1 - 2 * _U) - bar, 0.0)
    upper, lower = relative_interval(hi, lo, rhs)
    residual, kind, _ = interval_kind(upper, lower)
    top = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    sens = float(np.max(np.abs(slope), initial=0.0) * np.finfo(float).eps * scale_pts / (top if top > 0 else 1.0))
    return residual, kind, sens


def _bernoulli_error(p):
    """Error bound of :func:`fpnorm.kernels.bernoulli_kernel` at order `p`: Horner on ``[0, 1)`` is within
    ``gamma_2p sum_j C(p, j) |B_j|`` (Higham 5.1), and the division by ``p!`` and the fraction add two roundings."""
    mag = sum(comb(p, j, exact=True) * abs(float(b)) for j, b in enumerate(bernoulli(p))) / math.factorial(p)
    n = 2 * p + 4
    return n * _U / (1 - n * _U) * mag, mag


def kernel_error(weight):
    """A bound on ``|fl(kappa(z)) - kappa(z)|`` for the closed-form kernel of `weight` (any float ``z``)."""
    if isinstance(weight, Sobolev):
        sh, ch = math.sinh(0.5), math.cosh(0.5)
        if weight.s == 1:   # cosh(u) / (2 sinh(1/2)), |u| <= 1/2: three roundings and libm's cosh
            return 8 * _U * ch / (2 * sh)
        # the s = 2 form: two products and a difference of terms of at most these sizes, each within a few units
        return 16 * _U * (0.5 * math.sinh(0.5) * 2 * sh + ch * (2 * sh + ch)) / (2 * sh) ** 2 / 2
    zero = 0.0 if weight.zero is None else float(weight.zero)
    if isinstance(weight, PowerLaw):
        err, mag = _bernoulli_error(int(weight.p))
        return err + 2 * _U * (mag + zero)
    a2, a4 = spline_parts(weight)
    (e2, m2), (e4, m4) = _bernoulli_error(2), _bernoulli_error(4)
    return a2 * e2 + a4 * e4 + 6 * _U * (a2 * m2 + a4 * m4 + zero)


def _kernel_interval(piece, z, dz, rhs):
    """Absolute upper and lower residuals of a kernel expansion at ``z + dz``, and its slope bound per point."""
    alpha, c, kappa = piece.alpha, piece.c, piece.kappa
    N = z.size
    grid = np.arange(1 << 14) / float(1 << 14)
    k = kappa(grid)
    # Lipschitz bound of kappa from its grid differences, doubled for what lies between grid points
    lip = 2.0 * float(np.max(np.abs(np.diff(np.append(k, k[0]))))) * (1 << 14)
    values = piece(z, dz)
    G = np.abs(kappa(z[:, None] - piece.z[None, :]))
    n = N + 2
    gamma = n * _U / (1 - n * _U)
    sum_bar = gamma * (G @ np.abs(alpha) + np.abs(c)) + kernel_error(piece.weight) * np.sum(np.abs(alpha), axis=0)
    slope = lip * np.sum(np.abs(alpha), axis=0)
    # the offsets z_n - z_j + dz_n are rounded twice (by at most 2u, as |z_n - z_j| < 1): the slope times that
    bar = sum_bar + 4 * _U * slope + 2 * _U * np.abs(values)
    absolute = np.abs(values - rhs)
    return absolute * (1 + 2 * _U) + bar, np.maximum(absolute * (1 - 2 * _U) - bar, 0.0)
