"""Every error message of the core, one ``pytest.raises(..., match=...)`` each, plus the solver's escalation branches.

Messages must name the argument, say what was expected and what was seen. Numerical failures are provoked with
problems that are singular by construction (exactly coincident points, handed to ``solve()``), so that the outcome
does not depend on the CPU's rounding; escalation branches that only rounding decides on real data (Cholesky breaking
down or completing inaccurately) are driven by a patched runner, and real near-coincident points are checked only
for what the user is promised. Memory limits are reached by patching ``available_memory`` to a small number.
"""

import re
import warnings

import numpy as np
import pytest
from conftest import mp_residual

import fpnorm._internal.memory
import fpnorm.solvers as solvers
from fpnorm import (
    LFP,
    AccuracyWarning,
    FPInterpolator,
    MemoryEstimateError,
    PowerLaw,
    Sobolev,
    SolveError,
    Weight,
    transforms,
    weight_from_spec,
)
from fpnorm._internal.checks import check_choice, check_int, check_real, evaluate_function, merge_duplicates
from fpnorm.solvers import METHODS, Problem
from fpnorm.solvers.certify import EXACT_SHARE
from fpnorm.solvers.qr import qr_memory as qr_memory_estimate

X4 = np.array([0.1, 0.3, 0.55, 0.8])
Y4 = np.sin(2 * np.pi * X4)
W1 = PowerLaw(p=4, dim=1)
W2 = PowerLaw(p=4, dim=2)


def fit(points=X4, values=Y4, **kw):
    kw.setdefault("weight", W1)
    kw.setdefault("K", 8)
    return FPInterpolator(points, values, **kw)


def small_memory(monkeypatch, nbytes):
    monkeypatch.setattr(fpnorm._internal.memory, "available_memory", lambda: nbytes)


# -- scalar parameters (fpnorm._internal.checks) -----------------------------------------------------------------------
class TestScalars:
    def test_K_float_integer(self):
        with pytest.raises(TypeError, match=r"Expected `K` to be an integer, got float 2.0; pass 2\."):
            fit(K=2.0)

    def test_K_bool(self):
        with pytest.raises(TypeError, match=r"Expected `K` to be an integer or None, got bool True\."):
            fit(K=True)

    def test_K_string(self):
        with pytest.raises(TypeError, match=r"Expected `K` to be an integer or None, got str '8'\."):
            fit(K="8")

    def test_K_negative(self):
        with pytest.raises(ValueError, match=r"Expected `K` >= 0, got -1\."):
            fit(K=-1)

    def test_numpy_integer_K_accepted(self):
        assert fit(K=np.int64(8)).K == 8

    @pytest.mark.parametrize("period", [0, -1.0])
    def test_period_not_positive(self, period):
        with pytest.raises(ValueError, match=r"Expected `period` > 0.0, got -?[01]\.0\."):
            fit(period=period)

    def test_period_nan(self):
        with pytest.raises(ValueError, match=r"Expected `period` to be finite, got nan\."):
            fit(period=float("nan"))

    def test_period_type(self):
        with pytest.raises(TypeError, match=r"Expected `period` to be a real number, got str '1'\."):
            fit(period="1")

    def test_rtol(self):
        with pytest.raises(ValueError, match=r"Expected `rtol` > 0.0, got 0.0\."):
            fit(rtol=0.0)

    def test_method(self):
        with pytest.raises(ValueError, match=re.escape(f"Expected `method` to be one of {METHODS}, got 'lu'.")):
            fit(method="lu")

    def test_weight_type(self):
        with pytest.raises(TypeError, match=r"Expected `weight` to be a fpnorm Weight .*got str\."):
            fit(weight="power:p=4")

    def test_options_keyword_only(self):
        with pytest.raises(TypeError, match="positional argument"):
            FPInterpolator(X4, Y4, W1, 8)

    # The helpers later modules use for the bound's M and delta.
    def test_M_below_one(self):
        with pytest.raises(ValueError, match=r"Expected `M` >= 1, got 0\."):
            check_int(0, "M", minimum=1)

    def test_delta_outside_unit_interval(self):
        with pytest.raises(ValueError, match=r"Expected `delta` < 1.0, got 1.0\."):
            check_real(1.0, "delta", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True)

    def test_delta_at_zero(self):
        with pytest.raises(ValueError, match=r"Expected `delta` > 0.0, got 0.0\."):
            check_real(0.0, "delta", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True)

    def test_choice(self):
        with pytest.raises(ValueError, match=r"Expected `backend` to be one of \('a', 'b'\), got 'c'\."):
            check_choice("c", "backend", ("a", "b"))


# -- points and values (fpnorm._internal.checks) -----------------------------------------------------------------------
class TestData:
    def test_nan_points(self):
        with pytest.raises(ValueError, match=r"Expected `points` to be finite; got NaN or inf at row\(s\) \[1\]\."):
            fit(points=[0.1, np.nan, 0.5, 0.7])

    def test_nan_values(self):
        with pytest.raises(ValueError, match=r"Expected `values` to be finite; got NaN or inf at row\(s\) \[2\]\."):
            fit(values=[0.0, 1.0, np.inf, 2.0])

    def test_subnormal_values(self):
        with pytest.raises(ValueError, match=r"Expected `values` of normal floating-point size, got max \|values\| = "
                                             r"4e-310 \(subnormal, below 2.23e-308\)"):
            fit(values=[1e-310, 4e-310, 0.0, 0.0])

    def test_length_mismatch(self):
        with pytest.raises(ValueError, match=r"Expected `values` to have 4 rows \(one per point\), got 3\."):
            fit(values=Y4[:3])

    def test_values_3d(self):
        with pytest.raises(ValueError, match=r"Expected `values` to have shape \(4,\) or \(4, m\), got shape \(4, 1, "
                                             r"1\)\."):
            fit(values=np.ones((4, 1, 1)))

    def test_values_no_columns(self):
        with pytest.raises(ValueError, match=r"Expected `values` to have at least one column, got shape \(4, 0\)\."):
            fit(values=np.ones((4, 0)))

    def test_values_text(self):
        with pytest.raises(TypeError, match=r"Expected `values` to be a numeric array, got dtype <U1\."):
            fit(values=["a", "b", "c", "d"])

    def test_dimension_mismatch(self):
        with pytest.raises(ValueError, match=r"Expected `points` to have shape \(N, 2\) to match the weight's dim=2, "
                                             r"got shape \(4, 3\)\."):
            fit(points=np.full((4, 3), 0.5), weight=W2)

    def test_zero_dim_points(self):
        with pytest.raises(ValueError, match=r"Expected `points` to have shape \(N, 1\) or \(N,\) .* got shape \(\)\."):
            fit(points=np.float64(0.3), values=1.0)

    def test_empty(self):
        with pytest.raises(ValueError, match=r"Expected `points` to hold at least one point, got 0\."):
            fit(points=[], values=[])

    def test_bool_points(self):
        with pytest.raises(TypeError, match=r"Expected `points` to hold real coordinates, got booleans "
                                            r"\(dtype bool\)\."):
            fit(points=[True, False], values=[1.0, 2.0])

    @pytest.mark.parametrize("points", [X4 + 0j, np.array(["a", "b", "c", "d"]), np.array([0.1, None, 0.5, 0.7])])
    def test_points_dtype(self, points):
        with pytest.raises(TypeError, match=r"Expected `points` to be a real numeric array, got dtype "):
            fit(points=points)

    def test_ragged_points(self):
        with pytest.raises(ValueError, match=r"Expected `points` to be a rectangular array of numbers \(rows of equal "
                                             r"length\), got a ragged or mixed sequence"):
            fit(points=[[0.1, 0.2], [0.3]], values=[1.0, 2.0], weight=W2)

    def test_ragged_values(self):
        with pytest.raises(ValueError, match=r"Expected `values` to be a rectangular array of numbers"):
            fit(values=[[1.0], [2.0, 3.0], [1.0], [1.0]])

    def test_points_too_far_to_wrap(self):
        with pytest.raises(ValueError, match=r"Expected `points` within 2\^40 periods of the origin \(\|x\| < "
                                             r"1\.1e\+12 for period 1\), got \|x\| = 1e\+300 at row 1: the float "
                                             r"spacing there is .* so the point keeps not a single bit of its position "
                                             r"on the torus\."):
            fit(points=[0.1, 1e300], values=[1.0, 2.0])

    def test_more_points_than_modes(self):
        x = np.arange(20) / 20
        with pytest.raises(ValueError, match=r"Expected at most \(2K\+1\)\^d = 9 distinct points for K = 4 in d = 1, "
                                             r"got 20: with more points than modes no exact interpolant exists\. "
                                             r"Use K >= 10\."):
            fit(points=x, values=np.ones(20), K=4)

    def test_suggested_K_is_enough(self):
        x = np.arange(20) / 20
        s = fit(points=x, values=np.cos(2 * np.pi * x), K=10)
        assert s.info.residual < 1e-10

    def test_duplicates_with_different_values_name_indices(self):
        # 0.1 and 1.1 are one point of the circle (they differ by rounding after wrapping)
        with pytest.raises(ValueError, match=r"points at indices \[0, 2\] coincide \(on the torus\) but their "
                                             r"`values` differ\."):
            fit(points=[0.1, 0.4, 1.1], values=[1.0, 2.0, 3.0])

    def test_duplicates_across_the_seam(self):
        with pytest.raises(ValueError, match=r"points at indices \[0, 1\] coincide"):
            fit(points=[0.0, 1.0 - 1e-17 - 2**-53, 0.5], values=[1.0, 2.0, 3.0])

    def test_merge_helper_exact(self):
        pts = np.array([[0.2], [0.2], [0.7]])
        with pytest.raises(ValueError, match=r"indices \[0, 1\] coincide"):
            merge_duplicates(pts, np.array([1.0, 1.5, 2.0]))


# -- weights ----------------------------------------------------------------------------------------------------
class TestWeights:
    def test_dim_type(self):
        with pytest.raises(TypeError, match=r"Expected `dim` to be a positive integer, got float 2.0\."):
            Sobolev(s=1, dim=2.0)

    def test_dim_value(self):
        with pytest.raises(ValueError, match=r"Expected `dim` to be a positive integer, got 0\."):
            PowerLaw(p=2, dim=0)

    def test_parameter_type(self):
        with pytest.raises(TypeError, match=r"Expected `p` to be a real number, got str '2'\."):
            PowerLaw(p="2")

    def test_parameter_nan(self):
        with pytest.raises(ValueError, match=r"Expected `a` to be finite, got nan\."):
            LFP(a=float("nan"), b=1.0)

    def test_parameter_negative(self):
        with pytest.raises(ValueError, match=r"Expected `s` >= 0.0, got -1.0\."):
            Sobolev(s=-1)

    def test_zero_not_allowed(self):
        with pytest.raises(ValueError, match=r"Expected `zero` > 0.0, got 0.0\."):
            PowerLaw(p=2, zero=0.0)

    def test_lfp_both_zero(self):
        with pytest.raises(ValueError, match=r"Expected `a` and `b` not both zero, got a = 0, b = 0\."):
            LFP(a=0, b=0)

    def test_lattice_dtype(self):
        with pytest.raises(TypeError, match=r"Expected `k` to be an integer array of lattice points, got dtype "
                                            r"float64\."):
            W1.gamma2(0.5)

    def test_lattice_huge_float(self):
        with pytest.raises(TypeError, match=r"Expected `k` to be an integer array"):
            W1.gamma2(np.array([1e30]))

    def test_lattice_ragged(self):
        with pytest.raises(ValueError, match=r"Expected `k` to be a rectangular integer array of lattice points"):
            W2.gamma2([[1, 2], [3]])

    def test_lattice_shape(self):
        with pytest.raises(ValueError, match=r"Expected `k` to have shape \(\.\.\., 2\) for a weight of dim=2, "
                                             r"got shape \(3,\)\."):
            W2.gamma2([1, 2, 3])

    def test_box_K_negative(self):
        with pytest.raises(ValueError, match=r"Expected `K` >= 0, got -1\."):
            W1.box(-1)

    def test_box_K_float(self):
        with pytest.raises(TypeError, match=r"Expected `K` to be an integer, got float 2.5\."):
            W1.box(2.5)

    def test_box_memory(self):
        with pytest.raises(MemoryEstimateError, match=r"the weight on the box \|k\|_inf <= 1000000 in d = 3 .* needs "
                                                      r"about .* but only .* is available\. Use a smaller `K`\."):
            PowerLaw(p=4, dim=3).box(10**6)

    def test_underflowing_weight(self):
        with pytest.raises(ValueError, match=r"to give gamma\(k\)\^2 > 0 \(or inf\) at every k, got 0.0 at array index "
                                             r"\(0,\) \(it underflows: the weight decays too fast for this K\)\."):
            PowerLaw(p=400).box(64)

    def test_overflowing_weight(self):
        with pytest.raises(ValueError, match=r"Expected the weight LFP\(a=1e\+308, b=1e\+308, zero=None, dim=1\) to be "
                                             r"finite at k != 0, but gamma\(k\)\^2 overflows to inf at k = \[-1\]; use "
                                             r"smaller parameters\."):
            fit(weight=LFP(a=1e308, b=1e308))

    def test_callable_negative(self):
        w = Weight.from_callable(lambda k: -np.ones(len(k)), dim=1)
        with pytest.raises(ValueError, match=r"to give gamma\(k\)\^2 > 0 \(or inf\) at every k, got -1.0 at array "
                                             r"index \(0,\)\.$"):
            fit(weight=w)

    def test_callable_nan(self):
        w = Weight.from_callable(lambda k: np.full(len(k), np.nan), dim=1)
        with pytest.raises(ValueError, match=r"got nan at array index"):
            fit(weight=w)

    def test_callable_not_even(self):
        w = Weight.from_callable(lambda k: 1.0 / (k[:, 0] + 10.0), dim=1)
        with pytest.raises(ValueError, match=r"to be even, gamma\(k\) = gamma\(-k\); it differs at array "
                                             r"index \(0,\)\."):
            fit(weight=w)

    def test_callable_wrong_shape(self):
        w = Weight.from_callable(lambda k: np.ones((len(k), 2)), dim=1)
        with pytest.raises(ValueError, match=r"Expected the weight function to return shape \(16,\) for k of shape "
                                             r"\(16, 1\), got \(16, 2\)\."):
            fit(weight=w)

    @pytest.mark.parametrize("ret, dtype", [(lambda k: np.ones(len(k)) * (1 + 1j), "complex128"),
                                            (lambda k: "a", "<U1"), (lambda k: None, "object")])
    def test_callable_wrong_dtype(self, ret, dtype):
        w = Weight.from_callable(ret, dim=1)
        with pytest.raises(TypeError, match=rf"Expected the weight function to return real numbers gamma\(k\)\^2, "
                                            rf"got dtype {re.escape(dtype)}\."):
            fit(weight=w)

    def test_callable_raises(self):
        w = Weight.from_callable(lambda k: 1 / 0, dim=1)
        with pytest.raises(ValueError, match=r"The weight function .* failed on lattice points of shape \(16, 1\): "
                                             r"ZeroDivisionError: division by zero"):
            fit(weight=w)

    def test_callable_not_callable(self):
        with pytest.raises(TypeError, match=r"Expected `fn` to be callable, got int\."):
            Weight.from_callable(3, dim=1)

    def test_callable_has_no_spec(self):
        with pytest.raises(ValueError, match=r"A weight made from a callable has no spec string"):
            Weight.from_callable(np.ones_like, dim=1).spec()


class TestSpecs:
    def test_type(self):
        with pytest.raises(TypeError, match=r"Expected `spec` to be a string like 'power:p=4', got int\."):
            weight_from_spec(4)

    def test_kind(self):
        with pytest.raises(ValueError, match=r"Expected the weight kind in `spec` to be one of \['lfp', 'power', "
                                             r"'sobolev'\], got 'gauss'"):
            weight_from_spec("gauss:s=1")

    def test_parameter_name(self):
        with pytest.raises(ValueError, match=r"Expected `spec` parameters NAME=VALUE with NAME in \['p', 'zero', "
                                             r"'dim'\] for kind 'power', got 'q=2'\."):
            weight_from_spec("power:q=2")

    def test_parameter_twice(self):
        with pytest.raises(ValueError, match=r"Expected each parameter once in weight spec 'power:p=2,p=3', got `p` "
                                             r"twice\."):
            weight_from_spec("power:p=2,p=3")

    def test_number(self):
        with pytest.raises(ValueError, match=r"Expected a number for `p` in weight spec 'power:p=abc', got 'abc'\."):
            weight_from_spec("power:p=abc")

    def test_dim_not_integer(self):
        with pytest.raises(ValueError, match=r"Expected an integer for `dim` in weight spec 'power:p=2,dim=1.5', got "
                                             r"'1.5'\."):
            weight_from_spec("power:p=2,dim=1.5")

    def test_dim_conflict(self):
        with pytest.raises(ValueError, match=r"Expected the weight spec's dim=2 to match `dim`=3\."):
            weight_from_spec("power:p=2,dim=2", dim=3)

    def test_missing(self):
        with pytest.raises(ValueError, match=r"Expected weight spec 'lfp:a=1' to give b\."):
            weight_from_spec("lfp:a=1")

    def test_nan_parameter(self):
        with pytest.raises(ValueError, match=r"Expected `p` to be finite, got nan\."):
            weight_from_spec("power:p=nan")


# -- h_ini and evaluation (interpolant) -------------------------------------------------------------------------
class TestInitialFunction:
    def test_not_called_before_the_cheap_checks(self):
        calls = []

        def h_ini(q):
            calls.append(q.shape)
            return np.zeros(q.shape[0])

        with pytest.raises(ValueError, match=r"Expected at most \(2K\+1\)\^d = 3 distinct points for K = 1"):
            fit(h_ini=h_ini, K=1)
        assert calls == []

    def test_wrong_shape(self):
        with pytest.raises(ValueError, match=r"Expected `h_ini` to return shape \(4,\) for 4 points, got \(3,\)\."):
            fit(h_ini=lambda q: np.ones(3))

    def test_nan(self):
        with pytest.raises(ValueError, match=r"Expected `h_ini` to return finite values; got NaN or inf\."):
            fit(h_ini=lambda q: q * np.nan)

    def test_text(self):
        with pytest.raises(TypeError, match=r"Expected `h_ini` to return numbers, got dtype <U1\."):
            fit(h_ini=lambda q: np.array(["a"] * len(q)))

    def test_raises(self):
        with pytest.raises(ValueError, match=r"Calling `h_ini` on points of shape \(4,\) failed: KeyError: 'x'"):
            fit(h_ini=lambda q: {}["x"])

    def test_coefficients_dtype(self):
        with pytest.raises(TypeError, match=r"Expected `h_ini` to be None, a callable or a coefficient array, got "
                                            r"dtype <U3\."):
            fit(h_ini="abc")

    def test_coefficients_even_length(self):
        with pytest.raises(ValueError, match=r"Expected `h_ini` coefficients of shape \(2K'\+1,\)\*1 \(odd, equal "
                                             r"sides\), got shape \(4,\)\."):
            fit(h_ini=np.ones(4))

    def test_coefficients_nan(self):
        with pytest.raises(ValueError, match=r"Expected `h_ini` coefficients to be finite; got NaN or inf\."):
            fit(h_ini=np.array([0.0, np.nan, 0.0]))


class TestEvaluation:
    def test_query_shape(self):
        s = fit(points=[[0.1, 0.2], [0.5, 0.6]], values=[1.0, 2.0], weight=W2, K=3)
        with pytest.raises(ValueError, match=r"Expected `query` to have shape \(Q, 2\), got shape \(2, 3\)\."):
            s(np.zeros((2, 3)))

    def test_query_nan(self):
        with pytest.raises(ValueError, match=r"Expected `query` to be finite; got NaN or inf\."):
            fit()([0.1, np.nan])

    def test_query_complex(self):
        with pytest.raises(TypeError, match=r"Expected `query` to be a real numeric array, got dtype complex128\."):
            fit()(np.array([0.1 + 1j]))

    def test_query_memory(self, monkeypatch):
        s = fit()
        small_memory(monkeypatch, 10_000)
        # the float copy (8 bytes a point) and as_query's magnitudes, wrapped copy and masks (18 bytes a point)
        with pytest.raises(MemoryEstimateError, match=r"checking 1000 points of `query` in d = 1 needs about 25.4 KiB, "
                                                      r"but only 9.8 KiB is available\. Pass fewer points in `query` "
                                                      r"\(evaluate in batches\)\."):
            s(np.linspace(0, 1, 1000))

    def test_function_helper_shape_2d(self):
        x = np.zeros((3, 2))
        with pytest.raises(ValueError, match=r"Expected `f` to return shape \(3,\) for 3 points, got \(3, 2\)\."):
            evaluate_function(lambda q: q, x, "f", 3, 2)


# -- memory estimates -------------------------------------------------------------------------------------------
class TestMemory:
    def test_huge_K_before_allocating(self):
        with pytest.raises(MemoryEstimateError, match=r"the coefficient box \|k\|_inf <= 1000000000000 in d = 1 "
                                                      r"\(2000000000001 modes\) needs about .* TiB") as err:
            fit(K=10**12)
        assert err.value.required > 10**14 and err.value.available > 0

    def test_qr_estimate_carried(self, monkeypatch):
        x = np.arange(50) / 50
        M = 2 * 64 + 1
        need = qr_memory_estimate(50, M)
        small_memory(monkeypatch, need)  # the box fits, the QR workspace (needs > 0.8 * available) does not
        with pytest.raises(MemoryEstimateError, match=r"the QR solve \(50 points x 129 modes\) needs about .* but only "
                                                      r".* is available\. Use a smaller K") as err:
            fit(points=x, values=np.cos(2 * np.pi * x), K=64, method="qr")
        assert err.value.required == need and err.value.available == need

    def test_kernel_matrix_estimate(self, monkeypatch):
        small_memory(monkeypatch, 1000)
        t = np.linspace(0, 6, 40)[:, None]
        with pytest.raises(MemoryEstimateError, match=r"the 40 x 40 kernel matrix needs about [\d.]+ KiB, but only "
                                                      r"1000 B is available\. Use method='iterative' or fewer "
                                                      r"points\.") as err:
            transforms.kernel_matrix(t, np.ones(9))
        assert err.value.required >= 8 * 40 * 40 and err.value.available == 1000


# -- transforms -------------------------------------------------------------------------------------------------
class TestTransforms:
    def test_backend(self):
        with pytest.raises(ValueError, match=r"Expected `backend` to be one of \('auto', 'finufft', 'direct'\), got "
                                             r"'fft'\."):
            transforms.evaluate(np.ones(3, dtype=complex), np.zeros((2, 1)), backend="fft")

    def test_finufft_dimension(self):
        with pytest.raises(ValueError, match=r"finufft supports d <= 3; got d = 4\. Use backend='direct'\."):
            transforms.evaluate(np.ones((3,) * 4, dtype=complex), np.zeros((2, 4)), backend="finufft")


# -- free modes (solvers.problem) -------------------------------------------------------------------------------
def _free_at(k_free):
    """A weight with gamma = inf at |k| = k_free (and at k = 0 unless zero is given)."""
    return Weight.from_callable(lambda k: np.where(np.abs(k[:, 0]) == k_free, np.inf, 1.0 / k[:, 0] ** 4.0),
                                dim=1, zero=1.0)


class TestFreeModes:
    def test_more_free_modes_than_points(self):
        with pytest.raises(ValueError, match=r"Expected at most as many unpenalised modes as distinct points: 2 free "
                                             r"real basis functions, 1 points"):
            fit(points=[0.3], values=[1.0], weight=_free_at(2))

    def test_free_modes_dependent_at_points(self):
        # cos(4 pi x), sin(4 pi x) take the same values at x and x + 1/2
        with pytest.raises(ValueError, match=r"The 2 unpenalised basis functions are linearly dependent at the given "
                                             r"points \(rank < 2\)"):
            fit(points=[0.1, 0.6], values=[1.0, 2.0], weight=_free_at(2))

    def test_as_many_free_modes_as_points_is_solvable(self):
        # one point, free mean: the interpolant is the constant (zero norm), exactly
        s = fit(points=[0.3], values=[2.5])
        assert s.norm == 0.0
        np.testing.assert_array_equal(s([0.0, 0.77]), [2.5, 2.5])


# -- numerical failure and escalation (solvers.solve) -----------------------------------------------------------
# Which way a nearly singular factorisation falls (Cholesky breaking down, or completing inaccurately) is decided
# in the last bits and differs between CPUs and BLAS kernels. So: each escalation branch is driven by a patched
# runner (deterministic), singular problems are singular by construction (exactly coincident points handed to
# solve(), whose design has two identical rows), and genuinely ill-conditioned close pairs assert only what the
# user is promised, whichever way the factorisation fell.
def _close_pair(sep, values=(0.0, 1.0, 0.5, 0.2)):
    return np.array([0.1, 0.1 + sep, 0.5, 0.7]), np.array(values)


def _coincident_problem(values, K=64, weight=W1):
    """The problem solve() gets for points 0.1, 0.1, 0.5, 0.7: the first two are one angle, bit for bit, so the
    design has two identical rows (FPInterpolator merges or refuses such points; solve() is handed them directly).
    With values differing by delta there, no function fits both: every h misses one of them by delta / 2 or more,
    and the least-squares fit misses each by exactly delta / 2."""
    t = 2 * np.pi * np.array([[0.1], [0.1], [0.5], [0.7]])
    return Problem(t, np.asarray(values, dtype=float)[:, None], K, weight.box(K))


def _true_residual(s):
    """max |h(x_n) - y_n| / max |y| with h summed exactly (mpmath, 40 digits) at the interpolator's points."""
    return mp_residual(s.coef, s.points, s.values, s.period)


@pytest.fixture
def prefer_cholesky(monkeypatch):
    """Make "auto" start with Cholesky on small problems (its cost model otherwise picks QR there)."""
    monkeypatch.setattr(solvers, "choose_method", lambda *shape: "cholesky")


_LEFT_CHOLESKY = re.compile(r"cholesky: (factorisation failed \(.+\); the kernel matrix is numerically singular"
                            r"|residual (\S+) > rtol 1e-10 \(condition ~ \S+\))$")


class TestEscalation:
    def test_auto_starts_with_cholesky_when_told(self, prefer_cholesky):
        x, y = _close_pair(0.2)
        s = fit(points=x, values=y, K=64)
        assert s.info.method == "cholesky" and s.info.attempts == [] and s.info.residual < 1e-12

    def test_cholesky_breakdown_falls_back_to_qr(self, monkeypatch, prefer_cholesky):
        # the branch itself: Cholesky raises as LAPACK's does on a matrix that is not numerically positive definite
        def breaks_down(problem, **options):
            raise np.linalg.LinAlgError("3-th leading minor of the array is not positive definite")

        monkeypatch.setitem(solvers._RUNNERS, "cholesky", breaks_down)
        x, y = _close_pair(0.2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = fit(points=x, values=y, K=64)
        assert s.info.method == "qr" and s.info.residual < 1e-12
        assert s.info.attempts == ["cholesky: factorisation failed (3-th leading minor of the array is not positive "
                                   "definite); the kernel matrix is numerically singular"]
        assert np.array_equal(s.coef, fit(points=x, values=y, K=64, method="qr").coef)  # QR's answer, untouched

    def test_cholesky_inaccurate_escalates_to_qr(self, monkeypatch):
        # the branch itself: Cholesky completes, but its h is (1 + 1e-6) times the interpolant, so its residual is
        # 1e-6 max|y| by construction (to rounding of 1e-15), far above rtol = 1e-10
        real = solvers._RUNNERS["cholesky"]

        def inaccurate(problem, **options):
            sol = real(problem, **options)
            sol.coef = sol.coef * (1.0 + 1e-6)
            return sol

        monkeypatch.setitem(solvers._RUNNERS, "cholesky", inaccurate)
        x, y = _close_pair(0.2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = fit(points=x, values=y, K=64, method="cholesky")
        assert s.info.method == "qr" and s.info.residual < 1e-12
        assert len(s.info.attempts) == 1
        assert re.fullmatch(r"cholesky: residual 1\.00e-06 > rtol 1e-10 \(condition ~ \S+\)", s.info.attempts[0])

    @pytest.mark.parametrize("sep, weight, data", [(1e-12, PowerLaw(p=2), "cos"), (1e-9, W1, "cos+x"),
                                                   (1e-10, W1, "jump"), (1e-14, W1, "jump")])
    def test_close_pairs_keep_the_promise_whichever_way_cholesky_falls(self, prefer_cholesky, sep, weight, data):
        # genuinely ill-conditioned (two points sep apart, K = 64): Cholesky may break down, complete inaccurately or
        # complete accurately depending on the CPU's rounding; whichever it does, the user gets an interpolant within
        # rtol, or one with an AccuracyWarning carrying the true residual, or a SolveError when it is unusable
        x, _ = _close_pair(sep)
        y = {"cos": np.cos(2 * np.pi * x), "cos+x": np.cos(2 * np.pi * x) + x,
             "jump": np.array([0.0, 1.0, 0.5, 0.2])}[data]
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            try:
                s = fit(points=x, values=y, weight=weight, K=64)
            except SolveError as err:
                assert err.residual > 1e-4 and err.method in ("cholesky", "qr", "svd")
                assert (f"The best solve ({err.method}) misses the data by a relative {err.residual:.2e} (condition ~ "
                        f"{err.condition:.1e}); no usable interpolant.") in str(err)
                return
        info = s.info
        warned = [str(w.message) for w in record if issubclass(w.category, AccuracyWarning)]
        if info.residual <= 1e-10:
            assert warned == []
        else:
            assert info.residual <= 1e-4
            assert warned[0] == (f"Interpolation residual {info.residual:.2e} ({info.residual_kind}) exceeds rtol = "
                                 f"1e-10 (method {info.method}, condition ~ {info.condition:.1e}).")
            assert all(w.startswith("Rounding the points themselves") for w in warned[1:])
        # the method and the record agree: Cholesky was tried first, and left only with a reason that is recorded
        left = [m for m in map(_LEFT_CHOLESKY.match, info.attempts) if m]
        if info.method == "cholesky" and info.residual <= 1e-10:
            assert left == []
        elif info.method == "cholesky":  # it missed rtol, and QR did no better
            assert len(left) == 1 and left[0].group(2) == f"{info.residual:.2e}"
        else:
            assert info.method in ("qr", "svd") and len(left) == 1
            assert left[0].group(2) is None or float(left[0].group(2)) > 1e-10
        # the reported residual is never below the true one (mpmath at the points), and within 10% of it when "exact"
        true = _true_residual(s)
        assert info.residual >= true
        if info.residual_kind == "exact":
            assert info.residual <= (1 + EXACT_SHARE) * true

    def test_degraded_accuracy_warns_with_numbers(self):
        # exactly coincident points whose values differ by 2e-6: the best fit misses each by 1e-6 (usable: a
        # warning, not an error), and that is what solve() returns, the least-squares fit of the singular design
        with pytest.warns(AccuracyWarning, match=r"Interpolation residual 1\.00e-06 \(exact\) exceeds rtol = 1e-10 "
                                                 r"\(method (qr|svd), condition ~ \S+\)\."):
            sol = solvers.solve(_coincident_problem([1.0, 1.0 + 2e-6, 0.5, 0.2]))
        assert sol.info.residual == pytest.approx(1e-6 / (1.0 + 2e-6), rel=1e-6)
        assert sol.info.condition > 1e20

    def test_unusable_answer_raises_with_numbers(self):
        # exactly coincident points with values 0 and 1: every h misses one of them by 1/2 or more
        with pytest.raises(SolveError, match=r"The best solve \((qr|svd)\) misses the data by a relative 5\.00e-01 "
                                             r"\(condition ~ \S+\); no usable interpolant\.") as err:
            solvers.solve(_coincident_problem([0.0, 1.0, 0.5, 0.2]))
        assert err.value.residual == pytest.approx(0.5, rel=1e-9) and err.value.condition > 1e20
        assert err.value.method in ("qr", "svd")

    def test_coefficients_overflow(self):
        with pytest.raises(SolveError, match=r"The interpolant's coefficients overflow the float range \(data of size "
                                             r"~2\^1024\); scale `values` down\.") as err:
            fit(points=[0.1, 0.15, 0.6], values=[1.7e308, -1.7e308, 1e308])
        assert err.value.residual < 1e-12  # the normalised solve itself was fine

    def test_no_method_answers(self, monkeypatch):
        def broken(problem, **options):
            raise np.linalg.LinAlgError("singular")

        monkeypatch.setattr(solvers, "_RUNNERS", {"qr": broken, "cholesky": broken, "iterative": broken})
        with pytest.raises(SolveError, match=r"No solve method produced an answer: cholesky: factorisation failed "
                                             r"\(singular\); the kernel matrix is numerically singular; qr: "):
            fit(method="cholesky")

    def test_nan_attempt_never_wins(self, monkeypatch, prefer_cholesky):
        real_qr = solvers._RUNNERS["qr"]

        def nan_cholesky(problem, **options):
            sol = real_qr(problem)
            sol.coef = sol.coef * np.nan
            sol.info.residual, sol.info.method = float("nan"), "cholesky"
            return sol

        monkeypatch.setattr(solvers, "_RUNNERS", {"qr": real_qr, "cholesky": nan_cholesky})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = fit(method="auto", K=64)
        assert s.info.method == "qr" and np.isfinite(s.coef).all()
