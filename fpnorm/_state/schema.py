"""The one serializer of saved fpnorm objects, driven by one declarative schema per saved class.

A schema (:data:`SCHEMAS`) maps every field of a class to its kind:

* :class:`Scalar` -- a JSON number, bool or string (floats written with ``repr``, so they round trip exactly, NaN and
  inf included), optionally None, with bounds or choices; also a list of strings or a dict of str to JSON scalars;
* :class:`WeightSpec` -- a :class:`~fpnorm.Weight`, stored as its spec string (a weight made from a callable is
  refused at save time: code is never stored);
* :class:`Array` -- a numpy array (dtype and bits kept) with dtype kinds, a symbolic shape and optional checks;
* :class:`Record` -- another saved object (one of the named classes), nested.

Scalars and strings go to the JSON metadata under the field's name; arrays to the ``.npz`` members named by the field
(prefixed by the names of the records they are nested in, joined by ``_``); a record's metadata is a JSON object
``{"class": NAME, ...its own metadata...}``. Array shapes are tuples of tokens, matched against the stored shape:
an int; a name (bound on first use, to the value of an int field of the same record when there is one); ``"n-1"``
(one less than ``n``); ``"*m"`` (an optional last axis, bound as a tuple of zero or one lengths); ``"box"``
(``(2K+1,)*dim`` from the record's ``K`` and ``dim``); ``"cube:s"`` (``dim`` equal axes of length ``s``).

Saving reads the fields with ``obj._state_fields()`` when the class defines it, else as attributes; loading builds
``cls._from_fields(fields)`` when defined, else ``cls(**fields)``, after every field has been checked here. Classes
are looked up only in :data:`CLASSES` (names to ``"module:attribute"`` inside fpnorm) and in classes registered with
:func:`fpnorm.io.register`: a file names a class, it never names code to import.
"""

import dataclasses
import importlib
import math
import numbers

import numpy as np

from .._internal import memory
from .._internal.memory import HEADROOM, format_bytes
from ..decay import FPNORM_STATUSES
from ..lattice import box_size
from ..learning_curve import LEARNING_CURVE_STATUSES
from ..solvers.problem import RESIDUAL_KINDS
from ..weights import CallableWeight, Weight, weight_from_spec

__all__ = ["Scalar", "WeightSpec", "Array", "Record", "SCHEMAS", "CLASSES", "encode", "decode", "check_layout",
           "add_class", "resolve", "name_of"]

# Array dtypes a state may hold: booleans, integers, floats, complex and fixed-width text.
ARRAY_KINDS = "biufcU"
_PY_TYPES = {"float": numbers.Real, "int": numbers.Integral, "bool": (bool, np.bool_), "str": str}
_CONVERT = {"float": float, "int": int, "bool": bool, "str": str}


@dataclasses.dataclass(frozen=True)
class Scalar:
    """JSON metadata of `type`: "float", "int", "bool", "str", "strings" (a list of str) or "scalars" (a dict of str
    to None, bool, int, float or str). `optional` allows None; numbers may be bounded below (`minimum`, strictly when
    `strict`), strings limited to `choices`. A `box` int is a half-width ``K`` whose box ``|k|_inf <= K`` in
    ``d = dim`` (the record's ``dim``) must be one this machine could have built."""

    type: str
    optional: bool = False
    minimum: float = None
    strict: bool = False
    choices: tuple = None
    box: bool = False
    maximum: float = None


@dataclasses.dataclass(frozen=True)
class WeightSpec:
    """A :class:`~fpnorm.Weight`, stored as its spec string."""

    optional: bool = False


@dataclasses.dataclass(frozen=True)
class Array:
    """A numpy array with dtype kind in `kinds` and shape `shape` (tokens: see the module docstring).

    `optional` arrays may be absent; `finite` refuses NaN and inf; `within` is ``(low, high)``: every entry in
    ``[low, high)``, each a number, None (unbounded) or the name of a float field; `increasing` asks for strictly
    increasing entries; `nonempty` for at least one entry.
    """

    kinds: str
    shape: tuple
    optional: bool = False
    finite: bool = False
    within: tuple = None
    increasing: bool = False
    nonempty: bool = False


@dataclasses.dataclass(frozen=True)
class Record:
    """A nested saved object of one of the classes `classes` (names in :data:`CLASSES`)."""

    classes: tuple
    optional: bool = False


_FLOAT_ARRAY = Array("f", ("n",))
_NODES = Array("f", ("N",), finite=True, within=(0.0, 1.0), increasing=True, nonempty=True)
_PIECES = ("PiecewiseCubic", "PiecewiseLinear")

# One schema per saved class: field name -> kind.
SCHEMAS = {
    "SolveInfo": {"method": Scalar("str"), "residual": Scalar("float"), "condition": Scalar("float"),
                  "iterations": Scalar("int"), "attempts": Scalar("strings"), "seconds": Scalar("float"),
                  "status": Scalar("str"), "truncation_error": Scalar("float", optional=True),
                  "residual_kind": Scalar("str", optional=True, choices=RESIDUAL_KINDS),
                  "sensitivity": Scalar("float", optional=True)},
    "FPNorm": {"value": Scalar("float"), "error_bound": Scalar("float"),
               "status": Scalar("str", choices=FPNORM_STATUSES), "K": Scalar("int"),
               "reason": Scalar("str", optional=True)},
    "BoundResult": {"value": Scalar("float"), "f_norm": Scalar("float"), "gamma_l2": Scalar("float"),
                    "complexity_term": Scalar("float"), "confidence_term": Scalar("float"), "M": Scalar("int"),
                    "delta": Scalar("float"), "vacuous": Scalar("bool"), "reason": Scalar("str", optional=True),
                    "gamma_l2_error": Scalar("float", optional=True),
                    "f_norm_status": Scalar("str", optional=True, choices=FPNORM_STATUSES),
                    "f_norm_error": Scalar("float", optional=True)},
    "GammaL2": {"value": Scalar("float"), "sum": Scalar("float"), "error_bound": Scalar("float"),
                "method": Scalar("str"), "certified": Scalar("bool"), "reason": Scalar("str", optional=True)},
    "BoundValidation": {"Ms": Array("iu", ("n",)), "risks": Array("f", ("n", "trials")),
                        "stderrs": Array("f", ("n", "trials")), "bounds": _FLOAT_ARRAY, "held": _FLOAT_ARRAY,
                        "held_fraction": Scalar("float"), "decay_rate": Scalar("float"),
                        "decay_rate_stderr": Scalar("float"), "delta": Scalar("float"), "f_norm": Scalar("float"),
                        "gamma_l2": Scalar("float"), "vacuous": Scalar("bool"), "weight": WeightSpec(),
                        "K": Scalar("int", optional=True), "f_norm_status": Scalar("str", choices=FPNORM_STATUSES),
                        "reason": Scalar("str", optional=True),
                        "mse": Array("f", ("n", "trials"), optional=True),
                        "loo": Array("f", ("n", "trials"), optional=True),
                        "power_bound": Array("f", ("n", "trials"), optional=True),
                        "predicted": Array("f", ("n",), optional=True)},
    "LearningCurve": {"M": Array("iu", ("n",), nonempty=True, within=(1, None)),
                      "mse": Array("f", ("n",), within=(0.0, None)), "error_bound": Array("f", ("n",)),
                      "effective_regularisation": Array("f", ("n",), finite=True, within=(0.0, None)),
                      "e0": Array("f", ("n",)), "bias": Array("f", ("n",)), "learnability": Array("f", ("n", "S")),
                      "noise": Scalar("float", minimum=0.0), "weight": WeightSpec(),
                      "status": Scalar("str", choices=LEARNING_CURVE_STATUSES)},
    "ConvergenceResult": {"Ks": Array("iu", ("n",)), "successive": Array("f", ("n-1", "*m")),
                          "to_limit": Array("f", ("n", "*m")), "norms": Array("f", ("n", "*m")),
                          "limit_norm": Scalar("float"), "tail_bounds": _FLOAT_ARRAY, "rate": Scalar("float"),
                          "info": Scalar("scalars")},
    "ShellErrors": {"times": Array("f", ("T",)), "shells": Array("iu", ("S",)), "errors": Array("f", ("T", "S")),
                    "initial": Array("f", ("S",))},
    "FPInterpolator": {
        "weight": WeightSpec(), "dim": Scalar("int", minimum=1), "K": Scalar("int", optional=True, minimum=0, box=True),
        "period": Scalar("float", optional=True, minimum=0.0, strict=True),
        "rtol": Scalar("float", minimum=0.0, strict=True),
        "smoothing": Scalar("float", minimum=0.0), "complex": Scalar("bool"), "h_ini_real": Scalar("bool"),
        "points": Array("f", ("N", "dim"), finite=True, within=(0.0, "period"), nonempty=True),
        "values": Array("fc", ("N", "*m"), finite=True), "kept": Array("iu", ("N",), within=(0, None)),
        "coef": Array("c", ("box", "*m"), optional=True, finite=True),
        "h_ini": Array("c", ("cube:side",), optional=True, finite=True),
        "info": Record(("SolveInfo",)),
        "limit": Record(("LimitSolution", "WholeSpaceSolution", "LineSpline"), optional=True),
        "limit_exponent": Scalar("int", optional=True, minimum=-1100, maximum=1100)},
    "LimitSolution": {"evaluate": Record(("PiecewiseCubic", "PiecewiseLinear", "KernelExpansion", "Shifted",
                                          "LatticeExpansion")),
                      "norm2": Array("f", ("m",), finite=True, within=(0.0, None))},
    "PiecewiseCubic": {"z": _NODES, "values": Array("f", ("N", "m"), finite=True),
                       "second": Array("f", ("N", "m"), finite=True), "lead": Array("f", ("m",), finite=True)},
    "PiecewiseLinear": {"z": _NODES, "values": Array("f", ("N", "m"), finite=True),
                        "lead": Array("f", ("m",), finite=True)},
    "KernelExpansion": {"z": Array("f", ("N",), finite=True, within=(0.0, 1.0), nonempty=True),
                        "alpha": Array("f", ("N", "m"), finite=True), "c": Array("f", ("m",), finite=True),
                        "weight": WeightSpec()},
    "WholeSpaceSolution": {"centers": Array("f", ("N", "d"), finite=True, nonempty=True),
                           "alpha": Array("f", ("N", "m"), finite=True), "poly": Array("f", ("L", "m"), finite=True),
                           "shift": Array("f", ("d",), finite=True),
                           "scale": Scalar("float", minimum=0.0, strict=True), "weight": WeightSpec(),
                           "norm2": Array("f", ("m",), finite=True, within=(0.0, None))},
    "LineSpline": {"z": Array("f", ("N",), finite=True, increasing=True, nonempty=True),
                   "values": Array("f", ("N", "m"), finite=True), "second": Array("f", ("N", "m"), finite=True),
                   "weight": WeightSpec(), "norm2": Array("f", ("m",), finite=True, within=(0.0, None))},
    "LatticeExpansion": {"z": Array("f", ("N", "d"), finite=True, within=(0.0, 1.0), nonempty=True),
                         "alpha": Array("f", ("N", "m"), finite=True), "c": Array("f", ("m",), finite=True),
                         "weight": WeightSpec()},
    "Shifted": {"f": Record(_PIECES), "u": Record(_PIECES), "t": Array("f", ("m",), finite=True)},
    "LFPFlow": {
        "weight": WeightSpec(), "dim": Scalar("int", minimum=1), "K": Scalar("int", minimum=0, box=True),
        "period": Scalar("float", minimum=0.0, strict=True), "method": Scalar("str", choices=("svd", "eigh")),
        "complex": Scalar("bool"), "h_ini_real": Scalar("bool"), "eps": Scalar("float", minimum=0.0, strict=True),
        "points": Array("f", ("N", "dim"), finite=True, within=(0.0, "period"), nonempty=True),
        "values": Array("fc", ("N", "*m"), finite=True), "lam": Array("f", ("n",), finite=True),
        "kept": Array("b", ("n",)), "U": Array("f", ("Np", "n"), finite=True),
        "pts": Array("f", ("N", "n"), finite=True), "w": Array("f", ("n", "width"), finite=True),
        "free_cols": Array("iu", ("nf",)), "coef_map": Array("f", ("M", "n"), optional=True, finite=True),
        "lift_U": Array("f", ("N", "n"), optional=True, finite=True),
        "free_r": Array("f", ("nf", "width"), optional=True, finite=True),
        "free_z": Array("f", ("nf", "n"), optional=True, finite=True),
        "h_ini": Array("c", ("cube:side",), optional=True, finite=True)},
}

# Saved classes by name -> "module:attribute" inside fpnorm; imported only from this table, on first use.
CLASSES = {
    "FPInterpolator": "fpnorm.interpolant:FPInterpolator",
    "SolveInfo": "fpnorm.solvers.problem:SolveInfo",
    "BoundResult": "fpnorm.bounds:BoundResult",
    "FPNorm": "fpnorm.norms:FPNorm",
    "GammaL2": "fpnorm.lattice_sums:GammaL2",
    "BoundValidation": "fpnorm.validation:BoundValidation",
    "ConvergenceResult": "fpnorm.convergence:ConvergenceResult",
    "LearningCurve": "fpnorm.learning_curve:LearningCurve",
    "ShellErrors": "fpnorm.dynamics:ShellErrors",
    "LFPFlow": "fpnorm.dynamics:LFPFlow",
    "LimitSolution": "fpnorm.solvers.periodic1d:LimitSolution",
    "PiecewiseCubic": "fpnorm.solvers.periodic1d:PiecewiseCubic",
    "PiecewiseLinear": "fpnorm.solvers.periodic1d:PiecewiseLinear",
    "KernelExpansion": "fpnorm.solvers.periodic1d:KernelExpansion",
    "Shifted": "fpnorm.solvers.periodic1d:Shifted",
    "WholeSpaceSolution": "fpnorm.whole_space:WholeSpaceSolution",
    "LineSpline": "fpnorm.solvers.line_spline:LineSpline",
    "LatticeExpansion": "fpnorm.solvers.lattice_limit:LatticeExpansion",
}
# Classes added at run time (fpnorm.io.register): name -> class.
_ADDED = {}


def add_class(name, cls, schema):
    """Make `cls` savable under `name` with `schema` (see :func:`fpnorm.io.register`)."""
    _ADDED[name] = cls
    SCHEMAS[name] = dict(schema)


def resolve(name):
    """The class saved under `name` (KeyError for a name not in :data:`CLASSES` nor added)."""
    if name in _ADDED:
        return _ADDED[name]
    module, _, attr = CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def known_names():
    """Every name a file may give as its class, sorted."""
    return sorted(set(CLASSES) | set(_ADDED))


def name_of(cls):
    """The saved name of a class, or None."""
    for name in list(_ADDED) + list(CLASSES):
        if resolve(name) is cls:
            return name
    return None


# -- saving ---------------------------------------------------------------------------------------------------------
def _article(name):
    return "an" if name[0] in "AEFHILMNORSX" else "a"


def encode(obj, name, prefix=""):
    """``(arrays, meta)`` of a savable object, every field checked against the schema of `name`.

    Raises
    ------
    TypeError
        A field of the wrong type.
    ValueError
        A field that cannot be stored faithfully: a weight made from a callable, a callable where an array belongs.
    """
    schema = SCHEMAS[name]
    state = obj._state_fields() if hasattr(obj, "_state_fields") else {f: getattr(obj, f) for f in schema}
    arrays, meta = {}, {}
    for field, kind in schema.items():
        value = state.get(field)
        where = f"Cannot save {name}: field `{field}`"
        if value is None:
            if not kind.optional:
                raise TypeError(f"{where} should be given, got None.")
            continue
        if isinstance(kind, Array):
            if callable(value):
                raise ValueError(f"Cannot save {_article(name)} {name} with a callable `{field}`: code is never "
                                 f"stored. Pass `{field}` as a coefficient array of shape (2K'+1,)*d to make it "
                                 f"savable.")
            arr = np.asarray(value)
            if arr.dtype.kind not in kind.kinds or arr.dtype.hasobject:
                raise TypeError(f"{where} should be an array of dtype kind {kind.kinds!r}, got dtype {arr.dtype}.")
            arrays[prefix + field] = arr
        elif isinstance(kind, Record):
            sub = name_of(type(value))
            if sub not in kind.classes:
                raise TypeError(f"{where} should be one of {list(kind.classes)}, got {type(value).__name__}.")
            sub_arrays, sub_meta = encode(value, sub, f"{prefix}{field}_")
            arrays.update(sub_arrays)
            meta[field] = {"class": sub, **sub_meta}
        else:
            meta[field] = _encode_meta(value, kind, name, field, where)
    return arrays, meta


def _encode_meta(value, kind, name, field, where):
    if isinstance(kind, WeightSpec):
        if isinstance(value, CallableWeight):
            raise ValueError(f"Cannot save {_article(name)} {name} whose weight was made from a callable "
                             f"({value!r}): code is never stored. Use PowerLaw, LFP or Sobolev, whose spec strings "
                             f"are saved.")
        if not isinstance(value, Weight):
            raise TypeError(f"{where} should be a Weight, got {type(value).__name__}.")
        return value.spec()
    if kind.type == "scalars":
        if not isinstance(value, dict) or not all(isinstance(k, str) and _json_scalar(v) for k, v in value.items()):
            raise ValueError(f"{where} should be a dict of str to None, bool, int, float or str (code and objects "
                             f"are never stored), got {value!r}.")
        return dict(value)
    if kind.type == "strings":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"{where} should be a list of strings, got {value!r}.")
        return list(value)
    if not _scalar_ok(value, kind.type):
        raise TypeError(f"{where} should be {kind.type}, got {type(value).__name__}.")
    return _CONVERT[kind.type](value)


def _scalar_ok(value, type_name):
    if type_name in ("float", "int") and isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, _PY_TYPES[type_name])


def _json_scalar(value):
    return value is None or isinstance(value, (str, bool)) or (isinstance(value, (int, float))
                                                                 and not isinstance(value, np.generic))


# -- loading --------------------------------------------------------------------------------------------------------
def decode(name, arrays, meta, prefix="", used=None):
    """A new object of the class saved as `name` from ``(arrays, meta)``, every field checked against its schema.

    Parameters
    ----------
    name : str
    arrays : dict of str to ndarray
        Every array of the file.
    meta : dict
        This object's metadata.
    prefix : str
        The prefix of this object's array names (nested records).
    used : set, optional
        Collects the array names this object consumed; at the top level (None) arrays left over are refused.

    Raises
    ------
    KeyError, TypeError, ValueError
        Naming the field and what was expected.
    """
    top = used is None
    used = set() if top else used
    schema = SCHEMAS[name]
    if not isinstance(meta, dict):
        raise TypeError(f"{name} metadata should be a JSON object, got {type(meta).__name__}")
    stored_meta = {f for f, k in schema.items() if not isinstance(k, Array)}
    extra = sorted(set(meta) - stored_meta - ({"class"} if prefix else set()))
    if extra:
        raise ValueError(f"{name}: unexpected metadata {extra}")
    fields, dims = {}, {}
    order = sorted(schema, key=lambda f: _ORDER[type(schema[f])])  # scalars first: they bind shape names
    for field in order:
        kind = schema[field]
        if isinstance(kind, Array):
            key = prefix + field
            if key not in arrays:
                if not kind.optional:
                    raise KeyError(f"{name}: missing array {key!r}")
                fields[field] = None
                continue
            fields[field] = _decode_array(arrays[key], kind, key, name, dims, fields)
            used.add(key)
            continue
        if field not in meta or (meta[field] is None and kind.optional):
            if not kind.optional:
                raise KeyError(f"{name}: missing metadata {field!r}")
            fields[field] = None
            continue
        value = meta[field]
        if isinstance(kind, Record):
            sub = value.get("class") if isinstance(value, dict) else None
            if sub not in kind.classes:
                raise ValueError(f"{name} metadata {field!r} should be an object of class "
                                 f"{' or '.join(kind.classes)}, got {sub!r}")
            fields[field] = decode(sub, arrays, value, f"{prefix}{field}_", used)
        else:
            fields[field] = _decode_meta(value, kind, field, name, dims)
    cls = resolve(name)
    obj = cls._from_fields(fields) if hasattr(cls, "_from_fields") else cls(**fields)
    if top:
        left = sorted(set(arrays) - used)
        if left:
            raise ValueError(f"{name}: unexpected arrays {left}")
    return obj


_ORDER = {Scalar: 0, WeightSpec: 1, Array: 2, Record: 3}


def check_layout(name, declared, meta, prefix="", used=None):
    """Check the arrays a file declares against the schema of `name` and its metadata, before any is read.

    Walks the schema as :func:`decode` does: the metadata's numbers bind the shape names (``K`` and ``dim`` fix the
    coefficient box, an ``N`` bound by one array fixes the others), and every declared array must have its field's
    dtype kind and shape. What is left free (``N`` itself) is bounded by the size of the file, which the reader
    checked.

    Parameters
    ----------
    name : str
    declared : dict of str to (numpy.dtype, tuple)
        Every array of the file: its dtype and shape, from its ``.npy`` header.
    meta : dict
        This object's metadata.

    Returns
    -------
    list of str
        The declared arrays no field names (:func:`decode` refuses them once the object's own checks have run).

    Raises
    ------
    KeyError, TypeError, ValueError
        As :func:`decode`, naming the field.
    """
    top = used is None
    used = set() if top else used
    schema = SCHEMAS[name]
    if not isinstance(meta, dict):
        raise TypeError(f"{name} metadata should be a JSON object, got {type(meta).__name__}")
    dims = {}
    for field in sorted(schema, key=lambda f: _ORDER[type(schema[f])]):
        kind = schema[field]
        if isinstance(kind, Array):
            key = prefix + field
            if key not in declared:
                if not kind.optional:
                    raise KeyError(f"{name}: missing array {key!r}")
                continue
            dtype, shape = declared[key]
            if dtype.kind not in kind.kinds:
                raise TypeError(f"{name} array {key!r} should have dtype kind in {kind.kinds!r}, got {dtype}")
            want = _match_shape(shape, kind.shape, dims)
            if want is not None:
                raise ValueError(f"{name} array {key!r} should have shape {want}, got {shape}")
            used.add(key)
        elif field in meta and meta[field] is not None:
            value = meta[field]
            if isinstance(kind, Record):
                sub = value.get("class") if isinstance(value, dict) else None
                if sub not in kind.classes:
                    raise ValueError(f"{name} metadata {field!r} should be an object of class "
                                     f"{' or '.join(kind.classes)}, got {sub!r}")
                check_layout(sub, declared, value, f"{prefix}{field}_", used)
            elif isinstance(kind, Scalar) and kind.type in ("int", "float"):
                _decode_meta(value, kind, field, name, dims)   # binds the shape names, checks K's box
    return sorted(set(declared) - used) if top else None


def _decode_meta(value, kind, field, name, dims):
    where = f"{name} metadata {field!r}"
    if isinstance(kind, WeightSpec):
        if not isinstance(value, str):
            raise TypeError(f"{where} should be a weight spec string, got {type(value).__name__}")
        return weight_from_spec(value, dim=dims.get("dim"))
    if kind.type == "scalars":
        if not isinstance(value, dict) or not all(_json_scalar(v) for v in value.values()):
            raise TypeError(f"{where} should be a JSON object of scalars, got {value!r}")
        return dict(value)
    if kind.type == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"{where} should be a list of strings, got {value!r}")
        return list(value)
    if not _scalar_ok(value, kind.type) or (kind.type == "int" and isinstance(value, float)):
        raise TypeError(f"{where} should be {kind.type}{' or None' if kind.optional else ''}, got "
                        f"{type(value).__name__}")
    value = _CONVERT[kind.type](value)
    if kind.minimum is not None and (value < kind.minimum or (kind.strict and value == kind.minimum)):
        raise ValueError(f"{where} should be {'>' if kind.strict else '>='} {kind.minimum}, got {value}")
    if kind.maximum is not None and value > kind.maximum:
        raise ValueError(f"{where} should be <= {kind.maximum}, got {value}")
    if kind.type == "float" and kind.minimum is not None and not math.isfinite(value):
        raise ValueError(f"{where} should be finite, got {value}")
    if kind.choices is not None and value not in kind.choices:
        raise ValueError(f"{where} should be one of {kind.choices}, got {value!r}")
    if kind.box:
        _check_box(value, dims.get("dim", 1), where)
    if kind.type in ("int", "float"):
        dims[field] = value
    return value


# A saved box has at most this many modes: more cannot be indexed (int64) and was never allocated by whoever wrote it.
_MAX_MODES = 2**62


def _check_box(K, dim, where):
    """Refuse a stored ``K`` whose box cannot be indexed or would not fit in memory: the file is corrupt or crafted.
    Runs before anything is allocated from ``K`` (the weight's box, the coefficient shapes)."""
    text = str(K) if len(str(K)) <= 20 else f"{str(K)[:20]}... ({len(str(K))} digits)"
    # (2K+1)^dim is not formed before its size is known to be small: for a crafted dim it has millions of digits
    if dim * math.log2(2 * K + 1) > 62.0 or box_size(K, dim) > _MAX_MODES:
        raise ValueError(f"{where} = {text} is implausible: the box |k|_inf <= K in d = {dim} has more than 2^62 "
                         f"modes")
    M = box_size(K, dim)
    need, avail = M * (8 * dim + 40), memory.available_memory()
    if need > HEADROOM * avail:
        raise ValueError(f"{where} = {K} is implausible: the box |k|_inf <= {K} in d = {dim} ({M} modes) needs about "
                         f"{format_bytes(need)}, more than the {format_bytes(avail)} available (the file is corrupt, "
                         f"or was written on a machine with far more memory)")


def _decode_array(arr, kind, key, name, dims, fields):
    where = f"{name} array {key!r}"
    if arr.dtype.kind not in kind.kinds:
        raise TypeError(f"{where} should have dtype kind in {kind.kinds!r}, got {arr.dtype}")
    want = _match_shape(arr.shape, kind.shape, dims)
    if want is not None:
        raise ValueError(f"{where} should have shape {want}, got {arr.shape}")
    if kind.finite and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError(f"{where} holds NaN or inf")
    if kind.within is not None and arr.size:
        # a bound named by a field that is None (period=None: the whole space) is no bound
        low, high = (dims.get(b) if isinstance(b, str) else b for b in kind.within)
        if (low is not None and arr.min() < low) or (high is not None and arr.max() >= high):
            raise ValueError(f"{where} should hold values in [{low}, {'inf' if high is None else high})")
    if kind.increasing and np.any(np.diff(arr) <= 0):
        raise ValueError(f"{where} should be strictly increasing")
    if kind.nonempty and arr.size == 0:
        raise ValueError(f"{where} should hold at least one entry")
    return arr


def _match_shape(shape, tokens, dims):
    """None when `shape` matches `tokens` (binding names in `dims`), else the expected shape, for the message."""
    expanded = []
    for token in tokens:
        if token == "box":
            K, dim = dims.get("K"), dims.get("dim")
            if K is None or dim is None:
                return "(none: K is None)"
            expanded += [2 * K + 1] * dim
        elif isinstance(token, str) and token.startswith("cube:"):
            expanded += [token[5:]] * dims.get("dim", 1)
        else:
            expanded.append(token)
    star = expanded[-1] if expanded and isinstance(expanded[-1], str) and expanded[-1].startswith("*") else None
    fixed = expanded[:-1] if star else expanded

    def text():  # the expected shape, with the names bound so far shown as numbers
        shown = ["..." if isinstance(t, str) and t.startswith("*") else str(dims.get(t, t)) for t in expanded]
        return "(" + ", ".join(shown) + ("," if len(shown) == 1 else "") + ")"

    if len(shape) < len(fixed) or (star is None and len(shape) != len(fixed)):
        return text()
    for got, want in zip(shape, fixed, strict=False):
        if isinstance(want, int):
            if got != want:
                return text()
            continue
        base, _, minus = want.partition("-")
        n = got + (int(minus) if minus else 0)
        if dims.setdefault(base, n) != n:
            return text()
    if star is not None:
        rest = tuple(shape[len(fixed):])
        if len(rest) > 1 or dims.setdefault(star, rest) != rest:
            return text()
    return None
