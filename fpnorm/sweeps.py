"""Bound-validation sweeps: Monte-Carlo trials over weights, K, M and seeds, on dask.distributed, resumable.

A sweep is read from a TOML config (:func:`load_config`, schema and validation in :mod:`fpnorm._sweep.config`),
expanded into tasks (one per weight, K, M and seed) and run by :func:`run_sweep`: on a ``LocalCluster`` (one
single-threaded worker process per core) by default, on an existing dask scheduler given its address, or serially
in this process (``workers=0``). Every path runs the same task function :func:`run_trial`, every task draws its
random numbers from a ``numpy.random.SeedSequence`` built from its own key, and every trial runs its BLAS on one
thread, so a row's numbers are bit for bit the same whatever the scheduler, the number of workers and the BLAS
thread count.

Results go to ``OUT/results.csv`` (one row per task, appended as tasks finish, crash-safe: see
:mod:`fpnorm._sweep.store`; sorted into task order once every task has a row), next to ``OUT/sweep.json`` (the
config and its fingerprint) and, once every task has a row, the summary figure ``OUT/summary.png`` and fitted decay
rates ``OUT/summary.json``. Running the same sweep again resumes it: lines of ``results.csv`` that are not good rows
of this config are set aside into ``OUT/results.rejected.csv`` (with their line number and the reason) and their
tasks run again. A config that differs only in the order of its lists is the same sweep; a different config aimed at
the same folder is refused.
"""

import dataclasses
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ._internal.checks import check_int, evaluate_function
from ._internal.progress import progress
from ._internal.threads import blas_thread_counts, single_threaded
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
from ._sweep.store import REJECTED_FILE, RESULTS_FILE, ResultStore, format_value, read_table
from .bounds import generalization_bound
from .interpolant import FPInterpolator
from .io import json_dumps
from .lattice_sums import gamma_l2_info
from .learning_curve import learning_curve
from .norms import fp_norm
from .plotting import plot_sweep
from .validation import population_risk
from .weights import weight_from_spec

__all__ = ["EXAMPLE_CONFIG", "CONFIG_KEYS", "RISK_KEYS", "ROW_SCHEMA", "COLUMNS", "KEY_COLUMNS", "SweepConfig",
           "SweepReport",
           "load_config", "parse_config", "run_sweep", "run_trial", "read_results", "fit_decay", "summarize"]

# The columns of results.csv, in order, with the type of their cells: the one list of them (a new column is added
# here and to the row run_trial returns). A cell must read back as exactly what the store writes for its type.
ROW_SCHEMA = (("weight", str), ("K", int), ("M", int), ("seed", int), ("dim", int), ("period", float),
              ("target", str), ("h_ini", str), ("delta", float), ("risk_n", int), ("risk", float),
              ("risk_stderr", float), ("bound", float), ("f_norm", float), ("gamma_l2", float), ("norm", float),
              ("predicted_mse", float), ("status", str), ("seconds", float))
COLUMNS = tuple(name for name, _ in ROW_SCHEMA)
# The columns that identify a task.
KEY_COLUMNS = ("weight", "K", "M", "seed")


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

    Every BLAS call of the trial runs on one thread (:func:`fpnorm._internal.threads.single_threaded`): the order
    of a threaded BLAS's floating-point additions depends on its thread count, and a row must not. When this
    process's BLAS cannot be pinned (another Python thread owns the switch and has not pinned it), the status says
    so (``"warning: BLAS ran on N threads ..."``).
    """
    start = time.perf_counter()
    with single_threaded():
        threads = max(blas_thread_counts(), default=1)
        row = _trial(task)
    if threads > 1:
        note = (f"warning: BLAS ran on {threads} threads (another thread of this process holds the BLAS thread "
                f"switch), the numbers may differ in the last bits from a run on one thread")
        row["status"] = note if row["status"] == "ok" else f"{row['status']}; {note}"
    row["seconds"] = time.perf_counter() - start
    return row


def _trial(task):
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
               predicted_mse=_predicted_mse(task["weight"], d, period, task["target"], task["h_ini"], M))
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
    n_rejected : int
        Lines of ``results.csv`` that this run set aside (unreadable, torn, of a task not in the config, or a second
        row of a task); their tasks were pending again.
    rejected : Path or None
        ``results.rejected.csv`` (line number, reason and text of each line set aside) when this run set any aside.
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
    n_rejected: int = 0
    rejected: Path = None


def _run_serial(tasks, store, show):
    n = 0
    for task in progress(tasks, total=len(tasks), desc="fpnorm sweep", enabled=show):
        n += store.append(run_trial(task))
    return n


def _run_dask(tasks, store, show, scheduler, workers):
    from dask.distributed import Client, LocalCluster, as_completed  # dask loads only when a sweep runs on it

    cluster = None
    if scheduler is None:
        n = workers if workers is not None else (os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    n = 0
    try:
        futures = [client.submit(run_trial, task, pure=False) for task in tasks]
        try:
            for fut in progress(as_completed(futures), total=len(futures), desc="fpnorm sweep", enabled=show):
                n += store.append(fut.result())
        finally:
            client.cancel(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return n


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
        Run at most this many of the pending tasks (in task order: :meth:`SweepConfig.tasks`), then stop; a later
        call resumes.
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
    at most a torn last line. On opening an earlier run's folder, every line of ``results.csv`` that is not a good
    row of this config (not UTF-8, not one CSV row of every column, a number not as written, a task not in the
    config or whose fixed columns differ, a second row of a task) is set aside into ``results.rejected.csv`` with
    its line number and the reason, and its task runs again (`n_rejected`). Once every task has a row the file is
    sorted into task order. Each task's random numbers come from its own key and every trial runs its BLAS on one
    thread (see :func:`run_trial`; this process holds one BLAS thread while the sweep runs, for workers that are
    threads of it), so serial, local and cluster runs, resumed or not, write the same bytes (the ``seconds`` cells
    aside).

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
    keys = [tuple(format_value(t[c]) for c in KEY_COLUMNS) for t in tasks]
    fixed = {key: {c: t[c] for c in COLUMNS if c in t} for key, t in zip(keys, tasks, strict=True)}
    n_run = 0
    with single_threaded(), ResultStore(out, cfg.to_dict(), columns=COLUMNS, key_columns=KEY_COLUMNS,
                                        types=dict(ROW_SCHEMA), tasks=fixed) as store:
        pending = [t for t in tasks if not store.is_done(t)]
        n_skipped = len(tasks) - len(pending)
        if limit is not None:
            pending = pending[:limit]
        if pending:
            if workers == 0:
                n_run = _run_serial(pending, store, show_progress)
            else:
                n_run = _run_dask(pending, store, show_progress, scheduler, workers)
        complete = store.n_done == len(tasks)
        if complete:
            store.sort(keys)
        n_rejected = len(store.rejected)
    rows = read_results(out)
    report = SweepReport(out=Path(out), n_tasks=len(tasks), n_skipped=n_skipped, n_run=n_run,
                         n_errors=sum(r["status"].startswith("error") for r in rows),
                         complete=complete, results=Path(out) / RESULTS_FILE, n_rejected=n_rejected,
                         rejected=Path(out) / REJECTED_FILE if n_rejected else None)
    if figure and report.complete:
        report.figure, report.summary = _write_summary(rows, Path(out))
    return report


# -- results -------------------------------------------------------------------------------------------------------
def read_results(out):
    """The rows of ``OUT/results.csv`` as dicts of typed values (ints, floats, strings), in file order.

    A last line without its newline (a write in progress or interrupted) is skipped.

    Raises
    ------
    ValueError
        When `out` has no results file, or naming the file, the line and the reason when a line is not a good row
        (not UTF-8, torn, a number not as written, a second row of a task): running the sweep again sets such lines
        aside into ``results.rejected.csv`` and reruns their tasks.
    """
    path = Path(out) / RESULTS_FILE
    if not path.exists():
        raise ValueError(f"Expected `out` to hold {RESULTS_FILE}, but {str(path)!r} does not exist.")
    good, bad, _ = read_table(path, COLUMNS, dict(ROW_SCHEMA))
    first = {}
    for number, row, _ in good:
        key = tuple(format_value(row[c]) for c in KEY_COLUMNS)
        if key in first:
            bad.append((number, f"a second row of the task of line {first[key]}", ""))
        first.setdefault(key, number)
    bad = [b for b in bad if not b[1].startswith("torn: the last line has no newline")]
    if bad:
        number, reason, _ = min(bad)
        raise ValueError(f"Expected every line of {str(path)!r} to be a row of the sweep, but line {number} is "
                         f"not: {reason} ({len(bad)} such line(s)). Run the sweep again to set them aside into "
                         f"{REJECTED_FILE} and rerun their tasks.")
    return [row for _, row, _ in good]


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
