"""Memory estimates made before large allocations."""

import os
import time

from ..exceptions import MemoryEstimateError

__all__ = ["available_memory", "check_memory", "format_bytes", "HEADROOM"]

# Use at most this fraction of the memory the OS reports as available for one allocation plan.
HEADROOM = 0.8


# (time of the last reading, bytes): readings are reused for this many seconds (a solve checks memory several times).
_CACHE = [-1e9, 0]
_CACHE_SECONDS = 0.5


def available_memory():
    """Bytes of memory currently available (Linux: MemAvailable; elsewhere physical pages, else 8 GiB).

    A reading is reused for half a second."""
    now = time.monotonic()
    if now - _CACHE[0] < _CACHE_SECONDS:
        return _CACHE[1]
    _CACHE[0], _CACHE[1] = now, _read_available()
    return _CACHE[1]


def _read_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def format_bytes(n):
    """Human-readable byte count, e.g. ``'1.5 GiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_memory(nbytes, what, hint=""):
    """Raise :class:`MemoryEstimateError` when `nbytes` exceeds the usable share of available memory.

    Parameters
    ----------
    nbytes : int
        Estimated peak bytes of the planned work.
    what : str
        Description used in the message, e.g. ``"the dense kernel matrix (N = 200000)"``.
    hint : str, optional
        What the user can change, appended to the message.
    """
    avail = available_memory()
    if nbytes > HEADROOM * avail:
        msg = (f"{what} needs about {format_bytes(nbytes)}, but only {format_bytes(avail)} is available."
               + (f" {hint}" if hint else ""))
        raise MemoryEstimateError(msg, required=nbytes, available=avail)
