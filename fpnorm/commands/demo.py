"""`fpnorm demo`: the embedded example data, PNG figures and a JSON summary of what they show.

Sections (each writes one figure and one entry of ``summary.json``):

- ``lfp_1d``: the 1-d picture of the LFP paper. The LFP weight ``gamma(k)^2 = a |k|^-2 + b |k|^-4`` with
  ``b >> a`` (the ``xi^-4`` term dominates: the periodic cubic spline) and ``a >> b`` (``xi^-2`` dominates: the
  periodic piecewise-linear interpolant), next to scipy's ``CubicSpline(bc_type="periodic")`` and ``numpy.interp``
  with ``period``, on a period (4) wide enough to stand in for the real line around the data.
- ``xor_2d``: the 2-d LFP interpolant of four XOR points, as an image.
- ``bound``: the a-priori generalization bound against ``M`` (log-log) for a band-limited target and the weight
  ``PowerLaw(p=4, zero=1)`` (finite ``||gamma||_l2``), with Monte-Carlo estimates of the population risk
  ``E|h_M - f|`` of the interpolants of ``M`` uniform samples (:func:`fpnorm.validation.validate_bound`).
- ``flow``: the frequency-resolved LFP flow (:class:`fpnorm.LFPFlow`) towards a target with content in every
  frequency shell, sampled on a uniform grid, where each mode decays exactly as ``exp(-t gamma(k)^2)``: the heatmap
  of relative error per shell over time, and the time each shell needs to reach 10 %.
"""

import json
import math
import time
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline

from .._internal.progress import progress
from ..bounds import bound_curve, generalization_bound
from ..dynamics import LFPFlow
from ..interpolant import FPInterpolator
from ..io import json_dumps
from ..plotting import new_figure, plot_bound_curve, plot_curves_1d, plot_flow_heatmap, plot_interpolant_2d, save_figure
from ..targets import get_target
from ..validation import validate_bound
from ..weights import LFP, weight_from_spec
from . import integer

__all__ = ["add_parser", "run", "load_demo_data", "lfp_1d", "xor_2d", "flow", "flow_target", "spline_energy",
           "linear_energy", "bound", "LFP_REGIMES", "LFP_CROSSOVER", "DEMO_K_1D", "DEMO_K_2D", "FLOW_SETUP",
           "BOUND_SETUP", "SECTIONS"]

# The two LFP regimes of the 1-d picture: (a, b) of LFP(a, b). The crossover |k| = sqrt(b / a) is 1e5 for the
# spline-like weight (xi^-4 dominates every frequency the data resolve) and 1e-5 for the linear-like one.
LFP_REGIMES = {"xi^-4 dominant (b >> a)": (1e-10, 1.0), "xi^-2 dominant (a >> b)": (1.0, 1e-10)}
# A third LFP weight, crossover |k| = sqrt(b / a) = 10 (spatial frequency 10 / P) where the data live: in between.
LFP_CROSSOVER = (1.0, 100.0)
# Truncations used by the demo: the 1-d picture uses the exact K = infinity kernel (a Bernoulli polynomial), the
# 2-d image a box |k|_inf <= 32 (the summary records both).
DEMO_K_1D = None
DEMO_K_2D = 32
# The flow section: N uniform samples, truncation K (N >= 2K + 1 keeps the modes decoupled), LFP(a, b), the times
# (log-spaced) and the relative error level whose crossing time is reported per shell.
FLOW_SETUP = {"N": 64, "K": 24, "a": 1.0, "b": 1.0, "t_min": 1e-2, "t_max": 1e5, "n_times": 141, "level": 0.1}


def add_parser(sub):
    p = sub.add_parser(
        "demo", help="run the demo on the embedded example data; write figures and a JSON summary",
        description="Run the demo on the example data shipped with fpnorm: the LFP paper's 1-d picture (the two "
                    "LFP regimes next to the cubic spline and the piecewise-linear interpolant), a 2-d XOR "
                    "interpolant, the a-priori generalization bound against M with Monte-Carlo risk estimates, and "
                    "the frequency-resolved LFP flow heatmap. Writes PNG figures and summary.json "
                    "into --out and prints their paths. Takes a few seconds.")
    p.add_argument("--out", default="fpnorm-demo", metavar="DIR", help="output folder (default: ./fpnorm-demo)")
    p.add_argument("--dpi", type=integer, default=120, help="resolution of the PNG figures (default: 120)")
    p.set_defaults(func=run)


def load_demo_data():
    """The embedded example data (``fpnorm/data/demo.json``) as a dict of numpy arrays and numbers."""
    text = resources.files("fpnorm").joinpath("data/demo.json").read_text()
    raw = json.loads(text)
    out = {}
    for name in ("lfp_1d", "xor_2d"):
        entry = dict(raw[name])
        entry["points"] = np.asarray(entry["points"], dtype=float)
        entry["values"] = np.asarray(entry["values"], dtype=float)
        out[name] = entry
    return out


def _periodic_nodes(x, y, period):
    """Sorted nodes in one period starting at min(x), closed by the first node shifted by one period."""
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    return np.r_[xs, xs[0] + period], np.r_[ys, ys[0]]


def spline_energy(x, y, period):
    """``int_0^P |s''|^2`` of the periodic cubic spline through ``(x, y)``: exact (``s''`` is piecewise linear).

    On the torus ``sum_k (2 pi k / P)^4 |s^(k)|^2 = (1/P) int |s''|^2`` (Parseval), which the tests use to check
    the FP-norm of the ``xi^-4`` interpolant.
    """
    xs, ys = _periodic_nodes(x, y, period)
    s = CubicSpline(xs, ys, bc_type="periodic")
    m = s(xs, 2)
    h = np.diff(xs)
    return float(np.sum(h * (m[:-1] ** 2 + m[:-1] * m[1:] + m[1:] ** 2) / 3.0))


def linear_energy(x, y, period):
    """``int_0^P |l'|^2`` of the periodic piecewise-linear interpolant: ``sum (dy)^2 / dx`` over the segments."""
    xs, ys = _periodic_nodes(x, y, period)
    return float(np.sum(np.diff(ys) ** 2 / np.diff(xs)))


def lfp_1d(data, ax_pair, *, K=DEMO_K_1D):
    """Solve the two LFP regimes on the 1-d data, draw them next to their classical limits (and, given a third axes,
    a weight whose crossover lies in between); return the summary."""
    x, y, P = data["points"], data["values"], float(data["period"])
    lo, hi = data["window"]
    xs, ys = _periodic_nodes(x, y, P)
    spline = CubicSpline(xs, ys, bc_type="periodic")
    references = {"periodic cubic spline": lambda q: spline(np.mod(q - xs[0], P) + xs[0]),
                  "piecewise linear": lambda q: np.interp(q, x, y, period=P)}
    energies = {"periodic cubic spline": spline_energy(x, y, P), "piecewise linear": linear_energy(x, y, P)}
    window = np.linspace(lo, hi, 1301)
    full = np.linspace(0.0, P, 4001, endpoint=False)
    summary = {"points": x.tolist(), "values": y.tolist(), "period": P, "K": K, "window": [lo, hi], "regimes": {}}
    for ax, (regime, (a, b)), (ref_name, ref) in zip(ax_pair, LFP_REGIMES.items(), references.items(), strict=False):
        w = LFP(a=a, b=b, dim=1)
        s = FPInterpolator(x, y, weight=w, K=K, period=P)
        # Parseval: with gamma^-2 ~ k^4 / b (or k^2 / a), ||h||_gamma^2 = P^3 int|h''|^2 / (b (2 pi)^4)
        # (or P int|h'|^2 / (a (2 pi)^2)) for the limiting interpolant.
        if ref_name == "periodic cubic spline":
            limit_norm = math.sqrt(P**3 * energies[ref_name] / (b * (2 * math.pi) ** 4))
        else:
            limit_norm = math.sqrt(P * energies[ref_name] / (a * (2 * math.pi) ** 2))
        summary["regimes"][regime] = {
            "weight": w.spec(), "a": a, "b": b, "reference": ref_name,
            "fp_norm": float(s.norm), "fp_norm_of_reference_limit": limit_norm,
            "max_abs_diff_window": float(np.max(np.abs(s(window) - ref(window)))),
            "max_abs_diff_period": float(np.max(np.abs(s(full) - ref(full)))),
            "residual": s.info.residual, "method": s.info.method,
        }
        tex = regime.replace("xi^-4", r"$\xi^{-4}$").replace("xi^-2", r"$\xi^{-2}$")
        plot_curves_1d({f"LFP a = {a:g}, b = {b:g}": s, ref_name: ref}, window, points=x, values=y, ax=ax,
                       title=f"LFP weight, {tex}", ylabel="h(x)")
    # In between: the crossover |k| = sqrt(b/a) inside the band the data resolve.
    a, b = LFP_CROSSOVER
    s = FPInterpolator(x, y, weight=LFP(a=a, b=b, dim=1), K=K, period=P)
    summary["crossover"] = {"weight": s.weight.spec(), "a": a, "b": b, "crossover_k": math.sqrt(b / a),
                            **{f"max_abs_diff_window_{name.replace(' ', '_')}":
                               float(np.max(np.abs(s(window) - ref(window)))) for name, ref in references.items()}}
    if len(ax_pair) > 2:
        plot_curves_1d({f"LFP a = {a:g}, b = {b:g}": s, **references}, window, points=x, values=y, ax=ax_pair[2],
                       title=f"in between: crossover |k| = {math.sqrt(b / a):g}", ylabel="h(x)")
    return summary


def xor_2d(data, ax, *, K=DEMO_K_2D):
    """The 2-d LFP interpolant of the XOR data as an image; return the summary."""
    x, y, P = data["points"], data["values"], float(data["period"])
    w = LFP(a=1.0, b=1.0, dim=2)
    s = FPInterpolator(x, y, weight=w, K=K, period=P)
    plot_interpolant_2d(s, period=P, points=x, values=y, ax=ax, resolution=200,
                        title=f"XOR, LFP weight a = b = 1, K = {K}")
    probes = np.array([[0.5, 0.5], [0.0, 0.0], [0.5, 0.25], [0.25, 0.25], [0.1, 0.2], [0.4, 0.05]]) * P
    return {"points": x.tolist(), "values": y.tolist(), "period": P, "K": K, "weight": w.spec(),
            "fp_norm": float(s.norm), "residual": s.info.residual, "method": s.info.method,
            "probes": probes.tolist(), "h_at_probes": s(probes).tolist()}


# The bound section: target (fpnorm.targets), weight spec, truncation of the interpolants, sample sizes of the
# Monte-Carlo trials, trials per M, quadrature points per risk estimate, confidence parameter, seed.
BOUND_SETUP = {"target": "bandlimited", "weight": "power:p=4,zero=1", "K": 64, "Ms": [4, 8, 16, 32, 64],
               "trials": 6, "n_quad": 1024, "delta": 0.05, "seed": 0}


def bound(ax):
    """The bound against M with Monte-Carlo risk estimates; return the summary."""
    c = BOUND_SETUP
    f, w = get_target(c["target"]), weight_from_spec(c["weight"])
    v = validate_bound(f, weight=w, K=c["K"], Ms=c["Ms"], trials=c["trials"], delta=c["delta"], n_quad=c["n_quad"],
                       seed=c["seed"], predict=True)
    M_grid = np.unique(np.round(np.logspace(0, 4, 41)).astype(int))
    curve, lc = bound_curve(M_grid, c["delta"], weight=w, f=f, predict=True)
    risk_std = v.risks.std(axis=1, ddof=1)
    median_rmse = np.sqrt(np.median(v.mse, axis=1))
    power = np.median(v.power_bound, axis=1)
    plot_bound_curve(M_grid, curve, risk_M=v.Ms, risk=v.mean_risk, risk_err=risk_std, ax=ax, rmse=median_rmse,
                     predicted=lc.rmse, power_M=v.Ms, power=power,
                     title=f"Bound, prediction and power-function bound vs Monte Carlo\ntarget '{c['target']}', "
                           f"weight {c['weight']}, K = {c['K']}, {c['trials']} trials per M",
                     label=f"a-priori bound, delta = {c['delta']:g}")
    r1000 = generalization_bound(1000, c["delta"], weight=w, f=f)
    rows = v.summary()
    return {"setup": dict(c), "weight": w.spec(), "f_norm": v.f_norm, "gamma_l2": v.gamma_l2,
            "Ms": v.Ms.tolist(), "bound": v.bounds.tolist(), "mean_risk": v.mean_risk.tolist(),
            "std_risk": risk_std.tolist(), "held_fraction": v.held_fraction, "risk_decay_rate": v.decay_rate,
            "bound_at_M_1000": r1000.value, "curve_M": M_grid.tolist(), "curve_bound": curve.tolist(),
            "curve_predicted_rmse": lc.rmse.tolist(),
            "median_mse": [r["median_mse"] for r in rows], "mean_mse": [r["mean_mse"] for r in rows],
            "predicted_mse": v.predicted.tolist(), "median_loo": [r["median_loo"] for r in rows],
            "median_power_bound_rmse": power.tolist(),
            "error_bars": "standard deviation of the risk over the trials at each M"}


def flow_target(q):
    """The flow demo's target ``f(x) = sum_{k=1}^{24} cos(2 pi k x + k) / k``: content in every shell 1..24."""
    q = np.asarray(q, dtype=float)
    k = np.arange(1, FLOW_SETUP["K"] + 1)
    return np.cos(2 * np.pi * np.multiply.outer(q, k) + k) @ (1.0 / k)


def flow(ax):
    """The LFP flow heatmap on a uniform grid; return the summary (measured and exact convergence times)."""
    c = FLOW_SETUP
    x = np.arange(c["N"]) / c["N"]
    w = LFP(a=c["a"], b=c["b"], dim=1)
    lfp = LFPFlow(x, flow_target(x), weight=w, K=c["K"])
    times = np.logspace(np.log10(c["t_min"]), np.log10(c["t_max"]), c["n_times"])
    errs = lfp.shell_errors(flow_target, times)
    plot_flow_heatmap(errs, level=c["level"], ax=ax)
    ax.set_title(f"LFP flow (a = b = 1, N = {c['N']} uniform samples): error per frequency shell")
    shells = np.arange(1, c["K"] + 1)
    measured = errs.convergence_times(c["level"])[1:]
    exact = np.log(1.0 / c["level"]) / w.gamma2(shells)  # e^{-t gamma(k)^2} = level
    return {"setup": dict(c), "weight": w.spec(), "shells": shells.tolist(), "convergence_times": measured.tolist(),
            "exact_convergence_times": exact.tolist(), "time_grid_ratio": float(times[1] / times[0]),
            "final_errors": errs.errors[-1, 1:].tolist()}


def _section_lfp_1d(data, out, dpi):
    fig, axes = new_figure(1, 3, figsize=(16.0, 4.4))
    summary = lfp_1d(data["lfp_1d"], axes)
    kernel = "exact K = infinity kernel" if summary["K"] is None else f"K = {summary['K']}"
    fig.suptitle("Minimum FP-norm interpolants of the LFP weight and their classical limits "
                 f"(period {summary['period']:g}, {kernel})")
    return summary, save_figure(fig, out / "lfp_1d.png", dpi=dpi)


def _section_xor_2d(data, out, dpi):
    fig, ax = new_figure(figsize=(5.6, 4.6))
    summary = xor_2d(data["xor_2d"], ax)
    return summary, save_figure(fig, out / "xor_2d.png", dpi=dpi)


def _section_bound(data, out, dpi):
    fig, ax = new_figure(figsize=(7.0, 4.6))
    summary = bound(ax)
    return summary, save_figure(fig, out / "bound_vs_M.png", dpi=dpi)


def _section_flow(data, out, dpi):
    fig, ax = new_figure(figsize=(7.5, 4.6))
    summary = flow(ax)
    return summary, save_figure(fig, out / "flow_heatmap.png", dpi=dpi)


# The demo's sections in order: name -> function(data, out, dpi) returning (summary entry, figure path).
SECTIONS = {"lfp_1d": _section_lfp_1d, "xor_2d": _section_xor_2d, "bound": _section_bound, "flow": _section_flow}


def run(args):
    if args.dpi < 10 or args.dpi > 1200:
        raise ValueError(f"Expected `--dpi` between 10 and 1200, got {args.dpi}.")
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_demo_data()
    summary, figures = {}, {}
    for name in progress(list(SECTIONS), desc="fpnorm demo"):
        summary[name], figures[name] = SECTIONS[name](data, out, args.dpi)
    summary["figures"] = figures
    summary["seconds"] = time.perf_counter() - start
    path = out / "summary.json"
    path.write_text(json_dumps(summary, indent=2))
    for fig_path in figures.values():
        print(f"fpnorm demo: wrote {fig_path}")
    print(f"fpnorm demo: wrote {path}")
    return 0
