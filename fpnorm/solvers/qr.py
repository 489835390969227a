"""Coefficient-space least-norm solve: QR of the scaled design matrix, no kernel matrix, nothing squared.

With the scaled penalised design ``A = Phi_P diag(sqrt(g))`` (real basis) and the free-mode projection ``Q_2^T``
(:class:`FreeModes`), the penalised coefficients are the least-norm solution of ``(Q_2^T A) u = Q_2^T r``:
``(Q_2^T A)^T = Q_B R_B``, ``u = Q_B R_B^{-T} Q_2^T r``. The error grows with ``cond(A)``, not ``cond(A)^2 = cond(G)``,
so this stays accurate where a Cholesky factorisation of ``G`` fails. Cost ``O(N^2 M)``, memory ``O(N M)``.
"""

import numpy as np
import scipy.linalg as sla

from .._internal.memory import check_memory
from ..lattice import real_to_complex
from .problem import FreeModes, Solution, SolveInfo, relative_residual, scaled_design

__all__ = ["solve_qr", "solve_svd", "qr_memory"]


def qr_memory(N, M):
    """Peak bytes of :func:`solve_qr`: the design matrix, its transpose factorisation and workspace."""
    return 8 * N * M * 4


# Block size of the compact-WY QR (LAPACK geqrt). It keeps its block reflector factors T, so applying Q later
# (gemqrt) does not rebuild them; on a 513 x 120 matrix, one thread: 1.58 ms against 1.75 ms for geqrf (measured).
_QR_BLOCK = 32
# Right-hand sides up to this many columns get Q applied reflector by reflector (dormqr with minimal workspace:
# measured 0.054 ms against 0.082 ms for gemqrt, one column of a 513 x 120 factorisation); more columns use gemqrt.
_UNBLOCKED_COLUMNS = 8


def _least_norm_operator(B, use_svd, rebuild=None):
    """A function ``rhs -> u``: the least-norm solution of ``B u = rhs`` (B of shape (n, M), n <= M).

    QR of ``B^T`` when B has full numerical rank; otherwise (or when `use_svd`) the truncated SVD, which gives the
    minimum-norm least-squares solution with singular values below ``max(n, M) eps s_max`` dropped.
    With `rebuild` (a function returning B anew), the QR factorises B in place (no copy) and the SVD fallback
    works on ``rebuild()``.
    Returns (operator, dual operator, method, rank, condition estimate of ``G = B B^T``).
    """
    n, M_b = B.shape
    tol_factor = max(B.shape) * np.finfo(float).eps
    if not use_svd and n:
        # Householder QR kept as reflectors and block factors (geqrt): Q is applied, never formed
        reflectors, T, info = sla.lapack.dgeqrt(min(_QR_BLOCK, n), np.asfortranarray(B.T),
                                                overwrite_a=rebuild is not None)
        tau = T[np.arange(n) % T.shape[0], np.arange(n)]  # the diagonals of the block factors
        Rb = np.triu(reflectors[:n])
        diag = np.abs(np.diag(Rb))
        if info == 0 and np.all(diag > diag.max() * tol_factor):
            rcond = sla.lapack.dtrcon(Rb, norm="1", uplo="U", diag="N")[0]
            cond_g = (1.0 / rcond) ** 2 if rcond > 0 else np.inf

            def apply_qr(rhs):
                z = sla.solve_triangular(Rb, rhs, trans="T", lower=False, check_finite=False)
                padded = np.zeros((M_b,) + z.shape[1:], order="F")
                padded[:n] = z
                cols = padded[0].size
                if cols <= _UNBLOCKED_COLUMNS:
                    # the smallest workspace makes dormqr apply the reflectors one by one (dorm2r)
                    out, _, err = sla.lapack.dormqr("L", "N", reflectors, tau, padded, max(1, cols))
                else:
                    out, err = sla.lapack.dgemqrt(reflectors, T, padded.reshape((M_b, cols), order="F"))
                    out = out.reshape(padded.shape, order="F")
                if err != 0:  # pragma: no cover - LAPACK argument error
                    raise np.linalg.LinAlgError(f"LAPACK dormqr/gemqrt failed with info = {err}.")
                return out

            def dual_qr(rhs):  # B B^T = R^T R
                z = sla.solve_triangular(Rb, rhs, trans="T", lower=False, check_finite=False)
                return sla.solve_triangular(Rb, z, lower=False, check_finite=False)
            return apply_qr, dual_qr, "qr", n, cond_g
    if n == 0:
        return (lambda rhs: np.zeros((M_b,) + rhs.shape[1:])), (lambda rhs: np.zeros_like(rhs)), "qr", 0, 1.0
    if rebuild is not None and not use_svd:
        B = rebuild()  # the QR above overwrote B
    U, sv, Vt = sla.svd(B, full_matrices=False, check_finite=False, lapack_driver="gesdd")
    keep = sv > sv[0] * tol_factor
    rank = int(np.sum(keep))
    U, sv, Vt = U[:, keep], sv[keep], Vt[keep]
    cond_g = (sv[0] / sv[-1]) ** 2 if rank == n else np.inf

    def apply_svd(rhs):
        return Vt.T @ ((U.T @ rhs) / sv.reshape((-1,) + (1,) * (rhs.ndim - 1)))

    def dual_svd(rhs):  # B B^T = U S^2 U^T on the kept singular vectors
        return U @ ((U.T @ rhs) / (sv**2).reshape((-1,) + (1,) * (rhs.ndim - 1)))
    return apply_svd, dual_svd, "svd", rank, cond_g


def solve_qr(problem, *, refine=2, use_svd=False):
    """Least-norm solve in coefficient space; see the module docstring.

    Parameters
    ----------
    problem : Problem
    refine : int
        Refinement steps against the exact forward map (each reuses the factorisation).
    use_svd : bool
        Use the truncated SVD from the start (it is used anyway when the projected design is numerically
        rank-deficient, e.g. for nearly coincident points; the result is then the minimum-norm least-squares fit).

    Returns
    -------
    Solution
    """
    N, M, K, dim = problem.N, problem.M, problem.K, problem.dim
    check_memory(qr_memory(N, M), f"the QR solve ({N} points x {M} modes)",
                 "Use a smaller K, or method='cholesky' / 'iterative'.")
    free = FreeModes(problem)
    sd = scaled_design(problem, free)
    design, scales, pen, A = sd.design, sd.scales, sd.pen, sd.A
    B = free.qt(A)[free.n:]                      # (N - n_f, M_p); A itself when there are no free modes

    def rebuild():  # B again, for the SVD fallback: the QR factorises B (and A with it) in place
        return free.qt(design[:, pen] * scales[pen])[free.n:]
    least_norm, dual, method, rank, cond_g = _least_norm_operator(B, use_svd, rebuild)
    n_b = B.shape[0]
    del B  # overwritten by the factorisation

    def correction(r):
        u = least_norm(free.qt(r)[free.n:])
        if not free.n:  # every column penalised: pen is 0..M-1
            return scales[:, None] * u
        return sd.real_coefficients(u, free.free_coefficients(r - A @ u))

    # Residuals for refinement come from the explicit design matrix, which is exact to rounding: a NUFFT's
    # tolerance would be amplified by the small singular values of a nearly rank-deficient design.
    rhs = problem.rhs
    real = correction(rhs)
    res = relative_residual(design @ real, rhs)
    steps = 0
    for _ in range(refine):
        if res == 0.0:
            break
        trial = real + correction(rhs - design @ real)
        trial_res = relative_residual(design @ trial, rhs)
        if not trial_res < res:
            break
        real, res = trial, trial_res
        steps += 1
    coef = real_to_complex(real, K, dim)
    attempts = [] if rank == n_b else [f"qr: numerical rank {rank}/{n_b} of the projected design; "
                                       f"truncated SVD used"]
    return Solution(coef, SolveInfo(method, res, cond_g, steps, attempts),
                    dual=lambda r: free.lift(dual(free.qt(r)[free.n:])))



def solve_svd(problem):
    """:func:`solve_qr` with the truncated SVD from the start (slower, most robust to rank deficiency)."""
    return solve_qr(problem, use_svd=True)
