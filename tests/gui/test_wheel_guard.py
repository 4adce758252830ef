"""The mouse wheel scrolls the panels: a spin box, combo box or slider it passes over
changes only once it has been clicked or tabbed into (a learner scrolling the Training
panel took the learning rate from 1e-5 to 1e-10 unnoticed)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QWidget,
)


def _wheel(widget) -> bool:
    """One notch of the wheel over ``widget``; whether it took the event (an ignored
    wheel event goes on to the parent: the scroll area scrolls)."""
    at = QPointF(widget.rect().center())
    event = QWheelEvent(at, QPointF(widget.mapToGlobal(at.toPoint())), QPoint(0, 0),
                        QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def _controls(root) -> list:
    kinds = (QAbstractSpinBox, QComboBox, QAbstractSlider)
    return [c for c in root.findChildren(QWidget) if isinstance(c, kinds)]


def _value(control):
    if isinstance(control, QComboBox):
        return control.currentIndex()
    return control.value()


def test_the_wheel_changes_a_value_only_in_a_focused_control(qtbot, window):
    w = window
    panel = w.training_panel
    controls = [c for c in _controls(panel) if c.isVisible() and c.isEnabled()]
    assert panel.lr_spin in controls and len(controls) >= 8
    for control in controls:
        before = _value(control)
        assert not _wheel(control), control.objectName() or type(control).__name__
        assert _value(control) == before
        assert control.focusPolicy() != Qt.FocusPolicy.WheelFocus
    spin = panel.lr_spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    before = spin.value()
    assert _wheel(spin) and spin.value() != before


def test_lessons_and_tabs_built_later_are_guarded_too(qtbot, window):
    from biasviz.gui.main_window import LESSONS

    w = window
    checked = 0

    def check(root) -> None:
        nonlocal checked
        qtbot.wait(50)
        for control in _controls(root):
            if control.isVisible() and control.isEnabled() and not control.hasFocus():
                before = _value(control)
                assert not _wheel(control), type(control).__name__
                assert _value(control) == before
                checked += 1

    for module, *_rest in LESSONS:
        check(w.open_lesson(module))
    w.tabs.setCurrentIndex(1)  # a tab built on first show
    check(w.tabs.widget(1))
    assert checked >= 3
