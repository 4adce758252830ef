"""An explanation panel: shows, in plain words, what the widget under the mouse is and
what to look for (its tooltip text), so learners never have to hunt for help."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget

DEFAULT_TEXT = (
    "Move the mouse over any control or picture to see what it is and what to look for."
)


class HelpPanel(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(DEFAULT_TEXT, parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setMargin(6)
        self.setMinimumHeight(48)
        self.setStyleSheet("QLabel { background: palette(base); }")
        # The watcher sees every event of the application, so it is installed only
        # while the panel is on screen (on a laptop the panel starts hidden): nothing to
        # pay for at start-up, nor while training with the panel hidden.
        self._watcher = _HoverWatcher(self)
        self._watching = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        # From the next turn: showing a window sends its widgets thousands of events
        # (the first window's, ~6 ms of start-up through this filter), none a hover.
        QTimer.singleShot(0, self._attach)

    def _attach(self) -> None:
        app = QApplication.instance()
        if app is not None and not self._watching and self.isVisible():
            app.installEventFilter(self._watcher)
            self._watching = True

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt API
        super().hideEvent(event)
        self.detach()

    @property
    def watching(self) -> bool:
        """Whether hovering is followed now (only while the panel is shown)."""
        return self._watching

    def detach(self) -> None:
        app = QApplication.instance()
        if app is not None and self._watching:
            app.removeEventFilter(self._watcher)
        self._watching = False

    def explain(self, widget: QWidget | None) -> None:
        text = ""
        w = widget
        while w is not None and not text:
            text = w.whatsThis() or w.toolTip()
            w = w.parentWidget()
        self.setText(text or DEFAULT_TEXT)


_ENTER = QEvent.Type.Enter  # looked up once: the filter runs for every event


class _HoverWatcher(QObject):
    def __init__(self, panel: HelpPanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() is _ENTER and isinstance(obj, QWidget):
            if obj.window() is self.panel.window():
                self.panel.explain(obj)
        return False
