"""Reading ``.npz`` / ``.npy`` files that may be hostile: every size is checked before anything is inflated.

:func:`open_npz` reads the zip directory (its end record first, so a directory of millions of entries is refused
before :mod:`zipfile` builds it) and the ``.npy`` header of every member (a few hundred bytes each); each member's
declared array must fill exactly the member's inflated size, be a plain numeric or text dtype (never an object array,
which would need pickle), and must not inflate out of proportion to its compressed size (:data:`MAX_RATIO`). Only
then may :func:`read_member` inflate it, into an array of the size already checked. :func:`read_npy_header` does the
same for a single ``.npy`` file, :func:`parse_json` bounds JSON text's size and nesting depth before parsing it.

Every refusal is a :class:`~fpnorm.exceptions.FileFormatError` naming the file, the member and the sizes.
"""

import itertools
import json
import math
import os
import re
import struct
import zipfile
import zlib

import numpy as np

from ..exceptions import FileFormatError

__all__ = ["NpyMember", "open_npz", "read_member", "read_npy_header", "parse_json", "LOADER_ERRORS", "MAX_RATIO",
           "RATIO_FLOOR", "MAX_MEMBERS", "MAX_JSON_CHARS", "MAX_JSON_DEPTH"]

# A member may inflate to at most MAX_RATIO times its compressed size once it is larger than RATIO_FLOOR bytes.
# fpnorm.save stores members uncompressed (ratio 1) and numeric data deflates by a few times at most; deflate itself
# reaches ~1030 on zeros, which is how a 6 MB file claims 6 GB. A legitimate but constant array above the floor that
# was recompressed by hand is refused too, and the message says to save it uncompressed.
MAX_RATIO = 64
RATIO_FLOOR = 16 << 20
# No saved class has more than a few dozen arrays; a directory of more entries is not an fpnorm file.
MAX_MEMBERS = 1024
_MAX_DIRECTORY_BYTES = 1 << 20
# Metadata of every saved class is a few kB; 1M characters leaves room for registered classes.
MAX_JSON_CHARS = 1 << 20
MAX_JSON_DEPTH = 64
# numpy's own limit on a .npy header (numpy.lib.format, max_header_size)
_MAX_HEADER = 10000
_EOCD = b"PK\x05\x06"
_EOCD_SEARCH = 22 + 65535
# Every failure a reader of a crafted file can meet in zipfile, zlib, numpy's header parser or json; a reader
# re-raises them as FileFormatError naming the file (FileNotFoundError and PermissionError, which are OSErrors but not
# the file's fault, are let through first).
LOADER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, struct.error, KeyError, IndexError,
                  ValueError, TypeError, OverflowError, MemoryError, RecursionError, UnicodeError,
                  NotImplementedError, SyntaxError)


class NpyMember:
    """One ``.npy`` array as its header declares it: `name` (without ``.npy``), `dtype`, `shape`, `fortran_order`,
    the zip entry `info` (None for a plain ``.npy`` file) and `nbytes` (the declared data size)."""

    __slots__ = ("name", "info", "dtype", "shape", "fortran_order", "nbytes")

    def __init__(self, name, info, dtype, shape, fortran_order):
        self.name, self.info, self.dtype, self.shape, self.fortran_order = name, info, dtype, shape, fortran_order
        self.nbytes = math.prod(shape) * dtype.itemsize


def _size(n):
    for unit, div in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("kiB", 1 << 10)):
        if n >= div:
            return f"{n / div:.3g} {unit} ({n} bytes)"
    return f"{n} bytes"


def _fail(path, message, member=None, size=None):
    """The error for `path` (and `member`): "Refused 'f.npz': member 'coef' <message>"."""
    where = f"member {member!r} " if member is not None else "it "
    return FileFormatError(f"Refused {path!r}: {where}{message}", path=path, member=member, size=size)


def _check_directory(fh, path):
    """Refuse a zip whose end-of-central-directory record declares more than :data:`MAX_MEMBERS` entries or a
    directory larger than 1 MiB, before :mod:`zipfile` reads the directory into memory."""
    fh.seek(0, os.SEEK_END)
    total = fh.tell()
    fh.seek(max(0, total - _EOCD_SEARCH))
    tail = fh.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return  # not a zip: zipfile says so
    _, _, _, _, entries, size, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    if entries > MAX_MEMBERS or size > _MAX_DIRECTORY_BYTES:
        raise _fail(path, f"declares a zip directory of {entries} entries in {_size(size)}; an fpnorm file has "
                          f"at most {MAX_MEMBERS} entries in {_size(_MAX_DIRECTORY_BYTES)}.", size=size)
    fh.seek(0)


def _read_header(stream, path, name):
    """``(dtype, shape, fortran_order, header_length)`` of a .npy stream, reading only the header."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=_MAX_HEADER)
    elif version in ((2, 0), (3, 0)):
        reader = np.lib.format.read_array_header_2_0
        shape, fortran, dtype = reader(stream, max_header_size=_MAX_HEADER)
    else:
        raise _fail(path, f"has .npy format version {version}, which numpy does not write.", name)
    if dtype.hasobject or dtype.kind not in "biufcU" or dtype.fields is not None or dtype.subdtype is not None:
        raise _fail(path, f"cannot be read without pickle (object array), which fpnorm never loads: only plain "
                          f"numeric and text arrays are read, got dtype {dtype}." if dtype.hasobject else
                    f"holds dtype {dtype}: only plain numeric and text arrays are read.", name)
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise _fail(path, f"declares an impossible shape {shape}.", name)
    return dtype, tuple(shape), fortran


def open_npz(path):
    """The open :class:`zipfile.ZipFile` of `path` and its members ``{name: NpyMember}``, every header checked.

    Raises
    ------
    FileFormatError
        Not a zip, too many entries, a member that is not a ``.npy`` array, a duplicate name, a header that does not
        fill its member exactly, an object dtype, or a member that inflates more than :data:`MAX_RATIO` times.
    """
    with open(path, "rb") as fh:
        _check_directory(fh, path)
    zf = zipfile.ZipFile(path)
    try:
        members = {}
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else None
            if name is None or info.is_dir():
                raise _fail(path, "is not an array (.npy): fpnorm files hold nothing else.", info.filename)
            if name in members:
                raise _fail(path, "appears twice in the zip directory.", name)
            inflated, packed = info.file_size, info.compress_size
            if inflated > RATIO_FLOOR and inflated > MAX_RATIO * max(packed, 1):
                raise _fail(path, f"would inflate to {_size(inflated)} from {_size(packed)} (ratio "
                                  f"{inflated / max(packed, 1):.0f} > {MAX_RATIO}): refused as a zip bomb without "
                                  f"inflating it. A genuine array this compressible can be saved uncompressed "
                                  f"(numpy.savez, fpnorm.save).", name, inflated)
            with zf.open(info) as stream:
                dtype, shape, fortran = _read_header(stream, path, name)
                header_len = stream.tell()
            member = NpyMember(name, info, dtype, shape, fortran)
            if header_len + member.nbytes != inflated:
                raise _fail(path, f"declares an array of shape {shape} and dtype {dtype} ({_size(member.nbytes)}), "
                                  f"but the member holds {_size(max(inflated - header_len, 0))} of data.",
                            name, member.nbytes)
            members[name] = member
        return zf, members
    except BaseException:
        zf.close()
        raise


def read_member(zf, member):
    """The array of `member` (already checked by :func:`open_npz`), inflated into an array of its declared size."""
    with zf.open(member.info) as stream:
        return np.lib.format.read_array(stream, allow_pickle=False, max_header_size=_MAX_HEADER)


def read_npy_header(path):
    """The :class:`NpyMember` of a plain ``.npy`` file, checked against the file's size before anything is read."""
    with open(path, "rb") as fh:
        dtype, shape, fortran = _read_header(fh, path, None)
        member = NpyMember(os.path.basename(path), None, dtype, shape, fortran)
        have = os.fstat(fh.fileno()).st_size - fh.tell()
    if have != member.nbytes:
        raise _fail(path, f"declares an array of shape {shape} and dtype {dtype} ({_size(member.nbytes)}), but the "
                          f"file holds {_size(have)} of data.", size=member.nbytes)
    return member


# a JSON string (with escapes): removed before the brackets are counted
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def parse_json(text, path, what="metadata"):
    """Parse JSON `text` after bounding its length (:data:`MAX_JSON_CHARS`) and nesting depth
    (:data:`MAX_JSON_DEPTH`, counted without recursion); every failure is a :class:`FileFormatError` naming `path`.
    """
    if len(text) > MAX_JSON_CHARS:
        raise _fail(path, f"holds {what} of {len(text)} characters; fpnorm writes at most {MAX_JSON_CHARS}.",
                    size=len(text))
    bare = _JSON_STRING.sub("", text)
    steps = (1 if b in "[{" else -1 for b in _BRACKETS.findall(bare))
    depth = max(itertools.accumulate(steps, initial=0))
    if depth > MAX_JSON_DEPTH:
        raise _fail(path, f"holds {what} nested {depth} deep; fpnorm writes at most {MAX_JSON_DEPTH} levels.",
                    size=depth)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, and integers of more than 4300 digits
        raise FileFormatError(f"Expected the {what} in {path!r} to be valid JSON: {str(exc)[:200]}",
                              path=path) from None
