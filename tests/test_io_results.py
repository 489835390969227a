"""Persistence of the result records: exact round trips (arrays bit for bit, floats exactly, NaN/inf kept), refusal of
what cannot be stored, and strict, pickle-free loading of tampered files."""

import dataclasses
import json
import math
import struct
import warnings

import numpy as np
import pytest

import fpnorm
from fpnorm import (
    LFP,
    BoundResult,
    BoundValidation,
    FPNorm,
    LFPFlow,
    PowerLaw,
    ShellErrors,
    Weight,
    convergence_study,
    fp_norm,
    gamma_l2_info,
    generalization_bound,
    get_target,
    load,
    save,
    validate_bound,
)

RNG = np.random.default_rng(11)


def _bits(x):
    """The IEEE bits of a float (so -0.0 != 0.0 and NaN == NaN), or the value itself otherwise."""
    return struct.pack("<d", x) if isinstance(x, float) else x


def assert_same(a, b):
    """Same class, every field identical: arrays of the same dtype, shape and bits; floats bit for bit."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            assert x.tobytes() == y.tobytes(), f.name
        elif isinstance(x, dict):
            assert x.keys() == y.keys() and all(_bits(x[k]) == _bits(y[k]) for k in x), f.name
        else:
            assert type(x) is type(y) or isinstance(x, (np.floating, np.integer, np.bool_)), f.name
            assert _bits(float(x) if isinstance(x, np.floating) else x) == _bits(y), f.name


def _flow_target(x):
    x = np.asarray(x).reshape(len(x), -1)[:, 0]
    return np.cos(2 * np.pi * x) + 0.25 * np.sin(6 * np.pi * x)


def _cases():
    """Real results from the public functions, and hand-made ones with NaN, inf, -0.0 and None."""
    inf, nan = math.inf, math.nan
    yield "fpnorm-computed", fp_norm(lambda x: np.cos(2 * np.pi * x), PowerLaw(p=4), full=True)
    yield "fpnorm-special", FPNorm(nan, -0.0, "unresolved", 35, None)
    yield "fpnorm-divergent", fp_norm(get_target("abs"), PowerLaw(p=4, zero=1.0), full=True)
    yield "bound-computed", generalization_bound(1000, 0.05, f_norm=0.7, gamma_l2=0.1)
    yield "bound-vacuous", generalization_bound(10, 0.1, f_norm=2.0, gamma_l2=inf)
    yield "bound-from-weight", generalization_bound(50, 0.05, f_norm=1.5, weight=PowerLaw(p=4))
    yield "gamma-l2", gamma_l2_info(PowerLaw(p=4, zero=1.0))
    yield "gamma-l2-divergent", gamma_l2_info(LFP(a=1.0, b=1.0))
    yield "gamma-l2-2d", gamma_l2_info(PowerLaw(p=3, dim=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield "validation", validate_bound(lambda x: np.cos(2 * np.pi * x), weight=PowerLaw(p=4, zero=1.0),
                                           K=12, Ms=[3, 6, 12], trials=2, n_quad=256, seed=3)
    yield "validation-vacuous", BoundValidation(
        np.array([4, 8]), RNG.random((2, 3)), np.zeros((2, 3)), np.array([inf, inf]), np.array([1.0, 1.0]), 1.0,
        0.51, nan, 0.05, 1.25, inf, True, LFP(a=0.5, b=0.25, zero=None, dim=2), 3, "converged", "gamma(0) = inf")
    x = np.array([0.05, 0.3, 0.42, 0.7, 0.9])
    yield "convergence", convergence_study(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4), Ks=[4, 8, 16], n_grid=64)
    x2 = RNG.random((5, 2))
    # PowerLaw(p=4) in 2-d as a callable: no exact K = infinity kernel, so no distance to the limit (NaN)
    no_kernel = Weight.from_callable(lambda k: (2 * np.pi) ** -4.0 * np.sum(k**2, axis=-1) ** -2.0, dim=2)
    yield "convergence-2d-no-limit", convergence_study(x2, x2[:, 0] ** 2, weight=no_kernel, Ks=[2, 3], n_grid=8)
    flow = LFPFlow(np.arange(8) / 8, _flow_target(np.arange(8)[:, None] / 8), weight=LFP(a=1.0, b=1.0, zero=1.0),
                   K=3)
    yield "shells", flow.shell_errors(_flow_target, [0.0, 0.5, 2.0, np.inf])
    yield "shells-nan", ShellErrors(np.array([0.0, 1.0]), np.arange(3), np.array([[1.0, nan, 1.0], [0.5, nan, -0.0]]),
                                    np.array([1.0, 0.0, 2.0]))


CASES = dict(_cases())


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_is_exact(name, tmp_path):
    obj = CASES[name]
    save(obj, tmp_path / "r.npz")
    back = load(tmp_path / "r.npz", expect=type(obj))
    assert_same(obj, back)
    # and through the class name as well
    assert type(load(tmp_path / "r.npz", expect=type(obj).__name__)) is type(obj)


def test_cases_cover_special_values():
    # the round trips above really do see NaN, inf, -0.0 and None (so "kept exactly" is tested, not assumed)
    assert math.isnan(CASES["fpnorm-special"].value)
    assert struct.pack("<d", CASES["fpnorm-special"].error_bound)[-1] == 0x80
    assert CASES["fpnorm-divergent"].value == math.inf and "abs" in CASES["fpnorm-divergent"].reason
    assert CASES["bound-vacuous"].value == math.inf and CASES["bound-vacuous"].gamma_l2_error is None
    assert not CASES["gamma-l2-divergent"].finite and CASES["gamma-l2-divergent"].reason
    assert np.isinf(CASES["validation-vacuous"].bounds).all()
    assert np.isnan(CASES["convergence-2d-no-limit"].to_limit).all()
    assert np.isnan(CASES["shells-nan"].errors).any()
    assert np.isinf(CASES["shells"].times[-1])


def test_loaded_values_match_exact_maths(tmp_path):
    # ||cos(2 pi x)||_gamma for PowerLaw(p=4): coefficients 1/2 at k = +-1, gamma(1)^2 = (2 pi)^-4
    save(CASES["fpnorm-computed"], tmp_path / "n.npz")
    n = load(tmp_path / "n.npz")
    assert n.value == pytest.approx(math.sqrt(2 * 0.25 * (2 * math.pi) ** 4), rel=1e-12)
    # ||gamma||_l2^2 = sum_k gamma(k)^2 for PowerLaw(p=4, zero=1) in 1-d: 1 + 2 zeta(4) / (2 pi)^4 = 1 + 1/720
    save(CASES["gamma-l2"], tmp_path / "g.npz")
    g = load(tmp_path / "g.npz")
    assert g.sum == pytest.approx(1 + 1 / 720, rel=1e-14)
    # the bound: f_norm gamma_l2 (2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M))
    save(CASES["bound-computed"], tmp_path / "b.npz")
    b = load(tmp_path / "b.npz")
    assert b.value == pytest.approx(0.07 * (2 / math.sqrt(1000) + 4 * math.sqrt(2 * math.log(80) / 1000)), rel=1e-14)


def test_save_and_load_are_exported():
    assert fpnorm.save is save and fpnorm.load is load and {"save", "load"} <= set(fpnorm.__all__)


def test_file_holds_plain_arrays_and_json(tmp_path):
    save(CASES["validation"], tmp_path / "v.npz")
    with np.load(tmp_path / "v.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["Ms", "__fpnorm__", "bounds", "held", "risks", "stderrs"]
        header = json.loads(str(f["__fpnorm__"]))
    assert header["class"] == "BoundValidation" and header["meta"]["weight"] == "power:p=4.0,zero=1.0,dim=1"


# -- what cannot be stored ---------------------------------------------------------------------------------------
def test_callable_weight_refused(tmp_path):
    w = Weight.from_callable(lambda k: np.sum(np.abs(k), axis=-1) ** -4.0, dim=1, zero=1.0)
    v = dataclasses.replace(CASES["validation-vacuous"], weight=w)
    with pytest.raises(ValueError, match=r"Cannot save a BoundValidation whose weight was made from a callable "
                                         r"\(.*\): code is never stored\."):
        save(v, tmp_path / "v.npz")
    assert list(tmp_path.iterdir()) == []


def test_callable_in_info_refused(tmp_path):
    r = dataclasses.replace(CASES["convergence"], info={"n_grid": 64, "target": np.cos})
    with pytest.raises(ValueError, match=r"Cannot save ConvergenceResult: field `info` should be a dict of str to "
                                         r"None, bool, int, float or str \(code and objects are never stored\)"):
        save(r, tmp_path / "c.npz")


def test_wrong_field_type_refused_at_save(tmp_path):
    b = dataclasses.replace(CASES["bound-computed"], M="1000")
    with pytest.raises(TypeError, match=r"Cannot save BoundResult: field `M` should be int, got str\."):
        save(b, tmp_path / "b.npz")


def test_object_array_field_refused_at_save(tmp_path):
    s = dataclasses.replace(CASES["shells-nan"], times=np.array([0.0, None], dtype=object))
    with pytest.raises(TypeError, match=r"Cannot save ShellErrors: field `times` should be an array of dtype kind "
                                        r"'f', got dtype object\."):
        save(s, tmp_path / "s.npz")


# -- tampered files ----------------------------------------------------------------------------------------------
def _parts(obj, tmp_path):
    save(obj, tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as f:
        arrays = {k: f[k] for k in f.files}
    return arrays, json.loads(str(arrays.pop("__fpnorm__")))


def _write(path, arrays, header, **extra):
    np.savez(path, **arrays, **extra, __fpnorm__=np.array(json.dumps(header)))
    return path


@pytest.mark.parametrize("case, change, message", [
    ("bound-computed", lambda a, h: h["meta"].update(M=1000.0), r"BoundResult metadata 'M' should be int, got float"),
    ("bound-computed", lambda a, h: h["meta"].update(M=True), r"BoundResult metadata 'M' should be int, got bool"),
    ("bound-computed", lambda a, h: h["meta"].update(value="1"),
     r"BoundResult metadata 'value' should be float, got str"),
    ("bound-computed", lambda a, h: h["meta"].update(reason=[1]), r"metadata 'reason' should be str or None, got list"),
    ("bound-computed", lambda a, h: h["meta"].update(vacuous=None), r"metadata 'vacuous' should be bool, got NoneType"),
    ("bound-computed", lambda a, h: h["meta"].pop("delta"), r"BoundResult: missing metadata 'delta'"),
    ("gamma-l2", lambda a, h: h["meta"].update(extra=1), r"GammaL2: unexpected metadata \['extra'\]"),
    ("fpnorm-computed", lambda a, h: a.update(x=np.zeros(2)), r"FPNorm: unexpected arrays \['x'\]"),
    ("fpnorm-computed", lambda a, h: h["meta"].update(status="finite"),
     r"FPNorm metadata 'status' should be one of \('exact', 'converged', 'extrapolated', 'divergent', "
     r"'unresolved'\), got 'finite'"),
    ("bound-computed", lambda a, h: h["meta"].update(f_norm_status="ok"), r"metadata 'f_norm_status' should be one of"),
    ("shells", lambda a, h: a.update(errors=a["errors"][:, :-1]),
     r"ShellErrors array 'errors' should have shape \(4, 4\), got \(4, 3\)"),
    ("shells", lambda a, h: a.update(shells=a["shells"].astype(float)),
     r"ShellErrors array 'shells' should have dtype kind in 'iu', got float64"),
    ("shells", lambda a, h: a.update(times=a["times"].astype(complex)),
     r"ShellErrors array 'times' should have dtype kind in 'f', got complex128"),
    ("shells", lambda a, h: a.update(times=np.array(["0", "1", "2", "3"])),
     r"ShellErrors array 'times' should have dtype kind in 'f', got <U1"),
    ("shells", lambda a, h: a.pop("initial"), r"ShellErrors: missing array 'initial'"),
    ("convergence", lambda a, h: a.update(successive=a["to_limit"]),
     r"array 'successive' should have shape \(n-1, \.\.\.\), got \(3,\)"),
    ("convergence", lambda a, h: h["meta"].update(info={"a": [1, 2]}), r"metadata 'info' should be a JSON object of "
                                                                       r"scalars"),
    ("validation", lambda a, h: a.update(risks=a["risks"].T.copy()),
     r"array 'risks' should have shape \(3, trials\), got \(2, 3\)"),
    ("validation", lambda a, h: h["meta"].update(weight="__import__('os')"), r"Expected the weight kind in `spec`"),
    ("validation", lambda a, h: h["meta"].update(weight=3),
     r"metadata 'weight' should be a weight spec string, got int"),
    ("validation", lambda a, h: h["meta"].update(K=-1.5), r"metadata 'K' should be int or None, got float"),
])
def test_tampered_file(tmp_path, case, change, message):
    arrays, header = _parts(CASES[case], tmp_path)
    change(arrays, header)
    with pytest.raises(ValueError, match=message):
        load(_write(tmp_path / "x.npz", arrays, header))


def test_unknown_class_refused(tmp_path):
    arrays, header = _parts(CASES["shells"], tmp_path)
    header["class"] = "fpnorm.dynamics:LFPFlow"
    with pytest.raises(ValueError, match=r"to hold one of the fpnorm classes \[.*'ShellErrors'.*\], got class "
                                         r"'fpnorm.dynamics:LFPFlow'\."):
        load(_write(tmp_path / "x.npz", arrays, header))


def test_other_class_under_expect_refused(tmp_path):
    save(CASES["gamma-l2"], tmp_path / "g.npz")
    with pytest.raises(ValueError, match=r"to hold a BoundResult, got a GammaL2\."):
        load(tmp_path / "g.npz", expect=BoundResult)


def test_class_swap_refused(tmp_path):
    # a GammaL2 state relabelled as an FPNorm: the schema, not the label, decides what loads
    arrays, header = _parts(CASES["gamma-l2"], tmp_path)
    header["class"] = "FPNorm"
    with pytest.raises(ValueError, match=r"FPNorm: unexpected metadata \['certified', 'method', 'sum'\]"):
        load(_write(tmp_path / "x.npz", arrays, header))


class Boom:
    """Unpickling this would create a file: loading must never get that far."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("case", ["shells", "convergence", "bound-computed"])
def test_object_array_never_unpickled(tmp_path, case):
    marker = tmp_path / "pwned"
    arrays, header = _parts(CASES[case], tmp_path)
    path = _write(tmp_path / "evil.npz", arrays, header, payload=np.array([Boom(str(marker))], dtype=object))
    with pytest.raises(ValueError, match=r"member 'payload' cannot be read without pickle \(object array\), which "
                                         r"fpnorm never loads"):
        load(path)
    assert not marker.exists()


# -- LFPFlow ----------------------------------------------------------------------------------------------------
X8 = np.arange(8) / 8
FLOWS = {
    "svd-free-zero": dict(points=X8, values=_flow_target(X8[:, None]), weight=LFP(a=1.0, b=1.0), K=3, method="svd"),
    "eigh-free-zero": dict(points=X8, values=_flow_target(X8[:, None]), weight=LFP(a=1.0, b=1.0), K=3, method="eigh"),
    "eigh-2d-complex-m2": dict(points=RNG.random((9, 2)), values=RNG.standard_normal((9, 2)) + 1j,
                               weight=PowerLaw(p=3, zero=1.0, dim=2), K=2, method="eigh"),
    "svd-hini-period": dict(points=X8 * 2, values=np.sin(np.pi * X8), weight=PowerLaw(p=2, zero=1.0), K=4,
                            h_ini=np.array([0.1, 0.2j, 0.3]), period=2.0, method="svd"),
}


def _flow(name):
    kw = dict(FLOWS[name])
    return LFPFlow(kw.pop("points"), kw.pop("values"), **kw)


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_flow_round_trip_is_exact(name, tmp_path):
    f = _flow(name)
    save(f, tmp_path / "f.npz")
    g = load(tmp_path / "f.npz", expect=LFPFlow)
    assert g.method == f.method == FLOWS[name]["method"] and g.weight == f.weight and g.K == f.K
    ts = np.array([0.0, 0.3, 5.0, np.inf])
    q = RNG.random((20, f.dim)) * 3 - 1
    q = q[:, 0] if f.dim == 1 else q
    for a, b in [(f.coef(ts), g.coef(ts)), (f(ts, q), g(ts, q)), (f.norm(ts), g.norm(ts)), (f.rates, g.rates),
                 (f.loss(ts), g.loss(ts)), (f.residual(np.inf), g.residual(np.inf))]:
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    # exact maths on the loaded copy: h(0) = h_ini (coefficients of h - h_ini vanish) and, with at most as many
    # points as modes, t = inf interpolates
    assert not np.any(g.coef(0.0))
    assert np.max(np.abs(g.residual(np.inf))) <= 1e-9 * np.max(np.abs(g.values))


def test_flow_shell_errors_after_loading(tmp_path):
    f = _flow("svd-free-zero")
    save(f, tmp_path / "f.npz")
    assert_same(f.shell_errors(_flow_target, [0.0, 1.0, np.inf]),
                load(tmp_path / "f.npz").shell_errors(_flow_target, [0.0, 1.0, np.inf]))


def test_flow_with_callable_weight_or_h_ini_refused(tmp_path):
    w = Weight.from_callable(lambda k: 1.0 / (1.0 + np.sum(k * k, axis=-1)) ** 2, dim=1)
    with pytest.raises(ValueError, match=r"Cannot save an LFPFlow whose weight was made from a callable"):
        save(LFPFlow(X8, np.cos(X8), weight=w, K=3), tmp_path / "f.npz")
    with pytest.raises(ValueError, match=r"Cannot save an LFPFlow with a callable `h_ini`: code is never stored"):
        save(LFPFlow(X8, np.cos(X8), weight=PowerLaw(p=2, zero=1.0), K=3, h_ini=np.sin), tmp_path / "f.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("change, message", [
    (lambda a, h: a.update(w=a["w"][:, :0]), r"array 'free_r' should have shape \(1, 0\), got \(1, 1\)"),
    (lambda a, h: a.update(kept=a["kept"].astype(np.int8)), r"array 'kept' should have dtype kind in 'b'"),
    (lambda a, h: a.update(lam=a["lam"] * np.inf), r"array 'lam' holds NaN or inf"),
    (lambda a, h: a.update(free_cols=np.array([0, 0])), r"array 'free_r' should have shape \(2, 1\), got \(1, 1\)"),
    (lambda a, h: a.pop("coef_map"), r"LFPFlow with method 'svd' should have the array 'coef_map' and not 'lift_U'"),
    (lambda a, h: a.update(lift_U=a["pts"]),
     r"LFPFlow with method 'svd' should have the array 'coef_map' and not 'lift_U'"),
    (lambda a, h: h["meta"].update(method="pickle"),
     r"metadata 'method' should be one of \('svd', 'eigh'\), got 'pickle'"),
    (lambda a, h: h["meta"].update(hook="x"), r"unexpected metadata \['hook'\]"),
    (lambda a, h: h["meta"].update(complex=True), r"metadata 'complex' \(True\) should match the dtype of 'values'"),
])
def test_flow_tampered_file(tmp_path, change, message):
    arrays, header = _parts(_flow("svd-free-zero"), tmp_path)
    change(arrays, header)
    with pytest.raises(ValueError, match=message):
        load(_write(tmp_path / "x.npz", arrays, header))
