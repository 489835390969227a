"""The truncation estimate of iterative solves: the solver's preconditioner as the estimate's dual (``old``) against
the KL factor of the estimate's own kernel on the solve's pattern (``new``, the present code).

Run ``python3 benchmarks/bench_estimate.py [--rows 3d|2d|1d|all]`` from the repository root. Each row solves the
problem once and times the estimate twice on it, first with the solver's preconditioner as its dual (``local`` and
``coarse`` withheld), then as the solve hands it over, and reports the time of the estimate, its conjugate-gradient
iterations (applications of its dual, over the transform tiers it tried) and its value against a converged
reference: the present estimate at eps 1e-14 with its conjugate gradients run to a misfit of ``1e-4`` of the RMS of
``e`` (at most 400 iterations).
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench_scale import data, weight  # noqa: E402

import fpnorm.interpolant as interpolant  # noqa: E402
import fpnorm.solvers.truncation as truncation  # noqa: E402
from fpnorm import FPInterpolator  # noqa: E402

__all__ = ["main", "estimate_row"]

ROWS = {"3d": [(3, 5000, 24, "Sobolev(2)"), (3, 20_000, 24, "Sobolev(2)")],
        "2d": [(2, 20_000, 128, "LFP(1,1)"), (2, 80_000, 256, "Sobolev(2)")],
        "1d": [(1, 20_000, 32768, "Sobolev(1.5)"), (1, 100_000, 2**17, "Sobolev(1.5)")]}


def _reference(args, kwargs):
    """The estimate with its conjugate gradients run to convergence."""
    names = ("_CG_TOL", "_CG_MAX", "_MIDDLE_EPS", "_MIDDLE_UPSAMPFAC", "_MODEL_SHARE")
    saved = [getattr(truncation, name) for name in names]
    for name, value in zip(names, (1e-4, 400, truncation._TIGHT_EPS, None, float("inf")), strict=True):
        setattr(truncation, name, value)
    try:
        return truncation.truncation_error(*args, **kwargs)
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(truncation, name, value)


def estimate_row(dim, N, K, wname, *, reference=True):
    """One solve of the row; the estimate's time, iterations and value both ways (and the converged reference)."""
    x, y = data(N, dim, seed=N + dim)
    captured = {}

    def capture(problem, dual, *args, **kwargs):
        captured.update(args=(problem, dual) + args, kwargs=kwargs)
        return float("nan")

    interpolant.truncation_error = capture
    try:
        start = time.perf_counter()
        fit = FPInterpolator(x, y, weight=weight(wname, dim), K=K, method="iterative")
        solve_s = time.perf_counter() - start
    finally:
        interpolant.truncation_error = truncation.truncation_error
    calls = [0]
    difference = truncation._difference

    def counted(plan, dual, *rest):
        def inner(r):
            calls[0] += 1
            return dual(r)
        return difference(plan, inner, *rest)

    rows = []
    truncation._difference = counted
    try:
        for settings, extra in (("old", {"local": None, "coarse": None}), ("new", {})):
            calls[0] = 0
            kwargs = {**captured["kwargs"], "limit": None, **extra}
            start = time.perf_counter()
            value = truncation.truncation_error(*captured["args"], **kwargs)
            row = {"case": f"d={dim} N={N} K={K} {wname}", "settings": settings, "solve_s": solve_s,
                   "iterations": fit.info.iterations, "estimate_s": time.perf_counter() - start, "cg": calls[0],
                   "estimate": value}
            if reference and settings == "new":
                row["reference"] = _reference(captured["args"], kwargs)
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        truncation._difference = difference
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="3d", choices=("3d", "2d", "1d", "all"))
    ap.add_argument("--only", type=int, default=None, help="run only this row index of the chosen list")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    cases = ROWS["3d"] + ROWS["2d"] + ROWS["1d"] if args.rows == "all" else ROWS[args.rows]
    if args.only is not None:
        cases = [cases[args.only]]
    rows = []
    for case in cases:
        rows += estimate_row(*case)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
