"""Shared by the reliability tests: the long mode, case counting, memory measurement.

``BIASVIZ_LONG_TESTS=1`` switches every fuzz test to its long budget (more hypothesis
examples, random instead of fixed seeds, more GUI actions, longer runs).  The default
budget keeps the whole reliability suite within a few minutes on a 2-core machine.

Every test records how many cases it tried under a category name; the counts are
printed at the end of the run (see ``conftest.py``) and are the numbers quoted in
docs/RELIABILITY.md.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import HealthCheck, settings

LONG = os.environ.get("BIASVIZ_LONG_TESTS", "").strip() not in ("", "0")

CASES: collections.Counter[str] = collections.Counter()


def budget(ci: int, long: int) -> int:
    """``long`` in the long mode, else ``ci``."""
    return long if LONG else ci


def fuzz(ci: int, long: int) -> settings:
    """Hypothesis settings: fixed examples for CI (derandomized), random ones when long."""
    return settings(
        max_examples=budget(ci, long),
        deadline=None,
        derandomize=not LONG,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


def record(category: str, n: int = 1) -> None:
    CASES[category] += n


# -- memory --------------------------------------------------------------------------------
def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float | None:
    """Resident memory of this process now (Linux), in MiB."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024


def _reset_peak() -> bool:
    """Make VmHWM (peak RSS) start again from the current RSS; False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


@dataclass
class Peak:
    """How far memory rose above where it was during a block, in MiB."""

    rss_mb: float | None = None  # peak RSS growth (Linux): every allocation, new pages only
    traced_mb: float = 0.0  # tracemalloc: what Python and numpy allocated, reused or not

    @property
    def growth_mb(self) -> float:
        return max(self.rss_mb or 0.0, self.traced_mb)

    @property
    def method(self) -> str:
        rss = "n/a" if self.rss_mb is None else f"{self.rss_mb:.0f}"
        return f"peak RSS +{rss} MiB, tracemalloc +{self.traced_mb:.0f} MiB"


@contextlib.contextmanager
def peak_memory() -> Iterator[Peak]:
    """Measure the peak memory growth of the block, two ways.

    On Linux the kernel's peak-RSS counter (VmHWM) is reset first, so every allocation
    that needs new pages counts (numpy, torch, Pillow, zlib alike); tracemalloc counts
    what Python and numpy allocate even when it reuses freed memory.  ``growth_mb`` is
    the larger of the two.
    """
    peak = Peak()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    traced_before = tracemalloc.get_traced_memory()[0]
    rss_before = _status_kb("VmRSS") if sys.platform.startswith("linux") and _reset_peak() else None
    try:
        yield peak
    finally:
        peak.traced_mb = max(0, tracemalloc.get_traced_memory()[1] - traced_before) / 2**20
        if started:
            tracemalloc.stop()
        if rss_before is not None:
            peak.rss_mb = max(0, (_status_kb("VmHWM") or 0) - rss_before) / 1024
