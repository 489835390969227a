"""The 1-d box-kernel variogram to relative accuracy, and the exact angle wrap it rests on."""

import mpmath
import numpy as np
import pytest

from fpnorm import LFP, PowerLaw, Sobolev
from fpnorm.solvers.variogram import variogram_1d, wrap_angle


def _finite(weight, K):
    g = np.asarray(weight.box(K), dtype=float)
    g[~np.isfinite(g)] = 1.0                      # a free mode: any finite value (k = 0 adds nothing anyway)
    return g


def _sine_form(g, tau):
    """``sum_k g_k 2 sin^2(k tau / 2)`` in long double: positive terms, no cancellation (1 - cos = 2 sin^2)."""
    K = g.shape[0] // 2
    k = np.arange(1, K + 1, dtype=np.longdouble)
    half = g[K + 1:].astype(np.longdouble)
    return np.array([float(np.sum(4 * half * np.sin(k * np.longdouble(t) / 2) ** 2)) for t in tau])


@pytest.mark.parametrize("weight", [Sobolev(s=1.5), Sobolev(s=3.0), LFP(1.0, 1.0), PowerLaw(p=1.2)])
def test_variogram_keeps_its_relative_accuracy_at_every_lag(weight):
    # from 1e-12 of the box's resolution to the far side of the circle, to finufft's error on the high modes (about
    # 1e-12 of their sum, measured at most 4e-12 of the variogram here); kappa(0) - kappa(tau) from a transform at
    # eps 1e-14 keeps only ~4 digits of the smallest of these (Sobolev(1.5): V ~ 1e-10 kappa(0) at tau = 2 pi / K)
    K = 2**15
    g = _finite(weight, K)
    tau = np.r_[np.logspace(-12, np.log10(np.pi * K), 60) / K, -0.3, 2 * np.pi - 1e-3, 7.0]
    exact = _sine_form(g, tau)
    got = variogram_1d(g, tau)
    assert np.all(np.abs(got / exact - 1) <= 2e-11)


def test_variogram_against_mpmath_at_near_coincident_lags():
    K = 512
    g = _finite(Sobolev(s=1.5), K)
    mpmath.mp.dps = 60
    for tau in (1e-15, 3e-11, 0.7 / K, 1.3 / K, 9.0 / K):
        exact = mpmath.fsum(2 * mpmath.mpf(float(g[K + k])) * (1 - mpmath.cos(k * mpmath.mpf(tau)))
                            for k in range(1, K + 1))
        assert abs(variogram_1d(g, np.array([tau]))[0] / exact - 1) <= 1e-14


def test_variogram_shape_and_empty_box():
    g = _finite(Sobolev(s=1.0), 8)
    assert variogram_1d(g, np.zeros((3, 2))).shape == (3, 2)
    assert np.all(variogram_1d(g, np.zeros(4)) == 0.0)
    assert np.all(variogram_1d(np.array([2.0]), np.array([0.1, 3.0])) == 0.0)     # K = 0: the constant only


def test_wrap_angle_is_exact_inside_and_periodic_outside():
    small = np.array([1e-300, -3e-12, 1e-10, np.pi, -np.pi])
    assert np.array_equal(wrap_angle(small), small)
    far = np.array([2 * np.pi + 0.25, -7.0, 100.0])
    w = wrap_angle(far)
    assert np.all(np.abs(w) <= np.pi)
    assert np.allclose(np.cos(w), np.cos(far), atol=1e-13) and np.allclose(np.sin(w), np.sin(far), atol=1e-13)
