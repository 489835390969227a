"""Matrix-free iterative solve: Craig's method in coefficient space, NUFFT products, a sparse inverse-Cholesky
preconditioner.

With ``A z = Phi(sqrt(g) z)`` the values at the points of scaled coefficients ``z`` (so ``||h||_gamma = ||z||``),
the minimum-norm interpolant is the minimum-norm solution of ``A z = r``. Craig's method (Golub-Kahan
bidiagonalisation; Paige 1974) solves it with one type-2 and one type-1 NUFFT per iteration, ``O(N + M log M)``
work. It runs on the left-preconditioned system ``W P A z = W P r``, which has the same solutions: ``P`` projects out
the free (unpenalised) basis functions (:class:`FreeModes`; their coefficients are fitted afterwards) and ``W`` is a
sparse approximate inverse factor, ``W^T W ~ G^-1`` for the kernel matrix ``G = A A^T``. Mathematically this is CG
on ``W G W^T``; working with coefficients rather than the dual variables ``alpha = G^-1 r`` matters when points
nearly coincide: the dual variables are then huge and cancel, and a residual computed from them loses every digit,
while the coefficients stay moderate.

The stopping test is on the interpolation misfit ``max|r - A z|``, the quantity the user asked about. Each Krylov
run is at most ``_RUN`` iterations (twice as many after a run that used all its iterations and still made progress,
up to ``_RUN_MAX``), and ends early when its misfit sits flat (the floor that the rounding of its recurrences sets)
or runs away past convergence; its best iterate is kept, the residual is re-measured with the exact forward map and
a new run starts on what is left (iterative refinement), which resets that rounding.

Refinement also lets the runs' products be cheaper than the measurement (mixed-precision iterative refinement): a
run only has to get its correction right to a few digits relative to the remainder it is given, so its NUFFTs run at
a loose finufft tolerance (:mod:`fpnorm.solvers.products`, about half the cost of the tight ones in 3-d) and it
stops at what those products can see (a few digits below its remainder), while every remainder is measured at the
tightest tolerance (``_CHECK_EPS``; in 1-d with a proven bound, in extended precision where double precision cannot
resolve it, :mod:`fpnorm.solvers.remainder`) and the reported residual is certified outside this module. Where loose
products cannot make progress (nearly coincident points, rough data: ``sum |c_k| >> max |y|``) the runs fall back to
tight products (:class:`~fpnorm.solvers.products.ProductTiers`).

Preconditioner (:data:`DEFAULT_PRECONDITIONER`): in d >= 2 the KL-minimising factor of
:mod:`fpnorm.solvers.precondition` (``preconditioner="kl"``): a radius pattern ``max(rho * l_i, FLOOR[d] / K,
_SPACING[d] N^(-1/d))`` in an ``r``-net maximin ordering, so coarse points condition on a wide neighbourhood and no
point on less than the box kernel's resolution or a few of the points' spacings; ``W`` is its transpose (``W^T W = L L^T
~ G^-1``). In 1-d (``"auto"``) that factor too where the data are resolved by the box, else the Vecchia factor of
:mod:`fpnorm.solvers.vecchia` (``"vecchia"``: the sorted chain, whose two-point increments keep the products' rounding
small at nearly coincident points however the data jump there; coarse to fine on dyadic grids in higher d), to which a
KL solve that stalls also turns. Either is corrected on the lowest Fourier modes by the two-level balancing
preconditioner of :mod:`fpnorm.solvers.coarse` (a local factor misses those modes, and what it misses grows with N: 1-d
N = 1e5, K = 2^17, Sobolev(1.5) took 400-500 iterations without the correction and 100-125 with it).
"""


import numpy as np

from .. import transforms
from .._internal.memory import check_memory
from .._internal.progress import residual_progress
from .._internal.threads import background, single_threaded
from .certify import EXACT_SHARE, certified_values, extended_affordable, relative_interval
from .coarse import COARSE_WIDTH, TwoLevel, coarse_memory, coarse_space
from .maximin import resolution_floor
from .precondition import finite_weights, kl_factor, local_kernel, table_memory
from .problem import FreeModes, Solution, SolveInfo, relative_residual, values_at_points
from .products import ProductTiers
from .remainder import RemainderMeter
from .vecchia import NEIGHBOURS, coarse_to_fine, vecchia_factor, vecchia_memory

__all__ = ["solve_iterative", "iterative_memory", "vecchia_factor", "coarse_to_fine", "NEIGHBOURS", "PRECONDITIONERS",
           "DEFAULT_PRECONDITIONER"]

# Preconditioners of solve_iterative: "kl" the KL factor in maximin ordering (:mod:`fpnorm.solvers.precondition`),
# "vecchia" the nearest-neighbour factor of :mod:`fpnorm.solvers.vecchia` (sorted order in 1-d), "auto" (1-d) one of
# them by the data (DEFAULT_PRECONDITIONER).
PRECONDITIONERS = ("kl", "vecchia", "auto")
# The default preconditioner by dimension (uniform random points, rtol 1e-10, the two-level correction on top). In
# d >= 2 the KL factor with its resolution floor (fpnorm.solvers.precondition): 2-d N = 8e4, K = 256, Sobolev(2)
# 27 iterations against the Vecchia factor's 372; N = 2e4, K = 128, LFP(1,1) 13 against 190; 3-d N = 2e4, K = 24,
# Sobolev(2) 16 against 57 without the floor. In 1-d, "auto" (_one_d_preconditioner): the KL factor where the data
# are resolved by the box, the sorted chain elsewhere. Iterations at K = 2^17, Sobolev(1.5), uniform random points
# (KL with the spacing floor below / chain): N = 5000 9 / 16, 2e4 10 / 23, 5e4 10 / 36, 1e5 15 / 99 (other draws of
# the 1e5 points: 15 / 154, 29 / 150, 18 / 1146); LFP(1,1), N = 1e5: 9 / 32.
DEFAULT_PRECONDITIONER = {1: "auto", 2: "kl", 3: "kl"}
# The data are resolved by the box when no two neighbouring points carry data that differ by more than _RESOLVED
# times half the data's range times their distance in units of 1 / K (smooth data: about max |y'| / (K max |y|), 5e-5
# on the benchmark rows).
# Data that jump between nearly coincident points (noise) make the solution's sum |c_k| huge (5e5 max |y| at
# N = 1e5, K = 2^17), and the KL columns at those points weigh their whole 8 / K neighbourhood by up to
# 3e9 / sqrt(kappa(0)): the products' rounding, amplified that much, stalled Craig's misfit at 2.8e-2 (Sobolev(1),
# noise 0.1), where the chain's two-point increments cancel it (139 iterations). A KL run that stops before its
# budget (converged by its own products, flat or adrift) without halving the measured remainder hands the solve over
# to the chain; one that uses its budget is slow rather than misled, and refinement goes on with it. _RESOLVED = 1 is
# conservative: data band-limited to K may vary by up to 2 pi K max |y| per period (Bernstein), 2 pi per 1/K, and
# such data go to the chain.
_RESOLVED = 1.0
# Smallest radius of the "kl" factor's columns in units of the points' mean spacing N^(-1/d), by dimension, next to the
# kernel's resolution floor (fpnorm.solvers.maximin.FLOOR): where points are sparse against the box that floor holds a
# point or none, and a point close to another then conditions on too few to see the kernel's local shape. Iterations
# (uniform random points, rtol 1e-10, K = 2^17 Sobolev(1.5) in 1-d, K = 256 Sobolev(2) in 2-d) at 0 / 4 / 6 / 8 spacings
# in 1-d: N = 5000 44 / 11 / 9 / -, 2e4 54 / 15 / 10 / 9, 1e5 24 / 25 / 25 / 24 (the resolution floor is wider there;
# the columns' jitter 1e-12, fpnorm.solvers.precondition.JITTER; - not measured); 2-d at 0 / 1 / 2 / 3: N = 5000 52 / 39
# / 19 / -, 2e4 64 / 64 / 23 / -, 8e4 27 / 27 / 27 / 17 (the factor 29 NUFFT pairs at 2 against 51 at 3). 3-d keeps the
# resolution floor alone: N = 5000, K = 24 took 21 / 15 / 13 at 0 / 1.5 / 2, but N = 2e4 16 / 16 / 15 with the factor 25
# / 39 / 49 pairs.
_SPACING = {1: 6.0, 2: 2.0}
# Largest column of the "kl" factor here, by dimension (default fpnorm.solvers.maximin.MAX_SET): with the
# two-level correction, 3-d columns of 32 points need the iterations of 64 at two thirds of the factor's cost
# (Sobolev(2), uniform random points, one process, best of 3: N = 2e4, K = 24 factor 1.83 s against 2.67 s, 57 and 57
# iterations; N = 1e4 1.02 / 1.85 s, 33 / 33; N = 5000, K = 16 0.51 / 0.61 s, 33 / 32; at 16 points 66 iterations).
# The K = None matrix-free solves keep 64 (fpnorm.solvers.lattice_matfree: 2-4 more iterations at 32, no faster).
# With a floor (2 / K; N = 2e4, K = 24) the cap cuts more columns and still pays: 14 iterations at 32 against 11 at
# 64, the factor 3.6 s against 4.7 s.
_KL_MAX_SET = {3: 32}

# Neighbours per point of the sorted chain (the "vecchia" factor in 1-d), against NEIGHBOURS = 12 in higher d:
# its rows are cheap, and clusters of noisy points want more of them (noisy 1-d rows, Sobolev(1), uniform random
# points, one process, the fastest of two solves, 12 / 16 / 20 / 24 neighbours: N = 1e5, K = 2^17 138 / 84 / 61 / 58
# iterations in 7.5 / 5.4 / 5.9 / 6.9 s; N = 2e4, K = 32768 41 / 35 / 33 in 1.03 / 0.92 / 0.99 s).
_CHAIN_NEIGHBOURS = 16

# Local pairs a point of the "kl" factor at most about (their kernel values are kept through the solve for the
# truncation estimate): measured 42 in 1-d (uniform random points, N = 5000 .. 1e5, K = 2^17: sets of 9.2 points on
# average), 83-95 in 2-d (K = 256, N = 5000 .. 8e4: 12.8-13.8 points) and 358 at 3-d N = 2e4, K = 24 (sets of at
# most 32 points: 496 pairs).
_LOCAL_PAIRS = {1: 64, 2: 128, 3: 496}

# Iterations per Krylov run: refinement then restarts on the exactly measured remainder, which resets the rounding
# that the recurrences accumulate on nearly singular problems (measured: runs of 200 reach 1e-11 where one long run
# drifts at 1e-6). A run that uses all its iterations and still ends below its start (slow, not adrift) makes the
# next one twice as long, up to _RUN_MAX: every restart drops the Krylov space, and where a few outlying eigenvalues
# (clusters of nearly coincident points) need a long one, runs of 200 never get there (d = 1, N = 1e5, K = 2^17,
# Sobolev(1.5), uniform random points of seed 3: runs of 200 stalled near 1e-7 for 1868 iterations; one run of 800
# reached rtol).
_RUN = 200
_RUN_MAX = 1600
# A Krylov run ends early when its misfit has neither halved nor moved by more than a factor _FLAT over the last
# _STALL iterations: it sits on the floor that the rounding of its recurrences sets (measured near 1e-10 relative at
# N = 1e4, K = 2^14, Sobolev(1.5), 1e-9 at N = 2e4, K = 2^15), and a fresh run on the exactly measured remainder gets
# below it; plateaus where the misfit still swings are left to run (cutting them needed 787 iterations and failed
# where letting them run needs 290). A run whose misfit has not yet come below the remainder it started from is not
# on that floor but working down its first iterates' overshoot, and is not cut: noisy d = 1, N = 4e5, K = 2^19
# (Sobolev(1), uniform random points), a run from a remainder of 2.75e-6 overshot to 7.7e-3, sat near 1e-3 for more
# than _STALL iterations and reached 1.3e-10 at its 616th; cut flat at its 207th, the solve ended at a certified
# 1.0e-9 after 2287 iterations (rtol 1e-10 missed), and it reaches rtol in 2004 so.
_STALL = 30
_FLAT = 1.5
_GAIN = 0.8
# A run also ends when its misfit exceeds its lowest by this factor: past convergence the recurrences drift off (seen
# reaching 1e2 after 3e-11 on an out-of-reach rtol); on the way the misfit swings by up to ~10x.
_DIVERGED = 1e3
# Iterations in a row that halve neither the best measured residual nor the remainder before the solve gives up. The
# remainder is measured against its value when it last halved, or a higher value a run left since: Craig's iterates
# near the solution in norm while their misfit may be far above the data's, and refinement then works the remainder
# down from there (noisy d = 1, N = 4e5, K = 2^19: the first run of 200 left a remainder 2.6e4 times its start, the
# next nine took it to 2.9e3 in 714 iterations and the next ten to 4e-10, a floor no later run moved, after 2800 in
# all; counting the best residual alone stopped that solve after 914 iterations with a SolveError).
_IDLE_ITERATIONS = 600
# finufft tolerance of the residual check.
_CHECK_EPS = 1e-15
# Loosest finufft tolerance of the Krylov products: the preconditioner's rows scale rounding in A z by up to
# 1 / sqrt(_JITTER), so the products are made that much tighter than the tolerance the residual target asks for.
_PROD_EPS = 1e-14
# Solves still running after this many seconds show a progress line with the residual (on a terminal only).
_PROGRESS_DELAY = 2.0


def iterative_memory(N, M, m=1, dim=1, neighbours=NEIGHBOURS):
    """Peak bytes of :func:`solve_iterative`: NUFFT plans' fine grids, Krylov vectors, the preconditioner setup.

    The sparse factor is modelled by the Vecchia factor's sets, plus the KL factor's kernel table in d >= 2 (whichever
    factor runs; in 1-d both may) and its kernel values on the local pairs, kept for the truncation estimate
    (``_LOCAL_PAIRS`` a point). Measured peaks of the KL factor (tracemalloc, uniform random points, Sobolev(2)) against
    that: 277 MiB against 531 at N = 8e4, K = 256 (2-d); 290 against 424 at N = 2e4, K = 24 (3-d, where the table is 172
    MiB).
    ``build_kl_factor`` checks its actual sets before it allocates their matrices.
    """
    K = (round(M ** (1.0 / dim)) - 1) // 2
    factor = vecchia_memory(N, neighbours, dim) + table_memory(K, dim) + 8 * N * _LOCAL_PAIRS.get(dim, 0)
    return _krylov_memory(N, M, m, dim) + factor + coarse_memory(N, M, dim)


def _krylov_memory(N, M, m, dim):
    """Bytes of the NUFFT plans and the Krylov vectors of :func:`solve_iterative`."""
    grid = 16 * M * (2**dim) * m * 3          # up to three plans (check, loose, tight), oversampling 2 per axis
    vectors = 8 * N * m * 10 + 16 * M * m * 6    # point-space and coefficient-space Krylov vectors, temporaries
    return grid + vectors


def _chain(problem, neighbours):
    """The Vecchia factor of the problem's box kernel (the sorted chain in 1-d)."""
    return vecchia_factor(problem.t, finite_weights(problem.g), neighbours=neighbours, eps=1e-14)


def _column_floor(N, K, dim):
    """The KL factor's smallest column radius for `N` points in a box of half-width `K`: the kernel's resolution
    floor or ``_SPACING[d]`` mean spacings, whichever is wider."""
    return max(resolution_floor(1.0 / max(K, 1), dim), _SPACING.get(dim, 0.0) * N ** (-1.0 / dim))


def _one_d_preconditioner(problem):
    """"kl" or "vecchia" for a 1-d problem: the KL factor where neighbouring points carry data that differ by at most
    ``_RESOLVED`` times half the data's range per ``1/K`` of their distance (every column of the right-hand sides)."""
    K, N = problem.K, problem.N
    if N < 2:
        return "kl"
    order = np.argsort(np.mod(problem.t[:, 0], 2 * np.pi), kind="stable")
    z = np.mod(problem.t[order, 0], 2 * np.pi)
    y = problem.rhs[order]
    gap = np.diff(np.r_[z, z[0] + 2 * np.pi]) * (K / (2 * np.pi))             # neighbours' distance in 1/K
    jump = np.abs(np.diff(np.vstack([y, y[:1]]), axis=0))                       # (N, m)
    # the data's size by half their range: an offset (which a free constant fits) does not hide their jumps
    scale = 0.5 * (np.max(y, axis=0) - np.min(y, axis=0))
    return "kl" if np.all(jump <= _RESOLVED * scale * gap[:, None]) else "vecchia"


def _craig(forward, adjoint, left, left_t, project, b, tol, maxiter, ticks=None, report=None, stall=None):
    """Craig's method (Golub-Kahan bidiagonalisation) for ``min ||z||`` subject to ``L P A z = L P b``.

    ``A`` maps scaled coefficients ``z`` (complex, shape ``box + (m,)``) to values at the points (real, (N, m));
    ``P`` projects the free basis functions out and ``L`` is the left preconditioner, so the constraint set, and
    hence the minimum-norm solution, is that of ``P A z = P b``. One independent run per column of ``b``; a column
    stops when its misfit ``max|P(b - A z)|`` (updated alongside the iterate from the products already computed) is
    at most `tol`, on breakdown, when the misfit sits flat (see ``_STALL``) or when it has grown ``_DIVERGED`` times
    above its lowest (past convergence, rounding drives the recurrences off). Craig's iterates approach the solution
    monotonically in norm while the misfit may rise and fall on the way, so the iterate of the lowest misfit is
    returned, with the iterations used, its misfit (as the products computed it) and its dual variables
    ``y`` (``z = A^H y``, ``P y = y``): every ``v_j`` is ``A^H P L^T w_j`` with ``w_j`` following the same
    recurrence in point space, so ``y = P L^T sum_j zeta_j w_j`` costs no product. `ticks` (an iterator) is
    advanced once per iteration and `report` given the misfit (a progress line).
    """
    axes = tuple(range(b.ndim - 1))
    stall = maxiter + 1 if stall is None else stall

    def cnorm(v):                 # column norms of a C-ordered complex array, without temporaries
        flat = v.reshape(-1, v.shape[-1])
        return np.sqrt(np.array([np.vdot(flat[:, j], flat[:, j]).real for j in range(flat.shape[1])]))

    def safe(x):
        return np.where(x > 0, x, 1.0)

    # the coefficient-space vectors (v, z, keep_z) are updated in place: at 2^18 modes a fresh temporary per
    # operation cost 8 ms an iteration (page faults of new memory), against 1.6 ms in place (measured, 1 core)
    u = left(project(b))
    beta = np.sqrt(np.sum(u * u, axis=axes))
    u = u / safe(beta)
    v = np.ascontiguousarray(adjoint(left_t(u)))
    alpha = cnorm(v)
    v /= safe(alpha)
    w = u / safe(alpha)
    start = np.max(np.abs(project(b)), axis=axes)
    active = (start > tol) & (beta > 0) & (alpha > 0)
    zeta = np.where(active, beta / safe(alpha), 0.0)
    z = zeta * v
    step = np.empty_like(z)
    y = zeta * w
    av = forward(v)
    fit = zeta * av
    it = 0
    best = np.full(active.shape, np.inf)       # the lowest misfit by halvings (the stall test)
    lowest = np.full(active.shape, np.inf)     # the lowest misfit, whose iterate is kept
    keep_z, keep_y = z.copy(), y.copy()
    since = np.zeros(active.shape, dtype=np.int64)
    recent = np.zeros((min(stall, maxiter + 1),) + active.shape)
    while active.any():
        misfit = np.max(np.abs(project(b - fit)), axis=axes)
        lower = active & (misfit < lowest)
        if lower.any():
            lowest = np.where(lower, misfit, lowest)
            np.copyto(keep_z, z, where=lower)
            np.copyto(keep_y, y, where=lower)
        if it == maxiter:
            break
        it += 1
        improved = misfit < _GAIN * best
        best = np.where(improved, misfit, best)
        since = np.where(improved, 0, since + 1)
        recent[it % stall] = misfit
        # flat only once the run has come below the remainder it started from (_STALL)
        flat = (since >= stall) & (np.max(recent, axis=0) < _FLAT * np.min(recent, axis=0)) & (lowest < start)
        active &= (misfit > tol) & ~flat & (misfit < _DIVERGED * lowest)
        if report is not None:
            report(float(np.max(misfit)))
        if ticks is not None:
            next(ticks)
        u = left(project(av)) - alpha * u
        beta = np.sqrt(np.sum(u * u, axis=axes))
        u = u / safe(beta)
        v *= -beta
        v += adjoint(left_t(u))
        w = u - beta * w
        alpha = cnorm(v)
        v /= safe(alpha)
        w = w / safe(alpha)
        active &= (beta > 0) & (alpha > 0)
        zeta = np.where(active, -beta * zeta / safe(alpha), 0.0)
        np.multiply(v, zeta, out=step)
        z += step
        y = y + zeta * w
        av = forward(v)
        fit = fit + zeta * av
    return keep_z, left_t(keep_y), it, float(np.max(lowest, initial=0.0))


def solve_iterative(problem, *, rtol=1e-10, maxiter=None, neighbours=None, preconditioner=None, rho=None,
                    width=None):
    """Coefficient-space solve by Craig's method with NUFFT products and a sparse inverse-Cholesky preconditioner; see
    the module docstring.

    Parameters
    ----------
    problem : Problem
    rtol : float
        Target relative residual ``max|h(x_n) - r_n| / max|r_n|``.
    maxiter : int, optional
        Iterations over all restarts (default ``max(500, min(N, 5000))``).
    neighbours : int, optional
        Neighbours per point of the "vecchia" preconditioner (default ``_CHAIN_NEIGHBOURS`` for the 1-d chain,
        :data:`NEIGHBOURS` in higher d).
    preconditioner : str, optional
        One of :data:`PRECONDITIONERS` (default :data:`DEFAULT_PRECONDITIONER` for the dimension).
    rho : float, optional
        Sparsity radius of the "kl" preconditioner (default :data:`fpnorm.solvers.maximin.RHO`).
    width : int, optional
        Half-width of the box of Fourier modes the two-level correction puts right (default
        :data:`fpnorm.solvers.coarse.COARSE_WIDTH` for the dimension; negative: the sparse factor alone).

    Returns
    -------
    Solution
        ``info.iterations`` counts Krylov iterations (one type-1 and one type-2 NUFFT each); ``info.condition`` is
        nan (not estimated).
    """
    if preconditioner is None:
        preconditioner = DEFAULT_PRECONDITIONER.get(problem.dim, "kl")
    if preconditioner not in PRECONDITIONERS:
        raise ValueError(f"Expected `preconditioner` to be one of {PRECONDITIONERS}, got {preconditioner!r}.")
    # "auto" in 1-d may go on with the chain after a KL run that stalls; in d >= 2 it is the KL factor
    fallback = preconditioner == "auto" and problem.dim == 1
    if preconditioner == "auto":
        preconditioner = _one_d_preconditioner(problem) if problem.dim == 1 else "kl"
    fallback &= preconditioner == "kl"
    N, K, dim = problem.N, problem.K, problem.dim
    rhs = problem.rhs
    m = rhs.shape[1]
    maxiter = max(500, min(N, 5000)) if maxiter is None else int(maxiter)
    if neighbours is None:
        neighbours = _CHAIN_NEIGHBOURS if dim == 1 else NEIGHBOURS
    check_memory(iterative_memory(N, problem.M, m, dim, neighbours), f"the iterative solve ({N} points x "
                 f"{problem.M} modes)", "Use a smaller K or fewer points.")
    free = FreeModes(problem)
    gp = problem.g_penalised
    # the residual that refinement and the report rest on is measured at the tightest NUFFT tolerance: with nearly
    # coincident points sum |c_k| exceeds max |h| by orders of magnitude and problem.eps would hide misfits
    check = transforms.NufftPlan(problem.t, K, n_trans=m, eps=_CHECK_EPS)
    root = np.sqrt(gp)[..., None]

    local = None
    nf = free.n
    # P r = Q_2 Q_2^T r = r - Q_1 Q_1^T r with the n_f columns Q_1 formed once: applying the Householder reflectors
    # instead costs a workspace of 64 N floats and an O(n_f N) LAPACK call on every one of three calls an iteration
    Q1 = free.q(np.eye(N, nf)) if nf else None

    def project(r):               # P r: the part the free basis functions cannot fit
        return r if nf == 0 else r - Q1 @ (Q1.T @ r)

    # In 1-d the remainder is measured through the Taylor NUFFT of the certificate (fpnorm.solvers.certify_fft: about
    # 1e-16 sum |c_k| off in practice, 0.04-0.07 s at N = 1e5, K = 2^17): finufft's error at eps 1e-15 reaches 1e-11
    # sum |c_k| at some points, and with noisy data (sum |c_k| ~ 5e5 max |y| at N = 1e5) the refinement then stopped
    # on a measured 5e-11 where the data were missed by 4.7e-6. In d >= 2 the Taylor NUFFT costs tens of NUFFT pairs.
    # Its bound decides when double precision no longer resolves the remainder (fpnorm.solvers.remainder).
    taylor = dim == 1 and check.backend != "direct"

    def measure(c, extended=False):   # Re h at the points t + t_lo, and a bound on its error where taylor
        if taylor:
            return certified_values(c, problem.t, problem.t_lo, extended=extended, real=True, fast=True)
        return values_at_points(check.evaluate, c, problem).real, None

    def coefficients(z, remainder):
        coef = root * z
        # the free part fitted to what the penalised part leaves, measured at the tight tolerance (a loose product
        # would leave its error in the free coefficients)
        return free.add_free_part(coef, remainder - check.evaluate(coef).real) if nf else coef

    tiers = ProductTiers(problem.t, K, m, root, tight=min(problem.eps, _PROD_EPS), exact=check.backend == "direct")

    # the two-level correction's modes and G V (fpnorm.solvers.coarse) do not depend on the sparse factor: made in
    # another thread while it is, on a machine with two cores; G V at the products' tolerance: 1-d has no loose tier,
    # and there G V at 1e-10 instead of 1e-14 took 563 iterations against 121 (N = 1e5, K = 2^17, Sobolev(1.5); the
    # constant mode sits at 1e-6 of W G W^T's spectrum)
    space = background(coarse_space, problem.t, gp, width=COARSE_WIDTH.get(dim, 1) if width is None else width,
                       eps=tiers.loose or tiers.tight, project=project)
    if preconditioner == "kl":
        # kept for the truncation estimate, which refactors this kernel plus its tail on the same pattern
        local = local_kernel(problem.t / (2 * np.pi), problem.g, rho=rho, max_set=_KL_MAX_SET.get(dim),
                             floor=_column_floor(N, K, dim))
        W = kl_factor(local.pattern, local.kappa0, local.variograms).T.tocsr()
    else:
        W = _chain(problem, neighbours)
    # the sparse factor corrected on the lowest Fourier modes, which it misses
    two = TwoLevel(W, *space.result())
    # the factor's kept kernel values are modelled by their measured average (_LOCAL_PAIRS): where clusters fill the
    # sets to MAX_SET they are several times that, so the work still to come is checked against what is left now
    check_memory(_krylov_memory(N, problem.M, m, dim), f"the iterative solve's NUFFT plans and Krylov vectors ({N} "
                 f"points x {problem.M} modes)", "Use a smaller K or fewer points.")
    scale = float(np.max(np.abs(rhs))) if rhs.size else 0.0
    if tiers.loose is not None and scale > 0:
        # the solution's sum |c_k| estimated from the preconditioner's dual, g Phi^H M P r (half a product pair)
        rough = root * tiers.operators(tiers.loose)[1](project(two.apply(project(rhs))))
        tiers.predict(float(np.max(np.sum(np.abs(rough).reshape(-1, m), axis=0))) / scale)
    tol = 0.5 * rtol * (scale if scale > 0 else 1.0)
    coef = np.zeros(gp.shape + (m,), dtype=complex)
    dual = np.zeros_like(rhs)                     # the dual variables of coef's penalised part
    # the remainder and a bound on its measurement's error (fpnorm.solvers.remainder), by column
    meter = RemainderMeter(problem, measure, tol, certified=taylor)
    remainder, error = meter.start()
    best = (relative_residual(np.zeros_like(rhs), rhs), coef, dual, remainder, error)
    used, runs, idle, run_length = 0, 0, 0, _RUN
    mark = float(np.max(np.abs(project(rhs))))    # the remainder when it last halved (_IDLE_ITERATIONS)
    # a progress line with the residual as it falls, on solves that last over _PROGRESS_DELAY (terminal only)
    ticks, report = residual_progress(f"fpnorm iterative ({N} points)", rtol=rtol, scale=scale,
                                      delay=_PROGRESS_DELAY)
    # Krylov runs of at most _RUN iterations (doubled after a slow run, up to _RUN_MAX), each on the remainder measured
    # with the tight check plan after the last (iterative refinement: it resets the rounding the recurrences
    # accumulate, and lets a run's products be loose, ProductTiers); the best measured solution is kept
    while best[0] > rtol and used < maxiter and idle < _IDLE_ITERATIONS:
        size = float(np.max(np.abs(project(remainder))))
        forward, adjoint, run_tol = tiers.run(size, tol)
        budget = min(run_length, maxiter - used)
        z, y, it, computed = _craig(forward, adjoint, two.left, lambda u, two=two: project(two.left_t(u)), project,
                                    remainder, run_tol, budget, ticks, report, _STALL)
        used, runs = used + it, runs + 1
        if it >= budget and computed < size:
            run_length = min(2 * run_length, _RUN_MAX)
        step = coefficients(z, remainder)
        new_coef, new_remainder, new_error = meter.after(remainder, error, coef, step)
        after = float(np.max(np.abs(project(new_remainder))))
        mass = float(np.max(np.sum(np.abs(step).reshape(-1, m), axis=0)))
        if tiers.measured(size, after, mass, computed <= run_tol, it >= budget):
            continue          # the loose products misled the run: refine on from before it, with tight products
        coef, dual, remainder, error = new_coef, dual + y, new_remainder, new_error
        # the measured residual's upper end: refinement stops on what the measurement certifies
        res = relative_residual(rhs - remainder, rhs) + (0.0 if error is None else float(np.max(error)) / (scale or 1))
        # a KL run that stopped short of its budget (converged by its own products, flat or adrift) and did not
        # halve the measured remainder: the products' rounding holds it back (_RESOLVED), and the chain goes on
        switch = fallback and res > rtol and it < budget and not after <= 0.5 * size
        if switch:                # the same correction (its modes and G V) around the chain
            two, fallback = two.with_factor(_chain(problem, neighbours)), False
        if res < 0.5 * best[0] or after < 0.5 * mark:
            idle, mark = 0, after
        else:
            idle, mark = idle + it, max(mark, after)
        if res < best[0]:
            best = (res, coef, dual, remainder, error)
        if it == 0 and not switch:
            break
    ticks.close()
    res, coef, dual, remainder, error = best
    attempts = []
    if res > rtol:
        attempts.append(f"iterative: residual {res:.2e} after {used} Craig iterations in {runs} runs (maxiter "
                        f"{maxiter})")
    # no factorisation to reuse: the truncation estimate (fpnorm.solvers.truncation) refactors its own kernel on what
    # `local` and `coarse` hand over (the KL pattern with G_K's values on it, when the KL factor ran, and the
    # two-level correction); `dual` is the preconditioner itself (M in d >= 2, the sparse factor's P W^T W P in 1-d),
    # which a caller without those may use as an approximate G_K^-1
    preconditioner_dual = two.apply if dim >= 2 else two.apply_factor

    def dual_map(r):              # called after the solve: on one BLAS thread, as the solve (solvers._dense_work)
        with single_threaded():
            return project(preconditioner_dual(project(r)))

    # in 1-d the remainder's measurement is certified: solve() reports it (fpnorm.solvers.remainder), measured again
    # in extended precision where the certificate's fixed budget would (solvers._verified_residual)
    certified = None if error is None else relative_interval(*meter.bounds(
        coef, remainder, error, EXACT_SHARE, extended_affordable(N, K, dim, m, real=True)), rhs)
    return Solution(coef, SolveInfo("iterative", res, float("nan"), used, attempts), dual=dual_map, alpha=dual,
                    local=local, coarse=two, certified=certified)
