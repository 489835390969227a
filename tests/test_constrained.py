"""Tolerances and bounds (fpnorm.solvers.constrained): KKT conditions on the returned solution, feasibility,
agreement with the exact interpolant when constraints are inactive, closed forms, errors."""

import warnings

import numpy as np
import pytest

from fpnorm import FPInterpolator, PowerLaw, Sobolev, SolveError
from fpnorm.lattice import complex_to_real, real_design
from fpnorm.solvers import METHODS, bound_grid, constrained


def _split(s):
    """Scaled penalised coordinates u, free coefficients w, and B, F at the data points, from the weight alone."""
    K, d = s.K, s.dim
    g = s.weight.box(K).reshape(-1)
    H = (g.size - 1) // 2
    s2 = np.concatenate([[g[H]], 2 * g[H + 1:], 2 * g[H + 1:]])
    free = np.isinf(s2)
    scales = np.sqrt(s2[~free])
    v = complex_to_real(s.coef, K, d)
    A = real_design(2 * np.pi * s.points / s.period, K, d)
    return v[~free] / scales, v[free], A[:, ~free] * scales, A[:, free], scales, free


def _data(N, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((N, d))
    y = np.sin(2 * np.pi * x[:, 0]) * (np.cos(2 * np.pi * x[:, -1]) if d > 1 else 1.0) + 0.2 * rng.standard_normal(N)
    return (x[:, 0] if d == 1 else x), y


def _check_tolerance_kkt(s, y, eps, rtol=1e-7):
    """Stationarity u = B^T lam, F^T lam = 0, feasibility, complementary slackness and dual sign."""
    u, w, B, F, _, _ = _split(s)
    res = s(s.points) - y
    lam, *_ = np.linalg.lstsq(B.T, u, rcond=None)
    assert np.linalg.norm(B.T @ lam - u) <= rtol * np.linalg.norm(u)         # stationarity in u
    scale_lam = np.max(np.abs(lam))
    if F.shape[1]:
        assert np.max(np.abs(F.T @ lam)) <= rtol * scale_lam * len(y)         # stationarity in w
    assert np.all(np.abs(res) <= eps + 1e-2 * rtol)                           # primal feasibility
    slack = eps - np.abs(res)
    assert np.max(np.abs(lam) * slack) <= rtol * scale_lam * max(np.max(eps), 1e-300)  # complementary slackness
    big = np.abs(lam) > 10 * rtol * scale_lam
    assert np.all(lam[big] * res[big] < 0)                                    # dual sign: lam > 0 <=> h = y - eps
    return lam


@pytest.mark.parametrize("d,K,weight", [(1, 24, PowerLaw(p=4, dim=1)), (1, 16, Sobolev(s=1, dim=1)),
                                        (2, 6, PowerLaw(p=3, dim=2))])
def test_tolerance_kkt_active_set(d, K, weight):
    x, y = _data(15, d, 1)
    eps = np.full(15, 0.1)
    eps[::3] = 0.02
    s = FPInterpolator(x, y, weight=weight, K=K, tol=eps)
    assert s.info.method == "active-set" and s.info.status == "optimal"
    assert s.info.residual <= 1e-9
    lam = _check_tolerance_kkt(s, y, eps)
    assert 0 < np.count_nonzero(np.abs(lam) > 1e-6 * np.max(np.abs(lam))) < 15   # some, not all, constraints bind
    exact = FPInterpolator(x, y, weight=weight, K=K)
    assert s.norm < exact.norm


@pytest.mark.parametrize("d,K,weight", [(1, 16, PowerLaw(p=4, dim=1)), (2, 4, Sobolev(s=1, dim=2))])
def test_tolerance_kkt_on_cvxpy_route(monkeypatch, d, K, weight):
    monkeypatch.setattr(constrained, "ACTIVE_SET_MAX_POINTS", 5)   # force the general route
    x, y = _data(12, d, 12)
    eps = np.full(12, 0.05)
    s = FPInterpolator(x, y, weight=weight, K=K, tol=eps)
    assert s.info.method == "cvxpy" and s.info.status in ("optimal", "optimal_inaccurate")
    assert "skipped for N = 12 > ACTIVE_SET_MAX_POINTS = 5" in s.info.attempts[0]
    assert s.info.residual < 1e-6
    _check_tolerance_kkt(s, y, eps, rtol=1e-4)


@pytest.mark.parametrize("d,K", [(1, 12), (2, 4)])
def test_active_set_agrees_with_cvxpy(d, K):
    x, y = _data(10, d, 2)
    w = PowerLaw(p=4, dim=d)
    s = FPInterpolator(x, y, weight=w, K=K, tol=0.05)
    u, wf, B, F, _, _ = _split(s)
    uc, wc, status = constrained._cvxpy_solve(B, F, y - 0.0, np.full(10, 0.05), None, "CLARABEL")
    assert status == "optimal"
    assert np.linalg.norm(uc) == pytest.approx(np.linalg.norm(u), rel=1e-6)
    assert np.max(np.abs(B @ uc + F @ wc - (B @ u + F @ wf))) < 1e-5


def test_single_point_closed_form():
    # N = 1, no free modes: v = (y0 - eps) kappa(x - x0) / kappa(0), kappa(z) = sum_k g_k cos(2 pi k z).
    K, w = 10, Sobolev(s=2, dim=1)
    x0, y0, eps = 0.3, 2.0, 0.5
    s = FPInterpolator([x0], [y0], weight=w, K=K, tol=eps)
    k = np.arange(-K, K + 1)
    g = w.gamma2(k)
    z = np.linspace(0, 1, 37)
    kappa = np.cos(2 * np.pi * np.outer(z - x0, k)) @ g
    np.testing.assert_allclose(s(z), (y0 - eps) * kappa / g.sum(), rtol=0, atol=1e-12)
    assert s.norm == pytest.approx((y0 - eps) / np.sqrt(g.sum()), rel=1e-12)


def test_wide_tolerance_gives_h_ini():
    x, y = _data(8, 1, 3)
    eps = np.abs(y) + 0.01                      # v = 0 is feasible, hence optimal
    s = FPInterpolator(x, y, weight=Sobolev(s=1, dim=1), K=8, tol=eps)
    assert np.max(np.abs(s.coef)) == 0.0
    def h_ini(t):
        return 0.5 * np.cos(2 * np.pi * t)
    s = FPInterpolator(x, y + h_ini(x), weight=Sobolev(s=1, dim=1), K=8, tol=eps, h_ini=h_ini)
    np.testing.assert_allclose(s(np.linspace(0, 1, 11)), h_ini(np.linspace(0, 1, 11)), atol=1e-15)


def test_tiny_tolerance_approaches_exact_interpolant():
    x, y = _data(12, 1, 4)
    w = PowerLaw(p=4, dim=1)
    exact = FPInterpolator(x, y, weight=w, K=32)
    z = np.linspace(0, 1, 101)
    errs = [np.max(np.abs(FPInterpolator(x, y, weight=w, K=32, tol=e)(z) - exact(z))) for e in (1e-3, 1e-5)]
    assert errs[1] < 2e-2 * errs[0] and errs[1] < 1e-2


def test_tol_zero_routes_to_exact_solve():
    x, y = _data(10, 1, 5)
    w = PowerLaw(p=2, dim=1)
    s = FPInterpolator(x, y, weight=w, K=16, tol=0.0)
    assert s.info.method in METHODS and s.info.status == "optimal"
    np.testing.assert_array_equal(s.coef, FPInterpolator(x, y, weight=w, K=16).coef)


def test_per_point_tolerances_follow_merged_duplicates():
    x = np.array([0.1, 0.4, 0.1, 0.7])          # point 2 repeats point 0 and is merged away
    y = np.array([1.0, -1.0, 1.0, 0.5])
    eps = np.array([0.2, 0.0, 0.9, 0.1])         # the kept copy carries 0.2
    s = FPInterpolator(x, y, weight=Sobolev(s=1, dim=1), K=6, tol=eps)
    np.testing.assert_array_equal(s.kept, [0, 1, 3])
    res = s(s.points) - s.values
    assert abs(res[0]) == pytest.approx(0.2, abs=1e-12) and abs(res[1]) < 1e-12   # both bind at their own eps


def test_multiple_right_hand_sides_solved_independently():
    x, y = _data(9, 1, 6)
    Y = np.stack([y, -2 * y + 0.3], axis=1)
    w = PowerLaw(p=4, dim=1)
    s = FPInterpolator(x, Y, weight=w, K=12, tol=0.05)
    for j in range(2):
        np.testing.assert_allclose(s.coef[:, j], FPInterpolator(x, Y[:, j], weight=w, K=12, tol=0.05).coef,
                                   atol=1e-12)


# -- bounds ---------------------------------------------------------------------------------------------------------
def _fine(d, n=64):
    g = (np.arange(n) + 0.37) / n
    return g if d == 1 else np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)


@pytest.mark.parametrize("d,K,margin", [(1, 12, 0.02), (2, 4, 0.002)])
def test_bounds_feasible_active_and_kkt(d, K, margin):
    x, y = _data(8, d, 7)
    w = PowerLaw(p=4, dim=d)
    free_fit = FPInterpolator(x, y, weight=w, K=K)
    z = _fine(d)
    lo = float(np.min(y)) - margin                # the data respect it, the free interpolant overshoots it
    assert free_fit(z).min() < lo - 0.005
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no violation warning expected
        s = FPInterpolator(x, y, weight=w, K=K, lower=lo)
    assert s.info.method == "cvxpy" and s.info.status == "optimal"
    atol = bound_grid.BOUND_RTOL * np.max(np.abs(y))
    assert s(z).min() >= lo - atol                                   # feasibility between grid points
    np.testing.assert_allclose(s(s.points), y, atol=1e-6)            # tol = 0: equality at the data
    assert s.norm > free_fit.norm
    # KKT: u = B^T lam + D_act^T mu, mu >= 0 on the lower-active grid rows (they push h up)
    u, wf, B, F, scales, free = _split(s)
    n = int(next(a for a in s.info.attempts if "bounds enforced on a" in a).split("on a ")[1].split("^")[0])
    g1 = np.arange(n) / n
    xg = g1[:, None] if d == 1 else np.stack(np.meshgrid(g1, g1, indexing="ij"), -1).reshape(-1, 2)
    Ag = real_design(2 * np.pi * xg, K, d)
    hg = Ag[:, ~free] @ (scales * u) + Ag[:, free] @ wf
    assert hg.min() >= lo - 1e-7                                     # feasible on the enforcement grid
    act = hg - lo < 1e-5
    assert act.any()
    D = Ag[act][:, ~free] * scales
    mult, *_ = np.linalg.lstsq(np.vstack([B, D]).T, u, rcond=None)
    assert np.linalg.norm(np.vstack([B, D]).T @ mult - u) <= 1e-4 * np.linalg.norm(u)
    mu = mult[B.shape[0]:]
    assert mu.sum() > 0 and mu.min() >= -1e-3 * np.max(np.abs(mu))


def test_loose_bounds_reproduce_exact_interpolant():
    x, y = _data(8, 1, 8)
    w = PowerLaw(p=4, dim=1)
    exact = FPInterpolator(x, y, weight=w, K=12)
    s = FPInterpolator(x, y, weight=w, K=12, lower=-50.0, upper=50.0)
    z = np.linspace(0, 1, 50)
    assert s.info.method == "qr"                   # the exact interpolant meets the bounds: no cvxpy solve
    assert np.max(np.abs(s(z) - exact(z))) < 1e-10 * np.max(np.abs(y))
    assert s.norm == pytest.approx(exact.norm, rel=1e-10)
    t = FPInterpolator(x, y, weight=w, K=12, tol=0.05, upper=50.0)
    assert t.info.method == "active-set"
    np.testing.assert_allclose(t.coef, FPInterpolator(x, y, weight=w, K=12, tol=0.05).coef, atol=1e-12)


def test_loose_bounds_on_cvxpy_reproduce_exact_interpolant(monkeypatch):
    # above ACTIVE_SET_MAX_POINTS a tolerance problem with bounds runs on cvxpy even when the bounds are inactive
    monkeypatch.setattr(constrained, "ACTIVE_SET_MAX_POINTS", 3)
    x, y = _data(8, 1, 8)
    w = PowerLaw(p=4, dim=1)
    t = FPInterpolator(x, y, weight=w, K=12, tol=0.05, lower=-50.0)
    assert t.info.method == "cvxpy"
    monkeypatch.setattr(constrained, "ACTIVE_SET_MAX_POINTS", 64)
    ref = FPInterpolator(x, y, weight=w, K=12, tol=0.05)
    assert ref.info.method == "active-set"
    np.testing.assert_allclose(t(np.linspace(0, 1, 50)), ref(np.linspace(0, 1, 50)), atol=1e-4)  # Clarabel
    assert t.norm == pytest.approx(ref.norm, rel=1e-6)


def test_bounds_with_several_right_hand_sides():
    x, y = _data(8, 1, 11)
    Y = np.stack([y, 0.5 * y], axis=1)
    w = PowerLaw(p=4, dim=1)
    s = FPInterpolator(x, Y, weight=w, K=10, lower=float(np.min(y)) - 0.02)
    lo = float(np.min(y)) - 0.02
    atol = bound_grid.BOUND_RTOL * np.max(np.abs(Y))
    z = _fine(1, 400)
    for j in range(2):
        # one grid serves both columns (the finer one they need), so a single-column solve may use another grid:
        # the two answers then differ by about the grid tolerance, not more
        one = FPInterpolator(x, Y[:, j], weight=w, K=10, lower=lo)
        assert s(z)[:, j].min() >= lo - atol
        np.testing.assert_allclose(s(s.points)[:, j], Y[:, j], atol=1e-6)
        np.testing.assert_allclose(s(z)[:, j], one(z), atol=3 * atol)


def test_callable_bounds_with_tolerance_feasible():
    x, y = _data(10, 1, 9)
    def up(t):
        return 0.6 + 0.2 * np.cos(2 * np.pi * t)
    y = np.minimum(y, up(x))
    s = FPInterpolator(x, y, weight=PowerLaw(p=4, dim=1), K=12, tol=0.05, upper=up)
    z = _fine(1, 500)
    atol = bound_grid.BOUND_RTOL * np.max(np.abs(y))
    assert np.max(s(z) - up(z)) <= atol
    assert np.all(np.abs(s(s.points) - y) <= 0.05 + 1e-6)


# -- errors ---------------------------------------------------------------------------------------------------------
def _args():
    x, y = _data(6, 1, 10)
    return x, y, dict(weight=PowerLaw(p=4, dim=1), K=8)


def test_bad_tolerance_values():
    x, y, kw = _args()
    with pytest.raises(ValueError, match=r"Expected `tol` to be finite and >= 0"):
        FPInterpolator(x, y, tol=-0.1, **kw)
    with pytest.raises(ValueError, match=r"Expected `tol` to be a scalar or have shape \(6,\)"):
        FPInterpolator(x, y, tol=[0.1, 0.2], **kw)
    with pytest.raises(TypeError, match=r"Expected `tol` to be a real number or an array"):
        FPInterpolator(x, y, tol="0.1", **kw)


def test_bad_bounds():
    x, y, kw = _args()
    with pytest.raises(TypeError, match=r"Expected `lower` to be None, a real number or a callable"):
        FPInterpolator(x, y, lower="0", **kw)
    with pytest.raises(ValueError, match=r"Expected `upper` to be finite"):
        FPInterpolator(x, y, upper=np.inf, **kw)
    with pytest.raises(ValueError, match=r"Expected `lower` to admit the data within `tol`"):
        FPInterpolator(x, y, lower=float(np.max(y)), **kw)
    with pytest.raises(TypeError, match=r"Expected `upper` to return real values, got complex"):
        FPInterpolator(x, y, upper=lambda t: 5.0 + 0j * t, **kw)
    with pytest.raises(ValueError, match=r"Calling `lower` on points of shape \(6,\) failed"):
        FPInterpolator(x, y, lower=lambda t: t["no"], **kw)


def test_bad_combinations_and_solver():
    x, y, kw = _args()
    with pytest.raises(ValueError, match=r"Expected `smoothing` = 0 when `tol`, `lower` or `upper` is given"):
        FPInterpolator(x, y, tol=0.1, smoothing=1.0, **kw)
    with pytest.raises(ValueError, match=r"Expected real `values` and a real `h_ini` .* got complex values"):
        FPInterpolator(x, y + 1j, tol=0.1, **kw)
    c = np.zeros(5, complex)
    c[3] = 0.1j                                   # not Hermitian: a complex h_ini
    with pytest.raises(ValueError, match=r"Expected real `values` and a real `h_ini` .* got complex h_ini"):
        FPInterpolator(x, y, lower=-5.0, h_ini=c, **kw)
    with pytest.raises(ValueError, match=r"Expected `solver` to be one of"):
        FPInterpolator(x, y, tol=0.1, solver="MOSEK", **kw)


def test_solver_failure_and_infeasibility_raise_with_solver_message(monkeypatch):
    x, y, kw = _args()
    with monkeypatch.context() as mp:
        mp.setattr(constrained, "ACTIVE_SET_MAX_POINTS", 0)          # route the tolerance problem to cvxpy
        with pytest.raises(SolveError, match=r"The cvxpy solver ECOS failed: .*ECOS"):
            FPInterpolator(x, y, tol=0.1, solver="ECOS", **kw)
    # h = the Nyquist alternation of the 2K + 2 point grid: orthogonal to the box there, hence infeasible
    K = kw["K"]
    def nyq(t):
        return np.cos(np.pi * (2 * K + 2) * t)
    xs = np.arange(0, 2 * K + 2, 3) / (2 * K + 2)
    with pytest.raises(SolveError, match=r"returned status '?infeasible"):
        FPInterpolator(xs, nyq(xs), lower=nyq, upper=nyq, **kw)
