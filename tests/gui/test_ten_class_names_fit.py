"""Issue 10: with Fashion-MNIST's ten classes, every class box of the decision panel names
its class in full ("T-shirt/top", "Ankle boot", not "T-shirt/to…") in the window on a
1366×768 and a 1280×720 screen at the default font, in a real X server (Xvfb)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")

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


def _free_display() -> int:
    for n in range(100, 130):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    pytest.skip("no free X display number")


@pytest.mark.parametrize("size", ["1366x768", "1280x720"])
def test_every_fashion_name_is_whole_in_its_box(tmp_path, size):
    display = _free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{size}x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if time.monotonic() > deadline or xvfb.poll() is not None:
                pytest.skip("Xvfb did not start")
            time.sleep(0.05)
        env = dict(os.environ, DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb")
        env.pop("QT_SCALE_FACTOR", None)
        run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "s.ini")],
                             capture_output=True, text=True, timeout=120, env=env)
        if run.returncode != 0 and "could not connect to display" in run.stderr.lower():
            pytest.skip("Qt's xcb platform cannot start here")
        assert run.returncode == 0, run.stderr[-3000:]
        out = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        xvfb.terminate()
        xvfb.wait(5)
    from biasviz.core.datasets import FASHION_NAMES

    assert out["names"] == list(FASHION_NAMES), out
    assert not any(out["elided"]), out
    assert out["fits"], "the ten-class panel grew the window off the screen"
