"""fpnorm._internal.progress: a bar on a terminal, silent otherwise, never changing what is iterated."""

import io

from fpnorm._internal.progress import progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_silent_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    assert list(progress(range(5), desc="mc", stream=stream)) == [0, 1, 2, 3, 4]
    assert stream.getvalue() == ""


def test_draws_on_a_terminal_and_ends_the_line():
    stream = FakeTTY()
    assert list(progress(range(4), desc="mc", stream=stream)) == [0, 1, 2, 3]
    text = stream.getvalue()
    assert text.startswith("\rmc [") and "4/4" in text and text.endswith("\n")
    assert "#" * 30 in text  # full bar at the end


def test_forced_on_and_off():
    stream = io.StringIO()
    list(progress(iter([1, 2]), total=2, desc="k", enabled=True, stream=stream))
    assert "2/2" in stream.getvalue()
    tty = FakeTTY()
    list(progress(range(3), enabled=False, stream=tty))
    assert tty.getvalue() == ""


def test_unknown_length_counts_items():
    stream = FakeTTY()
    assert list(progress((i for i in range(3)), desc="gen", stream=stream)) == [0, 1, 2]
    assert "\rgen 3" in stream.getvalue()


def test_stopping_early_still_ends_the_line():
    import io

    from fpnorm._internal.progress import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    bar = progress(iter(range(100)), desc="cg", stream=out)
    for i in bar:
        if i == 3:
            break
    bar.close()
    text = out.getvalue()
    assert text.endswith("\n") and "cg 3" in text.splitlines()[-1].replace("\r", "\n").splitlines()[-1]


def test_delay_hides_short_work_and_postfix_follows_the_state():
    stream = FakeTTY()
    assert list(progress(range(3), desc="s", stream=stream, delay=60.0)) == [0, 1, 2]
    assert stream.getvalue() == ""          # ended before the delay: nothing drawn, no newline
    stream = FakeTTY()
    state = {"res": 1.0}
    for i in progress(range(3), total=3, desc="r", stream=stream, postfix=lambda: f"residual {state['res']:.0e}"):
        state["res"] = 10.0 ** -(i + 1)
    assert "residual 1e-03" in stream.getvalue()


def test_iterative_solve_is_quiet_off_a_terminal(capsys):
    import numpy as np

    from fpnorm import FPInterpolator, Sobolev
    x = np.random.default_rng(0).random(300)
    FPInterpolator(x, np.sin(2 * np.pi * x), weight=Sobolev(s=1.0, dim=1), K=512, method="iterative")
    assert capsys.readouterr().err == ""
