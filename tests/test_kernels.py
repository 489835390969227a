"""Closed-form K = infinity kernels against brute-force lattice sums (tolerance: the certified tail + 1e-13)."""

import math

import numpy as np
import pytest
from scipy.special import zeta

from fpnorm import LFP, PowerLaw, Sobolev, Weight
from fpnorm.convergence import kernel_tail_bound
from fpnorm.kernels import bernoulli_kernel, bernoulli_polynomial, closed_form_kernel, has_closed_form, sobolev_kernel

Z = np.array([0.0, 1e-9, 0.013, 0.25, 0.5, 0.731, 0.999999, -0.37, 3.2])
KB = 20000  # brute-force cut-off


def brute(z, g2):
    """sum_{|k| <= KB} gamma(k)^2 e^{2 pi i k z} for an even gamma, with g2 the values at k = 1..KB and k = 0."""
    k = np.arange(1, KB + 1, dtype=float)
    return g2[0] + 2 * np.array([np.sum(np.cos(2 * np.pi * k * zz) * g2[1:]) for zz in z])


def test_bernoulli_numbers_are_exact():
    from fpnorm.kernels import _bernoulli_coefficients

    exact = [1, -0.5, 1 / 6, 0, -1 / 30, 0, 1 / 42, 0, -1 / 30, 0, 5 / 66, 0, -691 / 2730]
    assert [_bernoulli_coefficients(n)[-1] for n in range(13)] == exact


def test_bernoulli_polynomial_matches_explicit_forms():
    x = np.linspace(-0.5, 1.5, 41)
    np.testing.assert_allclose(bernoulli_polynomial(2, x), x**2 - x + 1 / 6, atol=1e-14)
    np.testing.assert_allclose(bernoulli_polynomial(4, x), x**4 - 2 * x**3 + x**2 - 1 / 30, atol=1e-13)


@pytest.mark.parametrize("p", [2, 4, 6, 8])
def test_bernoulli_kernel_equals_lattice_sum_within_tail(p):
    k = np.arange(0, KB + 1, dtype=float)
    g2 = np.concatenate([[0.0], (2 * np.pi * k[1:]) ** -p])
    tol = kernel_tail_bound(PowerLaw(p=p), KB) + 1e-13
    np.testing.assert_allclose(bernoulli_kernel(Z, p), brute(Z, g2), rtol=0, atol=tol)


@pytest.mark.parametrize("p", [2, 4, 6, 10])
def test_bernoulli_kernel_at_zero_is_zeta_value_to_1e15(p):
    assert bernoulli_kernel(0.0, p) == pytest.approx(2 * zeta(p) / (2 * np.pi) ** p, rel=1e-14)


@pytest.mark.parametrize("p", [2, 4, 6])
def test_bernoulli_kernel_has_zero_mean_and_is_periodic(p):
    x, w = np.polynomial.legendre.leggauss(30)  # exact for the degree-p polynomial on [0, 1)
    scale = bernoulli_kernel(0.0, p)
    assert abs(np.sum(w * bernoulli_kernel((x + 1) / 2, p)) / 2) < 1e-13 * scale  # rounding of the Horner form
    np.testing.assert_allclose(bernoulli_kernel(Z + 1.0, p), bernoulli_kernel(Z, p), atol=1e-14)
    np.testing.assert_allclose(bernoulli_kernel(-Z, p), bernoulli_kernel(Z, p), atol=1e-14)


@pytest.mark.parametrize("a, b, zero", [(1.0, 0.0, None), (0.0, 2.0, None), (1.3, 0.7, None), (0.2, 5.0, 0.4)])
def test_lfp_kernel_equals_lattice_sum_within_tail(a, b, zero):
    w = LFP(a, b, zero=zero)
    k = np.arange(1, KB + 1, dtype=float)
    g2 = np.concatenate([[zero or 0.0], a / k**2 + b / k**4])
    tol = kernel_tail_bound(w, KB) + 1e-13
    np.testing.assert_allclose(closed_form_kernel(w)(Z), brute(Z, g2), rtol=0, atol=tol)


@pytest.mark.parametrize("s", [1, 2])
def test_sobolev_kernel_equals_lattice_sum_within_tail(s):
    k = np.arange(0, KB + 1, dtype=float)
    g2 = (1 + (2 * np.pi * k) ** 2) ** -s
    tol = kernel_tail_bound(Sobolev(s), KB) + 1e-13
    np.testing.assert_allclose(sobolev_kernel(Z, s), brute(Z, g2), rtol=0, atol=tol)
    np.testing.assert_allclose(closed_form_kernel(Sobolev(s), penalised_only=True)(Z), brute(Z, g2) - 1.0,
                               rtol=0, atol=tol)


def test_sobolev_1_kernel_closed_form_value():
    # sum_k 1/(1 + 4 pi^2 k^2) = coth(1/2) / 2
    assert sobolev_kernel(0.0, 1) == pytest.approx(1 / (2 * math.tanh(0.5)), rel=1e-15)


def test_finite_zero_adds_a_constant():
    kappa = closed_form_kernel(PowerLaw(p=4, zero=0.3))
    np.testing.assert_allclose(kappa(Z) - bernoulli_kernel(Z, 4), 0.3, atol=1e-15)
    assert np.allclose(closed_form_kernel(PowerLaw(p=4, zero=0.3), penalised_only=True)(Z), bernoulli_kernel(Z, 4))


def test_has_closed_form():
    assert has_closed_form(PowerLaw(2)) and has_closed_form(PowerLaw(8)) and has_closed_form(LFP(1, 1))
    assert has_closed_form(Sobolev(1)) and has_closed_form(Sobolev(2))
    assert not has_closed_form(PowerLaw(3)) and not has_closed_form(PowerLaw(4, dim=2))
    assert not has_closed_form(Sobolev(3)) and not has_closed_form(LFP(1, 1, dim=2))
    assert not has_closed_form(Weight.from_callable(lambda k: 1.0 / np.sum(k**4, axis=-1), dim=1))


def test_bernoulli_kernel_rejects_odd_p():
    with pytest.raises(ValueError, match=r"Expected `p` to be an even integer >= 2, got 3"):
        bernoulli_kernel(0.1, 3)


def test_sobolev_kernel_rejects_unsupported_s():
    with pytest.raises(ValueError, match=r"Expected `s` in \(1, 2\) for a closed-form Sobolev kernel, got 3"):
        sobolev_kernel(0.1, 3)


@pytest.mark.parametrize("w", [PowerLaw(3), PowerLaw(4, dim=2), Sobolev(1.5)])
def test_closed_form_kernel_rejects_weights_without_one(w):
    with pytest.raises(ValueError, match=r"Expected a weight with a closed-form K = infinity kernel .* K=None"):
        closed_form_kernel(w)
