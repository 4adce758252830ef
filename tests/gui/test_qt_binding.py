"""Guards against a broken Qt binding.

PySide6-Essentials 6.12.0 on CPython 3.11 decrements None's reference count on every call
of a method returning void (``QLabel.setText``, ``processEvents``...); after a few
thousand calls the interpreter aborts with "deallocating None".  pyproject.toml caps the
version; this test fails if a binding with that bug is ever installed.
"""

import sys

from PySide6.QtWidgets import QApplication, QLabel


def test_void_calls_do_not_leak_references_to_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    app = QApplication.instance()
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
        app.processEvents()
    after = sys.getrefcount(None)
    # A correct binding changes it by a handful at most; the broken one by -4000.
    assert after - before > -100, f"None lost {before - after} references"
