"""Safe readers for user data files (points and values) used by the command line.

Formats, chosen by suffix (:data:`DATA_FORMATS`):

- ``.csv`` (comma-separated), ``.txt`` / ``.dat`` / ``.tsv`` (whitespace- or tab-separated): one row per point,
  ``#`` starts a comment, one optional header line of column names;
- ``.npy``: one numeric array;
- ``.npz``: the member named by `key` (or the only member).

Numbers in text files follow a strict grammar (:data:`fpnorm._internal.checks.NUMBER_GRAMMAR`: an optional sign,
digits with an optional decimal point and exponent): ``0_45``, ``0x1p3`` or ``١٢``, which Python's ``float`` reads,
are refused; ``nan`` and ``inf`` are recognised and refused as non-finite.

Arrays are read with ``allow_pickle=False``: object arrays are refused, so a data file can never execute code, and a
``.npy`` header (alone or in a ``.npz``) is checked against the size of the data it comes with before anything is
allocated (:mod:`fpnorm._state.archive`). Every problem (missing or empty file, bytes that are not UTF-8, text in a
numeric column, rows of different lengths, wrong column count, NaN/inf, a header claiming more data than the file
holds, a .npz without the wanted member) raises :class:`~fpnorm.exceptions.FileFormatError` (a ``ValueError``) whose
message starts with ``file:line:column:`` where there is a line (and a column), and says what was expected and what
was found.
"""

import os
import re

import numpy as np

from ._internal.checks import check_int, parse_number
from ._state import archive
from .exceptions import FileFormatError

__all__ = ["read_array", "read_points", "read_values", "decode_text", "DATA_FORMATS"]

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
        parse_number(field, "field", nonfinite=True)
        return True
    except ValueError:
        return False


def _error(path, message, line=None, column=None, **where):
    """A :class:`FileFormatError` carrying the place its message names."""
    return FileFormatError(message, path=path, line=line, column=column, **where)


def _is_name(field):
    """A column name of a header line: not a number, and starting like a name (a letter, _ or a quote), so that a
    mistyped first value (``'0.1x'``) is reported as bad data rather than dropped as a header."""
    return not _is_number(field) and bool(re.match(r"""^[A-Za-z_"']""", field))


def _split(line, delimiter):
    fields = line.split(delimiter) if delimiter else line.split()
    return [f.strip() for f in fields]


def _read_text(path, delimiter):
    """Parse a delimited text file into a float array of shape (rows, columns), diagnosing the first bad line."""
    with open(path, "rb") as fh:
        text = decode_text(path, fh.read())
    rows = []  # (line number, fields)
    for number, line in enumerate(text.splitlines(), start=1):
        data = line.split("#", 1)[0].rstrip()
        if data.strip():
            rows.append((number, _split(data, delimiter)))
    if not rows:
        raise _error(path, f"Expected {path!r} to hold at least one data row, but it is empty (no lines other than "
                           f"blanks and # comments).")
    first_no, first = rows[0]
    if all(_is_name(f) for f in first):  # a header of column names
        rows = rows[1:]
        if not rows:
            raise _error(path, f"Expected {path!r} to hold data rows after its header (line {first_no}), got none.",
                         first_no)
    ncol = len(rows[0][1])
    data = np.empty((len(rows), ncol))
    for i, (number, fields) in enumerate(rows):
        if len(fields) != ncol:
            raise _error(path, f"Expected every row of {path!r} to have {ncol} columns like line {rows[0][0]}, but "
                               f"line {number} has {len(fields)}.", number)
        for j, field in enumerate(fields):
            try:
                data[i, j] = parse_number(field, "field", nonfinite=True)
            except ValueError:
                raise _error(path, f"Expected a number in {path!r} at line {number}, column {j + 1}, got "
                                   f"{field[:40]!r}{_lenient(field)}.", number, j + 1) from None
    return data, [number for number, _ in rows]


def _lenient(field):
    """Why a field that Python's ``float`` reads is refused (empty when ``float`` refuses it too)."""
    try:
        float(field)
    except ValueError:
        return ""
    return (" (Python's float reads it, but numbers in data files are plain decimals: an optional sign, digits with "
            "an optional point and exponent; no underscores, hex or other scripts' digits)")


def decode_text(path, raw, what="a UTF-8 text file", hint="; use .npy/.npz for binary data"):
    """`raw` bytes of the file `path` as text (UTF-8, a byte-order mark dropped); a byte that is not UTF-8 raises
    :class:`~fpnorm.exceptions.FileFormatError` naming the byte, its line and column (1-based; the column counts
    bytes), and ending with `hint`.

    Examples
    --------
    >>> from fpnorm.dataio import decode_text
    >>> decode_text("a.csv", b"\\xef\\xbb\\xbfx,y\\n")
    'x,y\\n'
    >>> try:
    ...     decode_text("a.csv", b"x,y\\n0.1,\\xff\\n")
    ... except ValueError as exc:
    ...     print(exc.line, exc.column)
    2 5
    """
    try:
        return raw.decode("utf-8-sig")  # -sig: a byte-order mark (Excel's "CSV UTF-8") is dropped
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(path, f"Expected {path!r} to be {what}, but it is not ({exc.reason}: byte "
                           f"0x{raw[exc.start]:02x} at line {line}, column {column}, offset {exc.start}){hint}.",
                     line, column) from None


def _read_binary(path, kind, key):
    try:
        if kind == "npy":
            return _read_npy(path)
        return _read_npz(path, key)
    except (FileNotFoundError, PermissionError, IsADirectoryError, FileFormatError):
        raise
    except archive.LOADER_ERRORS as exc:
        raise _error(path, f"Expected {path!r} to be a valid {kind} file; numpy cannot read it "
                           f"({type(exc).__name__}: {str(exc)[:200]}).") from None


def _read_npy(path):
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        if magic[:1] == b"\x80":  # pickle protocol 2+
            raise _error(path, f"Expected {path!r} to be a npy file, but it is not (numpy sees pickled data, which "
                               f"fpnorm never loads because unpickling can run code).")
        raise _error(path, f"Expected {path!r} to be a npy file, but it is not: it starts with {magic!r}, not the "
                           f".npy magic string (fpnorm never loads anything else, pickled data included, because "
                           f"unpickling can run code).")
    try:
        archive.read_npy_header(path)   # the declared shape against the file's size, before anything is allocated
    except FileFormatError as exc:
        if "without pickle" in str(exc):
            raise _error(path, f"Expected {path!r} to hold a numeric array, but it holds Python objects (an object "
                               f"array), which fpnorm never loads because unpickling can run code.") from None
        raise
    return np.load(path, allow_pickle=False)


def _read_npz(path, key):
    with open(path, "rb") as fh:
        if fh.read(2) == b"\x93N":
            raise _error(path, f"Expected {path!r} to be a .npz archive, got a single .npy array.")
    try:
        zf, members = archive.open_npz(path)   # every member's header checked against its size
    except FileFormatError as exc:
        if "without pickle" in str(exc):
            raise _error(path, f"Expected member {exc.member!r} of {path!r} to be a numeric array, but it holds "
                               f"Python objects (an object array), which fpnorm never loads because unpickling can "
                               f"run code.", member=exc.member) from None
        raise
    with zf:
        names = list(members)
        if key in members:
            name = key
        elif len(members) == 1:
            name = names[0]
        else:
            raise _error(path, f"Expected {path!r} to have a member {key!r} (or exactly one member), got members "
                               f"{names}.")
        return archive.read_member(zf, members[name])


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
        raise _error(path, f"Expected {path!r} to hold data, but the file is empty (0 bytes).")
    if kind == "text":
        data, line_numbers = _read_text(path, delimiter)
    else:
        data, line_numbers = _read_binary(path, kind, key), None
        kinds = "iufc" if allow_complex else "iuf"
        if data.dtype.kind not in kinds:
            raise _error(path, f"Expected {path!r} to hold {'real or complex' if allow_complex else 'real'} numbers, "
                             f"got an array of dtype {data.dtype}.")
        if data.ndim not in (1, 2):
            raise _error(path, f"Expected {path!r} to hold a 1-d or 2-d array, got shape {data.shape}.")
        if data.size == 0:
            raise _error(path, f"Expected {path!r} to hold at least one value, got an empty array of shape "
                               f"{data.shape}.")
        data = data.astype(complex if data.dtype.kind == "c" else float)
    bad = ~np.isfinite(data.reshape(len(data), -1))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        if line_numbers:
            line = line_numbers[i]
            raise _error(path, f"Expected finite numbers in {path!r}, got NaN or inf at line {line}, column {j + 1}.",
                         line, j + 1)
        raise _error(path, f"Expected finite numbers in {path!r}, got NaN or inf at row {i}.")
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
        raise _error(os.fspath(path), f"Expected {dim} column{'s' if dim > 1 else ''} (one per coordinate, d = {dim}) "
                                      f"in points file {os.fspath(path)!r}, got {data.shape[1]}.")
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
        raise _error(os.fspath(path), f"Expected {n} rows (one per point) in values file {os.fspath(path)!r}, got "
                                      f"{data.shape[0]}.")
    return data
