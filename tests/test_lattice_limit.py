"""Tests of the K = infinity solve in d = 1, 2, 3 (fpnorm.solvers.lattice_limit, FPInterpolator(..., K=None)).

The reference kernel is independent of the Ewald splitting: the Chowla-Selberg form. For ``k = (k1, k')``, Poisson
summation in ``k1`` at fixed ``a = |k'| > 0`` gives

    sum_k1 (k1^2 + a^2)^-s e^{2 pi i k1 z1}
        = sum_n 2 pi^s / Gamma(s) (|z1 + n| / a)^(s - 1/2) K_(s-1/2)(2 pi a |z1 + n|),

exponentially convergent once ``z1`` is away from the integers; the row ``k' = 0`` is ``2 Re Li_2s(e^{2 pi i z1})``.
"""

import math
import warnings

import mpmath
import numpy as np
import pytest
from scipy import special

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev
from fpnorm.convergence import convergence_study, limit_distance
from fpnorm.lattice_kernels import TorusKernel
from fpnorm.lattice_sums import epstein_zeta
from fpnorm.solvers import lattice_limit

ACC = 1e-9   # the promised agreement with independent references, relative to the data scale


def _power_sum_cs(z, s, d):
    """``sum_{k != 0} |k|^-2s e^{2 pi i k.z}`` by Chowla-Selberg (``z`` of shape (d,), ``dist(z1, Z) >= 0.04``);
    ``k'`` out to where ``2 pi |k'| min|z1 + n| > 45`` and ``|n| <= 12``: every term left out is below ``e^{-40}``."""
    z1, zp = float(z[0]), np.asarray(z[1:], dtype=float)
    row0 = float(2 * mpmath.re(mpmath.polylog(2 * s, mpmath.expjpi(2 * mpmath.mpf(z1)))))
    u = np.abs(z1 + np.arange(-12, 13))
    A = int(45 / (2 * np.pi * np.min(u))) + 1
    side = np.arange(-A, A + 1)
    kp = np.stack(np.meshgrid(*([side] * (d - 1)), indexing="ij"), axis=-1).reshape(-1, d - 1).astype(float)
    a = np.sqrt(np.sum(kp**2, axis=1))
    kp, a = kp[(a > 0) & (a <= A)], a[(a > 0) & (a <= A)]
    pre = 2 * np.pi**s / math.gamma(s)
    arg = 2 * np.pi * a[:, None] * u[None, :]
    terms = pre * (u[None, :] / a[:, None]) ** (s - 0.5) * special.kv(s - 0.5, arg)
    rows = np.sum(terms, axis=1) * np.cos(2 * np.pi * (kp @ zp))
    return row0 + math.fsum(rows)


def _lfp_reference(w, z):
    """The LFP kernel at offsets ``z`` (n, d) by Chowla-Selberg (``z = 0`` from the Epstein zeta function)."""
    d = w.dim
    out = []
    for zz in z:
        zz = zz - np.round(zz)
        parts = [(w.a, (d + 1) / 2), (w.b, (d + 3) / 2)]
        if np.all(zz == 0):
            out.append(sum(c * epstein_zeta(2 * s, d) for c, s in parts if c) + (w.zero or 0.0))
        else:
            out.append(sum(c * _power_sum_cs(zz, s, d) for c, s in parts if c) + (w.zero or 0.0))
    return np.array(out)


def _nodes(n, d, rng):
    """``n`` nodes whose first coordinates are at least ``0.5 / n`` apart on the circle."""
    first = (np.arange(n) + 0.5 * rng.random(n)) / n
    return np.concatenate([rng.permutation(first)[:, None], rng.random((n, d - 1))], axis=1)


@pytest.mark.parametrize("d", [2, 3])
def test_kernel_matches_chowla_selberg(d):
    w = LFP(a=0.8, b=1.7, dim=d)
    rng = np.random.default_rng(7)
    z = rng.random((6, d)) - 0.5
    z[:, 0] = np.array([0.1, 0.25, 0.5, -0.3, 0.45, -0.07])
    kernel = TorusKernel(w)
    ref = _lfp_reference(w, z)
    assert np.max(np.abs(kernel(z) - ref)) <= 1e-13 * kernel.value0


@pytest.mark.parametrize("d,zero", [(2, None), pytest.param(3, None, marks=pytest.mark.slow), (2, 0.5),
                                    (3, 0.5)])
def test_interpolant_matches_mpmath_reference(d, zero):
    # reference: the Chowla-Selberg kernel matrix, the bordered system solved in mpmath at 30 digits
    w = LFP(a=1.0, b=0.5, dim=d, zero=zero)
    rng = np.random.default_rng(11 + d)
    n = 8 if (d == 2 or zero is None) else 4   # the 3-d reference costs ~ n^2 (45 n / pi)^2 Bessel functions
    x = _nodes(n, d, rng)
    y = np.sin(2 * np.pi * x[:, 0]) + x[:, 1] ** 2
    s = FPInterpolator(x, y, weight=w, K=None)
    assert s.info.method == "lattice_kernel"
    G = _lfp_reference(w, (x[:, None, :] - x[None, :, :]).reshape(-1, d)).reshape(n, n)
    mpmath.mp.dps = 30
    if zero is None:
        B = mpmath.matrix(n + 1, n + 1)
        for i in range(n):
            for j in range(n):
                B[i, j] = G[i, j]
            B[i, n] = B[n, i] = 1
        sol = mpmath.lu_solve(B, mpmath.matrix(list(y) + [0]))
        alpha, c = np.array([float(sol[i]) for i in range(n)]), float(sol[n])
    else:
        sol = mpmath.lu_solve(mpmath.matrix(G.tolist()), mpmath.matrix(list(y)))
        alpha, c = np.array([float(sol[i]) for i in range(n)]), 0.0
    q = np.concatenate([((np.sort(x[:, 0]) + 0.5 / n) % 1.0)[:, None], rng.random((n, d - 1))], axis=1)
    Kq = _lfp_reference(w, (q[:, None, :] - x[None, :, :]).reshape(-1, d)).reshape(n, n)
    ref = Kq @ alpha + c
    scale = np.max(np.abs(y))
    assert np.max(np.abs(s(q) - ref)) <= ACC * scale
    assert np.max(np.abs(s(x) - y)) <= ACC * scale
    norm2 = float(alpha @ G @ alpha)
    assert abs(s.norm**2 - norm2) <= 1e-9 * norm2


@pytest.mark.parametrize("weight", [LFP(a=1.0, b=1.0, dim=2), Sobolev(s=1.75, dim=2), PowerLaw(p=4.5, dim=3, zero=1.0),
                                    LFP(a=0.5, b=1.0, dim=3), PowerLaw(p=3, dim=1), Sobolev(s=1.5, dim=1)])
def test_interpolates_with_certified_residual(weight):
    d = weight.dim
    rng = np.random.default_rng(3)
    x = rng.random((40, d))
    y = np.cos(2 * np.pi * x[:, 0]) + 0.3 * x[:, -1]
    s = FPInterpolator(x if d > 1 else x[:, 0], y, weight=weight, K=None)
    assert s.info.method == "lattice_kernel"
    assert s.info.residual <= 1e-10 and s.info.residual_kind in ("exact", "bound")
    assert np.max(np.abs(s(x if d > 1 else x[:, 0]) - y)) <= s.info.residual * np.max(np.abs(y)) * (1 + 1e-12)
    assert s.info.truncation_error == 0.0
    assert s.norm > 0 and s.info.sensitivity >= 0


def test_minimality_and_linearity():
    # the minimiser's norm is below any other interpolant's: a truncated solve's norm is at least the exact one's
    # measured on the same (mean-free) weight, and the solution is linear in the data
    w = LFP(a=1.0, b=1.0, dim=2)
    rng = np.random.default_rng(5)
    x = rng.random((25, 2))
    y1, y2 = rng.standard_normal(25), rng.standard_normal(25)
    s = FPInterpolator(x, np.stack([y1, y2], axis=1), weight=w, K=None)
    s1, s2 = FPInterpolator(x, y1, weight=w, K=None), FPInterpolator(x, y2, weight=w, K=None)
    q = rng.random((30, 2))
    np.testing.assert_allclose(s(q), np.stack([s1(q), s2(q)], axis=1), atol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = FPInterpolator(x, y1, weight=w, K=24)
    assert t.norm >= s1.norm * (1 - 1e-9)


def test_translation_and_period():
    # a shift of every point by a vector shifts the interpolant; period P scales the points
    w = Sobolev(s=2.0, dim=3)
    rng = np.random.default_rng(9)
    x, q = rng.random((20, 3)), rng.random((10, 3))
    y = rng.standard_normal(20)
    s = FPInterpolator(x, y, weight=w, K=None)
    shift = np.array([0.3, -0.25, 0.125])
    t = FPInterpolator(x + shift, y, weight=w, K=None)
    np.testing.assert_allclose(t(q + shift), s(q), atol=1e-10)
    u = FPInterpolator(4.0 * x, y, weight=w, K=None, period=4.0)
    np.testing.assert_allclose(u(4.0 * q), s(q), atol=1e-10)


def test_truncated_solves_converge_to_the_exact_one():
    # LFP in 2-d: the kernel tail beyond K is ~ a K^-(nu - d) = K^-1; the fitted rate of max |h_K - h_inf| is near 1
    w = LFP(a=1.0, b=1.0, dim=2)
    rng = np.random.default_rng(0)
    x = rng.random((20, 2))
    y = np.sin(2 * np.pi * x[:, 0]) * np.cos(2 * np.pi * x[:, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = convergence_study(x, y, weight=w, Ks=[12, 24, 48], n_grid=1024)
    assert np.all(np.diff(r.to_limit) < 0)
    assert 0.7 < r.rate < 1.4
    assert math.isfinite(r.limit_norm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = FPInterpolator(x, y, weight=w, K=24)
    dist = limit_distance(t, n_grid=1024)
    # the truncation estimate of an integer-K solve, against the exact distance now available in 2-d
    assert 0.5 < t.info.truncation_error / dist["max_error"] < 2.0


def test_save_load_round_trip(tmp_path):
    w = LFP(a=1.0, b=0.5, dim=3, zero=0.25)
    rng = np.random.default_rng(2)
    x, q = rng.random((15, 3)), rng.random((7, 3))
    s = FPInterpolator(x, rng.standard_normal((15, 2)), weight=w, K=None)
    s.save(tmp_path / "h.npz")
    t = FPInterpolator.load(tmp_path / "h.npz")
    assert np.array_equal(t(q), s(q)) and np.array_equal(t.norm, s.norm)
    assert t.info.residual == s.info.residual and t.info.method == "lattice_kernel"


def test_complex_values():
    w = PowerLaw(p=3.5, dim=2)
    rng = np.random.default_rng(4)
    x = rng.random((12, 2))
    y = rng.standard_normal(12) + 1j * rng.standard_normal(12)
    s = FPInterpolator(x, y, weight=w, K=None)
    assert np.max(np.abs(s(x) - y)) <= 1e-10 * np.max(np.abs(y))
    re, im = FPInterpolator(x, y.real, weight=w, K=None), FPInterpolator(x, y.imag, weight=w, K=None)
    assert abs(s.norm**2 - (re.norm**2 + im.norm**2)) <= 1e-10 * s.norm**2


def test_one_d_keeps_the_banded_solver_and_agrees():
    w = LFP(a=1.0, b=2.0)
    x = np.random.default_rng(1).random(30)
    y = np.sin(2 * np.pi * x)
    banded = FPInterpolator(x, y, weight=w, K=None)
    dense = FPInterpolator(x, y, weight=w, K=None, method="lattice_kernel")
    assert banded.info.method == "periodic1d" and dense.info.method == "lattice_kernel"
    q = np.linspace(0, 1, 101)
    np.testing.assert_allclose(dense(q), banded(q), atol=1e-10)


def test_too_many_points_points_at_integer_K(monkeypatch):
    monkeypatch.setattr(lattice_limit, "DENSE_LIMIT_MAX_POINTS", 10)
    x = np.random.default_rng(0).random((11, 2))
    with pytest.raises(ValueError, match=r"Expected at most 10 distinct points for K=None in d = 2, got 11.*integer K"):
        FPInterpolator(x, np.ones(11), weight=LFP(a=1.0, b=1.0, dim=2), K=None)


@pytest.mark.parametrize("weight", [PowerLaw(p=2, dim=2), Sobolev(s=1.0, dim=2), PowerLaw(p=4, dim=4)])
def test_unsupported_weight_raises(weight):
    d = weight.dim
    x = np.random.default_rng(0).random((3, d))
    with pytest.raises(ValueError, match=r"Expected a weight with a K = infinity torus kernel"):
        FPInterpolator(x, np.ones(3), weight=weight, K=None)


def test_one_d_method_in_two_d_raises():
    with pytest.raises(ValueError, match=r"Expected `method` in \('auto', 'lattice_kernel', 'lattice_matfree'\) for "
                                         r"K=None in d = 2, got method='periodic1d'"):
        FPInterpolator(np.array([[0.1, 0.2], [0.5, 0.6]]), [1.0, 2.0], weight=LFP(a=1.0, b=1.0, dim=2), K=None,
                       method="periodic1d")


def test_h_ini_is_added():
    w = LFP(a=1.0, b=1.0, dim=2)
    rng = np.random.default_rng(6)
    x, q = rng.random((15, 2)), rng.random((9, 2))
    y = rng.standard_normal(15)

    def h0(p):
        return np.sin(2 * np.pi * p[:, 0])

    s = FPInterpolator(x, y, weight=w, K=None, h_ini=h0)
    t = FPInterpolator(x, y - h0(x), weight=w, K=None)
    np.testing.assert_allclose(s(q), t(q) + h0(q), atol=1e-10)
    assert abs(s.norm - t.norm) <= 1e-10 * t.norm


def test_lattice_method_with_integer_K_raises():
    with pytest.raises(ValueError, match=r"got method='lattice_kernel' with K=8"):
        FPInterpolator(np.array([[0.1, 0.2], [0.5, 0.6]]), [1.0, 2.0], weight=LFP(a=1.0, b=1.0, dim=2), K=8,
                       method="lattice_kernel")
