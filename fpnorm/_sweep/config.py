"""Sweep configs: the TOML schema, its validation (every message names the key) and the task expansion.

Public names are re-exported by :mod:`fpnorm.sweeps`.
"""

import dataclasses
import importlib
import os
import tomllib
from pathlib import Path

import numpy as np

from .. import targets
from .._internal.checks import check_choice, check_int, check_real, evaluate_function
from ..dataio import decode_text
from ..lattice import box_size
from ..validation import QUADRATURES
from ..weights import weight_from_spec

__all__ = ["EXAMPLE_CONFIG", "CONFIG_KEYS", "RISK_KEYS", "SweepConfig", "load_config", "parse_config",
           "resolve_function", "resolve_h_ini", "as_config"]

CONFIG_KEYS = ("weights", "K", "M", "seeds", "target", "h_ini", "delta", "dim", "period", "risk")
RISK_KEYS = ("n", "method", "replicates")
# Defaults of the optional keys.
_DEFAULTS = {"h_ini": "zero", "dim": 1, "period": 1.0, "risk": {"n": 20000, "method": "sobol", "replicates": 16}}
# h_ini values that mean "no initial function" (h_ini = 0).
_ZERO_H_INI = ("zero", "none", "0")


EXAMPLE_CONFIG = """\
# fpnorm sweep config: one trial per (weight, K, M, seed) = 2 x 1 x 5 x 4 = 40 rows.
# Run it with:  fpnorm sweep CONFIG.toml --out DIR   (about a minute on 2 cores)

# Weight spec strings, as on the command line. Both have a finite ||gamma||_l2, hence a finite bound
# (a free k = 0 mode, the default of power and lfp, makes the bound vacuous: inf).
weights = ["power:p=4,zero=1", "sobolev:s=2"]
K = [256]                      # truncation |k|_inf <= K (keep 2K+1 well above max M)
M = [8, 16, 32, 64, 128]       # sample sizes: M uniform random points on the torus
seeds = [0, 1, 2, 3]           # or an integer n, meaning seeds 0 .. n-1
target = "sin"                 # a name from fpnorm.targets, or "package.module:function"
h_ini = "zero"                 # initial function: "zero", a target name, or "package.module:function"
delta = 0.05                   # the bound holds with probability >= 1 - delta
dim = 1
period = 1.0

[risk]
n = 20000                      # quadrature points for E|h - f| (the standard error is reported too)
method = "sobol"               # "sobol" (scrambled Sobol, randomised QMC) or "mc" (plain Monte Carlo)
replicates = 16                # independent randomisations; their spread gives the standard error
"""


# -- functions named in configs ------------------------------------------------------------------------------------
def resolve_function(name, key, dim=1, period=1.0):
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
    try:
        return targets.get_target(name, dim, period=period)
    except (KeyError, ValueError):
        raise ValueError(f"Expected `{key}` to be one of the targets {sorted(targets.TARGETS)} or "
                         f"'package.module:function', got {name!r}.") from None


def resolve_h_ini(name, dim=1, period=1.0):
    if name.lower() in _ZERO_H_INI:
        return None
    return resolve_function(name, "h_ini", dim, period)


# -- config --------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A validated, normalised sweep config (build it with :func:`load_config` or :func:`parse_config`).

    Attributes
    ----------
    weights : tuple of str
        Canonical weight spec strings (:meth:`Weight.spec`), so equal weights compare equal; sorted.
    K, M, seeds : tuple of int
        Sorted: a config that differs only in the order of its list entries is the same config, with the same
        tasks in the same order.
    target, h_ini : str
        Function names (registry names or ``module:function``); ``h_ini = "zero"`` means no initial function.
    delta : float
        Confidence parameter of the bound, in (0, 1).
    dim : int
    period : float
    risk_n : int
        Quadrature points for the risk ``E|h - f|``.
    risk_method : str
        Quadrature of the risk, one of :data:`fpnorm.validation.QUADRATURES`.
    risk_replicates : int
        Independent randomisations of the quadrature (the error bar is their standard error).
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
    risk_method: str = "sobol"
    risk_replicates: int = 16

    def to_dict(self):
        """The normalised config as plain JSON types (what the fingerprint is computed from)."""
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def tasks(self):
        """The tasks, one dict per (weight, K, M, seed), in a fixed order (weight, then K, M and seed)."""
        shared = {"dim": self.dim, "period": self.period, "target": self.target, "h_ini": self.h_ini,
                  "delta": self.delta, "risk_n": self.risk_n, "risk_method": self.risk_method,
                  "risk_replicates": self.risk_replicates}
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
    _try_function(resolve_function(target, "target", dim, period), "target", dim, period)
    h_ini = cfg["h_ini"]
    if not isinstance(h_ini, str):
        raise TypeError(f"Expected `h_ini` to be 'zero', a target name or 'package.module:function', got {h_ini!r}.")
    h_ini = "zero" if h_ini.strip().lower() in _ZERO_H_INI else h_ini.strip()
    h_ini_fn = resolve_h_ini(h_ini, dim, period)
    if h_ini_fn is not None:
        _try_function(h_ini_fn, "h_ini", dim, period)
    risk_n = check_int(risk["n"], "risk.n", minimum=2)
    risk_method = check_choice(risk["method"], "risk.method", QUADRATURES)
    risk_replicates = check_int(risk["replicates"], "risk.replicates", minimum=2)
    if risk_n < risk_replicates:
        raise ValueError(f"Expected `risk.n` >= `risk.replicates` = {risk_replicates} (points are split over the "
                         f"replicates), got risk.n = {risk_n}.")
    return SweepConfig(weights=tuple(sorted(specs)), K=tuple(sorted(Ks)), M=tuple(sorted(Ms)),
                       seeds=tuple(sorted(seeds)), target=target.strip(), h_ini=h_ini, delta=delta, dim=dim,
                       period=period, risk_n=risk_n, risk_method=risk_method, risk_replicates=risk_replicates)


def _try_function(fn, key, dim, period):
    """Call a config's function on a few points now, so a broken one is refused before any output is written."""
    x = np.linspace(0.0, period, 5, endpoint=False)[:, None] * np.ones((1, dim))
    try:
        evaluate_function(fn, x, key, 5, dim)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Expected `{key}` to name a function on the torus: {exc}") from None


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
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"Expected `config` to be a readable TOML file, got {str(path)!r}: {exc.strerror}.") from None
    text = decode_text(str(path), raw, "a UTF-8 TOML file", "")   # a bad byte is named by line and column
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"Expected `config` {str(path)!r} to be valid TOML: {exc}.") from None
    return parse_config(raw)


def as_config(config):
    if isinstance(config, SweepConfig):
        return config
    if isinstance(config, dict):
        return parse_config(config)
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    raise TypeError(f"Expected `config` to be a SweepConfig, a dict or a TOML path, got {type(config).__name__}.")
