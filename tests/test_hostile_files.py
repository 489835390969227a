"""Hostile ``.npz`` files are refused before anything large is allocated (fpnorm.io.load, fpnorm._state.archive).

Every file is built here in ``tmp_path`` (no binary fixtures): a zip bomb whose deflate stream is one compressed MiB
of zeros repeated (so a 3.5 GiB member costs ~3.5 MB and no compression time), a member whose ``.npy`` header claims
1e12 elements, metadata nested 100,000 deep, a 5000-digit integer. Peak memory of the refusals is measured in a child
process (``ru_maxrss`` before and after the calls).
"""

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

from fpnorm import FileFormatError, LFPFlow, MemoryEstimateError, PowerLaw, load, save
from fpnorm._state import archive, schema

MiB = 1 << 20
BOMB_BYTES = 3584 * MiB     # 3.5 GiB of zeros, below the 4 GiB that would need zip64 records


def crc32_zeros(crc, n):
    """``zlib.crc32(bytes(n), crc)`` in O(log n): the CRC register's update on a zero bit is linear over GF(2),
    ``r -> (r >> 1) ^ (0xEDB88320 if r & 1)``; its matrix is squared up to ``8 n`` bits (as zlib's crc32_combine)."""
    def times(mat, vec):
        out, i = 0, 0
        while vec:
            if vec & 1:
                out ^= mat[i]
            vec >>= 1
            i += 1
        return out

    op = [0xEDB88320] + [1 << i for i in range(31)]   # column i: the image of register bit i
    reg, bits = crc ^ 0xFFFFFFFF, 8 * n
    while bits:
        if bits & 1:
            reg = times(op, reg)
        op = [times(op, col) for col in op]
        bits >>= 1
    return reg ^ 0xFFFFFFFF


def deflated_zeros(prefix, n_mib):
    """A raw deflate stream of ``prefix`` then ``n_mib`` MiB of zeros, its CRC-32 and inflated size. After a full
    flush the compressor starts afresh, so one compressed MiB of zeros is the same bytes every time: it is repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    chunk = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    assert chunk == again
    data = head + chunk * n_mib + c.flush()
    return data, crc32_zeros(zlib.crc32(prefix), n_mib * MiB), len(prefix) + n_mib * MiB


def write_zip(path, members):
    """A zip written byte by byte: ``members`` are ``(name, raw)`` stored as they are, or ``(name, (data, crc,
    size))`` already deflated (see :func:`deflated_zeros`)."""
    central = []
    with open(path, "wb") as fh:
        for name, body in members:
            if isinstance(body, bytes):
                data, crc, size, method = body, zlib.crc32(body), len(body), 0
            else:
                (data, crc, size), method = body, 8
            offset, n = fh.tell(), name.encode()
            fh.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size, len(n), 0)
                     + n + data)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data),
                                       size, len(n), 0, 0, 0, 0, 0, offset) + n)
        start, cd = fh.tell(), b"".join(central)
        fh.write(cd + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), start, 0))
    return path


def npy_header(dtype, shape):
    out = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                               "fortran_order": False, "shape": shape})
    return out.getvalue()


def saved_members(tmp_path):
    """The members (name -> .npy bytes) of a small genuine LFPFlow file, as fpnorm.save wrote them."""
    x = np.array([0.1, 0.35, 0.6, 0.8])
    flow = LFPFlow(x, np.sin(2 * np.pi * x), weight=PowerLaw(p=2, zero=1.0), K=4)
    path = tmp_path / "good.npz"
    save(flow, path)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def meta_member(text):
    return npy_header(f"<U{len(text)}", ()) + np.array(text).tobytes()


def hostile_files(tmp_path, bomb_bytes=BOMB_BYTES):
    """``{case: path}`` of the four files of the issue, each otherwise a genuine LFPFlow file."""
    good = saved_members(tmp_path)
    meta = json.loads(str(np.load(tmp_path / "good.npz")["__fpnorm__"]))
    out = {}
    n_mib = bomb_bytes // MiB
    bomb = deflated_zeros(npy_header("<f8", (n_mib * MiB // 8, 1)), n_mib)
    out["zip bomb"] = write_zip(tmp_path / "bomb.npz", [*((k, v) for k, v in good.items() if k != "U.npy"),
                                                        ("U.npy", bomb)])
    huge = npy_header("<f8", (10**12,)) + bytes(64)
    out["1e12-element header"] = write_zip(tmp_path / "huge.npz", [*((k, v) for k, v in good.items() if k != "U.npy"),
                                                                   ("U.npy", huge)])
    text = json.dumps({**meta, "meta": None})
    deep = text.replace('"meta": null', '"meta": ' + "[" * 100_000 + "]" * 100_000)
    out["metadata nested 1e5 deep"] = write_zip(tmp_path / "deep.npz", [*((k, v) for k, v in good.items()
                                                                          if k != "__fpnorm__.npy"),
                                                                        ("__fpnorm__.npy", meta_member(deep))])
    digits = json.dumps(meta).replace('"K": 4', '"K": 1' + "0" * 4999)
    assert digits != json.dumps(meta)
    out["5000-digit integer"] = write_zip(tmp_path / "digits.npz", [*((k, v) for k, v in good.items()
                                                                      if k != "__fpnorm__.npy"),
                                                                    ("__fpnorm__.npy", meta_member(digits))])
    return out


def test_builders_are_exact(tmp_path):
    # the CRC shortcut against zlib, and a small bomb read through zipfile (which checks the CRC and the sizes)
    for crc, n in [(0, 0), (0, 1), (0x12345678, 1000), (zlib.crc32(b"abc"), 3 * MiB + 7)]:
        assert crc32_zeros(crc, n) == zlib.crc32(bytes(n), crc)
    prefix = npy_header("<f8", (4 * MiB // 8,))
    path = write_zip(tmp_path / "small.npz", [("a.npy", deflated_zeros(prefix, 4)), ("b.npy", b"xyz")])
    with zipfile.ZipFile(path) as zf:
        assert zf.read("a.npy") == prefix + bytes(4 * MiB) and zf.read("b.npy") == b"xyz"
    info = zipfile.ZipFile(hostile_files(tmp_path)["zip bomb"]).getinfo("U.npy")
    assert info.file_size > BOMB_BYTES and info.compress_size < BOMB_BYTES / 900   # a 3.5 GiB member from ~4 MB


def test_genuine_file_still_loads(tmp_path):
    # the hostile files are genuine but for the one member changed: this is what they are changed from
    good = saved_members(tmp_path)
    path = write_zip(tmp_path / "copy.npz", list(good.items()))
    arrays, meta = schema.encode(load(path, expect="LFPFlow"), "LFPFlow")
    with np.load(tmp_path / "good.npz") as saved:
        assert json.loads(str(saved["__fpnorm__"]))["meta"] == json.loads(json.dumps(meta))
        assert all(np.array_equal(saved[k], v) for k, v in arrays.items())


CASES = {
    "zip bomb": r"member 'U' would inflate to 3\.5 GiB \(\d+ bytes\) from [\d.]+ MiB .* refused as a zip bomb",
    "1e12-element header": r"member 'U' declares an array of shape \(1000000000000,\) and dtype float64 "
                           r"\(7\.28 TiB \(8000000000000 bytes\)\), but the member holds 64 bytes of data",
    "metadata nested 1e5 deep": r"it holds metadata nested 100001 deep; fpnorm writes at most 64 levels",
    "5000-digit integer": r"Expected the metadata in '.*digits\.npz' to be valid JSON: Exceeds the limit \(4300 "
                          r"digits\) for integer string conversion",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_refused(tmp_path, case):
    path = hostile_files(tmp_path)[case]
    with pytest.raises(FileFormatError, match=CASES[case]) as err:
        load(path, expect="LFPFlow")
    assert err.value.path == str(path) and str(path) in str(err.value)
    if case in ("zip bomb", "1e12-element header"):
        assert err.value.member == "U" and err.value.size >= BOMB_BYTES


_CHILD = """
import json, resource, sys
import fpnorm
out = {}
for path in sys.argv[1:]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        fpnorm.load(path, expect="LFPFlow")
        out[path] = "loaded"
    except Exception as exc:
        out[path] = type(exc).__name__
    out[path] = [out[path], (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024]
print(json.dumps(out))
"""


def test_refusals_stay_small(tmp_path):
    files = hostile_files(tmp_path)
    run = subprocess.run([sys.executable, "-c", _CHILD, *map(str, files.values())], capture_output=True, text=True,
                         check=True, timeout=120)
    result = json.loads(run.stdout)
    for case, path in files.items():
        kind, peak_mib = result[str(path)]
        assert kind == "FileFormatError", case
        assert peak_mib < 100, (case, peak_mib)


def test_directory_of_too_many_entries(tmp_path):
    path = write_zip(tmp_path / "many.npz", [(f"a{i}.npy", b"") for i in range(archive.MAX_MEMBERS + 1)])
    with pytest.raises(FileFormatError, match=rf"declares a zip directory of {archive.MAX_MEMBERS + 1} entries"):
        load(path)


def test_member_that_is_no_array(tmp_path):
    good = saved_members(tmp_path)
    path = write_zip(tmp_path / "x.npz", [*good.items(), ("notes.txt", b"hello")])
    with pytest.raises(FileFormatError, match=r"member 'notes\.txt' is not an array \(\.npy\)"):
        load(path)


def test_shape_checked_against_the_schema_before_reading(tmp_path):
    # U of shape (Np, n) must agree with lam (n,) from the same file: a consistent-size member of the wrong shape
    good = saved_members(tmp_path)
    n = np.load(tmp_path / "good.npz")["lam"].size
    wrong = npy_header("<f8", (3, n + 1)) + bytes(8 * 3 * (n + 1))
    path = write_zip(tmp_path / "x.npz", [*((k, v) for k, v in good.items() if k != "U.npy"), ("U.npy", wrong)])
    with pytest.raises(FileFormatError, match=r"is inconsistent: ValueError: LFPFlow "
                                              rf"array 'U' should have shape \(\d+, {n}\), got \(3, {n + 1}\)"):
        load(path)


def test_large_member_no_field_names(tmp_path):
    good = saved_members(tmp_path)
    extra = npy_header("<f8", (MiB // 8 + 1,)) + bytes(MiB + 8)
    path = write_zip(tmp_path / "x.npz", [*good.items(), ("extra.npy", extra)])
    with pytest.raises(FileFormatError, match=r"member 'extra' \(1048584 bytes\) is no field of an? LFPFlow"):
        load(path)


def test_declared_arrays_beyond_memory(tmp_path, monkeypatch):
    # consistent headers, sizes matching their members: the total is checked against the memory available
    from fpnorm._internal import memory

    good = saved_members(tmp_path)
    path = write_zip(tmp_path / "x.npz", list(good.items()))
    zf, members = archive.open_npz(path)
    zf.close()
    total = sum(m.nbytes for k, m in members.items() if k != "__fpnorm__")   # the arrays (the metadata is bounded)
    assert total * memory.HEADROOM > 9 * (8 + 40)   # the box check of K = 4 passes, the total does not
    monkeypatch.setattr(memory, "available_memory", lambda: total)
    with pytest.raises(MemoryEstimateError, match=r"The arrays declared by '.*x\.npz' \(\d+ members\) needs about"):
        load(path)


@pytest.mark.parametrize("garbage, message", [
    (b"", r"to be an fpnorm \.npz file; numpy cannot read it \(BadZipFile"),
    (b"PK\x05\x06" + bytes(18), r"to be an fpnorm file with a '__fpnorm__' text member; it has none \(members: \[\]\)"),
    (b"PK\x03\x04" + bytes(40), r"to be an fpnorm \.npz file; numpy cannot read it \(BadZipFile"),
])
def test_truncated_and_garbage_files(tmp_path, garbage, message):
    path = tmp_path / "g.npz"
    path.write_bytes(garbage)
    with pytest.raises(FileFormatError, match=message) as err:
        load(path)
    assert err.value.path == str(path)


def test_truncated_member(tmp_path):
    # the zip is cut inside a member's data: zipfile's own error, re-raised naming the file
    good = saved_members(tmp_path)
    path = write_zip(tmp_path / "x.npz", list(good.items()))
    data = path.read_bytes()
    at = data.index(b"U.npy") + 200
    bad = bytearray(data)
    bad[at:at + 64] = bytes(64)   # the CRC no longer matches
    path.write_bytes(bytes(bad))
    with pytest.raises(FileFormatError, match=r"'.*x\.npz'"):
        load(path)


def test_json_size_bounded(tmp_path):
    with pytest.raises(FileFormatError, match=r"holds metadata of \d+ characters; fpnorm writes at most 1048576"):
        archive.parse_json(" " * (archive.MAX_JSON_CHARS + 1), "f.npz")
    # brackets inside strings are not nesting
    assert archive.parse_json(json.dumps({"a": "[" * 1000}), "f.npz") == {"a": "[" * 1000}


def test_npy_header_checked_against_file_size(tmp_path):
    path = tmp_path / "h.npy"
    path.write_bytes(npy_header("<f8", (10**12, 3)) + bytes(24))
    with pytest.raises(FileFormatError, match=r"declares an array of shape \(1000000000000, 3\) .* but the file "
                                              r"holds 24 bytes of data"):
        archive.read_npy_header(os.fspath(path))
