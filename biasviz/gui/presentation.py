"""Presentation mode (View › Present, F11): the window as a teacher shows it on a projector.

Full screen, larger type, thicker lines, the side panels and the code tab hidden, a caption
strip saying in plain words what is happening, and the keyboard in charge: Space start /
pause, → one step, ← one recorded moment back, + / − faster / slower, Esc or F11 to leave.
Leaving restores the layout exactly as it was (geometry, docks, toolbar, tabs, fonts).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QRect, Qt
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from shiboken6 import isValid

from biasviz.core.text import percent
from biasviz.gui.decision_common import FONT_RATIO
from biasviz.gui.plot_style import scale_plot_text
from biasviz.gui.timeline_bar import moment_caption

SCALE = 1.4  # type size in presentation mode
SLOW_STEPS = (0.0, 0.01, 0.03, 0.1, 0.3)  # seconds per batch: full speed … very slow


@dataclass
class _Saved:
    geometry: QByteArray
    rect: QRect
    state: QByteArray
    font: QFont
    maximized: bool
    menubar_visible: bool
    statusbar_visible: bool
    chapter_visible: bool
    fonts: list[tuple[QWidget, QFont]]  # widgets with a size of their own, as they were


def _size(font: QFont) -> float:
    return font.pointSizeF() if font.pointSizeF() > 0 else font.pixelSize() * 0.75


def _scale_own_fonts(root: QWidget, before: dict[int, float]) -> list[tuple[QWidget, QFont]]:
    """Scale the fonts that did not grow with the application font: set with a size of
    their own when the widget was built (a headline, a title), Qt no longer passes the
    application's to them.  ``before``: each widget's size before, by id.  Returns what
    to restore."""
    saved = []
    for widget in [root, *root.findChildren(QWidget)]:  # parents before their children
        if not widget.testAttribute(Qt.WidgetAttribute.WA_SetFont) or widget.property(FONT_RATIO):
            continue
        font = widget.font()
        old = before.get(id(widget))
        if old is None or _size(font) > old * 1.01:  # it grew: it follows its parent
            continue
        saved.append((widget, QFont(font)))
        big = QFont(font)
        if font.pointSizeF() > 0:
            big.setPointSizeF(font.pointSizeF() * SCALE)
        else:
            big.setPixelSize(round(font.pixelSize() * SCALE))
        widget.setFont(big)
    return saved


def caption_for(model) -> str:
    """What is happening, in plain words, for the strip above the views."""
    snap = model.snapshot
    if snap is None:
        return "Loading…"
    step, epoch = snap.step, snap.epoch
    ended = model.history.last_epoch
    # the accuracy is an epoch end's: said so where the panel below shows another step's
    # ("validation accuracy 50.0%" above the panel's "(now) 51.0%", step 6 of epoch 2)
    acc_text = "" if ended is None else (
        f" · validation accuracy {percent(ended.valid_accuracy)}" if ended.step == step
        else f" · after epoch {ended.epoch:,}: {percent(ended.valid_accuracy)}")
    what = {"running": "Training", "paused": "Paused", "ready": "Ready"}.get(
        model.state.value, "Loading")
    if model.scrub_step is not None:
        shown = model.shown_snapshot()
        m_acc = model.timeline.evaluated_at(shown.step)
        return (f"Looking back at {moment_caption(shown.step, shown.epoch, m_acc)} — "
                "← / → to move, Home for the start, End for now")
    if step == 0:
        hint = ("Press Space to start: the weights begin as random noise"
                if model.spec.init.value != "zeros" else "Press Space to start from all zeros")
        return f"{what}: {model.spec.describe()} on {model.data.describe()}. {hint}."
    keys = "" if model.state.value == "running" else \
        " — Space to go on, → one batch, ← to look back"
    # the epoch as the progress bar counts it: the one going on, or the one just ended
    where = (f"end of epoch {epoch:,}" if ended is not None and ended.step == step
             else f"in epoch {epoch + 1:,}")
    return f"{what}: step {step:,} · {where}{acc_text}{keys}"


class Presenter:
    """Enters and leaves presentation mode for a MainWindow."""

    def __init__(self, window) -> None:
        self.window = window
        self._saved: _Saved | None = None
        self.caption = QLabel("")
        self.caption.setObjectName("presentation_caption")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(
            "QLabel#presentation_caption { background: #102a43; color: white; "
            "padding: 8px 14px; font-weight: bold; }"
        )
        self.caption.hide()
        self._shortcuts: list[QShortcut] = []

    @property
    def active(self) -> bool:
        return self._saved is not None

    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    def enter(self) -> None:
        if self.active:
            return
        w = self.window
        app = QApplication.instance()
        self._saved = _Saved(
            geometry=w.saveGeometry(), rect=QRect(w.geometry()), state=w.saveState(),
            font=QFont(app.font()),
            maximized=w.isMaximized(),
            menubar_visible=w.menuBar().isVisible(),
            statusbar_visible=w.statusBar().isVisible(),
            chapter_visible=w.chapter_label.isVisible(),
            fonts=[],
        )
        widgets = [w, *w.findChildren(QWidget)]
        before = {id(x): _size(x.font()) for x in widgets}
        big = QFont(app.font())
        if big.pointSizeF() > 0:
            big.setPointSizeF(big.pointSizeF() * SCALE)
        else:
            big.setPixelSize(round(big.pixelSize() * SCALE))
        app.setFont(big)  # reaches the default-font widgets and the _small labels
        self._saved.fonts = _scale_own_fonts(w, before)
        scale_plot_text(w, SCALE, self._saved.font)
        for dock in (w.controls_dock, w.help_dock, w.code_dock):  # code: off by default
            dock.hide()
        w.toolbar.hide()
        # the caption strip says what the status bar and the chapter note would; the
        # menus' shortcuts stay (the window carries its actions)
        for bar in (w.menuBar(), w.statusBar(), w.chapter_label):
            bar.hide()
        w.set_line_width(3)
        self.caption.show()
        self.refresh()
        for keys, slot in (
            ("Right", w.present_step), ("Left", w.present_back),
            ("Home", w.present_first), ("End", w.present_now),
            ("+", w.present_faster), ("=", w.present_faster), ("-", w.present_slower),
            ("Escape", self.leave),
        ):
            sc = QShortcut(QKeySequence(keys), w)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self._shortcuts.append(sc)
        w.showFullScreen()

    def leave(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        w = self.window
        for sc in self._shortcuts:
            sc.setEnabled(False)
            sc.deleteLater()
        self._shortcuts = []
        self.caption.hide()
        QApplication.instance().setFont(saved.font)
        for widget, font in reversed(saved.fonts):
            if isValid(widget):  # (a lesson's widget may be gone)
                widget.setFont(font)
        scale_plot_text(w, 1.0, saved.font)
        w.menuBar().setVisible(saved.menubar_visible)
        w.statusBar().setVisible(saved.statusbar_visible)
        w.chapter_label.setVisible(saved.chapter_visible)
        w.set_line_width(None)
        QApplication.processEvents()  # the normal font's (smaller) minimum sizes first
        w.showNormal()
        w.restoreGeometry(saved.geometry)
        w.setGeometry(saved.rect)  # restoreGeometry alone can keep a full-screen frame
        # Let the window take its old size before the docks are laid out in it: restored
        # into the full-screen size, their saved widths would come back rescaled.
        QApplication.processEvents()
        # The Training panel's minimum width follows its content, laid out in the big
        # font while it was hidden: measure it again in the normal font first.
        w._panel_width.refresh()
        w.restoreState(saved.state)
        QApplication.processEvents()
        w.setGeometry(saved.rect)  # the docks are back: the window takes its size again
        if saved.maximized:
            w.showMaximized()

    def refresh(self) -> None:
        if self.active:
            self.caption.setText(caption_for(self.window.session.model))

    def widget(self) -> QWidget:
        return self.caption
