"""The code panel: the plain PyTorch behind the current settings, live (issue 13).

:class:`CodePanel` shows the script :func:`biasviz.core.codegen.generate_code` writes
for a run, syntax-highlighted and read-only.  When the settings change
(:meth:`CodePanel.set_run`) the lines that changed glow for a moment; live values (the
bias, the step number...) appear beside their lines (:meth:`CodePanel.set_live`); lines
can be highlighted by concept (:meth:`CodePanel.highlight_concept`, e.g. while the mouse
is over the bias slider), and hovering a line emits :attr:`CodePanel.conceptHovered`
with the concept it shows, so the window can highlight the matching control.
"""

from __future__ import annotations

import keyword
import os
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRect, QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.errors import BiasvizError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only
    import numpy as np

    from biasviz.core.codegen import CodeLine, DatasetRef, RunCode
    from biasviz.core.datasets import Task
    from biasviz.core.spec import ModelSpec, TrainConfig

# biasviz.core.codegen (and html, difflib) are imported when code is first made: the
# window's panel starts hidden and makes its code when shown or asked (start-up, issue 14)

FLASH_MS = 1500  # how long changed lines glow after a settings change
# where the shown code of an imported model loads its start (an export writes
# "<script>-start.npz" beside the script instead)
LIVE_START_PATH = "biasviz-run-start.npz"
FLASH_TICK_MS = 50
FLASH_COLOR = QColor(255, 196, 0)  # amber, faded out over FLASH_MS
CONCEPT_COLOR = QColor(86, 180, 233, 90)  # sky blue (Okabe-Ito), see-through
HOVER_COLOR = QColor(0, 0, 0, 18)

TOOLTIP = (
    "The plain PyTorch code of the current settings, in the fastai chapter's style. "
    "Lines glow when a setting changes them; live values appear after ◀. Hover a line to "
    "see which control it belongs to; File › Export saves it as a script or notebook."
)


def _format(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    if italic:
        fmt.setFontItalic(True)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, numbers, strings, comments, and the panel's live values.

    Good enough for the code biasviz writes (no multi-line strings spanning blocks
    beyond one line, which the generator never emits).
    """

    BUILTINS = ("print", "range", "len", "round", "sum", "list", "zip", "map", "open",
                "hasattr", "super", "float", "int")

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.keyword_format = _format("#0033b3", bold=True)
        self.builtin_format = _format("#871094")
        self.number_format = _format("#1750eb")
        self.string_format = _format("#067d17")
        self.comment_format = _format("#6e6e6e", italic=True)
        self.section_format = _format("#3c3c3c", bold=True)
        self.live_format = _format("#b34700", bold=True)
        self.live_format.setBackground(QColor(255, 240, 200))
        words = "|".join(keyword.kwlist)
        self._rules = [
            (QRegularExpression(rf"\b({words})\b"), self.keyword_format),
            (QRegularExpression(rf"\b({'|'.join(self.BUILTINS)})\b(?=\()"),
             self.builtin_format),
            (QRegularExpression(r"\b\d+(\.\d+)?([eE][-+]?\d+)?\b"), self.number_format),
        ]
        # strings and comments win over the rules above; a '#' inside a string is text
        self._strings_comments = re.compile(
            r"""(?P<s>[rbf]?"(?:[^"\\]|\\.)*"|[rbf]?'(?:[^'\\]|\\.)*')|(?P<c>#.*$)""")

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt API
        from biasviz.core.codegen import SECTION_MARK

        live_at = text.find(shown_live_mark())  # (every line is shown by _shown_line)
        code = text if live_at < 0 else text[:live_at]
        for regex, fmt in self._rules:
            it = regex.globalMatch(code)
            while it.hasNext():
                m = it.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), fmt)
        for found in self._strings_comments.finditer(code):
            fmt = self.string_format if found.group("s") is not None else self.comment_format
            self.setFormat(found.start(), found.end() - found.start(), fmt)
        if text.startswith(SECTION_MARK):  # a section's heading: it reads as one
            self.setFormat(0, len(code), self.section_format)
        if live_at >= 0:  # the live value: its own colour, so it never reads as code
            start = live_at + 2
            self.setFormat(start, len(text) - start, self.live_format)


def _shown_line(line: CodeLine, values: dict) -> str:
    """A line as the panel shows it: with its live value, whose spaces do not break
    (a wrapped line split "# ◀ step" from "80"; copied, they are spaces again)."""
    from biasviz.core.codegen import LIVE_MARK, render_live

    text = render_live(line, values)
    at = text.find(LIVE_MARK, len(line.text))
    if at < 0:
        return text
    live = text[at + len(LIVE_MARK):]
    return text[:at] + shown_live_mark() + live.replace(" ", "\u00a0")


def shown_live_mark() -> str:
    """The live-value mark as the panel shows it: its spaces after "#" do not break
    either ("# ◀" ended one row, "last loss 0.6921" began the next); only the spaces
    before "#" may, and the comment moves to a row of its own, whole."""
    from biasviz.core.codegen import LIVE_MARK

    body = LIVE_MARK.lstrip()
    return LIVE_MARK[:len(LIVE_MARK) - len(body)] + body.replace(" ", "\u00a0")


WRAP_MARK = "\u21aa"  # ↪ before each row that goes on from the row above
WRAP_MARK_COLOR = QColor(70, 110, 170)  # (pale grey was missed: a walk-through)


class _WrapGutter(QWidget):
    """The strip left of the code where a wrapped line's further rows get ``↪``."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        self._editor.paint_gutter(self, event)


class CodeEditor(QPlainTextEdit):
    """Read-only code whose long lines wrap at the edge, each further row of a line marked
    with ``↪`` in a strip on the left (a plain text edit cannot indent them): on a laptop
    the panel shares the controls' column, ~440 px, and a line's end and its live value
    needed sideways scrolling.  A wrapped line is still one line: to copy, to highlight."""

    def __init__(self) -> None:
        super().__init__()
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.gutter = _WrapGutter(self)
        self.updateRequest.connect(self._gutter_follows)

    def setFont(self, font: QFont) -> None:  # noqa: N802 - Qt API
        super().setFont(font)
        self.gutter.setFont(font)
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def gutter_width(self) -> int:
        return self.fontMetrics().horizontalAdvance(WRAP_MARK) + 4

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        area = self.contentsRect()
        self.gutter.setGeometry(QRect(area.left(), area.top(), self.gutter_width(),
                                      area.height()))

    def _gutter_follows(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def wrapped_rows(self) -> list[tuple[int, int]]:
        """(line, row) of every visible row that goes on from the row above (row ≥ 1)."""
        rows = []
        block = self.firstVisibleBlock()
        offset = self.contentOffset()
        bottom = self.viewport().height()
        while block.isValid():
            top = self.blockBoundingGeometry(block).translated(offset).top()
            if top > bottom:
                break
            if block.isVisible():
                rows.extend((block.blockNumber(), row)
                            for row in range(1, block.layout().lineCount()))
            block = block.next()
        return rows

    def paint_gutter(self, gutter: QWidget, event: QPaintEvent) -> None:
        painter = QPainter(gutter)
        painter.setPen(WRAP_MARK_COLOR)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        offset = self.contentOffset()
        doc = self.document()
        for number, row in self.wrapped_rows():
            block = doc.findBlockByNumber(number)
            line = block.layout().lineAt(row)
            top = self.blockBoundingGeometry(block).translated(offset).top() + line.y()
            painter.drawText(QRect(0, round(top), gutter.width() - 2, round(line.height())),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             WRAP_MARK)
        painter.end()


class CodePanel(QWidget):
    """The code of the current run, live.  See the module docstring."""

    conceptHovered = Signal(str)  # "" when the mouse leaves

    def __init__(self, parent: QWidget | None = None, defer_while_hidden: bool = False
                 ) -> None:
        """``defer_while_hidden``: while the panel is hidden, :meth:`set_run` only notes
        the run; the code is made when the panel is shown or asked for it (``code()``,
        ``highlighted_lines()``…), without the glow nobody could see.  The window's
        panel, hidden at start, does so."""
        super().__init__(parent)
        self._defer_while_hidden = defer_while_hidden
        self._pending: tuple | None = None  # a run noted while hidden
        self._start: dict[str, np.ndarray] | None = None  # an imported model's start
        self.setToolTip(TOOLTIP)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setContentsMargins(4, 2, 4, 2)
        self.editor = CodeEditor()
        self.editor.setReadOnly(True)
        self.editor.setUndoRedoEnabled(False)  # live edits must not pile up in memory
        self.editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.editor.setFont(font)
        self.editor.setToolTip(TOOLTIP)
        self.editor.viewport().setMouseTracking(True)
        self.highlighter = PythonHighlighter(self.editor.document())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.editor, 1)

        self._code: RunCode | None = None
        self._lines: list[CodeLine] = []
        self._run: tuple[ModelSpec, TrainConfig, Task, DatasetRef] | None = None
        self._live: dict = {}
        self._concept = ""  # highlighted from outside (a control under the mouse)
        self._hovered = ""  # concept of the line under the mouse
        self._hover_line = -1
        self._flash_lines: list[int] = []
        self._flash_left = 0
        self._flash_timer = QTimer(self)
        self._flash_timer.setInterval(FLASH_TICK_MS)
        self._flash_timer.timeout.connect(self._fade)
        self._hover_filter = _HoverFilter(self)
        self.editor.viewport().installEventFilter(self._hover_filter)

    # -- what the window calls ---------------------------------------------------------
    def set_run(self, spec: ModelSpec, config: TrainConfig, task: Task,
                dataset_ref: DatasetRef | str | Callable[[], DatasetRef] = "sample",
                start: dict[str, np.ndarray] | None = None) -> None:
        """Show the code of this run; lines that differ from the shown code glow.
        ``dataset_ref``: a :class:`DatasetRef`, what ``DatasetRef.parse`` reads, or a
        function returning one (called when the code is made).  ``start``: the numbers
        an imported model started from (the code loads them from a file that an export
        writes beside it), or None."""
        self._start = start
        self._pending = (spec, config, task, dataset_ref)
        if self.isVisible() or not self._defer_while_hidden:
            self._make_code(flash=True)

    def _catch_up(self) -> None:
        """Make the code of a run noted while hidden."""
        if self._pending is not None:
            self._make_code(flash=False)
            self._update_selections()

    def _make_code(self, flash: bool) -> None:
        import html

        from biasviz.core.codegen import DatasetRef, generate_code

        assert self._pending is not None
        (spec, config, task, dataset_ref), self._pending = self._pending, None
        try:
            if isinstance(dataset_ref, str):
                ref = DatasetRef.parse(dataset_ref)
            elif isinstance(dataset_ref, DatasetRef):
                ref = dataset_ref
            else:
                ref = dataset_ref()
            code = generate_code(spec, config, task, ref, start_path=(
                LIVE_START_PATH if self._start is not None else None))
        except BiasvizError as exc:
            self.title.setText(f"No code for these settings: {html.escape(str(exc))}")
            return
        self._run = (spec, config, task, ref)
        old = [line.text for line in self._lines]
        self._code = code
        self._lines = code.lines()
        self.title.setText(f"<b>{html.escape(code.summary)}</b><br>{html.escape(code.details)}")
        new = [line.text for line in self._lines]
        if old == new:
            return
        bar = self.editor.verticalScrollBar()
        # the same line on top, not the same row: the header's summary may wrap into
        # fewer or more rows now
        first = self.editor.firstVisibleBlock()
        top_line, rows_in = first.blockNumber(), bar.value() - first.firstLineNumber()
        self.editor.setPlainText("\n".join(_shown_line(li, self._live) for li in self._lines))
        block = self.editor.document().findBlockByNumber(min(top_line, len(self._lines) - 1))
        if block.isValid():
            bar.setValue(min(block.firstLineNumber() + max(0, rows_in), bar.maximum()))
        self._hover_line = -1
        if old and flash:  # the first code shown is not a change
            self._flash(_changed_lines(old, new))
        self._update_selections()

    def set_live(self, values: dict) -> None:
        """Show live values beside their lines: ``bias`` (b), ``bias_sum`` (Σbᵢ), ``lr``,
        ``step``, ``epoch``, ``loss``, ``accuracy``.  A value of None removes it."""
        merged = dict(self._live)
        merged.update(values)
        merged = {k: v for k, v in merged.items() if v is not None}
        if merged == self._live:
            return
        self._live = merged
        if self.isVisible():  # a hidden panel catches up when it is shown
            self._show_live()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._catch_up()
        self._show_live()

    def _show_live(self) -> None:
        doc = self.editor.document()
        merged = self._live
        for number, line in enumerate(self._lines):
            if line.live is None:
                continue
            block = doc.findBlockByNumber(number)
            shown = _shown_line(line, merged)
            if block.isValid() and block.text() != shown:
                cursor = QTextCursor(block)
                cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock,
                                    QTextCursor.MoveMode.KeepAnchor)
                cursor.insertText(shown)

    def highlight_concept(self, name: str | None) -> None:
        """Highlight the lines showing ``name`` (see ``CONCEPTS``); "" or None clears."""
        name = name or ""
        if name == self._concept:
            return
        self._catch_up()
        self._concept = name
        self._update_selections()
        lines = self.lines_for(name)
        if lines:
            self._ensure_visible(lines[0])

    # -- what tests and the window may read ------------------------------------------------
    def code(self) -> RunCode | None:
        """The code shown (without live values)."""
        self._catch_up()
        return self._code

    def lines_for(self, concept: str) -> list[int]:
        self._catch_up()
        return [i for i, line in enumerate(self._lines) if concept and concept in line.concepts]

    def code_for(self, concept: str, limit: int = 4) -> list[str]:
        """The first ``limit`` lines showing ``concept``, as the panel shows them (with
        their live values)."""
        return [_shown_line(self._lines[i], self._live) for i in self.lines_for(concept)[:limit]]

    def concept_at_line(self, number: int, word: str = "") -> str:
        """The concept a line shows: the word under the mouse if it names one of the
        line's concepts (``bias`` in ``xb@weights + bias``), else the line's main one."""
        self._catch_up()
        if not 0 <= number < len(self._lines):
            return ""
        concepts = self._lines[number].concepts
        if word in concepts:
            return word
        return concepts[0] if concepts else ""

    def export_code(self, path: str | os.PathLike[str]) -> str | None:
        """Write the shown run as a script (.py) or notebook (.ipynb) that saves its
        parameters beside itself; for an imported model also the numbers it starts from
        (``<name>-start.npz``, whose name is returned; else None).  Raises
        :class:`BiasvizError` with a message to show."""
        from biasviz.core.codegen import (
            default_params_path,
            default_start_path,
            generate_code,
            write_code,
        )

        self._catch_up()
        if self._run is None:
            raise BiasvizError("there is no run to export yet")
        spec, config, task, ref = self._run
        epoch = self._live.get("epoch")
        start = self._start
        start_path = default_start_path(path) if start is not None else None
        code = generate_code(spec, config, task, ref, params_path=default_params_path(path),
                             trained_epochs=None if epoch is None else int(epoch),
                             start_path=start_path)
        if start is not None and start_path is not None:
            # the imported numbers the code starts from, beside it (written first: code
            # that cannot find its start would not run)
            from biasviz.core.paramfiles import export_params, make_metadata
            from biasviz.core.paramfiles.model_file import ModelFile

            meta = make_metadata(spec, note="the imported parameters the app's model "
                                 "started from")
            export_params(Path(os.fspath(path)).with_name(start_path),
                          ModelFile(spec, start, meta))
        write_code(path, code)
        return start_path

    def highlighted_lines(self) -> dict[str, list[int]]:
        """Lines under each kind of highlight now: ``concept``, ``flash``, ``hover``."""
        self._catch_up()
        return {
            "concept": self.lines_for(self._concept),
            "flash": list(self._flash_lines) if self._flash_left > 0 else [],
            "hover": self.lines_for(self._hovered),
        }

    # -- highlights --------------------------------------------------------------------------
    def _flash(self, lines: list[int]) -> None:
        self._flash_lines = lines
        self._flash_left = FLASH_MS if lines else 0
        if lines:
            self._flash_timer.start()
            # The code's own changed lines, not the header's summary comment (every
            # setting changes it: the panel jumped to the top, away from the loop being
            # read); and no scrolling while one of them is in view already.
            header = len(self._code.header) if self._code is not None else 0
            body = [n for n in lines if n >= header] or lines
            if not any(self._in_view(n) for n in body):
                self._ensure_visible(body[0])

    def _in_view(self, number: int) -> bool:
        block = self.editor.document().findBlockByNumber(number)
        if not block.isValid():
            return False
        rect = self.editor.blockBoundingGeometry(block).translated(self.editor.contentOffset())
        return rect.top() >= 0 and rect.bottom() <= self.editor.viewport().height()

    def _fade(self) -> None:
        self._flash_left = max(0, self._flash_left - FLASH_TICK_MS)
        if self._flash_left == 0:
            self._flash_timer.stop()
            self._flash_lines = []
        self._update_selections()

    def _line_selection(self, number: int, color: QColor) -> QTextEdit.ExtraSelection:
        sel = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.editor.document().findBlockByNumber(number))
        # the whole line, every row of it when it wraps (a cursor alone: its first row)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock,
                            QTextCursor.MoveMode.KeepAnchor)
        # (and its end: the last row's full width too)
        cursor.movePosition(QTextCursor.MoveOperation.NextCharacter,
                            QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cursor
        sel.format.setBackground(color)
        sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        return sel

    def _update_selections(self) -> None:
        selections = []
        for number in self.lines_for(self._hovered):
            selections.append(self._line_selection(number, HOVER_COLOR))
        for number in self.lines_for(self._concept):
            selections.append(self._line_selection(number, CONCEPT_COLOR))
        if self._flash_left > 0:
            glow = QColor(FLASH_COLOR)
            glow.setAlpha(int(170 * self._flash_left / FLASH_MS))
            for number in self._flash_lines:
                selections.append(self._line_selection(number, glow))
        self.editor.setExtraSelections(selections)

    def _ensure_visible(self, number: int) -> None:
        block = self.editor.document().findBlockByNumber(number)
        if not block.isValid():
            return
        if not self._in_view(number):
            # (the scroll bar counts rows, a wrapped line's every row: not lines)
            first_row = self.editor.document().findBlockByNumber(max(0, number - 3))
            self.editor.verticalScrollBar().setValue(first_row.firstLineNumber())

    # -- hovering ------------------------------------------------------------------------------
    def _hover_at(self, event: QMouseEvent) -> None:
        cursor = self.editor.cursorForPosition(event.position().toPoint())
        number = cursor.blockNumber()
        rect = self.editor.blockBoundingGeometry(cursor.block()).translated(
            self.editor.contentOffset())
        if not rect.contains(event.position()):
            number = -1  # below the last line
        cursor.select(QTextCursor.SelectionType.WordUnderCursor)
        word = cursor.selectedText()
        from biasviz.core.codegen import CONCEPTS

        concept = self.concept_at_line(number, word if word in CONCEPTS else "")
        self._set_hovered(concept)

    def _set_hovered(self, concept: str) -> None:
        if concept == self._hovered:
            return
        self._hovered = concept
        self._update_selections()
        self.conceptHovered.emit(concept)


class _HoverFilter(QObject):
    """Mouse moves over the editor's viewport → the concept of the line under it."""

    def __init__(self, panel: CodePanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
            self.panel._hover_at(event)
        elif event.type() == QEvent.Type.Leave:
            self.panel._set_hovered("")
        return False


def _changed_lines(old: list[str], new: list[str]) -> list[int]:
    """Indexes of ``new`` that are not in ``old`` (replaced or inserted lines)."""
    import difflib

    changed: list[int] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            changed.extend(range(j1, j2))
    return [i for i in changed if new[i].strip()]
