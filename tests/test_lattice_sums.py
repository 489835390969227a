"""||gamma||_l2 over Z^d against closed forms and independent mpmath references."""

import itertools
import math

import mpmath
import numpy as np
import pytest

from fpnorm import LFP, PowerLaw, Sobolev, Weight, gamma_l2_norm
from fpnorm.lattice_sums import (
    GammaL2,
    _epstein_theta,
    _expint_q,
    _sobolev_bessel,
    _sobolev_direct,
    dirichlet_beta,
    epstein_zeta,
    gamma_l2_info,
    shell_counts,
)

mpmath.mp.dps = 25


def _mp_epstein(S, d):
    """Independent reference for Z_d(S) = sum_{k != 0} |k|^-S in mpmath, for d <= 3.

    d = 1: 2 zeta(S); d = 2: 4 zeta(S/2) beta(S/2) (mpmath's Dirichlet L-function); d = 3 by the Chowla-Selberg
    reduction (Poisson summation in k_1 for each k' = (k_2, k_3) != 0):
    Z_3(2s) = 2 zeta(2s) + sqrt(pi) G(s-1/2)/G(s) Z_2(2s-1)
              + 4 pi^s / G(s) sum_{k' != 0} sum_{n >= 1} (n/|k'|)^(s-1/2) K_{s-1/2}(2 pi n |k'|)."""
    S = mpmath.mpf(S)
    if d == 1:
        return 2 * mpmath.zeta(S)
    if d == 2:
        return 4 * mpmath.zeta(S / 2) * mpmath.dirichlet(S / 2, [0, 1, 0, -1])
    assert d == 3
    s = S / 2
    out = 2 * mpmath.zeta(S) + mpmath.sqrt(mpmath.pi) * mpmath.gamma(s - 0.5) / mpmath.gamma(s) * _mp_epstein(S - 1, 2)
    counts = {}
    for a in range(-9, 10):
        for b in range(-9, 10):
            if 0 < a * a + b * b <= 81:
                counts[a * a + b * b] = counts.get(a * a + b * b, 0) + 1
    bessel = mpmath.mpf(0)
    for c2, count in counts.items():
        c = mpmath.sqrt(c2)
        n = 1
        while 2 * mpmath.pi * n * c < 55:
            bessel += count * (n / c) ** (s - 0.5) * mpmath.besselk(s - 0.5, 2 * mpmath.pi * n * c)
            n += 1
    return out + 4 * mpmath.pi**s / mpmath.gamma(s) * bessel


# -- special functions ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("s", [1.05, 1.5, 2.0, 3.0, 7.25, 80.0])
def test_dirichlet_beta_matches_mpmath(s):
    ref = mpmath.dirichlet(s, [0, 1, 0, -1])
    assert dirichlet_beta(s) == pytest.approx(float(ref), rel=1e-13)


def test_dirichlet_beta_known_values():
    assert dirichlet_beta(2.0) == pytest.approx(float(mpmath.catalan), rel=1e-15)
    assert dirichlet_beta(3.0) == pytest.approx(math.pi**3 / 32, rel=1e-15)


def test_dirichlet_beta_rejects_s_le_1():
    with pytest.raises(ValueError, match=r"Expected `s` > 1.0, got 1.0"):
        dirichlet_beta(1.0)


@pytest.mark.parametrize("q, x", [(1.5, 3.2), (2.0, 1.0), (7.75, 40.0), (1.0001, 9.0)])
def test_expint_matches_mpmath(q, x):
    assert _expint_q(q, x) == pytest.approx(float(mpmath.expint(q, x)), rel=1e-13)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_shell_counts_match_enumeration(d):
    n_max = 20
    R = math.isqrt(n_max)
    pts = np.array(list(itertools.product(range(-R, R + 1), repeat=d)))
    n2 = np.sum(pts**2, axis=1)
    brute = np.bincount(n2[n2 <= n_max], minlength=n_max + 1)
    np.testing.assert_array_equal(shell_counts(n_max, d), brute)


# -- Epstein zeta ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("s", [1.5, 2.0, 4.0, 9.5])
def test_epstein_d1_is_twice_riemann_zeta(s):
    assert epstein_zeta(s, 1) == pytest.approx(float(2 * mpmath.zeta(s)), rel=1e-14)


@pytest.mark.parametrize("s", [2.2, 3.0, 4.0, 8.0])
def test_epstein_d2_is_four_zeta_beta(s):
    # sum_{k != 0} |k|^-2t = 4 zeta(t) beta(t), with the reference from mpmath's own zeta and Dirichlet L-function.
    t = s / 2
    ref = 4 * mpmath.zeta(t) * mpmath.dirichlet(t, [0, 1, 0, -1])
    assert epstein_zeta(s, 2) == pytest.approx(float(ref), rel=1e-13)


@pytest.mark.parametrize("d, s", [(1, 1.7), (1, 6.0), (2, 2.5), (2, 5.0)])
def test_theta_splitting_reproduces_closed_forms(d, s):
    value, err = _epstein_theta(s, d)
    exact = epstein_zeta(s, d)
    assert abs(value - exact) <= max(err, 1e-15 * exact)
    assert err < 1e-12 * exact


@pytest.mark.parametrize("d, S", [(3, 4.0), (3, 3.5), (3, 7.0)])
def test_epstein_any_d_matches_mpmath_reference(d, S):
    value, err, method = epstein_zeta(S, d, full=True)
    ref = float(_mp_epstein(S, d))
    assert method == "theta-splitting"
    assert value == pytest.approx(ref, rel=1e-12)
    assert abs(value - ref) <= err + 1e-15 * ref


def test_epstein_d3_known_cubic_lattice_constant():
    # sum_{k in Z^3, k != 0} |k|^-4 = 16.5323159597617... (Glasser & Zucker)
    assert epstein_zeta(4.0, 3) == pytest.approx(16.532315959761669, rel=1e-13)


def test_epstein_d4_jacobi_four_squares():
    # r_4(n) = 8 sum_{4 !| m | n} m gives sum |k|^-2s = 8 (1 - 4^(1-s)) zeta(s) zeta(s-1).
    s = 3.0
    ref = 8 * (1 - 4 ** (1 - s)) * mpmath.zeta(s) * mpmath.zeta(s - 1)
    assert epstein_zeta(2 * s, 4) == pytest.approx(float(ref), rel=1e-13)


def test_epstein_divergent():
    assert epstein_zeta(3.0, 3) == math.inf
    assert epstein_zeta(0.5, 1, full=True) == (math.inf, 0.0, "divergent")


def test_epstein_rejects_bad_dim():
    with pytest.raises(ValueError, match=r"Expected `dim` to be a positive integer, got 0"):
        epstein_zeta(4.0, 0)


# -- weights -----------------------------------------------------------------------------------------------------
def test_power_law_d1_closed_forms():
    # (2 pi)^-p 2 zeta(p): p = 2 -> 1/12, p = 4 -> 1/720.
    assert gamma_l2_norm(PowerLaw(p=2, dim=1, zero=1.0)) == pytest.approx(math.sqrt(1 + 1 / 12), rel=1e-15)
    assert gamma_l2_norm(PowerLaw(p=4, dim=1, zero=0.5)) == pytest.approx(math.sqrt(0.5 + 1 / 720), rel=1e-15)


def test_power_law_d2_and_d3():
    w = PowerLaw(p=4, dim=2, zero=2.0)
    ref = 2 + (2 * mpmath.pi) ** -4 * 4 * mpmath.zeta(2) * mpmath.catalan
    assert gamma_l2_norm(w) == pytest.approx(float(mpmath.sqrt(ref)), rel=1e-14)
    w3 = PowerLaw(p=5.5, dim=3, zero=1.0)
    ref3 = 1 + (2 * mpmath.pi) ** -5.5 * _mp_epstein(5.5, 3)
    info = gamma_l2_info(w3)
    assert info.value == pytest.approx(float(mpmath.sqrt(ref3)), rel=1e-13)
    assert info.certified and info.error_bound < 1e-13


@pytest.mark.parametrize("d", [1, 2, 3])
def test_lfp_reduces_to_epstein(d):
    a, b, z = 0.7, 1.3, 0.25
    ref = z + a * _mp_epstein(d + 1, d) + b * _mp_epstein(d + 3, d)
    assert gamma_l2_norm(LFP(a, b, dim=d, zero=z)) == pytest.approx(float(mpmath.sqrt(ref)), rel=1e-12)


def test_lfp_d1_closed_form():
    # a 2 zeta(2) + b 2 zeta(4) = a pi^2/3 + b pi^4/45
    value = gamma_l2_norm(LFP(2.0, 3.0, dim=1, zero=1.0))
    assert value == pytest.approx(math.sqrt(1 + 2 * math.pi**2 / 3 + 3 * math.pi**4 / 45), rel=1e-15)


@pytest.mark.parametrize("s", [0.75, 1.0, 2.0, 3.5])
def test_sobolev_d1_matches_mpmath_nsum(s):
    # (mpmath's default nsum extrapolation is wrong by 3e-3 at s = 0.75; Euler-Maclaurin is not)
    ref = 1 + 2 * mpmath.nsum(lambda k: (1 + 4 * mpmath.pi**2 * k**2) ** -s, [1, mpmath.inf],
                              method="euler-maclaurin")
    info = gamma_l2_info(Sobolev(s, dim=1))
    assert info.value**2 == pytest.approx(float(ref), rel=1e-12)
    assert abs(info.value - math.sqrt(float(ref))) <= info.error_bound + 1e-15


def test_sobolev_d1_s1_coth_closed_form():
    # sum_k 1/(1 + 4 pi^2 k^2) = coth(1/2) / 2
    assert gamma_l2_norm(Sobolev(1, dim=1)) ** 2 == pytest.approx(0.5 / math.tanh(0.5), rel=1e-14)


@pytest.mark.parametrize("s, d", [(3.0, 2), (4.0, 3), (6.0, 3)])
def test_sobolev_poisson_bessel_agrees_with_certified_direct_sum(s, d):
    bessel, err_b = _sobolev_bessel(s, d)
    direct = _sobolev_direct(s, d, 1e-11)
    assert direct is not None
    assert abs(bessel - direct[0]) <= err_b + direct[1]
    assert err_b < 1e-13


def test_sobolev_large_s_tends_to_one():
    # only k = 0 survives: 1 + 2d (1 + 4 pi^2)^-s + ...
    s, d = 30.0, 3
    expect = 1 + 2 * d * (1 + 4 * math.pi**2) ** -s
    assert gamma_l2_norm(Sobolev(s, dim=d)) ** 2 == pytest.approx(expect, rel=1e-15)


# -- divergent and vacuous ---------------------------------------------------------------------------------------
def test_power_law_divergent_reasons():
    info = gamma_l2_info(PowerLaw(p=2, dim=2, zero=1.0))
    assert info.value == math.inf and "PowerLaw p = 2 <= d = 2" in info.reason
    free = gamma_l2_info(PowerLaw(p=4, dim=1))
    assert free.value == math.inf and "unpenalised" in free.reason and "vacuous" in free.reason
    assert gamma_l2_norm(PowerLaw(p=4, dim=1)) == math.inf


def test_lfp_free_mean_is_vacuous():
    info = gamma_l2_info(LFP(1.0, 1.0, dim=2))
    assert info.value == math.inf and info.method == "divergent" and "k = 0" in info.reason


def test_sobolev_divergent():
    info = gamma_l2_info(Sobolev(1.0, dim=2))
    assert info.value == math.inf and "Sobolev s = 1 <= d/2 = 1" in info.reason


def test_callable_with_free_nonzero_mode_is_vacuous():
    w = Weight.from_callable(lambda k: np.where(np.abs(k).sum(-1) == 1, np.inf, 1.0 / np.sum(k**2, -1) ** 3),
                             dim=2, zero=1.0)
    info = gamma_l2_info(w, K=8)
    assert info.value == math.inf and "unpenalised mode" in info.reason


# -- other weights ---------------------------------------------------------------------------------------------
def _power_callable(d):
    return Weight.from_callable(lambda k: (2 * np.pi * np.sqrt(np.sum(k**2, axis=-1))) ** -4.0, dim=d, zero=1.0)


@pytest.mark.parametrize("d", [1, 2])
def test_callable_with_envelope_is_certified(d):
    exact = gamma_l2_norm(PowerLaw(p=4, dim=d, zero=1.0))
    info = gamma_l2_info(_power_callable(d), envelope=lambda r: (2 * np.pi * r) ** -4.0, K=64)
    assert info.certified and info.method == "box+envelope"
    assert abs(info.value - exact) <= info.error_bound
    assert info.error_bound < 1e-6


def test_callable_without_envelope_warns_and_extrapolates():
    exact = gamma_l2_norm(PowerLaw(p=4, dim=2, zero=1.0))
    with pytest.warns(UserWarning, match="extrapolated"):
        info = gamma_l2_info(_power_callable(2), K=64)
    assert not info.certified
    assert info.value == pytest.approx(exact, rel=1e-7)


def test_gamma_l2_norm_full_returns_record():
    info = gamma_l2_norm(PowerLaw(p=4, dim=1, zero=1.0), full=True)
    assert isinstance(info, GammaL2) and info.to_dict()["method"] == "zeta"
    assert gamma_l2_norm(PowerLaw(p=4, dim=1), full=True).to_dict()["value"] is None


def test_rejects_non_weight():
    with pytest.raises(TypeError, match=r"Expected `weight` to be a fpnorm Weight"):
        gamma_l2_norm("power:p=4")


def test_rejects_non_callable_envelope():
    with pytest.raises(TypeError, match=r"Expected `envelope` to be a callable"):
        gamma_l2_info(_power_callable(1), envelope=3.0)


@pytest.mark.parametrize("d, eps", [(1, 1e-4), (2, 1e-4), (2, 0.05), (3, 1e-3)])
def test_near_the_pole_s_to_d(d, eps):
    # Z_d(s) ~ omega_d / (s - d): large, still to full relative accuracy
    s = d + eps
    value, err, _ = epstein_zeta(s, d, full=True)
    ref = float(_mp_epstein(s, d))
    assert value == pytest.approx(ref, rel=1e-12)
    assert abs(value - ref) <= err + 1e-15 * ref


def _mp_sobolev_d2(s):
    """Independent mpmath reference for sum_{k in Z^2} (1 + 4 pi^2 |k|^2)^-s: for each k_2, Poisson summation in
    k_1 of (c^2 + k_1^2)^-s with c^2 = (1 + 4 pi^2 k_2^2) / (4 pi^2) (Chowla-Selberg), the c^(1-2s) parts summed
    over k_2 by Euler-Maclaurin."""
    s = mpmath.mpf(s)
    two_pi = 2 * mpmath.pi
    lead = (two_pi**2) ** -s * mpmath.sqrt(mpmath.pi) * mpmath.gamma(s - 0.5) / mpmath.gamma(s)
    def c_pow(k2):
        return ((1 + two_pi**2 * k2**2) / two_pi**2) ** ((1 - 2 * s) / 2)
    smooth = c_pow(0) + 2 * mpmath.nsum(c_pow, [1, mpmath.inf], method="euler-maclaurin")
    bessel = mpmath.mpf(0)
    for k2 in range(0, 12):
        c = mpmath.sqrt((1 + two_pi**2 * k2**2) / two_pi**2)
        part, n = mpmath.mpf(0), 1
        while 2 * mpmath.pi * n * c < 60:
            part += (n / c) ** (s - 0.5) * mpmath.besselk(s - 0.5, 2 * mpmath.pi * n * c)
            n += 1
        bessel += part * (1 if k2 == 0 else 2)
    return lead * smooth + (two_pi**2) ** -s * 4 * mpmath.pi**s / mpmath.gamma(s) * bessel


@pytest.mark.parametrize("s", [1.25, 2.0, 3.5])
def test_sobolev_d2_matches_mpmath_reference(s):
    info = gamma_l2_info(Sobolev(s, dim=2))
    ref = float(_mp_sobolev_d2(s))
    assert info.sum == pytest.approx(ref, rel=1e-12)
    assert abs(info.value - math.sqrt(ref)) <= info.error_bound + 1e-15
