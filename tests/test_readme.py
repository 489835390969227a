"""README.md is a contract: its set-up commands, quickstart, CLI examples and module map must match the code."""

import re
import shlex
from pathlib import Path

import numpy as np

from fpnorm import FPInterpolator
from fpnorm.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.S)


def test_setup_commands_are_cis_contract():
    setup = BASH_BLOCKS[0]
    assert ("python3 -m venv .venv && .venv/bin/python -m pip install -q . && .venv/bin/fpnorm demo") in setup
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in setup


def test_quickstart_is_ten_lines_and_runs(monkeypatch, tmp_path, capsys):
    quick = README.split("## Quickstart", 1)[1]
    block = re.search(r"```python\n(.*?)```", quick, re.S).group(1)
    assert len([ln for ln in block.splitlines() if ln.strip()]) <= 10
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README quickstart", "exec"), {})
    out = capsys.readouterr().out
    assert "(257,)" in out


def test_every_python_block_runs_in_order(monkeypatch, tmp_path):
    """The README reads top to bottom: later blocks may use names from earlier ones, as in one session."""
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for index, block in enumerate(PYTHON_BLOCKS):
        exec(compile(block, f"README block {index}", "exec"), namespace)
    assert len(PYTHON_BLOCKS) >= 2


def test_cli_examples_run(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    x = np.sort(rng.random(6)) * 4
    np.savetxt("x.csv", x, delimiter=",", header="x")
    np.savetxt("y.csv", np.sin(x), delimiter=",")
    np.save("xy.npy", rng.random((8, 2)))
    np.save("z.npy", rng.standard_normal(8))
    np.save("grid.npy", rng.random((5, 2)))
    cli = BASH_BLOCKS[1]
    lines = [ln.split("#", 1)[0].strip() for ln in cli.splitlines() if ln.startswith("fpnorm ")]
    assert {shlex.split(ln)[1] for ln in lines} == set(COMMANDS)  # every subcommand is shown
    for line in lines:
        argv, _, redirect = line.partition(">")
        assert main(shlex.split(argv)[1:]) == 0, (line, capsys.readouterr().err)
        if redirect.strip():
            Path(redirect.strip()).write_text(capsys.readouterr().out)
            assert Path(redirect.strip()).stat().st_size > 0
    with np.load("h.eval.npz", allow_pickle=False) as z:
        query, evaluations = z["query"], z["evaluations"]
    assert evaluations.shape == (5,)
    assert np.array_equal(FPInterpolator.load("h.npz")(query), evaluations)  # the last example's interpolant


def test_module_map_names_only_existing_files_and_every_module():
    arch = README.split("## Architecture", 1)[1]
    paths = re.findall(r"`((?:fpnorm|notebooks|tests|benchmarks)/[\w/.]*)`", arch)
    assert len(paths) >= 10
    for p in paths:
        assert (ROOT / p).exists(), p
    for module in (ROOT / "fpnorm").glob("**/*.py"):  # every module has its line (package files aside)
        if module.name not in ("__init__.py", "__main__.py"):
            assert f"{module.name}`" in arch, module.relative_to(ROOT)
    for name in re.findall(r"`(\w+\.py)`", arch):
        assert any(list(ROOT.glob(f"{top}/**/{name}")) for top in ("fpnorm", "notebooks", "benchmarks", "tests")), name


def test_notebooks_named_in_the_readme_exist():
    for name in re.findall(r"`(\d\d_\w+)`", README):
        assert (ROOT / "notebooks" / f"{name}.ipynb").exists(), name


def test_benchmark_numbers_are_quoted_from_results():
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    section = README.split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| d=")]
    assert len(rows) >= 3
    for row in rows:
        assert row.split("|")[1].strip() in results  # the case name
        for number in re.findall(r"\d+\.\d+(?:e[-+]\d+)?x?", row):
            assert number in results, (number, row)
