"""Matplotlib figures. Figures are built with ``matplotlib.figure.Figure`` (no pyplot state, no display needed)."""

import math

__all__ = ["plot_sweep"]


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
            finite = [(m, b) for m, b in zip(s["M"], s["bound"]) if math.isfinite(b)]
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
