"""Correctness of the small-solve fast paths: the 1-d design by angle addition with exact phases, the residual check
by a direct sum with the solver's design matrix, the unblocked application of Q, and small dense solves on one BLAS
thread. Exact references: mpmath sums, finufft at its tightest tolerance, an SVD least-norm solve built here."""

import threading
from concurrent.futures import ThreadPoolExecutor

import mpmath
import numpy as np
import pytest

from fpnorm import FPInterpolator, PowerLaw, Sobolev, transforms
from fpnorm._internal import threads as thread_control
from fpnorm._internal.threads import background, blas_thread_counts, single_threaded
from fpnorm.lattice import real_design
from fpnorm.solvers import Problem, _verified_residual, solve
from fpnorm.solvers.problem import Solution, SolveInfo, direct_values
from fpnorm.solvers.qr import _UNBLOCKED_COLUMNS, solve_qr

ULP = 2.0**-52


def _angles(n, seed):
    return 2 * np.pi * np.random.default_rng(seed).random((n, 1))


# -- the 1-d design -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("K", [1, 2, 3, 7, 256, 4099])
def test_design_1d_matches_exact_cos_sin(K):
    """Every entry within a few units of rounding of cos / sin(k t) evaluated exactly at the floating-point t."""
    t = _angles(5, K)
    D = real_design(t, K, 1)
    assert D.shape == (5, 2 * K + 1) and np.all(D[:, 0] == 1.0)
    ks = sorted({1, 2, K // 2 + 1, K - 1, K} & set(range(1, K + 1)))
    with mpmath.workdps(40):
        for n in range(5):
            tn = mpmath.mpf(float(t[n, 0]))
            for k in ks:
                assert abs(D[n, k] - float(mpmath.cos(k * tn))) <= 4 * ULP
                assert abs(D[n, K + k] - float(mpmath.sin(k * tn))) <= 4 * ULP


def test_design_1d_no_less_accurate_than_rounded_phases():
    """``cos(k * t)`` carries the rounding of the phase, up to ``|k t| 2^-53``; the angle-addition design does not."""
    K = 256
    t = _angles(40, 3)
    D = real_design(t, K, 1)
    naive = np.cos(t * np.arange(1, K + 1))
    with mpmath.workdps(40):
        exact = np.array([[float(mpmath.cos(k * mpmath.mpf(float(tn)))) for k in range(1, K + 1, 15)]
                          for tn in t[:, 0]])
    ours = np.max(np.abs(D[:, 1:K + 1:15] - exact))
    theirs = np.max(np.abs(naive[:, ::15] - exact))
    assert ours <= 4 * ULP and ours <= theirs


def test_design_1d_k0_is_the_constant():
    assert np.array_equal(real_design(_angles(3, 1), 0, 1), np.ones((3, 1)))


# -- the residual check by a direct sum -----------------------------------------------------------------------------
@pytest.mark.parametrize("K", [5, 64])
def test_direct_values_is_the_real_part_of_the_type2_sum(K):
    """For any coefficients (Hermitian or not) the design sum equals Re sum_k c_k e^{ikt} (finufft at 1e-15)."""
    rng = np.random.default_rng(K)
    t = _angles(30, K + 1)
    c = rng.standard_normal((2 * K + 1, 2)) + 1j * rng.standard_normal((2 * K + 1, 2))
    ours = direct_values(c, real_design(t, K, 1), K, 1)
    ref = transforms.evaluate(c, t, eps=1e-15, backend="finufft").real
    assert ours.shape == (30, 2)
    assert np.max(np.abs(ours - ref)) <= 1e-13 * np.sum(np.abs(c), axis=0).max()


def test_direct_values_2d():
    K, rng = 4, np.random.default_rng(7)
    t = 2 * np.pi * rng.random((12, 2))
    c = rng.standard_normal((2 * K + 1,) * 2) + 1j * rng.standard_normal((2 * K + 1,) * 2)
    ref = transforms.evaluate(c, t, backend="direct").real
    assert np.allclose(direct_values(c, real_design(t, K, 2), K, 2)[:, 0], ref, rtol=0, atol=1e-13)


def _qr_problem(N=40, K=48, s=2.0, seed=0, m=1):
    rng = np.random.default_rng(seed)
    t = 2 * np.pi * rng.random((N, 1))
    rhs = np.sin(t) + 0.3 * rng.standard_normal((N, m))
    return Problem(t, rhs, K, Sobolev(s=s, dim=1).box(K), eps=1e-15)


def _exact_relative_residual(coef, problem):
    """max |h(t_n) - r_n| / max |r_n| with h summed in mpmath at the floating-point angles (one column)."""
    K = problem.K
    with mpmath.workdps(30):
        miss = [float(abs(sum(mpmath.re(mpmath.mpc(c.real, c.imag) * mpmath.expj(k * mpmath.mpf(float(t))))
                              for k, c in zip(range(-K, K + 1), coef[:, 0], strict=False)) - float(r)))
                for t, r in zip(problem.t[:, 0], problem.rhs[:, 0], strict=True)]
    return max(miss) / np.max(np.abs(problem.rhs))


def test_verified_residual_is_certified():
    """The check measures the true residual: never below it, above it by at most its bar."""
    problem = _qr_problem()
    sol = solve_qr(problem)
    residual, kind = _verified_residual(sol, problem)
    exact = _exact_relative_residual(sol.coef, problem)
    size = np.sum(np.abs(sol.coef)) / np.max(np.abs(problem.rhs))
    assert exact < 1e-13 and kind in ("exact", "bound")
    assert exact <= residual <= exact + 1e-13 * size


def test_verified_residual_sees_a_wrong_answer():
    """The check measures the coefficients it is given, not the solver's claim."""
    problem = _qr_problem()
    sol = solve_qr(problem)
    bad = Solution(sol.coef * 1.001, SolveInfo("qr", 0.0))
    residual, kind = _verified_residual(bad, problem)
    exact = _exact_relative_residual(bad.coef, problem)
    assert kind == "exact" and exact <= residual <= 1.1 * exact


def test_solve_reports_the_certified_residual():
    problem = _qr_problem()
    sol = solve(problem, method="qr")
    size = np.sum(np.abs(sol.coef)) / np.max(np.abs(problem.rhs))
    exact = _exact_relative_residual(sol.coef, problem)
    assert exact <= sol.info.residual <= exact + 1e-13 * size


# -- Q applied reflector by reflector (few columns) or blocked (many) ------------------------------------------------
def _svd_least_norm(problem):
    """Least-norm real coefficients of the scaled design by LAPACK's SVD least squares (independent of the QR)."""
    D = real_design(problem.t, problem.K, 1)
    g = problem.g.reshape(-1)
    H = problem.K
    w = np.sqrt(np.concatenate([[g[H]], 2 * g[H + 1:], 2 * g[H + 1:]]))
    v = np.linalg.lstsq(D * w, problem.rhs, rcond=None)[0]
    return np.linalg.norm(v, axis=0)


@pytest.mark.parametrize("m", [1, _UNBLOCKED_COLUMNS, _UNBLOCKED_COLUMNS + 3])
def test_qr_norms_match_svd_reference_for_any_column_count(m):
    problem = _qr_problem(N=30, K=40, s=1.0, m=m)
    sol = solve_qr(problem)
    g = problem.g.reshape(-1, 1)
    norms = np.sqrt(np.sum(np.abs(sol.coef) ** 2 / g, axis=0))
    assert np.allclose(norms, _svd_least_norm(problem), rtol=1e-10, atol=0)
    assert sol.info.residual < 1e-13


def test_benchmark_case_norm_matches_svd_reference():
    """The cvxpy benchmark's case (d = 1, N = 120, K = 256, Sobolev(2), cond(G) ~ 1e15) to 1e-10."""
    rng = np.random.default_rng(1)
    x = rng.random(120)
    y = np.sin(2 * np.pi * x) + 0.5 * np.cos(2 * np.pi * x) + 0.1 * rng.standard_normal(120)
    s = FPInterpolator(x, y, weight=Sobolev(s=2.0, dim=1), K=256)
    ref = _svd_least_norm(Problem(2 * np.pi * s.points, s.values[:, None], 256, Sobolev(s=2.0, dim=1).box(256)))
    assert s.info.method == "qr" and s.info.residual < 1e-13
    assert s.norm == pytest.approx(float(ref[0]), rel=1e-10)


# -- one BLAS thread ---------------------------------------------------------------------------------------------------
def test_single_threaded_sets_and_restores_counts():
    before = blas_thread_counts()
    assert len(before) >= 1          # numpy's and scipy's OpenBLAS are found on this platform
    with single_threaded():
        assert blas_thread_counts() == [1] * len(before)
        with single_threaded():
            assert blas_thread_counts() == [1] * len(before)
        assert blas_thread_counts() == [1] * len(before)   # the outer block still holds
    assert blas_thread_counts() == before
    with single_threaded(False):
        assert blas_thread_counts() == before


def test_single_threaded_restores_after_an_error():
    before = blas_thread_counts()
    with pytest.raises(ZeroDivisionError):
        with single_threaded():
            _ = 1 / 0
    assert blas_thread_counts() == before


def test_single_threaded_concurrent_blocks_restore_once():
    before = blas_thread_counts()
    inside, barrier = [], threading.Barrier(2)

    def work():
        with single_threaded():
            barrier.wait()
            inside.append(blas_thread_counts())
            barrier.wait()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # one thread owns the switch at a time (threadpoolctl lets only one thread change OpenBLAS's pool): the other
    # block changes nothing, and nothing leaks out of either
    assert all(counts in ([1] * len(before), before) for counts in inside)
    assert blas_thread_counts() == before and thread_control._STATE["depth"] == 0


def test_single_threaded_from_a_thread_pool_leaves_the_counts_as_found():
    # blocks entered and left in different orders by pool threads, then by the main thread: never stuck at one thread
    before = blas_thread_counts()
    first_in, second_in, release_first, release_second = (threading.Event() for _ in range(4))

    def first():
        with single_threaded():
            first_in.set()
            release_first.wait(5)

    def second():
        first_in.wait(5)
        with single_threaded():
            second_in.set()
            release_second.wait(5)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        second_in.wait(5)
        release_first.set()
        a.result()
        release_second.set()
        b.result()
        assert blas_thread_counts() == before
        with single_threaded():
            pass
        assert blas_thread_counts() == before
        list(pool.map(lambda _: _run_block(), range(200)))
    assert blas_thread_counts() == before
    with single_threaded():
        assert blas_thread_counts() == [1] * len(before)   # the main thread can take the switch again
    assert blas_thread_counts() == before


def _run_block():
    with single_threaded():
        return blas_thread_counts()


def test_thread_count_does_not_change_results():
    problem = _qr_problem(N=60, K=64, s=2.0, seed=4)
    with single_threaded():
        one = solve_qr(problem).coef
    many = solve_qr(problem).coef
    assert np.max(np.abs(one - many)) <= 1e-13 * np.max(np.abs(many))


def test_small_solves_run_on_one_thread(monkeypatch):
    """solve() wraps small dense runners and the matrix-free iterative runner (memory-bound passes) in
    single_threaded, and restores the counts after."""
    import fpnorm.solvers as solvers

    seen = {}
    real = dict(solvers._RUNNERS)

    def spy(name):
        def run(problem, **kw):
            seen[name] = blas_thread_counts()
            return real[name](problem, **kw)
        return run

    for name in ("qr", "iterative"):
        monkeypatch.setitem(solvers._RUNNERS, name, spy(name))
    before = blas_thread_counts()
    x = np.linspace(0, 1, 20, endpoint=False) + 0.01
    FPInterpolator(x, np.cos(2 * np.pi * x), weight=PowerLaw(p=2), K=16, method="qr")
    FPInterpolator(x, np.cos(2 * np.pi * x), weight=PowerLaw(p=2), K=16, method="iterative")
    assert seen["qr"] == [1] * len(before) and seen["iterative"] == [1] * len(before)
    assert blas_thread_counts() == before


@pytest.mark.parametrize("weight, free", [(Sobolev(s=2.0, dim=2), 0), (PowerLaw(p=4, dim=2), 1)],
                         ids=["no-free-modes", "free-k0"])
def test_rank_deficient_qr_falls_back_to_svd_of_the_intact_design(weight, free):
    """The QR factorises the projected design in place; its SVD fallback must see the design rebuilt, not the
    overwritten factors: same answer as the SVD from the start.

    The design is rank-deficient by construction: 19 of the 39 points lie on the line x_2 = 0, where every
    e^{i k.t} is e^{i k_1 t_1}, so those rows span at most 2K + 1 = 13 dimensions: rank 39 - 6 (38 - 6 after
    projecting out the free constant). The QR's smallest diagonal is rounding (< 0.04 of its rank tolerance
    M eps, measured under three BLAS kernel sets, where a near-coincident pair sits at 0.99 of it), and the
    SVD separates the 6 dropped singular values (< 5e-16 s_max) from the kept ones (> 5e-4 s_max) by 1e12."""
    K, n_line = 6, 19
    rng = np.random.default_rng(5)
    line = np.stack([(np.arange(n_line) + 0.5 * rng.random(n_line)) / n_line, np.zeros(n_line)], axis=1)
    rest = np.stack([rng.random(20), 0.1 + 0.8 * rng.random(20)], axis=1)
    x = np.concatenate([line, rest])
    y = np.cos(2 * np.pi * x[:, 0]) + np.sin(2 * np.pi * x[:, 1])  # in the span: the data are consistent
    a = FPInterpolator(x, y, weight=weight, K=K, method="qr")
    b = FPInterpolator(x, y, weight=weight, K=K, method="svd")
    n = len(x) - free
    assert a.info.method == "svd"
    assert a.info.attempts == [f"qr: numerical rank {n - 6}/{n} of the projected design; truncated SVD used"]
    assert np.array_equal(a.coef, b.coef) and a.norm == b.norm
    assert np.max(np.abs(a(x) - y)) <= 1e-12 * np.max(np.abs(y))  # the least-squares fit interpolates


@pytest.mark.parametrize("dim, K", [(2, 6), (3, 2)])
def test_design_multi_d_matches_exact_cos_sin(dim, K):
    """In d > 1 every entry within a few units of rounding of cos / sin(k.t) at the floating-point t."""
    from fpnorm.lattice import half_points

    t = 2 * np.pi * np.random.default_rng(dim).random((4, dim)) + 20.0   # large angles: phase rounding would show
    D = real_design(t, K, dim)
    half = half_points(K, dim)
    H = len(half)
    with mpmath.workdps(40):
        for n in range(4):
            for j in range(0, H, 3):
                phase = sum(int(half[j, a]) * mpmath.mpf(float(t[n, a])) for a in range(dim))
                assert abs(D[n, 1 + j] - float(mpmath.cos(phase))) <= 8 * ULP
                assert abs(D[n, 1 + H + j] - float(mpmath.sin(phase))) <= 8 * ULP


@pytest.mark.parametrize("cores", [1, 2])
def test_background_returns_the_value_and_raises_the_error_of_its_call(monkeypatch, cores):
    # in a thread of its own on two cores, at once on one: the caller sees the same either way
    monkeypatch.setattr(thread_control, "cores", lambda: cores)
    assert background(divmod, 7, 2).result() == (3, 1)
    assert background(sorted, [3, 1, 2], reverse=True).result() == [3, 2, 1]
    failing = background(divmod, 1, 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()


@pytest.mark.parametrize("cores", [1, 2])
def test_map_threads_returns_every_value_in_order_and_raises_an_error(monkeypatch, cores):
    # shared among threads on two cores, in order here on one: the caller sees the same list either way
    monkeypatch.setattr(thread_control, "cores", lambda: cores)
    items = list(range(50))
    assert thread_control.map_threads(lambda i: (i, np.sum(np.arange(i * 1000))), items) == \
        [(i, np.sum(np.arange(i * 1000))) for i in items]
    assert thread_control.map_threads(abs, []) == []
    with pytest.raises(ZeroDivisionError):
        thread_control.map_threads(lambda i: 1 // i, [3, 0, 1])


@pytest.mark.parametrize("dim,N,K", [(2, 600, 16), (3, 400, 6)])
def test_kl_factor_and_certificate_are_the_same_on_one_core_and_two(monkeypatch, dim, N, K):
    # the factor's batches and the certificate's chunks run side by side on two cores: the same factor bit for bit
    # (each batch is solved alone), the same certified values to rounding and the same bound
    from fpnorm.solvers import certify, precondition
    from fpnorm.solvers.precondition import kl_factor, local_kernel
    rng = np.random.default_rng(dim)
    x = rng.random((N, dim))
    k = np.stack(np.meshgrid(*[np.arange(-K, K + 1)] * dim, indexing="ij"), axis=-1)
    g = (1.0 + np.sum((2 * np.pi * k) ** 2, axis=-1)) ** -2.0
    coef = rng.standard_normal(g.shape) + 1j * rng.standard_normal(g.shape)
    monkeypatch.setattr(precondition, "_LOCAL_ENTRIES", 2000)          # many batches
    monkeypatch.setattr(certify, "_CHUNK_BYTES", 2**16)                 # many chunks
    out = {}
    for cores in (1, 2):
        monkeypatch.setattr(thread_control, "cores", lambda cores=cores: cores)
        for module in (precondition, certify):
            monkeypatch.setattr(module, "cores", lambda cores=cores: cores)
        local = local_kernel(x, g)
        L = kl_factor(local.pattern, local.kappa0, local.variograms)
        values, bound = certify.certified_values(coef, 2 * np.pi * x, extended=False, fast=False)
        out[cores] = (L, values, bound)
    assert (out[1][0] != out[2][0]).nnz == 0
    assert np.max(np.abs(out[1][1] - out[2][1])) <= out[1][2]
    assert out[1][2] == out[2][2]


def test_cores_respect_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert thread_control.cores() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert thread_control.cores() >= 1
