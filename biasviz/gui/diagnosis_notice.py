"""A persistent notice that says why training fails and offers the fixes as buttons.

:class:`DiagnosisNotice` shows the most important :class:`Finding` of
:mod:`biasviz.core.diagnosis`: its title in plain words, the evidence (a number and where
to look), and one button per fix; "Details" opens the other findings.  It hides itself
when there is nothing to say.  A click on a fix emits ``fixRequested(fix)``; applying it
(changing the spec/config, starting again) is the owner's job.

Setting the same findings again costs nothing (the GUI may call :meth:`set_findings` on
every refresh).  The close button hides the notice until the findings change.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.diagnosis import Finding, Fix

BACKGROUND = "#fff4e0"
BORDER = "#d08a1a"
TITLE_COLOR = "#6b3b00"


def _label(text: str = "", rich: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    # Preferred width + a small minimum: wraps to the room there is without widening
    # the window, and keeps its height-for-width (no gaps between the lines)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    label.setMinimumWidth(120)
    return label


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DiagnosisNotice(QFrame):
    """Title, evidence and fix buttons of the first finding; the others under Details."""

    #: A fix button was pressed: the :class:`Fix` to apply.
    fixRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagnosisNotice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            f"QFrame#diagnosisNotice {{ background: {BACKGROUND}; border: 1px solid {BORDER};"
            " border-radius: 4px; }"
            f" QFrame#diagnosisNotice QLabel {{ color: #202020; background: transparent; }}"
        )
        self._findings: list[Finding] = []
        self._dismissed: list[Finding] | None = None
        self._fix_buttons: list[QPushButton] = []
        self._shown_fixes: tuple[Fix, ...] = ()

        self.icon_label = QLabel("⚠")
        self.icon_label.setStyleSheet(f"font-size: 18px; color: {BORDER};")
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.title_label = _label()
        self.title_label.setStyleSheet(f"font-weight: bold; color: {TITLE_COLOR};")
        self.evidence_label = _label()
        self.details_button = QToolButton()
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.details_button.setToolTip("What else the diagnosis found")
        self.details_button.toggled.connect(self._on_details)
        self.close_button = QToolButton()
        self.close_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide this notice until the diagnosis changes")
        self.close_button.clicked.connect(self.dismiss)

        self.fix_row = QHBoxLayout()
        self.fix_row.setContentsMargins(0, 0, 0, 0)
        self.fix_row.setSpacing(6)
        self.fix_label = QLabel("Fix:")
        self.details_label = _label()
        self.details_label.hide()

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title_label, 1)
        head.addWidget(self.details_button)
        head.addWidget(self.close_button)
        body = QVBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(4)
        body.addLayout(head)
        body.addWidget(self.evidence_label)
        fixes = QHBoxLayout()
        fixes.setContentsMargins(0, 0, 0, 0)
        fixes.addWidget(self.fix_label)
        fixes.addLayout(self.fix_row)
        fixes.addStretch(1)
        body.addLayout(fixes)
        body.addWidget(self.details_label)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(8, 6, 6, 6)
        outer.setSpacing(8)
        outer.addWidget(self.icon_label)
        outer.addLayout(body, 1)
        self.hide()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Wrapped labels would ask for their height at the narrowest width (a paragraph
        one word wide: hundreds of pixels) and push the window off a laptop screen; the
        notice asks for what it needs at a tab's usual width instead."""
        hint = super().minimumSizeHint()
        lines = 5 if self.details_label.isHidden() else 9
        return QSize(min(hint.width(), 320),
                     min(hint.height(), self.fontMetrics().height() * lines + 40))

    # -- the public API ---------------------------------------------------------------------------
    def set_findings(self, findings: Sequence[Finding]) -> None:
        """Show ``findings`` (most important first); hide when empty.  Cheap when they
        are the same as last time."""
        findings = list(findings)
        if findings == self._findings:
            if not findings:
                self.hide()
            return
        self._findings = findings
        if self._dismissed is not None and findings != self._dismissed:
            self._dismissed = None
        self._rebuild()

    def findings(self) -> list[Finding]:
        return list(self._findings)

    def current(self) -> Finding | None:
        """The finding shown in full (the most important), or None."""
        return self._findings[0] if self._findings else None

    def fix_buttons(self) -> list[QPushButton]:
        """The fix buttons of the finding shown (for tests and keyboard focus)."""
        return list(self._fix_buttons)

    def dismiss(self) -> None:
        """Hide until the findings change."""
        self._dismissed = list(self._findings)
        self.hide()

    def clear(self) -> None:
        self.set_findings([])

    # -- building ----------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        first = self.current()
        if first is None or self._dismissed is not None:
            self._set_fixes(())
            self.hide()
            return
        self.title_label.setText(_escape(first.title))
        self.evidence_label.setText(_escape(_sentence(first.evidence)))
        self.setToolTip(f"Where to look: {first.where}")
        self._set_fixes(first.fixes)
        others = self._findings[1:]
        self.details_button.setVisible(bool(others))
        self.details_button.setText(f"Details ({len(others)} more)")
        if not others:
            self.details_button.setChecked(False)
        self.details_label.setText("<br>".join(
            f"<b>{_escape(f.title)}</b> — {_escape(_sentence(f.evidence))}"
            + (f"<br><i>Fixes: {_escape(', '.join(x.label for x in f.fixes))}</i>"
               if f.fixes else "")
            for f in others))
        self.details_label.setVisible(bool(others) and self.details_button.isChecked())
        self.show()

    def _set_fixes(self, fixes: tuple[Fix, ...]) -> None:
        """One button per fix.  The same fixes keep their buttons: live evidence changes
        every refresh while training, and a button rebuilt under the mouse would lose
        the learner's click."""
        fixes = tuple(fixes)
        self.fix_label.setVisible(bool(fixes))
        if fixes == self._shown_fixes:
            return
        for button in self._fix_buttons:
            self.fix_row.removeWidget(button)
            button.deleteLater()
        self._fix_buttons = []
        self._shown_fixes = fixes
        for i, fix in enumerate(fixes):
            button = QPushButton(fix.label)
            button.setToolTip(fix.tooltip)
            # emits the fix shown now (an equal one may have replaced it since)
            button.clicked.connect(lambda _checked=False, i=i: self._request(self._shown_fixes[i]))
            self.fix_row.addWidget(button)
            self._fix_buttons.append(button)

    def _on_details(self, on: bool) -> None:
        self.details_label.setVisible(on and len(self._findings) > 1)

    def _request(self, fix: Fix) -> None:
        self.fixRequested.emit(fix)


def _sentence(text: str) -> str:
    """Evidence starts lower-case (it reads after a title): capitalise its first letter."""
    return text[:1].upper() + text[1:] if text else text


class TopOverlay(QObject):
    """Keeps ``widget`` across the top of ``host``, over its content rather than in its
    layout, as tall as its text needs at that width (at most 70 % of the host).

    A notice that appears in the layout adds its height to the host's minimum, and on a
    1280×720 or 1366×768 screen, where the window already sits at its minimum height,
    Qt then grows the window past the bottom of the screen and never shrinks it back.
    Over the content, the notice costs no room; its close button puts the view back.
    """

    def __init__(self, widget: QWidget, host: QWidget, margin: int = 4) -> None:
        super().__init__(host)
        self.widget, self.host, self.margin = widget, host, margin
        self._placing = False
        widget.setParent(host)
        host.installEventFilter(self)
        widget.installEventFilter(self)
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's
        if event.type() in (QEvent.Type.Resize, QEvent.Type.LayoutRequest,
                            QEvent.Type.Show):
            self.place()
        return False

    def place(self) -> None:
        if self._placing:
            return
        self._placing = True
        try:
            width = max(0, self.host.width() - 2 * self.margin)
            height = (self.widget.heightForWidth(width)
                      if self.widget.hasHeightForWidth() else -1)
            if height <= 0:
                height = self.widget.sizeHint().height()
            height = max(0, min(height, int(0.7 * self.host.height())))
            self.widget.setGeometry(self.margin, self.margin, width, height)
            self.widget.raise_()
        finally:
            self._placing = False
