"""LayoutRequestGuard drops the layout requests that change nothing and lets through
those that do (a child's new size hint, a child shown or hidden, a new size)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter

from biasviz.gui.layout_guard import LayoutRequestGuard


def _splitter(qtbot):
    split = QSplitter(Qt.Orientation.Horizontal)
    left, right = QLabel("12.5%"), QLabel("right")
    split.addWidget(left)
    split.addWidget(right)
    qtbot.addWidget(split)
    split.resize(400, 100)
    split.show()
    qtbot.waitExposed(split)
    guard = LayoutRequestGuard(split)
    guard.guard(split)
    return split, left, right, guard


def _settle(qtbot) -> None:
    qtbot.wait(20)


def test_a_new_text_of_the_same_size_is_not_laid_out_again(qtbot):
    split, left, _right, guard = _splitter(qtbot)
    left.setText("99.9%")  # first request: always through (nothing to compare with)
    _settle(qtbot)
    before = guard.dropped
    left.setText("13.5%")  # same width in most fonts; if not, the hint changed
    _settle(qtbot)
    hint_same = left.sizeHint() == QLabel("99.9%").sizeHint()
    assert (guard.dropped > before) == hint_same


def test_what_changes_the_layout_goes_through(qtbot):
    split, left, right, guard = _splitter(qtbot)
    left.setMinimumWidth(10)
    _settle(qtbot)
    left.setMinimumWidth(300)  # the splitter must give the left pane room
    _settle(qtbot)
    assert left.width() >= 300
    dropped = guard.dropped
    right.hide()  # and the right pane goes: the left one takes its place
    _settle(qtbot)
    assert guard.dropped == dropped
    assert left.width() > 350
