"""Points merge only when they coincide on the torus, to a tolerance tied to their own inputs; coordinates too far
out to place a point on the torus are refused.

Every point here is exactly representable and every distance is a power of two, so each merging decision is decided
by construction (a distance at half or twice the tolerance), not by rounding.
"""

import numpy as np
import pytest

from fpnorm import FPInterpolator, LFPFlow, PowerLaw
from fpnorm._internal.checks import as_points, duplicate_tolerance, merge_duplicates

EPS = np.finfo(float).eps
W = PowerLaw(p=4, dim=1)


def _merge(points, values, period=1.0):
    x = np.asarray(points, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    wrapped, scale = as_points(x, x.shape[1], period, return_scale=True)
    return merge_duplicates(wrapped, np.asarray(values, dtype=float), period=period,
                            tol=duplicate_tolerance(scale, period))


def test_tolerance_is_four_eps_of_the_points_own_coordinates():
    scale = np.array([[0.25, 3.0], [2.0**30, 0.0]])
    assert np.array_equal(duplicate_tolerance(scale, 1.0), 4 * EPS * np.array([[1.0, 3.0], [2.0**30, 1.0]]))


# a point 2^39 periods out pins the interpolant only to its float spacing: the sensitivity warning is expected
@pytest.mark.filterwarnings("ignore::fpnorm.exceptions.AccuracyWarning")
def test_far_point_does_not_widen_the_others():
    """2^39 is 0 on the circle exactly; 0.25 and 0.25 + 2^-12 are 2^-12 apart, 2^40 times their tolerance 4 eps.
    A tolerance scaled by the largest |x| in the set (4 eps 2^39 = 2^-11) would merge them."""
    x = np.array([2.0**39, 0.25, 0.25 + 2.0**-12])
    s = FPInterpolator(x, [0.0, 1.0, 1.0], weight=W, K=64)
    assert s.kept.tolist() == [0, 1, 2]
    assert np.array_equal(s.points[:, 0], [0.0, 0.25, 0.25 + 2.0**-12])
    assert np.allclose(s(x), [0.0, 1.0, 1.0], rtol=0, atol=1e-9)


def test_merging_decided_by_each_points_own_scale():
    """3 * 2^20 + 0.25 wraps to 0.25 exactly; its own tolerance is 4 eps (3 * 2^20 + 0.25) ~ 3 * 2^-30, so 0.25 + 2^-31
    (distance 2^-31) is the same point; 0.5 and 0.5 + 2^-31, whose inputs are small, are not."""
    x = [3 * 2.0**20 + 0.25, 0.25 + 2.0**-31, 0.5, 0.5 + 2.0**-31]
    _, _, keep = _merge(x, [1.0, 1.0, 2.0, 3.0])
    assert keep.tolist() == [0, 2, 3]
    with pytest.raises(ValueError, match=r"points at indices \[0, 1\] coincide \(on the torus\) but their `values` "
                                         r"differ\."):
        FPInterpolator(x, [1.0, 2.0, 3.0, 4.0], weight=W, K=64)


@pytest.mark.parametrize("period", [1.0, 3.0])
def test_half_and_twice_the_tolerance(period):
    """For |x| <= P the tolerance is 4 eps P: 2 eps P apart merge, 8 eps P apart do not (P = 3 is not a power of two;
    the offsets are multiples of the spacing at 0.25 P and 0.75 P, so every coordinate is exact)."""
    a, b, u = 0.25 * period, 0.75 * period, EPS * period
    _, _, keep = _merge([a, a + 2 * u, b, b + 8 * u], [1.0, 1.0, 2.0, 2.0], period)
    assert keep.tolist() == [0, 2, 3]


def test_coincidence_is_per_axis():
    """In 2-d a far-out first coordinate widens only the first axis: the second coordinates 0.25 and 0.25 + 2^-31
    are distinct points (their own tolerance is 4 eps), though 2^-31 < 4 eps (3 * 2^20)."""
    x = np.array([[3 * 2.0**20 + 0.5, 0.25], [0.5, 0.25 + 2.0**-31], [0.5 + 2.0**-31, 0.75], [0.5, 0.75]])
    _, _, keep = _merge(x, [1.0, 1.0, 2.0, 2.0])
    assert keep.tolist() == [0, 1, 2, 3]
    _, _, keep = _merge(x[[0, 1, 3]] + [[0.0, 0.0], [2.0**-31, -(2.0**-31)], [0.0, 0.0]], [1.0, 1.0, 2.0])
    # row 1 is now (0.5 + 2^-31, 0.25): 2^-31 from row 0 in axis 0, which row 0's own tolerance (~3 * 2^-30) covers
    assert keep.tolist() == [0, 2]


@pytest.mark.parametrize("points, values, keep", [
    ([0.1, 0.4, 1.1], [1.0, 2.0, 1.0], [0, 1]),          # 1.1 mod 1 differs from 0.1 by rounding (8.3e-17)
    ([-0.25, 0.75, 0.5], [1.0, 1.0, 2.0], [0, 2]),       # -0.25 mod 1 = 0.75 exactly
    ([1.0 - 2.0**-53, 0.0, 0.5], [1.0, 1.0, 2.0], [0, 2]),   # across the seam: 2^-53 apart
    ([0.5 - 2.0**-10, 0.5, 0.5 + 2.0**-10], [1.0, 2.0, 3.0], [0, 1, 2]),
])
def test_representations_of_one_point_merge(points, values, keep):
    assert _merge(points, values)[2].tolist() == keep


def test_first_group_with_different_values_is_named():
    with pytest.raises(ValueError, match=r"points at indices \[1, 3\] coincide"):
        _merge([0.1, 0.2, 0.3, 1.2, 0.4, 2.4], [1.0, 2.0, 3.0, 5.0, 4.0, 6.0])


def test_far_points_are_refused_with_the_precision_left():
    # 2^41 has float spacing 2^-11: 11 bits (3.3 digits) of the period are left
    with pytest.raises(ValueError, match=r"Expected `points` within 2\^40 periods of the origin \(\|x\| < 1\.1e\+12 "
                                         r"for period 1\), got \|x\| = 2\.199e\+12 at row 0: the float spacing there "
                                         r"is 0\.000488 \(0\.00049 of the period\), so the point keeps only 11 bits "
                                         r"\(3\.3 digits\) of its position on the torus\."):
        FPInterpolator([2.0**41, 0.3, 0.5], [0.0, 1.0, 1.0], weight=W, K=64)
    # 1e14 is exactly 0 on the circle, but a double there is only pinned to 2^-6 of the period
    with pytest.raises(ValueError, match=r"got \|x\| = 1e\+14 at row 0: .* keeps only 6 bits \(1\.8 digits\)"):
        FPInterpolator([1e14, 0.30, 0.38], [0.0, 1.0, 1.0], weight=W, K=64)
    with pytest.raises(ValueError, match=r"Expected `points` within 2\^40 periods .* at row 1"):
        FPInterpolator([[0.1, 0.2], [0.3, -(2.0**40)]], [0.0, 1.0], weight=PowerLaw(p=4, dim=2), K=8)
    with pytest.raises(ValueError, match=r"Expected `points` within 2\^40 periods"):
        LFPFlow([0.1, 2.0**41], [0.0, 1.0], weight=W, K=8)


# a point 2^39 periods out pins the interpolant only to its float spacing: the sensitivity warning is expected
@pytest.mark.filterwarnings("ignore::fpnorm.exceptions.AccuracyWarning")
@pytest.mark.parametrize("period", [1.0, 3.0])
def test_the_limit_is_two_to_the_forty_periods(period):
    edge = 2.0**40 * period
    below = np.nextafter(edge, 0.0)
    s = FPInterpolator([below, 0.5 * period], [1.0, 2.0], weight=W, K=8, period=period)
    assert s.points[0, 0] == period - (edge - below)   # edge is a multiple of the period: the reduction is exact
    with pytest.raises(ValueError, match=r"within 2\^40 periods"):
        FPInterpolator([edge, 0.5 * period], [1.0, 2.0], weight=W, K=8, period=period)


def test_query_follows_the_same_rule():
    s = FPInterpolator([0.1, 0.5], [0.0, 1.0], weight=W, K=8)
    below = 2.0**40 - 2.0**-13
    assert np.array_equal(s(np.array([below])), s(np.array([1.0 - 2.0**-13])))
    with pytest.raises(ValueError, match=r"Expected `query` within 2\^40 periods .* keeps only 11 bits"):
        s(np.array([0.2, 2.0**41]))
    flow = LFPFlow([0.1, 0.5], [0.0, 1.0], weight=W, K=8)
    with pytest.raises(ValueError, match=r"Expected `query` within 2\^40 periods"):
        flow(1.0, np.array([-(2.0**41)]))


def test_flow_keeps_repeated_points():
    x = np.array([0.1, 0.1, 1.1, 0.6])
    flow = LFPFlow(x, [1.0, 1.0, 1.0, 2.0], weight=W, K=8)
    assert flow.points.shape == (4, 1)
