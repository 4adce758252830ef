"""Where the Code panel is not on screen (closed, or behind the Training panel's tab on a
laptop, where the two share a column), hovering a control still shows its code: in the
control's tooltip, under the control's own text."""

from __future__ import annotations

from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from biasviz.gui.window_code import code_tooltip

WAIT = 5000


def _tooltip_of(qtbot, widget) -> str:
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=WAIT)
    center = widget.rect().center()
    event = QHelpEvent(QHelpEvent.Type.ToolTip, center, widget.mapToGlobal(center))
    QApplication.sendEvent(widget, event)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_a_control_shows_its_code_while_the_panel_is_closed(qtbot, window):
    w = window
    w.code_dock.hide()
    qtbot.waitUntil(lambda: not w.code_panel.isVisible(), timeout=WAIT)
    lr = w.training_panel.lr_spin
    text = _tooltip_of(qtbot, lr)
    assert "In the code" in text
    assert lr.toolTip().split("\n")[0][:20] in text.replace("<br>", "\n")  # its own text first
    assert "lr = " in text  # the learning rate's line, with the value the run will use
    assert f"{w.session.config.lr:g}" in text
    # the bias box: the line that adds the bias
    text = _tooltip_of(qtbot, w.decision_panel.bias_spin)
    assert "In the code" in text and "bias" in text


def test_behind_the_training_tab_the_code_comes_in_the_tooltip_and_not_when_on_screen(
        qtbot, window):
    w = window
    w.code_dock.show()
    w.tabifyDockWidget(w.controls_dock, w.code_dock)
    w.controls_dock.raise_()  # the laptop's column, the Training tab in front
    qtbot.waitUntil(lambda: w.code_panel.visibleRegion().isEmpty(), timeout=WAIT)
    assert "In the code" in _tooltip_of(qtbot, w.training_panel.lr_spin)
    # the panel on screen: the hover lights its lines there, and the tooltip is the
    # control's own
    w.code_dock.setFloating(True)
    w.code_dock.show()
    qtbot.waitUntil(lambda: w.code_panel.isVisible()
                    and not w.code_panel.visibleRegion().isEmpty()
                    and w.training_panel.lr_spin.isVisible(), timeout=WAIT)
    assert "In the code" not in _tooltip_of(qtbot, w.training_panel.lr_spin)


def test_the_code_tooltip_keeps_the_controls_own_text_and_escapes_the_code():
    tip = code_tooltip("Learning rate: how far\neach step goes", ["z = x@w + b  # ◀ b\u00a0=\u00a01"])
    assert tip.startswith("Learning rate: how far<br>each step goes<hr>")
    assert "x@w + b  # ◀ b = 1" in tip  # the no-break spaces are plain again
    rich = code_tooltip("<b>lr</b>", ["if a < b: pass"])
    assert rich.startswith("<b>lr</b><hr>") and "a &lt; b" in rich
    assert "<hr>" not in code_tooltip("", ["lr = 1.0"])
    assert ">p.data -= p.grad*lr<" in code_tooltip("", ["        p.data -= p.grad*lr"])
