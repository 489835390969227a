"""Memory estimates made before large allocations, against the limits this process really has.

The memory available to one allocation plan is the least of (:func:`memory_limits`):

- ``MemAvailable`` of ``/proc/meminfo`` (what the machine can give without swapping);
- ``RLIMIT_AS`` less the process's address space in use (``VmSize``) and ``RLIMIT_DATA`` less its data segment
  (``VmData``): what ``ulimit -v`` / ``ulimit -d`` and many batch systems set;
- the memory cgroup's limit less its usage, at the process's cgroup and each ancestor: cgroup v2 ``memory.max`` and
  ``memory.current``, cgroup v1 ``memory.limit_in_bytes`` and ``memory.usage_in_bytes`` (containers, systemd units,
  batch allocations).

Each reader takes the text it parses (or a root directory), so tests feed it fake ``/proc`` and cgroup trees; a file
that is missing, unreadable or says "max" / a near-2^63 value imposes no limit.
"""

import dataclasses
import os
import resource
import time

from ..exceptions import MemoryEstimateError

__all__ = ["available_memory", "check_memory", "format_bytes", "HEADROOM", "MemoryLimit", "memory_limits",
           "meminfo_available", "status_bytes", "rlimit_limits", "cgroup_paths", "cgroup_limits", "binding_limit"]

# Use at most this fraction of the available memory for one allocation plan.
HEADROOM = 0.8
# Limits at or above this many bytes mean "unlimited" (cgroup v1 writes 2^63 - 4096 for no limit).
_UNLIMITED = 1 << 60
# Used when no limit can be read at all (neither Linux's /proc nor sysconf).
_FALLBACK = 8 * 2**30

# (time of the last reading, the binding MemoryLimit, the soft rlimits then): available_memory() reuses a reading for
# this many seconds unless an rlimit changed (a reading costs 0.1-0.8 ms; a small solve asks several times).
_CACHE = [-1e9, None, None]
_CACHE_SECONDS = 0.5
# check_memory re-reads the limits for plans above this size: a process's usage moves by gigabytes within a second.
_FRESH_BYTES = 16 * 2**20


@dataclasses.dataclass(frozen=True)
class MemoryLimit:
    """One limit on the memory this process may still allocate.

    Attributes
    ----------
    available : int
        Bytes that may still be allocated under this limit.
    source : str
        What imposes it, e.g. ``"RLIMIT_AS (ulimit -v)"``.
    detail : str
        The numbers it came from, e.g. ``"limit 2.0 GiB, 0.9 GiB in use"``.
    """

    available: int
    source: str
    detail: str = ""

    def describe(self):
        return f"{self.source}: {self.detail}" if self.detail else self.source


def _read(path):
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _to_int(text):
    try:
        return int(text.strip())
    except (ValueError, AttributeError):
        return None


def meminfo_available(text):
    """Bytes of ``MemAvailable`` in the text of ``/proc/meminfo``, or None when absent or unreadable.

    Examples
    --------
    >>> meminfo_available("MemTotal: 8000 kB\\nMemAvailable:   4096 kB\\n")
    4194304
    """
    return status_bytes(text, "MemAvailable")


def status_bytes(text, field):
    """Bytes of a ``field:  <n> kB`` line of ``/proc/self/status`` or ``/proc/meminfo``; None when absent.

    Examples
    --------
    >>> status_bytes("VmSize:\\t  2048 kB\\nVmData:\\t 512 kB\\n", "VmData")
    524288
    >>> status_bytes("VmSize: 2048 kB", "VmRSS") is None
    True
    """
    for line in (text or "").splitlines():
        name, _, rest = line.partition(":")
        if name.strip() == field:
            parts = rest.split()
            value = _to_int(parts[0]) if parts else None
            if value is None or value < 0:
                return None
            unit = parts[1].lower() if len(parts) > 1 else ""
            return value * 1024 if unit == "kb" else value
    return None


def rlimit_limits(status_text, rlimits):
    """Limits of ``RLIMIT_AS`` and ``RLIMIT_DATA`` less what the process uses (``VmSize``, ``VmData``).

    Parameters
    ----------
    status_text : str or None
        The text of ``/proc/self/status``.
    rlimits : dict
        ``{"AS": soft, "DATA": soft}`` soft limits in bytes (``resource.RLIM_INFINITY`` or a negative value: none).

    Returns
    -------
    list of MemoryLimit
        When a limit is set but the usage cannot be read, the whole limit is taken as available.

    Examples
    --------
    >>> [lim.available for lim in rlimit_limits("VmSize: 1024 kB\\n", {"AS": 4 << 20, "DATA": -1})]
    [3145728]
    """
    out = []
    for name, field, flag in (("AS", "VmSize", "ulimit -v"), ("DATA", "VmData", "ulimit -d")):
        limit = rlimits.get(name)
        if limit is None or limit < 0 or limit == resource.RLIM_INFINITY or limit >= _UNLIMITED:
            continue
        used = status_bytes(status_text, field)
        detail = f"limit {format_bytes(limit)}" + ("" if used is None else f", {format_bytes(used)} in use ({field})")
        out.append(MemoryLimit(max(limit - (used or 0), 0), f"RLIMIT_{name} ({flag})", detail))
    return out


def cgroup_paths(proc_cgroup_text):
    """The process's cgroup v2 path and its cgroup v1 memory-controller path from ``/proc/self/cgroup``.

    Returns
    -------
    (str or None, str or None)

    Examples
    --------
    >>> cgroup_paths("0::/user.slice/job.scope\\n")
    ('/user.slice/job.scope', None)
    >>> cgroup_paths("5:cpu,cpuacct:/a\\n4:memory:/docker/c1\\n0::/\\n")
    ('/', '/docker/c1')
    """
    v2 = v1 = None
    for line in (proc_cgroup_text or "").splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, path = parts
        if hier == "0" and controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v2, v1


def _ancestors(root, path):
    """Directories from ``root/path`` up to ``root`` (the limits of every ancestor bind too)."""
    parts = [p for p in (path or "/").split("/") if p and p not in (".", "..")]
    return [os.path.join(root, *parts[:n]) for n in range(len(parts), -1, -1)]


def _cgroup_level(directory, limit_file, usage_file, version):
    limit_text = _read(os.path.join(directory, limit_file))
    if limit_text is None or limit_text.strip() == "max":
        return None
    limit = _to_int(limit_text)
    if limit is None or limit < 0 or limit >= _UNLIMITED:
        return None
    usage = _to_int(_read(os.path.join(directory, usage_file)))
    used = usage if usage is not None and usage >= 0 else 0
    return MemoryLimit(max(limit - used, 0), f"cgroup {version} memory limit ({os.path.join(directory, limit_file)})",
                       f"limit {format_bytes(limit)}, {format_bytes(used)} in use")


def cgroup_limits(proc_cgroup_text, root="/sys/fs/cgroup"):
    """Limits of the process's memory cgroups (v2 and v1) less their usage, from its own cgroup up to the root.

    Parameters
    ----------
    proc_cgroup_text : str or None
        The text of ``/proc/self/cgroup``.
    root : str
        The cgroup mount point: v2 files under ``root/<path>``, v1 under ``root/memory/<path>``. When the process's
        own directory is not visible (a container sees its cgroup at the mount's root), the root's files are read.

    Returns
    -------
    list of MemoryLimit
    """
    v2, v1 = cgroup_paths(proc_cgroup_text)
    out = []
    for path, base, files, version in ((v2, root, ("memory.max", "memory.current"), "v2"),
                                       (v1, os.path.join(root, "memory"),
                                        ("memory.limit_in_bytes", "memory.usage_in_bytes"), "v1")):
        if path is None:
            continue
        for directory in _ancestors(base, path):
            level = _cgroup_level(directory, *files, version)
            if level is not None:
                out.append(level)
    return out


def memory_limits(*, proc="/proc", cgroup_root="/sys/fs/cgroup", rlimits=None):
    """Every limit on the memory this process may still allocate (see the module's description).

    Parameters
    ----------
    proc : str
        Where ``meminfo``, ``self/status`` and ``self/cgroup`` are read.
    cgroup_root : str
        The cgroup mount point.
    rlimits : dict, optional
        ``{"AS": soft, "DATA": soft}``; default the process's own (``resource.getrlimit``).

    Returns
    -------
    list of MemoryLimit
        Possibly empty (no readable limit).
    """
    out = []
    avail = meminfo_available(_read(os.path.join(proc, "meminfo")))
    if avail is not None:
        out.append(MemoryLimit(avail, "MemAvailable (/proc/meminfo)"))
    if rlimits is None:
        rlimits = _soft_rlimits()
    out += rlimit_limits(_read(os.path.join(proc, "self", "status")), rlimits)
    out += cgroup_limits(_read(os.path.join(proc, "self", "cgroup")), cgroup_root)
    return out


def binding_limit(limits):
    """The least of `limits` (:class:`MemoryLimit`); without any, the free physical pages, else 8 GiB.

    Examples
    --------
    >>> binding_limit([MemoryLimit(5, "a"), MemoryLimit(3, "b")]).source
    'b'
    """
    if limits:
        return min(limits, key=lambda lim: lim.available)
    try:
        return MemoryLimit(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free physical pages")
    except (ValueError, OSError, AttributeError):
        return MemoryLimit(_FALLBACK, "no readable limit (assumed)")


def _soft_rlimits():
    return {name: resource.getrlimit(getattr(resource, f"RLIMIT_{name}"))[0] for name in ("AS", "DATA")
            if hasattr(resource, f"RLIMIT_{name}")}


def _binding(*, fresh=False):
    now, rlimits = time.monotonic(), _soft_rlimits()
    if fresh or _CACHE[1] is None or now - _CACHE[0] >= _CACHE_SECONDS or _CACHE[2] != rlimits:
        _CACHE[:] = [now, binding_limit(memory_limits(rlimits=rlimits)), rlimits]
    return _CACHE[1]


def available_memory():
    """Bytes this process may still allocate: the least of the limits of :func:`memory_limits`.

    A reading is reused for half a second unless ``RLIMIT_AS`` or ``RLIMIT_DATA`` changed."""
    return _binding().available


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
    # the reading behind `avail` (None when available_memory is replaced by a stand-in, as tests do)
    limit = _CACHE[1] if _CACHE[1] is not None and _CACHE[1].available == avail else None
    if nbytes > _FRESH_BYTES and (limit is not None or nbytes <= HEADROOM * avail):
        limit = _binding(fresh=True)
        avail = limit.available
    if nbytes > HEADROOM * avail:
        bound = (f" Bound by {limit.describe()}; at most {HEADROOM:.0%} of it is planned for one step."
                 if limit is not None else "")
        msg = (f"{what} needs about {format_bytes(nbytes)}, but only {format_bytes(avail)} is available."
               + (f" {hint}" if hint else "") + bound)
        raise MemoryEstimateError(msg, required=nbytes, available=avail, limit=limit.source if limit else None)
