"""numpy's large arrays without its huge-page request while fpnorm's solves run.

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
(the 3-d row). Through :class:`small_pages` alone (around ``solve()``'s runners, the truncation estimate and the
K = None lattice solves; the rest of the process keeps numpy's hint): the 3-d row 3.71, 3.86 s against 4.37, 4.43 s,
the 1-d LFP(1,1) row's first solve 1.79, 2.03 s against 2.83, 2.94 s, the K = None matrix-free solve of 2-d N = 2e4,
LFP(1,1) 2.37, 2.43 s against 3.75, 3.88 s (its second solve in the process 2.25, 2.30 s against 2.08, 2.61 s).
finufft's and FFTW's own buffers do not come from numpy and keep whatever the kernel gives them.

:class:`small_pages` turns numpy's hint off for a block (``solve()``'s runners, the truncation estimate and the K = None
lattice solves use it) and restores it when the last open block leaves. The switch is process-wide: arrays that other
threads allocate meanwhile are not advised either, which changes their speed, never their values. It changes nothing
where this numpy has no such switch or where the user set ``NUMPY_MADVISE_HUGEPAGE`` (numpy's own environment
variable for it).
"""

import os
import threading

import numpy as np

__all__ = ["small_pages", "huge_page_hint"]


def _find(name):
    """numpy's ``_set_madvise_hugepage`` or ``_get_madvise_hugepage`` (`name`), or None where this numpy has none:
    in ``numpy._core`` from numpy 2 on, in ``numpy.core`` before (read there only before 2, where it is not
    deprecated)."""
    found = getattr(getattr(getattr(np, "_core", None), "multiarray", None), name, None)
    if found is None and np.lib.NumpyVersion(np.__version__) < "2.0.0":
        found = getattr(getattr(getattr(np, "core", None), "multiarray", None), name, None)
    return found


# numpy's setter (it returns the previous setting) and getter of the hint, looked up once
_SET, _GET = _find("_set_madvise_hugepage"), _find("_get_madvise_hugepage")
_LOCK = threading.Lock()
# the open blocks and the hint the first of them found
_STATE = {"depth": 0, "saved": None}


def huge_page_hint():
    """Whether numpy now asks the kernel for huge pages on large allocations.

    Returns
    -------
    bool or None
        numpy's setting (numpy sets it only on Linux: False elsewhere); None where this numpy has no such setting.

    Examples
    --------
    >>> before = huge_page_hint()
    >>> with small_pages():
    ...     inside = huge_page_hint()
    >>> inside in (False, None) or "NUMPY_MADVISE_HUGEPAGE" in os.environ, huge_page_hint() == before
    (True, True)
    """
    if _GET is not None:
        return bool(_GET())
    if _SET is None:
        return None
    with _LOCK:                    # no getter: read by setting it and setting it back
        current = _SET(False)
        _SET(current)
    return bool(current)


class small_pages:  # lower case: used like a function, ``with small_pages():``
    """Context manager: numpy does not ask for huge pages for the arrays allocated inside the block (module
    docstring); the setting the first open block found comes back when the last one leaves.

    A ``with`` block adds no frame, so warnings raised inside keep the stack levels that point at the user's call.
    (This is a class and no decorator for that reason: a decorator would add a frame.) Memory that the C allocator
    reuses from arrays allocated earlier keeps the advice those got.

    Examples
    --------
    >>> before = huge_page_hint()
    >>> with small_pages():
    ...     a = np.ones(2**20)
    >>> huge_page_hint() == before
    True
    """

    def __enter__(self):
        # a user's own NUMPY_MADVISE_HUGEPAGE (read by numpy at import) is left alone
        self._switch = None if "NUMPY_MADVISE_HUGEPAGE" in os.environ else _SET
        if self._switch is not None:
            with _LOCK:
                if _STATE["depth"] == 0:
                    _STATE["saved"] = self._switch(False)
                _STATE["depth"] += 1
        return self

    def __exit__(self, *exc):
        if self._switch is not None:
            with _LOCK:
                _STATE["depth"] -= 1
                if _STATE["depth"] == 0:
                    self._switch(bool(_STATE["saved"]))
        return False
