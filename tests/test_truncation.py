"""The truncation error ``info.truncation_error``: an estimate of ``max_x |h_K(x) - h_inf(x)|``.

References: the exact K = infinity interpolants of the 1-d closed forms (``FPInterpolator(K=None)``: Bernoulli and
hyperbolic kernels), ``max |h_K - h_8K|`` in 2-d and 3-d, the K = infinity smoothing fit built from the closed-form
kernel by a dense solve, Hurwitz zeta values and brute-force lattice sums for the tail sums, the conftest's
independent KKT solve for the dual variables.
"""

import math
import warnings

import numpy as np
import pytest
from conftest import brute_force_solve
from scipy.interpolate import CubicSpline
from scipy.special import zeta

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev, Weight
from fpnorm.exceptions import TruncationWarning
from fpnorm.kernels import bernoulli_kernel, closed_form_kernel
from fpnorm.lattice import torus_grid
from fpnorm.solvers import Problem, solve
from fpnorm.solvers.smoothing import solve_smoothing
from fpnorm.solvers.tail import far_tail_matrix, kernel_tail_bound, tail_moments
from fpnorm.solvers.truncation import truncation_error

# The estimate against the exact distance: measured within [0.76, 1.34] over 409 1-d cases (7 weights, random,
# clustered, paired and jittered points, N up to (2K+1)/2, noisy data), within [0.91, 1.11] of max |h_K - h_8K| in
# 2-d and 3-d. Asserted with room for other CPUs and BLAS kernels.
FACTOR = 1.5


def _fine_grid(x, K):
    """A fine grid of the circle plus offsets up to 3/(8K) around every point (where |h_K - h_inf| peaks)."""
    grid = (np.arange(1 << 14) + 0.5) / (1 << 14)
    near = (x[:, None] + np.linspace(-3, 3, 31)[None, :] / (8 * K)).ravel() % 1.0
    return np.concatenate([grid, near])


def _point_sets(N, K, seed):
    rng = np.random.default_rng(seed)
    yield "random", np.sort(rng.random(N))
    yield "jittered", (np.arange(N) + 0.3 * rng.random(N)) / N
    yield "clustered", np.sort(np.mod(rng.choice(6, N) / 6 + 0.02 * rng.standard_normal(N), 1.0))
    yield "pair 1e-3 apart", np.sort(np.r_[rng.random(N - 2), 0.5, 0.5 + 1e-3])
    yield "N = (2K+1)/2", np.sort(rng.random(K))


@pytest.mark.parametrize("weight", [PowerLaw(p=2), PowerLaw(p=4), PowerLaw(p=4, zero=1.0), LFP(1.0, 1.0),
                                    LFP(1.0, 0.01), Sobolev(s=1), Sobolev(s=2), PowerLaw(p=6)],
                         ids=lambda w: repr(w))
@pytest.mark.parametrize("K", [16, 64])
def test_estimate_is_within_a_factor_of_the_exact_distance_in_1d(weight, K):
    checked = 0
    for seed in (1, 2):
        for kind, x in _point_sets(K // 2 + 4, K, seed):
            y = np.sin(2 * np.pi * x) + 0.3 * np.random.default_rng(seed).standard_normal(x.size)  # noisy data
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = FPInterpolator(x, y, weight=weight, K=K)
                limit = FPInterpolator(x, y, weight=weight, K=None)
            q = _fine_grid(x, K)
            exact = np.max(np.abs(s(q) - limit(q)))
            # the reference must be exact, and the estimate rests on the dual variables: cases whose K = None solve
            # misses the data by 1% of the distance (the dense K = None solve of Sobolev s = 2 and p = 6 on
            # clustered points), or whose kernel matrix has a condition near 1/eps, are not references
            if limit.info.residual * np.max(np.abs(y)) > 0.01 * exact or not s.info.condition < 1e14:
                continue
            assert exact / FACTOR <= s.info.truncation_error <= FACTOR * exact, (kind, seed, exact)
            checked += 1
    # p = 6 at K = 64: the distance (~K^-5) is below what the dense closed-form K = None solve can certify for most
    # point sets (its residual is a proven but loose bound), so fewer references remain
    assert checked >= (2 if weight == PowerLaw(p=6) and K == 64 else 4)


def _spline_limit(x, y, p):
    """The K = infinity interpolant of PowerLaw p = 2 / 4 (constant free) by numpy / scipy alone: the periodic
    piecewise-linear interpolant and the periodic cubic spline."""
    if p == 2:
        return lambda q: np.interp(q, x, y, period=1.0)
    spline = CubicSpline(np.r_[x, x[0] + 1.0], np.r_[y, y[0]], bc_type="periodic")
    return lambda q: spline(np.mod(q - x[0], 1.0) + x[0])


# The 1-d spline weights are measured on a grid of 12 points to a period of e^{i K x}: at least cos(pi / 12) = 0.966
# of the maximum of an oscillation at frequency K
MEASURED = 0.95


@pytest.mark.parametrize("p", [2, 4])
@pytest.mark.parametrize("method", ["cholesky", "iterative"])
@pytest.mark.parametrize("K", [16, 200])
def test_spline_weights_are_measured_against_the_exact_limit_in_1d(p, method, K):
    for seed in (1, 2):
        for kind, x in _point_sets(K // 2 + 4, K, seed):
            if kind == "N = (2K+1)/2" and method == "iterative":
                continue
            y = np.sin(2 * np.pi * x) + 0.3 * np.random.default_rng(seed).standard_normal(x.size)  # noisy data
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = FPInterpolator(x, y, weight=PowerLaw(p=p), K=K, method=method)
            q = _fine_grid(x, K)
            exact = np.max(np.abs(s(q) - _spline_limit(x, y, p)(q)))
            assert MEASURED * exact <= s.info.truncation_error <= exact / MEASURED, (kind, seed, exact)


def test_complex_data_are_measured_against_the_exact_limit():
    rng = np.random.default_rng(7)
    x = np.sort(rng.random(30))
    y = rng.standard_normal(30) + 1j * np.cos(2 * np.pi * x)
    s = FPInterpolator(x, y, weight=PowerLaw(p=2), K=24)
    q = _fine_grid(x, 24)
    limit = _spline_limit(x, y.real, 2)(q) + 1j * _spline_limit(x, y.imag, 2)(q)
    exact = np.max(np.abs(s(q) - limit))
    assert MEASURED * exact <= s.info.truncation_error <= exact / MEASURED


@pytest.mark.parametrize("weight", [LFP(1.0, 1.0), LFP(1.0, 0.01, zero=2.0), PowerLaw(p=4, zero=1.0), Sobolev(s=1)],
                         ids=repr)
def test_lfp_sobolev_one_and_a_finite_zero_are_measured_against_the_dense_closed_form_limit(weight):
    # the reference is the dense closed-form kernel solve, not the banded one the measurement uses
    rng = np.random.default_rng(8)
    x = np.sort(rng.random(60))
    y = np.sin(2 * np.pi * x) + 0.3 * rng.standard_normal(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = FPInterpolator(x, y, weight=weight, K=64)
        limit = FPInterpolator(x, y, weight=weight, K=None, method="exact_kernel")
    q = _fine_grid(x, 64)
    exact = np.max(np.abs(s(q) - limit(q)))
    assert limit.info.residual * np.max(np.abs(y)) < 1e-3 * exact
    assert MEASURED * exact <= s.info.truncation_error <= exact / MEASURED


def test_estimate_follows_the_1_over_K_convergence_of_lfp_in_2d():
    # The case: 60 random points in 2-d, LFP(1, 1), which converges only like 1/K. The reference is
    # max |h_K - h_8K| on a 192^2 grid plus offsets around the points (h_8K is itself off by about 1/8 of it).
    rng = np.random.default_rng(7)
    x = rng.random((60, 2))
    y = np.sin(2 * np.pi * x[:, 0] + 0.3) * np.sin(2 * np.pi * x[:, 1] + 0.3)
    weight = LFP(1.0, 1.0, dim=2)
    estimates = []
    for K in (8, 16):
        q = np.concatenate([torus_grid(192, 2, 1.0, midpoints=True),
                            (x[:, None, :] + rng.uniform(-2, 2, (60, 20, 2)) / K).reshape(-1, 2) % 1.0])
        s = FPInterpolator(x, y, weight=weight, K=K)
        reference = np.max(np.abs(s(q) - FPInterpolator(x, y, weight=weight, K=8 * K)(q)))
        assert reference / FACTOR <= s.info.truncation_error <= FACTOR * reference
        estimates.append(s.info.truncation_error)
    assert 1.6 < estimates[0] / estimates[1] < 2.5   # about 1/K


@pytest.mark.parametrize("weight, N, K", [(PowerLaw(p=3, dim=2), 60, 8), (Sobolev(s=2, dim=2), 100, 8),
                                          (LFP(1.0, 1.0, dim=3), 40, 4), (PowerLaw(p=5, dim=3), 40, 4)],
                         ids=lambda v: repr(v))
def test_estimate_matches_h_K_minus_h_8K_in_2d_and_3d(weight, N, K):
    rng = np.random.default_rng(11)
    d = weight.dim
    x = rng.random((N, d))
    y = np.prod(np.sin(2 * np.pi * x + 0.3), axis=1) + 0.3 * rng.standard_normal(N)
    side = 192 if d == 2 else 48
    q = np.concatenate([torus_grid(side, d, 1.0, midpoints=True),
                        (x[:, None, :] + rng.uniform(-2, 2, (N, 20, d)) / K).reshape(-1, d) % 1.0])
    s = FPInterpolator(x, y, weight=weight, K=K)
    reference = np.max(np.abs(s(q) - FPInterpolator(x, y, weight=weight, K=8 * K)(q)))
    assert reference / FACTOR <= s.info.truncation_error <= FACTOR * reference


def test_every_solve_path_reports_the_same_estimate():
    # Craig's method has no factorisation: its dual variables and preconditioner stand in, with more iterations
    rng = np.random.default_rng(5)
    x = (np.arange(300) + 0.3 * rng.random(300)) / 300
    y = np.sin(2 * np.pi * x) + 0.1 * rng.standard_normal(300)
    weight = LFP(1.0, 1.0)
    limit = FPInterpolator(x, y, weight=weight, K=None)
    q = _fine_grid(x, 512)
    for method in ("qr", "svd", "cholesky", "iterative"):
        s = FPInterpolator(x, y, weight=weight, K=512, method=method)
        exact = np.max(np.abs(s(q) - limit(q)))
        assert exact / FACTOR <= s.info.truncation_error <= FACTOR * exact, method


@pytest.mark.parametrize("weight, kind", [(LFP(1.0, 1.0), "random"), (Sobolev(s=2), "random"),
                                          (LFP(1.0, 0.01), "pair 1e-3 apart"), (Sobolev(s=2, dim=3), "random")],
                         ids=lambda v: repr(v) if not isinstance(v, str) else v)
def test_iterative_estimate_agrees_with_the_dense_one_and_the_exact_distance(weight, kind):
    # Craig's method leaves no factorisation and no condition estimate: the estimate factors its own kernel on the
    # solve's pattern, at the middle transform tolerance unless the transforms' error model asks for the tight one
    rng = np.random.default_rng(12)
    d = weight.dim
    if d == 1:
        N, K = 200, 256
        x = np.sort(rng.random(N)) if kind == "random" else np.sort(np.r_[rng.random(N - 2), 0.5, 0.5 + 1e-3])
        y = np.sin(2 * np.pi * x) + 0.5 * np.cos(6 * np.pi * x + 0.3)
    else:
        N, K = 600, 6
        x = rng.random((N, d))
        y = np.prod(np.sin(2 * np.pi * x + 0.3), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = FPInterpolator(x, y, weight=weight, K=K, method="cholesky")
        it = FPInterpolator(x, y, weight=weight, K=K, method="iterative")
    # each stops its conjugate gradients within a few percent of their converged value (measured, iterative against
    # dense: +0.0% for both LFP cases, +1.3% for Sobolev s = 2, +3.5% in 3-d)
    assert abs(it.info.truncation_error / dense.info.truncation_error - 1) < 0.12
    if d == 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            limit = FPInterpolator(x, y, weight=weight, K=None)
        q = _fine_grid(x, K)
        exact = np.max(np.abs(it(q) - limit(q)))
        assert limit.info.residual * np.max(np.abs(y)) < 0.01 * exact     # the reference is exact
        assert exact / FACTOR <= it.info.truncation_error <= FACTOR * exact


@pytest.mark.parametrize("weight, N, K", [(Sobolev(s=2), 700, 920), (Sobolev(s=2, dim=2), 600, 12),
                                          (LFP(1.0, 0.01, dim=2), 1000, 16), (Sobolev(s=2, dim=3), 500, 5)],
                         ids=lambda v: repr(v))
def test_iterative_estimate_matches_the_exact_limit_at_the_density_of_the_scale_rows(weight, N, K):
    # Craig's method leaves no factorisation: the estimate's conjugate gradients are preconditioned by a KL factor of
    # its own kernel (G_K plus the tail). 1-d at the Scale rows' 0.76 points per 1/K, 2-d and 3-d with N near
    # (2K+1)^d / 2 or above; the reference is the exact K = None interpolant. Measured 0.99 / 0.98 / 1.00 / 1.01
    # times it, where the solver's preconditioner as the dual read 0.82 / 0.98 / 0.89 / 0.97 times it.
    rng = np.random.default_rng(3)
    d = weight.dim
    x = np.sort(rng.random(N)) if d == 1 else rng.random((N, d))
    y = np.prod(np.sin(2 * np.pi * np.reshape(x, (N, d)) + 0.3), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = FPInterpolator(x, y, weight=weight, K=K, method="iterative")
        limit = FPInterpolator(x, y, weight=weight, K=None)
    if d == 1:
        q = _fine_grid(x, K)
    else:
        # the 3-d K = None interpolant costs about 1 ms a query point: a coarser grid, fewer offsets (where |e| peaks)
        side, offsets = (256, 20) if d == 2 else (16, 6)
        q = np.concatenate([torus_grid(side, d, 1.0, midpoints=True),
                            (x[:, None, :] + rng.uniform(-2, 2, (N, offsets, d)) / K).reshape(-1, d) % 1.0])
    exact = np.max(np.abs(s(q) - limit(q)))
    assert limit.info.residual * np.max(np.abs(y)) < 0.1 * exact      # the reference is exact to 10% of it
    assert exact / FACTOR <= s.info.truncation_error <= FACTOR * exact


def test_iterative_estimate_with_nearly_coincident_points_in_2d_meets_the_exact_limit():
    # five pairs 1e-5 and 1e-8 apart: the dual variables are huge and cancel, the model of the middle transforms'
    # error rejects them, and the tight transforms measure the middle result afresh and keep it (measured: 0.985 and
    # 0.978 times the exact distance)
    for separation in (1e-5, 1e-8):
        rng = np.random.default_rng(4)
        N, K = 600, 12
        x = rng.random((N, 2))
        x[-5:] = (x[:5] + separation * rng.standard_normal((5, 2))) % 1.0
        y = np.prod(np.sin(2 * np.pi * x + 0.3), axis=1)
        weight = Sobolev(s=2, dim=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = FPInterpolator(x, y, weight=weight, K=K, method="iterative")
            limit = FPInterpolator(x, y, weight=weight, K=None)
        q = np.concatenate([torus_grid(256, 2, 1.0, midpoints=True),
                            (x[:, None, :] + rng.uniform(-2, 2, (N, 20, 2)) / K).reshape(-1, 2) % 1.0])
        exact = np.max(np.abs(s(q) - limit(q)))
        assert limit.info.residual * np.max(np.abs(y)) < 0.1 * exact      # the reference is exact to 10% of it
        assert exact / FACTOR <= s.info.truncation_error <= FACTOR * exact


def test_smoothing_fit_is_compared_with_the_k_infinity_smoothing_fit():
    # K = infinity smoothing fit from the closed-form kernel: (G + mu I) lam + 1 c = y, sum lam = 0 (k = 0 free)
    rng = np.random.default_rng(3)
    x = np.sort(rng.random(25))
    y = np.sin(2 * np.pi * x) + 0.3 * rng.standard_normal(25)
    weight, mu, K = PowerLaw(p=2), 1e-3, 32
    kappa = closed_form_kernel(weight, penalised_only=True)
    G = kappa(np.mod(x[:, None] - x[None, :], 1.0))
    kkt = np.block([[G + mu * np.eye(25), np.ones((25, 1))], [np.ones((1, 25)), np.zeros((1, 1))]])
    sol = np.linalg.solve(kkt, np.r_[y, 0.0])
    q = _fine_grid(x, K)
    limit = kappa(np.mod(q[:, None] - x[None, :], 1.0)) @ sol[:25] + sol[25]
    s = FPInterpolator(x, y, weight=weight, K=K, smoothing=mu)
    exact = np.max(np.abs(s(q) - limit))
    assert exact > 1e-3 and exact / FACTOR <= s.info.truncation_error <= FACTOR * exact


def test_smoothing_fit_of_many_points_is_not_estimated():
    # N = 500 points, K = 16: the estimate was a quarter of the exact distance to the K = infinity smoothing fit,
    # so none is given rather than an under-estimate
    rng = np.random.default_rng(0)
    x = rng.random(500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = FPInterpolator(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=2), K=16, smoothing=1e-3)
    assert np.isnan(s.info.truncation_error)


def test_several_and_complex_right_hand_sides():
    rng = np.random.default_rng(4)
    x = np.sort(rng.random(20))
    y1, y2 = np.sin(2 * np.pi * x), np.abs(x - 0.5)
    weight, K = PowerLaw(p=2), 32
    each = [FPInterpolator(x, y, weight=weight, K=K).info.truncation_error for y in (y1, y2)]
    both = FPInterpolator(x, np.stack([y1, y2], axis=1), weight=weight, K=K).info.truncation_error
    assert both == pytest.approx(max(each), rel=1e-6)
    q = _fine_grid(x, K)
    s = FPInterpolator(x, y1 + 1j * y2, weight=weight, K=K)
    exact = np.max(np.abs(s(q) - FPInterpolator(x, y1 + 1j * y2, weight=weight, K=None)(q)))
    assert exact / FACTOR <= s.info.truncation_error <= FACTOR * exact


def test_estimate_is_invariant_under_the_period_and_linear_in_the_data():
    rng = np.random.default_rng(6)
    x = rng.random(15)
    y = rng.standard_normal(15)
    weight = LFP(1.0, 1.0)
    base = FPInterpolator(x, y, weight=weight, K=24).info.truncation_error
    assert FPInterpolator(2.5 * x, y, weight=weight, K=24, period=2.5).info.truncation_error == pytest.approx(
        base, rel=1e-6)
    assert FPInterpolator(x, 2.0**40 * y, weight=weight, K=24).info.truncation_error == pytest.approx(
        2.0**40 * base, rel=1e-6)
    assert FPInterpolator(x, np.zeros(15), weight=weight, K=24).info.truncation_error == 0.0


def test_a_weight_known_only_by_its_values_has_its_tail_fitted():
    rng = np.random.default_rng(8)
    x = np.sort(rng.random(12))
    y = np.cos(2 * np.pi * x) + 0.2 * rng.standard_normal(12)
    callable_weight = Weight.from_callable(lambda k: (2 * np.pi * np.abs(k[:, 0])) ** -4.0, dim=1)
    s = FPInterpolator(x, y, weight=callable_weight, K=32)
    q = _fine_grid(x, 32)
    exact = np.max(np.abs(s(q) - FPInterpolator(x, y, weight=PowerLaw(p=4), K=None)(q)))
    assert exact / FACTOR <= s.info.truncation_error <= FACTOR * exact


def test_a_gaussian_weight_known_only_by_its_values():
    # exp(-|k|^2 / 50): the tail decays faster than any power; reference max |h_K - h_8K| on a grid
    rng = np.random.default_rng(0)
    x = rng.random((10, 2))
    weight = Weight.from_callable(lambda k: np.exp(-np.sum(k**2, axis=-1) / 50.0), dim=2, zero=1.0)
    q = torus_grid(200, 2, 1.0)
    for K in (8, 16):
        s = FPInterpolator(x, x[:, 0], weight=weight, K=K)
        reference = np.max(np.abs(s(q) - FPInterpolator(x, x[:, 0], weight=weight, K=8 * K)(q)))
        assert reference / FACTOR <= s.info.truncation_error <= FACTOR * reference
    # |k|^-1.8 in 2-d: the summed tail does not decay fast enough to extrapolate, so no number is given
    slow = Weight.from_callable(lambda k: np.sum(k**2, axis=-1) ** -0.9, dim=2, zero=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)   # nan: the rule of thumb speaks instead
        assert math.isnan(FPInterpolator(x, x[:, 0], weight=slow, K=8).info.truncation_error)


@pytest.mark.parametrize("weight", [PowerLaw(p=1), PowerLaw(p=2, dim=2), Sobolev(s=1, dim=2)], ids=repr)
def test_ill_posed_weights_have_an_infinite_truncation_error(weight):
    # sum gamma^2 diverges: point values are not bounded by the norm, there is no K = infinity interpolant
    x = np.random.default_rng(0).random((10, weight.dim))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)   # left to the warning about the weight itself
        s = FPInterpolator(x[:, 0] if weight.dim == 1 else x, x[:, 0], weight=weight, K=8)
    assert s.info.truncation_error == math.inf


def test_k_none_tolerances_and_bounds():
    x = np.array([0.1, 0.3, 0.55, 0.8])
    y = np.sin(2 * np.pi * x)
    assert FPInterpolator(x, y, weight=PowerLaw(p=4), K=None).info.truncation_error == 0.0   # nothing truncated
    assert math.isnan(FPInterpolator(x, y, weight=PowerLaw(p=4), K=16, tol=0.1).info.truncation_error)
    assert math.isnan(FPInterpolator(x, y, weight=PowerLaw(p=4), K=16, lower=-1.0).info.truncation_error)


def test_saved_and_loaded_interpolants_keep_the_estimate(tmp_path):
    from fpnorm.io import load, save
    from fpnorm.solvers import SolveInfo

    s = FPInterpolator(np.array([0.1, 0.4, 0.7]), np.array([1.0, 0.0, 2.0]), weight=PowerLaw(p=2), K=8)
    s.save(tmp_path / "s.npz")
    assert FPInterpolator.load(tmp_path / "s.npz").info.truncation_error == s.info.truncation_error > 0
    save(SolveInfo("qr", 0.0, truncation_error=math.inf), tmp_path / "i.npz")
    assert load(tmp_path / "i.npz", expect=SolveInfo).truncation_error == math.inf


def test_a_record_written_before_the_field_existed_loads_with_nan(tmp_path):
    import json
    import zipfile

    from fpnorm.io import load, save
    from fpnorm.solvers import SolveInfo

    save(SolveInfo("qr", 0.0), tmp_path / "i.npz")
    with np.load(tmp_path / "i.npz", allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    key = next(k for k in members if members[k].dtype.kind == "U")
    header = json.loads(str(members[key]))
    del header["meta"]["truncation_error"]
    members[key] = np.array(json.dumps(header))
    np.savez(tmp_path / "old.npz", **members)
    assert zipfile.is_zipfile(tmp_path / "old.npz")
    assert np.isnan(load(tmp_path / "old.npz", expect=SolveInfo).truncation_error)  # not computed


# -- the pieces ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["qr", "svd", "cholesky"])
def test_solver_dual_variables_are_those_of_the_kkt_reference(solver):
    rng = np.random.default_rng(9)
    x = rng.random(12)
    weight, K = LFP(1.0, 1.0), 10
    problem = Problem(2 * np.pi * x[:, None], rng.standard_normal((12, 2)), K, weight.box(K))
    sol = solve(problem, method=solver)
    r = rng.standard_normal((12, 1))
    alpha = sol.dual(r)
    reference = brute_force_solve(x, r[:, 0], weight, K)    # penalised coefficients g_k sum_n alpha_n e^{-ik t_n}
    k = np.arange(-K, K + 1)
    pen = k != 0
    coef = weight.gamma2(k[pen, None]) * (np.exp(-1j * np.outer(k[pen], 2 * np.pi * x)) @ alpha[:, 0])
    assert np.abs(alpha.sum()) < 1e-10 * np.abs(alpha).sum()              # orthogonal to the free constant
    assert np.allclose(coef, reference[pen], rtol=0, atol=1e-10 * np.abs(reference).max())


def test_smoothing_and_iterative_dual_variables():
    rng = np.random.default_rng(10)
    x = rng.random(40)
    weight, K = Sobolev(s=1), 64
    problem = Problem(2 * np.pi * x[:, None], rng.standard_normal((40, 1)), K, weight.box(K))
    k = np.arange(-K, K + 1)
    phase = np.exp(-1j * np.outer(k, 2 * np.pi * x))
    for sol in (solve_smoothing(problem, 1e-3), solve(problem, method="iterative")):
        coef = weight.gamma2(k[:, None]) * (phase @ sol.alpha[:, 0])
        assert np.allclose(coef, sol.coef[:, 0], rtol=0, atol=1e-8 * np.abs(sol.coef).max())


@pytest.mark.parametrize("p", [2, 4, 6])
@pytest.mark.parametrize("K", [0, 7, 100])
def test_tail_sum_is_the_hurwitz_zeta_value_in_1d(p, K):
    T0, variogram = tail_moments(PowerLaw(p=p), K)
    assert T0 == pytest.approx(2 * zeta(p, K + 1) / (2 * np.pi) ** p, rel=1e-10)
    if p == 2:   # rough: the Riesz constant, int (1 - cos u theta) u^-2 du = pi |theta|
        assert variogram == [(pytest.approx(np.pi / (2 * np.pi) ** 2, rel=1e-12), 1.0)]
    else:        # smooth: half the tail's second moment sum_{|k| > K} g_k k^2
        assert variogram == [(pytest.approx(zeta(p - 2, K + 1) / (2 * np.pi) ** p, rel=1e-8), 2.0)]


@pytest.mark.parametrize("p", [2, 4])
def test_variogram_model_is_the_tail_kernel_near_zero(p):
    # T0 - tau_K(theta) against the closed-form tail kernel kappa - kappa_K (Bernoulli polynomials)
    K = 20
    T0, [(c, a)] = tail_moments(PowerLaw(p=p), K)
    for theta in (1e-3 / K, 1e-2 / K):
        z = theta / (2 * np.pi)
        k = np.arange(1, K + 1)
        tau = bernoulli_kernel(z, p) - 2 * np.sum(np.cos(2 * np.pi * k * z) / (2 * np.pi * k) ** p)
        assert (T0 - tau) / (c * theta**a) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("weight", [PowerLaw(p=6, dim=2), LFP(0.0, 1.0, dim=2), PowerLaw(p=5, dim=3)], ids=repr)
def test_tail_sum_matches_a_lattice_sum_in_2d_and_3d(weight):
    K = 6
    B = 300 if weight.dim == 2 else 60
    k = np.stack(np.meshgrid(*([np.arange(-B, B + 1)] * weight.dim), indexing="ij"), axis=-1).reshape(-1, weight.dim)
    outside = np.max(np.abs(k), axis=1) > K
    partial = float(np.sum(weight.gamma2(k[outside])))          # to |k|_inf <= B ...
    rest = tail_moments(weight, B)[0]                             # ... and beyond, a 1e-3 estimate of a tiny rest
    T0 = tail_moments(weight, K)[0]
    assert T0 == pytest.approx(partial + rest, rel=3e-3)
    assert T0 <= kernel_tail_bound(weight, K)


def test_far_tail_model_is_positive_definite_with_the_tail_sum_on_its_diagonal():

    rng = np.random.default_rng(12)
    t = 2 * np.pi * np.r_[rng.random(30), 0.5 + 1e-4 * rng.random(10)][:, None]   # 10 points within 1e-4
    for weight in (PowerLaw(p=2), PowerLaw(p=4), LFP(1.0, 1.0)):
        T0, variogram = tail_moments(weight, 24)
        F = far_tail_matrix(t, T0, variogram, 1)
        assert np.allclose(np.diag(F), T0, rtol=1e-14)
        assert np.linalg.eigvalsh(F).min() >= -1e-12 * T0
        assert np.all(F[30:, 30:] > 0.9 * T0)     # points 1e-4 apart share their far tail (1/K = 0.04)


def test_far_tail_model_of_a_tight_cluster_stays_sparse():

    rng = np.random.default_rng(13)
    spread = 2 * np.pi * rng.random((600, 1))
    t = np.r_[2 * np.pi * (0.5 + 1e-6 * rng.random((600, 1))), spread[:400]]   # 600 of 1000 within 1e-6
    T0, variogram = tail_moments(PowerLaw(p=4), 8)
    F = far_tail_matrix(t, T0, variogram, 1)
    assert F.nnz == 1000                        # more than 64 close pairs a point: the diagonal alone
    assert np.allclose(F.diagonal(), T0, rtol=1e-14)
    sparse = far_tail_matrix(spread, T0, variogram, 1)   # 600 spread points: the close pairs alone are stored
    dense = far_tail_matrix(spread[:512], T0, variogram, 1)
    assert 600 < sparse.nnz <= 600 + 2 * 64 * 600
    assert np.allclose(sparse.toarray()[:512, :512], dense, rtol=0, atol=1e-12 * T0)


def test_truncation_error_of_a_zero_weight_beyond_the_box_is_nan():
    # a weight that is free (gamma = inf) beyond the box: its K = infinity problem has another free part
    w = Weight.from_callable(lambda k: np.where(np.abs(k[:, 0]) > 10, np.inf, 1.0 / k[:, 0] ** 4.0), dim=1)
    x = np.array([0.1, 0.4, 0.7])
    problem = Problem(2 * np.pi * x[:, None], np.ones((3, 1)), 8, w.box(8))
    assert math.isnan(truncation_error(problem, solve(problem).dual, w))


def test_iterative_estimate_with_the_chain_makes_its_own_pattern_and_meets_the_exact_distance():
    # noisy data jump between nearly coincident points, so the 1-d solve runs the sorted chain and hands over no KL
    # pattern: the estimate factors its own kernel on a pattern of its own, and must still meet the exact distance to
    # the K = None interpolant (measured 0.996 of it)
    rng = np.random.default_rng(4)
    N, K = 200, 256
    x = np.sort(rng.random(N))
    y = np.sin(2 * np.pi * x) + 0.1 * rng.standard_normal(N)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = FPInterpolator(x, y, weight=Sobolev(s=2), K=K, method="iterative")
        limit = FPInterpolator(x, y, weight=Sobolev(s=2), K=None)
    q = _fine_grid(x, K)
    exact = np.max(np.abs(it(q) - limit(q)))
    assert limit.info.residual * np.max(np.abs(y)) < 0.01 * exact     # the reference is exact
    assert exact / FACTOR <= it.info.truncation_error <= FACTOR * exact
