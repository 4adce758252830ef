"""The app model: everything a biasviz session is, in one Qt-free object.

The dataset, the task, the model description and training settings, the current, trained
and initial parameters, the user's overrides (an edited bias, painted weights), the
threshold, the training history and the run state all live here, and only here.  They
change only through the methods below, and every change is announced to listeners
(:class:`Events`, a tiny evented-model in the spirit of napari's, without Qt).  Widgets
display what the model tells them and send commands; none keeps a copy of its own.

The model owns the training engine (``trainer``) once torch is loaded
(:meth:`AppModel.attach_engine`), but it never runs it: a runner (the GUI's, a test, a
script) iterates ``trainer.run`` and reports what happened with
:meth:`AppModel.training_update`, :meth:`AppModel.training_paused` and
:meth:`AppModel.training_ended`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any

import numpy as np

from biasviz.core.datasets import Dataset, Task, TaskData, load_sample, make_task_data
from biasviz.core.decisions import (
    BinaryDecision,
    MulticlassDecision,
    output_biases,
    output_scores,
)
from biasviz.core.diagnosis import Diagnoser, Finding, Fix
from biasviz.core.errors import BiasvizError, ConfigError
from biasviz.core.history import TrainingHistory
from biasviz.core.recipes import RecipeTracker, describe_state
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, Snapshot, TrainConfig
from biasviz.core.timeline import Timeline
from biasviz.core.torch_init import initial_params

Params = dict[str, np.ndarray]


class RunState(StrEnum):
    LOADING = "loading"  # the training engine (torch) is not imported yet
    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"


class Events:
    """Named callbacks: ``events.connect("params", fn)``; ``emit("params", snapshot)``.

    The model's events and what they carry:

    ========== ==========================================================================
    data       TaskData: the dataset or the task changed
    settings   None: dataset/task/spec/config changed (e.g. by an import)
    config     TrainConfig: the training settings changed
    model      Snapshot: a new model (structure, initialization, import, reset)
    params     Snapshot: new parameter values (training, an edit)
    history    TrainingHistory: steps or epochs were added
    threshold  float: the decision threshold t changed
    scrub      int | None: the recorded moment on show (None: the present)
    state      RunState
    status     str: a short message for the status bar
    ended      TrainingEnded
    ========== ==========================================================================
    """

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[..., Any]]] = defaultdict(list)

    def connect(self, name: str, callback: Callable[..., Any]) -> None:
        self._callbacks[name].append(callback)

    def disconnect(self, name: str, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks.get(name, []):
            self._callbacks[name].remove(callback)

    def emit(self, name: str, *args: Any) -> None:
        for callback in list(self._callbacks.get(name, ())):
            callback(*args)


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of a dataset's content (labels and a sample of pixels): a session
    notices when the folder it was trained on has changed."""
    import hashlib

    h = hashlib.sha256()
    for part in (dataset.train, dataset.valid):
        h.update(np.int64(len(part.labels)).tobytes())
        h.update(np.ascontiguousarray(part.labels).tobytes())
        h.update(np.ascontiguousarray(part.images[::97]).tobytes())
    return h.hexdigest()[:32]


def spec_for_task(spec: ModelSpec, task: Task) -> ModelSpec:
    """Keep the user's model if it fits the task; else the natural one for it."""
    if task.n_outputs == spec.n_outputs:
        return spec
    kind: ModelKind
    if task.is_binary:
        kind = ModelKind.SINGLE if spec.kind is ModelKind.LINEAR else spec.kind
    else:
        kind = ModelKind.LINEAR if spec.kind is ModelKind.SINGLE else spec.kind
    return replace(spec, kind=kind, n_outputs=task.n_outputs)


def task_for_import(spec: ModelSpec, current: Task, metadata: Mapping[str, Any] | None) -> Task:
    """The task an imported model is for: the current one when the number of outputs
    fits, else the one its metadata names, else the natural default (3 vs 7, or ten)."""
    if spec.n_outputs == current.n_outputs:
        return current
    meta_task = metadata.get("task") if metadata else None
    if isinstance(meta_task, str):
        try:
            parsed = Task.parse(meta_task)
            if parsed.n_outputs == spec.n_outputs:
                return parsed
        except BiasvizError:
            pass
    return Task.all_ten() if spec.n_outputs == 10 else Task.pair(3, 7)


def with_single_bias(params: Params, spec: ModelSpec, bias: float) -> Params:
    """The single neuron's parameters with its bias, as it acts on the logit, set to
    ``bias``.  Per-pixel biases all shift by the same amount so that Σbᵢ = ``bias``
    (their pattern, which the logit cannot see, is kept)."""
    out = {k: v.copy() for k, v in params.items()}
    if spec.bias_mode is BiasMode.SCALAR:
        out["bias"] = np.array([bias], dtype=np.float32)
    elif spec.bias_mode is BiasMode.PER_PIXEL:
        old = out["bias"].astype(np.float64)
        out["bias"] = (old + (bias - old.sum()) / old.size).astype(np.float32)
    return out


def output_bias_name(spec: ModelSpec) -> str | None:
    """The parameter holding the output layer's biases (None: a neuron without bias)."""
    if spec.kind is ModelKind.SINGLE:
        return None if spec.bias_mode is BiasMode.NONE else "bias"
    return "biases" if spec.kind is ModelKind.LINEAR else "output.biases"


def restored(current: Params, trained: Params, what: str) -> Params:
    """``current`` with the "bias", "weights" or "all" parameters taken from ``trained``."""
    out = {k: v.copy() for k, v in current.items()}
    for name, value in trained.items():
        is_bias = "bias" in name
        if what == "all" or (what == "bias" and is_bias) or (what == "weights" and not is_bias):
            out[name] = value.copy()
    return out


class AppModel:
    """The whole state of a session (see the module docstring)."""

    def __init__(self, dataset: Dataset | None = None, task: Task | None = None,
                 spec: ModelSpec | None = None, config: TrainConfig | None = None) -> None:
        self.events = Events()
        self.dataset: Dataset = dataset if dataset is not None else load_sample()
        self.task: Task = task or Task.pair(3, 7)
        self.spec: ModelSpec = spec or ModelSpec()
        self.config: TrainConfig = config or TrainConfig()
        self.data: TaskData = make_task_data(self.dataset, self.task)
        self.state = RunState.LOADING
        self.trainer: Any = None
        self.snapshot: Snapshot | None = None
        self.initial_params: Params | None = None
        self.trained_params: Params | None = None
        self.imported = False  # the current model came with its parameters (an import)
        self.threshold = 0.0
        self.history = TrainingHistory()
        self.timeline = Timeline()
        self.recipes = RecipeTracker()
        self.diagnoser = Diagnoser()
        self.diverged = False  # the last run ended on a non-finite loss
        self.scrub_step: int | None = None  # a recorded moment on show; None: the present
        self.dataset_note = ""  # what is missing when a session's data is not here
        self.stand_in_data = False  # the views show the sample instead of missing data
        self.slow_delay = 0.0
        self._decision_cache: tuple[int, Any] | None = None
        # Where parameter edits go: the trainer itself when idle; the session routes them
        # to the training thread while a run is paused (set_param_sink).
        self._param_sink: Callable[[Params], None] | None = None
        self._previewing = False  # show_preview was asked for: settings keep it current
        # The window loads torch in the background when a model needs it (the CNN): a
        # change to one then previews it and asks for the engine ("engine" event) instead
        # of importing torch (~2 s) on the GUI thread.  Scripts and the CLI import at once.
        self.torch_in_background = False
        self._pending_params: Params | None = None  # an import's, while torch loads
        self._engine_attached = False  # attach_engine was called: models get trainers

    # ------------------------------------------------------------------ state
    def set_state(self, state: RunState) -> None:
        state = RunState(state)
        if state is not self.state:
            self.state = state
            self.events.emit("state", state)

    @property
    def is_running(self) -> bool:
        return self.state in (RunState.RUNNING, RunState.PAUSED)

    @property
    def engine_ready(self) -> bool:
        return self.trainer is not None

    @property
    def has_trained(self) -> bool:
        """Has any training step been taken on the current model?"""
        return self.snapshot is not None and self.snapshot.step > 0

    @property
    def reference_word(self) -> str:
        """What the values an edit is compared with are: "trained", "imported" (a model
        that came with its parameters, not trained here yet) or "initial"."""
        if self.has_trained:
            return "trained"
        return "imported" if self.imported else "initial"

    def imported_start(self) -> Params | None:
        """The numbers the current model started from when they came from a file (an
        import, trained here since or not), else None (it started from its
        initialization): the exported code loads them instead of trusting the seed."""
        if not self.imported:
            return None
        first = self.timeline.first()
        if first is not None and first.step == 0:
            return {k: np.array(v) for k, v in first.params.items()}
        return {k: v.copy() for k, v in (self.trained_params or {}).items()} or None

    @property
    def last_accuracy(self) -> float | None:
        return self.history.last_accuracy

    def status(self, message: str) -> None:
        self.events.emit("status", message)

    # ------------------------------------------------------------------ engine
    def attach_engine(self) -> None:
        """Build the trainer (the CNN's imports torch: call it off the path to the first
        window); parameters a model was previewed with (an import) are kept."""
        self._engine_attached = True
        params, self._pending_params = self._pending_params, None
        if params is None and self.imported and self.snapshot is not None:
            params = self.snapshot.params
        self._new_model(params)
        if self.trainer is not None:
            self.set_state(RunState.READY)

    def show_preview(self) -> None:
        """Before the engine is ready: show the model about to be trained, its first
        parameters computed without torch (:mod:`biasviz.core.torch_init`), so that the
        window has its weights, histogram and accuracy while torch loads (2-4 s) instead
        of empty panels.  Nothing can be edited or trained until the engine is attached,
        which puts its own, equal, parameters in their place; a change of model or data
        meanwhile previews the new one."""
        self._previewing = True
        self._preview()

    def _preview(self, params: Params | None = None) -> None:
        if self.trainer is not None or self.state is not RunState.LOADING:
            return
        first = initial_params(self.spec)
        snap = Snapshot(self.spec, params if params is not None else first, 0, 0)
        self.imported = params is not None
        self.initial_params = first
        self.trained_params = {k: v.copy() for k, v in snap.params.items()}
        self.snapshot = snap
        self.history.clear()
        self.timeline.clear()
        self.scrub_step = None
        self._decision_cache = None
        self.events.emit("model", snap)

    def _new_model(self, params: Params | None = None) -> None:
        from biasviz.core.train_loop import make_trainer, needs_torch, torch_loaded

        if self.torch_in_background and needs_torch(self.spec) and not torch_loaded():
            self.trainer = None
            self.set_state(RunState.LOADING)
            self._previewing = True
            self._preview(params)
            self._pending_params = params
            self.events.emit("engine", self.spec)
            return
        self.trainer = make_trainer(self.spec, self.data, self.config)
        self._adopt_new_model(params)
        if self.state is RunState.LOADING and self._engine_attached:
            self.set_state(RunState.READY)  # back from a model that waited for torch

    def _adopt_new_model(self, params: Params | None = None) -> None:
        self.imported = params is not None
        snap = self.trainer.snapshot()
        self.initial_params = snap.params
        if params is not None:
            self.trainer.set_params(params)
            snap = self.trainer.snapshot()
        self.trained_params = {k: v.copy() for k, v in snap.params.items()}
        self.snapshot = snap
        self.history.clear()
        self.timeline.clear()
        self.timeline.record(snap.step, snap.epoch, snap.params)
        self.scrub_step = None
        self._decision_cache = None
        self.events.emit("model", snap)

    def reset_model(self) -> None:
        """Re-initialize with the same seed; clears the history.  The caller stops any
        run first."""
        if self.trainer is None:
            return
        self.trainer.reset()
        self._adopt_new_model()
        self.status("Model re-initialized (same seed)")

    # ------------------------------------------------------------------ settings
    def _check_idle(self, what: str) -> bool:
        if self.is_running:
            self.status(f"Stop training before changing {what}")
            return False
        return True

    def set_task(self, task: Task) -> bool:
        if not self._check_idle("the task"):
            return False
        return self._apply_settings(self.dataset, task, spec_for_task(self.spec, task))

    def set_spec(self, spec: ModelSpec) -> bool:
        if not self._check_idle("the model"):
            return False
        return self._apply_settings(self.dataset, self.task, spec)

    def set_dataset(self, dataset: Dataset) -> bool:
        """A new dataset: the task keeps its class indices; their names come from it."""
        if not self._check_idle("the dataset"):
            return False
        # A session opened on a stand-in keeps its weights when its real data arrives.
        keep = self.current_params() if self.stand_in_data and self.snapshot else None
        ok = self._apply_settings(dataset, self.task, self.spec, params=keep)
        if ok:
            self.stand_in_data, self.dataset_note = False, ""
        return ok

    def request_settings(self, task: Task | None = None, spec: ModelSpec | None = None,
                         config: TrainConfig | None = None) -> bool:
        """A change asked for by the learner (the training panel, a fix button).  Each
        model has its recipe (the chapter's for the single neuron, a standard one for
        the others): switching model or task switches to its recipe, except for the
        values the learner set by hand (:class:`~biasviz.core.recipes.RecipeTracker`)."""
        task = task or self.task
        spec = spec or self.spec
        if task != self.task:
            spec = spec_for_task(spec, task)
        config = config or self.config
        new_spec, new_config = self.recipes.update(self.spec, self.config, spec, config)
        structural = task != self.task or new_spec != self.spec
        if structural and not self._check_idle("the model"):
            return False
        if new_config != self.config:
            self.set_config(new_config)
        ok = True
        if structural:
            ok = self._apply_settings(self.dataset, task, new_spec)
        elif (new_spec, new_config) != (spec, config):
            self.events.emit("settings", None)
        return ok

    def back_to_recipe(self) -> bool:
        spec, config = self.recipes.back_to_recipe(self.spec, self.config)
        if spec != self.spec and not self._check_idle("the model"):
            return False
        self.set_config(config)
        if spec != self.spec:
            return self._apply_settings(self.dataset, self.task, spec)
        self.events.emit("settings", None)
        return True

    def recipe_label(self) -> str:
        return describe_state(self.spec, self.config)

    def follows_recipe(self) -> bool:
        return self.recipes.follows_recipe(self.spec, self.config)

    def set_config(self, config: TrainConfig) -> None:
        """lr, batch, epochs, optimizer... take effect at the next Start (or at once when
        idle: the trainer keeps its parameters)."""
        self.config = config
        if self.trainer is not None and not self.is_running:
            self.trainer.set_config(config)
        self.events.emit("config", config)

    def _apply_settings(self, dataset: Dataset, task: Task, spec: ModelSpec,
                        params: Params | None = None) -> bool:
        data = make_task_data(dataset, task)  # raises BiasvizError: nothing changed yet
        changed_data = data is not self.data
        self.dataset, self.task, self.spec, self.data = dataset, task, spec, data
        if changed_data:
            self.events.emit("data", data)
        if self.trainer is not None or self._engine_attached:
            self._new_model(params)
        elif self._previewing:
            self._preview(params)
        self.events.emit("settings", None)
        return True

    # ------------------------------------------------------------------ training reports
    def prepare_training(self) -> None:
        """The trainer takes the config; call before a run starts (then
        :meth:`training_started`)."""
        self.diverged = False
        if self.trainer is not None:
            self.trainer.set_config(self.config)

    def run_end(self) -> tuple[int, int] | None:
        """Where a run that Start begins now would end, if not stopped: (step, epoch).  It
        finishes an unfinished epoch first, then trains the config's epochs less that one;
        at an epoch's boundary the config's batch size sets the batches per epoch (the
        trainer takes the config when the run starts).  None without a trainer."""
        from biasviz.core.train_loop import batches_in_epoch  # (with the trainer: loaded)

        trainer = self.trainer
        if trainer is None:
            return None
        epochs = int(self.config.epochs)
        position, _losses, per_epoch = trainer.epoch_in_progress()
        if position == 0:
            per_epoch = batches_in_epoch(trainer.data.n_train, self.config.batch_size)
        return (trainer.step + per_epoch - position + (epochs - 1) * per_epoch,
                trainer.epoch + epochs)

    def training_started(self, prepared: bool = False) -> None:
        """The run is going (``prepared``: :meth:`prepare_training` was called for it)."""
        if not prepared:
            self.prepare_training()
        self.set_state(RunState.RUNNING)

    def training_update(self, steps: list, epochs: list, snapshot: Snapshot | None) -> None:
        """What a run did since the last report (called on the model's thread)."""
        if steps:
            self.history.add_steps(steps)
        if epochs:
            self.history.add_epochs(epochs)
        if steps or epochs:
            self.events.emit("history", self.history)
        if snapshot is not None:
            self._set_trained(snapshot)

    def _set_trained(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.trained_params = {k: v.copy() for k, v in snapshot.params.items()}
        self.events.emit("params", snapshot)

    def training_paused(self, snapshot: Snapshot | None) -> None:
        if snapshot is not None:
            self._set_trained(snapshot)
        self.set_state(RunState.PAUSED)

    def training_resumed(self) -> None:
        self.set_state(RunState.RUNNING)

    def training_ended(self, ended: Any, snapshot: Snapshot | None) -> None:
        if snapshot is not None:
            self._set_trained(snapshot)
        self.diverged = str(getattr(ended.reason, "value", ended.reason)) == "diverged"
        self.events.emit("ended", ended)

    def training_finished(self) -> None:
        """The run's thread is gone."""
        self._param_sink = None
        self.set_state(RunState.READY if self.trainer is not None else RunState.LOADING)

    def set_param_sink(self, sink: Callable[[Params], None] | None) -> None:
        """Where parameter edits go while a run is paused (the training thread)."""
        self._param_sink = sink

    # ------------------------------------------------------------------ edits
    def _apply_params(self, params: Params, what: str) -> bool:
        if self.trainer is None:
            return False
        if self.state is RunState.RUNNING:
            self.status(f"Pause training to edit the {what}")
            return False
        params = {k: np.asarray(v, dtype=np.float32).copy() for k, v in params.items()}
        if self.state is RunState.PAUSED and self._param_sink is not None:
            self._param_sink(params)
        else:
            self.trainer.set_params(params)
        step = self.snapshot.step if self.snapshot else 0
        epoch = self.snapshot.epoch if self.snapshot else 0
        self.snapshot = Snapshot(self.spec, params, step, epoch)
        self.events.emit("params", self.snapshot)
        return True

    def current_params(self) -> Params:
        return {k: v.copy() for k, v in self.snapshot.params.items()} if self.snapshot else {}

    def effective_bias(self) -> float:
        return float(output_biases(self.snapshot.params, self.spec)[0]) if self.snapshot else 0.0

    def trained_output_biases(self) -> np.ndarray:
        source = self.trained_params or (self.snapshot.params if self.snapshot else None)
        return output_biases(source, self.spec) if source else np.zeros(self.spec.n_outputs)

    def output_biases(self) -> np.ndarray:
        if self.snapshot is None:
            return np.zeros(self.spec.n_outputs)
        return output_biases(self.snapshot.params, self.spec)

    def bias_overridden(self, decimals: int = 3) -> np.ndarray:
        """Which output biases the user has moved away from their trained values."""
        tol = 0.5 * 10.0**-decimals
        return np.abs(self.output_biases() - self.trained_output_biases()) >= tol

    def bias_editable(self) -> tuple[bool, str]:
        """Can the user edit the bias now, and if not, why (in plain words)."""
        if self.state is RunState.RUNNING:
            return False, "Training is running: pause or stop it to edit the bias."
        if self.state is RunState.LOADING:
            return False, "Loading the training engine…"
        if self.scrub_step is not None:
            return False, "Showing a past moment of training: press Now to edit the bias."
        if self.spec.kind is ModelKind.SINGLE and self.spec.bias_mode is BiasMode.NONE:
            # (not "its line must pass through 0": the threshold t moves it all the same,
            # and a walk-through saw the line at t = 5 beside that sentence)
            return False, ("This neuron has no bias: training cannot move its line off "
                           "w·x = 0. Only the threshold t moves it, by hand: what a bias "
                           "would learn.")
        return True, ""

    def set_bias(self, bias: float) -> bool:
        """Set the single neuron's bias as it acts on the logit (per pixel: shift each bᵢ
        by the same amount so that Σbᵢ is the new value)."""
        if self.spec.kind is not ModelKind.SINGLE or self.spec.bias_mode is BiasMode.NONE:
            return False
        return self._apply_params(with_single_bias(self.current_params(), self.spec, bias),
                                  "bias")

    def set_output_biases(self, biases: np.ndarray) -> bool:
        key = output_bias_name(self.spec)
        if key is None or key not in (self.snapshot.params if self.snapshot else {}):
            return False
        biases = np.ravel(np.asarray(biases, dtype=np.float32))
        if biases.size != self.output_biases().size:
            # an edit made for another model (a panel not yet redrawn after the task or
            # the model changed, e.g. on a hidden tab): it does not apply to this one
            return False
        if self.spec.kind is ModelKind.SINGLE:
            return self.set_bias(float(biases[0]))
        params = self.current_params()
        params[key] = biases.reshape(params[key].shape)
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
        return self._apply_params(restored(self.current_params(), self.trained_params, what),
                                  what)

    def set_threshold(self, threshold: float) -> None:
        threshold = float(threshold)
        if not np.isfinite(threshold):
            return
        if threshold != self.threshold:
            self.threshold = threshold
            self.events.emit("threshold", threshold)

    # ------------------------------------------------------------------ decisions
    def decision(self) -> BinaryDecision | MulticlassDecision | None:
        """The cached pre-activations for the current weights (one matrix product per
        parameter change; bias edits reuse it)."""
        if self.snapshot is None:
            return None
        return self.decision_for(self.snapshot.params)

    #: While training, the live decision views use this many validation images at most
    #: (a fixed random subset): 10,000 images through an MLP every frame would cost the
    #: window its smoothness.  Paused or done, they use all of them.
    LIVE_IMAGES = 2000
    LIVE_IMAGES_CNN = 250

    def decision_for(self, params: Params, live: bool = False
                     ) -> BinaryDecision | MulticlassDecision:
        """The validation images' scores for ``params`` (cached: bias and threshold
        edits reuse them).  ``live``: on at most :attr:`LIVE_IMAGES` of them."""
        # Fingerprint everything that feeds the scores, i.e. all but the output bias:
        # bias and threshold edits then reuse the cached scores.
        out_bias = output_bias_name(self.spec)
        subset = self._live_subset() if live else None
        cache_key = hash(
            (id(self.data), self.spec, subset is not None)
            + tuple(params[k].tobytes() for k in sorted(params) if k != out_bias)
        )
        if self._decision_cache is not None and self._decision_cache[0] == cache_key:
            return self._decision_cache[1]
        # the stored uint8 images: scored a chunk at a time, no float copy of them all
        images, labels = self.data.valid_x, self.data.valid_y
        if subset is not None:
            images, labels = images[subset], labels[subset]
        scores = output_scores(params, self.spec, images)
        decision: Any
        if self.spec.n_outputs == 1:
            decision = BinaryDecision(scores, labels)
        else:
            decision = MulticlassDecision(scores, labels)
        self._decision_cache = (cache_key, decision)
        return decision

    def live_frames_sample(self) -> bool:
        """Do live frames score a sample of the validation images (there are more than
        :attr:`LIVE_IMAGES`, or :attr:`LIVE_IMAGES_CNN` for a CNN)?"""
        return self._live_subset() is not None

    def _live_subset(self) -> np.ndarray | None:
        n = len(self.data.valid_y)
        # the CNN's scores are convolutions in numpy (~0.25 ms an image, 200× the MLP's)
        wanted = self.LIVE_IMAGES_CNN if self.spec.kind is ModelKind.CNN else self.LIVE_IMAGES
        if n <= wanted:
            return None
        made_for = getattr(self, "_subset_for", None)
        if made_for is None or made_for[0] is not self.data or made_for[1] != wanted:
            rng = np.random.default_rng(0)
            self._subset = np.sort(rng.choice(n, wanted, replace=False))
            self._subset_for = (self.data, wanted)
        return self._subset

    def current_accuracy(self) -> float | None:
        decision = self.decision()
        if decision is None:
            return None
        if isinstance(decision, BinaryDecision):
            return decision.evaluate(self.effective_bias(), self.threshold).accuracy
        return decision.evaluate(self.output_biases()).accuracy

    def chance_accuracy(self) -> float:
        """Accuracy of always answering the most common validation class."""
        counts = np.bincount(self.data.valid_y)
        return float(counts.max() / counts.sum())

    # ------------------------------------------------------------------ diagnosis
    def findings(self, max_images: int = 2000) -> list[Finding]:
        """What is wrong with training now, with the evidence and the fixes that work
        (empty before training and when all is well).  Cheap to call on every frame:
        the forward pass is cached per snapshot."""
        if self.snapshot is None or (not self.has_trained and not self.diverged):
            return []
        # Training's parameters: a bias typed or weights painted since are the learner's
        # experiment, which the decision view shows, not a fault of training to diagnose
        # (b = 50 typed in brought up "stuck in the sigmoid's flat tails" and restarts).
        params = self.trained_params or self.snapshot.params
        return self.diagnoser.diagnose(
            self.spec, self.config, params, self.data.valid_x[:max_images],
            self.data.valid_y[:max_images], losses=self.history.loss.y,
            accuracies=self.history.accuracy.y, diverged=self.diverged,
            target_names=self.data.target_names(), steps=self.history.loss.x,
            n_total=len(self.data.valid_y),  # the evidence says when it judged a part
        )

    def apply_fix(self, fix: Fix) -> bool:
        """A fix button: its settings (counted as set by hand), and a fresh start when
        the fix needs one."""
        spec, config = fix.apply(self.spec, self.config)
        structural = spec != self.spec
        if not self.request_settings(spec=spec, config=config):
            return False
        restarted = fix.restart or structural
        if fix.restart and not structural:
            self.reset_model()
        self.diverged = False
        # the two learning-rate fixes differ in this only: say which one this was
        then = ("Press Start to train again from the start." if restarted or not self.has_trained
                else "Press Start to go on from the current weights.")
        self.status(f"Applied: {fix.label}. {then}")
        return True

    # ------------------------------------------------------------------ timeline
    def record_step(self, step_metrics: Any, snapshot: Snapshot) -> None:
        """Called from the training thread after each step (the timeline's one writer)."""
        self.timeline.record(step_metrics.step, step_metrics.epoch, snapshot.params,
                             step_metrics.loss, last_update=snapshot.last_update, copy=False)

    def record_epoch(self, epoch_metrics: Any) -> None:
        self.timeline.mark_epoch_end(epoch_metrics.step, epoch_metrics.valid_accuracy,
                                     epoch_metrics.valid_loss)

    def scrub_to(self, step: int | None) -> None:
        """Show the recorded moment nearest ``step`` in every view (None: the present)."""
        if step is not None and (self.state is RunState.RUNNING or len(self.timeline) == 0):
            return
        if step is not None:
            step = self.timeline.nearest(int(step)).step
            if self.snapshot is not None and step == self.snapshot.step:
                step = None  # the latest moment is the present
        if step != self.scrub_step:
            self.scrub_step = step
            self._decision_cache = None
            self.events.emit("scrub", step)

    def shown_snapshot(self) -> Snapshot | None:
        """What the views show: the present, or the moment scrubbed to."""
        if self.scrub_step is None or self.snapshot is None:
            return self.snapshot
        m = self.timeline.nearest(self.scrub_step)
        last = dict(m.last_update) if m.last_update is not None else None
        # A moment is recorded with its step's epoch (the one going on, as the progress
        # bar counts); a snapshot holds the epochs done, as the trainer's own do.
        done = m.epoch if m.epoch_end or m.step == 0 else max(0, m.epoch - 1)
        return Snapshot(self.spec, dict(m.params), m.step, done, last)

    def branch_from_scrub(self) -> int | None:
        """Make the moment on show the present: its parameters go back into the engine and
        the later history is dropped ("train from a past moment").  Returns the step."""
        if self.scrub_step is None or self.trainer is None or self.is_running:
            return None
        m = self.timeline.nearest(self.scrub_step)
        params = {k: np.array(v) for k, v in m.params.items()}
        self.trainer.set_params(params)
        self.trainer.rewind(m.step, m.epoch)
        self.timeline.truncate_after(m.step)
        self.history.truncate_after(m.step)
        self.snapshot = Snapshot(self.spec, params, m.step, m.epoch)
        self.trained_params = {k: v.copy() for k, v in params.items()}
        self.scrub_step = None
        self._decision_cache = None
        self.events.emit("scrub", None)
        self.events.emit("history", self.history)
        self.events.emit("params", self.snapshot)
        return m.step

    # ------------------------------------------------------------------ sessions
    def session_state(self, view: Mapping[str, Any] | None = None
                      ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Everything this session is, as (JSON-able meta, named arrays) for a session
        file (:mod:`biasviz.core.sessionfile`)."""
        if self.snapshot is None or self.trainer is None:
            raise ConfigError("there is no model to save yet")
        if self.state is RunState.RUNNING:
            raise ConfigError("pause or stop training before saving the session")
        ds = self.dataset
        meta: dict[str, Any] = {
            "dataset": {"key": ds.key, "name": ds.name, "source": ds.source,
                        "fingerprint": dataset_fingerprint(ds),
                        "class_names": list(ds.class_names)},
            "task": self.task.to_text() if self.task.is_binary or self.task.n_outputs != 10
            else "all",
            "spec": self.spec.to_dict(),
            "config": self.config.to_dict(),
            "threshold": self.threshold,
            # an import not trained here yet: its values are "imported", not "initial"
            "imported": bool(self.imported),
            "position": {"step": self.snapshot.step, "epoch": self.snapshot.epoch},
            "engine": self.trainer.position_state(),
            "view": dict(view or {}),
        }
        arrays: dict[str, np.ndarray] = {}
        for kind, params in (("current", self.snapshot.params),
                             ("trained", self.trained_params or self.snapshot.params),
                             ("initial", self.initial_params or self.snapshot.params)):
            for name, a in params.items():
                arrays[f"params/{kind}/{name}"] = np.asarray(a, dtype=np.float32)
        arrays["engine/order_state"] = self.trainer.order_state()
        # paused mid-epoch: the losses of its batches so far (the epoch's mean needs them)
        arrays["engine/epoch_losses"] = np.asarray(self.trainer.epoch_in_progress()[1],
                                                   dtype=np.float64)
        history_meta, history_arrays = self.history.to_arrays()
        meta["history"] = history_meta
        arrays.update({f"history/{k}": v for k, v in history_arrays.items()})
        tl_arrays, tl_meta = self.timeline.to_arrays()
        meta["timeline"] = tl_meta
        arrays.update({f"timeline/{k}": v for k, v in tl_arrays.items()})
        return meta, arrays

    def restore_session(self, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                        dataset: Dataset, note: str = "", stand_in: bool = False
                        ) -> dict[str, Any]:
        """Become the saved session (on ``dataset``, loaded by the caller from the
        session's reference).  Raises ParamFileError, changing nothing, when the file's
        content does not fit together.  Returns the saved view state."""
        from biasviz.core.errors import ParamFileError

        if self.is_running:
            raise ConfigError("stop training before opening a session")
        try:
            task = Task.parse(str(meta["task"]))
            spec = ModelSpec.from_dict(dict(meta["spec"]))
            config = TrainConfig(**dict(meta["config"]))
            params = {kind: {k.split("/", 2)[2]: np.asarray(v) for k, v in arrays.items()
                             if k.startswith(f"params/{kind}/")}
                      for kind in ("current", "trained", "initial")}
            from biasviz.core.spec import validate_params

            params = {kind: validate_params(p, spec) for kind, p in params.items()}
            threshold = float(meta.get("threshold", 0.0))
            position = dict(meta["position"])
            step, epoch = int(position["step"]), int(position["epoch"])
            history = TrainingHistory()
            history.restore(dict(meta["history"]),
                            {k[len("history/"):]: v for k, v in arrays.items()
                             if k.startswith("history/")})
            timeline = Timeline.from_arrays(
                {k[len("timeline/"):]: v for k, v in arrays.items() if k.startswith("timeline/")},
                dict(meta["timeline"]),
            )
            engine = dict(meta.get("engine") or {})
            view_meta = meta.get("view")
            view: dict[str, Any] = dict(view_meta) if isinstance(view_meta, dict) else {}
            order_state = arrays.get("engine/order_state")
            epoch_losses = arrays.get("engine/epoch_losses")
            data = make_task_data(dataset, task)
            if spec.n_outputs != task.n_outputs or step < 0 or epoch < 0:
                raise ConfigError("its model does not fit its task")
            if not np.isfinite(threshold):
                raise ConfigError("its threshold is not a number")
        except ParamFileError:
            raise
        except (BiasvizError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise ParamFileError(f"cannot open this session: {exc}") from None
        from biasviz.core.train_loop import make_trainer

        try:  # the engine too is built before anything changes
            trainer = make_trainer(spec, data, config)
            trainer.set_params(params["current"])
            trainer.restore_position(step, epoch, engine, order_state, epoch_losses)
        except (BiasvizError, KeyError, TypeError, ValueError) as exc:
            raise ParamFileError(f"cannot open this session: {exc}") from None
        # Everything checked: now change the model, all at once.
        self.dataset, self.task, self.spec, self.config, self.data = (
            dataset, task, spec, config, data)
        self.trainer = trainer
        self.initial_params = params["initial"]
        self.trained_params = params["trained"]
        self.snapshot = Snapshot(spec, params["current"], step, epoch)
        self.history = history
        self.timeline = timeline
        self.threshold = threshold
        self.imported = meta.get("imported") is True
        self.scrub_step = None
        self.dataset_note = note
        self.stand_in_data = stand_in
        self._decision_cache = None
        self.events.emit("data", data)
        self.events.emit("model", self.snapshot)
        self.events.emit("history", history)
        self.events.emit("threshold", threshold)
        self.events.emit("settings", None)
        if self.state is RunState.LOADING:
            self.set_state(RunState.READY)
        return view

    # ------------------------------------------------------------------ files
    def model_file(self) -> Any:
        """The current parameters as a ModelFile, ready to export."""
        from biasviz.core.paramfiles import model_file_from_snapshot

        if self.snapshot is None:
            raise ConfigError("there is no model to export yet")
        snap = Snapshot(self.spec, self.current_params(), self.snapshot.step, self.snapshot.epoch)
        return model_file_from_snapshot(snap, self.data, self.config, self.current_accuracy())

    def import_model_file(self, model_file: Any, source: str = "") -> None:
        """Adopt an imported model (a ModelFile): a model that fits it, the task it is
        for.  Raises BiasvizError without changing anything when that is impossible."""
        if self.is_running:
            raise ConfigError("stop training before importing a model")
        spec = model_file.spec
        task = task_for_import(spec, self.task, model_file.metadata)
        make_task_data(self.dataset, task)  # raises before anything changes
        if self.trainer is None:
            self.attach_engine()
        # Another kind of model comes with its recipe, as when the learner switches to it:
        # an MLP from a notebook showed the chapter's "random normal, std 1", lr 1 and
        # batches of 256 (the single neuron's) beside its PyTorch-initialised weights.
        spec, config = self.recipes.update(self.spec, self.config, spec, self.config)
        if config != self.config:
            self.set_config(config)
        self._apply_settings(self.dataset, task, spec, params=model_file.params)
        self.status(f"Imported {spec.describe()}" + (f" from {source}" if source else ""))
