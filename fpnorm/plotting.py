"""matplotlib figures of fpnorm results.

Figures are built on :class:`matplotlib.figure.Figure` directly -- no ``pyplot``, no global state, nothing shown --
so they work under any backend, headless (Agg) included; save them with ``fig.savefig(path)``. Every function takes
an optional ``ax`` to draw into an existing figure and returns the :class:`~matplotlib.figure.Figure`.

The module is organised by section, one per kind of result.
"""

import numpy as np

__all__ = ["plot_flow_heatmap", "plot_sweep"]


def _new_axes(ax, figsize):
    """The axes to draw in and its figure: `ax` itself, or a fresh Agg-safe figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _log_edges(t):
    """Cell edges around positive, increasing centres ``t`` on a log axis (geometric midpoints), shape (T+1,)."""
    lt = np.log(t)
    mid = 0.5 * (lt[1:] + lt[:-1])
    first, last = lt[0] - (mid[0] - lt[0]), lt[-1] + (lt[-1] - mid[-1])
    return np.exp(np.concatenate([[first], mid, [last]]))


# -- F-principle dynamics (fpnorm.dynamics) -----------------------------------------------------------------------
def plot_flow_heatmap(shell_errors, *, level=None, floor=1e-8, ax=None, cmap="viridis"):
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
        Errors below `floor` are drawn as `floor` (the colour scale spans at most ``log10(floor)`` to the largest error).
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; a new figure by default.
    cmap : str
        Colour map name.

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
    from .dynamics import ShellErrors
    from ._validation import check_real

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
    vmin = max(np.log10(floor), float(logerr.min()) if logerr.count() else np.log10(floor))
    vmax = max(float(logerr.max()) if logerr.count() else 0.0, vmin + 1.0)
    mesh = ax.pcolormesh(_log_edges(t), s_edges, logerr.T, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat")
    present = np.flatnonzero(~np.ma.getmaskarray(logerr).all(axis=0))
    if present.size:  # no empty band above the highest shell the target occupies
        ax.set_ylim(shells[0] - 0.5, shells[present[-1]] + 0.5)
    ax.set_xscale("log")
    ax.set_xlabel("time t")
    ax.set_ylabel("frequency shell |k|")
    ax.set_title("LFP flow: relative error per frequency shell")
    fig.colorbar(mesh, ax=ax, label="log10 relative error")
    if level is not None:
        tc = shell_errors.convergence_times(level)
        ok = np.isfinite(tc) & (tc > 0)
        ax.plot(tc[ok], shells[ok], "o-", color="white", markeredgecolor="black", markersize=4,
                label=f"error <= {level:g} from here on")
        ax.legend(loc="upper left", fontsize="small")
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
    from matplotlib.figure import Figure

    weights = list(dict.fromkeys(s["weight"] for s in summary))
    n = max(len(weights), 1)
    fig = Figure(figsize=(5.0 * n, 4.2), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    colours = [f"C{i}" for i in range(10)]
    for ax, weight in zip(axes, weights):
        series = [s for s in summary if s["weight"] == weight]
        for i, s in enumerate(series):
            c = colours[i % len(colours)]
            ax.errorbar(s["M"], s["risk_mean"], yerr=s.get("risk_sem"), color=c, marker="o", ms=4, capsize=2,
                        label=f"risk, K={s['K']}: ~M^-{s['risk_rate']:.2f}")
            finite = [(m, b) for m, b in zip(s["M"], s["bound"]) if np.isfinite(b)]
            if finite:
                ax.plot(*zip(*finite), color=c, ls="--", marker="s", ms=3,
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
