"""The residual cross-check by exact sums when the coefficients dwarf the data (fpnorm.solvers.crosscheck)."""

import warnings

import numpy as np
import pytest

from fpnorm import FPInterpolator, Sobolev
from fpnorm.solvers import crosscheck
from fpnorm.transforms import evaluate


def _clustered(N=2000, K=2048, seed=3):
    # uniform random points: pairs ~1e-7 apart at K = 2048, noisy data, sum |c_k| ~ 3e6 max |y|
    rng = np.random.default_rng(seed)
    x = rng.random(N)
    return x, np.sin(2 * np.pi * x) + 0.1 * rng.standard_normal(N), K


def _exact_residual(fit, x, y):
    h = evaluate(fit._coef, 2 * np.pi * x[:, None], backend="direct").real
    return np.max(np.abs(h.reshape(-1) - y)) / np.max(np.abs(y))


def test_ordinary_problems_are_not_cross_checked():
    x = np.linspace(0, 1, 200, endpoint=False) + 0.001
    fit = FPInterpolator(x, np.sin(2 * np.pi * x), weight=Sobolev(s=1.0), K=512, method="iterative")
    assert not any("cross-checked" in a or "exact sums" in a for a in fit.info.attempts)


def test_the_reported_residual_is_the_exact_one_when_finufft_cannot_measure_it():
    x, y, K = _clustered()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = FPInterpolator(x, y, weight=Sobolev(s=1.0), K=K, rtol=1e-7, method="iterative")
    assert any("exact sums at all 2000 points" in a for a in fit.info.attempts)
    assert fit.info.residual == pytest.approx(_exact_residual(fit, x, y), rel=1e-9)


def test_the_sampled_error_bar_covers_the_exact_residual(monkeypatch):
    # exact sums at 256 points only: the reported residual must still be at least the exact one at all 2000 points,
    # and its error bar no wider than the rule says (finufft's 1e-15 measurement, plus at most the larger of
    # SAMPLE_MARGIN x its true worst disagreement with exact sums and NUFFT_FLOOR sum |c_k|)
    monkeypatch.setattr(crosscheck, "FULL_CHECK_WORK", 0)
    x, y, K = _clustered()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = FPInterpolator(x, y, weight=Sobolev(s=1.0), K=K, rtol=1e-7, method="iterative")
    assert any("cross-checked by exact sums at" in a and "finufft's error model" in a for a in fit.info.attempts)
    exact = _exact_residual(fit, x, y)
    assert fit.info.residual >= exact
    t = 2 * np.pi * x[:, None]
    nufft = evaluate(fit._coef, t, eps=1e-15).real.reshape(-1)
    direct = evaluate(fit._coef, t, backend="direct").real.reshape(-1)
    scale = np.max(np.abs(y))
    worst = np.max(np.abs(nufft - direct)) / scale
    floor = crosscheck.NUFFT_FLOOR * np.sum(np.abs(fit._coef)) / scale
    measured = np.max(np.abs(nufft - y)) / scale
    assert fit.info.residual <= max(measured + max(crosscheck.SAMPLE_MARGIN * worst, floor), exact) * (1 + 1e-9)
