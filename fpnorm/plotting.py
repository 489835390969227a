"""matplotlib figures of fpnorm results.

Figures are built on :class:`matplotlib.figure.Figure` directly -- no ``pyplot``, no global state, nothing shown --
so they work under any backend, headless (Agg) included; save them with ``fig.savefig(path)``. Every single-panel
function takes an optional ``ax`` to draw into an existing figure; every function returns the
:class:`~matplotlib.figure.Figure`.

The module is organised by section, one per kind of result: helpers, interpolants (1-d curves with their data,
2-d images with their data), the generalization bound (bound against M with Monte-Carlo risks), F-principle dynamics,
sweeps.
"""

from collections.abc import Mapping

import numpy as np

from ._internal.checks import as_points, as_values, check_int, check_period, check_real, evaluate_function
from .dynamics import ShellErrors

__all__ = ["new_figure", "save_figure", "plot_curves_1d", "plot_interpolant_2d", "plot_bound_curve",
           "plot_bound_validation", "plot_flow_heatmap", "plot_shell_errors_pair", "plot_network_vs_flow", "plot_sweep",
           "LINE_STYLES"]

# Line styles cycled through by :func:`plot_curves_1d`, so curves stay apart in grey-scale print too.
LINE_STYLES = ("-", "--", ":", "-.")


def _new_axes(ax, figsize):
    """The axes to draw in and its figure: `ax` itself, or a fresh Agg-safe figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure  # matplotlib (~0.3 s to import) loads with the first figure, not with fpnorm

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _log_edges(t):
    """Cell edges around positive, increasing centres ``t`` on a log axis (geometric midpoints), shape (T+1,)."""
    lt = np.log(t)
    mid = 0.5 * (lt[1:] + lt[:-1])
    first, last = lt[0] - (mid[0] - lt[0]), lt[-1] + (lt[-1] - mid[-1])
    return np.exp(np.concatenate([[first], mid, [last]]))


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

    Examples
    --------
    >>> from fpnorm.plotting import new_figure
    >>> fig, axes = new_figure(1, 2)
    >>> axes.shape
    (2,)
    """
    from matplotlib.figure import Figure  # matplotlib (~0.3 s to import) loads with the first figure, not with fpnorm

    nrows = check_int(nrows, "nrows", minimum=1)
    ncols = check_int(ncols, "ncols", minimum=1)
    fig = Figure(figsize=figsize or (5.0 * ncols, 4.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def save_figure(fig, path, *, dpi=120):
    """Write `fig` to `path` (format from the suffix, e.g. ``.png``) and return the path as a string.

    Examples
    --------
    >>> import os, tempfile
    >>> from fpnorm.plotting import new_figure, save_figure
    >>> fig, ax = new_figure()
    >>> path = save_figure(fig, os.path.join(tempfile.mkdtemp(), "empty.png"), dpi=20)
    >>> open(path, "rb").read(4)[1:]
    b'PNG'
    """
    fig.savefig(path, dpi=dpi)
    return str(path)


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
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; a new figure by default.
    title, xlabel, ylabel : str
        Labels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of `ax`; ``fig.axes[0].lines`` hold the curves, then the data.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> from fpnorm.plotting import plot_curves_1d
    >>> x, y = np.array([0.1, 0.4, 0.7]), np.array([0.0, 1.0, -0.5])
    >>> s = FPInterpolator(x, y, weight=PowerLaw(p=4), K=64)
    >>> fig = plot_curves_1d({"p = 4": s}, np.linspace(0, 1, 201), points=x, values=y)
    >>> len(fig.axes[0].lines)
    2
    """
    curves = _as_curves(curves)
    grid = _as_real_1d(x, "x", 2)
    fig, ax = _new_axes(ax, (6.0, 4.0))
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
    return fig


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
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; a new figure by default.
    title, cmap, label : str
        Title, colour map, colour-bar label.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0].images[0]`` holds the image; its array is ``h`` on the cell centres (rows are ``x_2``,
        columns ``x_1``).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> from fpnorm.plotting import plot_interpolant_2d
    >>> x = np.array([[0.25, 0.25], [0.75, 0.75], [0.25, 0.75], [0.75, 0.25]])
    >>> y = np.array([1.0, 1.0, -1.0, -1.0])
    >>> s = FPInterpolator(x, y, weight=PowerLaw(p=4, dim=2), K=16)
    >>> fig = plot_interpolant_2d(s, points=x, values=y, resolution=64)
    >>> fig.axes[0].images[0].get_array().shape
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
    fig, ax = _new_axes(ax, (5.0, 4.2))
    im = ax.imshow(z, origin="lower", extent=(0.0, period, 0.0, period), cmap=cmap, vmin=-vmax, vmax=vmax,
                   interpolation="bilinear")
    if data is not None:
        ax.scatter(x[:, 0], x[:, 1], c=data, cmap=cmap, vmin=-vmax, vmax=vmax, s=60, edgecolors="black",
                   linewidths=1.2, zorder=5, label="data")
        ax.legend(loc="upper right", fontsize="small")
    fig.colorbar(im, ax=ax, label=label)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return fig


# -- generalization bound ---------------------------------------------------------------------------------------
def _positive_1d(values, name, *, allow_zero=False):
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"Expected `{name}` to be a real numeric array, got dtype {arr.dtype}.")
    arr = arr.astype(float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"Expected `{name}` to have shape (n,) with n >= 1, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"Expected `{name}` to be finite, got {arr[~np.isfinite(arr)][0]} (an infinite bound is "
                         f"vacuous: ||gamma||_l2 or the FP-norm diverges, nothing to draw).")
    if np.any(arr < 0) or (not allow_zero and np.any(arr == 0)):
        raise ValueError(f"Expected `{name}` to be {'>= 0' if allow_zero else '> 0'} on a log axis, "
                         f"got {arr.min()}.")
    return arr


def plot_bound_curve(M, bound, *, risk_M=None, risk=None, risk_err=None, ax=None, title=None,
                     label="a-priori bound", predicted=None, power_M=None, power=None, rmse=None):
    """The generalization bound against the sample size ``M``, log-log, with Monte-Carlo risk estimates.

    Parameters
    ----------
    M : array_like, shape (n,)
        Sample sizes (positive).
    bound : array_like, shape (n,)
        The bound at each ``M`` (e.g. from :func:`fpnorm.generalization_bound`); finite and positive.
    risk_M : array_like, shape (r,), optional
        Sample sizes of the Monte-Carlo estimates.
    risk : array_like, shape (r,), optional
        Estimated population risk ``L(h_M) = E_x |h_M(x) - f(x)|`` at each ``risk_M``.
    risk_err : array_like, shape (r,), optional
        Half-widths of error bars (e.g. two standard errors over repetitions).
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; a new figure by default.
    title, label : str
        Title and the bound's legend label.
    predicted : array_like, shape (n,), optional
        The predicted root mean square error ``sqrt(mse)`` at each ``M`` (:func:`fpnorm.learning_curve.
        learning_curve`), drawn as a dashed line.
    power_M, power : array_like, shape (p,), optional
        Sample sizes and the median power-function bound on the RMS error there
        (:func:`fpnorm.posterior.posterior_bound`), drawn as squares.
    rmse : array_like, shape (r,), optional
        Monte-Carlo root mean square errors at `risk_M` (e.g. the median over trials), drawn as open circles.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The bound of Zhang, Xu, Luo, Ma (2019) is
    ``||f - h_ini||_gamma ||gamma||_l2 (2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M))``, a straight line of slope -1/2 on
    these axes; a valid bound lies above every risk estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm.plotting import plot_bound_curve
    >>> M = np.array([10, 100, 1000])
    >>> fig = plot_bound_curve(M, 3.0 / np.sqrt(M), risk_M=M, risk=0.2 / M, risk_err=0.02 / M)
    >>> fig.axes[0].get_xscale(), fig.axes[0].get_yscale()
    ('log', 'log')
    """
    M = _positive_1d(M, "M")
    bound = _positive_1d(bound, "bound")
    if bound.shape != M.shape:
        raise ValueError(f"Expected `bound` to have the shape of `M` {M.shape}, got {bound.shape}.")
    fig, ax = _new_axes(ax, (6.0, 4.2))
    ax.loglog(M, bound, "-", lw=2.0, color="C0", label=label)
    given = [v is not None for v in (risk_M, risk)]
    if any(given) and not all(given):
        raise ValueError("Expected `risk_M` and `risk` together, got only one of them.")
    if all(given):
        rM = _positive_1d(risk_M, "risk_M")
        r = _positive_1d(risk, "risk")
        if r.shape != rM.shape:
            raise ValueError(f"Expected `risk` to have the shape of `risk_M` {rM.shape}, got {r.shape}.")
        err = None
        if risk_err is not None:
            err = _positive_1d(risk_err, "risk_err", allow_zero=True)
            if err.shape != rM.shape:
                raise ValueError(f"Expected `risk_err` to have the shape of `risk_M` {rM.shape}, got {err.shape}.")
            err = np.vstack([np.minimum(err, 0.999 * r), err])  # keep the lower bar above zero on a log axis
        ax.errorbar(rM, r, yerr=err, fmt="o", color="C3", capsize=3, ms=5,
                    label="Monte-Carlo risk  E|h_M - f|")
    elif risk_err is not None:
        raise ValueError("Expected `risk_err` only together with `risk_M` and `risk`.")
    if rmse is not None:
        if not all(given):
            raise ValueError("Expected `rmse` only together with `risk_M` and `risk`.")
        e = _positive_1d(rmse, "rmse")
        if e.shape != rM.shape:
            raise ValueError(f"Expected `rmse` to have the shape of `risk_M` {rM.shape}, got {e.shape}.")
        ax.loglog(rM, e, "o", mfc="none", color="C3", ms=7, label="Monte-Carlo RMS error (median)")
    if predicted is not None:
        p = _positive_1d(predicted, "predicted")
        if p.shape != M.shape:
            raise ValueError(f"Expected `predicted` to have the shape of `M` {M.shape}, got {p.shape}.")
        ax.loglog(M, p, "--", lw=1.8, color="C2", label="predicted RMS error (eigenlearning)")
    if (power_M is None) != (power is None):
        raise ValueError("Expected `power_M` and `power` together, got only one of them.")
    if power is not None:
        pM, pw = _positive_1d(power_M, "power_M"), _positive_1d(power, "power")
        if pw.shape != pM.shape:
            raise ValueError(f"Expected `power` to have the shape of `power_M` {pM.shape}, got {pw.shape}.")
        ax.loglog(pM, pw, "s", color="C1", ms=6, label="power-function bound on the RMS error (median)")
    ax.set_xlabel("number of samples M")
    ax.set_ylabel("error:  E|h_M - f|,  RMS" if (predicted is not None or power is not None or rmse is not None)
                  else "population risk  L(h_M) = E|h_M - f|")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def plot_bound_validation(result, *, ax=None):
    """Log-log plot of the trial risks of a :func:`fpnorm.validation.validate_bound` run, their mean and the bound
    against ``M``.

    Parameters
    ----------
    result : BoundValidation
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into; ``fig.axes[0]`` holds one line per trial, the mean and (unless vacuous) the bound.
    """
    fig, ax = _new_axes(ax, (5.0, 3.5))
    M = np.asarray(result.Ms, dtype=float)
    for j in range(result.risks.shape[1]):
        ax.loglog(M, result.risks[:, j], ".", color="0.6", ms=4, label="trials" if j == 0 else None)
    ax.loglog(M, result.mean_risk, "o-", color="C0", label=f"mean risk (rate {result.decay_rate:.2f})")
    if not result.vacuous:
        ax.loglog(M, result.bounds, "s--", color="C3", label=f"bound, delta={result.delta:g} (rate 0.5)")
    ax.set_xlabel("M (samples)")
    ax.set_ylabel("population risk E|h_M - f|")
    ax.legend(fontsize="small")
    return fig


# -- F-principle dynamics (fpnorm.dynamics) -----------------------------------------------------------------------
def plot_flow_heatmap(shell_errors, *, level=None, floor=1e-8, ax=None, cmap="viridis", vmin=None, vmax=None,
                      title="LFP flow: relative error per frequency shell"):
    """The F-principle picture: relative error per frequency shell (vertical) over log time (horizontal).

    Parameters
    ----------
    shell_errors : ShellErrors
        From :meth:`fpnorm.LFPFlow.shell_errors`. Times ``0`` and ``inf`` have no place on a log axis and are left
        out; at least two positive finite times must remain.
    level : float, optional
        If given, mark per shell the time from which its error stays ``<= level``
        (:meth:`~fpnorm.ShellErrors.convergence_times`).
    floor : float
        Errors below `floor` are drawn as `floor` (the colour scale spans at most ``log10(floor)`` to the largest
        error).
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; a new figure by default.
    cmap : str
        Colour map name.
    vmin, vmax : float, optional
        The colour scale in ``log10`` of the error (default: from `floor` and the data); give both to share a scale
        between panels (:func:`plot_shell_errors_pair`).
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Colour is ``log10`` of ``||h^(t) - f^||_s / ||h_ini^ - f^||_s`` in shell ``s = round(|k|)``; shells where the
    target has no content (NaN) are left blank. For the LFP weights ``gamma(k)^2`` decreases with ``|k|``, so the
    dark (converged) region reaches low shells first: the frequency principle.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import LFP, LFPFlow
    >>> from fpnorm.plotting import plot_flow_heatmap
    >>> x = np.random.default_rng(0).random(40)
    >>> f = lambda q: np.sin(2 * np.pi * q) + 0.5 * np.sin(10 * np.pi * q)
    >>> flow = LFPFlow(x, f(x), weight=LFP(a=1.0, b=1.0, dim=1), K=20)
    >>> fig = plot_flow_heatmap(flow.shell_errors(f, np.logspace(-2, 4, 60)), level=0.1)
    >>> fig.axes[0].get_xlabel()
    'time t'
    """
    if not isinstance(shell_errors, ShellErrors):
        raise TypeError(f"Expected `shell_errors` to be a ShellErrors (from LFPFlow.shell_errors), "
                        f"got {type(shell_errors).__name__}.")
    floor = check_real(floor, "floor", minimum=0.0, strict_min=True)
    if level is not None:
        level = check_real(level, "level", minimum=0.0, strict_min=True)
    times = np.asarray(shell_errors.times, dtype=float)
    use = (times > 0) & np.isfinite(times)
    if use.sum() < 2:
        raise ValueError(f"Expected `shell_errors` to hold at least 2 positive finite times for a log-time axis, "
                         f"got {int(use.sum())}.")
    t = times[use]
    if np.any(np.diff(t) <= 0):
        raise ValueError("Expected the positive times of `shell_errors` to be strictly increasing.")
    err = np.asarray(shell_errors.errors, dtype=float)[use]
    shells = np.asarray(shell_errors.shells)
    with np.errstate(divide="ignore", invalid="ignore"):
        logerr = np.log10(np.maximum(err, floor))
    logerr = np.ma.masked_invalid(logerr)
    fig, ax = _new_axes(ax, (7.0, 4.5))
    s_edges = np.concatenate([shells - 0.5, [shells[-1] + 0.5]]).astype(float)
    if vmin is None:
        vmin = max(np.log10(floor), float(logerr.min()) if logerr.count() else np.log10(floor))
    if vmax is None:
        vmax = max(float(logerr.max()) if logerr.count() else 0.0, vmin + 1.0)
    mesh = ax.pcolormesh(_log_edges(t), s_edges, logerr.T, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat")
    present = np.flatnonzero(~np.ma.getmaskarray(logerr).all(axis=0))
    if present.size:  # no empty band above the highest shell the target occupies
        ax.set_ylim(shells[0] - 0.5, shells[present[-1]] + 0.5)
    ax.set_xscale("log")
    ax.set_xlabel("time t")
    ax.set_ylabel("frequency shell |k|")
    ax.set_title(title)
    fig.colorbar(mesh, ax=ax, label="log10 relative error")
    if level is not None:
        tc = shell_errors.convergence_times(level)
        ok = np.isfinite(tc) & (tc > 0)
        ax.plot(tc[ok], shells[ok], "o-", color="white", markeredgecolor="black", markersize=4,
                label=f"error <= {level:g} from here on")
        ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_shell_errors_pair(flow_errors, network_errors, *, level=None, floor=1e-8, cmap="viridis",
                           titles=("LFP flow", "trained network")):
    """The flow's and a network's errors per frequency shell side by side, on one colour scale and one time axis.

    Parameters
    ----------
    flow_errors, network_errors : ShellErrors
        From :meth:`fpnorm.LFPFlow.shell_errors` and :meth:`fpnorm.ShellErrors.from_snapshots` (same grid).
    level : float, optional
        Mark per shell the time from which the error stays ``<= level`` in each panel.
    floor : float
        Errors below it are drawn as it.
    cmap : str
    titles : (str, str)

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (each with its colour bar, both spanning the same ``log10`` range).

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm import ShellErrors
    >>> from fpnorm.plotting import plot_shell_errors_pair
    >>> t = np.logspace(-1, 1, 5)
    >>> a = ShellErrors(t, np.arange(3), np.exp(-np.outer(t, [3.0, 2.0, 1.0])), np.ones(3))
    >>> fig = plot_shell_errors_pair(a, a)
    >>> [im.get_clim() == fig.axes[0].collections[0].get_clim() for im in (fig.axes[1].collections[0],)]
    [True]
    """
    from matplotlib.figure import Figure  # matplotlib (~0.3 s to import) loads with the first figure, not with fpnorm

    for name, se in (("flow_errors", flow_errors), ("network_errors", network_errors)):
        if not isinstance(se, ShellErrors):
            raise TypeError(f"Expected `{name}` to be a ShellErrors, got {type(se).__name__}.")
    floor = check_real(floor, "floor", minimum=0.0, strict_min=True)
    logs = []
    for se in (flow_errors, network_errors):
        t = np.asarray(se.times, dtype=float)
        err = np.asarray(se.errors, dtype=float)[(t > 0) & np.isfinite(t)]
        with np.errstate(divide="ignore", invalid="ignore"):
            logs.append(np.log10(np.maximum(err[np.isfinite(err)], floor)))
    both = np.concatenate(logs)
    vmin = max(np.log10(floor), float(both.min()) if both.size else np.log10(floor))
    vmax = max(float(both.max()) if both.size else 0.0, vmin + 1.0)
    fig = Figure(figsize=(12.0, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, se, title in zip(axes, (flow_errors, network_errors), titles, strict=True):
        plot_flow_heatmap(se, level=level, floor=floor, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, title=title)
    lo = min(float(np.min(se.times[se.times > 0])) for se in (flow_errors, network_errors))
    hi = max(float(np.max(se.times[np.isfinite(se.times)])) for se in (flow_errors, network_errors))
    for ax in axes:
        ax.set_xlim(lo, hi)
    return fig


def plot_network_vs_flow(query, network, flow, times, *, points=None, values=None, ax=None):
    """A network's function and the flow's prediction overlaid at matched times (1-d).

    Parameters
    ----------
    query : array_like, shape (Q,)
        Where both were evaluated.
    network, flow : array_like, shape (T, Q)
        The network's values after ``steps`` steps and the flow's at ``t = lr * steps``.
    times : array_like, shape (T,)
        The matched times (legend).
    points, values : array_like, shape (N,), optional
        The training data, drawn as dots.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Solid lines: the network; dashed, same colour: the flow; the legend gives each time's relative L2
        distance ``||net - flow|| / ||flow||`` on the query points.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm.plotting import plot_network_vs_flow
    >>> q = np.linspace(-1, 1, 50)
    >>> fig = plot_network_vs_flow(q, [np.sin(q)], [np.sin(q) + 1e-3], [1.0])
    >>> len(fig.axes[0].lines)
    2
    """
    q = np.asarray(query, dtype=float)
    net = np.atleast_2d(np.asarray(network, dtype=float))
    flo = np.atleast_2d(np.asarray(flow, dtype=float))
    ts = np.atleast_1d(np.asarray(times, dtype=float))
    if q.ndim != 1 or net.shape != (ts.size, q.size) or flo.shape != net.shape:
        raise ValueError(f"Expected `query` (Q,), `network` and `flow` (T, Q) and `times` (T,), got {q.shape}, "
                         f"{net.shape}, {flo.shape} and {ts.shape}.")
    fig, ax = _new_axes(ax, (7.0, 4.5))
    for i, t in enumerate(ts):
        c = f"C{i % 10}"
        dist = np.linalg.norm(net[i] - flo[i]) / max(np.linalg.norm(flo[i]), np.finfo(float).tiny)
        ax.plot(q, net[i], "-", color=c, label=f"network, t = {t:.3g}")
        ax.plot(q, flo[i], "--", color=c, label=f"flow (relative L2 {dist:.1e})")
    if points is not None and values is not None:
        ax.plot(np.asarray(points, dtype=float), np.asarray(values, dtype=float), "ko", ms=4, label="data")
    ax.set_xlabel("x")
    ax.set_ylabel("h(t, x)")
    ax.set_title("network (solid) and LFP flow (dashed) at matched times t = lr * steps")
    ax.legend(fontsize="small")
    return fig


# -- sweeps --------------------------------------------------------------------------------------------------------
def plot_sweep(summary, *, title="Measured risk and a-priori bound against M"):
    """Risk and bound against M (log-log), one panel per weight and one colour per K, with fitted decay rates.

    Parameters
    ----------
    summary : list of dict
        As returned by :func:`fpnorm.sweeps.summarize`.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Solid lines with error bars: the mean risk ``E|h_M - f|`` over seeds (+- its standard error); dashed: the
    bound. The legend gives the least-squares rates ``~ M^-rate``. An infinite (vacuous) bound is not drawn; the
    legend says so.

    Examples
    --------
    >>> from fpnorm.plotting import plot_sweep
    >>> fig = plot_sweep([{"weight": "sobolev:s=2.0,dim=1", "K": 8, "M": [4, 8], "risk_mean": [0.1, 0.05],
    ...                    "risk_sem": [0.01, 0.01], "bound": [3.0, 2.1], "risk_rate": 1.0, "bound_rate": 0.5}])
    >>> len(fig.axes)
    1
    """
    from matplotlib.figure import Figure  # matplotlib (~0.3 s to import) loads with the first figure, not with fpnorm

    weights = list(dict.fromkeys(s["weight"] for s in summary))
    n = max(len(weights), 1)
    fig = Figure(figsize=(5.0 * n, 4.2), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    colours = [f"C{i}" for i in range(10)]
    for ax, weight in zip(axes, weights, strict=False):
        series = [s for s in summary if s["weight"] == weight]
        for i, s in enumerate(series):
            c = colours[i % len(colours)]
            ax.errorbar(s["M"], s["risk_mean"], yerr=s.get("risk_sem"), color=c, marker="o", ms=4, capsize=2,
                        label=f"risk, K={s['K']}: ~M^-{s['risk_rate']:.2f}")
            finite = [(m, b) for m, b in zip(s["M"], s["bound"], strict=False) if np.isfinite(b)]
            if finite:
                ax.plot(*zip(*finite, strict=False), color=c, ls="--", marker="s", ms=3,
                        label=f"bound, K={s['K']}: ~M^-{s['bound_rate']:.2f}")
            else:
                ax.plot([], [], color=c, ls="--", label=f"bound, K={s['K']}: inf (vacuous)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("M (sample size)")
        ax.set_ylabel("E|h - f|")
        ax.set_title(weight, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig
