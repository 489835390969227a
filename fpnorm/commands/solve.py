"""`fpnorm solve`: the minimum FP-norm interpolant of data read from files, written as .npz plus a JSON summary.

Input files are read by :mod:`fpnorm.dataio` (never unpickling): ``.csv`` / ``.txt`` / ``.dat`` / ``.tsv`` (one row
per point, ``#`` comments, an optional header line), ``.npy``, and ``.npz`` (the member named like the argument:
``points``, ``values``, ``query``, or the only member).

``--out FILE`` is the interpolant in the :mod:`fpnorm.io` format (plain arrays plus JSON metadata, never pickle), so
``FPInterpolator.load(FILE)`` gives it back and evaluates it bit for bit; ``numpy.load(FILE, allow_pickle=False)``
also reads it (members ``points``, ``values``, ``kept``, ``coef`` -- absent for K = infinity --, the K = infinity
pieces, and the metadata ``__fpnorm__``). With ``--query``, the query points and the values there go to
``FILE`` with suffix ``.eval.npz`` (arrays ``query`` and ``evaluations``). The JSON summary (suffix ``.json``) holds
the weight, ``K``, ``period``, ``dim``, ``N``, ``m``, ``norm`` and the solve record (method, residual, condition);
with ``--loo`` also Rippa's leave-one-out mean squared error (``loo_mse``, :func:`fpnorm.posterior.loo_error`), and
with ``--f-norm F`` the power-function bound ``|f(x) - h(x)| <= P_X(x) (F^2 - ||h - h_ini||^2)^(1/2)`` on the error
against any ``f`` with ``||f - h_ini||_gamma <= F`` that the data sample (``power_bound``: its certified ``sup`` and
``l2`` over the torus, :func:`fpnorm.posterior.posterior_bound`).
"""

import argparse
import time
from pathlib import Path

import numpy as np

from ..dataio import DATA_FORMATS, read_points, read_values
from ..interpolant import FPInterpolator
from ..io import json_dumps
from ..posterior import loo_error, posterior_bound
from ..solvers import METHODS
from ..weights import WEIGHT_KINDS, weight_from_spec
from . import decimal, integer

__all__ = ["add_parser", "run"]


def add_parser(sub):
    kinds = "; ".join(f"{k}:{','.join(f'{p}=..' for p in params)}" for k, params in WEIGHT_KINDS.items())
    p = sub.add_parser(
        "solve", help="minimum FP-norm interpolant of data files; write .npz and a JSON summary",
        description="Solve  min ||h - h_ini||_gamma  subject to  h(x_i) = y_i  on the torus [0, P)^d,\n"
                    "truncated to the Fourier box |k|_inf <= K (or exact, K = none). The dimension d is the number\n"
                    "of columns of POINTS. Writes FILE, the interpolant in fpnorm's own .npz format (plain arrays\n"
                    "and JSON, no pickle; FPInterpolator.load(FILE) reads it back), FILE with suffix .json (a\n"
                    "summary: weight, K, period, norm, residual, method), and with --query FILE with suffix\n"
                    ".eval.npz (arrays query and evaluations).",
        epilog="examples:\n"
               "  fpnorm solve x.csv y.csv --weight power:p=4 --K 128 --out spline.npz\n"
               "  fpnorm solve xy.npy z.npy --weight lfp:a=1,b=0.5 --K 32 --query grid.npy --out h.npz\n"
               f"weight specs: {kinds}  (zero=<float> penalises the mean; default: mean free)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("points", metavar="POINTS",
                   help=f"points, one row each: shape (N, d); a file ending in one of {', '.join(DATA_FORMATS)}")
    p.add_argument("values", metavar="VALUES", help="values, shape (N,) or (N, m) for m right-hand sides")
    p.add_argument("--weight", required=True, metavar="SPEC",
                   help="frequency weight, e.g. power:p=4, lfp:a=1,b=0.5,zero=1, sobolev:s=2")
    p.add_argument("--K", type=_parse_K, required=True,
                   help="truncation: Fourier modes |k|_inf <= K; 'none' for the exact K = infinity kernel "
                        "(PowerLaw p > d, LFP, Sobolev s > d/2, in d = 1, 2, 3)")
    p.add_argument("--period", type=decimal, default=1.0, help="period P of the torus (default: 1)")
    p.add_argument("--method", default="auto", choices=METHODS, help="solve method (default: auto)")
    p.add_argument("--query", metavar="Q",
                   help="points at which to evaluate the interpolant, one row each: shape (Q, d)")
    p.add_argument("--loo", action="store_true",
                   help="also report the leave-one-out mean squared error (Rippa's formula, one factorisation; one "
                        "real right-hand side or several)")
    p.add_argument("--f-norm", type=decimal, metavar="F",
                   help="also report the power-function bound on |f - h| (its certified sup and L2 norm over the "
                        "torus) for any f with ||f - h_ini||_gamma <= F that the values sample (one real right-hand "
                        "side)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="output .npz, loadable with FPInterpolator.load; the JSON summary goes next to it with suffix "
                        ".json, the --query evaluations with suffix .eval.npz")
    p.set_defaults(func=run)


def _parse_K(text):
    """``--K``: a nonnegative integer, or ``none``/``inf`` for K = infinity."""
    if text.strip().lower() in ("none", "inf", "infinity"):
        return None
    try:
        return integer(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'none', got {text!r}") from None


def run(args):
    start = time.perf_counter()
    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise ValueError(f"Expected `--out` to end in .npz, got {args.out!r}.")
    points = read_points(args.points)
    values = read_values(args.values, n=points.shape[0])
    dim = points.shape[1]
    try:
        weight = weight_from_spec(args.weight, dim=dim)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Bad `--weight` {args.weight!r}: {exc}") from None
    s = FPInterpolator(points, values, weight=weight, K=args.K, period=args.period, method=args.method)
    extras = {}
    if args.loo:
        extras["loo_mse"] = np.asarray(loo_error(s), dtype=float).tolist()
    if args.f_norm is not None:
        if not args.f_norm >= 0:
            raise ValueError(f"Expected `--f-norm` a nonnegative number, got {args.f_norm!r}.")
        if values.ndim != 1 or np.iscomplexobj(values):
            raise ValueError(f"Expected one real right-hand side for `--f-norm` (the power-function bound), got "
                             f"values of shape {values.shape} and dtype {values.dtype}.")
        b = posterior_bound(s, f_norm=args.f_norm)
        extras["power_bound"] = {"f_norm": b.f_norm, "norm_lower": b.norm, "residual_norm": b.residual_norm,
                                 "sup": b.sup, "l2": b.l2}
    evals_path = None
    if args.query is not None:
        query = read_points(args.query, dim=dim, key="query")
        evals_path = out.with_suffix(".eval.npz")
        evaluations = {"query": query[:, 0] if dim == 1 else query, "evaluations": s(query)}
    out.parent.mkdir(parents=True, exist_ok=True)
    s.save(out)  # the fpnorm.io format, written to exactly `out` (no suffix appended to a name ending in ".NPZ")
    if evals_path is not None:
        with open(evals_path, "wb") as fh:  # an open file: np.savez appends ".npz" only to a name
            np.savez(fh, **evaluations)
    summary = {"weight": weight.spec(), "K": s.K, "period": s.period, "dim": dim, "N": int(s.points.shape[0]),
               "m": 1 if s.values.ndim == 1 else int(s.values.shape[1]),
               "norm": np.asarray(s.norm, dtype=float).tolist(), "solve": s.info.to_dict(),
               "query_points": 0 if evals_path is None else int(evaluations["query"].shape[0]),
               "inputs": {"points": str(args.points), "values": str(args.values), "query": args.query},
               "npz": str(out),
               "evaluations": None if evals_path is None else str(evals_path), **extras,
               "seconds": time.perf_counter() - start}
    json_path = out.with_suffix(".json")
    json_path.write_text(json_dumps(summary, indent=2))
    K_text = "infinity" if s.K is None else s.K
    print(f"fpnorm solve: N = {summary['N']} points in d = {dim}, K = {K_text}, method {s.info.method}, "
          f"relative residual {s.info.residual:.1e} ({s.info.residual_kind}), ||h - h_ini||_gamma = "
          f"{np.round(s.norm, 6)}")
    if "loo_mse" in extras:
        print(f"fpnorm solve: leave-one-out mean squared error {np.round(extras['loo_mse'], 8)}")
    if "power_bound" in extras:
        pb = extras["power_bound"]
        print(f"fpnorm solve: power-function bound for ||f - h_ini||_gamma <= {pb['f_norm']:.6g}: sup |f - h| <= "
              f"{pb['sup']:.3e}, ||f - h||_L2 <= {pb['l2']:.3e} (certified)")
    print(f"fpnorm solve: wrote {out}")
    if evals_path is not None:
        print(f"fpnorm solve: wrote {evals_path}")
    print(f"fpnorm solve: wrote {json_path}")
    return 0
