"""Shared pieces of the decision panel: number formats, colours, the float slider."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QStyle,
    QStyleOptionSlider,
    QWidget,
)

from biasviz.core.decisions import (
    threshold_from_probability,
)
from biasviz.core.text import num, percent
from biasviz.gui.plot_style import cache_axes, make_still

P_MIN, P_MAX = 0.001, 0.999
FINE_KEYS_TIP = (
    "\n\nFine steps: arrow keys ±0.01, PageUp/PageDown ±0.1; hold Shift while dragging "
    "to move 10× slower."
)
RANGE_SLACK = 2.0  # the bias slider may span up to this many times what the data need
T_LIMIT = round(threshold_from_probability(P_MAX), 3)  # 6.907: the logit of p = 0.999
# What the threshold box takes (its slider spans ±T_LIMIT, p = 0.001…0.999): the scores
# reach ±30 and the bias box takes any value, and a typed −15 became "−1.000" (the box
# refused the "5" without a word).
T_BOX = 1000.0
BIAS_DECIMALS = 3
THRESHOLD_DECIMALS = 3
PROBABILITY_DECIMALS = 3
MULTI_DECIMALS = 2

CORRECT_BG = "#dcefd9"  # light green: the correct diagonal
CORRECT_FG = "#1d4a1b"
WRONG_BG = "#f6f6f6"
WRONG_FG = "#3a3a3a"
OVERRIDE_FG = "#a14a00"  # dark orange: "you changed this"
NOTE_FG = "#8a1c1c"  # dark red: why a control is disabled
# Sequential map for confusion counts: white (0) to dark blue (most images).
HEAT_COLORS = [(255, 255, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)]

MODE_EMPTY, MODE_BINARY, MODE_MULTICLASS = "empty", "binary", "multiclass"


fmt = num  # the panel's historical names
fmt_percent = percent


def accuracy_counts(correct: int, n: int, total: int | None) -> str:
    """What an accuracy was measured on: "(1737 / 2000)" on all the validation images;
    "on 2,000 of 10,000" while training scores a sample of them (the denominator jumped
    from 2000 to 10000 at a run's end with no word why, walk-through S)."""
    if total is not None and total > n:
        return f"on {n:,} of {total:,}"
    return f"({correct} / {n})"


SAMPLE_TIP = ("\n\nWhile training, this is measured on a fixed sample of {n:,} of the "
              "{total:,} validation images, so that the window stays smooth; paused or "
              "finished, on all of them.")


def quoted(name: str) -> str:
    return f"“{name}”"


def _rgba(color: tuple[int, int, int], alpha: int) -> tuple[int, int, int, int]:
    return (int(color[0]), int(color[1]), int(color[2]), alpha)


def _css(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in color))


#: A label's font size as a multiple of the application font's (set by ``_small``): the
#: label follows the application font, so presentation mode's bigger type reaches it and
#: it stays as much smaller than normal text as it was.
FONT_RATIO = "biasviz_font_ratio"


def _app_font_size() -> tuple[float, bool]:
    """The application font's size and whether it is in points (else pixels)."""
    font = QApplication.font()
    if font.pointSizeF() > 0:
        return font.pointSizeF(), True
    return float(max(font.pixelSize(), 1)), False


def _apply_font_ratio(widget: QWidget) -> None:
    ratio = widget.property(FONT_RATIO)
    if not ratio:
        return
    size, in_points = _app_font_size()
    font = widget.font()
    if in_points:
        font.setPointSizeF(max(6.0, size * float(ratio)))
    else:
        font.setPixelSize(max(8, round(size * float(ratio))))
    widget.setFont(font)


def _follow_font(_font: object = None) -> None:
    """Re-size every ``_small`` label to the application font: Qt tells only the
    application and the top-level windows of a font change, and an explicit size would
    not follow."""
    for widget in QApplication.allWidgets():
        if widget.property(FONT_RATIO):
            _apply_font_ratio(widget)


_following: QObject | None = None  # the application whose fontChanged is connected


def _follow_app_font() -> None:
    # QGuiApplication.fontChanged, not an event filter on the application: that filter
    # would see every event of every object, a Python call each, all the time
    global _following
    app = QApplication.instance()
    if _following is not app:
        _following = app
        app.fontChanged.connect(_follow_font)


def _small(label: QLabel, delta: float = -1.0) -> QLabel:
    """``label`` ``delta`` points smaller (or larger) than the text around it, kept as a
    ratio to the application font (see FONT_RATIO)."""
    size, in_points = _app_font_size()
    current = label.font().pointSizeF() if in_points else float(label.font().pixelSize())
    if current <= 0:
        current = size
    wanted = current + (delta if in_points else delta * 4.0 / 3.0)  # 1 pt = 4/3 px at 96 dpi
    label.setProperty(FONT_RATIO, max(6.0, wanted) / size)
    _follow_app_font()
    _apply_font_ratio(label)
    return label


def _bold(label: QLabel) -> QLabel:
    # only the weight is set: the size still follows the application font
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class FloatSlider(QSlider):
    """A horizontal QSlider over a float range, for fine work.

    One integer step is ``10**-decimals`` (0.001 for the bias), so the keyboard moves it
    exactly: an arrow key by ``fine_step`` (0.01), PageUp/PageDown by ``page_step``
    (0.1).  Dragging the handle moves the value with the mouse; holding Shift while
    dragging moves it ``FINE_DRAG`` times slower, to reach a value to the hundredth.

    ``floatChanged`` fires when the user moves it (keyboard, mouse, or ``setValue`` on
    the integer position); :meth:`set_float_value` and :meth:`set_float_range` are silent.
    """

    floatChanged = Signal(float)
    FINE_DRAG = 10.0  # Shift-drag is this many times slower
    MAX_POSITIONS = 200_000_000  # well inside a 32-bit int; coarser units beyond it

    def __init__(
        self, decimals: int, parent: QWidget | None = None,
        fine_step: float = 0.01, page_step: float = 0.1,
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._lo, self._hi = -1.0, 1.0
        self._decimals = decimals
        self._unit = 10.0**-decimals
        self._fine_step, self._page_step = float(fine_step), float(page_step)
        self._drag_x: float | None = None  # last mouse x while the handle is dragged
        self._drag_pos = 0.0  # exact (fractional) position while dragging
        self.setMinimumWidth(90)
        self.set_float_range(-1.0, 1.0)
        self.valueChanged.connect(self._on_int_value)

    def float_range(self) -> tuple[float, float]:
        return self._lo, self._hi

    def unit(self) -> float:
        """The value of one integer step of the slider."""
        return self._unit

    def set_float_range(self, lo: float, hi: float) -> None:
        """The values the slider spans (silent: the caller re-sets the value)."""
        if not hi > lo:
            lo, hi = lo - 1.0, hi + 1.0
        self._lo, self._hi = float(lo), float(hi)
        unit = 10.0**-self._decimals
        if (self._hi - self._lo) / unit > self.MAX_POSITIONS:  # a diverged model's huge range
            unit = 10.0 ** math.ceil(math.log10((self._hi - self._lo) / self.MAX_POSITIONS))
        self._unit = unit
        blocked = self.blockSignals(True)
        self.setRange(math.floor(self._lo / unit), math.ceil(self._hi / unit))
        self.setSingleStep(max(1, round(self._fine_step / unit)))
        self.setPageStep(max(1, round(self._page_step / unit)))
        self.blockSignals(blocked)

    def float_at(self, position: int) -> float:
        return round(position * self._unit, self._decimals)

    def float_value(self) -> float:
        return self.float_at(self.value())

    def position_of(self, value: float) -> int:
        value = float(value)
        if not math.isfinite(value):
            return self.minimum() if value < 0 else self.maximum()
        return int(min(max(round(value / self._unit), self.minimum()), self.maximum()))

    def set_float_value(self, value: float) -> None:
        blocked = self.blockSignals(True)
        self.setValue(self.position_of(value))
        self.blockSignals(blocked)

    def positions_per_pixel(self) -> float:
        """How many integer steps one pixel of handle travel is worth."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        groove = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
        )
        travel = max(groove.width() - handle.width(), 1)
        return (self.maximum() - self.minimum()) / travel

    def _on_int_value(self, position: int) -> None:
        self.floatChanged.emit(self.float_at(position))

    # Dragging is relative (the value follows the mouse's movement, not its position),
    # so Shift can slow it down mid-drag without the handle jumping.
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self.isSliderDown():
            self._drag_x = event.position().x()
            self._drag_pos = float(self.sliderPosition())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._drag_x is None or not self.isSliderDown():
            super().mouseMoveEvent(event)
            return
        x = event.position().x()
        factor = self.positions_per_pixel()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            factor /= self.FINE_DRAG
        self._drag_pos += (x - self._drag_x) * factor
        self._drag_pos = min(max(self._drag_pos, self.minimum()), self.maximum())
        self._drag_x = x
        self.setSliderPosition(round(self._drag_pos))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._drag_x = None
        super().mouseReleaseEvent(event)


def _spin(decimals: int, lo: float, hi: float, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setKeyboardTracking(False)  # update when the number is complete, not per keystroke
    spin.setAccelerated(True)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    return spin


def wide_enough(widget: QLabel | QPushButton, texts: list[str]) -> None:
    """At least as wide as it is with the widest of ``texts``: a text that changes with
    the state ("initial" becomes "trained" at the first run's end) then moves nothing
    beside it (the layout had shifted its neighbours, repainting them)."""
    shown = widget.text()
    width = 0
    for text in texts:
        widget.setText(text)
        width = max(width, widget.sizeHint().width())
    widget.setText(shown)
    widget.setMinimumWidth(max(width, widget.minimumWidth()))


class _OnePlace(QStackedWidget):
    """A stack as high, at any width, as the highest of its widgets at that width (Qt's
    asks only the widget on top, so the place changed height at each turn)."""

    def _height(self, widget: QWidget, width: int) -> int:
        return widget.heightForWidth(width) if widget.hasHeightForWidth() \
            else widget.sizeHint().height()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt naming)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt naming)
        return max((self._height(self.widget(i), width) for i in range(self.count())),
                   default=0)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        hint = super().minimumSizeHint()
        return QSize(hint.width(), max(hint.height(), self.heightForWidth(self.width())))


def one_place(*widgets: QWidget) -> QStackedWidget:
    """Widgets that take turns in one place (a status line and the note that stands in
    for it while editing is off): the place is as high as the highest, so a turn moves
    nothing.  Showing one and hiding another resized the plot above them at each run's
    start and end: a relayout and the plot's axes rebuilt, ~10 ms of a 0.15 s run."""
    stack = _OnePlace()
    for widget in widgets:
        stack.addWidget(widget)
    return stack


def show_in_place(widget: QWidget) -> None:
    """Give ``widget`` its :func:`one_place` (the others there step back)."""
    stack = widget.parentWidget()
    if isinstance(stack, QStackedWidget):
        stack.setCurrentWidget(widget)


def _plot_widget() -> pg.PlotWidget:
    """A still plot (no pan/zoom/menu: learners should not lose the view) that follows
    the application palette, so it looks right in light and dark themes."""
    # no view-box menu made only to be removed by make_still (~3 ms a plot at start-up)
    plot = pg.PlotWidget(enableMenu=False)
    app_palette = plot.palette()
    plot.setBackground(app_palette.color(QPalette.ColorRole.Base))
    make_still(plot.getPlotItem(), app_palette.color(QPalette.ColorRole.Text))
    cache_axes(plot.getPlotItem())
    return plot


class NoteLabel(QLabel):
    """A plain-text note wrapped onto at most ``max_lines`` lines, the last ending in "…"
    when the text needs more, the whole text then in the tooltip.  A word-wrapped QLabel
    in a row two lines high cut "Showing a past moment of training: press Now to edit
    the…" mid-sentence with no way to read the rest (walk-through S)."""

    def __init__(self, max_lines: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._max_lines = max(1, int(max_lines))
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        self._full = str(text)
        self._fit()

    def text(self) -> str:
        """The whole text (what is shown may be shortened: :meth:`shown_text`)."""
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def is_elided(self) -> bool:
        return " ".join(self.shown_text().split()) != " ".join(self._full.split())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        fm = self.fontMetrics()
        m = self.contentsMargins()
        return QSize(fm.horizontalAdvance(self._full) // self._max_lines + 8,
                     self._max_lines * fm.lineSpacing() + m.top() + m.bottom())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(0, self.sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt naming)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # a style sheet's italics arrive late
            self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width()
        fm = self.fontMetrics()
        words = self._full.split()
        lines: list[str] = []
        i = 0
        while i < len(words) and len(lines) < self._max_lines - 1:
            line = words[i]
            i += 1
            while i < len(words) and fm.horizontalAdvance(f"{line} {words[i]}") <= width:
                line = f"{line} {words[i]}"
                i += 1
            lines.append(line)
        if i < len(words):  # the last line takes the rest, shortened to fit
            lines.append(fm.elidedText(" ".join(words[i:]), Qt.TextElideMode.ElideRight,
                                       max(width, 0)))
        lines = [fm.elidedText(line, Qt.TextElideMode.ElideRight, max(width, 0))
                 for line in lines]
        super().setText("\n".join(lines))
        self.setToolTip(self._full if self.is_elided() else "")
