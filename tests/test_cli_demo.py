"""`fpnorm demo`: runs on the embedded data, writes the figures and a summary whose numbers match exact maths."""

import json
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.interpolate import CubicSpline

from fpnorm.cli import main
from fpnorm.commands.demo import linear_energy, load_demo_data, spline_energy
from fpnorm.weights import weight_from_spec

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        status = main(["demo", "--out", str(out), "--dpi", "40"])
    return status, out, buf.getvalue(), json.loads((out / "summary.json").read_text())


def test_demo_writes_figures_and_prints_where(demo):
    status, out, printed, summary = demo
    assert status == 0
    for name, file in (("lfp_1d", "lfp_1d"), ("xor_2d", "xor_2d"), ("bound", "bound_vs_M"), ("flow", "flow_heatmap")):
        path = out / f"{file}.png"
        assert path.read_bytes()[:8] == PNG
        assert summary["figures"][name] == str(path)
        assert f"wrote {path}" in printed
    assert f"wrote {out / 'summary.json'}" in printed


def test_embedded_data_is_the_papers_nodes():
    data = load_demo_data()
    assert data["lfp_1d"]["points"].tolist() == [-0.8, -0.6, -0.3, -0.06, 0.1]
    assert data["lfp_1d"]["period"] >= 4 * np.ptp(data["lfp_1d"]["points"])  # wide enough for the real line


def test_energies_are_exact():
    x, y, P = np.array([0.3, -0.5, 0.0]), np.array([1.0, 0.0, -2.0]), 3.0
    xs = np.r_[-0.5, 0.0, 0.3, 2.5]
    s = CubicSpline(xs, np.r_[0.0, -2.0, 1.0, 0.0], bc_type="periodic")
    by_quad = sum(quad(lambda t: s(t, 2) ** 2, a, b)[0] for a, b in zip(xs[:-1], xs[1:], strict=False))
    assert spline_energy(x, y, P) == pytest.approx(by_quad, rel=1e-10)
    assert linear_energy(x, y, P) == pytest.approx(2.0**2 / 0.5 + 3.0**2 / 0.3 + 1.0**2 / 2.2, rel=1e-14)


def test_xi4_regime_is_the_periodic_cubic_spline(demo):
    r = demo[3]["lfp_1d"]["regimes"]["xi^-4 dominant (b >> a)"]
    d = demo[3]["lfp_1d"]
    x, y, P = np.array(d["points"]), np.array(d["values"]), d["period"]
    assert r["b"] / r["a"] >= 1e6
    assert d["K"] is None  # the exact kernel: only the a-term separates it from the spline
    assert r["max_abs_diff_period"] < 1e-6
    # Parseval: ||s||_gamma^2 -> P^3 int|s''|^2 / (b (2 pi)^4) as a / b -> 0, K -> inf.
    xs = np.sort(x)
    s = CubicSpline(np.r_[xs, xs[0] + P], np.r_[y[np.argsort(x)], y[np.argsort(x)][0]], bc_type="periodic")
    knots = np.r_[xs, xs[0] + P]
    energy = sum(quad(lambda t: s(t, 2) ** 2, a, b)[0] for a, b in zip(knots[:-1], knots[1:], strict=False))
    limit = math.sqrt(P**3 * energy / (r["b"] * (2 * math.pi) ** 4))
    assert r["fp_norm"] == pytest.approx(limit, rel=1e-6)


def test_xi2_regime_is_the_piecewise_linear_interpolant(demo):
    r = demo[3]["lfp_1d"]["regimes"]["xi^-2 dominant (a >> b)"]
    d = demo[3]["lfp_1d"]
    x, y, P = np.array(d["points"]), np.array(d["values"]), d["period"]
    assert r["a"] / r["b"] >= 1e6
    assert r["max_abs_diff_period"] < 1e-6
    order = np.argsort(x)
    xs, ys = np.r_[x[order], x[order][0] + P], np.r_[y[order], y[order][0]]
    limit = math.sqrt(P * np.sum(np.diff(ys) ** 2 / np.diff(xs)) / (r["a"] * (2 * math.pi) ** 2))
    # gamma^-2 = k^2 / (a + b k^-2) is below k^2 / a: the norm is just under the limit.
    assert limit * (1 - 1e-6) <= r["fp_norm"] <= limit * (1 + 1e-12)


def test_crossover_weight_is_genuinely_in_between(demo):
    r = demo[3]["lfp_1d"]["crossover"]
    assert r["crossover_k"] == pytest.approx(math.sqrt(r["b"] / r["a"]))
    # far from both limits (which the two regimes above meet to 1e-6)
    assert r["max_abs_diff_window_periodic_cubic_spline"] > 0.05
    assert r["max_abs_diff_window_piecewise_linear"] > 0.05


def test_xor_probes_follow_the_symmetries(demo):
    r = demo[3]["xor_2d"]
    probes, h = np.array(r["probes"]), np.array(r["h_at_probes"])
    assert r["residual"] < 1e-12
    # Reflection x1 -> P - x1 swaps the signs of the data, so h vanishes on x1 = 0 and x1 = P/2.
    on_lines = np.isclose(np.mod(probes[:, 0], r["period"] / 2), 0.0)
    assert on_lines.sum() == 3
    assert np.max(np.abs(h[on_lines])) < 1e-12
    assert h[3] == pytest.approx(1.0, abs=1e-12)  # (0.25, 0.25) is a data point
    # The XOR data is a character of the 4-point group: h = kappa*y / (kappa*y)(x_1), brute-force kernel sum.
    w, K, pts, y = weight_from_spec(r["weight"]), r["K"], np.array(r["points"]), np.array(r["values"])
    k = np.stack(np.meshgrid(np.arange(-K, K + 1), np.arange(-K, K + 1), indexing="ij"), -1).reshape(-1, 2)
    k = k[np.any(k != 0, axis=1)]
    g2 = w.gamma2(k)

    def ky(q):
        phase = 2 * np.pi * np.einsum("qnd,kd->qnk", q[:, None, :] - pts[None, :, :], k) / r["period"]
        return np.einsum("qnk,k,n->q", np.cos(phase), g2, y)

    assert np.allclose(h, ky(probes) / ky(pts[:1]), atol=1e-10)


def test_flow_convergence_times_are_exp_minus_t_gamma2(demo):
    r = demo[3]["flow"]
    K, level, a, b = r["setup"]["K"], r["setup"]["level"], r["setup"]["a"], r["setup"]["b"]
    k = np.arange(1, K + 1)
    assert r["shells"] == k.tolist()
    # On a uniform grid with N >= 2K + 1 each mode decays as e^{-t gamma(k)^2}, gamma(k)^2 = a/k^2 + b/k^4:
    # the first grid time with e^{-t gamma^2} <= level lies in [t_exact, ratio * t_exact).
    exact = np.log(1 / level) / (a / k**2 + b / k**4)
    measured = np.array(r["convergence_times"])
    assert np.all(measured >= exact * (1 - 1e-12)) and np.all(measured < exact * r["time_grid_ratio"])
    assert np.all(np.diff(measured) >= 0)  # the frequency principle: higher shells later
    assert max(r["final_errors"]) < 1e-10  # t_max = 1e5: every shell fitted


def test_bound_numbers_are_the_closed_forms(demo):
    r = demo[3]["bound"]
    assert (r["setup"]["target"], r["setup"]["weight"]) == ("bandlimited", "power:p=4,zero=1")
    # ||gamma||_l2^2 = sum_k gamma(k)^2 = gamma(0)^2 + 2 sum_{k>0} (2 pi k)^-4 = 1 + 2 zeta(4) / (2 pi)^4,
    # zeta(4) = pi^4 / 90
    assert r["gamma_l2"] == pytest.approx(math.sqrt(1 + 2 / (90 * 2**4)), rel=1e-13)
    # f = 0.2 + cos(2 pi x) + 0.5 sin(6 pi x + 0.3): |f^(0)| = 0.2, |f^(+-1)| = 1/2, |f^(+-3)| = 1/4, and
    # ||f||_gamma^2 = gamma(0)^-2 0.2^2 + 2 (2 pi)^4 / 4 + 2 (6 pi)^4 / 16
    f_norm = math.sqrt(0.04 + (2 * math.pi) ** 4 / 2 + (6 * math.pi) ** 4 / 8)
    assert r["f_norm"] == pytest.approx(f_norm, rel=1e-12)
    delta = r["setup"]["delta"]

    def bound(M):
        return f_norm * r["gamma_l2"] * (2 / np.sqrt(M) + 4 * np.sqrt(2 * np.log(4 / delta) / M))

    assert np.allclose(r["bound"], bound(np.array(r["Ms"])), rtol=1e-12)
    assert np.allclose(r["curve_bound"], bound(np.array(r["curve_M"])), rtol=1e-12)
    assert r["bound_at_M_1000"] == pytest.approx(bound(1000), rel=1e-12)
    # the theorem's promise, and the interpolants' much faster decay on a band-limited target
    assert r["held_fraction"] == 1.0 and np.all(np.array(r["mean_risk"]) <= np.array(r["bound"]))
    assert r["risk_decay_rate"] > 0.5
    # the power-function bound holds for every sample set, so its median lies above the median RMS error
    assert np.all(np.array(r["median_power_bound_rmse"]) >= np.sqrt(np.array(r["median_mse"])))
    assert len(r["curve_predicted_rmse"]) == len(r["curve_M"]) and len(r["predicted_mse"]) == len(r["Ms"])


def test_demo_help_and_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    assert "--out DIR" in capsys.readouterr().out
    assert main(["demo", "--dpi", "1", "--out", "unused"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["fpnorm demo: error: Expected `--dpi` between 10 and 1200, got 1."]
