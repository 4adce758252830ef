"""The main window's code tab: it follows the settings, shows live values, and links
its lines to the controls both ways; File › Export as notebook / script."""

from __future__ import annotations

import math
import os

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsDropShadowEffect,
    QToolTip,
    QWidget,
)

from biasviz.core.errors import BiasvizError
from biasviz.core.spec import BiasMode, ModelKind
from biasviz.core.text import escape_html
from biasviz.gui import file_dirs
from biasviz.gui.code_panel import CodePanel


def code_tooltip(own: str, lines: list[str]) -> str:
    """A control's tooltip with the code behind it: ``own`` (plain or rich text), then
    ``lines`` as the Code panel shows them."""
    own_html = own if Qt.mightBeRichText(own) else escape_html(own).replace("\n", "<br>")
    # (each line on its own: the indentation of its place in the program is no help here)
    code = "\n".join(escape_html(line.replace("\u00a0", " ").strip()) for line in lines)
    return (f"{own_html}{'<hr>' if own else ''}<b>In the code</b> "
            f"<span style='color:#555'>(all of it: View › Code, Ctrl+K)</span>"
            f"<pre style='margin:2px 0'>{code}</pre>")


class _ConceptHover(QObject):
    """Tells the code panel which concept the control under the mouse stands for; where
    the panel is not on screen (closed, or behind the Training panel's tab on a laptop,
    where the two share a column), the control's tooltip shows its lines of code."""

    def __init__(self, panel: CodePanel, settings: dict) -> None:
        super().__init__(panel)
        self._panel = panel
        self._settings = settings  # control → the setting it shows

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind == QEvent.Type.Enter and obj in self._settings:
            # the code generator is imported on the first hover, not at start-up
            from biasviz.core.codegen import SETTING_CONCEPTS

            self._panel.highlight_concept(SETTING_CONCEPTS[self._settings[obj]])
        elif kind == QEvent.Type.Leave and obj in self._settings:
            self._panel.highlight_concept("")
        elif (kind == QEvent.Type.ToolTip and obj in self._settings
              and self._settings[obj] != "weights"  # (the picture's tooltip: its pixel)
              and (not self._panel.isVisible() or self._panel.visibleRegion().isEmpty())):
            from biasviz.core.codegen import SETTING_CONCEPTS

            lines = self._panel.code_for(SETTING_CONCEPTS[self._settings[obj]])
            if lines:
                QToolTip.showText(event.globalPos(), code_tooltip(obj.toolTip(), lines), obj)
                return True
        return False




class CodeLinkMixin:
    """MainWindow methods for its code tab (the window composes; this links)."""

    # ------------------------------------------------------------------ code panel
    def _update_code(self) -> None:
        """The code tab follows the settings the next run will use (made when the panel
        is shown: the code generator is not imported for the first window)."""
        s = self.session
        key, source = s.dataset.key, s.dataset.source

        def dataset_ref():
            from biasviz.core.codegen import DatasetRef

            try:
                return DatasetRef.of_dataset(key, source)
            except BiasvizError:
                return DatasetRef.of_dataset("sample")

        self.code_panel.set_run(s.spec, s.config, s.task, dataset_ref,
                                start=s.model.imported_start())

    def _live_code_values(self) -> dict:
        """The values beside the code's lines: the present's, or (replaying, or looking
        back on the timeline) the moment every other view shows, which the comments then
        name ("step 36: b = 0.279", not "now b = −0.6345")."""
        model = self.session.model
        values: dict = {"lr": model.config.lr, "moment": None}
        snap = model.shown_snapshot()
        past = model.scrub_step is not None and snap is not None
        if snap is not None:
            values.update(step=snap.step, epoch=snap.epoch)
            spec = model.spec
            if spec.kind is ModelKind.SINGLE and spec.bias_mode is not BiasMode.NONE:
                key = "bias" if spec.bias_mode is BiasMode.SCALAR else "bias_sum"
                values[key] = (float(snap.params["bias"].sum()) if past
                               else model.effective_bias())
        if past:
            moment = model.timeline.nearest(snap.step)
            evaluated = model.timeline.evaluated_at(snap.step)
            values["moment"] = snap.step
            values["loss"] = None if math.isnan(moment.loss) else moment.loss  # (step 0)
            # only a figure measured at this very step (an epoch's end) is this step's
            values["accuracy"] = (evaluated.accuracy if evaluated is not None
                                  and evaluated.step == snap.step else None)
            return values
        last = model.history.last_step
        if last is not None:
            values["loss"] = last.loss
        if model.last_accuracy is not None:
            values["accuracy"] = model.last_accuracy
        return values

    def _link_code_panel(self) -> None:
        """Hovering a control lights up its lines in the code, and hovering a line lights
        up its controls."""
        p = self.training_panel
        controls = {
            "dataset": [p.dataset_combo], "task": [p.task_combo, p.first_combo, p.second_combo],
            "kind": [p.model_combo], "bias_mode": [p.bias_combo], "hidden": [p.hidden_spin],
            "channels": [p.channels_spin], "kernel": [p.kernel_combo],
            "init": [p.init_combo], "init_std": [p.std_spin], "seed": [p.seed_spin],
            "optimizer": [p.optimizer_combo], "loss": [p.loss_combo], "lr": [p.lr_spin],
            "batch_size": [p.batch_spin], "epochs": [p.epochs_spin],
            "bias": [self.decision_panel.bias_slider, self.decision_panel.bias_spin],
            "threshold": [self.decision_panel.threshold_spin],
            "weights": [self.weights_view],
        }
        self._code_controls = controls
        self._hover_filter = _ConceptHover(self.code_panel, {
            w: name for name, ws in controls.items() for w in ws
        })
        for widgets in controls.values():
            for w in widgets:
                w.installEventFilter(self._hover_filter)
        self.code_panel.conceptHovered.connect(self._highlight_controls)
        self._lit_controls: list[QWidget] = []

    def _highlight_controls(self, concept: str) -> None:
        from biasviz.core.codegen import settings_for

        for w in self._lit_controls:
            w.setGraphicsEffect(None)
        self._lit_controls = []
        if not concept:
            return
        for name in settings_for(concept):
            for w in self._code_controls.get(name, []):
                glow = QGraphicsDropShadowEffect(w)
                glow.setColor(QColor(230, 159, 0))
                glow.setBlurRadius(18)
                glow.setOffset(0, 0)
                w.setGraphicsEffect(glow)
                self._lit_controls.append(w)

    def export_code_dialog(self, ext: str) -> None:
        kind = "Jupyter notebook (*.ipynb)" if ext == ".ipynb" else "Python script (*.py)"
        path, _ = QFileDialog.getSaveFileName(self, "Export the run as code",
                                              file_dirs.start_in(f"biasviz-run{ext}"), kind)
        file_dirs.remember(path)
        if path:
            if not os.path.splitext(path)[1]:
                path += ext
            self.export_code_to(path)

    def export_code_to(self, path: str) -> bool:
        try:
            start = self.code_panel.export_code(path)
        except BiasvizError as exc:
            self.show_error("Export failed", str(exc))
            return False
        beside = f", and beside it {start}: the imported numbers it starts from" if start else ""
        self.statusBar().showMessage(f"Code written to {path}{beside}", 8000)
        return True
