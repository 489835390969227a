"""Safe readers for user data files (points and values) used by the command line.

Formats, chosen by suffix (:data:`DATA_FORMATS`):

- ``.csv`` (comma-separated), ``.txt`` / ``.dat`` / ``.tsv`` (whitespace- or tab-separated): one row per point,
  ``#`` starts a comment, one optional header line of column names;
- ``.npy``: one numeric array;
- ``.npz``: the member named by `key` (or the only member).

Arrays are read with ``allow_pickle=False``: object arrays are refused, so a data file can never execute code.
Every problem (missing or empty file, text in a numeric column, rows of different lengths, wrong column count,
NaN/inf, a .npz without the wanted member) raises ``ValueError`` naming the file, the line where it applies, what was
expected and what was found.
"""

import os
import re
import zipfile

import numpy as np

from ._internal.checks import check_int

__all__ = ["read_array", "read_points", "read_values", "DATA_FORMATS"]

# Suffix -> (format, column delimiter for text formats; None = any whitespace).
DATA_FORMATS = {".csv": ("text", ","), ".txt": ("text", None), ".dat": ("text", None), ".tsv": ("text", "\t"),
                ".npy": ("npy", None), ".npz": ("npz", None)}


def _format(path):
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in DATA_FORMATS:
        raise ValueError(f"Expected a data file ending in one of {sorted(DATA_FORMATS)}, got {path!r}.")
    return DATA_FORMATS[suffix]


def _is_number(field):
    try:
        float(field)
        return True
    except ValueError:
        return False


def _is_name(field):
    """A column name of a header line: not a number, and starting like a name (a letter, _ or a quote), so that a
    mistyped first value (``'0.1x'``) is reported as bad data rather than dropped as a header."""
    return not _is_number(field) and bool(re.match(r"""^[A-Za-z_"']""", field))


def _split(line, delimiter):
    fields = line.split(delimiter) if delimiter else line.split()
    return [f.strip() for f in fields]


def _read_text(path, delimiter):
    """Parse a delimited text file into a float array of shape (rows, columns), diagnosing the first bad line."""
    try:
        with open(path, encoding="utf-8-sig") as fh:  # -sig: a byte-order mark (Excel's "CSV UTF-8") is dropped
            lines = fh.read().splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"Expected {path!r} to be a UTF-8 text file, but it is not ({exc.reason} at byte "
                         f"{exc.start}); use .npy/.npz for binary data.") from None
    rows = []  # (line number, fields)
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            rows.append((number, _split(text, delimiter)))
    if not rows:
        raise ValueError(f"Expected {path!r} to hold at least one data row, but it is empty (no lines other than "
                         f"blanks and # comments).")
    first_no, first = rows[0]
    if all(_is_name(f) for f in first):  # a header of column names
        rows = rows[1:]
        if not rows:
            raise ValueError(f"Expected {path!r} to hold data rows after its header (line {first_no}), got none.")
    ncol = len(rows[0][1])
    data = np.empty((len(rows), ncol))
    for i, (number, fields) in enumerate(rows):
        if len(fields) != ncol:
            raise ValueError(f"Expected every row of {path!r} to have {ncol} columns like line {rows[0][0]}, but "
                             f"line {number} has {len(fields)}.")
        for j, field in enumerate(fields):
            try:
                data[i, j] = float(field)
            except ValueError:
                raise ValueError(f"Expected a number in {path!r} at line {number}, column {j + 1}, got "
                                 f"{field[:40]!r}.") from None
    return data, [number for number, _ in rows]


def _read_binary(path, kind, key):
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise ValueError(f"Expected {path!r} to hold a numeric array, but it holds Python objects (an object "
                             f"array), which fpnorm never loads because unpickling can run code.") from None
        if "pickled" in str(exc):
            raise ValueError(f"Expected {path!r} to be a {kind} file, but it is not (numpy sees pickled data, which "
                             f"fpnorm never loads because unpickling can run code).") from None
        raise ValueError(f"Expected {path!r} to be a valid {kind} file; numpy cannot read it: {exc}") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"Expected {path!r} to be a valid {kind} file; numpy cannot read it "
                         f"({type(exc).__name__}: {exc}).") from None
    if isinstance(loaded, np.ndarray):
        if kind != "npy":
            raise ValueError(f"Expected {path!r} to be a .npz archive, got a single .npy array.")
        return loaded
    with loaded:
        members = loaded.files
        if key in members:
            name = key
        elif len(members) == 1:
            name = members[0]
        else:
            raise ValueError(f"Expected {path!r} to have a member {key!r} (or exactly one member), got members "
                             f"{members}.")
        try:
            return loaded[name]
        except ValueError:
            raise ValueError(f"Expected member {name!r} of {path!r} to be a numeric array, but it holds Python objects "
                             f"(an object array), which fpnorm never loads because unpickling can run code.") from None
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ValueError(f"Expected {path!r} to be a valid .npz file; member {name!r} is corrupt "
                             f"({type(exc).__name__}: {exc}).") from None


def read_array(path, *, key="data", allow_complex=False):
    """Read a 1-d or 2-d numeric array from a text, .npy or .npz file, refusing anything unsafe or non-finite.

    Parameters
    ----------
    path : str or os.PathLike
    key : str
        The member of a ``.npz`` archive to read (ignored when the archive has exactly one member).
    allow_complex : bool
        Accept complex arrays (binary formats only).

    Returns
    -------
    ndarray of float (or complex), shape (rows,) or (rows, columns)
        Text files always give shape (rows, columns).

    Raises
    ------
    ValueError
        For every malformed file, naming the file and the place.
    OSError
        If the file does not exist or cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> from fpnorm.dataio import read_array
    >>> path = os.path.join(tempfile.mkdtemp(), "pts.csv")
    >>> _ = open(path, "w").write("x,y\\n0.1,0.2\\n0.5,0.7\\n")
    >>> read_array(path).tolist()
    [[0.1, 0.2], [0.5, 0.7]]
    """
    path = os.fspath(path)
    kind, delimiter = _format(path)
    if os.path.getsize(path) == 0:  # also raises FileNotFoundError naming the path
        raise ValueError(f"Expected {path!r} to hold data, but the file is empty (0 bytes).")
    if kind == "text":
        data, line_numbers = _read_text(path, delimiter)
    else:
        data, line_numbers = _read_binary(path, kind, key), None
        kinds = "iufc" if allow_complex else "iuf"
        if data.dtype.kind not in kinds:
            raise ValueError(f"Expected {path!r} to hold {'real or complex' if allow_complex else 'real'} numbers, "
                             f"got an array of dtype {data.dtype}.")
        if data.ndim not in (1, 2):
            raise ValueError(f"Expected {path!r} to hold a 1-d or 2-d array, got shape {data.shape}.")
        if data.size == 0:
            raise ValueError(f"Expected {path!r} to hold at least one value, got an empty array of shape {data.shape}.")
        data = data.astype(complex if data.dtype.kind == "c" else float)
    bad = ~np.isfinite(data.reshape(len(data), -1)).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"line {line_numbers[i]}" if line_numbers else f"row {i}"
        raise ValueError(f"Expected finite numbers in {path!r}, got NaN or inf at {where}.")
    return data


def read_points(path, *, dim=None, key="points"):
    """Read points, one per row: shape (N, d).

    Parameters
    ----------
    path : str or os.PathLike
    dim : int, optional
        Required number of columns (the weight's dimension); inferred from the file when None.
    key : str
        Member name in a ``.npz`` archive.

    Returns
    -------
    ndarray of float, shape (N, d)
    """
    dim = check_int(dim, "dim", minimum=1, allow_none=True)
    data = read_array(path, key=key)
    if data.ndim == 1:
        data = data[:, None]
    if dim is not None and data.shape[1] != dim:
        raise ValueError(f"Expected {dim} column{'s' if dim > 1 else ''} (one per coordinate, d = {dim}) in points "
                         f"file {os.fspath(path)!r}, got {data.shape[1]}.")
    return data


def read_values(path, *, n=None, key="values"):
    """Read values, one row per point: shape (N,) for one column, (N, m) for m columns.

    Parameters
    ----------
    path : str or os.PathLike
    n : int, optional
        Required number of rows (the number of points).
    key : str
        Member name in a ``.npz`` archive.

    Returns
    -------
    ndarray of float (complex from binary files), shape (N,) or (N, m)
    """
    n = check_int(n, "n", minimum=1, allow_none=True)
    data = read_array(path, key=key, allow_complex=True)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if n is not None and data.shape[0] != n:
        raise ValueError(f"Expected {n} rows (one per point) in values file {os.fspath(path)!r}, got {data.shape[0]}.")
    return data
