"""learning_curve: the eigenlearning equations against brute-force sums, and against Monte Carlo."""

import math

import numpy as np
import pytest

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev, Weight, get_target, load, save
from fpnorm.learning_curve import learning_curve


def _brute_1d(M, a, b, zero, coef, J=200_000):
    """The ridgeless equations in 1-d by direct sums over |k| <= J plus the integral of the k^-2 tail, LFP(a, b)."""
    k = np.arange(1, J + 1, dtype=float)
    lam = a * k**-2 + b * k**-4

    def s1(kap):
        tail = 2 * a / (kap * J)   # sum_{k > J} 2 lambda/kappa, lambda ~ a k^-2 (relative error ~ 1/J)
        return (1 if zero is None else zero / (zero + kap)) + 2 * np.sum(lam / (lam + kap)) + tail

    lo, hi = 1e-30, 1e3
    for _ in range(110):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if s1(mid) > M else (lo, mid)
    kap = math.sqrt(lo * hi)
    L = lam / (lam + kap)
    L0 = 1.0 if zero is None else zero / (zero + kap)
    s2 = L0**2 + 2 * np.sum(L * L)
    kk = np.arange(-coef.size // 2 + 1, coef.size // 2 + 1)
    m = np.maximum(np.abs(kk), 1).astype(float)
    lam_c = np.where(kk == 0, np.inf if zero is None else zero, a * m**-2 + b * m**-4)
    one_minus = np.where(np.isinf(lam_c), 0.0, kap / (np.where(np.isinf(lam_c), 0, lam_c) + kap))
    bias = np.sum(one_minus**2 * np.abs(coef) ** 2)
    return kap, M / (M - s2) * bias


@pytest.mark.parametrize("zero", [None, 1.0])
def test_equations_against_brute_force(zero):
    rng = np.random.default_rng(1)
    coef = rng.standard_normal(41) + 1j * rng.standard_normal(41)
    coef = 0.5 * (coef + coef[::-1].conj())
    lc = learning_curve([16, 64], weight=LFP(1.0, 0.5, zero=zero), f_coef=coef)
    for i, M in enumerate((16, 64)):
        kap, mse = _brute_1d(M, 1.0, 0.5, zero, coef)
        assert lc.effective_regularisation[i] == pytest.approx(kap, rel=1e-5)
        assert lc.mse[i] == pytest.approx(mse, rel=1e-5)
    assert lc.status == "certified" and np.all(lc.error_bound < 1e-6 * lc.mse)


def test_degrees_of_freedom_and_noise():
    """sum_k L_k = M (free modes count one each); noise is amplified by E_0 = M / (M - sum L^2)."""
    w = PowerLaw(p=3, dim=2)
    lc = learning_curve([20, 80], weight=w, f=get_target("sin", 2), noise=0.1)
    K = 400
    k = np.stack(np.meshgrid(np.arange(-K, K + 1), np.arange(-K, K + 1), indexing="ij"), -1).reshape(-1, 2)
    L = lc.learnability_at(k)
    # the box misses sum_{|k|_inf > 400} lambda/kappa ~ 2 pi (2 pi)^-3 / (400 kappa): compare to that accuracy
    missing = (2 * math.pi) ** -2 / (K * lc.effective_regularisation)
    assert np.all(np.abs(L.sum(axis=1) - lc.M) <= 1.5 * missing)
    assert np.allclose(lc.mse, lc.e0 * (lc.bias + 0.01), rtol=1e-14)
    assert np.all(lc.e0 > 1) and np.all(np.diff(lc.mse) < 0)
    assert np.all(lc.learnability[:, 0] == 1.0)          # the free mean


def test_band_limited_target_is_exact_and_learned():
    """sin(2 pi x) has coefficients +-i/2 at k = +-1: bias = 2 (1/4) (1 - L_1)^2."""
    w = Sobolev(s=1, dim=1)
    lc = learning_curve(np.array([4, 8, 64]), weight=w, f=get_target("sin"))
    L1 = lc.learnability[:, 1]
    assert np.allclose(lc.bias, 0.5 * (1 - L1) ** 2, rtol=1e-13)
    assert np.all(lc.error_bound <= 1e-5 * lc.mse)


def test_save_load_round_trip(tmp_path):
    lc = learning_curve([32, 64], weight=LFP(1.0, 1.0, zero=1.0), f=get_target("abs"), noise=0.01)
    save(lc, tmp_path / "lc.npz")
    back = load(tmp_path / "lc.npz")
    for field in ("M", "mse", "error_bound", "effective_regularisation", "e0", "bias", "learnability"):
        assert np.array_equal(getattr(back, field), getattr(lc, field))
    assert back.weight == lc.weight and back.noise == lc.noise and back.status == lc.status


def test_sampled_callable_agrees_with_target():
    f = get_target("poisson")
    w = LFP(1.0, 1.0, zero=1.0)
    a = learning_curve([32, 128], weight=w, f=f)
    b = learning_curve([32, 128], weight=w, f=lambda x: f(x))
    assert b.status == "sampled" and np.allclose(a.mse, b.mse, rtol=1e-8)


def test_errors():
    w = PowerLaw(p=2)
    with pytest.raises(ValueError, match="built-in weight"):
        learning_curve(10, weight=Weight.from_callable(lambda k: 1.0 / (1.0 + np.sum(k * k, axis=-1)) ** 2, dim=1),
                       f=get_target("sin"))
    with pytest.raises(ValueError, match="`M` >= 2"):
        learning_curve([1, 10], weight=w, f=get_target("sin"))
    with pytest.raises(ValueError, match="`f` or `f_coef`"):
        learning_curve(10, weight=w)
    with pytest.raises(ValueError, match="ill-posed"):
        learning_curve(10, weight=PowerLaw(p=1), f=get_target("sin"))
    with pytest.raises(TypeError, match="`M` to be an integer"):
        learning_curve(10.5, weight=w, f=get_target("sin"))


def _mc(f, weight, K, M, trials, d, seed):
    rng = np.random.default_rng(seed)
    q = np.linspace(0, 1, 8192, endpoint=False) if d == 1 else rng.random((8192, d))
    fq = f(q)
    errs = []
    for _ in range(trials):
        x = rng.random(M) if d == 1 else rng.random((M, d))
        s = FPInterpolator(x, f(x), weight=weight, K=K)
        errs.append(np.mean((s(q) - fq) ** 2))
    return np.median(errs), np.mean(errs)


def _b2(x):
    """pi^2 B_2({x}): coefficients 1/(2 k^2) at every k != 0, one kink at 0."""
    x = np.asarray(x)
    x = x - np.floor(x)
    return np.pi**2 * (x * x - x + 1.0 / 6.0)


def _b2_coef(K=4000):
    k = np.arange(-K, K + 1)
    return np.where(k == 0, 0.0, 0.5 / np.where(k == 0, 1, k).astype(float) ** 2)


# targets with power-law coefficients (kinks), exact coefficients; K = None in 1-d, a box in 2-d
_CASES = [("b2", 1, LFP(1.0, 1.0, zero=1.0), None), ("abs", 1, LFP(1.0, 1.0, zero=1.0), None),
          ("abs", 2, PowerLaw(p=3, dim=2, zero=1.0), 32),
          ("abs", 2, LFP(1.0, 1.0, dim=2, zero=1.0), 32)]


def _case(name, d, w, Ms):
    if name == "b2":
        return _b2, learning_curve(Ms, weight=w, f_coef=_b2_coef())
    f = get_target(name, d)
    return f, learning_curve(Ms, weight=w, f=f)


def test_prediction_against_monte_carlo_small():
    for name, d, w, K in (_CASES[0], _CASES[2]):
        # one sample set's MSE depends on its widest gap near the kink: the median needs ~100 sets in 1-d
        f, lc = _case(name, d, w, [32, 64])
        for i, M in enumerate((32, 64)):
            median, _ = _mc(f, w, K, M, 100 if d == 1 else 4, d, M)
            assert 1 / 3 <= lc.mse[i] / median <= 3


@pytest.mark.slow
@pytest.mark.parametrize("case", _CASES)
def test_prediction_against_monte_carlo(case):
    name, d, w, K = case
    Ms = [32, 128, 512]
    f, lc = _case(name, d, w, Ms)
    for i, M in enumerate(Ms):
        median, _ = _mc(f, w, K, M, 300 if d == 1 else 12, d, M)
        assert 1 / 3 <= lc.mse[i] / median <= 3
