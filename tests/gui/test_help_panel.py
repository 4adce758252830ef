"""The 'What is this?' panel explains the widget under the mouse, and watches the
application's events only while it is on screen (start-up and training pay nothing for
a hidden panel)."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget

from biasviz.gui.help_panel import DEFAULT_TEXT, HelpPanel


def enter(widget: QWidget) -> None:
    QApplication.sendEvent(widget, QEnterEvent(QPointF(1, 1), QPointF(1, 1), QPointF(1, 1)))


def test_the_panel_explains_what_is_hovered_only_while_shown(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    first, second = QPushButton("first"), QPushButton("second")
    first.setToolTip("What the first button does.")
    second.setToolTip("What the second button does.")
    panel = HelpPanel()
    for w in (first, second, panel):
        layout.addWidget(w)
    assert not panel.watching  # not on screen yet
    assert panel.text() == DEFAULT_TEXT
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: panel.watching)  # from the turn after the window shows
    enter(first)
    assert panel.text() == "What the first button does."

    panel.hide()
    assert not panel.watching
    enter(second)
    assert panel.text() == "What the first button does."  # nobody was watching

    panel.show()
    qtbot.waitUntil(lambda: panel.watching)
    enter(second)
    assert panel.text() == "What the second button does."
    panel.detach()
    assert not panel.watching
    enter(first)
    assert panel.text() == "What the second button does."
