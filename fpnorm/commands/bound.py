"""`fpnorm bound`: the a-priori generalization bound and its parts, as text or JSON."""

import json
import math

from ..bounds import generalization_bound, sample_complexity
from ..lattice_sums import gamma_l2_info
from ..learning_curve import learning_curve
from ..norms import fp_norm
from ..targets import TARGETS, get_target
from ..weights import weight_from_spec
from . import decimal, decimal_or_inf, integer

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "bound", help="the a-priori generalization bound L(h_M) <= ||f - h_ini||_gamma ||gamma||_l2 (...)",
        description="Compute the a-priori bound on the population risk E|h_M - f| of the minimum FP-norm "
                    "interpolant of M uniform samples on the torus (Zhang, Xu, Luo, Ma 2019): "
                    "||f - h_ini||_gamma * ||gamma||_l2 * (2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M)), holding with "
                    "probability >= 1 - delta. Assumes absolute loss, uniform samples, noiseless labels.")
    p.add_argument("--M", type=integer, nargs="+", required=True, metavar="M", help="number of samples (one or more)")
    p.add_argument("--delta", type=decimal, default=0.05, help="failure probability, 0 < delta < 1 (default 0.05)")
    p.add_argument("--weight", help="weight spec, e.g. 'power:p=4,zero=1', 'lfp:a=1,b=1,zero=1', 'sobolev:s=2'")
    p.add_argument("--dim", type=integer, default=None, help="dimension d (default: from the spec, else 1)")
    p.add_argument("--f-norm", type=decimal_or_inf, default=None, help="||f - h_ini||_gamma, if known")
    p.add_argument("--gamma-l2", type=decimal_or_inf, default=None, help="||gamma||_l2, if known (else from --weight)")
    p.add_argument("--target", choices=TARGETS, default=None, help="built-in target f whose norm is computed")
    p.add_argument("--period", type=decimal, default=1.0, help="period P of the torus (default 1)")
    p.add_argument("--epsilon", type=decimal, default=None, help="also report the smallest M with bound <= epsilon")
    p.add_argument("--predict", action="store_true",
                   help="also print the predicted mean square error E|h_M - f|^2 (eigenlearning from gamma and the "
                        "target's coefficients; needs --weight and --target)")
    p.add_argument("--noise", type=decimal, default=0.0, help="label-noise standard deviation for --predict")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def _fmt(x):
    return "inf" if x is None or (isinstance(x, float) and math.isinf(x)) else f"{x:.6g}"


def _norm_line(r):
    """The ``||f - h_ini||_gamma`` line: the value with its error bound and status when computed here."""
    if r.f_norm_status is None:
        return f"  ||f - h_ini||_gamma = {_fmt(r.f_norm)}"
    if r.f_norm_status == "divergent":
        return "  ||f - h_ini||_gamma = inf  (divergent)"
    if r.f_norm_status == "unresolved":
        return (f"  ||f - h_ini||_gamma = {_fmt(r.f_norm)}  (UNRESOLVED: an estimate the samples do not support, "
                f"so the bound below is not a bound)")
    return f"  ||f - h_ini||_gamma = {_fmt(r.f_norm)}  ({r.f_norm_status}, error <= {r.f_norm_error:.1e})"


def run(args):
    weight = weight_from_spec(args.weight, dim=args.dim) if args.weight else None
    dim = weight.dim if weight is not None else (args.dim or 1)
    f = get_target(args.target, dim, period=args.period) if args.target else None
    gamma_l2, g_info = args.gamma_l2, None
    if gamma_l2 is None and weight is not None:
        g_info = gamma_l2_info(weight)
        gamma_l2 = g_info.value
    f_norm, norm = args.f_norm, None
    if f is not None and f_norm is None and weight is not None:
        norm = fp_norm(f, weight, period=args.period, full=True)  # once, with its status, for every M
        f_norm, f = norm, None
    results = [generalization_bound(M, args.delta, f_norm=f_norm, gamma_l2=args.gamma_l2, weight=weight, f=f,
                                    period=args.period) for M in args.M]
    first = results[0]
    out = {"delta": args.delta, "weight": weight.spec() if weight is not None else None, "target": args.target,
           "f_norm": first.to_dict()["f_norm"], "f_norm_status": first.f_norm_status,
           "f_norm_error_bound": first.to_dict()["f_norm_error"],
           "f_norm_reason": norm.reason if norm is not None else None,
           "gamma_l2": first.to_dict()["gamma_l2"],
           "gamma_l2_method": g_info.method if g_info else None,
           "gamma_l2_error_bound": g_info.error_bound if g_info else None,
           "vacuous": first.vacuous, "reason": first.reason,
           "results": [{k: v for k, v in r.to_dict().items() if k in ("M", "value", "complexity_term",
                                                                      "confidence_term")} for r in results]}
    if args.epsilon is not None:
        m = sample_complexity(args.epsilon, args.delta, f_norm=first.f_norm, gamma_l2=first.gamma_l2)
        out["epsilon"] = args.epsilon
        out["sample_complexity"] = None if m == math.inf else m
    lc = None
    if args.predict:
        if weight is None or args.target is None:
            raise ValueError("Expected --weight and --target with --predict (the prediction needs the spectrum and "
                             "the target's coefficients).")
        lc = learning_curve(args.M, weight=weight, f=get_target(args.target, dim, period=args.period),
                            noise=args.noise, period=args.period)
        out["prediction"] = {"what": "eigenlearning prediction of E_x|h_M - f|^2 + noise^2 (squared loss, typical "
                                     "sample set: it tracks the Monte-Carlo median); rmse = sqrt(mse) >= E|h_M - f|",
                             "noise": args.noise, "status": lc.status}
        for row, i in zip(out["results"], range(len(args.M)), strict=True):
            row.update(predicted_mse=float(lc.mse[i]), predicted_mse_error=float(lc.error_bound[i]),
                       predicted_rmse=float(lc.rmse[i]), effective_regularisation=float(lc.effective_regularisation[i]))
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
        return 0
    print(f"a-priori bound on E|h_M - f| (absolute loss, uniform samples on the torus), "
          f"probability >= {1 - args.delta:g}")
    print(_norm_line(first))
    extra = f"  ({g_info.method}, error <= {g_info.error_bound:.1e})" if g_info and g_info.finite else ""
    print(f"  ||gamma||_l2        = {_fmt(first.gamma_l2)}{extra}")
    for i, r in enumerate(results):
        print(f"  M = {r.M:<10d} bound = {_fmt(r.value)}  = complexity {_fmt(r.complexity_term)} "
              f"+ confidence {_fmt(r.confidence_term)}")
        if lc is not None:
            print(f"               predicted mse = {lc.mse[i]:.6g} (error <= {lc.error_bound[i]:.1e}, {lc.status}), "
                  f"rmse = {lc.rmse[i]:.6g}")
    if first.vacuous:
        print(f"  VACUOUS: {out['reason']}")
    elif first.f_norm_status == "unresolved":
        print(f"  UNRESOLVED ||f - h_ini||_gamma: {norm.reason}")
    if lc is not None:
        print("  predicted mse: eigenlearning (squared loss, the typical sample set; it tracks the Monte-Carlo median, "
              "not the mean)")
    if args.epsilon is not None:
        m = out["sample_complexity"]
        none = "none (vacuous)" if first.vacuous else "more than 2^62 (beyond any sample size)"
        print(f"  smallest M with bound <= {args.epsilon:g}: {none if m is None else m}")
    return 0
