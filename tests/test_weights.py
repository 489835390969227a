import math

import numpy as np
import pytest

from fpnorm import LFP, PowerLaw, Sobolev, Weight, weight_from_spec
from fpnorm.weights import weight_growth


def test_power_law_values_and_free_zero():
    w = PowerLaw(p=4, dim=1)
    k = np.array([[0], [1], [-2], [3]])
    g = w.gamma2(k)
    assert math.isinf(g[0])
    np.testing.assert_allclose(g[1:], (2 * np.pi * np.array([1, 2, 3])) ** -4.0, rtol=1e-15)


def test_power_law_zero_gives_gamma0_squared():
    assert PowerLaw(p=2, dim=2, zero=0.5).gamma2([0, 0]) == 0.5


def test_power_law_uses_euclidean_norm_in_2d():
    w = PowerLaw(p=3, dim=2)
    assert w.gamma2([3, 4]) == pytest.approx((2 * np.pi * 5.0) ** -3, rel=1e-15)


def test_lfp_formula_in_3d():
    w = LFP(a=2.0, b=0.5, dim=3)
    r = math.sqrt(1 + 4 + 4)
    assert w.gamma2([1, 2, -2]) == pytest.approx(2.0 * r**-4 + 0.5 * r**-6, rel=1e-15)


def test_lfp_from_moments():
    w = LFP.from_moments(r2w2=0.25, r2=1.0, w2=2.0, dim=1)
    assert w.a == pytest.approx(4 * np.pi**2 * 0.25)
    assert w.b == 3.0


def test_sobolev_finite_everywhere():
    w = Sobolev(s=2, dim=2)
    assert w.gamma2([0, 0]) == 1.0
    assert w.gamma2([1, 1]) == pytest.approx((1 + 8 * np.pi**2) ** -2)


def test_gamma2_1d_accepts_flat_arrays():
    w = PowerLaw(p=2, dim=1)
    np.testing.assert_array_equal(w.gamma2(np.array([1, 2])), w.gamma2(np.array([[1], [2]])))


def test_from_callable():
    w = Weight.from_callable(lambda k: 1.0 / (1.0 + np.sum(k**2, axis=-1)), dim=2, zero=None)
    assert math.isinf(w.gamma2([0, 0]))
    assert w.gamma2([1, 1]) == pytest.approx(1 / 3)


def test_box_layout_index_j_means_k_minus_K():
    w = PowerLaw(p=2, dim=2, zero=1.0)
    box = w.box(3)
    assert box.shape == (7, 7)
    assert box[3 + 1, 3 - 2] == w.gamma2([1, -2])


def test_box_rejects_uneven_callable():
    w = Weight.from_callable(lambda k: np.where(k[:, 0] > 0, 1.0, 2.0), dim=1)
    with pytest.raises(ValueError, match="to be even"):
        w.box(2)


def test_box_rejects_nonpositive_callable():
    w = Weight.from_callable(lambda k: -np.ones(len(k)), dim=1)
    with pytest.raises(ValueError, match=r"gamma\(k\)\^2 > 0"):
        w.box(2)


@pytest.mark.parametrize("spec, expected", [
    ("power:p=4", PowerLaw(p=4, dim=1)),
    ("lfp:a=1,b=0.5,zero=1", LFP(a=1, b=0.5, dim=1, zero=1.0)),
    ("sobolev:s=2,dim=3", Sobolev(s=2, dim=3)),
])
def test_spec_round_trip(spec, expected):
    w = weight_from_spec(spec)
    assert w == expected
    assert weight_from_spec(w.spec()) == w


def test_spec_errors():
    with pytest.raises(ValueError, match="weight kind"):
        weight_from_spec("gauss:s=1")
    with pytest.raises(ValueError, match="to give p"):
        weight_from_spec("power:zero=1")
    with pytest.raises(ValueError, match="Expected a number for `p`"):
        weight_from_spec("power:p=four")


@pytest.mark.parametrize("make, match", [
    (lambda: PowerLaw(p=-1, dim=1), r"`p` >= 0"),
    (lambda: PowerLaw(p=float("nan"), dim=1), "`p` to be finite"),
    (lambda: PowerLaw(p=2, dim=0), "`dim` to be a positive integer"),
    (lambda: PowerLaw(p=2, dim=1, zero=0.0), r"`zero` > 0"),
    (lambda: LFP(a=0, b=0, dim=1), "not both zero"),
    (lambda: Sobolev(s="2", dim=1), "`s` to be a real number"),
])
def test_parameter_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("weight", [PowerLaw(p=3.5, dim=2), LFP(a=0.7, b=2.0, dim=3), LFP(a=0.0, b=2.0),
                                    Sobolev(s=1.25, dim=2), Sobolev(s=0.0)])
@pytest.mark.parametrize("R", [1.0, 3.0, 40.0])
def test_weight_growth_brackets_the_penalty(weight, R):
    P, low, high = weight_growth(weight, R)
    rng = np.random.default_rng(7)
    k = rng.integers(-200, 201, size=(4000, weight.dim))
    r = np.linalg.norm(k, axis=1)
    k, r = k[r >= R], r[r >= R]
    penalty = 1.0 / weight.gamma2(k)
    assert np.all(low * r**P <= penalty * (1 + 1e-12)) and np.all(penalty <= high * r**P * (1 + 1e-12))
    # the bracket closes as R grows (the certified tails of fpnorm.targets rely on it)
    if isinstance(weight, LFP) and weight.a > 0:
        closing = 1 + weight.b / (weight.a * R**2)
    elif isinstance(weight, Sobolev):
        closing = (1 + 1 / (4 * math.pi**2 * R**2)) ** weight.s
    else:
        closing = 1.0
    assert high / low == pytest.approx(closing, rel=1e-14)


def test_weight_growth_unknown_for_callables():
    assert weight_growth(Weight.from_callable(lambda k: np.ones(len(k)), dim=1), 2.0) is None
    with pytest.raises(ValueError, match=r"Expected `R` >= 1.0, got 0.5"):
        weight_growth(PowerLaw(p=2), 0.5)
