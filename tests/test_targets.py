"""The target registry: exact coefficients against FFTs of the samples and closed-form values."""

import math

import numpy as np
import pytest

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
