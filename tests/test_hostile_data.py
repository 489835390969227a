"""Data files and command-line numbers are read by a strict grammar, and every error names the file and the place.

The grammar (fpnorm._internal.checks.NUMBER_GRAMMAR) is checked against Python's correctly rounded ``float`` on the
decimals it accepts (the value must be the same double), and against the texts ``float`` reads but a data file must
not hold (underscores, other scripts' digits, words).
"""

import io
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpnorm import FileFormatError, weight_from_spec
from fpnorm._internal.checks import parse_int, parse_number
from fpnorm.cli import main
from fpnorm.dataio import read_points, read_values
from fpnorm.sweeps import EXAMPLE_CONFIG, load_config


def write(tmp_path, name, data):
    path = tmp_path / name
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


@pytest.mark.parametrize("text", ["0", "-0", "+1", "0.45", ".5", "5.", "1e5", "-2.5E-3", "+.5e+2", " 7 ",
                                  "123456789012345678901234567890", "4.9e-324", "1.7976931348623157e308"])
def test_decimals_read_as_float_reads_them(text):
    value = parse_number(text, "x")
    assert value == float(text) and math.copysign(1, value) == math.copysign(1, float(text))


@pytest.mark.parametrize("text", ["0_45", "1_000.5", "0x1p3", "0x10", "\u0661\u0662", "\uff11", "nan", "inf",
                                  "-Infinity", "1e", "e5", ".", "", "1.2.3", "1e5.0", "++1", "1 2"])
def test_texts_float_may_read_are_refused(text):
    with pytest.raises(ValueError, match=r"Expected `x` to be a decimal number \(digits, an optional point and "
                                         r"exponent; no underscores, hex or words\), got "):
        parse_number(text, "x")


def test_nonfinite_only_when_asked():
    assert parse_number("-Inf", "x", nonfinite=True) == -math.inf
    assert math.isnan(parse_number("NaN", "x", nonfinite=True))
    with pytest.raises(ValueError, match=r"no underscores or hex\), got '0_1'"):
        parse_number("0_1", "x", nonfinite=True)
    assert parse_number("1e999", "x") == math.inf     # beyond the float range, as float() (callers check finiteness)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_double_round_trips_through_its_repr(x):
    # repr gives the shortest decimal that rounds back: the grammar accepts it and the value is that double, bit for bit
    assert parse_number(repr(x), "x") == x and math.copysign(1, parse_number(repr(x), "x")) == math.copysign(1, x)


def test_integers():
    assert parse_int(" -12 ", "n") == -12
    for text in ["1_0", "0x10", "1.0", "\u0661", "", "1" * 4001]:
        with pytest.raises(ValueError, match=r"Expected `n` to be an integer \(an optional sign and at most 4000 "
                                             r"digits 0-9\), got "):
            parse_int(text, "n")


# -- data files ----------------------------------------------------------------------------------------------------
def test_underscore_cell_is_refused_not_read_as_45(tmp_path):
    path = write(tmp_path, "p.csv", "x\n0.1\n0_45\n")
    with pytest.raises(FileFormatError, match=r"Expected a number in '.*p\.csv' at line 3, column 1, got '0_45' "
                                              r"\(Python's float reads it, but numbers in data files are plain "
                                              r"decimals") as err:
        read_points(path)
    assert (err.value.path, err.value.line, err.value.column) == (str(path), 3, 1)


@pytest.mark.parametrize("cell", ["\uff11", "\u0660.\u0665", "1_0.5"])
def test_other_lenient_cells(tmp_path, cell):
    path = write(tmp_path, "p.tsv", f"0.1\t0.2\n0.3\t{cell}\n")
    with pytest.raises(FileFormatError, match=r"at line 2, column 2, got .* \(Python's float reads it"):
        read_points(path)


def test_nan_cell_names_line_and_column(tmp_path):
    path = write(tmp_path, "v.txt", "1 2\n3 nan\n")
    with pytest.raises(FileFormatError, match=r"got NaN or inf at line 2, column 2\.") as err:
        read_values(path)
    assert (err.value.line, err.value.column) == (2, 2)


def test_non_utf8_byte_in_csv(tmp_path):
    path = write(tmp_path, "p.csv", b"0.1,0.2\n0.3,0.\xff4\n")
    with pytest.raises(FileFormatError, match=r"Expected '.*p\.csv' to be a UTF-8 text file, but it is not \(invalid "
                                              r"start byte: byte 0xff at line 2, column 7, offset 14\); use "
                                              r"\.npy/\.npz for binary data\.") as err:
        read_points(path)
    assert (err.value.line, err.value.column) == (2, 7)


def test_non_utf8_byte_in_sweep_config(tmp_path):
    text = EXAMPLE_CONFIG.encode()
    at = text.index(b"\n", text.index(b"\n") + 1) + 1     # the start of line 3
    path = write(tmp_path, "sweep.toml", text[:at] + b"# caf\xe9\n" + text[at:])
    with pytest.raises(FileFormatError, match=r"Expected '.*sweep\.toml' to be a UTF-8 TOML file, but it is not "
                                              r"\(invalid continuation byte: byte 0xe9 at line 3, column 6, offset "
                                              rf"{at + 5}\)\.$") as err:
        load_config(path)
    assert (err.value.path, err.value.line, err.value.column) == (str(path), 3, 6)


def _npy_header(dtype, shape):
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return out.getvalue()


def test_npy_header_claiming_huge_shape(tmp_path):
    path = write(tmp_path, "p.npy", _npy_header("<f8", (10**12, 2)) + bytes(32))
    with pytest.raises(FileFormatError, match=r"Refused '.*p\.npy': it declares an array of shape \(1000000000000, 2\) "
                                              r"and dtype float64 \(14\.6 TiB \(16000000000000 bytes\)\), but the file "
                                              r"holds 32 bytes of data\.") as err:
        read_points(path)
    assert err.value.size == 16 * 10**12


def test_npz_member_header_claiming_huge_shape(tmp_path):
    import zipfile

    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("points.npy", _npy_header("<f8", (10**12,)) + bytes(8))
    with pytest.raises(FileFormatError, match=r"Refused '.*d\.npz': member 'points' declares an array of shape "
                                              r"\(1000000000000,\) .* but the member holds 8 bytes of data\.") as err:
        read_points(path)
    assert err.value.member == "points"


def test_genuine_binary_files_still_read(tmp_path):
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    np.save(tmp_path / "p.npy", x)
    np.savez_compressed(tmp_path / "p.npz", points=x, other=np.zeros(3))
    assert np.array_equal(read_points(tmp_path / "p.npy"), x)
    assert np.array_equal(read_points(tmp_path / "p.npz"), x)


# -- command line and weight specs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, bad", [
    (["bound", "--M", "1_000", "--f-norm", "1", "--gamma-l2", "1"], "argument --M: expected an integer"),
    (["bound", "--M", "100", "--f-norm", "0x1p3", "--gamma-l2", "1"], "argument --f-norm: expected a decimal number"),
    (["bound", "--M", "100", "--f-norm", "1", "--gamma-l2", "1", "--delta", "0_05"],
     "argument --delta: expected a decimal number"),
])
def test_cli_numbers_are_strict(capsys, argv, bad):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and bad in capsys.readouterr().err


def test_cli_inf_norm_still_explicit(capsys):
    assert main(["bound", "--M", "100", "--f-norm", "inf", "--gamma-l2", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["vacuous"] is True and out["results"][0]["value"] is None


def test_weight_spec_numbers_are_strict():
    assert weight_from_spec("power:p=4e0,zero=1.5").spec() == weight_from_spec("power:p=4,zero=1.5").spec()
    with pytest.raises(ValueError, match=r"Expected a number for `p` in weight spec 'power:p=0_4', got '0_4'\."):
        weight_from_spec("power:p=0_4")
    with pytest.raises(ValueError, match=r"Expected an integer for `dim` in weight spec 'power:p=4,dim=1_0'"):
        weight_from_spec("power:p=4,dim=1_0")
