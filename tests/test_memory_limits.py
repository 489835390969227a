"""Memory limits that are the process's limits: the readers of /proc and the cgroup files, and every path that
allocates in proportion to the problem refusing, under a real ``RLIMIT_AS`` in a child process, with fpnorm's
:class:`~fpnorm.exceptions.MemoryEstimateError` naming the sizes, the limit and what to change -- before allocating.

The readers are fed fake ``/proc`` and cgroup v1/v2 trees built in ``tmp_path``; the expected numbers are the
arithmetic of the files written (limit less usage, the least over the levels).
"""

import json
import re
import resource
import subprocess
import sys
import textwrap

import pytest

from fpnorm._internal import memory
from fpnorm._internal.memory import (
    MemoryLimit,
    binding_limit,
    cgroup_limits,
    cgroup_paths,
    meminfo_available,
    memory_limits,
    rlimit_limits,
    status_bytes,
)
from fpnorm.exceptions import MemoryEstimateError

GiB, MiB = 2**30, 2**20
UNLIMITED_V1 = "9223372036854771712\n"   # what cgroup v1 writes for "no limit" (2^63 - 4096)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -- /proc/meminfo and /proc/self/status ----------------------------------------------------------------------------
class TestProcReaders:
    def test_meminfo(self):
        text = "MemTotal:       16384000 kB\nMemFree:  100 kB\nMemAvailable:    8192000 kB\n"
        assert meminfo_available(text) == 8192000 * 1024

    @pytest.mark.parametrize("text", [None, "", "MemTotal: 5 kB\n", "MemAvailable: lots kB\n", "MemAvailable:\n",
                                      "MemAvailable: -5 kB\n"])
    def test_meminfo_missing_or_garbled(self, text):
        assert meminfo_available(text) is None

    def test_status_fields(self):
        text = "Name:\tpython\nVmPeak:\t  900000 kB\nVmSize:\t  812345 kB\nVmData:\t  123 kB\n"
        assert status_bytes(text, "VmSize") == 812345 * 1024
        assert status_bytes(text, "VmData") == 123 * 1024
        assert status_bytes(text, "VmRSS") is None


# -- RLIMIT_AS / RLIMIT_DATA ----------------------------------------------------------------------------------------
class TestRlimits:
    STATUS = "VmSize:\t  524288 kB\nVmData:\t  131072 kB\n"      # 512 MiB of address space, 128 MiB of data

    def test_limits_less_usage(self):
        got = {lim.source: lim for lim in rlimit_limits(self.STATUS, {"AS": 2 * GiB, "DATA": GiB})}
        assert got["RLIMIT_AS (ulimit -v)"].available == 2 * GiB - 512 * MiB
        assert got["RLIMIT_DATA (ulimit -d)"].available == GiB - 128 * MiB
        assert "512.0 MiB in use (VmSize)" in got["RLIMIT_AS (ulimit -v)"].detail

    @pytest.mark.parametrize("value", [resource.RLIM_INFINITY, -1, None, 1 << 62])
    def test_unlimited(self, value):
        assert rlimit_limits(self.STATUS, {"AS": value, "DATA": value}) == []

    def test_usage_unreadable_takes_whole_limit(self):
        (lim,) = rlimit_limits(None, {"AS": 3 * GiB})
        assert lim.available == 3 * GiB

    def test_usage_above_limit_is_zero(self):
        (lim,) = rlimit_limits(self.STATUS, {"AS": 100 * MiB})
        assert lim.available == 0


# -- cgroups ---------------------------------------------------------------------------------------------------------
class TestCgroups:
    def test_paths(self):
        assert cgroup_paths("0::/a/b\n") == ("/a/b", None)
        assert cgroup_paths("12:cpu,cpuacct:/x\n4:memory:/docker/c1\n1:name=systemd:/y\n") == (None, "/docker/c1")
        assert cgroup_paths("4:memory,hugetlb:/m\n0::/u\n") == ("/u", "/m")
        assert cgroup_paths(None) == (None, None)
        assert cgroup_paths("garbage\n\n3:cpu\n") == (None, None)

    def test_v2_own_level(self, tmp_path):
        write(tmp_path / "memory.max", "max\n")
        write(tmp_path / "a/b/memory.max", f"{GiB}\n")
        write(tmp_path / "a/b/memory.current", f"{256 * MiB}\n")
        (lim,) = cgroup_limits("0::/a/b\n", str(tmp_path))
        assert lim.available == GiB - 256 * MiB
        assert lim.source.startswith("cgroup v2 memory limit") and "a/b/memory.max" in lim.source

    def test_v2_ancestor_binds(self, tmp_path):
        write(tmp_path / "a/memory.max", f"{512 * MiB}\n")
        write(tmp_path / "a/memory.current", f"{400 * MiB}\n")          # siblings use most of the parent's limit
        write(tmp_path / "a/b/memory.max", f"{GiB}\n")
        write(tmp_path / "a/b/memory.current", f"{10 * MiB}\n")
        limits = cgroup_limits("0::/a/b\n", str(tmp_path))
        assert sorted(lim.available for lim in limits) == [112 * MiB, GiB - 10 * MiB]
        assert binding_limit(limits).available == 112 * MiB

    @pytest.mark.parametrize("text", ["max\n", "", "garbage\n", "-1\n", UNLIMITED_V1])
    def test_v2_no_limit(self, tmp_path, text):
        write(tmp_path / "s/memory.max", text)
        write(tmp_path / "s/memory.current", "12345\n")
        assert cgroup_limits("0::/s\n", str(tmp_path)) == []

    def test_v2_usage_missing_counts_zero(self, tmp_path):
        write(tmp_path / "s/memory.max", f"{GiB}\n")
        (lim,) = cgroup_limits("0::/s\n", str(tmp_path))
        assert lim.available == GiB

    def test_v2_container_sees_its_cgroup_at_the_root(self, tmp_path):
        # /proc/self/cgroup names the host's path, which the container's mount does not show: the root's files bind
        write(tmp_path / "memory.max", f"{2 * GiB}\n")
        write(tmp_path / "memory.current", f"{GiB}\n")
        (lim,) = cgroup_limits("0::/kubepods/pod1/c1\n", str(tmp_path))
        assert lim.available == GiB

    def test_v1(self, tmp_path):
        base = tmp_path / "memory"
        write(base / "memory.limit_in_bytes", UNLIMITED_V1)
        write(base / "docker/c1/memory.limit_in_bytes", f"{2 * GiB}\n")
        write(base / "docker/c1/memory.usage_in_bytes", f"{1536 * MiB}\n")
        (lim,) = cgroup_limits("4:memory:/docker/c1\n0::/\n", str(tmp_path))
        assert lim.available == 512 * MiB and lim.source.startswith("cgroup v1")

    def test_v1_unlimited_everywhere(self, tmp_path):
        write(tmp_path / "memory/job/memory.limit_in_bytes", UNLIMITED_V1)
        write(tmp_path / "memory/job/memory.usage_in_bytes", "585052160\n")
        assert cgroup_limits("4:memory:/job\n", str(tmp_path)) == []

    def test_hybrid_takes_both(self, tmp_path):
        write(tmp_path / "memory/j/memory.limit_in_bytes", f"{4 * GiB}\n")
        write(tmp_path / "memory/j/memory.usage_in_bytes", f"{GiB}\n")
        write(tmp_path / "u/memory.max", f"{GiB}\n")
        write(tmp_path / "u/memory.current", f"{100 * MiB}\n")
        limits = cgroup_limits("4:memory:/j\n0::/u\n", str(tmp_path))
        assert sorted(lim.available for lim in limits) == [GiB - 100 * MiB, 3 * GiB]

    def test_no_cgroup_files(self, tmp_path):
        assert cgroup_limits("0::/a\n4:memory:/b\n", str(tmp_path / "absent")) == []


# -- all of them together ---------------------------------------------------------------------------------------------
class TestMemoryLimits:
    def fake(self, tmp_path, meminfo_kb, vmsize_kb, cgroup_max, cgroup_current):
        proc = tmp_path / "proc"
        write(proc / "meminfo", f"MemTotal: 99999999 kB\nMemAvailable: {meminfo_kb} kB\n")
        write(proc / "self/status", f"VmSize:\t{vmsize_kb} kB\nVmData:\t{vmsize_kb // 2} kB\n")
        write(proc / "self/cgroup", "0::/job\n")
        write(tmp_path / "cg/job/memory.max", f"{cgroup_max}\n")
        write(tmp_path / "cg/job/memory.current", f"{cgroup_current}\n")
        return dict(proc=str(proc), cgroup_root=str(tmp_path / "cg"))

    @pytest.mark.parametrize("case, expected_source", [
        ((16 * 2**20, 2**20, "max", 0, {"AS": 4 * GiB}), "RLIMIT_AS"),            # 3 GiB under ulimit -v
        ((2 * 2**20, 2**20, "max", 0, {"AS": 4 * GiB}), "MemAvailable"),          # 2 GiB free on the machine
        ((16 * 2**20, 2**20, GiB, 200 * MiB, {"AS": 4 * GiB}), "cgroup v2"),      # 824 MiB left in the cgroup
        ((16 * 2**20, 2**20, "max", 0, {"DATA": 2 * GiB}), "RLIMIT_DATA"),       # 2 GiB less 512 MiB of data
    ])
    def test_least_binds(self, tmp_path, case, expected_source):
        meminfo_kb, vmsize_kb, cg_max, cg_cur, rlimits = case
        limits = memory_limits(**self.fake(tmp_path, meminfo_kb, vmsize_kb, cg_max, cg_cur), rlimits=rlimits)
        arithmetic = {"RLIMIT_AS": rlimits.get("AS", 0) - vmsize_kb * 1024, "MemAvailable": meminfo_kb * 1024,
                      "cgroup v2": (cg_max if cg_max != "max" else 0) - cg_cur,
                      "RLIMIT_DATA": rlimits.get("DATA", 0) - vmsize_kb // 2 * 1024}
        least = binding_limit(limits)
        assert least.source.startswith(expected_source)
        assert least.available == arithmetic[expected_source]
        assert least.available == min(lim.available for lim in limits)

    def test_nothing_readable_falls_back(self, tmp_path):
        limits = memory_limits(proc=str(tmp_path / "none"), cgroup_root=str(tmp_path / "none"), rlimits={})
        assert limits == []
        assert binding_limit(limits).available > 0

    def test_message_names_sizes_and_limit(self, monkeypatch):
        fake = MemoryLimit(GiB, "RLIMIT_AS (ulimit -v)", "limit 2.0 GiB, 1.0 GiB in use (VmSize)")
        monkeypatch.setattr(memory, "memory_limits", lambda **kw: [fake])
        monkeypatch.setattr(memory, "_CACHE", [-1e9, None, None])
        memory.check_memory(int(0.8 * GiB), "a plan")                   # within the headroom: no error
        expected = (r"^the thing needs about 1\.5 GiB, but only 1\.0 GiB is available\. Use less\. Bound by RLIMIT_AS "
                    r"\(ulimit -v\): limit 2\.0 GiB, 1\.0 GiB in use \(VmSize\); at most 80% of it")
        with pytest.raises(MemoryEstimateError, match=expected) as err:
            memory.check_memory(int(1.5 * GiB), "the thing", "Use less.")
        assert (err.value.required, err.value.available, err.value.limit) == (int(1.5 * GiB), GiB,
                                                                               "RLIMIT_AS (ulimit -v)")


# -- hostile inputs under a real RLIMIT_AS, in one child process -----------------------------------------------------
# The child builds every input first (np.zeros: untouched pages), then limits its address space to what it uses plus
# LIMIT_MIB, then runs each case and reports the exception, its message and its peak resident memory so far.
LIMIT_MIB = 512
CHILD = textwrap.dedent(f"""
    import json, resource, sys, time, warnings
    import numpy as np
    from fpnorm import FPInterpolator, PowerLaw, Sobolev, fp_norm
    from fpnorm import transforms
    from fpnorm.solvers.certify import certified_values
    from fpnorm.solvers.dense import solve_cholesky
    from fpnorm.solvers.periodic1d import solve_limit
    from fpnorm.solvers.problem import Problem
    from fpnorm.solvers.qr import solve_qr
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    x30k = rng.random(30000)
    x6 = rng.random((20, 6))
    g6 = np.zeros((17,) * 6)                       # the box of Sobolev(3, dim=6), K = 8: 24137569 modes
    c6 = np.zeros((17,) * 6, dtype=complex)
    d6 = Problem(2 * np.pi * x6, np.ones((20, 1)), 6, np.ones((13,) * 6))   # 4826809 modes
    big_points = np.zeros(10**7)
    big_h_ini = np.zeros(10**7 + 1, dtype=complex)
    big_query = np.zeros(3 * 10**7)
    coef3 = np.zeros((201,) * 3, dtype=complex)
    t3 = rng.random((1 << 18, 3))
    z1m = np.sort(rng.random(10**6))
    small = FPInterpolator([0.1, 0.4, 0.7], [1.0, 0.0, 2.0], weight=PowerLaw(p=4), K=8)
    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    limit = status("VmSize") + {LIMIT_MIB} * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cases = {{
        "cholesky": lambda: FPInterpolator(x30k, np.sin(6 * x30k), weight=PowerLaw(p=4), K=15000, method="cholesky"),
        "qr": lambda: FPInterpolator(x30k[:12000], x30k[:12000], weight=PowerLaw(p=4), K=6000, method="qr"),
        "cholesky_d6": lambda: solve_cholesky(d6),
        "sobolev_d6": lambda: FPInterpolator(x6, x6[:, 0], weight=Sobolev(3, dim=6), K=8),
        "direct_kernel_d6": lambda: transforms.kernel_matrix(2 * np.pi * x6, g6),
        "direct_evaluate_d6": lambda: transforms.evaluate(c6, 2 * np.pi * x6),
        "box_d2": lambda: FPInterpolator(x6[:, :2], x6[:, 0], weight=PowerLaw(p=4, dim=2), K=3000),
        "k_none_points": lambda: FPInterpolator(big_points, big_points, weight=PowerLaw(p=4), K=None),
        "k_none_solve": lambda: solve_limit(PowerLaw(p=4), z1m, np.ones((10**6, 1))),
        "exact_kernel": lambda: FPInterpolator(x30k[:5000], x30k[:5000], weight=Sobolev(1), K=None),
        "h_ini": lambda: FPInterpolator(x30k[:5], x30k[:5], weight=PowerLaw(p=4), K=8, h_ini=big_h_ini),
        "query": lambda: small(big_query),
        "tol": lambda: FPInterpolator(x30k[:2000], x30k[:2000], weight=PowerLaw(p=4), K=20000, tol=1e-3),
        "bounds": lambda: FPInterpolator(x6[:, :2], x6[:, 0], weight=PowerLaw(p=4, dim=2), K=600, lower=-1, upper=2),
        "certified": lambda: certified_values(coef3, t3),
        "fp_norm_coefficients": lambda: fp_norm(c6, Sobolev(3, dim=6)),
        "truncated_qr": lambda: solve_qr(Problem(2 * np.pi * x30k[:9000, None], np.ones((9000, 1)), 5000,
                                                  PowerLaw(p=4).box(5000))),
    }}
    for name, run in cases.items():
        start = time.perf_counter()
        try:
            run()
            out = dict(error=None, message="")
        except BaseException as exc:
            out = dict(error=type(exc).__name__, message=str(exc))
        # VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across fork and exec
        out.update(name=name, seconds=time.perf_counter() - start, peak_mib=status("VmHWM") / 2**20)
        print(json.dumps(out), flush=True)
""")


@pytest.fixture(scope="module")
def hostile():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert rows, proc.stderr[-3000:]
    return {row["name"]: row for row in rows}


SIZE = r"needs about [\d.]+ [KMGT]i?B, but only [\d.]+ [KMGT]i?B is available\."
EXPECTED = {
    "cholesky": r"^the Cholesky solve's 30000 x 30000 kernel matrix, its projection and factor needs about 27\.0 GiB",
    "cholesky_d6": r"^the Cholesky solve's 20 x 20 kernel matrix, its projection and factor \(direct sums over "
                   r"4826809 modes in d = 6\) needs about 6\.5 GiB",
    "qr": r"^the QR solve \(12000 points x 12001 modes\) " + SIZE,
    "sobolev_d6": r"^the coefficient box \|k\|_inf <= 8 in d = 6 \(24137569 modes\) " + SIZE + " Use a smaller `K`",
    "direct_kernel_d6": r"^the 20 x 20 kernel matrix by a direct sum over 24137569 modes \(d = 6\) " + SIZE,
    "direct_evaluate_d6": r"^evaluating at 20 points: a direct sum of 1 points x 24137569 modes \(d = 6, K = 8\)",
    "box_d2": r"^the coefficient box \|k\|_inf <= 3000 in d = 2 \(36012001 modes\) " + SIZE,
    "k_none_points": r"^checking 10000000 points of `points` in d = 1 needs about 1\.7 GiB",
    "k_none_solve": r"^the exact K = None solve of 1000000 points \(1 right-hand side\(s\)\) needs about 976\.6 MiB",
    "exact_kernel": r"^the 5000 x 5000 closed-form kernel matrix of the exact K = None solve needs about 1\.9 GiB",
    "h_ini": r"^the `h_ini` coefficient array of shape \(10000001,\) needs about 610\.4 MiB",
    "query": r"^checking 30000000 points of `query` in d = 1 needs about 743\.9 MiB",
    "tol": r"^the constrained solve \(2000 points x 40001 modes\) needs about 4\.8 GiB",
    "bounds": r"^the constrained solve \(20 points x 1442401 modes\) needs about 1\.7 GiB",
    "certified": r"^the certified sums at 262144 points over 8120601 modes \(d = 3\) " + SIZE,
    "fp_norm_coefficients": r"^the `f` coefficient array of shape \(17, 17, 17, 17, 17, 17\) needs about 1\.4 GiB",
    "truncated_qr": r"^the QR solve \(9000 points x 10001 modes\) " + SIZE,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_input_refused_before_allocating(hostile, name):
    row = hostile[name]
    assert row["error"] == "MemoryEstimateError", row
    assert re.search(EXPECTED[name], row["message"]), row["message"]
    # the binding limit is the child's RLIMIT_AS, named with its numbers
    assert "Bound by RLIMIT_AS (ulimit -v): limit " in row["message"], row["message"]
    # nothing in proportion to the problem was allocated: the inputs are untouched zero pages and fpnorm's import
    # needs about 100 MiB resident (a raw attempt would have touched hundreds of MiB before failing)
    assert row["peak_mib"] < 400, row


def test_child_sees_its_rlimit():
    code = textwrap.dedent("""
        import resource
        from fpnorm._internal import memory
        size = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize:")][0]
        resource.setrlimit(resource.RLIMIT_AS, (size + 300 * 2**20, size + 300 * 2**20))
        print(memory.available_memory(), size + 300 * 2**20)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    available, limit = map(int, out.stdout.split())
    # the limit less what the process uses when it reads it: at most the 300 MiB left when the limit was set
    assert 250 * MiB < available <= 300 * MiB, (available, limit)
