"""The Taylor NUFFT's certified values (fpnorm.solvers.certify_fft) and its FFT error model, against exact sums.

The FFT model is checked against long-double DFTs whose twiddles come from mpmath (errors ~1e-19 of sum |x|), on
random and adversarial data, with margin: the largest error measured must sit well inside the model *without* its
safety factor. The values are checked against mpmath sums and against the extended-precision direct sums (their own
proven bound ~1e-17 sum |c_k|, tested in test_certify.py) at points where the offsets from the grid are largest.
"""

import mpmath
import numpy as np
import pytest
import scipy.fft
from conftest import mp_values

from fpnorm import Sobolev
from fpnorm.lattice import exact_angles
from fpnorm.solvers import Problem, certify, certify_fft

U = 2.0**-53
# eta without the safety factor: twiddle + complex product + complex sum, per radix-2 level
ETA_BARE = certify_fft.FFT_LEVEL_ERROR / certify_fft.FFT_SAFETY


def _twiddles(n):
    """``e^{2 pi i m / n}``, m = 0..n-1, in clongdouble from mpmath (double-double, so to ~2^-64 and below)."""
    out = np.empty(n, dtype=np.clongdouble)
    with mpmath.workdps(40):
        for m in range(n):
            z = mpmath.expj(2 * mpmath.pi * m / n)
            parts = []
            for v in (z.real, z.imag):
                hi = float(v)
                parts.append(np.longdouble(hi) + np.longdouble(float(v - hi)))
            out[m] = parts[0] + 1j * parts[1]
    return out


def _dft(x, n, rows=None):
    """``y_j = sum_k x_k e^{2 pi i j k / n}`` along axis 0 in long double (the rows `rows` of it)."""
    w = _twiddles(n)
    j = np.arange(n) if rows is None else np.asarray(rows)
    idx = (j[:, None] * np.arange(n)[None, :]) % n
    return np.einsum("jk,k...->j...", w[idx], x.astype(np.clongdouble))


def _data(kind, shape, rng, j0=3):
    if kind == "random":
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    if kind == "magnitudes":                       # 16 orders of magnitude, random phases
        return np.exp(2j * np.pi * rng.random(shape)) * 10.0 ** rng.uniform(-8, 8, shape)
    if kind == "ones":
        return np.ones(shape, dtype=complex)
    if kind == "alternating":
        return (-1.0) ** np.indices(shape).sum(axis=0) + 0j
    # "coherent": every term of output j0 (along every axis) has the same phase: |y_j0| = sum |x|
    grids = np.indices(shape)
    phase = sum(j0 * g / s for g, s in zip(grids, shape, strict=True))
    return np.exp(-2j * np.pi * phase)


KINDS = ["random", "magnitudes", "ones", "alternating", "coherent"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p", [4, 7, 10])
def test_fft_error_model_holds_with_margin_in_1d(kind, p):
    n = 2**p
    x = _data(kind, (n,), np.random.default_rng(p))
    got = scipy.fft.ifft(x, norm="forward")
    exact = _dft(x, n)
    worst = float(np.max(np.abs(got - exact)))
    # the model without its safety factor, less the reference's own error
    assert worst <= 0.5 * certify_fft.fft_error(p, ETA_BARE) * float(np.sum(np.abs(x)))


@pytest.mark.parametrize("kind", KINDS)
def test_fft_error_model_holds_with_margin_in_2d_and_3d(kind):
    rng = np.random.default_rng(7)
    for shape in [(16, 32), (8, 4, 16)]:
        x = _data(kind, shape, rng)
        got = scipy.fft.ifftn(x, norm="forward")
        exact = x.astype(np.clongdouble)
        for axis, n in enumerate(shape):             # the separable DFT, one axis after the other
            exact = np.moveaxis(_dft(np.moveaxis(exact, axis, 0), n), 0, axis)
        worst = float(np.max(np.abs(got - exact)))
        levels = sum(int(n).bit_length() - 1 for n in shape)
        assert worst <= 0.5 * certify_fft.fft_error(levels, ETA_BARE) * float(np.sum(np.abs(x)))


@pytest.mark.parametrize("kind", ["random", "coherent", "magnitudes"])
def test_fft_error_model_holds_at_large_sizes(kind):
    n = 2**16                                           # a few outputs, summed exactly in long double
    x = _data(kind, (n,), np.random.default_rng(11), j0=12345)
    got = scipy.fft.ifft(x, norm="forward")
    rows = [0, 1, 12345, n // 2, n - 1]
    exact = _dft(x, n, rows)
    worst = float(np.max(np.abs(got[rows] - exact)))
    assert worst <= 0.5 * certify_fft.fft_error(16, ETA_BARE) * float(np.sum(np.abs(x)))


def test_fft_error_grows_with_the_levels():
    assert certify_fft.fft_error(0) == 0.0
    assert certify_fft.fft_error(10) < certify_fft.fft_error(20) < 1e-13
    assert certify_fft.fft_error(20) >= 20 * certify_fft.FFT_LEVEL_ERROR


# -- the values ---------------------------------------------------------------------------------------------------
def _coefficients(kind, shape, rng):
    z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    if kind == "magnitudes":                      # wildly different magnitudes, random phases
        return z * 10.0 ** rng.integers(-4, 8, shape)
    if kind == "edges":                           # the largest |k| carry nearly everything
        K = (shape[0] - 1) // 2
        out = z * 1e-6
        edge = tuple(slice(None) for _ in shape)
        for axis in range(len(shape) - 1):
            for side in (slice(0, 3), slice(2 * K - 2, 2 * K + 1)):
                sl = list(edge)
                sl[axis] = side
                out[tuple(sl)] = z[tuple(sl)] * 1e6
        return out
    return z


def _midpoints(K, dim, real, period, count, rng):
    """Points at the middle between the Taylor grid's nodes (the largest offsets), one just off it, and x = 0."""
    axes, _ = certify_fft.taylor_plan(K, dim, real)
    x = np.empty((count, dim))
    for j, (_, _, _, _, n) in enumerate(axes):
        x[:, j] = (rng.integers(0, n, count) + 0.5) / n * period
    x[0] = np.nextafter(x[0], 0)
    x[-1] = 0.0
    return np.mod(x, period)


@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("real", [False, True])
@pytest.mark.parametrize("kind", ["random", "magnitudes", "edges"])
@pytest.mark.parametrize("dim, K, N", [(1, 2**17, 4), (1, 1000, 12), (2, 40, 10), (3, 6, 8)])
def test_taylor_values_are_within_their_bound(dim, K, N, kind, real, extended):
    rng = np.random.default_rng(dim * 1000 + K % 997)
    period = 2.5
    c = _coefficients(kind, (2 * K + 1,) * dim + (2,), rng)
    x = _midpoints(K, dim, real, period, N, rng)
    t, t_lo = exact_angles(x, period)
    values, error = certify_fft.taylor_values(c, t, t_lo, real=real, extended=extended)
    exact, exact_error = certify.certified_values(c, t, t_lo, extended=True, real=real, fast=False)
    rho = np.sum(np.abs(c.reshape(-1, 2)), axis=0)
    assert values.shape == (N, 2) and error.shape == (2,)
    assert np.all(np.abs(values - exact).astype(float) <= error + exact_error)
    # and not absurdly loose at these sizes (in 3-d the grid of 16 per axis leaves sum_j W_j |delta_j| up to 3.5,
    # whose e^z multiplies the rounding); in extended precision as tight as the direct sums' ~1e-17 (x86)
    loose = 1e-12 if dim < 3 else 1e-11
    if extended and np.finfo(np.longdouble).eps < 2.0**-60:
        assert values.dtype == (np.longdouble if real else np.clongdouble)
        loose = 1e-16 if dim < 3 else 1e-15
    assert np.all(error <= loose * rho)


def test_taylor_values_against_mpmath():
    rng = np.random.default_rng(5)
    K, period = 60, 0.7
    c = _coefficients("magnitudes", (2 * K + 1, 1), rng)
    x = np.concatenate([_midpoints(K, 1, True, period, 4, rng), rng.random((4, 1)) * period])
    t, t_lo = exact_angles(x, period)
    for real in (True, False):
        values, error = certify_fft.taylor_values(c, t, t_lo, real=real)
        truth = mp_values(c, x, period)
        imag = mp_values(-1j * c, x, period)
        with mpmath.workdps(40):
            for i in range(len(x)):
                want = truth[i][0] if real else mpmath.mpc(truth[i][0], imag[i][0])
                got = mpmath.mpf(float(values[i, 0])) if real else mpmath.mpc(complex(values[i, 0]))
                assert float(abs(got - want)) <= error[0]


def test_taylor_values_of_one_column_and_of_a_trigonometric_polynomial():
    # h = cos(3t) + 2i sin(5t): shapes without a column axis, exact values known
    K = 7
    c = np.zeros(2 * K + 1, dtype=complex)
    c[K + 3] = c[K - 3] = 0.5
    c[K + 5], c[K - 5] = 1.0, -1.0
    t = np.linspace(-1.0, 7.0, 9)[:, None]        # angles outside [0, 2 pi) too
    values, error = certify_fft.taylor_values(c, t)
    assert values.shape == (9,) and np.shape(error) == ()
    assert np.all(np.abs(values - (np.cos(3 * t[:, 0]) + 2j * np.sin(5 * t[:, 0]))) <= error + 4e-16)


def test_angles_too_large_for_the_grid_fall_back_to_the_direct_sums():
    c = np.random.default_rng(2).standard_normal((2 * 300 + 1, 1)) + 0j
    t = np.array([[1e12], [3.0]])
    assert certify_fft.taylor_values(c, t) == (None, None)
    values, error = certify.certified_values(c, t, fast=True)
    exact, exact_error = certify.certified_values(c, t, extended=True, fast=False)
    assert np.all(np.abs(values - exact).astype(float) <= error + exact_error)


@pytest.mark.parametrize("real", [False, True])
def test_certified_values_through_either_route_keep_their_promise(real):
    rng = np.random.default_rng(9)
    K = 3000
    c = _coefficients("magnitudes", (2 * K + 1, 3), rng)
    x = _midpoints(K, 1, real, 1.0, 6, rng)
    t, t_lo = exact_angles(x, 1.0)
    exact, exact_error = certify.certified_values(c, t, t_lo, extended=True, real=real, fast=False)
    for fast in (None, True, False):
        values, error = certify.certified_values(c, t, t_lo, extended=False, real=real, fast=fast)
        assert np.all(np.abs(values - exact).astype(float) <= error + exact_error)


def test_the_plan_covers_the_box_without_aliasing():
    for K, dim, real in [(0, 1, False), (1, 1, True), (2**17, 1, True), (256, 2, True), (24, 3, False)]:
        axes, R = certify_fft.taylor_plan(K, dim, real)
        for lo, hi, k0, W, n in axes:
            assert lo <= k0 <= hi and W == max(hi - k0, k0 - lo)
            assert hi - lo + 1 <= n and 2 * W < n and n & (n - 1) == 0
        z = sum(W * np.pi / n for _, _, _, W, n in axes)
        # the remainder at the largest offsets is within its allowance
        assert float(z) ** R / float(mpmath.factorial(R)) <= certify_fft.TRUNCATION_UNITS * U


def test_the_residual_certified_through_the_fast_path_brackets_the_exact_one(monkeypatch):
    # a residual at 3000 points and K = 2^14, its values by the Taylor NUFFT: its interval overlaps the
    # extended-precision one (bound ~1e-17 sum |c_k|), so both hold the true residual
    monkeypatch.setattr(certify, "fast_path", lambda *args, **kwargs: 1)
    rng = np.random.default_rng(4)
    K, N = 2**14, 3000
    x = rng.random((N, 1))
    y = np.sin(2 * np.pi * x[:, :1]) + 0.01 * rng.standard_normal((N, 1))
    t, t_lo = exact_angles(x, 1.0)
    problem = Problem(t, y, K, Sobolev(s=1.0).box(K), t_lo=t_lo)
    coef = (rng.standard_normal((2 * K + 1, 1)) + 1j * rng.standard_normal((2 * K + 1, 1))) / (1.0 + np.abs(
        np.arange(-K, K + 1)))[:, None] ** 2
    upper, kind, lower = certify.certified_residual(coef, problem, extended=False)
    exact_upper, exact_kind, exact_lower = certify.certified_residual(coef, problem, extended=True)
    assert exact_kind == "exact"
    assert lower <= exact_upper and exact_lower <= upper
    assert kind == "exact" and upper <= (1 + certify.EXACT_SHARE) * exact_lower


def test_no_points():
    values, error = certify_fft.taylor_values(np.ones((9, 2), dtype=complex), np.zeros((0, 1)), real=True)
    assert values.shape == (0, 2) and error.shape == (2,) and np.all(error >= 0)


@pytest.mark.parametrize("real", [False, True])
@pytest.mark.parametrize("dim, K", [(2, 20), (3, 5)])
def test_taylor_values_at_many_points_in_any_order(dim, K, real):
    # the points are summed in the order of their grid places and handed back in theirs: many points, shared and
    # repeated places, against the extended-precision direct sums, column by column
    rng = np.random.default_rng(11 + dim)
    period = 1.3
    c = _coefficients("magnitudes", (2 * K + 1,) * dim + (3,), rng)
    x = np.concatenate([rng.random((300, dim)) * period, _midpoints(K, dim, real, period, 40, rng)])
    x = np.concatenate([x, x[::7]])[rng.permutation(len(x) + len(x[::7]))]
    t, t_lo = exact_angles(x, period)
    values, error = certify_fft.taylor_values(c, t, t_lo, real=real)
    exact, exact_error = certify.certified_values(c, t, t_lo, extended=True, real=real, fast=False)
    assert values.shape == (len(x), 3)
    assert np.all(np.abs(values - exact).astype(float) <= error + exact_error)
    # one column alone gives that column's values
    alone, _ = certify_fft.taylor_values(c[..., 1], t, t_lo, real=real)
    assert np.all(np.abs(alone - exact[:, 1]).astype(float) <= error[1] + exact_error[1])


@pytest.mark.parametrize("dim, K, extended", [(1, 300, False), (1, 300, True), (2, 24, False), (3, 6, False)])
def test_taylor_values_are_the_same_bit_for_bit_on_one_core_and_two(monkeypatch, dim, K, extended):
    # on two cores the batches of 1-d transforms (d >= 2), or the runs of degrees (1-d), are split between threads:
    # each transform is the same network and the runs' sums are added in the same order, so the values (and the
    # proven bound, which models that network) are unchanged
    from fpnorm._internal import threads
    rng = np.random.default_rng(8)
    coef = rng.standard_normal((2 * K + 1,) * dim + (2,)) + 1j * rng.standard_normal((2 * K + 1,) * dim + (2,))
    t = 2 * np.pi * rng.random((500, dim))
    out = []
    for cores in (1, 2):
        monkeypatch.setattr(certify_fft, "cores", lambda cores=cores: cores)
        monkeypatch.setattr(threads, "cores", lambda cores=cores: cores)
        out.append(certify_fft.taylor_values(coef, t, extended=extended))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
