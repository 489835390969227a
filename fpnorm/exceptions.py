"""Exceptions and warnings raised by fpnorm.

Bad input raises the builtin ``ValueError`` / ``TypeError`` naming the argument. Numerical failure with no usable
answer raises :class:`SolveError`, which carries the measured numbers so a caller can decide what to do next.
"""

import numpy as np

__all__ = ["SolveError", "MemoryEstimateError", "AccuracyWarning", "TruncationWarning", "IllPosedWeightWarning",
           "UnresolvedNormWarning", "NetworkRangeWarning", "FileFormatError", "FloatRangeWarning"]


class SolveError(np.linalg.LinAlgError):
    """A solve produced no usable answer.

    Parameters
    ----------
    message : str
        What failed and what to try.
    residual : float, optional
        Relative residual ``max_i |h(x_i) - y_i| / max_i |y_i - h_ini(x_i)|`` of the best attempt (nan when none
        exists).
    condition : float, optional
        Condition-number estimate of the (projected) kernel matrix.
    method : str, optional
        The solve method that failed last.
    """

    def __init__(self, message, *, residual=float("nan"), condition=float("nan"), method=None):
        super().__init__(message)
        self.residual = float(residual)
        self.condition = float(condition)
        self.method = method


class MemoryEstimateError(MemoryError):
    """A problem would need more memory than this process may use; raised before anything large is allocated.

    Attributes
    ----------
    required : int
        Estimated bytes needed.
    available : int
        Bytes available when the estimate was made.
    limit : str or None
        What bound the available memory (e.g. ``"RLIMIT_AS (ulimit -v)"``, a cgroup's limit, ``MemAvailable``).
    """

    def __init__(self, message, *, required, available, limit=None):
        super().__init__(message)
        self.required = int(required)
        self.available = int(available)
        self.limit = limit


class AccuracyWarning(UserWarning):
    """A result is usable but less accurate than requested (the message carries the measured numbers)."""


class TruncationWarning(UserWarning):
    """The truncated solution is far from the ``K = inf`` one: its estimated distance ``info.truncation_error``
    exceeds :data:`fpnorm._internal.checks.TRUNCATION_TOLERANCE` times ``max |y - h_ini|``; or, where no estimate
    exists (bounds), the problem is nearly square: more than :data:`fpnorm._internal.checks.TRUNCATION_FRACTION` of
    the ``(2K+1)^d`` modes are pinned by data points, so the truncated interpolant aliases. Raise ``K``."""


class IllPosedWeightWarning(UserWarning):
    """The weight's ``sum_k gamma(k)^2`` over its penalised modes diverges (e.g. ``PowerLaw`` with ``p <= d``,
    ``Sobolev`` with ``2 s <= d``): point values are not bounded by the FP-norm, so the ``K = inf`` problem has no
    solution and every truncated answer depends on ``K``. The message names the reason
    (:func:`fpnorm.lattice_sums.penalised_divergence`); use a smoother weight. Free modes (``gamma = inf``) alone
    do not make a weight ill-posed."""


class UnresolvedNormWarning(UserWarning):
    """The samples of a target do not decide its FP-norm ``||f - h_ini||_gamma`` (status ``"unresolved"``): the value
    given is the partial sum over the resolved shells, not a bound. The message carries the fitted numbers; pass
    exact coefficients, a target from :mod:`fpnorm.targets`, or a larger ``max_points``."""


class NetworkRangeWarning(UserWarning):
    """:meth:`fpnorm.LFP.from_network` was given training points that are not well inside the range covered by the
    network's ReLU breakpoints (fewer than 5 % of them on one side of the data): the bias density there is not the
    constant the LFP weight assumes. The message carries the data range and the breakpoint quantiles."""


class FileFormatError(ValueError):
    """A file is malformed, inconsistent or crafted, and was refused before anything large was read from it.

    Attributes
    ----------
    path : str
        The file.
    member : str or None
        The archive member (``.npz``) it concerns, if any.
    line, column : int or None
        Where in a text file (1-based), if known.
    size : int or None
        The size that was refused (bytes, elements or nesting depth, as the message says), if any.
    """

    def __init__(self, message, *, path, member=None, line=None, column=None, size=None):
        super().__init__(message)
        self.path = str(path)
        self.member = member
        self.line = line
        self.column = column
        self.size = size


class FloatRangeWarning(UserWarning):
    """A finite result lies beyond the largest double (~1.8e308) and is returned as ``inf``; the message gives its
    value as ``m * 2^e`` and as a power of ten. Inputs near the limit are scaled by exact powers of two, so this is
    raised only when the true result is out of range, never for an intermediate overflow."""
