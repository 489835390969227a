"""posterior_bound and loo_error: exact power functions, brute-force leave-one-out refits, and Monte Carlo."""

import numpy as np
import pytest

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev, get_target
from fpnorm.gram import KernelSystem
from fpnorm.posterior import loo_error, posterior_bound


def _brownian_bridge(x, q):
    """P_X(q)^2 of piecewise-linear interpolation on the circle (kernel B_2/2, constant free): (q - a)(b - q)/(b - a)
    with a, b the nodes around q."""
    z = np.sort(x)
    nodes = np.concatenate([z, [z[0] + 1.0]])
    j = np.searchsorted(nodes, q, side="right") - 1
    qq = np.where(j < 0, q + 1.0, q)
    j = np.where(j < 0, len(z) - 1, j)
    a, b = nodes[j], nodes[j + 1]
    return (qq - a) * (b - qq) / (b - a), np.diff(nodes)


def test_power_function_is_the_brownian_bridge():
    x = np.random.default_rng(3).random(12)
    f = get_target("abs")
    s = FPInterpolator(x, f(x), weight=PowerLaw(p=2), K=None)
    b = posterior_bound(s, f=f)
    q = np.linspace(0, 1, 997, endpoint=False)
    exact, gaps = _brownian_bridge(x, q)
    P = b.power_function(q)
    assert np.all(P**2 >= exact - 1e-15)                # an upper bound ...
    assert np.allclose(P**2, exact, rtol=1e-9, atol=1e-12)   # ... and a sharp one
    # the torus mean of P^2 is sum_gaps g^2 / 6 (the integral of (q - a)(b - q)/g over a gap)
    assert b.l2 / b.residual_norm == pytest.approx(np.sqrt(np.sum(gaps**2) / 6), rel=1e-6)
    assert b.sup / b.residual_norm >= np.sqrt(np.max(gaps) / 4)      # the widest gap's midpoint


def test_residual_norm_is_the_pythagorean_gap():
    """||f - h||^2 = ||f||^2 - ||h||^2 for f = |x - 1/2| and PowerLaw(2): ||f||^2 = int f'^2 = 1."""
    x = np.random.default_rng(4).random(20)
    f = get_target("abs")
    s = FPInterpolator(x, f(x), weight=PowerLaw(p=2), K=None)
    b = posterior_bound(s, f=f)
    assert b.f_norm == pytest.approx(1.0, rel=1e-12) and b.f_norm >= 1.0
    assert b.norm <= s.norm * (1 + 1e-12)
    assert b.residual_norm == pytest.approx(np.sqrt(1.0 - s.norm**2), rel=1e-8)


def _true_errors(f, s, d, rng):
    q = np.linspace(0, 1, 4001, endpoint=False) if d == 1 else rng.random((6000, d))
    return q, np.abs(f(q) - s(q))


def _holds_1d(weight, sizes, seed):
    rng = np.random.default_rng(seed)
    f = get_target("abs")
    for N in sizes:
        x = rng.random(N)
        s = FPInterpolator(x, f(x), weight=weight, K=None)
        b = posterior_bound(s, f=f)
        q, err = _true_errors(f, s, 1, rng)
        assert np.all(err <= b.pointwise(q))
        assert err.max() <= b.sup
        assert np.sqrt(np.mean(err**2)) <= b.l2 * 1.01   # the grid mean approximates the torus mean


@pytest.mark.parametrize("weight", [LFP(1.0, 1.0, zero=1.0), LFP(1.0, 1.0), PowerLaw(p=2)])
def test_bound_holds_in_every_trial_1d(weight):
    _holds_1d(weight, (8, 16, 32, 64), 5)


def _holds_2d(trials, seed, K_solve=5):
    """Random real f with coefficients in |k|_inf <= 5 (exact FP-norm from its coefficient array), interpolated with
    the box K_solve = 5 or exactly (K_solve = None, the Ewald-split torus kernel)."""
    rng = np.random.default_rng(seed)
    K = 5
    for trial in range(trials):
        c = np.zeros((2 * K + 1,) * 2, dtype=complex)
        c[...] = rng.standard_normal(c.shape) / (1.0 + np.add.outer(np.arange(-K, K + 1) ** 2,
                                                                   np.arange(-K, K + 1) ** 2))
        c = 0.5 * (c + np.conj(c[::-1, ::-1]))            # a real function

        def f(q, c=c):
            k = np.arange(-K, K + 1)
            e0, e1 = np.exp(2j * np.pi * np.outer(q[:, 0], k)), np.exp(2j * np.pi * np.outer(q[:, 1], k))
            return np.einsum("qa,ab,qb->q", e0, c, e1).real

        weight = PowerLaw(p=3, dim=2) if trial % 2 else LFP(1.0, 1.0, dim=2, zero=1.0)
        x = rng.random((30 + (5 * trial) % 80, 2))
        s = FPInterpolator(x, f(x), weight=weight, K=K_solve)
        b = posterior_bound(s, f=c)
        q, err = _true_errors(f, s, 2, rng)
        assert np.all(err <= b.pointwise(q))
        assert err.max() <= b.sup
        if K_solve is None:
            assert np.sqrt(np.mean(err**2)) <= b.l2 * 1.01   # the sample mean approximates the torus mean


def test_bound_holds_in_every_trial_2d_box():
    _holds_2d(3, 6)


@pytest.mark.slow
@pytest.mark.parametrize("weight", [LFP(1.0, 1.0, zero=1.0), LFP(1.0, 1.0), PowerLaw(p=2), LFP(0.0, 1.0)])
def test_bound_holds_in_many_trials(weight):
    _holds_1d(weight, (8, 16, 32, 64, 128) * 8, 50)


@pytest.mark.slow
def test_bound_holds_in_many_trials_2d():
    _holds_2d(20, 51)


def test_bound_holds_in_every_trial_2d_limit():
    _holds_2d(2, 7, K_solve=None)


@pytest.mark.slow
def test_bound_holds_in_many_trials_2d_limit():
    _holds_2d(24, 52, K_solve=None)


def test_f_norm_given_and_errors():
    x = np.random.default_rng(7).random(10)
    f = get_target("abs")
    s = FPInterpolator(x, f(x), weight=PowerLaw(p=2), K=None)
    assert posterior_bound(s, f_norm=1.0).residual_norm == pytest.approx(posterior_bound(s, f=f).residual_norm,
                                                                         rel=1e-6)
    with pytest.raises(ValueError, match="exactly one of `f` and `f_norm`"):
        posterior_bound(s)
    with pytest.raises(ValueError, match="Expected `s` to interpolate `f`"):
        posterior_bound(s, f=lambda q: np.sin(q))
    with pytest.raises(ValueError, match="Expected `f_norm` >= 0"):
        posterior_bound(s, f_norm=-1.0)
    with pytest.raises(ValueError, match=r"Expected `f_norm` >= \|\|h - h_ini\|\|_gamma"):
        posterior_bound(s, f_norm=0.5 * s.norm)
    t = FPInterpolator(x, f(x), weight=PowerLaw(p=2, zero=1.0), K=8)
    with pytest.raises(ValueError, match="no Fourier coefficients beyond the box"):
        posterior_bound(t, f=f)
    u = FPInterpolator(x, f(x), weight=PowerLaw(p=2, zero=1.0), K=8, smoothing=1e-3)
    with pytest.raises(ValueError, match="plain interpolant"):
        posterior_bound(u, f_norm=1.0)
    with pytest.raises(ValueError, match="smoothing = 0"):
        loo_error(u)


def test_divergent_norm_gives_an_infinite_bound():
    x = np.random.default_rng(8).random(10)
    f = get_target("abs")     # |x - 1/2| has ||f||_gamma = inf for PowerLaw(4)
    s = FPInterpolator(x, f(x), weight=PowerLaw(p=4, zero=1.0), K=None)
    b = posterior_bound(s, f=f)
    assert b.f_norm_status == "divergent" and b.sup == np.inf and np.all(b.pointwise([0.3]) == np.inf)


def _refit_residuals(x, y, **kw):
    out = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        h = FPInterpolator(x[keep], y[keep], **kw)
        out.append(y[i] - h(x[i: i + 1])[0])
    return np.array(out)


@pytest.mark.parametrize("weight", [LFP(1.0, 1.0, zero=1.0), LFP(0.0, 1.0), PowerLaw(p=2)])
def test_loo_matches_refits_limit(weight):
    rng = np.random.default_rng(9)
    x = rng.random(14)
    y = np.cos(2 * np.pi * x) + x**2
    s = FPInterpolator(x, y, weight=weight, K=None)
    assert np.allclose(loo_error(s, full=True), _refit_residuals(x, y, weight=weight, K=None), rtol=1e-7,
                       atol=1e-10)


@pytest.mark.parametrize("weight", [PowerLaw(p=3, dim=2), LFP(1.0, 1.0, dim=2, zero=0.5)])
def test_loo_matches_refits_box(weight):
    rng = np.random.default_rng(10)
    x = rng.random((16, 2))
    y = np.column_stack([np.sin(2 * np.pi * x[:, 0]) * x[:, 1], x[:, 0] - x[:, 1] ** 2])
    s = FPInterpolator(x, y, weight=weight, K=4)
    e = loo_error(s, full=True)
    for j in range(2):
        assert np.allclose(e[:, j], _refit_residuals(x, y[:, j], weight=weight, K=4), rtol=1e-7, atol=1e-10)
    assert np.allclose(loo_error(s), np.mean(e**2, axis=0))
    z = FPInterpolator(x, y[:, 0] + 1j * y[:, 1], weight=weight, K=4)
    assert np.allclose(loo_error(z, full=True), e[:, 0] + 1j * e[:, 1], rtol=1e-9, atol=1e-12)


def test_kernel_system_matches_direct_sums():
    rng = np.random.default_rng(11)
    x = rng.random((7, 2))
    w = LFP(1.0, 2.0, dim=2)
    ks = KernelSystem(w, 3, x, 1.0)
    k = np.stack(np.meshgrid(np.arange(-3, 4), np.arange(-3, 4), indexing="ij"), axis=-1).reshape(-1, 2)
    g = w.gamma2(k)
    pen = np.isfinite(g)
    E = np.exp(2j * np.pi * x @ k[pen].T)
    assert np.allclose(ks.G, (E * g[pen]) @ E.conj().T, rtol=1e-12, atol=1e-13)
    assert np.allclose(ks.second_moment(), (E * g[pen] ** 2) @ E.conj().T, rtol=1e-12, atol=1e-13)
    assert ks.F.shape == (7, 1) and ks.kappa0 == pytest.approx(np.sum(g[pen]))


def _mc_ratios(f, weight, K, M, trials, d, seed):
    rng = np.random.default_rng(seed)
    q = np.linspace(0, 1, 8192, endpoint=False) if d == 1 else rng.random((8192, d))
    loo, sup = [], []
    for _ in range(trials):
        x = rng.random(M) if d == 1 else rng.random((M, d))
        s = FPInterpolator(x, f(x), weight=weight, K=K)
        err = np.abs(f(q) - s(q))
        loo.append(loo_error(s) / np.mean(err**2))
        if d == 1 or K is None:
            bound = posterior_bound(s, f=f)
            assert np.all(err <= bound.pointwise(q)) and err.max() <= bound.sup
            sup.append(bound.sup / err.max())
    return np.median(loo), (np.median(sup) if sup else None)


def test_loo_and_sup_ratios_small():
    loo, sup = _mc_ratios(get_target("abs"), LFP(1.0, 1.0, zero=1.0), None, 64, 5, 1, 12)
    assert 1 / 4 <= loo <= 4 and 1 <= sup <= 30
    loo, _ = _mc_ratios(get_target("abs", 2), PowerLaw(p=3, dim=2, zero=1.0), 16, 64, 4, 2, 13)
    assert 1 / 4 <= loo <= 4


@pytest.mark.slow
@pytest.mark.parametrize("M", [32, 128, 512])
def test_loo_and_sup_ratios(M):
    loo, sup = _mc_ratios(get_target("abs"), LFP(1.0, 1.0, zero=1.0), None, M, 16, 1, M)
    # at a 1-d kink, leaving out its neighbour doubles the gap there, so set by set LOO overestimates (median ratio
    # 2.2 to 3.3 for pi^2 B_2 over 1000 sets, benchmarks/study_prediction.py); `abs` measured 1.4 to 1.7
    assert 1 / 4 <= loo <= 4 and 1 <= sup <= 30
    loo, _ = _mc_ratios(get_target("abs", 2), PowerLaw(p=3, dim=2, zero=1.0), 32, M, 8, 2, M + 1)
    assert 1 / 4 <= loo <= 4


# -- K = None through the Ewald-split torus kernel (d = 2, 3) ----------------------------------------------------------

@pytest.mark.parametrize("weight, N", [(PowerLaw(p=3, dim=2), 14), (LFP(1.0, 1.0, dim=2, zero=0.5), 14),
                                       (Sobolev(2.0, dim=2), 12), (PowerLaw(p=4, dim=3), 10)])
def test_loo_matches_refits_torus_kernel(weight, N):
    rng = np.random.default_rng(20)
    x = rng.random((N, weight.dim))
    y = np.cos(2 * np.pi * x[:, 0]) + x[:, 1] ** 2 - x[:, -1]
    s = FPInterpolator(x, y, weight=weight, K=None)
    assert np.allclose(loo_error(s, full=True), _refit_residuals(x, y, weight=weight, K=None), rtol=1e-7,
                       atol=1e-9)


def _gamma4_box_sum(weight, z, M):
    """``sum_{|k|_inf <= M, penalised} gamma(k)^4 cos(2 pi k.z)`` by brute force, and a bound on the rest:
    ``|k|_2 >= m`` on the shell ``|k|_inf = m`` of at most ``2 d (2m + 1)^(d-1) <= 2 d (3m)^(d-1)`` points, and
    ``gamma^4 <= sum_j c_j m^-q_j`` there, so the rest is at most ``2 d 3^(d-1) sum_j c_j M^(d - q_j) / (q_j - d)``
    (the sum over m > M below the integral from M)."""
    d = weight.dim
    k = np.stack(np.meshgrid(*[np.arange(-M, M + 1)] * d, indexing="ij"), axis=-1).reshape(-1, d)
    g = weight.gamma2(k)
    pen = np.isfinite(g)
    value = np.cos(2 * np.pi * z @ k[pen].T) @ g[pen] ** 2
    if isinstance(weight, PowerLaw):
        terms = [((2 * np.pi) ** (-2 * weight.p), 2 * weight.p)]
    elif isinstance(weight, LFP):
        terms = [(weight.a**2, 2 * d + 2), (2 * weight.a * weight.b, 2 * d + 4), (weight.b**2, 2 * d + 6)]
    else:   # (1 + 4 pi^2 m^2)^-2s <= (2 pi m)^-4s
        terms = [((2 * np.pi) ** (-4 * weight.s), 4 * weight.s)]
    tail = 2 * d * 3 ** (d - 1) * sum(c * M ** (d - q) / (q - d) for c, q in terms)
    return value, tail


@pytest.mark.parametrize("weight", [PowerLaw(p=3, dim=2), PowerLaw(p=2.5, dim=2, zero=0.7),
                                    LFP(1.0, 2.0, dim=2, zero=0.5), LFP(0.5, 1.0, dim=2), Sobolev(1.5, dim=2),
                                    LFP(1.0, 1.0, dim=3), PowerLaw(p=3.5, dim=3, zero=1.0), LFP(1.0, 1.0, dim=1),
                                    PowerLaw(p=3, dim=1)])
def test_gamma4_kernel_matches_box_sum(weight):
    """The kernel of gamma^4 (the torus mean of kappa(x - x_i) kappa(x - x_j)) against the brute-force lattice sum
    with its certified tail: the (2 pi)^q constants of each term are what this checks."""
    d = weight.dim
    rng = np.random.default_rng(21)
    x = rng.random((5, d))
    ks = KernelSystem(weight, None, x, 1.0)
    z = (x[:, None, :] - x[None, :, :]).reshape(-1, d)
    M = {1: 400, 2: 60, 3: 16}[d]
    exact, tail = _gamma4_box_sum(weight, z, M)
    G2 = ks.second_moment().reshape(-1)
    scale = np.max(np.abs(exact))
    assert tail < 1e-3 * scale             # the check is sharp enough to catch a wrong constant
    assert np.all(np.abs(G2 - exact) <= tail + ks.kernel4_error + 1e-13 * scale)


@pytest.mark.parametrize("weight", [PowerLaw(p=3, dim=2), LFP(1.0, 1.0, dim=2, zero=1.0), Sobolev(1.5, dim=2),
                                    LFP(1.0, 1.0, dim=3)])
def test_cell_modulus_bounds_the_kernel_drop(weight):
    """``kappa(0) - kappa(z) = sum_k gamma^2 (1 - cos 2 pi k.z)``: every partial box sum is below it (nonnegative
    terms), so the certified cell term must exceed the box sum's maximum over the cell, and by a bounded factor."""
    d = weight.dim
    ks = KernelSystem(weight, None, np.random.default_rng(22).random((3, d)), 1.0)
    M = {2: 80, 3: 20}[d]
    k = np.stack(np.meshgrid(*[np.arange(-M, M + 1)] * d, indexing="ij"), axis=-1).reshape(-1, d)
    g = weight.gamma2(k)
    pen = np.isfinite(g)
    for half in (0.01, 0.05, 0.2):
        z = half * np.concatenate([2 * np.random.default_rng(23).random((200, d)) - 1, np.ones((1, d))])
        drop = (1 - np.cos(2 * np.pi * z @ k[pen].T)) @ g[pen]
        bound = ks.cell_modulus(half, 0.0)
        assert bound >= drop.max()
        assert bound <= 30 * drop.max()


def test_loo_and_sup_ratios_2d_limit_small():
    loo, sup = _mc_ratios(get_target("bandlimited", 2), PowerLaw(p=3, dim=2), None, 32, 3, 2, 24)
    assert 1 / 4 <= loo <= 4 and 1 <= sup <= 30


@pytest.mark.slow
@pytest.mark.parametrize("M", [32, 128, 512])
def test_loo_and_sup_ratios_2d_limit(M):
    """The issue's targets in 2-d with the exact (torus-kernel) interpolant: LOO within 4x of the true MSE and the
    power-function sup within 30x of the true sup error, in the median; the bound holds in every set."""
    for f, weight in ((get_target("poisson", 2), LFP(1.0, 1.0, dim=2, zero=1.0)),
                      (get_target("bandlimited", 2), PowerLaw(p=3, dim=2))):
        loo, sup = _mc_ratios(f, weight, None, M, 8, 2, M + 2)
        assert 1 / 4 <= loo <= 4 and 1 <= sup <= 30
