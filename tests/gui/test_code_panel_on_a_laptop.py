"""The code panel on a laptop's screen, in a real X server (Xvfb): shown, it shares the
Training panel's column and the window stays on the screen (at 1280×720 it took the
window to 1317 px wide, past the edge, and it stayed so after the panel was closed)."""

from __future__ import annotations

import pytest

SCRIPT = r"""
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biasviz.gui.main_window import MainWindow
w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
def spin(n=30):
    for _ in range(n):
        app.processEvents()
spin()
area = w.screen().availableGeometry()
out = {"screen": [area.width(), area.height()], "before": w.frameGeometry().width()}
w.code_dock.show()
spin()
f = w.frameGeometry()
out["shown"] = [f.left(), f.right(), f.width()]
out["shares_column"] = w.code_dock in w.tabifiedDockWidgets(w.controls_dock)
out["code_width"] = w.code_dock.width()
out["hscroll"] = w.code_panel.editor.horizontalScrollBar().maximum()
w.code_dock.hide()
spin()
out["hidden"] = w.frameGeometry().width()
w.close()
print(json.dumps(out))
"""


@pytest.mark.parametrize("size", ["1366x768", "1280x720"])
def test_the_code_panel_keeps_the_window_on_the_screen(run_in_xvfb, size):
    out = run_in_xvfb(SCRIPT, size)
    sw, _sh = out["screen"]
    left, right, width = out["shown"]
    assert width <= sw and left >= 0 and right < sw, out
    assert out["shares_column"], out
    assert out["code_width"] >= 300, out  # still wide enough to read
    assert out["hscroll"] == 0, out  # long lines wrap: no sideways scrolling
    assert out["hidden"] <= sw, out
