"""One way to make a pyqtgraph plot still and readable, shared by every view."""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsTextItem, QWidget

from biasviz.core.text import escape_html


def make_still(
    item: pg.PlotItem, axis_color: QColor | str | tuple, axes: tuple[str, ...] = ("left", "bottom")
) -> pg.PlotItem:
    """No pan, zoom, context menu or auto-range button (learners should not lose the
    view), and the given axes drawn in ``axis_color``.  Returns ``item``."""
    item.setMouseEnabled(x=False, y=False)
    item.setMenuEnabled(False)
    item.hideButtons()
    for name in axes:
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(axis_color))
        axis.setTextPen(pg.mkPen(axis_color))
    return item


def cache_axes(item: pg.PlotItem, axes: tuple[str, ...] = ("left", "bottom")) -> None:
    """Keep each axis (its ticks, labels and grid lines) as a pixmap between changes.

    A plot whose curve changes repaints everything under the curve, axes included; an
    axis replays its recorded drawing (every tick label's text, every grid line) at ~0.8 ms
    each time, a third of a live plot's frame.  Cached, it costs a blit until its range
    or style changes (pyqtgraph then calls ``update``, which renews the pixmap)."""
    for name in axes:
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def draw_what_fits(curve: pg.PlotDataItem) -> None:
    """Draw a long curve at about one sample per pixel (peaks kept) and only its visible
    part: thousands of anti-aliased segments were the largest part of a plot's frame."""
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    # pyqtgraph's default draws ~5 samples per pixel; it has no setter for the factor
    curve.opts["autoDownsampleFactor"] = 1.0


#: Finer steps, for axes that should not stand half empty (a run of 2,600 steps on an
#: axis to 3,000, not 5,000).
FINE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def fit_percent_axis(plot: pg.PlotWidget) -> None:
    """A 0–100 % axis with room for the labels "0" and "100" at its ends, whatever the
    plot's height and font (call it again when either changes): the axis draws no label
    that crosses its ends, and with a fixed 0–108 the "100" went in presentation mode at
    1366×768 (and "0" always).  Fixed ticks, 0–100 only (no grid line below 0 or above
    100 %): every 20 % where the labels have a third of a line between them, else every
    25 %, else 0, 50, 100."""
    item = plot.getPlotItem()
    axis = item.getAxis("left")
    height = item.vb.height()
    font = axis.style["tickFont"] or axis.font()
    half = 0.4 * QFontMetricsF(font).height() + 2  # (the axis counts 0.8 of a line)
    if height <= 2 * half + 10:
        plot.setYRange(0, 108, padding=0)  # not laid out yet
        return
    pad = 100 * half / (height - 2 * half)
    plot.setYRange(-pad, 100 + pad, padding=0)
    line = 0.8 * QFontMetricsF(font).height()
    per_percent = (height - 2 * half) / 100
    major = next((m for m in (20, 25) if m * per_percent >= 1.33 * line), 50)
    axis.setTicks([[(v, str(v)) for v in range(0, 101, major)],
                   [(v, "") for v in range(0, 101, 10) if v % major]])


def nice_ceiling(value: float, steps: tuple[float, ...] = (1.0, 2.0, 2.5, 5.0, 10.0)) -> float:
    """The smallest of ``steps`` × 10ⁿ (1, 2, 2.5, 5 × 10ⁿ) that is ≥ ``value`` (axes that
    grow in steps); 1 for a value that is not a positive finite number."""
    if not (value > 0 and math.isfinite(value)):
        return 1.0
    exp = math.floor(math.log10(value))
    for m in steps:
        if m * 10.0**exp >= value * (1 - 1e-12):
            return m * 10.0**exp
    return 10.0 ** (exp + 1)


def steady_range(shown: tuple[float, float] | None, lo: float, hi: float,
                 slack: float = 1.6) -> tuple[float, float]:
    """A range for content spanning [lo, hi] that changes seldom: the one ``shown`` while
    the content fits in it and fills more than 1/``slack`` of it, else [lo, hi] widened to
    a grid of nice steps (a tenth of the span or so).  An axis whose range changes draws
    its ticks anew (~2 ms a frame in a live plot); content that drifts a little every
    frame then moves under still axes."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return shown if shown is not None else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    if shown is not None and shown[0] <= lo and hi <= shown[1]:
        if shown[1] - shown[0] <= slack * (hi - lo):
            return shown
    step = nice_ceiling((hi - lo) / 10)
    return math.floor(lo / step - 0.5) * step, math.ceil(hi / step + 0.5) * step


#: How much bigger the plots' text is drawn than normal (presentation mode: > 1).
_text_scale = 1.0
_keys: weakref.WeakSet[PlotKey] = weakref.WeakSet()


def text_scale() -> float:
    """The factor the plots' text is drawn at (1 normally)."""
    return _text_scale


def _scaled(font: QFont, factor: float) -> QFont:
    font = QFont(font)
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        font.setPixelSize(max(1, round(font.pixelSize() * factor)))
    return font


def _scale_text_item(item: QGraphicsTextItem, factor: float) -> None:
    """A text item's font ``factor`` times the one it had at scale 1 (kept on the item)."""
    base = getattr(item, "_biasviz_base_font", None)
    if base is None:
        base = QFont(item.font())
        item._biasviz_base_font = base
    item.setFont(_scaled(base, factor))


def _scale_axis(axis: pg.AxisItem, factor: float, base_font: QFont) -> None:
    if not hasattr(axis, "_biasviz_base_tick_font"):
        axis._biasviz_base_tick_font = axis.style["tickFont"]
        axis._biasviz_base_text_space = (axis.textWidth, axis.textHeight)
    base = axis._biasviz_base_tick_font
    # no tick font: the painter's, the view's font, which the cached axis picture kept
    axis.setTickFont(base if factor == 1.0 else _scaled(base or base_font, factor))
    if factor == 1.0:
        # the room the bigger ticks took: pyqtgraph gives back only more than 10 px of it
        axis.textWidth, axis.textHeight = axis._biasviz_base_text_space
    if axis.label is not None:
        _scale_text_item(axis.label, factor)
        axis._updateLabel()  # re-measures the label and re-places it
        axis.resizeEvent()


def _scale_label_item(label: pg.LabelItem, factor: float) -> None:
    if not hasattr(label, "_biasviz_base_size"):
        label._biasviz_base_size = label.opts.get("size")
    base = label._biasviz_base_size
    if base is None:
        _scale_text_item(label.item, factor)
    else:
        found = re.fullmatch(r"\s*([\d.]+)\s*([a-z]*)\s*", str(base))
        if found:  # "11pt" -> "15.4pt"
            label.opts["size"] = f"{float(found.group(1)) * factor:g}{found.group(2)}"
    label.setText(label.text)


def scale_plot_text(root: QWidget, factor: float, base_font: QFont) -> None:
    """Draw every plot's text under ``root`` (tick labels, axis titles, plot titles and
    keys, text in the plots) ``factor`` times its normal size; 1 restores it.

    pyqtgraph fixes these fonts when a plot is built (a title is html in 11pt, an axis
    keeps its drawing): a bigger application font alone does not reach them.
    ``base_font`` is the normal application font, for tick labels that use the default."""
    global _text_scale
    _text_scale = factor
    for view in root.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                _scale_axis(item, factor, base_font)
            elif isinstance(item, pg.LabelItem):
                _scale_label_item(item, factor)
            elif isinstance(item, pg.TextItem):
                _scale_text_item(item.textItem, factor)
                item.updateTextPos()
    for key in list(_keys):
        key.refit()


@dataclass(frozen=True)
class KeyEntry:
    """One curve in a plot's key: its name (and a short one for narrow plots), its colour
    and the sample drawn before the name (a line, a dashed line, a line with a marker)."""

    name: str
    short: str
    color: tuple[int, int, int]
    sample: str = "━━"


def _key_html(entries: tuple[KeyEntry, ...], short: bool) -> str:
    parts = []
    for e in entries:
        r, g, b = e.color
        name = escape_html(e.short if short else e.name, quote=False)
        parts.append(f"<span style='color:#{r:02x}{g:02x}{b:02x}'>{e.sample}</span>&nbsp;{name}")
    return "&nbsp;&nbsp; ".join(parts)


class PlotKey:
    """A plot's title and the key to its curves in the plot's title row, outside the data
    area: a legend inside the view box covered the curves of a short plot (walk-through S,
    issue 10), whatever head room the axis left.

    The title row shows the longest form that fits the plot's width: the full title and
    names, then shorter titles, then short names, then a title above the key on two lines
    (the row grows); only when even that does not fit is the text wrapped, never run off
    the plot.  The full text is the row's tooltip."""

    KEY_POINTS = 9.0  # the key's names, a little smaller than the title (× text_scale())

    def __init__(self, plot: pg.PlotWidget, titles: tuple[str, ...]) -> None:
        self._item = plot.getPlotItem()
        self._item.setTitle(titles[0])
        self.label = self._item.titleLabel
        self._titles = titles
        self._entries: tuple[KeyEntry, ...] = ()
        self._width = -1.0
        self._fitting = False
        self.form = 0  # index of the form shown (0: the longest), for tests
        self._item.getViewBox().sigResized.connect(self._on_resized)
        _keys.add(self)
        self.refit()

    @property
    def names(self) -> list[str]:
        """The full names of the curves in the key."""
        return [e.name for e in self._entries]

    @property
    def text(self) -> str:
        """The title row's current html."""
        return str(self.label.text)

    def set_titles(self, titles: tuple[str, ...]) -> None:
        """Title forms, longest first (html; each should say the same thing).  A new
        value in the same forms (the accuracy after each epoch) starts from the form
        shown: each form tried is laid out as html (~0.3 ms), and the loss's and the
        accuracy's titles changed at every frame of a run."""
        if titles != self._titles:
            # (a shorter text, e.g. after a reset, may fit a longer form: all are tried)
            not_shorter = len(titles) == len(self._titles) and all(
                len(_plain(new)) >= len(_plain(old)) for new, old in zip(titles, self._titles, strict=True))
            self._titles = titles
            self.refit(start=self.form if not_shorter else 0)

    def set_entries(self, entries: list[KeyEntry] | tuple[KeyEntry, ...]) -> None:
        entries = tuple(entries)
        if entries != self._entries:
            self._entries = entries
            self.refit()

    def _forms(self) -> list[str]:
        """Every way to write the row, longest first: one line (full names with each
        title, then short names), then a title above the key on two lines."""
        if not self._entries:
            return list(self._titles)
        size = f"{self.KEY_POINTS * _text_scale:g}pt"
        keys = [f"<span style='font-size:{size}'>{_key_html(self._entries, short)}</span>"
                for short in (False, True)]
        forms = [f"{title}&nbsp;&nbsp; {key}" if title else key
                 for key in keys for title in self._titles]
        return forms + [f"{title}<br>{key}" for key in keys for title in self._titles]

    def _on_resized(self) -> None:
        width = self._item.getViewBox().width()
        if abs(width - self._width) >= 1.0:
            self.refit()

    def refit(self, start: int = 0) -> None:
        """Show the longest form that fits, trying from form ``start`` (the one shown,
        when only a value in the text changed and the width did not)."""
        if self._fitting:
            return
        self._fitting = True
        try:
            self._refit(start)
        finally:
            self._fitting = False

    def _refit(self, start: int = 0) -> None:
        vb = self._item.getViewBox()
        if abs(vb.width() - self._width) >= 1.0:
            start = 0  # another width: every form may fit now
        self._width = vb.width()
        available = max(self._width, 20.0)
        label, text_item = self.label, self.label.item
        text_item.setTextWidth(-1)
        forms = self._forms()
        start = min(max(0, start), len(forms) - 1)
        chosen = len(forms) - 1
        for i in range(start, len(forms)):
            label.setText(forms[i])
            if text_item.boundingRect().width() <= available:
                chosen = i
                break
        else:  # nothing fits on one line: the shortest form, wrapped
            label.setText(forms[chosen])
            text_item.setTextWidth(available)
            label.setText(forms[chosen])
        self.form = chosen
        # the row holds the text's height (two lines when wrapped), never less than one line
        height = max(30.0, text_item.boundingRect().height())
        label.setMaximumHeight(height)
        self._item.layout.setRowFixedHeight(0, height)
        # the title must never hold the plot wider than its widget (pyqtgraph sets the
        # label's minimum width to its text's)
        label.setMinimumWidth(0)
        full = " · ".join([_plain(self._titles[0])] + self.names)
        label.setToolTip(full if chosen else "")


def _plain(html: str) -> str:
    """The text of a little html (tags dropped, the few entities used here decoded)."""
    text = re.sub(r"<[^>]+>", "", html)
    return text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")

