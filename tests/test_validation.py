"""Monte-Carlo validation: population_risk against exact integrals, validate_bound against the bound."""

import json
import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from fpnorm import FPNorm, PowerLaw, UnresolvedNormWarning, generalization_bound, validation  # noqa: E402
from fpnorm.targets import get_target  # noqa: E402
from fpnorm.validation import QUADRATURES, population_risk, validate_bound  # noqa: E402


def _sin(x):
    return np.sin(2 * np.pi * x)


def _zero(x):
    return np.zeros(np.shape(x)[0])


@pytest.mark.parametrize("method", QUADRATURES)
def test_population_risk_exact_integral_d1(method):
    est, err = population_risk(_sin, _zero, dim=1, method=method, seed=1)
    assert abs(est - 2 / math.pi) <= 5 * err
    assert err < 2e-2 if method == "mc" else err < 2e-3


def test_population_risk_d2_period():
    # E|sin(2 pi x1/P) sin(2 pi x2/P)| = (2/pi)^2 on [0, P)^2
    P = 2.5
    def h(x):
        return np.sin(2 * np.pi * x[:, 0] / P) * np.sin(2 * np.pi * x[:, 1] / P)
    est, err = population_risk(h, _zero, dim=2, period=P, n=8192, seed=4)
    assert abs(est - 4 / math.pi**2) <= 5 * err and err < 1e-3


def test_population_risk_error_bar_is_honest():
    exact = 2 / math.pi
    hits = [abs(e - exact) <= 3 * s for e, s in
            (population_risk(_sin, _zero, dim=1, n=256, method="mc", seed=seed) for seed in range(40))]
    assert np.mean(hits) >= 0.85


def test_population_risk_zero_for_equal_functions():
    assert population_risk(_sin, _sin, dim=1, seed=0) == (0.0, 0.0)


def test_population_risk_rejects_bad_input():
    with pytest.raises(ValueError, match=r"Expected `method` to be one of \('sobol', 'mc'\), got 'grid'"):
        population_risk(_sin, _zero, dim=1, method="grid")
    with pytest.raises(ValueError, match=r"Expected `n` >= `replicates` = 16, got 8"):
        population_risk(_sin, _zero, dim=1, n=8)
    with pytest.raises(TypeError, match=r"Expected `h` and `f` to be callables"):
        population_risk(1.0, _zero, dim=1)
    with pytest.raises(TypeError, match=r"Expected `seed` to be None, an int or a numpy Generator"):
        population_risk(_sin, _zero, dim=1, seed=1.5)


@pytest.fixture(scope="module")
def smooth_run():
    w = PowerLaw(p=4, dim=1, zero=1.0)
    return validate_bound(get_target("poisson"), weight=w, K=64, Ms=[6, 12, 24, 48], trials=3, n_quad=1024, seed=2)


def test_validate_bound_holds_and_matches_bound(smooth_run):
    r = smooth_run
    assert r.risks.shape == (4, 3) and r.stderrs.shape == (4, 3)
    assert r.held_fraction == 1.0 and np.all(r.held == 1.0) and not r.vacuous
    for M, b in zip(r.Ms, r.bounds, strict=False):
        assert b == pytest.approx(generalization_bound(int(M), 0.05, weight=r.weight, f=get_target("poisson")).value,
                                  rel=1e-12)
    assert np.all(r.risks > 0) and np.all(r.stderrs < 0.1 * r.risks + 1e-12)


def test_smooth_target_decays_much_faster_than_the_bound(smooth_run):
    # the bound decays like M^-1/2; the cubic-spline-like interpolant of an analytic target far faster
    assert smooth_run.decay_rate > 1.5
    assert np.all(np.diff(smooth_run.mean_risk) < 0)


def test_summary_and_plot(smooth_run):
    rows = smooth_run.summary()
    json.dumps(rows, allow_nan=False)
    assert [row["M"] for row in rows] == [6, 12, 24, 48]
    ax = smooth_run.plot().axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_lines()) >= 3


def test_vacuous_weight_is_reported():
    r = validate_bound(get_target("sin"), weight=PowerLaw(p=4, dim=1), K=8, Ms=[4, 8], trials=2, n_quad=256)
    assert r.vacuous and np.all(np.isinf(r.bounds)) and r.held_fraction == 1.0
    assert all(row["bound"] is None for row in r.summary())


def test_rough_target_makes_every_bound_vacuous_with_the_reason():
    # |x - 1/2| under PowerLaw(p=4, zero=1): ||f||_gamma = inf, so each trial "holds" only trivially: said so
    r = validate_bound(get_target("abs"), weight=PowerLaw(p=4, zero=1.0), K=16, Ms=[4, 8], trials=2, n_quad=256)
    assert r.vacuous and np.all(np.isinf(r.bounds)) and r.f_norm == math.inf and r.f_norm_status == "divergent"
    assert r.reason.startswith("the target's FP-norm ||f - h_ini||_gamma diverges: the target 'abs'")
    fine = validate_bound(get_target("abs"), weight=PowerLaw(p=2, zero=1.0), K=16, Ms=[4, 8], trials=2, n_quad=256)
    assert not fine.vacuous and fine.reason is None and fine.f_norm_status == "converged"
    assert fine.f_norm == pytest.approx(math.sqrt(17 / 16), rel=1e-14)


def test_unresolved_norm_warns_and_is_recorded(monkeypatch):
    record = FPNorm(2.5, math.inf, "unresolved", 35, "too few resolved shells")
    monkeypatch.setattr(validation, "fp_norm", lambda *args, **kwargs: record)
    with pytest.warns(UnresolvedNormWarning, match=r"unresolved \(too few resolved shells\); the bounds use the "
                                                   r"partial sum 2.5 and are not bounds"):
        r = validate_bound(get_target("sin"), weight=PowerLaw(p=4, zero=1.0), K=8, Ms=[4], trials=1, n_quad=256)
    assert r.f_norm_status == "unresolved" and r.f_norm == 2.5 and np.isfinite(r.bounds).all()


def test_validate_bound_d2_runs_and_holds():
    w = PowerLaw(p=3, dim=2, zero=1.0)
    r = validate_bound(get_target("gauss", 2), weight=w, K=6, Ms=[10, 40], trials=2, n_quad=512, seed=5)
    assert r.held_fraction == 1.0 and math.isfinite(r.gamma_l2)


def test_validate_bound_rejects_bad_input():
    w = PowerLaw(p=4, dim=1, zero=1.0)
    f = get_target("sin")
    with pytest.raises(ValueError, match=r"Expected every `Ms` <= \(2K\+1\)\^d = 9 for K = 4 in d = 1, got 10"):
        validate_bound(f, weight=w, K=4, Ms=[5, 10])
    with pytest.raises(ValueError, match=r"Expected `Ms` to be a non-empty 1-d sequence of integers"):
        validate_bound(f, weight=w, K=4, Ms=[])
    with pytest.raises(ValueError, match=r"Expected every `Ms` >= 1, got 0"):
        validate_bound(f, weight=w, K=4, Ms=[0, 3])
    with pytest.raises(TypeError, match=r"Expected `f` to be a callable on the torus"):
        validate_bound(np.zeros(3), weight=w, K=4, Ms=[3])


@pytest.mark.filterwarnings("ignore:fp_norm did not converge")  # the norm of |x - 1/2| is not tested here
def test_near_square_truncation_warns_when_the_fits_are_far_from_their_limit():
    with pytest.warns(UserWarning, match=r"\(M = 8 is more than half the \(2K\+1\)\^d = 9 modes: use K >= 8\)"):
        validate_bound(get_target("abs"), weight=PowerLaw(p=2, dim=1, zero=1.0), K=4, Ms=[8], trials=1, n_quad=64)
