"""The saved state of the exact K = infinity solution (:class:`~fpnorm.solvers.periodic1d.LimitSolution`).

A K = None :class:`~fpnorm.FPInterpolator` holds its solution in piecewise form, one of

* ``"cubic"``: :class:`~fpnorm.solvers.periodic1d.PiecewiseCubic` (sorted nodes ``z``, node values, node second
  derivatives, quartic coefficient ``lead``);
* ``"linear"``: the periodic piecewise-linear part (nodes ``z``, node values, ``lead``);
* ``"kernel"``: :class:`~fpnorm.solvers.periodic1d.KernelExpansion` (nodes ``z``, coefficients ``alpha``, constant
  ``c``; the kernel ``kappa`` is rebuilt from the weight by :func:`~fpnorm.kernels.closed_form_kernel`);
* ``"shifted"``: ``f + t u``, the free-constant part ``f`` plus the rank-one correction of a finite ``zero``.

Every number that defines the piece is stored as an array (prefix ``limit_``), so evaluation after loading performs
exactly the same floating-point operations on exactly the same numbers: results are identical bit for bit. Only the
kernel function is recomputed, and it is a deterministic function of the weight's spec.
"""

import numpy as np

__all__ = ["limit_to_state", "limit_from_state", "LIMIT_KINDS"]

# The piece kinds a saved K = None solution may have.
LIMIT_KINDS = ("cubic", "linear", "kernel", "shifted")
_PREFIX = "limit_"
# The arrays that define each kind of piece.
_PIECE_ARRAYS = {"cubic": ("z", "values", "second", "lead"), "linear": ("z", "values", "lead"),
                 "kernel": ("z", "alpha", "c")}


def _piece_to_state(piece, tag, arrays):
    from .solvers.periodic1d import KernelExpansion, PiecewiseCubic, _Linear

    if isinstance(piece, PiecewiseCubic):
        arrays.update({f"{tag}z": piece.z, f"{tag}values": piece.values, f"{tag}second": piece.second,
                       f"{tag}lead": piece.lead})
        return "cubic"
    if isinstance(piece, _Linear):
        arrays.update({f"{tag}z": piece.z, f"{tag}values": piece.r, f"{tag}lead": piece.lead})
        return "linear"
    if isinstance(piece, KernelExpansion):
        arrays.update({f"{tag}z": piece.z, f"{tag}alpha": piece.alpha, f"{tag}c": piece.c})
        return "kernel"
    raise TypeError(f"Expected a K = None solution part of kinds {LIMIT_KINDS}, got {type(piece).__name__}.")


def limit_to_state(limit):
    """``(arrays, meta)`` of a :class:`LimitSolution` (array names start with ``limit_``)."""
    from .solvers.periodic1d import _Shifted

    arrays = {f"{_PREFIX}norm2": np.asarray(limit.norm2)}
    ev = limit.evaluate
    if isinstance(ev, _Shifted):
        arrays[f"{_PREFIX}t"] = np.asarray(ev.t)
        meta = {"kind": "shifted", "f": _piece_to_state(ev.f, f"{_PREFIX}f_", arrays),
                "u": _piece_to_state(ev.u, f"{_PREFIX}u_", arrays)}
    else:
        meta = {"kind": _piece_to_state(ev, f"{_PREFIX}f_", arrays)}
    return arrays, meta


def _array(arrays, key, shape, kinds="f"):
    from ._interp_state import _array as check

    return check(arrays, key, kinds, shape)


def _piece_from_state(kind, tag, arrays, m, kappa):
    from .solvers.periodic1d import KernelExpansion, PiecewiseCubic, _Linear

    z = _array(arrays, f"{tag}z", (None,))
    N = z.shape[0]
    if N == 0 or z.min() < 0 or z.max() >= 1:
        raise ValueError(f"array '{tag}z' should hold at least one node in [0, 1)")
    if kind == "kernel":
        return KernelExpansion(z, _array(arrays, f"{tag}alpha", (N, m)), _array(arrays, f"{tag}c", (m,)), kappa())
    if np.any(np.diff(z) <= 0):
        raise ValueError(f"array '{tag}z' should be strictly increasing")
    values = _array(arrays, f"{tag}values", (N, None))
    width = values.shape[1]
    lead = _array(arrays, f"{tag}lead", (width,))
    if kind == "linear":
        return _Linear(z, values, lead)
    return PiecewiseCubic(z, values, _array(arrays, f"{tag}second", (N, width)), lead)


def _width(piece):
    """Number of real columns of a piece."""
    for name in ("alpha", "values", "r"):
        if hasattr(piece, name):
            return getattr(piece, name).shape[1]
    raise TypeError(f"unknown K = None solution part {type(piece).__name__}")


def limit_from_state(arrays, meta, weight, info):
    """A :class:`LimitSolution` from :func:`limit_to_state`'s output, every array checked; consumes its arrays.

    Parameters
    ----------
    arrays : dict
        All arrays of the file; the ``limit_*`` ones are removed from it.
    meta : dict
        ``{"kind": ..., "f": ..., "u": ...}`` as written.
    weight : Weight
        The interpolant's weight (rebuilds the kernel of a ``"kernel"`` piece).
    info : SolveInfo
        The interpolant's (already loaded) solve record.

    Raises
    ------
    KeyError, TypeError, ValueError
        When an array is missing, of the wrong kind or shape, or an unexpected ``limit_*`` array is present.
    """
    from .kernels import closed_form_kernel
    from .solvers.periodic1d import LimitSolution, _Shifted

    if not isinstance(meta, dict):
        raise TypeError(f"metadata 'limit' should be dict, got {type(meta).__name__}")
    kind = meta.get("kind")
    if kind not in LIMIT_KINDS:
        raise ValueError(f"metadata 'limit' kind should be one of {LIMIT_KINDS}, got {kind!r}")
    norm2 = _array(arrays, f"{_PREFIX}norm2", (None,))
    m = norm2.shape[0]
    if m == 0 or (norm2 < 0).any():
        raise ValueError("array 'limit_norm2' should hold nonnegative squared norms")

    def kappa():
        return closed_form_kernel(weight)

    if kind == "shifted":
        f_kind, u_kind = meta.get("f"), meta.get("u")
        if f_kind not in ("cubic", "linear") or u_kind != f_kind:
            raise ValueError(f"metadata 'limit' parts of a shifted solution should both be 'cubic' or both 'linear', "
                             f"got {f_kind!r} and {u_kind!r}")
        f = _piece_from_state(f_kind, f"{_PREFIX}f_", arrays, m, kappa)
        u = _piece_from_state(u_kind, f"{_PREFIX}u_", arrays, 1, kappa)
        if _width(f) != m or _width(u) != 1 or u.z.shape != f.z.shape:
            raise ValueError("arrays of the shifted K = None solution have inconsistent shapes")
        evaluate = _Shifted(f, u, _array(arrays, f"{_PREFIX}t", (m,)))
    else:
        evaluate = _piece_from_state(kind, f"{_PREFIX}f_", arrays, m, kappa)
        if _width(evaluate) != m:
            raise ValueError(f"arrays of the K = None solution should have {m} columns, got {_width(evaluate)}")
    parts = [(f"{_PREFIX}f_", meta["f"] if kind == "shifted" else kind)]
    expected = {f"{_PREFIX}norm2"}
    if kind == "shifted":
        parts.append((f"{_PREFIX}u_", meta["u"]))
        expected.add(f"{_PREFIX}t")
    for tag, piece in parts:
        expected |= {tag + name for name in _PIECE_ARRAYS[piece]}
    extra = {k for k in arrays if k.startswith(_PREFIX)} - expected
    if extra:
        raise ValueError(f"unexpected arrays {sorted(extra)}")
    for key in expected:
        del arrays[key]
    return LimitSolution(evaluate, norm2, info)
