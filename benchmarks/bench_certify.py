"""The certified values at the points: direct sums against the Taylor NUFFT, against a NUFFT pair timed in the same run.

Run ``python3 benchmarks/bench_certify.py [--cases 0,1,2,3]`` from the repository root. Each case: the Scale
rows' uniform random points (:func:`bench_scale.data`), smooth coefficients (``(1 + |k|^2)^-1`` times standard
complex normals), ``real=True`` as the residual takes them. Printed per case: the seconds of the double-precision
direct sums and of the Taylor NUFFT (best of `repeats`), one NUFFT pair, both in NUFFT pairs, each route's bound
relative to ``sum_k |c_k|``, the largest difference between the two (within the sum of their bounds), and the
time models' figures (:func:`fpnorm.solvers.certify.direct_seconds`, :func:`fpnorm.solvers.certify_fft.taylor_seconds`).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_scale import data, nufft_pair_seconds  # noqa: E402

from fpnorm.lattice import exact_angles  # noqa: E402
from fpnorm.solvers import certify, certify_fft  # noqa: E402

__all__ = ["CASES", "main", "time_case"]

# (d, N, K): the Scale rows' sizes
CASES = [(1, 100_000, 2**17), (2, 80_000, 256), (2, 20_000, 128), (3, 20_000, 24)]


def _best(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def time_case(dim, N, K, *, repeats=1):
    x, _ = data(N, dim, seed=N + dim)
    t, t_lo = exact_angles(np.asarray(x, dtype=float).reshape(N, dim), 1.0)
    rng = np.random.default_rng(K)
    shape = (2 * K + 1,) * dim
    ks = sum(np.arange(-K, K + 1).reshape((1,) * j + (-1,) + (1,) * (dim - j - 1)) ** 2.0 for j in range(dim))
    coef = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / (1.0 + ks)
    rho = float(np.sum(np.abs(coef)))
    pair = nufft_pair_seconds(x, K)
    direct_s, (direct, direct_err) = _best(lambda: certify.certified_values(coef, t, t_lo, extended=False, real=True,
                                                                            fast=False), repeats)
    grow = certify_fft.taylor_seconds(N, K, dim, real=True)[1]
    fast_s, (fast, fast_err) = _best(lambda: certify_fft.taylor_values(coef, t, t_lo, real=True, grow=grow), repeats)
    row = {"case": f"d={dim} N={N} K={K}", "pair_s": pair, "direct_s": direct_s, "fast_s": fast_s,
           "direct_pairs": direct_s / pair, "fast_pairs": fast_s / pair, "speedup": direct_s / fast_s,
           "direct_bound": float(direct_err) / rho, "fast_bound": float(fast_err) / rho,
           "difference": float(np.max(np.abs(fast - direct))) / rho,
           "within": bool(np.max(np.abs(fast - direct)) <= fast_err + direct_err),
           "model_direct_s": certify.direct_seconds(N, K, dim, real=True),
           "model_fast_s": certify_fft.taylor_seconds(N, K, dim, real=True)[0],
           "chosen": "fast" if certify.fast_path(N, K, dim, real=True) is not None else "direct"}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(str(i) for i in range(len(CASES))))
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    return [time_case(*CASES[int(i)], repeats=args.repeats) for i in args.cases.split(",")]


if __name__ == "__main__":
    main()
