"""The contract every lesson widget follows.

A lesson is a self-contained QWidget.  The main window creates it from the Lessons menu,
shows it as a tab, and keeps it informed:

- ``set_data(data)`` when the dataset or task changes (a :class:`TaskData`, uint8 images),
- ``set_model(snapshot)`` when the main model's parameters change (throttled; a
  :class:`Snapshot` of numpy copies, or None),
- ``shutdown()`` before the tab is closed or the app quits: stop any thread, wait for it.

Lessons that train models of their own do so off the GUI thread and never touch the
main session's trainer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from biasviz.core.datasets import TaskData
from biasviz.core.spec import Snapshot


class Lesson(QWidget):
    #: Short name for the menu and the tab.
    title: str = "Lesson"
    #: Which seed text it answers ("000", "001", "chapter").
    seed: str = ""

    def set_data(self, data: TaskData) -> None:  # noqa: B027 - optional hook
        """The dataset or task changed."""

    def set_model(self, snapshot: Snapshot | None) -> None:  # noqa: B027 - optional hook
        """The main model's parameters changed."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Stop background work; called before the lesson is closed."""


def lesson_text(html: str) -> QLabel:
    """The short explanation at the top of a lesson: what to look at and why."""
    label = QLabel(html)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet(
        "QLabel { background: #f4f7fb; border: 1px solid #d5dde8; border-radius: 4px;"
        " padding: 8px; }"
    )
    return label
