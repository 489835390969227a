"""fpnorm.plotting, interpolant section: what is drawn equals the functions drawn (checked against exact maths)."""

import matplotlib
import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from fpnorm import FPInterpolator, PowerLaw
from fpnorm.plotting import LINE_STYLES, new_figure, plot_curves_1d, plot_interpolant_2d, save_figure

matplotlib.use("Agg")


def test_curves_1d_draws_the_function_values_and_labels():
    fig, ax = new_figure()
    x = np.linspace(-1.0, 2.0, 301)
    out = plot_curves_1d({"sin": np.sin, "cos": np.cos}, x, points=[0.0, 1.0], values=[0.0, 1.0], ax=ax,
                         title="T", xlabel="x [m]", ylabel="u")
    assert out is fig
    assert np.array_equal(ax.lines[0].get_ydata(), np.sin(x))
    assert np.array_equal(ax.lines[1].get_ydata(), np.cos(x))
    assert ax.lines[1].get_linestyle() == LINE_STYLES[1]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sin", "cos", "data"]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("T", "x [m]", "u")
    assert np.array_equal(ax.lines[2].get_xdata(), [0.0, 1.0])


def test_curves_1d_of_the_p4_interpolant_is_the_periodic_cubic_spline():
    x = np.array([0.05, 0.3, 0.45, 0.8])
    y = np.array([1.0, -0.5, 0.25, 0.0])
    s = FPInterpolator(x, y, weight=PowerLaw(p=4), K=512)
    spline = CubicSpline(np.r_[x, x[0] + 1.0], np.r_[y, y[0]], bc_type="periodic")
    grid = np.linspace(0.05, 1.05, 401)
    fig, ax = new_figure()
    plot_curves_1d(s, grid, points=x, values=y, ax=ax)
    assert np.max(np.abs(ax.lines[0].get_ydata() - spline(grid))) < 1e-6
    assert ax.get_legend().get_texts()[0].get_text() == "interpolant"


def test_interpolant_2d_image_is_the_function_on_the_cell_centres():
    f = lambda q: np.sin(2 * np.pi * q[:, 0]) * np.cos(2 * np.pi * q[:, 1] / 2.0)  # noqa: E731
    fig, ax = new_figure()
    plot_interpolant_2d(f, period=2.0, resolution=16, ax=ax, title="f")
    z = np.asarray(ax.images[0].get_array())
    g = (np.arange(16) + 0.5) * (2.0 / 16)
    X1, X2 = np.meshgrid(g, g, indexing="xy")
    assert np.allclose(z, np.sin(2 * np.pi * X1) * np.cos(np.pi * X2), atol=1e-15)
    assert ax.images[0].get_extent() == [0.0, 2.0, 0.0, 2.0]
    assert ax.get_title() == "f"


def test_interpolant_2d_xor_matches_the_character_formula():
    # The XOR data is a character of the 4-point group; the interpolant is kappa*y / (kappa*y)(x_1) with the
    # truncated kernel kappa(z) = sum_{0 < |k|_inf <= K} gamma(k)^2 cos(2 pi k.z), summed here by brute force.
    pts = np.array([[0.25, 0.25], [0.75, 0.75], [0.25, 0.75], [0.75, 0.25]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    w, K = PowerLaw(p=4, dim=2), 8
    s = FPInterpolator(pts, y, weight=w, K=K)
    fig, ax = new_figure()
    plot_interpolant_2d(s, points=pts, values=y, resolution=8, ax=ax)
    k = np.stack(np.meshgrid(np.arange(-K, K + 1), np.arange(-K, K + 1), indexing="ij"), -1).reshape(-1, 2)
    k = k[np.any(k != 0, axis=1)]
    g2 = w.gamma2(k)

    def ky(q):  # sum_n y_n kappa(q - x_n), shape (Q,)
        z = q[:, None, :] - pts[None, :, :]                       # (Q, N, 2)
        phase = 2 * np.pi * np.einsum("qnd,kd->qnk", z, k)          # (Q, N, modes)
        return np.einsum("qnk,k,n->q", np.cos(phase), g2, y)

    g = (np.arange(8) + 0.5) / 8
    X1, X2 = np.meshgrid(g, g, indexing="xy")
    q = np.column_stack([X1.ravel(), X2.ravel()])
    expected = (ky(q) / ky(pts[:1])).reshape(8, 8)
    assert np.allclose(np.asarray(ax.images[0].get_array()), expected, atol=1e-10)
    assert ax.collections[0].get_offsets().shape == (4, 2)
    assert np.allclose(ax.images[0].get_clim(), (-1.0, 1.0))


def test_save_figure_writes_a_png(tmp_path):
    fig, ax = new_figure(1, 2)
    assert ax.shape == (2,)
    path = save_figure(fig, tmp_path / "f.png", dpi=40)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_default_figure_is_headless():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    fig = plot_curves_1d(np.sin, np.linspace(0, 1, 5))
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert plt.get_fignums() == before  # no pyplot state


@pytest.mark.parametrize("curves, match", [
    ("nope", r"Expected `curves` to be a callable or a non-empty mapping"),
    ({}, r"Expected `curves` to be a callable or a non-empty mapping"),
    ({"a": 3}, r"Expected `curves\['a'\]` to be callable, got int"),
])
def test_curves_1d_rejects_bad_curves(curves, match):
    with pytest.raises(TypeError, match=match):
        plot_curves_1d(curves, np.linspace(0, 1, 5))


def test_curves_1d_rejects_bad_grids_and_data():
    fig, ax = new_figure()
    with pytest.raises(ValueError, match=r"Expected `x` to have shape \(Q,\) with Q >= 2, got shape \(1,\)"):
        plot_curves_1d(np.sin, [0.5], ax=ax)
    with pytest.raises(ValueError, match=r"Expected `x` to be finite; got NaN or inf"):
        plot_curves_1d(np.sin, [0.5, np.nan], ax=ax)
    with pytest.raises(TypeError, match=r"Expected `x` to be a real numeric array, got dtype <U1"):
        plot_curves_1d(np.sin, ["a", "b"], ax=ax)
    with pytest.raises(ValueError, match=r"Expected `points` and `values` together"):
        plot_curves_1d(np.sin, [0.0, 1.0], points=[0.5], ax=ax)
    with pytest.raises(ValueError, match=r"Expected `values` to have 2 rows \(one per point\), got 3"):
        plot_curves_1d(np.sin, [0.0, 1.0], points=[0.1, 0.5], values=[1, 2, 3], ax=ax)
    with pytest.raises(ValueError, match=r"Calling `curves\['bad'\]` on points of shape \(2,\) failed"):
        plot_curves_1d({"bad": lambda q: 1 / 0}, [0.0, 1.0], ax=ax)


def test_interpolant_2d_rejects_bad_input():
    fig, ax = new_figure()
    with pytest.raises(TypeError, match=r"Expected `h` to be callable on points of shape \(Q, 2\), got int"):
        plot_interpolant_2d(3, ax=ax)
    with pytest.raises(ValueError, match=r"Expected `resolution` >= 2, got 1"):
        plot_interpolant_2d(lambda q: q[:, 0], resolution=1, ax=ax)
    with pytest.raises(ValueError, match=r"Expected `period` > 0.0, got -1.0"):
        plot_interpolant_2d(lambda q: q[:, 0], period=-1.0, ax=ax)
    with pytest.raises(ValueError, match=r"Expected `points` to have shape \(N, 2\)"):
        plot_interpolant_2d(lambda q: q[:, 0], points=[0.1, 0.2], values=[1.0, 2.0], ax=ax)
    with pytest.raises(ValueError, match=r"Expected `h` to return shape \(4,\) for 4 points, got \(3,\)"):
        plot_interpolant_2d(lambda q: np.zeros(3), resolution=2, ax=ax)
