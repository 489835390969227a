"""Tests of the matrix-free K = infinity solve in d = 2, 3 (fpnorm.solvers.lattice_matfree).

References: the dense Ewald kernel matrix (:meth:`TorusKernel.matrix`, whose error is certified) for the operator,
the dense K = None solve (certified to ~1e-13, itself checked against Chowla-Selberg sums in test_lattice_limit.py)
for the interpolant, and kernel sums in long double with an independent split for the reported residual.
"""

import numpy as np
import pytest

from fpnorm import LFP, FPInterpolator, PowerLaw, Sobolev
from fpnorm.exceptions import MemoryEstimateError
from fpnorm.lattice_kernels import TorusKernel
from fpnorm.solvers import lattice_limit, lattice_matfree
from fpnorm.solvers.lattice_matfree import (
    MATFREE_METHOD,
    EwaldOperator,
    lattice_method,
    matfree_eta,
    solve_lattice_matfree,
)

ACC = 1e-9   # the promised agreement with the dense solve, relative to the data scale


def _data(N, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((N, d))
    y = np.sin(2 * np.pi * x[:, 0]) + 0.5 * np.cos(2 * np.pi * x.sum(axis=1))
    return x, y


@pytest.mark.parametrize("weight,eta", [(LFP(a=1.0, b=1.0, dim=2), 2e-3), (Sobolev(s=2.0, dim=2), 5e-4),
                                        (LFP(a=0.5, b=1.0, dim=3, zero=0.3), 4e-3), (PowerLaw(p=4.5, dim=3), None)])
def test_operator_matches_the_dense_kernel_matrix(weight, eta):
    d = weight.dim
    z, _ = _data(400, d, 1)
    v = np.random.default_rng(2).standard_normal((400, 2))
    op = EwaldOperator(z, weight, eta=eta, n_trans=2)
    dense = TorusKernel(weight)
    G = dense.matrix(z)
    # both within their kernels' errors of the exact product, plus the NUFFT's relative 1e-13
    tol = (op.kernel.error + dense.error + 1e-12 * dense.value0) * np.sum(np.abs(v), axis=0)
    assert np.all(np.max(np.abs(op(v) - G @ v), axis=0) <= tol)
    assert op.kernel.R < 0.5


@pytest.mark.parametrize("weight", [LFP(a=1.0, b=1.0, dim=2), Sobolev(s=1.75, dim=2), PowerLaw(p=3.5, dim=2),
                                    LFP(a=1.0, b=0.5, dim=3), Sobolev(s=2.0, dim=3)])
def test_matches_the_dense_solve(weight):
    d = weight.dim
    N = 1500 if d == 2 else 600
    x, y = _data(N, d, 3 + d)
    s = FPInterpolator(x, y, weight=weight, K=None, method=MATFREE_METHOD)
    ref = FPInterpolator(x, y, weight=weight, K=None, method="lattice_kernel")
    assert s.info.method == MATFREE_METHOD and s.info.iterations > 0
    q = np.random.default_rng(8).random((200, d))
    scale = np.max(np.abs(y))
    assert np.max(np.abs(s(q) - ref(q))) <= ACC * scale
    assert np.max(np.abs(s(x[:200]) - y[:200])) <= ACC * scale
    assert abs(s.norm - ref.norm) <= 1e-9 * ref.norm
    assert s.info.residual <= 1e-10 and s.info.residual_kind in ("exact", "bound")


@pytest.mark.parametrize("weight", [LFP(a=1.0, b=1.0, dim=2), Sobolev(s=2.0, dim=3)])
def test_reported_residual_bounds_the_true_one(weight):
    # the true values at the points: kernel sums with another split (eta 0.01), accumulated in long double; their
    # own error is that kernel's error times sum |alpha| plus long double rounding
    d = weight.dim
    N = 800 if d == 2 else 400
    x, y = _data(N, d, 11)
    s = FPInterpolator(x, y, weight=weight, K=None, method=MATFREE_METHOD, rtol=1e-8)
    piece = s._limit.evaluate
    ref = TorusKernel(weight, eta=0.01)
    G = ref.matrix(x)
    alpha = piece.alpha[:, 0]
    values = np.einsum("ij,j->i", G.astype(np.longdouble), alpha.astype(np.longdouble)) + np.longdouble(piece.c[0])
    err = ref.error * np.sum(np.abs(alpha)) + 1e-17 * np.sum(np.abs(alpha)) * ref.value0
    # the solve works on the data scaled by an exact power of two
    scaled = np.ldexp(y, -s._limit_exponent)
    true_lower = (float(np.max(np.abs(values - scaled))) - err) / np.max(np.abs(scaled))
    assert true_lower > 1e-11     # the test means something: the residual is far above the reference's error
    assert s.info.residual >= true_lower
    assert s.info.residual <= 1e-8


def test_free_constant_sums_to_zero_and_linearity():
    w = LFP(a=1.0, b=1.0, dim=2)
    x, y1 = _data(600, 2, 5)
    y2 = np.cos(2 * np.pi * (x[:, 0] - 2 * x[:, 1])) + x[:, 0] ** 2
    s = FPInterpolator(x, np.stack([y1, y2], axis=1), weight=w, K=None, method=MATFREE_METHOD)
    alpha = s._limit.evaluate.alpha
    assert np.all(np.abs(np.sum(alpha, axis=0)) <= 1e-12 * np.sum(np.abs(alpha), axis=0))
    s1 = FPInterpolator(x, y1, weight=w, K=None, method=MATFREE_METHOD)
    q = np.random.default_rng(7).random((50, 2))
    np.testing.assert_allclose(s(q)[:, 0], s1(q), atol=1e-9)


def test_save_load_round_trip_and_complex(tmp_path):
    w = PowerLaw(p=3.5, dim=2)
    rng = np.random.default_rng(4)
    x = rng.random((300, 2))
    y = np.exp(2j * np.pi * x[:, 0]) + 0.5j * np.sin(2 * np.pi * x[:, 1])
    s = FPInterpolator(x, y, weight=w, K=None, method=MATFREE_METHOD)
    assert np.max(np.abs(s(x) - y)) <= 1e-9 * np.max(np.abs(y))
    s.save(tmp_path / "h.npz")
    t = FPInterpolator.load(tmp_path / "h.npz")
    q = rng.random((20, 2))
    assert np.array_equal(t(q), s(q)) and t.norm == s.norm and t.info.method == MATFREE_METHOD


def test_choice_of_method():
    assert lattice_method(500, 2) == "lattice_kernel"
    assert lattice_method(20000, 2) == MATFREE_METHOD
    assert lattice_method(20000, 3) == MATFREE_METHOD
    assert lattice_method(20000, 1) == "lattice_kernel"
    # few near pairs at large N, never a radius reaching 1/2
    assert matfree_eta(20000, 2) < matfree_eta(2000, 2) <= 0.014


def test_errors():
    w1 = LFP(a=1.0, b=1.0, dim=1)
    with pytest.raises(ValueError, match=r"Expected `method` in \('auto', 'lattice_kernel'\) for K=None in d = 1, "
                                         r"got method='lattice_matfree'"):
        FPInterpolator(np.array([0.1, 0.5]), [1.0, 2.0], weight=w1, K=None, method=MATFREE_METHOD)
    with pytest.raises(ValueError, match=r"got method='lattice_matfree' with K=8"):
        FPInterpolator(np.array([[0.1, 0.2], [0.5, 0.6]]), [1.0, 2.0], weight=LFP(a=1.0, b=1.0, dim=2), K=8,
                       method=MATFREE_METHOD)
    with pytest.raises(ValueError, match=r"Expected points in d in \(2, 3\) for the matrix-free K=None solve, got "
                                         r"d = 1"):
        solve_lattice_matfree(np.array([[0.1], [0.5]]), np.ones((2, 1)), weight=w1)
    with pytest.raises(ValueError, match=r"Expected a split with a real-space radius below 1/2, got eta=0.05"):
        EwaldOperator(np.array([[0.1, 0.2], [0.5, 0.6]]), LFP(a=1.0, b=1.0, dim=2), eta=0.05)


def test_memory_estimate_is_checked(monkeypatch):
    monkeypatch.setattr(lattice_matfree, "matfree_memory", lambda *a, **k: 1 << 60)
    x, y = _data(50, 2, 0)
    with pytest.raises(MemoryEstimateError, match="matrix-free K = infinity solve"):
        FPInterpolator(x, y, weight=LFP(a=1.0, b=1.0, dim=2), K=None, method=MATFREE_METHOD)


@pytest.mark.parametrize("d", [2, 3])
def test_many_node_expansion_evaluates_through_the_split(d):
    # from _SPLIT_NODES nodes on, s(q) sums a near part on k-d trees and a NUFFT: against the dense kernel rows
    w = LFP(a=1.0, b=1.0, dim=d)
    N = lattice_limit._SPLIT_NODES
    rng = np.random.default_rng(12)
    z = rng.random((N, d))
    alpha = rng.standard_normal((N, 2))
    piece = lattice_limit.LatticeExpansion(z, alpha, np.array([0.5, -1.0]), w)
    q = np.concatenate([rng.random((40, d)), z[:10] + 1e-9, [np.zeros(d), np.full(d, 0.999999)]])
    ref = piece.kernel.expand(q, z, alpha) + piece.c
    bound = (piece.kernel.error + 1e-12 * piece.kernel.value0) * np.sum(np.abs(alpha), axis=0)
    assert np.all(np.max(np.abs(piece(q) - ref), axis=0) <= bound)


@pytest.mark.slow
def test_beyond_the_dense_limit():
    # more points than the dense solve holds: the certified residual bounds the values at sampled points, summed in
    # long double with an independent split
    w = LFP(a=1.0, b=1.0, dim=2)
    N = lattice_limit.DENSE_LIMIT_MAX_POINTS + 1000
    x, y = _data(N, 2, 21)
    s = FPInterpolator(x, y, weight=w, K=None)
    assert s.info.method == MATFREE_METHOD and s.info.residual <= 1e-10
    ref = TorusKernel(w, eta=0.01)
    pick = np.random.default_rng(0).choice(N, 50, replace=False)
    piece = s._limit.evaluate
    alpha = piece.alpha[:, 0]
    rows = ref.matrix(x[pick], x).astype(np.longdouble)
    values = np.ldexp((rows @ alpha.astype(np.longdouble)).astype(float) + piece.c[0], s._limit_exponent)
    err = np.ldexp((ref.error + 1e-16 * ref.value0) * np.sum(np.abs(alpha)), s._limit_exponent)
    assert np.max(np.abs(values - y[pick])) <= s.info.residual * np.max(np.abs(y)) + err
    np.testing.assert_allclose(s(x[pick]), y[pick], atol=1e-9)
