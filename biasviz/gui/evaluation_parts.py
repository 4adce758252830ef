"""Pieces of the Evaluate tab: the pixel view of one image with its caption, the
panel frames, image and colour helpers."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QGroupBox,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.colormap import symmetric_limit
from biasviz.gui.plot_style import make_still

#: At most this many mistakes are shown as thumbnails.

SIDE = 28
AXIS_COLOR = (60, 60, 60)


def _gray_qimage(pixels: np.ndarray) -> QImage:
    """A 28×28 uint8 image as an 8-bit grayscale QImage (deep copy)."""
    a = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(SIDE, SIDE)
    buf = a.tobytes()
    return QImage(buf, SIDE, SIDE, SIDE, QImage.Format.Format_Grayscale8).copy()


def _rgb_qimage(rgb: np.ndarray) -> QImage:
    a = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = a.shape[:2]
    buf = a.tobytes()
    return QImage(buf, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _blend(color: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    """``color`` mixed into white: 0 → white, 1 → the colour."""
    a = float(np.clip(amount, 0.0, 1.0))
    return tuple(int(round(255 + (c - 255) * a)) for c in color)  # type: ignore[return-value]


def _map_limit(maps: list[np.ndarray]) -> float:
    """One colour scale for the contribution maps shown together, centred on 0.

    The 98th percentile of the inked pixels' |w⊙x| rather than the maximum: one extreme
    pixel would otherwise wash every other pixel out to white.  Stronger pixels show at
    full colour.
    """
    values = np.abs(np.concatenate([np.ravel(m) for m in maps]))
    inked = values[values > 0]
    if inked.size == 0:
        return symmetric_limit(values)
    return max(float(np.percentile(inked, 98)), 1e-12)


def _percent(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{100 * value:.1f}%"


class PixelView(QWidget):
    """A small image scaled up with crisp pixels, a caption above and a line below.

    The image fills the largest square that fits between the two texts (a whole number
    of screen pixels per image pixel when there is room), and the three are centred
    together, so captions stay next to their picture at any size.
    """

    def __init__(self, parent: QWidget | None = None, side_hint: int = 168) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._caption = ""
        self._footer = ""
        self._side_hint = side_hint
        self.setMinimumSize(96, 96 + 3 * self.fontMetrics().height())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self.update()

    def set_texts(self, caption: str, footer: str = "") -> None:
        self._caption, self._footer = caption, footer
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def caption(self) -> str:
        return self._caption

    def footer(self) -> str:
        return self._footer

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self._side_hint + 20, self._side_hint + 3 * self.fontMetrics().height())

    def _text_height(self, text: str, width: int) -> int:
        if not text:
            return 0
        flags = int(Qt.AlignmentFlag.AlignHCenter) | int(Qt.TextFlag.TextWordWrap)
        return self.fontMetrics().boundingRect(0, 0, width, 1000, flags, text).height()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        w, h = self.width(), self.height()
        top_h = self._text_height(self._caption, w)
        bottom_h = self._text_height(self._footer, w)
        gap = 3
        side = min(w - 2, h - top_h - bottom_h - 2 * gap - 2)
        side = max(side, 8)
        if side >= 2 * SIDE:
            side = (side // SIDE) * SIDE  # whole screen pixels per image pixel
        block = top_h + gap + side + gap + bottom_h
        y0 = max((h - block) // 2, 0)
        x0 = (w - side) // 2
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap
        if top_h:
            painter.drawText(QRectF(0, y0, w, top_h), flags, self._caption)
        target = QRectF(x0, y0 + top_h + gap, side, side)
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(target, self._image)
        painter.setPen(QPen(QColor(160, 160, 160)))
        painter.drawRect(target.adjusted(-1, -1, 0, 0))
        if bottom_h:
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(QRectF(0, target.bottom() + gap, w, bottom_h), flags, self._footer)
        painter.end()


class _Panel(QGroupBox):
    """A titled box with a plain-words tooltip."""

    def __init__(self, title: str, tooltip: str) -> None:
        super().__init__(title)
        self.setToolTip(tooltip)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(6, 6, 6, 6)
        self.layout_.setSpacing(4)


def _style_plot(plot: pg.PlotWidget) -> pg.PlotItem:
    item = make_still(plot.getPlotItem(), AXIS_COLOR)
    plot.setAntialiasing(True)
    return item
