"""The session: the Qt adapter between the app model and the widgets.

Everything a session *is* lives in :class:`biasviz.core.app_model.AppModel` (Qt-free,
tested without a display).  This class only adds what needs Qt: it turns the model's
events into signals, and it runs the long jobs (importing torch, loading a dataset,
training) on :class:`~biasviz.gui.runner.Runner`\\ s, reporting their results back to the
model on the GUI thread.

torch is heavy to import (about 2 s), so the session starts without it: it imports the
training engine in the background after the window is shown, and a Start pressed before
that is queued, not lost.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from biasviz.core.app_model import AppModel, RunState
from biasviz.core.datasets import Dataset, Task, TaskData, load_sample
from biasviz.core.decisions import BinaryDecision, MulticlassDecision
from biasviz.core.errors import BiasvizError, DownloadCancelled
from biasviz.core.spec import ModelSpec, Snapshot, TrainConfig
from biasviz.gui.runner import Outbox, Runner

# Kept for callers that compare states with these names.
LOADING, READY, RUNNING, PAUSED = (s.value for s in RunState)
#: Between runs, the next run's batch orders are drawn this long after the last change
#: (a Stop, a new model or setting): see Session._prefetch_orders.
PREFETCH_DELAY_MS = 250
PREFETCH_SLICE_S = 0.006  # the GUI thread's draws at a time (_prefetch_orders)
PREFETCH_NEXT_SLICE_MS = 20


class TimelineRecorder:
    """Records training steps into the model's timeline, at the pace
    :class:`~biasviz.core.train_loop.RecordingPace` allows.  Runs in the training thread
    (the timeline's one writer)."""

    def __init__(self, model: AppModel) -> None:
        from biasviz.core.train_loop import RecordingPace

        self.model = model
        self.pace = RecordingPace()

    @property
    def stride(self) -> int:
        return self.pace.stride

    def step(self, event: Any, trainer: Any, shown: bool = False) -> Snapshot | None:
        return self.pace.take(event, trainer,
                              keep=lambda snap: self.model.record_step(event, snap),
                              shown=shown)


def _same_moment(a: Snapshot | None, b: Snapshot | None) -> bool:
    """Do two snapshots hold the same model at the same step?  (Stopping a run after
    saving hands back an equal snapshot, not the same object.)"""
    if a is b:
        return True
    if a is None or b is None or (a.step, a.epoch, a.spec) != (b.step, b.epoch, b.spec):
        return False
    return a.params.keys() == b.params.keys() and all(
        np.array_equal(a.params[k], b.params[k]) for k in a.params)


#: Modules a run imports lazily on first use: numpy.ma (~20 ms), which np.median and
#: np.percentile import at their first call (the diagnosis' in the first frame).  Imported
#: in the first frame's worker thread (then at a lowered priority), it held the import lock
#: and the GIL for 25-30 ms while the GUI thread waited (a missed frame at the first run).
RUN_IMPORTS = ("biasviz.core.train_loop", "numpy.ma")


def _import_engine(torch: bool = False) -> None:
    """Import the training engine (with ``torch``, torch's: the CNN's) and what a run
    imports lazily, and make threadpoolctl's controller, whose first look at the loaded
    libraries takes ~15 ms: all off the path of a run."""
    for name in RUN_IMPORTS + (("biasviz.core.training",) if torch else ()):
        importlib.import_module(name)
    from biasviz.core.engine_numpy import blas_controls

    blas_controls()


class Session(QObject):
    dataChanged = Signal(object)  # TaskData
    modelReset = Signal(object)  # Snapshot: a new model (structure or initialization)
    paramsChanged = Signal(object)  # Snapshot: new parameter values (training or edits)
    historyChanged = Signal(object)  # TrainingHistory: steps or epochs were added
    thresholdChanged = Signal(float)
    stateChanged = Signal(str)
    settingsChanged = Signal()  # dataset/task/spec/config changed (e.g. by an import)
    configChanged = Signal(object)  # TrainConfig (lr, batch, epochs...)
    statusMessage = Signal(str)
    # How a run ended ("Training finished 245 epochs; validation accuracy 96.0% …"): it
    # stays in the status bar until something else is said (a status message went after
    # 8 s, and a learner coming back to the window saw nothing of the end)
    runSummary = Signal(str)
    errorOccurred = Signal(str, str)  # title, message
    trainingEnded = Signal(object)  # TrainingEnded
    datasetLoading = Signal(str)  # a dataset is being loaded/downloaded (its name)
    downloadProgress = Signal(int, int)  # bytes done, total (-1 unknown)
    datasetLoadFinished = Signal(bool)  # loaded (True) or failed/cancelled (False)

    def __init__(self, parent: QObject | None = None, model: AppModel | None = None) -> None:
        super().__init__(parent)
        self.model = model or AppModel()
        ev = self.model.events
        ev.connect("data", self.dataChanged.emit)
        ev.connect("model", self.modelReset.emit)
        ev.connect("params", self.paramsChanged.emit)
        ev.connect("history", self.historyChanged.emit)
        ev.connect("threshold", self.thresholdChanged.emit)
        ev.connect("state", lambda s: self.stateChanged.emit(str(s.value)))
        ev.connect("settings", lambda _none: self.settingsChanged.emit())
        ev.connect("config", self.configChanged.emit)
        ev.connect("status", self.statusMessage.emit)
        ev.connect("ended", self._on_ended)
        ev.connect("engine", lambda _spec: self._load_torch())
        self._engine_runner = Runner(self, "biasviz-import-torch")
        self._engine_runner.finished.connect(self._on_engine_imported)
        self._engine_runner.failed.connect(self._on_engine_failed)
        self._data_runner = Runner(self, "biasviz-dataset")
        self._data_runner.updated.connect(self._on_dataset_progress)
        self._data_runner.finished.connect(self._on_dataset_result)
        self._data_runner.failed.connect(self._on_dataset_failed)
        self._preload_runner = Runner(self, "biasviz-preload")
        ev.connect("data", self._preload_data)
        self._train_runner = Runner(self, "biasviz-training")
        self._train_runner.updated.connect(self._on_training_update)
        self._train_runner.finished.connect(self._on_training_thread_done)
        self._train_runner.failed.connect(self._on_training_failed)
        self._prefetch_timer = QTimer(self, singleShot=True, interval=PREFETCH_DELAY_MS)
        self._prefetch_timer.timeout.connect(self._prefetch_orders)
        for name in ("model", "config", "state"):
            ev.connect(name, lambda *_: self._prefetch_timer.start(PREFETCH_DELAY_MS))
        self._control: Any = None
        self._process: Any = None  # the training process (numpy engine), made on demand
        self._process_broken = False  # it could not start: train in a thread instead
        self._blas_hold_due = False  # see _hold_one_blas_thread
        self._blas_release: Callable[[], None] | None = None
        self._pending: Callable[[], None] | None = None
        self._loading_dataset = False
        self._saved_snapshot: Snapshot | None = None  # the moment last saved or opened
        # Does the current (or last) run train in a thread of this process (the CNN's torch
        # engine, or no training process), sharing the GIL with the window's drawing?
        self.trains_in_thread = False
        self.planned_end: tuple[int, int] | None = None  # see _launch
        # The step the run (or its resumed leg) goes on from, read before the run is told
        # to go: the trainer's own step, read in the state's handlers, could already be
        # the run's first report's (the Step button's bar read 0 of 11, not 1 of 12).
        self.leg_from = 0

    # ------------------------------------------------------------------ model values
    # Read-only views of the model, for widgets and tests; the model is their one home.
    dataset: Dataset = property(lambda self: self.model.dataset)  # type: ignore[assignment]
    task: Task = property(lambda self: self.model.task)  # type: ignore[assignment]
    spec: ModelSpec = property(lambda self: self.model.spec)  # type: ignore[assignment]
    config: TrainConfig = property(lambda self: self.model.config)  # type: ignore[assignment]
    data: TaskData = property(lambda self: self.model.data)  # type: ignore[assignment]
    snapshot = property(lambda self: self.model.snapshot)
    initial_params = property(lambda self: self.model.initial_params)
    trained_params = property(lambda self: self.model.trained_params)
    trainer = property(lambda self: self.model.trainer)
    history = property(lambda self: self.model.history)
    last_accuracy = property(lambda self: self.model.last_accuracy)
    engine_ready = property(lambda self: self.model.engine_ready)
    is_running = property(lambda self: self.model.is_running)
    slow_delay = property(lambda self: self.model.slow_delay)

    @property
    def state(self) -> str:
        return self.model.state.value

    @property
    def training_thread_alive(self) -> bool:
        """Is a training thread still running (tests, shutdown checks)?"""
        return self._train_runner.is_running()

    # ------------------------------------------------------------------ unsaved work
    def mark_saved(self) -> None:
        """The session was just saved (or opened from a file): nothing is lost yet."""
        self._saved_snapshot = self.model.snapshot

    def unsaved_progress(self) -> str:
        """What a new model would lose: "the model trained for 1,240 steps (validation
        accuracy 96.1 %)", or "" when nothing (untrained, or saved since).  Edits of
        the trained parameters count too (they make a new snapshot)."""
        model = self.model
        snap = model.snapshot
        if snap is None or not model.has_trained or _same_moment(snap, self._saved_snapshot):
            return ""
        text = f"the model trained for {snap.step:,} step{'s' if snap.step != 1 else ''}"
        acc = model.last_accuracy
        return text + (f" (validation accuracy {acc:.1%})" if acc is not None else "")

    # ------------------------------------------------------------------ start-up
    def load_engine_in_background(self) -> None:
        """Import the training engine off the GUI thread (torch only if the model needs
        it), and start the training process (so that the first Start trains at once).
        From here on a change to a model that needs torch loads it in the background
        too (:meth:`_load_torch`)."""
        from biasviz.core.train_loop import needs_torch

        process = self._training_process()
        data = self.model.data
        torch = needs_torch(self.model.spec)
        self.model.torch_in_background = True

        def work(_out: Outbox) -> None:
            _import_engine(torch)
            if process is not None:
                try:
                    process.preload(data)
                except BiasvizError:
                    self._process_broken = True  # training goes on in a thread

        self._engine_runner.start(work)
        self.model.show_preview()  # the model about to be trained, while torch loads

    def _preload_data(self, data: TaskData) -> None:
        """New task data: give it to a running training process in the background."""
        process = self._process
        if process is None or self._process_broken or not process.alive():
            return
        if self._preload_runner.is_running():
            self._preload_runner.stop()  # the send under way finishes first (≲ 0.1 s)

        def work(_out: Outbox) -> None:
            try:
                process.preload(data)
            except BiasvizError:
                pass  # the next run starts the child again, or reports why it cannot

        self._preload_runner.start(work)

    def start_training_process(self) -> int | None:
        """Start the training process now (the app does it in the background at
        start-up); its pid, or None when training runs in a thread."""
        process = self._training_process()
        if process is None:
            return None
        process.preload(self.model.data)
        return process.pid()

    def _training_process(self) -> Any:
        """The training process (its object: the child starts on first use), or None to
        train in a thread of this process (``BIASVIZ_TRAIN_PROCESS=0``)."""
        from biasviz.core import train_process

        if not train_process.wanted() or self._process_broken:
            return None
        if self._process is None:
            self._process = train_process.TrainingProcess()
        return self._process

    def load_engine_now(self) -> None:
        """Import the engine in this thread (tests, scripts)."""
        from biasviz.core.train_loop import needs_torch

        _import_engine(needs_torch(self.model.spec))
        self._on_engine_imported(0, None)

    def _load_torch(self) -> None:
        """A model that needs torch (the CNN) was chosen before torch was loaded: load it
        in the background; the model is previewed meanwhile, and a Start waits for it."""
        if self._engine_runner.is_running():
            return  # the import under way ends in _on_engine_imported all the same
        self.statusMessage.emit("Loading PyTorch for this model…")
        self._engine_runner.start(lambda _out: _import_engine(torch=True))

    def _on_engine_imported(self, _run_id: int, _result: object) -> None:
        if self.model.engine_ready:
            return
        self.model.attach_engine()
        if not self.model.engine_ready:  # a model that needs torch came meanwhile
            QTimer.singleShot(0, self._load_torch)
            return
        spec = self.model.spec
        chapter = spec == ModelSpec(seed=spec.seed) and self.model.task.classes == (3, 7)
        # (a model's description starts with its kind, capitalised: "Single neuron, …")
        what = ("the chapter's single neuron" if chapter
                else f"this model ({spec.describe()})")
        self.statusMessage.emit(f"Ready: press Start to train {what}")
        self._run_pending()

    def _on_engine_failed(self, _run_id: int, message: str, _details: str) -> None:
        self.errorOccurred.emit(
            "Training engine unavailable",
            f"PyTorch could not be loaded: {message}. Drawing and imported models still "
            "work; training does not.",
        )

    def _run_pending(self) -> None:
        if self._pending is not None and self.model.engine_ready:
            pending, self._pending = self._pending, None
            pending()

    # ------------------------------------------------------------------ settings
    def set_task(self, task: Task) -> bool:
        return self._guarded(lambda: self.model.set_task(task), "Cannot use this task")

    def set_spec(self, spec: ModelSpec) -> bool:
        return self._guarded(lambda: self.model.set_spec(spec), "Cannot use this model")

    def set_config(self, config: TrainConfig) -> None:
        self.model.set_config(config)

    def _guarded(self, change: Callable[[], bool], title: str) -> bool:
        try:
            return change()
        except BiasvizError as exc:
            self.errorOccurred.emit(title, str(exc))
            return False

    # ------------------------------------------------------------------ datasets
    def load_dataset(self, spec: str) -> None:
        """Load "sample", a torchvision name, or a folder, in the background."""
        if self.model.is_running:
            self.statusMessage.emit("Stop training before changing the dataset")
            return
        if self._loading_dataset:
            return
        if spec == "sample":
            self._adopt_dataset(load_sample())
            return
        self._loading_dataset = True
        self.datasetLoading.emit(spec)

        def work(out: Outbox) -> Any:
            from biasviz.core.datasets import load_dataset

            def progress(done: int, total: int | None) -> None:
                out.put((int(done), -1 if total is None else int(total)))

            try:
                return load_dataset(spec, progress=progress, cancel=lambda: out.stop_requested)
            except Exception as exc:  # noqa: BLE001 - reported to the user
                return exc

        self._data_runner.start(work, min_interval=0.1)

    def cancel_dataset_load(self) -> None:
        self._data_runner.request_stop()

    @property
    def loading_dataset(self) -> bool:
        return self._loading_dataset

    def _on_dataset_progress(self, _run_id: int, events: list, _state: object) -> None:
        if events:
            done, total = events[-1]
            self.downloadProgress.emit(done, total)

    def _on_dataset_failed(self, _run_id: int, message: str, _details: str) -> None:
        self._on_dataset_result(_run_id, RuntimeError(message))

    def _on_dataset_result(self, _run_id: int, result: object) -> None:
        self._loading_dataset = False
        if isinstance(result, Dataset):
            self._adopt_dataset(result)
            return
        self.datasetLoadFinished.emit(False)
        self._pending = None  # a Start queued for the new data is not wanted now
        if isinstance(result, DownloadCancelled):
            self.statusMessage.emit("Download cancelled; still using " + self.model.dataset.name)
        else:
            self.errorOccurred.emit("Could not load the dataset", str(result))

    def _adopt_dataset(self, dataset: Dataset) -> None:
        if self.model.is_running:  # cannot happen through the UI; never swap data under a run
            self.shutdown_training()
        ok = self._guarded(lambda: self.model.set_dataset(dataset), "Could not load the dataset")
        self.datasetLoadFinished.emit(ok)
        self._run_pending()
        if ok:
            self.statusMessage.emit(
                f"Loaded {dataset.name}: {len(dataset.train):,} training and "
                f"{len(dataset.valid):,} validation images"
            )

    # ------------------------------------------------------------------ training
    def start(self) -> None:
        """Start (or resume) training for the configured number of epochs."""
        state = self.model.state
        if state is RunState.PAUSED:
            self.resume()
            return
        if state is RunState.RUNNING:
            return
        if self._loading_dataset:
            self.statusMessage.emit(
                "A dataset is still loading: training starts on it when it is ready"
            )
            self._pending = self.start
            return
        if not self.model.engine_ready:
            self._pending = self.start
            from biasviz.core.train_loop import needs_torch

            self.statusMessage.emit(
                ("Loading PyTorch…" if needs_torch(self.model.spec)
                 else "Loading the training engine…") + " training starts in a moment")
            return
        if self.model.stand_in_data:
            self.errorOccurred.emit(
                "Training is off for this session",
                "The session was trained on data that is not on this machine: "
                f"{self.model.dataset_note} Load that dataset (Training panel › Dataset) "
                "to train on.",
            )
            return
        self._launch()

    def _launch(self, first_command: Callable[[Any], None] | None = None) -> None:
        from biasviz.core.train_loop import (
            EpochMetrics,
            Paused,
            StepMetrics,
            TrainingControl,
            TrainingEnded,
        )

        model = self.model
        model.scrub_to(None)
        # Where the run will end unless stopped (the plots span it from the start; set
        # before the state says "running").
        # The run goes first, then the views say so: the state's handlers take the GUI
        # thread ~9 ms (the chapter's whole run is 0.15 s), and updates from the run are
        # queued behind them anyway.
        model.prepare_training()
        # (an unfinished epoch, after a Stop or in a reopened session, is finished first;
        # a step's run pauses at once, and goes there when resumed)
        self.planned_end = model.run_end()
        trainer = model.trainer
        self.leg_from = trainer.step
        epochs = int(model.config.epochs)
        process = self._training_process() if trainer.engine == "numpy" else None
        control = process.control() if process is not None else TrainingControl()
        control.set_delay(model.slow_delay)
        if first_command is not None:
            first_command(control)
        self.trains_in_thread = process is None

        if process is not None:
            self._control = control
            model.set_param_sink(control.set_params)
            # The run goes to the child from here when that is quick (it holds the images,
            # the orders are drawn ahead): it trains while the window shows the start.
            from biasviz.core.train_process import TrainingProcessError

            # The last run's thread ends first (it hands back the orders its run did not
            # use: as before, when the new run's thread sent the run once it had ended).
            self._train_runner.cancel()
            feed = None
            if process.ready_for(trainer.data):
                try:
                    feed = process.begin(trainer, epochs, control, fresh_draws=False)
                except TrainingProcessError:
                    pass  # the child is gone: the thread starts a new one
            # This thread only relays the child's reports and draws batch orders.
            self._train_runner.start(
                self._process_work(process, trainer, epochs, control, feed),
                on_stop=control.stop)
            model.training_started(prepared=True)
            return

        recorder = TimelineRecorder(model)

        def work(out: Outbox) -> None:
            for event in trainer.run(epochs, control):
                # Steps go into the timeline (this thread is its one writer); a recorded
                # snapshot is also what the window gets if an update goes out now.
                state: Callable[[], Any] = trainer.snapshot
                if isinstance(event, StepMetrics):
                    snap = recorder.step(event, trainer, control.shows_this_batch())
                    if snap is not None:
                        state = lambda snap=snap: snap  # noqa: E731 - a constant, not logic
                elif isinstance(event, EpochMetrics):
                    model.record_epoch(event)
                # Steps and epochs pile up in the mailbox; a pause or the end goes out at
                # once.  The snapshot is taken only when an update is really sent.
                urgent = isinstance(event, Paused | TrainingEnded) or control.delay > 0
                out.put(event, urgent=urgent, state=state)
                if isinstance(event, StepMetrics) and out.stop_requested:
                    control.stop()

        self._control = control
        model.set_param_sink(lambda p: control.submit(lambda p=p: trainer.set_params(p)))
        # Updates at most 30 times a second (the training process reports at that rate):
        # each one is the GUI thread's turn with the GIL this thread trains with.
        self._train_runner.start(work, on_stop=control.stop, min_interval=1 / 30)
        model.training_started(prepared=True)

    def _prefetch_orders(self) -> None:
        """Between runs, draw the next run's batch orders (a quarter of a second after the
        last change, on this thread: ~12 ms for the chapter's 245): the thread that feeds
        the training process then hands them out at the start instead of drawing them
        there, holding the GIL the window needs to show the start."""
        model, trainer = self.model, self.model.trainer
        if (model.state is not RunState.READY or self._train_runner.is_running()
                or trainer is None or trainer.engine != "numpy" or not trainer.config.shuffle):
            return
        from biasviz.core.train_process import orders_ahead

        n = trainer.data.n_train
        # in slices of a few ms, a frame's time apart: 655 orders of the chapter's 800
        # images are ~0.1 s of draws in numpy (a missed-frame gap in one go)
        if not trainer.order.prefetch(min(int(trainer.config.epochs), orders_ahead(n)), n,
                                      budget=PREFETCH_SLICE_S):
            self._prefetch_timer.start(PREFETCH_NEXT_SLICE_MS)

    def _process_work(self, process: Any, trainer: Any, epochs: int, control: Any,
                      feed: Any = None) -> Callable[[Outbox], None]:
        """The runner's job for a run in the training process: relay its reports (the
        timeline is written here, in the runner's thread, its one writer)."""
        from biasviz.core.train_loop import EpochMetrics, Paused, StepMetrics, TrainingEnded

        model = self.model
        self._blas_hold_due = True  # at the run's first update: see _hold_one_blas_thread

        def work(out: Outbox) -> None:
            for report in process.run(trainer, epochs, control, feed):
                recorded = report.recorded
                for event in report.events:
                    if isinstance(event, StepMetrics):
                        snap = recorded.get(event.step)
                        if snap is not None:
                            model.record_step(event, snap)
                    elif isinstance(event, EpochMetrics):
                        model.record_epoch(event)
                # A report's last event is the only one that can be a pause or the end;
                # in slow motion every report is a step to see (held for the mailbox's
                # interval, it waited for the next step, a whole delay later, and the
                # window showed every second step)
                urgent = bool(report.events) and (
                    isinstance(report.events[-1], Paused | TrainingEnded) or control.delay > 0)
                state = (lambda snap=report.snapshot: snap) if report.snapshot else None
                out.put_all(report.events, urgent=urgent, state=state)
                if out.stop_requested and not control.stopped:
                    control.stop()

        return work

    def _hold_one_blas_thread(self) -> None:
        """While the training process runs, the window's numpy uses one BLAS thread: the
        child trains on one core, and OpenBLAS's second thread spun between the window's
        products (live decision scores, the diagnosis), ~20% of the child's core.  Taken
        here, in the GUI thread, once the child trains (not before the run is sent).
        (threadpoolctl ≥ 3.8 obeys only the first thread that set the count while it
        lives; engine_numpy's holds hand that right back around each change, so a
        lesson's QThread that held first no longer makes this one a no-op.)"""
        if self._blas_hold_due and self._blas_release is None:
            from biasviz.core.engine_numpy import hold_one_blas_thread

            self._blas_release = hold_one_blas_thread()
        self._blas_hold_due = False

    def _release_blas(self) -> None:
        self._blas_hold_due = False
        if self._blas_release is not None:
            self._blas_release()
            self._blas_release = None

    def _on_training_update(self, _run_id: int, events: list, snapshot: Snapshot | None) -> None:
        from biasviz.core.train_loop import EpochMetrics, Paused, StepMetrics, TrainingEnded

        if self._blas_hold_due:
            self._hold_one_blas_thread()

        steps = [e for e in events if isinstance(e, StepMetrics)]
        epochs = [e for e in events if isinstance(e, EpochMetrics)]
        self.model.training_update(steps, epochs, snapshot)
        last = next((e for e in reversed(events) if not isinstance(e, EpochMetrics)), None)
        if isinstance(last, Paused) and self._control is not None and self._control.paused:
            self.model.training_paused(None)
        for event in events:
            if isinstance(event, TrainingEnded):
                self.model.training_ended(event, None)

    def _on_training_thread_done(self, _run_id: int, _result: object) -> None:
        self._release_blas()
        self._control = None
        self.model.training_finished()

    def _on_training_failed(self, _run_id: int, message: str, details: str) -> None:
        self._release_blas()
        self._control = None
        if message.startswith("TrainingProcessStartError"):
            # No child process on this machine: the next runs train in a thread.
            self._process_broken = True
            message += "; the next Start trains in the window's own process"
        self.model.training_finished()
        if message.startswith(("TrainingProcessError: ", "TrainingProcessStartError: ")):
            # Our own message, for a learner: no type names, no traceback; what to do.
            text = message.split(": ", 1)[1]
            text = text[0].upper() + text[1:]
            step = self.model.trainer.step if self.model.trainer is not None else 0
            if not message.startswith("TrainingProcessStartError") and step:
                text += (f".\n\nNothing is lost: the model is as it was at step {step:,}. "
                         "Press Start to go on from there.")
            self.errorOccurred.emit("Training stopped", text)
            return
        last_line = details.strip().splitlines()[-1] if details.strip() else ""
        self.errorOccurred.emit("Training failed", f"{message}\n\n{last_line}")

    def pause(self) -> None:
        if self.model.state is RunState.RUNNING and self._control is not None:
            self._control.pause()

    def resume(self) -> None:
        if self._control is None:
            return
        if self.model.state is RunState.PAUSED:
            self._note_leg()
            self._control.resume()
            self.model.training_resumed()
        elif self.model.state is RunState.RUNNING:
            self._control.resume()  # a pause asked for and not landed yet is called off

    def _note_leg(self) -> None:
        trainer = self.model.trainer
        self.leg_from = trainer.step if trainer is not None else 0

    def toggle_pause(self) -> None:
        state = self.model.state
        if state is RunState.RUNNING:
            self.pause()
        elif state is RunState.PAUSED:
            self.resume()
        else:
            self.start()

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()

    def step_batches(self, n: int = 1) -> None:
        """Run ``n`` batches, then pause (starts training if idle)."""
        self._step(lambda c: c.step(n), lambda: self.step_batches(n))

    def step_epoch(self) -> None:
        """Run to the end of the current epoch (and its validation), then pause."""
        self._step(lambda c: c.step_epoch(), self.step_epoch)

    def _step(self, command: Callable[[Any], None], retry: Callable[[], None]) -> None:
        if not self.model.engine_ready:
            self._pending = retry
            return
        if self.model.state is RunState.PAUSED and self._control is not None:
            self._note_leg()
            command(self._control)
            self.model.training_resumed()
        elif self.model.state is RunState.READY:
            self._launch(command)

    def set_slow_motion(self, seconds_per_batch: float) -> None:
        self.model.slow_delay = max(0.0, float(seconds_per_batch))
        if self._control is not None:
            self._control.set_delay(self.model.slow_delay)

    def reset(self) -> None:
        """Re-initialize the model with the same seed; clears the history."""
        if self.model.is_running:
            self.shutdown_training()
        self.model.reset_model()

    def _on_ended(self, ended: Any) -> None:
        self.trainingEnded.emit(ended)
        if ended.reason.value == "diverged":
            self.errorOccurred.emit("Training diverged", ended.message)
            return
        acc = self.model.last_accuracy
        epoch = self.model.history.last_epoch
        # the last evaluated epoch's figure (a run stopped mid-epoch has moved on since)
        text = (f"; validation accuracy {acc:.1%} after epoch {epoch.epoch}"
                if acc and epoch is not None else "")
        trainer = self.model.trainer
        if ended.reason.value == "stopped" and trainer is not None:
            done, _losses, per_epoch = trainer.epoch_in_progress()
            if 0 < done < per_epoch:  # (kept: the next run finishes that epoch)
                text += (f". Epoch {trainer.epoch + 1} stopped after batch {done} of "
                         f"{per_epoch}: Start (or Finish epoch) goes on from there")
        self.runSummary.emit(f"Training {ended.message}{text}")

    def chance_accuracy(self) -> float:
        return self.model.chance_accuracy()

    def shutdown_training(self, timeout_ms: int = 10000) -> bool:
        """Stop the run and wait for its thread; True when it is gone.  What the run had
        left is delivered first, while it still describes the current model."""
        if not self._train_runner.is_running() and self._control is None:
            return True
        return self._train_runner.stop(timeout_ms)

    def shutdown(self) -> None:
        """Everything stops: called by the window's closeEvent and app.aboutToQuit."""
        self._pending = None
        self._preload_runner.cancel()
        self._data_runner.cancel()
        self._engine_runner.cancel()
        self.shutdown_training()
        if self._process is not None:
            self._process.close()

    # ------------------------------------------------------------------ edits
    def current_params(self) -> dict[str, np.ndarray]:
        return self.model.current_params()

    def effective_bias(self) -> float:
        return self.model.effective_bias()

    def set_bias(self, bias: float) -> bool:
        return self.model.set_bias(bias)

    def set_output_biases(self, biases: np.ndarray) -> bool:
        return self.model.set_output_biases(biases)

    def set_weights(self, weights: np.ndarray) -> bool:
        return self.model.set_weights(weights)

    def restore_trained(self, what: str = "all") -> bool:
        return self.model.restore_trained(what)

    def set_threshold(self, threshold: float) -> None:
        self.model.set_threshold(threshold)

    def decision(self) -> BinaryDecision | MulticlassDecision | None:
        return self.model.decision()

    def trained_output_biases(self) -> np.ndarray:
        return self.model.trained_output_biases()

    # ------------------------------------------------------------------ files
    def export(self, path: str) -> None:
        """Write the current parameters; raises ParamFileError with a clear message."""
        from biasviz.core.paramfiles import export_params

        export_params(path, self.model.model_file())

    def import_file(self, path: str) -> None:
        """Load parameters from a file into a model that fits them; raises on bad files
        without changing anything."""
        from biasviz.core.errors import ConfigError
        from biasviz.core.paramfiles import import_params

        if self.model.is_running:
            raise ConfigError("stop training before importing a model")
        if self._loading_dataset:
            raise ConfigError(
                "a dataset is still loading: wait for it (or cancel it), then import"
            )
        self.model.import_model_file(import_params(path), source=path)
