"""The truncation estimate of iterative solves: tight transforms and at most 20 iterations (``old``) against the
checked middle tier and the present cap (``new``).

Run ``python3 benchmarks/bench_estimate.py [--rows 3d|1d|all]`` from the repository root. Each row solves the same
problem twice in one process, first with the estimate's old settings (every transform at eps 1e-14, upsampling 2,
``_CG_MAX = 20``), then with the present ones, and reports the time of the whole solve and of the estimate, the
estimate's conjugate-gradient iterations (applications of the dual) and its value against a converged reference: the
same estimate at eps 1e-14 with its conjugate gradients run to a misfit of ``1e-4`` of the RMS of ``e`` (at most 400
iterations).
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
        "1d": [(1, 20_000, 32768, "Sobolev(1)"), (1, 100_000, 2**17, "LFP(1,1)")]}


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


def estimate_row(dim, N, K, wname, *, new, reference=False):
    """One solve of the row; the estimate's time, iterations and value (and the converged reference)."""
    x, y = data(N, dim, seed=N + dim)
    seen = {}

    def timed(problem, dual, *args, **kwargs):
        calls = [0]

        def counted(r):
            calls[0] += 1
            return dual(r)

        start = time.perf_counter()
        value = truncation.truncation_error(problem, counted, *args, **kwargs)
        seen.update(estimate_s=time.perf_counter() - start, cg=calls[0], estimate=value)
        if reference:
            start = time.perf_counter()
            seen["reference"] = _reference((problem, dual) + args, kwargs)
            seen["reference_s"] = time.perf_counter() - start
        return value

    names = ("_CG_MAX", "_MIDDLE_EPS", "_MIDDLE_UPSAMPFAC", "_MODEL_SHARE")
    saved = [getattr(truncation, name) for name in names]
    if not new:
        for name, value in zip(names, (20, truncation._TIGHT_EPS, None, float("inf")), strict=True):
            setattr(truncation, name, value)
    interpolant.truncation_error = timed
    try:
        start = time.perf_counter()
        fit = FPInterpolator(x, y, weight=weight(wname, dim), K=K, method="iterative")
        seconds = time.perf_counter() - start - seen.get("reference_s", 0.0)   # the solve without the reference
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(truncation, name, value)
        interpolant.truncation_error = truncation.truncation_error
    row = {"case": f"d={dim} N={N} K={K} {wname}", "settings": "new" if new else "old", "solve_s": seconds,
           "iterations": fit.info.iterations, "residual": fit.info.residual, **seen}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="3d", choices=("3d", "1d", "all"))
    ap.add_argument("--only", type=int, default=None, help="run only this row index of the chosen list")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    cases = ROWS["3d"] + ROWS["1d"] if args.rows == "all" else ROWS[args.rows]
    if args.only is not None:
        cases = [cases[args.only]]
    rows = []
    for case in cases:
        rows.append(estimate_row(*case, new=False))
        rows.append(estimate_row(*case, new=True, reference=True))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
