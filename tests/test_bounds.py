"""The generalization bound against the formula itself, and the FP-norm's status carried into it."""

import json
import math

import numpy as np
import pytest

from fpnorm import FPNorm, PowerLaw, UnresolvedNormWarning, bound_curve, generalization_bound, sample_complexity
from fpnorm.targets import get_target

TAU = 2 * math.pi


# -- the bound ---------------------------------------------------------------------------------------------------
def test_formula_by_hand():
    M, delta, fn, g = 1000, 0.05, 1.7, 2.3
    r = generalization_bound(M, delta, f_norm=fn, gamma_l2=g)
    comp = fn * g * 2 / math.sqrt(M)
    conf = fn * g * 4 * math.sqrt(2 * math.log(4 / delta) / M)
    assert r.complexity_term == pytest.approx(comp, rel=1e-15)
    assert r.confidence_term == pytest.approx(conf, rel=1e-15)
    assert r.value == pytest.approx(comp + conf, rel=1e-15)
    assert (r.M, r.delta, r.f_norm, r.gamma_l2, r.vacuous) == (M, delta, fn, g, False)


def test_bound_from_weight_and_target():
    w = PowerLaw(p=4, dim=1, zero=1.0)
    f = get_target("sin", 1)
    r = generalization_bound(500, 0.1, weight=w, f=f)
    fn = math.sqrt(2 * 0.25 * TAU**4)          # |c_{+-1}| = 1/2
    g = math.sqrt(1 + 1 / 720)                  # 1 + 2 zeta(4) / (2 pi)^4
    assert r.f_norm == pytest.approx(fn, rel=1e-13) and r.gamma_l2 == pytest.approx(g, rel=1e-15)
    assert r.value == pytest.approx(fn * g * (2 / math.sqrt(500) + 4 * math.sqrt(2 * math.log(40) / 500)), rel=1e-13)
    assert r.f_norm_status == "exact" and r.f_norm_error < 1e-13 * r.f_norm and r.gamma_l2_error < 1e-14
    # h_ini = f makes the bound zero
    assert generalization_bound(500, 0.1, weight=w, f=f, h_ini=f).value == 0.0


def test_free_mode_makes_bound_vacuous():
    r = generalization_bound(1000, 0.05, weight=PowerLaw(p=4, dim=1), f=get_target("sin", 1))
    assert r.vacuous and r.value == math.inf and "unpenalised" in r.reason and "vacuous" in r.reason
    assert math.isfinite(r.f_norm)
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["value"] is None and d["vacuous"] is True


def test_infinite_factor_beats_zero_factor():
    r = generalization_bound(10, 0.5, f_norm=0.0, gamma_l2=math.inf)
    assert r.vacuous and r.value == math.inf and "||gamma||_l2 = inf" in r.reason


def test_divergent_power_gives_vacuous_bound():
    r = generalization_bound(10, 0.5, f_norm=1.0, weight=PowerLaw(p=2, dim=3, zero=1.0))
    assert r.vacuous and "PowerLaw p = 2 <= d = 3" in r.reason


def test_bound_curve_array_in_array_out():
    Ms = np.array([[10, 40, 160], [1, 2, 4]])
    out = bound_curve(Ms, 0.05, f_norm=1.2, gamma_l2=0.8)
    assert out.shape == Ms.shape
    for m, v in zip(Ms.ravel(), out.ravel(), strict=False):
        assert v == pytest.approx(generalization_bound(int(m), 0.05, f_norm=1.2, gamma_l2=0.8).value, rel=1e-15)
    np.testing.assert_allclose(out[0, 1:], out[0, :-1] / 2, rtol=1e-15)   # exactly M^-1/2
    assert np.all(np.isinf(bound_curve([5, 6], 0.1, f_norm=1.0, gamma_l2=math.inf)))


def test_sample_complexity_is_smallest_M():
    eps, delta, fn, g = 0.05, 0.01, 0.9, 1.1
    M = sample_complexity(eps, delta, f_norm=fn, gamma_l2=g)
    assert generalization_bound(M, delta, f_norm=fn, gamma_l2=g).value <= eps
    assert generalization_bound(M - 1, delta, f_norm=fn, gamma_l2=g).value > eps
    assert sample_complexity(eps, delta, f_norm=fn, gamma_l2=math.inf) == math.inf
    assert sample_complexity(eps, delta, f_norm=0.0, gamma_l2=g) == 1


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(M=0, delta=0.1), ValueError, r"Expected `M` >= 1, got 0"),
    (dict(M=2.5, delta=0.1), TypeError, r"Expected `M` to be an integer, got float 2.5"),
    (dict(M=10, delta=0.0), ValueError, r"Expected `delta` > 0.0, got 0.0"),
    (dict(M=10, delta=1.0), ValueError, r"Expected `delta` < 1.0, got 1.0"),
    (dict(M=10, delta=0.1, gamma_l2=1.0, f_norm=-1.0), ValueError, r"Expected `f_norm` >= 0 \(inf allowed\), got -1.0"),
    (dict(M=10, delta=0.1, gamma_l2="1", f_norm=1.0), TypeError, r"Expected `gamma_l2` to be a real number"),
    (dict(M=10, delta=0.1, f_norm=1.0), ValueError, r"Expected `gamma_l2` or `weight` to be given, got neither"),
    (dict(M=10, delta=0.1, gamma_l2=1.0), ValueError, r"Expected `f_norm`, or both `f` and `weight`, to be given"),
    (dict(M=10, delta=0.1, gamma_l2=1.0, f_norm=1.0, f=np.sin), ValueError, r"Expected either `f_norm` or `f`"),
])
def test_bound_validation(kwargs, exc, match):
    kw = dict(kwargs)
    M, delta = kw.pop("M"), kw.pop("delta")
    with pytest.raises(exc, match=match):
        generalization_bound(M, delta, **kw)


def test_curve_and_complexity_validation():
    with pytest.raises(ValueError, match=r"Expected every `M` >= 1 and finite, got min 0.0"):
        bound_curve([0, 5], 0.1, f_norm=1.0, gamma_l2=1.0)
    with pytest.raises(TypeError, match=r"Expected `M` to be an array of numbers"):
        bound_curve(["a"], 0.1, f_norm=1.0, gamma_l2=1.0)
    with pytest.raises(ValueError, match=r"Expected `epsilon` > 0.0, got 0.0"):
        sample_complexity(0.0, 0.1, f_norm=1.0, gamma_l2=1.0)



def test_h_ini_with_f_norm_is_refused():
    from fpnorm import generalization_bound

    with pytest.raises(ValueError, match=r"Expected `h_ini` only with `f`"):
        generalization_bound(100, 0.05, f_norm=1.0, gamma_l2=1.0, h_ini=lambda x: x)


def test_sample_complexity_beyond_any_sample_size_is_inf():
    from fpnorm.bounds import sample_complexity

    assert sample_complexity(1e-300, 0.05, f_norm=1.0, gamma_l2=1.0) == float("inf")
    assert sample_complexity(1.0, 0.05, f_norm=1e200, gamma_l2=1e100) == float("inf")


# -- the FP-norm's status carried into the bound -----------------------------------------------------------------
def _abs_1d(x):
    return np.abs(np.asarray(x) - 0.5)


@pytest.mark.parametrize("f", [get_target("abs"), _abs_1d], ids=["target", "callable"])
def test_divergent_norm_makes_the_bound_vacuous_with_the_reason(f):
    # |x - 1/2| has coefficients 1/(pi^2 k^2) on odd k: under PowerLaw(p=4) sum (2 pi k)^4 / (pi^4 k^4) diverges
    w = PowerLaw(p=4, zero=1.0)
    r = generalization_bound(1000, 0.05, weight=w, f=f)
    assert r.value == r.complexity_term == r.f_norm == math.inf and r.vacuous and r.f_norm_status == "divergent"
    assert r.reason.startswith("the target's FP-norm ||f - h_ini||_gamma diverges: ")
    assert r.reason.endswith("the bound is vacuous") and math.isfinite(r.gamma_l2)
    assert ("abs" in r.reason) if f is not _abs_1d else ("j^-q" in r.reason)
    assert json.dumps(r.to_dict(), allow_nan=False)
    assert np.all(np.isinf(bound_curve([10, 100], 0.05, weight=w, f=f)))
    assert sample_complexity(0.5, 0.05, weight=w, f=f) == math.inf


def test_finite_rough_norm_carries_status_and_error():
    r = generalization_bound(1000, 0.05, weight=PowerLaw(p=2, zero=1.0), f=get_target("abs"))
    assert r.f_norm_status == "converged" and abs(r.f_norm - math.sqrt(17 / 16)) <= r.f_norm_error < 1e-14
    assert not r.vacuous and r.reason is None


def test_a_given_record_keeps_its_status():
    unresolved = FPNorm(1.5, math.inf, "unresolved", 35, "too few shells")
    r = generalization_bound(100, 0.05, f_norm=unresolved, gamma_l2=2.0)
    assert r.f_norm == 1.5 and r.f_norm_status == "unresolved" and r.f_norm_error == math.inf and not r.vacuous
    assert r.value == pytest.approx(generalization_bound(100, 0.05, f_norm=1.5, gamma_l2=2.0).value, rel=1e-15)
    assert generalization_bound(100, 0.05, f_norm=1.5, gamma_l2=2.0).f_norm_status is None   # a plain number


def test_unresolved_norm_is_flagged_and_warned():
    def lacunary(x):   # energy only on the shells j = 4^n, up to beyond any affordable grid
        return sum(2.0**-n * np.cos(TAU * 4**n * np.asarray(x)[:, 0]) for n in range(1, 12))
    with pytest.warns(UnresolvedNormWarning, match=r"unresolved \(fewer than three consecutive dyadic blocks.*"
                                                   r"is not a bound: f_norm_status = 'unresolved'"):
        r = generalization_bound(100, 0.05, weight=PowerLaw(p=3, dim=2, zero=1.0), f=lacunary)
    assert r.f_norm_status == "unresolved" and math.isfinite(r.value) and r.f_norm_error == math.inf
