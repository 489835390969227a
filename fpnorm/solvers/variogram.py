"""The variogram ``kappa(0) - kappa(tau)`` of a 1-d box kernel, to about 1e-12 of its own size at every lag.

For ``kappa(tau) = sum_{|k| <= K} g_k cos(k tau)`` the variogram ``V(tau) = sum_k g_k (1 - cos(k tau))`` is far
below ``kappa(0)`` at short lags: for Sobolev(1.5) at ``K = 2^17`` it is about ``1e-10 kappa(0)`` at ``tau = 2 pi / K``.
Formed as ``kappa(0) - kappa(tau)`` from a transform whose error is ``eps kappa(0)``, it keeps only a few digits
there, and the local covariances of the sparse preconditioners (:mod:`fpnorm.solvers.vecchia`,
:mod:`fpnorm.solvers.precondition`) that are built from it inherit that error (measured at N = 2e4, K = 26214,
Sobolev(1.5), uniform random points: 964 Craig iterations with the variogram from ``kappa(0) - kappa``, 130 with
this module's; at N = 1e5, K = 2^17 the solve stalled at residual 3e-7 after 1000 and now reaches 1e-10 in 400).

Here the modes split at ``k0 <= 2 / tau`` (a power-of-four fraction of K, so the lags fall in ~log4(K pi) bands):

- the low modes ``|k| <= k0`` by the Taylor series ``sum_j (-1)^(j+1) (k0 tau)^(2j) / (2j)! m_j``,
  ``m_j = sum_{|k| <= k0} g_k (k / k0)^(2j)``: with ``k0 tau <= 2`` the first term dominates (each next one is at
  most 1/3 of it), so the sum keeps its relative accuracy however small ``tau`` is;
- the high modes ``k0 < |k| <= K`` as ``T - sum g_k cos(k tau)`` by one finufft per band, ``T`` their sum: its error
  is finufft's, about ``1e-12 T`` at the tightest tolerance (measured; tests/test_variogram.py), and ``T`` is at most
  of the order of the variogram itself (for a power law ``g ~ |k|^-p`` both scale as ``tau^(p-1)``; smoother
  weights make ``T`` the smaller).

Examples
--------
>>> import numpy as np
>>> k = np.arange(-4096, 4097)
>>> g = (1.0 + (2 * np.pi * k) ** 2) ** -1.5
>>> tau = np.array([1e-9, 2 * np.pi / 4096, 0.5])
>>> exact = np.array([np.sum(2 * g * np.sin(k * t / 2) ** 2) for t in tau])   # no cancellation
>>> bool(np.allclose(variogram_1d(g, tau), exact, rtol=1e-12, atol=0))
True
"""

import numpy as np

from .. import transforms

__all__ = ["variogram_1d", "wrap_angle"]

# Taylor terms of the low modes: with k0 tau <= 2 the last is below 2^28 / 28! ~ 8e-22 of the first.
_TERMS = 14
# Lags per finufft call of the high modes (bounded temporaries).
_CHUNK = 2**22


def wrap_angle(d):
    """``d`` moved into ``[-pi, pi]`` by a multiple of ``2 pi``, exactly where it already lies there.

    ``mod(d + pi, 2 pi) - pi`` would round ``d`` to a unit of ``pi`` (4.4e-16): a relative error of 4e-6 on the
    1e-10 differences of nearly coincident points, whose variograms and increments must keep their digits.

    Examples
    --------
    >>> float(wrap_angle(np.array([1e-12]))[0]) == 1e-12, float(wrap_angle(np.array([7.0]))[0])
    (True, 0.7168146928204138)
    """
    d = np.asarray(d, dtype=float)
    return np.where(np.abs(d) <= np.pi, d, np.mod(d + np.pi, 2 * np.pi) - np.pi)


def variogram_1d(g, tau, *, eps=1e-15):
    """``sum_k g_k (1 - cos(k tau))`` for an even, finite, nonnegative ``g`` on ``k = -K..K``, at angles `tau`.

    Parameters
    ----------
    g : float ndarray, shape (2K+1,)
    tau : float ndarray
        Angles (any real; the variogram has period ``2 pi``).
    eps : float
        finufft tolerance of the high modes' sums.

    Returns
    -------
    float ndarray, shape of `tau`
        Within a few units of rounding plus finufft's error on the high modes' sum of the exact value (module
        docstring).
    """
    g = np.asarray(g, dtype=float)
    K = g.shape[0] // 2
    shape = np.shape(tau)
    tau = np.abs(wrap_angle(np.asarray(tau, dtype=float).reshape(-1)))
    out = np.zeros(tau.shape)
    if K == 0:
        return out.reshape(shape)
    # band b: the lags with 2 4^(b-1) < K tau <= 2 4^b (b = 0: K tau <= 2), k0 = floor(K / 4^b); each band above 0
    # sums the whole box but its low modes (one finufft at the band's lags, all bands through one plan)
    with np.errstate(divide="ignore"):
        band = np.maximum(0, np.ceil(np.log2(tau * K / 2) / 2)).astype(np.int64)
    half = g[K:]                                              # g_k, k = 0..K (even)
    high_sums = []                                            # (lags, high modes, their sum T) of each band above 0
    for b in np.unique(band[tau > 0]):
        sel = np.flatnonzero((band == b) & (tau > 0))
        k0 = K >> (2 * int(b))
        t = tau[sel]
        if k0 > 0:
            q = (np.arange(1, k0 + 1) / k0) ** 2
            weights = 2 * half[1:k0 + 1]                      # the modes +-k together
            x2 = (k0 * t) ** 2
            term = np.ones_like(t)
            acc = np.zeros_like(t)
            qn = np.ones_like(q)
            for j in range(1, _TERMS + 1):
                qn = qn * q
                term = term * x2 / ((2 * j - 1) * (2 * j))
                acc += (-1) ** (j + 1) * float(np.dot(weights, qn)) * term
            out[sel] = acc
        if k0 < K:
            high = g.astype(complex)
            high[K - k0:K + k0 + 1] = 0.0
            total = float(np.sum(high.real))
            high_sums += [(sel[s:s + _CHUNK], high, total) for s in range(0, sel.size, _CHUNK)]
    # every band's high modes through one plan (transforms.evaluate_sets: a plan each cost as much again)
    sums = transforms.evaluate_sets([(high, tau[part, None]) for part, high, _ in high_sums], eps=eps)
    for (part, _, total), values in zip(high_sums, sums, strict=True):
        out[part] += total - values.real
    return out.reshape(shape)
