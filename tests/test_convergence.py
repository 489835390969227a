"""Convergence in K: certified kernel tails against Hurwitz zeta values and lattice sums; measured rates."""

import math

import numpy as np
import pytest
from scipy.special import zeta

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev, Weight
from fpnorm.convergence import convergence_study, fit_rate, kernel_tail_bound, limit_distance
from fpnorm.kernels import bernoulli_kernel


@pytest.mark.parametrize("p", [2, 4, 6])
@pytest.mark.parametrize("K", [0, 5, 100])
def test_1d_power_tail_bound_is_above_and_within_1e3_of_the_exact_tail(p, K):
    exact = 2 * zeta(p, K + 1) / (2 * np.pi) ** p  # 2 sum_{k > K} (2 pi k)^-p
    bound = kernel_tail_bound(PowerLaw(p=p), K)
    assert exact <= bound <= exact * (1 + 1e-3)


def test_1d_lfp_tail_bound_matches_hurwitz_zeta():
    exact = 2 * (1.5 * zeta(2, 11) + 0.5 * zeta(4, 11))
    assert exact <= kernel_tail_bound(LFP(1.5, 0.5), 10) <= exact * (1 + 1e-3)


@pytest.mark.parametrize("weight", [PowerLaw(p=3, dim=2), LFP(1.0, 1.0, dim=2), Sobolev(2, dim=3)])
def test_tail_bound_is_above_a_brute_force_lattice_sum(weight):
    K, B = 3, 40 if weight.dim == 2 else 14
    k = np.stack(np.meshgrid(*([np.arange(-B, B + 1)] * weight.dim), indexing="ij"), axis=-1).reshape(-1, weight.dim)
    outside = np.max(np.abs(k), axis=1) > K
    partial = float(np.sum(weight.gamma2(k[outside])))
    bound = kernel_tail_bound(weight, K)
    assert partial <= bound <= 10 * partial  # a bound, and not a vacuous one


def test_tail_bound_bounds_the_kernel_error_uniformly():
    K = 12
    z = np.linspace(0, 1, 501)
    k = np.arange(1, K + 1)
    kappa_K = 2 * np.sum(np.cos(2 * np.pi * np.outer(z, k)) / (2 * np.pi * k) ** 2, axis=1)
    err = np.max(np.abs(bernoulli_kernel(z, 2) - kappa_K))
    assert err <= kernel_tail_bound(PowerLaw(p=2), K)
    assert err >= 0.99 * kernel_tail_bound(PowerLaw(p=2), K)  # attained at z = 0


def test_divergent_tail_is_inf():
    assert kernel_tail_bound(PowerLaw(p=2, dim=2), 5) == math.inf
    assert kernel_tail_bound(Sobolev(1, dim=2), 5) == math.inf


def test_tail_bound_rejects_callable_weights():
    w = Weight.from_callable(lambda k: 1.0 / np.sum(k**4, axis=-1), dim=1)
    with pytest.raises(ValueError, match=r"Expected `weight` to be a PowerLaw, LFP or Sobolev weight"):
        kernel_tail_bound(w, 3)


def test_tail_bound_rejects_negative_K():
    with pytest.raises(ValueError, match=r"Expected `K` >= 0, got -1"):
        kernel_tail_bound(PowerLaw(p=4), -1)


def test_fit_rate_recovers_an_exact_power():
    Ks = np.array([8, 16, 32, 64])
    assert fit_rate(Ks, 3.0 * Ks**-2.5) == pytest.approx(2.5, abs=1e-12)
    assert math.isnan(fit_rate([8], [1.0]))


X = np.random.default_rng(3).random(20)
Y = np.sin(2 * np.pi * X) + 0.5 * np.cos(4 * np.pi * X)


@pytest.mark.parametrize("weight, lo, hi", [(PowerLaw(p=4), 2.5, 3.5), (PowerLaw(p=2), 0.8, 1.3),
                                            (LFP(1.0, 1.0), 0.8, 1.5)])
def test_measured_rates_match_the_kernel_tails(weight, lo, hi):
    """Observed: p = 4 about K^-3 (measured 2.9), p = 2 and LFP about K^-1 (measured 1.09, 1.19)."""
    r = convergence_study(X, Y, weight=weight, Ks=[32, 64, 128, 256], n_grid=2048)
    assert lo <= r.rate <= hi
    assert np.all(np.diff(r.to_limit) < 0) and np.all(r.successive > 0)
    assert np.all(np.diff(r.tail_bounds) < 0)
    assert np.all(r.limit_norm <= r.norms * (1 + 1e-12))  # the truncated minimiser is admissible at K = inf


def test_study_without_exact_kernel_uses_successive_differences():
    w = Weight.from_callable(lambda k: (2 * np.pi * np.abs(k[:, 0])) ** -3.0, dim=1)   # PowerLaw(3) as a callable
    r = convergence_study(X, Y, weight=w, Ks=[32, 64, 128, 256], n_grid=1024)
    assert np.all(np.isnan(r.to_limit)) and math.isnan(r.limit_norm)
    assert 1.5 <= r.rate <= 3.0  # tail ~ K^(1-p) = K^-2; pre-asymptotic here (measured 2.5: factors 7.0, 4.7)


def test_study_against_the_ewald_kernel_limit():
    r = convergence_study(X, Y, weight=PowerLaw(p=3), Ks=[32, 64, 128, 256], n_grid=1024)
    assert np.all(np.isfinite(r.to_limit)) and np.all(np.diff(r.to_limit) < 0)
    assert 1.7 <= r.rate <= 2.8  # max |h_K - h_inf| ~ K^-(p - d) = K^-2 (measured 2.25)


def test_limit_distance_agrees_with_the_study():
    s = FPInterpolator(X, Y, weight=LFP(1.0, 1.0), K=64)
    d = limit_distance(s, n_grid=2048)
    r = convergence_study(X, Y, weight=LFP(1.0, 1.0), Ks=[64, 128], n_grid=2048)
    assert d["max_error"] == pytest.approx(r.to_limit[0], rel=1e-10)
    assert d["norm_inf"] <= d["norm_K"]
    assert d["tail_bound"] == kernel_tail_bound(LFP(1.0, 1.0), 64)


def test_study_rejects_non_increasing_Ks():
    with pytest.raises(ValueError, match=r"Expected `Ks` to be at least two strictly increasing integers"):
        convergence_study(X, Y, weight=PowerLaw(p=4), Ks=[16, 16])


def test_limit_distance_rejects_K_none_and_other_types():
    with pytest.raises(ValueError, match=r"Expected `interpolant` solved with an integer K, got K=None"):
        limit_distance(FPInterpolator(X, Y, weight=PowerLaw(p=4), K=None))
    with pytest.raises(TypeError, match=r"Expected `interpolant` to be an FPInterpolator, got list"):
        limit_distance([1, 2])
