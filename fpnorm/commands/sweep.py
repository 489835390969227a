"""`fpnorm sweep`: bound-validation sweeps on dask.distributed (local cluster by default), resumable."""

import sys

from ..sweeps import EXAMPLE_CONFIG, run_sweep

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser("sweep", help="run or resume a bound-validation sweep from a TOML config",
                       description="Run (or resume) a bound-validation sweep: one Monte-Carlo trial per weight, K, "
                                   "M and seed of CONFIG, results appended to OUT/results.csv, a summary figure in "
                                   "OUT/summary.png. Running the same command again resumes.")
    p.add_argument("config", nargs="?", help="the sweep config (TOML); see --example")
    p.add_argument("--out", help="output folder (required unless --example)")
    p.add_argument("--scheduler", default=None, help="address of a running dask scheduler (default: start a "
                                                     "LocalCluster)")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: one per "
                                                             "core); 0 runs serially without dask")
    p.add_argument("--limit", type=int, default=None, help="run at most this many pending tasks, then stop")
    p.add_argument("--example", action="store_true", help="print a small example config and exit")
    p.set_defaults(func=run)


def run(args):
    if args.example:
        sys.stdout.write(EXAMPLE_CONFIG)
        return 0
    if args.config is None or args.out is None:
        raise ValueError("Expected `CONFIG` and `--out DIR` (or `--example`), got "
                         f"CONFIG={args.config!r}, --out={args.out!r}.")
    rep = run_sweep(args.config, args.out, scheduler=args.scheduler, workers=args.workers, limit=args.limit)
    print(f"fpnorm sweep: {rep.n_run} task(s) run, {rep.n_skipped} already done, "
          f"{rep.n_skipped + rep.n_run}/{rep.n_tasks} in {rep.results}"
          + (f"; {rep.n_errors} failed solve(s), see the status column" if rep.n_errors else ""))
    if rep.n_rejected:
        print(f"fpnorm sweep: set aside {rep.n_rejected} line(s) of {rep.results.name} that were not rows of this "
              f"sweep into {rep.rejected} (line number and reason in each); their tasks were pending again")
    if rep.figure is not None:
        print(f"fpnorm sweep: wrote {rep.figure} and {rep.summary}")
    elif not rep.complete:
        print("fpnorm sweep: incomplete; run the same command again to resume")
    return 0
