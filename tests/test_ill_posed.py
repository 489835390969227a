"""Ill-posed weights: ``sum_k gamma(k)^2`` over the penalised modes diverges, so the K = inf problem has no solution.

The verdicts are the exact criteria (``sum_{k != 0} |k|^-p`` converges iff ``p > d``; ``(1 + |2 pi k|^2)^-s``
behaves like ``|k|^-2s``; LFP's exponents are ``d + 1`` and ``d + 3``), tested at and around each threshold; the
premise of the warning (the truncated answer depends on K and has no interpolating limit) is checked against a closed
form in harmonic numbers.
"""

import math
import warnings

import numpy as np
import pytest

from fpnorm import (
    LFP,
    FPInterpolator,
    IllPosedWeightWarning,
    LFPFlow,
    PowerLaw,
    Sobolev,
    Weight,
    convergence_study,
    gamma_l2_info,
    generalization_bound,
    validate_bound,
)
from fpnorm.lattice_sums import penalised_divergence
from fpnorm.targets import get_target


def _fit(weight, **options):
    d = weight.dim
    x = np.random.default_rng(3).random((6, d))
    x = x[:, 0] if d == 1 else x
    y = np.cos(2 * np.pi * (x if d == 1 else x[:, 0]))
    return FPInterpolator(x, y, weight=weight, K=options.pop("K", 4), **options)


def _ill_posed_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [w for w in caught if issubclass(w.category, IllPosedWeightWarning)]


# -- the verdicts, at and around each threshold -----------------------------------------------------------------
@pytest.mark.parametrize("d", [1, 2, 3])
def test_power_law_threshold(d):
    assert penalised_divergence(PowerLaw(p=d, dim=d)) == f"PowerLaw p = {d} <= d = {d}: sum_k |k|^-p diverges"
    assert penalised_divergence(PowerLaw(p=d - 0.5, dim=d, zero=1.0)).startswith(f"PowerLaw p = {d - 0.5:g} <= d")
    assert penalised_divergence(PowerLaw(p=d + 1e-3, dim=d)) is None
    assert penalised_divergence(PowerLaw(p=d + 1e-3, dim=d, zero=1.0)) is None


@pytest.mark.parametrize("d", [1, 2, 3])
def test_sobolev_threshold(d):
    half = f"{d / 2:g}"
    assert penalised_divergence(Sobolev(s=d / 2, dim=d)) == (f"Sobolev s = {half} <= d/2 = {half}: "
                                                              f"sum_k (1 + |2 pi k|^2)^-s diverges")
    assert penalised_divergence(Sobolev(s=0.0, dim=d)) is not None
    assert penalised_divergence(Sobolev(s=d / 2 + 1e-3, dim=d)) is None


def test_reason_shows_the_parameter_exactly():
    p = 1.3114097191286869
    assert penalised_divergence(PowerLaw(p=p, dim=2)).startswith(f"PowerLaw p = {p!r} <= d = 2")


@pytest.mark.parametrize("d", [1, 2, 3])
def test_lfp_is_never_ill_posed(d):
    for a, b in ((1.0, 1.0), (1.0, 0.0), (0.0, 1.0)):
        assert penalised_divergence(LFP(a, b, dim=d)) is None


@pytest.mark.parametrize("fn, d, divergent", [
    (lambda k: np.sum(k**2, axis=-1) ** -0.5, 1, True),       # |k|^-1 on the line: the harmonic series
    (lambda k: np.sum(k**2, axis=-1) ** -0.75, 1, False),     # |k|^-1.5: 2 zeta(1.5)
    (lambda k: np.sum(k**2, axis=-1) ** -0.75, 2, True),      # |k|^-1.5 in the plane
    (lambda k: np.sum(k**2, axis=-1) ** -1.5, 2, False),      # |k|^-3: 4 zeta(1.5) beta(1.5)
    (lambda k: np.sum(k**2, axis=-1) ** -1.0, 3, True),       # |k|^-2 in space
])
def test_callable_weights(fn, d, divergent):
    reason = penalised_divergence(Weight.from_callable(fn, dim=d, zero=1.0))
    assert (reason is not None) == divergent
    if divergent:
        assert "decay no faster than 1/j" in reason and "free modes left out" in reason


# -- warned once per call, with the reason and the advice -------------------------------------------------------
@pytest.mark.parametrize("weight, text", [
    (PowerLaw(p=1, dim=1), r"PowerLaw p = 1 <= d = 1"),
    (PowerLaw(p=2, dim=2, zero=1.0), r"PowerLaw p = 2 <= d = 2"),
    (Sobolev(s=0.5, dim=1), r"Sobolev s = 0\.5 <= d/2 = 0\.5"),
    (Sobolev(s=1, dim=2), r"Sobolev s = 1 <= d/2 = 1"),
    (Sobolev(s=1.5, dim=3), r"Sobolev s = 1\.5 <= d/2 = 1\.5"),
    (Weight.from_callable(lambda k: np.sum(k**2, axis=-1) ** -0.5, dim=1, zero=1.0), r"decay no faster than 1/j"),
])
def test_interpolator_warns_once_with_reason_and_advice(weight, text):
    with pytest.warns(IllPosedWeightWarning, match=text + r".*the K -> infinity problem has no solution and the "
                      r"truncated answer depends on K.*Use a smoother weight \(PowerLaw with p > d, Sobolev with "
                      r"s > d/2, or LFP\)\.") as record:
        _fit(weight)
    assert len([w for w in record if issubclass(w.category, IllPosedWeightWarning)]) == 1


@pytest.mark.parametrize("weight", [
    PowerLaw(p=1.001, dim=1), Sobolev(s=1.001, dim=2), PowerLaw(p=3.01, dim=3, zero=1.0),
    PowerLaw(p=4, dim=1),                 # k = 0 free: ||gamma||_l2 = inf, yet well posed
    LFP(1.0, 1.0, dim=2),                 # likewise
    Weight.from_callable(lambda k: np.where(np.abs(k).sum(-1) == 1, np.inf, np.sum(k**2, -1) ** -2.0), dim=2),
])
def test_well_posed_and_free_modes_do_not_warn(weight):
    with warnings.catch_warnings():
        warnings.simplefilter("error", IllPosedWeightWarning)
        _fit(weight)
        _fit(weight, smoothing=1e-3)


@pytest.mark.parametrize("variant", [{"smoothing": 1e-3}, {"tol": 1e-3}])
def test_every_variant_warns(variant):
    with pytest.warns(IllPosedWeightWarning, match=r"Sobolev s = 1 <= d/2 = 1"):
        _fit(Sobolev(s=1, dim=2), **variant)


def test_flow_warns_once():
    x = np.arange(8) / 8
    _, caught = _ill_posed_warnings(lambda: LFPFlow(x, np.cos(2 * np.pi * x), weight=PowerLaw(p=1, zero=1.0), K=16))
    assert len(caught) == 1 and "PowerLaw p = 1 <= d = 1" in str(caught[0].message)


def test_convergence_study_warns_once_and_gives_no_rate():
    x = np.array([0.05, 0.3, 0.42, 0.7, 0.9])
    r, caught = _ill_posed_warnings(lambda: convergence_study(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=1),
                                                              Ks=[8, 16, 32, 64]))
    assert len(caught) == 1
    assert math.isnan(r.rate) and r.info["ill_posed"] == "PowerLaw p = 1 <= d = 1: sum_k |k|^-p diverges"
    assert np.all(np.isfinite(r.successive)) and np.all(r.successive > 0)   # the measurements are still reported
    assert np.all(np.isinf(r.tail_bounds))
    well, _ = _ill_posed_warnings(lambda: convergence_study(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4),
                                                            Ks=[8, 16, 32]))
    assert well.info["ill_posed"] is None and math.isfinite(well.rate)


def test_validate_bound_warns_once():
    res, caught = _ill_posed_warnings(lambda: validate_bound(get_target("sin"), weight=PowerLaw(p=1, zero=1.0), K=16,
                                                             Ms=[4, 8], trials=2, n_quad=64))
    assert len(caught) == 1 and res.vacuous and np.all(np.isinf(res.bounds))


def test_bound_reason_names_the_same_divergence():
    for weight in (Sobolev(s=1, dim=2), PowerLaw(p=1, dim=1, zero=1.0), PowerLaw(p=2, dim=3)):
        reason = penalised_divergence(weight)
        r = generalization_bound(100, 0.05, f_norm=1.0, weight=weight)
        assert r.vacuous and r.value == math.inf and reason in r.reason and reason in gamma_l2_info(weight).reason


# -- the premise: the truncated answer depends on K and drifts back to h_ini -------------------------------------
@pytest.mark.parametrize("K", [8, 64, 1024])
def test_truncated_answer_depends_on_K_exactly(K):
    """Points 0 and 1/2 with values 1, PowerLaw(p=1, zero=1): kappa_K(z) = 1 + (1/pi) sum_{k<=K} cos(2 pi k z)/k, so
    h_K(1/4) = 2 kappa_K(1/4) / (kappa_K(0) + kappa_K(1/2)) = 2 (1 + (1/2 pi) sum_{m<=K/2} (-1)^m/m) /
    (2 + H_{K/2} / pi), which tends to 0 like 1/log K: no K = inf interpolant to converge to."""
    m = np.arange(1, K // 2 + 1)
    exact = 2 * (1 + np.sum((-1.0) ** m / m) / (2 * math.pi)) / (2 + np.sum(1.0 / m) / math.pi)
    with pytest.warns(IllPosedWeightWarning):
        s = FPInterpolator([0.0, 0.5], [1.0, 1.0], weight=PowerLaw(p=1, zero=1.0), K=K)
    assert s(np.array([0.25]))[0] == pytest.approx(exact, rel=1e-9)
