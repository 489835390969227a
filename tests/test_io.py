"""Persistence: exact round trips, refusal of what cannot be stored, and safe loading of hostile files."""

import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev, Weight
from fpnorm.io import STATE_CLASSES, Array, Scalar, load, register, save
from fpnorm.solvers import SolveInfo

RNG = np.random.default_rng(7)


def _cases():
    x1 = np.array([0.05, 0.3, 0.55, 0.8, 2.9])                     # wrapped on load of the constructor
    yield "1d-power", dict(points=x1, values=np.cos(x1), weight=PowerLaw(p=4), K=16)
    yield "1d-lfp-zero-m2", dict(points=x1, values=RNG.standard_normal((5, 2)),
                                 weight=LFP(a=0.3, b=1 / 3, zero=2.5), K=9, period=3.7)
    yield "1d-complex-hini", dict(points=x1, values=np.exp(1j * x1),
                                  weight=Sobolev(s=1.5), K=7, h_ini=np.array([0.1, 0.2 + 0.3j, -0.4]))
    x2 = RNG.random((7, 2))
    yield "2d-lfp", dict(points=x2, values=x2[:, 0] - x2[:, 1] ** 2, weight=LFP(a=1.0, b=0.5, dim=2), K=4)
    x3 = RNG.random((6, 3)) * 2.0
    yield "3d-sobolev", dict(points=x3, values=np.sin(x3.sum(axis=1)), weight=Sobolev(s=2, dim=3), K=2, period=2.0)


CASES = dict(_cases())


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_is_exact(name, tmp_path):
    kw = dict(CASES[name])
    s = FPInterpolator(kw.pop("points"), kw.pop("values"), **kw)
    path = tmp_path / "s.npz"
    s.save(path)
    t = FPInterpolator.load(path)
    for attr in ("coef", "points", "values", "kept"):
        a, b = getattr(s, attr), getattr(t, attr)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), attr
    assert t.weight == s.weight and t.K == s.K and t.period == s.period and t.rtol == s.rtol
    assert t.info == s.info
    np.testing.assert_array_equal(t.norm, s.norm)
    q = RNG.random((50, s.dim)) * 3 - 1
    q = q[:, 0] if s.dim == 1 else q
    a, b = s(q), t(q)
    assert a.dtype == b.dtype and np.array_equal(a, b)
    # and the loaded copy still interpolates the data it says it holds
    assert np.max(np.abs(t(t.points if s.dim > 1 else t.points[:, 0]) - t.values)) <= 1e-9 * np.max(np.abs(t.values))


def test_save_twice_gives_identical_state(tmp_path):
    s = FPInterpolator([0.1, 0.6], [1.0, -1.0], weight=PowerLaw(p=2), K=5)
    s.save(tmp_path / "a.npz")
    FPInterpolator.load(tmp_path / "a.npz").save(tmp_path / "b.npz")
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert a.files == b.files
        for key in a.files:
            assert np.array_equal(a[key], b[key])


def test_solve_info_round_trip_with_nan_and_inf(tmp_path):
    info = SolveInfo("qr", float("nan"), float("inf"), 2, ["cholesky: failed"], 0.25)
    save(info, tmp_path / "i.npz")
    back = load(tmp_path / "i.npz", expect=SolveInfo)
    assert back.method == "qr" and np.isnan(back.residual) and back.condition == np.inf
    assert (back.iterations, back.attempts, back.seconds) == (2, ["cholesky: failed"], 0.25)


def test_path_used_as_given_and_no_temporary_left(tmp_path):
    s = FPInterpolator([0.1, 0.6], [1.0, -1.0], weight=PowerLaw(p=2), K=5)
    path = tmp_path / "model.fp"
    s.save(path)
    s.save(path)  # overwriting is fine
    assert sorted(os.listdir(tmp_path)) == ["model.fp"]


# -- what cannot be stored ---------------------------------------------------------------------------------------
def test_callable_weight_refused(tmp_path):
    w = Weight.from_callable(lambda k: np.sum(np.abs(k), axis=-1) ** -4.0, dim=1)
    s = FPInterpolator([0.1, 0.6], [1.0, -1.0], weight=w, K=5)
    with pytest.raises(ValueError, match=r"Cannot save an FPInterpolator whose weight was made from a callable"):
        s.save(tmp_path / "s.npz")
    assert os.listdir(tmp_path) == []


def test_callable_h_ini_refused(tmp_path):
    s = FPInterpolator([0.1, 0.6], [1.0, -1.0], weight=PowerLaw(p=2), K=5, h_ini=np.cos)
    with pytest.raises(ValueError, match=r"Cannot save an FPInterpolator with a callable `h_ini`: code is never "
                                         r"stored\. Pass `h_ini` as a coefficient array"):
        s.save(tmp_path / "s.npz")


def test_unsavable_object(tmp_path):
    with pytest.raises(TypeError, match=r"Expected `obj` to be a savable fpnorm object \(one of .*\), got dict\."):
        save({"a": 1}, tmp_path / "x.npz")


# -- the generic mechanism ---------------------------------------------------------------------------------------
class Tally:
    """A toy result object: arrays and metadata."""

    def __init__(self, counts, label):
        self.counts, self.label = counts, label


TALLY_FIELDS = {"counts": Array("iu", ("n",)), "label": Scalar("str")}


def test_registered_class_round_trip(tmp_path):
    register(Tally, TALLY_FIELDS, "TestTally")
    save(Tally(np.arange(5, dtype=np.int32), "x"), tmp_path / "t.npz")
    back = load(tmp_path / "t.npz")
    assert isinstance(back, Tally) and back.label == "x" and back.counts.dtype == np.int32
    assert np.array_equal(back.counts, np.arange(5))


def test_register_name_clash():
    with pytest.raises(ValueError, match=r"Expected a new name for Tally: 'FPInterpolator' is already registered\."):
        register(Tally, TALLY_FIELDS, "FPInterpolator")


def test_register_needs_a_schema():
    with pytest.raises(TypeError, match=r"Expected `fields` to be a non-empty dict of identifier -> field kind"):
        register(Tally, {"counts": "array"})
    with pytest.raises(TypeError, match=r"Expected `cls` to be a class, got 3\."):
        register(3, TALLY_FIELDS)


def test_state_with_object_array_refused(tmp_path):
    class Bad(Tally):
        pass

    register(Bad, TALLY_FIELDS, "TestBad")
    with pytest.raises(TypeError, match=r"Cannot save TestBad: field `counts` should be an array of dtype kind 'iu', "
                                        r"got dtype object\."):
        save(Bad(np.array([1, None], dtype=object), "b"), tmp_path / "b.npz")


# -- hostile and broken files ------------------------------------------------------------------------------------
def _valid_file(tmp_path):
    s = FPInterpolator([0.1, 0.4, 0.8], [1.0, -1.0, 0.5], weight=PowerLaw(p=4), K=8)
    path = tmp_path / "good.npz"
    s.save(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(str(arrays.pop("__fpnorm__")))
    return arrays, header


def _write(path, arrays, header):
    np.savez(path, **arrays, __fpnorm__=np.array(json.dumps(header)))
    return path


class Boom:
    """Unpickling this would create a file: loading must never get that far."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    arrays, header = _valid_file(tmp_path)
    arrays["coef"] = np.array([Boom(str(marker))], dtype=object)
    path = tmp_path / "evil.npz"
    np.savez(path, **arrays, __fpnorm__=np.array(json.dumps(header)))
    assert b"pwned" in zipfile.ZipFile(path).read("coef.npy")  # the payload really is in the file
    with pytest.raises(ValueError, match=r"member 'coef' cannot be read without pickle \(object array\), which "
                                         r"fpnorm never loads"):
        FPInterpolator.load(path)
    assert not marker.exists()


def test_bare_pickle_file(tmp_path):
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(Boom(str(tmp_path / "pwned"))))
    with pytest.raises(ValueError, match=r"to be an fpnorm \.npz file; numpy cannot read it"):
        load(path)
    assert not (tmp_path / "pwned").exists()


def test_garbage_bytes(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=r"to be an fpnorm \.npz file; numpy cannot read it"):
        load(path)


def test_single_npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(3))
    with pytest.raises(ValueError, match=r"to be an fpnorm \.npz file, got a single \.npy array\."):
        load(path)


def test_plain_npz_without_metadata(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(ValueError, match=r"to be an fpnorm file with a '__fpnorm__' text member; it has none "
                                         r"\(members: \['a'\]\)\."):
        load(path)


def test_bad_json(tmp_path):
    arrays, _ = _valid_file(tmp_path)
    path = tmp_path / "x.npz"
    np.savez(path, **arrays, __fpnorm__=np.array("{not json"))
    with pytest.raises(ValueError, match=r"Expected the metadata in .* to be valid JSON"):
        load(path)


def test_wrong_format_tag(tmp_path):
    arrays, header = _valid_file(tmp_path)
    header["format"] = "other"
    with pytest.raises(ValueError, match=r"but its metadata has no 'format': 'fpnorm'\."):
        load(_write(tmp_path / "x.npz", arrays, header))


def test_version_1_says_what_to_do(tmp_path):
    arrays, header = _valid_file(tmp_path)
    header["version"] = 1
    with pytest.raises(ValueError, match=r"version 2, got 1\. Version 1 files come from fpnorm before its "
                                         r"one-schema-per-class layout: load them with that version and save them "):
        load(_write(tmp_path / "x.npz", arrays, header))


def test_future_version(tmp_path):
    arrays, header = _valid_file(tmp_path)
    header["version"] = 99
    with pytest.raises(ValueError, match=r"to have fpnorm file format version 2, got 99\."):
        load(_write(tmp_path / "x.npz", arrays, header))


def test_unknown_class_never_imported(tmp_path):
    arrays, header = _valid_file(tmp_path)
    header["class"] = "os:system"
    with pytest.raises(ValueError, match=r"to hold one of the fpnorm classes \[.*\], got class 'os:system'\."):
        load(_write(tmp_path / "x.npz", arrays, header))
    assert "os:system" not in STATE_CLASSES


def test_expect_other_class(tmp_path):
    save(SolveInfo("qr", 0.0), tmp_path / "i.npz")
    with pytest.raises(ValueError, match=r"to hold a FPInterpolator, got a SolveInfo\."):
        FPInterpolator.load(tmp_path / "i.npz")


@pytest.mark.parametrize("change, message", [
    (lambda a, h: a.update(coef=a["coef"][:-1]),
     r"FPInterpolator array 'coef' should have shape \(17, \.\.\.\), got \(16,\)"),
    (lambda a, h: a.update(coef=a["coef"] * np.nan), r"array 'coef' holds NaN or inf"),
    (lambda a, h: a.update(points=a["points"].astype(np.int64)), r"array 'points' should have dtype kind in 'f'"),
    (lambda a, h: a.update(points=a["points"] + 5.0),
     r"FPInterpolator array 'points' should hold values in \[0.0, 1.0\)"),
    (lambda a, h: a.pop("values"), r"KeyError: \"FPInterpolator: missing array 'values'\""),
    (lambda a, h: a.update(extra=np.zeros(2)), r"unexpected arrays \['extra'\]"),
    (lambda a, h: h["meta"].update(K="8"), r"metadata 'K' should be int or None, got str"),
    (lambda a, h: h["meta"].update(K=-1), r"FPInterpolator metadata 'K' should be >= 0, got -1"),
    (lambda a, h: h["meta"].update(weight="power:p=nan"), r"Expected `p` to be finite, got nan\."),
    (lambda a, h: h["meta"].update(weight="__import__('os')"), r"Expected the weight kind in `spec` to be one of"),
    (lambda a, h: h["meta"]["info"].update(method=3), r"SolveInfo metadata 'method' should be str, got int"),
    (lambda a, h: h.update(meta=[1, 2]), r"Expected the metadata in .* to be a JSON object, got list\."),
])
def test_tampered_file(tmp_path, change, message):
    arrays, header = _valid_file(tmp_path)
    change(arrays, header)
    with pytest.raises(ValueError, match=message):
        FPInterpolator.load(_write(tmp_path / "x.npz", arrays, header))


def test_missing_file(tmp_path):
    with pytest.raises(OSError):
        load(tmp_path / "nope.npz")


# -- K = None (the exact K = infinity solve) -------------------------------------------------------------------
X5 = np.array([0.05, 0.3, 0.55, 0.8, 2.9])
LIMIT_CASES = {  # name: (constructor keywords, the piece class the solve produces)
    "cubic": (dict(values=np.cos(X5), weight=PowerLaw(p=4)), "PiecewiseCubic"),
    "linear-m2": (dict(values=RNG.standard_normal((5, 2)), weight=PowerLaw(p=2)), "PiecewiseLinear"),
    "lfp-zero-period": (dict(values=np.sin(X5), weight=LFP(a=0.3, b=1 / 3, zero=2.5), period=3.7), "Shifted"),
    "linear-zero-complex": (dict(values=np.exp(1j * X5), weight=PowerLaw(p=2, zero=1.0)), "Shifted"),
    "kernel-p6": (dict(values=np.cos(X5), weight=PowerLaw(p=6)), "KernelExpansion"),
    "kernel-sobolev-hini": (dict(values=np.sin(X5), weight=Sobolev(s=1), h_ini=np.array([0.1, 0.2 + 0.3j, -0.4])),
                            "KernelExpansion"),
}


def _same_info(a, b):
    da, db = a.to_dict(), b.to_dict()
    return da.keys() == db.keys() and all(x == y or (x != x and y != y)
                                          for x, y in zip(da.values(), db.values(), strict=True))


# the dense closed-form K = None solve (p = 6) certifies its residual with a loose bound, above rtol: it warns
@pytest.mark.filterwarnings("ignore::fpnorm.exceptions.AccuracyWarning")
@pytest.mark.parametrize("name", sorted(LIMIT_CASES))
def test_k_none_round_trip_is_exact(name, tmp_path):
    kw, piece = dict(LIMIT_CASES[name][0]), LIMIT_CASES[name][1]
    s = FPInterpolator(X5, kw.pop("values"), K=None, **kw)
    assert type(s._limit.evaluate).__name__ == piece  # every kind of K = None solution is covered
    s.save(tmp_path / "limit.npz")
    t = FPInterpolator.load(tmp_path / "limit.npz")
    assert t.K is None and t.weight == s.weight and t.period == s.period and _same_info(t.info, s.info)
    q = np.concatenate([RNG.random(300) * 9 - 3, X5, [0.0, -0.0, 1.0, 1e-300]])
    a, b = s(q), t(q)
    assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    np.testing.assert_array_equal(t.norm, s.norm)
    # the loaded copy still interpolates (exact maths, not only self-consistency)
    assert np.max(np.abs(t(t.points[:, 0]) - t.values)) <= 1e-9 * np.max(np.abs(t.values))
    with pytest.raises(AttributeError, match=r"`coef` is not available for K=None"):
        _ = t.coef


def test_k_none_loaded_norm_is_int_h2_squared(tmp_path):
    # PowerLaw p=4, K=inf: the periodic cubic spline with ||h||^2 = int_0^1 h''^2 (zero mode free); the loaded
    # interpolant's norm equals a fine second-difference quadrature of its own values.
    x = np.array([0.0, 0.25, 0.5, 0.75])
    s = FPInterpolator(x, np.array([1.0, 0.0, -1.0, 0.0]), weight=PowerLaw(p=4), K=None)
    s.save(tmp_path / "s.npz")
    t = FPInterpolator.load(tmp_path / "s.npz")
    z = (np.arange(200000) + 0.5) / 200000
    h = t(z)
    d2 = (np.roll(h, -1) - 2 * h + np.roll(h, 1)) * 200000**2
    assert abs(t.norm**2 - np.mean(d2**2)) <= 1e-6 * t.norm**2


def _empty_piece(arrays):
    for key in ("limit_evaluate_z", "limit_evaluate_values", "limit_evaluate_second"):
        arrays[key] = arrays[key][:0]


@pytest.mark.parametrize("change, message", [
    (lambda a, h: a.update(limit_evaluate_second=a["limit_evaluate_second"][:-1]),
     r"PiecewiseCubic array 'limit_evaluate_second' should have shape \(5, 1\), got \(4, 1\)"),
    (lambda a, h: a.update(limit_evaluate_z=a["limit_evaluate_z"][::-1].copy()),
     r"PiecewiseCubic array 'limit_evaluate_z' should be strictly increasing"),
    (lambda a, h: a.update(limit_evaluate_z=a["limit_evaluate_z"] + 1.0),
     r"PiecewiseCubic array 'limit_evaluate_z' should hold values in \[0.0, 1.0\)"),
    (lambda a, h: a.update(limit_norm2=-a["limit_norm2"] - 1),
     r"LimitSolution array 'limit_norm2' should hold values in \[0.0, inf\)"),
    (lambda a, h: a.update(limit_norm2=np.ones(3)), r"LimitSolution: the piece has 1 columns, array 'norm2' 3"),
    (lambda a, h: a.update(limit_evaluate_alpha=np.ones((5, 1))), r"unexpected arrays \['limit_evaluate_alpha'\]"),
    (lambda a, h: a.update(coef=np.ones(3, dtype=complex)), r"array 'coef' should have shape \(none: K is None\)"),
    (lambda a, h: a.pop("limit_evaluate_lead"), r"PiecewiseCubic: missing array 'limit_evaluate_lead'"),
    (lambda a, h: h["meta"]["limit"]["evaluate"].update({"class": "os.system"}),
     r"LimitSolution metadata 'evaluate' should be an object of class PiecewiseCubic or PiecewiseLinear or "
     r"KernelExpansion or Shifted or LatticeExpansion, got 'os.system'"),
    (lambda a, h: h["meta"].pop("limit"), r"FPInterpolator with K=None should have metadata 'dim' 1 \(got 1\), a "
                                          r"'limit' and a 'limit_exponent', and no array 'coef'"),
    (lambda a, h: h["meta"].pop("limit_exponent"), r"should have metadata 'dim' 1 \(got 1\), a 'limit' and a "
                                                   r"'limit_exponent'"),
    (lambda a, h: h["meta"].update(limit_exponent=-5000), r"metadata 'limit_exponent' should be >= -1100, got -5000"),
    (lambda a, h: _empty_piece(a), r"PiecewiseCubic array 'limit_evaluate_z' should hold at least one entry"),
    (lambda a, h: h["meta"].update(dim=2, weight="power:p=4.0,dim=2"),
     r"FPInterpolator array 'points' should have shape \(5, 2\), got \(5, 1\)"),
])
def test_k_none_tampered_file(tmp_path, change, message):
    s = FPInterpolator(X5, np.cos(X5), weight=PowerLaw(p=4), K=None)
    s.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(str(arrays.pop("__fpnorm__")))
    change(arrays, header)
    with pytest.raises(ValueError, match=message):
        FPInterpolator.load(_write(tmp_path / "x.npz", arrays, header))


def test_k_none_round_trip_keeps_the_data_scaling(tmp_path):
    from fpnorm import FPInterpolator, PowerLaw

    x = np.array([0.1, 0.3, 0.55, 0.8])
    s = FPInterpolator(x, 1e200 * np.sin(2 * np.pi * x), weight=PowerLaw(p=4, dim=1), K=None)
    s.save(tmp_path / "huge.npz")
    t = FPInterpolator.load(tmp_path / "huge.npz")
    assert t.norm == s.norm and np.isfinite(t.norm)
    q = np.linspace(0, 1, 9)
    np.testing.assert_array_equal(t(q), s(q))


def _saved(obj, tmp_path):
    obj.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as f:
        arrays = {k: f[k] for k in f.files}
    return arrays, json.loads(str(arrays.pop("__fpnorm__")))


@pytest.mark.parametrize("change", [
    lambda a, h: a.update(limit_evaluate_u_values=np.ones((5, 3)), limit_evaluate_u_second=np.ones((5, 3)),
                          limit_evaluate_u_lead=np.ones(3)),                                # u with three columns
    lambda a, h: a.update(limit_evaluate_u_z=a["limit_evaluate_u_z"] * 0.5),              # u on other nodes
    lambda a, h: a.update(limit_evaluate_t=np.ones(4)),                                   # t of the wrong width
], ids=["u-width", "u-nodes", "t-width"])
def test_k_none_shifted_parts_must_agree(tmp_path, change):
    s = FPInterpolator(X5, np.sin(X5), weight=LFP(a=0.3, b=1 / 3, zero=2.5), K=None)
    arrays, header = _saved(s, tmp_path)
    change(arrays, header)
    with pytest.raises(ValueError, match=r"Shifted: 'u' should be a one-column PiecewiseCubic on the nodes of 'f'"):
        FPInterpolator.load(_write(tmp_path / "x.npz", arrays, header))


# the dense closed-form K = None solve (p = 6) certifies its residual with a loose bound, above rtol: it warns
@pytest.mark.filterwarnings("ignore::fpnorm.exceptions.AccuracyWarning")
def test_k_none_kernel_weight_must_be_the_interpolants(tmp_path):
    s = FPInterpolator(X5, np.cos(X5), weight=PowerLaw(p=6), K=None)
    arrays, header = _saved(s, tmp_path)
    header["meta"]["limit"]["evaluate"]["weight"] = "power:p=8.0,dim=1"
    with pytest.raises(ValueError, match=r"the K = None kernel's weight PowerLaw\(p=8.0, zero=None, dim=1\) should "
                                         r"be the interpolant's"):
        FPInterpolator.load(_write(tmp_path / "x.npz", arrays, header))


def test_values_with_more_than_two_axes_are_refused(tmp_path):
    s = FPInterpolator([0.1, 0.4, 0.8], [1.0, -1.0, 0.5], weight=PowerLaw(p=4), K=8)
    arrays, header = _saved(s, tmp_path)
    arrays["values"], arrays["coef"] = arrays["values"][:, None, None], arrays["coef"][:, None, None]
    with pytest.raises(ValueError, match=r"FPInterpolator array 'values' should have shape \(3, \.\.\.\), got "
                                         r"\(3, 1, 1\)"):
        FPInterpolator.load(_write(tmp_path / "x.npz", arrays, header))


def test_a_crafted_dimension_is_refused_at_once(tmp_path):
    s = FPInterpolator([0.1, 0.4, 0.8], [1.0, -1.0, 0.5], weight=PowerLaw(p=4), K=8)
    arrays, header = _saved(s, tmp_path)
    header["meta"]["dim"] = 10**9  # (2K+1)^dim would have a billion digits: refused from its logarithm
    with pytest.raises(ValueError, match=r"metadata 'K' = 8 is implausible: the box \|k\|_inf <= K in d = 1000000000 "
                                         r"has more than 2\^62 modes"):
        FPInterpolator.load(_write(tmp_path / "x.npz", arrays, header))
