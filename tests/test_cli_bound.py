"""`fpnorm bound` on the command line."""

import json
import math
import subprocess
import sys

import pytest

from fpnorm import FPNorm, PowerLaw, generalization_bound, sample_complexity
from fpnorm.cli import main
from fpnorm.commands import bound
from fpnorm.targets import get_target


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_matches_api(capsys):
    out = _json(capsys, ["bound", "--M", "100", "1000", "--delta", "0.1", "--weight", "power:p=4,zero=1",
                         "--target", "sin", "--json"])
    w = PowerLaw(p=4, dim=1, zero=1.0)
    for row, M in zip(out["results"], (100, 1000), strict=False):
        ref = generalization_bound(M, 0.1, weight=w, f=get_target("sin", 1))
        assert row["M"] == M
        assert row["value"] == pytest.approx(ref.value, rel=1e-14)
        assert row["complexity_term"] + row["confidence_term"] == pytest.approx(ref.value, rel=1e-14)
    assert out["f_norm"] == pytest.approx(math.sqrt(0.5) * (2 * math.pi) ** 2, rel=1e-13)
    assert out["gamma_l2"] == pytest.approx(math.sqrt(1 + 1 / 720), rel=1e-15)
    assert out["gamma_l2_method"] == "zeta" and out["vacuous"] is False and out["reason"] is None


def test_direct_norms_and_epsilon(capsys):
    out = _json(capsys, ["bound", "--M", "50", "--f-norm", "2", "--gamma-l2", "1.5", "--epsilon", "0.25", "--json"])
    assert out["results"][0]["value"] == pytest.approx(generalization_bound(50, 0.05, f_norm=2.0, gamma_l2=1.5).value)
    assert out["sample_complexity"] == sample_complexity(0.25, 0.05, f_norm=2.0, gamma_l2=1.5)


def test_text_output(capsys):
    assert main(["bound", "--M", "64", "--weight", "sobolev:s=2,dim=2", "--target", "bandlimited"]) == 0
    text = capsys.readouterr().out
    assert "||gamma||_l2" in text and "M = 64" in text and "complexity" in text and "confidence" in text


def test_vacuous_is_said_plainly(capsys):
    out = _json(capsys, ["bound", "--M", "100", "--weight", "lfp:a=1,b=1", "--dim", "2", "--target", "gauss",
                         "--json"])
    assert out["vacuous"] is True and out["results"][0]["value"] is None
    assert "unpenalised" in out["reason"] and out["reason"].count("vacuous") == 1
    assert main(["bound", "--M", "100", "--weight", "power:p=1,zero=1", "--f-norm", "1"]) == 0
    assert "VACUOUS: PowerLaw p = 1 <= d = 1" in capsys.readouterr().out


def test_rough_target_is_divergent_in_json_and_text(capsys):
    out = _json(capsys, ["bound", "--M", "1000", "--weight", "power:p=4,zero=1", "--target", "abs", "--json",
                         "--epsilon", "0.1"])
    assert out["vacuous"] is True and out["f_norm"] is None and out["f_norm_status"] == "divergent"
    assert out["results"][0]["value"] is None and out["sample_complexity"] is None
    assert out["reason"].startswith("the target's FP-norm ||f - h_ini||_gamma diverges: the target 'abs'")
    assert "m^0" in out["f_norm_reason"]
    assert main(["bound", "--M", "1000", "--weight", "power:p=4,zero=1", "--target", "abs"]) == 0
    text = capsys.readouterr().out
    assert "||f - h_ini||_gamma = inf  (divergent)" in text and "VACUOUS: the target's FP-norm" in text
    out = _json(capsys, ["bound", "--M", "1000", "--weight", "power:p=2,zero=1", "--target", "abs", "--json"])
    assert out["f_norm_status"] == "converged" and out["f_norm"] == pytest.approx(math.sqrt(17 / 16), rel=1e-14)
    assert 0 < out["f_norm_error_bound"] < 1e-14 and out["vacuous"] is False


def test_unresolved_norm_is_flagged(capsys, monkeypatch):
    record = FPNorm(2.5, math.inf, "unresolved", 35, "too few resolved shells")
    monkeypatch.setattr(bound, "fp_norm", lambda *args, **kwargs: record)
    out = _json(capsys, ["bound", "--M", "100", "--weight", "power:p=4,zero=1", "--target", "sin", "--json"])
    assert out["f_norm_status"] == "unresolved" and out["f_norm"] == 2.5 and out["f_norm_error_bound"] is None
    assert out["f_norm_reason"] == "too few resolved shells" and out["vacuous"] is False
    assert main(["bound", "--M", "100", "--weight", "power:p=4,zero=1", "--target", "sin"]) == 0
    text = capsys.readouterr().out
    assert "(UNRESOLVED: an estimate the samples do not support" in text
    assert "UNRESOLVED ||f - h_ini||_gamma: too few resolved shells" in text


def test_errors_exit_2_with_one_line(capsys):
    assert main(["bound", "--M", "0", "--f-norm", "1", "--gamma-l2", "1"]) == 2
    assert "fpnorm bound: error: Expected `M` >= 1, got 0." in capsys.readouterr().err
    assert main(["bound", "--M", "10", "--target", "sin"]) == 2
    assert "Expected `gamma_l2` or `weight` to be given" in capsys.readouterr().err
    assert main(["bound", "--M", "10", "--delta", "1.5", "--f-norm", "1", "--gamma-l2", "1"]) == 2
    assert "Expected `delta` < 1.0, got 1.5" in capsys.readouterr().err


def test_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "fpnorm", "bound", "--M", "10", "--f-norm", "1", "--gamma-l2", "1",
                           "--json"], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["results"][0]["value"] == pytest.approx(
        generalization_bound(10, 0.05, f_norm=1.0, gamma_l2=1.0).value)


def test_predict_json_and_text(capsys):
    from fpnorm import LFP, learning_curve

    out = _json(capsys, ["bound", "--M", "32", "128", "--weight", "lfp:a=1,b=1,zero=1", "--target", "abs",
                         "--predict", "--json"])
    ref = learning_curve([32, 128], weight=LFP(1.0, 1.0, zero=1.0), f=get_target("abs"))
    for row, mse, err in zip(out["results"], ref.mse, ref.error_bound, strict=True):
        assert abs(row["predicted_mse"] - mse) <= err + row["predicted_mse_error"]
        assert row["predicted_rmse"] == pytest.approx(math.sqrt(row["predicted_mse"]), rel=1e-15)
    assert out["prediction"]["status"] == "certified" and "median" in out["prediction"]["what"]
    assert main(["bound", "--M", "64", "--weight", "power:p=4,zero=1", "--target", "sin", "--predict"]) == 0
    text = capsys.readouterr().out
    assert "predicted mse" in text and "rmse" in text


def test_predict_needs_weight_and_target(capsys):
    assert main(["bound", "--M", "64", "--f-norm", "1", "--gamma-l2", "1", "--predict"]) != 0
    assert "Expected --weight and --target with --predict" in capsys.readouterr().err
