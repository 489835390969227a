"""The on-disk state of a sweep: a config fingerprint and a crash-safe, append-only results table.

``DIR/sweep.json`` holds the normalised config and its SHA-256 fingerprint; a different config aimed at the same
folder is refused. ``DIR/results.csv`` gets one line per finished task, each written with ``flush`` + ``fsync``, so a
crash can at worst leave a torn last line.

:meth:`ResultStore.open` reads the file back as bytes and checks every line: valid UTF-8, one CSV row with every
column, every typed cell exactly as :func:`format_value` writes it, a task of this config, not a second row of a task.
A line that fails is set aside, with its line number and the reason, into ``DIR/results.rejected.csv`` (appended,
fsync'ed) before ``results.csv`` is rewritten without it (through a temporary file and ``os.replace``), so its task
runs again and no row is ever lost or counted twice.
"""

import csv
import hashlib
import io
import json
import math
import os
from pathlib import Path

__all__ = ["ResultStore", "config_fingerprint", "format_value", "parse_cell", "read_table", "CONFIG_FILE",
           "RESULTS_FILE", "REJECTED_FILE", "REJECTED_COLUMNS"]

CONFIG_FILE = "sweep.json"
RESULTS_FILE = "results.csv"
REJECTED_FILE = "results.rejected.csv"
# The columns of REJECTED_FILE: the line number in results.csv when it was set aside, why, and the line itself
# (bytes that are not UTF-8 written as \xNN escapes).
REJECTED_COLUMNS = ("line", "reason", "row")
LOCK_FILE = ".lock"


def _canonical(value):
    """A config with every list sorted: a sweep config's lists (weights, K, M, seeds) are sets of values."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def config_fingerprint(config):
    """SHA-256 (hex) of the canonical JSON of a config dict (sorted keys and sorted lists, no whitespace)."""
    text = json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"), allow_nan=True)
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


def parse_cell(text, kind):
    """The value of a cell of type `kind` (``int``, ``float`` or ``str``), or None when it is not exactly what
    :func:`format_value` writes for such a value.

    Python's ``int`` and ``float`` accept more than the writer produces (``'0_45'``, ``' 1'``, ``'1E5'``, ``'08'``);
    requiring the cell to be its own canonical form refuses all of these with one rule.

    Examples
    --------
    >>> from fpnorm._sweep.store import parse_cell
    >>> parse_cell("0.1", float), parse_cell("-inf", float), parse_cell("12", int)
    (0.1, -inf, 12)
    >>> parse_cell("0.0x1", float), parse_cell("0_45", float), parse_cell("08", int), parse_cell("1.0", int)
    (None, None, None, None)
    """
    if kind is str:
        return text
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        return None
    return value if format_value(value) == text else None


def _line(cells):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _parse_line(raw, columns, types):
    """``(row, None)`` for a good line (bytes without the newline) or ``(None, reason)``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line"
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        return None, f"not one CSV row ({exc})"
    cells = rows[0] if rows else []
    if len(cells) != len(columns):
        return None, f"torn: {len(cells)} cell(s), expected {len(columns)}"
    row = {}
    for column, cell in zip(columns, cells, strict=True):
        kind = types.get(column, str)
        value = parse_cell(cell, kind)
        if value is None:
            return None, f"cell `{column}` = {cell!r} is not {'an integer' if kind is int else 'a float'} as " \
                         f"fpnorm writes it"
        row[column] = value
    return row, None


def _show(raw):
    return raw.decode("utf-8", errors="backslashreplace")


def read_table(path, columns, types=None):
    """Parse a results file line by line, never stopping at a bad line.

    Parameters
    ----------
    path : Path
        The CSV file; its first line must be the header `columns`.
    columns : sequence of str
    types : dict, optional
        ``column -> int, float or str`` (default str); a cell must be exactly what :func:`format_value` writes.

    Returns
    -------
    rows : list of (int, dict, str)
        The line number (1-based), typed values and text of every good line, in file order.
    bad : list of (int, str, str)
        Line number, reason and text (bytes that are not UTF-8 escaped) of every other line; a last line without
        its newline (an interrupted write) is one of them.
    header_complete : bool
        Whether the file has a complete header line.

    Raises
    ------
    ValueError
        When the header is complete and differs from `columns` (the file is not this table).
    """
    columns, types = list(columns), dict(types or {})
    lines = Path(path).read_bytes().split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline; otherwise a line torn by an interrupted write
    if not lines:
        header = _line(columns).rstrip("\n").encode("utf-8")
        bad = [] if header.startswith(tail) else [(1, "torn: the file has no complete header line", _show(tail))]
        return [], bad, False
    header = _parse_line(lines[0], columns, {})[0]
    if header is None or list(header.values()) != columns:
        raise ValueError(f"Expected {str(path)!r} to have the columns {columns}, got {_show(lines[0])!r}. "
                         f"Use a new `out` folder.")
    rows, bad = [], []
    for number, raw in enumerate(lines[1:], start=2):
        row, reason = _parse_line(raw, columns, types)
        if row is None:
            bad.append((number, reason, _show(raw)))
        else:
            rows.append((number, row, _show(raw)))
    if tail:
        bad.append((len(lines) + 1, "torn: the last line has no newline (an interrupted write)", _show(tail)))
    return rows, bad, True


def _differences(old, new, prefix=""):
    """Dotted keys where two nested dicts differ (lists compared as sets, as the fingerprint does)."""
    keys = sorted(set(old) | set(new))
    out = []
    for key in keys:
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif _canonical(a) != _canonical(b):
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
    types : dict, optional
        ``column -> int, float or str`` (default str): a cell that is not exactly what :func:`format_value` writes
        for its type makes its line rejected on :meth:`open`.
    tasks : dict, optional
        ``key -> values`` of every task of the config (`key` as :meth:`key_of` gives it, `values` a dict of the
        columns the config fixes): a row of another task, or whose fixed columns differ, is rejected on
        :meth:`open`. Default: any key.

    Attributes
    ----------
    rejected : list of (int, str, str)
        Lines set aside by :meth:`open` into ``out/results.rejected.csv``: line number, reason, text.
    dropped_torn_line : bool
        Whether :meth:`open` found a torn line (too few or many cells, or no newline; it is among `rejected`).

    Raises
    ------
    ValueError
        When `out` already holds a different config, or a results file whose header differs from `columns`.
    """

    def __init__(self, out, config, *, columns, key_columns, types=None, tasks=None):
        self.out = Path(out)
        self.columns = list(columns)
        self.key_columns = list(key_columns)
        self.types = dict(types or {})
        self.tasks = tasks
        self.config = config
        self.fingerprint = config_fingerprint(config)
        self.path = self.out / RESULTS_FILE
        self.rejected_path = self.out / REJECTED_FILE
        self.rejected = []
        self.dropped_torn_line = False
        self._fh = None
        self._lock_fh = None
        self._lines = {}  # key -> CSV line of every row in the file, in file order

    # -- opening ----------------------------------------------------------------------------------------------------
    def open(self):
        """Check or write the fingerprint, set aside the lines that are not good rows, load the finished task keys;
        returns self."""
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"Expected `out` to be a folder, got the existing file {str(self.out)!r}.")
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._check_fingerprint()
            self._load()
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
                same = config_fingerprint(old_config) == self.fingerprint  # the record may predate sorted lists
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"Expected {str(path)!r} to be a sweep record written by fpnorm, but it cannot be "
                                 f"read ({type(exc).__name__}: {exc}). Use a new `out` folder.") from None
            if not same and self._has_rows():
                diff = ", ".join(_differences(old_config, self.config)) or "(unknown)"
                raise ValueError(f"Expected `out` = {str(self.out)!r} to hold results of this config, but it holds "
                                 f"another sweep (config keys that differ: {diff}). Results are never mixed: use a "
                                 f"new `out` folder, or delete {str(self.out)!r} to start over.")
            if same and old_fp == self.fingerprint and old_config == self.config:
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
        return sum(1 for line in self.path.read_bytes().split(b"\n") if line.strip()) > 1

    def _belongs(self, row):
        """None when `row` is a row of a task of the config, else why not."""
        if self.tasks is None:
            return None
        key = self._key(row)
        expected = self.tasks.get(key)
        if expected is None:
            shown = ", ".join(f"{c}={row[c]!r}" for c in self.key_columns)
            return f"the task ({shown}) is not in the config"
        for column, value in expected.items():
            if format_value(row[column]) != format_value(value):
                return f"cell `{column}` = {format_value(row[column])!r} differs from the config's " \
                       f"{format_value(value)!r}"
        return None

    def _load(self):
        """Read results.csv; set aside every line that is not a good row of a new task of this config."""
        self._lines = {}
        if not self.path.exists():
            return
        rows, bad, header_complete = read_table(self.path, self.columns, self.types)
        self.dropped_torn_line = any(reason.startswith("torn") for _, reason, _ in bad)
        first_line = {}
        for number, row, text in rows:
            key = self._key(row)
            reason = self._belongs(row)
            if reason is None and key in first_line:  # e.g. from an older, unlocked concurrent run: keep the first
                reason = f"a second row of the task of line {first_line[key]} (kept)"
            if reason is not None:
                bad.append((number, reason, text))
                continue
            first_line[key] = number
            self._lines[key] = _line([format_value(row[c]) for c in self.columns])
        self.rejected = sorted(bad)
        if self.rejected or not header_complete:
            self._set_aside(self.rejected)
            self._rewrite()

    def _set_aside(self, bad):
        """Append rejected lines to results.rejected.csv (before results.csv loses them: a crash in between
        sets them aside twice, never zero times)."""
        if not bad:
            return
        new = not self.rejected_path.exists()
        with open(self.rejected_path, "a", encoding="utf-8", newline="") as fh:
            fh.write(("" if not new else _line(REJECTED_COLUMNS)) + "".join(_line(entry) for entry in bad))
            fh.flush()
            os.fsync(fh.fileno())

    def _rewrite(self, keys=None):
        """Replace results.csv by the header and the rows of `keys` (default: every row, in file order)."""
        keys = list(self._lines) if keys is None else keys
        tmp = self.path.with_suffix(".csv.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(_line(self.columns) + "".join(self._lines[k] for k in keys))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._lines = {k: self._lines[k] for k in keys}

    # -- writing ----------------------------------------------------------------------------------------------------
    def _key(self, row):
        return tuple(format_value(row[c]) for c in self.key_columns)

    def key_of(self, values):
        """The task key (tuple of CSV cells) of a dict of raw values."""
        return tuple(format_value(values[c]) for c in self.key_columns)

    def is_done(self, values):
        """Whether the task with these key values already has a row."""
        return self.key_of(values) in self._lines

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
        if key in self._lines:
            return False
        line = _line([format_value(row[c]) for c in self.columns])
        self._write_raw(line)
        self._lines[key] = line
        return True

    def sort(self, keys):
        """Rewrite the file with its rows in the order of `keys` (every key with a row, each once), so that a
        finished sweep's file does not depend on the order in which tasks finished. Returns whether it changed."""
        keys = [k for k in keys if k in self._lines]
        if len(keys) != len(self._lines) or keys == list(self._lines):
            return False
        self._fh.close()
        self._rewrite(keys)
        self._fh = open(self.path, "a", encoding="utf-8", newline="")
        return True

    @property
    def n_done(self):
        return len(self._lines)

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
