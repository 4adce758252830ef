"""The app model without a display: the rules the window relies on."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from biasviz.core.app_model import (
    AppModel,
    RunState,
    restored,
    spec_for_task,
    task_for_import,
    with_single_bias,
)
from biasviz.core.datasets import Task
from biasviz.core.errors import ConfigError
from biasviz.core.recipes import STANDARD_LR
from biasviz.core.spec import BiasMode, InitKind, ModelKind, ModelSpec, TrainConfig


class Recorder:
    def __init__(self, model: AppModel, *names: str) -> None:
        self.calls: list[tuple[str, object]] = []
        for name in names:
            model.events.connect(name, lambda *a, n=name: self.calls.append((n, a[0] if a else None)))

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


@pytest.fixture
def model() -> AppModel:
    m = AppModel()
    m.attach_engine()
    return m


def test_starts_loading_then_ready_with_the_chapter_model():
    m = AppModel()
    assert m.state is RunState.LOADING and m.snapshot is None and not m.engine_ready
    rec = Recorder(m, "model", "state")
    m.attach_engine()
    assert m.state is RunState.READY
    assert rec.names() == ["model", "state"]
    assert m.spec == ModelSpec() and m.task == Task.pair(3, 7)
    np.testing.assert_array_equal(m.snapshot.params["weights"], m.initial_params["weights"])
    assert not m.has_trained


def test_spec_for_task_keeps_what_fits_and_switches_what_does_not():
    single = ModelSpec()
    assert spec_for_task(single, Task.pair(1, 2)) is single
    ten = spec_for_task(single, Task.all_ten())
    assert ten.kind is ModelKind.LINEAR and ten.n_outputs == 10
    mlp = ModelSpec(kind=ModelKind.MLP, n_outputs=10, hidden=16)
    back = spec_for_task(mlp, Task.pair(3, 7))
    assert back.kind is ModelKind.MLP and back.n_outputs == 1 and back.hidden == 16
    assert spec_for_task(ModelSpec(kind="linear", n_outputs=10), Task.pair(3, 7)).kind \
        is ModelKind.SINGLE


def test_set_task_rebuilds_the_model_and_announces_it(model):
    rec = Recorder(model, "data", "model", "settings")
    assert model.set_task(Task.all_ten())
    assert rec.names() == ["data", "model", "settings"]
    assert model.spec.kind is ModelKind.LINEAR
    assert model.snapshot.params["weights"].shape == (10, 784)
    assert model.data.task == Task.all_ten()


def test_settings_refused_while_running(model):
    statuses = Recorder(model, "status")
    model.set_state(RunState.RUNNING)
    assert not model.set_task(Task.all_ten())
    assert not model.set_spec(ModelSpec(bias_mode=BiasMode.NONE))
    assert "Stop training" in statuses.calls[-1][1]
    assert model.task == Task.pair(3, 7)


def test_bias_edit_has_one_home_and_restore_undoes_it(model):
    trained = model.effective_bias()
    rec = Recorder(model, "params")
    assert model.set_bias(trained + 1.5)
    assert model.effective_bias() == pytest.approx(trained + 1.5, abs=1e-6)
    assert model.bias_overridden().tolist() == [True]
    assert rec.calls and rec.calls[-1][1] is model.snapshot
    # the engine got the edit too: training would go on from it
    assert float(model.trainer.snapshot().params["bias"][0]) == pytest.approx(trained + 1.5)
    assert model.restore_trained("bias")
    assert model.effective_bias() == pytest.approx(trained)
    assert model.bias_overridden().tolist() == [False]


def test_per_pixel_bias_edit_shifts_every_bias_equally(model):
    model.set_spec(ModelSpec(bias_mode=BiasMode.PER_PIXEL, init_std=0.1))
    before = model.snapshot.params["bias"].astype(np.float64)
    assert model.set_bias(2.0)
    after = model.snapshot.params["bias"].astype(np.float64)
    assert after.sum() == pytest.approx(2.0, abs=1e-3)
    shift = after - before
    np.testing.assert_allclose(shift, shift.mean(), atol=1e-5)
    assert model.effective_bias() == pytest.approx(2.0, abs=1e-3)


def test_with_single_bias_is_pure():
    spec = ModelSpec()
    params = {"weights": np.zeros(784, np.float32), "bias": np.array([0.5], np.float32)}
    out = with_single_bias(params, spec, -1.0)
    assert params["bias"][0] == 0.5 and out["bias"][0] == -1.0


def test_no_bias_neuron_refuses_bias_edits(model):
    model.set_spec(ModelSpec(bias_mode=BiasMode.NONE))
    assert not model.set_bias(1.0)
    ok, reason = model.bias_editable()
    assert not ok and "no bias" in reason
    # the threshold still moves its line: the reason must not say the line cannot move
    assert "threshold t" in reason and "must pass through" not in reason


def test_edits_refused_while_running_and_routed_while_paused(model):
    model.set_state(RunState.RUNNING)
    assert not model.set_bias(3.0)
    model.set_state(RunState.PAUSED)
    sunk = []
    model.set_param_sink(sunk.append)
    assert model.set_bias(3.0)
    assert len(sunk) == 1 and float(sunk[0]["bias"][0]) == 3.0


def test_painted_weights_and_restore_weights_keep_the_bias(model):
    model.set_bias(0.25)
    painted = np.full(784, 0.5, np.float32)
    assert model.set_weights(painted)
    np.testing.assert_array_equal(model.snapshot.params["weights"], painted)
    assert model.restore_trained("weights")
    np.testing.assert_array_equal(model.snapshot.params["weights"], model.trained_params["weights"])
    assert model.effective_bias() == pytest.approx(0.25)


def test_restored_picks_by_kind():
    current = {"weights": np.ones(3), "bias": np.ones(1)}
    trained = {"weights": np.zeros(3), "bias": np.zeros(1)}
    assert restored(current, trained, "bias")["weights"].sum() == 3
    assert restored(current, trained, "bias")["bias"].sum() == 0
    assert restored(current, trained, "weights")["bias"].sum() == 1
    assert sum(v.sum() for v in restored(current, trained, "all").values()) == 0


def test_output_bias_edits_for_ten_classes(model):
    model.set_task(Task.all_ten())
    new = np.arange(10, dtype=np.float32)
    assert model.set_output_biases(new)
    np.testing.assert_array_equal(model.output_biases(), new)
    assert model.bias_overridden().any()


def test_output_bias_edits_for_another_model_are_refused(model):
    """A panel not yet redrawn after the task changed sends ten biases to a two-class
    model (the soak test's random user found it): refused, nothing changes."""
    before = model.output_biases().copy()
    assert not model.set_output_biases(np.arange(10, dtype=np.float32))
    np.testing.assert_array_equal(model.output_biases(), before)
    model.set_task(Task.all_ten())
    before = model.output_biases().copy()
    assert not model.set_output_biases(np.array([1.0], np.float32))
    np.testing.assert_array_equal(model.output_biases(), before)


def test_training_updates_history_and_trained_params(model):
    from biasviz.core.training import EpochMetrics, StepMetrics

    trainer = model.trainer
    model.training_started()
    events = list(trainer.run(1))
    steps = [e for e in events if isinstance(e, StepMetrics)]
    epochs = [e for e in events if isinstance(e, EpochMetrics)]
    rec = Recorder(model, "history", "params")
    model.training_update(steps, epochs, trainer.snapshot())
    assert rec.names() == ["history", "params"]
    assert model.history.loss.total == len(steps) and model.history.n_epochs == 1
    assert model.last_accuracy == epochs[-1].valid_accuracy
    assert model.has_trained
    np.testing.assert_array_equal(model.trained_params["weights"],
                                  trainer.snapshot().params["weights"])
    model.training_finished()
    assert model.state is RunState.READY


def test_reset_restores_the_initial_parameters_and_clears_history(model):
    initial = model.initial_params["weights"].copy()
    model.training_started()
    for _ in model.trainer.run(1):
        pass
    model.training_update([], [], model.trainer.snapshot())
    model.training_finished()
    assert not np.array_equal(model.snapshot.params["weights"], initial)
    model.reset_model()
    np.testing.assert_array_equal(model.snapshot.params["weights"], initial)
    assert model.history.loss.total == 0 and model.trainer.step == 0


def test_threshold_is_part_of_the_model(model):
    rec = Recorder(model, "threshold")
    model.set_threshold(1.5)
    model.set_threshold(1.5)  # no change, no event
    model.set_threshold(float("nan"))  # ignored
    assert model.threshold == 1.5 and rec.calls == [("threshold", 1.5)]


def test_decision_is_cached_across_bias_edits(model):
    first = model.decision()
    model.set_bias(1.0)
    assert model.decision() is first
    model.set_weights(np.zeros(784, np.float32))
    assert model.decision() is not first


def test_task_for_import_uses_metadata_when_outputs_differ():
    ten = ModelSpec(kind=ModelKind.LINEAR, n_outputs=10)
    assert task_for_import(ten, Task.pair(3, 7), None) == Task.all_ten()
    single = ModelSpec()
    assert task_for_import(single, Task.pair(1, 2), {"task": "4,9"}) == Task.pair(1, 2)
    assert task_for_import(single, Task.all_ten(), {"task": "4,9"}) == Task.pair(4, 9)
    assert task_for_import(single, Task.all_ten(), {"task": "nonsense"}) == Task.pair(3, 7)
    assert task_for_import(single, Task.all_ten(), {"task": "all"}) == Task.pair(3, 7)


def test_import_adopts_spec_task_and_params(model):
    spec = ModelSpec(kind=ModelKind.LINEAR, n_outputs=10)
    params = {"weights": np.full((10, 784), 0.01, np.float32),
              "biases": np.arange(10, dtype=np.float32)}
    mf = SimpleNamespace(spec=spec, params=params, metadata={})
    rec = Recorder(model, "model", "settings", "status")
    model.import_model_file(mf, source="x.npz")
    assert model.task == Task.all_ten()
    assert (model.spec.kind, model.spec.n_outputs) == (ModelKind.LINEAR, 10)
    np.testing.assert_array_equal(model.snapshot.params["biases"], params["biases"])
    np.testing.assert_array_equal(model.trained_output_biases(), params["biases"])
    assert rec.names() == ["model", "settings", "status"]
    assert "x.npz" in rec.calls[-1][1]


def test_an_imported_model_of_another_kind_comes_with_its_recipe(model):
    # a notebook's MLP (its file says nothing of init or training) after the chapter's
    # neuron: the panel showed "random normal, std 1", lr 1 and batches of 256
    assert model.spec.kind is ModelKind.SINGLE and model.config.lr == 1.0
    spec = ModelSpec(kind=ModelKind.MLP, hidden=30)
    params = {name: np.zeros(shape, np.float32) for name, shape in spec.param_shapes().items()}
    model.import_model_file(SimpleNamespace(spec=spec, params=params, metadata={}))
    assert model.spec.kind is ModelKind.MLP and model.spec.hidden == 30
    assert model.follows_recipe(), model.recipe_label()  # "recipe: standard"
    assert model.spec.init is InitKind.STANDARD and model.config.lr == STANDARD_LR
    # a neuron imported over a neuron keeps the learner's own settings
    neuron = {"weights": np.ones(784, np.float32), "bias": np.zeros(1, np.float32)}
    model.import_model_file(SimpleNamespace(spec=ModelSpec(), params=neuron, metadata={}))
    assert model.config.lr == 1.0  # the chapter's recipe again
    model.request_settings(config=TrainConfig(lr=0.5))
    model.import_model_file(SimpleNamespace(spec=ModelSpec(), params=neuron, metadata={}))
    assert model.config.lr == 0.5


def test_import_refused_while_running_changes_nothing(model):
    model.set_state(RunState.RUNNING)
    before = model.spec
    mf = SimpleNamespace(spec=ModelSpec(kind="linear", n_outputs=10), params={}, metadata={})
    with pytest.raises(ConfigError):
        model.import_model_file(mf)
    assert model.spec == before


def test_config_reaches_the_idle_trainer(model):
    model.set_config(TrainConfig(lr=0.25, epochs=3))
    assert model.trainer.config.lr == 0.25
    model.set_state(RunState.RUNNING)
    model.set_config(TrainConfig(lr=0.5))
    assert model.trainer.config.lr == 0.25  # not under a running loop
    model.training_started()
    assert model.trainer.config.lr == 0.5


def test_chance_and_current_accuracy(model):
    assert model.chance_accuracy() == pytest.approx(0.5)
    acc = model.current_accuracy()
    assert 0.0 <= acc <= 1.0


def test_run_end_is_where_a_start_would_end(model):
    """Where a run begun now would end (the plots span it before it starts): the config's
    epochs, in batches of the config's size; after training, from where training stands;
    and what that run really does."""
    import math
    from dataclasses import replace

    model.set_config(replace(model.config, epochs=3, batch_size=100))
    per_epoch = math.ceil(model.data.n_train / 100)
    assert model.run_end() == (3 * per_epoch, 3)
    list(model.trainer.run())
    assert (model.trainer.step, model.trainer.epoch) == (3 * per_epoch, 3)
    model.set_config(replace(model.config, epochs=2, batch_size=300))
    per_epoch = math.ceil(model.data.n_train / 300)
    end = model.run_end()
    assert end == (model.trainer.step + 2 * per_epoch, 5)
    list(model.trainer.run())
    assert (model.trainer.step, model.trainer.epoch) == end


def test_the_diagnosis_judges_training_not_a_bias_typed_in_since(model):
    """A bias typed in after training is the learner's experiment (the decision view shows
    what it does): the diagnosis still judges the trained parameters, and finds nothing
    wrong with a good run, where the typed-in values themselves look saturated."""
    from biasviz.core import diagnosis as dg
    from biasviz.core.training import EpochMetrics, StepMetrics

    model.training_started()
    events = list(model.trainer.run(30))
    model.training_update([e for e in events if isinstance(e, StepMetrics)],
                          [e for e in events if isinstance(e, EpochMetrics)],
                          model.trainer.snapshot())
    model.training_finished()
    assert model.last_accuracy > 0.9 and model.findings() == []
    assert model.set_bias(50.0)
    edited = model.snapshot.params
    as_edited = dg.diagnose(model.spec, model.config, edited, model.data.valid_x[:2000],
                            model.data.valid_y[:2000], losses=model.history.loss.y,
                            accuracies=model.history.accuracy.y)
    assert dg.SATURATED in [f.code for f in as_edited]  # what the notice said before
    assert model.findings() == []


def test_the_two_learning_rate_fixes_say_whether_they_restart(model):
    """"Restart with learning rate …" starts again; "Go on with learning rate …" keeps the
    weights: their labels and the status after them say which (both were "Learning rate
    1", and both said "Press Start to train again")."""
    from biasviz.core.diagnosis import fix_larger_lr, fix_learning_rate

    said = Recorder(model, "status")
    model.training_started()
    for _ in model.trainer.run(1):
        pass
    model.training_update([], [], model.trainer.snapshot())
    model.training_finished()
    step = model.snapshot.step
    go_on = fix_larger_lr(1.0)
    assert go_on.label == "Go on with learning rate 1"
    assert model.apply_fix(go_on)
    assert model.snapshot.step == step and model.config.lr == 1.0
    assert "go on from the current weights" in said.calls[-1][1]
    again = fix_learning_rate(0.1, "smaller steps")
    assert again.label == "Restart with learning rate 0.1"
    assert model.apply_fix(again)
    assert model.snapshot.step == 0 and model.config.lr == 0.1
    assert "from the start" in said.calls[-1][1]


def test_a_model_that_needs_torch_waits_for_it_and_the_others_do_not(monkeypatch):
    """The window runs without torch: choosing the CNN before torch is loaded previews it
    and asks for the engine ("engine") instead of importing torch on the GUI thread; a
    model the numpy engine trains is back at once; the CNN gets its trainer once torch is
    there."""
    from biasviz.core import train_loop

    m = AppModel()
    m.torch_in_background = True
    m.attach_engine()
    assert m.trainer.engine == "numpy" and m.state is RunState.READY
    monkeypatch.setattr(train_loop, "torch_loaded", lambda: False)
    rec = Recorder(m, "engine", "model", "state")
    cnn = ModelSpec(kind=ModelKind.CNN, channels=4, kernel=3, n_outputs=1)
    assert m.set_spec(cnn)
    assert m.trainer is None and m.state is RunState.LOADING and not m.engine_ready
    assert m.snapshot.spec == cnn  # previewed: its first parameters, computed in numpy
    assert rec.names() == ["state", "model", "engine"]
    assert not m.bias_editable()[0]
    assert m.set_spec(ModelSpec())  # back to the chapter's neuron: no torch needed
    assert m.trainer.engine == "numpy" and m.state is RunState.READY
    assert m.set_spec(cnn)
    monkeypatch.setattr(train_loop, "torch_loaded", lambda: True)
    m.attach_engine()  # what the window does once torch is imported
    assert m.trainer.engine == "torch" and m.state is RunState.READY
    assert m.trainer.spec == cnn
