"""Data near the largest double: results are exact powers of two times the results for scaled-down data, a result
beyond the double range is ``inf`` with a FloatRangeWarning carrying its size, and never NaN.

The reference is exact maths: the minimum-norm interpolant, the smoothing fit and the FP-norm are homogeneous of degree
one in the data, and multiplying by ``2^k`` is exact in floating point (no rounding, away from over- and underflow),
so ``h[2^k y] = 2^k h[y]`` bit for bit; bounds are compared with mpmath at 50 digits.
"""

import math
import re
import warnings

import mpmath
import numpy as np
import pytest

from fpnorm import (
    FloatRangeWarning,
    FPInterpolator,
    PowerLaw,
    Sobolev,
    bound_curve,
    fp_norm,
    generalization_bound,
    sample_complexity,
)

X = np.array([0.1, 0.3, 0.55, 0.8])
Y_ISSUE = np.array([1.7e308, -1.7e308, 1e308, 0.0])
Q = np.linspace(0.0, 1.0, 23)


def _power(y, k):
    return np.ldexp(y, k)


def _size_in_warning(record):
    """``(mantissa, exponent)`` of the FloatRangeWarning's "m * 2^e"."""
    m, e = re.search(r"is ([\d.e+-]+) \* 2\^(-?\d+)", str(record.message)).groups()
    return float(m), int(e)


@pytest.mark.parametrize("K", [16, None])
def test_issue_data_interpolate_and_flag_the_norm(K):
    # the data of the issue: before, norm = nan with only a RuntimeWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # no overflow happens anywhere in the arithmetic
        s = FPInterpolator(X, Y_ISSUE, weight=PowerLaw(p=4), K=K)
        at_points = s(X)
        with pytest.warns(FloatRangeWarning) as rec:
            norm = s.norm
    assert np.all(np.abs(at_points - Y_ISSUE) <= 1e-12 * 1.7e308)
    assert norm == math.inf
    # the size reported is 2^1000 times the norm of the data scaled down by 2^1000, to the printed digits
    small = FPInterpolator(X, _power(Y_ISSUE, -1000), weight=PowerLaw(p=4), K=K).norm
    m, e = math.frexp(small)
    got_m, got_e = _size_in_warning(rec[0])
    assert got_e == e + 1000 and abs(got_m - m) <= 5e-7


@pytest.mark.parametrize("K", [16, None])
@pytest.mark.parametrize("k", [1000, -1000, 60])
def test_scaling_by_a_power_of_two_is_exact(K, k):
    y = np.array([0.7, -1.3, 0.25, 0.9])
    s = FPInterpolator(X, y, weight=PowerLaw(p=4), K=K)
    t = FPInterpolator(X, _power(y, k), weight=PowerLaw(p=4), K=K)
    assert np.array_equal(t(Q), _power(s(Q), k))
    assert t.norm == math.ldexp(s.norm, k)
    if K is not None:
        assert np.array_equal(t.coef, _power(s.coef.real, k) + 1j * _power(s.coef.imag, k))


def test_norm_just_inside_and_just_beyond_the_range():
    y = np.array([0.7, -1.3, 0.25, 0.9])
    s = FPInterpolator(X, y, weight=PowerLaw(p=4), K=8)
    m, e = math.frexp(s.norm)
    inside = FPInterpolator(X, _power(y, 1024 - e), weight=PowerLaw(p=4), K=8)   # norm m * 2^1024 < max double
    assert inside.norm == math.ldexp(m, 1024) and math.isfinite(inside.norm)
    beyond = FPInterpolator(X, _power(y, 1025 - e), weight=PowerLaw(p=4), K=8)
    with pytest.warns(FloatRangeWarning, match=r"beyond the largest double \(~1\.8e308\): returned as inf"):
        assert beyond.norm == math.inf


def test_several_right_hand_sides_flag_only_the_one_out_of_range():
    y = np.column_stack([Y_ISSUE, [1.0, 2.0, 3.0, 4.0]])
    s = FPInterpolator(X, y, weight=Sobolev(s=2), K=16)
    with pytest.warns(FloatRangeWarning):
        norm = s.norm
    ref = FPInterpolator(X, y[:, 1], weight=Sobolev(s=2), K=16).norm
    assert norm[0] == math.inf and abs(norm[1] - ref) <= 1e-12 * ref   # one solve of both columns: rounding


def test_smoothing_fit_scales_exactly():
    y = np.array([0.7, -1.3, 0.25, 0.9])
    s = FPInterpolator(X, y, weight=PowerLaw(p=4), K=16, smoothing=1e-3)
    t = FPInterpolator(X, _power(y, 1015), weight=PowerLaw(p=4), K=16, smoothing=1e-3)
    assert np.array_equal(t.coef, _power(s.coef.real, 1015) + 1j * _power(s.coef.imag, 1015))
    assert t.norm == math.ldexp(s.norm, 1015)
    assert t.info.truncation_error == math.ldexp(s.info.truncation_error, 1015)


@pytest.mark.parametrize("variant", [{"tol": 1e300}, {"lower": -1.79e308, "upper": 1.79e308}])
def test_tolerance_and_bound_problems_refuse_data_near_the_limit(variant):
    with pytest.raises(ValueError, match=r"Expected `values` \(less `h_ini`\) below 2\^1000 ~ 1\.07e301 in magnitude "
                                         r"with `tol`, `lower` or `upper`, got max \|y - h_ini\| = 1\.7e\+308\."):
        FPInterpolator(X, Y_ISSUE, weight=PowerLaw(p=4), K=16, **variant)


def test_values_minus_h_ini_overflow_is_refused():
    with pytest.raises(ValueError, match=r"Expected `values` - `h_ini` within the double range"):
        FPInterpolator(X, Y_ISSUE, weight=PowerLaw(p=4), K=8, h_ini=lambda x: np.full(len(x), -1e308))


# -- fp_norm -------------------------------------------------------------------------------------------------------
def test_fp_norm_of_huge_coefficients_scales_exactly():
    c = np.zeros(9, complex)
    c[[2, 3, 5, 7]] = [0.5 - 1j, 2.0, 0.25j, -1.5]
    base = fp_norm(c, PowerLaw(p=4))
    assert fp_norm(_power(c.real, 1000) + 1j * _power(c.imag, 1000), PowerLaw(p=4)) == math.ldexp(base, 1000)


def test_fp_norm_of_huge_samples_against_the_closed_form():
    # A sin(2 pi x) under PowerLaw(p=4): ||f|| = A (2 pi)^2 / sqrt(2) = 2 sqrt(2) pi^2 A
    A = math.ldexp(1.0, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = fp_norm(lambda x: A * np.sin(2 * np.pi * x), PowerLaw(p=4), full=True)
    exact = mpmath.mpf(2) * mpmath.sqrt(2) * mpmath.pi ** 2 * mpmath.ldexp(1, 1000)
    assert r.status == "exact" and abs(r.value - exact) <= max(r.error_bound, 1e-14 * r.value)


def test_fp_norm_beyond_the_range_is_refused_not_called_divergent():
    with pytest.raises(ValueError, match=r"Expected `f` - `h_ini` whose FP-norm fits in a double \(below ~1\.8e308\), "
                                         r"got a norm of [\d.]+ \* 2\^10\d\d ~ 10\^30\d\.\d\d"):
        fp_norm(lambda x: 1.7e308 * np.sin(2 * np.pi * x), PowerLaw(p=4))
    c = np.zeros(5, complex)
    c[1] = c[3] = 1.7e308
    with pytest.raises(ValueError, match=r"fits in a double"):
        fp_norm(c, PowerLaw(p=4), full=True)


# -- bounds --------------------------------------------------------------------------------------------------------
def _exact_bound(M, delta, f_norm, gamma_l2):
    mpmath.mp.dps = 50
    f, g = mpmath.mpf(f_norm), mpmath.mpf(gamma_l2)
    return f * g * (2 / mpmath.sqrt(M) + 4 * mpmath.sqrt(2 * mpmath.log(4 / mpmath.mpf(delta)) / M))


@pytest.mark.parametrize("M", [10**6, 10**9])
def test_bound_finite_while_the_product_of_norms_overflows(M):
    r = generalization_bound(M, 0.05, f_norm=1e300, gamma_l2=1e10)
    exact = _exact_bound(M, 0.05, 1e300, 1e10)
    assert not r.vacuous and abs(r.value - exact) <= 4e-16 * exact
    assert abs(float(bound_curve([M], 0.05, f_norm=1e300, gamma_l2=1e10)[0]) - exact) <= 4e-16 * exact


def test_bound_beyond_the_range_is_flagged():
    with pytest.warns(FloatRangeWarning, match=r"The generalization bound is 0\.75\d+ \* 2\^1034 ~ 10\^311\.14"):
        r = generalization_bound(1, 0.05, f_norm=1e300, gamma_l2=1e10)
    assert r.value == math.inf and "exceeds the largest double" in r.reason
    with pytest.warns(FloatRangeWarning):
        assert bound_curve([1], 0.05, f_norm=1e300, gamma_l2=1e10)[0] == math.inf


def test_sample_complexity_with_norms_whose_product_overflows():
    M = sample_complexity(1e305, 0.05, f_norm=1e300, gamma_l2=1e10)
    eps = mpmath.mpf(1e305)
    assert _exact_bound(M, 0.05, 1e300, 1e10) <= eps < _exact_bound(M - 1, 0.05, 1e300, 1e10)


def test_weighted_norm_against_mpmath():
    from fpnorm._internal.floatrange import to_float, weighted_norm

    rng = np.random.default_rng(16)
    a = np.ldexp(rng.random((40, 3)), rng.integers(-1070, 1020, size=(40, 3)))
    a[5, 1] = 0.0
    root = np.ldexp(rng.random(40) + 0.5, rng.integers(-40, 40, size=40))
    root[7] = np.inf    # a free mode contributes nothing
    m, e = weighted_norm(a, root)
    mpmath.mp.dps = 40
    for j in range(3):
        exact = mpmath.sqrt(sum((mpmath.mpf(a[i, j]) / mpmath.mpf(root[i])) ** 2 for i in range(40) if i != 7))
        got = mpmath.ldexp(mpmath.mpf(m[j]), int(e[j]))
        assert abs(got - exact) <= 1e-15 * exact
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = to_float(m, e, "x")
    assert all((out[j] == math.inf) == (e[j] > 1024 or (e[j] == 1024 and m[j] >= 1)) for j in range(3))
    assert len(rec) == int(np.isinf(out).any())
