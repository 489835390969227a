"""Tests of fpnorm.plotting: figures build headless, are labelled, and show what they claim."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from fpnorm import LFP, LFPFlow, ShellErrors  # noqa: E402
from fpnorm.plotting import plot_flow_heatmap  # noqa: E402


def target(q):
    return sum(np.cos(2 * np.pi * k * q + k) for k in range(1, 7))


@pytest.fixture(scope="module", params=[(1.0, 1.0), (1.0, 0.0), (0.0, 1.0)], ids=["lfp", "lfp-a", "lfp-b"])
def history(request):
    a, b = request.param
    x = np.random.default_rng(0).random(64)
    flow = LFPFlow(x, target(x), weight=LFP(a=a, b=b, dim=1), K=32)
    return flow.shell_errors(target, np.concatenate([[0.0], np.logspace(-2, 5, 71)]))


# -- F-principle heatmap --------------------------------------------------------------------------------------------
def test_heatmap_builds_with_labels_and_colorbar(history, tmp_path):
    fig = plot_flow_heatmap(history, level=0.5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time t"
    assert ax.get_ylabel() == "frequency shell |k|"
    assert ax.get_xscale() == "log"
    assert fig.axes[1].get_ylabel() == "log10 relative error"       # the colour bar
    mesh = ax.collections[0].get_array()
    assert mesh.shape == (history.shells.size, history.times.size - 1)   # t = 0 left out of the log axis
    fig.savefig(tmp_path / "heat.png")
    assert (tmp_path / "heat.png").stat().st_size > 0


def test_low_shells_converge_first_for_lfp_weights(history):
    # from the numbers...
    first = history.convergence_times(0.5, stay=False)[1:7]
    settled = history.convergence_times(0.5)[1:7]
    assert np.all(np.isfinite(settled)) and np.all(np.diff(first) > 0) and np.all(np.diff(settled) > 0)
    # ...and from the picture itself: the column where each shell's colour first drops below log10(0.5)
    fig = plot_flow_heatmap(history)
    img = fig.axes[0].collections[0].get_array()                   # (S, T) masked log10 errors
    crossing = [int(np.argmax(img[s].filled(np.inf) <= np.log10(0.5))) for s in range(1, 7)]
    assert all(c > 0 for c in crossing) and np.all(np.diff(crossing) > 0)


def test_heatmap_draws_into_given_axes_and_marks_level(history):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert plot_flow_heatmap(history, level=0.5, ax=ax) is fig
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), history.convergence_times(0.5)[1:7])


def test_heatmap_bad_input_raises(history):
    with pytest.raises(TypeError, match="Expected `shell_errors` to be a ShellErrors"):
        plot_flow_heatmap(history.errors)
    with pytest.raises(ValueError, match="Expected `shell_errors` to hold at least 2 positive finite times"):
        plot_flow_heatmap(ShellErrors(np.array([0.0, 1.0]), history.shells, history.errors[:2], history.initial))
    with pytest.raises(ValueError, match=r"Expected `floor` > 0.0, got -1.0"):
        plot_flow_heatmap(history, floor=-1.0)
