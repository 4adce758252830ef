"""Class names that fit where they are shown: "item" or "digit" from the dataset's names,
labels and combo boxes that elide with a tooltip instead of cutting a word, and the tick
labels of a class axis that never overlap or fall off the end of the axis.

Fashion-MNIST's "T-shirt/top" and "Ankle boot" are much longer than MNIST's "3": every
widget that shows class names uses these helpers so that a long name is either shown
whole, or shortened with "…" and the whole name in a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

DIGITS = tuple(str(i) for i in range(10))
ELLIPSIS = "…"


def class_noun(class_names: Sequence[str]) -> str:
    """"digit" when every class name is one of "0".."9" (MNIST), else "item"
    (Fashion-MNIST's clothes, Kuzushiji-MNIST's characters)."""
    names = [str(n) for n in class_names]
    return "digit" if names and all(n in DIGITS for n in names) else "item"


def with_article(noun: str) -> str:
    """ "a digit", "an item"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def elide(text: str, metrics: QFontMetricsF, width: float) -> str:
    """``text`` shortened with "…" to fit ``width`` pixels (the whole text if it fits)."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(width, 0.0))


class ElidedLabel(QLabel):
    """A one-line plain-text label that shortens its text with "…" to the width it gets
    and then shows the whole text as its tooltip (never a word cut without one).

    Its minimum width is small, so a layout can squeeze it; :meth:`full_text` is the
    text it was given, ``text()`` what is shown.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 wrap_once: bool = False) -> None:
        super().__init__(parent)
        self._full = ""
        self._tip = ""
        # too narrow for one line: two, at the first space ("called" over "“Pullover”"),
        # before any "…" (a confusion table's headers read "called “Co…" at 1366 px)
        self._wrap_once = wrap_once
        self.setTextFormat(Qt.TextFormat.PlainText)
        # its whole text when there is room, down to "…" when there is not
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def set_full_text(self, text: str, tooltip: str = "") -> None:
        """The text to show (elided when it does not fit) and an extra tooltip."""
        self._full = str(text)
        self._tip = str(tooltip)
        self.updateGeometry()
        self._fit()

    def full_text(self) -> str:
        return self._full

    def is_elided(self) -> bool:
        """Shortened with "…" (on two lines, whole, it is not)."""
        return self.text().replace("\n", " ") != self._full

    def minimumSizeHint(self):  # noqa: N802 (Qt override)
        hint = super().minimumSizeHint()
        hint.setWidth(self.fontMetrics().horizontalAdvance(ELLIPSIS * 3))
        return hint

    def sizeHint(self):  # noqa: N802 (Qt override)
        hint = super().sizeHint()
        margins = self.contentsMargins()
        hint.setWidth(
            self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2
        )
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = self.contentsRect().width() - 2
        laid_out = self.isVisible() and room > 0  # before that its width means nothing
        metrics = QFontMetricsF(self.font())
        shown = elide(self._full, metrics, room) if laid_out else self._full
        if shown != self._full and self._wrap_once and " " in self._full:
            first, rest = self._full.split(" ", 1)
            shown = f"{elide(first, metrics, room)}\n{elide(rest, metrics, room)}"
        if shown != self.text():
            lines_changed = shown.count("\n") != self.text().count("\n")
            super().setText(shown)
            if lines_changed:
                self.updateGeometry()  # one line more or less: the layout's height
        tip = self._tip
        if shown.replace("\n", " ") != self._full:
            tip = self._full + (f"\n{tip}" if tip else "")
        if tip != self.toolTip():
            self.setToolTip(tip)


class ElidingComboBox(QComboBox):
    """A combo box that shows its current text shortened with "…" when the box is too
    narrow (Qt's own style cuts it mid-letter), the whole text in its tooltip, and a
    list wide enough for the longest entry."""

    popupAboutToShow = Signal()  # (its entries may be brought up to date first)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._help = ""
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(3)
        self.currentIndexChanged.connect(lambda _i: self._sync_tooltip())

    def set_help(self, text: str) -> None:
        """The explanation shown in the tooltip under the current entry's full text."""
        self._help = str(text)
        self._sync_tooltip()

    def help_text(self) -> str:
        return self._help

    def shown_text(self) -> str:
        """The current text as it is painted (elided to the box)."""
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        rect = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        return elide(self.currentText(), QFontMetricsF(self.font()), rect.width() - 2)

    def _sync_tooltip(self) -> None:
        text = self.currentText()
        tip = f"{text}\n\n{self._help}" if self._help and text else (self._help or text)
        self.setToolTip(tip)

    def setItemText(self, index: int, text: str) -> None:  # noqa: N802 (Qt override)
        super().setItemText(index, text)
        self._sync_tooltip()

    def showPopup(self) -> None:  # noqa: N802 (Qt override)
        # Sized when it opens, for the entries it has then: fitted at every added or
        # renamed entry, the first window measured its ten class names 2 × 20 times.
        self.popupAboutToShow.emit()
        self.fit_popup()
        super().showPopup()

    def fit_popup(self) -> None:
        """Make the list wide enough for the longest entry (done when it opens)."""
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(self.itemText(i)) for i in range(self.count())),
                      default=0)
        self.view().setMinimumWidth(widest + 36)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        opt.currentText = self.shown_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)


def _allowed_widths(
    widths: list[float], end_room: list[float], step: int, pitch: float, gap: float
) -> list[float]:
    """The widest each label may be when labels ``step`` apart share a line: two such
    neighbours, centred ``step * pitch`` apart, must keep ``gap`` between them (the
    longer one gives way), and no label may run past an end of the axis."""
    allowed = [min(w, end) for w, end in zip(widths, end_room, strict=True)]
    room = step * pitch - gap  # the sum of two neighbours' half widths, at most
    for _ in range(3):
        for i in range(len(allowed) - step):
            j = i + step
            if (allowed[i] + allowed[j]) / 2 <= room:
                continue
            longer, shorter = (i, j) if allowed[i] >= allowed[j] else (j, i)
            allowed[longer] = 2 * room - allowed[shorter]
            if allowed[longer] < allowed[shorter]:  # both long: share the room evenly
                allowed[i] = allowed[j] = room
    return [max(a, 0.0) for a in allowed]


def fit_category_ticks(
    names: Sequence[str],
    positions: Sequence[float],
    view_range: tuple[float, float],
    width_px: float,
    font: QFont,
    gap_px: float = 6.0,
    max_lines: int = 2,
    spill: tuple[float, float] = (0.0, 0.0),
) -> tuple[list[str], bool]:
    """Tick labels for class names at ``positions`` on a horizontal axis ``width_px``
    wide showing ``view_range``: on one line when they fit, else staggered over up to
    ``max_lines`` lines (label i on line i mod lines), shortened with "…" where even
    that leaves too little room.  A label near an end is shortened so it does not run
    past the axis (pyqtgraph drops such a label), or past ``spill`` pixels beyond its
    (left, right) ends where there is free room there (under the row names).

    Returns ``(labels, shortened)``; show the full names in a tooltip when shortened.
    """
    names = [str(n) for n in names]
    if not names:
        return [], False
    lo, hi = float(view_range[0]), float(view_range[1])
    if not (width_px > 0 and hi > lo):
        return list(names), False
    metrics = QFontMetricsF(font)
    px = width_px / (hi - lo)
    pos = [float(p) for p in positions]
    pitch = min((abs(b - a) for a, b in zip(pos, pos[1:], strict=False)), default=hi - lo) * px
    widths = [metrics.horizontalAdvance(n) for n in names]
    # room at the axis ends: a label is centred on its tick
    end_room = [2 * min((p - lo) * px + spill[0], (hi - p) * px + spill[1]) - 2 for p in pos]
    lines = 1
    allowed = _allowed_widths(widths, end_room, 1, pitch, gap_px)
    if all(a >= w for a, w in zip(allowed, widths, strict=True)):
        return list(names), False
    # the fewest lines that show every name whole, else the most lines allowed
    for lines in range(2, max(1, min(int(max_lines), len(names))) + 1):
        allowed = _allowed_widths(widths, end_room, lines, pitch, gap_px)
        if all(a >= w for a, w in zip(allowed, widths, strict=True)):
            break
    labels, shortened = [], False
    for i, (name, room) in enumerate(zip(names, allowed, strict=True)):
        text = elide(name, metrics, room)
        if text != name:
            shortened = True
        if not text.strip(ELLIPSIS):
            text = name[:1] + ELLIPSIS  # never an empty label: its first letter at least
        labels.append("\n" * (i % lines) + text)
    return labels, shortened


class CategoryAxis:
    """Keeps the class-name ticks of one horizontal axis fitted to its width.

    Refits whenever the view box is resized or its range changes; when names are
    shortened the axis's tooltip lists them all.
    """

    def __init__(self, plot_item: pg.PlotItem, side: str = "bottom", max_lines: int = 2) -> None:
        self._item = plot_item
        self._max_lines = int(max_lines)
        self._axis = plot_item.getAxis(side)
        self._names: list[str] = []
        self._positions: list[float] = []
        self._font: QFont | None = None
        self._extra_tip = ""
        self.shown: list[str] = []
        self.shortened = False
        vb = plot_item.getViewBox()
        vb.sigResized.connect(self.refit)
        vb.sigXRangeChanged.connect(self.refit)

    def set_names(
        self, names: Sequence[str], positions: Sequence[float] | None = None,
        font: QFont | None = None, tooltip: str = "",
    ) -> None:
        self._names = [str(n) for n in names]
        self._positions = (
            [float(p) for p in positions] if positions is not None
            else [float(i) for i in range(len(self._names))]
        )
        if font is not None:
            self._font = QFont(font)
            self._axis.setTickFont(self._font)
        self._extra_tip = tooltip
        self.refit()

    def names(self) -> list[str]:
        return list(self._names)

    def shown_labels(self) -> list[str]:
        """The tick texts as set on the axis (staggered ones start with a newline)."""
        return list(self.shown)

    def _room_beyond_ends(self) -> tuple[float, float]:
        """Free pixels left and right of the view box within the plot (under the row
        names on the left; the plot's margin on the right) that an end label may use."""
        vb = self._item.getViewBox()
        inner, outer = vb.sceneBoundingRect(), self._item.sceneBoundingRect()
        if inner.width() <= 0 or outer.width() <= 0:
            return 0.0, 0.0
        return (max(0.0, inner.left() - outer.left() - 2),
                max(0.0, outer.right() - inner.right() - 2))

    def refit(self, *_args) -> None:
        if not self._names:
            self.shown, self.shortened = [], False
            self._axis.setTicks([[], []])
            self._axis.setToolTip(self._extra_tip)
            return
        vb = self._item.getViewBox()
        (x0, x1), _ = vb.viewRange()
        width = vb.width()
        font = self._font or QFont(self._axis.font())
        spill = self._room_beyond_ends()
        labels, shortened = fit_category_ticks(
            self._names, self._positions, (x0, x1), width, font, max_lines=self._max_lines,
            spill=spill,
        )
        # pyqtgraph draws a label only inside the axis' rectangle grown by this much
        beyond = max(0, math.floor(max(spill)))
        if self._axis.style["hideOverlappingLabels"] != (beyond or True):
            self._axis.setStyle(hideOverlappingLabels=beyond or True)
        lines = 1 + max((len(label) - len(label.lstrip("\n")) for label in labels), default=0)
        metrics = QFontMetricsF(font)
        height = int(metrics.lineSpacing() * lines + 16)
        if self._axis.label.isVisible():  # the axis's own label goes under the names
            height += int(QFontMetricsF(self._axis.label.font()).height()) + 6
        if abs(self._axis.height() - height) > 1:
            self._axis.setHeight(height)
        if labels != self.shown:
            self.shown, self.shortened = labels, shortened
            self._axis.setTicks([list(zip(self._positions, labels, strict=True)), []])
        tip = self._extra_tip
        if shortened:
            names = "\n".join(self._names)
            tip = (tip + "\n\n" if tip else "") + "The classes, in order:\n" + names
        if tip != self._axis.toolTip():
            self._axis.setToolTip(tip)


__all__ = [
    "CategoryAxis",
    "ElidedLabel",
    "ElidingComboBox",
    "class_noun",
    "elide",
    "fit_category_ticks",
]
