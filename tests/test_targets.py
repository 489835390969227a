"""The target registry: exact coefficients against FFTs of the samples and closed-form values."""

import math

import mpmath
import numpy as np
import pytest

from fpnorm import LFP, PowerLaw, Sobolev, Weight
from fpnorm.targets import TARGETS, get_target
from fpnorm.transforms import grid_coefficients


def _grid_coef(f, K, d, period=1.0):
    n = 2 * K + 1
    axes = np.meshgrid(*([period * np.arange(n) / n] * d), indexing="ij")
    x = np.stack([a.ravel() for a in axes], axis=-1)
    return grid_coefficients(f(x).reshape((n,) * d))


@pytest.mark.parametrize("name", ["sin", "bandlimited"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_bandlimited_targets_exact(name, d):
    f = get_target(name, d, period=1.7)
    np.testing.assert_allclose(_grid_coef(f, 4, d, period=1.7), f.coefficients(4), atol=1e-15)
    assert f.band is not None and not np.any(f.coefficients(6)[(slice(0, 6 - f.band),) + (slice(None),) * (d - 1)])


@pytest.mark.parametrize("name, K, atol", [("poisson", 40, 1e-15), ("gauss", 20, 1e-15), ("abs", 2000, 2e-7)])
def test_smooth_and_rough_coefficients_match_fft(name, K, atol):
    f = get_target(name, 1)
    # aliasing error of the FFT on 2K+1 points is sum_{m != 0} |c_(k + m n)|: tiny for analytic f, O(1/K^2) for abs
    np.testing.assert_allclose(_grid_coef(f, K, 1)[K - 5:K + 6], f.coefficients(5), atol=atol)


def test_closed_form_values():
    assert get_target("poisson", 1)(np.array([0.0]))[0] == pytest.approx(3.0)       # (1 + r)/(1 - r), r = 1/2
    assert get_target("gauss", 2)(np.array([[0.5, 0.5]]))[0] == pytest.approx(1.0)
    assert get_target("abs", 2)(np.array([[0.0, 0.5]]))[0] == pytest.approx(0.25)
    c = get_target("abs", 1).coefficients(3)
    np.testing.assert_allclose(c, [1 / (9 * math.pi**2), 0, 1 / math.pi**2, 0.25, 1 / math.pi**2, 0,
                                   1 / (9 * math.pi**2)], atol=1e-17)


@pytest.mark.parametrize("name", TARGETS)
def test_shapes_and_real_values(name):
    f = get_target(name, 3)
    x = np.random.default_rng(0).random((7, 3))
    y = f(x)
    assert y.shape == (7,) and np.isrealobj(y)
    c = f.coefficients(2)
    np.testing.assert_allclose(c, np.conj(c[::-1, ::-1, ::-1]), atol=1e-17)   # real function: Hermitian


def test_rejects_unknown_target():
    with pytest.raises(ValueError, match=r"Expected `name` to be one of \('sin', 'bandlimited', 'poisson', 'gauss', "
                                         r"'abs'\), got 'cos'"):
        get_target("cos")


# -- tail_bound: rigorous brackets of what lies beyond the box ---------------------------------------------------
mpmath.mp.dps = 30


def _odd_tail(K, term):
    """sum over odd m > K of term(m), in extended precision."""
    first = K + 1 if K % 2 == 0 else K + 2
    return mpmath.nsum(lambda j: term(first + 2 * j), [0, mpmath.inf], method="euler-maclaurin")


@pytest.mark.parametrize("weight, d, term", [
    # 2d directions +-e_j, coefficient 1/(d pi^2 m^2): tail = (2/(d pi^4)) sum over odd m > K of gamma^-2(m) m^-4
    (PowerLaw(p=2), 1, lambda m: 2 * (2 * mpmath.pi * m) ** 2 / (mpmath.pi**4 * m**4)),
    (LFP(1.0, 1.0), 1, lambda m: 2 / ((m**-2 + m**-4) * mpmath.pi**4 * m**4)),
    (Sobolev(1.0, dim=2), 2, lambda m: (1 + 4 * mpmath.pi**2 * m**2) / (mpmath.pi**4 * m**4)),
    (PowerLaw(p=2.5, dim=3), 3, lambda m: 2 / 3 * (2 * mpmath.pi * m) ** 2.5 / (mpmath.pi**4 * m**4)),
])
@pytest.mark.parametrize("K", [0, 7, 40])
def test_abs_tail_brackets_the_series(weight, d, term, K):
    t = get_target("abs", d).tail_bound(weight, K)
    exact = float(_odd_tail(K, term))
    # the bracket's width is (c_high / c_low - 1) of the tail, c_high / c_low <= 1 + 1/(K+1)^2 (weight_growth)
    assert t.low <= exact <= t.high and t.high - t.low <= (1e-12 + 1.0 / (K + 1) ** 2) * exact
    if isinstance(weight, PowerLaw):   # gamma^-2 is exactly a power: the bracket is the Hurwitz zeta value itself
        assert t.high - t.low <= 1e-12 * exact


@pytest.mark.parametrize("weight", [PowerLaw(p=3), PowerLaw(p=4.5), LFP(1.0, 0.0, dim=2), LFP(0.0, 1.0),
                                    Sobolev(1.5)])
def test_abs_tail_diverges_from_growth_cubed(weight):
    # the terms are gamma^-2(m) m^-4 ~ m^(P-4) with P >= 3 (LFP: P = d+1 or d+3; Sobolev: 2s)
    t = get_target("abs", weight.dim).tail_bound(weight, 5)
    assert t.low == t.high == math.inf and "diverges" in t.reason


def _box_sum(f, weight, K):
    c, g2 = f.coefficients(K), weight.box(K)
    return float(np.sum(np.where(np.isinf(g2), 0.0, np.abs(c) ** 2 / g2)))


@pytest.mark.parametrize("name, d, weight, full", [
    # poisson under PowerLaw(p=2): (2 pi)^2 sum_k |k|^2 r^(2|k|_1) = (2 pi)^2 d s2 s0^(d-1)
    ("poisson", 1, PowerLaw(p=2), lambda: 4 * math.pi**2 * 2 * 0.25 * 1.25 / 0.75**3),
    ("poisson", 2, PowerLaw(p=2, dim=2), lambda: 4 * math.pi**2 * 2 * (2 * 0.25 * 1.25 / 0.75**3) * (1.25 / 0.75)),
    ("gauss", 1, PowerLaw(p=4), lambda: float(2 * mpmath.nsum(lambda m: (2 * mpmath.pi * m) ** 4 * (
        mpmath.exp(-1 / (2 * mpmath.pi * mpmath.mpf("0.1")) ** 2)
        * mpmath.besseli(m, 1 / (2 * mpmath.pi * mpmath.mpf("0.1")) ** 2)) ** 2, [1, mpmath.inf]))),
])
@pytest.mark.parametrize("K", [2, 6, 12])
def test_product_tails_bracket_the_rest(name, d, weight, full, K):
    f = get_target(name, d)
    rest = full() - _box_sum(f, weight, K)
    t = f.tail_bound(weight, K)
    assert t.low == 0.0 and rest * (1 - 1e-9) <= t.high and t.reason is None
    # and it is a useful bound: it falls with K like the terms themselves
    assert t.high < 1e3 * max(rest, 1e-300) + 1e-300


def test_bandlimited_tail_is_the_exact_remainder():
    f, w = get_target("bandlimited", 2), PowerLaw(p=3, dim=2, zero=1.0)
    t = f.tail_bound(w, 1)
    rest = _box_sum(f, w, 3) - _box_sum(f, w, 1)
    assert t.low <= rest <= t.high and t.high - t.low < 1e-12 * rest
    assert f.tail_bound(w, 3).high == f.tail_bound(w, 30).high == 0.0


def test_tail_of_a_callable_weight_is_unknown_and_dim_is_checked():
    w = Weight.from_callable(lambda k: np.ones(len(k)), dim=1)
    assert get_target("abs").tail_bound(w, 4) is None
    with pytest.raises(ValueError, match=r"Expected `weight` of dim 2 \(the target's\), got dim 1"):
        get_target("abs", 2).tail_bound(PowerLaw(p=2), 3)


def test_targets_compare_by_name_dim_and_period():
    assert get_target("abs", 2) == get_target("abs", 2) and hash(get_target("abs")) == hash(get_target("abs"))
    assert get_target("abs") != get_target("abs", period=2.0) and get_target("abs") != get_target("sin")
