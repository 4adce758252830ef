"""Shared test set-up: Qt runs offscreen; no test may leave a stray top-level widget."""

import gc
import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Top-level widgets Qt makes by itself and keeps (popup menus of combo boxes, tooltips).
_QT_OWN = ("QComboBoxPrivateContainer", "QTipLabel", "QMenu", "QWhatsThat")


def _top_levels() -> set[int] | None:
    if "PySide6.QtWidgets" not in sys.modules:
        return None
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return None
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return {
        id(w) for w in QApplication.topLevelWidgets()
        if type(w).__name__ not in _QT_OWN and w.metaObject().className() not in _QT_OWN
        and w.isVisible()
    }


@pytest.fixture(autouse=True)
def no_stray_widgets():
    """Fail a test that leaves a visible top-level widget behind (a window it opened and
    never closed, an error box nobody dismissed): it would leak into the next tests."""
    before = _top_levels() or set()
    yield
    after = _top_levels()
    if after is None:
        return
    stray = after - before
    if stray:
        from PySide6.QtWidgets import QApplication

        widgets = [w for w in QApplication.topLevelWidgets() if id(w) in stray]
        names = [f"{type(w).__name__}({w.objectName() or w.windowTitle()!r})" for w in widgets]
        for w in widgets:  # do not let it poison the next test
            w.close()
            w.deleteLater()
        pytest.fail(f"the test left {len(stray)} top-level widget(s) open: {names}")


@pytest.fixture(autouse=True)
def garbage_collected_on_the_test_thread():
    """As the app does (biasviz.gui.app): no automatic garbage collection while a test
    runs, a collection on this (the GUI) thread after it.  Otherwise a training thread
    that happens to trigger the collector destroys Qt objects left by earlier tests, off
    the GUI thread, and can deadlock with it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@pytest.fixture(autouse=True)
def no_installed_datasets(monkeypatch):
    """No test sees the datasets a system package installed on this machine
    (/usr/share/datasets/fashion-mnist): a test of the Fashion-MNIST download, offline or
    from a fake server, would read that copy instead.  Tests of installed copies point
    SYSTEM_DATASET_DIRS at folders of their own."""
    from biasviz.core.datasets import download

    monkeypatch.setattr(download, "SYSTEM_DATASET_DIRS", ())
