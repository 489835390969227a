"""Matplotlib figures shared by the CLI, the notebooks and users.

Every function draws on an ``ax`` it is given (or on a new one) and returns that ``ax``, so figures compose:
the CLI builds headless :class:`matplotlib.figure.Figure` objects (no pyplot state, no display needed) and
notebooks pass nothing and get a pyplot figure.

Sections: helpers, interpolants (1-d curves with their data, 2-d images with their data).
"""

from collections.abc import Mapping

import numpy as np

from ._validation import as_points, as_values, check_int, check_period, evaluate_function

__all__ = ["new_figure", "save_figure", "plot_curves_1d", "plot_interpolant_2d", "LINE_STYLES"]

# Line styles cycled through by :func:`plot_curves_1d`, so curves stay apart in grey-scale print too.
LINE_STYLES = ("-", "--", ":", "-.")


# -- helpers --------------------------------------------------------------------------------------------------------
def new_figure(nrows=1, ncols=1, *, figsize=None):
    """A headless figure and its axes (no pyplot state; safe in scripts, servers and CI).

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    figsize : tuple of float, optional
        Inches; default ``(5 ncols, 4 nrows)``.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : Axes, or ndarray of Axes of shape (nrows, ncols) squeezed as in ``pyplot.subplots``.
    """
    from matplotlib.figure import Figure

    nrows = check_int(nrows, "nrows", minimum=1)
    ncols = check_int(ncols, "ncols", minimum=1)
    fig = Figure(figsize=figsize or (5.0 * ncols, 4.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def save_figure(fig, path, *, dpi=120):
    """Write `fig` to `path` (format from the suffix, e.g. ``.png``) and return the path as a string."""
    fig.savefig(path, dpi=dpi)
    return str(path)


def _axes(ax, figsize=(6.0, 4.0)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _as_curves(curves):
    if callable(curves):
        return {getattr(curves, "label", None) or "interpolant": curves}
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError(f"Expected `curves` to be a callable or a non-empty mapping label -> callable, "
                        f"got {type(curves).__name__}.")
    for label, fn in curves.items():
        if not callable(fn):
            raise TypeError(f"Expected `curves[{label!r}]` to be callable, got {type(fn).__name__}.")
    return dict(curves)


def _as_real_1d(x, name, min_size):
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"Expected `{name}` to be a real numeric array, got dtype {arr.dtype}.")
    arr = arr.astype(float)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.size < min_size:
        raise ValueError(f"Expected `{name}` to have shape (Q,) with Q >= {min_size}, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"Expected `{name}` to be finite; got NaN or inf.")
    return arr


# -- interpolants ---------------------------------------------------------------------------------------------------
def plot_curves_1d(curves, x, *, points=None, values=None, ax=None, title=None, xlabel="x", ylabel="h(x)"):
    """Plot 1-d functions on a grid, with the data they interpolate.

    Parameters
    ----------
    curves : callable or mapping of str to callable
        Functions ``(Q,) -> (Q,)`` (an :class:`~fpnorm.FPInterpolator` in 1-d, a ``CubicSpline``, a lambda);
        a mapping gives the legend labels.
    x : array_like, shape (Q,)
        Where to evaluate (any real numbers: torus functions wrap them themselves).
    points, values : array_like, shape (N,), optional
        Data drawn as black dots on top of the curves.
    ax : matplotlib Axes, optional
        Drawn on a new pyplot figure when omitted.
    title, xlabel, ylabel : str
        Labels.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> from fpnorm.plotting import new_figure, plot_curves_1d
    >>> x, y = np.array([0.1, 0.4, 0.7]), np.array([0.0, 1.0, -0.5])
    >>> s = FPInterpolator(x, y, weight=PowerLaw(p=4), K=64)
    >>> fig, ax = new_figure()
    >>> ax = plot_curves_1d({"p = 4": s}, np.linspace(0, 1, 201), points=x, values=y, ax=ax)
    >>> len(ax.lines)
    2
    """
    curves = _as_curves(curves)
    grid = _as_real_1d(x, "x", 2)
    ax = _axes(ax)
    for i, (label, fn) in enumerate(curves.items()):
        y = evaluate_function(fn, grid[:, None], f"curves[{label!r}]", grid.size, 1)
        ax.plot(grid, np.real(y), LINE_STYLES[i % len(LINE_STYLES)], lw=1.8, label=str(label))
    if points is not None or values is not None:
        if points is None or values is None:
            raise ValueError("Expected `points` and `values` together, got only one of them.")
        px = _as_real_1d(points, "points", 1)
        py = as_values(values, px.size)
        if py.ndim != 1:
            raise ValueError(f"Expected `values` to have shape ({px.size},), got shape {py.shape}.")
        ax.plot(px, np.real(py), "o", color="black", ms=6, zorder=5, label="data")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_interpolant_2d(h, *, period=1.0, points=None, values=None, resolution=200, ax=None, title=None,
                        cmap="RdBu_r", label="h(x)"):
    """Draw a function on the 2-d torus ``[0, P)^2`` as an image, with its data as outlined dots.

    Parameters
    ----------
    h : callable
        ``(Q, 2) -> (Q,)``, e.g. an :class:`~fpnorm.FPInterpolator` with a 2-d weight.
    period : float
        ``P``; the image covers one period in each coordinate.
    points : array_like, shape (N, 2), optional
    values : array_like, shape (N,), optional
        Data, coloured on the same scale as the image.
    resolution : int
        Grid points per axis (``resolution^2`` evaluations).
    ax : matplotlib Axes, optional
    title, cmap, label : str
        Title, colour map, colour-bar label.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0]`` holds the image; its array is ``h`` on the grid (rows are ``x_2``, columns ``x_1``).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> from fpnorm.plotting import new_figure, plot_interpolant_2d
    >>> x = np.array([[0.25, 0.25], [0.75, 0.75], [0.25, 0.75], [0.75, 0.25]])
    >>> y = np.array([1.0, 1.0, -1.0, -1.0])
    >>> s = FPInterpolator(x, y, weight=PowerLaw(p=4, dim=2), K=16)
    >>> fig, ax = new_figure()
    >>> ax = plot_interpolant_2d(s, points=x, values=y, resolution=64, ax=ax)
    >>> ax.images[0].get_array().shape
    (64, 64)
    """
    if not callable(h):
        raise TypeError(f"Expected `h` to be callable on points of shape (Q, 2), got {type(h).__name__}.")
    period = check_period(period)
    n = check_int(resolution, "resolution", minimum=2)
    g = (np.arange(n) + 0.5) * (period / n)
    X1, X2 = np.meshgrid(g, g, indexing="xy")
    q = np.column_stack([X1.ravel(), X2.ravel()])
    z = np.real(evaluate_function(h, q, "h", q.shape[0], 2)).reshape(n, n)
    vmax = float(np.max(np.abs(z))) or 1.0
    data = None
    if points is not None or values is not None:
        if points is None or values is None:
            raise ValueError("Expected `points` and `values` together, got only one of them.")
        x = as_points(points, 2, period)
        data = np.real(as_values(values, x.shape[0]))
        if data.ndim != 1:
            raise ValueError(f"Expected `values` to have shape ({x.shape[0]},), got shape {data.shape}.")
        vmax = max(vmax, float(np.max(np.abs(data))))
    ax = _axes(ax, figsize=(5.0, 4.2))
    im = ax.imshow(z, origin="lower", extent=(0.0, period, 0.0, period), cmap=cmap, vmin=-vmax, vmax=vmax,
                   interpolation="bilinear")
    if data is not None:
        ax.scatter(x[:, 0], x[:, 1], c=data, cmap=cmap, vmin=-vmax, vmax=vmax, s=60, edgecolors="black",
                   linewidths=1.2, zorder=5, label="data")
        ax.legend(loc="upper right", fontsize="small")
    ax.figure.colorbar(im, ax=ax, label=label)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax
