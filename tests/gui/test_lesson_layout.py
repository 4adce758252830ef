"""Lessons on a laptop screen (issue 10): every lesson the Lessons menu opens fits the tab
beside the Training dock at 1366×768, 1280×720 and at 2× scale on 2560×1600 — no sideways
scrolling, every plot ≥ 150 px high, tables and wrapped texts whole — and its panels
re-flow (side by side, 2 + 1, stacked) as the width changes.

The whole-window checks run the real main window in a subprocess on Qt's offscreen platform
with a fixed screen size (its ``configfile`` option), so they need no X server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QWidget

from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.gui.lessons.base import (
    Arrangement,
    Cell,
    ElidedLabel,
    FlowLayout,
    ReflowGrid,
    min_height_for_width,
    stacked,
)

PLOT_MIN = 150

SCRIPT = r"""
import json, sys, time
import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractScrollArea, QApplication, QGraphicsView, QLabel,
                               QScrollArea, QSplitter, QTableView, QWidget)
app = QApplication([])
from biasviz.core.spec import ModelSpec, Snapshot
from biasviz.gui.main_window import LESSON_MODULES, MainWindow

def wait(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)

w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
wait(0.2)
area = w.screen().availableGeometry()
# a single neuron's parameters, so the lessons that show a trained neuron show everything
rng = np.random.default_rng(0)
snap = Snapshot(ModelSpec(), {"weights": rng.normal(size=784).astype(np.float32),
                              "bias": np.zeros(1, dtype=np.float32)}, step=1)

def visible_in(lesson, kind):
    return [x for x in lesson.findChildren(kind) if x.isVisible()]

out = {"screen": [area.width(), area.height()], "lessons": {}}
for module in LESSON_MODULES:
    lesson = w.open_lesson(module)
    lesson.set_model(snap)
    wait(0.4)
    if hasattr(lesson, "flush"):
        lesson.flush()
    wait(0.2)
    page = w.tabs.widget(w.lesson_tab_index(lesson))
    scrolls = [page] + visible_in(lesson, QScrollArea)
    tables = [t for t in visible_in(lesson, QTableView)
              if not isinstance(t.parentWidget(), QTableView)]
    squeezed = []
    for label in visible_in(lesson, QLabel):
        if label.wordWrap() and label.text():
            need = label.heightForWidth(label.width())
            if need > label.height() + 2:
                squeezed.append([label.text()[:60], label.height(), need])
    # widgets placed by a layout (or a ReflowGrid) never lie on top of each other: a
    # panel squeezed below what it needs would draw its controls over its plots
    overlaps = []
    for parent in [lesson, *lesson.findChildren(QWidget)]:
        if not parent.isVisible() or isinstance(parent, (QGraphicsView, QSplitter)):
            continue
        kids = [k for k in parent.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
                if k.isVisible() and not k.isWindow() and (parent.layout() is not None
                                                           or type(parent).__name__ == "ReflowGrid")]
        kids = [k for k in kids if parent.layout() is None or parent.layout().indexOf(k) >= 0]
        for i, a in enumerate(kids):
            for b in kids[i + 1:]:
                if a.geometry().adjusted(1, 1, -1, -1).intersects(b.geometry().adjusted(1, 1, -1, -1)):
                    overlaps.append([type(parent).__name__, type(a).__name__, type(b).__name__,
                                     (a.toolTip() or getattr(a, "text", lambda: "")())[:40]])
    # and none sticks out of the widget holding it (a squeezed box cuts its last lines)
    clipped = []
    for child in lesson.findChildren(QWidget):
        parent = child.parentWidget()
        if (not child.isVisible() or child.isWindow() or parent is None
                or isinstance(parent.parentWidget(), QAbstractScrollArea)
                or isinstance(parent, (QAbstractScrollArea, QGraphicsView))):
            continue
        if not parent.rect().adjusted(-1, -1, 1, 1).contains(child.geometry()):
            clipped.append([type(parent).__name__, type(child).__name__,
                            (child.toolTip() or getattr(child, "text", lambda: "")())[:40],
                            child.geometry().getRect(), parent.rect().getRect()])
    panels = getattr(lesson, "panels", None)
    out["lessons"][module] = {
        "tab_width": page.viewport().width(),
        "hscroll": [s.horizontalScrollBar().maximum() for s in scrolls],
        "plots": sorted((g.height(), type(g).__name__) for g in visible_in(lesson, QGraphicsView)),
        "tables": [[t.horizontalHeader().length(), t.viewport().width()] for t in tables],
        "squeezed": squeezed,
        "overlaps": overlaps,
        "clipped": clipped,
        "arrangement": panels.arrangement_index() if panels is not None else None,
    }
out["frame"] = [w.frameGeometry().width(), w.frameGeometry().height()]
out["min_width"] = w.minimumSizeHint().width()
w.close()
print(json.dumps(out))
"""


def _run_on_screen(tmp_path, width: int, height: int, scale: int) -> dict:
    config = tmp_path / "screen.json"
    # no window frame, like a window manager-less X server: the window's own size counts
    config.write_text(json.dumps({"windowFrameMargins": False, "screens": [{
        "name": "laptop", "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}",
               QT_SCALE_FACTOR=str(scale))
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "s.ini")],
                         capture_output=True, text=True, timeout=180, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a whole window and six lessons in a fresh process: ~9 s each
@pytest.mark.parametrize(("width", "height", "scale"),
                         [(1366, 768, 1), (1280, 720, 1), (2560, 1600, 2)],
                         ids=["1366x768", "1280x720", "2560x1600@2x"])
def test_every_lesson_fits_a_laptop_tab(tmp_path, width, height, scale):
    out = _run_on_screen(tmp_path, width, height, scale)
    sw, _sh = out["screen"]
    assert out["frame"][0] <= sw and out["min_width"] <= sw, out
    assert len(out["lessons"]) >= 6
    for module, got in out["lessons"].items():
        assert got["tab_width"] < 1100, (module, got)  # really the narrow laptop tab
        assert got["hscroll"] == [0] * len(got["hscroll"]), (module, got)
        # (the counting lesson draws no plot until a CNN is chosen)
        assert got["plots"] or module == "counting_lesson", (module, got)
        assert all(h >= PLOT_MIN for h, _ in got["plots"]), (module, got["plots"])
        for header, viewport in got["tables"]:
            assert header <= viewport + 1, (module, "a table is cut", got["tables"])
        assert not got["squeezed"], (module, "wrapped text cut short", got["squeezed"])
        assert not got["overlaps"], (module, "widgets on top of each other", got["overlaps"])
        assert not got["clipped"], (module, "widgets cut by their box", got["clipped"])
    # the lessons with three panels side by side do not fit three across here
    for module in ("bias_lesson", "saturation_lesson", "zero_init_lesson"):
        assert out["lessons"][module]["arrangement"] >= 1, out["lessons"][module]


# -- the reflowing pieces, in-process ----------------------------------------------------------
def _box(min_w: int, min_h: int) -> QWidget:
    w = QWidget()
    w.setMinimumSize(min_w, min_h)
    return w


def _three_columns(a, b, c) -> list[Arrangement]:
    return [
        Arrangement((Cell(a, 0, 0), Cell(b, 0, 1), Cell(c, 0, 2))),
        Arrangement((Cell(a, 0, 0), Cell(b, 0, 1), Cell(c, 1, 0, 1, 2))),
        stacked(a, b, c),
    ]


def _in_scroll_area(qtbot, widget: QWidget, width: int, height: int = 500) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    qtbot.addWidget(area)
    area.resize(width, height)
    area.show()
    qtbot.waitExposed(area)
    return area


def test_reflow_grid_goes_from_three_across_to_stacked_and_back(qtbot):
    a, b, c = _box(300, 160), _box(300, 160), _box(250, 160)
    grid = ReflowGrid(_three_columns(a, b, c), spacing=8)
    area = _in_scroll_area(qtbot, grid, 1200)
    seen = []
    for width in (1200, 700, 400, 1200):
        area.resize(width, 500)
        qtbot.wait_until(lambda w=width: grid.width() == area.viewport().width())
        seen.append(grid.arrangement_index())
        assert area.horizontalScrollBar().maximum() == 0, width
        boxes = [x.geometry() for x in (a, b, c)]
        for i, r in enumerate(boxes):  # each panel whole, none over another
            assert r.width() >= [300, 300, 250][i] and r.height() >= 160
            assert r.right() < grid.width()
            for other in boxes[i + 1:]:
                assert not r.intersects(other), (width, boxes)
    assert seen == [0, 1, 2, 0]
    # the minimum width is the stacked one's: a scroll area never scrolls sideways above it
    assert grid.minimumSizeHint().width() == 300
    # stacked, the grid asks for the height of all three one below the other
    assert grid.needed_width(0) == 300 + 300 + 250 + 16


def test_reflow_grid_gives_wrapped_text_all_its_lines(qtbot):
    text = QLabel("a paragraph that has to wrap onto several lines " * 6)
    text.setWordWrap(True)
    plot = _box(200, 160)
    grid = ReflowGrid([Arrangement((Cell(plot, 0, 0), Cell(text, 0, 1))), stacked(plot, text)])
    area = _in_scroll_area(qtbot, grid, 420, 200)
    qtbot.wait_until(lambda: grid.arrangement_index() == 0 and text.width() > 0)
    qtbot.wait(50)
    assert text.height() >= text.heightForWidth(text.width())
    assert grid.minimumSizeHint().height() >= min_height_for_width(text, text.width())
    assert area.horizontalScrollBar().maximum() == 0


def test_reflow_grid_rejects_arrangements_of_different_panels():
    a, b = _box(10, 10), _box(10, 10)
    with pytest.raises(ValueError, match="same panels"):
        ReflowGrid([stacked(a, b), stacked(a)])


def test_flow_layout_wraps_controls_and_gives_the_status_the_rest(qtbot):
    host = QWidget()
    flow = FlowLayout(host, spacing=6)
    buttons = [QPushButton(f"Button number {i}") for i in range(4)]
    for b in buttons:
        flow.addWidget(b)
    status = ElidedLabel("a status message", tooltip="what it is")
    status.setMinimumWidth(100)
    flow.addWidget(status, fill=True)
    qtbot.addWidget(host)
    host.resize(2000, 100)
    host.show()
    qtbot.waitExposed(host)
    one_line = flow.heightForWidth(2000)
    assert flow.heightForWidth(300) > one_line  # narrower: more lines
    host.resize(2000, one_line)
    qtbot.wait_until(lambda: status.geometry().right() >= 2000 - 2)  # status takes the rest
    assert len({b.geometry().top() for b in buttons}) == 1
    width = buttons[0].sizeHint().width() + 20
    host.resize(width, flow.heightForWidth(width))
    qtbot.wait_until(lambda: len({b.geometry().top() for b in buttons}) == 4)
    for w in (*buttons, status):
        assert w.geometry().right() < width  # nothing beyond the edge
    # as narrow as its widest control: a lesson never asks for more width than that
    assert flow.minimumSize().width() == max([b.minimumSizeHint().width() for b in buttons]
                                             + [100])


def test_elided_label_keeps_the_whole_text_in_its_tooltip(qtbot):
    label = ElidedLabel(tooltip="What the three neurons are doing now.")
    qtbot.addWidget(label)
    label.setText("Training at learning rate 1: epoch 3, batch 2 of 4 (step 14) " * 3)
    label.resize(120, 20)
    label.show()
    qtbot.waitExposed(label)
    assert label.is_elided()
    assert label.toolTip().startswith(label.full_text())
    assert "doing now" in label.toolTip()
    label.resize(4000, 20)
    qtbot.wait_until(lambda: not label.is_elided())
    assert label.toolTip() == "What the three neurons are doing now."


@pytest.mark.parametrize("module", ["bias_lesson", "saturation_lesson", "zero_init_lesson",
                                    "chapter_lesson"])
def test_a_lesson_reflows_when_its_tab_narrows(qtbot, module):
    """Resizing (a window or a dock moving) re-places the panels: wide tab, laptop tab,
    a narrow one; never a sideways scroll bar; plots keep ≥ 150 px."""
    from PySide6.QtWidgets import QGraphicsView

    from biasviz.gui.main_window import lesson_class

    lesson = lesson_class(module)()
    lesson.set_data(make_task_data(load_sample(), Task.pair(3, 7)))
    page = _in_scroll_area(qtbot, lesson, 1700, 700)
    try:
        seen = []
        for width in (1700, 950, 600):
            page.resize(width, 700)
            qtbot.wait_until(lambda w=width: lesson.width() == page.viewport().width())
            qtbot.wait(100)
            seen.append(lesson.panels.arrangement_index())
            inner = [s for s in lesson.findChildren(QScrollArea) if s.isVisible()]
            for s in [page, *inner]:
                assert s.horizontalScrollBar().maximum() == 0, (module, width)
            plots = [g.height() for g in lesson.findChildren(QGraphicsView) if g.isVisible()]
            assert plots and min(plots) >= PLOT_MIN, (module, width, plots)
        assert seen[0] == 0 and seen[-1] == lesson.panels.arrangement_count() - 1, seen
        assert seen == sorted(seen), seen
    finally:
        lesson.shutdown()
