"""Saved states of the result records (:mod:`fpnorm.io`): one schema per class, checked field by field on save and load.

Each result class delegates ``_to_state`` / ``_from_state`` to :func:`to_state` / :func:`from_state`, which look up
its schema in :data:`SCHEMAS` by class name. A schema maps every field to its kind:

* ``"float"``, ``"int"``, ``"bool"``, ``"str"``: a JSON scalar (floats are written with ``repr``, so they round trip
  exactly, NaN and inf included); a trailing ``"?"`` also allows None;
* ``"weight"``: a :class:`~fpnorm.Weight`, stored as its spec string (a weight made from a callable is refused at
  save time: code is never stored);
* ``"scalars"``: a dict of str -> JSON scalar;
* ``("array", kinds, shape)``: a numpy array with dtype kind in ``kinds`` and the given shape, whose entries are
  dimension names shared between fields (``"n"``, ``"n-1"``) or ``"..."`` for any trailing dimensions. Arrays are
  stored as they are (dtype and bits kept; NaN and inf allowed).
"""

import numbers

import numpy as np

__all__ = ["SCHEMAS", "to_state", "from_state"]

_F = ("array", "f", ("n",))
SCHEMAS = {
    "FPNorm": {"value": "float", "converged": "bool", "K": "int", "change": "float"},
    "BoundResult": {"value": "float", "f_norm": "float", "gamma_l2": "float", "complexity_term": "float",
                    "confidence_term": "float", "M": "int", "delta": "float", "vacuous": "bool", "reason": "str?",
                    "gamma_l2_error": "float?", "f_norm_converged": "bool?"},
    "GammaL2": {"value": "float", "sum": "float", "error_bound": "float", "method": "str", "certified": "bool",
                "reason": "str?"},
    "BoundValidation": {"Ms": ("array", "iu", ("n",)), "risks": ("array", "f", ("n", "trials")),
                        "stderrs": ("array", "f", ("n", "trials")), "bounds": _F, "held": _F,
                        "held_fraction": "float", "decay_rate": "float", "decay_rate_stderr": "float",
                        "delta": "float", "f_norm": "float", "gamma_l2": "float", "vacuous": "bool",
                        "weight": "weight", "K": "int"},
    "ConvergenceResult": {"Ks": ("array", "iu", ("n",)), "successive": ("array", "f", ("n-1", "...")),
                          "to_limit": ("array", "f", ("n", "...")), "norms": ("array", "f", ("n", "...")),
                          "limit_norm": "float", "tail_bounds": _F, "rate": "float", "info": "scalars"},
    "ShellErrors": {"times": ("array", "f", ("T",)), "shells": ("array", "iu", ("S",)),
                    "errors": ("array", "f", ("T", "S")), "initial": ("array", "f", ("S",))},
}
_SCALARS = {"float": numbers.Real, "int": numbers.Integral, "bool": (bool, np.bool_), "str": str}
_CONVERT = {"float": float, "int": int, "bool": bool, "str": str}


def _scalar_ok(value, kind):
    base = kind.rstrip("?")
    if value is None:
        return kind.endswith("?")
    if base in ("float", "int") and isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, _SCALARS[base])


def _json_scalar(value):
    return value is None or isinstance(value, (str, bool)) or isinstance(value, (int, float)) and not \
        isinstance(value, np.generic)


def to_state(obj):
    """``(arrays, meta)`` of a result record, every field checked against its schema."""
    from .weights import CallableWeight, Weight

    name = type(obj).__name__
    arrays, meta = {}, {}
    for field, kind in SCHEMAS[name].items():
        value = getattr(obj, field)
        if isinstance(kind, tuple):
            arr = np.asarray(value)
            if arr.dtype.kind not in kind[1] or arr.dtype.hasobject:
                raise TypeError(f"Cannot save {name}: field `{field}` should be an array of dtype kind {kind[1]!r}, "
                                f"got dtype {arr.dtype}.")
            arrays[field] = arr
        elif kind == "weight":
            if isinstance(value, CallableWeight):
                raise ValueError(f"Cannot save a {name} whose weight was made from a callable ({value!r}): code is "
                                 f"never stored. Use PowerLaw, LFP or Sobolev, whose spec strings are saved.")
            if not isinstance(value, Weight):
                raise TypeError(f"Cannot save {name}: field `{field}` should be a Weight, got "
                                f"{type(value).__name__}.")
            meta[field] = value.spec()
        elif kind == "scalars":
            if not isinstance(value, dict) or not all(isinstance(k, str) and _json_scalar(v)
                                                      for k, v in value.items()):
                raise ValueError(f"Cannot save {name}: field `{field}` should be a dict of str to None, bool, int, "
                                 f"float or str (code and objects are never stored), got {value!r}.")
            meta[field] = dict(value)
        else:
            if not _scalar_ok(value, kind):
                raise TypeError(f"Cannot save {name}: field `{field}` should be {kind.rstrip('?')}"
                                f"{' or None' if kind.endswith('?') else ''}, got {type(value).__name__}.")
            meta[field] = None if value is None else _CONVERT[kind.rstrip("?")](value)
    return arrays, meta


def _shape_ok(shape, spec, dims):
    """Match ``shape`` against ``spec`` (names bound in ``dims`` on first use)."""
    fixed = [s for s in spec if s != "..."]
    if len(shape) < len(fixed) or ("..." not in spec and len(shape) != len(fixed)):
        return False
    for got, want in zip(shape, fixed):
        base, _, minus = want.partition("-")
        n = got + (int(minus) if minus else 0)
        if dims.setdefault(base, n) != n:
            return False
    return True


def from_state(cls, arrays, meta):
    """A new result record from :func:`to_state`'s output; raises KeyError/TypeError/ValueError on any mismatch."""
    from .weights import weight_from_spec

    name = cls.__name__
    schema = SCHEMAS[name]
    arrays_wanted = {f for f, k in schema.items() if isinstance(k, tuple)}
    if set(arrays) != arrays_wanted:
        raise ValueError(f"{name} state should have the arrays {sorted(arrays_wanted)}, got {sorted(arrays)}")
    if set(meta) != set(schema) - arrays_wanted:
        raise ValueError(f"{name} state should have the fields {sorted(set(schema) - arrays_wanted)}, got "
                         f"{sorted(meta)}")
    dims, kwargs = {}, {}
    for field, kind in schema.items():
        if isinstance(kind, tuple):
            arr = arrays[field]
            if arr.dtype.kind not in kind[1]:
                raise TypeError(f"{name} array {field!r} should have dtype kind in {kind[1]!r}, got {arr.dtype}")
            if not _shape_ok(arr.shape, kind[2], dims):
                raise ValueError(f"{name} array {field!r} should have shape ({', '.join(kind[2])}) consistent with "
                                 f"the other arrays, got {arr.shape}")
            kwargs[field] = arr
            continue
        value = meta[field]
        if kind == "weight":
            if not isinstance(value, str):
                raise TypeError(f"{name} field {field!r} should be a weight spec string, got {type(value).__name__}")
            kwargs[field] = weight_from_spec(value)
        elif kind == "scalars":
            if not isinstance(value, dict) or not all(_json_scalar(v) for v in value.values()):
                raise TypeError(f"{name} field {field!r} should be a JSON object of scalars, got {value!r}")
            kwargs[field] = dict(value)
        else:
            if not _scalar_ok(value, kind) or (kind.startswith("int") and isinstance(value, float)):
                raise TypeError(f"{name} field {field!r} should be {kind.rstrip('?')}"
                                f"{' or None' if kind.endswith('?') else ''}, got {type(value).__name__}")
            kwargs[field] = None if value is None else _CONVERT[kind.rstrip("?")](value)
    return cls(**kwargs)
