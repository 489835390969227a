"""What every solve path shares: the validated problem, the result record, right-hand sides, the free-mode projection,
the scaled design and the residual.

The problem (all arrays already validated by :class:`fpnorm.FPInterpolator` or :class:`fpnorm.LFPFlow`)::

    minimise  sum_k |c_k|^2 / g_k      subject to   sum_k c_k e^{i k.t_n} = r_n,   n = 1..N,

over the box ``|k|_inf <= K``, with ``g_k = gamma(k)^2`` and ``g_k = inf`` for free modes. ``r`` is real with
``m`` columns (:func:`right_hand_sides` splits complex data into real and imaginary columns), so the solution is
Hermitian and is computed in the real cos/sin basis of :mod:`fpnorm.lattice`.
"""

from dataclasses import dataclass, field, fields

import numpy as np
import scipy.linalg as sla

from .. import transforms
from .._internal.checks import evaluate_function
from .._internal.memory import check_memory
from ..lattice import complex_to_real, real_design, real_design_memory, real_to_complex

__all__ = ["Problem", "SolveInfo", "Solution", "FreeModes", "ScaledDesign", "scaled_design", "real_scales",
           "relative_residual", "direct_values", "forward", "values_at_points", "right_hand_sides", "join_complex",
           "evaluate_h_ini", "scale_exponent", "RESIDUAL_KINDS"]

# What `SolveInfo.residual` is: "exact" -- the residual at the points to within 10% and never below it (exactly
# phased sums with a proven error bar that narrow); "bound" -- a proven upper bound (:mod:`fpnorm.solvers.certify`).
RESIDUAL_KINDS = ("exact", "bound")


@dataclass
class Problem:
    """A validated minimum-norm interpolation problem.

    Attributes
    ----------
    t : ndarray, shape (N, d)
        Angles ``2 pi x / P`` in ``[0, 2 pi)``, distinct.
    rhs : ndarray, shape (N, m)
        Real right-hand sides (``y - h_ini(x)``).
    K : int
    g : ndarray, shape ``(2K+1,)*d``
        ``gamma(k)^2``; ``inf`` marks free modes.
    eps : float
        finufft tolerance for kernels and forward maps.
    t_lo : ndarray, shape (N, d), optional
        Low parts of the angles: the points sit at ``t + t_lo`` exactly (:func:`fpnorm.lattice.exact_angles`);
        None means at ``t``. Residuals are measured, and explicit designs built, at ``t + t_lo``.
    angle_scale : float, optional
        The largest ``|2 pi x / P|_2`` of the points as the user gave them (before wrapping): the rounding of those
        floats moves ``h`` by up to ``sum_k |c_k| |k|_2 eps angle_scale`` (``SolveInfo.sensitivity``). None: from
        the angles.
    """

    t: np.ndarray
    rhs: np.ndarray
    K: int
    g: np.ndarray
    eps: float = transforms.DEFAULT_EPS
    t_lo: np.ndarray = None
    angle_scale: float = None

    @property
    def N(self):
        return self.t.shape[0]

    @property
    def dim(self):
        return self.t.shape[1]

    @property
    def M(self):
        return self.g.size

    @property
    def free(self):
        """Boolean mask over the flat box of the unpenalised modes."""
        return np.isinf(self.g.reshape(-1))

    @property
    def g_penalised(self):
        """``g`` with free modes set to zero (the kernel of the penalised part), shape ``(2K+1,)*d``."""
        return np.where(np.isinf(self.g), 0.0, self.g)


@dataclass
class SolveInfo:
    """How a solve went.

    Attributes
    ----------
    method : str
        The method that produced the answer (one of :data:`fpnorm.solvers.METHODS`; "smoothing", "active-set" or
        "cvxpy" for the variants of :mod:`fpnorm.solvers.smoothing` and :mod:`fpnorm.solvers.constrained`).
    residual : float
        ``max_n |h(x_n) - y_n| / max_n |y_n - h_ini(x_n)|`` (relative to the right-hand sides) at the points
        themselves (0 data give the absolute value): exactly phased sums with a proven error bar, reported at the
        bar's upper end (:mod:`fpnorm.solvers.certify`).
    condition : float
        Estimate of the 1-norm condition number of the (projected) kernel matrix ``G``; nan when not estimated.
    iterations : int
        Refinement steps (direct methods) or Krylov iterations (iterative method).
    attempts : list of str
        Each method tried, with the reason it was left, in order.
    seconds : float
        Wall-clock time of the solve.
    status : str
        Solver status: "optimal" for the exact and closed-form solves; for cvxpy solves the solver's status
        ("optimal", "optimal_inaccurate", ...).
    truncation_error : float
        Estimate of ``max_x |h_K(x) - h_inf(x)|`` on the torus, in the units of the data (the largest over the
        right-hand sides): how far the truncated solution is from the K = infinity one
        (:func:`fpnorm.solvers.truncation.truncation_error`; measured on a grid in 1-d for PowerLaw p = 2, 4, LFP
        and Sobolev s = 1). 0 for ``K=None``; ``inf`` when the weight's
        ``sum gamma(k)^2`` diverges (no K = infinity limit); nan when not estimated (tolerances and bounds, smoothing
        fits of more points than half the modes).
    residual_kind : str or None
        One of :data:`RESIDUAL_KINDS`: "exact" (within 10% of the true residual, never below it) or "bound" (a
        proven upper bound); None for a record saved before residuals were certified.
    sensitivity : float
        ``sum_k |c_k| |k|_2 (2 pi / P) eps max_n |x_n|_2 / max_n |y_n - h_ini(x_n)|``: how far the rounding of the
        points themselves (relative ``eps``, machine epsilon) can move ``h`` at them, relative like the residual;
        nan when not computed (None in a record saved before it was). Above ``rtol`` the data do not pin the
        interpolant down at the accuracy asked for.
    """

    method: str
    residual: float
    condition: float = float("nan")
    iterations: int = 0
    attempts: list = field(default_factory=list)
    seconds: float = 0.0
    status: str = "optimal"
    truncation_error: float = float("nan")
    residual_kind: str = None
    sensitivity: float = float("nan")

    def __post_init__(self):
        # a record saved before these figures existed loads them as None: not computed, like nan
        for name in ("truncation_error", "sensitivity"):
            if getattr(self, name) is None:
                setattr(self, name, float("nan"))

    def __eq__(self, other):
        """Field by field, with NaN equal to NaN (a missing condition estimate is NaN) and arrays compared by value,
        so a record equals its saved and loaded copy. The record stays unhashable (it is mutable)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    def to_dict(self):
        return {"method": self.method, "residual": self.residual, "condition": self.condition,
                "iterations": self.iterations, "attempts": list(self.attempts), "seconds": self.seconds,
                "status": self.status, "truncation_error": self.truncation_error, "residual_kind": self.residual_kind,
                "sensitivity": self.sensitivity}


def _same(a, b):
    """Equality of two field values: NaN equals NaN, arrays (and lists) compare element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and
                                                          b.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, (float, np.floating)) and isinstance(b, (float, np.floating)) and a != a and b != b:
        return True
    return bool(a == b)


@dataclass
class Solution:
    """Complex box coefficients of ``h - h_ini`` (shape ``(2K+1,)*d + (m,)``) and how they were found.

    ``dual`` maps real right-hand sides ``r`` (shape (N, m)) to the dual variables
    ``alpha = Q_2 (Q_2^T G Q_2)^-1 Q_2^T r`` of their truncated interpolant (whose penalised coefficients are
    ``g_k sum_n alpha_n e^{-i k.t_n}``): exactly, reusing the factorisation, for the direct solvers; approximately
    (the preconditioner) for the iterative one, which gives the solution's own dual variables in ``alpha`` (shape
    (N, m); None: ``dual(rhs)``). The iterative solver also hands over the parts of its preconditioner that the
    truncation estimate refactors for ``G_K`` plus its tail: ``local``, its KL factor's pattern with ``G_K``'s values
    on it (:class:`fpnorm.solvers.precondition.LocalKernel`; None where it factored by the sorted chain alone), and
    ``coarse``, its two-level correction (:class:`fpnorm.solvers.coarse.TwoLevel`).
    :func:`fpnorm.solvers.truncation.truncation_error` uses them; the caller drops them all afterwards.
    ``certified``, where a runner measured the residual of ``coef`` itself with a proven bound (the 1-d iterative
    solve, :mod:`fpnorm.solvers.remainder`), is its certified relative residual ``(upper, lower)``.
    """

    coef: np.ndarray
    info: SolveInfo
    dual: object = None
    alpha: np.ndarray = None
    local: object = None
    coarse: object = None
    certified: tuple = None


class FreeModes:
    """The free (unpenalised) real basis functions at the points, and the orthogonal projection that removes them.

    With ``F`` the ``N x n_f`` matrix of free basis functions and ``F = Q R`` its full QR factorisation, the
    constraint rows split into ``Q_1^T`` (they fix the free coefficients) and ``Q_2^T`` (they constrain the penalised
    part alone). Q is kept as Householder reflectors (LAPACK geqrf/ormqr), so applying it costs ``O(n_f N)`` a column.
    """

    def __init__(self, problem):
        N, K, dim = problem.N, problem.K, problem.dim
        M = problem.M
        H = (M - 1) // 2
        free_flat = np.flatnonzero(problem.free)
        # real-basis columns of the free modes: k = 0 -> column 0; k in the half box -> a (cos) and b (sin) columns
        cols = []
        for f in free_flat:
            if f == H:
                cols.append(0)
            elif f > H:
                cols += [f - H, f - H + H]
        self.cols = np.array(sorted(cols), dtype=int)
        self.n = len(self.cols)
        self.N, self.M = N, M
        self.K, self.dim = K, dim
        if self.n == 0:
            return
        if self.n > N:
            raise ValueError(f"Expected at most as many unpenalised modes as distinct points: {self.n} free real "
                             f"basis functions, {N} points, so the free part is not determined by the data. Add points "
                             f"or give the free modes a finite weight (e.g. `zero=` for k = 0).")
        F = real_design(problem.t, K, dim, cols=self.cols, t_lo=problem.t_lo)
        qr, tau, _, info = sla.lapack.dgeqrf(F)
        self._qr, self._tau = qr, tau
        diag = np.abs(np.diag(qr[: self.n, : self.n]))
        if diag.min() <= 1e-10 * max(diag.max(), 1.0) * np.sqrt(N):
            raise ValueError(f"The {self.n} unpenalised basis functions are linearly dependent at the given points "
                             f"(rank < {self.n}); their coefficients are not determined by the data. Add points or "
                             f"give the free modes a finite weight (e.g. `zero=` for k = 0).")
        self.R = np.triu(qr[: self.n, : self.n])

    def _apply(self, X, side, trans):
        X = np.asfortranarray(X, dtype=float)
        # LAPACK's optimal work is the block size (<= 64) times the dimension of X not being transformed; a work array
        # over the long side cost 5.6 ms a call in fresh pages at N = 1e5, 100x the product itself
        lwork = max(1, 64 * ((X.shape[1] if X.ndim > 1 else 1) if side == "L" else X.shape[0]))
        out, _, info = sla.lapack.dormqr(side, trans, self._qr, self._tau, X, lwork)
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise np.linalg.LinAlgError(f"LAPACK dormqr failed with info = {info}.")
        return out

    def qt(self, X):
        """``Q^T X`` for X of shape (N, ...) (identity when there are no free modes)."""
        return X if self.n == 0 else self._apply(X, "L", "T")

    def q(self, X):
        """``Q X``."""
        return X if self.n == 0 else self._apply(X, "L", "N")

    def project_matrix(self, G):
        """``(Q^T G Q)[n_f:, n_f:]`` for a symmetric N x N matrix G."""
        if self.n == 0:
            return G
        left = self._apply(G, "L", "T")
        both = self._apply(left, "R", "N")
        return np.ascontiguousarray(both[self.n:, self.n:])

    def lift(self, beta):
        """``Q [0; beta]``: a vector in the orthogonal complement of the free functions, from its coordinates."""
        if self.n == 0:
            return beta
        full = np.zeros((self.N,) + beta.shape[1:])
        full[self.n:] = beta
        return self._apply(full, "L", "N")

    def free_coefficients(self, remainder):
        """Free real coefficients ``c_F`` with ``F c_F`` matching ``remainder`` on the ``Q_1`` rows."""
        top = self.qt(remainder)[: self.n]
        return sla.solve_triangular(self.R, top, lower=False)

    def add_free_part(self, coef, remainder):
        """Box coefficients `coef` (shape ``(2K+1,)*d + (m,)``) plus the free modes fitted to `remainder` (shape
        (N, m)), the part of the data that the penalised coefficients leave unexplained at the points."""
        if self.n == 0:
            return coef
        real = np.zeros((self.M,) + remainder.shape[1:])
        real[self.cols] = self.free_coefficients(remainder)
        return coef + real_to_complex(real, self.K, self.dim)


def forward(coef, problem):
    """Forward map: the values ``h(x_n)`` of box coefficients at the problem's points by NUFFT, real, shape (N, m)."""
    return values_at_points(lambda c: transforms.evaluate(c, problem.t, eps=problem.eps), coef, problem).real


def values_at_points(evaluate, coef, problem):
    """``h`` at the points ``t + t_lo`` from a map `evaluate` (coefficients -> values at the rounded angles ``t``).

    A NUFFT takes the rounded angles; the points lie ``t_lo`` (up to half a unit of rounding of ``t``) beyond them,
    which moves ``h`` by up to ``sum_k |c_k| |k.t_lo|`` -- far more than rounding when the coefficients are large.
    The first-order term ``sum_j t_lo_j h_j'`` (one more `evaluate` per axis, of ``i k_j c``) removes that; what is
    left is at most ``sum_k |c_k| (k.t_lo)^2 / 2 <= 1e-31 d K^2 sum_k |c_k|``.
    """
    values = evaluate(coef)
    if problem.t_lo is None:
        return values
    dim, K = problem.dim, problem.K
    ks = np.arange(-K, K + 1)
    for j in range(dim):
        axis = ks.reshape((1,) * j + (-1,) + (1,) * (dim - 1 - j) + (1,) * (coef.ndim - dim))
        values = values + problem.t_lo[:, j].reshape((-1,) + (1,) * (coef.ndim - dim)) * evaluate(1j * axis * coef)
    return values


def direct_values(coef, design, K, dim):
    """``Re h(x_n)`` for box coefficients, summed directly with an explicit real design matrix, shape (N, m).

    Exact for any coefficients (Hermitian or not): ``Re sum_k c_k e^{i k.t} = sum_k a_k cos(k.t) + b_k sin(k.t)``
    with ``[a_0, a, b]`` = :func:`fpnorm.lattice.complex_to_real` of ``c``, and the design matrix holds exactly those
    cos/sin values. A direct sum has no NUFFT tolerance: it is the more exact measurement.
    """
    u = complex_to_real(coef, K, dim).reshape((design.shape[1], -1))
    return design @ u


def relative_residual(values, rhs):
    """``max |values - rhs| / max |rhs|`` per solve, reduced over columns (absolute when ``rhs`` is zero)."""
    scale = np.max(np.abs(rhs)) if rhs.size else 0.0
    err = np.max(np.abs(values - rhs)) if rhs.size else 0.0
    return float(err / scale) if scale > 0 else float(err)


def real_scales(problem):
    """``sqrt(g)`` per column of the real basis: ``g_0`` for column 0, ``2 g_k`` for the cos and sin columns of ``k``
    (so that ``||h||_gamma = ||u||`` for real coefficients ``scales * u``); ``inf`` on free modes."""
    M = problem.M
    H = (M - 1) // 2
    g = problem.g.reshape(-1)
    half = g[H + 1:]
    return np.sqrt(np.concatenate([[g[H]], 2 * half, 2 * half]))


@dataclass
class ScaledDesign:
    """The real basis at the points and its penalised, scaled part.

    Attributes
    ----------
    design : ndarray, shape (N, M)
        ``[1, cos(k.t), sin(k.t)]``: the exact forward map in the real basis.
    scales : ndarray, shape (M,)
        :func:`real_scales`.
    pen : ndarray of int
        Penalised (finite-weight) real columns.
    free_cols : ndarray of int
        Free real columns (:attr:`FreeModes.cols`).
    A : ndarray, shape (N, len(pen))
        ``design[:, pen] * scales[pen]``: in these coordinates the FP-norm is the Euclidean norm.
    """

    design: np.ndarray
    scales: np.ndarray
    pen: np.ndarray
    free_cols: np.ndarray
    A: np.ndarray

    @property
    def F(self):
        """The free real basis functions at the points, shape (N, n_f)."""
        return self.design[:, self.free_cols]

    def real_coefficients(self, u, w=None):
        """Real-basis coefficients (shape (M,) + tail) from scaled penalised coordinates `u` (shape (len(pen),) +
        tail; ``||h||_gamma = ||u||``) and free coefficients `w` (shape (n_f,) + tail; zero when None)."""
        u = np.asarray(u)
        real = np.zeros((self.scales.size,) + u.shape[1:])
        real[self.pen] = self.scales[self.pen].reshape((-1,) + (1,) * (u.ndim - 1)) * u
        if w is not None:
            real[self.free_cols] = w
        return real


def scaled_design(problem, free):
    """:class:`ScaledDesign` of `problem`, with `free` its :class:`FreeModes`."""
    N, K, dim = problem.N, problem.K, problem.dim
    # the design, then its scaled copy (and the penalised columns' copy when some modes are free)
    check_memory(real_design_memory(N, K, dim) + 16 * N * problem.M, f"the real design matrix of {N} points x "
                 f"{problem.M} modes", "Use a smaller `K` or fewer points.")
    design = real_design(problem.t, problem.K, problem.dim, t_lo=problem.t_lo)
    scales = real_scales(problem)
    if free.n == 0:  # every column penalised: no column selection (saves a copy of the N x M matrix)
        return ScaledDesign(design, scales, np.arange(problem.M), free.cols, design * scales)
    pen = np.setdiff1d(np.arange(problem.M), free.cols)
    return ScaledDesign(design, scales, pen, free.cols, design[:, pen] * scales[pen])


# -- right-hand sides -------------------------------------------------------------------------------------------------
def evaluate_h_ini(h_ini, is_real, x, period):
    """Values of a checked initial function (:func:`fpnorm._internal.checks.check_h_ini`) at wrapped points ``x`` of
    shape (Q, d); None when there is no initial function."""
    if h_ini is None:
        return None
    if callable(h_ini):
        return evaluate_function(h_ini, x, "h_ini", x.shape[0], x.shape[1])
    vals = transforms.evaluate(h_ini, (2 * np.pi / period) * x)
    return vals.real if is_real else vals


def right_hand_sides(values, h_ini_values):
    """The real right-hand sides ``r = y - h_ini(x)`` that every solve path takes.

    Parameters
    ----------
    values : ndarray, shape (N,) or (N, m)
        The data, real or complex.
    h_ini_values : ndarray of shape (N,), or None
        ``h_ini`` at the points.

    Returns
    -------
    rhs : float ndarray, shape (N, m), or (N, 2m) for complex data: real parts, then imaginary parts
    is_complex : bool
        Whether the data or ``h_ini`` were complex (undo the split with :func:`join_complex`).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        rhs = (values if values.ndim == 2 else values[:, None]) - (0.0 if h_ini_values is None
                                                                   else h_ini_values[:, None])
    if not np.isfinite(rhs).all():  # finite values and h_ini whose difference leaves the double range
        raise ValueError("Expected `values` - `h_ini` within the double range (|y - h_ini| <= 1.8e308), got an "
                         "overflow: scale `values` and `h_ini` down by a power of two (the interpolant scales by the "
                         "same factor).")
    is_complex = bool(np.iscomplexobj(rhs))
    if is_complex:
        rhs = np.concatenate([rhs.real, rhs.imag], axis=1)
    return np.ascontiguousarray(rhs, dtype=float), is_complex


def scale_exponent(rhs):
    """The exponent ``e`` with ``max |ldexp(rhs, -e)|`` in ``[1/2, 1)`` (0 for zero or non-finite data).

    Solvers work on right-hand sides scaled by this exact power of two: the relative residual is unchanged and no
    solver sees data near under- or overflow.
    """
    top = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    return int(np.frexp(top)[1]) if 0.0 < top < np.inf else 0


def join_complex(arr, is_complex):
    """Undo the real/imaginary split of :func:`right_hand_sides` along the last axis (``arr`` unchanged when real)."""
    if not is_complex:
        return arr
    half = arr.shape[-1] // 2
    return arr[..., :half] + 1j * arr[..., half:]
