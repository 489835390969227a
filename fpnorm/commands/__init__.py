"""Subcommands of the `fpnorm` command line, one module each (see :mod:`fpnorm.cli`).

The argparse types here read numbers by the strict grammar of :func:`fpnorm._internal.checks.parse_number`:
``--period 1_0`` or ``--M 0x10`` is an error, not 10 or 16.
"""

import argparse

from .._internal.checks import parse_int, parse_number

__all__ = ["decimal", "decimal_or_inf", "integer"]


def decimal(text):
    """An argparse type: a finite decimal number."""
    try:
        value = parse_number(text, "value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a decimal number (digits, an optional sign, point and exponent), "
                                         f"got {text!r}") from None
    if value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a number within the float range, got {text!r}")
    return value


def decimal_or_inf(text):
    """An argparse type: a decimal number, or ``inf``."""
    if text.strip().lower() in ("inf", "+inf", "infinity"):
        return float("inf")
    try:
        return parse_number(text, "value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a decimal number or 'inf', got {text!r}") from None


def integer(text):
    """An argparse type: an integer written in decimal digits."""
    try:
        return parse_int(text, "value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer (decimal digits), got {text!r}") from None
