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


def mp_values(coef, points, period=1.0, dps=40):
    """``Re h(x_n)``, ``h = sum_k c_k e^{2 pi i k.x/P}``, summed in mpmath (`dps` digits) at the float points x
    themselves (the README's convention: the phase of x, not of a rounded angle 2 pi x / P). coef of shape
    ``(2K+1,)*d`` (+ ``(m,)``); returns mpmath numbers as a nested list of shape (N, m)."""
    import mpmath

    x = np.asarray(points, dtype=float).reshape(len(points), -1)
    d = x.shape[1]
    K = (coef.shape[0] - 1) // 2
    flat = np.asarray(coef).reshape((2 * K + 1) ** d, -1)
    ks = np.stack([g.ravel() for g in np.meshgrid(*([np.arange(2 * K + 1)] * d), indexing="ij")], axis=-1)
    out = []
    with mpmath.workdps(dps):
        cs = [[mpmath.mpc(complex(c)) for c in flat[:, j]] for j in range(flat.shape[1])]
        for xi in x:
            powers = []
            for j in range(d):
                z = mpmath.expj(2 * mpmath.pi * mpmath.mpf(float(xi[j])) / mpmath.mpf(float(period)))
                p = [mpmath.power(z, -K)]
                for _ in range(2 * K):
                    p.append(p[-1] * z)
                powers.append(p)
            basis = [mpmath.fprod(powers[j][k[j]] for j in range(d)) for k in ks]
            out.append([mpmath.re(mpmath.fsum(c * b for c, b in zip(col, basis, strict=True))) for col in cs])
    return out


def mp_residual(coef, points, values, period=1.0):
    """``max_n |Re h(x_n) - y_n| / max |y|`` with :func:`mp_values` (absolute when y = 0), a float."""
    import mpmath

    y = np.asarray(values).reshape(len(points), -1)
    h = mp_values(coef, points, period)
    with mpmath.workdps(40):
        worst = max(abs(h[i][j] - mpmath.mpf(float(y[i, j]))) for i in range(len(h)) for j in range(y.shape[1]))
    scale = float(np.max(np.abs(y)))
    return float(worst) / (scale if scale > 0 else 1.0)
