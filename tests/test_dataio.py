"""Data-file readers: good files read exactly, malformed files raise one clear ValueError; the CLI turns them into
one line on stderr and a non-zero exit."""

import sys
import types

import numpy as np
import pytest

from fpnorm import cli
from fpnorm.dataio import read_points, read_values


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- good files --------------------------------------------------------------------------------------------------
def test_csv_with_header_and_comments(tmp_path):
    path = write(tmp_path, "p.csv", "# my points\nx, y\n0.1, 0.25\n\n-3e-1,1.5  # trailing comment\n")
    np.testing.assert_array_equal(read_points(path, dim=2), [[0.1, 0.25], [-0.3, 1.5]])


def test_whitespace_text(tmp_path):
    path = write(tmp_path, "v.txt", "1.0 2.0\n3.0\t4.0\n")
    np.testing.assert_array_equal(read_values(path, n=2), [[1.0, 2.0], [3.0, 4.0]])


def test_single_column_values_are_1d(tmp_path):
    path = write(tmp_path, "v.csv", "y\n1\n2\n3\n")
    out = read_values(path)
    assert out.shape == (3,) and out.tolist() == [1.0, 2.0, 3.0]


def test_one_column_points_are_n_by_1(tmp_path):
    path = write(tmp_path, "x.csv", "0.5\n0.25\n")
    assert read_points(path).shape == (2, 1)


def test_npy_and_npz_exact(tmp_path):
    x = np.random.default_rng(1).random((5, 3))
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "d.npz", points=x, values=x[:, 0] + 1j)
    np.testing.assert_array_equal(read_points(tmp_path / "x.npy", dim=3), x)
    np.testing.assert_array_equal(read_points(tmp_path / "d.npz"), x)
    np.testing.assert_array_equal(read_values(tmp_path / "d.npz", n=5), x[:, 0] + 1j)


def test_csv_round_trip_is_exact(tmp_path):
    x = np.random.default_rng(2).standard_normal((20, 2))
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", fmt="%.17g")
    np.testing.assert_array_equal(read_points(tmp_path / "x.csv", dim=2), x)


def test_caller_file_feeds_interpolator(tmp_path):
    from fpnorm import FPInterpolator, PowerLaw

    write(tmp_path, "x.csv", "0.1\n0.4\n0.8\n")
    write(tmp_path, "y.csv", "1\n-1\n0.5\n")
    x = read_points(tmp_path / "x.csv", dim=1)
    y = read_values(tmp_path / "y.csv", n=len(x))
    s = FPInterpolator(x, y, weight=PowerLaw(p=4), K=8)
    np.testing.assert_allclose(s(x[:, 0]), y, atol=1e-12)


# -- malformed files: one message each ---------------------------------------------------------------------------
def test_text_in_numeric_column(tmp_path):
    path = write(tmp_path, "p.csv", "x,y\n0.1,0.2\n0.3,abc\n")
    with pytest.raises(ValueError, match=r"Expected a number in '.*p\.csv' at line 3, column 2, got 'abc'\."):
        read_points(path)


def test_ragged_rows(tmp_path):
    path = write(tmp_path, "p.csv", "0.1,0.2\n0.3,0.4,0.5\n")
    with pytest.raises(ValueError, match=r"Expected every row of '.*p\.csv' to have 2 columns like line 1, but line 2 "
                                         r"has 3\."):
        read_points(path)


def test_wrong_column_count(tmp_path):
    path = write(tmp_path, "p.csv", "0.1,0.2,0.3\n")
    with pytest.raises(ValueError, match=r"Expected 2 columns \(one per coordinate, d = 2\) in points file "
                                         r"'.*p\.csv', got 3\."):
        read_points(path, dim=2)


def test_wrong_row_count(tmp_path):
    path = write(tmp_path, "v.csv", "1\n2\n")
    with pytest.raises(ValueError, match=r"Expected 3 rows \(one per point\) in values file '.*v\.csv', got 2\."):
        read_values(path, n=3)


def test_empty_file(tmp_path):
    path = write(tmp_path, "p.csv", "")
    with pytest.raises(ValueError, match=r"Expected '.*p\.csv' to hold data, but the file is empty \(0 bytes\)\."):
        read_points(path)


def test_only_comments(tmp_path):
    path = write(tmp_path, "p.csv", "# nothing\n\n   \n")
    with pytest.raises(ValueError, match=r"to hold at least one data row, but it is empty \(no lines other than "
                                         r"blanks and # comments\)\."):
        read_points(path)


def test_header_only(tmp_path):
    path = write(tmp_path, "p.csv", "x,y\n")
    with pytest.raises(ValueError, match=r"to hold data rows after its header \(line 1\), got none\."):
        read_points(path)


def test_nan_in_text(tmp_path):
    path = write(tmp_path, "p.csv", "0.1\nnan\n")
    with pytest.raises(ValueError, match=r"Expected finite numbers in '.*p\.csv', got NaN or inf at line 2, "
                                         r"column 1\."):
        read_points(path)


def test_inf_in_npy(tmp_path):
    np.save(tmp_path / "v.npy", np.array([1.0, 2.0, np.inf]))
    with pytest.raises(ValueError, match=r"got NaN or inf at row 2\."):
        read_values(tmp_path / "v.npy")


def test_binary_as_csv(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(ValueError, match=r"to be a UTF-8 text file, but it is not"):
        read_points(path)


def test_npy_object_array(tmp_path):
    np.save(tmp_path / "o.npy", np.array([0.1, None], dtype=object))
    with pytest.raises(ValueError, match=r"holds Python objects \(an object array\), which fpnorm never loads"):
        read_points(tmp_path / "o.npy")


def test_npz_object_array(tmp_path):
    np.savez(tmp_path / "o.npz", points=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"Expected member 'points' of '.*o\.npz' to be a numeric array, but it holds "
                                         r"Python objects"):
        read_points(tmp_path / "o.npz")


def test_pickle_named_npy(tmp_path):
    import pickle

    (tmp_path / "p.npy").write_bytes(pickle.dumps([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"to be a npy file, but it is not \(numpy sees pickled data"):
        read_points(tmp_path / "p.npy")


def test_npz_missing_member(tmp_path):
    np.savez(tmp_path / "d.npz", a=np.zeros(2), b=np.zeros(2))
    with pytest.raises(ValueError, match=r"to have a member 'points' \(or exactly one member\), got members "
                                         r"\['a', 'b'\]\."):
        read_points(tmp_path / "d.npz")


def test_corrupt_npz(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match=r"to be a valid npz file; numpy cannot read it"):
        read_points(tmp_path / "d.npz")


def test_text_array_in_npy(tmp_path):
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(ValueError, match=r"to hold real numbers, got an array of dtype <U1\."):
        read_points(tmp_path / "s.npy")


def test_complex_points_refused(tmp_path):
    np.save(tmp_path / "c.npy", np.array([0.1 + 1j]))
    with pytest.raises(ValueError, match=r"to hold real numbers, got an array of dtype complex128\."):
        read_points(tmp_path / "c.npy")


def test_3d_array(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"to hold a 1-d or 2-d array, got shape \(2, 2, 2\)\."):
        read_points(tmp_path / "c.npy")


def test_empty_array(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"to hold at least one value, got an empty array of shape \(0, 2\)\."):
        read_points(tmp_path / "c.npy")


def test_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"Expected a data file ending in one of \['\.csv', .*\], got '.*p\.xlsx'\."):
        read_points(tmp_path / "p.xlsx")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_points(tmp_path / "none.csv")


def test_dim_argument(tmp_path):
    with pytest.raises(TypeError, match=r"Expected `dim` to be an integer or None, got str '2'\."):
        read_points(write(tmp_path, "p.csv", "1\n"), dim="2")


# -- the CLI reports each malformed file in one line -------------------------------------------------------------
@pytest.fixture
def readcheck(monkeypatch):
    """A throwaway subcommand that reads points and values the way `fpnorm solve` will (registered for the test)."""
    module = types.ModuleType("fpnorm.commands._readcheck")

    def run(args):
        x = read_points(args.points, dim=args.dim)
        read_values(args.values, n=len(x))
        return 0

    def add_parser(sub):
        p = sub.add_parser("readcheck")
        p.add_argument("points")
        p.add_argument("values")
        p.add_argument("--dim", type=int, default=None)
        p.set_defaults(func=run)

    module.add_parser = add_parser
    monkeypatch.setitem(sys.modules, "fpnorm.commands._readcheck", module)
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + ("_readcheck",))


@pytest.mark.parametrize("points, values, fragment", [
    ("x,y\n0.1,abc\n", "1\n", "at line 2, column 2, got 'abc'"),
    ("0.1,0.2,0.3\n", "1\n", "Expected 2 columns"),
    ("", "1\n", "the file is empty"),
    ("0.1,0.2\n0.3,0.4\n", "1\n", "Expected 2 rows (one per point)"),
    ("npz-object", "1\n", "holds Python objects"),
])
def test_cli_malformed_files_one_line(tmp_path, capsys, readcheck, points, values, fragment):
    if points == "npz-object":
        pfile = tmp_path / "p.npz"
        np.savez(pfile, points=np.array([None, 1], dtype=object))
    else:
        pfile = write(tmp_path, "p.csv", points)
    vfile = write(tmp_path, "v.csv", values)
    status = cli.main(["readcheck", str(pfile), str(vfile), "--dim", "2"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("fpnorm readcheck: error: Expected ")
    assert fragment in err


def test_cli_good_files_exit_zero(tmp_path, capsys, readcheck):
    status = cli.main(["readcheck", str(write(tmp_path, "p.csv", "0.1,0.2\n")), str(write(tmp_path, "v.csv", "1\n")),
                       "--dim", "2"])
    assert status == 0 and capsys.readouterr().err == ""


def test_byte_order_mark_does_not_drop_the_first_row(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf0.1\n0.4\n0.7\n")
    np.testing.assert_array_equal(read_points(path, dim=1)[:, 0], [0.1, 0.4, 0.7])


def test_mistyped_first_value_is_bad_data_not_a_header(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("0.1x\n0.4\n0.7\n")
    with pytest.raises(ValueError, match=r"Expected a number in .* at line 1, column 1, got '0.1x'"):
        read_points(path, dim=1)
