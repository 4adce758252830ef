"""Prints how many cases each reliability test category tried (see reliability_helpers)."""

from __future__ import annotations

import reliability_helpers


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pytest hook
    cases = reliability_helpers.CASES
    if not cases:
        return
    mode = "long" if reliability_helpers.LONG else "default (CI)"
    terminalreporter.section(f"reliability cases tried, {mode} mode")
    width = max(len(k) for k in cases)
    for name in sorted(cases):
        terminalreporter.write_line(f"{name:<{width}}  {cases[name]:>7,}")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(cases.values()):>7,}")
