"""The decision panel: move a neuron's bias (or its firing threshold) by hand and see,
live, which validation images land on which side of the decision line.

Binary mode (one output neuron, two digits): the neuron says the FIRST class when
``w·x + b ≥ t``, i.e. when ``w·x ≥ t − b``.  The histograms of ``z = w·x`` never move
when you change ``b`` or ``t``; only the vertical decision line at ``t − b`` does.  That
is the whole lesson: *the bias is a threshold in disguise*.

Ten-class mode (linear model or an MLP's output layer): one bias per output neuron;
raising ``bᵢ`` makes the network answer "i" more often.  A confusion heat-map shows
which digits are traded for which.

Everything is computed from cached pre-activations (:mod:`biasviz.core.decisions`), so
every control move is cheap: the binary view only moves one line and updates labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.decisions import (
    BinaryDecision,
    BinaryResult,
    MulticlassDecision,
    MulticlassResult,
)
from biasviz.gui.decision_binary import BINARY_PLOT_ITEMS, BinaryPage
from biasviz.gui.decision_common import (
    MODE_BINARY,
    MODE_EMPTY,
    MODE_MULTICLASS,
    FloatSlider,
    fmt,
    fmt_percent,
    show_in_place,
)
from biasviz.gui.decision_multiclass import MULTICLASS_WIDGETS, MulticlassPage


class DecisionPanel(BinaryPage, MulticlassPage, QWidget):
    """Bias / threshold controls with a live decision view, for one or ten output neurons.

    Binary mode: :meth:`set_binary`.  Ten-class mode: :meth:`set_multiclass`.  The caller
    feeds new decisions when the parameters change; the panel never recomputes ``w·x``.
    """

    biasChanged = Signal(float)  # the user moved the bias (binary mode)
    thresholdChanged = Signal(float)  # the user moved the threshold (logit t)
    biasesChanged = Signal(object)  # the user edited output biases (np.ndarray, ten-class)
    resultChanged = Signal(object)  # BinaryResult or MulticlassResult after every change

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mode = MODE_EMPTY
        self._short_screen = False  # height is scarce (use_short_screen)
        self._accuracy_caption = "validation accuracy"  # (set_accuracy_caption)
        self._editable = True
        self._edit_reason = ""
        # Has the model been trained yet?  Before any step the "trained" values are the
        # initial ones, and the panel says so (the window calls set_has_trained).
        self._has_trained = True
        self._reference = "trained"  # what the panel calls those values (set_has_trained)
        self._hidden = False  # the output neuron weighs hidden outputs h, not pixels x
        self._noun = "digit"  # "item" for classes that are not the digits 0–9
        # binary state (exact floats; the widgets show them rounded)
        self._decision: BinaryDecision | None = None
        self._trained_bias = 0.0
        self._bias = 0.0
        self._bias_overridden = False
        self._threshold = 0.0
        self._class_names: tuple[str, str] = ("first", "second")
        self._result: BinaryResult | None = None
        # ten-class state
        self._mc_decision: MulticlassDecision | None = None
        self._mc_trained = np.zeros(0)
        self._mc_biases = np.zeros(0)
        self._mc_names: list[str] = []
        self._mc_result: MulticlassResult | None = None
        self._mc_k = 0

        # The ten-class page (a third plot, ~15 ms) is built the first time ten classes
        # are shown or one of its widgets is asked for (``__getattr__``): the two-class
        # default of the first window never needs it (start-up, issue 14).
        self._mc_building = False
        # Likewise the two-class page's histogram plot: made when the first decision
        # comes; the first window shows "Train or load a model" until the engine is in.
        self._plot_building = False

        self.stack = QStackedWidget()
        self.empty_page = self._build_empty_page()
        self.binary_page = self._build_binary_page()
        for page in (self.empty_page, self.binary_page):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self._set_words()
        self._apply_editable()

    def __getattr__(self, name: str) -> Any:
        # Only called for a name not found: one of the parts made on first need, before
        # it exists (a caller or a test reaching for ``panel.bias_spins``, ``panel.plot``).
        state = self.__dict__
        if name in MULTICLASS_WIDGETS and not state.get("_mc_building", True):
            self.ensure_multiclass_page()
        elif name in BINARY_PLOT_ITEMS and not state.get("_plot_building", True):
            self.ensure_binary_plot()
        if name in state:
            return state[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def has_multiclass_page(self) -> bool:
        """Whether the ten-class page has been built (it is, the first time it is needed)."""
        return "multiclass_page" in self.__dict__

    def ensure_multiclass_page(self) -> QWidget:
        """The ten-class page, built now if it was not yet."""
        page = self.__dict__.get("multiclass_page")
        if page is not None:
            return page
        self._mc_building = True  # its own attribute look-ups must not build it again
        try:
            page = self._build_multiclass_page()
        finally:
            self._mc_building = False
        self.multiclass_page = page
        # not shown yet: no say in the panel's size (``_show`` gives it its say)
        page.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.stack.addWidget(page)
        self._set_multiclass_words()
        self._apply_multiclass_editable()
        return page

    # ------------------------------------------------------------------ building
    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        label = QLabel(
            "Train or load a model to see how its bias decides between the classes."
        )
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setEnabled(False)
        layout.addWidget(label)
        return page

    # ------------------------------------------------------------------ shared
    def use_short_screen(self) -> QWidget:
        """A window under ~880 px high.  Returns the two-class page's accuracy and
        confusion counts, taken out of the panel for the caller to place (under the
        weights: the histogram of scores gets their height; they still show only while
        the two-class page does); the ten-class page explains itself in one line (the
        whole sentence in its tooltip), its confusion grid gets the height."""
        self._short_screen = True
        box = self.results_box
        self.binary_page.layout().removeWidget(box)
        box.setParent(None)
        box.setVisible(self._mode == MODE_BINARY)
        if self.has_multiclass_page():
            self._set_multiclass_words()
        return box

    def _show(self, mode: str) -> None:
        self._mode = mode
        if self._short_screen:  # the results box is the window's to place, then
            self.results_box.setVisible(mode == MODE_BINARY)
        if mode == MODE_MULTICLASS:
            page = self.ensure_multiclass_page()
        else:
            page = {MODE_EMPTY: self.empty_page, MODE_BINARY: self.binary_page}[mode]
        if self.stack.currentWidget() is not page:
            # Only the page shown counts for the panel's size: a stack's minimum is its
            # largest page's, so after ten classes had been shown the single neuron's
            # panel kept their height and the window grew past a 720 px screen.
            for i in range(self.stack.count()):
                other = self.stack.widget(i)
                policy = QSizePolicy.Policy.Preferred if other is page else QSizePolicy.Policy.Ignored
                other.setSizePolicy(policy, policy)
            self.stack.setCurrentWidget(page)
            self.stack.updateGeometry()

    def _apply_editable(self) -> None:
        enabled = self._editable
        for widget in (self.bias_slider, self.bias_spin, self.reset_button):
            widget.setEnabled(enabled)
        if self.has_binary_plot():
            self.decision_line.setMovable(enabled)
        self._show_edit_note(self.edit_note_label, self.bias_status_label)
        if self.has_multiclass_page():
            self._apply_multiclass_editable()

    def _show_edit_note(self, note: QLabel, status: QLabel) -> None:
        """The reason editing is off takes the status line's place (no line more while a
        run goes on)."""
        note.setText(self._edit_reason or "Editing the bias is switched off for now.")
        show_in_place(status if self._editable else note)


__all__ = ["DecisionPanel", "FloatSlider", "fmt", "fmt_percent"]
