"""The shell-decay fit against power laws with known sums (Riemann and Hurwitz zeta), geometric series, and the cases
it must refuse."""

import math

import mpmath
import numpy as np
import pytest

from fpnorm.decay import DECAY_STATUSES, FPNORM_STATUSES, fit_shell_decay

J = 4095   # shells 0..J: twelve dyadic blocks


def _fit(W, E=None, alias=None, rtol=1e-10):
    W = np.asarray(W, dtype=float)
    zero = np.zeros_like(W)
    return fit_shell_decay(W, W if E is None else E, zero if alias is None else alias, zero, rel=1e-15, rtol=rtol)


def _power(q, odd_only=False):
    j = np.arange(J + 1, dtype=float)
    W = np.zeros(J + 1)
    W[1:] = j[1:] ** -q
    if odd_only:
        W[2::2] = 0.0
    W[0] = 1.0
    return W


@pytest.mark.parametrize("q", [1.2, 1.5, 2.0, 3.0])
def test_power_law_sum_within_its_error(q):
    fit = _fit(_power(q), E=_power(q + 2))
    truth = 1 + float(mpmath.zeta(q))
    assert fit.status == "extrapolated" and abs(fit.value2 - truth) <= fit.error2 < 1e-6 * truth
    assert fit.rate == pytest.approx(q, abs=1e-6)


def test_odd_shells_only():
    # sum over odd j of j^-2 = (1 - 2^-2) zeta(2) = pi^2 / 8
    fit = _fit(_power(2.0, odd_only=True), E=_power(4.0, odd_only=True))
    truth = 1 + math.pi**2 / 8
    assert fit.status == "extrapolated" and abs(fit.value2 - truth) <= fit.error2 < 1e-6


@pytest.mark.parametrize("q", [1.0, 0.5, 0.0, -2.0])
def test_rates_up_to_one_diverge(q):
    fit = _fit(_power(q), E=_power(q + 4))
    assert fit.status == "divergent" and fit.value2 == math.inf
    assert f"q = {q:.3f}" in fit.reason and "makes sum_k gamma(k)^-2 |f^(k)|^2 diverge" in fit.reason


def test_rates_within_the_margin_are_taken_as_divergent():
    # q = 1.04 converges in exact arithmetic, but its tail beyond j = 4096 is 28 times the last block's sum and moves
    # by 20% when q moves by 0.01: reported as divergent (inf keeps a bound true), and said so
    fit = _fit(_power(1.04), E=_power(5.04))
    assert fit.status == "divergent" and "is taken as divergent" in fit.reason
    assert _fit(_power(1.1), E=_power(5.1)).status == "extrapolated"


def test_geometric_decay_converges():
    j = np.arange(J + 1, dtype=float)
    W = 0.5**j   # sum = 2; from j = 60 on the terms are below 1e-18 of the sum
    fit = _fit(W)
    assert fit.status == "converged" and abs(fit.value2 - 2.0) <= fit.error2 < 1e-14


def test_measured_error_covers_a_biased_spectrum():
    # aliasing adds to each shell at most the declared error energy, in the worst (aligned) direction
    W = _power(2.0)
    j = np.maximum(np.arange(J + 1, dtype=float), 1)
    alias = W * 1e-2 * (j / J) ** 4
    fit = _fit((np.sqrt(W) + np.sqrt(alias)) ** 2, E=_power(4.0), alias=alias)
    truth = 1 + math.pi**2 / 6
    assert fit.status == "extrapolated" and abs(fit.value2 - truth) <= fit.error2 < 1e-3 * truth


def test_energy_that_does_not_decay_is_unresolved_not_divergent():
    # W ~ j^2 because the coefficients themselves have not started to decay: f is not resolved
    fit = _fit(_power(-2.0), E=np.ones(J + 1))
    assert fit.status == "unresolved" and "do not resolve f" in fit.reason and fit.error2 == math.inf


def test_too_few_blocks_is_unresolved():
    fit = _fit(_power(2.0)[:6])
    assert fit.status == "unresolved" and "fewer than three consecutive dyadic blocks" in fit.reason


def test_statuses():
    assert DECAY_STATUSES == FPNORM_STATUSES[1:] and "exact" not in DECAY_STATUSES
