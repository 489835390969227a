"""Bound-validation sweeps: Monte-Carlo trials over weights, K, M and seeds, on dask.distributed, resumable.

A sweep is read from a TOML config (:func:`load_config`), expanded into tasks (one per weight, K, M and seed) and
run by :func:`run_sweep`: on a ``LocalCluster`` (one single-threaded worker process per core) by default, on an
existing dask scheduler given its address, or serially in this process (``workers=0``). Every path runs the same
task function :func:`run_trial`, and every task draws its random numbers from a ``numpy.random.SeedSequence`` built
from its own parameters, so the numbers never depend on scheduling.

Results go to ``OUT/results.csv`` (one row per task, appended as tasks finish, crash-safe: see
:mod:`fpnorm._sweep_store`), next to ``OUT/sweep.json`` (the config and its fingerprint) and, at the end, the
summary figure ``OUT/summary.png`` and fitted decay rates ``OUT/summary.json``. Running the same sweep again
resumes it; a different config aimed at the same folder is refused.
"""

import dataclasses
import importlib
import json
import math
import os
import time
import tomllib
import warnings
from pathlib import Path

import numpy as np

from ._progress import progress
from ._sweep_store import RESULTS_FILE, ResultStore
from ._validation import check_int, check_real, evaluate_function
from .lattice import box_size
from .weights import weight_from_spec

__all__ = ["EXAMPLE_CONFIG", "CONFIG_KEYS", "RISK_KEYS", "COLUMNS", "KEY_COLUMNS", "SweepConfig", "SweepReport",
           "load_config", "parse_config", "run_sweep", "run_trial", "read_results", "fit_decay", "summarize"]

# Top-level keys of a sweep config; the optional table [risk] takes RISK_KEYS.
CONFIG_KEYS = ("weights", "K", "M", "seeds", "target", "h_ini", "delta", "dim", "period", "risk")
RISK_KEYS = ("n",)
# Defaults of the optional keys.
_DEFAULTS = {"h_ini": "zero", "dim": 1, "period": 1.0, "risk": {"n": 20000}}
# h_ini values that mean "no initial function" (h_ini = 0).
_ZERO_H_INI = ("zero", "none", "0")

# The columns of results.csv, in order; a task is identified by KEY_COLUMNS.
KEY_COLUMNS = ("weight", "K", "M", "seed")
COLUMNS = ("weight", "K", "M", "seed", "dim", "period", "target", "h_ini", "delta", "risk_n",
           "risk", "risk_stderr", "bound", "f_norm", "gamma_l2", "norm", "status", "seconds")

EXAMPLE_CONFIG = """\
# fpnorm sweep config: one trial per (weight, K, M, seed) = 2 x 1 x 5 x 4 = 40 rows.
# Run it with:  fpnorm sweep CONFIG.toml --out DIR   (about a minute on 2 cores)

# Weight spec strings, as on the command line. Both have a finite ||gamma||_l2, hence a finite bound
# (a free k = 0 mode, the default of power and lfp, makes the bound vacuous: inf).
weights = ["power:p=4,zero=1", "sobolev:s=2"]
K = [64]                       # truncation |k|_inf <= K
M = [8, 16, 32, 64, 128]       # sample sizes: M uniform random points on the torus
seeds = [0, 1, 2, 3]           # or an integer n, meaning seeds 0 .. n-1
target = "sine"                # a name from fpnorm.targets, or "package.module:function"
h_ini = "zero"                 # initial function: "zero", a target name, or "package.module:function"
delta = 0.05                   # the bound holds with probability >= 1 - delta
dim = 1
period = 1.0

[risk]
n = 20000                      # Monte-Carlo points for E|h - f| (the standard error is reported too)
"""


# -- functions named in configs ------------------------------------------------------------------------------------
def _resolve_function(name, key):
    """A torus function from a registry name (:mod:`fpnorm.targets`) or a ``package.module:function`` path."""
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"Expected `{key}` to be a target name or 'package.module:function', got {name!r}.")
    name = name.strip()
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"Expected `{key}` = {name!r} to name an importable module: {exc}.") from None
        fn = getattr(module, attr, None)
        if not callable(fn):
            raise ValueError(f"Expected `{key}` = {name!r} to name a callable in module {module_name!r}, "
                             f"got {type(fn).__name__}.")
        return fn
    from . import targets

    try:
        return targets.get_target(name)
    except (KeyError, ValueError):
        raise ValueError(f"Expected `{key}` to be one of the targets {sorted(targets.TARGETS)} or "
                         f"'package.module:function', got {name!r}.") from None


def _resolve_h_ini(name):
    if name.lower() in _ZERO_H_INI:
        return None
    return _resolve_function(name, "h_ini")


# -- config --------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A validated, normalised sweep config (build it with :func:`load_config` or :func:`parse_config`).

    Attributes
    ----------
    weights : tuple of str
        Canonical weight spec strings (:meth:`Weight.spec`), so equal weights compare equal.
    K, M, seeds : tuple of int
    target, h_ini : str
        Function names (registry names or ``module:function``); ``h_ini = "zero"`` means no initial function.
    delta : float
        Confidence parameter of the bound, in (0, 1).
    dim : int
    period : float
    risk_n : int
        Monte-Carlo points for the risk ``E|h - f|``.
    """

    weights: tuple
    K: tuple
    M: tuple
    seeds: tuple
    target: str
    h_ini: str
    delta: float
    dim: int
    period: float
    risk_n: int

    def to_dict(self):
        """The normalised config as plain JSON types (what the fingerprint is computed from)."""
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def tasks(self):
        """The tasks, one dict per (weight, K, M, seed), in a fixed order."""
        shared = {"dim": self.dim, "period": self.period, "target": self.target, "h_ini": self.h_ini,
                  "delta": self.delta, "risk_n": self.risk_n}
        return [{"weight": w, "K": K, "M": M, "seed": s, **shared}
                for w in self.weights for K in self.K for M in self.M for s in self.seeds]


def _int_list(raw, key, minimum, *, allow_count=False):
    if allow_count and isinstance(raw, int) and not isinstance(raw, bool):
        n = check_int(raw, key, minimum=1)
        return tuple(range(n))
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        what = "a non-empty list of integers" + (" or a count" if allow_count else "")
        raise TypeError(f"Expected `{key}` to be {what}, got {raw!r}.")
    out = [check_int(v, f"{key}[{i}]", minimum=minimum) for i, v in enumerate(raw)]
    if len(set(out)) != len(out):
        raise ValueError(f"Expected the values of `{key}` to be distinct, got {out}.")
    return tuple(out)


def parse_config(raw):
    """Validate a config dict (as parsed from TOML) and normalise it.

    Parameters
    ----------
    raw : dict
        Keys :data:`CONFIG_KEYS`; ``weights``, ``K``, ``M``, ``seeds``, ``target`` and ``delta`` are required,
        ``h_ini``, ``dim``, ``period`` and the table ``risk`` (keys :data:`RISK_KEYS`) are optional.

    Returns
    -------
    SweepConfig

    Raises
    ------
    ValueError, TypeError
        Naming the offending key (unknown keys included: a typo is never silently ignored).
    """
    if not isinstance(raw, dict):
        raise TypeError(f"Expected `config` to be a dict of sweep settings, got {type(raw).__name__}.")
    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"Expected config keys among {list(CONFIG_KEYS)}, got unknown key(s) {unknown}.")
    missing = [k for k in ("weights", "K", "M", "seeds", "target", "delta") if k not in raw]
    if missing:
        raise ValueError(f"Expected the config to give {', '.join(f'`{k}`' for k in missing)}.")
    cfg = {**_DEFAULTS, **raw}
    risk = cfg["risk"]
    if not isinstance(risk, dict):
        raise TypeError(f"Expected `risk` to be a table with keys {list(RISK_KEYS)}, got {risk!r}.")
    unknown = sorted(set(risk) - set(RISK_KEYS))
    if unknown:
        raise ValueError(f"Expected `risk` keys among {list(RISK_KEYS)}, got unknown key(s) {unknown}.")
    risk = {**_DEFAULTS["risk"], **risk}
    dim = check_int(cfg["dim"], "dim", minimum=1)
    period = check_real(cfg["period"], "period", minimum=0.0, strict_min=True)
    weights = cfg["weights"]
    if isinstance(weights, str):
        weights = [weights]
    if not isinstance(weights, list) or not weights:
        raise TypeError(f"Expected `weights` to be a non-empty list of weight spec strings, got {weights!r}.")
    specs = []
    for i, spec in enumerate(weights):
        if not isinstance(spec, str):
            raise TypeError(f"Expected `weights[{i}]` to be a weight spec string like 'power:p=4,zero=1', "
                            f"got {spec!r}.")
        try:
            specs.append(weight_from_spec(spec, dim=dim).spec())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Expected `weights[{i}]` = {spec!r} to be a valid weight spec: {exc}") from None
    if len(set(specs)) != len(specs):
        raise ValueError(f"Expected the values of `weights` to be distinct weights, got {weights}.")
    Ks = _int_list(cfg["K"], "K", 0)
    Ms = _int_list(cfg["M"], "M", 1)
    seeds = _int_list(cfg["seeds"], "seeds", 0, allow_count=True)
    for K in Ks:
        if max(Ms) > box_size(K, dim):
            raise ValueError(f"Expected every `M` <= (2K+1)^d = {box_size(K, dim)} (the modes of K = {K} in "
                             f"d = {dim}) so that an interpolant exists, got M = {max(Ms)}.")
    delta = check_real(cfg["delta"], "delta", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True)
    target = cfg["target"]
    _resolve_function(target, "target")
    h_ini = cfg["h_ini"]
    if not isinstance(h_ini, str):
        raise TypeError(f"Expected `h_ini` to be 'zero', a target name or 'package.module:function', got {h_ini!r}.")
    h_ini = "zero" if h_ini.strip().lower() in _ZERO_H_INI else h_ini.strip()
    _resolve_h_ini(h_ini)
    risk_n = check_int(risk["n"], "risk.n", minimum=2)
    return SweepConfig(weights=tuple(specs), K=Ks, M=Ms, seeds=seeds, target=target.strip(), h_ini=h_ini,
                       delta=delta, dim=dim, period=period, risk_n=risk_n)


def load_config(path):
    """Read and validate a TOML sweep config file (see :data:`EXAMPLE_CONFIG`).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SweepConfig

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from fpnorm.sweeps import EXAMPLE_CONFIG, load_config
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sweep.toml"
    >>> _ = p.write_text(EXAMPLE_CONFIG)
    >>> len(load_config(p).tasks())
    40
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"Expected `config` to be a readable TOML file, got {str(path)!r}: {exc.strerror}.") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"Expected `config` {str(path)!r} to be valid TOML: {exc}.") from None
    return parse_config(raw)


def _as_config(config):
    if isinstance(config, SweepConfig):
        return config
    if isinstance(config, dict):
        return parse_config(config)
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    raise TypeError(f"Expected `config` to be a SweepConfig, a dict or a TOML path, got {type(config).__name__}.")


# -- one trial -----------------------------------------------------------------------------------------------------
def _seed_sequence(task, stream):
    """The SeedSequence of one random stream of a task: it depends on the seed, M and the stream only, so every
    weight and K at the same (seed, M) sees the same points (common random numbers: paired comparisons)."""
    return np.random.SeedSequence(int(task["seed"]), spawn_key=(int(task["M"]), int(stream)))


_CONSTANTS = {}


def _bound_constants(weight_spec, dim, period, target, h_ini):
    """``(||f - h_ini||_gamma, ||gamma||_l2)`` of a weight, cached per process (they do not depend on M, K, seed)."""
    key = (weight_spec, dim, period, target, h_ini)
    if key not in _CONSTANTS:
        from .bounds import generalization_bound

        r = generalization_bound(1, 0.5, weight=weight_from_spec(weight_spec, dim=dim),
                                 f=_resolve_function(target, "target"), h_ini=_resolve_h_ini(h_ini))
        _CONSTANTS[key] = (float(r.f_norm), float(r.gamma_l2))
    return _CONSTANTS[key]


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
        instead of stopping the sweep; an accuracy warning gives ``status = "warning: ..."``.

    Notes
    -----
    The points are ``M`` draws from the uniform distribution on ``[0, P)^d`` with a ``default_rng`` seeded by
    ``SeedSequence(seed, spawn_key=(M, 0))``; the risk ``E_x |h(x) - f(x)|`` is estimated by
    :func:`fpnorm.validation.population_risk` with ``risk_n`` points seeded by ``SeedSequence(seed,
    spawn_key=(M, 1))``. The bound is ``||f - h_ini||_gamma ||gamma||_l2 (2/sqrt(M) + 4 sqrt(2 ln(4/delta)/M))``
    (:func:`fpnorm.bounds.generalization_bound`); it is ``inf`` (vacuous) when either norm diverges.
    """
    from .bounds import generalization_bound
    from .interpolant import FPInterpolator
    from .validation import population_risk

    start = time.perf_counter()
    d, period, M = int(task["dim"]), float(task["period"]), int(task["M"])
    weight = weight_from_spec(task["weight"], dim=d)
    f = _resolve_function(task["target"], "target")
    h_ini = _resolve_h_ini(task["h_ini"])
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
                                           seed=_seed_sequence(task, 1))
            risk, stderr = float(risk), float(stderr)
        except np.linalg.LinAlgError as exc:  # SolveError included
            status = "error: " + " ".join(f"{type(exc).__name__}: {exc}".split())
    if status == "ok" and caught:
        status = "warning: " + " ".join(str(caught[0].message).split())
    f_norm, gamma_l2 = _bound_constants(task["weight"], d, period, task["target"], task["h_ini"])
    bound = float(generalization_bound(M, float(task["delta"]), f_norm=f_norm, gamma_l2=gamma_l2).value)
    row = {c: task[c] for c in COLUMNS if c in task}
    row.update(risk=risk, risk_stderr=stderr, bound=bound, f_norm=f_norm, gamma_l2=gamma_l2, norm=norm,
               status=status, seconds=time.perf_counter() - start)
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
    from dask.distributed import Client, LocalCluster, as_completed

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
    >>> cfg = {"weights": ["sobolev:s=2"], "K": [16], "M": [4, 8], "seeds": 2, "target": "sine", "delta": 0.1,
    ...        "risk": {"n": 1000}}
    >>> rep = run_sweep(cfg, tempfile.mkdtemp(), workers=0, figure=False)
    >>> rep.n_run, rep.complete
    (4, True)
    """
    cfg = _as_config(config)
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
_FLOAT_COLUMNS = ("period", "delta", "risk", "risk_stderr", "bound", "f_norm", "gamma_l2", "norm", "seconds")


def read_results(out):
    """The rows of ``OUT/results.csv`` as dicts of typed values (ints, floats, strings), in file order.

    A torn last line (an interrupted write) is skipped here; :func:`run_sweep` removes it from the file.
    """
    path = Path(out) / RESULTS_FILE
    if not path.exists():
        raise ValueError(f"Expected `out` to hold {RESULTS_FILE}, but {str(path)!r} does not exist.")
    import csv

    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]  # the part after the last newline is empty or torn
    reader = csv.DictReader(lines)
    rows = []
    for raw in reader:
        if None in raw or any(v is None for v in raw.values()):
            continue
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
                    "bound_above_risk": bool(all(b > m for b, m in zip(bound, mean)))})
    return out


def _write_summary(rows, out):
    from .plotting import plot_sweep

    summary = summarize(rows)
    json_path = out / "summary.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    os.replace(tmp, json_path)
    fig = plot_sweep(summary)
    fig_path = out / "summary.png"
    fig.savefig(fig_path.with_suffix(".tmp.png"), dpi=120)
    os.replace(fig_path.with_suffix(".tmp.png"), fig_path)
    return fig_path, json_path
