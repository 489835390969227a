"""The KL factor's pattern: the maximin ordering and the sparsity sets against brute force, the pattern's pairs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpnorm.solvers.maximin import kl_pattern, maximin_ordering, sparsity_sets, unit_points
from fpnorm.solvers.pairs import local_pairs, stable_order, unique_inverse


def _torus_dist(a, b):
    d = a - b
    d -= np.round(d)
    return np.sqrt(np.sum(d * d, axis=-1))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_maximin_ordering_is_farthest_point_up_to_a_factor_two(dim):
    x = np.random.default_rng(dim).random((400, dim))
    order, length = maximin_ordering(x)
    assert np.array_equal(np.sort(order), np.arange(400))
    assert np.isinf(length[order[0]]) and np.isfinite(length[order[1:]]).all()
    # brute force: the distance of each point to every earlier point is within [l_i / 2, l_i]
    for p in range(1, 400):
        i = order[p]
        nearest = np.min(_torus_dist(x[order[:p]], x[i]))
        assert length[i] / 2 - 1e-15 <= nearest <= length[i] + 1e-15
    # and length scales never grow by more than the factor 2 along the ordering
    later_max = np.maximum.accumulate(length[order[1:]][::-1])[::-1]
    assert np.all(later_max <= 2 * length[order[1:]] + 1e-15)


@pytest.mark.parametrize("kind", ["repeats", "crowd", "lattice"])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_maximin_lengths_are_the_distances_to_coarser_points_on_hard_sets(dim, kind):
    # coincident points, a crowd far below the spacing of the rest, a lattice with ties: every point's length is
    # its distance to the points of coarser levels (brute force), and within a factor 2 of the nearest earlier one
    rng = np.random.default_rng(dim + 7)
    if kind == "repeats":
        x = rng.random((150, dim))
        x = np.concatenate([x, x[:30], x[:5] + 1e-13])
    elif kind == "crowd":
        x = np.concatenate([rng.random((120, dim)) * 1e-6 + 0.3, rng.random((120, dim))])
    else:
        x = np.round(rng.random((250, dim)) * 8) / 8
    order, length = maximin_ordering(x)
    assert np.array_equal(np.sort(order), np.arange(len(x)))
    r = np.sqrt(dim) / 2
    level = np.zeros(len(x), dtype=int)           # the level of each point: l_i in [r_L, 2 r_L) (0 for repeats)
    for i in order[1:]:
        L = 0
        while length[i] < r / 2**L and r / 2**L >= 1e-16:
            L += 1
        level[i] = L
    for p in range(1, len(x)):
        i = order[p]
        earlier = x[order[:p]]
        coarser = earlier[level[order[:p]] < level[i]] if p > 1 else earlier
        coarser = np.concatenate([x[order[:1]], coarser])
        assert np.min(_torus_dist(coarser, x[i])) == pytest.approx(length[i], rel=1e-12, abs=1e-300)
        nearest = np.min(_torus_dist(earlier, x[i]))
        assert length[i] / 2 - 1e-15 <= nearest <= length[i] + 1e-15


@pytest.mark.parametrize("floor", [0.0, 0.12])
def test_sparsity_sets_are_the_earlier_points_within_rho_l(floor):
    x = np.random.default_rng(5).random((300, 2))
    order, length = maximin_ordering(x)
    pos = np.empty(300, dtype=int)
    pos[order] = np.arange(300)
    indptr, indices = sparsity_sets(x, order, length, 2.0, max_set=300, floor=floor)
    grew = 0
    for i in range(300):
        s = indices[indptr[i]:indptr[i + 1]]
        want = {j for j in range(300) if pos[j] < pos[i] and _torus_dist(x[j], x[i]) <= max(2.0 * length[i], floor)}
        assert s[0] == i and set(s[1:].tolist()) == want
        grew += 2.0 * length[i] < floor
    assert grew > 100 or floor == 0           # the floor widens most columns here


def test_capped_sets_are_the_nearest_earlier_points_in_a_crowd():
    # a crowd of points within the floor of one another: each set keeps the max_set - 1 nearest earlier points, found
    # however many later points of its own level crowd around it
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.random((150, 2)), 0.5 + 0.01 * rng.random((250, 2))])
    order, length = maximin_ordering(x)
    pos = np.empty(len(x), dtype=int)
    pos[order] = np.arange(len(x))
    indptr, indices = sparsity_sets(x, order, length, 2.0, max_set=6, floor=0.05)
    for i in range(len(x)):
        s = indices[indptr[i]:indptr[i + 1]]
        dist = {j: _torus_dist(x[j], x[i]) for j in range(len(x))
                if pos[j] < pos[i] and _torus_dist(x[j], x[i]) <= max(2.0 * length[i], 0.05)}
        want = sorted(dist, key=dist.get)[:5]
        assert s[0] == i and s[1:].tolist() == want


def test_1d_ordering_finds_nearest_distances_across_the_wrap():
    # points on both sides of 0: the nearest earlier point of 0.99 is 0.01 across the wrap (distance 0.02)
    order, length = maximin_ordering(np.array([0.5, 0.01, 0.99, 0.3]))
    assert order.tolist()[:2] == [0, 1] or order.tolist()[:2] == [0, 2]
    last = {i: length[i] for i in order[2:]}
    assert last[2 if order[1] == 1 else 1] == pytest.approx(0.02, abs=1e-15)


def test_unit_points_wraps_and_names_bad_points():
    assert unit_points(np.array([[1.25, -0.25]])).tolist() == [[0.25, 0.75]]
    with pytest.raises(ValueError, match="`points`"):
        unit_points(np.array([np.nan]))


def test_kl_pattern_names_bad_arguments():
    with pytest.raises(ValueError, match="`resolution`"):
        kl_pattern(np.array([0.1, 0.5]), resolution=np.inf)
    with pytest.raises(ValueError, match="`rho`"):
        kl_pattern(np.array([0.1, 0.5]), rho=-1.0)
    with pytest.raises(ValueError, match="`floor`"):
        kl_pattern(np.array([0.1, 0.5]), floor=np.nan)


@pytest.mark.parametrize(("P", "bound"), [(0, 10), (1, 10), (5000, 40), (5000, 10**9), (3000, 2**62)])
def test_unique_inverse_matches_numpy_unique(P, bound):
    # packed sort for small bounds, numpy.unique when key and position do not fit in 63 bits together
    keys = np.random.default_rng(P).integers(0, bound, size=P, dtype=np.int64)
    if P > 10:
        keys[::7] = keys[0]                                  # duplicates also when the bound is large
    uniq, inverse = unique_inverse(keys, bound)
    ref, ref_inverse = np.unique(keys, return_inverse=True)
    assert uniq.tolist() == ref.tolist() and inverse.tolist() == ref_inverse.reshape(-1).tolist()
    assert uniq.dtype == np.int64 and inverse.dtype == np.int64


def test_unique_inverse_may_overwrite_its_keys_on_many_keys():
    # more keys than one chunk of the packing (2^22), the keys' buffer reused for the inverse
    keys = np.random.default_rng(5).integers(0, 10**6, size=5_000_000, dtype=np.int64)
    ref, ref_inverse = np.unique(keys, return_inverse=True)
    uniq, inverse = unique_inverse(keys, 10**6, overwrite_keys=True)
    assert np.array_equal(uniq, ref) and np.array_equal(inverse, ref_inverse.reshape(-1))


def test_local_pairs_are_the_distinct_pairs_of_every_column():
    # against a brute-force enumeration of each column's pairs, in the order of KLPattern.buckets
    rng = np.random.default_rng(3)
    pattern = kl_pattern(rng.random((300, 2)), resolution=1 / 16, rho=3.0)
    pairs, inverse = local_pairs(pattern)
    every = np.concatenate([np.sort(np.stack([S[:, a], S[:, b]], axis=-1), axis=-1).reshape(-1, 2)
                            for S, a, b in pattern.buckets()])
    assert np.array_equal(pairs[inverse], every)
    assert np.array_equal(pairs, np.unique(every, axis=0))


@pytest.mark.parametrize("seed", range(6))
def test_close_pairs_in_1d_are_every_pair_closer_than_r_across_the_wrap(seed):
    # one point per interval [j r, (j + 1) r), sorted, as _separated's cell leads; r leaves a shorter last interval,
    # where points two apart in the sorted order can be closer than r across the wrap
    from fpnorm.solvers.maximin import _close_pairs
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.05, 0.45)
    cells = np.arange(int(np.ceil(1 / r)))
    p = np.minimum((cells + rng.random(cells.size)) * r, np.nextafter(1.0, 0.0))
    p = p[rng.random(p.size) < 0.8] if seed % 2 else p
    if seed == 0:                     # the case the wrap makes: last interval short, its neighbours close across it
        r, p = 0.3, np.array([0.01, 0.35, 0.89, 0.91])
    got = {tuple(sorted(pair)) for pair in _close_pairs(p[:, None], r).tolist()}
    want = {(a, b) for a in range(p.size) for b in range(a + 1, p.size)
            if _torus_dist(p[a:a + 1, None], p[b:b + 1, None])[0] < r}
    assert got == want


@pytest.mark.parametrize("kind", ["random", "repeats", "crowd", "lattice", "grid", "ends", "mirror"])
def test_1d_ordering_is_the_levels_ordering_on_sorted_points(kind):
    # the 1-d ordering works on the points sorted once: the same candidates, cells, leads and ties as the levels of
    # the any-d ordering, so the same ordering and lengths, bit for bit
    from fpnorm.solvers.maximin import _ordering
    rng = np.random.default_rng(len(kind))
    x = rng.random(2000)
    if kind == "repeats":
        x = np.concatenate([x, x[:300], x[:50] + 1e-13, [0.0, 0.0]])
    elif kind == "crowd":
        x = np.concatenate([x, rng.random(700) * 1e-9 + 0.3, rng.random(5) * 1e-17 + 0.6])
    elif kind == "lattice":
        x = np.round(x * 64) / 64                     # ties everywhere
    elif kind == "grid":
        x = np.arange(1024) / 1024.0
    elif kind == "ends":                              # the wrap: points at both ends of [0, 1)
        x = np.concatenate([x * 1e-3, 1 - x * 1e-3, [np.nextafter(1.0, 0.0)]])
    elif kind == "mirror":                            # pairs equally far from 0 in neighbouring cells: index ties
        k = rng.permutation(np.arange(1, 16))
        x = np.concatenate([[0.0], 0.5 - k / 64, 0.5 + k[::-1] / 64])
    order, length = maximin_ordering(x)
    want_order, want_length = _ordering(unit_points(x))
    assert np.array_equal(order, want_order)
    assert np.array_equal(length, want_length)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=60),
       st.lists(st.integers(0, 59), max_size=20))
def test_1d_ordering_is_the_levels_ordering_on_any_points(values, repeats):
    from fpnorm.solvers.maximin import _ordering
    x = np.array(values + [values[i % len(values)] for i in repeats])
    order, length = maximin_ordering(x)
    want_order, want_length = _ordering(unit_points(x))
    assert np.array_equal(order, want_order)
    assert np.array_equal(length, want_length)


@pytest.mark.parametrize("P, high", [(0, 1), (1, 1), (1000, 7), (5000, 2**20), (300, 2**62)])
def test_stable_order_is_numpy_stable_argsort(P, high):
    keys = np.random.default_rng(P).integers(0, high, P, dtype=np.int64)   # 2^62: too wide to pack, the fallback
    assert np.array_equal(stable_order(keys), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("dim", [1, 2])
def test_sparsity_sets_keep_points_exactly_at_the_radius(dim):
    # 0.5 is exactly rho * l = 0.25 from 0.25 and from 0.75, and 0.75 exactly 0.25 from 0 (across the wrap) and 0.5:
    # the radius is inclusive (the k-d tree's bound is strict)
    x = np.array([0.0, 0.5, 0.25, 0.75])
    if dim == 2:
        x = np.stack([x, np.zeros(4)], axis=1)
    order, length = maximin_ordering(x)
    indptr, indices = sparsity_sets(x, order, length, 1.0)
    sets = {i: sorted(indices[indptr[i]:indptr[i + 1]].tolist()[1:]) for i in range(4)}
    pos = {int(p): k for k, p in enumerate(order)}
    for i in range(1, 4):
        r = length[i]
        want = sorted(j for j in range(4) if pos[j] < pos[i] and _torus_dist(np.atleast_1d(x[j]), np.atleast_1d(x[i]))
                      <= r)
        assert sets[i] == want
    assert sum(len(v) for v in sets.values()) >= 4
