"""Dense linear algebra on one BLAS thread, through threadpoolctl.

numpy and scipy each load a threaded OpenBLAS. On small matrices (a QR of 513 x 119, a Cholesky of 120 x 120) its
threads cost more to start and synchronise than the work they share, and on a loaded machine a thread that waits
for a busy core makes a 2 ms LAPACK call take 10-20 ms (measured on the project's 2-core machine: ``dgeqrf`` of a
513 x 120 matrix, best of 30, 13.4 ms threaded under load against 2.1 ms on one thread).

:func:`single_threaded` limits every BLAS this process has loaded to one thread for the duration of a block and
restores the previous counts afterwards. A BLAS thread count is process-wide, and threadpoolctl lets only one live
Python thread change OpenBLAS's (the first that does; another takes over once it has ended), so the switch belongs
to one owner thread at a time, chosen the same way: blocks in the owner nest (the counts are restored once, when the
outermost one leaves, in the thread that changed them), and a block entered from another thread meanwhile changes
nothing. Either way only speed differs, never results; code in other threads that runs BLAS while the owner's block
is open runs on one thread too.

:func:`cores` is how many cores the process may use; :func:`background` runs set-up work beside other work and
:func:`map_threads` shares independent batches among the cores, both on threads (numpy's large-array operations,
scipy's ``ndimage`` and k-d tree queries, FFTs and finufft release the GIL), both in order and inline on one core.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded", "blas_thread_counts", "background", "map_threads", "cores"]

_LOCK = threading.Lock()
# The controller (made on first use, once numpy's and scipy's BLAS are loaded), the thread that owns the switch, its
# nesting depth and the limiter that restores the counts its outermost block found.
_STATE = {"controller": None, "owner": None, "depth": 0, "limiter": None}


def _controller():
    if _STATE["controller"] is None:  # inspecting the loaded libraries costs ~5 ms: do it once
        _STATE["controller"] = ThreadpoolController()
    return _STATE["controller"]


def blas_thread_counts():
    """Current thread count of each BLAS loaded in this process (a list; empty when threadpoolctl finds none)."""
    return [lib["num_threads"] for lib in _controller().select(user_api="blas").info()]


@contextlib.contextmanager
def single_threaded(enabled=True):
    """Context manager: every loaded BLAS runs on one thread inside the block (when `enabled`).

    Results are unchanged up to the order of floating-point additions inside BLAS kernels (round-off).

    Examples
    --------
    >>> from fpnorm._internal.threads import blas_thread_counts, single_threaded
    >>> with single_threaded():
    ...     inside = blas_thread_counts()
    >>> set(inside) <= {1}
    True
    """
    me = threading.current_thread()
    with _LOCK:
        owner = _STATE["owner"]
        if enabled and (owner is None or not owner.is_alive()):
            _STATE["owner"], _STATE["depth"] = me, 0
        active = enabled and _STATE["owner"] is me
        if active:
            if _STATE["depth"] == 0:
                _STATE["limiter"] = _controller().limit(limits=1, user_api="blas")
            _STATE["depth"] += 1
    try:
        yield
    finally:
        if active:
            with _LOCK:
                _STATE["depth"] -= 1
                if _STATE["depth"] == 0:
                    _STATE["limiter"].restore_original_limits()
                    _STATE["limiter"] = None


def cores():
    """Cores this process may run on, at most ``OMP_NUM_THREADS`` where that is set (a user's or a scheduler's limit
    on the threads of numerical code)."""
    try:
        n = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        n = max(1, os.cpu_count() or 1)
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(n, int(limit)) if limit.isdigit() and int(limit) > 0 else n


class _Done:
    """The result of a call made at once (:func:`background` on one core)."""

    def __init__(self, fn, args, kwargs):
        try:
            self._value, self._error = fn(*args, **kwargs), None
        except BaseException as exc:  # re-raised by result(), where a thread's would be
            self._value, self._error = None, exc

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value


def background(fn, *args, **kwargs):
    """Start ``fn(*args, **kwargs)`` in a thread of its own when this process may use more than one core, else call it
    now; either way ``.result()`` returns its value or raises its exception.

    For set-up work that overlaps other work: numpy's large-array operations, FFTs and finufft release the GIL, so on
    two cores both run at once. Results do not depend on which way it ran.

    Examples
    --------
    >>> background(sum, [1, 2, 3]).result()
    6
    """
    if cores() < 2:
        return _Done(fn, args, kwargs)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fpnorm")
    try:
        return pool.submit(fn, *args, **kwargs)
    finally:
        pool.shutdown(wait=False)      # the thread ends with its task


def map_threads(fn, items):
    """``[fn(item) for item in items]``, the calls shared among this process's cores (:func:`cores`) by threads.

    For independent batches of work that release the GIL (numpy's batched ``linalg``, ``scipy.ndimage``'s
    interpolation, large-array arithmetic): measured on two cores, 0.53-0.55 of the serial time for batched
    ``numpy.linalg.solve`` of 14 x 14 matrices. The results, in the order of `items`, do not depend on how the calls
    were shared; with one core (or one item) they are made here, in order, and the first exception is raised as
    it would be.

    Examples
    --------
    >>> map_threads(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    items = list(items)
    workers = min(cores(), len(items))
    if workers < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fpnorm") as pool:
        return list(pool.map(fn, items))
