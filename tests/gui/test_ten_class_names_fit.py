"""Issue 10: with Fashion-MNIST's ten classes, every class box of the decision panel names
its class in full ("T-shirt/top", "Ankle boot", not "T-shirt/to…") in the window on a
1366×768 and a 1280×720 screen at the default font, in a real X server (Xvfb)."""

from __future__ import annotations

import pytest

SCRIPT = r"""
import json, sys
import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biasviz.core.datasets import FASHION_NAMES
from biasviz.core.decisions import MulticlassDecision
from biasviz.gui.main_window import MainWindow
w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
for _ in range(20):
    app.processEvents()
rng = np.random.default_rng(0)
targets = rng.integers(0, 10, 500)
scores = rng.normal(0, 1, (500, 10))
panel = w.decision_panel
# what the window shows for a ten-class model on Fashion-MNIST (the data itself is not
# needed for the layout)
panel.set_multiclass(MulticlassDecision(scores, targets), np.zeros(10), list(FASHION_NAMES))
for _ in range(20):
    app.processEvents()
area = w.screen().availableGeometry()
print(json.dumps({
    "names": [label.text() for label in panel.mc_name_labels],
    "elided": [label.is_elided() for label in panel.mc_name_labels],
    "fits": w.frameGeometry().height() <= area.height(),
}))
w.session.shutdown()
w.close()
"""


@pytest.mark.parametrize("size", ["1366x768", "1280x720"])
def test_every_fashion_name_is_whole_in_its_box(run_in_xvfb, size):
    out = run_in_xvfb(SCRIPT, size)
    from biasviz.core.datasets import FASHION_NAMES

    assert out["names"] == list(FASHION_NAMES), out
    assert not any(out["elided"]), out
    assert out["fits"], "the ten-class panel grew the window off the screen"
