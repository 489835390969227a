"""The residual at the user's points, certified (fpnorm.solvers.certify), against mpmath sums at those points.

The truth is ``max_n |h(x_n) - y_n| / max |y|`` with ``h = sum_k c_k e^{2 pi i k.x/P}`` summed in mpmath at 40 digits
at the float points themselves (the README's convention). A reported residual must never be below it; an "exact"
one must also be within 10% of it.
"""

import warnings

import mpmath
import numpy as np
import pytest
from conftest import mp_residual, mp_values

import fpnorm.solvers as solvers
from fpnorm import FPInterpolator, PowerLaw, Sobolev
from fpnorm.exceptions import AccuracyWarning
from fpnorm.lattice import EXP_ERROR_UNITS, axis_exponentials, exact_angles
from fpnorm.solvers import Problem, certify, solve
from fpnorm.solvers.problem import RESIDUAL_KINDS


def _check_promise(info, true):
    assert info.residual_kind in RESIDUAL_KINDS
    assert info.residual >= true
    if info.residual_kind == "exact":
        assert info.residual <= (1 + certify.EXACT_SHARE) * true


def _close_pair():
    # the case: 8 points, two of them 1e-9 apart carrying values 2 apart (sum |c_k| ~ 8e7 max |y|)
    x = np.array([0.05, 0.17, 0.31, 0.42, 0.42 + 1e-9, 0.6, 0.74, 0.9])
    y = np.array([0.3, -0.2, 0.5, 1.0, -1.0, 0.1, 0.7, -0.4])
    return x, y


def _noisy(N, K, seed=3):
    # uniform random points (pairs far closer than 1/K) with noisy data: large, cancelling coefficients
    rng = np.random.default_rng(seed)
    x = rng.random(N)
    return x, np.sin(2 * np.pi * x) + 0.1 * rng.standard_normal(N), K


# -- the exact angles and exponentials --------------------------------------------------------------------------------
@pytest.mark.parametrize("period", [1.0, 0.7, 3.3, 2.0**-30 * 3, 1e6])
def test_exact_angles_are_the_points_angles_to_double_double_accuracy(period):
    x = np.mod(np.random.default_rng(0).random(200) * period, period)
    x[:3] = [0.0, np.nextafter(period, 0), period / 2]
    t, t_lo = exact_angles(x, period)
    with mpmath.workdps(50):
        worst = max(abs(mpmath.mpf(float(a)) + mpmath.mpf(float(b)) - 2 * mpmath.pi * mpmath.mpf(float(xi)) /
                        mpmath.mpf(period)) for a, b, xi in zip(t, t_lo, x, strict=True))
    assert worst <= 1e-30
    assert np.all(np.abs(t_lo) <= np.spacing(np.maximum(t, 1e-300)))


@pytest.mark.parametrize("extended", [True, False])
@pytest.mark.parametrize("K", [300, 1 << 17])     # small phases ~1e-9 and ~1e-5 (their cos and sin by Taylor)
def test_axis_exponentials_are_within_their_stated_error(extended, K):
    x = np.random.default_rng(1).random(20)
    t, t_lo = exact_angles(x, 1.0)
    shift, high, low = axis_exponentials(t, K, t_lo=t_lo, extended=extended)
    u = float(np.finfo(np.longdouble if extended else float).eps) / 2
    B = low.shape[1]
    with mpmath.workdps(40):
        worst = 0.0
        for i in range(0, 20, 3):
            theta = 2 * mpmath.pi * mpmath.mpf(float(x[i]))
            for _name, arr, mult in (("low", low, np.arange(B)), ("high", high, B * np.arange(high.shape[1])),
                                    ("shift", shift[:, None], np.array([-K]))):
                for j, m in enumerate(mult):
                    got = mpmath.mpc(mpmath.mpf(str(arr[i, j].real)), mpmath.mpf(str(arr[i, j].imag)))
                    worst = max(worst, float(abs(got - mpmath.expj(int(m) * theta))))
    assert worst <= EXP_ERROR_UNITS * u


@pytest.mark.parametrize("extended", [True, False])
@pytest.mark.parametrize("dim, K, N", [(1, 64, 12), (1, 200, 6), (2, 6, 10), (3, 2, 8)])
def test_certified_values_are_within_their_bound(extended, dim, K, N):
    # coefficients spanning 8 orders of magnitude with random signs: sums that cancel
    rng = np.random.default_rng(dim * 100 + K)
    n = 2 * K + 1
    shape = (n,) * dim + (2,)
    c = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * 10.0 ** rng.integers(0, 8, shape)
    x = rng.random((N, dim)) * 2.5
    t, t_lo = exact_angles(x, 2.5)
    values, error = certify.certified_values(c, t, t_lo, extended=extended)
    truth = [mp_values(c, x[i:i + 1], 2.5)[0] for i in range(N)]                  # real parts
    imag = [mp_values(-1j * c, x[i:i + 1], 2.5)[0] for i in range(N)]             # Re(-i h) = Im h
    with mpmath.workdps(40):
        for i in range(N):
            for j in range(2):
                got = mpmath.mpc(mpmath.mpf(str(values[i, j].real)), mpmath.mpf(str(values[i, j].imag)))
                assert float(abs(got - mpmath.mpc(truth[i][j], imag[i][j]))) <= error[j]
    # the real part alone, by the folded half box (any coefficients: these are not Hermitian)
    real, real_error = certify.certified_values(c, t, t_lo, extended=extended, real=True)
    with mpmath.workdps(40):
        for i in range(N):
            for j in range(2):
                assert float(abs(mpmath.mpf(str(real[i, j])) - truth[i][j])) <= real_error[j]
    # and the bound is a bound, not a guess: the extended one is below 1e-16 of sum |c_k|
    rho = np.sum(np.abs(c.reshape(-1, 2)), axis=0)
    assert np.all(error <= (1e-16 if extended else 1e-12) * rho)


@pytest.mark.parametrize("real", [False, True])
@pytest.mark.parametrize("dim, K", [(2, 12), (3, 4)])
def test_certified_values_in_chunks_of_points_are_within_their_bound(monkeypatch, dim, K, real):
    # the sums over the points in several chunks (a few kilobytes each), the first axis padded (K + 1 = 13 and 5
    # modes against B Q = 16 and 6 with real), columns of different scales: each value within its bound of mpmath's
    monkeypatch.setattr(certify, "_CHUNK_BYTES", 4096)
    rng = np.random.default_rng(dim + 40)
    shape = (2 * K + 1,) * dim + (2,)
    c = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * 10.0 ** rng.integers(0, 6, shape)
    c[..., 1] *= 1e-3
    N = 30
    x = rng.random((N, dim)) * 0.9
    t, t_lo = exact_angles(x, 0.9)
    values, error = certify.certified_values(c, t, t_lo, extended=False, real=real, fast=False)
    truth = mp_values(c, x, 0.9)
    imag = mp_values(-1j * c, x, 0.9)
    with mpmath.workdps(40):
        for i in range(N):
            for j in range(2):
                want = truth[i][j] if real else mpmath.mpc(truth[i][j], imag[i][j])
                got = mpmath.mpf(float(values[i, j])) if real else mpmath.mpc(complex(values[i, j]))
                assert float(abs(got - want)) <= error[j]


# -- the cases and constructed ones -------------------------------------------------------------------------
def test_close_pair_reports_at_least_the_true_residual_and_its_sensitivity():
    x, y = _close_pair()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        s = FPInterpolator(x, y, weight=PowerLaw(p=4), K=64)
    true = mp_residual(s.coef, s.points, s.values)
    _check_promise(s.info, true)
    assert s.info.residual <= 1.5 * true              # the bar is narrow: extended-precision sums
    # evaluation at the data points agrees with the reported residual
    shown = np.max(np.abs(s(x) - y)) / np.max(np.abs(y))
    assert abs(shown - true) <= 0.1 * true
    # sum_k |c_k| |k| (2 pi / P) eps max|x| / max|y|, summed exactly
    ks = np.abs(np.arange(-64, 65))
    expect = mpmath.fsum(mpmath.mpf(float(a)) * int(k) for a, k in zip(np.abs(s.coef), ks, strict=True))
    expect = float(expect) * 2 * np.pi * np.finfo(float).eps * float(np.max(x)) / np.max(np.abs(y))
    assert s.info.sensitivity == pytest.approx(expect, rel=1e-12)
    # it bounds what moving a point by eps |x| does to h (mpmath), and here it exceeds rtol: a warning with numbers
    moved = np.array([xi * (1 + np.finfo(float).eps) for xi in s.points[:, 0]])
    change = max(abs(a[0] - b[0]) for a, b in zip(mp_values(s.coef, moved), mp_values(s.coef, s.points), strict=True))
    assert float(change) / np.max(np.abs(y)) <= s.info.sensitivity
    warned = [str(w.message) for w in record if issubclass(w.category, AccuracyWarning)]
    assert any(f"move the interpolant at them by {s.info.sensitivity:.2e} relative" in w and "rtol = 1e-10" in w
               for w in warned)


def test_ordinary_problems_have_tiny_sensitivity_and_no_warning():
    x = np.linspace(0, 1, 40, endpoint=False) + 0.003
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = FPInterpolator(x, np.sin(2 * np.pi * x), weight=Sobolev(s=2.0), K=64)
    assert s.info.sensitivity < 1e-12 and s.info.residual <= 1e-10
    _check_promise(s.info, mp_residual(s.coef, s.points, s.values))


@pytest.mark.parametrize("method", ["qr", "cholesky", "iterative"])
def test_every_solve_path_reports_at_least_the_true_residual(method):
    x, y, K = _noisy(150, 256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = FPInterpolator(x, y, weight=Sobolev(s=1.0), K=K, method=method, rtol=1e-9)
    _check_promise(s.info, mp_residual(s.coef, s.points, s.values))


@pytest.mark.parametrize("period", [1.0, 0.3])
def test_the_double_precision_bound_holds_too(monkeypatch, period):
    # beyond EXACT_WORK terms (after a solve other than QR) the sums run in double precision through BLAS: a
    # "bound", still never below the truth
    monkeypatch.setattr(certify, "EXACT_WORK", 0)
    x, y, K = _noisy(120, 300, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = FPInterpolator(x * period, y, weight=Sobolev(s=1.0), K=K, period=period, method="iterative", rtol=1e-8)
    true = mp_residual(s.coef, s.points, s.values, period)
    _check_promise(s.info, true)
    # and on a QR solution, whose residual is far smaller, the double-precision bar is what it reports
    q = FPInterpolator(x * period, y, weight=Sobolev(s=1.0), K=K, period=period, method="qr")
    t, t_lo = exact_angles(q.points, period)
    problem = Problem(t, q.values[:, None], K, Sobolev(s=1.0).box(K), t_lo=t_lo)
    residual, kind, lower = certify.certified_residual(q.coef[:, None], problem, extended=False)
    assert kind == "bound" and lower <= mp_residual(q.coef, q.points, q.values, period) <= residual


def test_a_residual_forced_wrong_is_seen():
    # a perturbed solution: the certified residual is the one mpmath measures (the perturbation is far above the bar)
    x, y, K = _noisy(60, 64)
    s = FPInterpolator(x, y, weight=Sobolev(s=2.0), K=K)
    t, t_lo = exact_angles(s.points, 1.0)
    problem = Problem(t, s.values[:, None], K, Sobolev(s=2.0).box(K), t_lo=t_lo)
    bad = s.coef[:, None] * (1 + 1e-6)
    residual, kind, lower = certify.certified_residual(bad, problem)
    true = mp_residual(bad, s.points, s.values)
    assert kind == "exact" and lower <= true <= residual <= 1.1 * true


def test_solve_accepts_problems_posed_in_angles():
    # a Problem without t_lo: its points are the float angles t themselves
    t = 2 * np.pi * np.array([[0.1], [0.35], [0.6], [0.61]])
    problem = Problem(t, np.array([[1.0], [0.0], [0.5], [-0.5]]), 32, PowerLaw(p=4).box(32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = solve(problem)
    with mpmath.workdps(40):
        h = [mpmath.re(mpmath.fsum(mpmath.mpc(complex(c)) * mpmath.expj(k * mpmath.mpf(float(ti)))
                                   for k, c in zip(range(-32, 33), sol.coef[:, 0], strict=True))) for ti in t[:, 0]]
    true = max(abs(float(a - b)) for a, b in zip(h, problem.rhs[:, 0], strict=True))
    _check_promise(sol.info, true)


# -- K = infinity ----------------------------------------------------------------------------------------------------
_BERNOULLI = {4: ([1, -2, 1, 0, mpmath.mpf(-1) / 30], -24), 6: ([1, -3, mpmath.mpf(5) / 2, 0, mpmath.mpf(-1) / 2, 0,
                                                                 mpmath.mpf(1) / 42], 720)}


def _mp_bernoulli_kernel(p):
    """The K = infinity PowerLaw(p) kernel (free constant) as an mpmath function of the offset in periods."""
    coeffs, div = _BERNOULLI[p]

    def kappa(w):
        w = w - mpmath.floor(w)
        out = mpmath.mpf(0)
        for c in coeffs:
            out = out * w + c
        return out / div

    return kappa


def _mp_limit_residual(z, x, y, p, period):
    """The exact K = infinity minimiser for PowerLaw(p) (free constant) with nodes `z` (the floats the solver saw),
    solved in mpmath (40 digits) from the Bernoulli kernel, and its residual at the exact points x / P."""
    kappa = _mp_bernoulli_kernel(p)
    with mpmath.workdps(40):
        N = len(z)
        zs = [mpmath.mpf(float(v)) for v in z]
        A = mpmath.matrix(N + 1, N + 1)
        for i in range(N):
            for j in range(N):
                A[i, j] = kappa(zs[i] - zs[j])
            A[i, N] = A[N, i] = 1
        sol = mpmath.lu_solve(A, mpmath.matrix([mpmath.mpf(float(v)) for v in y] + [0]))
        worst = 0
        for i in range(N):
            w = mpmath.mpf(float(x[i])) / mpmath.mpf(period)
            h = mpmath.fsum(sol[j] * kappa(w - zs[j]) for j in range(N)) + sol[N]
            worst = max(worst, abs(h - mpmath.mpf(float(y[i]))))
        return float(worst) / float(np.max(np.abs(y)))


def _mp_kernel_residual(piece, x, y, p, period):
    """The residual of a stored kernel expansion (its own alpha, c, nodes) at the exact points, in mpmath."""
    kappa = _mp_bernoulli_kernel(p)
    with mpmath.workdps(40):
        worst = 0
        for i in range(len(x)):
            w = mpmath.mpf(float(x[i])) / mpmath.mpf(period)
            h = mpmath.fsum(mpmath.mpf(float(piece.alpha[j, 0])) * kappa(w - mpmath.mpf(float(piece.z[j])))
                            for j in range(len(piece.z))) + mpmath.mpf(float(piece.c[0]))
            worst = max(worst, abs(h - mpmath.mpf(float(y[i]))))
        return float(worst) / float(np.max(np.abs(y)))


@pytest.mark.parametrize("period", [1.0, 0.7, 3.1])
def test_limit_residual_is_certified_at_the_points(period):
    # K = None: the nodes are fl(x / P); at the points themselves the interpolant misses by h' (x / P - fl(x / P)),
    # which the close pair's huge slopes make visible for a period that is not a power of two
    x, y = _close_pair()
    x = x * period
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = FPInterpolator(x, y, weight=PowerLaw(p=4), K=None, period=period)
    assert s.info.method == "periodic1d"
    true = _mp_limit_residual(s.points[:, 0] / period, s.points[:, 0], s.values, 4, period)
    # the stored solution differs from the exact minimiser by the solve's accuracy (relative 1e-6 of the slopes)
    assert s.info.residual >= true * (1 - 1e-6)
    if s.info.residual_kind == "exact":
        assert s.info.residual <= (1 + certify.EXACT_SHARE) * true * (1 + 1e-6)
    shown = np.max(np.abs(s(x) - y)) / np.max(np.abs(y))     # evaluation at the points themselves agrees
    assert abs(shown - true) <= 0.1 * true + 1e-15
    if period == 1.0:
        assert true < 1e-20 and s.info.residual <= 1e-15
    else:
        assert true > 1e-9 and s.info.residual_kind == "exact"


@pytest.mark.parametrize("period", [1.0, 0.7])
@pytest.mark.parametrize("close", [False, True])
def test_kernel_expansion_residual_bounds_the_true_one(period, close):
    # PowerLaw(6) goes through the dense closed-form kernel; with the close pair its system has cond ~ 1e21 and the
    # stored expansion misses the data by O(1): the bound must say at least that, and warn
    x, y = _close_pair()
    if not close:
        x, y = np.delete(x, 4), np.delete(y, 4)
    x = x * period
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        s = FPInterpolator(x, y, weight=PowerLaw(p=6), K=None, period=period)
    assert s.info.method == "exact_kernel"
    # the expansion was solved for the data scaled by 2^-limit_exponent (exact; the relative residual is the same)
    true = _mp_kernel_residual(s._limit.evaluate, s.points[:, 0], np.ldexp(s.values, -s._limit_exponent), 6, period)
    assert s.info.residual >= true
    warned = [str(w.message) for w in record if issubclass(w.category, AccuracyWarning)]
    said = any(f"Interpolation residual {s.info.residual:.2e} ({s.info.residual_kind})" in w for w in warned)
    assert said == (s.info.residual > 1e-10)
    if close:
        assert true > 0.1
    else:  # cond ~ 1.5e7: the bound (a floating-point sum of cancelling terms) is loose, but not vacuous
        assert true < 1e-12 and s.info.residual <= 1e-8


def test_complex_data_residual_covers_the_modulus_of_the_joined_interpolant():
    # a pair 1e-9 apart with values 1 and 1j: sum |c_k| ~ 1e8, so joining the real and imaginary solutions into
    # complex coefficients rounds h by more than the per-part certificate; the report must still cover |h(x) - y|
    rng = np.random.default_rng(8)
    x = np.sort(rng.random(8))
    x[4] = x[3] + 1e-9
    y = rng.standard_normal(8) * np.exp(2j * np.pi * rng.random(8))
    y[3], y[4] = 1.0, 1j
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = FPInterpolator(x, y, weight=PowerLaw(p=4), K=64)
    K = 64
    with mpmath.workdps(50):
        worst = 0
        for xv, yv in zip(x, y, strict=True):
            theta = 2 * mpmath.pi * mpmath.mpf(float(xv))
            h = mpmath.fsum(mpmath.mpc(complex(s.coef[k + K])) * mpmath.expj(k * theta) for k in range(-K, K + 1))
            worst = max(worst, abs(h - mpmath.mpc(complex(yv))))
    truth = float(worst) / np.max(np.abs(y))
    assert s.info.residual_kind == "bound" and truth <= s.info.residual <= 10 * truth


def test_k_none_sensitivity_sees_a_close_pair():
    # the dense closed-form K = None expansion: |h'| measured inside the closest gap (1e-9), not over 1e-6
    x, y = [0.1, 0.3, 0.3 + 1e-9, 0.55, 0.7, 0.9], [0.2, 1.0, 1.001, -0.5, 0.1, 0.4]
    with pytest.warns(AccuracyWarning, match=r"Rounding the points themselves"), \
            pytest.warns(AccuracyWarning, match=r"Interpolation residual"):   # also: the dense solve's loose bound
        s = FPInterpolator(x, y, weight=Sobolev(s=1), K=None)
    slope = 0.001 / 1e-9            # the data's own slope between the pair, which h must follow
    assert s.info.sensitivity >= 0.5 * slope * np.finfo(float).eps * 0.9


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= 2.0**-60, reason="no extended precision on this platform")
def test_a_long_solve_buys_the_extended_certificate(monkeypatch):
    # extended-precision sums are out of the fixed budget here (EXACT_WORK and EXACT_SECONDS at 0), but within a
    # share of a solve that took long (the share raised so that a fast one counts): the residual is then certified
    # as "exact", within 1.5x of mpmath's; with no share it stays the double-precision bound, still above the truth
    monkeypatch.setattr(certify, "EXACT_WORK", 0)
    monkeypatch.setattr(certify, "EXACT_SECONDS", 0.0)
    x, y, K = _noisy(120, 300, seed=5)
    found = {}
    for share in (0.0, 1e12):
        monkeypatch.setattr(solvers, "_CERTIFY_SHARE", share)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = FPInterpolator(x, y, weight=Sobolev(s=1.0), K=K, method="iterative", rtol=1e-14)
        true = mp_residual(s.coef, s.points, s.values)
        _check_promise(s.info, true)
        found[share] = (s.info.residual_kind, s.info.residual / true)
    assert found[1e12][0] == "exact" and found[1e12][1] <= 1.5
    assert found[0.0][0] == "bound"
