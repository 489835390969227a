"""Bound-validation sweeps: Monte-Carlo trials over weights, K, M and seeds, on dask.distributed, resumable.

A sweep is read from a TOML config (:func:`load_config`, schema and validation in :mod:`fpnorm._sweep.config`),
expanded into tasks (one per weight, K, M and seed) and run by :func:`run_sweep`: on a ``LocalCluster`` (one
single-threaded worker process per core) by default, on an existing dask scheduler given its address, or serially
in this process (``workers=0``). Every path runs the same task function :func:`run_trial`, and every task draws its
random numbers from a ``numpy.random.SeedSequence`` built from its own parameters, so the numbers never depend on
scheduling.

Results go to ``OUT/results.csv`` (one row per task, appended as tasks finish, crash-safe: see
:mod:`fpnorm._sweep.store`), next to ``OUT/sweep.json`` (the config and its fingerprint) and, at the end, the
summary figure ``OUT/summary.png`` and fitted decay rates ``OUT/summary.json``. Running the same sweep again
resumes it; a different config aimed at the same folder is refused.
"""

import csv
import dataclasses
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ._internal.checks import check_int, evaluate_function
from ._internal.progress import progress
from ._sweep.config import (
    CONFIG_KEYS,
    EXAMPLE_CONFIG,
    RISK_KEYS,
    SweepConfig,
    as_config,
    load_config,
    parse_config,
    resolve_function,
    resolve_h_ini,
)
from ._sweep.store import RESULTS_FILE, ResultStore
from .bounds import generalization_bound
from .interpolant import FPInterpolator
from .io import json_dumps
from .lattice_sums import gamma_l2_info
from .learning_curve import learning_curve
from .norms import fp_norm
from .plotting import plot_sweep
from .validation import population_risk
from .weights import weight_from_spec

__all__ = ["EXAMPLE_CONFIG", "CONFIG_KEYS", "RISK_KEYS", "COLUMNS", "KEY_COLUMNS", "SweepConfig", "SweepReport",
           "load_config", "parse_config", "run_sweep", "run_trial", "read_results", "fit_decay", "summarize"]

# The columns of results.csv, in order; a task is identified by KEY_COLUMNS.
KEY_COLUMNS = ("weight", "K", "M", "seed")
COLUMNS = ("weight", "K", "M", "seed", "dim", "period", "target", "h_ini", "delta", "risk_n",
           "risk", "risk_stderr", "bound", "f_norm", "gamma_l2", "norm", "predicted_mse", "status", "seconds")


# -- one trial -----------------------------------------------------------------------------------------------------
def _seed_sequence(task, stream):
    """The SeedSequence of one random stream of a task: it depends on the seed, M and the stream only, so every
    weight and K at the same (seed, M) sees the same points (common random numbers: paired comparisons)."""
    return np.random.SeedSequence(int(task["seed"]), spawn_key=(int(task["M"]), int(stream)))


_CONSTANTS = {}


def _bound_constants(weight_spec, dim, period, target, h_ini):
    """``(FPNorm of f - h_ini, ||gamma||_l2)`` of a weight, cached per process (they do not depend on M, K, seed)."""
    key = (weight_spec, dim, period, target, h_ini)
    if key not in _CONSTANTS:
        weight = weight_from_spec(weight_spec, dim=dim)
        norm = fp_norm(resolve_function(target, "target", dim, period), weight,
                       resolve_h_ini(h_ini, dim, period), period=period, full=True)
        _CONSTANTS[key] = (norm, float(gamma_l2_info(weight).value))
    return _CONSTANTS[key]


def _predicted_mse(weight_spec, dim, period, target, h_ini, M):
    """The eigenlearning prediction of the MSE (:func:`fpnorm.learning_curve.learning_curve`), cached per process;
    nan for a weight or target it does not cover."""
    key = ("predicted", weight_spec, dim, period, target, h_ini, M)
    if key not in _CONSTANTS:
        try:
            _CONSTANTS[key] = float(learning_curve(M, weight=weight_from_spec(weight_spec, dim=dim),
                                                   f=resolve_function(target, "target", dim, period),
                                                   h_ini=resolve_h_ini(h_ini, dim, period), period=period).mse[0])
        except ValueError:
            _CONSTANTS[key] = math.nan
    return _CONSTANTS[key]


def _flag(status, norm, bound):
    """The row status with the FP-norm's verdict: ``"vacuous: ..."`` when it diverges, a warning when the samples
    leave it unresolved (an error status stays first)."""
    if norm.status == "divergent":
        note = "vacuous: " + " ".join(bound.reason.split())
    elif norm.status == "unresolved":
        note = "warning: f_norm unresolved, the bound is an estimate: " + " ".join(norm.reason.split())
    else:
        return status
    return note if status == "ok" else f"{status}; {note}"


def run_trial(task):
    """Run one task: draw M points, fit the minimum FP-norm interpolant, estimate its risk, compute the bound.

    Parameters
    ----------
    task : dict
        One element of :meth:`SweepConfig.tasks` (plain values only, so it pickles to any dask worker).

    Returns
    -------
    dict
        A results row with every column of :data:`COLUMNS`. A numerical failure of the solve
        (:class:`~fpnorm.exceptions.SolveError`, ``LinAlgError``) gives ``status = "error: ..."`` and NaN numbers
        instead of stopping the sweep; a warning gives ``status = "warning: ..."`` (each distinct
        warning, joined by ``"; "``). A target whose FP-norm
        diverges for the weight gives ``bound = inf`` and ``status = "vacuous: <why>"``; one whose FP-norm the samples
        do not resolve gives ``status = "warning: f_norm unresolved, ..."`` (after any error or warning of the solve).

    Notes
    -----
    The points are ``M`` draws from the uniform distribution on ``[0, P)^d`` with a ``default_rng`` seeded by
    ``SeedSequence(seed, spawn_key=(M, 0))``; the risk ``E_x |h(x) - f(x)|`` is estimated by
    :func:`fpnorm.validation.population_risk` with ``risk_n`` points seeded by ``SeedSequence(seed,
    spawn_key=(M, 1))``. The bound is ``||f - h_ini||_gamma ||gamma||_l2 (2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M))``
    (:func:`fpnorm.bounds.generalization_bound`) with ``||f - h_ini||_gamma`` from :func:`fpnorm.fp_norm`; it is
    ``inf`` (vacuous) when either norm diverges. ``predicted_mse`` is the eigenlearning prediction of ``E_x |h_M -
    f|^2`` (:func:`fpnorm.learning_curve.learning_curve`; nan for a callable weight).
    """
    start = time.perf_counter()
    d, period, M = int(task["dim"]), float(task["period"]), int(task["M"])
    weight = weight_from_spec(task["weight"], dim=d)
    f = resolve_function(task["target"], "target", d, period)
    h_ini = resolve_h_ini(task["h_ini"], d, period)
    x = np.random.default_rng(_seed_sequence(task, 0)).uniform(0.0, period, size=(M, d))
    y = evaluate_function(f, x, "target", M, d)
    status = "ok"
    risk = stderr = norm = math.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            s = FPInterpolator(x, y, weight=weight, K=int(task["K"]), h_ini=h_ini, period=period)
            norm = float(s.norm)
            risk, stderr = population_risk(s, f, dim=d, period=period, n=int(task["risk_n"]),
                                           method=task.get("risk_method", "sobol"),
                                           replicates=int(task.get("risk_replicates", 16)),
                                           seed=np.random.default_rng(_seed_sequence(task, 1)))
            risk, stderr = float(risk), float(stderr)
        except np.linalg.LinAlgError as exc:  # SolveError included
            status = "error: " + " ".join(f"{type(exc).__name__}: {exc}".split())
    if status == "ok" and caught:  # every distinct warning, in order: one cause must not hide another
        texts = dict.fromkeys(" ".join(str(w.message).split()) for w in caught)
        status = "; ".join(f"warning: {text}" for text in texts)
    f_norm, gamma_l2 = _bound_constants(task["weight"], d, period, task["target"], task["h_ini"])
    bound = generalization_bound(M, float(task["delta"]), f_norm=f_norm, gamma_l2=gamma_l2)
    row = {c: task[c] for c in COLUMNS if c in task}
    row.update(risk=risk, risk_stderr=stderr, bound=float(bound.value), f_norm=float(f_norm.value),
               gamma_l2=gamma_l2, norm=norm, status=_flag(status, f_norm, bound),
               predicted_mse=_predicted_mse(task["weight"], d, period, task["target"], task["h_ini"], M),
               seconds=time.perf_counter() - start)
    return row


# -- running -------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class SweepReport:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out : Path
        The output folder.
    n_tasks : int
        Tasks in the config.
    n_skipped : int
        Tasks already finished by an earlier run (resumed).
    n_run : int
        Tasks run now.
    n_errors : int
        Rows (old and new) whose status is an error.
    complete : bool
        Whether every task now has a row.
    results, figure, summary : Path or None
        ``results.csv``, ``summary.png`` and ``summary.json`` (the last two only once the sweep is complete).
    """

    out: Path
    n_tasks: int
    n_skipped: int
    n_run: int
    n_errors: int
    complete: bool
    results: Path
    figure: Path = None
    summary: Path = None


def _run_serial(tasks, store, show):
    for task in progress(tasks, total=len(tasks), desc="fpnorm sweep", enabled=show):
        store.append(run_trial(task))


def _run_dask(tasks, store, show, scheduler, workers):
    from dask.distributed import Client, LocalCluster, as_completed  # dask loads only when a sweep runs on it

    cluster = None
    if scheduler is None:
        n = workers if workers is not None else (os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [client.submit(run_trial, task, pure=False) for task in tasks]
        try:
            for fut in progress(as_completed(futures), total=len(futures), desc="fpnorm sweep", enabled=show):
                store.append(fut.result())
        finally:
            client.cancel(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(config, out, *, scheduler=None, workers=None, limit=None, show_progress=None, figure=True):
    """Run (or resume) a sweep and write ``results.csv``, the summary figure and the fitted decay rates.

    Parameters
    ----------
    config : SweepConfig, dict or path-like
        The sweep (a path is read with :func:`load_config`).
    out : path-like
        Output folder. When it holds an earlier run of the same config, finished tasks are skipped; when it holds
        another config, ``ValueError`` is raised and nothing is written.
    scheduler : str, optional
        Address of a running dask scheduler (``"tcp://host:8786"``); tasks then run on its workers, which must be
        able to import fpnorm (and any ``module:function`` named in the config).
    workers : int, optional
        Without `scheduler`: worker processes of the ``LocalCluster`` (default: one per core, one thread each);
        ``0`` runs the tasks serially in this process, without dask.
    limit : int, optional
        Run at most this many of the pending tasks (in config order), then stop; a later call resumes.
    show_progress : bool, optional
        Draw a progress bar on stderr (default: when stderr is a terminal).
    figure : bool
        Write ``summary.png`` and ``summary.json`` once every task has a row (default True).

    Returns
    -------
    SweepReport

    Notes
    -----
    Rows are written in this (the driver) process as tasks finish, each line flushed and fsync'ed; a crash leaves
    at most a torn last line, dropped on the next run. Each task's random numbers come from its own parameters
    (see :func:`run_trial`), so serial, local and cluster runs give the same numbers (``seconds`` aside).

    Examples
    --------
    >>> import tempfile
    >>> from fpnorm.sweeps import run_sweep
    >>> cfg = {"weights": ["sobolev:s=2"], "K": [16], "M": [4, 8], "seeds": 2, "target": "sin", "delta": 0.1,
    ...        "risk": {"n": 1000}}
    >>> rep = run_sweep(cfg, tempfile.mkdtemp(), workers=0, figure=False)
    >>> rep.n_run, rep.complete
    (4, True)
    """
    cfg = as_config(config)
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"Expected `scheduler` to be an address string like 'tcp://host:8786', "
                        f"got {type(scheduler).__name__}.")
    if scheduler is not None and workers is not None:
        raise ValueError("Expected `workers` to be None when `scheduler` is given (the scheduler's workers run the "
                         f"tasks), got workers={workers!r}.")
    workers = check_int(workers, "workers", minimum=0, allow_none=True)
    limit = check_int(limit, "limit", minimum=0, allow_none=True)
    tasks = cfg.tasks()
    with ResultStore(out, cfg.to_dict(), columns=COLUMNS, key_columns=KEY_COLUMNS) as store:
        pending = [t for t in tasks if not store.is_done(t)]
        n_skipped = len(tasks) - len(pending)
        if limit is not None:
            pending = pending[:limit]
        if pending:
            if workers == 0:
                _run_serial(pending, store, show_progress)
            else:
                _run_dask(pending, store, show_progress, scheduler, workers)
        n_done = store.n_done
    rows = read_results(out)
    report = SweepReport(out=Path(out), n_tasks=len(tasks), n_skipped=n_skipped, n_run=n_done - n_skipped,
                         n_errors=sum(r["status"].startswith("error") for r in rows),
                         complete=n_done == len(tasks), results=Path(out) / RESULTS_FILE)
    if figure and report.complete:
        report.figure, report.summary = _write_summary(rows, Path(out))
    return report


# -- results -------------------------------------------------------------------------------------------------------
_INT_COLUMNS = ("K", "M", "seed", "dim", "risk_n")
_FLOAT_COLUMNS = ("period", "delta", "risk", "risk_stderr", "bound", "f_norm", "gamma_l2", "norm", "predicted_mse",
                  "seconds")


def read_results(out):
    """The rows of ``OUT/results.csv`` as dicts of typed values (ints, floats, strings), in file order.

    A torn last line (an interrupted write) is skipped here; :func:`run_sweep` removes it from the file.
    """
    path = Path(out) / RESULTS_FILE
    if not path.exists():
        raise ValueError(f"Expected `out` to hold {RESULTS_FILE}, but {str(path)!r} does not exist.")
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]  # the part after the last newline is empty or torn
    reader = csv.DictReader(lines)
    rows, seen = [], set()
    for raw in reader:
        if None in raw or any(v is None for v in raw.values()):
            continue
        key = tuple(raw[c] for c in KEY_COLUMNS)
        if key in seen:  # one row per task (a duplicate can only come from a hand-edited or pre-lock file)
            continue
        seen.add(key)
        row = dict(raw)
        for c in _INT_COLUMNS:
            row[c] = int(row[c])
        for c in _FLOAT_COLUMNS:
            row[c] = float(row[c])
        rows.append(row)
    return rows


def fit_decay(M, values):
    """Least-squares power law ``values ~ C M^-rate`` on a log-log scale.

    Parameters
    ----------
    M : array_like, shape (n,)
        Sample sizes (positive).
    values : array_like, shape (n,)
        Measured values; non-finite or non-positive entries are left out.

    Returns
    -------
    rate, C : float
        ``nan, nan`` when fewer than two distinct ``M`` remain.

    Examples
    --------
    >>> rate, C = fit_decay([10, 100, 1000], [3.0 / 10**0.5, 3.0 / 100**0.5, 3.0 / 1000**0.5])
    >>> round(rate, 12), round(C, 12)
    (0.5, 3.0)
    """
    M = np.asarray(M, dtype=float)
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v) & (v > 0) & (M > 0)
    if len(np.unique(M[ok])) < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(np.log(M[ok]), np.log(v[ok]), 1)
    return float(-slope), float(np.exp(intercept))


def summarize(rows):
    """Mean risk and bound against M for every (weight, K), with fitted decay rates.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`read_results`; rows with an error status are left out.

    Returns
    -------
    list of dict
        One per (weight, K), in first-seen order, with keys ``weight``, ``K``, ``M`` (sorted list),
        ``risk_mean``, ``risk_sem`` (standard error of the mean over seeds), ``n_seeds``, ``bound``,
        ``risk_rate``, ``risk_C``, ``bound_rate``, ``bound_C`` (``values ~ C M^-rate``, see :func:`fit_decay`) and
        ``bound_above_risk`` (whether the bound exceeds the mean risk at every M).
    """
    groups = {}
    for r in rows:
        if r["status"].startswith("error"):
            continue
        groups.setdefault((r["weight"], r["K"]), {}).setdefault(r["M"], []).append(r)
    out = []
    for (weight, K), by_m in groups.items():
        Ms = sorted(by_m)
        risks = [np.array([r["risk"] for r in by_m[m]]) for m in Ms]
        mean = [float(np.mean(v)) for v in risks]
        sem = [float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan for v in risks]
        bound = [float(by_m[m][0]["bound"]) for m in Ms]
        rr, rc = fit_decay(Ms, mean)
        br, bc = fit_decay(Ms, bound)
        out.append({"weight": weight, "K": K, "M": Ms, "risk_mean": mean, "risk_sem": sem,
                    "n_seeds": [len(v) for v in risks], "bound": bound, "risk_rate": rr, "risk_C": rc,
                    "bound_rate": br, "bound_C": bc,
                    "bound_above_risk": bool(all(b > m for b, m in zip(bound, mean, strict=False)))})
    return out


def _write_summary(rows, out):
    summary = summarize(rows)
    json_path = out / "summary.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json_dumps(summary, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, json_path)
    fig = plot_sweep(summary)
    fig_path = out / "summary.png"
    fig.savefig(fig_path.with_suffix(".tmp.png"), dpi=120)
    os.replace(fig_path.with_suffix(".tmp.png"), fig_path)
    return fig_path, json_path
