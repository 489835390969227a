"""Certified values by a low-rank Taylor NUFFT: ``O(N T + T n^d log n)`` instead of ``O(N (2K+1)^d)``.

The values ``h_n = sum_k c_k e^{i k.theta_n}`` at angles ``theta = t + t_lo`` (:func:`fpnorm.lattice.exact_angles`)
are computed as in Ruiz-Antolin and Townsend, "A nonuniform fast Fourier transform based on low rank approximation"
(SIAM J. Sci. Comput. 40, 2018). Along each axis a grid of ``n = 2^p > 2W`` points (``W`` the half-width of the
modes about their centre ``k0``) and ``theta = 2 pi s / n + delta`` with an integer ``s`` and ``|delta| <~ pi / n``:

    e^{i k.theta} = e^{2 pi i k.s/n} e^{i k0.delta} e^{i (k - k0).delta},
    e^{i (k - k0).delta} = sum_{|a| < R} prod_j (i n_j delta_j)^{a_j} / a_j! ((k_j - k0_j) / n_j)^{a_j} + remainder,

so ``h_n = e^{i k0.delta_n} sum_{|a| < R} i^{|a|} q_a(delta_n) F_a[s_n]`` with ``F_a`` the inverse FFT of
``c_k prod_j ((k_j - k0_j)/n_j)^{a_j}`` (numbers of size ``<= 1``: the scaling by ``n`` keeps them ``O(1)``):
``T = C(R - 1 + d, d)`` terms (the total-degree expansion) and ``T`` multiply-adds per point. The trailing axes'
transform of ``c_k prod_{j >= 2} ((k_j - k0_j)/n_j)^{a_j}`` depends on ``a_2..a_d`` alone, so it runs once for each
of their ``C(R - 2 + d, d - 1)`` multi-indices, and each term adds the first axis's transform of it times
``((k_1 - k0_1)/n_1)^{a_1}``.

The error of every value is bounded by ``phi sum_k |c_k|`` with ``phi`` the sum of (:func:`relative_bound`):

- the Taylor remainder: with ``z = sum_j W_j |delta_j|`` (the largest over the points), the terms of total degree
  ``>= R`` sum to at most ``z^R / R! / (1 - z / (R + 1))``;
- ``delta`` itself: formed from the double-double angle with an exact product and two exact differences
  (Cody-Waite pieces of ``2 pi / n``, Knuth's two-sum), so it is off by a few units of rounding of ``delta`` and of
  the low parts; a phase error ``e`` moves ``e^{i (k - k0).delta}`` by at most ``W e``;
- the rounding of the weights ``c_k prod ((k - k0)/n)^a`` (``R + d`` roundings), of the powers ``q_a``
  (``2R + d``), of the products and of the sums (the ``g <= C(R - 2 + d, d - 1)`` terms of each degree, then the
  ``R`` degrees): ``gamma_{4R + 2d + 1 + g}`` relative, on terms whose moduli sum to at most
  ``sum_{r < R} z^r / r! sum_k |c_k|``;
- the FFTs, under the componentwise model below, with the same sum of moduli;
- with a centre ``k0 != 0`` (the folded half box of ``real``), the factor ``e^{i k0.delta}`` from libm
  (``LIBM_ULPS``, :mod:`fpnorm.lattice`) and its product.

FFT model (assumed of scipy.fft's default backend, pocketfft, for complex power-of-two sizes; another backend set
with ``scipy.fft.set_backend`` must meet it too; next to the libm assumption
:data:`fpnorm.lattice.LIBM_ULPS`): a length-``n`` transform is a radix-``2^j`` Cooley-Tukey network, so every
output is ``sum_k x_k w^{jk} prod_{path} (1 + eps_e)``, one path of ``log2 n`` radix-2 levels per (input, output),
each level perturbing by at most ``eta``: a twiddle within ``FFT_TWIDDLE_UNITS`` units of rounding, a complex
product (``sqrt(2) gamma_2``) and a complex sum (``u``) (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., ch. 24 and sec. 3.6); multiplications by ``+-1, +-i`` are exact and the radix-8
rotations by ``(1 +- i) / sqrt(2)`` fit in the same per-level budget. A ``d``-dimensional transform composes the
axes, so its paths have ``sum_j log2 n_j`` levels (the first axis's weight, applied between the trailing axes'
transform and the first axis's, is one rounding on every path wherever it sits, and counted with the weights').
Then ``|fl(y_j) - y_j| <= ((1 + eta)^L - 1) sum_k |x_k|``.
``eta`` carries a safety factor :data:`FFT_SAFETY` over that sum; tests/test_certify_fft.py measures the model
against exact sums.
"""

import itertools
import math

import numpy as np
import scipy.fft

from .._internal.memory import check_memory
from .._internal.threads import cores, map_threads
from ..lattice import LIBM_ULPS, TWO_PI_HI, TWO_PI_LO

__all__ = ["FFT_TWIDDLE_UNITS", "FFT_SAFETY", "FFT_LEVEL_ERROR", "TRUNCATION_UNITS", "box_columns", "fft_error",
           "fold_half", "taylor_plan", "taylor_seconds", "relative_bound", "taylor_values", "taylor_values_memory"]

_U = 2.0**-53
# Unit of rounding of the extended type (numpy.longdouble: 2^-64 on x86, the double's where the platform has no wider
# type); scipy.fft transforms clongdouble in that type, with twiddles computed in it (measured: 1e-21 of sum |x_k|
# against mpmath at n = 2^12).
_U_EXTENDED = float(np.finfo(np.longdouble).eps) / 2
# The extended path's time relative to the double one's (measured: an FFT of 2^19 clongdouble points 63 ms against
# 13 ms; the per-point products alike).
_EXTENDED_COST = 5.0
# Error of a twiddle factor in units of rounding u: pocketfft forms w^k as the product of two table entries
# computed to within about an ulp (at most 2 sqrt(2) u each, complex), and their product adds sqrt(2) gamma_2
# (~2.8 u): 8 units cover both entries at 1.4 ulps.
FFT_TWIDDLE_UNITS = 8.0
# Safety factor on the per-level error: the model's eta is FFT_SAFETY times twiddle + complex product + complex sum
# (~11.8 u). Radix-4 and radix-8 stages spend one twiddle on two or three levels, so the budget is already about
# twice what a level of pocketfft's network can take; tests/test_certify_fft.py measures the largest error, on
# random and on adversarial data, far below the model without this factor.
FFT_SAFETY = 2.0


def _level_error(u):
    return FFT_SAFETY * (FFT_TWIDDLE_UNITS * u + np.sqrt(2.0) * 2 * u / (1 - 2 * u) + u)


FFT_LEVEL_ERROR = _level_error(_U)
# The Taylor remainder is made at most this many units of rounding (relative to sum |c_k|): a tenth or less of the
# FFT's rounding (some hundreds of units at the sizes where the route is taken), so one more term would not tighten
# the bound noticeably.
TRUNCATION_UNITS = 32.0
# Largest |s| of a grid index (26 bits): s times the 27-bit leading piece of 2 pi / n, and times the 26-bit second
# piece, are exact.
_S_BITS = 26
# Time model of taylor_seconds (one core, measured on the shared 2-core machine): per element and radix-2 level of
# an FFT (pocketfft: ~4 ms for 2^18 points), per element of the grid (placing the weighted coefficients), and per
# point and term (the gather F_a[s_n] and the multiply-adds); every term transforms the first axis, every multi-index
# of the trailing axes those (_term_sums). Measured against the model, one process, the machine loaded: 0.08-0.16 s
# (0.09) at 1e5 points and K = 2^17; 2-d 1.0-1.7 s (1.5) at 8e4 points and K = 256, 0.35 s (0.38) at 2e4 points and
# K = 128; 3-d 3.3 s (3.2) at 5000 points and K = 16.
_FFT_NS = 0.8
_GRID_NS = 3.0
_POINT_NS = 12.0
# i^r
_UNIT = (1.0, 1j, -1.0, -1j)
# Runs of consecutive degrees whose 1-d transforms and sums go to a thread each (_term_sums): a fixed number, so that
# the values do not depend on the cores (two cores: the extended-precision sums at 1e5 points, K = 2^17, in 0.4 of the
# time of one run).
_ONE_D_RUNS = 2
# Fixed cost per term (the FFT call, a dozen numpy operations on small arrays): 0.3 ms for the 16 terms at 120 points
# and K = 256, where the direct sums take as long.
_TERM_NS = 20_000.0


def _gamma(n, u=_U):
    return n * u / (1.0 - n * u)


def fft_error(levels, eta=FFT_LEVEL_ERROR):
    """``(1 + eta)^L - 1``: the componentwise error of an FFT with `levels` radix-2 levels, relative to
    ``sum_k |x_k|`` (module docstring), rounded up.

    Examples
    --------
    >>> bool(fft_error(19) < 1e-13), fft_error(0)
    (True, 0.0)
    """
    return float(np.expm1(levels * np.log1p(eta))) * (1 + 2.0**-40)


def box_columns(coef, dim):
    """A box of coefficients as columns: ``(2K+1, K, tail, flat, m)`` with ``tail`` the shape after the box axes and
    ``flat`` of shape ``(2K+1,)*dim + (m,)``."""
    n_modes = coef.shape[0]
    tail = coef.shape[dim:]
    flat = np.asarray(coef).reshape((n_modes,) * dim + (-1,))
    return n_modes, (n_modes - 1) // 2, tail, flat, flat.shape[-1]


def fold_half(flat, K, dim, dtype=complex):
    """``d_k = c_k + conj(c_-k)`` for ``k_1 > 0`` and ``d_k = c_k`` for ``k_1 = 0``: the half box ``k_1 = 0..K``
    with ``Re h = Re sum_{k_1 >= 0} d_k e^{i k.t}`` for any coefficients.

    Parameters
    ----------
    flat : complex ndarray, shape ``(2K+1,)*dim + (m,)``
    K, dim : int
    dtype : numpy dtype
        Of the result and of its sums (``numpy.clongdouble`` for the extended-precision sums).

    Returns
    -------
    complex ndarray, shape ``(K+1,) + (2K+1,)*(dim-1) + (m,)``, each entry rounded once.
    """
    first = flat[K:].astype(dtype)
    first[1:] += np.conj(flat[:K][::-1][(slice(None),) + (slice(None, None, -1),) * (dim - 1)]).astype(dtype)
    return first


def taylor_plan(K, dim, real=False, grow=1, extended=False):
    """The grid of every axis: ``(lo, hi, k0, W, n)`` per axis (modes ``lo..hi`` about the centre ``k0``, half-width
    ``W``, ``n`` the smallest power of two above ``2W`` times `grow`), and the degree ``R`` that makes the Taylor
    remainder at most :data:`TRUNCATION_UNITS` for ``|delta_j| <= pi / n_j``.

    Examples
    --------
    >>> axes, R = taylor_plan(2**17, 1)
    >>> axes, R
    ([(-131072, 131072, 0, 131072, 524288)], 16)
    """
    axes = []
    for j in range(dim):
        lo, hi = (0, K) if real and j == 0 else (-K, K)
        k0 = (lo + hi) // 2
        W = max(hi - k0, k0 - lo)
        axes.append((lo, hi, k0, W, grow << (2 * W).bit_length()))
    # the a-priori z, with room for the rounding of s (|delta_j| <= (1/2 + 2^-40) 2 pi / n_j)
    z = sum(W * np.pi / n for _, _, _, W, n in axes) * (1 + 2.0**-38)
    return axes, _degree(z, _U_EXTENDED if extended else _U)


def _tail(z, R):
    """``sum_{r >= R} z^r / r!`` bounded above (``z^R / R! / (1 - z / (R + 1))``), for ``0 <= z < R + 1``."""
    if z == 0:
        return 0.0
    return float(np.exp(R * np.log(z) - math.lgamma(R + 1)) / (1 - z / (R + 1))) * (1 + 2.0**-40)


def _degree(z, u=_U):
    R = 1
    while R < z + 1 or _tail(z, R) > TRUNCATION_UNITS * u:
        R += 1
    return R


def _terms(R, dim):
    """The multi-indices of total degree below R, lowest degree first."""
    return [a for r in range(R) for a in itertools.product(range(r + 1), repeat=dim) if sum(a) == r]


def taylor_seconds(N, K, dim, m=1, *, real=False, extended=False):
    """Modelled seconds of :func:`taylor_values` (one core), and its `grow` (1 or 2): the cheaper grid."""
    best = (np.inf, 1)
    for grow in (1, 2):
        axes, R = taylor_plan(K, dim, real, grow, extended)
        T = math.comb(R - 1 + dim, dim)
        n0 = axes[0][4]
        rest = math.prod(a[4] for a in axes[1:])
        size = n0 * rest
        seconds = T * m * (size * (_FFT_NS * np.log2(n0) + _GRID_NS) + N * _POINT_NS + _TERM_NS) * 1e-9
        if dim > 1:      # the trailing axes, once per multi-index of theirs, on the rows of the first axis's modes
            rows = axes[0][1] - axes[0][0] + 1
            seconds += math.comb(R - 2 + dim, dim - 1) * m * rows * rest * (
                _FFT_NS * np.log2(rest) + _GRID_NS) * 1e-9
        seconds *= _EXTENDED_COST if extended else 1.0
        best = min(best, (seconds, grow))
    return best


def taylor_values_memory(N, K, dim, m=1, *, real=False, grow=1, extended=False):
    """Peak bytes of :func:`taylor_values`: the FFT grid and its transform, the weighted box, the per-point powers,
    offsets, order and gathered values, the sums per degree and the accumulator."""
    axes, R = taylor_plan(K, dim, real, grow, extended)
    size = math.prod(a[4] for a in axes)
    box = math.prod(a[1] - a[0] + 1 for a in axes)
    wide = 2 if extended else 1
    # the grid and its transform; the box, its transpose and the trailing axes' transform of it (at most a grid,
    # twice); the sums per degree
    return wide * (16 * m * (4 * size + 2 * box) + 8 * N * (dim * (R + 4) + 3) + 16 * N * m * (R + 3))


def _blocks(lo, hi, n):
    """The modes ``lo..hi`` (``hi >= 0``) at their grid places ``k mod n``: (slice of the box, slice of the grid)
    pairs, one per contiguous run."""
    if lo >= 0:
        return [(slice(0, hi - lo + 1), slice(lo, hi + 1))]
    return [(slice(0, -lo), slice(n + lo, n)), (slice(-lo, hi - lo + 1), slice(0, hi + 1))]


def _two_sum(a, b):
    """``a + b = s + e`` exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _offsets(t, t_lo, n, extended=False):
    """Grid indices ``s`` and offsets ``delta = t + t_lo - 2 pi s / n`` with a bound on each offset's error, or
    None when an index would exceed :data:`_S_BITS` bits.

    ``2 pi / n = C1 + C2 + C3``: ``C1`` the leading 27 bits of ``TWO_PI_HI / n``, ``C2`` the rest of it (26 bits),
    ``C3 = TWO_PI_LO / n`` (``n`` a power of two: exact scalings). ``s C1`` and ``s C2`` are exact and the two
    differences are two-sums, so only the low parts' sum, ``s C3`` and the final sum round (the final sum in the
    extended type with `extended`: ``delta`` is then a long double).
    """
    w_hi, w_lo = TWO_PI_HI / n, TWO_PI_LO / n
    s = np.rint(t * (n / TWO_PI_HI))
    if s.size and not float(np.max(np.abs(s))) < 2.0**_S_BITS:          # too large, or not finite
        return None
    e = int(np.frexp(w_hi)[1])
    c1 = float(np.ldexp(np.floor(np.ldexp(w_hi, 27 - e)), e - 27))
    c2 = w_hi - c1                                              # exact: the low 26 bits of w_hi
    a, ea = _two_sum(t, -(s * c1))
    hi, eh = _two_sum(a, -(s * c2))
    p3 = s * w_lo
    low = 0.0 if t_lo is None else t_lo
    lo = ((ea + eh) + low) - p3
    if extended:
        delta = hi.astype(np.longdouble) + lo
        final = _U_EXTENDED * np.abs(delta).astype(float)
    else:
        delta = hi + lo
        final = _U * np.abs(delta)
    # the final sum (u |delta|), the three sums of the low parts (gamma_3 of their moduli), s C3 (u |s C3|) and
    # 2 pi - (TWO_PI_HI + TWO_PI_LO) <= 2^-105 times |s| / n; all rounded up by the factor
    err = (final + _gamma(3) * (np.abs(ea) + np.abs(eh) + np.abs(low) + np.abs(p3))
           + _U * np.abs(p3) + np.abs(s) * (2.0**-105 / n)) * (1 + 8 * _U)
    return s.astype(np.int64) % n, delta, err


def relative_bound(axes, R, z, delta_error, *, real=False, fft_eta=None, extended=False):
    """``phi``: every value of :func:`taylor_values` is within ``phi sum_k |c_k|`` of the exact one.

    Parameters
    ----------
    axes, R : from :func:`taylor_plan`
    z : float
        The largest ``sum_j W_j |delta_j|`` over the points (of the computed offsets).
    delta_error : sequence of float
        Per axis, the largest error of a computed offset.
    real : bool
        The half box of :func:`fold_half` (its one rounding per coefficient counted here).
    fft_eta : float, optional
        The FFT model's error per level (default :data:`FFT_LEVEL_ERROR`, or its extended-type value).
    extended : bool
        The sums ran in ``numpy.longdouble`` (its unit of rounding in every term).
    """
    u = _U_EXTENDED if extended else _U
    fft_eta = _level_error(u) if fft_eta is None else fft_eta
    dim = len(axes)
    group = math.comb(R - 2 + dim, dim - 1) if R > 1 else 1
    levels = sum(int(a[4]).bit_length() - 1 for a in axes)
    moduli = sum(z**r / math.factorial(r) for r in range(R)) * (1 + 2.0**-40)
    rounding = (1 + _gamma(4 * R + 2 * dim + 1 + group, u)) * (1 + fft_error(levels, fft_eta)) - 1
    phi = rounding * moduli + _tail(z, R) + sum(a[3] * e for a, e in zip(axes, delta_error, strict=True))
    if any(a[2] for a in axes):  # e^{i k0.delta}: libm, the rounded phase, the offsets' errors; its product
        centre = sum(abs(a[2]) * e for a, e in zip(axes, delta_error, strict=True))
        phase = sum(abs(a[2]) * np.pi / a[4] for a in axes) * 1.01                   # |k0.delta| at most
        shift = 2 * np.sqrt(2.0) * LIBM_ULPS * u + _gamma(2 * dim, u) * phase + centre
        phi = phi + (1 + phi) * (shift + (1 + shift) * np.sqrt(2.0) * _gamma(2, u))
    if real:  # the folded coefficients are rounded once: sum |d~_k| <= (1 + u) sum |c_k|
        phi = u + (1 + u) * phi
    return phi * (1 + 2.0**-40)


def _term_sums(box, axes, R, weights, powers, places, index, m, cplx):
    """``sum_{|a| = r} i^r q_a F_a[s]`` for every degree ``r < R``: shape (R, N, m) (in 1-d their sum, (1, N, m)),
    the points in the order of `index` (their flat grid places along the trailing axes, then the first).

    The grid is held with the first axis last, ``(m, n_2, ..., n_d, n_1)``, and ``F_a`` formed in two steps: the
    trailing axes' inverse transform of ``c_k prod_{j >= 2} w_j^{a_j}`` once per ``(a_2, ..., a_d)``, then for each
    ``a_1`` the first axis's of that times ``w_1^{a_1}`` (contiguous, in place). The same network and the same
    roundings per path as the weights placed first and the axes transformed together (a product by a real weight is
    one rounding wherever it sits on a path): measured at 8e4 points and K = 256 (2-d, 231 terms), the first axis's
    transforms take 1.6 ms each contiguous and in place against 4.3 ms strided, and the trailing axes need 21
    transforms of 1.3 ms where transforming the axes together per term needs 231.
    """
    dim = len(axes)
    N = index.size
    n0 = axes[0][4]
    rest = tuple(a[4] for a in axes[1:])
    size = math.prod(rest) * n0
    # (B_1, ..., B_d, m) -> (m, B_2, ..., B_d, B_1)
    boxT = np.ascontiguousarray(np.moveaxis(box, (0, dim), (dim, 0)))
    first = places[0]
    taken = np.zeros(n0 + 1, dtype=bool)
    for _, dst in first:
        taken[dst] = True
    # the unoccupied places of the first axis, as slices (zeroed before each term: boolean masks cost 15x more)
    edges = np.flatnonzero(np.diff(np.r_[0, (~taken[:n0]).astype(np.int8), 0]))
    empty = [slice(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    # the batches of 1-d transforms split over the cores (pocketfft: each transform is the same network either way)
    workers = cores()
    flat_index = index if m == 1 else (np.arange(m) * size)[None, :] + index[:, None]
    # per degree r the sum of q_a F_a[s] (all its terms share the factor i^r, applied once at the end, exactly); the
    # points' real factors times the gathered values on the float view, component by component (one rounding each,
    # as numpy's complex product with a zero imaginary part, at a third of its cost)
    # in 1-d every degree has one term: they go straight into the total (R arrays of the points, one a degree, made
    # the 1-d route take 0.09 s at 1e5 points, K = 2^17, against 0.073 s so)
    parts = np.zeros((R if dim > 1 else 1, N, m), dtype=cplx)
    real_type = np.finfo(cplx).dtype
    if dim == 1:
        # the degrees in _ONE_D_RUNS runs of consecutive ones, each run's transforms and sum in a thread of its own
        # (its own grid), the runs' sums then added in order: the same values on any number of cores
        def run(degrees):
            work = np.zeros((m, n0), dtype=cplx)
            gathered = np.empty((N, m), dtype=cplx)
            total = np.zeros((N, m), dtype=cplx)
            for a0 in degrees:
                for sl in empty:
                    work[..., sl] = 0.0
                for src, dst in first:
                    np.multiply(boxT[..., src], weights[0][a0][src], out=work[..., dst])
                F = scipy.fft.ifft(work, axis=-1, norm="forward", overwrite_x=True)
                np.take(F.reshape(-1), flat_index, out=gathered.reshape(flat_index.shape))
                g2 = gathered.view(real_type)
                g2 *= powers[0][a0][:, None]
                gathered *= _UNIT[a0 % 4]
                total += gathered
                work = F
            return total

        for total in map_threads(run, [r for r in np.array_split(np.arange(R), _ONE_D_RUNS) if r.size]):
            parts[0] += total
        return parts
    work = np.zeros((m,) + rest + (n0,), dtype=cplx)
    gathered = np.empty((N, m), dtype=cplx)
    lead = (slice(None),)
    for beta in [b for r in range(R) for b in itertools.product(range(r + 1), repeat=dim - 1) if sum(b) == r]:
        deg = sum(beta)
        scale = weights[1][beta[0]]
        for j in range(2, dim):
            scale = np.multiply.outer(scale, weights[j][beta[j - 1]])
        G = np.zeros((m,) + rest + (boxT.shape[-1],), dtype=cplx)
        for pieces in itertools.product(*places[1:]):
            src = tuple(p[0] for p in pieces)
            np.multiply(boxT[lead + src], scale[src][..., None], out=G[lead + tuple(p[1] for p in pieces)])
        G = scipy.fft.ifftn(G, axes=tuple(range(1, dim)), norm="forward", overwrite_x=True, workers=workers)
        qb = powers[1][beta[0]]
        for j in range(2, dim):
            qb = qb * powers[j][beta[j - 1]]
        for a0 in range(R - deg):
            for sl in empty:
                work[..., sl] = 0.0
            for src, dst in first:
                np.multiply(G[..., src], weights[0][a0][src], out=work[..., dst])
            F = scipy.fft.ifft(work, axis=-1, norm="forward", overwrite_x=True, workers=workers)
            np.take(F.reshape(-1), flat_index, out=gathered.reshape(flat_index.shape))
            g2 = gathered.view(real_type)
            g2 *= (qb * powers[0][a0])[:, None]
            parts[deg + a0] += gathered
            work = F
    for r in range(R):
        parts[r] *= _UNIT[r % 4]
    return parts


def taylor_values(coef, t, t_lo=None, *, real=False, grow=1, extended=False):
    """``h_n = sum_k c_k e^{i k.(t_n + t_lo_n)}`` by the Taylor NUFFT, with a proven bound on every value's error.

    Parameters
    ----------
    coef : complex ndarray, shape ``(2K+1,)*d`` (+ ``(m,)``)
    t : float ndarray, shape (N, d)
        Angles (finite; of modulus up to ``2^26 2 pi / n``, which wrapped angles are).
    t_lo : float ndarray, shape (N, d), optional
        Their low parts (:func:`fpnorm.lattice.exact_angles`).
    real : bool
        Only ``Re h``, through the folded half box (:func:`fold_half`): half the grid along the first axis.
    grow : int
        1 or 2: the grid's oversampling beyond the smallest power of two (:func:`taylor_seconds` picks it).
    extended : bool
        Transform and sum in ``numpy.clongdouble`` (a bound some 2000 times tighter on x86, at ~5 times the cost).

    Returns
    -------
    values : complex ndarray, shape (N,) (+ ``(m,)``); clongdouble with `extended`; real with `real`
    error : float ndarray, shape (m,) or ()
        ``|values_n - h_n| <= error`` (``Re h_n`` with `real`) for every point of a column (module docstring).
        None when the angles are too large for the grid (then nothing is computed).

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([0.5, 0.0, 0.5], dtype=complex)           # cos(t)
    >>> v, err = taylor_values(c, np.array([[0.25], [2.0]]))
    >>> bool(np.all(np.abs(v - np.cos([0.25, 2.0])) <= err)), bool(err < 1e-13)
    (True, True)
    """
    N, dim = t.shape
    n_modes, K, tail, flat, m = box_columns(coef, dim)
    check_memory(taylor_values_memory(N, K, dim, m, real=real, grow=grow, extended=extended),
                 f"the Taylor NUFFT at {N} points over {n_modes ** dim} modes (d = {dim})",
                 "Use a smaller `K` or fewer points.")
    axes, R = taylor_plan(K, dim, real, grow, extended)
    u, cplx = (_U_EXTENDED, np.clongdouble) if extended else (_U, complex)
    box = fold_half(flat, K, dim, cplx) if real else flat.astype(cplx)
    rho = np.sum(np.abs(flat.reshape(-1, m)), axis=0) * (1 + 4 * n_modes**dim * _U)   # rounded up
    index = np.zeros(N, dtype=np.int64)
    deltas, errors, places0 = [], [], None
    for j, (_, _, _, _, n) in enumerate(axes):
        got = _offsets(t[:, j], None if t_lo is None else t_lo[:, j], n, extended)
        if got is None:
            return None, None
        s, delta, err = got
        if j:
            index = index * n + s
        else:
            places0 = s
        deltas.append(delta)
        errors.append(float(np.max(err, initial=0.0)))
    index = index * axes[0][4] + places0            # the grid's first axis is its last (_term_sums)
    z = float(np.max(sum(a[3] * np.abs(d) for a, d in zip(axes, deltas, strict=True)), initial=0.0))
    z *= 1 + 2 * dim * _U
    if z >= R + 1 or _tail(z, R) > TRUNCATION_UNITS * u:  # not for offsets within the a-priori pi / n
        R = _degree(z, u)
    # in d >= 2 the points taken in the order of their grid places, so that the gathers F_a[s] walk memory once
    # (8e4 points on a grid of 2^19: 0.46 ms a term against 0.79 ms, the sort 6 ms once); in 1-d the sort costs
    # more than it saves
    order = np.argsort(index, kind="stable") if dim > 1 else None
    if order is not None:
        index = index[order]
    # per axis: weights ((k - k0)/n)^a over the modes and powers (n delta)^a / a! at the points, a < R
    weights, powers, places = [], [], []
    for (lo, hi, k0, _, n), delta in zip(axes, deltas if order is None else [d[order] for d in deltas], strict=True):
        p = (np.arange(lo, hi + 1) - k0) / n                   # exact: n is a power of two
        w = np.ones((R, p.size), dtype=delta.dtype)
        x = n * delta
        q = np.ones((R, N), dtype=delta.dtype)
        for a in range(1, R):
            w[a] = w[a - 1] * p
            q[a] = q[a - 1] * x / a
        weights.append(w)
        powers.append(q)
        places.append(_blocks(lo, hi, n))
    parts = _term_sums(box, axes, R, weights, powers, places, index, m, cplx)
    total = parts[0] if parts.shape[0] == 1 else np.sum(parts, axis=0)
    if order is None:
        acc = total
    else:
        acc = np.empty_like(total)
        acc[order] = total
    if any(a[2] for a in axes):
        phase = sum(a[2] * d for a, d in zip(axes, deltas, strict=True))
        acc *= (np.cos(phase) + 1j * np.sin(phase))[:, None]
    error = relative_bound(axes, R, z, errors, real=real, extended=extended) * rho
    values = acc.real if real else acc
    return values.reshape((N,) + tail), error.reshape(tail)
