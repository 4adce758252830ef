"""Presentation mode (View › Present, F11): the window as a teacher shows it on a projector.

Full screen, larger type, thicker lines, the side panels and the code tab hidden, a caption
strip saying in plain words what is happening, and the keyboard in charge: Space start /
pause, → one step, ← one recorded moment back, + / − faster / slower, Esc or F11 to leave.
Leaving restores the layout exactly as it was (geometry, docks, toolbar, tabs, fonts).

The type is as large as the screen has room for: 1.4× where the window still fits the
screen's work area with it, smaller steps down to 1× where it would not (ten classes at
1280×720 made the window 762 px high at 1.4×: the timeline and the plots' axis titles were
off the screen), and every plot keeps at least ``PLOT_MIN_HEIGHT`` px.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QEvent, QEventLoop, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from shiboken6 import isValid

from biasviz.core.text import percent
from biasviz.gui.decision_common import FONT_RATIO
from biasviz.gui.lazy_tabs import PendingPage
from biasviz.gui.plot_style import scale_plot_text
from biasviz.gui.timeline_bar import moment_caption

SCALE = 1.4  # type size in presentation mode, where the screen has room for it
#: the sizes tried, largest first, where the window does not fit the screen at SCALE
SCALES = (SCALE, 1.35, 1.3, 1.25, 1.2, 1.15, 1.1, 1.05, 1.0)
PLOT_MIN_HEIGHT = 150  # every plot keeps at least this height while presenting
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
    minimums: list[tuple[QWidget, int]]  # plots given another minimum height, and theirs
    scale: float = SCALE  # the type size chosen for this screen


def _size(font: QFont) -> float:
    return font.pointSizeF() if font.pointSizeF() > 0 else font.pixelSize() * 0.75


def _scaled(font: QFont, factor: float) -> QFont:
    big = QFont(font)
    if font.pointSizeF() > 0:
        big.setPointSizeF(font.pointSizeF() * factor)
    else:
        big.setPixelSize(max(1, round(font.pixelSize() * factor)))
    return big


def _scale_own_fonts(root: QWidget, before: dict[int, float],
                     factor: float = SCALE) -> list[tuple[QWidget, QFont]]:
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
        widget.setFont(_scaled(font, factor))
    return saved


def _plots(window) -> list[QWidget]:
    """The plots shown while presenting, each of which keeps PLOT_MIN_HEIGHT: the loss and
    the accuracy, the histogram of scores (or its stand-in), the confusion grid."""
    plots = [window.plots.loss_plot, window.plots.acc_plot]
    panel = window.decision_panel
    if panel.has_binary_plot():
        plots.append(panel.plot)
    elif panel.__dict__.get("_plot_stand_in") is not None:
        plots.append(panel.__dict__["_plot_stand_in"])
    if panel.has_multiclass_page():
        plots.append(panel.confusion_plot)
    return plots


def _screen_area(window) -> QRect | None:
    """The work area of the window's screen (its panels and task bars left out)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return None if screen is None else screen.availableGeometry()


def _relayout_hidden(root: QWidget) -> None:
    """Measure the hidden widgets under ``root`` (the tabs not shown, a page of a stack;
    not the docks: the Training panel's width has its own way back) in their new
    fonts, once those have reached them: Qt lays out only what is shown, and a hidden
    tab's layouts kept the sizes of the type they were last shown in (the Draw tab,
    visited while presenting, left the window 1282 px wide at 1280×720 after leaving)."""
    for widget in root.findChildren(QWidget):
        layout = widget.layout()
        if layout is not None and not widget.isVisible():
            layout.invalidate()
            layout.activate()  # its nested layouts too
            widget.updateGeometry()


def _minimum(window) -> QSize:
    """The window's minimum size as its content asks for it now."""
    # A font's new size reaches the window's minimum through layout requests that the
    # splitters and the tab widget pass on one level at a time (posted events)
    for _ in range(3):
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    _relayout_hidden(window.centralWidget())
    layout = window.layout()
    if layout is not None:
        layout.activate()  # the minimums of the fonts just set
    return window.minimumSizeHint().expandedTo(window.minimumSize())


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
        # (an imported model's weights are someone's trained ones: "begin as random
        # noise" was said beside a model that scored 91.5%)
        hint = ("Press Space to train on from the imported weights" if model.imported
                else "Press Space to start: the weights begin as random noise"
                if model.spec.init.value != "zeros" else "Press Space to start from all zeros")
        return f"{what}: {model.spec.describe()} on {model.data.describe()}. {hint}."
    keys = (" — Space to pause, + / − speed" if model.state.value == "running" else
            " — Space to go on, → one batch, ← to look back, + / − speed")
    # the epoch as the progress bar counts it: the one going on, or the one just ended
    where = (f"end of epoch {epoch:,}" if ended is not None and ended.step == step
             else f"in epoch {epoch + 1:,}")
    return f"{what}: step {step:,} · {where}{acc_text}{keys}"


class Presenter(QObject):
    """Enters and leaves presentation mode for a MainWindow."""

    def __init__(self, window) -> None:
        super().__init__(window)
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
        # while presenting, a view that grows (a tab built on first show, ten classes
        # loaded from a session) is checked against the screen once its layout settles
        self._check_timer = QTimer(self, singleShot=True, interval=0)
        self._check_timer.timeout.connect(self._keep_on_screen)

    @property
    def active(self) -> bool:
        return self._saved is not None

    @property
    def scale(self) -> float:
        """The type size while presenting (1 when not)."""
        return self._saved.scale if self._saved is not None else 1.0

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
            fonts=[], minimums=[],
        )
        # The tabs not opened yet are built now, in the normal type: built in the large
        # one, a view keeps sizes measured in it (the Draw tab left the window 1282 px
        # wide at 1280×720 after presenting), and the size chosen below fits them too.
        for i in range(w.tabs.count()):
            page = w.tabs.widget(i)
            if isinstance(page, PendingPage):
                page.build()
        widgets = [w, *w.findChildren(QWidget)]
        before = {id(x): _size(x.font()) for x in widgets}
        app.setFont(_scaled(self._saved.font, SCALE))  # the default-font widgets, _small labels
        self._saved.fonts = _scale_own_fonts(w, before, SCALE)
        scale_plot_text(w, SCALE, self._saved.font)
        w.decision_panel.fit_confusion_axis()  # the row names grew: the title keeps clear
        for dock in (w.controls_dock, w.help_dock, w.code_dock):  # code: off by default
            dock.hide()
        w.toolbar.hide()
        # the caption strip says what the status bar and the chapter note would; the
        # menus' shortcuts stay (the window carries its actions)
        for bar in (w.menuBar(), w.statusBar(), w.chapter_label):
            bar.hide()
        w.set_line_width(3)
        # the caption's style sheet keeps it out of the application font's reach
        self.caption.setFont(_scaled(self._saved.font, SCALE))
        self.caption.show()
        self.refresh()
        self._hold_plot_heights()
        self._fit_to_screen()
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
        w.installEventFilter(self)

    # ------------------------------------------------------------------ fitting the screen
    def _apply_scale(self, factor: float) -> None:
        """Every text factor × its normal size (the window's own-size fonts found on
        entering included)."""
        saved = self._saved
        w = self.window
        QApplication.instance().setFont(_scaled(saved.font, factor))
        for widget, font in saved.fonts:  # parents before their children, as found
            if isValid(widget):
                widget.setFont(_scaled(font, factor))
        scale_plot_text(w, factor, saved.font)
        w.decision_panel.fit_confusion_axis()
        self.caption.setFont(_scaled(saved.font, factor))
        saved.scale = factor
        self._hold_plot_heights()

    def _hold_plot_heights(self) -> None:
        """Each plot's minimum height PLOT_MIN_HEIGHT while presenting (the histogram of
        scores may go down to 96 px on a short screen otherwise, the confusion grid asks
        for 160), the confusion grid's more where its row names need it in the type
        size now: the window's minimum, fitted to the screen, then has room for all of
        them and no more."""
        saved, panel = self._saved, self.window.decision_panel
        held = {id(widget) for widget, _ in saved.minimums}
        for plot in _plots(self.window):
            if id(plot) not in held:
                saved.minimums.append((plot, plot.minimumHeight()))
            need = PLOT_MIN_HEIGHT
            if panel.has_multiclass_page() and plot is panel.confusion_plot:
                need = max(need, panel.confusion_min_height())
            if plot.minimumHeight() != need:
                plot.setMinimumHeight(need)

    def _fit_to_screen(self) -> None:
        """The largest type in SCALES (from the one shown down) at which the window's
        minimum size fits the screen's work area: at 1280×720 ten classes needed 762 px
        at 1.4×.  Where no size fits the screen's width (a screen narrower than the
        window's columns), the height alone decides."""
        w = self.window
        area = _screen_area(w)
        if area is None:
            return
        # no painting at the sizes tried (the views, not the window: a window whose
        # updates were off did not paint again under X until it was shown anew)
        w.centralWidget().setUpdatesEnabled(False)
        try:
            self._choose_scale(area)
            _minimum(w)  # the window laid out in the size chosen
        finally:
            w.centralWidget().setUpdatesEnabled(True)
        self._inside_screen()

    def _choose_scale(self, area: QRect) -> None:
        w, saved = self.window, self._saved
        first = min(range(len(SCALES)), key=lambda i: abs(SCALES[i] - saved.scale))
        last = len(SCALES) - 1
        measured: dict[int, tuple[bool, bool]] = {}

        def fits(i: int, width: bool) -> bool:
            if i not in measured:
                if saved.scale != SCALES[i]:
                    self._apply_scale(SCALES[i])
                need = _minimum(w)
                measured[i] = (need.height() <= area.height(), need.width() <= area.width())
            tall, wide = measured[i]
            return tall and (wide or not width)

        if fits(first, True):
            return
        fits(last, True)
        width = measured[last][1]  # some size fits the width: it counts too
        if not fits(last, width):
            best = last  # the smallest there is: the plots keep their minimum heights
        elif fits(first, width):
            best = first
        else:  # fits(first) is False, fits(last) True: the largest that fits, halving
            lo, hi = first, last
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if fits(mid, width):
                    hi = mid
                else:
                    lo = mid
            best = hi
        if saved.scale != SCALES[best]:
            self._apply_scale(SCALES[best])

    def _inside_screen(self) -> None:
        """A window that grew past the screen while larger sizes were tried comes back
        inside it (a full-screen window has the screen's size anyway; without a window
        manager to make it so, it kept the height it grew to)."""
        w = self.window
        screen = w.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        bounds, frame = screen.geometry(), w.frameGeometry()
        if frame.width() > bounds.width() or frame.height() > bounds.height():
            w.resize(min(w.width(), bounds.width() - (frame.width() - w.width())),
                     min(w.height(), bounds.height() - (frame.height() - w.height())))
            frame = w.frameGeometry()
        if frame.height() <= bounds.height() and not bounds.contains(frame):
            w.move(w.x() + max(0, bounds.left() - frame.left())
                   - max(0, frame.right() - bounds.right()),
                   w.y() + max(0, bounds.top() - frame.top())
                   - max(0, frame.bottom() - bounds.bottom()))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        if (obj is self.window and event.type() == QEvent.Type.LayoutRequest
                and self.active):
            self._check_timer.start()
        return False

    def _keep_on_screen(self) -> None:
        """While presenting: a view grown since (a tab built when first shown, a plot
        made, ten classes) takes smaller type if the window no longer fits the screen."""
        if not self.active:
            return
        self._hold_plot_heights()
        area = _screen_area(self.window)
        # (the layout has just settled: its minimum is read as it is, without waiting for
        # more events, at most once per turn of the event loop while training)
        if area is not None and self.window.minimumSizeHint().height() > area.height():
            self._fit_to_screen()

    def leave(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        w = self.window
        w.removeEventFilter(self)
        self._check_timer.stop()
        for sc in self._shortcuts:
            sc.setEnabled(False)
            sc.deleteLater()
        self._shortcuts = []
        self.caption.hide()
        self.caption.setFont(saved.font)
        QApplication.instance().setFont(saved.font)
        for widget, font in reversed(saved.fonts):
            if isValid(widget):  # (a lesson's widget may be gone)
                widget.setFont(font)
        for widget, height in saved.minimums:
            if isValid(widget):
                widget.setMinimumHeight(height)
        scale_plot_text(w, 1.0, saved.font)
        w.decision_panel.fit_confusion_axis()
        w.menuBar().setVisible(saved.menubar_visible)
        w.statusBar().setVisible(saved.statusbar_visible)
        w.chapter_label.setVisible(saved.chapter_visible)
        w.set_line_width(None)
        QApplication.processEvents()  # the normal font's (smaller) minimum sizes first
        _relayout_hidden(w.centralWidget())  # the tabs not shown too
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
