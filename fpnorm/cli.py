"""The `fpnorm` command line: thin over the public API.

Each subcommand lives in :mod:`fpnorm.commands` as a module with ``add_parser(subparsers)`` (which sets
``func``) and is listed in :data:`COMMANDS`. Errors print one line (``fpnorm CMD: error: ...``) and exit 2.
"""

import argparse
import importlib
import sys

import numpy as np

from .exceptions import SolveError

__all__ = ["main", "build_parser", "COMMANDS"]

# Subcommand modules under fpnorm.commands, in the order `fpnorm --help` lists them.
COMMANDS = ("demo", "solve", "bound", "sweep")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (no usage dump), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser():
    parser = _Parser(prog="fpnorm",
                     description="Minimum FP-norm interpolation on the torus and the "
                                 "frequency-principle generalization bound.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"fpnorm.commands.{name}").add_parser(sub)
    return parser


def main(argv=None):
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, TypeError, OSError, ArithmeticError, SolveError, MemoryError,
            np.linalg.LinAlgError) as exc:
        message = " ".join(str(exc).split())
        print(f"fpnorm {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fpnorm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
