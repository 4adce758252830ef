"""Dialogs that turn what the window shows into files for slides: the training as an
animated GIF or MP4, and any view as a PNG or SVG picture at a chosen size."""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)


class AnimationDialog(QDialog):
    """Size, frame rate, number of frames and what to show."""

    def __init__(self, parent: QWidget | None = None, recorded: int = 0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export the training as an animation")
        form = QFormLayout(self)
        self.size_combo = QComboBox()
        for label, size in (("960 × 540 (slides)", (960, 540)), ("1280 × 720", (1280, 720)),
                            ("1920 × 1080", (1920, 1080)), ("640 × 360 (small)", (640, 360))):
            self.size_combo.addItem(label, size)
        self.fps_spin = QDoubleSpinBox()
        self.fps_spin.setRange(0.5, 60)
        self.fps_spin.setValue(10)
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(2, 1000)
        self.frames_spin.setValue(min(120, max(2, recorded)))
        self.show_combo = QComboBox()
        self.show_combo.addItem("what training changed: w − w₀", "delta")
        self.show_combo.addItem("the weights w", "w")
        self.show_combo.addItem("both side by side", "both")
        self.spacing_combo = QComboBox()
        self.spacing_combo.addItem("more frames early on (learning is fast there)", "early")
        self.spacing_combo.addItem("evenly over the run", "even")
        form.addRow("Size", self.size_combo)
        form.addRow("Frames per second", self.fps_spin)
        form.addRow(f"Frames (of {recorded:,} recorded moments)", self.frames_spin)
        form.addRow("Show", self.show_combo)
        form.addRow("Spacing", self.spacing_combo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def options(self, class_names: tuple[str, ...] | None = None):
        from biasviz.core.animation import AnimationOptions

        width, height = self.size_combo.currentData()
        return AnimationOptions(
            width=width, height=height, fps=self.fps_spin.value(),
            frames=self.frames_spin.value(), show=self.show_combo.currentData(),
            spacing=self.spacing_combo.currentData(), class_names=class_names,
        )


def _render_svg(widget, path: str) -> None:
    """Vector drawing of a widget through Qt's own SVG painter (pyqtgraph's SVG exporter
    fails on this Qt version's path syntax)."""
    from PySide6.QtCore import QRect, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(QSize(widget.width(), widget.height()))
    generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    generator.setTitle("biasviz")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path}")
    try:
        widget.render(painter)
    finally:
        painter.end()
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        raise OSError(f"could not write {path}")


def export_view_picture(widget, path: str, scale: float = 2.0) -> None:
    """A pyqtgraph view (PlotWidget/GraphicsLayoutWidget/GraphicsView) or any widget as a
    picture: SVG (vector, Qt's SVG painter), or PNG at ``scale`` × its size on screen
    (pyqtgraph's image exporter, which redraws at that resolution).

    Raises OSError/ValueError with the reason when it cannot be written."""
    import pyqtgraph as pg
    from pyqtgraph import exporters

    ext = os.path.splitext(path)[1].lower()
    scene_item = None
    if isinstance(widget, pg.PlotWidget):
        scene_item = widget.getPlotItem()
    elif isinstance(widget, pg.GraphicsView):
        scene_item = widget.scene()
    if ext == ".svg":
        _render_svg(widget, path)
        return
    if scene_item is not None:
        exporter = exporters.ImageExporter(scene_item)
        width = int(max(1, widget.width()) * scale)
        exporter.parameters()["width"] = width
        exporter.export(path)
        return
    pixmap = widget.grab()
    if scale != 1.0:
        pixmap = pixmap.scaledToWidth(int(pixmap.width() * scale))
    if not pixmap.save(path):
        raise OSError(f"could not write {path}")
