"""The mouse wheel scrolls a panel; it changes a value only in the control being edited.

Qt's spin boxes, combo boxes and sliders take the wheel as soon as the pointer is over
them.  Rolled over on the way down a panel that scrolls (the Training panel, a lesson),
they changed values nobody meant to change: a learner scrolling the Training panel took
the learning rate from 1e-5 to 1e-10, unnoticed (walk-through).  :func:`guard_wheel`
makes such controls take the wheel only once they have the keyboard focus (clicked or
tabbed into); otherwise the wheel goes on to what holds them, and the panel scrolls.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QWidget

_VALUE_CONTROLS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class _WheelGuard(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        if (event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget)
                and not obj.hasFocus()):
            # Ignored and filtered: Qt offers an ignored wheel event to the parent next,
            # up to the scroll area (QApplication::notify's propagation of wheel events).
            event.ignore()
            return True
        return False


_guard: _WheelGuard | None = None


def guard_wheel(root: QWidget) -> None:
    """Every spin box, combo box and slider in ``root`` (``root`` too) takes the wheel
    only while it has the focus, and the wheel no longer gives it the focus."""
    global _guard
    if _guard is None:
        _guard = _WheelGuard()
    controls = [w for w in [root, *root.findChildren(QWidget)]
                if isinstance(w, _VALUE_CONTROLS)]
    for control in controls:
        if control.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        control.removeEventFilter(_guard)  # (once each, whatever the calls)
        control.installEventFilter(_guard)
