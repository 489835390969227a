"""The sweep's on-disk state: fingerprint, crash-safe append-only CSV, torn-line repair."""

import json
import math

import pytest

from fpnorm._sweep.store import (
    CONFIG_FILE,
    REJECTED_FILE,
    RESULTS_FILE,
    ResultStore,
    config_fingerprint,
    format_value,
)

COLS = ("name", "seed", "value")
KEYS = ("name", "seed")


def store(out, config=None):
    return ResultStore(out, config or {"a": 1, "b": [1, 2]}, columns=COLS, key_columns=KEYS)


def test_fingerprint_is_canonical():
    assert config_fingerprint({"a": 1, "b": [1, 2]}) == config_fingerprint({"b": [1, 2], "a": 1})
    assert config_fingerprint({"a": 1}) != config_fingerprint({"a": 2})


def test_format_value_round_trips_floats():
    x = 0.1 + 0.2
    assert float(format_value(x)) == x
    assert format_value(math.inf) == "inf" and format_value(-math.inf) == "-inf"
    assert format_value(math.nan) == "nan" and format_value(None) == "" and format_value(3) == "3"


def test_append_then_resume_skips_done_rows(tmp_path):
    with store(tmp_path) as s:
        assert s.append({"name": "w", "seed": 0, "value": 1.5})
        assert not s.append({"name": "w", "seed": 0, "value": 9.0})  # same key: never written twice
        assert s.append({"name": "w", "seed": 1, "value": 2.5})
    with store(tmp_path) as s:
        assert s.n_done == 2
        assert s.is_done({"name": "w", "seed": 1}) and not s.is_done({"name": "w", "seed": 2})
        assert not s.append({"name": "w", "seed": 1, "value": 7.0})
    lines = (tmp_path / RESULTS_FILE).read_text().splitlines()
    assert lines == ["name,seed,value", "w,0,1.5", "w,1,2.5"]
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["config"] == {"a": 1, "b": [1, 2]}


def test_torn_last_line_is_dropped_on_open(tmp_path):
    with store(tmp_path) as s:
        s.append({"name": "w", "seed": 0, "value": 1.5})
    with open(tmp_path / RESULTS_FILE, "a") as fh:
        fh.write("w,1,2.")  # a crash in the middle of a write
    with store(tmp_path) as s:
        assert s.dropped_torn_line and s.n_done == 1
        s.append({"name": "w", "seed": 1, "value": 2.5})
    assert (tmp_path / RESULTS_FILE).read_text() == "name,seed,value\nw,0,1.5\nw,1,2.5\n"


def test_short_last_complete_line_is_dropped(tmp_path):
    (tmp_path / "x").mkdir()
    out = tmp_path / "x"
    with store(out) as s:
        s.append({"name": "w", "seed": 0, "value": 1.5})
    with open(out / RESULTS_FILE, "a") as fh:
        fh.write("w,1\n")
    with store(out) as s:
        assert s.n_done == 1 and s.dropped_torn_line
        assert s.rejected == [(3, "torn: 2 cell(s), expected 3", "w,1")]
    assert (out / REJECTED_FILE).read_text() == "line,reason,row\n3,\"torn: 2 cell(s), expected 3\",\"w,1\"\n"


def test_malformed_middle_line_is_set_aside(tmp_path):
    with store(tmp_path) as s:
        s.append({"name": "w", "seed": 0, "value": 1.5})
    text = (tmp_path / RESULTS_FILE).read_text()
    (tmp_path / RESULTS_FILE).write_text(text + "w,1\nw,2,3.0\n")
    with store(tmp_path) as s:
        assert s.n_done == 2 and s.rejected == [(3, "torn: 2 cell(s), expected 3", "w,1")]
    assert (tmp_path / RESULTS_FILE).read_text() == "name,seed,value\nw,0,1.5\nw,2,3.0\n"


def test_changed_config_is_refused_naming_the_keys(tmp_path):
    with store(tmp_path) as s:
        s.append({"name": "w", "seed": 0, "value": 1.5})
    before = (tmp_path / RESULTS_FILE).read_text()
    with pytest.raises(ValueError, match=r"holds another sweep \(config keys that differ: b\)"):
        store(tmp_path, {"a": 1, "b": [1, 3]}).open()
    assert (tmp_path / RESULTS_FILE).read_text() == before


def test_results_without_record_are_refused(tmp_path):
    (tmp_path / RESULTS_FILE).write_text("name,seed,value\n")
    with pytest.raises(ValueError, match=r"has results.csv without sweep.json"):
        store(tmp_path).open()


def test_unreadable_record_is_refused(tmp_path):
    (tmp_path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ValueError, match=r"cannot be read"):
        store(tmp_path).open()


def test_header_mismatch_is_refused(tmp_path):
    with store(tmp_path):
        pass
    with pytest.raises(ValueError, match=r"to have the columns"):
        ResultStore(tmp_path, {"a": 1, "b": [1, 2]}, columns=("name", "seed", "other"), key_columns=KEYS).open()


def test_out_must_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match=r"Expected `out` to be a folder"):
        store(f).open()


def test_a_second_writer_on_the_same_folder_is_refused(tmp_path):
    with store(tmp_path):
        with pytest.raises(ValueError, match=r"Expected no other sweep to be writing to `out`"):
            store(tmp_path).open()
    with store(tmp_path) as s:  # released on close
        assert s.n_done == 0


def test_duplicate_rows_from_an_old_concurrent_run_are_set_aside(tmp_path):
    with store(tmp_path) as s:
        s.append({"name": "w", "seed": 0, "value": 1.5})
    with open(tmp_path / RESULTS_FILE, "a") as fh:
        fh.write("w,0,9.5\nw,1,2.5\n")
    with store(tmp_path) as s:
        assert s.n_done == 2 and s.rejected == [(3, "a second row of the task of line 2 (kept)", "w,0,9.5")]
    assert (tmp_path / RESULTS_FILE).read_text().splitlines() == ["name,seed,value", "w,0,1.5", "w,1,2.5"]
    assert (tmp_path / REJECTED_FILE).read_text().splitlines()[1] == \
        '3,a second row of the task of line 2 (kept),"w,0,9.5"'


def test_a_folder_without_results_takes_a_changed_config(tmp_path):
    with store(tmp_path, {"a": 1}):
        pass
    with store(tmp_path, {"a": 2}) as s:  # no rows were written under {"a": 1}: nothing to mix
        s.append({"name": "w", "seed": 0, "value": 1.0})
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["config"] == {"a": 2}
    with pytest.raises(ValueError, match="holds another sweep"):
        store(tmp_path, {"a": 1}).open()
    with store(tmp_path, {"a": 2}) as s:  # the refused open released its lock
        assert s.n_done == 1


def test_a_torn_header_is_completed_and_junk_before_it_set_aside(tmp_path):
    with store(tmp_path):
        pass
    (tmp_path / RESULTS_FILE).write_bytes(b"name,se")  # a crash while the header was written
    with store(tmp_path) as s:
        assert s.rejected == [] and s.n_done == 0
    assert (tmp_path / RESULTS_FILE).read_text() == "name,seed,value\n" and not (tmp_path / REJECTED_FILE).exists()
    (tmp_path / RESULTS_FILE).write_bytes(b"\xffjunk")
    with store(tmp_path) as s:
        assert s.rejected == [(1, "torn: the file has no complete header line", "\\xffjunk")]
    assert (tmp_path / RESULTS_FILE).read_text() == "name,seed,value\n"


def test_typed_cells_must_be_as_written(tmp_path):
    with store(tmp_path) as s:
        s.append({"name": "w", "seed": 0, "value": 1.5})
    with open(tmp_path / RESULTS_FILE, "a") as fh:
        fh.write("w,1,1e5\nw,2, 2.5\nw,3,2.5\nw,+4,2.5\n")
    with ResultStore(tmp_path, {"a": 1, "b": [1, 2]}, columns=COLS, key_columns=KEYS,
                     types={"seed": int, "value": float}) as s:
        assert s.n_done == 2 and s.is_done({"name": "w", "seed": 3})
        assert [(n, reason) for n, reason, _ in s.rejected] == [
            (3, "cell `value` = '1e5' is not a float as fpnorm writes it"),
            (4, "cell `value` = ' 2.5' is not a float as fpnorm writes it"),
            (6, "cell `seed` = '+4' is not an integer as fpnorm writes it")]


def test_a_header_that_is_not_the_table_is_refused(tmp_path):
    with store(tmp_path):
        pass
    (tmp_path / RESULTS_FILE).write_bytes(b"na\xffme,seed,value\nw,0,1.5\n")
    with pytest.raises(ValueError, match=r"to have the columns \['name', 'seed', 'value'\], got 'na\\\\xffme,seed"):
        store(tmp_path).open()
