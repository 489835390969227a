"""Matrix-free K = infinity solves in d = 2, 3: the Ewald-split kernel applied by a sparse near part and a NUFFT pair.

The exact kernel of :class:`fpnorm.lattice_kernels.TorusKernel` is, for a splitting parameter ``eta``,
``kappa(z) = sum_n f(|z + n|) + const + sum_{|k| <= Kc} W_k e^{2 pi i k.z}``: a real-space part that is Gaussian
small beyond a radius ``R ~ 3.4 sqrt(eta)`` and a reciprocal part on the modes ``|k|_2 <= Kc ~ 3.4 / sqrt(eta)``.
With ``eta`` chosen from ``N`` so that every point has a few hundred neighbours within ``R`` (:func:`matfree_eta`),
the kernel matrix product ``G v`` (:class:`EwaldOperator`) is

- near: a sparse matrix of ``f`` on the pairs within ``R`` (found once on a k-d tree with periodic boxes; with
  ``R < 1/2`` only the nearest image of a pair is within ``R``);
- smooth: one type-1 NUFFT of ``v`` on the box ``|k|_inf <= Kc``, times the weights ``W_k`` (the constant folded into
  ``W_0``), and one type-2 NUFFT back: ``O(N + Kc^d log Kc)`` per product.

The interpolation system (bordered when the constant mode is free) is solved by conjugate gradients on the
constant-free subspace, preconditioned by the Kullback-Leibler sparse inverse-Cholesky factor of the same kernel
(:func:`fpnorm.solvers.precondition.build_kl_factor`; the exact kernels are Matern-like, so the factor captures them
well). The residual is then certified at the points without the NUFFT (:func:`matfree_residual`): the near part
summed from the sparse matrix with the classical rounding bound, the smooth part by exactly phased direct sums
(matrix products over the per-axis exponentials, Higham's bound), the kernel's own error (:attr:`TorusKernel.error`)
times ``sum |alpha|``, and the move from the nodes to the user's points as in
:func:`fpnorm.solvers.lattice_limit.lattice_residual`. The result is the dense path's :class:`LatticeExpansion`.
"""

import math
import time

import numpy as np

from .. import transforms
from .._internal.memory import available_memory, check_memory
from .._internal.progress import residual_progress
from ..lattice import EXP_ERROR_UNITS, axis_exponentials, exact_angles
from ..lattice_kernels import TorusKernel, split_for_pairs
from .certify import interval_kind, relative_interval
from .lattice_limit import DENSE_LIMIT_MAX_POINTS, LATTICE_METHOD, LatticeExpansion, dense_memory
from .precondition import Kernel, build_kl_factor
from .problem import SolveInfo

__all__ = ["EwaldOperator", "solve_lattice_matfree", "matfree_residual", "matfree_eta", "matfree_memory",
           "lattice_method", "MATFREE_METHOD", "MATFREE_DIMS", "MATFREE_MIN_POINTS", "NEAR_PAIRS"]

# The method name reported for this path (FPInterpolator(..., K=None, method=...)).
MATFREE_METHOD = "lattice_matfree"
# Dimensions of the matrix-free path.
MATFREE_DIMS = (2, 3)
# Fewest distinct points for which FPInterpolator(..., K=None) takes the matrix-free path, by dimension. Below, the
# dense solve: it certifies ~1e-13 (2-d) where the iteration stops at its rtol, at a cost still moderate. Measured on
# the 2-core machine, LFP(1, 1), uniform random points, smooth data, dense / matrix-free seconds: 2-d 1.8 / 0.42 at
# N = 2000, 2.9 / 0.41 at 3000, 6.1 / 0.77 at 5000; 3-d 7.4 / 5.0 at 3000, 22.9 / 10.1 at 6000.
MATFREE_MIN_POINTS = {2: 3000, 3: 3000}
# Neighbours per point within the real-space radius, by dimension: the split between the sparse near part (set up
# once, one sparse product per iteration) and the reciprocal box (one NUFFT pair per iteration, and the certificate's
# direct sums grow with its size). Measured at N = 2e4, LFP(1, 1): in 2-d 200 pairs set up in 0.3 s, a sparse
# product takes 4 ms and the NUFFT pair (box |k| <= 200) 20 ms; in 3-d one product takes 0.82 / 0.45 / 0.27 s with
# 600 / 1500 / 3000 pairs (boxes |k| <= 60 / 45 / 35: the FFTs dominate) and the near part sets up in 2.7 / 5.7 /
# 13 s.
NEAR_PAIRS = {2: 200, 3: 1500}
# NUFFT tolerance of the products: their error, about eps kappa(0) sum |v|, is a floor under the residual the Krylov
# iteration reaches (sum |alpha| kappa(0) is a few times max |y| for smooth data).
_EPS = 1e-13
# Points per block of the certificate's direct sums (inner products of this length in BLAS, the blocks then summed
# pairwise): long blocks make efficient matrix products (blocks of 128 measured 3x slower than one product at
# N = 2e4, blocks of 1024 1.3x), short ones a tighter rounding bound (sqrt(2) gamma_(B+2): 1.6e-13 at 1024, 2e-14 at
# 128). The long block serves when its bound is below _BLOCK_SHARE of the tolerance (smooth data: sum |alpha|
# kappa(0) is a few times max |y|); noisy data, whose sum |alpha| is thousands of times max |y|, take the short one.
_BLOCKS = (1024, 128)
_BLOCK_SHARE = 0.05
# Conjugate-gradient runs at most: each restarts from the residual measured with the operator.
_RUNS = 4
# Certificates at most: one more after a tenfold tighter iteration when the first misses rtol.
_CERTIFY_ATTEMPTS = 2
# Stop the iteration at this share of the requested tolerance: the certificate adds the kernel's error and
# roundings on top.
_MARGIN = 0.25
# KL preconditioner's sparsity radius (in units of the maximin length scales) by dimension. Measured in 2-d at
# N = 2e4 (uniform random points, smooth data, one thread), iterations / set-up + iterations seconds at
# rho = 2 / 3 / 4 / 5: LFP(1, 1) 106 / 49 / 32 / 25 and 7.0 / 4.5 / 4.2 / 8.0 s; Sobolev(2), a smoother kernel that
# screens less, 1371 / 542 / 307 / 202 and 64 / 27 / 23 / 16 s. 3-d: the radius maximin.RHO measured there.
_RHO = {2: 4.0, 3: 3.0}
_U = 2.0**-53
# Solves still running after this many seconds show a progress line (terminal only).
_PROGRESS_DELAY = 2.0


def lattice_method(N, dim):
    """The K = None Ewald solve for `N` distinct points in dimension `dim`: :data:`MATFREE_METHOD` from
    :data:`MATFREE_MIN_POINTS` points on (d in :data:`MATFREE_DIMS`), or when the dense solve's matrices would not
    fit in the memory available, else the dense :data:`~fpnorm.solvers.lattice_limit.LATTICE_METHOD`. The one
    place the choice is made.

    Examples
    --------
    >>> lattice_method(500, 2), lattice_method(20000, 2), lattice_method(20000, 1)
    ('lattice_kernel', 'lattice_matfree', 'lattice_kernel')
    """
    if dim not in MATFREE_DIMS:
        return LATTICE_METHOD
    if N >= MATFREE_MIN_POINTS[dim] or N > DENSE_LIMIT_MAX_POINTS or dense_memory(N, dim) > available_memory():
        return MATFREE_METHOD
    return LATTICE_METHOD


def matfree_eta(N, dim):
    """The splitting parameter with about :data:`NEAR_PAIRS` neighbours per point within the real-space radius
    (:func:`fpnorm.lattice_kernels.split_for_pairs`)."""
    return split_for_pairs(N, dim, NEAR_PAIRS[dim])


def matfree_memory(N, dim, m=1, *, eta=None):
    """Peak bytes of :func:`solve_lattice_matfree`: the near matrix (twice, with its set-up), the NUFFT plans, the
    preconditioner, the Krylov vectors and the certificate's exponential tables."""
    eta = matfree_eta(N, dim) if eta is None else eta
    R = 3.4 * math.sqrt(eta)
    ball = math.pi * R * R if dim == 2 else 4.0 / 3.0 * math.pi * R**3
    nnz = N * (N * ball + 1)
    kmax = int(math.ceil(3.4 / math.sqrt(eta))) + 1
    near = nnz * (12 + 12) * 2 + nnz * 40
    fourier = transforms.nufft_memory(N, kmax, dim, m)
    precond = N * 48 * 8 * 4 + N * 48 * 48 * 8 * 2
    vectors = 8 * N * m * 12
    side = 2 * kmax + 1
    tables = 16 * (N * side * dim + _BLOCKS[0] * side ** (dim - 1) * 4) + 16 * side**dim * m * 8
    return int(near + fourier + precond + vectors + tables)


class EwaldOperator:
    """``v -> G v`` for the exact kernel matrix ``G_ij = kappa(z_i - z_j)`` of a weight, matrix-free.

    Parameters
    ----------
    z : ndarray, shape (N, d)
        Nodes in periods, in ``[0, 1)^d``.
    weight : Weight
        With a torus kernel (:func:`fpnorm.lattice_kernels.has_torus_kernel`).
    eta : float, optional
        Splitting parameter (default :func:`matfree_eta`).
    n_trans : int
        Columns of the vectors the operator is applied to.
    eps : float
        NUFFT tolerance.

    Attributes
    ----------
    kernel : TorusKernel
        The kernel with this split; its :attr:`~TorusKernel.error` bounds every entry's error.
    near : scipy.sparse.csr_matrix, shape (N, N)
        The real-space terms of the pairs within ``kernel.R`` (nearest image), with the diagonal.
    weights : ndarray, shape ``(2 kmax + 1,)*d``
        ``W_k`` on the box (the real-space constant in ``W_0``).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import LFP
    >>> z = np.random.default_rng(0).random((300, 2))
    >>> op = EwaldOperator(z, LFP(a=1.0, b=1.0, dim=2), eta=2e-3)
    >>> v = np.random.default_rng(1).standard_normal((300, 1))
    >>> dense = TorusKernel(LFP(a=1.0, b=1.0, dim=2)).matrix(z)
    >>> bool(np.max(np.abs(op(v) - dense @ v)) < 1e-10 * np.sum(np.abs(v)))
    True
    """

    def __init__(self, z, weight, *, eta=None, n_trans=1, eps=_EPS):
        z = np.asarray(z, dtype=float)
        N, d = z.shape
        self.z, self.dim = z, d
        self.kernel = kernel = TorusKernel(weight, eta=matfree_eta(N, d) if eta is None else eta)
        self.near = kernel.near_matrix(z)
        self.weights, self.kmax = kernel.weight_box()
        self.n_trans = int(n_trans)
        self._plan = transforms.NufftPlan(2 * np.pi * z, self.kmax, n_trans=self.n_trans, eps=eps)
        self._W = self.weights if self.n_trans == 1 else self.weights[..., None]

    def smooth(self, v):
        """The reciprocal part ``sum_j sum_k W_k e^{2 pi i k.(z_i - z_j)} v_j``, v of shape (N, n_trans)."""
        F = self._plan.adjoint(v if self.n_trans > 1 else v[:, 0])
        out = self._plan.evaluate(F * self._W).real
        return out.reshape(v.shape)

    def __call__(self, v):
        """``G v`` for ``v`` of shape (N, n_trans)."""
        return self.near @ v + self.smooth(v)


def _variogram(op):
    """``kappa(0) - kappa(z)`` through the operator's split (a preconditioner's kernel): the nearest image's
    real-space terms, and the reciprocal part by a type-2 NUFFT of the weights at the differences."""
    kernel = op.kernel
    f0 = float(kernel.radial(np.zeros(1))[0])
    W = op.weights
    total = float(np.sum(W))
    kmax = op.kmax

    def variogram(dz):
        zr = dz - np.round(dz)
        real = f0 - kernel.radial(np.sum(zr * zr, axis=1))
        rec = total - transforms.evaluate(W.astype(complex), 2 * np.pi * zr, eps=1e-12).real if kmax else 0.0
        return real + rec

    return Kernel(float(kernel.value0), variogram, op.dim)


def _pcg(apply, precond, project, b, x0, tol, maxiter, ticks=None, report=None):
    """Preconditioned conjugate gradients on ``P G P x = P b`` from ``x0``, column by column (vectorised): stops a
    column when the recurrence residual's largest entry is at most `tol`. Returns ``x`` and the iterations."""
    x = x0.copy()
    r = project(b - apply(x)) if np.any(x0) else project(b.copy())
    active = np.max(np.abs(r), axis=0) > tol
    s = project(precond(r))
    p = s.copy()
    rs = np.einsum("ij,ij->j", r, s)
    it = 0
    while it < maxiter and active.any():
        it += 1
        q = project(apply(p))
        pq = np.einsum("ij,ij->j", p, q)
        a = np.where(active & (pq > 0), rs / np.where(pq > 0, pq, 1.0), 0.0)
        x += a * p
        r -= a * q
        misfit = np.max(np.abs(r), axis=0)
        active &= (misfit > tol) & (pq > 0)
        if report is not None:
            report(float(np.max(misfit)))
        if ticks is not None:
            next(ticks)
        s = project(precond(r))
        rs_new = np.einsum("ij,ij->j", r, s)
        beta = np.where(active, rs_new / np.where(rs > 0, rs, 1.0), 0.0)
        p = s + beta * p
        rs = rs_new
    return x, it


def solve_lattice_matfree(z, rhs, *, weight, dz=None, point_scale=None, rtol=1e-10, maxiter=None, eta=None):
    """Matrix-free K = infinity solve with the Ewald-split kernel, certified at the points (module docstring).

    Parameters
    ----------
    z : ndarray, shape (N, d)
        Distinct nodes in periods, in ``[0, 1)^d``, ``d`` in :data:`MATFREE_DIMS`.
    rhs : ndarray, shape (N, m)
        Real right-hand sides ``y - h_ini``.
    weight : Weight
        With a torus kernel; ``zero=None`` leaves the constant free (the bordered system).
    dz : ndarray, shape (N, d), optional
        ``x / P - z`` (exact remainders): the residual is certified at ``z + dz``.
    point_scale : float, optional
        The largest ``|x| / P`` of the points as given (for ``info.sensitivity``).
    rtol : float
        Target relative residual.
    maxiter : int, optional
        Conjugate-gradient iterations over all runs (default ``max(500, min(N, 5000))``).
    eta : float, optional
        Splitting parameter (default :func:`matfree_eta`).

    Returns
    -------
    piece : LatticeExpansion
    norm2 : ndarray, shape (m,)
        ``alpha^T G alpha`` per column (with the operator).
    info : SolveInfo
        ``info.residual`` certified (:func:`matfree_residual`), ``info.iterations`` the conjugate-gradient
        iterations, ``info.condition`` nan (not estimated), ``info.timings`` the seconds of set-up, iterations and
        certificate.

    Raises
    ------
    ValueError
        For points in a dimension outside :data:`MATFREE_DIMS`.
    MemoryEstimateError
        When :func:`matfree_memory` exceeds the memory available.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import LFP
    >>> z = np.random.default_rng(0).random((500, 2))
    >>> y = np.sin(2 * np.pi * z[:, :1])
    >>> piece, norm2, info = solve_lattice_matfree(z, y, weight=LFP(a=1.0, b=1.0, dim=2))
    >>> bool(info.residual <= 1e-10), bool(np.max(np.abs(piece(z) - y)) <= 1e-10)
    (True, True)
    """
    start = time.perf_counter()
    N, m = rhs.shape
    d = z.shape[1]
    if d not in MATFREE_DIMS:
        raise ValueError(f"Expected points in d in {MATFREE_DIMS} for the matrix-free K=None solve, got d = {d}.")
    check_memory(matfree_memory(N, d, m, eta=eta), f"the matrix-free K = infinity solve ({N} points, d = {d})",
                 "Use fewer points or an integer K.")
    maxiter = max(500, min(N, 5000)) if maxiter is None else int(maxiter)
    op = EwaldOperator(z, weight, eta=eta, n_trans=m)
    free = op.kernel.free_constant
    L, _ = build_kl_factor(z, _variogram(op), rho=_RHO[d])
    LT = L.T.tocsr()
    L = L.tocsr()

    def project(v):
        return v - np.mean(v, axis=0) if free else v

    def precond(r):
        return L @ (LT @ r)

    setup = time.perf_counter() - start
    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    norm = scale if scale > 0 else 1.0
    ticks, report = residual_progress(f"fpnorm K=None matrix-free ({N} points)", rtol=rtol, scale=scale,
                                      delay=_PROGRESS_DELAY)

    alpha = np.zeros((N, m))
    used, target, spent = 0, _MARGIN * rtol, {"iterations": 0.0, "certificate": 0.0}
    for _ in range(_CERTIFY_ATTEMPTS):
        begin, runs = time.perf_counter(), 0
        while True:
            alpha, it = _pcg(op, precond, project, rhs, alpha, target * norm, maxiter - used, ticks, report)
            used, runs = used + it, runs + 1
            alpha = project(alpha)
            Ga = op(alpha)
            c = np.mean(rhs - Ga, axis=0) if free else np.zeros(m)
            measured = np.max(np.abs(rhs - Ga - c)) / norm
            if measured <= target or used >= maxiter or runs >= _RUNS or it == 0:
                break
        spent["iterations"] += time.perf_counter() - begin
        begin = time.perf_counter()
        piece = LatticeExpansion(z, alpha, c, weight)
        info = SolveInfo(MATFREE_METHOD, float("nan"), float("nan"), used)
        info.residual, info.residual_kind, info.sensitivity = matfree_residual(piece, op, z, dz, rhs,
                                                                              point_scale=point_scale, rtol=rtol)
        spent["certificate"] += time.perf_counter() - begin
        # a certificate above rtol is refined once with a tenfold tighter iteration, unless what remains is the
        # certificate's own bar (the measured residual already far below rtol) or the iterations are spent
        if info.residual <= rtol or measured <= 0.01 * rtol or used >= maxiter:
            break
        target *= 0.1
    ticks.close()
    norm2 = np.maximum(np.einsum("im,im->m", alpha, Ga), 0.0)
    if info.residual > rtol:
        info.attempts.append(f"{MATFREE_METHOD}: certified residual {info.residual:.2e} after {used} "
                             f"conjugate-gradient iterations (measured with the NUFFT: {measured:.2e})")
    info.seconds = time.perf_counter() - start
    info.timings = {"setup": setup, **spent}
    return piece, norm2, info


# -- the certificate ---------------------------------------------------------------------------------------------

def _gamma(n, u=_U):
    return n * u / (1.0 - n * u)


def _angles(z):
    """The nodes' angles ``2 pi z`` as exact sums ``t + t_lo`` (:func:`fpnorm.lattice.exact_angles`)."""
    return exact_angles(np.mod(z, 1.0), 1.0)


def _block_tables(angles, rows, kmax):
    """Per axis ``e^{2 pi i k z_j}`` at the nodes `rows` (exact phases, :func:`fpnorm.lattice.axis_exponentials`),
    shape (len, n): ``k = 0..kmax`` on the first axis, ``-kmax..kmax`` on the others; each entry within ``_ENTRY``
    units. Made block by block, twice (the type-1 and type-2 sums): whole N x n tables cost more in fresh pages
    (0.5 s at N = 2e4, kmax = 200) than their products."""
    t, t_lo = angles
    tables = []
    for a in range(t.shape[1]):
        half = a == 0
        n = kmax + 1 if half else 2 * kmax + 1
        shift, high, low = axis_exponentials(t[rows, a], kmax, t_lo=t_lo[rows, a], half=half)
        full = np.empty((shift.shape[0], high.shape[1], low.shape[1]), dtype=complex)
        np.multiply((shift[:, None] * high)[:, :, None], low[:, None, :], out=full)
        tables.append(full.reshape(shift.shape[0], -1)[:, :n])
    return tables


# An entry of _block_tables: three factors within EXP_ERROR_UNITS units each, two complex products (sqrt(2) gamma_2).
_ENTRY = 3 * EXP_ERROR_UNITS + 2 * math.sqrt(2) * 2.0 * 1.01


def _khatri_rao(tables):
    """Row-wise Kronecker products of the tables after the first: shape (rows, n^(d-1))."""
    out = tables[1]
    for tab in tables[2:]:
        out = (out[:, :, None] * tab[:, None, :]).reshape(out.shape[0], -1)
    return out


def _phi1(d, block, N):
    """The type-1 sums' error relative to ``sum |alpha|``: the d exponentials, the product with alpha and the
    Khatri-Rao products, the inner products of length `block`, the pairwise sum of the ``N / block`` blocks."""
    levels = max(1, int(math.ceil(math.log2(max(1, -(-N // block)))))) + 1
    return (d * _ENTRY * _U + _U + (d - 1) * math.sqrt(2) * _gamma(2) + math.sqrt(2) * _gamma(block + 2)
            + _gamma(levels))


def _pairwise(parts):
    """Adds arrays pushed one by one pairwise (a binary counter of partial sums): the sum of ``n`` parts is rounded
    by at most ``gamma_(ceil(log2 n) + 1)`` of the sum of their magnitudes, with ``O(log n)`` arrays held."""
    stack = []
    for part in parts:
        level = 0
        while stack and stack[-1][0] == level:
            part = stack.pop()[1] + part
            level += 1
        stack.append((level, part))
    total = stack.pop()[1]
    while stack:
        total = total + stack.pop()[1]
    return total


def _direct_smooth(op, alpha, tolerance=0.0):
    """The reciprocal part at the nodes, ``Re sum_k W_k A_k e^{2 pi i k.z_i}`` with ``A_k = sum_j alpha_j
    e^{-2 pi i k.z_j}``, by matrix products over exactly phased per-axis exponentials, and a bound on its error at
    every node, both (N, m). The long block of :data:`_BLOCKS` when its bound is within :data:`_BLOCK_SHARE` of
    `tolerance` (absolute), else the short one."""
    z, kmax, d = op.z, op.kmax, op.dim
    N, m = alpha.shape
    angles = _angles(z)
    n = 2 * kmax + 1
    n1 = kmax + 1
    rest = n ** (d - 1)
    total = np.sum(np.abs(alpha), axis=0)
    mass = 2.0 * float(np.sum(op.weights)) * float(np.max(total, initial=0.0))
    block = _BLOCKS[0] if _phi1(d, _BLOCKS[0], N) * mass <= _BLOCK_SHARE * tolerance else _BLOCKS[-1]
    def parts():
        for s in range(0, N, block):
            rows = slice(s, min(N, s + block))
            tables = _block_tables(angles, rows, kmax)
            right = np.conj(_khatri_rao(tables))
            first = np.conj(tables[0])
            yield np.stack([(first * alpha[rows, col][:, None]).T @ right for col in range(m)], axis=-1)

    A = _pairwise(parts())
    phi1 = _phi1(d, block, N)
    # the constant mode exactly rounded (math.fsum): with a finite gamma(0) it carries most of the weight (Sobolev:
    # W_0 ~ kappa(0)) while sum alpha cancels far below sum |alpha|
    center = (rest - 1) // 2
    A[0, center, :] = [math.fsum(alpha[:, col]) for col in range(m)]
    # D_k = 2 W_k A_k for k_1 > 0, W_k A_k for k_1 = 0: Re h = Re sum_{k_1 >= 0} D_k e^{i k.z}
    W = op.weights[kmax:].reshape(n1, rest)
    fold = np.full((n1, 1), 2.0)
    fold[0] = 1.0
    D = (fold * W)[:, :, None] * A
    # |D_k - fold W_k A_k(exact)| <= fold W_k (phi1 sum |alpha| + u |A_k|) (the products by W and 2: u), and
    # W_0 2u |A_0| for the constant mode
    spread = np.full((n1, rest, 1), phi1)
    spread[0, center] = 0.0
    dA = np.sum((fold * W)[:, :, None] * (spread * total + 2 * _U * np.abs(A)), axis=(0, 1))
    out = np.empty((N, m))
    DT = D.transpose(2, 1, 0)                              # (m, rest, n1)
    for s in range(0, N, _BLOCKS[0]):
        rows = slice(s, min(N, s + _BLOCKS[0]))
        tables = _block_tables(angles, rows, kmax)
        kr = _khatri_rao(tables)
        e1 = tables[0]
        for col in range(m):
            out[rows, col] = np.einsum("ik,ik->i", kr @ DT[col], e1).real
    # evaluation: d exponentials, Khatri-Rao products, inner products of length n^(d-1) then n1 (complex)
    phi2 = (d * _ENTRY * _U + (d - 1) * math.sqrt(2) * _gamma(2) + math.sqrt(2) * _gamma(rest + 2)
            + math.sqrt(2) * _gamma(n1 + 2))
    absD = np.sum(np.abs(D), axis=(0, 1))
    bound = (phi2 * absD + dA) * (1 + 1e-6)
    return out, np.broadcast_to(bound, (N, m))


def matfree_residual(piece, op, z, dz, rhs, *, point_scale=None, rtol=1e-10):
    """Certified residual ``max |h(x_n) - y_n| / max |y|`` at ``z + dz`` of a :class:`LatticeExpansion` whose
    kernel matrix `op` applies, with no NUFFT (module docstring).

    The value at a node is the near part (sparse product, rounding within ``gamma_(n_i + 1) sum_j |a_ij| |alpha_j|``
    for ``n_i`` entries in row ``i``) plus the smooth part (:func:`_direct_smooth`) plus ``c``; its bar adds the
    kernel's error ``TorusKernel.error sum |alpha|`` (tails, the entries' rounding), the kernel's Holder bound over
    the offsets ``|dz|`` and the differences' rounding, and the rounding of the sums.

    Returns
    -------
    residual : float
        Upper end of the certified interval, relative to ``max |rhs|``.
    kind : str
        "exact" or "bound".
    sensitivity : float
        ``max_n |grad h(z_n)| eps point_scale / max |y|`` (an estimate, by difference quotients at the nodes with
        the largest ``|alpha|``).
    """
    kernel, alpha, c = op.kernel, piece.alpha, piece.c
    N, d = z.shape
    near = op.near
    nearv = near @ alpha
    per_row = np.diff(near.indptr)
    nabs = abs(near) @ np.abs(alpha)
    near_bar = _gamma(int(np.max(per_row, initial=0)) + 1) * nabs
    top = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    smooth, smooth_bar = _direct_smooth(op, alpha, rtol * (top if top > 0 else 1.0))
    values = nearv + smooth + c
    total = np.sum(np.abs(alpha), axis=0)
    offset = np.zeros(N) if dz is None else np.sqrt(np.sum(dz**2, axis=1))
    move = kernel.holder(offset + 4 * _U * math.sqrt(d))[:, None] * total
    # the two additions of the parts and c: 2u of their magnitudes
    sums = 2 * _U * (np.abs(nearv) + np.abs(smooth) + np.abs(c))
    bar = kernel.error * total + near_bar + smooth_bar + move + sums
    absolute = np.abs(values - rhs)
    hi, lo = absolute * (1 + 2 * _U) + bar, np.maximum(absolute * (1 - 2 * _U) - bar, 0.0)
    upper, lower = relative_interval(hi, lo, rhs)
    residual, kind, _ = interval_kind(upper, lower)
    sens = _sensitivity(piece, op, values, top, d, point_scale, z)
    return residual, kind, sens


# Nodes at which the sensitivity's difference quotients are taken, and their step (in periods).
_SLOPE_NODES = 64
_STEP = 1e-6


def _sensitivity(piece, op, values, top, d, point_scale, z):
    """``max |grad h| eps point_scale / max |y|`` by difference quotients along the diagonal at the nodes with the
    largest ``|alpha|`` (as :func:`fpnorm.solvers.lattice_limit.lattice_residual`)."""
    alpha = piece.alpha
    pick = np.argsort(-np.max(np.abs(alpha), axis=1))[:_SLOPE_NODES]
    moved = piece(z[pick] + _STEP / math.sqrt(d))
    here = piece(z[pick])
    slope = np.abs(moved - here) / _STEP
    scale_pts = float(np.max(z, initial=0.0)) if point_scale is None else float(point_scale)
    return float(np.max(slope, initial=0.0) * math.sqrt(d) * np.finfo(float).eps * scale_pts
                 / (top if top > 0 else 1.0))
