"""The on-disk state of a sweep: a config fingerprint and a crash-safe, append-only results table.

``DIR/sweep.json`` holds the normalised config and its SHA-256 fingerprint; a different config aimed at the same
folder is refused. ``DIR/results.csv`` gets one line per finished task, each written with ``flush`` + ``fsync``, so a
crash can at worst leave a torn last line, which :meth:`ResultStore.open` drops (rewriting the file through a
temporary file and ``os.replace``) before anything is appended.
"""

import csv
import hashlib
import io
import json
import math
import os
from pathlib import Path

__all__ = ["ResultStore", "config_fingerprint", "format_value", "CONFIG_FILE", "RESULTS_FILE"]

CONFIG_FILE = "sweep.json"
RESULTS_FILE = "results.csv"
LOCK_FILE = ".lock"


def config_fingerprint(config):
    """SHA-256 (hex) of the canonical JSON of a normalised config dict (sorted keys, no whitespace)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_value(value):
    """A CSV cell: floats round-trip exactly (``repr``), infinities as ``inf``, None as the empty string."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


def _line(cells):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _differences(old, new, prefix=""):
    """Dotted keys where two nested dicts differ."""
    keys = sorted(set(old) | set(new))
    out = []
    for key in keys:
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


class ResultStore:
    """Results of one sweep in one folder.

    Parameters
    ----------
    out : path-like
        The output folder (created when missing).
    config : dict
        The normalised config (JSON-serialisable); its fingerprint is stored in ``out/sweep.json``.
    columns : sequence of str
        The CSV header.
    key_columns : sequence of str
        The columns that identify a task; a row whose key is already present is never written twice.

    Raises
    ------
    ValueError
        When `out` already holds a different config, or a results file whose header differs from `columns`.
    """

    def __init__(self, out, config, *, columns, key_columns):
        self.out = Path(out)
        self.columns = list(columns)
        self.key_columns = list(key_columns)
        self.config = config
        self.fingerprint = config_fingerprint(config)
        self.path = self.out / RESULTS_FILE
        self.dropped_torn_line = False
        self._fh = None
        self._lock_fh = None
        self._keys = set()

    # -- opening ----------------------------------------------------------------------------------------------------
    def open(self):
        """Check or write the fingerprint, repair a torn last line, load the finished task keys; returns self."""
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"Expected `out` to be a folder, got the existing file {str(self.out)!r}.")
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._check_fingerprint()
            rows = self._read_repair()
            self._keys = {self._key(row) for row in rows}
            new = not self.path.exists()
            self._fh = open(self.path, "a", encoding="utf-8", newline="")
            if new:
                self._write_raw(_line(self.columns))
        except BaseException:
            self.close()  # release the lock of a refused folder
            raise
        return self

    def _check_fingerprint(self):
        path = self.out / CONFIG_FILE
        record = {"fingerprint": self.fingerprint, "config": self.config}
        if path.exists():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
                old_fp, old_config = old["fingerprint"], old["config"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"Expected {str(path)!r} to be a sweep record written by fpnorm, but it cannot be "
                                 f"read ({type(exc).__name__}: {exc}). Use a new `out` folder.") from None
            if old_fp != self.fingerprint and self._has_rows():
                diff = ", ".join(_differences(old_config, self.config)) or "(unknown)"
                raise ValueError(f"Expected `out` = {str(self.out)!r} to hold results of this config, but it holds "
                                 f"another sweep (config keys that differ: {diff}). Results are never mixed: use a "
                                 f"new `out` folder, or delete {str(self.out)!r} to start over.")
            if old_fp == self.fingerprint:
                return
        elif self.path.exists():
            raise ValueError(f"Expected `out` = {str(self.out)!r} to be new or a folder of an earlier run of this "
                             f"sweep, but it has {RESULTS_FILE} without {CONFIG_FILE}. Use a new `out` folder.")
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True, allow_nan=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def _lock(self):
        """Hold an exclusive lock on ``OUT/.lock`` while open: two sweeps writing one folder would duplicate rows."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return
        self._lock_fh = open(self.out / LOCK_FILE, "w")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_fh.close()
            self._lock_fh = None
            raise ValueError(f"Expected no other sweep to be writing to `out` = {str(self.out)!r}, but one holds its "
                             f"lock ({LOCK_FILE}). Wait for it to finish (then run again to resume), or use another "
                             f"`out` folder.") from None

    def _has_rows(self):
        """Whether results.csv holds at least one data line (a folder without results takes a new config)."""
        if not self.path.exists():
            return False
        with open(self.path, encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip()) > 1

    def _read_repair(self):
        """Rows (dicts of strings) of the complete lines; a torn or malformed tail is cut off on disk."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        lines = text.split("\n")
        tail = lines.pop()  # "" when the file ends with a newline; otherwise a torn line
        good, seen, duplicates = [], set(), False
        header = None
        for i, line in enumerate(lines):
            cells = next(csv.reader([line])) if line else []
            if i == 0:
                header = cells
                if header != self.columns:
                    raise ValueError(f"Expected {str(self.path)!r} to have the columns {self.columns}, got {header}. "
                                     f"Use a new `out` folder.")
                continue
            if len(cells) != len(self.columns):
                if i == len(lines) - 1:  # only the last complete line can be torn by a crash mid-write
                    tail = line
                    break
                raise ValueError(f"Expected every row of {str(self.path)!r} to have {len(self.columns)} cells; "
                                 f"line {i + 1} has {len(cells)}. The file was edited by hand; use a new `out` folder.")
            row = dict(zip(self.columns, cells, strict=False))
            if self._key(row) in seen:  # a duplicate from an older, unlocked concurrent run: keep the first
                duplicates = True
                continue
            seen.add(self._key(row))
            good.append(row)
        if tail or header is None or duplicates:
            self.dropped_torn_line = bool(tail)
            keep = [_line(self.columns)] + [_line([row[c] for c in self.columns]) for row in good]
            tmp = self.path.with_suffix(".csv.tmp")
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write("".join(keep))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        return good

    # -- writing ----------------------------------------------------------------------------------------------------
    def _key(self, row):
        return tuple(str(row[c]) for c in self.key_columns)

    def key_of(self, values):
        """The task key (tuple of CSV cells) of a dict of raw values."""
        return tuple(format_value(values[c]) for c in self.key_columns)

    def is_done(self, values):
        """Whether the task with these key values already has a row."""
        return self.key_of(values) in self._keys

    def _write_raw(self, text):
        self._fh.write(text)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, row):
        """Append one finished task (a dict with every column); a row whose key is present is ignored.

        Returns
        -------
        bool
            True when the row was written.
        """
        key = self.key_of(row)
        if key in self._keys:
            return False
        self._write_raw(_line([format_value(row[c]) for c in self.columns]))
        self._keys.add(key)
        return True

    @property
    def n_done(self):
        return len(self._keys)

    def close(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if getattr(self, "_lock_fh", None) is not None:
            self._lock_fh.close()  # closing the file releases the lock
            self._lock_fh = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()
        return False
