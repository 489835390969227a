"""Shared test helpers: seeded data and an independent brute-force reference solve."""

import numpy as np
import pytest


def pytest_configure(config):
    # Tests of the truncated problem's exact maths use small boxes on purpose (brute-force references stay cheap), so
    # many have more than half as many points as modes: TruncationWarning is advice to users, not a test failure.
    # Tests of the warning itself use pytest.warns, which records it regardless of this filter.
    config.addinivalue_line("filterwarnings", "ignore::fpnorm.exceptions.TruncationWarning")
    # Likewise the finite-K problem is exact maths for any weight, ill-posed ones included (the property tests draw
    # them): IllPosedWeightWarning is tested in tests/test_ill_posed.py, which records it explicitly.
    config.addinivalue_line("filterwarnings", "ignore::fpnorm.exceptions.IllPosedWeightWarning")


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


def brute_force_solve(points, rhs, weight, K, period=1.0):
    """Reference minimum-norm solve built from scratch with complex exponentials and a dense KKT system.

    Independent of fpnorm's real packing, free-mode projection, finufft and solver choice.
    Returns complex box coefficients of shape (2K+1,)*d (flat order as in fpnorm.lattice).
    """
    x = np.asarray(points, dtype=float).reshape(len(points), -1)
    d = x.shape[1]
    grids = np.meshgrid(*([np.arange(-K, K + 1)] * d), indexing="ij")
    k = np.stack([g.ravel() for g in grids], axis=-1)
    g2 = weight.gamma2(k)
    phi = np.exp(2j * np.pi * (x @ k.T) / period)
    free = np.isinf(g2)
    gp = np.where(free, 0.0, g2)
    G = (phi * gp) @ phi.conj().T
    F = phi[:, free]
    nf = F.shape[1]
    kkt = np.block([[G, F], [F.conj().T, np.zeros((nf, nf))]])
    sol = np.linalg.solve(kkt, np.concatenate([np.asarray(rhs, dtype=complex), np.zeros(nf)]))
    alpha, cf = sol[: len(x)], sol[len(x):]
    c = gp * (phi.conj().T @ alpha)
    c[free] = cf
    return c.reshape((2 * K + 1,) * d)
