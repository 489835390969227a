"""The saved state of an :class:`~fpnorm.LFPFlow` (see :mod:`fpnorm.io`), and its validation on load.

What is stored is exactly what the flow evaluates from after construction: the wrapped data, the weight's spec, ``K``,
``period``, ``h_ini`` when it is a coefficient array, the spectrum (``lam``, ``kept``, ``U``, ``pts``, and the map to
coefficients: ``coef_map`` for the svd method, ``lift_U`` for eigh), the eigen-coordinates ``w`` of the data and the
free-mode fit (``free_cols``, ``free_r``, ``free_z``). The weight box is recomputed from the spec (deterministic), so
``coef``, evaluation, ``norm``, ``loss`` and ``shell_errors`` are identical bit for bit after loading. The Householder
factors of the free-mode projection are only needed to build the flow and are not kept.

A flow whose weight or ``h_ini`` is a Python callable raises ``ValueError`` at save time (code is never stored).
"""

import numpy as np

from ._interp_state import _array, _get, check_box

__all__ = ["flow_to_state", "flow_from_state"]


class _LoadedFree:
    """The free-mode columns a loaded flow evaluates with (``n`` real columns at indices ``cols``)."""

    def __init__(self, cols):
        self.cols, self.n = cols, cols.size


def flow_to_state(flow):
    """``(arrays, meta)`` of an LFPFlow."""
    from .transforms import DEFAULT_EPS
    from .io import refuse_code

    refuse_code("LFPFlow", "flow", flow.weight, flow._h_ini)
    spec = flow._spec
    arrays = {"points": flow.points, "values": flow.values, "lam": spec.lam, "kept": spec.kept, "U": spec.U,
              "pts": spec.pts, "w": flow._w, "free_cols": np.asarray(flow._free.cols, dtype=np.int64)}
    if spec.coef_map is not None:
        arrays["coef_map"] = spec.coef_map
    else:
        arrays["lift_U"] = spec._alpha_map.lift_U
    if flow._free.n:
        arrays["free_r"], arrays["free_z"] = flow._free_r, flow._free_z
    if flow._h_ini is not None:
        arrays["h_ini"] = flow._h_ini
    meta = {"weight": flow.weight.spec(), "dim": flow.dim, "K": flow.K, "period": flow.period,
            "method": spec.method, "complex": bool(flow._complex), "h_ini_real": bool(flow._h_ini_real),
            "eps": DEFAULT_EPS}
    return arrays, meta


def flow_from_state(cls, arrays, meta):
    """A new LFPFlow from :func:`flow_to_state`'s output, every field checked."""
    from ._flow_spectrum import FlowSpectrum, eigh_alpha_map
    from ._validation import check_int, check_period, check_real
    from .weights import weight_from_spec

    dim = check_int(_get(meta, "dim", int, "metadata"), "dim", minimum=1)
    weight = weight_from_spec(_get(meta, "weight", str, "metadata"), dim=dim)
    K = check_int(_get(meta, "K", int, "metadata"), "K", minimum=0)
    period = check_period(_get(meta, "period", (int, float), "metadata"))
    eps = check_real(_get(meta, "eps", float, "metadata"), "eps", minimum=0.0, strict_min=True)
    from .dynamics import FLOW_METHODS

    method = _get(meta, "method", str, "metadata")
    solved = tuple(name for name in FLOW_METHODS if name != "auto")
    if method not in solved:
        raise ValueError(f"metadata 'method' should be one of {solved}, got {method!r}")
    is_complex = _get(meta, "complex", bool, "metadata")
    h_ini_real = _get(meta, "h_ini_real", bool, "metadata")
    extra_meta = set(meta) - {"weight", "dim", "K", "period", "eps", "method", "complex", "h_ini_real"}
    if extra_meta:
        raise ValueError(f"unexpected metadata {sorted(extra_meta)}")
    points = _array(arrays, "points", "f", (None, dim))
    N, M = points.shape[0], check_box(K, dim)  # K is plausible before the weight's box or any shape is built
    if N == 0 or points.min() < 0 or points.max() >= period:
        raise ValueError(f"array 'points' should hold at least one point in [0, {period})^{dim}")
    values = _get(arrays, "values", np.ndarray, "array")
    values = _array(arrays, "values", "fc", (N,) if values.ndim == 1 else (N, None))
    m = 1 if values.ndim == 1 else values.shape[1]
    if is_complex != bool(np.iscomplexobj(values)) and "h_ini" not in arrays:
        raise ValueError(f"metadata 'complex' ({is_complex}) should match the dtype of 'values' ({values.dtype})")
    width = 2 * m if is_complex else m
    cols = _array(arrays, "free_cols", "iu", (None,))
    n_f = cols.size
    if n_f > N or np.unique(cols).size != n_f or (n_f and (cols.min() < 0 or cols.max() >= M)):
        raise ValueError(f"array 'free_cols' should hold at most {N} distinct indices in [0, {M})")
    lam = _array(arrays, "lam", "f", (None,))
    n = lam.size
    kept = _array(arrays, "kept", "b", (n,))
    U = _array(arrays, "U", "f", (N - n_f, n))
    pts = _array(arrays, "pts", "f", (N, n))
    w = _array(arrays, "w", "f", (n, width))
    names = {"points", "values", "lam", "kept", "U", "pts", "w", "free_cols"}
    coef_map, alpha_map = None, None
    g = weight.box(K)
    if method == "svd":
        coef_map = _array(arrays, "coef_map", "f", (M, n))
        names.add("coef_map")
    else:
        lift_U = _array(arrays, "lift_U", "f", (N, n))
        gp = np.where(np.isinf(g), 0.0, g)
        alpha_map = eigh_alpha_map(lift_U, (2 * np.pi / period) * points, gp, K, dim, eps)
        names.add("lift_U")
    flow = cls.__new__(cls)
    if n_f:
        flow._free_r = _array(arrays, "free_r", "f", (n_f, width))
        flow._free_z = _array(arrays, "free_z", "f", (n_f, n))
        names |= {"free_r", "free_z"}
    h_ini = None
    if "h_ini" in arrays:
        h_ini = _get(arrays, "h_ini", np.ndarray, "array")
        h_ini = _array(arrays, "h_ini", "c", (h_ini.shape[0] if h_ini.ndim else 1,) * dim)
        if h_ini.shape[0] % 2 == 0:
            raise ValueError(f"array 'h_ini' should have odd sides, got shape {h_ini.shape}")
        names.add("h_ini")
    extra = set(arrays) - names
    if extra:
        raise ValueError(f"unexpected arrays {sorted(extra)}")
    flow.weight, flow.dim, flow.period, flow.K, flow.method = weight, dim, period, K, method
    flow.points, flow.values, flow._g = points, values, g
    flow._h_ini, flow._h_ini_real, flow._complex, flow._m = h_ini, h_ini_real, is_complex, m
    flow._t = (2 * np.pi / period) * points
    flow._free = _LoadedFree(cols)
    flow._spec = FlowSpectrum(lam, kept, U, coef_map, pts, method, alpha_map)
    flow._w = w
    return flow
