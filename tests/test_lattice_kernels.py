"""Tests of fpnorm.lattice_kernels: the Ewald-split K = infinity torus kernels against exact maths."""

import math

import mpmath
import numpy as np
import pytest

from fpnorm import LFP, PowerLaw, Sobolev, Weight
from fpnorm.kernels import bernoulli_kernel, closed_form_kernel
from fpnorm.lattice_kernels import TorusKernel, has_torus_kernel, torus_kernel
from fpnorm.lattice_sums import gamma_l2_info

ACC = 1e-13   # the promised accuracy, relative to kappa(0)

WEIGHTS = [PowerLaw(p=4, dim=2), PowerLaw(p=2.5, dim=2, zero=0.7), PowerLaw(p=3.5, dim=3), LFP(a=1.0, b=1.0, dim=2),
           LFP(a=0.3, b=2.0, dim=3), LFP(a=1.0, b=0.0, dim=3, zero=2.0), Sobolev(s=1.5, dim=2),
           Sobolev(s=2.0, dim=3), Sobolev(s=1.2, dim=1)]


def _check(kernel, z, ref):
    """Accurate to ACC of kappa(0), within the reported error bound (plus the reference's rounding), and the bound
    itself within ten times ACC."""
    err = np.max(np.abs(kernel(z) - ref))
    scale = abs(kernel.value0)
    assert err <= ACC * scale
    assert err <= kernel.error + 1e-15 * scale
    assert kernel.error <= 10 * ACC * scale


@pytest.mark.parametrize("weight", [PowerLaw(p=2), PowerLaw(p=4), PowerLaw(p=6, zero=0.3), LFP(a=1.0, b=0.5),
                                    LFP(a=0.0, b=2.0, zero=1.0), Sobolev(s=1), Sobolev(s=2)])
def test_one_d_closed_forms(weight):
    z = np.concatenate([np.linspace(-1.5, 1.5, 601), [0.0, 1e-12, -1e-12, 0.5, -0.5, 1 - 1e-15]])
    _check(TorusKernel(weight), z, closed_form_kernel(weight)(z))


@pytest.mark.parametrize("p", [1.5, 2.7, 5.0])
def test_one_d_polylog(p):
    # sum_{k != 0} e^{2 pi i k z} / (2 pi |k|)^p = 2 (2 pi)^-p Re Li_p(e^{2 pi i z})
    z = np.array([0.0, 0.1, 0.25, 0.4999, 0.5, 0.73])
    ref = [float(2 * (2 * mpmath.pi) ** -p * mpmath.re(mpmath.polylog(p, mpmath.expjpi(2 * mpmath.mpf(v)))))
           for v in z]
    _check(TorusKernel(PowerLaw(p=p)), z, np.array(ref))


def _image_sum(z, d, profile, radius):
    """``sum_n profile(|z + n|)`` over the images ``|n|_inf <= radius`` (float64, far-tail terms below 1e-17)."""
    n = np.arange(-radius, radius + 1)
    grid = np.stack(np.meshgrid(*([n] * d), indexing="ij"), axis=-1).reshape(-1, d).astype(float)
    return np.array([math.fsum(profile(np.sqrt(np.sum((zz + grid) ** 2, axis=1)))) for zz in z])


@pytest.mark.parametrize("d", [2, 3])
def test_sobolev_matern_images(d):
    # (1 + 4 pi^2 |xi|^2)^-s on R^d has the transform 2^(1-s) / ((2 pi)^(d/2) Gamma(s)) r^(s-d/2) K_(s-d/2)(r); for
    # s = (d + 1) / 2 that is e^{-r} / (2 pi) (d = 2) and e^{-r} / (8 pi) (d = 3); Poisson sums it over the images
    s = (d + 1) / 2
    c = 1 / (2 * np.pi) if d == 2 else 1 / (8 * np.pi)
    radius = 45 if d == 2 else 42    # the tail beyond is below e^{-40} r^d
    rng = np.random.default_rng(1)
    z = np.concatenate([np.zeros((1, d)), np.full((1, d), 0.5), rng.random((4, d)) - 0.5])
    ref = _image_sum(z, d, lambda r: c * np.exp(-r), radius)
    _check(TorusKernel(Sobolev(s=s, dim=d)), z, ref)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_value_at_zero_is_the_epstein_sum(weight):
    if isinstance(weight, (PowerLaw, LFP)) and weight.zero is None:   # a finite sum needs k = 0 penalised
        weight = type(weight)(**{**weight.params, "zero": 1.0}, dim=weight.dim)
    info = gamma_l2_info(weight)
    k = TorusKernel(weight)
    assert abs(k.value0 - info.sum) <= max(ACC * k.value0, 2 * info.value * info.error_bound + k.error)


def test_value_at_zero_closed_form_2d():
    # sum_{k != 0} |k|^-2s = 4 zeta(s) beta(s) in d = 2
    for s in (1.5, 2.0, 2.5):
        ref = float(4 * mpmath.zeta(s) * mpmath.dirichlet(s, [0, 1, 0, -1]) * (2 * mpmath.pi) ** (-2 * s))
        k = TorusKernel(PowerLaw(p=2 * s, dim=2))
        assert abs(k.value0 - ref) <= ACC * ref


@pytest.mark.parametrize("d", [2, 3])
def test_marginal_is_the_one_d_kernel(d):
    # the mean over z_2..z_d keeps the modes k_2 = ... = 0: for LFP a |k1|^-(d+1) + b |k1|^-(d+3), Bernoulli kernels;
    # the trapezoid rule is exact to rounding for the analytic periodic function z_2 -> kappa(z_1, z_2) (z_1 != 0)
    a, b = 0.7, 1.3
    w = LFP(a=a, b=b, dim=d)
    kernel = TorusKernel(w)
    n = 48
    t = np.arange(n) / n
    for z1 in (0.2, 0.5, 0.77):
        rest = np.stack(np.meshgrid(*([t] * (d - 1)), indexing="ij"), axis=-1).reshape(-1, d - 1)
        z = np.concatenate([np.full((rest.shape[0], 1), z1), rest], axis=1)
        mean = float(np.mean(kernel(z)))
        ref = (a * (2 * np.pi) ** (d + 1) * bernoulli_kernel(z1, d + 1) if (d + 1) % 2 == 0 else 0.0)
        ref = float(a * (2 * np.pi) ** (d + 1) * _even_or_polylog(z1, d + 1)
                    + b * (2 * np.pi) ** (d + 3) * _even_or_polylog(z1, d + 3))
        assert abs(mean - ref) <= ACC * kernel.value0


def _even_or_polylog(z, p):
    if p % 2 == 0:
        return float(bernoulli_kernel(z, p))
    return float(2 * (2 * mpmath.pi) ** -p * mpmath.re(mpmath.polylog(p, mpmath.expjpi(2 * mpmath.mpf(z)))))


def test_brute_force_box_sum_with_tail():
    # PowerLaw(p=8) in 2-d: the box |k|_inf <= 200 leaves sum_{|k| > 200} (2 pi |k|)^-8 <= (2 pi)^-8 2 pi
    # int_199^inf r^-7 dr, below 1e-14 of kappa(0)
    w = PowerLaw(p=8, dim=2)
    K = 200
    k = np.arange(-K, K + 1)
    kk = np.stack(np.meshgrid(k, k, indexing="ij"), axis=-1).reshape(-1, 2)
    g = w.gamma2(kk)
    g[np.isinf(g)] = 0.0
    tail = (2 * np.pi) ** -8 * 2 * np.pi / (6 * 199.0**6)
    z = np.array([[0.0, 0.0], [0.5, 0.5], [0.5, 0.0], [0.123, -0.377], [1e-9, 0.0]])
    ref = np.array([math.fsum(g * np.cos(2 * np.pi * (kk @ zz))) for zz in z])
    kernel = TorusKernel(w)
    assert tail < 0.1 * ACC * kernel.value0
    _check(kernel, z, ref)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_symmetry_and_periodicity(weight):
    d = weight.dim
    kernel = TorusKernel(weight)
    rng = np.random.default_rng(4)
    z = rng.random((50, d)) - 0.5
    z[0] = 0.5                                        # the cell's corner and faces
    z[1, 0] = 0.5
    v = kernel(z)
    tol = 2 * kernel.error
    shift = rng.integers(-3, 4, size=z.shape)
    np.testing.assert_allclose(kernel(-z), v, rtol=0, atol=tol)
    np.testing.assert_allclose(kernel(z + shift), v, rtol=0, atol=tol)
    np.testing.assert_allclose(kernel(z[:, ::-1]), v, rtol=0, atol=tol)     # the weight is isotropic
    assert np.all(v <= kernel.value0 + tol)                                   # positive definite: max at 0


@pytest.mark.parametrize("weight", [LFP(a=1.0, b=1.0, dim=2), Sobolev(s=2.0, dim=3)])
def test_splitting_parameter_does_not_matter(weight):
    z = np.random.default_rng(2).random((20, weight.dim))
    a, b = TorusKernel(weight, eta=0.03), TorusKernel(weight, eta=0.4)
    np.testing.assert_allclose(a(z), b(z), rtol=0, atol=a.error + b.error)


def test_matrix_and_expansion_match_the_pointwise_kernel():
    w = LFP(a=1.0, b=0.5, dim=3)
    kernel = TorusKernel(w)
    rng = np.random.default_rng(3)
    x, q, alpha = rng.random((30, 3)), rng.random((7, 3)), rng.standard_normal((30, 2))
    G = kernel.matrix(x)
    ref = kernel(x[:, None, :] - x[None, :, :])
    np.testing.assert_allclose(G, ref, rtol=0, atol=4 * kernel.error)
    assert np.array_equal(G, G.T)
    np.testing.assert_allclose(kernel.expand(q, x, alpha), kernel(q[:, None, :] - x[None, :, :]) @ alpha, rtol=0,
                               atol=4 * kernel.error * np.sum(np.abs(alpha)))
    np.testing.assert_allclose(kernel.matrix(q, x), kernel(q[:, None, :] - x[None, :, :]), rtol=0,
                               atol=4 * kernel.error)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_features_are_the_cosines_and_sines_of_the_phases(d):
    # products of per-axis exponentials against the phases 2 pi k.x in 40-digit arithmetic
    kernel = TorusKernel(LFP(a=1.0, b=1.0, dim=d))
    modes = kernel.mode_weights[0]
    x = np.random.default_rng(7).random((12, d))
    cos, sin = kernel.features(x)
    assert cos.shape == sin.shape == (12, modes.shape[0])
    pick = np.random.default_rng(8).choice(modes.shape[0], size=min(60, modes.shape[0]), replace=False)
    with mpmath.workdps(40):
        for i in range(12):
            for j in pick:
                terms = [int(k) * mpmath.mpf(float(v)) for k, v in zip(modes[j], x[i], strict=True)]
                ph = 2 * mpmath.pi * mpmath.fsum(terms)
                bound = (8 + 8 * math.pi * float(np.sum(np.abs(modes[j])))) * 2.0**-53
                assert abs(cos[i, j] - float(mpmath.cos(ph))) <= bound
                assert abs(sin[i, j] - float(mpmath.sin(ph))) <= bound


def test_large_matrix_is_exactly_symmetric_and_matches_the_pointwise_kernel():
    # more points than one tile of the mirrored assembly, and not a multiple of it
    kernel = TorusKernel(LFP(a=1.0, b=1.0, dim=2))
    x = np.random.default_rng(9).random((601, 2))
    G = kernel.matrix(x)
    assert np.array_equal(G, G.T)
    rows = np.r_[0, 255, 256, 300, 511, 512, 600]
    ref = kernel(x[rows, None, :] - x[None, :, :])
    np.testing.assert_allclose(G[rows], ref, rtol=0, atol=4 * kernel.error)


def test_function_form():
    z = np.array([[0.1, 0.2]])
    w = Sobolev(s=1.5, dim=2)
    assert torus_kernel(w, z)[0] == TorusKernel(w)(z)[0]


@pytest.mark.parametrize("weight", [PowerLaw(p=2, dim=2), Sobolev(s=1.0, dim=2), PowerLaw(p=4, dim=4),
                                    Weight.from_callable(lambda k: np.ones(k.shape[0]), dim=1)])
def test_unsupported_weights(weight):
    assert not has_torus_kernel(weight)
    with pytest.raises(ValueError, match="Expected a weight with a K = infinity torus kernel"):
        TorusKernel(weight)
