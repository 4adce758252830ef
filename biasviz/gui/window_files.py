"""The main window's files: parameters in and out (in the background), sessions, recent
sessions, drag and drop, animations and pictures for slides."""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMessageBox,
)

from biasviz.core.errors import BiasvizError
from biasviz.gui import file_dirs
from biasviz.gui.ask_discard import ask_before_discarding

# The parameter files and the export dialogs are imported by the actions that use them:
# nothing here is needed for the first window (start-up, issue 14).


def _read_session_and_data(path: str):
    """Off the GUI thread: the session file, and the dataset it names (or the bundled
    sample as a stand-in, with a note saying what is missing)."""
    from biasviz.core.app_model import dataset_fingerprint
    from biasviz.core.datasets import load_dataset, load_sample
    from biasviz.core.sessionfile import read_session

    try:
        meta, arrays = read_session(path)
        ref = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
        key, source = str(ref.get("key", "sample")), str(ref.get("source", ""))
        note, stand_in = "", False
        if key == "sample":
            dataset = load_sample()
        else:
            try:
                dataset = load_dataset(source if key == "folder" else key)
            except BiasvizError as exc:
                where = source or key
                dataset, stand_in = load_sample(), True
                note = (f"its dataset ({where}) is not available here ({exc}). The weights, "
                        "curves and timeline are the saved ones; the histogram, accuracy and "
                        "confusion show the bundled MNIST sample instead, and training is "
                        "off until that dataset is loaded.")
            else:
                if ref.get("fingerprint") and ref["fingerprint"] != dataset_fingerprint(dataset):
                    note = (f"the dataset at {source or key} has changed since the session "
                            "was saved: accuracies may differ from the saved curves.")
        _import_torch_if_needed(meta)
        return meta, arrays, dataset, note, stand_in
    except BiasvizError as exc:
        return exc


def _import_torch_if_needed(meta) -> None:
    """A session of a model that needs torch (the CNN): import it here, off the GUI
    thread, before the session is restored there (the window runs without torch)."""
    from biasviz.core.spec import ModelSpec
    from biasviz.core.train_loop import needs_torch

    try:
        spec = ModelSpec.from_dict(dict(meta["spec"]))
    except (BiasvizError, KeyError, TypeError, ValueError):
        return  # a damaged spec: restoring the session says so
    if needs_torch(spec):
        import biasviz.core.training  # noqa: F401 - imported for the restore to come


class FilesMixin:
    """MainWindow methods for files (the window composes; these read and write)."""

    # ------------------------------------------------------------------ files
    def export_dialog(self) -> None:
        from biasviz.core.paramfiles import FORMATS, dialog_filter

        path, chosen = QFileDialog.getSaveFileName(
            self, "Export parameters", file_dirs.start_in("biasviz-model.npz"),
            dialog_filter(FORMATS)
        )
        file_dirs.remember(path)
        if path:
            if not os.path.splitext(path)[1]:
                # no extension typed: take the one of the chosen filter
                ext = next((e for e, d in FORMATS if d == chosen), ".npz")
                path += ext
            self.export_to(path)

    def export_to(self, path: str) -> bool:
        import sys

        # The window runs without torch unless a model needs it: the first .pt written
        # loads it (~2 s), said and shown by the cursor meanwhile.
        loads_torch = (path.lower().endswith((".pt", ".pth"))
                       and "torch" not in sys.modules)
        if loads_torch:
            self.statusBar().showMessage("Loading PyTorch to write a .pt file…")
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        try:
            self.session.export(path)
        except BiasvizError as exc:
            self.show_error("Export failed", str(exc))
            return False
        finally:
            if loads_torch:
                QApplication.restoreOverrideCursor()
        self.statusBar().showMessage(f"Exported to {path}", 8000)
        return True

    def import_dialog(self) -> None:
        from biasviz.core.paramfiles import IMPORT_FORMATS, dialog_filter

        filters = (
            "Parameter files (*.npz *.npy *.pt *.pth *.json);;" + dialog_filter(IMPORT_FORMATS)
            + ";;All files (*)"
        )
        if not self._may_replace_model("Importing parameters replaces the model"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import parameters", file_dirs.start_in(),
                                              filters)
        file_dirs.remember(path)
        if path:
            self.open_file(path)

    def _may_replace_model(self, consequence: str) -> bool:
        """Asked before the learner's own Open or Import replaces a trained, unsaved model
        (code that opens a file does not ask)."""
        return ask_before_discarding(self, consequence, self.session.unsaved_progress,
                                     self.save_session_dialog, go_on="Discard and open")

    def open_file(self, path: str) -> None:
        """Open a session (.biasviz) or import a parameter file, in the background (a
        hostile or huge file never freezes the window); Cancel in the status bar stops it."""
        from biasviz.core.paramfiles import import_params
        from biasviz.core.sessionfile import EXTENSION

        if path.lower().endswith(EXTENSION):
            self.open_session(path)
            return
        if self.session.is_running:
            self.show_error("Import failed", "Stop training before importing a model.")
            return
        self._busy.show_busy(f"Reading {os.path.basename(path)}…", self._import_runner.cancel)

        def work(_out):
            try:
                return import_params(path)
            except BiasvizError as exc:
                return exc

        self._import_path = path
        self._import_runner.start(work)

    def _on_imported(self, _run_id: int, result) -> None:
        self._busy.done()
        path = self._import_path
        if isinstance(result, BiasvizError):
            self.show_error("Import failed", str(result))
            return
        try:
            self.session.model.import_model_file(result, source=path)
        except BiasvizError as exc:
            self.show_error("Import failed", str(exc))
            return
        notes = list(getattr(result, "notes", []) or [])
        if notes:
            # what the import had to assume (a state_dict's activation, a reshaped
            # tensor): said where it stays, not only in a status line
            from biasviz.core.text import as_sentence

            box = QMessageBox(QMessageBox.Icon.Information, "Imported, with a note",
                              "\n\n".join(as_sentence(n) for n in notes),
                              QMessageBox.StandardButton.Ok, self)
            box.setObjectName("import_note_box")
            box.setWindowModality(Qt.WindowModality.WindowModal)
            box.open()
            self._last_note_box = box

    # ------------------------------------------------------------------ animations, pictures
    def export_animation_dialog(self) -> None:
        from biasviz.gui.export_dialogs import AnimationDialog

        model = self.session.model
        if len(model.timeline) < 2:
            self.show_error("Nothing to animate yet", "Train first: the animation shows the "
                            "recorded moments of a run.")
            return
        dialog = AnimationDialog(self, recorded=len(model.timeline))
        if dialog.exec() != AnimationDialog.DialogCode.Accepted:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export animation",
                                              file_dirs.start_in("biasviz-training.gif"),
                                              "Animated GIF (*.gif);;MP4 video (*.mp4)")
        file_dirs.remember(path)
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += ".gif"
        names = tuple(model.data.class_names) if model.spec.n_outputs == 1 else None
        try:
            options = dialog.options(names)
        except BiasvizError as exc:
            self.show_error("Export failed", str(exc))
            return
        self.export_animation_to(path, options)

    def export_animation_to(self, path: str, options) -> None:
        """Render the frames off the GUI thread (a few seconds for a hundred frames)."""
        from biasviz.core.animation import Animator, Curves, write_animation

        model = self.session.model
        h = model.history
        curves = Curves.build((h.loss.x, h.loss.y), (h.valid_loss.x, h.valid_loss.y),
                              (h.valid_loss.x, h.accuracy.y[: len(h.valid_loss.x)]))
        timeline, spec = model.timeline, model.spec

        def work(out):
            try:
                animator = Animator(timeline, spec, options, curves)
                return write_animation(path, animator,
                                       progress=lambda i, n: out.put((i, n)))
            except BiasvizError as exc:
                return exc

        self._busy.show_busy("Rendering the animation…", self._animation_runner.cancel)
        self._animation_path = path
        self._animation_runner.start(work, min_interval=0.2)

    def _on_animation_done(self, _rid: int, result) -> None:
        self._busy.done()
        if isinstance(result, BiasvizError):
            self.show_error("Export failed", str(result))
            return
        self.statusBar().showMessage(f"Animation written to {self._animation_path}", 10000)

    def export_picture_dialog(self, attr: str, label: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export a picture of {label}", file_dirs.start_in("biasviz-view.png"),
            "PNG picture (*.png);;SVG drawing (*.svg)")
        file_dirs.remember(path)
        if path:
            if not os.path.splitext(path)[1]:
                path += ".png"
            self.export_picture(attr, path)

    def export_picture(self, attr: str, path: str, scale: float = 2.0) -> bool:
        from biasviz.gui.export_dialogs import export_view_picture
        from biasviz.gui.lazy_tabs import PendingPage

        widget = self
        for part in attr.split("."):
            widget = getattr(widget, part)
        if isinstance(widget, PendingPage):  # a view not built yet: its picture, not the page's
            widget = widget.build()
        try:
            export_view_picture(widget, path, scale)
        except (OSError, ValueError) as exc:
            self.show_error("Export failed", f"{path}: {exc}")
            return False
        self.statusBar().showMessage(f"Picture written to {path}", 8000)
        return True

    # ------------------------------------------------------------------ sessions
    def view_state(self) -> dict:
        lesson = self.current_lesson()
        module = next((m for m, each in self.lessons.items() if each is lesson), None)
        return {"tab": self.tabs.currentIndex() if lesson is None else None,
                "lesson": module, "show": self.show_combo.currentData(),
                "scrub": self.session.model.scrub_step}

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session",
                                              file_dirs.start_in("biasviz-run.biasviz"),
                                              "biasviz sessions (*.biasviz)")
        file_dirs.remember(path)
        if path:
            if not path.lower().endswith(".biasviz"):
                path += ".biasviz"
            self.save_session_to(path)

    def save_session_to(self, path: str) -> bool:
        from biasviz.core.sessionfile import write_session

        try:
            write_session(path, *self.session.model.session_state(self.view_state()))
        except BiasvizError as exc:
            self.show_error("Could not save the session", str(exc))
            return False
        self.session.mark_saved()  # a change of model no longer loses anything
        self._remember_recent(path)
        self.statusBar().showMessage(f"Session saved to {path}", 8000)
        return True

    def open_session_dialog(self) -> None:
        if not self._may_replace_model("Opening a session replaces the model"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open session", file_dirs.start_in(),
                                              "biasviz sessions (*.biasviz);;All files (*)")
        file_dirs.remember(path)
        if path:
            self.open_session(path)

    def open_session(self, path: str) -> None:
        """Read the session and its dataset in the background, then become it."""
        if self.session.is_running:
            self.show_error("Could not open the session", "Stop training first.")
            return
        self._busy.show_busy(f"Opening {os.path.basename(path)}…", self._session_runner.cancel)
        self._session_path = path
        self._session_runner.start(lambda _out: _read_session_and_data(path))

    def _on_session_read(self, _run_id: int, result) -> None:
        self._busy.done()
        if isinstance(result, BiasvizError):
            self.show_error("Could not open the session", str(result))
            return
        meta, arrays, dataset, note, stand_in = result
        try:
            view = self.session.model.restore_session(meta, arrays, dataset, note, stand_in)
        except BiasvizError as exc:
            self.show_error("Could not open the session", str(exc))
            return
        self.session.mark_saved()  # as it is in the file
        self._on_settings_changed()
        if view.get("show") in ("weights", "delta"):
            self.show_combo.setCurrentIndex(self.show_combo.findData(view["show"]))
        lesson = view.get("lesson")
        if isinstance(lesson, str) and lesson in self.lesson_actions:
            self.open_lesson(lesson)
        elif isinstance(view.get("tab"), int) and 0 <= view["tab"] < self._fixed_tabs:
            self.tabs.setCurrentIndex(view["tab"])
        if isinstance(view.get("scrub"), int):
            self.session.model.scrub_to(view["scrub"])
        self._refresh_all()
        self._remember_recent(self._session_path)
        message = f"Opened {os.path.basename(self._session_path)}"
        if note:
            message += f" — {note}"
            self.show_error("The session's data is not here", note)
        self.statusBar().showMessage(message, 10000)

    def _remember_recent(self, path: str) -> None:
        recent = [p for p in self.recent_sessions() if p != path]
        self.settings.setValue("sessions/recent", json.dumps([path, *recent][:8]))

    def recent_sessions(self) -> list[str]:
        try:
            value = json.loads(str(self.settings.value("sessions/recent", "[]")))
        except ValueError:
            return []
        return [p for p in value if isinstance(p, str)] if isinstance(value, list) else []

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent_sessions()
        if not paths:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for path in paths:
            a = self.recent_menu.addAction(os.path.basename(path))
            a.setToolTip(path)
            a.triggered.connect(lambda _c=False, p=path: self._open_recent(p))

    def _open_recent(self, path: str) -> None:
        if self._may_replace_model("Opening a session replaces the model"):
            self.open_session(path)

    # drag and drop: a parameter file dropped on the window opens like File › Import
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            if self._may_replace_model(f"Opening {os.path.basename(files[0])} replaces the "
                                       "model"):
                self.open_file(files[0])

    def import_from(self, path: str) -> bool:
        try:
            self.session.import_file(path)
        except BiasvizError as exc:
            self.show_error("Import failed", str(exc))
            return False
        return True
