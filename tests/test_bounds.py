"""fp_norm and the generalization bound against exact coefficients and the formula itself."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev, bound_curve, fp_norm, generalization_bound, sample_complexity
from fpnorm.targets import get_target

TAU = 2 * math.pi


# -- fp_norm -----------------------------------------------------------------------------------------------------
def _bandlimited_1d_norm2(p, drop_k1=False):
    # f = 0.2 + cos(2 pi x) + 0.5 sin(6 pi x + 0.3): |c_{+-1}| = 1/2, |c_{+-3}| = 1/4, the mean is free
    out = 2 * 0.0625 * (3 * TAU) ** p
    return out if drop_k1 else out + 2 * 0.25 * TAU**p


@pytest.mark.parametrize("p", [2.0, 4.0, 3.3])
def test_bandlimited_callable_is_exact(p):
    f = get_target("bandlimited", 1)
    assert fp_norm(f, PowerLaw(p=p, dim=1)) == pytest.approx(math.sqrt(_bandlimited_1d_norm2(p)), rel=1e-13)


def test_bandlimited_with_h_ini_callable_and_array():
    w = PowerLaw(p=4, dim=1)
    f = get_target("bandlimited", 1)
    expect = math.sqrt(_bandlimited_1d_norm2(4, drop_k1=True))
    def h_call(x):
        return np.cos(TAU * x) + 7.0  # the constant sits in the free mode
    assert fp_norm(f, w, h_call) == pytest.approx(expect, rel=1e-13)
    h_arr = np.array([0.5, 7.0, 0.5])  # the same function as coefficients, K' = 1
    assert fp_norm(f, w, h_arr) == pytest.approx(expect, rel=1e-13)
    assert fp_norm(f.coefficients(5), w, h_arr) == pytest.approx(expect, rel=1e-14)


def test_free_mode_is_ignored_but_penalised_zero_counts():
    def const(x):
        return np.full(np.shape(x)[0], 0.3)
    assert fp_norm(const, PowerLaw(p=4, dim=1)) == 0.0
    assert fp_norm(const, PowerLaw(p=4, dim=1, zero=0.25)) == pytest.approx(0.3 / 0.5, rel=1e-14)
    assert fp_norm(const, Sobolev(2, dim=2)) == pytest.approx(0.3, rel=1e-14)


def test_coefficient_array_norm_by_hand():
    c = np.zeros((5, 5), dtype=complex)
    c[2 + 1, 2 - 2] = 1 + 1j   # k = (1, -2)
    c[2 - 1, 2 + 2] = 1 - 1j   # k = (-1, 2)
    w = LFP(a=2.0, b=0.5, dim=2)
    g2 = 2.0 * 5 ** -1.5 + 0.5 * 5 ** -2.5
    assert fp_norm(c, w) == pytest.approx(math.sqrt(4.0 / g2), rel=1e-14)


def test_poisson_kernel_converges_to_closed_form_d1_and_d2():
    r = 0.5
    s0 = (1 + r * r) / (1 - r * r)
    s2 = 2 * r * r * (1 + r * r) / (1 - r * r) ** 3   # sum_k k^2 r^(2|k|)
    rec = fp_norm(get_target("poisson", 1), PowerLaw(p=2, dim=1), full=True)
    assert rec.converged and rec.value == pytest.approx(TAU * math.sqrt(s2), rel=1e-12)
    v2 = fp_norm(get_target("poisson", 2), PowerLaw(p=2, dim=2))
    assert v2 == pytest.approx(TAU * math.sqrt(2 * s2 * s0), rel=1e-12)


def test_period_rescales_x_only():
    w = PowerLaw(p=4, dim=2)
    a = fp_norm(get_target("bandlimited", 2), w)
    b = fp_norm(get_target("bandlimited", 2, period=3.0), w, period=3.0)
    assert b == pytest.approx(a, rel=1e-13)
    exact = fp_norm(get_target("bandlimited", 2).coefficients(3), w)
    assert a == pytest.approx(exact, rel=1e-13)


def test_matches_interpolant_norm_and_minimality():
    rng = np.random.default_rng(3)
    w = PowerLaw(p=4, dim=1)
    f = get_target("bandlimited", 1)
    x = rng.random(12)
    s = FPInterpolator(x, f(x), weight=w, K=16)
    assert fp_norm(s.coef, w) == pytest.approx(s.norm, rel=1e-12)
    assert fp_norm(s, w) == pytest.approx(s.norm, rel=1e-9)
    # the minimum-norm interpolant of f's samples is no longer than f (f lies in the box, band 3 <= 16)
    assert s.norm <= fp_norm(f, w) * (1 + 1e-12)


def test_rough_target_warns_when_not_converged():
    f = get_target("abs", 1)
    with pytest.warns(UserWarning, match=r"fp_norm did not converge"):
        rec = fp_norm(f, PowerLaw(p=4, dim=1), max_points=2**12, full=True)
    assert not rec.converged
    # with p = 2 the norm is int |f'|^2 = 1, approached like 1 - O(1/K)
    with pytest.warns(UserWarning, match=r"did not converge"):
        v = fp_norm(f, PowerLaw(p=2, dim=1), max_points=2**14)
    assert v == pytest.approx(1.0, rel=1e-3) and v < 1.0


def test_fp_norm_rejects_bad_arrays():
    w = PowerLaw(p=4, dim=2)
    with pytest.raises(ValueError, match=r"Expected `f` coefficients of shape \(2K'\+1,\)\*2"):
        fp_norm(np.zeros((4, 4)), w)
    with pytest.raises(TypeError, match=r"Expected `h_ini` to be a callable or a coefficient array"):
        fp_norm(np.zeros((3, 3)), w, np.array([["a"]]))
    with pytest.raises(ValueError, match=r"Expected `f` coefficients to be finite"):
        fp_norm(np.full((3, 3), np.nan), w)


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
    assert r.f_norm_converged and r.gamma_l2_error < 1e-14
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



@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-3, 3, allow_nan=False), scale=st.floats(-5, 5, allow_nan=False),
       p=st.floats(0.5, 6.0, allow_nan=False))
def test_norm_is_translation_invariant_and_homogeneous(shift, scale, p):
    # translation on the torus multiplies coefficients by phases; the norm is |scale| times the norm of f
    w = PowerLaw(p=p, dim=2, zero=0.5)
    f = get_target("bandlimited", 2)
    def g(x):
        return scale * f(x - np.array([shift, 0.5 * shift]))
    base = fp_norm(f.coefficients(3), w)
    assert fp_norm(g, w) == pytest.approx(abs(scale) * base, rel=1e-11, abs=1e-300)


def test_h_ini_with_f_norm_is_refused():
    from fpnorm import generalization_bound

    with pytest.raises(ValueError, match=r"Expected `h_ini` only with `f`"):
        generalization_bound(100, 0.05, f_norm=1.0, gamma_l2=1.0, h_ini=lambda x: x)


def test_sample_complexity_beyond_any_sample_size_is_inf():
    from fpnorm.bounds import sample_complexity

    assert sample_complexity(1e-300, 0.05, f_norm=1.0, gamma_l2=1.0) == float("inf")
    assert sample_complexity(1.0, 0.05, f_norm=1e200, gamma_l2=1e100) == float("inf")
