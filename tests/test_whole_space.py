"""The whole space (period=None): kernels against exact Fourier maths, interpolants against their exact limits
(natural cubic spline, piecewise linear, thin-plate spline), norms against quadrature of int gamma^-2 |h^|^2, the
torus limit P -> inf, persistence and the errors."""

import json
import math

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.interpolate import CubicSpline, RBFInterpolator
from scipy.special import kv

from fpnorm import LFP, FPInterpolator, LFPFlow, PowerLaw, Sobolev, Weight, fp_norm, generalization_bound
from fpnorm.exceptions import AccuracyWarning
from fpnorm.validation import population_risk, validate_bound
from fpnorm.whole_space import (
    BESSEL_RTOL,
    kernel_terms,
    monomial_exponents,
    null_degree,
    power_transform,
    radial_kernel,
)

RNG = np.random.default_rng(20261201)


def _points_1d(n, rng):
    """Sorted points in [0, 1] at least 0.3/n apart (jittered grid)."""
    return np.sort((np.arange(n) + 0.35 + 0.3 * rng.random(n)) / n)


def _solve(x, y, weight, **kw):
    with np.errstate(all="ignore"):
        return FPInterpolator(x, y, weight=weight, K=None, period=None, **kw)


# -- kernels --------------------------------------------------------------------------------------------------------
def test_known_green_functions():
    """|x|^3/12 (d^4/dx^4 on the line), -|x|/2 (-d^2/dx^2), r^2 log r / (8 pi) (Delta^2 in the plane), -r/(8 pi)
    (Delta^2 in space), 1/(4 pi r) (-Delta in space): the fundamental solutions of (-Delta)^(p/2)."""
    cases = [((4, 1), ("power", 1 / 12, 3.0)), ((2, 1), ("power", -1 / 2, 1.0)),
             ((4, 2), ("log", 1 / (8 * math.pi), 2)), ((4, 3), ("power", -1 / (8 * math.pi), 1.0)),
             ((2, 3), ("power", 1 / (4 * math.pi), -1.0)), ((2, 2), ("log", -1 / (2 * math.pi), 0))]
    for (p, d), (kind, c, beta) in cases:
        got_kind, got_c, got_beta = power_transform(float(p), d)
        assert (got_kind, got_beta) == (kind, beta)
        assert got_c * (2 * math.pi) ** -p == pytest.approx(c, rel=1e-14)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("excess", [0.3, 1.0, 1.7, 2.0, 3.0, 4.5])
def test_laplacian_ladder(d, excess):
    """(2 pi |xi|)^2 (2 pi |xi|)^-p = (2 pi |xi|)^-(p-2), so -Delta phi_p = phi_(p-2) away from 0:
    Delta (c r^b) = c b (b + d - 2) r^(b-2) and the r^(2j) log r coefficient obeys the same rule (the rest of
    Delta (r^(2j) log r) is a multiple of r^(2j-2), a free polynomial's worth)."""
    p = d + 2 + excess    # both kernels exist: p - 2 > d
    (k1, c1, b1), = kernel_terms(PowerLaw(p=p, dim=d))
    (k2, c2, b2), = kernel_terms(PowerLaw(p=p - 2, dim=d))
    assert k1 == k2 and b2 == pytest.approx(b1 - 2)
    assert -c1 * b1 * (b1 + d - 2) == pytest.approx(c2, rel=1e-13)


@pytest.mark.parametrize("d,s", [(1, 1.0), (1, 1.7), (2, 1.5), (3, 2.0), (3, 2.6)])
def test_matern_is_the_fourier_transform(d, s):
    """phi(0) = int (1 + 4 pi^2 |xi|^2)^-s d xi and, in 1-d, phi(r) = int cos(2 pi xi r) (1 + 4 pi^2 xi^2)^-s d xi,
    by mpmath quadrature."""
    terms = kernel_terms(Sobolev(s=s, dim=d))
    area = 2 * mpmath.pi ** (d / 2) / mpmath.gamma(d / 2)
    ref0 = area * mpmath.quad(lambda t: t ** (d - 1) * (1 + 4 * mpmath.pi**2 * t**2) ** -s, [0, 1, mpmath.inf])
    assert radial_kernel(terms, [0.0])[0] == pytest.approx(float(ref0), rel=1e-13)
    if d == 1:
        for r in (0.3, 1.0, 2.5):
            ref = 2 * mpmath.quadosc(lambda t, r=r: mpmath.cos(2 * mpmath.pi * t * r)
                                     * (1 + 4 * mpmath.pi**2 * t**2) ** -s, [0, mpmath.inf], omega=2 * mpmath.pi * r)
            assert radial_kernel(terms, [r])[0] == pytest.approx(float(ref), rel=1e-11)


def test_bessel_accuracy_behind_the_certified_residual():
    """scipy's kv is within BESSEL_RTOL / 10 of mpmath over the orders and distances the kernels use."""
    worst = 0.0
    for nu in (0.5, 0.7, 1.0, 1.5, 2.2, 3.5, 4.5, -0.5, -0.3):
        for r in np.geomspace(1e-6, 600, 40):
            ref = mpmath.besselk(nu, r)
            worst = max(worst, abs(float((kv(nu, r) - ref) / ref)))
    assert worst < BESSEL_RTOL / 50


def test_free_polynomials():
    """degree <= floor((p - d) / 2): where int_{|xi|<1} gamma^2 |xi|^(2j) first converges."""
    assert [null_degree(PowerLaw(p=p, dim=1)) for p in (1.5, 2, 3, 4, 5.5, 6)] == [0, 0, 1, 1, 2, 2]
    assert [null_degree(PowerLaw(p=p, dim=2)) for p in (2.5, 4, 5.9, 6)] == [0, 1, 1, 2]
    assert null_degree(LFP(1.0, 1.0, dim=2)) == 1 and null_degree(LFP(1.0, 0.0, dim=3)) == 0
    assert null_degree(Sobolev(s=2, dim=2)) == -1
    assert monomial_exponents(3, 2).shape == (10, 3) and monomial_exponents(2, 1).tolist() == [[0, 0], [1, 0],
                                                                                              [0, 1]]


# -- exact limits ---------------------------------------------------------------------------------------------------
def test_natural_cubic_spline_and_linear_extension():
    x = _points_1d(15, RNG)
    y = np.sin(5 * x) + 0.2 * RNG.standard_normal(x.size)
    s = _solve(x, y, PowerLaw(p=4))
    cs = CubicSpline(x, y, bc_type="natural")
    q = np.linspace(x[0], x[-1], 3001)
    scale = np.max(np.abs(y))
    assert np.max(np.abs(s(q) - cs(q))) < 1e-9 * scale
    out = np.array([-3.0, -0.5, 1.5, 4.0])
    ends = np.where(out < x[0], y[0] + cs(x[0], 1) * (out - x[0]), y[-1] + cs(x[-1], 1) * (out - x[-1]))
    assert np.max(np.abs(s(out) - ends)) < 1e-9 * scale * 5      # linear beyond the data
    # ||h||^2 = int (2 pi xi)^4 |h^|^2 = int |h''|^2, h'' piecewise linear between the natural spline's moments
    m = cs(x, 2)
    energy = np.sum(np.diff(x) * (m[:-1] ** 2 + m[:-1] * m[1:] + m[1:] ** 2) / 3)
    assert s.norm ** 2 == pytest.approx(energy, rel=1e-9)
    assert s.info.method == "exact_kernel" and s.info.truncation_error == 0.0


def test_piecewise_linear_with_constant_extension():
    x = _points_1d(20, RNG)
    y = RNG.standard_normal(x.size)
    s = _solve(x, y, PowerLaw(p=2))
    q = np.linspace(-2, 3, 4001)
    assert np.max(np.abs(s(q) - np.interp(q, x, y))) < 1e-12 * np.max(np.abs(y))
    assert s.norm ** 2 == pytest.approx(np.sum(np.diff(y) ** 2 / np.diff(x)), rel=1e-12)   # int |h'|^2


def test_thin_plate_spline():
    x = RNG.random((60, 2))
    y = np.cos(3 * x[:, 0]) * x[:, 1] + 0.1 * RNG.standard_normal(60)
    s = _solve(x, y, PowerLaw(p=4, dim=2))
    q = RNG.random((800, 2)) * 4 - 1.5
    ref = RBFInterpolator(x, y, kernel="thin_plate_spline", degree=1)(q)
    assert np.max(np.abs(s(q) - ref)) < 1e-9 * np.max(np.abs(y))


@pytest.mark.parametrize("weight,kernel,degree", [
    (PowerLaw(p=4, dim=3), "linear", 0),      # -r / (8 pi) with constants free
    (PowerLaw(p=6, dim=3), "cubic", 1),       # r^3 / (96 pi), affine
    (PowerLaw(p=3, dim=2), "linear", 0),      # a multiple of -r, constants
    (PowerLaw(p=7, dim=2), "quintic", 2),     # -r^5 times a constant, quadratics free
])
def test_polyharmonic_splines_in_2d_and_3d(weight, kernel, degree):
    """scipy's RBFInterpolator with the kernel's power and the free degree: the same interpolant (the constant
    factor cancels)."""
    d = weight.dim
    x = RNG.random((40, d))
    y = np.sin(2 * x[:, 0]) + x[:, -1] ** 2 + 0.1 * RNG.standard_normal(40)
    s = _solve(x, y, weight, rtol=1e-8)
    q = RNG.random((500, d)) * 1.4 - 0.2
    ref = RBFInterpolator(x, y, kernel=kernel, degree=degree)(q)
    assert np.max(np.abs(s(q) - ref)) < 1e-9 * np.max(np.abs(y))


@pytest.mark.parametrize("weight", [PowerLaw(p=4, dim=1), LFP(1.0, 1.0, dim=2), LFP(2.0, 0.5, dim=3),
                                    PowerLaw(p=4, dim=2)])
def test_free_polynomials_are_reproduced(weight):
    """Data of an affine function are fitted by that function, at no cost (it is free)."""
    d = weight.dim
    x = RNG.random((25, d))
    lin = lambda p: 0.7 - 1.3 * p[:, 0] + (0.4 * p[:, -1] if d > 1 else 0.0)   # noqa: E731
    s = _solve(x if d > 1 else x[:, 0], lin(x), weight)
    q = RNG.random((200, d)) * 6 - 3
    assert np.max(np.abs(s(q if d > 1 else q[:, 0]) - lin(q))) < 1e-10
    assert s.norm < 1e-7


# -- the norm against int gamma^-2 |h^|^2 -----------------------------------------------------------------------------
def _quadrature_norm2(weight_gamma2, x, alpha, free, L=3000.0):
    """int_R gamma(xi)^2 |S(xi)|^2 d xi with S = sum_j alpha_j e^{-2 pi i xi x_j}: h^ = gamma^2 S at xi != 0 (the
    kernel is the Fourier transform of gamma^2). S is formed with its vanishing moments (degree <= `free`) removed
    (stable at small xi);
    Gauss-Legendre panels up to L, the tail by the mean sum alpha_j^2 of |S|^2 there."""
    nodes, wts = np.polynomial.legendre.leggauss(24)
    edges = np.concatenate([np.geomspace(1e-13, 1.0, 120), np.arange(1.0, L + 0.125, 0.125)[1:]])
    total = 0.0
    for start in range(0, edges.size - 1, 2048):      # panels in blocks: bounded memory, vectorised
        lo, hi = edges[start:start + 2048], edges[start + 1:start + 2049]
        lo = lo[: hi.size]
        xi = ((hi - lo)[:, None] / 2 * nodes + ((hi + lo) / 2)[:, None]).ravel()
        th = 2 * np.pi * xi[:, None] * x[None, :]
        cos1 = -2 * np.sin(th / 2) ** 2
        small = np.abs(th) < 0.5
        ts = np.where(small, th, 0.0)
        sin1 = np.where(small, -ts**3 / 6 + ts**5 / 120 - ts**7 / 5040 + ts**9 / 362880 - ts**11 / 39916800,
                        np.sin(th) - th)
        if free < 1:
            sin1 = sin1 + th                  # moment 1 does not vanish
        if free < 0:
            cos1 = cos1 + 1.0                 # nor moment 0
        S = (cos1 - 1j * sin1) @ alpha        # sum alpha_j (e^{-i th} - 1 + i th) when moments 0 and 1 vanish
        total += np.sum(np.tile(wts, hi.size) * np.repeat((hi - lo) / 2, nodes.size) * weight_gamma2(xi)
                        * np.abs(S) ** 2)
    tail = quad(lambda t: float(weight_gamma2(np.array([t]))[0]), L, np.inf, epsabs=0, epsrel=1e-12)[0]
    return 2 * (total + np.sum(alpha**2) * tail)


@pytest.mark.parametrize("weight,gamma2,free", [
    (LFP(1.0, 0.5), lambda xi: 1.0 * xi**-2.0 + 0.5 * xi**-4.0, 1),
    (LFP(1.0, 0.0), lambda xi: 1.0 * xi**-2.0, 0),                               # -2 pi^2 |x|, constants free
    (PowerLaw(p=3), lambda xi: (2 * np.pi * xi) ** -3.0, 1),                    # the x^2 log|x| kernel
    (PowerLaw(p=2.5), lambda xi: (2 * np.pi * xi) ** -2.5, 0),                  # |x|^1.5
    (Sobolev(s=1.5), lambda xi: (1 + 4 * np.pi**2 * xi**2) ** -1.5, -1),
])
def test_norm_is_the_fourier_integral(weight, gamma2, free):
    x = _points_1d(8, RNG)
    y = np.cos(4 * x) + 0.3 * RNG.standard_normal(8)
    s = _solve(x, y, weight, rtol=1e-8)
    alpha = _dense_alpha(weight, x, y)
    assert s.norm ** 2 == pytest.approx(_quadrature_norm2(gamma2, x, alpha, free), rel=2e-6)


def _dense_alpha(weight, x, y):
    """The dual coefficients of the 1-d minimiser by a plain dense saddle-point solve of the kernel system."""
    A = radial_kernel(kernel_terms(weight), np.abs(x[:, None] - x[None, :]))
    P = np.vander(x, null_degree(weight) + 1, increasing=True)
    L = P.shape[1]
    big = np.block([[A, P], [P.T, np.zeros((L, L))]])
    return np.linalg.solve(big, np.concatenate([y, np.zeros(L)]))[: x.size]


@pytest.mark.parametrize("weight", [LFP(1.0, 0.5), LFP(3.0, 0.0), LFP(0.0, 2.0), PowerLaw(p=2), PowerLaw(p=4)])
def test_line_spline_is_the_kernel_interpolant(weight):
    """The O(N) piecewise-cubic solve of the 1-d spline weights against the kernel sum of a dense solve."""
    x = _points_1d(12, RNG)
    y = np.cos(4 * x) + 0.3 * RNG.standard_normal(12)
    s = _solve(x, y, weight)
    alpha = _dense_alpha(weight, x, y)
    P = np.vander(x, null_degree(weight) + 1, increasing=True)
    coef = np.linalg.lstsq(P, y - radial_kernel(kernel_terms(weight), np.abs(x[:, None] - x)) @ alpha, rcond=None)[0]
    q = np.linspace(-1.0, 2.0, 1501)
    ref = radial_kernel(kernel_terms(weight), np.abs(q[:, None] - x)) @ alpha + np.vander(q, P.shape[1],
                                                                                          increasing=True) @ coef
    assert np.max(np.abs(s(q) - ref)) < 1e-9 * np.max(np.abs(y))
    assert s.info.residual == 0.0 and s.info.residual_kind == "exact" and np.all(s(x) == y)
    assert s.norm ** 2 == pytest.approx(float(alpha @ y), rel=1e-9)


# -- the torus limit ------------------------------------------------------------------------------------------------
def test_torus_with_scaled_weight_approaches_the_whole_space_like_one_over_P():
    """LFP(a P^2, b P^4) on the circle of period P is LFP(a, b) at xi = k / P: the torus solution converges like 1/P
    and P^(d/2) times its norm to the whole-space norm."""
    x = _points_1d(10, RNG)
    y = np.sin(2 * np.pi * x) + 0.3 * RNG.standard_normal(10)
    w = _solve(x, y, LFP(1.0, 1.0))
    q = np.linspace(0, 1, 1001)
    errs = []
    for P in (16.0, 64.0, 256.0):
        t = FPInterpolator(x, y, weight=LFP(P**2, P**4), K=None, period=P)
        errs.append(np.max(np.abs(t(q) - w(q))) / np.max(np.abs(y)))
        assert t.norm * math.sqrt(P) == pytest.approx(w.norm, rel=2.0 / P)
    assert 3.5 < errs[0] / errs[1] < 4.5 and 3.5 < errs[1] / errs[2] < 4.5


# -- honesty, properties, persistence ---------------------------------------------------------------------------------
@pytest.mark.parametrize("weight", [LFP(1.0, 1.0, dim=2), Sobolev(s=2.0, dim=3), PowerLaw(p=4.5, dim=3)])
def test_residual_is_never_below_the_truth(weight):
    d = weight.dim
    x = RNG.random((80, d)) * 10 - 5
    y = np.stack([np.sin(x[:, 0]), x[:, -1] ** 2], axis=1)
    s = _solve(x, y, weight)
    true = np.max(np.abs(s(x) - y)) / np.max(np.abs(y))
    assert true <= s.info.residual < 1e-9
    assert s.info.residual_kind in ("exact", "bound") and np.isfinite(s.info.sensitivity)


def test_translation_and_linearity():
    x = RNG.random((30, 2))
    y1, y2 = RNG.standard_normal(30), RNG.standard_normal(30)
    w = LFP(1.0, 2.0, dim=2)
    shift = np.array([100.0, -37.5])
    s, t = _solve(x, y1, w), _solve(x + shift, y1, w)
    q = RNG.random((50, 2)) * 2 - 0.5
    assert np.max(np.abs(s(q) - t(q + shift))) < 1e-9
    both = _solve(x, np.stack([y1, y2], axis=1), w)
    assert np.max(np.abs(both(q) - np.stack([s(q), _solve(x, y2, w)(q)], axis=1))) < 1e-12
    assert both.norm[0] == pytest.approx(s.norm, rel=1e-10)


def test_minimality():
    """Any admissible perturbation (zero at the points) raises the norm: h + e g with g = the interpolant of the
    same kernel through one more point, minus h, vanishes at the points."""
    x = RNG.random((12, 2))
    y = RNG.standard_normal(12)
    w = PowerLaw(p=4, dim=2)
    s = _solve(x, y, w)
    extra = np.array([[0.5, 0.5]])
    bigger = _solve(np.vstack([x, extra]), np.append(y, s(extra) + 0.3), w)
    assert bigger.norm > s.norm


@pytest.mark.parametrize("weight", [LFP(1.0, 1.0, dim=3), LFP(1.0, 1.0, dim=1), Sobolev(s=1.2, dim=1)])
def test_save_load_round_trip(tmp_path, weight):
    d = weight.dim
    x = RNG.random((20, d))
    y = RNG.standard_normal(20) + 1j * RNG.standard_normal(20)
    s = _solve(x, y, weight, rtol=1e-6)
    s.save(tmp_path / "w.npz")
    t = FPInterpolator.load(tmp_path / "w.npz")
    q = RNG.random((40, d)) * 3
    assert t.period is None and np.array_equal(t(q), s(q)) and t.norm == s.norm and t.info == s.info
    assert np.array_equal(t.points, s.points)


@pytest.mark.parametrize("change, message", [
    (lambda a, h: a.update(limit_poly=a["limit_poly"][:1]), r"WholeSpaceSolution: arrays 'centers' \(6, 2\), 'poly' "
                                                            r"\(1, 1\)"),
    (lambda a, h: h["meta"].update(period=1.0), r"period None should have a 'limit' of class WholeSpaceSolution"),
    (lambda a, h: h["meta"]["limit"].update(weight="lfp:a=1.0,b=2.0,dim=2"), r"the K = None kernel's weight"),
    (lambda a, h: a.update(limit_centers=a["limit_centers"] * np.nan), r"'limit_centers' holds NaN or inf"),
])
def test_tampered_whole_space_file(tmp_path, change, message):
    s = _solve(RNG.random((6, 2)), RNG.random(6), LFP(1.0, 1.0, dim=2))
    s.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(str(arrays.pop("__fpnorm__")))
    change(arrays, header)
    np.savez(tmp_path / "x.npz", **arrays, __fpnorm__=np.array(json.dumps(header)))
    with pytest.raises(ValueError, match=message):
        FPInterpolator.load(tmp_path / "x.npz")


def test_points_are_not_wrapped_and_equal_points_merge():
    x = np.array([0.1, 1.1, 2.1, 0.1])
    s = _solve(x, np.array([0.0, 1.0, 0.0, 0.0]), PowerLaw(p=2))
    assert s.points[:, 0].tolist() == [0.1, 1.1, 2.1] and s(np.array([1.1]))[0] == pytest.approx(1.0, abs=1e-14)
    with pytest.raises(ValueError, match="coincide"):
        _solve(x, np.array([0.0, 1.0, 0.0, 5.0]), PowerLaw(p=2))


def test_ill_conditioned_data_warn_with_the_residual():
    x = np.array([0.0, 1e-7, 0.5, 1.0])
    with pytest.warns(AccuracyWarning):
        s = FPInterpolator(x, np.array([0.0, 1.0, 0.0, 1.0]), weight=PowerLaw(p=3), K=None, period=None,
                           rtol=1e-15)
    assert np.max(np.abs(s(x) - [0.0, 1.0, 0.0, 1.0])) <= s.info.residual


# -- errors ---------------------------------------------------------------------------------------------------------
def test_errors():
    x, y = RNG.random(5), RNG.random(5)
    with pytest.raises(ValueError, match="Expected K=None and `method`"):
        FPInterpolator(x, y, weight=PowerLaw(p=4), K=16, period=None)
    with pytest.raises(ValueError, match="Expected K=None and `method`"):
        FPInterpolator(x, y, weight=PowerLaw(p=4), K=None, period=None, method="periodic1d")
    with pytest.raises(ValueError, match="plain interpolation only"):
        FPInterpolator(x, y, weight=PowerLaw(p=4), K=None, period=None, tol=0.1)
    with pytest.raises(TypeError, match="`h_ini` to be None or a callable"):
        FPInterpolator(x, y, weight=PowerLaw(p=4), K=None, period=None, h_ini=np.zeros(3))
    with pytest.raises(ValueError, match="zero=None for period=None"):
        FPInterpolator(x, y, weight=PowerLaw(p=4, zero=1.0), K=None, period=None)
    with pytest.raises(ValueError, match="p > d = 2"):
        FPInterpolator(RNG.random((5, 2)), y, weight=PowerLaw(p=2, dim=2), K=None, period=None)
    with pytest.raises(ValueError, match="s > d/2"):
        FPInterpolator(x, y, weight=Sobolev(s=0.5), K=None, period=None)
    with pytest.raises(ValueError, match="PowerLaw, LFP or Sobolev"):
        FPInterpolator(x, y, weight=Weight.from_callable(lambda k: 1.0 / np.sum(k**2, axis=-1), 1), K=None,
                       period=None)
    on_a_line = np.column_stack([RNG.random(6), np.zeros(6)])
    with pytest.raises(ValueError, match="rank 2: the minimum-norm interpolant is not unique"):
        FPInterpolator(on_a_line, RNG.random(6), weight=LFP(1.0, 1.0, dim=2), K=None, period=None)
    with pytest.raises(ValueError, match="overflow"):
        FPInterpolator(np.array([[0.0, 0.0], [1e120, 0.0], [0.0, 2e120]]), y[:3], weight=LFP(1.0, 1.0, dim=2), K=None,
                       period=None)


def test_the_bound_and_the_torus_functions_refuse_the_whole_space():
    w = PowerLaw(p=4, zero=1.0)
    with pytest.raises(ValueError, match="Expected `period` to be a positive number, got None: the generalization "
                                         "bound is a theorem on the torus"):
        generalization_bound(100, 0.05, weight=w, f=lambda q: np.sin(2 * np.pi * q), period=None)
    with pytest.raises(ValueError, match="theorem on the torus"):
        validate_bound(np.sin, weight=w, Ms=[10], K=8, period=None)
    with pytest.raises(ValueError, match="theorem on the torus"):
        population_risk(np.sin, np.cos, dim=1, period=None)
    with pytest.raises(ValueError, match=r"supported by FPInterpolator\(..., K=None\) only"):
        fp_norm(np.sin, w, period=None)


# -- the flow on the whole space ---------------------------------------------------------------------------------------
def test_flow_limits_and_monotone_loss():
    x = RNG.random((25, 2))
    y = np.stack([np.sin(3 * x[:, 0]), x[:, 1]], axis=1)
    w = LFP(1.0, 1.0, dim=2)
    flow = LFPFlow(x, y, weight=w, K=None, period=None)
    q = RNG.random((60, 2)) * 3 - 1
    s = _solve(x, y, w)
    assert np.max(np.abs(flow(np.inf, q) - s(q))) < 1e-9
    assert np.all(flow(0.0, q) == 0.0)
    loss = flow.loss(np.array([0.0, 0.1, 1.0, 10.0, 100.0]))
    assert np.all(np.diff(loss, axis=0) <= 1e-15)
    norms = flow.norm(np.array([0.1, 1.0, np.inf]))
    assert np.all(np.diff(norms, axis=0) >= -1e-12) and norms[-1] == pytest.approx(s.norm, rel=1e-9)
    assert np.all(flow.rates > 0) and np.all(np.diff(flow.rates) <= 0)


def test_flow_is_the_limit_of_torus_flows():
    """On the circle of period P the physical frequency is xi = k / P and h_k ~ H(xi) / P, so the whole-space flow is
    the torus flow with gamma_T(k)^2 = gamma(k / P)^2 / P, i.e. LFP(a P, b P^3): it converges like 1/P."""
    x = np.sort(np.random.default_rng(7).random(8))
    y = np.sin(2 * np.pi * x)
    flow = LFPFlow(x, y, weight=LFP(1.0, 1.0), K=None, period=None)
    q = np.linspace(0, 1, 201)
    ts = np.array([0.5, 5.0])
    errs = []
    for P in (16.0, 64.0):
        torus = LFPFlow(x, y, weight=LFP(P, P**3), K=int(256 * P), period=P)   # truncation far below
        errs.append(np.max(np.abs(torus(ts, q) - flow(ts, q))))
    assert np.all(errs[1] < errs[0] / 3.5) and np.all(errs[1] > errs[0] / 4.5)


def test_flow_errors():
    x = RNG.random(6)
    with pytest.raises(ValueError, match="Expected K=None and method='auto' with period=None"):
        LFPFlow(x, x, weight=LFP(1.0, 1.0), K=8, period=None)
    with pytest.raises(ValueError, match="distinct `points`"):
        LFPFlow(np.append(x, x[0]), np.append(x, x[0]), weight=LFP(1.0, 1.0), K=None, period=None)
    with pytest.raises(TypeError, match="`h_ini` to be None or a callable"):
        LFPFlow(x, x, weight=LFP(1.0, 1.0), K=None, period=None, h_ini=np.zeros(3))
