"""How a weighted Fourier energy decays over the shells ``|k|_inf = j``: fitted rates, divergence, extrapolated tails.

:func:`fit_shell_decay` takes per-shell sums ``W_j = sum_{|k|_inf = j} gamma(k)^-2 |c_k|^2`` of sampled (or exact)
coefficients, with estimates of their errors, and decides whether ``sum_j W_j`` converges, and to what. It is the part
of :func:`fpnorm.fp_norm` that handles targets known only through samples.

The shells are grouped in dyadic blocks ``[2^b, 2^(b+1))`` (Cauchy's condensation test: ``sum_j W_j`` converges iff
the block sums ``B_b`` do). For ``W_j = C j^-q`` consecutive blocks have the ratio ``S_(b+1)(q) / S_b(q)`` with
``S_b(q) = sum_{j in block b} j^-q``, so each pair of blocks gives a local rate ``q_b``, and the sum converges iff the
rate stays above 1. Oddities such as coefficients on odd ``k`` only average out within a block.

Every block carries an error ``delta_b`` from the estimated error energy ``e_b`` of its coefficients (aliasing and
rounding): ``|B_b - B_b(true)| <= 2 sqrt(B_b e_b) + e_b``, plus the rounding of the sum. A block is *resolved* when
``delta_b <= 0.1 B_b``. Three consecutive resolved blocks give a rate ``q`` (the last pair) with an uncertainty
``s`` (the error propagated from ``delta``, plus the change from the pair before, which measures how far the rate is
from settled). Then:

- ``q + s <= 1.05``, measured to within 0.02, and the unweighted energy decays summably: divergent. A rate within
  0.05 of 1 is not told from 1 by the fit's systematic errors (a change of 0.01 in ``q`` moves such a tail by 20%
  or more); a sum that converges that slowly, if at all, is dominated by its tail beyond any grid, has no value a
  bound could use, and ``inf`` keeps the bound true.
- ``q - s > 1``: the sum converges. The tail beyond block ``b`` is ``B_b zeta(q, 2^(b+1)) / S_b(q)`` (the fitted law
  ``C j^-q`` summed to infinity), bracketed by the rates ``q -+ s``. Of the blocks that agree with the most
  asymptotic precise fit, the one with the smallest total error is used.
- otherwise: unresolved.

These are estimates under one assumption: beyond the resolved shells the weighted energy keeps decaying like the
fitted power law (geometric and faster decay make the algebraic tail an over-estimate).
"""

import dataclasses
import math

import numpy as np
from scipy import optimize, special

__all__ = ["DecayFit", "fit_shell_decay", "DECAY_STATUSES", "FPNORM_STATUSES"]

# What fpnorm.fp_norm can conclude about ||f - h_ini||_gamma, from the most to the least certain; a fit of sampled
# coefficients concludes one of the last four. Defined in this module, which imports nothing of fpnorm, so that the
# persistence schema checks saved statuses without importing fp_norm and the modules above it.
FPNORM_STATUSES = ("exact", "converged", "extrapolated", "divergent", "unresolved")
DECAY_STATUSES = FPNORM_STATUSES[1:]

# A block is resolved when its error estimate is at most this fraction of its sum.
_RESOLVED = 0.1
# The fit that decides convergence is the last one whose rate is measured to within this.
_PRECISE = 0.02
# Rates up to this far above 1 are treated as divergent (see the module docstring).
_DIVERGENT_MARGIN = 0.05
# Local rates are searched in this range; outside it the decay is off any algebraic scale.
_Q_RANGE = (-200.0, 400.0)
# Blocks starting at or above this are summed by Euler-Maclaurin (relative error ~ q^3 / (720 a^4), below 1e-14 for
# q <= 3), below it directly.
_EM_START = 1024


@dataclasses.dataclass(frozen=True)
class DecayFit:
    """What :func:`fit_shell_decay` concluded.

    Attributes
    ----------
    status : str
        One of :data:`DECAY_STATUSES`.
    value2 : float
        Estimate of ``sum_j W_j`` over all shells, the fitted tail included (``inf`` when divergent; the resolved
        partial sum when unresolved).
    error2 : float
        Estimated bound on ``|value2 - true|`` (``inf`` when unresolved, 0 when divergent).
    tail : float
        The extrapolated part of `value2`.
    rate, rate_error : float
        The fitted ``q`` of ``W_j ~ j^-q`` and its uncertainty ``s`` (nan when no fit).
    energy_rate : float
        The same rate for the unweighted energies (nan when not measured).
    shells : tuple of int
        ``(first, last)`` shell of the three blocks the rate comes from (``(0, 0)`` when no fit).
    top : int
        The last resolved block (-1 when none).
    reason : str or None
        Why divergent or unresolved, with the numbers.
    """

    status: str
    value2: float
    error2: float
    tail: float
    rate: float
    rate_error: float
    energy_rate: float
    shells: tuple
    top: int
    reason: str | None = None


def _log_block(q, b):
    """``log S_b(q)``, ``S_b(q) = sum_{j = 2^b}^{2^(b+1) - 1} j^-q``."""
    a = 2**b
    if a < _EM_START:
        return float(special.logsumexp(-q * np.log(np.arange(a, 2 * a, dtype=float))))
    x = (1.0 - q) * math.log(2.0)
    integral = math.log(2.0) if x == 0 else math.expm1(x) / (1.0 - q)
    bracket = integral + (1 - 2.0**-q) / (2 * a) + q * (1 - 2.0 ** (-q - 1)) / (12 * a * a)
    return (1.0 - q) * math.log(a) + math.log(bracket)


def _log_zeta(q, m):
    """``log sum_{j >= m} j^-q`` for ``q > 1``, ``m >= 1``."""
    if q * math.log(m) < 700.0:
        return math.log(float(special.zeta(q, m)))
    return (1.0 - q) * math.log(m) + math.log(1.0 / (q - 1) + 1.0 / (2 * m) + q / (12.0 * m * m))


def _rate(ratio, b):
    """The ``q`` with ``S_(b+1)(q) / S_b(q) = ratio`` (clipped to the search range)."""
    target = math.log(ratio)

    def h(q):
        return _log_block(q, b + 1) - _log_block(q, b) - target

    lo, hi = _Q_RANGE
    if h(lo) <= 0:
        return lo
    if h(hi) >= 0:
        return hi
    return float(optimize.brentq(h, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def _blocks(values, n_blocks):
    return np.array([float(np.sum(values[2**b: 2 ** (b + 1)])) for b in range(n_blocks)])


def fit_shell_decay(W, E, alias, noise, *, rel, rtol):
    """Decide whether ``sum_j W_j`` converges and estimate it, with the tail beyond the resolved shells.

    Parameters
    ----------
    W : ndarray, shape (J+1,)
        Weighted energies of the shells ``j = 0..J``: ``sum_{|k|_inf = j} gamma(k)^-2 |c_k|^2``.
    E : ndarray, shape (J+1,)
        Unweighted energies of the same shells (``sum |c_k|^2``), to check that the function itself is resolved.
    alias, noise : ndarray, shape (J+1,)
        Weighted energies of the estimated aliasing error and of the rounding error of the coefficients per shell.
    rel : float
        Relative rounding error of each block sum.
    rtol : float
        The tail counts as negligible ("converged") when its upper estimate is at most ``rtol`` times the value.

    Returns
    -------
    DecayFit
    """
    J = len(W) - 1
    n_blocks = max(int(math.floor(math.log2(J + 1))), 0)
    B, Bn = _blocks(W, n_blocks), _blocks(E, n_blocks)
    err = (np.sqrt(_blocks(alias, n_blocks)) + np.sqrt(_blocks(noise, n_blocks))) ** 2
    delta = 2 * np.sqrt(B * err) + err + rel * B
    err0 = (math.sqrt(alias[0]) + math.sqrt(noise[0])) ** 2
    delta0 = 2 * math.sqrt(W[0] * err0) + err0 + rel * W[0]
    resolved = (B > 0) & (delta <= _RESOLVED * B)
    top = -1
    while top + 1 < n_blocks and (resolved[top + 1] or B[top + 1] == 0):  # the run of usable blocks from the start
        top += 1
    while top >= 0 and not resolved[top]:
        top -= 1
    fits = {}
    for b in range(2, top + 1):
        if not resolved[b - 2: b + 1].all():
            continue
        q = [_rate(B[c + 1] / B[c], c) for c in (b - 2, b - 1)]
        hi = _rate((B[b] + delta[b]) / (B[b - 1] - delta[b - 1]), b - 1)
        lo = _rate((B[b] - delta[b]) / (B[b - 1] + delta[b - 1]), b - 1)
        u = max(q[1] - hi, lo - q[1])
        fits[b] = (q[1], u, u + abs(q[1] - q[0]))
    partial = float(np.sum(W[: 2 ** (top + 1)])) if top >= 0 else float(W[0])
    if not fits:
        return DecayFit("unresolved", partial, math.inf, 0.0, math.nan, math.nan, math.nan, (0, 0), top,
                        f"fewer than three consecutive dyadic blocks of shells |k|_inf = j are resolved (error "
                        f"estimate <= {_RESOLVED:g} of the block) up to j = {J}: the samples do not show how the "
                        f"Fourier energy decays")
    precise = [b for b in fits if fits[b][1] <= _PRECISE]
    star = max(precise) if precise else min(fits, key=lambda b: fits[b][1])
    q, u, s = fits[star]
    beta = [_rate(Bn[c + 1] / Bn[c], c) if Bn[c] > 0 and Bn[c + 1] > 0 else math.nan for c in (star - 2, star - 1)]
    shells = (2 ** (star - 2), 2 ** (star + 1) - 1)
    where = (f"behaves like j^-q with q = {round(q, 3) + 0.0:.3f} +- {s:.1e} over the shells |k|_inf = j = "
             f"{shells[0]}..{shells[1]}, and the energy sum |f^(k)|^2 like j^-{beta[1]:.2f}")
    if q + s <= 1 + _DIVERGENT_MARGIN and u <= _PRECISE and min(beta) > 1:
        verdict = ("a decay no faster than j^-1 makes sum_k gamma(k)^-2 |f^(k)|^2 diverge" if q - s <= 1 else
                   f"a decay no faster than j^-{1 + _DIVERGENT_MARGIN:g} is taken as divergent: if the sum converges "
                   f"at all, its tail beyond any grid dominates it")
        return DecayFit("divergent", math.inf, 0.0, math.inf, q, s, beta[1], shells, top,
                        f"the weighted energy sum_(|k|_inf = j) gamma(k)^-2 |f^(k)|^2 {where}: {verdict}")
    if q - s > 1:
        return _converged(fits, star, W, B, delta, delta0, beta[1], top, rtol)
    if not min(beta) > 1:
        why = "the energy itself is not seen to decay summably: the samples do not resolve f"
    elif u > _PRECISE:
        why = f"no pair of blocks measures the rate to within {_PRECISE:g}: a finer grid (max_points) may decide"
    else:
        why = "the rate is within its uncertainty of 1: the samples cannot tell a convergent sum from a divergent one"
    return DecayFit("unresolved", partial, math.inf, 0.0, q, s, beta[1], shells, top,
                    f"the weighted energy sum_(|k|_inf = j) gamma(k)^-2 |f^(k)|^2 {where}; {why}")


def _converged(fits, star, W, B, delta, delta0, beta, top, rtol):
    """The convergent case: of the fits consistent with the deciding one, the one with the smallest error."""
    q_star, _, s_star = fits[star]
    best = None
    for b, (q, _, s) in fits.items():
        if q - s <= 1 or abs(q - q_star) > s + s_star:
            continue
        tail = _tail_bracket(b, q, s, B, delta)
        if tail is None:
            continue
        low, mid, high = tail
        value2 = float(np.sum(W[: 2 ** (b + 1)])) + mid
        error2 = delta0 + float(np.sum(delta[: b + 1])) + max(high - mid, mid - low)
        if best is None or error2 < best[1]:
            best = (value2, error2, mid, high, q, s, b)
    if best is None:
        q, _, s = fits[star]
        return DecayFit("unresolved", float(np.sum(W[: 2 ** (top + 1)])), math.inf, 0.0, q, s, beta,
                        (2 ** (star - 2), 2 ** (star + 1) - 1), top,
                        "the measured blocks beyond the fitted ones contradict the fitted decay law")
    value2, error2, mid, high, q, s, b = best
    status = "converged" if high <= rtol * value2 else "extrapolated"
    return DecayFit(status, value2, error2, mid, q, s, beta, (2 ** (b - 2), 2 ** (b + 1) - 1), top)


def _tail_bracket(b, q, s, B, delta):
    """``(low, mid, high)`` of the sum beyond block `b` under the law ``C j^-q`` fitted to block `b` (rates
    ``q -+ s``), intersected with the measured brackets ``B -+ delta`` of the blocks the grid still holds.

    Measured blocks above the law's upper end contradict it (the decay slows down): None. Measured blocks below the
    law's lower end mean a decay faster than any power (a smooth target): the law is then only an upper end, the
    measured blocks give the lower one, and beyond the grid the sum lies between 0 and the law anchored at the last
    measured block's upper end."""
    n_blocks = len(B)
    rates = {"low": q + s, "mid": q, "high": q - s}
    anchor = {"low": B[b] - delta[b], "mid": B[b], "high": B[b] + delta[b]}
    log_c = {k: math.log(anchor[k]) - _log_block(rates[k], b) for k in rates}
    inside = {k: 0.0 for k in rates}
    faster = False
    for c in range(b + 1, n_blocks):
        model = {k: math.exp(log_c[k] + _log_block(rates[k], c)) for k in rates}
        if model["high"] < B[c] - delta[c]:
            return None
        faster = faster or model["low"] > B[c] + delta[c]
        low, high = B[c] - delta[c], min(model["high"], B[c] + delta[c])
        inside["low"] += max(low, 0.0)
        inside["high"] += high
        inside["mid"] += min(max(model["mid"], low), high)
        inside["law_low"] = inside.get("law_low", 0.0) + max(model["low"], low)
    m0 = 2**n_blocks
    beyond = {k: math.exp(log_c[k] + _log_zeta(rates[k], m0)) for k in rates}
    last = n_blocks - 1
    if last > b:  # the last measured block's upper end anchors a second, often much lower, high tail
        top_end = B[last] + delta[last]
        beyond["high"] = min(beyond["high"], 0.0 if top_end == 0 else math.exp(
            math.log(top_end) - _log_block(rates["high"], last) + _log_zeta(rates["high"], m0)))
    if faster:
        beyond["low"] = 0.0
    else:
        inside["low"] = inside.get("law_low", 0.0)
    beyond["low"] = min(beyond["low"], beyond["high"])
    beyond["mid"] = min(max(beyond["mid"], beyond["low"]), beyond["high"])
    return tuple(inside[k] + beyond[k] for k in ("low", "mid", "high"))
