"""PySide6's import hook checks every module imported after it for PySide6; biasviz.gui
makes that check without keeping the module's lines in ``linecache`` (with torch, ~35 MiB
of the window's memory), and with the same answers."""

from __future__ import annotations

import linecache
import sys

import pytest

import biasviz.gui  # noqa: F401 - installs the check


def test_modules_imported_later_are_classified_as_before_and_not_cached(tmp_path, monkeypatch):
    feature = sys.modules.get("PySide6.support.feature")
    table = getattr(feature, "pyside_feature_dict", None)
    if not isinstance(table, dict):
        pytest.skip("this PySide6 has no feature table")
    assert getattr(feature._mod_uses_pyside, "_biasviz_uncached", False)
    (tmp_path / "biasviz_probe_qt.py").write_text(
        "# a module of a Qt app\nimport PySide6.QtCore\nVALUE = 1\n")
    (tmp_path / "biasviz_probe_plain.py").write_text("VALUE = 2\n" * 1000)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        # an import statement (PySide6 hooks __import__, which importlib bypasses)
        __import__("biasviz_probe_qt")
        __import__("biasviz_probe_plain")
        # PySide6's meaning: 0 = uses PySide6 (plain API), -1 = ignore this module
        assert table["biasviz_probe_qt"] == 0
        assert table["biasviz_probe_plain"] == -1
        cached = [name for name in linecache.cache if "biasviz_probe_" in name]
        assert cached == []
    finally:
        for name in ("biasviz_probe_qt", "biasviz_probe_plain"):
            sys.modules.pop(name, None)
            table.pop(name, None)
