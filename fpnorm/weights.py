"""Frequency weights gamma(k)^2 on the integer lattice Z^d.

A weight defines the FP-norm ``||h||_gamma^2 = sum_k gamma(k)^-2 |h^(k)|^2``. Every weight is even in ``k`` and
positive; ``gamma(k)^2 = inf`` marks an unpenalised ("free") mode, which costs nothing in the norm.

The families follow the frequency-principle literature (the README's "The maths" gives the references):

- :class:`PowerLaw`: ``gamma(k)^2 = (2 pi |k|)^-p``; ``p = 2`` gives the piecewise-linear interpolant on the circle,
  ``p = 4`` the cubic spline.
- :class:`LFP`: ``gamma(k)^2 = a |k|^-(d+1) + b |k|^-(d+3)``, the wide two-layer network's weight (Luo et al.).
- :class:`Sobolev`: ``gamma(k)^2 = (1 + |2 pi k|^2)^-s``, finite everywhere.
- :meth:`Weight.from_callable`: any user function of ``k``.

``|k|`` is the Euclidean norm of the integer vector ``k``; the period of the torus does not enter the weight.
"""

import abc
import math

import numpy as np

from ._internal.checks import check_dim, check_int, check_real
from ._internal.memory import check_memory
from .lattice import box_points, box_size

__all__ = ["Weight", "PowerLaw", "LFP", "Sobolev", "CallableWeight", "weight_from_spec", "check_weight",
           "weight_growth", "WEIGHT_KINDS", "box_memory"]

# The spec-string kinds understood by :func:`weight_from_spec` (CLI, sweeps) and their parameters.
WEIGHT_KINDS = {
    "power": ("p", "zero"),
    "lfp": ("a", "b", "zero"),
    "sobolev": ("s",),
}


def _check_zero(zero):
    if zero is None:
        return None
    return check_real(zero, "zero", minimum=0.0, strict_min=True)


def box_memory(K, dim):
    """Peak bytes of :meth:`Weight.box`: the lattice points, their float copy and norms, and the values (measured
    65, 81 and 161 bytes a mode in d = 2, 3 and 6)."""
    return box_size(K, dim) * (24 * dim + 32)


def check_weight(weight):
    """`weight` itself when it is a :class:`Weight`; ``TypeError`` naming the argument otherwise."""
    if not isinstance(weight, Weight):
        raise TypeError(f"Expected `weight` to be a fpnorm Weight (PowerLaw, LFP, Sobolev, Weight.from_callable), "
                        f"got {type(weight).__name__}.")
    return weight


def _as_lattice(k, dim):
    """Validate integer lattice points; returns an int64 array of shape (..., dim)."""
    try:
        arr = np.asarray(k)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Expected `k` to be a rectangular integer array of lattice points: {exc}") from None
    if arr.dtype.kind not in "iu":
        if (arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
                and np.max(np.abs(arr)) < 2.0**53):
            arr = arr.astype(np.int64)
        elif arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"Expected `k` to be an integer array of lattice points, got dtype {arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if dim == 1 and (arr.ndim == 0 or arr.shape[-1] != 1):
        arr = arr[..., None]
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(f"Expected `k` to have shape (..., {dim}) for a weight of dim={dim}, got shape {arr.shape}.")
    return arr


class Weight(abc.ABC):
    """Base class of the frequency weights: ``gamma(k)^2`` on ``Z^d``.

    Subclasses implement :meth:`_gamma2_nonzero` for ``k != 0``; the value at ``k = 0`` is ``zero`` (a float
    giving ``gamma(0)^2``) or ``inf`` (unpenalised) when ``zero`` is None.

    Attributes
    ----------
    dim : int
        Dimension ``d`` of the torus.
    zero : float or None
        ``gamma(0)^2``; None leaves the mean of ``h - h_ini`` free (unpenalised).
    """

    kind = "weight"
    # Whether gamma(k)^2 = inf (a free mode) may occur at k != 0; the closed-form families are finite there.
    _inf_allowed = False

    def __init__(self, dim, zero=None):
        self.dim = check_dim(dim)
        self.zero = _check_zero(zero)

    # -- evaluation ---------------------------------------------------------------------------------------------
    def gamma2(self, k):
        """Return ``gamma(k)^2`` at integer lattice points.

        Parameters
        ----------
        k : int array of shape (..., d)
            Lattice points; for ``d = 1`` also a scalar or an array of shape (...,).

        Returns
        -------
        ndarray of float, shape (...)
            ``gamma(k)^2``; ``inf`` where the mode is unpenalised.
        """
        k = _as_lattice(k, self.dim)
        out = np.empty(k.shape[:-1], dtype=float)
        r2 = np.sum(k.astype(float) ** 2, axis=-1)
        nz = r2 > 0
        if np.any(nz):
            with np.errstate(over="ignore", under="ignore"):  # overflow is reported below, underflow by box()
                vals = np.asarray(self._gamma2_nonzero(k[nz], np.sqrt(r2[nz])), dtype=float)
            if not self._inf_allowed and np.isinf(vals).any():
                raise ValueError(f"Expected the weight {self!r} to be finite at k != 0, but gamma(k)^2 overflows to "
                                 f"inf at k = {k[nz][np.isinf(vals)][0].tolist()}; use smaller parameters.")
            out[nz] = vals
        out[~nz] = math.inf if self.zero is None else self.zero
        return out

    @abc.abstractmethod
    def _gamma2_nonzero(self, k, r):
        """gamma(k)^2 for nonzero lattice points ``k`` (shape (n, d)) with Euclidean norms ``r`` (shape (n,))."""

    def box(self, K):
        """``gamma(k)^2`` on the box ``|k|_inf <= K``, shape ``(2K+1,)*d`` (index ``j`` means ``k = j - K``).

        Raises ``ValueError`` if a value is NaN, negative or zero, or if the weight is not even on the box.
        """
        K = check_int(K, "K", minimum=0)
        check_memory(box_memory(K, self.dim), f"the weight on the box |k|_inf <= {K} in d = "
                     f"{self.dim} ({box_size(K, self.dim)} modes)", "Use a smaller `K`.")
        g2 = self.gamma2(box_points(K, self.dim)).reshape((2 * K + 1,) * self.dim)
        _check_values(g2, self)
        return g2

    # -- description --------------------------------------------------------------------------------------------
    @property
    def params(self):
        """The parameters that define this weight, as a dict (used by specs, persistence and closed forms)."""
        return {"zero": self.zero}

    def spec(self):
        """The spec string (``'power:p=4'``) that :func:`weight_from_spec` parses back into an equal weight."""
        parts = [f"{name}={value!r}" for name, value in self.params.items() if value is not None]
        return f"{self.kind}:" + ",".join(parts) + f",dim={self.dim}" if parts else f"{self.kind}:dim={self.dim}"

    def __repr__(self):
        args = ", ".join(f"{n}={v!r}" for n, v in self.params.items())
        return f"{type(self).__name__}({args}, dim={self.dim})"

    def __eq__(self, other):
        return type(self) is type(other) and self.dim == other.dim and self.params == other.params

    def __hash__(self):
        return hash((type(self).__name__, self.dim, tuple(sorted(self.params.items()))))

    # -- constructors -------------------------------------------------------------------------------------------
    @staticmethod
    def from_callable(fn, dim, zero=None):
        """A weight from a function of the lattice point.

        Parameters
        ----------
        fn : callable
            ``fn(k)`` with ``k`` an int array of shape (n, d) (all nonzero) returns ``gamma(k)^2``, shape (n,):
            positive, even in ``k``; ``inf`` marks an unpenalised mode.
        dim : int
            Dimension ``d``.
        zero : float or None
            ``gamma(0)^2``; None (default) leaves ``k = 0`` unpenalised.

        Examples
        --------
        >>> import numpy as np
        >>> from fpnorm import Weight
        >>> w = Weight.from_callable(lambda k: np.exp(-np.sum(k**2, axis=-1) / 50.0), dim=2, zero=1.0)
        >>> float(w.gamma2([0, 0]))
        1.0
        """
        return CallableWeight(fn, dim, zero=zero)


def _check_values(g2, weight):
    bad = np.isnan(g2) | (g2 <= 0)
    if np.any(bad):
        idx = np.argwhere(bad)[0]
        raise ValueError(f"Expected the weight {weight!r} to give gamma(k)^2 > 0 (or inf) at every k, "
                         f"got {g2[tuple(idx)]} at array index {tuple(int(i) for i in idx)}"
                         + (" (it underflows: the weight decays too fast for this K)." if g2[tuple(idx)] == 0 else "."))
    flipped = g2[(slice(None, None, -1),) * g2.ndim]
    same = (g2 == flipped) | np.isclose(g2, flipped, rtol=1e-12, atol=0.0)
    if not np.all(same):
        idx = np.argwhere(~same)[0]
        raise ValueError(f"Expected the weight {weight!r} to be even, gamma(k) = gamma(-k); it differs at array "
                         f"index {tuple(int(i) for i in idx)}.")


class PowerLaw(Weight):
    """``gamma(k)^2 = (2 pi |k|)^-p`` for ``k != 0``.

    Parameters
    ----------
    p : float
        Decay exponent, ``p >= 0``. The norm is ``sum (2 pi |k|)^p |h^(k)|^2``: on the circle ``p = 2`` is
        ``P int |h'|^2`` and ``p = 4`` is ``P^3 int |h''|^2`` (in general
        ``P^(p-1) int |h^(p/2)|^2`` over one period ``P``). ``||gamma||_l2`` is finite iff ``p > d``.
    dim : int
        Dimension ``d``.
    zero : float or None
        ``gamma(0)^2``; None (default) leaves the mean free.
    """

    kind = "power"

    def __init__(self, p, dim=1, zero=None):
        self.p = check_real(p, "p", minimum=0.0)
        super().__init__(dim, zero)

    def _gamma2_nonzero(self, k, r):
        return (2.0 * math.pi * r) ** (-self.p)

    @property
    def params(self):
        return {"p": self.p, "zero": self.zero}


class LFP(Weight):
    """The linear-frequency-principle weight ``gamma(k)^2 = a |k|^-(d+1) + b |k|^-(d+3)`` for ``k != 0``.

    Parameters
    ----------
    a, b : float
        Nonnegative, not both zero. In 1-d, ``b``-dominant gives the cubic spline, ``a``-dominant the
        piecewise-linear interpolant.
    dim : int
        Dimension ``d``.
    zero : float or None
        ``gamma(0)^2``; None (default) leaves the mean free.

    Notes
    -----
    Zhang, Xu, Luo, Ma (2019), eq. for the 1-d LFP dynamics; Luo et al. (arXiv 2010.08153) in d dimensions.
    The weight is a function of the integer ``k``. On a torus of period ``P`` the physical frequency is
    ``xi = k / P``, so the papers' ``a |xi|^-(d+1) + b |xi|^-(d+3)`` is ``LFP(a * P**(d+1), b * P**(d+3))``;
    :meth:`from_moments` gives the ``P = 1`` form.
    """

    kind = "lfp"

    def __init__(self, a, b, dim=1, zero=None):
        self.a = check_real(a, "a", minimum=0.0)
        self.b = check_real(b, "b", minimum=0.0)
        if self.a == 0 and self.b == 0:
            raise ValueError("Expected `a` and `b` not both zero, got a = 0, b = 0.")
        super().__init__(dim, zero)

    @classmethod
    def from_moments(cls, r2w2, r2, w2, dim=1, zero=None):
        """The LFP weight from initialisation statistics of a wide two-layer network.

        ``a = 4 pi^2 <r^2 w^2>`` and ``b = <r^2> + <w^2>``, where ``r`` is the input-weight norm and ``w`` the
        output weight at initialisation.
        """
        r2w2 = check_real(r2w2, "r2w2", minimum=0.0)
        r2 = check_real(r2, "r2", minimum=0.0)
        w2 = check_real(w2, "w2", minimum=0.0)
        return cls(4.0 * math.pi**2 * r2w2, r2 + w2, dim=dim, zero=zero)

    def _gamma2_nonzero(self, k, r):
        d = self.dim
        return self.a * r ** (-(d + 1.0)) + self.b * r ** (-(d + 3.0))

    @property
    def params(self):
        return {"a": self.a, "b": self.b, "zero": self.zero}


class Sobolev(Weight):
    """``gamma(k)^2 = (1 + |2 pi k|^2)^-s``, finite at every ``k`` (the ``H^s`` norm on the torus).

    Parameters
    ----------
    s : float
        Smoothness, ``s >= 0``. ``||gamma||_l2`` is finite iff ``2 s > d``.
    dim : int
        Dimension ``d``.
    """

    kind = "sobolev"

    def __init__(self, s, dim=1):
        self.s = check_real(s, "s", minimum=0.0)
        super().__init__(dim, zero=1.0)

    def _gamma2_nonzero(self, k, r):
        return (1.0 + (2.0 * math.pi * r) ** 2) ** (-self.s)

    @property
    def params(self):
        return {"s": self.s}


class CallableWeight(Weight):
    """A weight given by a user function; see :meth:`Weight.from_callable`."""

    kind = "callable"
    _inf_allowed = True

    def __init__(self, fn, dim, zero=None):
        if not callable(fn):
            raise TypeError(f"Expected `fn` to be callable, got {type(fn).__name__}.")
        self.fn = fn
        super().__init__(dim, zero)

    def _gamma2_nonzero(self, k, r):
        try:
            vals = np.asarray(self.fn(k))
        except Exception as exc:  # a user function may raise anything: report it as a bad weight
            raise ValueError(f"The weight function {self.fn!r} failed on lattice points of shape {k.shape}: "
                             f"{type(exc).__name__}: {exc}") from exc
        if vals.dtype == object or vals.dtype.kind not in "biuf":
            raise TypeError(f"Expected the weight function to return real numbers gamma(k)^2, got dtype {vals.dtype}.")
        vals = vals.astype(float)
        if vals.shape != (k.shape[0],):
            vals = np.broadcast_to(vals, (k.shape[0],)) if vals.ndim == 0 else vals
            if vals.shape != (k.shape[0],):
                raise ValueError(f"Expected the weight function to return shape ({k.shape[0]},) for k of shape "
                                 f"{k.shape}, got {vals.shape}.")
        return vals

    @property
    def params(self):
        return {"fn": getattr(self.fn, "__qualname__", repr(self.fn)), "zero": self.zero}

    def spec(self):
        raise ValueError("A weight made from a callable has no spec string; use PowerLaw, LFP or Sobolev.")

    def __eq__(self, other):
        return type(self) is type(other) and self.fn is other.fn and self.dim == other.dim and self.zero == other.zero

    def __hash__(self):
        return hash((id(self.fn), self.dim, self.zero))


def weight_from_spec(spec, dim=None):
    """Parse a weight spec string such as ``'power:p=4'``, ``'lfp:a=1,b=0.5,zero=1'`` or ``'sobolev:s=2,dim=2'``.

    Parameters
    ----------
    spec : str
        ``KIND:NAME=VALUE,...`` with KIND in :data:`WEIGHT_KINDS`; ``dim=`` may appear in the spec.
    dim : int, optional
        Dimension, used when the spec does not give one (default 1).

    Returns
    -------
    Weight
    """
    if not isinstance(spec, str):
        raise TypeError(f"Expected `spec` to be a string like 'power:p=4', got {type(spec).__name__}.")
    kind, _, rest = spec.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in WEIGHT_KINDS:
        raise ValueError(f"Expected the weight kind in `spec` to be one of {sorted(WEIGHT_KINDS)}, got {kind!r} "
                         f"(from {spec!r}).")
    values = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or name not in WEIGHT_KINDS[kind] + ("dim",):
            raise ValueError(f"Expected `spec` parameters NAME=VALUE with NAME in "
                             f"{list(WEIGHT_KINDS[kind]) + ['dim']} for kind {kind!r}, got {item!r}.")
        text = text.strip()
        if name in values:
            raise ValueError(f"Expected each parameter once in weight spec {spec!r}, got `{name}` twice.")
        try:
            values[name] = None if text.lower() == "none" else (int(text) if name == "dim" else float(text))
        except ValueError:
            what = "an integer" if name == "dim" else "a number"
            raise ValueError(f"Expected {what} for `{name}` in weight spec {spec!r}, got {text!r}.") from None
    spec_dim = values.pop("dim", None)
    if spec_dim is not None and dim is not None and spec_dim != dim:
        raise ValueError(f"Expected the weight spec's dim={spec_dim} to match `dim`={dim}.")
    d = spec_dim if spec_dim is not None else (dim if dim is not None else 1)
    required = {"power": ("p",), "lfp": ("a", "b"), "sobolev": ("s",)}[kind]
    missing = [name for name in required if name not in values]
    if missing:
        raise ValueError(f"Expected weight spec {spec!r} to give {', '.join(missing)}.")
    cls = {"power": PowerLaw, "lfp": LFP, "sobolev": Sobolev}[kind]
    return cls(dim=d, **values)


def weight_growth(weight, R=1.0):
    """Power-law brackets of the penalty ``gamma(k)^-2`` far from the origin, for certified tail sums.

    Parameters
    ----------
    weight : Weight
    R : float
        The brackets hold for every ``k`` with ``|k|_2 >= R`` (``R >= 1``).

    Returns
    -------
    (P, c_low, c_high) or None
        ``c_low |k|^P <= gamma(k)^-2 <= c_high |k|^P`` for ``|k|_2 >= R``, with ``c_high / c_low -> 1`` as
        ``R -> inf``; None for a weight made from a callable, whose growth is not known.

    Notes
    -----
    ``PowerLaw(p)``: ``gamma^-2 = (2 pi r)^p`` exactly. ``LFP(a, b)``: ``gamma^-2 = r^(d+1) / (a + b r^-2)``, so with
    ``a > 0`` the growth is ``r^(d+1)`` between ``1/(a + b/R^2)`` and ``1/a``, and with ``a = 0`` it is
    ``r^(d+3) / b``. ``Sobolev(s)``: ``(1 + 4 pi^2 r^2)^s = r^(2s) (4 pi^2 + r^-2)^s``, between ``(4 pi^2)^s`` and
    ``(4 pi^2 + R^-2)^s``.

    Examples
    --------
    >>> from fpnorm import LFP
    >>> from fpnorm.weights import weight_growth
    >>> weight_growth(LFP(a=1.0, b=1.0), R=10.0)   # r^2 / (1 + r^-2): between r^2 / 1.01 and r^2
    (2.0, 0.9900990099009901, 1.0)
    """
    check_weight(weight)
    R = check_real(R, "R", minimum=1.0)
    d = weight.dim
    if isinstance(weight, PowerLaw):
        c = (2.0 * math.pi) ** weight.p
        return float(weight.p), c, c
    if isinstance(weight, LFP):
        if weight.a == 0:
            return d + 3.0, 1.0 / weight.b, 1.0 / weight.b
        return d + 1.0, 1.0 / (weight.a + weight.b / R**2), 1.0 / weight.a
    if isinstance(weight, Sobolev):
        return 2.0 * weight.s, (4.0 * math.pi**2) ** weight.s, (4.0 * math.pi**2 + R**-2) ** weight.s
    return None
