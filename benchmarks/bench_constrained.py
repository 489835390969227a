"""Timings of the tolerance, bound and smoothing variants against cvxpy.

Run by hand from the repository root: ``python3 benchmarks/bench_constrained.py``.

Prints, for random data on the circle with the cubic-spline weight, the wall-clock time of
- the exact active-set dual route for tolerances vs the cvxpy primal on the same problem (and their norm agreement),
- a bound-constrained solve (cvxpy with cutting planes on the certified grid),
- the smoothing closed form.
"""

import time

import numpy as np

from fpnorm import FPInterpolator, PowerLaw
from fpnorm.lattice import real_design
from fpnorm.solvers import constrained


def _cvxpy_norm(s, y, eps):
    K, d = s.K, s.dim
    g = s.weight.box(K).reshape(-1)
    H = (g.size - 1) // 2
    s2 = np.concatenate([[g[H]], 2 * g[H + 1:], 2 * g[H + 1:]])
    free = np.isinf(s2)
    A = real_design(2 * np.pi * s.points, K, d)
    B, F = A[:, ~free] * np.sqrt(s2[~free]), A[:, free]
    t0 = time.perf_counter()
    u, _, status = constrained._cvxpy_solve(B, F, y, eps, None, "CLARABEL")
    return np.linalg.norm(u), time.perf_counter() - t0, status


def main():
    w = PowerLaw(p=4, dim=1)
    FPInterpolator([0.1, 0.5], [0.0, 1.0], weight=w, K=4, lower=-1.0)  # import and warm up cvxpy
    print(f"{'N':>5} {'K':>5} {'active-set s':>13} {'cvxpy s':>9} {'norm rel diff':>14} {'bounds s':>9} "
          f"{'smoothing s':>12}")
    for N, K in [(20, 32), (50, 64), (100, 128), (200, 256)]:
        rng = np.random.default_rng(N)
        x = (np.arange(N) + 0.5 * rng.random(N)) / N  # jittered grid: no near-duplicates
        y = np.clip(np.sin(2 * np.pi * x) + 0.1 * rng.standard_normal(N), -1.0, 1.0)
        eps = np.full(N, 0.05)
        t0 = time.perf_counter()
        s = FPInterpolator(x, y, weight=w, K=K, tol=eps)
        t_as = time.perf_counter() - t0
        nc, t_cvx, _ = _cvxpy_norm(s, y, eps)
        t0 = time.perf_counter()
        FPInterpolator(x, y, weight=w, K=K, tol=eps, lower=-1.0, upper=1.0)
        t_b = time.perf_counter() - t0
        t0 = time.perf_counter()
        FPInterpolator(x, y, weight=w, K=K, smoothing=1e-6)
        t_s = time.perf_counter() - t0
        print(f"{N:5d} {K:5d} {t_as:13.3f} {t_cvx:9.3f} {abs(s.norm - nc) / nc:14.1e} {t_b:9.3f} {t_s:12.4f}"
              f"   ({s.info.method}, {s.info.iterations} steps)")


if __name__ == "__main__":
    main()
