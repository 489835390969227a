"""The LFP flow on the whole space ``R^d`` (``LFPFlow(..., period=None)``), solved exactly.

The flow ``d/dt h^(xi, t) = -gamma(xi)^2 (h_p^(xi, t) - f_p^(xi))`` at real frequencies ``xi``, with ``u_p^(xi) =
(1/N) sum_i u(x_i) e^{-2 pi i xi.x_i}``, keeps ``h(t) - h_ini = sum_j alpha_j(t) phi(|x - x_j|) + q_t(x)`` with the
whole-space kernel ``phi`` and a free polynomial ``q_t`` (:mod:`fpnorm.whole_space`): ``d alpha/dt = -(h(t, x) - r)
/ N``. The free polynomials move infinitely fast (the limit ``gamma -> inf`` at ``xi = 0``, as for the torus's free
modes in :class:`~fpnorm.LFPFlow`), which keeps ``alpha`` in the moment conditions; with
``Q2^T A Q2 = V diag(lam) V^T`` the residual's components decay like ``e^{-t lam_j / N}``, and ``t = inf`` is the
minimum-norm interpolant of :class:`~fpnorm.FPInterpolator` with ``period=None``
(:class:`~fpnorm.whole_space.FlowBasis`).
"""

import numpy as np

from ._internal import checks
from .solvers.flow import norms_from_squares
from .solvers.problem import evaluate_h_ini, join_complex, right_hand_sides
from .weights import check_weight
from .whole_space import check_whole_space_weight, flow_basis

__all__ = ["WholeSpaceFlow"]

# Query points per chunk of an evaluation.
_EVAL_CHUNK = 1 << 14



class WholeSpaceFlow:
    """The exact LFP flow on ``R^d``; what ``LFPFlow(points, values, weight=..., period=None)`` returns.

    Parameters
    ----------
    points : array_like, shape (N, d), or (N,) when d = 1
        Distinct sample points, as given (not wrapped); each has mass ``1/N``.
    values : array_like, shape (N,) or (N, m)
    weight : Weight
        PowerLaw (``p > d``), LFP or Sobolev (``s > d/2``), with ``zero=None``
        (:func:`fpnorm.whole_space.check_whole_space_weight`).
    K : None
        The whole space has no Fourier box.
    h_ini : callable, optional
        Initial function on ``R^d``.

    Attributes
    ----------
    rates : ndarray
        Decay rates ``lam_j / N``, descending.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import LFP, LFPFlow, FPInterpolator
    >>> x = np.array([0.0, 0.3, 0.5, 0.9, 1.4]); y = np.sin(3 * x)
    >>> flow = LFPFlow(x, y, weight=LFP(a=1.0, b=1.0), K=None, period=None)
    >>> s = FPInterpolator(x, y, weight=LFP(a=1.0, b=1.0), K=None, period=None)
    >>> q = np.linspace(-1, 2, 7)
    >>> bool(np.allclose(flow(np.inf, q), s(q), atol=1e-9)), bool(np.allclose(flow(0.0, q), 0.0))
    (True, True)
    """

    def __init__(self, points, values, *, weight, K=None, h_ini=None, method="auto"):
        self.weight = check_whole_space_weight(check_weight(weight))
        self.dim = d = weight.dim
        self.period = None
        if K is not None or method != "auto":
            raise ValueError(f"Expected K=None and method='auto' with period=None (the whole space has no Fourier "
                             f"box), got K={K!r}, method={method!r}.")
        self.K = None
        if h_ini is not None and not callable(h_ini):
            raise TypeError(f"Expected `h_ini` to be None or a callable on R^d with period=None, got "
                            f"{type(h_ini).__name__}: Fourier coefficients describe a periodic function.")
        x = checks.as_points(points, d, None)
        y = checks.as_values(values, x.shape[0])
        self.points, self.values = x, y
        self._h_ini = h_ini
        rhs, self._complex = right_hand_sides(y, evaluate_h_ini(h_ini, True, x, None))
        _, counts = np.unique(x, axis=0, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(f"Expected distinct `points` for the whole-space flow, got {int(np.sum(counts > 1))} "
                             f"repeated point(s): merge them (unequal sample masses are not implemented on R^d).")
        self._N = x.shape[0]
        self._basis = flow_basis(self.weight, x)
        self._rhs = rhs

    @property
    def rates(self):
        """Decay rates ``lam_j / N`` of the residual's eigen-components, descending, shape (r,)."""
        lam = self._basis.lam
        return lam[lam > 0] / self._N

    @property
    def _m(self):
        return 1 if self.values.ndim == 1 else self.values.shape[1]

    def _finish(self, arr, scalar):
        """(Q, T * m') -> (T, Q, m) with the axes the input did not have dropped."""
        T = arr.shape[-1] // self._m
        arr = np.moveaxis(arr.reshape(arr.shape[0], T, self._m), 1, 0)
        if self.values.ndim == 1:
            arr = arr[..., 0]
        return arr[0] if scalar else arr

    def __call__(self, t, query):
        """Values of ``h(t)`` at query points: shape (Q,) or (Q, m), with a leading (T,) axis for array `t`."""
        ts, scalar = checks.as_times(t)
        q = checks.as_query(query, self.dim, None)
        alpha, c = self._basis.coefficients(ts, self._rhs)
        sol = self._basis.solution
        sol.alpha, sol.poly = alpha, c
        out = np.empty((q.shape[0], alpha.shape[1]))
        for start in range(0, q.shape[0], _EVAL_CHUNK):
            sl = slice(start, min(q.shape[0], start + _EVAL_CHUNK))
            out[sl] = sol(q[sl])
        width = self._rhs.shape[1]
        out = np.concatenate([join_complex(out[:, i * width:(i + 1) * width], self._complex)
                              for i in range(ts.size)], axis=1) if ts.size else out[:, :0]
        h0 = evaluate_h_ini(self._h_ini, True, q, None) if q.shape[0] else None
        if h0 is not None:
            out = out + h0[:, None]
        return self._finish(out, scalar)

    def residual(self, t):
        """``h(t, x_i) - y_i`` at the samples: shape (N,) or (N, m), with a leading (T,) axis for array `t`."""
        return self(t, self.points) - self.values

    def loss(self, t):
        """The empirical loss ``(1/2N) sum_i |h(t, x_i) - y_i|^2`` that the flow descends."""
        res = np.abs(self.residual(t)) ** 2
        _, scalar = checks.as_times(t)
        val = 0.5 * np.mean(res, axis=0 if scalar else 1)
        return float(val) if np.ndim(val) == 0 else val

    def norm(self, t):
        """``||h(t) - h_ini||`` on ``R^d`` (``alpha^T A alpha``; the free polynomials cost nothing)."""
        ts, scalar = checks.as_times(t)
        alpha, _ = self._basis.coefficients(ts, self._rhs)
        n2 = np.maximum(np.einsum("im,im->m", alpha, self._basis.A @ alpha), 0.0).reshape(ts.size, -1)
        return norms_from_squares(n2, complex_data=self._complex, single=self.values.ndim == 1, scalar=scalar)

    def __repr__(self):
        return f"WholeSpaceFlow(N={self._N}, weight={self.weight!r}, period=None)"
