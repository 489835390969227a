"""Sweeps: config validation, deterministic trials, resume after interruption, serial == distributed, summary."""

import math
import tomllib
import warnings

import numpy as np
import pytest

from fpnorm import AccuracyWarning, FPNorm, sweeps
from fpnorm._sweep.store import RESULTS_FILE
from fpnorm.cli import main
from fpnorm.sweeps import (
    COLUMNS,
    EXAMPLE_CONFIG,
    KEY_COLUMNS,
    fit_decay,
    load_config,
    parse_config,
    read_results,
    run_sweep,
    run_trial,
    summarize,
)

# A tiny sweep: 2 weights x 2 K x 3 M x 2 seeds = 24 tasks, each a solve with at most 12 points.
TINY = {"weights": ["power:p=4,zero=1", "sobolev:s=2"], "K": [8, 16], "M": [3, 6, 12], "seeds": 2,
        "target": "sin", "delta": 0.05, "risk": {"n": 2000}}


def base(**changes):
    cfg = {"weights": ["sobolev:s=2"], "K": [8], "M": [4], "seeds": [0], "target": "numpy:sin", "delta": 0.1}
    cfg.update(changes)
    return cfg


def table(out):
    """The results table without the timing column, sorted by task key."""
    rows = read_results(out)
    return sorted(({k: v for k, v in r.items() if k != "seconds"} for r in rows),
                  key=lambda r: tuple(str(r[c]) for c in KEY_COLUMNS))


# -- config --------------------------------------------------------------------------------------------------------
def test_parse_normalises_and_expands():
    cfg = parse_config(base(weights=["power:p=4,zero=1", "sobolev:s=2"], K=8, M=[4, 8], seeds=3))
    assert cfg.weights == ("power:p=4.0,zero=1.0,dim=1", "sobolev:s=2.0,dim=1")
    assert cfg.K == (8,) and cfg.M == (4, 8) and cfg.seeds == (0, 1, 2)
    assert cfg.h_ini == "zero" and cfg.dim == 1 and cfg.period == 1.0 and cfg.risk_n == 20000
    tasks = cfg.tasks()
    assert len(tasks) == 2 * 1 * 2 * 3
    assert len({tuple(t[c] for c in KEY_COLUMNS) for t in tasks}) == len(tasks)
    # equal weights written differently give the same normalised config
    assert parse_config(base(weights=["sobolev:s=2.0"])) == parse_config(base(weights=["sobolev: s=2"]))


@pytest.mark.parametrize("changes, exc, match", [
    ({"weigths": ["sobolev:s=2"]}, ValueError, r"unknown key\(s\) \['weigths'\]"),
    ({"risk": {"m": 3}}, ValueError, r"Expected `risk` keys among \['n', 'method', 'replicates'\], got "
                                     r"unknown key\(s\) \['m'\]"),
    ({"risk": {"method": "grid"}}, ValueError, r"Expected `risk.method` to be one of \('sobol', 'mc'\), got 'grid'"),
    ({"risk": 5}, TypeError, r"Expected `risk` to be a table"),
    ({"weights": ["sobolev:s=2", "power:q=3"]}, ValueError, r"Expected `weights\[1\]` = 'power:q=3' to be a valid"),
    ({"weights": [3]}, TypeError, r"Expected `weights\[0\]` to be a weight spec string"),
    ({"weights": []}, TypeError, r"Expected `weights` to be a non-empty list"),
    ({"weights": ["sobolev:s=2", "sobolev:s=2.0"]}, ValueError, r"`weights` to be distinct"),
    ({"M": [4, 100]}, ValueError, r"Expected every `M` <= \(2K\+1\)\^d = 17 .* got M = 100"),
    ({"M": [4, 4]}, ValueError, r"Expected the values of `M` to be distinct"),
    ({"M": [0]}, ValueError, r"Expected `M\[0\]` >= 1, got 0"),
    ({"K": [2.5]}, TypeError, r"Expected `K\[0\]` to be an integer"),
    ({"seeds": "abc"}, TypeError, r"Expected `seeds` to be a non-empty list of integers or a count"),
    ({"seeds": 0}, ValueError, r"Expected `seeds` >= 1, got 0"),
    ({"delta": 1.0}, ValueError, r"Expected `delta` < 1.0, got 1.0"),
    ({"dim": 0}, ValueError, r"Expected `dim` >= 1, got 0"),
    ({"period": -1.0}, ValueError, r"Expected `period` > 0.0"),
    ({"target": "numpy:no_such_function"}, ValueError, r"Expected `target` = 'numpy:no_such_function' to name a"),
    ({"target": "no_such_module_xyz:f"}, ValueError, r"Expected `target` = 'no_such_module_xyz:f' to name an "
                                                     r"importable module"),
    ({"target": 3}, TypeError, r"Expected `target` to be a target name"),
    ({"h_ini": 0}, TypeError, r"Expected `h_ini` to be 'zero'"),
    ({"risk": {"n": 1}}, ValueError, r"Expected `risk.n` >= 2, got 1"),
    ({"risk": {"n": 10}}, ValueError, r"Expected `risk.n` >= `risk.replicates` = 16 \(points are split"),
    ({"target": "os:getcwd"}, ValueError, r"Expected `target` to name a function on the torus: Calling `target`"),
])
def test_bad_config_names_the_key(changes, exc, match):
    with pytest.raises(exc, match=match):
        parse_config(base(**changes))


def test_missing_keys_are_named():
    cfg = base()
    del cfg["delta"], cfg["M"]
    with pytest.raises(ValueError, match=r"Expected the config to give `M`, `delta`"):
        parse_config(cfg)


def test_config_must_be_a_dict():
    with pytest.raises(TypeError, match=r"Expected `config` to be a dict"):
        parse_config([1, 2])


def test_load_config_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Expected `config` to be a readable TOML file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("weights = [")
    with pytest.raises(ValueError, match=r"to be valid TOML"):
        load_config(bad)


def test_example_config_is_valid_and_big_enough(tmp_path):
    p = tmp_path / "ex.toml"
    p.write_text(EXAMPLE_CONFIG)
    cfg = load_config(p)
    assert len(cfg.tasks()) >= 20
    assert tomllib.loads(EXAMPLE_CONFIG)["target"] == cfg.target


# -- decay fits ----------------------------------------------------------------------------------------------------
def test_fit_decay_recovers_an_exact_power_law():
    M = np.array([8, 16, 32, 64, 128])
    rate, C = fit_decay(M, 2.5 * M ** -1.75)
    assert rate == pytest.approx(1.75, abs=1e-12) and C == pytest.approx(2.5, rel=1e-12)
    # inf (vacuous) and non-positive values are left out; fewer than two M gives nan
    rate, C = fit_decay([8, 16, 32], [math.inf, 4.0, 2.0])
    assert rate == pytest.approx(1.0, abs=1e-12) and C == pytest.approx(64.0, rel=1e-12)
    assert all(math.isnan(v) for v in fit_decay([8, 16], [math.inf, 1.0]))


# -- trials --------------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:fp_norm did not converge")  # the norm of |x - 1/2| is not tested here
def test_trial_is_deterministic_and_its_bound_is_the_closed_form():
    tasks = parse_config(TINY).tasks()
    # 12 points on 17 modes, but sin is band-limited: the fit is within 1e-3 of its K = inf limit, no warning
    assert (tasks[5]["K"], tasks[5]["M"]) == (8, 12) and run_trial(dict(tasks[5]))["status"] == "ok"
    # the kink of |x - 1/2| on 9 modes: the truncation warning is the status
    kink = parse_config(base(weights=["power:p=2,zero=1"], K=4, M=8, target="abs")).tasks()[0]
    status = run_trial(dict(kink))["status"]
    assert status.startswith("warning: The truncated solution (K = 4, d = 1) is ") and " away from the K = inf one" \
        in status
    task = tasks[11]
    assert (task["K"], task["M"]) == (16, 12)
    a, b = run_trial(dict(task)), run_trial(dict(task))
    assert set(a) == set(COLUMNS)
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    assert a["status"] == "ok" and 0 < a["risk"] < math.inf and a["risk_stderr"] > 0
    M, delta = a["M"], a["delta"]
    expected = a["f_norm"] * a["gamma_l2"] * (2 / math.sqrt(M) + 4 * math.sqrt(2 * math.log(4 / delta) / M))
    assert a["bound"] == pytest.approx(expected, rel=1e-13)


def test_power4_constants_are_exact():
    # gamma(k)^2 = (2 pi k)^-4, gamma(0)^2 = 1: ||gamma||^2 = 1 + 2 zeta(4) / (2 pi)^4 = 1 + 1/720.
    # f = sin(2 pi x): f^(+-1) = -+i/2, so ||f||_gamma^2 = 2 * (1/4) * (2 pi)^4.
    row = run_trial(parse_config(TINY).tasks()[0])
    assert row["weight"].startswith("power:p=4.0")
    assert row["gamma_l2"] == pytest.approx(math.sqrt(1 + 1 / 720), rel=1e-12)
    assert row["f_norm"] == pytest.approx((2 * math.pi) ** 2 / math.sqrt(2), rel=1e-8)


def test_h_ini_equal_to_target_gives_zero_risk_and_bound():
    cfg = parse_config({**TINY, "h_ini": "sin"})
    row = run_trial(cfg.tasks()[3])
    assert row["risk"] < 1e-12 and row["f_norm"] < 1e-12 and row["bound"] < 1e-10


def test_vacuous_bound_is_inf(tmp_path):
    cfg = {**TINY, "weights": ["power:p=4"], "K": [8], "M": [3, 6], "seeds": 1}
    run_sweep(cfg, tmp_path, workers=0)
    rows = read_results(tmp_path)
    assert all(r["bound"] == math.inf and r["gamma_l2"] == math.inf for r in rows)
    assert all(np.isfinite(r["risk"]) for r in rows)


def test_rough_target_gives_a_vacuous_row_with_the_reason(tmp_path):
    # |x - 1/2| under PowerLaw(p=4): sum (2 pi k)^4 / (pi^4 k^4) over odd k diverges; the solve itself is fine
    cfg = {**TINY, "weights": ["power:p=4,zero=1", "power:p=2,zero=1"], "target": "abs", "K": [16], "M": [6],
           "seeds": 1}
    run_sweep(cfg, tmp_path, workers=0, figure=False)
    fine, rough = read_results(tmp_path)  # tasks (and rows) in sorted weight order: p=2 before p=4
    assert rough["bound"] == rough["f_norm"] == math.inf and math.isfinite(rough["risk"])
    assert rough["status"].startswith("vacuous: the target's FP-norm ||f - h_ini||_gamma diverges: the target 'abs'")
    assert fine["status"] == "ok" and fine["f_norm"] == pytest.approx(math.sqrt(17 / 16), rel=1e-14)


def test_unresolved_norm_is_flagged_in_the_row_status(monkeypatch):
    # an FP-norm the samples leave unresolved must not pass as "ok"; the flag follows a solve warning
    record = FPNorm(1.25, math.inf, "unresolved", 35, "too few resolved shells")
    monkeypatch.setattr(sweeps, "fp_norm", lambda *args, **kwargs: record)
    monkeypatch.setattr(sweeps, "_CONSTANTS", {})
    tasks = parse_config(TINY).tasks()
    row = run_trial(dict(tasks[11]))
    assert row["status"] == "warning: f_norm unresolved, the bound is an estimate: too few resolved shells"
    assert row["f_norm"] == 1.25 and math.isfinite(row["bound"])
    real = sweeps.FPInterpolator

    def warning_fit(*args, **kwargs):  # a solve that warns, as an inaccurate one does
        warnings.warn("solve warning for the test", AccuracyWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps, "FPInterpolator", warning_fit)
    status = run_trial(dict(tasks[5]))["status"]
    assert status == ("warning: solve warning for the test; warning: f_norm unresolved, the bound is an estimate: "
                      "too few resolved shells")


def test_every_distinct_solve_warning_reaches_the_row(monkeypatch):
    real = sweeps.FPInterpolator

    def warning_fit(*args, **kwargs):
        for text in ("first cause", "second cause", "first cause"):
            warnings.warn(text, AccuracyWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps, "FPInterpolator", warning_fit)
    row = run_trial(dict(parse_config(TINY).tasks()[0]))
    assert row["status"] == "warning: first cause; warning: second cause"


# -- runs, resume, serial == distributed ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    rep = run_sweep(TINY, out, workers=0)
    return out, rep


def test_serial_sweep_writes_every_row_once_and_a_summary(serial_run):
    out, rep = serial_run
    assert rep.complete and rep.n_run == rep.n_tasks == 24 and rep.n_skipped == 0 and rep.n_errors == 0
    rows = read_results(out)
    assert len(rows) == 24 and len({tuple(r[c] for c in KEY_COLUMNS) for r in rows}) == 24
    assert rep.figure.exists() and rep.summary.exists()
    for s in summarize(rows):
        assert s["bound_above_risk"]
        assert s["bound_rate"] == pytest.approx(0.5, abs=1e-12)  # the bound is exactly C / sqrt(M)


def test_task_numbers_do_not_depend_on_order(serial_run):
    out, _ = serial_run
    by_key = {tuple(r[c] for c in KEY_COLUMNS): r for r in read_results(out)}
    tasks = parse_config(TINY).tasks()
    for task in (tasks[23], tasks[0], tasks[11]):  # another order, in a process that ran other tasks before
        row = run_trial(task)
        ref = by_key[tuple(row[c] for c in KEY_COLUMNS)]
        assert {k: row[k] for k in ("risk", "risk_stderr", "bound", "norm")} == \
            {k: ref[k] for k in ("risk", "risk_stderr", "bound", "norm")}


def test_rerun_resumes_without_duplicates(serial_run, tmp_path):
    out, _ = serial_run
    before = (out / RESULTS_FILE).read_text()
    rep = run_sweep(TINY, out, workers=0, figure=False)
    assert rep.n_run == 0 and rep.n_skipped == 24 and rep.complete
    assert (out / RESULTS_FILE).read_text() == before


def test_changed_config_is_refused(serial_run):
    out, _ = serial_run
    with pytest.raises(ValueError, match=r"holds another sweep \(config keys that differ: delta\)"):
        run_sweep({**TINY, "delta": 0.1}, out, workers=0)


def test_interrupted_sweep_resumes_to_the_same_table(serial_run, tmp_path, monkeypatch):
    out, _ = serial_run
    calls = {"n": 0}
    real = sweeps.run_trial

    def flaky(task):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the 8th task
        return real(task)

    monkeypatch.setattr(sweeps, "run_trial", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(TINY, tmp_path, workers=0)
    assert len(read_results(tmp_path)) == 7
    monkeypatch.setattr(sweeps, "run_trial", real)
    # and a crash that tore the last line in the middle of a write
    with open(tmp_path / RESULTS_FILE, "a") as fh:
        fh.write("power:p=4.0,zero=1.0,dim=1,16,12,1,1,1.0,si")
    rep = run_sweep(TINY, tmp_path, workers=0, limit=5)
    assert rep.n_skipped == 7 and rep.n_run == 5 and not rep.complete and rep.figure is None
    rep = run_sweep(TINY, tmp_path, workers=0)
    assert rep.n_skipped == 12 and rep.n_run == 12 and rep.complete
    assert table(tmp_path) == table(out)


def test_local_cluster_matches_serial(serial_run, tmp_path):
    out, _ = serial_run
    rep = run_sweep(TINY, tmp_path, workers=2, figure=False)
    assert rep.complete and rep.n_run == 24
    assert table(tmp_path) == table(out)


# -- CLI -----------------------------------------------------------------------------------------------------------
def test_cli_example_and_errors(tmp_path, capsys):
    assert main(["sweep", "--example"]) == 0
    assert capsys.readouterr().out == EXAMPLE_CONFIG
    assert main(["sweep", "--out", str(tmp_path)]) == 2
    assert "Expected `CONFIG` and `--out DIR`" in capsys.readouterr().err
    cfg = tmp_path / "c.toml"
    cfg.write_text('weights = ["sobolev:s=2"]\nK = [8]\nM = [4]\nseeds = 1\ntarget = "sin"\ndelta = 0.1\n'
                   "[risk]\nn = 500\n")
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "o"), "--workers", "0"]) == 0
    assert "1 task(s) run, 0 already done, 1/1" in capsys.readouterr().out
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "o"), "--workers", "0"]) == 0
    assert "0 task(s) run, 1 already done" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"workers": -1}, ValueError, r"Expected `workers` >= 0, got -1"),
    ({"limit": 1.5}, TypeError, r"Expected `limit` to be an integer"),
    ({"scheduler": 8786}, TypeError, r"Expected `scheduler` to be an address string"),
    ({"scheduler": "tcp://127.0.0.1:1", "workers": 2}, ValueError, r"Expected `workers` to be None when"),
])
def test_run_sweep_argument_errors(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        run_sweep(base(), tmp_path, **kwargs)


def test_run_sweep_config_type_error(tmp_path):
    with pytest.raises(TypeError, match=r"Expected `config` to be a SweepConfig, a dict or a TOML path"):
        run_sweep(42, tmp_path)
