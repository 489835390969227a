"""What every solve path shares: the validated problem, the result record, the free-mode projection, the residual.

The problem (all arrays already validated by :class:`fpnorm.FPInterpolator`)::

    minimise  sum_k |c_k|^2 / g_k      subject to   sum_k c_k e^{i k.t_n} = r_n,   n = 1..N,

over the box ``|k|_inf <= K``, with ``g_k = gamma(k)^2`` and ``g_k = inf`` for free modes. ``r`` is real with
``m`` columns, so the solution is Hermitian and is computed in the real cos/sin basis of :mod:`fpnorm.lattice`.

Also here: :func:`direct_values` (exact residual checks with an explicit design matrix) and :func:`single_threaded`
(small dense factorisations on one BLAS thread, see the comment above it).
"""

import contextlib
import ctypes
import os
import threading
from dataclasses import dataclass, field, fields

import numpy as np
import scipy.linalg as sla

from .. import transforms
from ..lattice import real_to_complex

__all__ = ["Problem", "SolveInfo", "Solution", "FreeModes", "ScaledDesign", "scaled_design", "real_scales",
           "relative_residual", "direct_values", "single_threaded", "blas_thread_counts"]


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
    """

    t: np.ndarray
    rhs: np.ndarray
    K: int
    g: np.ndarray
    eps: float = transforms.DEFAULT_EPS

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
        ``max_n |h(x_n) - y_n| / max_n |y_n|`` measured with the exact forward map (0 data give the absolute value).
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
    """

    method: str
    residual: float
    condition: float = float("nan")
    iterations: int = 0
    attempts: list = field(default_factory=list)
    seconds: float = 0.0
    status: str = "optimal"

    def __eq__(self, other):
        """Field by field, with NaN equal to NaN (a missing condition estimate is NaN) and arrays compared by value,
        so a record equals its saved and loaded copy. The record stays unhashable (it is mutable)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    def to_dict(self):
        return {"method": self.method, "residual": self.residual, "condition": self.condition,
                "iterations": self.iterations, "attempts": list(self.attempts), "seconds": self.seconds,
                "status": self.status}

    # persistence (fpnorm.io): no arrays, the fields as JSON
    def _to_state(self):
        return {}, self.to_dict()

    @classmethod
    def _from_state(cls, arrays, meta):
        types = {"method": str, "residual": (int, float), "condition": (int, float), "iterations": int,
                 "attempts": list, "seconds": (int, float), "status": str}
        if set(meta) != set(types) or arrays:
            raise ValueError(f"SolveInfo state should have exactly the fields {sorted(types)} and no arrays, got "
                             f"{sorted(meta)} and arrays {sorted(arrays)}")
        for key, kind in types.items():
            if isinstance(meta[key], bool) or not isinstance(meta[key], kind):
                raise TypeError(f"SolveInfo field {key!r} should be {kind}, got {type(meta[key]).__name__}")
        if not all(isinstance(a, str) for a in meta["attempts"]):
            raise TypeError("SolveInfo field 'attempts' should be a list of strings")
        return cls(meta["method"], float(meta["residual"]), float(meta["condition"]), meta["iterations"],
                   list(meta["attempts"]), float(meta["seconds"]), meta["status"])


def _same(a, b):
    """Equality of two field values: NaN equals NaN, arrays (and lists) compare element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and
                                                          b.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (float, np.floating)) and isinstance(b, (float, np.floating)) and a != a and b != b:
        return True
    return bool(a == b)


@dataclass
class Solution:
    """Complex box coefficients of ``h - h_ini`` (shape ``(2K+1,)*d + (m,)``) and how they were found.

    ``design``, when a solver built it, is the explicit real design matrix ``[1, cos(k.t), sin(k.t)]`` at the
    points (shape (N, M), :func:`fpnorm.lattice.real_design`): the final residual check then sums it directly
    instead of running a NUFFT (:func:`direct_values`). :func:`fpnorm.solvers.solve` drops it before returning.
    """

    coef: np.ndarray
    info: SolveInfo
    design: np.ndarray = None


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
        self.N = N
        self.K, self.dim = K, dim
        if self.n == 0:
            return
        if self.n > N:
            raise ValueError(f"Expected at most as many unpenalised modes as distinct points: {self.n} free real "
                             f"basis functions, {N} points, so the free part is not determined by the data. Add points "
                             f"or give the free modes a finite weight (e.g. `zero=` for k = 0).")
        F = real_columns(problem.t, K, dim, self.cols)
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
        lwork = max(1, 64 * max(X.shape))
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


def real_columns(t, K, dim, cols):
    """Selected columns of the real basis ``[1, cos(k.t), sin(k.t)]`` (see :mod:`fpnorm.lattice`), shape (N, len(cols))."""
    from ..lattice import half_points

    cols = np.asarray(cols, dtype=int)
    M = (2 * K + 1) ** dim
    H = (M - 1) // 2
    half = half_points(K, dim)
    out = np.empty((t.shape[0], len(cols)))
    for j, c in enumerate(cols):
        if c == 0:
            out[:, j] = 1.0
        else:
            k = half[(c - 1) % H]
            phase = t @ k.astype(float)
            out[:, j] = np.cos(phase) if c <= H else np.sin(phase)
    return out


def complex_coef(u_real, K, dim):
    """Complex box coefficients (shape ``(2K+1,)*d + (m,)``) from real-basis coefficients (shape (M, m))."""
    return real_to_complex(u_real, K, dim)


def forward(coef, problem):
    """Exact forward map: the values ``h(x_n)`` of box coefficients at the problem's points, real, shape (N, m)."""
    return transforms.evaluate(coef, problem.t, eps=problem.eps).real


def direct_values(coef, design, K, dim):
    """``Re h(x_n)`` for box coefficients, summed directly with an explicit real design matrix, shape (N, m).

    Exact for any coefficients (Hermitian or not): ``Re sum_k c_k e^{i k.t} = sum_k a_k cos(k.t) + b_k sin(k.t)``
    with ``[a_0, a, b]`` = :func:`fpnorm.lattice.complex_to_real` of ``c``, and the design matrix holds exactly those
    cos/sin values. A direct sum has no NUFFT tolerance: it is the more exact measurement.
    """
    from ..lattice import complex_to_real

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
    A : ndarray, shape (N, len(pen))
        ``design[:, pen] * scales[pen]``: in these coordinates the FP-norm is the Euclidean norm.
    """

    design: np.ndarray
    scales: np.ndarray
    pen: np.ndarray
    A: np.ndarray


def scaled_design(problem, free):
    """:class:`ScaledDesign` of `problem`, with `free` its :class:`FreeModes`."""
    from ..lattice import real_design

    design = real_design(problem.t, problem.K, problem.dim)
    scales = real_scales(problem)
    if free.n == 0:  # every column penalised: no column selection (saves a copy of the N x M matrix)
        return ScaledDesign(design, scales, np.arange(problem.M), design * scales)
    pen = np.setdiff1d(np.arange(problem.M), free.cols)
    return ScaledDesign(design, scales, pen, design[:, pen] * scales[pen])


# -- dense linear algebra on one BLAS thread ------------------------------------------------------------------------
# numpy and scipy each load a threaded OpenBLAS. On small matrices (a QR of 513 x 119, a Cholesky of 120 x 120) its
# threads cost more to start and synchronise than the work they share, and on a loaded machine a thread that waits
# for a busy core makes a 2 ms LAPACK call take 10-20 ms (measured on the project's 2-core machine: ``dgeqrf`` of a
# 513 x 120 matrix, best of 30, 13.4 ms threaded under load against 2.1 ms on one thread).
#
# :func:`single_threaded` limits every OpenBLAS this process has loaded to one thread for the duration of a block and
# restores the previous counts afterwards. OpenBLAS's thread count is process-wide (even its ``_local`` setter, in
# pthreads builds), so the switch is reference-counted under a lock: nested and concurrent blocks in this process
# restore the counts once, when the last one leaves. Code in other threads that runs BLAS meanwhile runs on one
# thread too (slower, never different). Libraries without OpenBLAS's thread setters are left alone (no-op).

# (getter, setter) names of the thread-count functions of the OpenBLAS builds numpy and scipy ship (their symbols
# carry a ``scipy_`` prefix and, for the 64-bit-integer build, a ``64_`` suffix), then the plain OpenBLAS names.
_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads"))

_BLAS_LOCK = threading.Lock()
_BLAS_STATE = {"libs": None, "depth": 0, "saved": []}


def _loaded_openblas():
    """``[(get, set)]`` ctypes functions of every OpenBLAS loaded in this process (Linux: read from
    ``/proc/self/maps``; elsewhere none are found and :func:`single_threaded` does nothing)."""
    paths = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:  # pragma: no cover - not Linux
        return []
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover - a mapped library that cannot be opened again
            continue
        for get_name, set_name in _SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, put = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                found.append((get, put))
                break
    return found


def _libs():
    if _BLAS_STATE["libs"] is None:  # numpy's and scipy.linalg's (imported above) BLAS are loaded by now
        _BLAS_STATE["libs"] = _loaded_openblas()
    return _BLAS_STATE["libs"]


def blas_thread_counts():
    """Current thread count of each OpenBLAS loaded in this process (a list; empty when none was found)."""
    return [get() for get, _ in _libs()]


@contextlib.contextmanager
def single_threaded(enabled=True):
    """Context manager: every loaded OpenBLAS runs on one thread inside the block (when `enabled`).

    Results are unchanged up to the order of floating-point additions inside BLAS kernels (round-off).
    """
    if not enabled:
        yield
        return
    libs = _libs()
    with _BLAS_LOCK:
        if _BLAS_STATE["depth"] == 0:
            _BLAS_STATE["saved"] = [get() for get, _ in libs]
            for _, put in libs:
                put(1)
        _BLAS_STATE["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["depth"] -= 1
            if _BLAS_STATE["depth"] == 0:
                for (_, put), count in zip(libs, _BLAS_STATE["saved"]):
                    put(count)
