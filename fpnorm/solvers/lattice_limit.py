"""Exact K = infinity solves in d = 1, 2, 3 with the Ewald-split torus kernels: a dense saddle-point solve.

With ``kappa`` the exact kernel (:class:`fpnorm.lattice_kernels.TorusKernel`, the constant mode left out when it is
free), the minimum-norm interpolant is ``h = sum_j alpha_j kappa(z - z_j) + c`` with::

    [ G    1 ] [alpha]   [r]
    [ 1^T  0 ] [  c  ] = [0]        (G_ij = kappa(z_i - z_j); without the border when gamma(0) is finite)

and ``||h||^2 = alpha^T G alpha``. The matrix is factored once; the solution is refined against the kernel applied
in extended precision (the real-space part as a matrix, the reciprocal part through the nodes' transform, both summed
in long double), and the residual is certified at the user's points ``z + dz`` (:func:`lattice_residual`).

Everything here works in ``z = x / P`` (the weight is a function of the integer ``k``).
"""

import math
import time

import numpy as np
import scipy.linalg as sla

from .. import transforms
from .._internal.memory import check_memory
from ..lattice_kernels import TorusKernel, split_for_pairs
from .certify import interval_kind, relative_interval
from .problem import SolveInfo

__all__ = ["LatticeExpansion", "solve_lattice_limit", "lattice_residual", "dense_memory", "DENSE_LIMIT_MAX_POINTS",
           "LATTICE_METHOD"]

# The method name reported for this path (FPInterpolator(..., K=None, method=...)).
LATTICE_METHOD = "lattice_kernel"
# Largest number of distinct points of the dense K = infinity solve: four N x N float matrices (kernel, its
# real-space part, the factor, a product) take 4.6 GB at 12,000 points.
DENSE_LIMIT_MAX_POINTS = 12000
_U = 2.0**-53
_ULD = float(np.finfo(np.longdouble).eps) / 2
# Modes per chunk of the extended-precision reciprocal sums (bounds memory at N * chunk long doubles).
_MODE_CHUNK = 512
# Refinement stops once the extended-precision residual is below this share of the data (about 1e-14, far below any
# rtol a caller asks for).
_DONE = 2.0**-46
# Nodes at which the sensitivity's difference quotients are taken (each costs a kernel row).
_SLOPE_NODES = 256
# Step (in periods) of the difference quotients that estimate |grad h| at the nodes for the sensitivity.
_STEP = 1e-6
# Nodes from which an expansion in d = 2, 3 is evaluated through a split with few near pairs (a sparse near part on
# k-d trees and one type-2 NUFFT at the queries, after one type-1 NUFFT of the nodes) instead of whole kernel rows:
# a query then costs ~_EVAL_PAIRS kernel terms instead of N (the rows cost ~55 ns a node and query in 2-d).
_SPLIT_NODES = 3000
_EVAL_PAIRS = {2: 200, 3: 1500}
# Queries per block of the split evaluation (bounds the near part's sparse matrix at ~_EVAL_PAIRS times this).
_SPLIT_QUERIES = 1 << 14
# NUFFT tolerance of the split evaluation: its error is about this times kappa(0) sum |alpha| (a few times max |y|
# for smooth data).
_SPLIT_EPS = 1e-14


class LatticeExpansion:
    """``h(z) = sum_j alpha_j kappa(z - z_j) + c`` with the Ewald-split kernel of `weight`, evaluated in chunks.

    Parameters
    ----------
    z : ndarray, shape (N, d)
        Nodes in periods, in ``[0, 1)^d``.
    alpha : ndarray, shape (N, m)
    c : ndarray, shape (m,)
    weight : Weight
    """

    def __init__(self, z, alpha, c, weight):
        self.z, self.alpha, self.c, self.weight = z, alpha, c, weight
        self.kernel = TorusKernel(weight)
        self._transform = None   # the nodes' transform, computed on first evaluation
        self._split = None       # many nodes in d = 2, 3: the near-pair split and its Fourier coefficients

    @property
    def width(self):
        """Columns ``m``."""
        return self.alpha.shape[1]

    @classmethod
    def _from_fields(cls, f):
        """A loaded expansion (:mod:`fpnorm._state.schema`): nodes of the weight's dimension."""
        if f["z"].shape[1] != f["weight"].dim or f["c"].shape != (f["alpha"].shape[1],):
            raise ValueError(f"LatticeExpansion: array 'z' should have {f['weight'].dim} columns and 'c' one entry "
                             f"per column of 'alpha', got shapes {f['z'].shape}, {f['c'].shape}")
        return cls(f["z"], f["alpha"], f["c"], f["weight"])

    def __call__(self, q, dq=None):
        """Values at ``q`` (shape (Q, d) in periods, any reals), shape (Q, m); ``dq`` (an exact remainder far below
        the resolution of ``q``) only enters the certified residual."""
        N, d = self.z.shape
        q = np.asarray(q, dtype=float).reshape(-1, d)
        q = q - np.floor(q)
        if d >= 2 and N >= _SPLIT_NODES:
            return self._split_values(q) + self.c
        if self._transform is None:
            self._transform = self.kernel.transform(self.z, self.alpha)
        return self.kernel.expand(q, self.z, self.alpha, transform=self._transform) + self.c

    def _split_values(self, q):
        """``sum_j alpha_j kappa(q - z_j)`` through a split with about ``_EVAL_PAIRS`` near nodes per query: the
        near part from :meth:`TorusKernel.near_matrix`, the smooth part by NUFFTs (within ``_SPLIT_EPS kappa(0)
        sum |alpha|``)."""
        N, d = self.z.shape
        if self._split is None:
            kernel = TorusKernel(self.weight, eta=split_for_pairs(N, d, _EVAL_PAIRS[d]))
            W, kmax = kernel.weight_box()
            F = transforms.adjoint(2 * np.pi * self.z, self.alpha, kmax, eps=_SPLIT_EPS)
            self._split = (kernel, F * W[..., None])
        kernel, coef = self._split
        out = np.empty((q.shape[0], self.alpha.shape[1]))
        for start in range(0, q.shape[0], _SPLIT_QUERIES):
            sl = slice(start, min(q.shape[0], start + _SPLIT_QUERIES))
            smooth = transforms.evaluate(coef, 2 * np.pi * q[sl], eps=_SPLIT_EPS).real
            out[sl] = kernel.near_matrix(q[sl], self.z) @ self.alpha + smooth.reshape(-1, self.alpha.shape[1])
        return out


def _apply_extended(kernel, real, feats, x):
    """``G x`` in long double, with ``real`` the real-space matrix and ``feats`` the nodes' (cos, sin) features:
    returns the product and ``|G| |x|``'s bound used for the rounding, both (N, m)."""
    xl = x.astype(np.longdouble)
    # einsum on the double matrices casts in buffers and sums in long double (the bound below holds for any order of
    # summation): no long double copy of the N x N matrix, and no strided long double matmul through c.T
    out = np.einsum("ij,jk->ik", real, xl)
    cos, sin = feats
    _, w, w0 = kernel.mode_weights
    w = 2.0 * w
    for start in range(0, w.size, _MODE_CHUNK):
        sl = slice(start, min(w.size, start + _MODE_CHUNK))
        c, s = cos[:, sl], sin[:, sl]
        wl = w[sl].astype(np.longdouble)[:, None]
        out += np.einsum("ij,jk->ik", c, wl * np.einsum("ij,ik->jk", c, xl))
        out += np.einsum("ij,jk->ik", s, wl * np.einsum("ij,ik->jk", s, xl))
    out += np.longdouble(w0) * np.sum(xl, axis=0)
    mag = (np.abs(real) @ np.abs(x)) + (float(np.sum(w)) + abs(w0)) * np.sum(np.abs(x), axis=0)
    return out, mag


def dense_memory(N, dim, n_modes=None):
    """Peak bytes of :func:`solve_lattice_limit`: the kernel matrix, its real-space part, the factor and a product;
    the nodes' cos/sin features three times over (`n_modes` kept modes, by default the dense kernel's count for an
    LFP weight in `dim`)."""
    if n_modes is None:
        n_modes = _DEFAULT_MODES[dim]
    return 8 * (N + 1) ** 2 * 4 + 8 * N * 2 * n_modes * 3


# Kept modes of the default split's reciprocal sum by dimension (LFP weights; the memory estimate's default).
_DEFAULT_MODES = {1: 8, 2: 966, 3: 33725}


def solve_lattice_limit(z, rhs, *, weight, dz=None, point_scale=None, refine=4):
    """Dense K = infinity solve with the Ewald-split kernel, refined in extended precision, certified at the points.

    Parameters
    ----------
    z : ndarray, shape (N, d)
        Distinct nodes in periods, in ``[0, 1)^d``.
    rhs : ndarray, shape (N, m)
        Real right-hand sides ``y - h_ini``.
    weight : Weight
        With a torus kernel (:func:`fpnorm.lattice_kernels.has_torus_kernel`); ``zero=None`` leaves the constant
        free (the bordered system).
    dz : ndarray, shape (N, d), optional
        ``x / P - z`` (exact remainders): the residual is certified at ``z + dz``.
    point_scale : float, optional
        The largest ``|x| / P`` of the points as given (for ``info.sensitivity``).
    refine : int
        At most this many steps of refinement.

    Returns
    -------
    piece : LatticeExpansion
    norm2 : ndarray, shape (m,)
        ``||h - h_ini||_gamma^2 = alpha^T G alpha`` per column.
    info : SolveInfo
        ``info.residual`` certified (:func:`lattice_residual`), ``info.condition`` the 1-norm condition estimate of
        the (bordered) matrix, ``info.iterations`` the refinement steps taken.

    Raises
    ------
    ValueError
        For more than :data:`DENSE_LIMIT_MAX_POINTS` points.
    """
    start = time.perf_counter()
    N, m = rhs.shape
    d = z.shape[1]
    if N > DENSE_LIMIT_MAX_POINTS:
        raise ValueError(f"Expected at most {DENSE_LIMIT_MAX_POINTS} distinct points for K=None in d = {d}, got "
                         f"{N}: the dense K = infinity solve holds N x N matrices (O(N^3) time). Use "
                         f"method='lattice_matfree' (d = 2, 3) or an integer K (its info.truncation_error says how "
                         f"far it is from K = infinity).")
    kernel = TorusKernel(weight)
    check_memory(dense_memory(N, d, kernel.mode_weights[1].size), f"the {N} x {N} K = infinity kernel matrices",
                 "Use fewer points or an integer K.")
    free = kernel.free_constant
    feats = kernel.features(z)
    real, G = kernel.matrix(z, split=True, features=feats)
    G += real
    n = N + 1 if free else N
    b = np.zeros((n, m))
    b[:N] = rhs
    factor, rcond = _factor(G, free)

    applied = {}

    def residual(x):
        Gx, mag = _apply_extended(kernel, real, feats, x[:N])
        applied[id(x)] = (Gx, mag)
        r = b.astype(np.longdouble)
        r[:N] -= Gx
        if free:
            r[:N] -= x[N].astype(np.longdouble)
            r[N] -= np.sum(x[:N].astype(np.longdouble), axis=0)
        return r.astype(float)

    x = factor(b)
    # a first step against the assembled matrix in double precision (one BLAS product), then the extended-precision
    # residual, which the certificate reuses: a well-conditioned system needs no second extended product
    r = b.copy()
    r[:N] -= G @ x[:N]
    if free:
        r[:N] -= x[N]
        r[N] -= np.sum(x[:N], axis=0)
    x = x + factor(r)
    r = residual(x)
    steps = 1
    for _ in range(refine - 1):
        if np.max(np.abs(r)) <= _DONE * np.max(np.abs(b)):
            break
        x_new = x + factor(r)
        r_new = residual(x_new)
        if not np.max(np.abs(r_new)) < np.max(np.abs(r)):
            break
        x, r, steps = x_new, r_new, steps + 1
    alpha = x[:N]
    c = x[N] if free else np.zeros(m)
    f = LatticeExpansion(z, alpha, c, weight)
    cos, sin = feats
    f._transform = (cos.T @ alpha, sin.T @ alpha)
    norm2 = np.maximum(np.einsum("im,im->m", alpha, G @ alpha), 0.0)
    info = SolveInfo(LATTICE_METHOD, float("nan"), 1.0 / rcond if rcond > 0 else np.inf, steps)
    info.residual, info.residual_kind, info.sensitivity = lattice_residual(
        f, z, dz, rhs, point_scale=point_scale, real=real, feats=feats, applied=applied[id(x)])
    info.seconds = time.perf_counter() - start
    return f, norm2, info


def _factor(G, free):
    """A solver of the (bordered, when `free`) system and its reciprocal condition estimate (1-norm).

    ``G`` is positive definite (``alpha^T G alpha = sum_k gamma(k)^2 |alpha^(k)|^2``), so a Cholesky factor serves,
    with the border by its Schur complement ``1^T G^-1 1``; when rounding makes ``G`` numerically indefinite (its
    condition beyond ~1e16) the bordered matrix is factored by Bunch-Kaufman instead.
    """
    N = G.shape[0]
    anorm = float(np.max(np.sum(np.abs(G), axis=0))) + (1.0 if free else 0.0)
    try:
        cf = sla.cho_factor(G, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        cf = None
    if cf is not None:
        rcond = sla.lapack.dpocon(cf[0], anorm, uplo="L")[0]
        if not free:
            return (lambda v: sla.cho_solve(cf, v, check_finite=False)), rcond
        u = sla.cho_solve(cf, np.ones(N), check_finite=False)
        schur = float(np.sum(u))
        if schur > 0:
            def solve_bordered(v):
                w = sla.cho_solve(cf, v[:N], check_finite=False)
                c = (np.sum(w, axis=0) - v[N]) / schur
                return np.concatenate([w - u[:, None] * c, c[None, :]], axis=0)
            return solve_bordered, rcond
    n = N + 1 if free else N
    B = np.zeros((n, n))
    B[:N, :N] = G
    if free:
        B[:N, N] = B[N, :N] = 1.0
    lu, piv, info = sla.lapack.dsytrf(B, lower=1)
    if info > 0:   # an exactly singular pivot: coincident nodes cannot reach here (they are merged)
        raise np.linalg.LinAlgError(f"The K = infinity kernel matrix is singular (pivot {info} of {n}).")
    rcond = sla.lapack.dsycon(lu, piv, float(np.max(np.sum(np.abs(B), axis=0))), lower=1)[0]
    return (lambda v: sla.lapack.dsytrs(lu, piv, v, lower=1)[0]), rcond


def lattice_residual(piece, z, dz, rhs, *, point_scale=None, real=None, feats=None, applied=None):
    """Certified residual ``max |h(x_n) - y_n| / max |y|`` of a :class:`LatticeExpansion` at ``z + dz``.

    The value at a node is the kernel sum in long double (real-space matrix plus the reciprocal sum through the
    nodes' features); its bar is the kernel's own error (:attr:`TorusKernel.error`) times ``sum |alpha|``, the long
    double rounding, the kernel's Lipschitz bound times ``sum |alpha|`` times the offset ``|dz|`` and the rounding of
    the differences, and the rounding of the returned values.

    Returns
    -------
    residual : float
        Upper end of the certified interval, relative to ``max |rhs|``.
    kind : str
        "exact" or "bound".
    sensitivity : float
        ``max_n |grad h(z_n)| eps point_scale / max |y|`` (``|grad h|`` by difference quotients along the axes).
    """
    kernel, alpha, c = piece.kernel, piece.alpha, piece.c
    N, d = z.shape
    if real is None:
        real = kernel.matrix(z, split=True)[0]
    if feats is None:
        feats = kernel.features(z)
    Gx, mag = _apply_extended(kernel, real, feats, alpha) if applied is None else applied
    values = (Gx + c.astype(np.longdouble)).astype(float)
    total = np.sum(np.abs(alpha), axis=0)
    offset = np.zeros(N) if dz is None else np.sqrt(np.sum(dz**2, axis=1))
    n_terms = N + 2 * kernel.mode_weights[1].size + 2
    # the points lie |dz| beyond the nodes, and each difference z_n - z_j is rounded by at most 2u per coordinate
    move = kernel.holder(offset + 4 * _U * math.sqrt(d))[:, None] * total
    bar = kernel.error * total + n_terms * _ULD * 4 * (mag + np.abs(c)) + move + 2 * _U * np.abs(values)
    absolute = np.abs(values - rhs)
    hi, lo = absolute * (1 + 2 * _U) + bar, np.maximum(absolute * (1 - 2 * _U) - bar, 0.0)
    upper, lower = relative_interval(hi, lo, rhs)
    residual, kind, _ = interval_kind(upper, lower)
    # |grad h| at the nodes by a difference quotient along the diagonal (an estimate, as in 1-d: cancelling dual
    # coefficients make sum |alpha| times the kernel's Lipschitz bound far too large), at the nodes with the largest
    # |alpha|, where the cancellation between close nodes is
    pick = np.argsort(-np.max(np.abs(alpha), axis=1))[:_SLOPE_NODES]
    slope = np.abs(piece(z[pick] + _STEP / math.sqrt(d)) - values[pick]) / _STEP
    top = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    scale_pts = float(np.max(z, initial=0.0)) if point_scale is None else float(point_scale)
    sens = float(np.max(slope, initial=0.0) * math.sqrt(d) * np.finfo(float).eps * scale_pts
                 / (top if top > 0 else 1.0))
    return residual, kind, sens
