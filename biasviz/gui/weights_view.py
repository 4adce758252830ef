"""Neurons' weights drawn as pictures: one big 28×28 image, or a grid of tiles.

Each pixel of a picture is the weight that multiplies that pixel of the input image.
Colours are diverging and centred on zero (blue < 0 < red, white = exactly 0) with
symmetric limits ±max|w| shared by every tile, so that tiles can be compared.

Updates arrive up to 30 times a second while training, so plot items are built once per
structure (number of tiles, tile side) and later calls only swap the image data and the
label texts.

In single-neuron mode the weights can be painted with the mouse (add / subtract / erase
under a soft round brush); the widget edits a local copy and emits the new weights.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.text import MINUS, num, signed_sci
from biasviz.core.weight_display import MAX_TILES
from biasviz.gui.colormaps import diverging_colormap, symmetric_levels
from biasviz.gui.plot_style import nice_ceiling

PAINT_MODES = ("add", "subtract", "erase")
HOVER_HINT = "Point at a pixel to read its weight."
# the hint speaks of what the pictures show (walk-through S: the Δw view asked for "its weight")
_HOVER_HINTS = {
    "weight": HOVER_HINT,
    "Δw": "Point at a pixel to read its last change, Δw.",
    "w − w₀": "Point at a pixel to read what training added to its weight, w − w₀.",
}


def hover_hint(value_name: str) -> str:
    """The read-out's text while no pixel is pointed at, for pictures of ``value_name``."""
    return _HOVER_HINTS.get(value_name, f"Point at a pixel to read its {value_name}.")


_PIXEL_PLACE = ("Rows and columns count from 0 at the top-left corner, like numpy indexing "
                "of a 28×28 image.")


def readout_tooltip(value_name: str) -> str:
    """The hover read-out's tooltip, for pictures of ``value_name``."""
    if value_name == "Δw":
        return ("The last change of the weight of the pixel under the mouse pointer, Δw. "
                + _PIXEL_PLACE)
    if value_name == "w − w₀":
        return ("What training added to the weight of the pixel under the mouse pointer: "
                "its weight now minus its initial value, w − w₀. " + _PIXEL_PLACE)
    return "The weight of the pixel under the mouse pointer. " + _PIXEL_PLACE


def colour_bar_tooltip(value_name: str) -> str:
    """How to read the colours of pictures of ``value_name``."""
    if value_name == "Δw":
        return ("How to read the colours: white means the last update did not change that "
                "weight (Δw = 0).\nRed: the weight was just pushed up. Blue: it was pushed "
                "down. The deeper the colour, the bigger the change.\nThe scale runs from "
                "−max|Δw| to +max|Δw| and is shared by every picture; it rescales with each "
                "update.")
    if value_name == "w − w₀":
        return ("How to read the colours: white means training has not changed that weight "
                "(w − w₀ = 0).\nRed: training raised the weight. Blue: training lowered it. "
                "The deeper the colour, the bigger the change.\nThe scale runs from "
                "−max|w − w₀| to +max|w − w₀| and is shared by every picture; it rescales "
                "as the weights change.")
    return ("How to read the colours: white means a weight of exactly 0 (the pixel is "
            "ignored).\nRed is a positive weight, blue a negative one; the deeper the "
            "colour, the bigger the weight.\nThe scale runs from −max|w| to +max|w| and is "
            "shared by every picture, so colours can be compared; it rescales as the "
            "weights change.")

# Gaps between tiles, as fractions of a tile's side (room for the label above a tile).
_H_GAP = 0.18
_V_GAP = 0.50
_GAP_NO_LABELS = 0.12  # grids too dense for labels (more than MAX_LABELLED tiles)
MAX_LABELLED = 64
_MAX_LABEL_PX = 13.0
_MIN_LABEL_PX = 8.0


def grid_shape(k: int) -> tuple[int, int]:
    """(rows, columns) of a near-square grid for ``k`` tiles, wider than tall.

    Prefers a grid with no empty cells when its columns are at most 2.5× its rows
    (10 → 2×5, 32 → 4×8, 8 → 2×4); otherwise the smallest near-square grid (7 → 3×3).
    """
    k = max(int(k), 1)
    base = math.ceil(math.sqrt(k))
    for cols in range(base, k + 1):
        rows = math.ceil(k / cols)
        if cols / rows > 2.5:
            break
        if rows * cols == k:
            return rows, cols
    return math.ceil(k / base), base


def best_grid(k: int, width: float, height: float, h_gap: float, v_pitch: float) -> tuple[int, int]:
    """(rows, columns) giving the biggest tiles in a ``width``×``height`` area.

    Sizes are in tile sides: a tile is 1 wide, columns are ``1 + h_gap`` apart and rows
    ``v_pitch`` apart (tile + room for its label).  Grids with empty cells must win by
    more than 10% to be chosen, and no grid is more than 3 times wider than tall in
    tiles, so tiles stay in tidy rows.
    """
    k = max(int(k), 1)
    if width <= 0 or height <= 0:
        return grid_shape(k)
    best, best_score = grid_shape(k), -1.0
    for cols in range(1, k + 1):
        rows = math.ceil(k / cols)
        if rows * cols - k >= cols or max(rows, cols) > 3 * min(rows, cols) + 1:
            continue
        grid_w = cols + (cols - 1) * h_gap
        grid_h = rows * v_pitch
        score = min(width / grid_w, height / grid_h) * (1.0 if rows * cols == k else 0.9)
        if score > best_score * (1 + 1e-9):
            best, best_score = (rows, cols), score
    return best


def format_value(v: float) -> str:
    """Signed number for read-outs, minus signs as every other view writes them: +0.123,
    −0.334; tiny and huge values in powers of ten (−2.0 × 10⁻⁵)."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == 0.0:
        return "0.000"
    if abs(v) < 0.001 or abs(v) >= 1e5:  # lr 100 sends weights to ±1e7
        return signed_sci(v)
    return num(v, 3, sign=True)


def colorbar_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """A handful of ticks for a colour bar from ``lo`` to ``hi``: multiples of a nice step
    (1, 2, 2.5, 5 × 10ⁿ), at most three on each side of zero, written short ("2.5e7", not
    "2.5e+07").  pyqtgraph's own ticks gave 19 labels at ±9e7 (lr 100) and ran over the
    bar's title."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [(0.0, "0")]
    step = nice_ceiling(max(abs(lo), abs(hi)) / 3, (1.0, 2.0, 2.5, 5.0, 10.0))
    exp = math.floor(math.log10(step))
    mantissa_digits = 0 if abs(step / 10.0**exp - round(step / 10.0**exp)) < 1e-9 else 1
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    ticks = []
    for k in range(first, last + 1):
        v = k * step
        if k == 0:
            text = "0"
        elif -3 <= exp < 4:
            text = f"{v:.{max(0, mantissa_digits - exp)}f}"
        else:
            mantissa, e = f"{v:.{mantissa_digits}e}".split("e")
            text = f"{mantissa}e{int(e)}"
        ticks.append((v, text.replace("-", MINUS)))
    return ticks


def _two_decimals(v: float) -> str:
    text = num(v, 2, sign=True)
    return "0.00" if text == "+0.00" else text


def _brush_kernel(dist: np.ndarray, radius: float) -> np.ndarray:
    """Soft round brush: 1 at the centre, falling smoothly to 0 at ``radius``."""
    r = max(float(radius), 0.5)
    return np.clip(1.0 - (dist / r) ** 2, 0.0, 1.0) ** 2


def weight_colours(weights: np.ndarray, levels: tuple[float, float],
                   rgba_lut: np.ndarray) -> np.ndarray:
    """RGBA uint8 (…, 4) for float ``weights`` through ``rgba_lut`` (n, 4) between
    ``levels``; NaN pixels transparent.  One numpy pass for every tile at once."""
    lo, hi = float(levels[0]), float(levels[1])
    n = len(rgba_lut)
    scale = n / (hi - lo) if hi > lo else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        idx = np.clip((weights - lo) * scale, 0, n - 1)
    nan = np.isnan(idx)
    rgba = rgba_lut[np.where(nan, 0, idx).astype(np.intp)]
    if nan.any():
        rgba[nan] = 0
    return np.ascontiguousarray(rgba, dtype=np.uint8)


class _Tiles(pg.GraphicsObject):
    """Every picture of the grid (and their frames and labels) as one item.

    One pyqtgraph ImageItem and one TextItem per tile cost ~0.2 ms each to paint (their
    own transforms, bounding boxes and painter state, in Python): 64 tiles were 15 ms a
    frame.  This item paints them in one ``paint`` call: an image per tile, the frames
    in one ``drawRects``, the labels at the font's pixel size whatever the zoom.
    Coordinates are the view's: tile ``i`` covers ``rects[i]`` (side × side).
    """

    def __init__(self, border: QPen, text_color: QColor) -> None:
        super().__init__()
        self._rgba = np.zeros((0, 0, 0, 4), np.uint8)
        self._qimages: list[QImage] = []
        self._rects: list[QRectF] = []
        self._labels: list[str] = []
        self._font = QFont()
        self._border = QPen(border)
        self._text_color = QColor(text_color)
        self._bounds = QRectF()

    def set_rects(self, rects: list[QRectF], bounds: QRectF) -> None:
        self.prepareGeometryChange()
        self._rects = list(rects)
        self._bounds = QRectF(bounds)
        self.update()

    def set_colours(self, rgba: np.ndarray) -> None:
        """(k, side, side, 4) uint8; the item keeps it (the QImages read its memory)."""
        self._rgba = rgba
        self._qimages = [pg.functions.ndarray_to_qimage(tile, QImage.Format.Format_RGBA8888)
                         for tile in rgba]
        self.update()

    def set_labels(self, labels: list[str], font: QFont | None = None) -> None:
        if font is not None:
            self._font = QFont(font)
        self._labels = list(labels)
        self.update()

    def colours(self, i: int) -> np.ndarray:
        return self._rgba[i]

    def label(self, i: int) -> str:
        return self._labels[i] if i < len(self._labels) else ""

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's naming
        return QRectF(self._bounds)

    def paint(self, painter: QPainter, *_args) -> None:
        if not self._qimages:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for rect, image in zip(self._rects, self._qimages, strict=False):
            painter.drawImage(rect, image)
        if self._border.style() != Qt.PenStyle.NoPen:
            painter.setPen(self._border)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRects(self._rects[: len(self._qimages)])
        if not any(self._labels):
            return
        to_device = painter.transform()
        side = self._rects[0].width() if self._rects else 0.0
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        painter.setPen(self._text_color)
        height = QFontMetricsF(self._font).height() + 2
        for rect, text in zip(self._rects, self._labels, strict=False):
            if not text:
                continue
            # the label sits just above its tile, left-aligned with it
            corner = to_device.map(QPointF(rect.left(), rect.top() - side * 0.05))
            painter.drawText(QRectF(corner.x(), corner.y() - height, 10_000.0, height),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, text)
        painter.restore()


class _FixedViewBox(pg.ViewBox):
    """A view that never pans, zooms or shows a menu; left drags/clicks go to the owner
    (for painting) when it says painting is on."""

    def __init__(self, owner: WeightsView):
        super().__init__(lockAspect=True, invertY=True, enableMenu=False, defaultPadding=0.0)
        self.setMouseEnabled(x=False, y=False)
        self._owner = owner

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if ev.button() != Qt.MouseButton.LeftButton or not self._owner.painting_enabled():
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            p0 = self.mapToView(ev.buttonDownPos())
            self._owner.drag_to(p0.x(), p0.y(), start=True)
        p = self.mapToView(ev.pos())
        self._owner.drag_to(p.x(), p.y(), finish=ev.isFinish())

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and self._owner.painting_enabled():
            ev.accept()
            p = self.mapToView(ev.pos())
            self._owner.drag_to(p.x(), p.y(), start=True, finish=True)
        else:
            ev.ignore()

    def wheelEvent(self, ev, axis=None):  # noqa: N802
        ev.ignore()  # let an enclosing scroll area scroll


class _PlotArea(pg.GraphicsLayoutWidget):
    """The picture's canvas; tells the owner when the mouse leaves it."""

    def __init__(self, on_leave):
        super().__init__()
        self._on_leave = on_leave

    def leaveEvent(self, ev):  # noqa: N802
        super().leaveEvent(ev)
        self._on_leave()


class WeightsView(QWidget):
    """Shows neurons' weights as images (one large image, or a grid of labelled tiles).

    Signals:
      - ``weightsPainted(np.ndarray)``: (side*side,) float32 copy of the single neuron's
        weights after each brush stamp while painting (every mouse move of a drag).
      - ``paintFinished(np.ndarray)``: the same, once, when a stroke ends.
    """

    weightsPainted = Signal(object)
    paintFinished = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._weights = np.zeros((0, 0), dtype=np.float32)
        self._biases: np.ndarray | None = None
        self._labels: list[str] = []
        self._side = 0
        self._structure: tuple[int, int] | None = None
        self._levels = (-1.0, 1.0)
        self._k = 0  # tiles shown
        self._origins = np.zeros((0, 2))
        self._content = QRectF()
        self._rows = self._cols = 0
        self._labelled = False
        self._label_full: list[str] = []
        self._label_state: tuple[str, int] = ("", 0)
        self._hover_text = HOVER_HINT
        self._class_names: tuple[str, str] | None = None
        self._help: str | None = None
        self._total_neurons = 0
        self._title = ""
        # painting
        self._paint_mode: str | None = None
        self._brush_radius = 1.5
        self._brush_strength = 0.25
        self._stroke_last: tuple[float, float] | None = None

        cmap = diverging_colormap()
        self._lut = cmap.getLookupTable(nPts=256, alpha=True)
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Window)
        fg = pal.color(QPalette.ColorRole.WindowText)
        self._text_color = fg
        self._border_pen = pg.mkPen(pal.color(QPalette.ColorRole.Mid), width=1)

        # -- widgets ----------------------------------------------------------------
        self._title_label = QLabel()
        f = self._title_label.font()
        f.setBold(True)
        self._title_label.setFont(f)
        self._title_label.setWordWrap(True)
        self._title_label.hide()

        self._plot = _PlotArea(self._on_mouse_left)
        self._plot.setBackground(bg)
        self._plot.setMinimumSize(160, 140)
        self._plot.ci.layout.setContentsMargins(4, 4, 4, 4)
        self._plot.ci.layout.setHorizontalSpacing(10)
        self._view = _FixedViewBox(self)
        self._plot.addItem(self._view, row=0, col=0)
        self._tiles = _Tiles(self._border_pen, self._text_color)
        self._view.addItem(self._tiles)

        self._colorbar = pg.ColorBarItem(
            values=self._levels,
            colorMap=cmap,
            interactive=False,
            colorMapMenu=False,
            width=14,
        )
        for name in ("left", "right", "top", "bottom"):
            axis = self._colorbar.getAxis(name)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
        bar_axis = self._colorbar.getAxis("right")
        bar_axis.enableAutoSIPrefix(False)
        self._value_name = "weight"  # what a pixel's value is: "weight", "Δw", "w − w₀"
        self._bias_text: str | None = None  # a fixed bias read-out (None: the value)
        bar_axis.setLabel(self._value_name, color=fg.name())
        bar_axis.setWidth(58)
        self._plot.addItem(self._colorbar, row=0, col=1)
        self._plot.ci.layout.setAlignment(self._colorbar, Qt.AlignmentFlag.AlignVCenter)

        self._brush_outline = QGraphicsEllipseItem()
        outline_pen = pg.mkPen((40, 40, 40), width=1.5, style=Qt.PenStyle.DashLine)
        self._brush_outline.setPen(outline_pen)
        self._brush_outline.setZValue(20)
        self._brush_outline.hide()
        self._view.addItem(self._brush_outline, ignoreBounds=True)

        self._hover_label = QLabel(HOVER_HINT)
        self._hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._bias_name = "bias b"
        self._bias_label = QLabel()
        bf = self._bias_label.font()
        bf.setBold(True)
        self._bias_label.setFont(bf)
        self._bias_label.setToolTip(
            "The bias is added after the weighted sum of the pixels: output = Σ pixel×weight "
            "+ b.\nIt shifts the neuron's output up (towards the first class) or down "
            "(towards the second) for every image, whatever its pixels."
        )
        self._bias_label.hide()

        self._note_label = QLabel()
        self._note_label.setWordWrap(True)
        note_pal = self._note_label.palette()
        note_pal.setColor(
            QPalette.ColorRole.WindowText, pal.color(QPalette.ColorRole.PlaceholderText)
        )
        self._note_label.setPalette(note_pal)
        self._note_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self._title_label)
        layout.addWidget(self._plot, 1)
        layout.addWidget(self._bias_label)
        layout.addWidget(self._hover_label)
        layout.addWidget(self._note_label)

        # -- events -------------------------------------------------------------------
        self._plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._view.sigResized.connect(self._on_view_resized)

        self._update_tooltips()

    # ------------------------------------------------------------------ public API
    def set_neurons(
        self,
        weights: np.ndarray,
        biases: np.ndarray | None,
        labels: list[str],
        side: int = 28,
        title: str = "",
    ) -> None:
        """Show ``weights`` (k, side*side), one picture per neuron.

        ``biases`` (k,) or None; ``labels`` names each neuron (e.g. the digit it scores).
        Cheap when the structure (k, side) is unchanged: only the data are swapped.
        """
        side = int(side)
        w = np.asarray(weights, dtype=np.float32)
        if w.ndim == 1:
            w = w.reshape(1, -1)
        if w.ndim != 2 or w.shape[1] != side * side:
            raise ValueError(f"weights must have shape (k, {side * side}), got {w.shape}")
        total = w.shape[0]
        k = min(total, MAX_TILES)
        w = np.array(w[:k], dtype=np.float32, copy=True)
        b = None
        if biases is not None:
            b = np.asarray(biases, dtype=np.float64).reshape(-1)
            if b.shape[0] != total:
                raise ValueError(f"need one bias per neuron ({total}), got {b.shape[0]}")
            b = b[:k]
        labels = [str(s) for s in list(labels)[:k]]
        labels += [f"#{i}" for i in range(len(labels), k)]

        # Tiles re-render (~0.1 ms each) only when their weights changed: a bias edit
        # changes the labels alone.
        same = (self._weights is not None and self._weights.shape == w.shape
                and (k, side) == self._structure and np.array_equal(self._weights, w))
        self._weights, self._biases, self._labels = w, b, labels
        if b is not None:
            self._label_full = [
                f"{name}  b={_two_decimals(v)}" for name, v in zip(labels, b, strict=True)
            ]
        else:
            self._label_full = list(labels)
        self._total_neurons = total
        if (k, side) != self._structure:
            self._build(k, side)
        self._set_title(title)
        self._refresh(images=not same)

    def set_bias_name(self, name: str) -> None:
        """How the single neuron's bias readout is labelled (default "bias b")."""
        self._bias_name = name

    def set_value_name(self, name: str) -> None:
        """What the pictures' values are, for the colour bar's label and the hover
        read-out: "weight" (default), "Δw" for an update, "w − w₀" for what training
        added."""
        name = str(name) or "weight"
        if name != self._value_name:
            if self._hover_text == hover_hint(self._value_name):
                self._set_hover(hover_hint(name))
            self._value_name = name
            self._colorbar.getAxis("right").setLabel(name, color=self._text_color.name())
            self._update_tooltips()  # each picture explains what it shows

    def value_name(self) -> str:
        return self._value_name

    def colorbar_label(self) -> str:
        """The colour bar's label as shown."""
        return self._colorbar.getAxis("right").labelText

    def set_bias_text(self, text: str | None) -> None:
        """A fixed text in place of the single neuron's bias read-out (e.g. "no update
        yet"); None shows the value again ("bias b = +0.412")."""
        self._bias_text = text
        if self._k == 1:
            self._show_bias_readout()

    def set_note(self, text: str) -> None:
        """A short explanation under the picture (e.g. "bias shown is Σbᵢ of 784 biases")."""
        self._note_label.setText(text)
        self._note_label.setVisible(bool(text))

    def set_class_names(self, first: str | None, second: str | None = None) -> None:
        """Name the classes that red (first) and blue (second) push towards, for the
        tooltips and the hover read-out of a single neuron."""
        self._class_names = (str(first), str(second)) if first and second else None
        self._update_tooltips()

    def set_help(self, text: str | None) -> None:
        """Replace the picture's tooltip (None restores the built-in explanation)."""
        self._help = text
        self._update_tooltips()

    def set_paint_mode(self, mode: str | None) -> None:
        """ "add", "subtract", "erase" or None (no painting). Only a single neuron paints."""
        if mode is not None and mode not in PAINT_MODES:
            raise ValueError(f"paint mode must be one of {PAINT_MODES} or None, got {mode!r}")
        self._paint_mode = mode
        self._stroke_last = None
        cursor = (
            Qt.CursorShape.CrossCursor if self.painting_enabled() else Qt.CursorShape.ArrowCursor
        )
        self._plot.viewport().setCursor(cursor)
        if not self.painting_enabled():
            self._brush_outline.hide()
        self._update_tooltips()

    def paint_mode(self) -> str | None:
        return self._paint_mode

    def painting_enabled(self) -> bool:
        return self._paint_mode is not None and self._k == 1

    def set_brush(self, radius_px: float, strength: float) -> None:
        """Brush radius in image pixels and strength in weight units per stamp."""
        self._brush_radius = max(float(radius_px), 0.5)
        self._brush_strength = max(float(strength), 0.0)

    def brush(self) -> tuple[float, float]:
        return self._brush_radius, self._brush_strength

    def current_weights(self) -> np.ndarray:
        """A copy of the weights shown, (k, side*side)."""
        return self._weights.copy()

    def tile_count(self) -> int:
        return self._k

    def grid(self) -> tuple[int, int]:
        """(rows, columns) of the tile grid."""
        return self._rows, self._cols

    def tile_values(self, i: int) -> np.ndarray:
        """Tile ``i``'s values as shown, (side, side): row 0 at the top."""
        return self._weights[i].reshape(self._side, self._side)

    def tile_colours(self, i: int) -> np.ndarray:
        """Tile ``i``'s pixels as painted, (side, side, 4) RGBA."""
        return self._tiles.colours(i)

    def tile_scene_rect(self, i: int) -> QRectF:
        """Where tile ``i`` is in the scene (for hit tests and layout checks)."""
        x, y = self._origins[i]
        return self._tiles.mapRectToScene(QRectF(float(x), float(y), self._side, self._side))

    def tiles_item(self) -> pg.GraphicsObject:
        """The one item that paints every tile."""
        return self._tiles

    def tile_label(self, i: int) -> str:
        """Label of tile ``i``: its name and bias ("3  b=-0.42"); the tile shows it, or
        just the name, when there is room. Empty for a single neuron."""
        return self._label_full[i] if self._k > 1 else ""

    def tile_label_shown(self, i: int) -> str:
        """The label painted above tile ``i``: the full one, the name only, or "" when
        the tiles are too small for labels."""
        return self._tiles.label(i)

    def levels(self) -> tuple[float, float]:
        return self._levels

    def color_bar(self) -> pg.ColorBarItem:
        return self._colorbar

    def view_box(self) -> pg.ViewBox:
        return self._view

    def plot_widget(self) -> pg.GraphicsLayoutWidget:
        return self._plot

    def title_text(self) -> str:
        """The title above the pictures ("" when none)."""
        return self._title

    def bias_text(self) -> str:
        return self._bias_label.text() if self._bias_label.isVisibleTo(self) else ""

    def note_text(self) -> str:
        return self._note_label.text()

    def hover_text(self) -> str:
        return self._hover_text

    def tile_origin(self, i: int) -> tuple[float, float]:
        """View coordinates (x, y) of tile ``i``'s top-left corner; pixel (r, c) of the
        tile covers [x + c, x + c + 1) × [y + r, y + r + 1)."""
        x, y = self._origins[i]
        return float(x), float(y)

    def locate(self, x: float, y: float) -> tuple[int, int, int] | None:
        """(tile, row, column) of the pixel at view coordinates (x, y), or None."""
        if not self._k or not (math.isfinite(x) and math.isfinite(y)):
            return None
        side = self._side
        pitch_x, pitch_y = self._pitch()
        top = self._top_margin()
        col_t = math.floor(x / pitch_x)
        row_t = math.floor((y - top) / pitch_y)
        if not (0 <= col_t < self._cols and 0 <= row_t < self._rows):
            return None
        i = row_t * self._cols + col_t
        if i >= self._k:
            return None
        ox, oy = self._origins[i]
        c, r = math.floor(x - ox), math.floor(y - oy)
        if 0 <= r < side and 0 <= c < side:
            return i, r, c
        return None

    def hover_at(self, x: float, y: float) -> str:
        """Update the read-out for the pointer at view coordinates (x, y); return it."""
        hit = self.locate(x, y)
        self._move_brush_outline(x, y, visible=hit is not None)
        if hit is None:
            return self._set_hover(hover_hint(self._value_name))
        i, r, c = hit
        value = float(self._weights[i, r * self._side + c])
        text = f"(row {r}, column {c}): {self._value_name} = {format_value(value)}"
        if self._k > 1:
            label = self._labels[i]
            who = label if label[:1].isalpha() else f"neuron {label}"
            if self._biases is not None:
                text = f"{who} (b = {format_value(self._biases[i])}) · {text}"
            else:
                text = f"{who} · {text}"
        elif self._class_names is not None and math.isfinite(value) and value != 0.0:
            towards = self._class_names[0] if value > 0 else self._class_names[1]
            text += f" → ink here pushes towards “{towards}”"
        return self._set_hover(text)

    def paint_at(self, x: float, y: float) -> bool:
        """One brush stamp centred at view coordinates (x, y) (x = column, y = row,
        pixel centres at +0.5). Emits ``weightsPainted``; False when nothing changed."""
        if not self.painting_enabled() or self._weights.size == 0:
            return False
        side = self._side
        if not (-self._brush_radius <= x <= side + self._brush_radius):
            return False
        if not (-self._brush_radius <= y <= side + self._brush_radius):
            return False
        yy, xx = np.mgrid[0:side, 0:side]
        dist = np.hypot(xx + 0.5 - x, yy + 0.5 - y)
        kernel = _brush_kernel(dist, self._brush_radius).reshape(-1)
        if not np.any(kernel > 0):
            return False
        w = self._weights[0].astype(np.float64)
        amount = self._brush_strength * kernel
        if self._paint_mode == "add":
            w = w + amount
        elif self._paint_mode == "subtract":
            w = w - amount
        else:  # erase: move towards 0 by up to `amount`, never past it
            w = np.sign(w) * np.maximum(np.abs(w) - amount, 0.0)
        self._weights[0] = w.astype(np.float32)
        self._refresh()
        self.weightsPainted.emit(self._weights[0].copy())
        return True

    def drag_to(self, x: float, y: float, start: bool = False, finish: bool = False) -> None:
        """Stroke handler (view coordinates): stamps along the way from the last position
        so that fast drags leave no gaps; ``finish`` ends the stroke."""
        if not self.painting_enabled():
            self._stroke_last = None
            return
        if start or self._stroke_last is None:
            self.paint_at(x, y)
        else:
            x0, y0 = self._stroke_last
            spacing = max(self._brush_radius * 0.5, 0.5)
            n = max(int(math.ceil(math.hypot(x - x0, y - y0) / spacing)), 1)
            for t in np.linspace(0.0, 1.0, n + 1)[1:]:
                self.paint_at(x0 + (x - x0) * t, y0 + (y - y0) * t)
        self._stroke_last = (x, y)
        self.hover_at(x, y)
        if finish:
            self._stroke_last = None
            self.paintFinished.emit(self._weights[0].copy())

    # ------------------------------------------------------------------ building
    def _gaps(self, labelled: bool | None = None) -> tuple[float, float, float]:
        """(horizontal gap, vertical gap, top margin) between tiles, in view units, with
        room for labels or not (``labelled``; None: as laid out now)."""
        k, side = self._k, self._side
        if k <= 1:
            return 0.0, 0.0, 0.0
        if self._labelled if labelled is None else labelled:
            return side * _H_GAP, side * _V_GAP, side * _V_GAP
        return side * _GAP_NO_LABELS, side * _GAP_NO_LABELS, 0.0

    def _labels_fit(self) -> bool:
        """Would the tile labels (at least the names) be legible in a grid laid out with
        room for them, at the view's size?  If not, the tiles take that room: with 64
        hidden neurons at 1366×768 the labels never showed and a third of the height was
        empty rows."""
        k, side = self._k, self._side
        if not 1 < k <= MAX_LABELLED or not self._label_full:
            return False
        size = self._view.size()
        width, height = size.width(), size.height()
        if width <= 1 or height <= 1:
            return True  # not on screen yet: keep the room
        h_gap, v_gap, top = self._gaps(labelled=True)
        rows, cols = best_grid(k, width, height, h_gap / side, 1 + v_gap / side)
        content_w = min(cols, k) * (side + h_gap) - h_gap
        content_h = top + rows * (side + v_gap) - v_gap
        px = max(content_w / width, content_h / height) * 1.04  # setRange's padding 0.02
        return self._label_mode(px, h_gap, v_gap)[0] != "hidden"

    def _label_mode(self, px: float, h_gap: float, v_gap: float) -> tuple[str, int]:
        """("full" | "short" | "hidden", pixel size) of the labels for tiles drawn at
        ``px`` view units per pixel with these gaps: name and bias, else the name only,
        else none."""
        room_h = v_gap / px
        room_w = (self._side + 0.5 * h_gap) / px  # half a gap between labels
        size0 = min(_MAX_LABEL_PX, room_h * 0.72)
        font = QFont(self.font())
        font.setPixelSize(max(int(size0), 1))
        metrics = QFontMetricsF(font)
        for candidate, texts in (("full", self._label_full), ("short", self._labels)):
            width = max(metrics.horizontalAdvance(t) for t in texts)
            fitted = size0 if width <= room_w else size0 * room_w / max(width, 1.0)
            if math.floor(fitted) >= _MIN_LABEL_PX:
                return candidate, math.floor(fitted)
        return "hidden", 0

    def _pitch(self) -> tuple[float, float]:
        h_gap, v_gap, _top = self._gaps()
        return self._side + h_gap, self._side + v_gap

    def _top_margin(self) -> float:
        return self._gaps()[2]

    def _build(self, k: int, side: int) -> None:
        self._k = k
        self._side = side
        self._structure = (k, side)
        self._labelled = self._labels_fit()
        self._label_state = ("", 0)
        self._tiles.set_labels([""] * k)
        self._stroke_last = None
        self._rows = self._cols = 0
        self._layout_tiles(*self._choose_grid())

        single = k == 1
        self._bias_label.setVisible(single)
        self.set_paint_mode(self._paint_mode)  # availability and tooltips depend on k
        self._set_hover(hover_hint(self._value_name))

    def _choose_grid(self) -> tuple[int, int]:
        k = self._k
        if k <= 1:
            return 1, 1
        size = self._view.size()
        h_gap, v_gap, _top = self._gaps()
        return best_grid(k, size.width(), size.height(), h_gap / self._side, 1 + v_gap / self._side)

    def _layout_tiles(self, rows: int, cols: int) -> None:
        """Place the existing tiles on a rows×cols grid and fit the view to them."""
        self._rows, self._cols = rows, cols
        side = self._side
        h_gap, v_gap, top = self._gaps()
        pitch_x, pitch_y = side + h_gap, side + v_gap
        origins = [(c * pitch_x, top + r * pitch_y)
                   for r, c in (divmod(i, cols) for i in range(self._k))]
        self._origins = np.array(origins, dtype=np.float64).reshape(-1, 2)
        n_cols = min(cols, self._k)
        width = n_cols * pitch_x - h_gap
        height = top + rows * pitch_y - v_gap
        self._content = QRectF(0, 0, width, height)
        # (the last column's labels may reach into the gap after it)
        self._tiles.set_rects([QRectF(x0, y0, side, side) for x0, y0 in origins],
                              QRectF(0, 0, width + h_gap, height))
        # in view: the last column's labels too (they may be half a gap wider than a tile)
        overhang = 0.5 * h_gap if self._labelled else 0.0
        self._view.setRange(QRectF(0, 0, width + overhang, height), padding=0.02)
        self._fit_labels()
        self._fit_colorbar()

    def _on_view_resized(self, *_args) -> None:
        if self._k > 1:
            labelled = self._labels_fit()
            if labelled != self._labelled:  # room for labels, or bigger tiles
                self._labelled = labelled
                self._label_state = ("", 0)
                self._update_tooltips()
                self._layout_tiles(*self._choose_grid())
                return
            grid = self._choose_grid()
            if grid != (self._rows, self._cols):
                self._layout_tiles(*grid)
                return
        self._fit_labels()
        self._fit_colorbar()

    def _refresh(self, images: bool = True) -> None:
        """Push the current data into the existing items (no item creation); ``images``:
        the weights changed (else only the labels did)."""
        if not images:
            if self._k > 1:
                self._fit_labels(force=True)
            elif self._k:
                self._show_bias_readout()
            return
        hi = float(np.abs(self._weights).max()) if self._weights.size else 0.0
        if math.isfinite(hi):
            lo = -hi
        else:  # NaN or ±inf somewhere (a diverged run): scale to the finite weights
            lo, hi = symmetric_levels(self._weights)
        if hi < 1e-9:  # all weights 0: any symmetric scale shows white; keep ticks sane
            lo, hi = -1.0, 1.0
        self._levels = (float(lo), float(hi))
        side = self._side
        self._tiles.set_colours(weight_colours(
            self._weights.reshape(-1, side, side), self._levels, self._lut))
        self._colorbar.setLevels(self._levels)
        self._set_colorbar_ticks()
        if self._k > 1:
            self._fit_labels(force=True)
        elif self._k:
            self._show_bias_readout()

    def _show_bias_readout(self) -> None:
        if self._bias_text is not None:
            self._bias_label.setText(self._bias_text)
        elif self._biases is not None:
            self._bias_label.setText(f"{self._bias_name} = {format_value(self._biases[0])}")
        else:
            self._bias_label.setText("no bias")

    def _set_title(self, title: str) -> None:
        shown = self._k
        if self._total_neurons > shown:
            extra = f"showing the first {shown} of {self._total_neurons} neurons"
            title = f"{title} ({extra})" if title else extra.capitalize()
        if title != self._title:
            self._title = title
            self._title_label.setText(title)
            self._title_label.setVisible(bool(title))

    def _fit_labels(self, *_args, force: bool = False) -> None:
        """Size the tile labels to the room they have on screen: name and bias, else the
        name only, else no labels (the hover read-out still names the tile)."""
        if not self._labelled or not self._label_full:
            if self._label_state != ("hidden", 0):
                self._tiles.set_labels([])
                self._label_state = ("hidden", 0)
            return
        px_w = self._view.viewPixelSize()[0]
        if not (px_w > 0 and math.isfinite(px_w)):
            return
        h_gap, v_gap, _top = self._gaps()
        mode, size = self._label_mode(px_w, h_gap, v_gap)
        font = QFont(self.font())
        state = (mode, size)
        if state == self._label_state and not force:
            return
        texts = self._label_full if mode == "full" else self._labels
        font.setPixelSize(max(int(size), 1))
        self._tiles.set_labels([] if mode == "hidden" else texts, font)
        self._label_state = state

    def _set_colorbar_ticks(self) -> None:
        """A handful of short tick labels, and an axis wide enough that none reaches the
        bar's title."""
        ticks = colorbar_ticks(*self._levels)
        if ticks == getattr(self, "_bar_ticks", None):
            return
        self._bar_ticks = ticks
        axis = self._colorbar.getAxis("right")
        axis.setTicks([ticks, []])
        metrics = QFontMetricsF(axis.style["tickFont"] or self.font())
        text_w = max(metrics.horizontalAdvance(text) for _v, text in ticks)
        title_h = axis.label.boundingRect().height()
        axis.setWidth(max(58, math.ceil(text_w + title_h + 8)))

    def _fit_colorbar(self) -> None:
        """Make the colour bar as tall as the pictures (a little taller for its labels)."""
        if not self._k:
            return
        px_h = abs(self._view.viewPixelSize()[1])
        if not (px_h > 0 and math.isfinite(px_h)):
            return
        content_px = self._content.height() / px_h
        self._colorbar.setMaximumHeight(max(content_px + 16, 150))

    # ------------------------------------------------------------------ hover & tooltips
    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self._view.sceneBoundingRect().contains(scene_pos):
            self._on_mouse_left()
            return
        p = self._view.mapSceneToView(scene_pos)
        self.hover_at(p.x(), p.y())

    def _on_mouse_left(self) -> None:
        self._brush_outline.hide()
        self._set_hover(hover_hint(self._value_name))

    def _set_hover(self, text: str) -> str:
        if text != self._hover_text:
            self._hover_text = text
            self._hover_label.setText(text)
        return text

    def _move_brush_outline(self, x: float, y: float, visible: bool) -> None:
        if not self.painting_enabled():
            self._brush_outline.hide()
            return
        r = self._brush_radius
        self._brush_outline.setRect(QRectF(x - r, y - r, 2 * r, 2 * r))
        self._brush_outline.setVisible(visible)

    def _update_tooltips(self) -> None:
        self._hover_label.setToolTip(readout_tooltip(self._value_name))
        self._colorbar.setToolTip(colour_bar_tooltip(self._value_name))
        if self._help is not None:
            self._view.setToolTip(self._help)
            return
        if self._value_name != "weight":
            self._view.setToolTip(self._change_tooltip())
            return
        k = self._k
        if self._class_names is not None:
            first, second = (f"“{n}”" for n in self._class_names)
        else:
            first, second = "the first class", "the second class"
        if k > 1 and self._side != 28:
            text = (
                f"Each tile is one convolution kernel: a small {self._side}×{self._side} "
                "patch of weights that slides over every position of the digit.\n"
                "Red: ink at that spot of the patch raises the kernel's response. Blue: ink "
                "there lowers it. White: ignored.\n"
                "A kernel with red on one side and blue on the other responds to edges."
            )
        elif k > 1:
            text = (
                "Each tile is one neuron's 784 weights, one per pixel, laid out like the "
                "28×28 input image"
                + ("; above it are its name and its bias b" if self._labelled
                   else " (point at a tile to read its name and bias)") + ".\n"
                "Red pixel: ink there raises that neuron's output. Blue: ink there lowers "
                "it. White: that pixel is ignored.\n"
                "What to look for: a neuron that scores one class slowly turns into a "
                "blurry template of it, minus the classes it is most often confused with; "
                "a hidden neuron learns a pattern of its own (a stroke, a part, a contrast)."
            )
        else:
            text = (
                "This picture is the neuron's 784 weights, one per pixel, laid out like the "
                "28×28 digit it looks at.\n"
                f"Red pixel: ink there pushes the neuron towards {first}. Blue pixel: ink "
                f"there pushes it towards {second}. White: that pixel doesn't matter.\n"
                "The neuron adds up pixel × weight over all pixels, then adds the bias.\n"
                "What to look for: as it trains, a “first minus second” template appears "
                "(for 3 vs 7: red where 3s have ink and 7s don't, blue where 7s have ink and "
                "3s don't)."
            )
            if self.painting_enabled():
                text += (
                    "\n\nPainting is on: drag with the left mouse button to "
                    f"{self._paint_mode} weights under the round brush."
                )
        self._view.setToolTip(text)

    def _change_tooltip(self) -> str:
        """The picture's tooltip when it shows a change of the weights, not the weights."""
        if self._k > 1 and self._side != 28:
            what = (f"each tile is one convolution kernel's {self._side}×{self._side} patch "
                    "of weights")
        elif self._k > 1:
            what = ("each tile is one neuron's 784 weights, one per pixel, laid out like the "
                    "28×28 input image")
        else:
            what = ("the neuron's 784 weights, one per pixel, laid out like the 28×28 digit "
                    "it looks at")
        if self._value_name == "Δw":
            text = (f"The last update of the weights, Δw = −learning rate × gradient: {what}."
                    "\nRed: the update pushed that weight up. Blue: it pushed it down. White: "
                    "it left it as it was.")
        else:
            text = (f"What training changed, w − w₀ (each weight now minus its value at "
                    f"initialization): {what}.\nRed: training raised that weight. Blue: "
                    "training lowered it. White: training has not changed it.\nThe weights "
                    "themselves are the initial ones plus this change.")
        if self.painting_enabled():
            text += (f"\n\nPainting is on: drag with the left mouse button to "
                     f"{self._paint_mode} weights under the round brush.")
        return text
