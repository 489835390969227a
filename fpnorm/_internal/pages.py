"""numpy's large arrays on ordinary (4 KiB) pages while fpnorm works.

On Linux numpy asks the kernel to back each allocation of 4 MiB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Where the kernel then compacts memory to find a free 2 MiB page at the first touch (THP
``defrag`` set to ``madvise``, the default of many distributions and of the project's machines), that first touch
can cost far more than the small pages it replaces. Measured on the project's 2-core machine (fresh processes, three
each): 120 MB of ``np.ones`` took 0.54-1.04 s with the hint and 0.05-0.06 s without it. A solve allocates such arrays
throughout, and whole solves through :class:`fpnorm.FPInterpolator` (``benchmarks/bench_scale.py`` rows, the faster
of two in one process, two processes each way, alternating, the hint set for the whole process by numpy's environment
variable) took:

============================================  ===============  ===============
row                                           with the hint    without it
============================================  ===============  ===============
d = 1, N = 1e5, K = 2^17, Sobolev(1.5)        2.60, 3.10 s     2.43, 2.66 s
d = 1, N = 1e5, K = 2^17, LFP(1,1)            1.79, 1.83 s     1.41, 1.52 s
d = 2, N = 2e4, K = 128, LFP(1,1)             1.07, 1.02 s     1.02, 0.91 s
d = 2, N = 8e4, K = 256, Sobolev(2)           6.30, 5.87 s     4.52, 5.08 s
d = 3, N = 2e4, K = 24, Sobolev(2)            3.95, 5.09 s     3.66, 3.43 s
d = 1, N = 1e5, K = 2^17, Sobolev(1), noisy   5.68, 5.90 s     4.59, 4.56 s
============================================  ===============  ===============

and the first solve of each process 3.18-4.50 s against 2.69-2.84 s (the first row), 5.14-5.51 against 3.43-3.66 s
(the 3-d row). Through :func:`small_pages` alone (around ``solve()``'s runners, the truncation estimate and the K = None
lattice solves; the rest of the process keeps numpy's hint): the 3-d row 3.71, 3.86 s against 4.37, 4.43 s, the 1-d
LFP(1,1) row's first solve 1.79, 2.03 s against 2.83, 2.94 s, the K = None matrix-free solve of 2-d N = 2e4,
LFP(1,1) 2.37, 2.43 s against 3.75, 3.88 s (its second solve in the process 2.25, 2.30 s against 2.08, 2.61 s).
finufft's and FFTW's own buffers do not come from numpy and keep whatever the kernel gives them.

:func:`small_pages` turns numpy's hint off for a block and restores it when the last open block leaves. The switch
is process-wide: arrays that other threads allocate meanwhile get small pages too, which changes their speed, never
their values. It changes nothing where this numpy has no such switch or where the user set
``NUMPY_MADVISE_HUGEPAGE`` (numpy's own environment variable for it).
"""

import contextlib
import os
import threading

import numpy as np

__all__ = ["small_pages", "huge_page_hint"]

_LOCK = threading.Lock()
# the open blocks and the hint the first of them found
_STATE = {"depth": 0, "saved": None}


def _switch():
    """numpy's setter of the hint (it returns the previous setting), or None where this numpy has none."""
    for name in ("_core", "core"):        # numpy >= 2, then 1.x (where numpy.core is not deprecated)
        switch = getattr(getattr(getattr(np, name, None), "multiarray", None), "_set_madvise_hugepage", None)
        if switch is not None:
            return switch
    return None


def huge_page_hint():
    """Whether numpy now asks for huge pages on large allocations (None where this numpy cannot say).

    Examples
    --------
    >>> with small_pages():
    ...     inside = huge_page_hint()
    >>> inside in (False, None) or "NUMPY_MADVISE_HUGEPAGE" in os.environ
    True
    """
    switch = _switch()
    if switch is None:
        return None
    with _LOCK:
        current = switch(False)
        switch(current)
    return bool(current)


@contextlib.contextmanager
def small_pages():
    """Context manager: numpy's large arrays on ordinary pages inside the block (module docstring).

    A ``with`` block adds no frame, so warnings raised inside keep the stack levels that point at the user's call; as
    a decorator (which it also is) it would add one.

    Examples
    --------
    >>> before = huge_page_hint()
    >>> with small_pages():
    ...     a = np.ones(2**20)
    >>> huge_page_hint() == before
    True
    """
    switch = None if "NUMPY_MADVISE_HUGEPAGE" in os.environ else _switch()
    if switch is None:
        yield
        return
    with _LOCK:
        if _STATE["depth"] == 0:
            _STATE["saved"] = switch(False)
        _STATE["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["depth"] -= 1
            if _STATE["depth"] == 0:
                switch(bool(_STATE["saved"]))
