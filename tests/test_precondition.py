"""The KL sparse inverse-Cholesky factor: its ordering, its kernel, its accuracy against dense inverse Cholesky, and
the iterative solves it preconditions."""

import numpy as np
import pytest
import scipy.linalg as sla

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev
from fpnorm.solvers import Problem
from fpnorm.solvers.iterative import solve_iterative
from fpnorm.solvers.maximin import kl_pattern
from fpnorm.solvers.precondition import (
    Kernel,
    box_kernel,
    build_kl_factor,
    finite_weights,
    kl_factor,
    local_kernel,
    local_variograms,
)


def _box(K, dim, s):
    k = np.stack(np.meshgrid(*[np.arange(-K, K + 1)] * dim, indexing="ij"), axis=-1)
    return k.reshape(-1, dim), (1.0 + (2 * np.pi) ** 2 * np.sum(k * k, axis=-1)) ** -s


def _dense_kernel(x, kvec, g):
    """``G_ij = sum_k g_k cos(2 pi k.(x_i - x_j))`` by the brute-force sum (no transform)."""
    z = (x[:, None, :] - x[None, :, :]).reshape(-1, x.shape[1])
    return (np.cos(2 * np.pi * z @ kvec.T) @ g.reshape(-1)).reshape(len(x), len(x))


def _direct_kernel(kvec, g):
    """The exact kernel as a :class:`Kernel`: the variogram by the direct sum ``sum_k g_k 2 sin^2(pi k.z)``, the
    resolution ``1/K`` of the box."""
    def variogram(z):
        return (2 * np.sin(np.pi * z @ kvec.T) ** 2) @ g.reshape(-1)
    return Kernel(float(g.sum()), variogram, kvec.shape[1], 1.0 / np.max(kvec))


def _torus_dist(a, b):
    d = a - b
    d -= np.round(d)
    return np.sqrt(np.sum(d * d, axis=-1))


def test_box_kernel_resolution_is_one_over_K():
    assert box_kernel(np.ones(9)).resolution == 0.25
    assert box_kernel(np.ones((7, 7))).resolution == 1 / 3


@pytest.mark.parametrize(("dim", "K", "weight", "bound"), [(2, 24, Sobolev(s=2.0, dim=2), 10),
                                                           (2, 24, LFP(a=1.0, b=1.0, dim=2), 8),
                                                           (3, 6, Sobolev(s=2.0, dim=3), 5)])
def test_the_floor_keeps_the_preconditioned_spectrum_narrow(dim, K, weight, bound):
    # uniform random points at the Scale rows' density (N / (2K+1)^d ~ 0.3 in 2-d): pairs far closer than 1/K, which
    # columns of radius rho * l_i alone capture badly (condition of L^T G L 288 / 47 / 15.5 here without the floor,
    # 4.1 / 2.6 / 2.0 with it)
    N = 700
    g = weight.box(K)
    g = np.where(np.isinf(g), np.max(g[np.isfinite(g)]), g)
    kvec = np.stack(np.meshgrid(*[np.arange(-K, K + 1)] * dim, indexing="ij"), axis=-1).reshape(-1, dim)
    x = np.random.default_rng(dim).random((N, dim))
    ph = 2 * np.pi * x @ kvec.T.astype(float)
    G = (np.cos(ph) * g.reshape(-1)) @ np.cos(ph).T + (np.sin(ph) * g.reshape(-1)) @ np.sin(ph).T
    L, _ = build_kl_factor(x, box_kernel(g))
    ev = np.linalg.eigvalsh(L.toarray().T @ G @ L.toarray())
    assert ev[0] > 0 and ev[-1] / ev[0] < bound


@pytest.mark.parametrize(("dim", "K", "N"), [(1, 40, 30), (2, 6, 40), (3, 3, 30)])
def test_full_pattern_gives_the_exact_inverse_cholesky_factor(dim, K, N):
    # every earlier point in every column: L is the Cholesky factor of G^-1 in the reverse ordering, exactly
    kvec, g = _box(K, dim, 1.5 if dim == 1 else 2.0)
    x = np.random.default_rng(dim).random((N, dim))
    # exact kernel entries (box_kernel tabulates in d >= 2: tested below)
    L, order = build_kl_factor(x, _direct_kernel(kvec, g), rho=1e6, max_set=N, jitter=0.0)
    G = _dense_kernel(x, kvec, g)
    A = L.toarray()
    rev = order[::-1]
    assert np.allclose(np.triu(A[np.ix_(rev, rev)], 1), 0.0)
    # dense reference: G^-1 = U^T U with U = chol(G[rev, rev] reversed) -- compare the factors entrywise
    P = G[np.ix_(rev, rev)]
    ref = np.linalg.inv(sla.cholesky(P[::-1, ::-1], lower=True)).T[::-1, ::-1]    # lower, ref ref^T = P^-1
    assert np.allclose(A[np.ix_(rev, rev)], ref, rtol=1e-6, atol=1e-6 * np.max(np.abs(ref)))
    assert np.linalg.norm(A.T @ G @ A - np.eye(N)) <= 1e-6


@pytest.mark.parametrize("dim", [2, 3])
def test_kl_divergence_falls_as_rho_grows(dim):
    # the KL minimiser over nested patterns: a larger radius can only lower the divergence (a theorem), reaching 0
    K, N = (6, 80) if dim == 2 else (3, 60)
    kvec, g = _box(K, dim, 2.0)
    x = np.random.default_rng(7).random((N, dim))
    G = _dense_kernel(x, kvec, g)
    ker = _direct_kernel(kvec, g)
    kl, frob = [], []
    for rho in (1.0, 2.0, 3.0, 1e6):
        L, _ = build_kl_factor(x, ker, rho=rho, max_set=N, jitter=0.0)
        E = L.toarray().T @ G @ L.toarray()
        ev = np.linalg.eigvalsh(E)
        kl.append(0.5 * (np.sum(ev) - N - np.sum(np.log(ev))))
        frob.append(np.linalg.norm(E - np.eye(N)))
    assert all(b <= a * (1 + 1e-8) + 1e-8 for a, b in zip(kl, kl[1:], strict=False))
    assert kl[-1] <= 1e-6 and frob[-1] <= 1e-5
    assert frob[2] < frob[0]


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_box_kernel_variogram_against_the_direct_sum(dim):
    kvec, g = _box(200 if dim == 1 else 12, dim, 1.0 if dim == 1 else 2.0)
    rng = np.random.default_rng(dim)
    edge = rng.standard_normal((20, dim))
    edge *= 0.0499 / 12 / np.linalg.norm(edge, axis=1, keepdims=True)        # the near pairs' series at its widest
    z = np.concatenate([rng.random((50, dim)), 1e-9 * rng.standard_normal((20, dim)),
                        1e-3 * rng.standard_normal((20, dim)), edge])
    exact = (2 * np.sin(np.pi * z @ kvec.T) ** 2) @ g.reshape(-1)            # no cancellation
    got = box_kernel(g).variogram(z)
    # 1-d: rounding only; d >= 2: the spline table (error ~1e-7 kappa(0)) far out, direct sums for near pairs
    tol = 1e-9 if dim == 1 else 1e-5
    assert np.all(np.abs(got - exact) <= tol * exact + (1e-12 if dim == 1 else 1e-6) * g.sum())
    near = np.sqrt(np.sum((z - np.round(z)) ** 2, axis=1)) * 12 <= 0.05
    assert np.allclose(got[near], exact[near], rtol=1e-13, atol=0) or dim == 1


def test_box_kernel_factor_is_close_to_the_exact_one():
    # the tabulated kernel changes the factor by about its table error only
    kvec, g = _box(8, 2, 2.0)
    x = np.random.default_rng(2).random((120, 2))
    G = _dense_kernel(x, kvec, g)
    L, _ = build_kl_factor(x, box_kernel(g), rho=3.0, jitter=0.0)
    Lx, _ = build_kl_factor(x, _direct_kernel(kvec, g), rho=3.0, jitter=0.0)
    ev = np.linalg.eigvalsh(L.toarray().T @ G @ L.toarray())
    evx = np.linalg.eigvalsh(Lx.toarray().T @ G @ Lx.toarray())
    assert ev[0] > 0 and abs(ev[-1] / ev[0] - evx[-1] / evx[0]) <= 0.05 * evx[-1] / evx[0]


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="`kernel`"):
        build_kl_factor(np.zeros((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match="`rho`"):
        build_kl_factor(np.array([0.1, 0.5]), box_kernel(np.ones(3)), rho=0.0)
    for bad in (-1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="`floor`"):
            build_kl_factor(np.array([0.1, 0.5]), box_kernel(np.ones(3)), floor=bad)
    with pytest.raises(ValueError, match="`kernel.resolution`"):
        build_kl_factor(np.array([0.1, 0.5]), Kernel(1.0, lambda z: np.ones(len(z)), 1, -1.0))
    with pytest.raises(ValueError, match="`points`"):
        build_kl_factor(np.zeros((3, 2)), box_kernel(np.ones(3)))
    pattern = kl_pattern(np.array([0.1, 0.5, 0.7]), floor=1.0)           # each point with every earlier one: 3 pairs
    with pytest.raises(ValueError, match="`variograms`"):
        kl_factor(pattern, 1.0, np.ones(2))
    for bad in (0.0, np.inf):
        with pytest.raises(ValueError, match="`kappa0`"):
            kl_factor(pattern, bad, np.ones(3))


def test_a_pattern_factors_the_kernel_plus_other_stationary_terms_exactly():
    # a floor covering the torus: the factor of G + T (a Gaussian and a nugget) from G's values plus T's on the
    # pattern is the exact inverse Cholesky factor, checked against the brute-force kernel matrix
    kvec, g = _box(6, 2, 2.0)
    x = np.random.default_rng(4).random((40, 2))
    pattern = kl_pattern(x, floor=1.0)
    r = pattern.pair_distances()
    expected = np.concatenate([_torus_dist(x[S[:, a]], x[S[:, b]]).ravel() for S, a, b in pattern.buckets()])
    assert np.allclose(r, expected, rtol=0, atol=1e-15)
    values = local_variograms(pattern, _direct_kernel(kvec, g))
    Tb, c, T0 = 0.01, 3.0, 0.001
    L = kl_factor(pattern, g.sum() + Tb + T0, values - Tb * np.expm1(-c * r**2 / Tb) + T0, jitter=0.0).toarray()
    d = _torus_dist(x[:, None, :], x[None, :, :])
    G = _dense_kernel(x, kvec, g) + Tb * np.exp(-c * d**2 / Tb) + T0 * np.eye(40)
    assert np.allclose(L.T @ G @ L, np.eye(40), atol=1e-8)


def test_build_kl_factor_is_its_pieces():
    kvec, g = _box(8, 2, 2.0)
    x = np.random.default_rng(6).random((300, 2))
    L, order = build_kl_factor(x, box_kernel(g))
    local = local_kernel(x, g)
    assert np.array_equal(order, local.pattern.order)
    assert abs(kl_factor(local.pattern, local.kappa0, local.variograms) - L).max() == 0
    # free modes: factored at the largest finite weight
    g_free = g.copy()
    g_free[8, 8] = np.inf
    assert finite_weights(g_free)[8, 8] == g[np.isfinite(g_free)].max()
    assert local_kernel(x, g_free).kappa0 == pytest.approx(finite_weights(g_free).sum(), rel=1e-14)


def _problem(N, K, weight, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((N, weight.dim))
    y = np.sin(2 * np.pi * x[:, 0]) + np.cos(4 * np.pi * x.sum(axis=1))
    return x, y, Problem(2 * np.pi * x, y[:, None], K, weight.box(K), eps=1e-13)


@pytest.mark.parametrize(("dim", "K", "N", "weight"), [(2, 10, 100, Sobolev(s=2.0, dim=2)),
                                                      (3, 4, 100, Sobolev(s=2.0, dim=3)),
                                                      (2, 10, 100, PowerLaw(p=4, dim=2))])
def test_kl_preconditioned_solve_matches_the_dense_least_norm_solution(dim, K, N, weight):
    # the exact minimum-norm coefficients by an SVD of the scaled design (no shared code with the iterative path)
    x, y, p = _problem(N, K, weight, seed=dim)
    sol = solve_iterative(p, rtol=1e-10, preconditioner="kl")
    assert sol.info.residual <= 1e-10
    kvec, _ = _box(K, dim, 1.0)
    g = weight.box(K).reshape(-1)
    free = np.isinf(g)
    E = np.exp(2j * np.pi * x @ kvec.T)
    root = np.where(free, 1.0, np.sqrt(np.where(free, 1.0, g)))
    # free modes: project them out of the data, then the least-norm fit of the rest
    F = E[:, free]
    Q = np.linalg.qr(F)[0] if F.shape[1] else np.zeros((N, 0))
    A = (E[:, ~free] * root[~free])
    Pr = np.eye(N) - Q @ Q.conj().T
    zp = np.linalg.lstsq(Pr @ A, Pr @ y, rcond=1e-13)[0]
    coef = np.zeros(kvec.shape[0], dtype=complex)
    coef[~free] = root[~free] * zp
    if F.shape[1]:
        coef[free] = np.linalg.lstsq(F, y - A @ zp, rcond=None)[0]
    got = sol.coef[..., 0].reshape(-1)
    assert np.max(np.abs(got - coef)) <= 1e-6 * np.max(np.abs(coef))


def test_interpolator_reports_a_certified_residual_with_the_kl_path():
    x = np.random.default_rng(3).random((400, 2))
    y = np.cos(2 * np.pi * x[:, 0]) * np.sin(2 * np.pi * x[:, 1])
    fit = FPInterpolator(x, y, weight=Sobolev(s=2.0, dim=2), K=16, method="iterative")
    assert fit.info.method == "iterative" and fit.info.residual_kind in ("exact", "bound")
    assert fit.info.residual <= 1e-10
    # the residual is an upper bound of (or within 10% of) the brute-force misfit at the points
    kvec, _ = _box(16, 2, 1.0)
    h = (np.exp(2j * np.pi * x @ kvec.T) @ fit.coef.reshape(-1)).real
    assert np.max(np.abs(h - y)) / np.max(np.abs(y)) <= 1.1 * fit.info.residual + 1e-14
