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

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QSizePolicy,
    QSplitter,
    QStackedLayout,
    QWidget,
)

from biasviz.core.datasets import TaskData
from biasviz.core.spec import Snapshot
from biasviz.gui.flow_layout import FlowLayout  # noqa: F401 - the lessons' rows use it from here


class Lesson(QWidget):
    #: Short name for the menu and the tab.
    title: str = "Lesson"
    #: Which seed text it answers ("000", "001", "chapter").
    seed: str = ""

    def set_data(self, data: TaskData) -> None:  # noqa: B027 - optional hook
        """The dataset or task changed."""

    def set_model(self, snapshot: Snapshot | None) -> None:  # noqa: B027 - optional hook
        """The main model's parameters changed."""

    def set_start(self, params: dict[str, np.ndarray] | None) -> None:  # noqa: B027
        """The main model's first parameters w₀ (called before :meth:`set_model`)."""

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


# -- layouts that adapt to the width they get ------------------------------------------------
# A lesson sits in a tab beside the Training dock: 900–1000 px wide on a 1366×768 or
# 1280×720 laptop (and at 2× scale on a 2560×1600 one), far more on a desktop.  Its panels
# go side by side when they fit and stack otherwise, so nothing needs sideways scrolling.

def min_width(widget: QWidget) -> int:
    """The narrowest ``widget`` may be made: its explicit minimum width, else its minimum
    size hint (what Qt's layouts use too)."""
    if widget.minimumWidth() > 0:
        return widget.minimumWidth()
    return max(0, widget.minimumSizeHint().width())


@dataclass(frozen=True)
class Cell:
    """Where one panel goes in an :class:`Arrangement`."""

    widget: QWidget
    row: int
    column: int
    row_span: int = 1
    column_span: int = 1


@dataclass(frozen=True)
class Arrangement:
    """One way to place a lesson's panels: cells on a grid, with the columns' and rows'
    stretch factors (missing ones are 0; all columns 0 means equal columns)."""

    cells: tuple[Cell, ...]
    column_stretch: tuple[int, ...] = ()
    row_stretch: tuple[int, ...] = ()

    @property
    def columns(self) -> int:
        return max((c.column + c.column_span for c in self.cells), default=0)

    @property
    def rows(self) -> int:
        return max((c.row + c.row_span for c in self.cells), default=0)

    def widgets(self) -> list[QWidget]:
        return [c.widget for c in self.cells]

    def needed_width(self, spacing: int, column_floor: int = 0) -> int:
        """The narrowest this arrangement can be without squeezing a shown panel below
        its minimum width (or a column below ``column_floor``)."""
        widths = self.column_minima(spacing, column_floor)
        return sum(widths) + spacing * max(0, len(widths) - 1)

    def column_minima(self, spacing: int, column_floor: int = 0) -> list[int]:
        """Each column's least width: its panels' minimum widths (a panel spanning
        columns spread over them), at least ``column_floor``."""
        n = self.columns
        widths = [column_floor] * n
        shown = [c for c in self.cells if not c.widget.isHidden()]
        for c in sorted(shown, key=lambda c: c.column_span):
            need = min_width(c.widget) - spacing * (c.column_span - 1)
            span = range(c.column, c.column + c.column_span)
            missing = need - sum(widths[i] for i in span)
            if missing > 0:  # spread what is missing over the spanned columns
                for k, i in enumerate(span):
                    widths[i] += missing // c.column_span + (k < missing % c.column_span)
        return widths


def places(arrangement: Arrangement, *widgets: QWidget) -> tuple[str, ...]:
    """Where each of ``widgets`` is in ``arrangement``, in the word a reader finds it by:
    "left", "middle" or "right" among the panels of its row when the row has several;
    "upper" or "lower" (first or last of ``widgets`` from the top) when it is alone in its
    row, as in a one-column arrangement.  A text that names panels by place takes its
    words from here, so it cannot disagree with the layout on screen."""
    cells = {id(c.widget): c for c in arrangement.cells}
    mine = [cells[id(w)] for w in widgets]
    alone_rows = sorted({c.row for c in mine
                         if sum(1 for o in arrangement.cells if o.row == c.row) == 1})
    words = []
    for c in mine:
        row = sorted(o.column for o in arrangement.cells if o.row == c.row)
        if len(row) > 1:
            rank = row.index(c.column)
            words.append("left" if rank == 0 else "right" if rank == len(row) - 1
                         else "middle")
        else:
            rank = alone_rows.index(c.row)
            words.append("upper" if rank == 0 else "lower" if rank == len(alone_rows) - 1
                         else "middle")
    return tuple(words)


def stacked(*widgets: QWidget, row_stretch: tuple[int, ...] = ()) -> Arrangement:
    """The panels one below the other: the arrangement for a narrow tab."""
    return Arrangement(tuple(Cell(w, i, 0) for i, w in enumerate(widgets)), (1,), row_stretch)


def min_height_for_width(widget: QWidget, width: int) -> int:
    """The least height ``widget`` needs at ``width``: its plots and pictures at their
    minimum, its wrapped texts with all their lines.

    Qt's own answer (``QLayout.totalMinimumHeightForWidth``) takes a nested widget's
    *preferred* height whenever a wrapped label sits somewhere inside it, so this walks
    the layouts itself."""
    if widget.isHidden():
        return 0
    explicit = widget.minimumHeight()
    height = explicit if explicit > 0 else max(0, widget.minimumSizeHint().height())
    layout = widget.layout()
    if layout is not None:  # the widget's own margins too (a group box's title, its frame)
        m = widget.contentsMargins()
        inner = _layout_min_height(layout, width - m.left() - m.right())
        height = max(height, inner + m.top() + m.bottom())
    elif widget.hasHeightForWidth():
        height = max(height, widget.heightForWidth(width))
    return min(height, widget.maximumHeight())


def _item_min_height(item: QLayoutItem, width: int) -> int:
    if item.widget() is not None:
        return min_height_for_width(item.widget(), width)
    if item.layout() is not None:
        return _layout_min_height(item.layout(), width)
    return 0 if item.isEmpty() else item.minimumSize().height()  # spacers


def _shares(items: list[QLayoutItem], width: int) -> list[int]:
    """Each item's part of ``width`` in a row: in proportion to the widths it has now
    (evenly before the first layout)."""
    now = [max(0, it.geometry().width()) for it in items]
    total = sum(now)
    if total <= 0:
        return [width // max(1, len(items))] * len(items)
    return [max(it.minimumSize().width(), w * width // total) for it, w in zip(items, now, strict=True)]


def _layout_min_height(layout: QLayout, width: int) -> int:
    m = layout.contentsMargins()
    inner = max(0, width - m.left() - m.right())
    items = [layout.itemAt(i) for i in range(layout.count())]
    items = [it for it in items if it is not None and not it.isEmpty()]
    if not items:
        return m.top() + m.bottom()
    if isinstance(layout, QStackedLayout):
        shown = layout.currentWidget()
        body = min_height_for_width(shown, inner) if shown is not None else 0
    elif isinstance(layout, QGridLayout):
        rows: dict[int, int] = {}
        spans = []
        widths = _shares(items, inner)
        for it, w in zip(items, widths, strict=True):
            row, _col, row_span, _cs = layout.getItemPosition(layout.indexOf(it))
            need = _item_min_height(it, w)
            if row_span == 1:
                rows[row] = max(rows.get(row, 0), need)
            else:
                spans.append((row, row_span, need))
        for row, span, need in spans:  # a tall item spanning rows: make the rows fit it
            have = sum(rows.get(r, 0) for r in range(row, row + span))
            if need > have:
                rows[row + span - 1] = rows.get(row + span - 1, 0) + need - have
        n_rows = max([r + 1 for r in rows] + [r + s for r, s, _ in spans])
        body = sum(rows.values()) + max(0, layout.verticalSpacing()) * (n_rows - 1)
    elif isinstance(layout, QBoxLayout) and layout.direction() in (
            QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.RightToLeft):
        body = max(_item_min_height(it, w) for it, w in zip(items, _shares(items, inner), strict=True))
    else:  # top to bottom, or a layout of another kind: one below the other
        spacing = max(0, layout.spacing())
        body = sum(_item_min_height(it, inner) for it in items) + spacing * (len(items) - 1)
    return body + m.top() + m.bottom()


class ScrollContent(QWidget):
    """The inside of a lesson's scroll area.

    It declines height-for-width, which QScrollArea would honour with the *preferred*
    heights of everything (the lesson would always scroll); instead its minimum height is
    what its contents need at its current width — wrapped texts with all their lines,
    plots at their minimum — so the area fills the tab and scrolls only below that."""

    def heightForWidth(self, _width: int) -> int:  # noqa: N802 (Qt naming)
        return -1

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        hint = super().minimumSizeHint()
        layout = self.layout()
        if layout is None or self.width() <= 0:
            return hint
        m = self.contentsMargins()
        need = _layout_min_height(layout, self.width() - m.left() - m.right())
        return QSize(hint.width(), max(hint.height(), need + m.top() + m.bottom()))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # texts wrap differently: the height needed changed


def _spread(total: int, minima: list[int], stretch: list[int]) -> list[int]:
    """``total`` split in proportion to ``stretch`` (all 0: evenly), none below its
    minimum (if the minima alone exceed ``total``, the minima)."""
    n = len(minima)
    weights = [float(s) for s in stretch] if any(stretch) else [1.0] * n
    sizes = list(minima)
    free = [i for i in range(n) if weights[i] > 0]
    while free:
        room = total - sum(sizes[i] for i in range(n) if i not in free)
        weight = sum(weights[i] for i in free)
        want = {i: room * weights[i] / weight for i in free}
        pinned = [i for i in free if want[i] < minima[i]]
        if not pinned:
            for i in free:
                sizes[i] = int(want[i])
            break
        free = [i for i in free if i not in pinned]  # those keep their minimum
    # rounding: what is left goes to the last stretching one
    left = total - sum(sizes)
    growing = [i for i in range(n) if weights[i] > 0]
    if left > 0 and growing:
        sizes[growing[-1]] += left
    return sizes


class ReflowGrid(QWidget):
    """Panels placed by the widest of ``arrangements`` (widest first, the last the
    narrowest) that fits the width this widget gets, placed again on every resize (the
    window, the dock beside the tab) and whenever a panel's size needs change.

    The panels are placed by hand in :meth:`resizeEvent` rather than by a QGridLayout:
    a grid takes wrapped labels' *preferred* heights as their minimum, which would make
    every panel with a paragraph in it far taller than needed.  Here each row is as tall
    as its tallest panel needs at the width it gets (plots their minimum, texts all
    their lines), and the spare height goes to the rows by their stretch.

    Its minimum width is that of the narrowest arrangement, so a scroll area around it
    never scrolls sideways while that one fits; its minimum height is what the current
    arrangement needs at the current width.

    :attr:`arranged` tells which arrangement is shown whenever that changes, so that a
    text naming panels by where they are ("left", "below") can follow the layout."""

    #: The index of the arrangement now shown (0 the widest), after a change.
    arranged = Signal(int)

    def __init__(self, arrangements: list[Arrangement], *, column_floor: int = 0,
                 spacing: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not arrangements:
            raise ValueError("a ReflowGrid needs at least one arrangement")
        first = set(map(id, arrangements[0].widgets()))
        for a in arrangements[1:]:
            if set(map(id, a.widgets())) != first:
                raise ValueError("every arrangement must place the same panels")
        self._arrangements = list(arrangements)
        self._column_floor = column_floor
        self._spacing = spacing
        self._row_spacing = 6
        self._current = len(arrangements) - 1  # narrowest until a width is known
        self._min_height = 0
        for w in arrangements[0].widgets():
            w.setParent(self)

    # -- read-outs (tests, screenshots) -------------------------------------------------
    def arrangement_index(self) -> int:
        """Which arrangement is shown: 0 the widest."""
        return self._current

    def arrangement(self) -> Arrangement:
        return self._arrangements[self._current]

    def arrangement_count(self) -> int:
        return len(self._arrangements)

    def needed_width(self, index: int) -> int:
        return self._arrangements[index].needed_width(self._spacing, self._column_floor)

    def choose(self, width: int) -> int:
        """The widest arrangement that fits ``width`` (the narrowest if none does)."""
        for i in range(len(self._arrangements)):
            if self.needed_width(i) <= width:
                return i
        return len(self._arrangements) - 1

    # -- Qt ------------------------------------------------------------------------------
    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(self.needed_width(len(self._arrangements) - 1), self._min_height)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return self.minimumSizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self.reflow()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self.reflow()

    def event(self, event: QEvent) -> bool:
        # a panel's size needs changed (a longer text, a panel shown or hidden)
        if event.type() == QEvent.Type.LayoutRequest:
            self.reflow()
        return super().event(event)

    def reflow(self) -> None:
        """Choose the arrangement for the current width and place the panels by it."""
        width = self.width()
        previous, self._current = self._current, self.choose(width)
        arrangement = self._arrangements[self._current]
        columns = self._column_widths(arrangement, width)
        lefts = [sum(columns[:c]) + self._spacing * c for c in range(len(columns))]

        def cell_width(c: Cell) -> int:
            span = columns[c.column:c.column + c.column_span]
            return sum(span) + self._spacing * (len(span) - 1)

        shown = [c for c in arrangement.cells if not c.widget.isHidden()]
        needs = {id(c): min_height_for_width(c.widget, cell_width(c)) for c in shown}
        rows = [0] * arrangement.rows
        for c in sorted(shown, key=lambda c: c.row_span):
            span = range(c.row, c.row + c.row_span)
            missing = needs[id(c)] - sum(rows[r] for r in span) \
                - self._row_spacing * (c.row_span - 1)
            if missing > 0:
                for k, r in enumerate(span):
                    rows[r] += missing // c.row_span + (k < missing % c.row_span)
        min_height = sum(rows) + self._row_spacing * max(0, len(rows) - 1)
        stretch = list(arrangement.row_stretch) + [0] * (len(rows) - len(arrangement.row_stretch))
        if any(stretch) and self.height() > min_height:
            rows = _spread(self.height() - self._row_spacing * max(0, len(rows) - 1),
                           rows, stretch)
        tops = [sum(rows[:r]) + self._row_spacing * r for r in range(len(rows))]
        for c in shown:
            height = sum(rows[c.row:c.row + c.row_span]) + self._row_spacing * (c.row_span - 1)
            c.widget.setGeometry(QRect(lefts[c.column], tops[c.row], cell_width(c), height))
        if min_height != self._min_height:
            self._min_height = min_height
            self.updateGeometry()
            if isinstance(self.parentWidget(), QSplitter):
                # a splitter re-reads its panes' minima only when told, and not in the
                # middle of laying them out
                QTimer.singleShot(0, self._tell_splitter)
        if self._current != previous:
            self.arranged.emit(self._current)

    def _tell_splitter(self) -> None:
        parent = self.parentWidget()
        if isinstance(parent, QSplitter):
            parent.refresh()
            parent.updateGeometry()

    def _column_widths(self, arrangement: Arrangement, width: int) -> list[int]:
        n = arrangement.columns
        minima = arrangement.column_minima(self._spacing, self._column_floor)
        stretch = list(arrangement.column_stretch) + [0] * (n - len(arrangement.column_stretch))
        return _spread(width - self._spacing * (n - 1), minima, stretch or [1] * n)


def labelled(text: str, widget: QWidget, spacing: int = 4) -> QWidget:
    """A label and its control (the label its buddy, with the control's tooltip) kept
    together on one line of a :class:`FlowLayout`."""
    pair = QWidget()
    row = QHBoxLayout(pair)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(spacing)
    label = QLabel(text)
    label.setBuddy(widget)
    label.setToolTip(widget.toolTip())
    row.addWidget(label)
    row.addWidget(widget)
    return pair


class ElidedLabel(QLabel):
    """A one-line label that ends in “…” when it is too narrow, the whole text then in its
    tooltip (before its own explanation): never cut mid-word without a way to read it."""

    def __init__(self, text: str = "", tooltip: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self._help = tooltip
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def full_text(self) -> str:
        return self._full

    def is_elided(self) -> bool:
        return super().text() != self._full

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def set_help(self, tooltip: str) -> None:
        self._help = tooltip
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 8,
                     super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        super().setText(shown)
        if shown != self._full:
            self.setToolTip(f"{self._full}\n\n{self._help}" if self._help else self._full)
        else:
            self.setToolTip(self._help)
