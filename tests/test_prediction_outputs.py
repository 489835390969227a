"""The prediction, the leave-one-out error and the power-function bound in validate_bound, bound_curve,
plot_bound_curve and the sweeps' rows."""

import math

import numpy as np
import pytest

from fpnorm import LFP, PowerLaw, bound_curve, get_target, learning_curve, load, save
from fpnorm.plotting import plot_bound_curve
from fpnorm.sweeps import parse_config, run_trial
from fpnorm.validation import validate_bound


def test_validate_bound_records_the_prediction(tmp_path):
    f = get_target("abs")
    w = LFP(1.0, 1.0, zero=1.0)
    v = validate_bound(f, weight=w, K=None, Ms=[16, 32], trials=3, n_quad=2048, predict=True)
    assert np.array_equal(v.predicted, learning_curve([16, 32], weight=w, f=f).mse)
    assert v.mse.shape == v.loo.shape == v.power_bound.shape == (2, 3)
    # the power-function bound holds for every trial: RMS error on the quadrature points <= bound (Monte Carlo
    # estimates the torus mean to a few percent with 2048 points)
    assert np.all(np.sqrt(v.mse) <= 1.1 * v.power_bound)
    rows = v.summary()
    assert rows[0]["median_mse"] == pytest.approx(float(np.median(v.mse[0])))
    assert rows[1]["predicted_over_median"] == pytest.approx(v.predicted[1] / np.median(v.mse[1]))
    save(v, tmp_path / "v.npz")
    back = load(tmp_path / "v.npz")
    assert np.array_equal(back.loo, v.loo) and np.array_equal(back.predicted, v.predicted) and back.K is None
    plain = validate_bound(f, weight=w, K=None, Ms=[16], trials=1, n_quad=256)
    assert plain.mse is None and "median_mse" not in plain.summary()[0]


def test_power_bound_is_nan_outside_the_box():
    v = validate_bound(get_target("abs"), weight=PowerLaw(p=2, zero=1.0), K=16, Ms=[8], trials=2, n_quad=256,
                       predict=True)
    assert np.all(np.isnan(v.power_bound)) and np.all(np.isfinite(v.loo))


def test_bound_curve_predict():
    w, f = PowerLaw(p=4, zero=1.0), get_target("sin")
    curve, lc = bound_curve([8, 64], 0.05, weight=w, f=f, predict=True)
    assert np.array_equal(curve, bound_curve([8, 64], 0.05, weight=w, f=f))
    # sin: coefficients -+i/2 at k = +-1, so the bias is (1 - L_1)^2 / 2
    assert np.allclose(lc.bias, 0.5 * (1 - lc.learnability[:, 1]) ** 2, rtol=1e-12)
    with pytest.raises(ValueError, match="Expected `weight` and `f` with `predict`"):
        bound_curve([8], 0.05, f_norm=1.0, gamma_l2=1.0, predict=True)


def test_plot_bound_curve_draws_the_three_numbers():
    M = np.array([16, 64, 256])
    fig = plot_bound_curve(M, 3 / np.sqrt(M), risk_M=M, risk=0.1 / M, rmse=0.2 / M, predicted=0.15 / M,
                           power_M=M, power=1.0 / M)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("eigenlearning" in t for t in labels) and any("power-function" in t for t in labels)
    assert any("RMS" in t for t in labels)
    with pytest.raises(ValueError, match="`power_M` and `power` together"):
        plot_bound_curve(M, 1 / np.sqrt(M), power=1.0 / M)
    with pytest.raises(ValueError, match="`predicted` to have the shape of `M`"):
        plot_bound_curve(M, 1 / np.sqrt(M), predicted=[1.0])
    with pytest.raises(ValueError, match="`rmse` only together"):
        plot_bound_curve(M, 1 / np.sqrt(M), rmse=1.0 / M)


def test_sweep_rows_carry_the_prediction():
    cfg = parse_config({"weights": ["power:p=4,zero=1"], "K": [8], "M": [6], "seeds": [0], "target": "sin",
                        "delta": 0.05, "risk": {"n": 500}})
    row = run_trial(cfg.tasks()[0])
    ref = learning_curve(6, weight=PowerLaw(p=4, zero=1.0), f=get_target("sin")).mse[0]
    assert row["predicted_mse"] == pytest.approx(ref, rel=1e-12)
    cfg = parse_config({"weights": ["lfp:a=1,b=1,zero=1"], "K": [8], "M": [1], "seeds": [0], "target": "sin",
                        "delta": 0.05, "risk": {"n": 500}})
    assert math.isfinite(run_trial(cfg.tasks()[0])["predicted_mse"])
