"""Spectral kernels of the linear F-principle flow: pure functions on an already validated problem.

With the free modes projected out (:class:`~fpnorm.solvers.problem.FreeModes`, ``Q = [Q_1, Q_2]``), the penalised
part of the flow lives in the coordinates ``beta`` of ``alpha = Q_2 beta``, ``c_P = Gamma Phi_P^H alpha``, and obeys
``d beta/dt = -(1/N) (G_2 beta - r_2)`` with ``G_2 = Q_2^T G Q_2``, ``r_2 = Q_2^T r``. Both kernels below return the
eigendecomposition ``G_2 = U diag(lam) U^T`` together with the linear maps the flow needs, in one common form:

- ``z`` are coordinates in the eigenbasis (``beta = U z``);
- ``coef_map @ z`` gives the *real-basis* coefficients (see :mod:`fpnorm.lattice`) of the penalised part;
- ``pts @ z`` gives the values of that penalised part at the data points, ``G Q_2 U z``.

``svd`` never forms ``G``: with the scaled real design ``A = Phi_P diag(sqrt(g))`` and ``B = Q_2^T A = U S V^T``,
``lam = S^2`` and ``coef_map = diag(sqrt(g)) V S``. Its accuracy is governed by ``cond(A)``, like the QR solve.
``eigh`` forms ``G`` by NUFFT and diagonalises ``G_2`` (``O(N^3)``, independent of the number of modes); it squares
the condition number. Directions whose eigenvalue is at rounding level are *dropped* (treated as exactly zero).
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from .. import transforms
from .._internal.memory import check_memory
from ..kernels import closed_form_kernel, has_closed_form
from ..lattice import complex_to_real
from ..lattice_kernels import TorusKernel
from .problem import scaled_design

__all__ = ["FlowSpectrum", "spectrum_svd", "spectrum_eigh", "svd_memory", "eigh_memory", "LimitFlowSpectrum",
           "limit_spectrum", "limit_kernel_matrix", "norms_from_squares"]


@dataclass
class FlowSpectrum:
    """The flow in the eigenbasis of the projected kernel matrix.

    Attributes
    ----------
    lam : ndarray, shape (n,)
        Eigenvalues of ``G_2`` (descending); entries with ``kept == False`` are at rounding level and dropped.
    kept : ndarray of bool, shape (n,)
    U : ndarray, shape (N - n_f, n)
        Orthonormal eigenvectors of ``G_2``.
    pts : ndarray, shape (N, n)
        Values of the penalised part at the data points per unit ``z``.
    method : str
        "svd" or "eigh".
    coef_map : ndarray, shape (M, n), or None
        svd: real-basis penalised coefficients per unit ``z``.
    lift_U : ndarray, shape (N, n), or None
        eigh: ``Q [0; U]``, the dual coefficients ``alpha`` per unit ``z`` (coefficients then take a type-1 NUFFT).
    """

    lam: np.ndarray
    kept: np.ndarray
    U: np.ndarray
    pts: np.ndarray
    method: str
    coef_map: np.ndarray = None
    lift_U: np.ndarray = None

    def coef_of(self, z, angles, gp, nufft_eps):
        """Real-basis penalised coefficients, shape (M, p), for eigen-coordinates ``z`` of shape (n, p).

        `angles` (``2 pi x / P``, (N, d)), `gp` (the weight box with free modes set to 0) and `nufft_eps` (finufft
        tolerance) are the problem's; only the eigh form needs them: ``alpha = lift_U z``, ``c = g_P Phi^H alpha`` in
        the real basis.
        """
        if self.coef_map is not None:
            return self.coef_map @ z
        K, dim = gp.shape[0] // 2, gp.ndim
        return complex_to_real(gp[..., None] * transforms.adjoint(angles, self.lift_U @ z, K, eps=nufft_eps), K, dim)


def svd_memory(N, M):
    """Peak bytes of :func:`spectrum_svd`: the design, its projection, the SVD factors and the maps."""
    return 8 * N * M * 5


def eigh_memory(N):
    """Peak bytes of :func:`spectrum_eigh`: G, its projection, the eigenvectors and the maps."""
    return 8 * N * N * 6


def spectrum_svd(problem, free):
    """Eigendecomposition of ``G_2`` through the SVD of the scaled, projected design (``G`` is never formed).

    Parameters
    ----------
    problem : fpnorm.solvers.Problem
    free : fpnorm.solvers.problem.FreeModes

    Returns
    -------
    FlowSpectrum
    """
    N, M = problem.N, problem.M
    check_memory(svd_memory(N, M), f"the flow's SVD ({N} points x {M} modes)",
                 "Use method='eigh', a smaller K or fewer points.")
    sd = scaled_design(problem, free)
    scales, pen, A = sd.scales, sd.pen, sd.A                         # A: (N, M_p)
    B = free.qt(A)[free.n:]                                          # (N', M_p)
    if B.size == 0:
        n = 0
        U, S, Vt = np.zeros((B.shape[0], 0)), np.zeros(0), np.zeros((0, B.shape[1]))
    else:
        U, S, Vt = sla.svd(B, full_matrices=False, check_finite=False, lapack_driver="gesdd")
        n = S.size
    kept = S > (S.max() if n else 0.0) * max(B.shape) * np.finfo(float).eps
    coef_map = np.zeros((M, n))
    coef_map[pen] = scales[pen, None] * (Vt.T * S)
    pts = A @ (Vt.T * S)
    return FlowSpectrum(S**2, kept, U, pts, "svd", coef_map=coef_map)


def spectrum_eigh(problem, free):
    """Eigendecomposition of ``G_2 = Q_2^T G Q_2`` with ``G`` built by NUFFT (:func:`fpnorm.transforms.kernel_matrix`);
    takes and returns what :func:`spectrum_svd` does."""
    N = problem.N
    check_memory(eigh_memory(N), f"the flow's eigendecomposition ({N} points)",
                 "Use method='svd' or fewer points.")
    gp = problem.g_penalised
    G = transforms.kernel_matrix(problem.t, gp, eps=problem.eps)
    G2 = free.project_matrix(G)
    if G2.size:
        lam, U = sla.eigh(G2, check_finite=False)
        lam, U = lam[::-1], np.ascontiguousarray(U[:, ::-1])
    else:
        lam, U = np.zeros(0), np.zeros((G2.shape[0], 0))
    top = lam[0] if lam.size else 0.0
    kept = lam > max(top, 0.0) * max(N, 1) * np.finfo(float).eps
    lift_U = free.lift(U) if U.size else np.zeros((N, U.shape[1]))
    return FlowSpectrum(lam, kept, U, G @ lift_U, "eigh", lift_U=lift_U)


def limit_kernel_matrix(weight, x, y, period):
    """The exact (K = infinity) kernel matrix ``kappa((x_i - y_j) / P)``, ``kappa(z) = sum_{k != 0} gamma(k)^2
    e^{2 pi i k.z}`` plus ``gamma(0)^2`` when the weight gives a finite ``zero``.

    Parameters
    ----------
    weight : Weight
        One with a closed-form kernel (:func:`fpnorm.kernels.has_closed_form`, 1-d) or an Ewald-split one
        (:func:`fpnorm.lattice_kernels.has_torus_kernel`, d = 1, 2, 3).
    x, y : ndarray, shape (N, d) and (Q, d)
    period : float

    Returns
    -------
    ndarray, shape (N, Q)

    Notes
    -----
    The one place the exact flow takes its kernel from. The 1-d closed forms are exact to rounding; the Ewald-split
    kernel is within :attr:`fpnorm.lattice_kernels.TorusKernel.error` (about 1e-13 of ``kappa(0)``). Raises the
    ``ValueError`` of :class:`~fpnorm.lattice_kernels.TorusKernel` for weights with neither.
    """
    check_memory(8 * 4 * x.shape[0] * y.shape[0], f"the {x.shape[0]} x {y.shape[0]} exact kernel matrix")
    if has_closed_form(weight):
        return closed_form_kernel(weight)((x[:, None, 0] - y[None, :, 0]) / period)
    return TorusKernel(weight).matrix(x / period, y / period)


@dataclass
class LimitFlowSpectrum:
    """The exact (K = infinity) flow in the eigenbasis of the projected kernel matrix ``G_2 = Q_2^T G Q_2``.

    ``h(t, x) - h_ini(x) = sum_i kappa(x - x_i) alpha_i(t) + c(t)`` with ``alpha = Q_2 U z(t)``, ``z_j(t) = (1 -
    e^{-t lam_j / N}) / lam_j * w_j`` and ``c(t)`` the free constant (when ``k = 0`` is free) fitted at the points
    to what the penalised part leaves; ``Q_2`` spans the vectors orthogonal to the constant (all of ``R^N`` when
    ``k = 0`` is penalised).

    Attributes
    ----------
    lam, kept, U : as in :class:`FlowSpectrum`
    alpha_map : ndarray, shape (N, n)
        ``Q_2 U``: dual coefficients per unit ``z``.
    pts : ndarray, shape (N, n)
        ``G Q_2 U``: values of the penalised part at the points per unit ``z``.
    free : bool
        Whether ``k = 0`` is free.
    """

    lam: np.ndarray
    kept: np.ndarray
    U: np.ndarray
    alpha_map: np.ndarray
    pts: np.ndarray
    free: bool


def limit_spectrum(G, free):
    """Eigendecomposition of the exact kernel matrix ``G`` (N x N) with the constant projected out when `free`."""
    N = G.shape[0]
    if free:
        if N < 2:
            raise ValueError("Expected at least 2 points for the K = None flow with a free constant mode (k = 0): one "
                             "point is fitted by the constant alone. Give `zero=` a value or add points.")
        Q, _ = np.linalg.qr(np.ones((N, 1)), mode="complete")
        Q2 = Q[:, 1:]
        G2 = Q2.T @ G @ Q2
    else:
        Q2, G2 = np.eye(N), G
    lam, U = np.linalg.eigh(0.5 * (G2 + G2.T))
    lam, U = lam[::-1], U[:, ::-1]
    top = float(lam[0]) if lam.size else 0.0
    kept = lam > np.finfo(float).eps * max(N, 1) * top
    alpha_map = Q2 @ U
    return LimitFlowSpectrum(lam=np.where(kept, lam, 0.0), kept=kept, U=U, alpha_map=alpha_map, pts=G @ alpha_map,
                             free=free)


def norms_from_squares(sq, *, complex_data, single, scalar):
    """Norms ``sqrt(sq)`` of a flow's columns, shaped as its data: `sq` (T, columns) squared norms per time and real
    right-hand side (complex data as its real then imaginary halves, summed here when `complex_data`); a (T,) axis
    only for array times (not `scalar`), an (m,) axis only for several right-hand sides (not `single`)."""
    if complex_data:
        half = sq.shape[1] // 2
        sq = sq[:, :half] + sq[:, half:]
    val = np.sqrt(sq)
    val = val[:, 0] if single else val
    val = val[0] if scalar else val
    return float(val) if np.ndim(val) == 0 else val
