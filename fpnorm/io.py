"""Saving and loading fpnorm objects: one ``.npz`` file of plain numeric arrays plus JSON metadata, never pickle.

Every savable class has one declarative schema (field names and kinds) in :mod:`fpnorm._state.schema`, read by the
one serializer there; classes of your own can be added with :func:`register`. :func:`load` only ever constructs
classes listed in :data:`STATE_CLASSES` or registered: a file names a class, it never names code to import. Arrays are
read with ``allow_pickle=False`` and object arrays are refused, so loading an untrusted file cannot execute code.

File layout (format version 2): a standard ``.npz`` whose members are the object's arrays plus one member
``__fpnorm__``, a 0-d unicode array holding the JSON text
``{"format": "fpnorm", "version": 2, "class": NAME, "fpnorm_version": ..., "meta": {...}}``.
Floats in the JSON are written with ``repr`` (shortest exact round trip); NaN and inf use JSON's common extension.
"""

import json
import os
import tempfile
from importlib import metadata

import numpy as np

from ._internal.memory import check_memory
from ._state import archive, schema
from ._state.schema import ARRAY_KINDS, Array, Record, Scalar, WeightSpec
from .exceptions import FileFormatError, MemoryEstimateError

__all__ = ["save", "load", "register", "json_dumps", "package_version", "STATE_CLASSES", "FORMAT_VERSION", "Array",
           "Record", "Scalar", "WeightSpec"]

FORMAT = "fpnorm"
# Version 2: one schema per class (nested records carry their class name); version 1 files are refused.
FORMAT_VERSION = 2
_META_KEY = "__fpnorm__"
# Members the class does not use are read (to be refused with the class's diagnosis) only when at most this large.
_MAX_UNUSED_BYTES = 1 << 20

# Savable classes by name -> "module:attribute" inside fpnorm (imported lazily, only from this table).
STATE_CLASSES = schema.CLASSES


def register(cls, fields, name=None):
    """Make `cls` savable and loadable under `name` (default ``cls.__name__``), described by `fields`.

    Parameters
    ----------
    cls : type
        Its objects are saved field by field (attributes named like the fields, or a method ``_state_fields()``
        returning a dict) and rebuilt by ``cls(**fields)`` (or a classmethod ``_from_fields(fields)``).
    fields : dict of str to field kind
        :class:`Scalar`, :class:`WeightSpec`, :class:`Array` or :class:`Record` per field (see
        :mod:`fpnorm._state.schema`).
    name : str, optional
        The name written to files. Must not clash with a different class already known.

    Returns
    -------
    type
        `cls`, unchanged.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fpnorm.io import Array, Scalar, load, register, save
    >>> class Tally:
    ...     def __init__(self, counts, label):
    ...         self.counts, self.label = counts, label
    >>> _ = register(Tally, {"counts": Array("iu", ("n",)), "label": Scalar("str")}, "DocTally")
    >>> path = os.path.join(tempfile.mkdtemp(), "t.npz")
    >>> save(Tally(np.arange(3), "x"), path)
    >>> load(path).counts.tolist()
    [0, 1, 2]
    """
    if not isinstance(cls, type):
        raise TypeError(f"Expected `cls` to be a class, got {cls!r}.")
    kinds = (Scalar, WeightSpec, Array, Record)
    if not isinstance(fields, dict) or not fields or not all(
            isinstance(k, str) and k.isidentifier() and isinstance(v, kinds) for k, v in fields.items()):
        raise TypeError(f"Expected `fields` to be a non-empty dict of identifier -> field kind "
                        f"({', '.join(k.__name__ for k in kinds)}), got {fields!r}.")
    name = cls.__name__ if name is None else name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"Expected `name` to be an identifier, got {name!r}.")
    if name in schema.known_names() and schema.resolve(name) is not cls:
        raise ValueError(f"Expected a new name for {cls.__qualname__}: {name!r} is already registered.")
    schema.add_class(name, cls, fields)
    return cls


def _name_of(obj):
    name = schema.name_of(type(obj))
    if name is None:
        raise TypeError(f"Expected `obj` to be a savable fpnorm object (one of {schema.known_names()}), "
                        f"got {type(obj).__name__}.")
    return name


def _check_array(key, arr, source):
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in ARRAY_KINDS or arr.dtype.hasobject:
        what = f"dtype {arr.dtype}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"Expected array {key!r} {source} to be a numeric or text array, got {what}.")


def save(obj, path):
    """Save `obj` to `path` as an ``.npz`` file of plain arrays and JSON metadata (no pickle).

    Parameters
    ----------
    obj : FPInterpolator or another savable object (see :data:`STATE_CLASSES`)
    path : str or os.PathLike
        The file to write, used exactly as given (no suffix is added; ``.npz`` is conventional). It is written to a
        temporary file in the same folder first and renamed into place, so a crash never leaves half a file.

    Raises
    ------
    TypeError
        If `obj` is not savable.
    ValueError
        If the object holds something that cannot be stored faithfully (e.g. a weight or ``h_ini`` given as a
        Python callable).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fpnorm import FPInterpolator, PowerLaw
    >>> from fpnorm.io import save, load
    >>> s = FPInterpolator([0.1, 0.4, 0.8], [1.0, -1.0, 0.5], weight=PowerLaw(p=4), K=16)
    >>> path = os.path.join(tempfile.mkdtemp(), "s.npz")
    >>> save(s, path)
    >>> bool(np.array_equal(load(path)([0.25, 0.6]), s([0.25, 0.6])))
    True
    """
    name = _name_of(obj)
    arrays, meta = schema.encode(obj, name)
    source = f"of {name}"
    for key, arr in arrays.items():
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("__"):
            raise ValueError(f"Expected array names {source} to be identifiers not starting with '__', got {key!r}.")
        _check_array(key, arr, source)
    header = {"format": FORMAT, "version": FORMAT_VERSION, "class": name, "fpnorm_version": package_version(),
              "meta": meta}
    try:
        text = json.dumps(header, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Expected the metadata {source} to be JSON-serialisable: {exc}") from None
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fpnorm-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays, **{_META_KEY: np.array(text)})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path, *, expect=None):
    """Load an object written by :func:`save`; never unpickles and never imports a name taken from the file.

    Parameters
    ----------
    path : str or os.PathLike
    expect : str or type, optional
        Require this class (by registered name or the class itself), e.g. ``expect="FPInterpolator"``.

    Returns
    -------
    object
        A new object equal, bit for bit, to the one saved.

    Raises
    ------
    FileFormatError
        A ``ValueError``: the file is not an fpnorm file, holds object arrays, names an unknown class, is inconsistent,
        or declares arrays out of proportion to its class or to its own size (see Notes). The message names the file
        and, where one is at fault, the member and its size.
    MemoryEstimateError
        If the arrays the file declares, consistent as they are, would not fit in the memory available.
    OSError
        If the file does not exist or cannot be read.

    Notes
    -----
    Nothing is inflated before it is checked: the zip directory, then every member's ``.npy`` header (each must
    fill its member exactly and inflate at most :data:`fpnorm._state.archive.MAX_RATIO` times its compressed size),
    then the JSON metadata (bounded in size and nesting depth), then every declared shape against the class's schema
    and the metadata (a coefficient box of the stored ``K``, one ``N`` across the arrays) and the total against the
    memory available. Only then are the arrays read.
    """
    path = os.fspath(path)
    try:
        zf, members = archive.open_npz(path)
    except (FileNotFoundError, PermissionError, IsADirectoryError, FileFormatError):
        raise
    except archive.LOADER_ERRORS as exc:
        if _starts_with(path, b"\x93NUMPY"):
            raise FileFormatError(f"Expected {path!r} to be an fpnorm .npz file, got a single .npy array.",
                                  path=path) from None
        raise FileFormatError(f"Expected {path!r} to be an fpnorm .npz file; numpy cannot read it "
                              f"({type(exc).__name__}: {str(exc)[:200]}).", path=path) from None
    with zf:
        try:
            return _load_checked(path, zf, members, expect)
        except (FileFormatError, MemoryEstimateError, TypeError):
            raise
        except archive.LOADER_ERRORS as exc:
            raise FileFormatError(f"Expected {path!r} to be a readable fpnorm .npz file, but reading it failed "
                                  f"({type(exc).__name__}: {str(exc)[:200]}).", path=path) from None


def _load_checked(path, zf, members, expect):
    """The object of an open archive whose member headers :func:`archive.open_npz` checked."""
    header = _read_header(path, zf, members)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise FileFormatError(f"Expected {path!r} to be an fpnorm file, but its metadata has no 'format': 'fpnorm'.",
                              path=path)
    version = header.get("version")
    if version != FORMAT_VERSION:
        hint = (" Version 1 files come from fpnorm before its one-schema-per-class layout: load them with that version "
                "and save them again." if version == 1 else "")
        raise FileFormatError(f"Expected {path!r} to have fpnorm file format version {FORMAT_VERSION}, got "
                              f"{version!r}." + hint, path=path)
    name = header.get("class")
    known = schema.known_names()
    if not isinstance(name, str) or name not in known:
        raise FileFormatError(f"Expected {path!r} to hold one of the fpnorm classes {known}, got class {name!r}.",
                              path=path)
    if expect is not None:
        want = expect if isinstance(expect, str) else schema.name_of(expect)
        if want is None:
            raise TypeError(f"Expected `expect` to be a savable fpnorm class or its name, got {expect!r}.")
        if name != want:
            raise FileFormatError(f"Expected {path!r} to hold a {want}, got a {name}.", path=path)
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise FileFormatError(f"Expected the metadata in {path!r} to be a JSON object, got {type(meta).__name__}.",
                              path=path)
    try:
        unused = schema.check_layout(name, {k: (m.dtype, m.shape) for k, m in members.items()}, meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(f"The {name} stored in {path!r} is inconsistent: "
                              f"{type(exc).__name__}: {exc}", path=path) from None
    # arrays the class has no field for are refused by decode, after the class's own checks (whose message says
    # more about how the file is inconsistent); a large one is refused here, before it is read
    for key in unused:
        if members[key].nbytes > _MAX_UNUSED_BYTES:
            raise FileFormatError(f"Refused {path!r}: member {key!r} ({members[key].nbytes} bytes) is no field of a "
                                  f"{name}.", path=path, member=key, size=members[key].nbytes)
    total = sum(m.nbytes for m in members.values())
    check_memory(total, f"The arrays declared by {path!r} ({len(members)} members)",
                 "The file is corrupt, or was written on a machine with far more memory.")
    arrays = {key: archive.read_member(zf, m) for key, m in members.items()}
    try:
        return schema.decode(name, arrays, meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(f"The {name} stored in {path!r} is inconsistent: {type(exc).__name__}: {exc}",
                              path=path) from None


def _read_header(path, zf, members):
    """The parsed JSON header of an archive (its member popped from `members`), bounded before it is read."""
    member = members.pop(_META_KEY, None)
    if member is None or member.dtype.kind != "U" or member.shape != ():
        raise FileFormatError(f"Expected {path!r} to be an fpnorm file with a {_META_KEY!r} text member; it has none "
                              f"(members: {sorted(members)[:10]}).", path=path)
    limit = archive.MAX_JSON_CHARS
    if member.dtype.itemsize > 4 * limit:
        raise FileFormatError(f"Refused {path!r}: member {_META_KEY!r} declares {member.dtype.itemsize // 4} "
                              f"characters of metadata; fpnorm writes at most {limit}.", path=path,
                              member=_META_KEY, size=member.dtype.itemsize // 4)
    return archive.parse_json(str(archive.read_member(zf, member)), path)


def _starts_with(path, magic):
    try:
        with open(path, "rb") as fh:
            return fh.read(len(magic)) == magic
    except OSError:
        return False


def package_version():
    """The installed fpnorm's version (from its package metadata), or ``"unknown"`` in an uninstalled tree."""
    try:
        return metadata.version("fpnorm")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _json_safe(obj):
    """``obj`` with numpy scalars and arrays made plain, and non-finite floats (which JSON cannot hold) as None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def json_dumps(obj, **options):
    """Strict JSON (RFC 8259) text of a summary: NaN and +-inf become ``null``, numpy values plain numbers.

    Summaries that fpnorm writes (``fpnorm solve``, ``demo``, sweeps) use it, so any JSON parser reads them.
    """
    return json.dumps(_json_safe(obj), allow_nan=False, **options)
