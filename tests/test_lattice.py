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
