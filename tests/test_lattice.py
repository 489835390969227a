import numpy as np
import pytest

from fpnorm.lattice import box_points, complex_to_real, real_design, real_to_complex


@pytest.mark.parametrize("K, d", [(0, 1), (3, 1), (2, 2), (1, 3)])
def test_mirror_index(K, d):
    k = box_points(K, d)
    M = len(k)
    np.testing.assert_array_equal(k[::-1], -k)
    np.testing.assert_array_equal(k[(M - 1) // 2], 0)


@pytest.mark.parametrize("K, d", [(3, 1), (2, 2)])
def test_real_complex_round_trip_and_design(K, d, rng):
    M = (2 * K + 1) ** d
    u = rng.normal(size=M)
    c = real_to_complex(u, K, d)
    flat = c.reshape(-1)
    np.testing.assert_allclose(flat, np.conj(flat[::-1]), atol=0)  # Hermitian
    np.testing.assert_allclose(complex_to_real(c, K, d), u, rtol=1e-15, atol=1e-15)
    t = rng.uniform(0, 2 * np.pi, size=(5, d))
    k = box_points(K, d)
    direct = (np.exp(1j * t @ k.T) @ flat).real
    np.testing.assert_allclose(real_design(t, K, d) @ u, direct, atol=1e-12)


@pytest.mark.parametrize("dim, K", [(1, 0), (1, 40), (2, 3), (3, 2)])
def test_selected_columns_are_exact_against_extended_precision(dim, K):
    # any columns, in any order, repeated: each entry within a few units of rounding of cos/sin at the given angles
    import mpmath

    rng = np.random.default_rng(dim * 100 + K)
    t = rng.random((5, dim)) * 2 * np.pi
    M = (2 * K + 1) ** dim
    H = (M - 1) // 2
    cols = rng.integers(0, M, size=min(12, M))
    got = real_design(t, K, dim, cols=cols)
    half = box_points(K, dim)[H + 1:]
    with mpmath.workdps(40):
        for j, c in enumerate(cols):
            for n in range(5):
                if c == 0:
                    want = 1.0
                else:
                    k = half[(c - 1) % H]
                    phase = sum(int(k[i]) * mpmath.mpf(float(t[n, i])) for i in range(dim))
                    want = float(mpmath.cos(phase) if c <= H else mpmath.sin(phase))
                assert abs(got[n, j] - want) <= 4 * np.finfo(float).eps


def test_selected_columns_out_of_range():
    with pytest.raises(ValueError, match=r"Expected `cols` in \[0, 1\) \(the real basis of K = 0 in d = 1\), "
                                         r"got \[1\]"):
        real_design(np.zeros((2, 1)), 0, 1, cols=[1])
    with pytest.raises(ValueError, match=r"Expected `cols` in \[0, 5\) .* got \[-1, 5\]"):
        real_design(np.zeros((2, 1)), 2, 1, cols=[0, -1, 5])
