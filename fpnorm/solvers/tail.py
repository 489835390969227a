"""The kernel's tail beyond a box: its rigorous bound, its moments and a model of its matrix at the points.

- :func:`kernel_tail_bound`: a rigorous bound on ``T(K) = sum_{|k|_inf > K} gamma(k)^2``, in any dimension; it bounds
  the kernel error ``sup_z |kappa(z) - kappa_K(z)|``, and it is infinite exactly when the K -> infinity problem is
  ill-posed.
- :func:`tail_moments`: estimates of ``T_0`` and of the tail's variogram near 0 (its second moment for smooth
  weights, the continuum Riesz-potential constant for rough ones); :func:`summed_tail` the same ``T_0`` for a weight
  known only through its values.
- :func:`far_tail_matrix`: the model of the tail's kernel matrix, ``T_0`` on the diagonal and ``T_0 exp(-v/T_0)``
  between close points, that the truncation estimate (:mod:`fpnorm.solvers.truncation`) applies beyond its band.
"""

import math

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .._internal.checks import check_int
from .._internal.memory import check_memory
from ..lattice import box_points, box_points_memory
from ..weights import LFP, PowerLaw, Sobolev, box_memory, check_weight

__all__ = ["kernel_tail_bound", "tail_moments", "summed_tail", "far_tail_matrix"]

# Explicitly summed shells beyond K before the integral bound takes over.
_EXPLICIT_SHELLS = 2000
# Gauss-Legendre nodes per axis of a face of the cube |k|_inf = n, for the far tail's sums over that shell.
_FACE_NODES = 8
# Far-tail correlations exp(-v/T_0) below exp(-_FAR_CUT) are dropped (the pair search stops at that distance).
_FAR_CUT = 25.0
# A weight known only through its values is summed beyond the box on at most this many lattice points.
_SUMMED_POINTS = 1 << 22
# Up to this many points the far-tail model is a dense array (cheaper than building a sparse one).
_DENSE_POINTS = 512
# Close pairs in the far-tail model at most (per point); beyond, the model keeps its diagonal alone (cutting the
# radius instead would leave an indefinite matrix where correlations near 1 are cut), so that tight clusters and
# smoothing fits with N >> (2K+1)^d stay cheap.
_PAIRS_PER_POINT = 64


def _power_terms(weight):
    """``[(c, q), ...]`` with ``gamma(k)^2 <= sum_i c_i |k|^-q_i`` for ``k != 0`` (asymptotically equal), and the exact
    radial profile."""
    d = weight.dim
    if isinstance(weight, PowerLaw):
        c = (2 * math.pi) ** (-weight.p)
        return [(c, weight.p)], lambda r: c * r ** (-weight.p)
    if isinstance(weight, LFP):
        a, b = weight.a, weight.b
        return [(a, d + 1.0), (b, d + 3.0)], lambda r: a * r ** (-(d + 1.0)) + b * r ** (-(d + 3.0))
    if isinstance(weight, Sobolev):
        s = weight.s
        return [((2 * math.pi) ** (-2 * s), 2 * s)], lambda r: (1.0 + (2 * math.pi * r) ** 2) ** (-s)
    raise ValueError(f"Expected `weight` to be a PowerLaw, LFP or Sobolev weight (radially decreasing, with a known "
                     f"power-law majorant) for a tail bound, got {weight!r}.")


def kernel_tail_bound(weight, K):
    """Rigorous upper bound on ``T(K) = sum_{|k|_inf > K} gamma(k)^2``; ``math.inf`` when the sum diverges.

    Parameters
    ----------
    weight : PowerLaw, LFP or Sobolev
        Any dimension ``d``.
    K : int
        Truncation, ``K >= 0``.

    Returns
    -------
    float

    Notes
    -----
    ``T(K)`` bounds the kernel error of truncation uniformly: ``|kappa(z) - kappa_K(z)| <= T(K)`` for every ``z``.
    The weights here are ``gamma(k)^2 = g(|k|_2)`` with ``g`` nonincreasing and ``g(r) <= sum_i c_i r^-q_i``. On the
    shell ``|k|_inf = n`` there are ``S(n) = (2n+1)^d - (2n-1)^d`` points, each with ``|k|_2 >= n``, so
    ``T(K) <= sum_{n > K} S(n) g(n)`` (an equality in d = 1). Shells ``K < n <= L = K + 2000`` are summed exactly;
    for ``n > L``, ``S(n) <= 2d (2n+1)^(d-1) <= 2d (2n)^(d-1) (1 + 1/(2L))^(d-1)`` and each ``n^(d-1-q_i)`` is
    decreasing, so ``sum_{n > L} n^(d-1-q) <= int_L^inf t^(d-1-q) dt = L^(d-q) / (q - d)``. The sum converges iff
    every ``q_i > d`` with ``c_i > 0``.

    Examples
    --------
    >>> from fpnorm import PowerLaw
    >>> t = kernel_tail_bound(PowerLaw(p=2), 10)   # 2 sum_{k > 10} (2 pi k)^-2 = 0.0048209...
    >>> 0.004820 < t < 0.004822
    True
    """
    check_weight(weight)
    K = check_int(K, "K", minimum=0)
    terms, g = _power_terms(weight)
    d = weight.dim
    if any(c > 0 and q <= d for c, q in terms):
        return math.inf
    L = K + _EXPLICIT_SHELLS
    n = np.arange(K + 1, L + 1, dtype=float)
    shells = (2 * n + 1) ** d - (2 * n - 1) ** d
    explicit = float(np.sum(shells * g(n)))
    factor = 2 * d * 2.0 ** (d - 1) * (1 + 1 / (2 * L)) ** (d - 1)
    remainder = factor * sum(c * L ** (d - q) / (q - d) for c, q in terms if c > 0)
    return explicit + remainder


def _face_average(d):
    """Nodes ``|u|^2`` and weights of the mean over a face ``u in [-1, 1]^(d-1)`` of the cube (Gauss-Legendre)."""
    if d == 1:
        return np.zeros(1), np.ones(1)
    x, w = np.polynomial.legendre.leggauss(_FACE_NODES)
    nodes = np.meshgrid(*([x] * (d - 1)), indexing="ij")
    weights = np.meshgrid(*([w / 2] * (d - 1)), indexing="ij")
    return sum(a.ravel() ** 2 for a in nodes), np.prod([a.ravel() for a in weights], axis=0)


def tail_moments(weight, K):
    """Estimates of ``T_0 = sum_{|k|_inf > K} gamma(k)^2`` and of the tail's variogram ``T_0 - tau_K(theta)`` near 0.

    Parameters
    ----------
    weight : PowerLaw, LFP or Sobolev
    K : int

    Returns
    -------
    T0 : float
        ``inf`` when the sum diverges.
    variogram : list of (float, float)
        ``[(c, a), ...]`` with ``T_0 - tau_K(theta) ~ sum c |theta|^a`` for small angles ``theta`` (``|theta| K < 1``):
        ``a = q - d < 2`` for a rough term ``c' |k|^-q`` (``int_{R^d} c' |u|^-q (1 - cos u.theta) du``), ``a = 2`` with
        the term's tail second moment ``sum g_k |k|^2 / (2d)`` for a smooth one (``q > d + 2``; at ``q = d + 2``,
        where it diverges logarithmically, summed to ``8K``).

    Notes
    -----
    Unlike :func:`kernel_tail_bound` these are estimates, not bounds: the shell ``|k|_inf = n`` is summed as
    ``S(n)`` times the mean of ``g(n sqrt(1 + |u|^2))`` over a face (``u in [-1, 1]^(d-1)``, Gauss-Legendre), which
    is exact in d = 1; in d = 2, 3 the face's lattice points are not its continuum (measured against lattice sums:
    ``T_0`` within 2.5e-3 beyond ``K = 6``, closer for larger ``K``).

    Examples
    --------
    >>> import math
    >>> from scipy.special import zeta
    >>> from fpnorm import PowerLaw
    >>> T0, variogram = tail_moments(PowerLaw(p=2), 10)
    >>> bool(abs(T0 / (2 * zeta(2, 11) / (2 * math.pi) ** 2) - 1) < 1e-9)   # 2 sum_{k > 10} (2 pi k)^-2
    True
    >>> variogram   # rough: T0 - tau(theta) ~ pi |theta| / (2 pi)^2
    [(0.07957747154594767, 1.0)]
    """
    terms, g = _power_terms(weight)
    d = weight.dim
    if any(c > 0 and q <= d for c, q in terms):
        return math.inf, []
    u2, wts = _face_average(d)
    L = K + _EXPLICIT_SHELLS
    n = np.arange(K + 1, L + 1, dtype=float)
    shells = (2 * n + 1) ** d - (2 * n - 1) ** d
    r = n[:, None] * np.sqrt(1.0 + u2[None, :])
    T0 = float(np.sum(shells * (g(r) @ wts)))
    faces = 2 * d * 2.0 ** (d - 1)
    variogram = []
    for c, q in terms:
        if c <= 0:
            continue
        # the shells beyond L by the integral from L + 1/2 (the midpoint rule: O(L^(d-q-2)) relative error)
        T0 += faces * c * float(wts @ (1.0 + u2) ** (-q / 2)) * (L + 0.5) ** (d - q) / (q - d)
        if q < d + 2:
            # int_{R^d} |u|^-q (1 - cos u.theta) du = -2^(d-q) pi^(d/2) Gamma((d-q)/2) / Gamma(q/2) |theta|^(q-d)
            riesz = -(2.0 ** (d - q)) * math.pi ** (d / 2) * math.gamma((d - q) / 2) / math.gamma(q / 2)
            variogram.append((c * riesz, q - d))
            continue
        top = 8 * K + 8 if q == d + 2 else L
        m = np.arange(K + 1, top + 1, dtype=float)
        rr = m[:, None] * np.sqrt(1.0 + u2[None, :])
        second = float(np.sum(((2 * m + 1) ** d - (2 * m - 1) ** d) * ((c * rr ** (2 - q)) @ wts)))
        if q > d + 2:
            second += faces * c * float(wts @ (1.0 + u2) ** (1 - q / 2)) * (L + 0.5) ** (d + 2 - q) / (q - d - 2)
        variogram.append((second / (2 * d), 2.0))
    return T0, variogram


def summed_tail(weight, Ko):
    """``T_0`` beyond ``Ko`` for a weight known only through its values: summed on the lattice up to the shell
    ``n_max`` (``8 Ko``, fewer in high d: at most ``_SUMMED_POINTS`` points), the rest extrapolated by a power law
    fitted to the shell sums of the last octave; nan when those do not decay faster than ``n^-1`` (the tail may
    diverge, or the weight may not have started to decay) or the weight is free (``inf``) somewhere beyond ``Ko``."""
    d = weight.dim
    n_max = max(2 * Ko, min(8 * Ko, int((_SUMMED_POINTS ** (1.0 / d) - 1) // 2)))
    # the lattice points, their shells, and the weight on those outside (as Weight.box)
    check_memory(box_points_memory(n_max, d) + box_memory(n_max, d), f"the tail of the weight to |k|_inf <= {n_max}")
    k = box_points(n_max, d)
    shell = np.max(np.abs(k), axis=1)
    outside = shell > Ko
    g = weight.gamma2(k[outside])
    if not np.all(np.isfinite(g)):
        return math.nan
    sums = np.bincount(shell[outside], weights=g, minlength=n_max + 1)
    octave = np.arange(n_max // 2 + 1, n_max + 1)
    if np.any(sums[octave] <= 0):
        return float(np.sum(sums))  # the weight vanishes on a whole shell: nothing to extrapolate
    slope = np.polyfit(np.log(octave), np.log(sums[octave]), 1)[0]
    if not slope < -1:
        return math.nan
    # sum_{n > n_max} S(n_max) (n / n_max)^slope ~ S(n_max) n_max / (-slope - 1)
    return float(np.sum(sums) + sums[n_max] * n_max / (-slope - 1))


def far_tail_matrix(t, T0, variogram, d):
    """Model of the far-tail kernel matrix: ``T_0`` on the diagonal, ``T_0 exp(-v(theta)/T_0)`` between close points
    (``exp(-sum c |theta|^a)`` with ``0 < a <= 2`` is positive definite, and so is the model). Dense up to
    ``_DENSE_POINTS`` points; sparse above, and the diagonal alone when the close pairs exceed ``_PAIRS_PER_POINT`` a
    point."""
    N = t.shape[0]

    def v(radius):
        return sum(c * radius**a for c, a in variogram)

    if N <= _DENSE_POINTS:
        diff = np.mod(t[:, None, :] - t[None, :, :] + math.pi, 2 * math.pi) - math.pi
        exponent = v(np.sqrt(np.sum(diff * diff, axis=-1))) / T0 if variogram and T0 > 0 else np.inf
        return np.where(np.eye(N, dtype=bool), T0, np.where(exponent < _FAR_CUT, T0 * np.exp(-exponent), 0.0))
    diag = sp.identity(N, format="csr") * T0
    if not variogram or T0 <= 0:
        return diag

    lo, hi = 0.0, math.pi  # the radius where v = _FAR_CUT T0 (v increases), at most half the period
    if v(hi) > _FAR_CUT * T0:
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if v(mid) < _FAR_CUT * T0 else (lo, mid)
    tree = cKDTree(np.mod(t, 2 * math.pi), boxsize=2 * math.pi)
    if (tree.count_neighbors(tree, hi) - N) // 2 > _PAIRS_PER_POINT * N:  # counted before any pair is stored
        return diag
    pairs = tree.query_pairs(hi, output_type="ndarray")
    if not len(pairs):
        return diag
    # the squared distances a coordinate at a time, and one sparse matrix with the diagonal in it: whole rows gathered
    # at once and a sum of two sparse matrices took twice as long (2-d N = 2e4, K = 128, LFP(1,1): 22 of 56 ms)
    square = np.zeros(pairs.shape[0])
    for j in range(t.shape[1]):
        z = np.mod(t[pairs[:, 0], j] - t[pairs[:, 1], j] + math.pi, 2 * math.pi) - math.pi
        square += z * z
    vals = T0 * np.exp(-v(np.sqrt(square)) / T0)
    ids = np.arange(N)
    rows, cols = np.r_[pairs[:, 0], pairs[:, 1], ids], np.r_[pairs[:, 1], pairs[:, 0], ids]
    return sp.csr_matrix((np.r_[vals, vals, np.full(N, float(T0))], (rows, cols)), shape=(N, N))
