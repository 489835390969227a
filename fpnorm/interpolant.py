"""FPInterpolator: the minimum FP-norm interpolant on the torus. Validates, picks a solver, holds the result,
evaluates."""

import numpy as np

from . import transforms
from ._memory import check_memory
from ._validation import (as_points, as_query, as_values, check_choice, check_int, check_period, check_real,
                          check_weight, evaluate_function, merge_duplicates)
from .lattice import box_size
from .solvers import METHODS, Problem, solve

__all__ = ["FPInterpolator"]

# Query points evaluated per chunk: bounds memory of evaluation at ``_EVAL_CHUNK * m`` complex numbers.
_EVAL_CHUNK = 1 << 18


class FPInterpolator:
    """Minimum FP-norm interpolant on the torus ``[0, P)^d``.

    Solves, on the box ``|k|_inf <= K``::

        minimise  ||h - h_ini||_gamma^2 = sum_k gamma(k)^-2 |(h - h_ini)^(k)|^2   subject to  h(x_i) = y_i.

    Parameters
    ----------
    points : array_like, shape (N, d), or (N,) when d = 1
        Interpolation nodes; wrapped into ``[0, period)^d``. Coincident points with equal values are merged.
    values : array_like, shape (N,) or (N, m)
        Data ``y_i``; ``m`` right-hand sides share one factorisation. Real or complex.
    weight : Weight
        The frequency weight ``gamma(k)^2``; its ``dim`` fixes ``d``.
    K : int
        Truncation ``|k|_inf <= K``. Needs ``(2K+1)^d`` modes at least as many as distinct points.
    h_ini : callable or array_like, optional
        Initial function: a callable on the torus (``(Q, d)`` -> ``(Q,)``) or a complex coefficient array of shape
        ``(2K'+1,)*d`` (any ``K'``). The result is ``h_ini`` plus the minimum-norm correction.
    period : float
        Period ``P`` of the torus (default 1).
    method : str
        One of :data:`fpnorm.solvers.METHODS`; "auto" (default) chooses from a cost estimate and escalates to the
        stable QR path when a faster one loses accuracy.
    rtol : float
        Target relative residual ``max|h(x_i) - y_i| / max|y_i|`` (default 1e-10); a worse result warns
        (:class:`~fpnorm.exceptions.AccuracyWarning`), an unusable one raises :class:`~fpnorm.exceptions.SolveError`.

    Attributes
    ----------
    coef : ndarray of complex, shape ``(2K+1,)*d`` or ``(2K+1,)*d + (m,)``
        Fourier coefficients of ``h - h_ini``.
    norm : float or ndarray of shape (m,)
        ``||h - h_ini||_gamma`` (free modes cost nothing).
    info : SolveInfo
        Method used, measured residual, condition estimate, iterations, attempts, seconds.
    points, values : ndarray
        The (wrapped, merged) data actually interpolated.

    Notes
    -----
    The problem is well posed when the ``(2K+1)^d`` box modes restricted to the points have full row rank and the
    free modes (``gamma = inf``) are linearly independent at the points; the solution is then unique. It is
    ``c = Gamma Phi^H alpha`` plus a free part, with ``G alpha = y`` for the kernel matrix
    ``G_ij = sum_k gamma(k)^2 e^{2 pi i k.(x_i - x_j)/P}`` (see ``DESIGN.md``).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> x = np.array([0.1, 0.3, 0.55, 0.8])
    >>> s = FPInterpolator(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=4, dim=1), K=64)
    >>> bool(np.allclose(s(x), np.sin(2 * np.pi * x)))
    True
    """

    def __init__(self, points, values, *, weight, K, h_ini=None, period=1.0, method="auto", rtol=1e-10):
        self.weight = check_weight(weight)
        self.dim = d = weight.dim
        self.period = check_period(period)
        self.K = check_int(K, "K", minimum=0)
        check_choice(method, "method", METHODS)
        self.rtol = check_real(rtol, "rtol", minimum=0.0, strict_min=True)
        x = as_points(points, d, self.period)
        y = as_values(values, x.shape[0])
        x, y, self.kept = merge_duplicates(x, y)
        self.points, self.values = x, y
        N, M = x.shape[0], box_size(self.K, d)
        if N > M:
            need = int(np.ceil((N ** (1.0 / d) - 1) / 2))
            raise ValueError(f"Expected at most (2K+1)^d = {M} distinct points for K = {self.K} in d = {d}, got {N}: "
                             f"with more points than modes no exact interpolant exists. Use K >= {need}.")
        g = self.weight.box(self.K)
        self._h_ini = self._check_h_ini(h_ini)
        t = (2 * np.pi / self.period) * x
        hx = self._eval_h_ini(x)
        rhs = (y if y.ndim == 2 else y[:, None]) - (hx[:, None] if hx is not None else 0.0)
        self._complex = np.iscomplexobj(rhs)
        if self._complex:
            rhs = np.concatenate([rhs.real, rhs.imag], axis=1)
        check_memory(8 * N * rhs.shape[1] * 4 + 16 * M * rhs.shape[1], "the right-hand sides and coefficients")
        problem = Problem(t, np.ascontiguousarray(rhs, dtype=float), self.K, g, eps=transforms.eps_for_rtol(self.rtol))
        sol = solve(problem, method=method, rtol=self.rtol)
        coef = sol.coef
        if self._complex:
            m = coef.shape[-1] // 2
            coef = coef[..., :m] + 1j * coef[..., m:]
        self.coef = coef if y.ndim == 2 else coef[..., 0]
        self.info = sol.info
        self._g = g

    # -- h_ini ----------------------------------------------------------------------------------------------------
    def _check_h_ini(self, h_ini):
        if h_ini is None or callable(h_ini):
            return h_ini
        arr = np.asarray(h_ini)
        if arr.dtype == object or arr.dtype.kind not in "biufc":
            raise TypeError(f"Expected `h_ini` to be None, a callable or a coefficient array, got dtype {arr.dtype}.")
        n = arr.shape[0] if arr.ndim else 0
        if arr.ndim != self.dim or n % 2 == 0 or any(s != n for s in arr.shape):
            raise ValueError(f"Expected `h_ini` coefficients of shape (2K'+1,)*{self.dim} (odd, equal sides), "
                             f"got shape {arr.shape}.")
        if not np.isfinite(arr).all():
            raise ValueError("Expected `h_ini` coefficients to be finite; got NaN or inf.")
        arr = arr.astype(complex)
        mirror = np.conj(arr[(slice(None, None, -1),) * self.dim])
        self._h_ini_real = bool(np.allclose(arr, mirror, rtol=0.0, atol=1e-14 * max(np.abs(arr).max(), 1e-300)))
        return arr

    def _eval_h_ini(self, x):
        if self._h_ini is None:
            return None
        if callable(self._h_ini):
            return evaluate_function(self._h_ini, x, "h_ini", x.shape[0], self.dim)
        vals = transforms.evaluate(self._h_ini, (2 * np.pi / self.period) * x)
        return vals.real if self._h_ini_real else vals

    # -- results --------------------------------------------------------------------------------------------------
    @property
    def norm(self):
        """``||h - h_ini||_gamma``: a float, or an array of shape (m,) for several right-hand sides."""
        g = self._g
        w = np.where(np.isinf(g), 0.0, 1.0 / np.where(np.isinf(g), 1.0, g))
        c2 = np.abs(self.coef) ** 2
        axes = tuple(range(self.dim))
        w = w.reshape(w.shape + (1,) * (c2.ndim - self.dim))
        val = np.sqrt(np.sum(w * c2, axis=axes))
        return float(val) if np.ndim(val) == 0 else val

    def __call__(self, query):
        """Evaluate ``h`` at query points.

        Parameters
        ----------
        query : array_like, shape (Q, d), or (Q,) when d = 1
            Any real points (wrapped onto the torus).

        Returns
        -------
        ndarray, shape (Q,) or (Q, m)
            Real unless the data or ``h_ini`` are complex.
        """
        q = as_query(query, self.dim, self.period)
        Q = q.shape[0]
        extra = self.coef.shape[self.dim:]
        out = np.empty((Q,) + extra, dtype=complex)
        for start in range(0, Q, _EVAL_CHUNK):
            sl = slice(start, min(Q, start + _EVAL_CHUNK))
            out[sl] = transforms.evaluate(self.coef, (2 * np.pi / self.period) * q[sl])
            h0 = self._eval_h_ini(q[sl])
            if h0 is not None:
                out[sl] += h0.reshape((-1,) + (1,) * len(extra))
        return out if self._complex else out.real

    def __repr__(self):
        m = "" if self.coef.ndim == self.dim else f", m={self.coef.shape[-1]}"
        return (f"FPInterpolator(N={self.points.shape[0]}{m}, weight={self.weight!r}, K={self.K}, "
                f"period={self.period}, method={self.info.method!r}, residual={self.info.residual:.1e})")
