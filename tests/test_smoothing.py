"""Smoothing fit (fpnorm.solvers.smoothing): brute-force agreement, optimality conditions, both limits, errors."""

import numpy as np
import pytest

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev
from fpnorm.lattice import complex_to_real, real_design


def _data(N, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((N, d))
    y = np.cos(2 * np.pi * x.sum(axis=1)) + 0.3 * rng.standard_normal(N)
    return (x[:, 0] if d == 1 else x), y


def _split(weight, K, d, points, coef):
    g = weight.box(K).reshape(-1)
    H = (g.size - 1) // 2
    s2 = np.concatenate([[g[H]], 2 * g[H + 1:], 2 * g[H + 1:]])
    free = np.isinf(s2)
    scales = np.sqrt(s2[~free])
    v = complex_to_real(coef, K, d)
    pts = points[:, None] if points.ndim == 1 else points
    A = real_design(2 * np.pi * pts, K, d)
    return v[~free] / scales, v[free], A[:, ~free] * scales, A[:, free], scales, free


CASES = [(1, 10, PowerLaw(p=4, dim=1)), (1, 8, Sobolev(s=1, dim=1)), (2, 4, LFP(a=1.0, b=1.0, dim=2))]


@pytest.mark.parametrize("d,K,weight", CASES)
@pytest.mark.parametrize("mu", [1e-3, 1.0])
def test_matches_stacked_least_squares(d, K, weight, mu):
    # brute force in coefficient space: min || [B F; sqrt(mu) I 0] [u; w] - [y; 0] ||
    x, y = _data(14, d, 0)
    s = FPInterpolator(x, y, weight=weight, K=K, smoothing=mu)
    _, _, B, F, scales, free = _split(weight, K, d, s.points, s.coef)
    nu, nf = B.shape[1], F.shape[1]
    A = np.block([[B, F], [np.sqrt(mu) * np.eye(nu), np.zeros((nu, nf))]])
    sol, *_ = np.linalg.lstsq(A, np.concatenate([y, np.zeros(nu)]), rcond=None)
    v = np.zeros(free.size)
    v[~free], v[free] = scales * sol[:nu], sol[nu:]
    np.testing.assert_allclose(complex_to_real(s.coef, K, d), v, atol=1e-9 * np.max(np.abs(v)))
    assert s.info.method == "smoothing" and s.info.status == "optimal" and s.info.residual < 1e-11


@pytest.mark.parametrize("d,K,weight", CASES)
def test_optimality_conditions(d, K, weight):
    # stationarity: mu u = B^T (y - h(x)) and F^T (y - h(x)) = 0
    mu = 0.05
    x, y = _data(12, d, 1)
    s = FPInterpolator(x, y, weight=weight, K=K, smoothing=mu)
    u, _, B, F, _, _ = _split(weight, K, d, s.points, s.coef)
    lam = (y - s(x)) / mu
    np.testing.assert_allclose(B.T @ lam, u, atol=1e-9 * np.max(np.abs(u)))
    if F.shape[1]:
        assert np.max(np.abs(F.T @ lam)) < 1e-9 * np.max(np.abs(lam)) * len(y)


@pytest.mark.parametrize("d,K,weight", [(1, 16, PowerLaw(p=4, dim=1)), (2, 4, Sobolev(s=2, dim=2))])
def test_small_smoothing_recovers_interpolation(d, K, weight):
    x, y = _data(10, d, 2)
    exact = FPInterpolator(x, y, weight=weight, K=K)
    q = np.random.default_rng(3).random((40, d))
    q = q[:, 0] if d == 1 else q
    errs = [np.max(np.abs(FPInterpolator(x, y, weight=weight, K=K, smoothing=mu)(q) - exact(q)))
            for mu in (1e-9, 1e-10, 1e-11)]                       # below the smallest eigenvalue of G_2
    assert errs[1] < 0.15 * errs[0] and errs[2] < 0.15 * errs[1]     # error is O(mu)
    assert errs[2] < 1e-4 * np.max(np.abs(y))


def test_large_smoothing_recovers_h_ini_plus_free_least_squares():
    x, y = _data(11, 1, 4)
    z = np.linspace(0, 1, 23)
    # k = 0 free: the minimum-norm constant, i.e. the mean of the data
    s = FPInterpolator(x, y, weight=PowerLaw(p=2, dim=1), K=12, smoothing=1e8)
    np.testing.assert_allclose(s(z), np.mean(y), atol=1e-6)
    # no free modes: h -> h_ini, with distance O(1/mu)
    def h_ini(t):
        return 0.3 * np.sin(2 * np.pi * t)
    dev = [np.max(np.abs(FPInterpolator(x, y, weight=Sobolev(s=1, dim=1), K=12, h_ini=h_ini, smoothing=mu)(z)
                         - h_ini(z))) for mu in (1e4, 1e6)]
    assert dev[1] < 0.02 * dev[0] and dev[1] < 1e-4


def test_more_points_than_modes_allowed():
    x, y = _data(40, 1, 5)
    s = FPInterpolator(x, y, weight=Sobolev(s=1, dim=1), K=5, smoothing=0.1)
    assert s.coef.shape == (11,) and np.isfinite(s.norm)


def test_complex_and_multiple_columns_are_linear():
    x, y = _data(9, 1, 6)
    w = PowerLaw(p=4, dim=1)
    a = FPInterpolator(x, y, weight=w, K=8, smoothing=0.01)
    b = FPInterpolator(x, y ** 2, weight=w, K=8, smoothing=0.01)
    c = FPInterpolator(x, y + 1j * y ** 2, weight=w, K=8, smoothing=0.01)
    np.testing.assert_allclose(c.coef, a.coef + 1j * b.coef, atol=1e-12)
    m = FPInterpolator(x, np.stack([y, y ** 2], 1), weight=w, K=8, smoothing=0.01)
    np.testing.assert_allclose(m.coef[:, 1], b.coef, atol=1e-12)


def test_zero_smoothing_is_the_exact_solve():
    x, y = _data(9, 1, 7)
    w = PowerLaw(p=4, dim=1)
    s = FPInterpolator(x, y, weight=w, K=8, smoothing=0.0)
    assert s.info.method != "smoothing"
    np.testing.assert_array_equal(s.coef, FPInterpolator(x, y, weight=w, K=8).coef)


def test_bad_smoothing():
    x, y = _data(5, 1, 8)
    kw = dict(weight=PowerLaw(p=4, dim=1), K=6)
    with pytest.raises(ValueError, match=r"Expected `smoothing` >= 0.0, got -1.0"):
        FPInterpolator(x, y, smoothing=-1.0, **kw)
    with pytest.raises(TypeError, match=r"Expected `smoothing` to be a real number"):
        FPInterpolator(x, y, smoothing="1", **kw)
    with pytest.raises(ValueError, match=r"Expected `smoothing` = 0 when `tol`, `lower` or `upper` is given"):
        FPInterpolator(x, y, smoothing=1.0, upper=5.0, **kw)
