"""Subcommands of the `fpnorm` command line, one module each (see :mod:`fpnorm.cli`)."""
