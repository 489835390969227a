"""Sweeps survive their own files and give the same bytes on every scheduler.

Every corruption is made here from the results.csv of a real small sweep; a resume must set the bad line aside into
results.rejected.csv (line number, reason, the line itself), rerun exactly the tasks left without a row, say how
many lines it set aside, and end with the same file as an undisturbed run (the ``seconds`` cells aside).
"""

import csv
import hashlib
import io
import json
import shutil

import pytest
from threadpoolctl import threadpool_limits

from fpnorm import sweeps
from fpnorm._internal.threads import blas_thread_counts
from fpnorm._sweep.store import CONFIG_FILE, REJECTED_FILE, RESULTS_FILE, config_fingerprint
from fpnorm.cli import main
from fpnorm.sweeps import COLUMNS, KEY_COLUMNS, ROW_SCHEMA, parse_config, read_results, run_sweep, run_trial

# The tiny sweep of test_sweeps.py: 2 weights x 2 K x 3 M x 2 seeds = 24 tasks, each a solve with at most 12 points.
TINY = {"weights": ["power:p=4,zero=1", "sobolev:s=2"], "K": [8, 16], "M": [3, 6, 12], "seeds": 2,
        "target": "sin", "delta": 0.05, "risk": {"n": 2000}}
RISK = COLUMNS.index("risk")


def without_seconds(out):
    """results.csv as bytes with the wall-clock cells (the last column) removed: what must not depend on the run."""
    assert COLUMNS[-1] == "seconds"
    return b"\n".join(line.rsplit(b",", 1)[0] for line in (out / RESULTS_FILE).read_bytes().split(b"\n"))


def csv_line(cells):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue().encode()


def cells(line):
    return next(csv.reader([line.decode()]))


def edit(line, column, value):
    c = cells(line)
    c[COLUMNS.index(column)] = value
    return csv_line(c)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    rep = run_sweep(TINY, out, workers=0, figure=False)
    assert rep.complete and rep.n_run == 24 and rep.n_rejected == 0 and rep.rejected is None
    return out


def copy_of(reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    return out


# Each corruption: how to make it from the reference file's lines (header, 24 rows, b""), the line it hits, the
# reason recorded, and the tasks a resume must rerun.
def bad_risk_in_last_row(lines):
    lines[-2] = edit(lines[-2], "risk", "0.0x1")
    return 25, "cell `risk` = '0.0x1' is not a float as fpnorm writes it", 1


def underscore_number(lines):  # Python's float('0_45') is 45.0
    lines[10] = edit(lines[10], "risk", "0_45")
    return 11, "cell `risk` = '0_45' is not a float as fpnorm writes it", 1


def leading_zero_key(lines):  # int('08') is 8: the row would otherwise count as the task K = 8
    lines[2] = edit(lines[2], "K", "08")
    return 3, "cell `K` = '08' is not an integer as fpnorm writes it", 1


def non_utf8_byte(lines):
    at = lines[5].index(b",ok,") + 2
    lines[5] = lines[5][:at] + b"\xff" + lines[5][at:]
    return 6, f"not UTF-8: byte 0xff at byte {at + 1} of the line", 1


def torn_last_line(lines):
    lines[-2] = lines[-2][:40]
    lines.pop()  # no newline after it: a crash in the middle of the write
    return 25, "torn: the last line has no newline (an interrupted write)", 1


def truncated_middle_line(lines):
    lines[7] = lines[7][:40]
    return 8, f"torn: {len(cells(lines[7]))} cell(s), expected {len(COLUMNS)}", 1


def two_rows_on_one_line(lines):  # a crash tore a line, a later run appended without a newline
    lines[9] = lines[9][:40] + lines[10]
    del lines[10]
    return 10, f"torn: {len(cells(lines[9]))} cell(s), expected {len(COLUMNS)}", 2


def unclosed_quote(lines):
    lines[3] = lines[3].replace(b'"power', b'"power"x', 1)
    return 4, "not one CSV row (',' expected after '\"')", 1


def seed_edited(lines):  # seed 1 -> 9: a task the config does not have
    lines[12] = edit(lines[12], "seed", "9")
    weight, K, M, seed = cells(lines[12])[:4]
    return 13, f"the task (weight={weight!r}, K={K}, M={M}, seed=9) is not in the config", 1


def fixed_column_edited(lines):  # delta is the config's, not the row's
    lines[4] = edit(lines[4], "delta", "0.1")
    return 5, "cell `delta` = '0.1' differs from the config's '0.05'", 1


def duplicated_row(lines):
    lines.insert(-1, lines[3])
    return 26, "a second row of the task of line 4 (kept)", 0


def duplicated_key_other_numbers(lines):
    lines.insert(-1, edit(lines[3], "risk", "0.5"))
    return 26, "a second row of the task of line 4 (kept)", 0


CORRUPTIONS = [bad_risk_in_last_row, underscore_number, leading_zero_key, non_utf8_byte, torn_last_line,
               truncated_middle_line, two_rows_on_one_line, unclosed_quote, seed_edited, fixed_column_edited,
               duplicated_row, duplicated_key_other_numbers]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_resume_sets_a_bad_line_aside_and_reruns_its_task(reference, tmp_path, corrupt):
    out = copy_of(reference, tmp_path)
    lines = (out / RESULTS_FILE).read_bytes().split(b"\n")
    number, reason, n_rerun = corrupt(lines)
    data = b"\n".join(lines)
    (out / RESULTS_FILE).write_bytes(data)
    bad_line = data.split(b"\n")[number - 1]
    rep = run_sweep(TINY, out, workers=0, figure=False)  # the summary figure is tested once, in the CLI test
    assert rep.n_rejected == 1 and rep.rejected == out / REJECTED_FILE
    assert (rep.n_run, rep.n_skipped, rep.complete) == (n_rerun, 24 - n_rerun, True)
    rejected = list(csv.reader(io.StringIO((out / REJECTED_FILE).read_text(encoding="utf-8"))))
    assert rejected == [["line", "reason", "row"],
                        [str(number), reason, bad_line.decode("utf-8", errors="backslashreplace")]]
    assert without_seconds(out) == without_seconds(reference)
    # a second resume finds nothing to set aside or run
    rejected_bytes = (out / REJECTED_FILE).read_bytes()
    rep = run_sweep(TINY, out, workers=0, figure=False)
    assert (rep.n_run, rep.n_skipped, rep.n_rejected, rep.complete) == (0, 24, 0, True)
    assert (out / REJECTED_FILE).read_bytes() == rejected_bytes


def test_the_cli_counts_rejections_and_writes_the_summary_of_a_complete_set(reference, tmp_path, capsys):
    out = copy_of(reference, tmp_path)
    cfg = tmp_path / "c.toml"
    cfg.write_text('weights = ["sobolev:s=2", "power:p=4,zero=1"]\nK = [16, 8]\nM = [12, 3, 6]\nseeds = [1, 0]\n'
                   'target = "sin"\ndelta = 0.05\n[risk]\nn = 2000\n')  # the same sweep, lists in another order
    lines = (out / RESULTS_FILE).read_bytes().split(b"\n")
    seed_edited(lines)
    bad_risk_in_last_row(lines)
    (out / RESULTS_FILE).write_bytes(b"\n".join(lines))
    assert main(["sweep", str(cfg), "--out", str(out), "--workers", "0"]) == 0
    text = capsys.readouterr().out
    assert "fpnorm sweep: 2 task(s) run, 22 already done, 24/24 in" in text
    assert f"set aside 2 line(s) of results.csv that were not rows of this sweep into {out / REJECTED_FILE}" in text
    assert f"wrote {out / 'summary.png'}" in text and (out / "summary.png").exists()
    assert without_seconds(out) == without_seconds(reference)
    (out / "summary.png").unlink()  # a resume that runs nothing writes the summary of the complete set
    assert main(["sweep", str(cfg), "--out", str(out), "--workers", "0"]) == 0
    text = capsys.readouterr().out
    assert "0 task(s) run, 24 already done, 24/24" in text and "set aside" not in text
    assert f"wrote {out / 'summary.png'}" in text and (out / "summary.png").exists()


def test_read_results_names_the_bad_line(reference, tmp_path):
    out = copy_of(reference, tmp_path)
    lines = (out / RESULTS_FILE).read_bytes().split(b"\n")
    bad_risk_in_last_row(lines)
    underscore_number(lines)
    (out / RESULTS_FILE).write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError, match=r"results.csv' to be a row of the sweep, but line 11 is not: cell `risk` = "
                                         r"'0_45' is not a float as fpnorm writes it \(2 such line\(s\)\)\. Run the "
                                         r"sweep again"):
        read_results(out)
    (out / RESULTS_FILE).write_bytes(b"\n".join((out / RESULTS_FILE).read_bytes().split(b"\n")[:10]))
    assert len(read_results(out)) == 8  # a last line without its newline is a write in progress: skipped


def test_limit_after_a_rejection_counts_what_ran(reference, tmp_path):
    out = copy_of(reference, tmp_path)
    lines = (out / RESULTS_FILE).read_bytes().split(b"\n")
    first = seed_edited(lines)[:2], truncated_middle_line(lines)[:2]
    (out / RESULTS_FILE).write_bytes(b"\n".join(lines))
    rep = run_sweep(TINY, out, workers=0, limit=1, figure=False)
    assert (rep.n_rejected, rep.n_run, rep.n_skipped, rep.complete, rep.figure) == (2, 1, 22, False, None)
    assert len(read_results(out)) == 23
    lines = (out / RESULTS_FILE).read_bytes().split(b"\n")
    later = non_utf8_byte(lines)[:2]
    (out / RESULTS_FILE).write_bytes(b"\n".join(lines))
    rep = run_sweep(TINY, out, workers=0, figure=False)
    assert (rep.n_rejected, rep.n_run, rep.n_skipped, rep.complete) == (1, 2, 22, True)
    assert without_seconds(out) == without_seconds(reference)
    rejected = list(csv.reader(io.StringIO((out / REJECTED_FILE).read_text(encoding="utf-8"))))
    expected = sorted(first) + [later]  # in line order within one resume; appended, never overwritten
    assert [row[:2] for row in rejected] == [["line", "reason"]] + [[str(n), reason] for n, reason in expected]


# -- the order of a config's lists ---------------------------------------------------------------------------------
def test_list_order_does_not_change_the_config(reference, tmp_path):
    shuffled = {**TINY, "weights": TINY["weights"][::-1], "K": [16, 8], "M": [6, 12, 3], "seeds": [1, 0]}
    assert parse_config(shuffled) == parse_config(TINY)
    assert parse_config(shuffled).tasks() == parse_config(TINY).tasks()
    assert config_fingerprint({"a": [3, 1, 2], "b": {"c": ["y", "x"]}}) == \
        config_fingerprint({"b": {"c": ["x", "y"]}, "a": [1, 2, 3]})
    out = copy_of(reference, tmp_path)
    rep = run_sweep(shuffled, out, workers=0, figure=False)
    assert (rep.n_run, rep.n_skipped, rep.complete) == (0, 24, True)
    with pytest.raises(ValueError, match=r"config keys that differ: M\)"):
        run_sweep({**shuffled, "M": [3, 6]}, out, workers=0)


def test_a_record_with_unsorted_lists_is_the_same_config(reference, tmp_path):
    # sweep.json as written before lists were sorted: config in the order given, fingerprint of that order
    out = copy_of(reference, tmp_path)
    record = json.loads((out / CONFIG_FILE).read_text())
    config = {**record["config"], "weights": record["config"]["weights"][::-1], "M": [12, 3, 6]}
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=True)
    (out / CONFIG_FILE).write_text(json.dumps({"config": config,
                                               "fingerprint": hashlib.sha256(text.encode()).hexdigest()}))
    rep = run_sweep(TINY, out, workers=0, figure=False)
    assert (rep.n_run, rep.n_skipped) == (0, 24)
    assert json.loads((out / CONFIG_FILE).read_text()) == record  # rewritten in the canonical form


# -- the same bytes on every scheduler -----------------------------------------------------------------------------
def test_interrupted_and_resumed_run_writes_the_same_bytes(reference, tmp_path, monkeypatch):
    real, calls = sweeps.run_trial, {"n": 0}

    def failing(task):
        calls["n"] += 1
        if calls["n"] == 9:
            raise RuntimeError("a worker died")
        return real(task)

    monkeypatch.setattr(sweeps, "run_trial", failing)
    with pytest.raises(RuntimeError, match="a worker died"):
        run_sweep(TINY, tmp_path, workers=0, figure=False)
    monkeypatch.setattr(sweeps, "run_trial", real)
    with open(tmp_path / RESULTS_FILE, "ab") as fh:
        fh.write((reference / RESULTS_FILE).read_bytes().split(b"\n")[20][:50])  # and a torn write
    rep = run_sweep(TINY, tmp_path, workers=0, figure=False)
    assert (rep.n_skipped, rep.n_run, rep.n_rejected, rep.complete) == (8, 16, 1, True)
    assert without_seconds(tmp_path) == without_seconds(reference)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_local_cluster_threads_write_the_same_bytes(reference, tmp_path, n_workers, monkeypatch):
    from dask.distributed import LocalCluster  # dask loads only for the tests that start a cluster

    # workers that are threads of this process share its BLAS; record its thread count inside every solve
    counts, real = [], sweeps.FPInterpolator

    def recording(*args, **kwargs):
        counts.append(max(blas_thread_counts(), default=1))
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps, "FPInterpolator", recording)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with threadpool_limits(2, user_api="blas"):  # the driver's BLAS would run on 2 threads if nothing pinned it
            rep = run_sweep(TINY, tmp_path, scheduler=cluster.scheduler_address, figure=False)
    assert rep.complete and rep.n_run == 24
    assert counts == [1] * 24
    assert without_seconds(tmp_path) == without_seconds(reference)


def test_serial_run_pins_one_blas_thread(tmp_path, monkeypatch):
    counts, real = [], sweeps.FPInterpolator

    def recording(*args, **kwargs):
        counts.append(max(blas_thread_counts(), default=1))
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps, "FPInterpolator", recording)
    cfg = {**TINY, "K": [8], "M": [3], "seeds": 1}
    with threadpool_limits(2, user_api="blas"):
        run_sweep(cfg, tmp_path, workers=0, figure=False)
        assert counts == [1, 1]
        run_trial(parse_config(cfg).tasks()[0])  # a task run on its own, as a dask worker does
    assert counts == [1, 1, 1]


def test_rows_do_not_depend_on_the_blas_thread_count():
    # a solve of 2049 modes through 700 points, large enough for a threaded BLAS to change its last bits (and
    # above the solver's own one-thread threshold): pinned, 1 and 2 BLAS threads give the same row
    task = parse_config({"weights": ["sobolev:s=2"], "K": [1024], "M": [700], "seeds": [0], "target": "sin",
                         "delta": 0.05, "risk": {"n": 64}}).tasks()[0]
    rows = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            rows.append({k: v for k, v in run_trial(task).items() if k != "seconds"})
    assert rows[0] == rows[1] and rows[0]["status"] == "ok"


def test_an_unpinned_blas_is_flagged_in_the_status(monkeypatch):
    monkeypatch.setattr(sweeps, "blas_thread_counts", lambda: [4])
    row = run_trial(parse_config({**TINY, "K": [8], "M": [3], "seeds": 1}).tasks()[0])
    assert row["status"] == ("warning: BLAS ran on 4 threads (another thread of this process holds the BLAS thread "
                             "switch), the numbers may differ in the last bits from a run on one thread")


def test_row_schema_is_the_one_list_of_columns():
    assert COLUMNS == tuple(name for name, _ in ROW_SCHEMA) and set(KEY_COLUMNS) <= set(COLUMNS)
    assert all(kind in (int, float, str) for _, kind in ROW_SCHEMA)
    assert set(run_trial(parse_config({**TINY, "K": [8], "M": [3], "seeds": 1}).tasks()[0])) == set(COLUMNS)
