"""A square canvas to draw a digit (or an item) on with the mouse, MNIST style: white ink
on black.

The drawing lives in a fixed-size ``QImage`` (:data:`CANVAS_SIDE` pixels square,
8-bit grayscale, 0 = black paper, 255 = white ink) whatever the size of the widget; the
widget shows it scaled into the largest centred square that fits.  Brush widths are in
canvas pixels, so a stroke looks the same at any window size.

Strokes are smoothed with quadratic curves through the midpoints of successive mouse
positions and drawn antialiased with round caps and joins.  Every stroke, clear and load
first saves a snapshot, so :meth:`DrawingCanvas.undo` can step back (up to
:data:`UNDO_LIMIT` times).

Loaded pictures (``load_image`` or a file dropped onto the canvas) are read with the
core's :func:`~biasviz.core.preprocess.load_image_file`, turned into white ink on black
(dark ink on light paper is inverted, the paper's shade subtracted) and drawn scaled to
fit, so what is on the canvas is always what the model gets to see.
"""

from __future__ import annotations

import os
from collections import deque

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from biasviz.core.errors import ImageError
from biasviz.core.preprocess import MIN_CONTRAST, load_image_file, preprocess
from biasviz.gui.class_labels import with_article

CANVAS_SIDE = 280
"""Side of the drawing in canvas pixels (10x the model's 28x28 input)."""
UNDO_LIMIT = 50
"""How many steps :meth:`DrawingCanvas.undo` can go back."""
MIN_BRUSH = 2
MAX_BRUSH = 60
DEFAULT_BRUSH = 18
"""Default stroke width: after the digit is shrunk to 20x20 this is about MNIST's stroke."""

_INK = 255
_PAPER = 0
_MIN_STEP = 0.75  # canvas pixels the pointer must move before a new segment is drawn


def _white_on_black(gray: np.ndarray) -> np.ndarray:
    """A float picture in [0, 1] as uint8 white ink on black (paper shade removed)."""
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError("Cannot show this picture: it is not a 2-D grayscale image.")
    # The paper is the shade of the border ring; preprocess already knows the polarity.
    depth = max(1, min(gray.shape) // 50)
    ring = np.concatenate(
        [
            gray[:depth].ravel(),
            gray[-depth:].ravel(),
            gray[:, :depth].ravel(),
            gray[:, -depth:].ravel(),
        ]
    )
    paper = float(np.median(ring))
    ink = (paper - gray) if preprocess(gray).inverted else (gray - paper)
    np.clip(ink, 0.0, None, out=ink)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return np.zeros(gray.shape, np.uint8)
    return np.round(ink * (255.0 / peak)).astype(np.uint8)


class DrawingCanvas(QWidget):
    """Draw a digit with the left mouse button; white ink on a black background.

    Signals
    -------
    changed()
        The drawing changed: on every mouse move that adds ink (not only on release),
        and after :meth:`clear`, :meth:`undo` and a successful load.
    loadFailed(str)
        A picture could not be loaded; the message says why, for the user.  The
        drawing is left as it was.
    undoAvailable(bool)
        Whether :meth:`undo` has anything to go back to (for enabling an Undo button);
        emitted when that changes.
    """

    changed = Signal()
    loadFailed = Signal(str)
    undoAvailable = Signal(bool)

    def __init__(self, parent: QWidget | None = None, side: int = CANVAS_SIDE) -> None:
        super().__init__(parent)
        self._side = int(side)
        self._image = QImage(self._side, self._side, QImage.Format.Format_Grayscale8)
        self._image.fill(_PAPER)
        self._undo: deque[QImage] = deque(maxlen=UNDO_LIMIT)
        self._brush = DEFAULT_BRUSH
        self._drawing = False
        self._last_point = QPointF()
        self._last_mid = QPointF()
        self._hover: QPointF | None = None
        self._drag_over = False

        self.setAcceptDrops(True)
        self.setMouseTracking(True)  # to show the brush outline under the pointer
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMinimumSize(160, 160)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._noun = ""
        self.set_noun("digit")

    # -- size ------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self._side + 2, self._side + 2)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return width

    # -- public API --------------------------------------------------------------------
    def set_noun(self, noun: str) -> None:
        """What the learner is asked to draw: "digit" for MNIST, "item" for datasets
        whose classes are not the digits (Fashion-MNIST's clothes)."""
        noun = str(noun) or "digit"
        changed = noun != getattr(self, "_noun", None)
        self._noun = noun
        self.setToolTip(
            f"Draw {with_article(self._noun)} here with the left mouse button — white ink on black, like the "
            "images the model learned from.\n"
            "You can also drop an image file (PNG, JPEG, …) onto this square."
        )
        if changed and self.is_empty():
            self.update()  # the placeholder names it

    def noun(self) -> str:
        return self._noun

    def hint_text(self) -> str:
        """The placeholder an empty canvas shows."""
        return f"Draw {with_article(self._noun)} here\nwith the mouse\n\n(or drop an image file)"

    @property
    def side(self) -> int:
        """Side of the drawing in canvas pixels."""
        return self._side

    def brush_width(self) -> int:
        return self._brush

    def set_brush_width(self, px: int | float) -> None:
        """Stroke width in canvas pixels, clamped to [MIN_BRUSH, MAX_BRUSH]."""
        self._brush = int(min(max(round(float(px)), MIN_BRUSH), MAX_BRUSH))
        self.update()

    def image_array(self) -> np.ndarray:
        """A (side, side) uint8 copy of the drawing: 0 = black paper, 255 = white ink."""
        image = self._image
        height, width, stride = image.height(), image.width(), image.bytesPerLine()
        buffer = np.frombuffer(image.constBits(), np.uint8, count=height * stride)
        return buffer.reshape(height, stride)[:, :width].copy()

    def is_empty(self) -> bool:
        """True when there is no ink at all."""
        return not self.image_array().any()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def clear(self) -> None:
        """Wipe the drawing (undoable).  Emits ``changed``."""
        self._end_stroke(draw_tail=False)
        if not self.is_empty():
            self._push_undo()
        self._image.fill(_PAPER)
        self.update()
        self.changed.emit()

    def undo(self) -> bool:
        """Go back to the state before the last stroke, clear or load.

        Returns False (and changes nothing) when there is nothing to undo.
        """
        self._end_stroke(draw_tail=False)
        if not self._undo:
            return False
        self._image = self._undo.pop()
        if not self._undo:
            self.undoAvailable.emit(False)
        self.update()
        self.changed.emit()
        return True

    def load_image(self, path: str | os.PathLike[str]) -> bool:
        """Replace the drawing with a picture file, scaled to fit (undoable).

        On failure emits ``loadFailed(message)``, leaves the drawing unchanged and
        returns False.
        """
        try:
            gray = load_image_file(path)
            self.set_image_array(gray)
        except ImageError as exc:
            self.loadFailed.emit(str(exc))
            return False
        return True

    def set_image_array(self, gray: np.ndarray) -> None:
        """Replace the drawing with a 2-D picture, values in [0, 1] (or uint8).

        Dark ink on light paper is inverted so the canvas stays white on black.  The
        picture is scaled to fit the square, keeping its aspect ratio, and centred.
        Undoable; emits ``changed``.  Raises :class:`ImageError` for a non-2-D array.
        """
        arr = np.asarray(gray)
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        ink = np.ascontiguousarray(_white_on_black(arr))
        height, width = ink.shape
        picture = QImage(ink.data, width, height, width, QImage.Format.Format_Grayscale8)
        scale = self._side / max(height, width)
        target = QRectF(0, 0, width * scale, height * scale)
        target.moveCenter(QPointF(self._side / 2, self._side / 2))
        self._end_stroke(draw_tail=False)
        self._push_undo()
        self._image.fill(_PAPER)
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, picture)
        painter.end()
        self.update()
        self.changed.emit()

    def map_to_image(self, pos: QPointF) -> QPointF:
        """Widget coordinates → canvas-pixel coordinates."""
        rect = self._target_rect()
        scale = self._side / rect.width()
        return QPointF((pos.x() - rect.left()) * scale, (pos.y() - rect.top()) * scale)

    def map_from_image(self, point: QPointF) -> QPointF:
        """Canvas-pixel coordinates → widget coordinates."""
        rect = self._target_rect()
        scale = rect.width() / self._side
        return QPointF(rect.left() + point.x() * scale, rect.top() + point.y() * scale)

    # -- drawing -----------------------------------------------------------------------
    def _target_rect(self) -> QRectF:
        """The square (widget coordinates) the drawing is shown in, inside a 1 px frame."""
        side = max(1.0, float(min(self.width(), self.height()) - 2))
        rect = QRectF(0, 0, side, side)
        rect.moveCenter(QRectF(self.rect()).center())
        return rect

    def _push_undo(self) -> None:
        was_empty = not self._undo
        self._undo.append(self._image.copy())
        if was_empty:  # only on a change of state
            self.undoAvailable.emit(True)

    def _pen(self) -> QPen:
        pen = QPen(QColor(_INK, _INK, _INK))
        pen.setWidthF(float(self._brush))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _paint(self, path: QPainterPath | None = None, point: QPointF | None = None,
               whole: bool = False) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self._pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        inked = QRectF()
        if path is not None:
            painter.drawPath(path)
            inked = path.boundingRect()
        if point is not None:
            painter.drawPoint(point)
            inked = inked.united(QRectF(point, point))
        painter.end()
        if whole:
            self.update()
        else:
            # Only where the ink went: repainting the whole square (and the frames behind
            # it) for every mouse move was most of a move's cost.
            self.update(self._widget_area(inked, self._brush / 2))

    def _widget_area(self, image_rect: QRectF, margin: float) -> QRect:
        """The widget pixels that show ``image_rect`` (canvas pixels) grown by ``margin``
        canvas pixels, with a pixel more for the smooth scaling."""
        grown = image_rect.adjusted(-margin, -margin, margin, margin)
        top_left = self.map_from_image(grown.topLeft())
        bottom_right = self.map_from_image(grown.bottomRight())
        return QRectF(top_left, bottom_right).toAlignedRect().adjusted(-2, -2, 2, 2)

    def _hover_area(self) -> QRect:
        if self._hover is None:
            return QRect()
        return self._widget_area(QRectF(self._hover, self._hover), self._brush / 2 + 1)

    def _begin_stroke(self, point: QPointF) -> None:
        self._push_undo()
        self._drawing = True
        self._last_point = QPointF(point)
        self._last_mid = QPointF(point)
        # a click alone leaves a round dot; all is repainted: the hint and the brush
        # outline go while drawing
        self._paint(point=point, whole=True)
        self.changed.emit()

    def _extend_stroke(self, point: QPointF) -> None:
        delta = point - self._last_point
        if abs(delta.x()) + abs(delta.y()) < _MIN_STEP:
            return
        # Quadratic curve from the previous midpoint to the new one, bending through the
        # last mouse position: smooth curves even from coarse mouse events.
        mid = (self._last_point + point) / 2.0
        path = QPainterPath(self._last_mid)
        path.quadTo(self._last_point, mid)
        self._paint(path=path)
        self._last_point = QPointF(point)
        self._last_mid = mid
        self.changed.emit()

    def _end_stroke(self, draw_tail: bool = True) -> None:
        if not self._drawing:
            return
        self._drawing = False
        self.update(self._hover_area())  # the brush outline is back
        if draw_tail and self._last_mid != self._last_point:
            path = QPainterPath(self._last_mid)
            path.lineTo(self._last_point)
            self._paint(path=path)
            self.changed.emit()

    # -- Qt events ---------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin_stroke(self.map_to_image(event.position()))
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        point = self.map_to_image(event.position())
        before = self._hover_area()
        self._hover = point
        if self._drawing:
            self._extend_stroke(point)
            event.accept()
        else:  # the brush outline moves: where it was and where it is
            self.update(before.united(self._hover_area()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._drawing:
            self._extend_stroke(self.map_to_image(event.position()))
            self._end_stroke()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._hover = None
        self.update()
        super().leaveEvent(event)

    @staticmethod
    def _local_file(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> str | None:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self._local_file(event) is not None:
            self._drag_over = True
            self.update()
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        if self._local_file(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._drag_over = False
        self.update()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self._drag_over = False
        self.update()
        path = self._local_file(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.load_image(path)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        rect = self._target_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(rect, self._image)
        palette = self.palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        frame = QPen(palette.highlight().color() if self._drag_over else palette.mid().color())
        frame.setWidthF(3.0 if self._drag_over else 1.0)
        painter.setPen(frame)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
        if self._drag_over:
            self._draw_hint(painter, rect, "Drop the picture to load it")
        elif self.is_empty() and not self._drawing:
            self._draw_hint(painter, rect, self.hint_text())
        if self._hover is not None and not self._drawing:
            # The brush outline under the pointer, so its size is visible before drawing.
            scale = rect.width() / self._side
            centre = self.map_from_image(self._hover)
            if rect.contains(centre):
                radius = self._brush * scale / 2
                painter.setPen(QPen(QColor(128, 128, 128), 1.0))
                painter.drawEllipse(centre, radius, radius)
        painter.end()

    @staticmethod
    def _draw_hint(painter: QPainter, rect: QRectF, text: str) -> None:
        font = painter.font()
        font.setPointSizeF(max(9.0, rect.width() / 22))
        painter.setFont(font)
        painter.setPen(QColor(150, 150, 150))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
