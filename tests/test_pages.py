"""numpy's huge-page hint is off while fpnorm works and restored afterwards (fpnorm._internal.pages): in nested
blocks, after an error, across threads, never where the user set numpy's environment variable."""

import threading

import numpy as np
import pytest

from fpnorm import FPInterpolator, Sobolev, solvers
from fpnorm._internal import pages
from fpnorm._internal.pages import huge_page_hint, small_pages

needs_switch = pytest.mark.skipif(pages._switch() is None, reason="this numpy has no huge-page switch")


@pytest.fixture
def hint_on(monkeypatch):
    """numpy's hint on (as numpy sets it by default on Linux), restored to what it was after the test."""
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = pages._switch()
    before = switch(True)
    yield switch
    switch(before)


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
        {}["missing"]
    assert huge_page_hint() is True

    @small_pages()
    def fails():
        assert huge_page_hint() is False
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        fails()
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
    monkeypatch.setattr(pages, "_switch", lambda: None)
    with small_pages():
        value = np.ones(3).sum()
    assert value == 3.0 and huge_page_hint() is None


@needs_switch
def test_a_fit_runs_its_solve_with_the_hint_off_and_restores_it(hint_on, monkeypatch):
    seen = []
    runner = solvers._RUNNERS["cholesky"]

    def recording(problem, **kw):
        seen.append(huge_page_hint())
        return runner(problem, **kw)

    monkeypatch.setitem(solvers._RUNNERS, "cholesky", recording)
    x = np.linspace(0.0, 1.0, 40, endpoint=False)
    fit = FPInterpolator(x, np.sin(2 * np.pi * x), weight=Sobolev(s=1.5), K=64, method="cholesky")
    assert seen == [False] and huge_page_hint() is True
    assert fit.info.residual <= 1e-10
