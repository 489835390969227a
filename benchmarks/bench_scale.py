"""Large iterative solves against a NUFFT pair timed in the same run (the issue "Scale" table).

Run ``python3 benchmarks/bench_scale.py [--rows quick|table|noisy|curve|rho|all] [--out FILE]`` from the repository
root. Each row: uniform random points, a smooth target (plus 0.1 standard normal noise for the noisy rows), default
rtol; the solve is timed (the fastest of ``--repeats`` runs in one process, 2 by default, 1 above 2e5 points; the first
run is reported too, as ``first_s``) and divided by one NUFFT pair (a type-2 and a type-1 transform at the same points
and box, eps 1e-12, plans made outside the clock as the solver reuses its own, best of 10 before and 10 after the row),
so the ratio is what to compare across runs on a shared machine. ``--rows curve`` measures iterations and time against N
per dimension and plots them (``results/scale.png``) with the NUFFT-pair floor; ``--rows rho`` the iterations against
the preconditioner's radius; ``--rows all`` the table, the noisy rows and the curve in one run (benchmarks/RESULTS.md);
``--rows clusters`` what nearly coincident points cost in 1-d: N = 5000, K = 6554 (the density of the N = 1e5, K = 2^17
row), five seeds, with and without the pairs closer than 0.01/K; ``--rows seeds`` the table's rows at other draws of the
points (seeds 1, 2, 3; the table's own seed is N + d), since a row's iterations depend on where the points happen to
fall.
"""

import argparse
import json
import os
import sys
import time

import finufft
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import fpnorm.interpolant as interpolant  # noqa: E402
import fpnorm.solvers as solvers  # noqa: E402
from fpnorm import LFP, FPInterpolator, Sobolev, SolveError  # noqa: E402
from fpnorm.solvers.iterative import solve_iterative  # noqa: E402
from fpnorm.solvers.truncation import truncation_error  # noqa: E402

__all__ = ["main", "nufft_pair_seconds", "solve_row"]

RESULTS = os.path.join(HERE, "results")
# (d, N, K, weight name): the table, noise-free
TABLE = [(1, 100_000, 2**17, "Sobolev(1.5)"), (1, 100_000, 2**17, "LFP(1,1)"), (2, 20_000, 128, "LFP(1,1)"),
         (2, 80_000, 256, "Sobolev(2)"), (3, 20_000, 24, "Sobolev(2)")]
# noisy 1-d rows: N = 1e5 and 4e5 points need K >= N/2 (at most 2K + 1 distinct points), so their box grows with N
# at about the density of the N = 2e4, K = 32768 row (0.76 against 0.61 points per 1/K)
NOISY = [(1, 20_000, 32768, "Sobolev(1)"), (1, 100_000, 2**17, "Sobolev(1)"), (1, 400_000, 2**19, "Sobolev(1)")]
# nearly coincident points in 1-d at the density of the N = 1e5, K = 2^17 row (0.76 points per 1/K)
CLUSTER = (1, 5000, 6554, "Sobolev(1.5)")
QUICK = [(1, 20_000, 2**15, "Sobolev(1.5)"), (2, 5_000, 64, "Sobolev(2)"), (3, 5_000, 16, "Sobolev(2)")]
# other draws of the table's points (--rows seeds)
SEEDS = (1, 2, 3)
# iterations against N: the largest N and its box per dimension, smaller N at the same K
CURVE = {1: (2**17, "Sobolev(1.5)", [5000, 20000, 100_000]), 2: (256, "Sobolev(2)", [5000, 20000, 80_000]),
         3: (24, "Sobolev(2)", [5000, 10000, 20000])}


def weight(name, dim):
    if name.startswith("Sobolev"):
        return Sobolev(s=float(name[8:-1]), dim=dim)
    return LFP(a=1.0, b=1.0, dim=dim)


def data(N, dim, seed=0, noise=0.0, apart=0.0):
    """Uniform random points and smooth data (plus noise); with `apart` > 0 (d = 1) the later point of every pair
    closer than `apart` is dropped (fewer than N points)."""
    rng = np.random.default_rng(seed)
    x = rng.random((N, dim))
    y = np.sin(2 * np.pi * x[:, 0]) + 0.5 * np.cos(2 * np.pi * x.sum(axis=1)) + noise * rng.standard_normal(N)
    if apart > 0 and dim == 1:
        order = np.argsort(x[:, 0])
        keep = order[np.r_[True, np.diff(x[order, 0]) > apart]]
        x, y = x[keep], y[keep]
    return (x[:, 0] if dim == 1 else x), y


def nufft_pair_seconds(x, K, *, repeats=10):
    """Best of `repeats`: a type-2 and a type-1 finufft at the points and the box, eps 1e-12 (plans made and points
    set outside the clock, as the solver reuses its plans across iterations), on one thread and on finufft's default
    (every core), whichever is faster (the solver runs finufft on one thread below 2^20 points on an upsampled grid
    below 2^19 points, ``fpnorm.transforms._threads``; with other jobs on this 2-core machine one thread took 19 / 55 /
    65 ms on the d = 1 / 2 / 3 table rows, every core 35 / 70 / 79 ms).
    One pair's time moved 2-3x between rows with 3 repeats of the default taken before the row; ``solve_row`` takes
    the best of 10 before and 10 after it."""
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    dim = x.shape[1]
    t = [np.ascontiguousarray(2 * np.pi * x[:, j]) for j in range(dim)]
    shape = (2 * K + 1,) * dim
    coef = np.ones(shape, dtype=complex)
    vals = np.ones(x.shape[0], dtype=complex)
    best = np.inf
    for threads in ({"nthreads": 1}, {}):
        p2 = finufft.Plan(2, shape, eps=1e-12, **threads)
        p2.setpts(*t)
        p1 = finufft.Plan(1, shape, eps=1e-12, **threads)
        p1.setpts(*t)
        for _ in range(repeats):
            start = time.perf_counter()
            p2.execute(coef)
            p1.execute(vals)
            best = min(best, time.perf_counter() - start)
    return best


def solve_row(dim, N, K, wname, *, noise=0.0, method="iterative", seed=None, apart=0.0, repeats=1, **solver):
    """One row: the solve (`solver` options go to the iterative path) and one NUFFT pair at its points and box, the
    best timed before and after it.

    With ``repeats > 1`` the same solve runs that many times in this process and ``solve_s`` is the fastest, as the
    pair's is (``first_s`` the first run's). The first run of a size in a process pays for touching fresh memory:
    on the 2-core machine a page fault costs about 20 us (a first 1-d N = 1e5 solve took 70 000 of them, 1.55 s of
    system time, the next 450); the pair, timed on its own reused arrays, never does."""
    x, y = data(N, dim, seed=N + dim if seed is None else seed, noise=noise, apart=apart)
    before = nufft_pair_seconds(x, K)
    # the iterative runner with this row's options (FPInterpolator has no pass-through for solver internals)
    inner = []

    def runner(problem, **kw):
        begin = time.perf_counter()
        sol = solve_iterative(problem, **kw, **solver)
        inner.append(time.perf_counter() - begin)
        return sol

    solvers._RUNNERS["iterative"] = runner
    spent = []

    def timed_truncation(*args, **kw):
        begin = time.perf_counter()
        out = truncation_error(*args, **kw)
        spent.append(time.perf_counter() - begin)
        return out

    interpolant.truncation_error = timed_truncation
    runs = []
    try:
        for _ in range(max(1, int(repeats))):
            inner.clear()
            spent.clear()
            start = time.perf_counter()
            try:
                fit = FPInterpolator(x, y, weight=weight(wname, dim), K=K, method=method)
                info = fit.info
                res, kind, it, used = info.residual, info.residual_kind, info.iterations, info.method
                trunc, err = info.truncation_error, ""
            except SolveError as exc:
                res, kind, it, used, err = getattr(exc, "residual", np.nan), "bound", -1, method, str(exc)[:120]
                trunc = np.nan
            runs.append((time.perf_counter() - start, sum(inner), sum(spent)))
    finally:
        interpolant.truncation_error = truncation_error
    seconds, inner_s, spent_s = min(runs)
    pair = min(before, nufft_pair_seconds(x, K))
    # iterative_s: inside the iterative runner (preconditioner and Krylov runs); truncation_s: the truncation
    # error (estimated, or measured against the exact 1-d limit); the rest of solve_s is validation and the certified
    # residual
    row = {"case": f"d={dim} N={N} K={K} {wname}" + (", noisy" if noise else "")
           + (f", seed {seed}" if seed is not None else "") + (f", pairs closer than {apart * K:g}/K dropped"
                                                               if apart else ""), "solve_s": seconds,
           "pair_s": pair, "pairs": seconds / pair, "first_s": runs[0][0], "first_pairs": runs[0][0] / pair,
           "runs": len(runs), "iterations": it, "residual": res, "kind": kind, "method": used,
           "iterative_s": inner_s, "truncation_s": spent_s, "truncation": trunc, "error": err,
           **{k: v for k, v in solver.items() if np.isscalar(v)}}
    print(json.dumps(row), flush=True)
    return row


def _plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    # one line per case family (dimension, box, weight): rows of different K or weight are not joined
    families = {}
    for row in rows:
        words = row["case"].split()
        families.setdefault(" ".join(words[:1] + words[2:]), []).append(row)
    colors = iter(("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"))
    for label, r in families.items():
        color = next(colors)
        N = [int(row["case"].split()[1][2:]) for row in r]
        ax1.loglog(N, [row["solve_s"] for row in r], "o-", color=color, label=f"{label}: solve")
        ax1.loglog(N, [100 * row["pair_s"] for row in r], "x:", color=color, label="100 NUFFT pairs")
        ax1.loglog(N, [row["pair_s"] for row in r], "+--", color=color, lw=0.8, label="one NUFFT pair")
        ax2.semilogx(N, [row["iterations"] for row in r], "s-", color=color, label=label)
    ax1.set_xlabel("N")
    ax1.set_ylabel("seconds")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("N")
    ax2.set_ylabel("Craig iterations")
    ax2.set_ylim(bottom=0)
    ax2.legend(fontsize=7)
    fig.suptitle("iterative solve: the KL factor with its resolution and spacing floors (the sorted chain for noisy "
                 "1-d data)\nand the two-level correction; uniform random points, rtol 1e-10", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="quick",
                    choices=("quick", "table", "noisy", "curve", "rho", "all", "clusters", "seeds"))
    ap.add_argument("--dims", default="1,2,3")
    ap.add_argument("--only", type=int, default=None, help="run only this row index of the chosen list")
    ap.add_argument("--preconditioner", default=None, help="kl or vecchia (default: the solver's, by dimension)")
    ap.add_argument("--repeats", type=int, default=2,
                    help="solves of each row in one process, the fastest reported (1 for rows above 2e5 points)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", nargs="+", default=None, help="only plot the rows of these --out files")
    args = ap.parse_args(argv)
    if args.plot:
        rows = [row for name in args.plot for row in json.load(open(name))]
        os.makedirs(RESULTS, exist_ok=True)
        _plot(sorted(rows, key=lambda r: (r["case"][:3], int(r["case"].split()[1][2:]))),
              os.path.join(RESULTS, "scale.png"))
        return rows
    dims = [int(d) for d in args.dims.split(",")]
    kw = {} if args.preconditioner is None else {"preconditioner": args.preconditioner}

    def repeats(N):             # the noisy N = 4e5 row runs for about ten minutes: once
        return args.repeats if N <= 200_000 else 1
    rows = []
    if args.rows in ("quick", "table", "noisy", "all"):
        lists = {"quick": [QUICK], "table": [TABLE], "noisy": [NOISY], "all": [TABLE, NOISY]}[args.rows]
        for cases in lists:
            noise = 0.1 if cases is NOISY else 0.0
            cases = [c for c in cases if c[0] in dims]
            if args.only is not None:
                cases = [cases[args.only]]
            for dim, N, K, wname in cases:
                rows.append(solve_row(dim, N, K, wname, noise=noise, repeats=repeats(N), **kw))
    if args.rows in ("curve", "all"):
        curve = []
        for dim in dims:
            K, wname, Ns = CURVE[dim]
            for N in Ns:
                curve.append(solve_row(dim, N, K, wname, repeats=repeats(N), **kw))
        rows += curve
        os.makedirs(RESULTS, exist_ok=True)
        _plot(curve, os.path.join(RESULTS, "scale.png"))
    elif args.rows == "clusters":
        for seed in range(5):
            for apart in (0.0, 0.01 / CLUSTER[2]):
                rows.append(solve_row(*CLUSTER, seed=seed, apart=apart, repeats=args.repeats, **kw))
    elif args.rows == "seeds":
        for dim, N, K, wname in [c for c in TABLE if c[0] in dims]:
            for seed in SEEDS:
                rows.append(solve_row(dim, N, K, wname, seed=seed, repeats=repeats(N), **kw))
    elif args.rows == "rho":
        for dim in dims:
            dim_, N, K, wname = QUICK[dim - 1]
            for rho in (2.0, 3.0, 4.0, 5.0):
                rows.append(solve_row(dim_, N, K, wname, rho=rho, repeats=args.repeats, **kw))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
