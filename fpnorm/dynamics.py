"""The linear frequency-principle (LFP) flow, solved exactly, and its frequency-resolved diagnostics.

The LFP model of a wide two-layer network trained on samples ``(x_i, y_i)`` evolves the network function ``h`` as::

    d/dt h^(k, t) = -gamma(k)^2 ( h_p^(k, t) - f_p^(k) ),     h(0) = h_ini,

where ``(.)_p^`` is the Fourier transform after multiplying by the empirical measure ``p = (1/N) sum_i delta_{x_i}``:
``u_p^(k) = (1/N) sum_i u(x_i) e^{-2 pi i k.x_i/P}``. :class:`LFPFlow` solves it exactly on the box ``|k|_inf <= K``
(no time stepping) and :meth:`LFPFlow.shell_errors` measures, for a known target ``f``, how much of the initial error
is left in each frequency shell ``|k|`` over time -- the F-principle picture (low frequencies converge first).
"""

from dataclasses import dataclass

import numpy as np

from . import transforms
from ._internal import checks
from ._internal.memory import available_memory, check_memory
from .lattice import box_points, box_size, real_to_complex, resize_box, torus_grid
from .lattice_sums import warn_ill_posed
from .solvers.flow import (
    FlowSpectrum,
    eigh_memory,
    limit_kernel_matrix,
    limit_spectrum,
    norms_from_squares,
    spectrum_eigh,
    spectrum_svd,
    svd_memory,
)
from .solvers.problem import FreeModes, Problem, evaluate_h_ini, join_complex, right_hand_sides
from .weights import check_weight
from .whole_space_flow import WholeSpaceFlow

__all__ = ["LFPFlow", "ShellErrors", "FLOW_METHODS", "shell_index", "convergence_times", "snapshot_grid"]

# How the flow is diagonalised: "svd" of the scaled design (stable, O(N^2 M)), "eigh" of the NUFFT kernel matrix
# (O(N^3), squares the condition number), or "auto" (svd when cheap or no dearer than eigh, and it fits; the same
# rule as the solvers' QR-vs-Cholesky choice).
FLOW_METHODS = ("auto", "svd", "eigh")
# svd is always chosen below this many flops.
_SVD_ALWAYS_FLOPS = 5e8
# Shells whose initial error is below this fraction of the largest shell's hold only rounding: their ratio is NaN.
_SHELL_FLOOR = 1e-12
# Query points per chunk of an evaluation (bounds memory at ``_EVAL_CHUNK * T * m`` complex numbers).
_EVAL_CHUNK = 1 << 16


def _choose_method(N, M):
    flops = 2.0 * min(N, M) ** 2 * max(N, M)
    fits = svd_memory(N, M) < 0.5 * available_memory()
    if fits and (flops <= max(_SVD_ALWAYS_FLOPS, 2.0 * N**3) or eigh_memory(N) >= 0.5 * available_memory()):
        return "svd"
    return "eigh"



class LFPFlow:
    """Exact solution of the linear frequency-principle flow on the torus ``[0, P)^d``, truncated to ``|k|_inf <= K``.

    Parameters
    ----------
    points : array_like, shape (N, d), or (N,) when d = 1
        Sample points ``x_i``; wrapped into ``[0, period)^d``. Repeated points are kept: each sample carries mass
        ``1/N`` in the empirical measure, so a point given twice counts twice.
    values : array_like, shape (N,) or (N, m)
        Targets ``y_i = f(x_i)``; ``m`` right-hand sides share one decomposition. Real or complex.
    weight : Weight
        ``gamma(k)^2``; its ``dim`` fixes ``d``. Warns (:class:`~fpnorm.exceptions.IllPosedWeightWarning`) when
        ``sum gamma(k)^2`` over the penalised modes diverges: the flow then depends on K.
    K : int or None
        Truncation ``|k|_inf <= K``. Any ``K >= 0``: with fewer modes than points the flow converges to the
        least-squares fit instead of an interpolant. None: every mode (``K = infinity``), exactly, for weights with
        a closed-form (1-d) or Ewald-split (d = 1, 2, 3: :func:`fpnorm.lattice_kernels.has_torus_kernel`) kernel:
        ``h(t) = h_ini + sum_i kappa(x - x_i) alpha_i(t) (+ the free constant)``, from an eigendecomposition of the
        ``N x N`` kernel matrix; ``coef`` and ``shell_errors`` need an integer ``K``.
    h_ini : callable or array_like, optional
        Initial function, as in :class:`~fpnorm.FPInterpolator` (callable on the torus or a coefficient array).
    period : float or None
        Period ``P`` (default 1). None: the flow on the whole space ``R^d`` (with ``K=None``), returned as a
        :class:`~fpnorm.whole_space_flow.WholeSpaceFlow` (values, residual, loss, norm and rates; no Fourier
        coefficients or shells).
    method : str
        One of :data:`FLOW_METHODS` (ignored for ``K=None``, which diagonalises the exact kernel matrix: "exact").

    Attributes
    ----------
    rates : ndarray, shape (r,)
        Decay rates ``lam_j / N`` of the residual's eigen-components (descending), ``lam_j`` the nonzero eigenvalues
        of the projected kernel matrix; ``r`` is the numerical rank.
    method : str
        The diagonalisation used ("svd" or "eigh").
    points, values : ndarray
        The wrapped data.

    Notes
    -----
    With ``u = h - h_ini`` on the box, ``r = y - h_ini(x)``, ``Phi_ik = e^{2 pi i k.x_i/P}`` and
    ``Gamma = diag(gamma(k)^2)`` the flow reads ``du/dt = -Gamma (1/N) Phi^H (Phi u - r)``, ``u(0) = 0``.
    Writing ``u = Gamma Phi^H a`` gives ``da/dt = -(1/N)(G a - r)`` with ``G = Phi Gamma Phi^H``, so
    ``a(t) = G^+ (I - e^{-t G/N}) r``: with ``G = V diag(lam) V^T`` the residual ``h(t, x) - y`` has components
    ``-e^{-t lam_j/N} (V^T r)_j`` and ``t = inf`` gives ``u = Gamma Phi^H G^+ r``, the minimum-FP-norm least-squares
    fit: exactly the :class:`~fpnorm.FPInterpolator` solution when ``G`` is invertible (``N <= (2K+1)^d`` distinct,
    unisolvent points); directions with ``lam_j = 0`` (more points than modes, repeated points) never move.

    Unpenalised modes (``gamma = inf``, e.g. ``k = 0`` of the LFP weights) are infinitely fast. They are defined as
    the limit ``gamma^2 = s -> inf`` of the flow at each fixed ``t``: for every ``t > 0`` the free coefficients are
    the least-squares fit, at the points, of ``r`` minus the penalised part, while the penalised part follows the flow
    with the free directions projected out (``G_2 = Q_2^T G Q_2``, see :class:`~fpnorm.solvers.problem.FreeModes`).
    At ``t = 0`` exactly ``h = h_ini``; the free part jumps at ``t = 0+``. To give a free mode a finite rate, give
    the weight a finite value there (``zero=`` for ``k = 0``). The time is that of the equation above: no factor
    ``N`` is hidden (a mode of a uniform grid decays as ``e^{-t gamma(k)^2}``).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import LFP, LFPFlow
    >>> x = np.arange(16) / 16
    >>> flow = LFPFlow(x, np.cos(2 * np.pi * x), weight=LFP(a=1.0, b=1.0, dim=1), K=7)
    >>> c = flow.coef(1.0)            # mode k = 1 of cos: 0.5 (1 - e^{-t gamma(1)^2}), gamma(1)^2 = 2
    >>> bool(np.isclose(c[7 + 1].real, 0.5 * (1 - np.exp(-2.0))))
    True
    """

    def __new__(cls, *args, period=1.0, **kwargs):
        if period is None:   # the whole space R^d: a flow of kernel sums, not of Fourier coefficients
            return WholeSpaceFlow(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, points, values, *, weight, K, h_ini=None, period=1.0, method="auto"):
        self.weight = check_weight(weight)
        self.dim = d = weight.dim
        self.period = checks.check_period(period)
        self.K = None if K is None else checks.check_int(K, "K", minimum=0)
        checks.check_choice(method, "method", FLOW_METHODS)
        x = checks.as_points(points, d, self.period)
        y = checks.as_values(values, x.shape[0])
        self.points, self.values = x, y
        if self.K is None:
            self._init_limit(h_ini)
            return
        N, M = x.shape[0], box_size(self.K, d)
        self._g = g = self.weight.box(self.K)
        warn_ill_posed(weight)   # the kernel's diagonal grows without bound in K: the flow at any t > 0 depends on K
        self._h_ini, self._h_ini_real = checks.check_h_ini(h_ini, d)
        rhs, self._complex = right_hand_sides(y, evaluate_h_ini(self._h_ini, self._h_ini_real, x, self.period))
        self._angles = (2 * np.pi / self.period) * x
        self._nufft_eps = transforms.DEFAULT_EPS
        problem = Problem(self._angles, rhs, self.K, g, eps=self._nufft_eps)
        free = FreeModes(problem)
        self.method = _choose_method(N - free.n, M - free.n) if method == "auto" else method
        spec = (spectrum_svd if self.method == "svd" else spectrum_eigh)(problem, free)
        self._spec = spec
        self._w = spec.U.T @ free.qt(rhs)[free.n:]                         # (n, 2m or m)
        self._free_cols = free.cols
        self._free_r = self._free_z = None
        if free.n:
            self._free_r = free.free_coefficients(rhs)                     # (n_f, .)
            self._free_z = free.free_coefficients(spec.pts)                # (n_f, n)

    def _init_limit(self, h_ini):
        """K = None: the exact kernel matrix, its projected eigendecomposition and the data's coordinates in it."""
        x = self.points
        G = limit_kernel_matrix(self.weight, x, x, self.period)      # raises for weights without a closed form
        self._g = None
        self._h_ini, self._h_ini_real = checks.check_h_ini(h_ini, self.dim)
        rhs, self._complex = right_hand_sides(self.values, evaluate_h_ini(self._h_ini, self._h_ini_real, x,
                                                                          self.period))
        self.method = "exact"
        self._spec = limit_spectrum(G, self.weight.zero is None)
        self._rhs = rhs
        self._w = self._spec.alpha_map.T @ rhs                              # (n, 2m or m)

    def _limit_columns(self, ts, q):
        """K = None: values of ``h(t) - h_ini`` at wrapped query points ``q`` (Q, d), shape (Q, T * m) (real split)."""
        spec = self._spec
        T, mm = ts.size, self._w.shape[1]
        z = (self._phi(ts)[:, :, None] * self._w[None]).transpose(1, 0, 2).reshape(self._w.shape[0], T * mm)
        alpha = spec.alpha_map @ z                                          # (N, T * mm)
        const = np.zeros(T * mm)
        if spec.free:
            const = np.mean(np.tile(self._rhs, (1, T)) - spec.pts @ z, axis=0)
        chunk = max(1, _EVAL_CHUNK * 64 // max(self.points.shape[0], T * mm, 64))   # rows of the kernel matrix
        check_memory(8 * (q.shape[0] * T * mm + 3 * chunk * max(self.points.shape[0], T * mm)),
                     "the exact flow's evaluation")
        out = np.empty((q.shape[0], T * mm))
        for start in range(0, q.shape[0], chunk):
            sl = slice(start, min(q.shape[0], start + chunk))
            out[sl] = limit_kernel_matrix(self.weight, q[sl], self.points, self.period) @ alpha + const
        out = out.reshape(q.shape[0], T, mm)
        out[:, ts == 0, :] = 0.0
        return join_complex(out, self._complex).reshape(q.shape[0], -1)

    def _need_box(self, what):
        if self.K is None:
            raise ValueError(f"Expected an integer `K` for {what}: a K = None flow has every mode (build the flow "
                             f"with an integer K for its box coefficients).")

    # -- the solution -------------------------------------------------------------------------------------------
    @property
    def _m(self):
        """Columns of the user's `values`."""
        return 1 if self.values.ndim == 1 else self.values.shape[1]

    @property
    def rates(self):
        """Decay rates ``lam_j / N`` of the kept eigen-directions, descending, shape (r,)."""
        return self._spec.lam[self._spec.kept] / self.points.shape[0]

    def _phi(self, ts):
        """``(1 - e^{-t lam/N}) / lam`` for kept eigenvalues (``1/lam`` at ``t = inf``), 0 for dropped; (T, n)."""
        lam, kept = self._spec.lam, self._spec.kept
        out = np.zeros((ts.size, lam.size))
        rate = lam[kept] / self.points.shape[0]
        with np.errstate(invalid="ignore", over="ignore"):
            out[:, kept] = -np.expm1(-ts[:, None] * rate[None, :]) / lam[kept][None, :]
        return out

    def _coef_columns(self, ts):
        """Complex box coefficients of ``h(t) - h_ini`` for each time, shape ``(2K+1,)*d + (T * m,)``."""
        T, mm = ts.size, self._w.shape[1]
        M = box_size(self.K, self.dim)
        check_memory(16 * 3 * M * T * mm, f"the coefficients at {T} times")
        z = (self._phi(ts)[:, :, None] * self._w[None]).transpose(1, 0, 2).reshape(self._w.shape[0], T * mm)
        real = self._spec.coef_of(z, self._angles, np.where(np.isinf(self._g), 0.0, self._g), self._nufft_eps)
        if self._free_cols.size:
            real[self._free_cols] = np.tile(self._free_r, (1, T)) - self._free_z @ z
        real = real.reshape(M, T, mm)
        real[:, ts == 0, :] = 0.0
        coef = join_complex(real_to_complex(real.reshape(M, T * mm), self.K, self.dim).reshape(M, T, mm),
                            self._complex)
        return coef.reshape((2 * self.K + 1,) * self.dim + (T * self._m,))

    def _finish(self, arr, scalar):
        """Split the trailing ``T * m`` axis into ``(T, m)``, move ``T`` first, drop axes the input did not have."""
        T = arr.shape[-1] // self._m
        arr = np.moveaxis(arr.reshape(arr.shape[:-1] + (T, self._m)), -2, 0)
        if self.values.ndim == 1:
            arr = arr[..., 0]
        return arr[0] if scalar else arr

    def coef(self, t):
        """Fourier coefficients of ``h(t) - h_ini`` on the box.

        Parameters
        ----------
        t : float or array_like of shape (T,)
            Times ``>= 0``; ``numpy.inf`` gives the limit (the minimum-norm interpolant when it exists).

        Returns
        -------
        ndarray of complex, shape ``(2K+1,)*d`` (+ ``(m,)``), with a leading ``(T,)`` axis for array `t`
            Same layout as :attr:`fpnorm.FPInterpolator.coef`.
        """
        self._need_box("`coef`")
        ts, scalar = checks.as_times(t)
        return self._finish(self._coef_columns(ts), scalar)

    def __call__(self, t, query):
        """Values of ``h(t)`` at query points.

        Parameters
        ----------
        t : float or array_like of shape (T,)
            Times ``>= 0`` (``numpy.inf`` allowed).
        query : array_like, shape (Q, d), or (Q,) when d = 1

        Returns
        -------
        ndarray, shape (Q,) or (Q, m), with a leading ``(T,)`` axis for array `t`
            Real unless the data or ``h_ini`` are complex.
        """
        ts, scalar = checks.as_times(t)
        q = checks.as_query(query, self.dim, self.period)
        if self.K is None:
            out = self._limit_columns(ts, q)
            h0 = evaluate_h_ini(self._h_ini, self._h_ini_real, q, self.period)
            if h0 is not None:
                out = out + h0[:, None]
            return self._finish(out, scalar)
        coef = self._coef_columns(ts)
        Q = q.shape[0]
        out = np.empty((Q, coef.shape[-1]), dtype=complex)
        for start in range(0, Q, _EVAL_CHUNK):
            sl = slice(start, min(Q, start + _EVAL_CHUNK))
            out[sl] = transforms.evaluate(coef, (2 * np.pi / self.period) * q[sl])
            h0 = evaluate_h_ini(self._h_ini, self._h_ini_real, q[sl], self.period)
            if h0 is not None:
                out[sl] += h0[:, None]
        if not self._complex:
            out = out.real
        return self._finish(out, scalar)

    def residual(self, t):
        """``h(t, x_i) - y_i`` at the data points, evaluated with the exact forward map.

        Returns
        -------
        ndarray, shape (N,) or (N, m), with a leading ``(T,)`` axis for array `t`
        """
        return self(t, self.points) - self.values

    def loss(self, t):
        """The empirical loss ``(1/2N) sum_i |h(t, x_i) - y_i|^2`` that the flow descends.

        Returns
        -------
        float or ndarray, shape (T,) (+ ``(m,)``)
        """
        res = np.abs(self.residual(t)) ** 2
        _, scalar = checks.as_times(t)
        val = 0.5 * np.mean(res, axis=0 if scalar else 1)
        return float(val) if np.ndim(val) == 0 else val

    def norm(self, t):
        """``||h(t) - h_ini||_gamma`` (free modes cost nothing); non-decreasing in ``t``.

        Returns
        -------
        float or ndarray, shape (T,) (+ ``(m,)``)
        """
        ts, scalar = checks.as_times(t)
        if self.K is None:
            z2 = self._phi(ts) ** 2 * self._spec.lam[None, :]                   # lam_j z_j^2 per unit w_j^2
            sq = np.einsum("tn,nc->tc", z2, np.abs(self._w) ** 2)                  # (T, mm)
            return norms_from_squares(sq, complex_data=self._complex, single=self.values.ndim == 1, scalar=scalar)
        coef = self._finish(self._coef_columns(ts), False)
        g = self._g
        w = np.where(np.isinf(g), 0.0, 1.0 / np.where(np.isinf(g), 1.0, g))
        w = w.reshape((1,) + w.shape + (1,) * (coef.ndim - 1 - self.dim))
        val = np.sqrt(np.sum(w * np.abs(coef) ** 2, axis=tuple(range(1, self.dim + 1))))
        val = val[0] if scalar else val
        return float(val) if np.ndim(val) == 0 else val

    # -- frequency-resolved diagnostics ---------------------------------------------------------------------------
    def shell_errors(self, f, times, *, grid=None):
        """Relative error of ``h(t)`` against a known target ``f`` in each frequency shell, over time.

        Parameters
        ----------
        f : callable or array_like
            The target: a callable on the torus (``(Q, d)`` -> ``(Q,)``) or complex coefficients ``(2K'+1,)*d``.
        times : array_like, shape (T,)
            Times ``>= 0``, non-decreasing (``numpy.inf`` allowed).
        grid : int, optional
            Points per axis of the uniform grid on which callables (``f``, ``h_ini``) are sampled for their
            Fourier coefficients (default ``4 (K + 1)``, at least ``2K + 1``).

        Returns
        -------
        ShellErrors

        Notes
        -----
        Shell ``s`` holds the box modes with ``round(|k|_2) = s``, ``s = 0..K`` (complete shells only). The error in
        shell ``s`` is ``||h^(t) - f^||_s / ||h_ini^ - f^||_s`` with ``||c||_s^2 = sum_{k in s} |c_k|^2``: 1 at
        ``t = 0``, and at ``t = inf`` the interpolant's error there (which need not be small near ``K``). Shells where
        ``f`` and ``h_ini`` agree (initial error below ``1e-12`` of the largest shell's, i.e. rounding) give NaN.
        Needs a flow with a single column of `values`.
        """
        self._need_box("`shell_errors`")
        if self.values.ndim != 1:
            raise ValueError(f"Expected a flow with one column of `values` for shell errors against one target "
                             f"`f`, got {self.values.shape[1]} columns.")
        ts, _ = checks.as_times(times)
        if ts.size and np.any(np.diff(ts) < 0):
            raise ValueError("Expected `times` to be non-decreasing.")
        n = self._grid_size(grid)
        err0 = _box_coef(f, "f", self.K, self.dim, self.period, n)
        if self._h_ini is not None:
            err0 = err0 - _box_coef(self._h_ini, "h_ini", self.K, self.dim, self.period, n)
        coef = self._finish(self._coef_columns(ts), False)       # (T,) + box
        return _shell_table(ts, coef.reshape(ts.size, -1), err0, self.K, self.dim)

    def _grid_size(self, grid):
        if grid is None:
            return 4 * (self.K + 1)
        n = checks.check_int(grid, "grid", minimum=1)
        if n < 2 * self.K + 1:
            raise ValueError(f"Expected `grid` >= 2K+1 = {2 * self.K + 1} points per axis, got {n}.")
        return n

    # -- persistence (fpnorm.io; the schema is in fpnorm._state.schema) --------------------------------------------
    def _state_fields(self):
        """What the flow evaluates from after construction: the wrapped data, the weight's spec, ``K``, ``period``,
        ``h_ini`` when it is a coefficient array, the spectrum, the eigen-coordinates ``w`` of the data and the
        free-mode fit. The weight box is recomputed from the spec (deterministic), so ``coef``, evaluation, ``norm``,
        ``loss`` and ``shell_errors`` are identical bit for bit after loading."""
        self._need_box("saving")
        spec = self._spec
        return {"weight": self.weight, "dim": self.dim, "K": self.K, "period": self.period, "method": spec.method,
                "complex": self._complex, "h_ini_real": self._h_ini_real, "eps": self._nufft_eps,
                "points": self.points, "values": self.values, "lam": spec.lam, "kept": spec.kept, "U": spec.U,
                "pts": spec.pts, "w": self._w, "free_cols": np.asarray(self._free_cols, dtype=np.int64),
                "coef_map": spec.coef_map, "lift_U": spec.lift_U, "free_r": self._free_r, "free_z": self._free_z,
                "h_ini": self._h_ini}

    @classmethod
    def _from_fields(cls, f):
        """A flow from checked fields (:func:`fpnorm._state.schema.decode`): the invariants across fields."""
        N, M, n_f = f["points"].shape[0], box_size(f["K"], f["dim"]), f["free_cols"].size
        cols = f["free_cols"]
        if N == 0:
            raise ValueError("LFPFlow array 'points' should hold at least one point")
        if n_f > N or np.unique(cols).size != n_f or (n_f and (cols.min() < 0 or cols.max() >= M)):
            raise ValueError(f"LFPFlow array 'free_cols' should hold at most {N} distinct indices in [0, {M})")
        m = 1 if f["values"].ndim == 1 else f["values"].shape[1]
        if f["complex"] != bool(np.iscomplexobj(f["values"])) and f["h_ini"] is None:
            raise ValueError(f"LFPFlow metadata 'complex' ({f['complex']}) should match the dtype of 'values' "
                             f"({f['values'].dtype})")
        shapes = {"U": (N - n_f, f["lam"].size), "w": (f["lam"].size, 2 * m if f["complex"] else m),
                  "coef_map": (M, f["lam"].size)}
        for key, shape in shapes.items():
            if f[key] is not None and f[key].shape != shape:
                raise ValueError(f"LFPFlow array {key!r} should have shape {shape}, got {f[key].shape}")
        wanted = {"svd": "coef_map", "eigh": "lift_U"}[f["method"]]
        other = {"svd": "lift_U", "eigh": "coef_map"}[f["method"]]
        if f[wanted] is None or f[other] is not None:
            raise ValueError(f"LFPFlow with method {f['method']!r} should have the array {wanted!r} and not {other!r}")
        if (f["free_r"] is None) != (n_f == 0) or (f["free_z"] is None) != (n_f == 0):
            raise ValueError("LFPFlow arrays 'free_r' and 'free_z' should be present exactly when 'free_cols' is not "
                             "empty")
        if f["h_ini"] is not None and f["h_ini"].shape[0] % 2 == 0:
            raise ValueError(f"LFPFlow array 'h_ini' should have odd sides, got shape {f['h_ini'].shape}")
        flow = cls.__new__(cls)
        flow.weight, flow.dim, flow.period, flow.K, flow.method = (f[k] for k in ("weight", "dim", "period", "K",
                                                                                   "method"))
        flow.points, flow.values, flow._g = f["points"], f["values"], flow.weight.box(flow.K)
        flow._h_ini, flow._h_ini_real, flow._complex = f["h_ini"], f["h_ini_real"], f["complex"]
        flow._angles, flow._nufft_eps = (2 * np.pi / flow.period) * flow.points, f["eps"]
        flow._spec = FlowSpectrum(f["lam"], f["kept"], f["U"], f["pts"], f["method"], coef_map=f["coef_map"],
                                  lift_U=f["lift_U"])
        flow._w, flow._free_cols, flow._free_r, flow._free_z = f["w"], cols, f["free_r"], f["free_z"]
        return flow

    def __repr__(self):
        return (f"LFPFlow(N={self.points.shape[0]}, weight={self.weight!r}, K={self.K}, period={self.period}, "
                f"method={self.method!r}, rank={self.rates.size})")


def _shell_table(ts, coef, err0, K, dim):
    """:class:`ShellErrors` from the box coefficients of ``h(t) - h_ini`` (T, M) and of ``f - h_ini`` (box)."""
    shells = shell_index(K, dim).reshape(-1)
    inside = shells <= K
    S = K + 1
    init = np.sqrt(np.bincount(shells[inside], np.abs(err0.reshape(-1)[inside]) ** 2, minlength=S))
    diff = np.abs(coef[:, inside] - err0.reshape(-1)[inside]) ** 2
    now = np.stack([np.sqrt(np.bincount(shells[inside], row, minlength=S)) for row in diff]) if ts.size \
        else np.zeros((0, S))
    present = init > _SHELL_FLOOR * (init.max() if init.size else 0.0)
    rel = np.where(present, now / np.where(present, init, 1.0), np.nan)
    return ShellErrors(times=ts, shells=np.arange(S), errors=rel, initial=init)


def snapshot_grid(n, dim=1, period=1.0, *, centre=0.0):
    """The uniform grid on which :meth:`LFPFlow.shell_errors` samples, as points of the cell around `centre`.

    Parameters
    ----------
    n : int
        Points per axis (the flow's default is ``4 (K + 1)``).
    dim : int
    period : float
    centre : float or array_like of shape (d,)
        Centre of the cell ``[centre - P/2, centre + P/2)^d`` the points are taken in: where the network's inputs
        live (a network is not periodic; the same torus points in another cell give other values).

    Returns
    -------
    ndarray, shape (n**dim, dim)
        In the order of :func:`fpnorm.lattice.torus_grid` (``values.reshape((n,)*dim)``), each point moved by a
        multiple of the period into the cell: evaluate the network there for :meth:`ShellErrors.from_snapshots`.

    Examples
    --------
    >>> from fpnorm.dynamics import snapshot_grid
    >>> snapshot_grid(4, 1, 8.0)[:, 0].tolist()
    [0.0, 2.0, -4.0, -2.0]
    """
    n = checks.check_int(n, "n", minimum=1)
    dim = checks.check_int(dim, "dim", minimum=1)
    P = checks.check_period(period)
    c = np.broadcast_to(np.asarray(centre, dtype=float), (dim,))
    x = torus_grid(n, dim, P)
    return x - P * np.floor((x - c + 0.5 * P) / P)


def _box_coef(fn, name, K, dim, period, n):
    """Fourier coefficients on the box of a callable (by FFT on an ``n^d`` grid) or of a coefficient array."""
    if callable(fn):
        check_memory(16 * 3 * n**dim, f"sampling `{name}` on a {n}^{dim} grid", "Pass a smaller `grid`.")
        x = torus_grid(n, dim, period)
        values = checks.evaluate_function(fn, x, name, x.shape[0], dim).reshape((n,) * dim)
        return transforms.grid_coefficients(values, K)
    return resize_box(checks.as_coefficients(fn, dim, name), K)


def shell_index(K, dim):
    """Frequency shell ``round(|k|_2)`` of every box mode, int array of shape ``(2K+1,)*dim``.

    Examples
    --------
    >>> from fpnorm import shell_index
    >>> shell_index(2, 1).tolist()
    [2, 1, 0, 1, 2]
    """
    K = checks.check_int(K, "K", minimum=0)
    dim = checks.check_int(dim, "dim", minimum=1)
    r = np.sqrt(np.sum(box_points(K, dim).astype(float) ** 2, axis=-1))
    return np.floor(r + 0.5).astype(np.int64).reshape((2 * K + 1,) * dim)


def convergence_times(errors, times, level, *, stay=True):
    """The time each shell needs to reach a relative error ``<= level`` (for good, by default).

    Parameters
    ----------
    errors : array_like, shape (T, S)
        Relative errors per shell (e.g. :attr:`ShellErrors.errors`).
    times : array_like, shape (T,)
        The non-decreasing times of the rows of `errors`.
    level : float
        Target relative error, ``0 < level``.
    stay : bool
        True (default): the time from which the error stays ``<= level`` up to the last time (on scattered points
        a shell's error can dip and rise again while other shells are fitted). False: the first time at which the
        error is ``<= level``.

    Returns
    -------
    ndarray, shape (S,)
        The times; ``inf`` when the level is not reached (``stay``: not at the last time), NaN for shells with
        NaN errors. Between the grid time ``t_0`` where the error ``e_0`` is last above the level and the next one
        ``t_1`` (``e_1 <= level``) the crossing is interpolated log-linearly,
        ``t_0 + (t_1 - t_0) log(e_0 / level) / log(e_0 / e_1)``: exact for an error ``e^{-rate t}`` (a flow mode
        on a uniform grid), and within ``[t_0, t_1]`` always. ``t_1`` itself when ``e_1 = 0`` or ``t_1 = inf``;
        the first time when the level holds from the start.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import convergence_times
    >>> t = np.array([0.0, 1.0, 2.0, 3.0])
    >>> convergence_times(np.exp(-np.outer(t, [2.0, 1.0])), t, 0.2).round(12).tolist()   # log(5)/2, log(5)
    [0.804718956217, 1.609437912434]
    """
    err = np.asarray(errors, dtype=float)
    ts = np.asarray(times, dtype=float)
    level = checks.check_real(level, "level", minimum=0.0, strict_min=True)
    if err.ndim != 2 or ts.ndim != 1 or err.shape[0] != ts.shape[0]:
        raise ValueError(f"Expected `errors` of shape (T, S) and `times` of shape (T,), got {err.shape} and "
                         f"{ts.shape}.")
    if ts.size and np.any(np.diff(ts) < 0):
        raise ValueError("Expected `times` to be non-decreasing.")
    out = np.full(err.shape[1], np.inf)
    if ts.size == 0:
        return out
    above = ~(err <= level)                                        # NaN counts as above
    if stay:
        # index of the first time of the final run at or below the level
        below = np.where(above.any(axis=0), err.shape[0] - np.argmax(above[::-1], axis=0), 0)
        ok = below < err.shape[0]
    else:
        ok = ~above.all(axis=0)
        below = np.argmax(~above, axis=0)
    cols = np.flatnonzero(ok)
    out[cols] = _crossing(err, ts, level, below[cols], cols)
    out[np.isnan(err).any(axis=0)] = np.nan
    return out


def _crossing(err, ts, level, i1, cols):
    """Log-linear crossing of `level` between rows ``i1 - 1`` (above) and ``i1`` (at or below) of the given columns;
    the grid time ``ts[i1]`` where there is no row before, the error reaches 0 or the time is infinite."""
    t1 = ts[i1]
    i0 = np.maximum(i1 - 1, 0)
    t0, e0, e1 = ts[i0], err[i0, cols], err[i1, cols]
    ok = (i1 > 0) & (e1 > 0) & np.isfinite(t1) & (e0 > level)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.log(e0 / level) / np.log(e0 / e1)
    return np.where(ok, t0 + (t1 - t0) * np.clip(np.where(ok, frac, 1.0), 0.0, 1.0), t1)


@dataclass
class ShellErrors:
    """Relative error of the flow per frequency shell over time (see :meth:`LFPFlow.shell_errors`).

    Attributes
    ----------
    times : ndarray, shape (T,)
    shells : ndarray of int, shape (S,)
        Shell radii ``0..K``.
    errors : ndarray, shape (T, S)
        ``||h^(t) - f^||_s / ||h_ini^ - f^||_s``; NaN where the denominator is 0.
    initial : ndarray, shape (S,)
        ``||h_ini^ - f^||_s``.
    """

    times: np.ndarray
    shells: np.ndarray
    errors: np.ndarray
    initial: np.ndarray

    @classmethod
    def from_snapshots(cls, times, snapshots, f, *, period, dim=1, K=None, h_ini=None):
        """Shell errors of a network's training snapshots, on the axes of :meth:`LFPFlow.shell_errors`.

        Parameters
        ----------
        times : array_like, shape (T,)
            Non-decreasing times of the snapshots, in the flow's clock (``lr * steps`` for a weight from
            :meth:`~fpnorm.LFP.from_network`).
        snapshots : array_like, shape (T, n**dim)
            The network's values on the grid of :func:`snapshot_grid` (``n`` points per axis).
        f : callable or array_like
            The target, as for :meth:`LFPFlow.shell_errors` (sampled on the same grid).
        period : float
        dim : int
        K : int, optional
            Largest shell; default ``n // 4 - 1``, the flow's own for ``grid = n``. Needs ``n >= 2K + 1``.
        h_ini : callable or array_like, optional
            The initial function the errors are relative to (default 0, the flow's ``h_ini=None``); pass the
            network at initialisation when it is not 0.

        Returns
        -------
        ShellErrors
            ``||h^(t) - f^||_s / ||h_ini^ - f^||_s`` per shell ``s = round(|k|)``, the same quantity (and grid
            sampling of ``f``, so the same ``initial``) as the flow's with ``grid = n``.

        Examples
        --------
        >>> import numpy as np
        >>> from fpnorm import ShellErrors
        >>> from fpnorm.dynamics import snapshot_grid
        >>> x = snapshot_grid(16, 1, 1.0)[:, 0]
        >>> f = lambda q: np.cos(2 * np.pi * q) + np.cos(6 * np.pi * q)
        >>> snaps = [0.5 * np.cos(2 * np.pi * x), np.cos(2 * np.pi * x)]    # mode 1 half, then fully learnt
        >>> ShellErrors.from_snapshots([1.0, 2.0], snaps, f, period=1.0).errors[:, 1:].round(12).tolist()
        [[0.5, nan, 1.0], [0.0, nan, 1.0]]
        """
        ts, _ = checks.as_times(times)
        if ts.size and np.any(np.diff(ts) < 0):
            raise ValueError("Expected `times` to be non-decreasing.")
        P = checks.check_period(period)
        dim = checks.check_int(dim, "dim", minimum=1)
        snaps = np.asarray(snapshots)
        if snaps.dtype == object or snaps.dtype.kind not in "iufc":
            raise TypeError(f"Expected `snapshots` to be a numeric array, got dtype {snaps.dtype}.")
        n = int(round(snaps.shape[-1] ** (1.0 / dim))) if snaps.ndim == 2 and snaps.shape[-1] else 0
        if snaps.ndim != 2 or snaps.shape[0] != ts.size or n**dim != snaps.shape[1]:
            raise ValueError(f"Expected `snapshots` of shape (T, n**dim) = ({ts.size}, n**{dim}), got shape "
                             f"{snaps.shape}.")
        if not np.all(np.isfinite(snaps)):
            raise ValueError("Expected `snapshots` finite, got NaN or inf.")
        K = max(n // 4 - 1, 0) if K is None else checks.check_int(K, "K", minimum=0)
        if n < 2 * K + 1:
            raise ValueError(f"Expected `snapshots` on at least 2K+1 = {2 * K + 1} points per axis, got n = {n}.")
        err0 = _box_coef(f, "f", K, dim, P, n)
        base = 0.0
        if h_ini is not None:
            base = _box_coef(h_ini, "h_ini", K, dim, P, n)
            err0 = err0 - base
        coef = np.stack([(transforms.grid_coefficients(row.reshape((n,) * dim), K) - base).reshape(-1)
                         for row in snaps]) if ts.size else np.zeros((0, (2 * K + 1) ** dim))
        return _shell_table(ts, coef, err0, K, dim)

    def convergence_times(self, level, *, stay=True):
        """Per shell, the time from which the relative error stays ``<= level`` (``stay=False``: first reaches it);
        see :func:`convergence_times`."""
        return convergence_times(self.errors, self.times, level, stay=stay)
