"""finufft against exact direct sums and closed forms, with tolerances tied to the requested eps."""

import numpy as np
import pytest

from fpnorm import transforms
from fpnorm.transforms import NufftPlan, adjoint, eps_for_rtol, evaluate, evaluate_sets, kernel_matrix, kernel_values

CASES = [(1, 40, 300), (2, 9, 250), (3, 4, 200)]   # (d, K, N)


def _brute_exponentials(t, K):
    """e^{i k.t} for every box point k (C order), built from the lattice points themselves: shape (N, M)."""
    dim = t.shape[1]
    grids = np.meshgrid(*([np.arange(-K, K + 1)] * dim), indexing="ij")
    k = np.stack([g.ravel() for g in grids], axis=-1)
    return np.exp(1j * t @ k.T.astype(float))


@pytest.mark.parametrize("dim,K,N", CASES)
@pytest.mark.parametrize("eps", [1e-6, 1e-10, 1e-13])
def test_evaluate_matches_direct_sum_within_eps(dim, K, N, eps):
    rng = np.random.default_rng(dim)
    t = 2 * np.pi * rng.random((N, dim))
    c = rng.standard_normal((2 * K + 1,) * dim) + 1j * rng.standard_normal((2 * K + 1,) * dim)
    exact = _brute_exponentials(t, K) @ c.reshape(-1)
    got = evaluate(c, t, eps=eps, backend="finufft")
    assert np.max(np.abs(got - exact)) <= 10 * eps * np.sum(np.abs(c))


@pytest.mark.parametrize("dim,K,N", CASES)
@pytest.mark.parametrize("eps", [1e-6, 1e-12])
def test_adjoint_matches_direct_sum_within_eps(dim, K, N, eps):
    rng = np.random.default_rng(10 + dim)
    t = 2 * np.pi * rng.random((N, dim))
    w = rng.standard_normal((N, 2))
    exact = (_brute_exponentials(t, K).conj().T @ w).reshape((2 * K + 1,) * dim + (2,))
    got = adjoint(t, w, K, eps=eps, backend="finufft")
    assert got.shape == exact.shape
    assert np.max(np.abs(got - exact)) <= 10 * eps * np.sum(np.abs(w), axis=0).max()


@pytest.mark.parametrize("dim,K,N", CASES)
@pytest.mark.parametrize("m", [1, 3])
def test_plan_reuse_matches_direct_backend(dim, K, N, m):
    rng = np.random.default_rng(20 + dim)
    t = 2 * np.pi * rng.random((N, dim))
    fast = NufftPlan(t, K, n_trans=m, eps=1e-12, backend="finufft")
    slow = NufftPlan(t, K, n_trans=m, backend="direct")
    shape = (2 * K + 1,) * dim + ((m,) if m > 1 else ())
    for _ in range(2):   # the same plan executed twice gives the same answers
        c = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        w = rng.standard_normal((N, m) if m > 1 else (N,))
        assert np.max(np.abs(fast.evaluate(c) - slow.evaluate(c))) <= 1e-11 * np.sum(np.abs(c))
        assert np.max(np.abs(fast.adjoint(w) - slow.adjoint(w))) <= 1e-11 * np.sum(np.abs(w))


@pytest.mark.parametrize("dim,K,N", CASES)
def test_sums_through_one_plan_match_direct_sums_at_every_set_of_points(dim, K, N):
    # one plan, its points reset per item: sets of different sizes, largest in the middle, each its own coefficients
    rng = np.random.default_rng(30 + dim)
    items = []
    for n in (N // 3, N, 7):
        c = rng.standard_normal((2 * K + 1,) * dim) + 1j * rng.standard_normal((2 * K + 1,) * dim)
        items.append((c, 2 * np.pi * rng.random((n, dim))))
    got = evaluate_sets(items, eps=1e-12)
    assert [v.shape for v in got] == [(t.shape[0],) for _, t in items]
    for (c, t), values in zip(items, got, strict=True):
        exact = _brute_exponentials(t, K) @ c.reshape(-1)
        assert np.max(np.abs(values - exact)) <= 10 * 1e-12 * np.sum(np.abs(c))
    assert evaluate_sets([]) == []


@pytest.mark.parametrize("K", [5, 17])
def test_kernel_values_dirichlet_closed_form(K):
    # g = 1 on the box: kappa(z) = prod_j sin((K + 1/2) z_j) / sin(z_j / 2), the Dirichlet kernel
    rng = np.random.default_rng(K)
    z = rng.uniform(-2 * np.pi, 2 * np.pi, size=(500, 2))
    exact = np.prod(np.sin((K + 0.5) * z) / np.sin(z / 2), axis=1)
    got = kernel_values(np.ones((2 * K + 1,) * 2), z, eps=1e-12)
    assert np.max(np.abs(got - exact)) <= 10 * 1e-12 * (2 * K + 1) ** 2


@pytest.mark.parametrize("dim,K,N", CASES)
def test_kernel_matrix_matches_brute_force(dim, K, N, monkeypatch):
    monkeypatch.setattr(transforms, "_PAIR_CHUNK", 5000)   # force many row blocks
    rng = np.random.default_rng(30 + dim)
    t = 2 * np.pi * rng.random((N, dim))
    g = rng.random((2 * K + 1,) * dim)
    g = g + g[(slice(None, None, -1),) * dim]   # even in k
    E = _brute_exponentials(t, K)
    exact = ((E * g.reshape(-1)) @ E.conj().T).real
    got = kernel_matrix(t, g, eps=1e-12, backend="finufft")
    assert np.array_equal(got, got.T)
    assert np.max(np.abs(got - exact)) <= 10 * 1e-12 * np.sum(g)
    assert np.max(np.abs(kernel_matrix(t, g, backend="direct") - exact)) <= 1e-12 * np.sum(g)


def test_eps_for_rtol_tracks_the_request_within_bounds():
    assert eps_for_rtol(1e-10) == pytest.approx(1e-13)
    assert eps_for_rtol(1e-7) == pytest.approx(1e-10)
    assert eps_for_rtol(1e-20) == 1e-15
    assert eps_for_rtol(1e-1) == 1e-6


def test_bad_backend_is_named():
    with pytest.raises(ValueError, match="Expected `backend` to be one of"):
        evaluate(np.ones(3, complex), np.zeros((2, 1)), backend="fft")


def test_finufft_backend_refuses_d4():
    with pytest.raises(ValueError, match="finufft supports d <= 3"):
        evaluate(np.ones((3,) * 4, complex), np.zeros((2, 4)), backend="finufft")


def test_grid_coefficients_checks_K():
    with pytest.raises(ValueError, match=r"Expected `K` >= 0, got -1\."):
        transforms.grid_coefficients(np.ones(5), -1)
    with pytest.raises(TypeError, match=r"Expected `K` to be an integer, got float 2.0; pass 2\."):
        transforms.grid_coefficients(np.ones(5), 2.0)
    with pytest.raises(ValueError, match=r"Expected `n` >= 2K \+ 1 = 7 grid points per axis, got 6\."):
        transforms.grid_coefficients(np.ones(6), 3)
