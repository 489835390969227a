"""A minimal progress bar for long work: shown on a terminal (stderr), silent otherwise."""

import itertools
import sys
import time

__all__ = ["progress", "residual_progress"]


def progress(iterable, *, total=None, desc="", enabled=None, stream=None, delay=0.0, postfix=None):
    """Yield from `iterable`, drawing ``desc [#####     ] i/total  elapsed`` on `stream` when it is a terminal.

    Parameters
    ----------
    iterable : iterable
    total : int, optional
        Number of items (``len(iterable)`` when available).
    desc : str
        Label.
    enabled : bool, optional
        Force on or off; by default on exactly when `stream` is a TTY.
    stream : file, optional
        Default ``sys.stderr``.
    delay : float
        Seconds before the first drawing: work that ends sooner shows nothing.
    postfix : callable, optional
        ``postfix() -> str`` appended to each drawing (e.g. the residual as it falls).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> sum(progress(range(5), desc="work", enabled=True, stream=out, postfix=lambda: "ok"))
    10
    >>> "5/5" in out.getvalue() and out.getvalue().endswith("ok\\n")
    True
    """
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        enabled = hasattr(stream, "isatty") and stream.isatty()
    if total is None:
        total = len(iterable) if hasattr(iterable, "__len__") else None
    if not enabled:
        yield from iterable
        return
    start = last = time.monotonic()
    width = 30
    count = 0

    shown = False

    def draw():
        nonlocal shown
        shown = True
        elapsed = time.monotonic() - start
        tail = f" {postfix()}" if postfix is not None else ""
        if total:
            filled = int(width * count / total)
            bar = "#" * filled + " " * (width - filled)
            stream.write(f"\r{desc} [{bar}] {count}/{total} {elapsed:6.1f}s{tail}")
        else:
            stream.write(f"\r{desc} {count} {elapsed:6.1f}s{tail}")
        stream.flush()

    if delay <= 0:
        draw()
    drawn = 0
    try:
        for item in iterable:
            yield item
            count += 1
            now = time.monotonic()
            if (now - last > 0.1 or count == total) and now - start >= delay:
                draw()
                last, drawn = now, count
    finally:  # also when the caller stops early (break closes the generator): end on the final state and a newline
        if shown:
            if drawn != count:
                draw()
            stream.write("\n")
            stream.flush()


def residual_progress(desc, *, rtol, scale, delay):
    """A progress line for an iteration of unknown length that shows its relative residual as it falls.

    Returns ``(ticks, report)``: ``next(ticks)`` once per iteration, ``report(misfit)`` with the latest absolute
    misfit (shown relative to `scale`, the data's ``max |y|``, against the target `rtol`); ``ticks.close()`` at the
    end. Drawn only on a terminal, after `delay` seconds.

    Examples
    --------
    >>> ticks, report = residual_progress("solve", rtol=1e-10, scale=2.0, delay=0.0)
    >>> report(1e-3); _ = next(ticks); ticks.close()
    """
    shown = {"misfit": float("nan")}
    norm = scale if scale > 0 else 1.0
    ticks = progress(itertools.count(), desc=desc, delay=delay,
                     postfix=lambda: f"residual ~{shown['misfit'] / norm:.1e} (target {rtol:.0e})")

    def report(misfit):
        shown["misfit"] = misfit

    return ticks, report
