"""Every solve path (qr, cholesky, iterative, auto) against a brute-force reference built here from the explicit
design matrix: the saddle-point system of the constrained minimum-norm problem, solved densely."""

import numpy as np
import pytest

from fpnorm import FPInterpolator, PowerLaw, Sobolev
from fpnorm.solvers import METHODS

# the paths of an integer K
PATHS = [m for m in METHODS if m not in ("auto", "periodic1d", "exact_kernel", "lattice_kernel",
                                                  "lattice_matfree")] + ["auto"]


def _reference(x, y, weight, K):
    """Minimise sum_k |c_k|^2 / g_k subject to Phi c = y, with g_k = inf free: c = g Phi^H alpha + (free part).

    Saddle point: [Phi diag(g_pen) Phi^H, Phi_F; Phi_F^H, 0] [alpha; beta] = [y; 0], c = g_pen Phi^H alpha + beta_F.
    """
    dim = weight.dim
    grids = np.meshgrid(*([np.arange(-K, K + 1)] * dim), indexing="ij")
    k = np.stack([g.ravel() for g in grids], axis=-1)
    Phi = np.exp(2j * np.pi * x.reshape(len(x), dim) @ k.T.astype(float))
    g = weight.gamma2(k)
    free = np.isinf(g)
    gp = np.where(free, 0.0, g)
    N, nf = Phi.shape[0], int(free.sum())
    A = np.zeros((N + nf, N + nf), dtype=complex)
    A[:N, :N] = (Phi * gp) @ Phi.conj().T
    A[:N, N:] = Phi[:, free]
    A[N:, :N] = Phi[:, free].conj().T
    sol = np.linalg.solve(A, np.concatenate([y, np.zeros(nf)]).astype(complex))
    c = gp * (Phi.conj().T @ sol[:N])
    c[free] += sol[N:]
    norm = np.sqrt(np.sum(np.abs(c[~free]) ** 2 / g[~free]))
    return c.reshape((2 * K + 1,) * dim), norm


CASES = [
    ("sobolev-1d", Sobolev(s=1.0, dim=1), 1, 80, 60),
    ("power2-free-1d", PowerLaw(p=2, dim=1), 1, 80, 60),
    ("sobolev-2d", Sobolev(s=1.5, dim=2), 2, 10, 120),
    ("lfp-like-2d", PowerLaw(p=3, dim=2), 2, 8, 90),
    ("sobolev-3d", Sobolev(s=2.0, dim=3), 3, 4, 150),
]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request):
    _, weight, dim, K, N = request.param
    rng = np.random.default_rng(N + K)
    x = rng.random((N, dim))
    y = np.cos(2 * np.pi * x[:, 0]) + np.sin(2 * np.pi * x.sum(axis=1)) + 0.3 * rng.standard_normal(N)
    coef, norm = _reference(x, y, weight, K)
    return weight, K, x, y, coef, norm


@pytest.mark.parametrize("method", PATHS)
def test_every_path_matches_the_brute_force_reference(case, method):
    weight, K, x, y, coef, norm = case
    s = FPInterpolator(x if weight.dim > 1 else x[:, 0], y, weight=weight, K=K, method=method, rtol=1e-10)
    assert method == "auto" or s.info.method == method
    assert s.info.residual <= 1e-10
    assert np.max(np.abs(s.coef - coef)) <= 1e-7 * np.max(np.abs(coef))
    assert s.norm == pytest.approx(norm, rel=1e-8)
    assert np.max(np.abs(s(x) - y)) <= 1e-9 * np.max(np.abs(y))


def test_iterative_reports_iterations_and_cholesky_reports_refinement(case):
    weight, K, x, y, _, _ = case
    it = FPInterpolator(x, y, weight=weight, K=K, method="iterative")
    assert it.info.method == "iterative" and it.info.iterations >= 1
    ch = FPInterpolator(x, y, weight=weight, K=K, method="cholesky")
    assert ch.info.method in ("cholesky", "qr") and ch.info.iterations >= 0


def test_paths_agree_on_several_right_hand_sides():
    rng = np.random.default_rng(7)
    x = rng.random(70)
    Y = np.stack([np.sin(2 * np.pi * x), x * (1 - x), rng.standard_normal(70)], axis=1)
    w = Sobolev(s=1.0, dim=1)
    ref = np.stack([_reference(x, Y[:, j], w, 64)[0] for j in range(3)], axis=-1)
    for method in ("qr", "cholesky", "iterative"):
        s = FPInterpolator(x, Y, weight=w, K=64, method=method)
        assert np.max(np.abs(s.coef - ref)) <= 1e-7 * np.max(np.abs(ref)), method
