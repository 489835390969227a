"""fpnorm.plotting, bound section: the drawn bound and risk estimates are exactly the numbers given."""

import numpy as np
import pytest

from fpnorm.plotting import new_figure, plot_bound_curve


def test_bound_curve_draws_the_numbers_on_log_axes():
    M = np.array([10.0, 100.0, 1000.0, 10000.0])
    delta = 0.05
    bound = 1.7 * (2 / np.sqrt(M) + 4 * np.sqrt(2 * np.log(4 / delta) / M))  # the bound's M dependence
    fig, ax = new_figure()
    out = plot_bound_curve(M, bound, risk_M=M[:3], risk=[0.1, 0.03, 0.01], risk_err=[0.2, 0.01, 0.0], ax=ax,
                           title="bound")
    assert out is fig
    line = ax.lines[0]
    assert np.array_equal(line.get_xdata(), M) and np.array_equal(line.get_ydata(), bound)
    slope = np.diff(np.log(line.get_ydata())) / np.diff(np.log(line.get_xdata()))
    assert np.allclose(slope, -0.5)  # a straight line of slope -1/2 on log-log axes
    assert (ax.get_xscale(), ax.get_yscale(), ax.get_title()) == ("log", "log", "bound")
    points = ax.lines[1]
    assert np.array_equal(points.get_xdata(), M[:3]) and np.array_equal(points.get_ydata(), [0.1, 0.03, 0.01])
    # the lower error bar of the first point is clipped above zero (log axis), the upper one is as given
    segs = ax.collections[0].get_segments()
    assert segs[0][1][1] == pytest.approx(0.3) and segs[0][0][1] > 0
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "a-priori bound" and "Monte-Carlo" in labels[1]
    assert "E|h_M - f|" in ax.get_ylabel() and "M" in ax.get_xlabel()


def test_bound_curve_without_risks():
    fig = plot_bound_curve([1, 2, 4], [1.0, 0.7, 0.5])
    assert len(fig.axes[0].lines) == 1


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(M=[1, 2], bound=[1.0, np.inf]), ValueError, r"Expected `bound` to be finite, got inf \(an infinite bound "
                                                      r"is vacuous"),
    (dict(M=[0, 2], bound=[1.0, 1.0]), ValueError, r"Expected `M` to be > 0 on a log axis, got 0.0"),
    (dict(M=[1, 2], bound=[1.0]), ValueError, r"Expected `bound` to have the shape of `M` \(2,\), got \(1,\)"),
    (dict(M=["a"], bound=[1.0]), TypeError, r"Expected `M` to be a real numeric array, got dtype <U1"),
    (dict(M=[[1.0]], bound=[1.0]), ValueError, r"Expected `M` to have shape \(n,\) with n >= 1, got shape \(1, 1\)"),
    (dict(M=[1, 2], bound=[1, 1], risk=[0.1]), ValueError, r"Expected `risk_M` and `risk` together"),
    (dict(M=[1, 2], bound=[1, 1], risk_M=[1], risk=[0.1, 0.2]), ValueError,
     r"Expected `risk` to have the shape of `risk_M` \(1,\), got \(2,\)"),
    (dict(M=[1, 2], bound=[1, 1], risk_M=[1], risk=[0.1], risk_err=[-1.0]), ValueError,
     r"Expected `risk_err` to be >= 0 on a log axis, got -1.0"),
    (dict(M=[1, 2], bound=[1, 1], risk_M=[1], risk=[0.1], risk_err=[1.0, 2.0]), ValueError,
     r"Expected `risk_err` to have the shape of `risk_M` \(1,\), got \(2,\)"),
    (dict(M=[1, 2], bound=[1, 1], risk_err=[1.0]), ValueError,
     r"Expected `risk_err` only together with `risk_M` and `risk`"),
])
def test_bound_curve_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot_bound_curve(**kwargs)
