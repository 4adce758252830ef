"""pyqtgraph imported with lazy copies of PySide6's modules (start-up, issue 14): its Qt
names answer exactly as PySide6's, PySide6 is left as it was, most classes are never
created, and anything unexpected falls back to the ordinary import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pyqtgraph as pg

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def run_script(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, env=ENV)


def test_pyqtgraphs_qt_names_are_pyside6s():
    # in a fresh process: here, another test may have imported pyqtgraph first
    out = run_script("""
        import PySide6.QtCore, PySide6.QtGui, PySide6.QtWidgets
        import biasviz.gui
        import pyqtgraph as pg

        for mine, theirs in ((pg.QtCore, PySide6.QtCore), (pg.QtGui, PySide6.QtGui),
                             (pg.QtWidgets, PySide6.QtWidgets)):
            assert getattr(mine, "_biasviz_lazy_mirror", False), mine
            for name in ("QObject", "Qt", "Signal", "QPointF", "QColor", "QPainter",
                         "QWidget", "QGraphicsView", "QApplication"):
                if hasattr(theirs, name):
                    assert getattr(mine, name) is getattr(theirs, name), name
            assert set(dir(mine)) >= set(dir(theirs)) - {"__dir__"}
            # PySide6's own modules list their names again
            assert len(dir(theirs)) > 100, theirs
        assert pg.QtCore.__version__ == PySide6.QtCore.__version__
        assert pg.Qt.VERSION_INFO.startswith("PySide6 ")
        # what pyqtgraph adds to its copies is there; PySide6's modules are left alone
        assert pg.QtWidgets.QOpenGLWidget is not None
        assert "QOpenGLWidget" not in PySide6.QtWidgets.__dict__
        print("ok")
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_plot_works_with_the_lazy_names(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    curve = widget.plot([0, 1, 2], [1, 3, 2], pen=pg.mkPen((0, 0, 255), width=2))
    widget.show()
    qtbot.waitExposed(widget)
    assert curve.getData()[1].tolist() == [1, 3, 2]
    assert widget.grab().width() > 0


def test_classes_nobody_asked_for_are_not_created():
    out = run_script("""
        import PySide6.QtWidgets as w
        import biasviz.gui
        print(len(w.__dict__), len(dir(w)))
    """)
    assert out.returncode == 0, out.stderr
    created, listed = map(int, out.stdout.split())
    assert created < listed / 2


def test_an_unexpected_failure_falls_back_to_the_ordinary_import():
    out = run_script("""
        import sys
        import PySide6.QtCore

        class FailOnce:
            failed = False
            def find_spec(self, name, path=None, target=None):
                if name == "pyqtgraph.colors.palette" and not FailOnce.failed:
                    FailOnce.failed = True
                    raise ImportError("injected")
                return None

        sys.meta_path.insert(0, FailOnce())
        import biasviz.gui
        import pyqtgraph as pg
        print(FailOnce.failed, getattr(pg.QtCore, "_biasviz_lazy_mirror", False),
              pg.QtCore.QPointF is PySide6.QtCore.QPointF, len(dir(PySide6.QtCore)) > 100)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "True", "True"]


def test_pyside_features_still_work_and_pyqtgraph_keeps_the_plain_api():
    # pyqtgraph's and biasviz's modules are noted in PySide6's feature table beforehand
    # (so that its import hook need not read their sources): a module selecting
    # snake_case gets it, and pyqtgraph, which calls the plain API, keeps working.
    out = run_script("""
        import sys
        import biasviz.gui
        from __feature__ import snake_case  # noqa: F401
        from PySide6.QtWidgets import QApplication, QWidget
        import pyqtgraph as pg

        table = sys.modules["PySide6.support.feature"].pyside_feature_dict
        assert table["pyqtgraph.graphicsItems.PlotItem.PlotItem"] == 0
        assert table["biasviz.gui.main_window"] == 0
        app = QApplication([])
        w = QWidget()
        w.set_window_title("snake")
        plot = pg.PlotWidget()
        plot.setTitle("plain")
        print(w.window_title(), plot.getPlotItem().titleLabel.text)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["snake", "plain"]


def test_the_import_leaves_the_garbage_collector_as_it_found_it():
    # off during the import (it would only run for nothing), then as it was
    out = run_script("""
        import gc
        before = gc.isenabled()
        import biasviz.gui  # noqa: F401
        print(before, gc.isenabled())
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
    off = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import gc
        gc.disable()
        import biasviz.gui  # noqa: F401
        print(gc.isenabled())
    """)], capture_output=True, text=True, timeout=120, env=ENV)
    assert off.returncode == 0, off.stderr
    assert off.stdout.split() == ["False"]
