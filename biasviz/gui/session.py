"""The session: the app's one controller between the core and the widgets.

It owns the dataset, the task, the model description, the trainer and the training
thread.  Widgets never touch those; they call the session's commands (start, pause, set a
bias, import...) and listen to its signals, which carry copies.

torch is heavy to import (about 2 s), so the session starts without it: it imports the
training engine in a background thread after the window is shown, and a Start pressed
before that is queued, not lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal

from biasviz.core.datasets import Dataset, Task, TaskData, load_sample, make_task_data
from biasviz.core.decisions import (
    BinaryDecision,
    MulticlassDecision,
    as_float_images,
    output_biases,
    output_scores,
)
from biasviz.core.errors import BiasvizError, ConfigError, DownloadCancelled
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, Snapshot, TrainConfig

# Session states
LOADING = "loading"  # torch not imported yet
READY = "ready"
RUNNING = "running"
PAUSED = "paused"


class _Bridge(QObject):
    """Carries results from plain Python threads back to the GUI thread (queued)."""

    torchReady = Signal(object)  # exception or None
    datasetLoaded = Signal(object, object)  # Dataset | None, error | None
    downloadProgress = Signal(int, int)


class Session(QObject):
    dataChanged = Signal(object)  # TaskData
    modelReset = Signal(object)  # Snapshot: a new model (structure or initialization)
    paramsChanged = Signal(object)  # Snapshot: new parameter values (training or edits)
    stepsAdded = Signal(object)  # list[StepMetrics]
    epochsAdded = Signal(object)  # list[EpochMetrics], oldest first
    stateChanged = Signal(str)
    settingsChanged = Signal()  # dataset/task/spec/config changed (e.g. by an import)
    statusMessage = Signal(str)
    errorOccurred = Signal(str, str)  # title, message
    trainingEnded = Signal(object)  # TrainingEnded
    datasetLoading = Signal(str)  # a dataset is being loaded/downloaded (its name)
    downloadProgress = Signal(int, int)  # bytes done, total (-1 unknown)
    datasetLoadFinished = Signal(bool)  # loaded (True) or failed/cancelled (False)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset = load_sample()
        self.task = Task.pair(3, 7)
        self.spec = ModelSpec()
        self.config = TrainConfig()
        self.data: TaskData = make_task_data(self.dataset, self.task)
        self._valid_xf: np.ndarray | None = None
        self.trainer: Any = None
        self.snapshot: Snapshot | None = None
        self.initial_params: dict[str, np.ndarray] | None = None
        self.trained_params: dict[str, np.ndarray] | None = None
        self.last_accuracy: float | None = None
        self.state = LOADING
        self.slow_delay = 0.0
        self._thread: Any = None
        self._worker: Any = None
        self._control: Any = None
        self._pending: Callable[[], None] | None = None
        self._cancel_download = threading.Event()
        self._loading_dataset = False
        self._bridge = _Bridge()
        self._bridge.torchReady.connect(self._on_torch_ready)
        self._bridge.datasetLoaded.connect(self._on_dataset_loaded)
        self._bridge.downloadProgress.connect(self.downloadProgress)
        self._decision_cache: tuple[int, Any] | None = None

    # ------------------------------------------------------------------ start-up
    def load_engine_in_background(self) -> None:
        """Import torch and the training engine off the GUI thread."""

        def work() -> None:
            try:
                import biasviz.core.training  # noqa: F401 - the import is the work

                self._bridge.torchReady.emit(None)
            except Exception as exc:  # noqa: BLE001 - reported to the user
                self._bridge.torchReady.emit(exc)

        threading.Thread(target=work, name="biasviz-import-torch", daemon=True).start()

    def load_engine_now(self) -> None:
        """Import the engine in this thread (tests, scripts)."""
        import biasviz.core.training  # noqa: F401

        self._on_torch_ready(None)

    def _on_torch_ready(self, error: object) -> None:
        if error is not None:
            self.errorOccurred.emit(
                "Training engine unavailable",
                f"PyTorch could not be loaded: {error}. Drawing and imported models still "
                "work; training does not.",
            )
            return
        self._rebuild_trainer()
        self._set_state(READY)
        self.statusMessage.emit("Ready: press Start to train the chapter's single neuron")
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending()

    @property
    def engine_ready(self) -> bool:
        return self.trainer is not None

    # ------------------------------------------------------------------ state
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    @property
    def is_running(self) -> bool:
        return self.state in (RUNNING, PAUSED)

    @property
    def valid_xf(self) -> np.ndarray:
        """The validation images as float32 (n, 784), converted once per dataset/task."""
        if self._valid_xf is None:
            self._valid_xf = as_float_images(self.data.valid_x)
        return self._valid_xf

    # ------------------------------------------------------------------ settings
    def _check_idle(self, what: str) -> bool:
        if self.is_running:
            self.statusMessage.emit(f"Stop training before changing {what}")
            return False
        return True

    def set_task(self, task: Task) -> bool:
        if not self._check_idle("the task"):
            return False
        spec = self._spec_for_task(self.spec, task)
        return self._apply_settings(self.dataset, task, spec)

    def set_spec(self, spec: ModelSpec) -> bool:
        if not self._check_idle("the model"):
            return False
        return self._apply_settings(self.dataset, self.task, spec)

    def set_config(self, config: TrainConfig) -> None:
        """lr, batch, epochs, optimizer... take effect at the next Start (or at once when
        idle: the trainer keeps its parameters)."""
        self.config = config
        if self.trainer is not None and not self.is_running:
            self.trainer.set_config(config)

    @staticmethod
    def _spec_for_task(spec: ModelSpec, task: Task) -> ModelSpec:
        """Keep the user's model if it fits the task; else the natural one for it."""
        if task.n_outputs == spec.n_outputs:
            return spec
        if task.is_binary:
            kind = ModelKind.SINGLE if spec.kind is ModelKind.LINEAR else spec.kind
        else:
            kind = ModelKind.LINEAR if spec.kind is ModelKind.SINGLE else spec.kind
        return replace(spec, kind=kind, n_outputs=task.n_outputs)

    def _apply_settings(self, dataset: Dataset, task: Task, spec: ModelSpec) -> bool:
        try:
            data = make_task_data(dataset, task)
        except BiasvizError as exc:
            self.errorOccurred.emit("Cannot use this task", str(exc))
            return False
        changed_data = data is not self.data
        self.dataset, self.task, self.spec, self.data = dataset, task, spec, data
        if changed_data:
            self._valid_xf = None
            self.dataChanged.emit(data)
        if self.trainer is not None:
            self._rebuild_trainer()
        self.settingsChanged.emit()
        return True

    def _rebuild_trainer(self, params: dict[str, np.ndarray] | None = None) -> None:
        from biasviz.core.training import Trainer

        self.trainer = Trainer(self.spec, self.data, self.config)
        snap = self.trainer.snapshot()
        self.initial_params = snap.params
        if params is not None:
            self.trainer.set_params(params)
            snap = self.trainer.snapshot()
        self.trained_params = {k: v.copy() for k, v in snap.params.items()}
        self.snapshot = snap
        self.last_accuracy = None
        self._decision_cache = None
        self.modelReset.emit(snap)

    # ------------------------------------------------------------------ datasets
    def load_dataset(self, spec: str) -> None:
        """Load "sample", a torchvision name, or a folder, in the background."""
        if not self._check_idle("the dataset") or self._loading_dataset:
            return
        if spec == "sample":
            self._on_dataset_loaded(load_sample(), None)
            return
        self._loading_dataset = True
        self._cancel_download.clear()
        self.datasetLoading.emit(spec)

        def progress(done: int, total: int | None) -> None:
            self._bridge.downloadProgress.emit(int(done), -1 if total is None else int(total))

        def work() -> None:
            from biasviz.core.datasets import load_dataset

            try:
                ds = load_dataset(spec, progress=progress, cancel=self._cancel_download.is_set)
                self._bridge.datasetLoaded.emit(ds, None)
            except Exception as exc:  # noqa: BLE001 - reported to the user
                self._bridge.datasetLoaded.emit(None, exc)

        threading.Thread(target=work, name="biasviz-dataset", daemon=True).start()

    def cancel_dataset_load(self) -> None:
        self._cancel_download.set()

    def _on_dataset_loaded(self, dataset: Dataset | None, error: object) -> None:
        self._loading_dataset = False
        if self.is_running:  # cannot happen through the UI; never swap data under a run
            self.shutdown_training()
        if dataset is None:
            self.datasetLoadFinished.emit(False)
            self._pending = None  # a Start queued for the new data is not wanted now
            if isinstance(error, DownloadCancelled):
                self.statusMessage.emit("Download cancelled; still using " + self.dataset.name)
            else:
                self.errorOccurred.emit("Could not load the dataset", str(error))
            return
        # The task keeps its class indices; their names come from the new dataset.
        ok = self._apply_settings(dataset, self.task, self.spec)
        self.datasetLoadFinished.emit(ok)
        if self._pending is not None and self.trainer is not None:
            pending, self._pending = self._pending, None
            pending()
        if ok:
            self.statusMessage.emit(
                f"Loaded {dataset.name}: {len(dataset.train):,} training and "
                f"{len(dataset.valid):,} validation images"
            )

    # ------------------------------------------------------------------ training
    def start(self) -> None:
        """Start (or resume) training for the configured number of epochs."""
        if self.state == PAUSED:
            self.resume()
            return
        if self.state == RUNNING:
            return
        if self._loading_dataset:
            self.statusMessage.emit(
                "A dataset is still loading: training starts on it when it is ready"
            )
            self._pending = self.start
            return
        if self.trainer is None:
            self._pending = self.start
            self.statusMessage.emit("Loading PyTorch… training starts in a moment")
            return
        self._launch()

    def _launch(self, first_command: Callable[[Any], None] | None = None) -> None:
        from biasviz.core.training import TrainingControl
        from biasviz.gui.worker import TrainingWorker, WorkerThread

        self.trainer.set_config(self.config)
        control = TrainingControl()
        control.set_delay(self.slow_delay)
        if first_command is not None:
            first_command(control)
        worker = TrainingWorker(self.trainer, int(self.config.epochs), control)
        thread = WorkerThread(worker)
        worker.progress.connect(self._on_progress)
        worker.epochsDone.connect(self._on_epochs)
        worker.paused.connect(self._on_paused)
        worker.ended.connect(self._on_ended)
        worker.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._control, self._worker, self._thread = control, worker, thread
        self._set_state(RUNNING)
        thread.start()

    def pause(self) -> None:
        if self.state == RUNNING and self._control is not None:
            self._control.pause()

    def resume(self) -> None:
        if self.state == PAUSED and self._control is not None:
            self._control.resume()
            self._set_state(RUNNING)

    def toggle_pause(self) -> None:
        if self.state == RUNNING:
            self.pause()
        elif self.state == PAUSED:
            self.resume()
        else:
            self.start()

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()

    def step_batches(self, n: int = 1) -> None:
        """Run ``n`` batches, then pause (starts training if idle)."""
        if self.trainer is None:
            self._pending = lambda: self.step_batches(n)
            return
        if self.state == PAUSED:
            self._control.step(n)
            self._set_state(RUNNING)
        elif self.state == READY:
            self._launch(lambda c: c.step(n))

    def step_epoch(self) -> None:
        if self.trainer is None:
            self._pending = self.step_epoch
            return
        if self.state == PAUSED:
            self._control.step_epoch()
            self._set_state(RUNNING)
        elif self.state == READY:
            self._launch(lambda c: c.step_epoch())

    def set_slow_motion(self, seconds_per_batch: float) -> None:
        self.slow_delay = max(0.0, float(seconds_per_batch))
        if self._control is not None:
            self._control.set_delay(self.slow_delay)

    def reset(self) -> None:
        """Re-initialize the model with the same seed; clears the history."""
        if self.is_running:
            self.shutdown_training()
        if self.trainer is None:
            return
        self.trainer.reset()
        snap = self.trainer.snapshot()
        self.initial_params = snap.params
        self.trained_params = {k: v.copy() for k, v in snap.params.items()}
        self.snapshot = snap
        self.last_accuracy = None
        self._decision_cache = None
        self.modelReset.emit(snap)
        self.statusMessage.emit("Model re-initialized (same seed)")

    # worker callbacks (GUI thread) ------------------------------------------------
    def _on_progress(self, steps: list, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.stepsAdded.emit(steps)
        self.paramsChanged.emit(snapshot)

    def _on_epochs(self, epochs: list) -> None:
        self.last_accuracy = epochs[-1].valid_accuracy
        self.epochsAdded.emit(epochs)

    def _on_paused(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.trained_params = {k: v.copy() for k, v in snapshot.params.items()}
        self._set_state(PAUSED)
        self.paramsChanged.emit(snapshot)

    def _on_ended(self, ended: Any, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.trained_params = {k: v.copy() for k, v in snapshot.params.items()}
        self.paramsChanged.emit(snapshot)
        self.trainingEnded.emit(ended)
        if ended.reason.value == "diverged":
            self.errorOccurred.emit("Training diverged", ended.message)
        else:
            acc = f"; validation accuracy {self.last_accuracy:.1%}" if self.last_accuracy else ""
            self.statusMessage.emit(f"Training {ended.message}{acc}{self._not_learning_hint()}")

    def chance_accuracy(self) -> float:
        """Accuracy of always answering the most common validation class."""
        counts = np.bincount(self.data.valid_y)
        return float(counts.max() / counts.sum())

    def _not_learning_hint(self) -> str:
        """A plain hint when training ended no better than guessing (not a divergence:
        e.g. dead ReLUs after a huge learning rate, or an all-zero hidden layer)."""
        if self.last_accuracy is None or self.trainer is None or self.trainer.epoch < 3:
            return ""
        if self.last_accuracy > self.chance_accuracy() + 0.01:
            return ""
        return (
            " — no better than guessing: the model is not learning. Try a smaller learning "
            "rate, or a random (not all-zero) start for a hidden layer."
        )

    def _on_failed(self, message: str, details: str) -> None:
        self.errorOccurred.emit("Training failed", f"{message}\n\n{details.strip().splitlines()[-1]}")

    def _on_thread_finished(self) -> None:
        thread = self._thread
        self._thread = self._worker = self._control = None
        if thread is not None:
            thread.deleteLater()
        if self.trainer is not None:
            self._set_state(READY)

    def shutdown_training(self, timeout_ms: int = 10000) -> bool:
        """Stop the worker and wait for its thread; True when it is gone."""
        thread, control = self._thread, self._control
        if thread is None:
            return True
        control.stop()
        finished = thread.wait(timeout_ms)
        if finished:
            # The worker may have queued updates (and the thread its `finished`) before
            # it stopped: deliver them now, while they still describe the current model,
            # so that nothing stale arrives after a reset or a new trainer.
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
            if self._thread is thread:
                self._on_thread_finished()
        return bool(finished)

    def shutdown(self) -> None:
        """Everything stops: called by the window's closeEvent and app.aboutToQuit."""
        self._cancel_download.set()
        self._pending = None
        self.shutdown_training()

    # ------------------------------------------------------------------ edits
    def _apply_params(self, params: dict[str, np.ndarray], what: str) -> bool:
        if self.trainer is None:
            return False
        if self.state == RUNNING:
            self.statusMessage.emit(f"Pause training to edit the {what}")
            return False
        params = {k: np.asarray(v, dtype=np.float32).copy() for k, v in params.items()}
        if self.state == PAUSED and self._control is not None:
            # The training thread is parked at a batch boundary: hand it the edit.
            self._control.submit(lambda p=params: self.trainer.set_params(p))
        else:
            self.trainer.set_params(params)
        step = self.snapshot.step if self.snapshot else 0
        epoch = self.snapshot.epoch if self.snapshot else 0
        self.snapshot = Snapshot(self.spec, params, step, epoch)
        self.paramsChanged.emit(self.snapshot)
        return True

    def current_params(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.snapshot.params.items()} if self.snapshot else {}

    def effective_bias(self) -> float:
        return float(output_biases(self.snapshot.params, self.spec)[0])

    def set_bias(self, bias: float) -> bool:
        """Set the single neuron's bias as it acts on the logit (per pixel: shift each bᵢ
        by the same amount so that Σbᵢ is the new value)."""
        if self.spec.kind is not ModelKind.SINGLE or self.spec.bias_mode is BiasMode.NONE:
            return False
        params = self.current_params()
        if self.spec.bias_mode is BiasMode.SCALAR:
            params["bias"] = np.array([bias], dtype=np.float32)
        else:
            old = params["bias"].astype(np.float64)
            params["bias"] = (old + (bias - old.sum()) / old.size).astype(np.float32)
        return self._apply_params(params, "bias")

    def set_output_biases(self, biases: np.ndarray) -> bool:
        key = "biases" if self.spec.kind is ModelKind.LINEAR else "output.biases"
        if key not in (self.snapshot.params if self.snapshot else {}):
            return False
        params = self.current_params()
        params[key] = np.asarray(biases, dtype=np.float32).reshape(params[key].shape)
        return self._apply_params(params, "biases")

    def set_weights(self, weights: np.ndarray) -> bool:
        """Painted weights of the single neuron."""
        if self.spec.kind is not ModelKind.SINGLE:
            return False
        params = self.current_params()
        params["weights"] = np.asarray(weights, dtype=np.float32).reshape(784)
        return self._apply_params(params, "weights")

    def restore_trained(self, what: str = "all") -> bool:
        """Undo the user's edits: "bias", "weights" or "all" back to the trained values."""
        if self.trained_params is None:
            return False
        params = self.current_params()
        for name, value in self.trained_params.items():
            is_bias = "bias" in name
            if what == "all" or (what == "bias" and is_bias) or (what == "weights" and not is_bias):
                params[name] = value.copy()
        return self._apply_params(params, what)

    # ------------------------------------------------------------------ decisions
    def decision(self) -> BinaryDecision | MulticlassDecision | None:
        """The cached pre-activations for the current weights (one matrix product per
        parameter change; bias edits reuse it)."""
        if self.snapshot is None:
            return None
        params = self.snapshot.params
        # Fingerprint everything that feeds the scores, i.e. all but the output bias:
        # bias and threshold edits then reuse the cached scores.
        out_bias = {ModelKind.SINGLE: "bias", ModelKind.LINEAR: "biases"}.get(
            self.spec.kind, "output.biases"
        )
        cache_key = hash(
            (id(self.data), self.spec)
            + tuple(params[k].tobytes() for k in sorted(params) if k != out_bias)
        )
        if self._decision_cache is not None and self._decision_cache[0] == cache_key:
            return self._decision_cache[1]
        scores = output_scores(params, self.spec, self.valid_xf)
        if self.spec.n_outputs == 1:
            decision: Any = BinaryDecision(scores, self.data.valid_y)
        else:
            decision = MulticlassDecision(scores, self.data.valid_y)
        self._decision_cache = (cache_key, decision)
        return decision

    def trained_output_biases(self) -> np.ndarray:
        source = self.trained_params or (self.snapshot.params if self.snapshot else None)
        return output_biases(source, self.spec) if source else np.zeros(self.spec.n_outputs)

    # ------------------------------------------------------------------ files
    def export(self, path: str) -> None:
        """Write the current parameters; raises ParamFileError with a clear message."""
        from biasviz.core.paramfiles import export_params, model_file_from_snapshot

        if self.snapshot is None:
            raise ConfigError("there is no model to export yet")
        snap = Snapshot(self.spec, self.current_params(), self.snapshot.step, self.snapshot.epoch)
        export_params(
            path, model_file_from_snapshot(snap, self.data, self.config, self._current_accuracy())
        )

    def _current_accuracy(self) -> float | None:
        decision = self.decision()
        if decision is None:
            return None
        if isinstance(decision, BinaryDecision):
            return decision.evaluate(self.effective_bias(), 0.0).accuracy
        return decision.evaluate(output_biases(self.snapshot.params, self.spec)).accuracy

    def import_file(self, path: str) -> None:
        """Load parameters from a file into a model that fits them; raises on bad files
        without changing anything."""
        from biasviz.core.paramfiles import import_params

        if self.is_running:
            raise ConfigError("stop training before importing a model")
        if self._loading_dataset:
            raise ConfigError(
                "a dataset is still loading: wait for it (or cancel it), then import"
            )
        model_file = import_params(path)
        spec = model_file.spec
        task = self.task
        meta_task = model_file.metadata.get("task") if model_file.metadata else None
        if spec.n_outputs != task.n_outputs:
            task = Task.all_ten() if spec.n_outputs == 10 else Task.pair(3, 7)
            if isinstance(meta_task, str):
                try:
                    parsed = Task.parse(meta_task)
                    if parsed.n_outputs == spec.n_outputs:
                        task = parsed
                except BiasvizError:
                    pass
        data = make_task_data(self.dataset, task)
        if self.trainer is None:
            self.load_engine_now()
        self.task, self.spec = task, spec
        if data.task != self.data.task:
            self.data = data
            self._valid_xf = None
            self.dataChanged.emit(data)
        self._rebuild_trainer(model_file.params)
        self.settingsChanged.emit()
        self.statusMessage.emit(f"Imported {spec.describe()} from {path}")
