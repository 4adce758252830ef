"""The first window leaves for later what it does not show (start-up, issue 14): the
decision panel's ten-class page and its histogram plot (no model before the engine is
in), numpy.random (the sample's split is stored beside it),
OpenSSL's hashlib (only downloads check sums) and html."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap


def test_the_first_window_builds_and_imports_only_what_it_shows(tmp_path):
    code = f"""
        import json, sys
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from biasviz.gui.main_window import MainWindow
        w = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r},
                                          QSettings.Format.IniFormat))
        w.show()
        app.processEvents()
        late = ("numpy.random", "hashlib", "html")
        print(json.dumps({{"imported": sorted(m for m in late if m in sys.modules),
                          "ten_class_page": w.decision_panel.has_multiclass_page(),
                          "histogram_plot": w.decision_panel.has_binary_plot(),
                          "sample": len(w.session.model.dataset.valid)}}))
        w.session.shutdown()
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"imported": [], "ten_class_page": False, "histogram_plot": False,
                      "sample": 1000}
