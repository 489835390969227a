"""`fpnorm solve`: files in, an fpnorm.io .npz + JSON out; results checked against the periodic cubic spline and a
direct sum."""

import json
import re

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from fpnorm import FPInterpolator
from fpnorm.cli import main


def _run(capsys, *argv):
    status = main(["solve", *map(str, argv)])
    out = capsys.readouterr()
    return status, out.out, out.err


def _direct_sum(coef, query, period):
    """h(x) = sum_k c_k e^{2 pi i k.x / P} by brute force over the box (coef shape (2K+1,)*d)."""
    d = coef.ndim
    K = (coef.shape[0] - 1) // 2
    k = np.stack(np.meshgrid(*([np.arange(-K, K + 1)] * d), indexing="ij"), -1).reshape(-1, d)
    q = np.asarray(query, dtype=float).reshape(len(query), d)
    return np.exp(2j * np.pi * q @ k.T / period) @ coef.reshape(-1)


@pytest.fixture
def data_1d(tmp_path):
    x = np.array([0.3, 1.1, 1.7, 2.4])
    y = np.array([1.0, -0.5, 0.25, 2.0])
    (tmp_path / "x.csv").write_text("# nodes\nx\n" + "\n".join(f"{v}" for v in x) + "\n")
    (tmp_path / "y.csv").write_text("\n".join(f"{v}" for v in y) + "\n")
    np.save(tmp_path / "q.npy", np.linspace(0.0, 3.0, 61))
    return tmp_path, x, y


def test_solve_csv_p4_is_the_periodic_cubic_spline(data_1d, capsys):
    d, x, y = data_1d
    status, out, err = _run(capsys, d / "x.csv", d / "y.csv", "--weight", "power:p=4", "--K", 256, "--period", 3,
                            "--query", d / "q.npy", "--out", d / "res" / "h.npz")
    assert status == 0, err
    assert f"wrote {d / 'res' / 'h.npz'}" in out and f"wrote {d / 'res' / 'h.json'}" in out
    with np.load(d / "res" / "h.eval.npz", allow_pickle=False) as z:
        r = {k: z[k] for k in z.files}
    s = FPInterpolator.load(d / "res" / "h.npz")
    spline = CubicSpline(np.r_[x, x[0] + 3.0], np.r_[y, y[0]], bc_type="periodic")
    q = np.linspace(0.0, 3.0, 61)
    assert np.array_equal(r["query"], q)
    assert np.max(np.abs(r["evaluations"] - spline(np.mod(q - x[0], 3.0) + x[0]))) < 1e-6
    assert s.coef.shape == (513,) and s.weight.spec() == "power:p=4.0,dim=1"
    assert (s.K, s.period, s.dim, s.info.method) == (256, 3.0, 1, "qr")
    assert np.allclose(_direct_sum(s.coef, x, 3.0), y, atol=1e-12)
    assert np.array_equal(s.points[:, 0], x) and np.array_equal(s.values, y)
    summary = json.loads((d / "res" / "h.json").read_text())
    assert (summary["N"], summary["m"], summary["dim"], summary["query_points"]) == (4, 1, 1, 61)
    assert summary["norm"] == pytest.approx(s.norm, rel=1e-15)
    assert summary["solve"]["residual"] < 1e-12
    assert summary["solve"]["residual_kind"] == s.info.residual_kind in ("exact", "bound")
    assert summary["solve"]["sensitivity"] == pytest.approx(s.info.sensitivity, rel=1e-15)


def test_solve_K_none_is_exactly_the_periodic_cubic_spline(data_1d, capsys):
    d, x, y = data_1d
    status, out, err = _run(capsys, d / "x.csv", d / "y.csv", "--weight", "power:p=4", "--K", "none", "--period", 3,
                            "--query", d / "q.npy", "--out", d / "h.npz")
    assert status == 0, err
    assert "K = infinity" in out
    with np.load(d / "h.npz", allow_pickle=False) as z:
        assert "coef" not in z.files
    assert FPInterpolator.load(d / "h.npz").K is None
    with np.load(d / "h.eval.npz", allow_pickle=False) as z:
        ev, q = z["evaluations"], z["query"]
    spline = CubicSpline(np.r_[x, x[0] + 3.0], np.r_[y, y[0]], bc_type="periodic")
    assert np.max(np.abs(ev - spline(np.mod(q - x[0], 3.0) + x[0]))) < 1e-11
    assert json.loads((d / "h.json").read_text())["K"] is None


def test_solve_2d_npz_with_named_arrays_and_two_right_hand_sides(tmp_path, capsys):
    rng = np.random.default_rng(7)
    pts = rng.random((6, 2))
    vals = np.column_stack([np.sin(2 * np.pi * pts[:, 0]), np.cos(2 * np.pi * pts[:, 1])])
    np.savez(tmp_path / "data.npz", points=pts, values=vals, note=np.arange(3))
    status, out, err = _run(capsys, tmp_path / "data.npz", tmp_path / "data.npz", "--weight", "lfp:a=1,b=0.5,zero=1",
                            "--K", 6, "--query", tmp_path / "data.npz", "--out", tmp_path / "h.npz")
    # --query on a file without a `query` array and several arrays is ambiguous
    assert status == 2 and "to have a member 'query' (or exactly one member)" in err
    status, out, err = _run(capsys, tmp_path / "data.npz", tmp_path / "data.npz", "--weight", "lfp:a=1,b=0.5,zero=1",
                            "--K", 6, "--out", tmp_path / "h.npz")
    assert status == 0, err
    s = FPInterpolator.load(tmp_path / "h.npz")
    coef, norm = s.coef, s.norm
    assert not (tmp_path / "h.eval.npz").exists()
    assert coef.shape == (13, 13, 2) and norm.shape == (2,)
    for j in range(2):
        assert np.allclose(_direct_sum(coef[..., j], pts, 1.0), vals[:, j], atol=1e-10)
    # the mean is penalised (zero=1): the norm counts every mode, gamma^-2 = 1 / (a|k|^-3 + b|k|^-5) off zero
    k = np.stack(np.meshgrid(np.arange(-6, 7), np.arange(-6, 7), indexing="ij"), -1).reshape(-1, 2)
    r = np.linalg.norm(k, axis=1)
    with np.errstate(divide="ignore"):
        g2 = np.where(r > 0, 1.0 * r**-3.0 + 0.5 * r**-5.0, 1.0)
    assert np.allclose(np.sqrt(np.sum(np.abs(coef.reshape(-1, 2)) ** 2 / g2[:, None], axis=0)), norm, rtol=1e-12)


@pytest.mark.parametrize("name, content, match", [
    ("p.json", "[1]", r"fpnorm solve: error: .*'p.json'"),
    ("p.csv", "1,2\n3\n", r"fpnorm solve: error: .*'p.csv'.*line 2"),
    ("p.csv", "1\nx\n", r"fpnorm solve: error: .*'p.csv'.*line 2"),
    ("p.npy", b"not a npy file", r"fpnorm solve: error: .*'p.npy'.*never loads"),
    ("p.npz", b"PK\x03\x04 broken zip", r"fpnorm solve: error: .*'p.npz'.*BadZipFile"),
    ("missing.csv", None, r"fpnorm solve: error: .*missing.csv"),
])
def test_bad_input_files_are_one_line_errors(tmp_path, capsys, monkeypatch, name, content, match):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        path = tmp_path / name
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    (tmp_path / "y.csv").write_text("1\n2\n")
    status, out, err = _run(capsys, name, "y.csv", "--weight", "power:p=4", "--K", 8, "--out", "h.npz")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert re.match(match, err.strip())


def test_values_rows_must_match_points(data_1d, capsys):
    d, _, _ = data_1d
    (d / "y3.csv").write_text("1\n2\n3\n")
    status, out, err = _run(capsys, d / "x.csv", d / "y3.csv", "--weight", "power:p=4", "--K", 8, "--out", d / "h.npz")
    assert status == 2
    assert "Expected 4 rows (one per point) in values file" in err


def test_pickled_object_arrays_are_never_loaded(tmp_path, capsys):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "x.npy", np.array([0.1]))
    status, out, err = _run(capsys, tmp_path / "x.npy", tmp_path / "o.npy", "--weight", "power:p=4", "--K", 8,
                            "--out", tmp_path / "h.npz")
    assert status == 2 and "never loads" in err and not (tmp_path / "h.npz").exists()


def test_solve_loo_and_power_bound_for_the_piecewise_linear_interpolant(tmp_path, capsys):
    # PowerLaw(p=2) with K = None is piecewise-linear interpolation; f = sin(2 pi x) at 8 equispaced nodes:
    # dropping a node leaves the chord of its neighbours, e_i = f(x_i) (1 - cos(2 pi / 8)); ||f||_gamma^2 =
    # sum_k (2 pi k)^2 |f^(k)|^2 = 2 pi^2 with the mean free
    x = np.arange(8) / 8
    y = np.sin(2 * np.pi * x)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    f_norm = np.pi * np.sqrt(2.0)
    status, out, err = _run(capsys, tmp_path / "x.npy", tmp_path / "y.npy", "--weight", "power:p=2", "--K", "none",
                            "--loo", "--f-norm", f_norm, "--out", tmp_path / "h.npz")
    assert status == 0, err
    summary = json.loads((tmp_path / "h.json").read_text())
    assert summary["loo_mse"] == pytest.approx(np.mean((y * (1 - np.cos(2 * np.pi / 8))) ** 2), rel=1e-9)
    q = np.linspace(0, 1, 4097)
    err_q = np.abs(np.sin(2 * np.pi * q) - np.interp(q, np.r_[x, 1.0], np.r_[y, 0.0]))
    pb = summary["power_bound"]
    assert pb["f_norm"] == pytest.approx(f_norm, rel=1e-15)
    assert err_q.max() <= pb["sup"] < 30 * err_q.max()
    assert np.sqrt(np.mean(err_q[:-1] ** 2)) <= pb["l2"] < 30 * np.sqrt(np.mean(err_q[:-1] ** 2))
    assert "leave-one-out mean squared error" in out and "power-function bound" in out


@pytest.mark.parametrize("extra, match", [
    (["--weight", "pow:p=4", "--K", "8", "--out", "h.npz"],
     r"fpnorm solve: error: Bad `--weight` 'pow:p=4': Expected the weight kind"),
    (["--weight", "power:p=4", "--K", "8", "--out", "h.txt"],
     r"fpnorm solve: error: Expected `--out` to end in .npz, got 'h.txt'."),
    (["--weight", "power:p=4", "--K", "1", "--out", "h.npz"],
     r"fpnorm solve: error: Expected at most \(2K\+1\)\^d = 3 distinct points for K = 1"),
    (["--weight", "power:p=4", "--K", "x", "--out", "h.npz"],
     r"fpnorm solve: error: argument --K: expected an integer or 'none', got 'x'"),
    (["--weight", "power:p=4,dim=2", "--K", "8", "--out", "h.npz"],
     r"fpnorm solve: error: Bad `--weight` 'power:p=4,dim=2': Expected the weight spec's dim=2 to match"),
    (["--weight", "power:p=4", "--K", "8", "--f-norm", "-1", "--out", "h.npz"],
     r"fpnorm solve: error: Expected `--f-norm` a nonnegative number, got -1.0."),
    (["--weight", "power:p=4", "--K", "8", "--f-norm", "abc", "--out", "h.npz"],
     r"fpnorm solve: error: argument --f-norm: expected a decimal number"),
])
def test_solve_errors_are_one_line(data_1d, capsys, monkeypatch, extra, match):
    d, _, _ = data_1d
    monkeypatch.chdir(d)
    try:
        status, out, err = _run(capsys, "x.csv", "y.csv", *extra)
    except SystemExit as exc:  # argparse's own usage errors
        status, err = exc.code, capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert re.match(match, lines[0])


def test_solve_help_lists_weight_specs(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["solve", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for needle in ("POINTS", "VALUES", "--weight SPEC", "--query Q", "--out FILE", "FPInterpolator.load", ".eval.npz",
                   "power:p=..", "lfp:a=..,b=..", "sobolev:s=.."):
        assert needle in text


def test_uppercase_suffix_and_strict_json(tmp_path):
    import json

    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, np.array([0.1, 0.4, 0.7]))
    np.save(y, np.array([1.0, 0.0, 2.0]))
    out = tmp_path / "O.NPZ"

    assert main(["solve", str(x), str(y), "--weight", "power:p=4", "--K", "none", "--out", str(out)]) == 0
    assert out.exists() and not (tmp_path / "O.NPZ.npz").exists()
    assert np.allclose(FPInterpolator.load(out)([0.1, 0.4, 0.7]), [1.0, 0.0, 2.0], atol=1e-12)

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    summary = json.loads(out.with_suffix(".json").read_text(), parse_constant=refuse)
    assert summary["solve"]["method"] == "periodic1d" and summary["solve"]["condition"] is None  # NaN -> null
