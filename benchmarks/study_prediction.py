"""Accuracy study (not a timing): the learning curve and leave-one-out against Monte Carlo on 1-d ``pi^2 B_2({x})``.

``python3 benchmarks/study_prediction.py [--sets 1000] [--Ms 32 128 512]`` draws ``sets`` uniform sample sets per
``M``, fits the exact (``K=None``) ``LFP(1, 1, zero=1)`` interpolant of the target (coefficients ``1/(2 k^2)``, one
kink at 0), and prints per ``M``: the eigenlearning prediction over the median and the mean Monte-Carlo MSE, the
median over sets of Rippa's leave-one-out MSE over the set's own MSE (with a 90% bootstrap interval), and the mean
LOO over the mean MSE (leave-one-out is an unbiased estimate of the mean risk at ``M - 1`` points). The MSE is a
midpoint rule on ``2^16`` points (the kink's gap, about ``1/M`` wide, holds over 100 of them).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fpnorm import LFP, FPInterpolator, learning_curve  # noqa: E402
from fpnorm.posterior import loo_error  # noqa: E402

__all__ = ["main"]


def b2(x):
    """``pi^2 B_2({x})``: coefficients ``1/(2 k^2)`` at every ``k != 0``."""
    x = np.asarray(x) - np.floor(x)
    return np.pi**2 * (x * x - x + 1.0 / 6.0)


def b2_coef(K=4000):
    k = np.arange(-K, K + 1)
    return np.where(k == 0, 0.0, 0.5 / np.where(k == 0, 1, k).astype(float) ** 2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=1000)
    ap.add_argument("--Ms", type=int, nargs="+", default=[32, 128, 512])
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    w = LFP(a=1.0, b=1.0, zero=1.0)
    q = (np.arange(1 << 16) + 0.5) / (1 << 16)
    fq = b2(q)
    lc = learning_curve(args.Ms, weight=w, f_coef=b2_coef())
    rng = np.random.default_rng(args.seed)
    print(f"{'M':>5s} {'pred/median':>11s} {'pred/mean':>9s} {'LOO/MSE median':>14s} {'90% bootstrap':>13s} "
          f"{'mean LOO/mean MSE':>17s} {'seconds':>7s}")
    for i, M in enumerate(args.Ms):
        start = time.perf_counter()
        mse, loo = np.empty(args.sets), np.empty(args.sets)
        for t in range(args.sets):
            x = rng.random(M)
            s = FPInterpolator(x, b2(x), weight=w, K=None)
            mse[t] = np.mean((s(q) - fq) ** 2)
            loo[t] = loo_error(s)
        ratio = loo / mse
        boot = [np.median(ratio[rng.integers(0, ratio.size, ratio.size)]) for _ in range(2000)]
        print(f"{M:5d} {lc.mse[i] / np.median(mse):11.2f} {lc.mse[i] / np.mean(mse):9.2f} {np.median(ratio):14.2f} "
              f"{np.percentile(boot, 5):6.2f}-{np.percentile(boot, 95):<6.2f} {np.mean(loo) / np.mean(mse):17.2f} "
              f"{time.perf_counter() - start:7.1f}", flush=True)


if __name__ == "__main__":
    main()
