"""Presentation mode (F11) on a projector's or a laptop's screen, in a real X server
(Xvfb): the window stays within the screen's work area, the timeline shows, every plot
keeps ≥ 150 px, the confusion grid's title "true" keeps clear of its row names (which
keep clear of each other), and leaving gives the window back its geometry.  At 1280×720 ten classes made the window
762 px high at the full presentation type size (the timeline and the plots' "step" and
"epoch" titles off the screen), the histogram of scores had 147 px, and "true" sat on
the rows 3–6."""

from __future__ import annotations

import pytest

SCRIPT = r"""
import json, sys, time
from PySide6.QtCore import QRectF, QSettings
from PySide6.QtGui import QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biasviz.core.datasets import Task
from biasviz.gui.main_window import MainWindow

w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
s = w.session
s.load_engine_now()


def settle(n=40):
    for _ in range(n):
        app.processEvents()
        time.sleep(0.01)


def train():
    w.training_panel.epochs_spin.setValue(1)
    s.start()
    end = time.monotonic() + 60
    while s.state != "ready" or s.snapshot is None or s.snapshot.step == 0:
        app.processEvents()
        time.sleep(0.005)
        assert time.monotonic() < end, "the run did not end"
    settle(20)


def title_gap(plot):
    # px between the left axis' title ("true", "loss") and its widest tick label
    axis = plot.getPlotItem().getAxis("left")
    label = axis.label
    title = label.mapRectToParent(label.boundingRect())
    title_right = title.right() - label.document().documentMargin()
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    painter.setFont(axis.style["tickFont"] or axis.font())
    try:
        specs = axis.generateDrawSpecs(painter)[2]
    finally:
        painter.end()
    return min(rect.left() for rect, _flags, text in specs if text) - title_right


def on_screen(widget):
    # the part of the widget the screen shows, as a share of its height
    top = widget.mapToGlobal(widget.rect().topLeft()).y()
    bottom = widget.mapToGlobal(widget.rect().bottomLeft()).y()
    seen = min(bottom, area.bottom()) - max(top, area.top()) + 1
    return (widget.isVisible() and not widget.visibleRegion().isEmpty()
            and seen >= widget.height())


def present():
    before = w.geometry().getRect()
    w.presenter.enter()
    settle()
    frame = w.frameGeometry()
    panel = w.decision_panel
    plots = {"loss": w.plots.loss_plot.height(), "accuracy": w.plots.acc_plot.height()}
    if panel.stack.currentWidget() is panel.binary_page:
        plots["histogram"] = panel.plot.height()
    else:
        plots["confusion"] = panel.confusion_plot.height()
    seen = {"present": {
        "frame": frame.getRect(), "scale": getattr(w.presenter, "scale", 1.4), "plots": plots,
        "timeline": on_screen(w.timeline_bar),
        "titles": {"loss": title_gap(w.plots.loss_plot)},
    }}
    if "confusion" in plots:
        seen["present"]["titles"]["true"] = title_gap(panel.confusion_plot)
        # each row of the grid as high as its name, and a pixel more
        item = panel.confusion_plot.getPlotItem()
        axis = item.getAxis("left")
        metrics = QFontMetricsF(axis.style["tickFont"] or axis.font())
        names = panel._mc_names
        seen["present"]["rows"] = [item.vb.height() / len(names),
                                   max(metrics.tightBoundingRect(n).height() for n in names)]
    # every tab, as a teacher goes through them (the ones not shown yet are built now)
    tabs = []
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)
        settle(20)
        f = w.frameGeometry()
        tabs.append([w.tabs.tabText(i), f.top(), f.bottom(), f.left(), f.right(),
                     getattr(w.presenter, "scale", 1.4)])
    w.tabs.setCurrentIndex(0)
    seen["tabs"] = tabs
    w.presenter.leave()
    settle()
    seen["restored"] = [before, w.geometry().getRect()]
    return seen


area = w.screen().availableGeometry()
settle()
out = {"area": [area.left(), area.top(), area.right(), area.bottom()]}
train()
out["binary"] = present()
w._request(task=Task.all_ten())
train()
out["normal_true_gap"] = title_gap(w.decision_panel.confusion_plot)
out["ten"] = present()
s.shutdown()
print(json.dumps(out))
"""


@pytest.mark.parametrize("size", ["1280x720", "1366x768", "2560x1600@2", "1024x768"])
def test_present_mode_fits_the_screen(run_in_xvfb, size):
    size, _, scale = size.partition("@")
    out = run_in_xvfb(SCRIPT, size, scale)
    left, top, right, bottom = out["area"]
    assert out["normal_true_gap"] >= 1, "the confusion grid's 'true' is on its row names"
    for case in ("binary", "ten"):
        seen = out[case]["present"]
        x, y, width, height = seen["frame"]
        assert left <= x and top <= y and x + width - 1 <= right and y + height - 1 <= bottom, (
            case, seen, out["area"])
        assert seen["timeline"], (case, "the timeline is not on the screen", seen)
        assert min(seen["plots"].values()) >= 150, (case, seen["plots"])
        assert all(gap >= 1 for gap in seen["titles"].values()), (case, seen["titles"])
        assert 1.0 <= seen["scale"] <= 1.4
        if "rows" in seen:
            pitch, name_height = seen["rows"]
            assert pitch >= name_height + 1, ("the grid's row names run together", seen)
        for name, t, b, lt, rt, _scale in out[case]["tabs"]:
            assert top <= t and b <= bottom and left <= lt and rt <= right, (
                case, name, out[case]["tabs"], out["area"])
        before, after = out[case]["restored"]
        assert after == before, (case, "leaving did not restore the geometry")
    # where the screen has room, the type is as large as ever
    if size in ("1366x768",) or scale == "2":
        assert out["binary"]["present"]["scale"] == 1.4, out["binary"]["present"]
