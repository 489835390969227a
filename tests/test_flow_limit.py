"""LFPFlow with K=None (the exact kernel flow, d = 1, 2, 3), ShellErrors.from_snapshots, the network-vs-flow plots."""

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from fpnorm import LFP, FPInterpolator, LFPFlow, PowerLaw, ShellErrors
from fpnorm.dynamics import snapshot_grid
from fpnorm.plotting import plot_network_vs_flow, plot_shell_errors_pair


def test_exact_flow_on_a_uniform_grid_is_the_aliased_mode_sum():
    # On N uniform points the kernel matrix is circulant; y = cos(2 pi x) is its k = 1 eigenvector with rate
    # L = sum_j gamma(1 + jN)^2, and h(t, x) = (1 - e^{-t L}) / L * sum_j gamma(1 + jN)^2 cos(2 pi (1 + jN) x).
    N = 8
    x = np.arange(N) / N
    w = LFP(a=0.0 + 1e-300, b=1.0)          # gamma(k)^2 = k^-4 (a at the smallest positive double: no k^-2 part)
    flow = LFPFlow(x, np.cos(2 * np.pi * x), weight=w, K=None)
    j = np.arange(-20000, 20001)
    k = 1 + j * N
    g = k.astype(float) ** -4
    L = g.sum()
    q = np.linspace(0, 1, 37)
    shape = (np.cos(2 * np.pi * np.outer(q, k)) @ g) / L
    for t in (0.0, 0.3, 2.0, 50.0, np.inf):
        expected = -np.expm1(-t * L) * shape if np.isfinite(t) else shape
        np.testing.assert_allclose(flow(t, q), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(flow.rates[:2], L, rtol=1e-10)          # k = +-1: the fastest penalised pair
    # the loss decays as e^{-2 t L} (1/2N) sum cos^2 = e^{-2tL} / 4
    np.testing.assert_allclose(flow.loss([0.5, 1.0]), np.exp(-2 * L * np.array([0.5, 1.0])) / 4, rtol=1e-10)


def test_exact_flow_limit_is_the_exact_interpolant_and_the_periodic_spline():
    rng = np.random.default_rng(5)
    x = np.sort(rng.random(12))
    y = np.cos(2 * np.pi * x) + x
    q = np.linspace(0, 1, 101)
    w = LFP(a=0.5, b=2.0)
    flow = LFPFlow(x, y, weight=w, K=None)
    s = FPInterpolator(x, y, weight=w, K=None)
    np.testing.assert_allclose(flow(np.inf, q), s(q), atol=1e-10)
    assert flow.norm(np.inf) == pytest.approx(s.norm, rel=1e-8)
    assert np.all(np.diff(flow.norm(np.logspace(-2, 3, 12))) >= -1e-12)            # the norm grows with t
    spline = CubicSpline(np.r_[x, x[0] + 1], np.r_[y, y[0]], bc_type="periodic")
    np.testing.assert_allclose(LFPFlow(x, y, weight=PowerLaw(4), K=None)(np.inf, q), spline(q), atol=1e-9)
    # a finite zero mode: k = 0 penalised, the kernel includes gamma(0)^2
    wz = LFP(a=0.5, b=2.0, zero=3.0)
    np.testing.assert_allclose(LFPFlow(x, y, weight=wz, K=None)(np.inf, q),
                               FPInterpolator(x, y, weight=wz, K=None)(q), atol=1e-9)


def test_exact_flow_is_the_limit_of_truncated_flows():
    # PowerLaw(4): the truncation error of the kernel is sum_{|k| > K} (2 pi k)^-4 <= 2 / (3 (2 pi)^4 K^3)
    x = np.array([0.05, 0.2, 0.33, 0.6, 0.81, 0.9])
    y = np.sin(2 * np.pi * x) + 0.3 * x
    q = np.linspace(0, 1, 50)
    exact = LFPFlow(x, y, weight=PowerLaw(4), K=None)
    truncated = LFPFlow(x, y, weight=PowerLaw(4), K=400)
    np.testing.assert_allclose(exact([1e2, 1e4], q), truncated([1e2, 1e4], q), atol=1e-7)


@pytest.mark.parametrize("dim, Ks", [(2, (32, 64, 128)), (3, (8, 16, 32))])
def test_exact_flow_in_2d_and_3d_is_the_limit_of_truncated_flows(dim, Ks):
    # LFP in d dims: the kernel's tail sum_{|k|_inf > K} gamma(k)^2 falls like K^-1 (the |k|^-(d+1) part), so the
    # truncated flows approach the exact one with the error halving per doubling of K, and the Richardson
    # combination 2 h_2K - h_K of the two largest boxes (independent truncated sums) is much closer than either
    rng = np.random.default_rng(dim)
    x = rng.random((16, dim))
    y = np.sin(2 * np.pi * x[:, 0]) + 0.5 * np.cos(2 * np.pi * x[:, -1])
    q = rng.random((30, dim))
    w = LFP(1.0, 1.0, dim=dim)
    exact = LFPFlow(x, y, weight=w, K=None)
    trunc = [LFPFlow(x, y, weight=w, K=K)(0.5, q) for K in Ks]
    ref = exact(0.5, q)
    errs = [np.max(np.abs(h - ref)) for h in trunc]
    assert 1.6 < errs[0] / errs[1] < 2.5 and 1.6 < errs[1] / errs[2] < 2.5
    if dim == 2:   # in 3-d the next term of the tail is not yet small at K = 32
        assert np.max(np.abs(2 * trunc[2] - trunc[1] - ref)) < 0.2 * errs[2]
    # t -> infinity: the exact interpolant (tested against mpmath lattice-sum references in test_lattice_limit)
    np.testing.assert_allclose(exact(1e14, q), FPInterpolator(x, y, weight=w, K=None)(q), atol=1e-10)


def test_exact_flow_refuses_what_needs_a_box():
    x = np.linspace(0, 1, 6, endpoint=False)
    flow = LFPFlow(x, np.sin(2 * np.pi * x), weight=LFP(a=1.0, b=1.0), K=None)
    assert flow.method == "exact"
    with pytest.raises(ValueError, match="integer `K`"):
        flow.coef(1.0)
    with pytest.raises(ValueError, match="integer `K`"):
        flow.shell_errors(np.sin, [1.0])
    with pytest.raises(ValueError, match="p > d"):   # sum_k |k|^-1 diverges: no K = infinity kernel
        LFPFlow(x, x, weight=PowerLaw(1.0), K=None)


def test_from_snapshots_is_the_flows_shell_errors_on_the_same_grid():
    rng = np.random.default_rng(2)
    x = rng.random(30)

    def f(q):
        return np.sin(2 * np.pi * q) + 0.4 * np.cos(10 * np.pi * q)

    K = 12
    flow = LFPFlow(x, f(x), weight=LFP(a=1.0, b=1.0), K=K)
    times = np.logspace(-2, 3, 9)
    n = 4 * (K + 1)
    grid = snapshot_grid(n, 1, 1.0)[:, 0]
    snaps = flow(times, grid)                                  # (T, n): a network that is exactly the flow
    ref = flow.shell_errors(f, times)
    got = ShellErrors.from_snapshots(times, snaps, f, period=1.0)
    np.testing.assert_allclose(got.errors, ref.errors, atol=1e-10, equal_nan=True)
    np.testing.assert_allclose(got.initial, ref.initial, rtol=1e-12)
    np.testing.assert_allclose(got.convergence_times(0.1), ref.convergence_times(0.1), rtol=1e-9)
    with pytest.raises(ValueError, match="`snapshots`"):
        ShellErrors.from_snapshots(times, snaps[:, :-1], f, period=1.0, dim=2)
    with pytest.raises(ValueError, match="`snapshots`"):
        ShellErrors.from_snapshots(times[:3], snaps, f, period=1.0)


def test_snapshot_grid_is_the_torus_grid_moved_into_the_cell():
    g = snapshot_grid(8, 2, 4.0, centre=(0.0, 1.0))
    assert g.shape == (64, 2)
    assert np.all((g[:, 0] >= -2) & (g[:, 0] < 2) & (g[:, 1] >= -1) & (g[:, 1] < 3))
    base = np.stack(np.meshgrid(np.arange(8) / 2, np.arange(8) / 2, indexing="ij"), -1).reshape(-1, 2)
    np.testing.assert_allclose(np.mod(g, 4.0), base, atol=1e-15)


def test_network_vs_flow_plots():
    t = np.array([0.1, 1.0, 10.0])
    a = ShellErrors(t, np.arange(3), np.exp(-np.outer(t, [3.0, 2.0, 1.0])), np.ones(3))
    b = ShellErrors(t, np.arange(3), 1e-3 * np.exp(-np.outer(t, [3.0, 2.0, 1.0])), np.ones(3))
    fig = plot_shell_errors_pair(a, b, level=0.5)
    clims = [ax.collections[0].get_clim() for ax in fig.axes[:2]]
    assert clims[0] == clims[1]                                  # one colour scale for both panels
    assert clims[0][0] == -8.0                                    # the smallest error of either, at the floor
    assert clims[0][1] == pytest.approx(np.log10(np.exp(-0.1)))
    q = np.linspace(-1, 1, 20)
    fig = plot_network_vs_flow(q, [q, 2 * q], [q + 1e-3, 2 * q], [1.0, 2.0], points=[0.0], values=[0.0])
    assert len(fig.axes[0].lines) == 5
    with pytest.raises(ValueError, match="`query`"):
        plot_network_vs_flow(q, [q], [q, q], [1.0])
    with pytest.raises(TypeError, match="`network_errors`"):
        plot_shell_errors_pair(a, "b")
