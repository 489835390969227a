"""The bound grid (fpnorm.solvers.bound_grid) and the grid evaluation it relies on (transforms.evaluate_grid)."""

import warnings

import numpy as np
import pytest

from fpnorm import transforms
from fpnorm.solvers import bound_grid


@pytest.mark.parametrize("dim,K,n", [(1, 4, 9), (1, 3, 16), (2, 2, 6), (3, 1, 4)])
def test_evaluate_grid_matches_direct_sum(dim, K, n):
    rng = np.random.default_rng(dim)
    shape = (2 * K + 1,) * dim + (2,)
    c = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    g = np.arange(n) / n
    pts = np.stack(np.meshgrid(*([g] * dim), indexing="ij"), -1).reshape(-1, dim)
    k = np.stack(np.meshgrid(*([np.arange(-K, K + 1)] * dim), indexing="ij"), -1).reshape(-1, dim)
    direct = np.exp(2j * np.pi * pts @ k.T) @ c.reshape(-1, 2)
    np.testing.assert_allclose(transforms.evaluate_grid(c, n, dim).reshape(-1, 2), direct, atol=1e-12)


def test_evaluate_grid_needs_enough_points():
    with pytest.raises(ValueError, match=r"Expected `n` >= 2K \+ 1 = 9 grid points per axis, got 8"):
        transforms.evaluate_grid(np.zeros(9, complex), 8, 1)


def test_grid_rule_certificates():
    # first order: L1 * P * sqrt(d) / (2 n) <= atol; second order: L2 P^2 / (8 n^2) <= atol; cheaper one wins
    n, capped = bound_grid.grid_points_per_axis(100.0, 1e9, 1, 0.01, 2, 1.0)
    assert (n, capped) == (5000, False)
    n, capped = bound_grid.grid_points_per_axis(1e9, 800.0, 1, 0.01, 2, 1.0)
    assert (n, capped) == (100, False)
    n, capped = bound_grid.grid_points_per_axis(1e9, 1e12, 2, 0.01, 2, 1.0)
    assert capped and n ** 2 <= bound_grid.MAX_GRID_POINTS
    L1, L2 = bound_grid.derivative_bounds(np.array([0.5, 0.0, 0.0, 0.0, 0.5], complex), 2.0, 1)
    assert (L1, L2) == pytest.approx((2 * np.pi / 2.0 * 2, (2 * np.pi / 2.0) ** 2 * 4))  # cos(2 pi 2 x / P)


def test_violation_between_grid_points_warns():
    # v = 1 + cos(2 pi K x) equals 2 on the grid j/K but 0 half-way: a lower bound of 0.5 holds on a K-point grid only
    K = 6
    coef = np.zeros(2 * K + 1, complex)
    coef[K], coef[0], coef[-1] = 1.0, 0.5, 0.5
    bounds = bound_grid.GridBounds(lambda x: (np.full(len(x), 0.5), np.full(len(x), np.inf)), 1.0, 1e-3)
    with pytest.warns(UserWarning, match=r"violated between grid points by up to 5\.000e-01"):
        viol = bound_grid.check_bounds_fine(coef[:, None], bounds, K, 1, stacklevel=2)
    assert viol == pytest.approx(0.5, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bound_grid.check_bounds_fine(coef[:, None] * 0 + 1.0 * (np.arange(2 * K + 1) == K)[:, None],
                                              bounds, K, 1, stacklevel=2) == 0.0
