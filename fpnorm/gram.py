"""The kernel matrix of a fitted interpolant and its free modes, for the a-posteriori analyses of
:mod:`fpnorm.posterior` (the power function, leave-one-out).

An interpolant ``h`` of data at ``x_1..x_N`` minimises ``||h - h_ini||_gamma`` over a space whose penalised part has
the reproducing kernel ``kappa(z) = sum_{k penalised} gamma(k)^2 e^{2 pi i k.z/P}`` and whose free part is spanned
by the real basis functions ``p_b`` (``1``, ``cos(2 pi k.x/P)``, ``sin(2 pi k.x/P)``) of the modes with
``gamma(k) = inf``. Everything the a-posteriori analyses need is

- ``G_ij = kappa(x_i - x_j)`` and ``F_ib = p_b(x_i)``, the bordered matrix ``B = [[G, F], [F^T, 0]]``;
- ``kappa(x - x_j)`` and ``p_b(x)`` at query points;
- ``kappa(0)``, the kernel with ``gamma^4`` (``G2_ij = sum_k gamma(k)^4 e^{2 pi i k.(x_i - x_j)/P}``, the torus mean
  of ``kappa(x - x_i) kappa(x - x_j)``) and the torus means of ``p_b^2``.

:class:`KernelSystem` gives these for an integer ``K`` in any dimension (box sums through
:func:`fpnorm.transforms.kernel_matrix`) and for ``K = None`` wherever a closed-form kernel exists
(:func:`fpnorm.kernels.closed_form_kernel`, 1-d) or an Ewald-split torus kernel
(:class:`fpnorm.lattice_kernels.TorusKernel`, d = 1, 2, 3). A new ``K = None`` kernel plugs in at
:func:`_limit_kernels`: the rest of the analysis only sees the kernels it returns and their error bounds
(:attr:`KernelSystem.kernel_error`, :attr:`KernelSystem.kernel4_error`).
"""

import math

import numpy as np

from . import transforms
from ._internal.memory import check_memory
from .kernels import (
    SOBOLEV_CLOSED_FORM,
    bernoulli_kernel,
    closed_form_kernel,
    has_closed_form,
    sobolev_kernel,
    spline_parts,
)
from .lattice import box_points
from .lattice_kernels import TorusKernel, has_torus_kernel
from .weights import LFP, PowerLaw, Sobolev

__all__ = ["KernelSystem"]


class KernelSystem:
    """The penalised kernel and the free basis of an interpolation problem at its points.

    Parameters
    ----------
    weight : Weight
    K : int or None
        Box half-width, or None for the exact kernel (a weight with a 1-d closed form, see
        :func:`fpnorm.kernels.has_closed_form`, or an Ewald-split torus kernel in d = 1, 2, 3, see
        :func:`fpnorm.lattice_kernels.has_torus_kernel`).
    points : ndarray, shape (N, d)
        Distinct points, wrapped into ``[0, period)``.
    period : float

    Attributes
    ----------
    G : ndarray, shape (N, N)
        The penalised kernel at the points' differences.
    F : ndarray, shape (N, n_f)
        The free real basis functions at the points (``n_f = 0`` when every mode is penalised).
    kappa0 : float
        ``kappa(0) = sum_{k penalised} gamma(k)^2``.
    free_means : ndarray, shape (n_f,)
        Torus means of ``p_b^2``: 1 for the constant, 1/2 for a cosine or sine.
    kernel_error : float
        A bound on the absolute error of every computed kernel value ``kappa(z)`` (:attr:`TorusKernel.error
        <fpnorm.lattice_kernels.TorusKernel.error>` for a torus kernel; 0 for box sums and closed forms, whose
        accuracy the callers take as a relative rounding of ``kappa(0)``).
    kernel4_error : float
        The same for the kernel of ``gamma^4`` (:meth:`second_moment`).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import PowerLaw
    >>> from fpnorm.gram import KernelSystem
    >>> ks = KernelSystem(PowerLaw(p=2), None, np.array([[0.0], [0.5]]), 1.0)
    >>> ks.G.round(6).tolist(), ks.F.ravel().tolist()    # kappa = B_2 / 2: 1/12 at 0, -1/24 at 1/2
    ([[0.083333, -0.041667], [-0.041667, 0.083333]], [1.0, 1.0])

    In 2-d, ``kappa(0) = sum_{k != 0} (2 pi |k|)^-4 = 4 zeta(2) beta(2) / (2 pi)^4`` (``beta(2)`` Catalan's constant):

    >>> ks = KernelSystem(PowerLaw(p=4, dim=2), None, np.zeros((1, 2)), 1.0)
    >>> exact = 4 * (np.pi**2 / 6) * 0.915965594177219015 / (2 * np.pi) ** 4
    >>> bool(abs(ks.kappa0 - exact) <= ks.kernel_error + 1e-18), ks.n_free
    (True, 1)
    """

    def __init__(self, weight, K, points, period):
        self.weight, self.K, self.period = weight, K, period
        self.points = np.asarray(points, dtype=float)
        self.N, self.dim = self.points.shape
        check_memory(8 * 4 * (self.N + 2) ** 2, f"the {self.N} x {self.N} kernel matrices")
        self.kernel_error = self.kernel4_error = 0.0
        self._torus = self._features = None
        if K is None:
            if has_closed_form(weight):
                self._kappa, self._kappa4, self.kappa0, self._free_k = _limit_kernels(weight)
            else:
                if not has_torus_kernel(weight):
                    TorusKernel(weight)   # raises the ValueError naming what K=None supports
                self._torus = TorusKernel(weight)
                self._kappa4, self.kernel4_error = _gamma4_kernel(weight)
                self.kappa0 = self._torus.value0
                self.kernel_error = self._torus.error
                self._free_k = np.zeros((1 if self._torus.free_constant else 0, self.dim))
        else:
            g = weight.box(K)
            free = np.isinf(g)
            self._g = np.where(free, 0.0, g)
            self.kappa0 = float(np.sum(self._g))
            pts = box_points(K, self.dim)
            # one representative of each +-k pair of free modes: the first nonzero coordinate positive
            half = [k for k in pts[free.reshape(-1)] if not np.any(k) or k[np.flatnonzero(k)[0]] > 0]
            self._free_k = np.array(half, dtype=float).reshape(-1, self.dim)
        self.G = self._kernel_matrix()
        self.F = self.free_at(self.points)
        self.free_means = np.concatenate([[1.0 if not np.any(k) else 0.5] * (1 if not np.any(k) else 2)
                                          for k in self._free_k]) if len(self._free_k) else np.zeros(0)

    @classmethod
    def from_interpolant(cls, s):
        """The system of a fitted :class:`~fpnorm.FPInterpolator` (its merged, wrapped points)."""
        return cls(s.weight, s.K, s.points, s.period)

    @property
    def n_free(self):
        return self.F.shape[1]

    def _angles(self, x):
        return 2.0 * math.pi * np.asarray(x, dtype=float) / self.period

    def _kernel_matrix(self):
        if self._torus is not None:
            return self._torus.matrix(self.points / self.period)
        if self.K is None:
            z = self.points[:, 0] / self.period
            return self._kappa(z[:, None] - z[None, :])
        if not np.any(self._g):
            return np.zeros((self.N, self.N))
        return transforms.kernel_matrix(self._angles(self.points), self._g)

    def cross(self, query):
        """``kappa(x_j - q)`` for query points `q` of shape (Q, d): shape (N, Q)."""
        q = np.asarray(query, dtype=float).reshape(-1, self.dim)
        if self._torus is not None:
            if self._features is None:   # the points' cos/sin features, shared by every block of queries
                self._features = self._torus.features(self.points / self.period)
            return self._torus.matrix(self.points / self.period, q / self.period, features=self._features)
        if self.K is None:
            z = self.points[:, 0] / self.period
            return self._kappa(z[:, None] - q[None, :, 0] / self.period)
        diff = (self.points[:, None, :] - q[None, :, :]).reshape(-1, self.dim)
        return transforms.kernel_values(self._g, self._angles(diff)).reshape(self.N, q.shape[0])

    def free_at(self, query):
        """The free basis functions at `query` (shape (Q, d)): shape (Q, n_f)."""
        q = np.asarray(query, dtype=float).reshape(-1, self.dim)
        cols = []
        for k in self._free_k:
            if not np.any(k):
                cols.append(np.ones(q.shape[0]))
            else:
                phase = self._angles(q) @ k
                cols += [np.cos(phase), np.sin(phase)]
        return np.stack(cols, axis=1) if cols else np.zeros((q.shape[0], 0))

    def second_moment(self):
        """``G2_ij = sum_{k penalised} gamma(k)^4 e^{2 pi i k.(x_i - x_j)/P}`` (shape (N, N)), the torus mean of
        ``kappa(x - x_i) kappa(x - x_j)``; None when ``K = None`` and ``gamma^4`` has no closed-form kernel here.
        For a torus kernel each entry is within :attr:`kernel4_error` of the exact value."""
        if self._torus is not None:
            z = self.points / self.period
            return sum(c * kern.matrix(z) for c, kern in self._kappa4[0]) + self._kappa4[1]
        if self.K is None:
            if self._kappa4 is None:
                return None
            z = self.points[:, 0] / self.period
            return self._kappa4(z[:, None] - z[None, :])
        if not np.any(self._g):
            return np.zeros((self.N, self.N))
        return transforms.kernel_matrix(self._angles(self.points), self._g**2)

    def cell_modulus(self, half, rtol):
        """An upper bound on ``kappa(0) - kappa(z)`` over ``|z|_inf <= half`` (kernel values accurate to ``rtol
        kappa(0)``): ``sum_k gamma^2 min(2, (2 pi |k|_1 half / P)^2 / 2)`` on a box (``1 - cos t <= min(2, t^2/2)``
        and ``|k.z| <= |k|_1 |z|_inf``); for ``K = None`` the closed form at ``half``, since ``kappa(0) - kappa(z) =
        sum 2 gamma^2 (1 - cos 2 pi k z / P)`` increases on ``[0, P/2]`` for the 1-d closed forms (sums of Bernoulli
        and Sobolev kernels, each increasing there).

        For a torus kernel (``|z|_2 <= delta = sqrt(d) half / P`` in periods): ``kappa(0) - kappa(z) = sum_k gamma^2
        (1 - cos 2 pi k.z) <= sum_k gamma^2 min(2, 2 pi^2 |k|_2^2 delta^2)``, summed exactly over the ball
        ``|k|_2 <= k_c`` and bounded beyond it by ``2 sum_{|k| > k_c} gamma^2 = 2 (kappa(0) - sum_{|k| <= k_c}
        gamma^2)``, with ``kappa(0)`` taken at its upper end (value plus :attr:`kernel_error`). ``k_c = 1 / (pi
        delta)`` (where the minimum turns to 2), capped so that the ball holds at most ``2^21`` points."""
        if self._torus is not None:
            return self._torus_modulus(half)
        if self.K is None:
            z = np.array([half / self.period])
            return max(float(self.kappa0 - self._kappa(z)[0]), 0.0) + 4 * rtol * self.kappa0
        k1 = np.sum(np.abs(box_points(self.K, self.dim)), axis=1)
        theta = 2 * math.pi * k1 * half / self.period
        return float(np.sum(self._g.reshape(-1) * np.minimum(2.0, 0.5 * theta**2))) * (1 + 1e-12)

    def _torus_modulus(self, half):
        d = self.dim
        delta = math.sqrt(d) * half / self.period
        kc = min(1.0 / (math.pi * delta), 0.5 * (2.0**21) ** (1.0 / d))
        m = int(math.floor(kc))
        k = box_points(m, d).astype(float) if m > 0 else np.zeros((1, d))
        r2 = np.sum(k**2, axis=1)
        keep = (r2 > 0) & (r2 <= kc**2)
        g = self.weight.gamma2(k[keep].astype(np.int64))
        g0 = self.weight.gamma2(np.zeros((1, d), dtype=np.int64))[0]
        inside = float(np.sum(g)) + (float(g0) if math.isfinite(g0) else 0.0)
        near = float(np.sum(g * np.minimum(2.0, 2 * math.pi**2 * r2[keep] * delta**2)))
        # the sums' rounding: n terms of one sign, each within a few units
        rounding = 4 * (g.size + 2) * np.finfo(float).eps * (inside + self.kappa0)
        tail = 2.0 * max(self.kappa0 + self.kernel_error - inside + rounding, 0.0)
        return near * (1 + 4 * g.size * np.finfo(float).eps) + tail + 2 * self.kernel_error

    def bordered(self):
        """``B = [[G, F], [F^T, 0]]``, shape (N + n_f, N + n_f)."""
        n = self.N + self.n_free
        B = np.zeros((n, n))
        B[: self.N, : self.N] = self.G
        B[: self.N, self.N:] = self.F
        B[self.N:, : self.N] = self.F.T
        return B


def _gamma4_kernel(weight):
    """The kernel of ``gamma^4`` over the penalised modes of a torus-kernel weight, as ``([(c, TorusKernel)],
    constant)`` with ``sum_k gamma(k)^4 e^{2 pi i k.z} = sum c kernel(z) + constant``, and a bound on its error.

    PowerLaw(p): ``gamma^4 = (2 pi |k|)^-2p``, PowerLaw(2p) (``zero^2`` at ``k = 0`` when finite). LFP:
    ``gamma^4 = a^2 |k|^-(2d+2) + 2ab |k|^-(2d+4) + b^2 |k|^-(2d+6)`` with ``|k|^-q = (2 pi)^q (2 pi |k|)^-q``, power
    laws with the constant mode left out, plus ``zero^2``. Sobolev(s): ``(1 + |2 pi k|^2)^-2s`` is Sobolev(2s), the
    constant mode included."""
    d = weight.dim
    if isinstance(weight, Sobolev):
        parts, const = [(1.0, TorusKernel(Sobolev(2 * weight.s, dim=d)))], 0.0
    else:
        const = 0.0 if weight.zero is None else float(weight.zero) ** 2
        if isinstance(weight, PowerLaw):
            parts = [(1.0, TorusKernel(PowerLaw(2 * weight.p, dim=d)))]
        else:
            assert isinstance(weight, LFP)
            parts = [(c * (2 * math.pi) ** q, TorusKernel(PowerLaw(q, dim=d)))
                     for c, q in ((weight.a**2, 2 * d + 2), (2 * weight.a * weight.b, 2 * d + 4),
                                  (weight.b**2, 2 * d + 6)) if c > 0]
    error = sum(c * kern.error for c, kern in parts) * (1 + 8 * np.finfo(float).eps) \
        + 4 * np.finfo(float).eps * (sum(c * kern.value0 for c, kern in parts) + const)
    return (parts, const), error


def _limit_kernels(weight):
    """``(kappa, kappa4, kappa(0), free modes)`` of a weight with a closed-form ``K = infinity`` kernel in 1-d:
    the penalised kernel, the kernel of ``gamma^4`` (None when it has no closed form here), ``kappa(0)`` and the
    free modes (``k = 0`` when ``zero`` is None)."""
    kappa = closed_form_kernel(weight)   # k = 0 is in it exactly when it is penalised
    kappa4 = None
    zero = getattr(weight, "zero", None)
    z0 = 0.0 if zero is None else zero
    if isinstance(weight, Sobolev):
        if 2 * weight.s in SOBOLEV_CLOSED_FORM:
            s2 = int(2 * weight.s)

            def kappa4(z):
                return sobolev_kernel(z, s2)
    elif isinstance(weight, PowerLaw):
        p2 = int(2 * weight.p)

        def kappa4(z):
            return bernoulli_kernel(z, p2) + z0**2
    else:   # LFP: gamma^2 = a2 (2 pi k)^-2 + a4 (2 pi k)^-4, squared term by term
        a2, a4 = spline_parts(weight)

        def kappa4(z):
            out = np.full(np.shape(z), z0**2)
            for c, p in ((a2 * a2, 4), (2 * a2 * a4, 6), (a4 * a4, 8)):
                if c:
                    out = out + c * bernoulli_kernel(z, p)
            return out
    free = np.zeros((1, 1)) if (zero is None and not isinstance(weight, Sobolev)) else np.zeros((0, 1))
    return kappa, kappa4, float(kappa(np.zeros(1))[0]), free
