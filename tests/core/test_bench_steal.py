"""The window benchmark reports the hypervisor's steal beside its figures (session 8: a
GUI turn needing 13 ms of CPU took 35-45 ms of wall time while 15-39 % of the machine's
CPU time went to other guests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_window.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_window_for_test", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_window_for_test", None)


def test_steal_share_is_the_steal_ticks_over_all_ticks(bench):
    before = [100, 0, 50, 800, 0, 0, 0, 50]
    after = [200, 0, 60, 900, 0, 0, 0, 90]  # 250 ticks, 40 of them stolen
    assert bench.steal_share(before, after) == pytest.approx(40 / 250)
    assert bench.steal_share(before, before) is None  # no time passed
    assert bench.steal_share([], after) is None  # not counted (not Linux)


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux only")
def test_cpu_times_reads_the_eight_counters(bench):
    times = bench.cpu_times()
    assert len(times) == 8 and all(t >= 0 for t in times) and sum(times) > 0
