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
import warnings

import numpy as np

from ._internal.checks import check_dim, check_int, check_real, parse_int, parse_number
from ._internal.memory import check_memory
from .exceptions import NetworkRangeWarning
from .lattice import box_points, box_size

__all__ = ["Weight", "PowerLaw", "LFP", "Sobolev", "CallableWeight", "weight_from_spec", "check_weight",
           "weight_growth", "WEIGHT_KINDS", "NETWORK_FORMS", "box_memory"]

# The spec-string kinds understood by :func:`weight_from_spec` (CLI, sweeps) and their parameters.
WEIGHT_KINDS = {
    "power": ("p", "zero"),
    "lfp": ("a", "b", "zero"),
    "sobolev": ("s",),
}
# The two-layer network forms :meth:`LFP.from_network` reads: "seed" h = m^-1/2 sum a ReLU(W (x + b)) (1-d),
# "standard" h = m^-1/2 sum a ReLU(W.x + b) (any d).
NETWORK_FORMS = ("seed", "standard")
# Fewer breakpoints than this fraction beyond the data on one side: the bias density there is not constant.
_RANGE_FRACTION = 0.05


def _check_zero(zero):
    if zero is None:
        return None
    return check_real(zero, "zero", minimum=0.0, strict_min=True)


def _mean_moment(value, name):
    """A moment given as a number or as per-neuron values (their mean); nonnegative and finite."""
    arr = np.asarray(value, dtype=float) if not isinstance(value, bool) else None
    if arr is None or arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"Expected `{name}` to be a number or a 1-d array of per-neuron values, got {value!r}.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"Expected `{name}` finite and >= 0, got {arr[~(np.isfinite(arr) & (arr >= 0))][0]}.")
    return float(np.mean(arr))


def _network_arrays(W, b, a):
    """``W`` as (m, d), ``b`` and ``a`` as (m,), all finite floats."""
    out = []
    for name, v in (("W", W), ("b", b), ("a", a)):
        arr = np.asarray(v)
        if arr.dtype == object or arr.dtype.kind not in "iuf":
            raise TypeError(f"Expected `{name}` to be a real array, got dtype {arr.dtype}.")
        arr = arr.astype(float)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"Expected `{name}` finite, got NaN or inf.")
        out.append(arr)
    W, b, a = out
    if W.ndim == 1:
        W = W[:, None]
    if W.ndim != 2 or W.shape[0] == 0 or b.shape != (W.shape[0],) or a.shape != (W.shape[0],):
        raise ValueError(f"Expected `W` of shape (m, d) or (m,) and `b`, `a` of shape (m,), m >= 1, got {W.shape}, "
                         f"{b.shape} and {a.shape}.")
    return W, b, a


def _data_ball(points, d):
    x = np.asarray(points, dtype=float)
    x = x[:, None] if (d == 1 and x.ndim == 1) else x
    if x.ndim != 2 or x.shape[1] != d or x.shape[0] < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"Expected `points` finite, of shape (N, {d}) (or (N,) in 1-d) with N >= 2, got shape "
                         f"{np.shape(points)}.")
    c = 0.5 * (x.min(axis=0) + x.max(axis=0))
    return c, float(np.max(np.sqrt(np.sum((x - c) ** 2, axis=1))))


def _data_radius(points, d):
    return _data_ball(points, d)[1]


def _breakpoint_offsets(omega, s, points, d, P):
    """Signed distance of each breakpoint hyperplane ``omega_j . x = s_j`` from the data centre (the origin without
    `points`); warns (:class:`~fpnorm.exceptions.NetworkRangeWarning`) when the data are not well inside them."""
    if points is None:
        return s
    c, R = _data_ball(points, d)
    if R == 0:
        raise ValueError("Expected `points` to span a positive distance, got identical points.")
    rel = s - omega @ c
    lo, hi = np.mean(rel < -R), np.mean(rel > R)
    if min(lo, hi) < _RANGE_FRACTION:
        q = np.quantile(rel, [_RANGE_FRACTION, 1 - _RANGE_FRACTION])
        warnings.warn(f"The data (ball of radius {R:.3g} around {np.round(c, 4).tolist()}) are not well inside the "
                      f"range of the network's ReLU breakpoints: {100 * lo:.1f} % of them lie below and "
                      f"{100 * hi:.1f} % above the data (offsets' {100 * _RANGE_FRACTION:g} % and "
                      f"{100 * (1 - _RANGE_FRACTION):g} % quantiles {q[0]:.3g}, {q[1]:.3g}); the LFP weight assumes a "
                      f"constant bias density across the data"
                      + ("." if P is None else f" and period {P:g}."), NetworkRangeWarning, stacklevel=3)
    return rel


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
    def from_moments(cls, r2w2, r2, w2, dim=1, zero=None, *, period=1.0):
        """The LFP weight from initialisation statistics of a wide two-layer network.

        ``a = 4 pi^2 <r^2 w^2> P^(d+1)`` and ``b = (<r^2> + <w^2>) P^(d+3)``, where ``r`` is the input-weight norm and
        ``w`` the output weight at initialisation and ``P`` the period: in 1-d ``LFP(a P^2, b P^4)``.

        Parameters
        ----------
        r2w2, r2, w2 : float or array_like
            The moments ``<r^2 w^2>``, ``<r^2>``, ``<w^2>``, or arrays of per-neuron values ``r_j^2 w_j^2``,
            ``r_j^2``, ``w_j^2`` whose means are the moments.
        dim : int
        zero : float or None
        period : float
            ``P``. The papers' rates are functions of the physical frequency ``xi = k / P``; the weight is a
            function of the integer ``k``, hence the powers of ``P``.

        Notes
        -----
        This is the papers' operator up to a constant factor (the bias density; see :meth:`from_network` for the
        weight in a network's own time): the ratio ``a / b`` decides the regime, the factor only the clock.

        Examples
        --------
        >>> from fpnorm import LFP
        >>> LFP.from_moments(r2w2=[1.0, 3.0], r2=1.0, w2=1.0, period=2.0)   # a = 4 pi^2 * 2 * 2^2, b = 2 * 2^4
        LFP(a=315.82734083485946, b=32.0, zero=None, dim=1)
        """
        r2w2, r2, w2 = (_mean_moment(v, name) for v, name in ((r2w2, "r2w2"), (r2, "r2"), (w2, "w2")))
        d = check_dim(dim)
        P = check_real(period, "period", minimum=0.0, strict_min=True)
        return cls(4.0 * math.pi**2 * r2w2 * P ** (d + 1), (r2 + w2) * P ** (d + 3), dim=d, zero=zero)

    @classmethod
    def from_network(cls, W, b, a, *, period, form="seed", points=None, zero=None):
        """The LFP weight of a two-layer ReLU network at initialisation, in the network's own time.

        ``LFPFlow(x, y, weight=LFP.from_network(W, b, a, period=P, points=x), ...)`` at time ``t = lr * steps``
        predicts the network after ``steps`` steps of full-batch gradient descent with learning rate ``lr`` on the
        loss ``(1/2N) sum_i (h(x_i) - y_i)^2``, in the wide (lazy) limit.

        Parameters
        ----------
        W : array_like, shape (m, d), or (m,) when d = 1
            Input weights at initialisation.
        b, a : array_like, shape (m,)
            Biases and output weights at initialisation.
        period : float or None
            Period ``P`` of the torus the network's function is compared on; take it several times the diameter of
            the data. None: the whole space ``R^d``, where the network lives (``LFPFlow(..., K=None, period=None)``,
            ``FPInterpolator(..., K=None, period=None)``); the weight is then a function of the real frequency
            ``xi``.
        form : str
            One of :data:`NETWORK_FORMS`: ``"seed"``, ``h(x) = m^-1/2 sum_j a_j ReLU(W_j (x + b_j))`` (1-d), or
            ``"standard"``, ``h(x) = m^-1/2 sum_j a_j ReLU(W_j . x + b_j)`` (any d); gradient on all of W, b, a.
        points : array_like, shape (N, d) or (N,), optional
            The training inputs: the density of the ReLU breakpoints is estimated in the ball around them (the
            centre of their bounding box, radius to the farthest point), and :class:`~fpnorm.NetworkRangeWarning` is
            raised when fewer than 5 % of the breakpoints lie beyond the data on one side. Without them, in the ball
            around the origin that holds the nearer half of the breakpoints.
        zero : float or None
            ``gamma(0)^2`` (default None: the constant mode free, infinitely fast).

        Returns
        -------
        LFP
            ``dim = d``.

        Notes
        -----
        *The clock.* Gradient descent on ``L = (1/2N) sum_i (h(x_i) - y_i)^2`` moves the function, to first order in
        ``lr``, as ``dh(x)/dt = -(1/N) sum_i Theta(x, x_i) (h(x_i) - y_i)`` with ``t = lr * steps`` and the neural
        tangent kernel ``Theta(x, x') = sum_params dh(x) dh(x')``. If ``Theta(x, x') = kappa(x - x')`` with
        ``kappa(z) = sum_k gamma(k)^2 e^{2 pi i k.z/P}``, that is exactly the flow of :class:`~fpnorm.LFPFlow`,
        ``d/dt h^(k) = -gamma(k)^2 (h - y)_p^(k)``; on the torus ``gamma(k)^2 = P^-d Theta^(k / P)`` with
        ``Theta^`` the Fourier transform on ``R^d``.

        *The seed form* (1-d). With ``u = x + b_j``, ``H`` the Heaviside step, the kernel is
        ``m^-1 sum_j [ReLU(W u) ReLU(W u') + a_j^2 H H' (u u' + W_j^2)]``. Averaging the breakpoints ``-b_j`` with a
        constant density ``rho`` over the data, each term is a polynomial in ``x, x'`` (smooth: low frequencies)
        plus a non-smooth part that depends on ``x - x'`` only: ``int u_+ u'_+ = |x - x'|^3 / 12 + poly``,
        ``int H H' u u' = |x - x'|^3 / 12 + poly``, ``int H H' = -|x - x'| / 2 + poly``. Hence
        ``Theta = A4 |z|^3 / 12 - A2 |z| / 2 + poly`` with ``A4 = rho <W^2 + a^2>``, ``A2 = rho <a^2 W^2>``, and
        from ``F|z|^3 = 3 / (4 pi^4 xi^4)``, ``F|z| = -1 / (2 pi^2 xi^2)``:
        ``Theta^(xi) = A4 / (16 pi^4 xi^4) + A2 / (4 pi^2 xi^2)``, so ``a = A2 P / (4 pi^2)``,
        ``b = A4 P^3 / (16 pi^4)``. For biases uniform on ``[-B, B]`` (``rho = 1/(2B)``) this is
        ``LFP.from_moments(<a^2 W^2>, <W^2>, <a^2>, period=P)`` times ``1 / (32 B pi^4 P)``.

        *The standard form* (any d). With ``W_j = r_j omega_j`` (``|omega_j| = 1``) the breakpoint is the hyperplane
        ``omega_j . x = s_j``, ``s_j = -b_j / r_j``, and the kernel is ``m^-1 sum_j [r_j^2 ReLU(omega.x - s)
        ReLU(omega.x' - s) + a_j^2 H H' (x . x' + 1)]``. With ``rho`` the density of the offsets ``s_j`` over the data
        and the same integrals along ``omega``: ``r^2 |omega.z|^3 / 12`` (kept), ``-a^2 |omega.z| / 2`` from the bias
        gradient (kept), and ``-a^2 |omega.z| x.x' / 2`` from the input-weight gradient. The last is not a function
        of ``z = x - x'`` alone; its symbol at the data centre ``c`` (midpoint form, ``x.x' = |xm|^2 - |z|^2 / 4``
        with ``xm = (x + x') / 2``) keeps ``-a^2 |c|^2 |omega.z| / 2`` and ``a^2 |omega.z| |z|^2 / 8`` and drops
        ``-a^2 (|xm|^2 - |c|^2) |omega.z| / 2``: a multiplication, not a Fourier multiplier, of relative size
        ``|xm|^2 - |c|^2 <= 2 |c| R + R^2`` (data radius ``R``) against the kept ``a^2`` term. The multiplier is
        accurate when that is small or the ``b`` term dominates at the data's frequencies (the ``a``-dominated
        regime of the standard form interpolates with ``(1 + x.x_i) |x - x_i|``, not piecewise linearly). For
        directions ``omega`` uniform on the sphere, ``E|omega.z| = e1 |z|``, ``E|omega.z|^3 = e3 |z|^3`` with
        ``e1 / e3 = (d + 1) / 2``, and a ridge function ``g(omega.z)`` averaged over ``omega`` has the transform
        ``2 g^(|xi|) / (|S^(d-1)| |xi|^(d-1))``. So ``Theta^(xi) = c_d [A4 / (16 pi^4 |xi|^(d+3))
        + A2 / (4 pi^2 |xi|^(d+1))]``, ``c_d = 2 / |S^(d-1)|`` (1, 1/pi, 1/(2 pi) for d = 1, 2, 3),
        ``A4 = <rho (r^2 + 3 (d+1)/4 a^2)>``, ``A2 = <rho a^2> (1 + |c|^2)``: ``a = c_d A2 P / (4 pi^2)``,
        ``b = c_d A4 P^3 / (16 pi^4)``. Luo et al. (arXiv 2010.08153) keep ``r^3`` and ``a^2 r`` (``rho = r / (2B)``
        for biases uniform on ``[-B, B]``); the ``a^2`` share of ``A4`` matters only when ``a`` is comparable to
        ``r``.

        *The whole space* (``period=None``). On ``R^d`` the flow is ``d/dt h^(xi) = -gamma(xi)^2 (h - y)_p^(xi)``
        with ``u_p^(xi) = (1/N) sum_i u(x_i) e^{-2 pi i xi.x_i}`` and ``xi`` real (cycles per unit length), i.e.
        ``dh/dt = -(1/N) sum_i phi(x - x_i) (h(x_i) - y_i)`` with ``phi`` the inverse transform of ``gamma^2``. It is
        the network's flow when ``phi = Theta`` up to the polynomials the weight leaves free, so ``gamma(xi)^2 =
        Theta^(xi)`` itself, with no ``P^-d`` from the Fourier-series normalisation and no ``P``-power from
        ``xi = k / P``: ``a = c_d A2 / (4 pi^2)``, ``b = c_d A4 / (16 pi^4)`` -- the torus constants at ``P = 1``.
        The torus weight of period ``P`` is ``P^-d gamma(k / P)^2`` of this one (``a P``, ``b P^3``), exactly, for
        every ``P``; its interpolant and flow tend to the whole-space ones as ``P -> inf`` (the affine part, free
        here because ``b > 0``, costs ``O(1/P)`` on the torus). The whole-space flow moves the free affine part
        infinitely fast, while the network moves it through the dropped polynomial parts of ``Theta``: fast, not
        infinitely; at early times the whole-space flow is therefore ahead of the network.

        *Estimating* ``<rho A>``: the breakpoints ``s_j`` within the data ball ``|s_j - omega_j.c| <= R`` are
        counted with their weights ``A_j``, ``<rho A> = sum A_j / (2 R m)``; for the seed form ``s_j = -b_j``. This
        is the density the network sees at the data, sampling noise included. The polynomial parts dropped above
        make the network's lowest frequencies (constant, linear, cubic over the data) faster than the flow's; the
        free ``k = 0`` mode covers the constant only.

        Examples
        --------
        >>> import numpy as np
        >>> from fpnorm import LFP
        >>> m = 4000
        >>> W, a = np.ones(m), np.full(m, 0.5)
        >>> b = -4.0 + (np.arange(m) + 0.5) * 8.0 / m                  # biases evenly on [-4, 4]: rho = 1/8
        >>> w = LFP.from_network(W, b, a, period=32.0, points=np.linspace(-1, 1, 10))
        >>> ref = LFP.from_moments(r2w2=0.25, r2=1.0, w2=0.25, period=32.0)
        >>> clock = 32 * 4.0 * np.pi**4 * 32.0                        # 32 B pi^4 P
        >>> bool(np.isclose(w.a, ref.a / clock) and np.isclose(w.b, ref.b / clock))
        True
        >>> ws = LFP.from_network(W, b, a, period=None, points=np.linspace(-1, 1, 10))    # on R: a / P, b / P^3
        >>> bool(np.isclose(ws.a, w.a / 32.0) and np.isclose(ws.b, w.b / 32.0**3))
        True
        """
        P = None if period is None else check_real(period, "period", minimum=0.0, strict_min=True)
        if form not in NETWORK_FORMS:
            raise ValueError(f"Expected `form` to be one of {NETWORK_FORMS}, got {form!r}.")
        W, b, a = _network_arrays(W, b, a)
        m, d = W.shape
        if form == "seed" and d != 1:
            raise ValueError(f"Expected `W` of shape (m,) or (m, 1) for form='seed' (1-d only), got shape {W.shape}.")
        r = np.sqrt(np.sum(W**2, axis=1))
        if form == "seed":
            omega, s = np.ones((m, 1)), -b
            A4, A2 = W[:, 0] ** 2 + a**2, a**2 * W[:, 0] ** 2
        else:
            if np.any(r == 0):
                raise ValueError(f"Expected every row of `W` nonzero for form='standard' (a ReLU with W_j = 0 has no "
                                 f"breakpoint), got {int(np.sum(r == 0))} zero rows.")
            omega, s = W / r[:, None], -b / r
            centre2 = 0.0 if points is None else float(np.sum(_data_ball(points, d)[0] ** 2))
            A4, A2 = r**2 + 0.75 * (d + 1) * a**2, a**2 * (1.0 + centre2)
        rel = _breakpoint_offsets(omega, s, points, d, P)
        R = float(np.median(np.abs(rel))) if points is None else _data_radius(points, d)
        inside = np.abs(rel) <= R
        if not np.any(inside) or R == 0:
            raise ValueError(f"Expected ReLU breakpoints within the data ball (radius {R:.3g}) to estimate their "
                             f"density, got none of {m}.")
        c_d = 2.0 / (2.0 * math.pi ** (d / 2) / math.gamma(d / 2))
        rho_a4 = float(np.sum(A4[inside])) / (2.0 * R * m)
        rho_a2 = float(np.sum(A2[inside])) / (2.0 * R * m)
        L = 1.0 if P is None else P              # gamma(xi)^2 = Theta^(xi) on R^d; P^-d Theta^(k / P) on the torus
        return cls(c_d * rho_a2 * L / (4.0 * math.pi**2), c_d * rho_a4 * L**3 / (16.0 * math.pi**4), dim=d,
                   zero=zero)

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
            # a strict grammar: float() would take "0_5" or "١" from a command line or a file; nan and inf reach the
            # weight, which names the parameter it refuses
            values[name] = (None if text.lower() == "none" else parse_int(text, name) if name == "dim"
                            else parse_number(text, name, nonfinite=True))
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
