"""numpy's huge-page hint is off while fpnorm's solves run and restored afterwards (fpnorm._internal.pages): in nested
blocks, after an error, across threads, at every place that uses it, never where the user set numpy's environment
variable, and a numpy without the switch is left alone without a warning."""

import sys
import threading
import warnings

import numpy as np
import pytest

from fpnorm import LFP, FPInterpolator, Sobolev, solvers
from fpnorm import interpolant as interpolant_module
from fpnorm._internal import pages
from fpnorm._internal.pages import huge_page_hint, small_pages
from fpnorm.solvers.lattice_limit import LATTICE_METHOD

# numpy advises huge pages on Linux only (elsewhere its setting reads False whatever it is set to)
needs_switch = pytest.mark.skipif(pages._SET is None or sys.platform != "linux",
                                  reason="this numpy has no huge-page switch here")


@pytest.fixture
def hint_on(monkeypatch):
    """numpy's hint on (as numpy sets it by default on Linux), restored to what it was after the test."""
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = pages._SET(True)
    yield pages._SET
    pages._SET(before)


@needs_switch
def test_the_hint_is_off_inside_nested_blocks_and_restored_after_the_last(hint_on):
    with small_pages():
        assert huge_page_hint() is False
        with small_pages():
            assert huge_page_hint() is False
        assert huge_page_hint() is False
    assert huge_page_hint() is True
    hint_on(False)                      # a hint that was off stays off
    with small_pages():
        assert huge_page_hint() is False
    assert huge_page_hint() is False


@needs_switch
def test_the_hint_is_restored_after_an_error(hint_on):
    with pytest.raises(KeyError), small_pages():
        assert huge_page_hint() is False
        {}["missing"]
    assert huge_page_hint() is True


@needs_switch
def test_overlapping_blocks_in_two_threads_restore_the_hint_once_both_have_left(hint_on):
    entered, release, seen = threading.Event(), threading.Event(), []

    def other():
        with small_pages():
            entered.set()
            release.wait(10)
            seen.append(huge_page_hint())

    thread = threading.Thread(target=other)
    with small_pages():
        thread.start()
        assert entered.wait(10)
    assert huge_page_hint() is False    # the other thread's block is still open
    release.set()
    thread.join(10)
    assert seen == [False] and huge_page_hint() is True


@needs_switch
def test_a_users_own_setting_is_left_alone(hint_on, monkeypatch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    with small_pages():
        assert huge_page_hint() is True


def test_a_numpy_without_the_switch_runs_the_block_unchanged(monkeypatch):
    monkeypatch.setattr(pages, "_SET", None)
    monkeypatch.setattr(pages, "_GET", None)
    with small_pages():
        value = np.ones(3).sum()
    assert value == 3.0 and huge_page_hint() is None


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0", reason="numpy.core is numpy 1's own module")
def test_a_numpy_2_without_the_switch_is_not_looked_for_in_the_deprecated_module(monkeypatch):
    monkeypatch.delattr(np._core.multiarray, "_set_madvise_hugepage", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # numpy.core would warn (DeprecationWarning)
        assert pages._find("_set_madvise_hugepage") is None


def _recording(seen, function):
    def recorded(*args, **kw):
        seen.append(huge_page_hint())
        return function(*args, **kw)
    return recorded


@needs_switch
def test_a_fit_runs_its_solve_and_its_estimate_with_the_hint_off_and_restores_it(hint_on, monkeypatch):
    solved, estimated = [], []
    monkeypatch.setitem(solvers._RUNNERS, "cholesky", _recording(solved, solvers._RUNNERS["cholesky"]))
    monkeypatch.setattr(interpolant_module, "truncation_error",
                        _recording(estimated, interpolant_module.truncation_error))
    x = np.linspace(0.0, 1.0, 40, endpoint=False)
    fit = FPInterpolator(x, np.sin(2 * np.pi * x), weight=Sobolev(s=1.5), K=64, method="cholesky")
    assert solved == [False] and estimated == [False] and huge_page_hint() is True
    assert fit.info.residual <= 1e-10


@needs_switch
def test_a_k_none_lattice_solve_runs_with_the_hint_off_and_restores_it(hint_on, monkeypatch):
    seen = []
    monkeypatch.setattr(interpolant_module, "solve_lattice_limit",
                        _recording(seen, interpolant_module.solve_lattice_limit))
    x = np.random.default_rng(0).random((30, 2))
    fit = FPInterpolator(x, np.sin(2 * np.pi * x[:, 0]), weight=LFP(1.0, 1.0, dim=2), K=None, method=LATTICE_METHOD)
    assert seen == [False] and huge_page_hint() is True
    assert fit.info.residual <= 1e-10
