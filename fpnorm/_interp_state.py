"""The saved state of an :class:`~fpnorm.FPInterpolator` (see :mod:`fpnorm.io`), and its validation on load.

What is stored: the data actually interpolated (wrapped, merged ``points`` and ``values``, the ``kept`` indices),
the coefficients ``coef`` of ``h - h_ini`` (for ``K=None`` instead the piecewise K = infinity solution, see
:mod:`fpnorm._limit_state`), ``h_ini`` when it is a coefficient array, the weight as its spec string
(:meth:`Weight.spec`), ``K``, ``period``, ``rtol``, ``smoothing`` and the :class:`SolveInfo`. The weight's box
``gamma(k)^2`` is recomputed on load (a deterministic function of the spec), so evaluation and ``norm`` are identical
bit for bit.

What cannot be stored faithfully raises ``ValueError`` at save time rather than writing a file that loads into
something else: a weight made from a Python callable (``Weight.from_callable``) and a callable ``h_ini``. Code is
never stored; pass ``h_ini`` as a coefficient array to make such an interpolant savable.
"""

import numpy as np

from ._limit_state import limit_from_state, limit_to_state
from .lattice import box_shape, box_size

__all__ = ["to_state", "from_state", "check_box"]

# A saved box has at most this many modes: more cannot be indexed (int64) and was never allocated by whoever wrote it.
_MAX_MODES = 2**62


def to_state(s):
    """``(arrays, meta)`` of an FPInterpolator."""
    from .io import refuse_code

    refuse_code("FPInterpolator", "interpolant", s.weight, s._h_ini)
    arrays = {"points": s.points, "values": s.values, "kept": np.asarray(s.kept, dtype=np.int64)}
    meta = {"weight": s.weight.spec(), "dim": s.dim, "K": s.K, "period": s.period, "rtol": s.rtol,
            "smoothing": s.smoothing, "complex": bool(s._complex), "h_ini_real": bool(getattr(s, "_h_ini_real", False)),
            "info": s.info._to_state()[1]}
    if s.K is None:
        limit_arrays, meta["limit"] = limit_to_state(s._limit)
        meta["limit_exponent"] = int(s._limit_exponent)
        arrays.update(limit_arrays)
    else:
        arrays["coef"] = s.coef
    if s._h_ini is not None:
        arrays["h_ini"] = s._h_ini
    return arrays, meta


def _get(mapping, key, kind, where):
    if key not in mapping:
        raise KeyError(f"missing {where} {key!r}")
    value = mapping[key]
    if kind is not None and (isinstance(value, bool) and kind is not bool or not isinstance(value, kind)):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join("None" if k is type(None) else k.__name__ for k in kinds)
        raise TypeError(f"{where} {key!r} should be {names}, got {type(value).__name__}")
    return value


def _array(arrays, key, kinds, shape, where="array"):
    arr = _get(arrays, key, np.ndarray, where)
    if arr.dtype.kind not in kinds:
        raise TypeError(f"{where} {key!r} should have dtype kind in {kinds!r}, got {arr.dtype}")
    if len(arr.shape) != len(shape) or any(want is not None and got != want for got, want in zip(arr.shape, shape)):
        raise ValueError(f"{where} {key!r} should have shape {tuple('?' if w is None else w for w in shape)}, "
                         f"got {arr.shape}")
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError(f"{where} {key!r} holds NaN or inf")
    return arr


def _short(n):
    text = str(n)
    return text if len(text) <= 20 else f"{text[:20]}... ({len(text)} digits)"


def check_box(K, dim):
    """Refuse, with ``ValueError`` naming ``metadata 'K'``, a stored ``K`` whose box ``|k|_inf <= K`` in ``d = dim``
    cannot be indexed or would not fit in memory: the file is corrupt or crafted. Called before anything is allocated
    from ``K`` (the weight's box, the coefficient shapes); `dim` must already be checked against the stored arrays.
    """
    from ._memory import _HEADROOM, available_memory, format_bytes

    M = box_size(K, dim)
    if M > _MAX_MODES:
        raise ValueError(f"metadata 'K' = {_short(K)} is implausible: the box |k|_inf <= K in d = {dim} has more "
                         f"than 2^62 modes")
    need, avail = M * (8 * dim + 40), available_memory()
    if need > _HEADROOM * avail:
        raise ValueError(f"metadata 'K' = {K} is implausible: the box |k|_inf <= {K} in d = {dim} ({M} modes) needs "
                         f"about {format_bytes(need)}, more than the {format_bytes(avail)} available (the file is "
                         f"corrupt, or was written on a machine with far more memory)")
    return M


def from_state(cls, arrays, meta):
    """A new FPInterpolator from a state written by :func:`to_state`, every field checked."""
    from ._validation import check_int, check_period, check_real
    from .solvers import SolveInfo
    from .weights import weight_from_spec

    dim = check_int(_get(meta, "dim", int, "metadata"), "dim", minimum=1)
    weight = weight_from_spec(_get(meta, "weight", str, "metadata"), dim=dim)
    K = _get(meta, "K", (int, type(None)), "metadata")
    K = None if K is None else check_int(K, "K", minimum=0)
    period = check_period(_get(meta, "period", (int, float), "metadata"))
    rtol = check_real(_get(meta, "rtol", (int, float), "metadata"), "rtol", minimum=0.0, strict_min=True)
    is_complex = _get(meta, "complex", bool, "metadata")
    smoothing = check_real(meta.get("smoothing", 0.0), "smoothing", minimum=0.0)
    if K is None and dim != 1:
        raise ValueError(f"metadata 'dim' should be 1 for K=None, got {dim}")
    points = _array(arrays, "points", "f", (None, dim))
    N = points.shape[0]
    if N == 0 or points.min() < 0 or points.max() >= period:
        raise ValueError(f"array 'points' should hold at least one point in [0, {period})^{dim}")
    if K is not None:
        check_box(K, dim)
    values = _array(arrays, "values", "fc", (N,) if np.ndim(arrays.get("values")) == 1 else (N, None))
    m = () if values.ndim == 1 else (values.shape[1],)
    coef = None if K is None else _array(arrays, "coef", "c", box_shape(K, dim) + m)
    kept = _array(arrays, "kept", "iu", (N,))
    h_ini = None
    if "h_ini" in arrays:
        h_ini = _get(arrays, "h_ini", np.ndarray, "array")
        h_ini = _array(arrays, "h_ini", "c", (h_ini.shape[0] if h_ini.ndim else 1,) * dim)
        if h_ini.shape[0] % 2 == 0:
            raise ValueError(f"array 'h_ini' should have odd sides, got shape {h_ini.shape}")
    info = SolveInfo._from_state({}, _get(meta, "info", dict, "metadata"))
    limit = None
    if K is None:
        rest = dict(arrays)
        limit = limit_from_state(rest, _get(meta, "limit", dict, "metadata"), weight, info)
        width = (1 if values.ndim == 1 else values.shape[1]) * (2 if is_complex else 1)
        if limit.norm2.shape != (width,):
            raise ValueError(f"array 'limit_norm2' should have shape ({width},), got {limit.norm2.shape}")
        arrays = rest
    extra = set(arrays) - {"points", "values", "kept", "h_ini"} - (set() if K is None else {"coef"})
    if extra:
        raise ValueError(f"unexpected arrays {sorted(extra)}")
    s = cls.__new__(cls)
    s.weight, s.dim, s.period, s.K, s.rtol, s.smoothing = weight, dim, period, K, rtol, smoothing
    s.points, s.values, s.kept, s._coef = points, values, kept, coef
    s._limit, s._multi = limit, values.ndim == 2
    if K is None:  # the power-of-two scaling of the data (files written before it existed: 0)
        exponent = _get(meta, "limit_exponent", int, "metadata") if "limit_exponent" in meta else 0
        s._limit_exponent = check_int(exponent, "limit_exponent", minimum=-1100)
    s._h_ini, s._h_ini_real, s._complex = h_ini, bool(meta.get("h_ini_real", False)), is_complex
    s.info = info
    if K is not None:
        s._g = weight.box(K)
    return s
