"""The `fpnorm` command line: thin over the public API. Errors print one line and exit non-zero."""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _demo(args):
    from . import FPInterpolator, PowerLaw

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x = np.array([-0.8, -0.6, -0.3, -0.06, 0.1])
    y = np.array([0.2, -0.1, 0.4, 0.0, 0.3])
    period = 4.0
    summary = {}
    for p in (2, 4):
        s = FPInterpolator(x, y, weight=PowerLaw(p=p, dim=1), K=256, period=period)
        summary[f"power_p{p}"] = {"norm": s.norm, **s.info.to_dict()}
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2))
    print(f"fpnorm demo: wrote {path}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="fpnorm", description="Minimum FP-norm interpolation and bounds.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the demo on the embedded example data and write figures + JSON")
    demo.add_argument("--out", default="fpnorm-demo", help="output folder (default ./fpnorm-demo)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, np.linalg.LinAlgError, MemoryError) as exc:
        print(f"fpnorm {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
