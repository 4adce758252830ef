"""The diagnosis notice in the tab bar's corner stays readable with lessons open, in a
real X server (Xvfb): beside four lessons at 1280×720 it was squeezed to
"⚠ The ne… Why…ix…", the one line that says why a run fails.  The lessons' tabs give way
(they elide, then scroll); the main tabs keep their names."""

from __future__ import annotations

import pytest

SCRIPT = r"""
import json, sys, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biasviz.gui.main_window import LESSON_MODULES, MainWindow
w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat)); w.show()
def spin(n=40):
    for _ in range(n):
        app.processEvents(); time.sleep(0.005)
spin()
for m in LESSON_MODULES[:4]:
    w.open_lesson(m); spin(10)
w.tabs.setCurrentIndex(0); spin()
from biasviz.core.diagnosis import Finding, Fix
fixes = (Fix("lr", "Use learning rate 0.1", "tip", config_changes={"lr": 0.1}),)
w.notice.set_findings([Finding("saturated", "The neuron is stuck in the sigmoid's flat tails", "96% of the images have |z| > 5.", "the histogram", 0.96, fixes)])
spin(60)
c = w.notice_chip; bar = w.tabs.tabBar()
out = {"chip": c.width(), "chip_hint": c.sizeHint().width(), "button": [c.open_button.width(), c.open_button.sizeHint().width()],
       "button_text": c.open_button.text(), "title_elided": c.title_label.is_elided(),
       "title": c.title_label.width(), "tabs": [bar.tabText(i) for i in range(bar.count())],
       "main_visible": all(bar.tabRect(i).right() < bar.width() for i in range(4)), "window": w.frameGeometry().width()}
print(json.dumps(out))
"""


@pytest.mark.parametrize("size", ["1280x720", "1366x768"])
def test_the_notice_stays_readable_beside_four_lessons(run_in_xvfb, size):
    out = run_in_xvfb(SCRIPT, size)
    width, hint = out["button"]
    assert width >= hint, out  # the button's text whole
    # a shortened title gets the room of "How to fix…": the button says "Why?"
    assert out["button_text"] == ("Why?" if out["title_elided"] else "Why? How to fix…"), out
    assert out["title"] >= 165, out  # ~22 letters of what is wrong (~100 px before)
    assert out["tabs"][:4] == ["Neuron && bias", "Watch learning", "Draw", "Evaluate"], out
    assert out["main_visible"], out
    assert out["window"] <= int(size.split("x")[0]), out
