"""A persistent notice that says why training fails and offers the fixes as buttons.

:class:`DiagnosisNotice` shows the most important :class:`Finding` of
:mod:`biasviz.core.diagnosis`: its title in plain words, the evidence (a number and where
to look), and one button per fix; "Details" opens the other findings, each with buttons
for its own fixes (every fix a finding proposes can be clicked).  It hides itself when
there is nothing to say.  A click on a fix emits ``fixRequested(fix)``; applying it
(changing the spec/config, starting again) is the owner's job.

Setting the same findings again costs nothing (the GUI may call :meth:`set_findings` on
every refresh).  The close button hides the notice until the findings change.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.diagnosis import Finding, Fix
from biasviz.core.text import escape_html
from biasviz.gui.flow_layout import FlowLayout

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


def _dismiss_button(owner: QWidget, dismiss) -> QToolButton:
    """The notice's ×: hides it until the diagnosis changes."""
    button = QToolButton()
    button.setIcon(owner.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
    button.setAutoRaise(True)
    button.setToolTip("Hide this notice until the diagnosis changes")
    button.clicked.connect(dismiss)
    return button


def _text(plain: str) -> str:
    """Plain text inside the notice's rich-text labels."""
    return escape_html(plain, quote=False)


def _fix_button(fix: Fix, clicked) -> QPushButton:
    button = QPushButton(fix.label)
    button.setToolTip(fix.tooltip)
    button.clicked.connect(lambda _checked=False: clicked())
    return button


class _Details(QWidget):
    """The other findings under "Details": each one's title and evidence, then a button
    for each of its fixes.  The same findings' fixes keep their buttons while the evidence
    changes (a button rebuilt under the mouse would lose the learner's click)."""

    def __init__(self, request) -> None:
        super().__init__()
        self._request = request
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._labels: list[QLabel] = []
        self._blocks: list[QWidget] = []
        self._buttons: list[QPushButton] = []
        self._fixes: tuple[tuple[Fix, ...], ...] = ()

    def text(self) -> str:
        """Every finding's text as shown (rich text), one per line."""
        return "<br>".join(label.text() for label in self._labels)

    def buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def set_findings(self, findings: Sequence[Finding]) -> None:
        fixes = tuple(tuple(f.fixes) for f in findings)
        if fixes != self._fixes:
            self._rebuild(fixes)
        for label, finding in zip(self._labels, findings, strict=True):
            label.setText(f"<b>{_text(finding.title)}</b> — {_text(_sentence(finding.evidence))}")

    def _rebuild(self, fixes: tuple[tuple[Fix, ...], ...]) -> None:
        for block in self._blocks:
            self._layout.removeWidget(block)
            block.deleteLater()
        self._labels, self._blocks, self._buttons = [], [], []
        self._fixes = fixes
        for i, own in enumerate(fixes):
            block = QWidget()
            column = QVBoxLayout(block)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            label = _label()
            column.addWidget(label)
            if own:
                row = QHBoxLayout()
                row.setContentsMargins(0, 0, 0, 0)
                row.addWidget(QLabel("Fix:"), 0, Qt.AlignmentFlag.AlignTop)
                flow = FlowLayout(spacing=6)
                for j in range(len(own)):
                    # emits the fix shown now (an equal one may have replaced it since)
                    button = _fix_button(own[j], lambda i=i, j=j: self._request(
                        self._fixes[i][j]))
                    flow.addWidget(button)
                    self._buttons.append(button)
                row.addLayout(flow, 1)
                column.addLayout(row)
            self._layout.addWidget(block)
            self._labels.append(label)
            self._blocks.append(block)


class DiagnosisNotice(QFrame):
    """Title, evidence and fix buttons of the first finding; the others under Details."""

    #: A fix button was pressed: the :class:`Fix` to apply.
    fixRequested = Signal(object)
    #: What the notice has to say changed (new findings, dismissed, cleared).
    changed = Signal()

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
        self._popup = False  # shown on request by a NoticeChip, not by itself
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
        self.close_button = _dismiss_button(self, self.dismiss)

        # wraps: three fixes side by side are wider than the popup (at 1366×768 their
        # labels were cut at both ends: "tart with init std 0.0")
        self.fix_row = FlowLayout(spacing=6)
        self.fix_label = QLabel("Fix:")
        # the other findings, each with its fix buttons (the name is the old label's)
        self.details_label = _Details(self._request)
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
        fixes.addWidget(self.fix_label, 0, Qt.AlignmentFlag.AlignTop)
        fixes.addLayout(self.fix_row, 1)
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

    def detail_fix_buttons(self) -> list[QPushButton]:
        """The fix buttons of the other findings, under Details."""
        return self.details_label.buttons()

    def dismiss(self) -> None:
        """Hide until the findings change."""
        self._dismissed = list(self._findings)
        self.hide()
        self.changed.emit()

    def has_news(self) -> bool:
        """Something to say that the learner has not dismissed."""
        return self.current() is not None and self._dismissed is None

    def set_popup(self, popup: bool) -> None:
        """Popup mode: the notice shows only when asked (:meth:`NoticeChip.open`)."""
        self._popup = popup

    def clear(self) -> None:
        self.set_findings([])

    # -- building ----------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        first = self.current()
        if first is None or self._dismissed is not None:
            self._set_fixes(())
            self.hide()
            self.changed.emit()
            return
        self.title_label.setText(_text(first.title))
        self.evidence_label.setText(_text(_sentence(first.evidence)))
        self.setToolTip(f"Where to look: {first.where}")
        self._set_fixes(first.fixes)
        others = self._findings[1:]
        self.details_button.setVisible(bool(others))
        if not others:
            self.details_button.setChecked(False)
        self._label_details()
        self.details_label.set_findings(others)
        self.details_label.setVisible(bool(others) and self.details_button.isChecked())
        if not self._popup:
            self.show()
        self.changed.emit()

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
            # emits the fix shown now (an equal one may have replaced it since)
            button = _fix_button(fix, lambda i=i: self._request(self._shown_fixes[i]))
            self.fix_row.addWidget(button)
            self._fix_buttons.append(button)

    def _label_details(self) -> None:
        """▸ Details (n more) closed, ▾ Hide details open: the button says what it does."""
        more = len(self._findings) - 1
        self.details_button.setText("▾ Hide details" if self.details_button.isChecked()
                                    else f"▸ Details ({more} more)")

    def _on_details(self, on: bool) -> None:
        self.details_label.setVisible(on and len(self._findings) > 1)
        self._label_details()
        if self._popup:
            self.changed.emit()  # the open popup takes the details' height

    def _request(self, fix: Fix) -> None:
        self.fixRequested.emit(fix)


def _sentence(text: str) -> str:
    """Evidence starts lower-case (it reads after a title): capitalise its first letter."""
    return text[:1].upper() + text[1:] if text else text


LESSON_TAB_PADDING = 40  # a tab's width beyond its text: margins and its close button


OPEN_LONG, OPEN_SHORT = "Why? How to fix…", "Why?"


class NoticeChip(QFrame):
    """The notice as one line in a corner (the tab bar's): icon, title, "Why? How to
    fix…", close; the full :class:`DiagnosisNotice` (evidence, fix buttons, details) opens
    as a popup under it.

    In the tab's layout the notice added its height to the window's minimum (on a 1280×720
    or 1366×768 screen Qt then grew the window past the screen); laid over the tab it hid
    the controls and the top of the views until closed.  In the tab bar's corner it costs
    no room and covers nothing.
    """

    def __init__(self, notice: DiagnosisNotice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from biasviz.gui.class_labels import ElidedLabel

        self.notice = notice
        notice.set_popup(True)
        notice.setParent(self, Qt.WindowType.Popup)
        notice.hide()
        self.setObjectName("noticeChip")
        self.setStyleSheet(
            f"QFrame#noticeChip {{ background: {BACKGROUND}; border: 1px solid {BORDER};"
            " border-radius: 4px; }"
            f" QFrame#noticeChip QLabel {{ color: {TITLE_COLOR}; background: transparent; }}")
        icon = QLabel("⚠")
        icon.setStyleSheet(f"color: {BORDER};")
        self.title_label = ElidedLabel()
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        # ~20 letters at least ("The neuron is stuck i…"): "The ne…" said nothing; the
        # lessons' tabs scroll first
        self.title_label.setMinimumWidth(self.title_label.fontMetrics().horizontalAdvance(
            "x" * 22))
        self.open_button = QToolButton()
        self.open_button.setText(OPEN_LONG)
        self.open_button.setAutoRaise(True)
        self.open_button.setToolTip("Why? How to fix… The evidence, and buttons that apply "
                                    "a fix")
        self.open_button.clicked.connect(self.open)
        # never cut ("Why…ix…" beside four lessons' tabs at 1280×720): the title elides,
        # and where the title is shortened the button says just "Why?" and leaves it
        # the room ("⚠ Many hidden neurons … Why? How to fix…" beside lessons' tabs)
        self._open_widths = {text: self._button_width(text) for text in (OPEN_LONG, OPEN_SHORT)}
        self.open_button.setMinimumWidth(self._open_widths[OPEN_LONG])
        self.close_button = _dismiss_button(self, notice.dismiss)
        # The tab bar's first tabs (the main views), set by the window: the notice gets
        # the room they leave, before the lessons' tabs (which elide, then scroll)
        self.reserved_tabs: int | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 0, 2, 0)
        row.setSpacing(4)
        row.addWidget(icon)
        row.addWidget(self.title_label, 1)
        row.addWidget(self.open_button)
        row.addWidget(self.close_button)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        notice.changed.connect(self.refresh)
        notice.fixRequested.connect(lambda _fix: notice.hide())  # applied: the popup goes
        self.refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # As wide as the tab bar leaves (the title elides), at most 520 px; one line
        # high.  At 520 always, the tabs of a 1366-px window scrolled ("Evaluate" showed
        # as "Ev" beside arrows) while a notice was up.
        # With lessons open, the notice comes before their tabs: beside four lessons at
        # 1280×720 it was squeezed to "⚠ The ne… Why…ix…", the one line that says why a
        # run fails.
        height = max(super().sizeHint().height(), 24)
        tabs = self.parentWidget()
        if isinstance(tabs, QTabWidget):
            bar = tabs.tabBar()
            main = bar.count() if self.reserved_tabs is None else min(self.reserved_tabs,
                                                                       bar.count())
            taken = sum(bar.tabRect(i).width() for i in range(main))
            if main < bar.count():  # a lesson's tab at its shortest: "Aaaa…" and its ✕
                taken += (bar.count() - main) * (
                    bar.fontMetrics().horizontalAdvance("Aaaa…") + LESSON_TAB_PADDING)
            room = tabs.width() - taken - 16
            return QSize(max(self.minimumSizeHint().width(), min(520, room)), height)
        return QSize(520, height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # the icon, a few letters of the title, the whole button and the close
        return QSize(max(180, super().minimumSizeHint().width()),
                     super().minimumSizeHint().height())

    def _button_width(self, text: str) -> int:
        old = self.open_button.text()
        self.open_button.setText(text)
        width = self.open_button.sizeHint().width()
        self.open_button.setText(old)
        return width

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_button()

    def _fit_button(self) -> None:
        """"Why? How to fix…" where the whole title fits beside it, else "Why?"."""
        title = self.title_label
        full = title.fontMetrics().horizontalAdvance(title.full_text()) + 8
        spare = self._open_widths[OPEN_LONG] - self._open_widths[OPEN_SHORT]
        have = title.width() + (spare if self.open_button.text() == OPEN_SHORT else 0)
        text = OPEN_LONG if have >= full + spare else OPEN_SHORT
        if text != self.open_button.text():
            self.open_button.setText(text)
            self.open_button.setMinimumWidth(self._open_widths[text])

    def refresh(self) -> None:
        first = self.notice.current()
        news = self.notice.has_news()
        if first is not None:
            self.title_label.set_full_text(first.title, _sentence(first.evidence))
            self.setToolTip(f"{first.title}. {_sentence(first.evidence)}")
            self._fit_button()
        self.setVisible(news)
        if not news:
            self.notice.hide()
        elif self.notice.isVisible():
            self.open()  # new evidence in the open popup: sized again

    def is_open(self) -> bool:
        return self.notice.isVisible()

    def open(self) -> None:
        """The full notice, under this line, right-aligned with it, on the screen."""
        window = self.window()
        width = max(320, min(560, window.width() - 24))
        notice = self.notice
        notice.setFixedWidth(width)
        layout = notice.layout()
        if layout is not None:
            layout.activate()
        height = notice.heightForWidth(width) if notice.hasHeightForWidth() else -1
        # fixed: a window's minimum height would be its text wrapped at the labels'
        # minimum width (a popup twice as tall as its text)
        notice.setFixedSize(width, height if height > 0 else notice.sizeHint().height())
        corner = self.mapToGlobal(self.rect().bottomRight())
        x, y = corner.x() - width + 1, corner.y() + 2
        screen = self.screen()
        if screen is not None:
            area = screen.availableGeometry()
            x = max(area.left(), min(x, area.right() - width))
            y = min(y, max(area.top(), area.bottom() - notice.height()))
        notice.move(x, y)
        notice.show()
