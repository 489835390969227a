"""Fixes of defects found in review: CLI files load with fpnorm.io, loaders refuse implausible headers, SolveInfo
equality with NaN, headless BoundValidation.plot, the near-square truncation warning of FPInterpolator."""

import json

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from fpnorm import FPInterpolator
from fpnorm.cli import main


# -- 1. `fpnorm solve --out` writes the fpnorm.io format -------------------------------------------------------------
@pytest.mark.parametrize("K", ["256", "none"])
def test_cli_output_loads_with_fpinterpolator_load(tmp_path, capsys, K):
    x = np.array([0.3, 1.1, 1.7, 2.4])
    y = np.array([1.0, -0.5, 0.25, 2.0])
    q = np.linspace(0.0, 3.0, 61)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "q.npy", q)
    out = tmp_path / "res" / "h.npz"
    status = main(["solve", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--weight", "power:p=4", "--K", K,
                   "--period", "3", "--query", str(tmp_path / "q.npy"), "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    s = FPInterpolator.load(out)
    assert s.K == (None if K == "none" else 256) and s.period == 3.0
    assert np.array_equal(s.points[:, 0], x) and np.array_equal(s.values, y)
    # the query evaluations go next to it, and equal the loaded interpolant bit for bit
    evals = out.with_suffix(".eval.npz")
    assert f"wrote {evals}" in capsys.readouterr().out
    with np.load(evals, allow_pickle=False) as z:
        assert sorted(z.files) == ["evaluations", "query"]
        assert np.array_equal(z["query"], q)
        assert np.array_equal(z["evaluations"], s(q))
    # and they are the periodic cubic spline through the data (an independent reference)
    spline = CubicSpline(np.r_[x, x[0] + 3.0], np.r_[y, y[0]], bc_type="periodic")
    assert np.max(np.abs(s(q) - spline(np.mod(q - x[0], 3.0) + x[0]))) < 1e-6
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["norm"] == pytest.approx(s.norm, rel=1e-15) and summary["evaluations"] == str(evals)
