"""Tests of fpnorm.dynamics: the exact linear F-principle flow against closed forms and brute force."""

import numpy as np
import pytest
import scipy.linalg as sla

from fpnorm import LFP, FPInterpolator, LFPFlow, PowerLaw, Sobolev, convergence_times, shell_index
from fpnorm.dynamics import FLOW_METHODS
from fpnorm.lattice import box_points

METHODS = [m for m in FLOW_METHODS if m != "auto"]


def dft_coef(x, y, K, period):
    """Brute-force empirical transform (1/N) sum_i y_i e^{-2 pi i k.x_i/P} on the box, shape (2K+1,)*d."""
    x = x.reshape(len(x), -1)
    k = box_points(K, x.shape[1])
    phase = np.exp(-2j * np.pi * (x @ k.T) / period)
    return (phase.T @ y / len(x)).reshape((2 * K + 1,) * x.shape[1])


# -- closed form on uniform grids: each mode decays as 1 - e^{-t gamma(k)^2} -------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("weight", [LFP(a=1.0, b=0.5, dim=1), Sobolev(s=1, dim=1)], ids=["lfp", "sobolev"])
def test_uniform_grid_1d_modes_decay_exactly(method, weight):
    N, K, P = 32, 10, 2.0
    x = P * np.arange(N) / N
    y = np.random.default_rng(1).standard_normal(N)
    flow = LFPFlow(x, y, weight=weight, K=K, period=P, method=method)
    rhat = dft_coef(x, y, K, P)
    g = weight.box(K)
    times = np.array([0.0, 0.05, 0.7, 3.0, 40.0, np.inf])
    got = flow.coef(times)
    assert got.shape == (len(times), 2 * K + 1)
    for t, c in zip(times, got, strict=False):
        with np.errstate(invalid="ignore"):
            factor = -np.expm1(-t * g) if t > 0 else np.zeros_like(g)   # gamma = inf: factor 1 for t > 0
        np.testing.assert_allclose(c, factor * rhat, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_uniform_tensor_grid_2d_modes_decay_exactly(method):
    n, K = 10, 4
    g1 = np.arange(n) / n
    x = np.stack(np.meshgrid(g1, g1, indexing="ij"), axis=-1).reshape(-1, 2)
    y = np.random.default_rng(2).standard_normal(n * n)
    weight = LFP(a=1.0, b=1.0, dim=2)
    flow = LFPFlow(x, y, weight=weight, K=K, method=method)
    rhat = dft_coef(x, y, K, 1.0)
    g = weight.box(K)
    for t in (0.3, 2.0, 25.0):
        with np.errstate(invalid="ignore"):
            factor = -np.expm1(-t * g)
        np.testing.assert_allclose(flow.coef(t), factor * rhat, rtol=0, atol=1e-12)
    # rates of a uniform grid are the gamma(k)^2 of the penalised box modes
    pen = np.sort(g[np.isfinite(g)])[::-1]
    np.testing.assert_allclose(flow.rates, pen, rtol=1e-10)


# -- brute force: the coefficient ODE integrated by a matrix exponential ------------------------------------------
def expm_solution(x, r, weight, K, t):
    """c(t) for dc/dt = -Gamma (1/N) Phi^H (Phi c - r), c(0) = 0, by the exponential of the augmented system."""
    N = len(x)
    k = box_points(K, 1)[:, 0]
    Phi = np.exp(2j * np.pi * np.outer(x, k))
    Gam = np.diag(weight.box(K))
    A = -Gam @ Phi.conj().T @ Phi / N
    b = Gam @ Phi.conj().T @ r / N
    aug = np.zeros((len(k) + 1, len(k) + 1), dtype=complex)
    aug[:-1, :-1], aug[:-1, -1] = A, b
    return sla.expm(t * aug)[:-1, -1]


@pytest.mark.parametrize("method", METHODS)
def test_random_points_match_matrix_exponential(method):
    rng = np.random.default_rng(3)
    x = np.sort(rng.random(7))
    y = np.cos(2 * np.pi * x) + x**2
    weight = Sobolev(s=1, dim=1)
    h_ini = lambda q: 0.3 * np.sin(4 * np.pi * q)  # noqa: E731
    flow = LFPFlow(x, y, weight=weight, K=5, h_ini=h_ini, method=method)
    r = y - h_ini(x)
    for t in (0.3, 2.0, 50.0):
        np.testing.assert_allclose(flow.coef(t), expm_solution(x, r, weight, 5, t), rtol=0, atol=1e-11)


def test_free_mode_is_the_fast_limit_of_a_finite_rate():
    rng = np.random.default_rng(4)
    x = rng.random(12)
    y = 1.0 + np.sin(2 * np.pi * x)
    free = LFPFlow(x, y, weight=LFP(a=1.0, b=1.0, dim=1), K=8)
    fast = LFPFlow(x, y, weight=LFP(a=1.0, b=1.0, dim=1, zero=1e6), K=8)
    for t in (0.5, 3.0, 40.0):
        np.testing.assert_allclose(free.coef(t), fast.coef(t), rtol=0, atol=1e-4)
    # with the finite rate the mean moves continuously; the free mode jumps at t = 0+
    assert abs(fast.coef(1e-9)[8]) < 1e-2
    assert abs(free.coef(1e-9)[8] - np.mean(y)) < 0.3


# -- t = 0 and t = inf --------------------------------------------------------------------------------------------
def test_time_zero_gives_h_ini():
    rng = np.random.default_rng(5)
    x = rng.random(20)
    h_ini = lambda q: np.cos(2 * np.pi * q) - 0.2  # noqa: E731
    flow = LFPFlow(x, np.sin(2 * np.pi * x), weight=LFP(a=1.0, b=1.0, dim=1), K=16, h_ini=h_ini)
    q = np.linspace(0, 1, 37)
    assert np.all(flow.coef(0.0) == 0)
    np.testing.assert_array_equal(flow(0.0, q), h_ini(q))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("weight", [LFP(a=1.0, b=1.0, dim=1), PowerLaw(p=2, dim=1), Sobolev(s=1, dim=1)],
                         ids=["lfp", "linear", "sobolev"])
def test_infinite_time_is_the_interpolant_1d(method, weight):
    rng = np.random.default_rng(6)
    x = rng.random(25)
    y = np.stack([np.sin(2 * np.pi * x), np.abs(x - 0.5)], axis=1)
    h_ini = lambda q: 0.5 * np.cos(2 * np.pi * q)  # noqa: E731
    flow = LFPFlow(x, y, weight=weight, K=24, h_ini=h_ini, method=method)
    s = FPInterpolator(x, y, weight=weight, K=24, h_ini=h_ini)
    np.testing.assert_allclose(flow.coef(np.inf), s.coef, rtol=0, atol=1e-10)
    q = np.linspace(0, 1, 50)
    np.testing.assert_allclose(flow(np.inf, q), s(q), rtol=0, atol=1e-10)
    np.testing.assert_allclose(flow.norm(np.inf), s.norm, rtol=1e-10)


def test_infinite_time_is_the_interpolant_2d():
    rng = np.random.default_rng(7)
    x = rng.random((30, 2))
    y = np.sin(2 * np.pi * x[:, 0]) * np.cos(2 * np.pi * x[:, 1])
    w = LFP(a=1.0, b=1.0, dim=2)
    flow = LFPFlow(x, y, weight=w, K=6)
    s = FPInterpolator(x, y, weight=w, K=6)
    np.testing.assert_allclose(flow.coef(np.inf), s.coef, rtol=0, atol=1e-10)
    np.testing.assert_allclose(flow.residual(np.inf), 0.0, atol=1e-10)


def test_more_points_than_modes_converges_to_min_norm_least_squares():
    rng = np.random.default_rng(8)
    x = rng.random(20)
    y = np.sign(np.sin(2 * np.pi * x))
    w = Sobolev(s=1, dim=1)
    K = 4
    flow = LFPFlow(x, y, weight=w, K=K)
    k = box_points(K, 1)[:, 0]
    half = np.diag(np.sqrt(w.box(K)))
    design = np.exp(2j * np.pi * np.outer(x, k)) @ half
    expected = half @ np.linalg.pinv(design) @ y
    np.testing.assert_allclose(flow.coef(np.inf), expected, rtol=0, atol=1e-12)


def test_repeated_point_counts_twice_and_the_flow_fits_the_average():
    x = np.array([0.1, 0.35, 0.35, 0.6, 0.85])
    y = np.array([1.0, 2.0, 4.0, -1.0, 0.5])
    flow = LFPFlow(x, y, weight=LFP(a=1.0, b=1.0, dim=1), K=8)
    h = flow(np.inf, x)
    np.testing.assert_allclose(h, [1.0, 3.0, 3.0, -1.0, 0.5], atol=1e-10)


# -- properties -----------------------------------------------------------------------------------------------------
def test_loss_non_increasing_and_norm_non_decreasing():
    rng = np.random.default_rng(9)
    x = rng.random(40)
    y = np.sin(6 * np.pi * x) + 0.5 * np.cos(2 * np.pi * x)
    flow = LFPFlow(x, y, weight=LFP(a=1.0, b=0.2, dim=1), K=32)
    times = np.concatenate([[0.0], np.logspace(-3, 7, 60), [np.inf]])
    loss = flow.loss(times)
    assert loss[0] == pytest.approx(0.5 * np.mean(y**2), rel=1e-14)
    assert np.all(np.diff(loss) <= 1e-12 * loss[0])
    assert loss[-1] < 1e-20
    norm = flow.norm(times)
    assert np.all(np.diff(norm) >= -1e-10 * norm[-1])


def test_array_times_match_scalar_calls_and_shapes():
    rng = np.random.default_rng(10)
    x = rng.random((15, 2))
    y = rng.standard_normal((15, 3))
    flow = LFPFlow(x, y, weight=LFP(a=1.0, b=1.0, dim=2), K=3)
    times = [0.0, 0.5, np.inf]
    q = rng.random((11, 2))
    assert flow.coef(times).shape == (3, 7, 7, 3)
    assert flow(times, q).shape == (3, 11, 3)
    assert flow.residual(times).shape == (3, 15, 3)
    assert flow.loss(times).shape == (3, 3)
    for i, t in enumerate(times):
        np.testing.assert_allclose(flow(times, q)[i], flow(t, q), rtol=0, atol=1e-13)
        np.testing.assert_allclose(flow.coef(times)[i], flow.coef(t), rtol=0, atol=1e-13)


def test_complex_values_are_linear():
    rng = np.random.default_rng(11)
    x = rng.random(10)
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    w = LFP(a=1.0, b=1.0, dim=1)
    both = LFPFlow(x, a + 1j * b, weight=w, K=8)
    ra, rb = LFPFlow(x, a, weight=w, K=8), LFPFlow(x, b, weight=w, K=8)
    q = np.linspace(0, 1, 9)
    out = both([0.2, 7.0], q)
    assert np.iscomplexobj(out)
    np.testing.assert_allclose(out, ra([0.2, 7.0], q) + 1j * rb([0.2, 7.0], q), atol=1e-12)


# -- shells -------------------------------------------------------------------------------------------------------
def test_shell_index_matches_brute_force():
    idx = shell_index(3, 2)
    for (i, j), s in np.ndenumerate(idx):
        assert s == int(np.floor(np.hypot(i - 3, j - 3) + 0.5))
    assert shell_index(2, 1).tolist() == [2, 1, 0, 1, 2]


def test_shell_errors_on_uniform_grid_are_exponentials():
    N, K = 40, 12
    x = np.arange(N) / N
    f = lambda q: sum(np.cos(2 * np.pi * k * q + k) / k for k in range(1, 9))  # noqa: E731
    w = LFP(a=1.0, b=1.0, dim=1)
    flow = LFPFlow(x, f(x), weight=w, K=K)
    times = np.concatenate([[0.0], np.logspace(-2, 4, 200)])
    se = flow.shell_errors(f, times)
    g = w.gamma2(np.arange(1, 9))
    np.testing.assert_allclose(se.errors[:, 1:9], np.exp(-np.outer(times, g)), rtol=0, atol=1e-10)
    assert np.all(np.isnan(se.errors[:, [0] + list(range(9, K + 1))]))  # f has no mean and nothing above 8
    level = 1e-2
    exact = np.log(1 / level) / g
    tc = se.convergence_times(level)[1:9]
    np.testing.assert_allclose(tc, exact, rtol=1e-8)   # log-linear interpolation is exact for e^{-t gamma^2}
    assert np.all(tc < times[np.searchsorted(times, exact)])   # not snapped to the grid
    assert np.all(np.diff(tc) > 0)  # low frequencies first
    # the same from a coefficient array of f
    coef = np.zeros(2 * 9 + 1, complex)
    for k in range(1, 9):
        coef[9 + k], coef[9 - k] = np.exp(1j * k) / (2 * k), np.exp(-1j * k) / (2 * k)
    np.testing.assert_allclose(flow.shell_errors(coef, times).errors, se.errors, atol=1e-12, equal_nan=True)


def test_convergence_times_requires_staying_below():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    err = np.array([[1.0, 1.0, 1.0], [0.05, 0.5, 1.0], [0.2, 0.05, 1.0], [0.05, 0.01, 0.5]])
    # log-linear crossings: column 0 stays below from between t = 2 (0.2) and 3 (0.05), first dips between 0 and 1
    settled = [2 + np.log(2) / np.log(4), 1 + np.log(5) / np.log(10), np.inf]
    np.testing.assert_allclose(convergence_times(err, t, 0.1), settled, rtol=1e-14)
    first = [np.log(10) / np.log(20), 1 + np.log(5) / np.log(10), np.inf]
    np.testing.assert_allclose(convergence_times(err, t, 0.1, stay=False), first, rtol=1e-14)
    # at the level from the start: the first time; an error reaching exactly 0: the grid time
    np.testing.assert_array_equal(convergence_times([[0.05], [0.0]], [1.0, 2.0], 0.1), [1.0])
    np.testing.assert_array_equal(convergence_times([[1.0], [0.0]], [1.0, 2.0], 0.1), [2.0])
    err[2, 0] = np.nan
    np.testing.assert_array_equal(convergence_times(err, t, 0.1, stay=False)[0], np.nan)


# -- bad input ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_flow():
    x = np.linspace(0, 1, 9, endpoint=False)
    return LFPFlow(x, np.sin(2 * np.pi * x), weight=LFP(a=1.0, b=1.0, dim=1), K=4)


def test_negative_time_raises(small_flow):
    with pytest.raises(ValueError, match=r"Expected `t` >= 0 \(numpy.inf allowed\), got -1.0"):
        small_flow.coef([0.0, -1.0])


def test_nan_time_raises(small_flow):
    with pytest.raises(ValueError, match="Expected `t` to be times >= 0 .* got NaN"):
        small_flow(np.nan, [0.1])


def test_time_type_and_shape_raise(small_flow):
    with pytest.raises(TypeError, match="Expected `t` to be a real number or an array of them, got dtype <U"):
        small_flow.coef("1")
    with pytest.raises(TypeError, match="Expected `t` to be a real number or an array of them, got bool"):
        small_flow.coef(True)
    with pytest.raises(ValueError, match=r"Expected `t` to be a scalar or a 1-d array of times, got shape \(2, 2\)"):
        small_flow.coef(np.ones((2, 2)))


def test_bad_method_raises():
    with pytest.raises(ValueError, match=r"Expected `method` to be one of \('auto', 'svd', 'eigh'\), got 'qr'"):
        LFPFlow([0.1, 0.5], [1.0, 2.0], weight=LFP(a=1.0, b=1.0), K=2, method="qr")


def test_shared_validation_with_interpolator():
    with pytest.raises(TypeError, match="Expected `weight` to be a fpnorm Weight"):
        LFPFlow([0.1, 0.5], [1.0, 2.0], weight="lfp", K=2)
    with pytest.raises(ValueError, match="Expected `values` to have 2 rows"):
        LFPFlow([0.1, 0.5], [1.0, 2.0, 3.0], weight=LFP(a=1.0, b=1.0), K=2)
    with pytest.raises(ValueError, match=r"Expected `h_ini` coefficients of shape \(2K'\+1,\)\*1"):
        LFPFlow([0.1, 0.5], [1.0, 2.0], weight=LFP(a=1.0, b=1.0), K=2, h_ini=np.zeros(4))


def test_shell_error_arguments_raise(small_flow):
    with pytest.raises(ValueError, match=r"Expected `grid` >= 2K\+1 = 9 points per axis, got 5"):
        small_flow.shell_errors(np.sin, [1.0], grid=5)
    with pytest.raises(ValueError, match="Expected `times` to be non-decreasing"):
        small_flow.shell_errors(np.sin, [2.0, 1.0])
    with pytest.raises(ValueError, match=r"Expected `f` coefficients of shape \(2K'\+1,\)\*1"):
        small_flow.shell_errors(np.zeros(4), [1.0])
    multi = LFPFlow([0.1, 0.5], np.ones((2, 2)), weight=LFP(a=1.0, b=1.0, zero=1.0), K=2)
    with pytest.raises(ValueError, match="Expected a flow with one column of `values`.*got 2 columns"):
        multi.shell_errors(np.sin, [1.0])


def test_convergence_times_arguments_raise():
    with pytest.raises(ValueError, match=r"Expected `level` > 0.0, got 0.0"):
        convergence_times(np.ones((2, 1)), [0.0, 1.0], 0.0)
    with pytest.raises(ValueError, match=r"Expected `errors` of shape \(T, S\) and `times` of shape \(T,\)"):
        convergence_times(np.ones((3, 1)), [0.0, 1.0], 0.1)
