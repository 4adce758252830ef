"""Recipes: the chapter's for the single neuron, standard for the others; switching keeps
values changed by hand; the standard init is PyTorch's scheme, seeded; and every model
learns with its defaults (the figures the issue asks for)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from biasviz.core.datasets import Task, load_idx_folder, load_sample, make_task_data
from biasviz.core.models import build_model, fan_in, snapshot_params
from biasviz.core.recipes import (
    CHAPTER_RECIPE,
    CHAPTER_STEPS,
    RECIPE_FIELDS,
    apply_recipe,
    defaults_for,
    describe_state,
    epochs_for_steps,
    recipe_for,
)
from biasviz.core.spec import (
    BinaryLoss,
    InitKind,
    ModelKind,
    ModelSpec,
    Optimizer,
    TrainConfig,
)
from biasviz.core.training import EpochMetrics, Trainer, TrainingEnded

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)


# -- which recipe ------------------------------------------------------------------------
def test_the_single_neuron_keeps_the_chapters_recipe():
    r = recipe_for("single", True)
    assert r is CHAPTER_RECIPE and r.label == "the chapter's recipe"
    assert dict(r.spec_fields) == {"init": InitKind.RANDOM, "init_std": 1.0}
    assert r.config_fields["lr"] == 1.0 and r.config_fields["batch_size"] == 256
    assert r.config_fields["optimizer"] is Optimizer.SGD
    assert r.config_fields["loss"] is BinaryLoss.MNIST
    # the app's own defaults are the chapter's
    assert r.matches(ModelSpec(), TrainConfig())


@pytest.mark.parametrize("kind", ["linear", "mlp", "cnn"])
def test_other_models_get_the_standard_recipe(kind):
    ten = recipe_for(kind, False)
    assert ten.name == "standard" and ten.spec_fields["init"] is InitKind.STANDARD
    assert "loss" not in ten.config_fields  # ten classes always use cross-entropy
    assert "fan" in ten.tooltip or "inputs" in ten.tooltip
    if kind != "linear":
        two = recipe_for(kind, True)
        assert two.config_fields["loss"] is BinaryLoss.BCE


def test_differences_name_the_fields_changed_and_ignore_std_without_random_start():
    r = recipe_for(ModelKind.MLP, False)
    spec, config = r.apply(ModelSpec(kind="mlp", n_outputs=10), TrainConfig())
    assert r.matches(spec, config)
    assert describe_state(spec, config) == "recipe: standard"
    spec2 = ModelSpec(**{**spec.to_dict(), "init_std": 3.0})  # meaningless for standard
    assert r.matches(spec2, config)
    config2 = TrainConfig(**{**config.to_dict(), "lr": 0.5, "batch_size": 64})
    assert r.differences(spec, config2) == ["lr", "batch_size"]
    assert describe_state(spec, config2) == "recipe: standard, changed: learning rate, batch size"


def test_switching_model_switches_recipe_but_keeps_hand_made_changes():
    chapter_spec, chapter_config = ModelSpec(), TrainConfig(epochs=5, lr=0.5)
    mlp = ModelSpec(kind="mlp", hidden=16, seed=3)
    r = recipe_for("mlp", True)
    spec, config = apply_recipe(mlp, chapter_config, r, user_changed={"lr", "epochs"})
    assert spec.init is InitKind.STANDARD and spec.hidden == 16 and spec.seed == 3
    assert config.lr == 0.5 and config.epochs == 5  # the learner's values stay
    assert config.batch_size == 32 and config.loss is BinaryLoss.BCE
    assert r.differences(spec, config) == ["lr", "epochs"]
    # and back to the single neuron: the chapter's values return, lr still the learner's
    spec3, config3 = apply_recipe(chapter_spec, config, CHAPTER_RECIPE, {"lr"})
    assert (spec3.init, spec3.init_std) == (InitKind.RANDOM, 1.0)
    assert config3.batch_size == 256 and config3.loss is BinaryLoss.MNIST and config3.lr == 0.5
    # nothing changed by hand: the whole recipe
    spec4, config4 = apply_recipe(mlp, chapter_config, r)
    assert r.matches(spec4, config4)


def test_recipe_fields_are_real_fields():
    spec_fields, config_fields = ModelSpec.__dataclass_fields__, TrainConfig.__dataclass_fields__
    assert all(f in spec_fields or f in config_fields for f in RECIPE_FIELDS)


def test_defaults_for_and_the_chapters_length():
    spec, config = defaults_for("cnn", 10, channels=4)
    assert spec.kind is ModelKind.CNN and spec.channels == 4 and spec.init is InitKind.STANDARD
    assert config.lr == pytest.approx(0.1) and config.batch_size == 32
    # 800 threes and sevens in batches of 256: 4 steps an epoch, 245 epochs = 980 steps
    assert epochs_for_steps(CHAPTER_STEPS, 800, 256) == 245
    assert epochs_for_steps(CHAPTER_STEPS, 12396, 256) == 20  # the chapter's own 20


# -- the standard init ---------------------------------------------------------------------
def test_standard_init_is_pytorch_default_scheme_and_seeded():
    spec = ModelSpec(kind="cnn", n_outputs=10, init="standard", seed=7)
    model = build_model(spec)
    shapes = spec.param_shapes()
    params = snapshot_params(model)
    assert fan_in("conv.weights", shapes) == 25 and fan_in("conv.biases", shapes) == 25
    assert fan_in("output.biases", shapes) == shapes["output.weights"][1]
    for name, value in params.items():
        bound = 1.0 / np.sqrt(fan_in(name, shapes))
        assert np.all(np.abs(value) <= bound), name
        if value.size > 100:  # uniform(-b, b): std b/√3
            assert np.std(value) == pytest.approx(bound / np.sqrt(3), rel=0.1), name
    # same bounds as torch's own nn.Linear / nn.Conv2d defaults
    conv = torch.nn.Conv2d(1, 8, 5)
    assert float(conv.weight.detach().abs().max()) <= 0.2 + 1e-6
    again = snapshot_params(build_model(spec))
    other = snapshot_params(build_model(ModelSpec(kind="cnn", n_outputs=10, init="standard",
                                                  seed=8)))
    for name in params:
        np.testing.assert_array_equal(params[name], again[name])
        assert not np.array_equal(params[name], other[name])


def test_single_neuron_standard_init_and_old_files_still_load():
    params = snapshot_params(build_model(ModelSpec(init="standard")))
    assert np.all(np.abs(params["weights"]) <= 1 / 28) and abs(params["bias"][0]) <= 1 / 28
    old = {"kind": "mlp", "bias_mode": "scalar", "n_outputs": 10, "hidden": 8,
           "init": "random", "init_std": 1.0, "seed": 0}
    assert ModelSpec.from_dict(old).init is InitKind.RANDOM
    assert ModelSpec.from_dict({**old, "init": "standard"}).init is InitKind.STANDARD
    assert ModelSpec.from_dict({"kind": "single"}) == ModelSpec()


# -- every model learns with its defaults -----------------------------------------------------
def _train(data, kind, epochs=None):
    spec, config = defaults_for(kind, data.task.n_outputs)
    trainer = Trainer(spec, data, config)
    accuracy = None
    for event in trainer.run(epochs):
        if isinstance(event, EpochMetrics):
            accuracy = event.valid_accuracy
        if isinstance(event, TrainingEnded):
            assert event.reason.value == "finished", event.message
    return accuracy


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture
def one_torch_thread():
    """Train on one thread: on a busy 2-core machine torch's second thread makes a CNN
    run several times slower, not faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_single_neuron_at_the_chapters_980_steps_reaches_96_percent(sample):
    data = make_task_data(sample, Task.pair(3, 7))
    spec, config = defaults_for("single", 1)
    epochs = epochs_for_steps(CHAPTER_STEPS, data.n_train, config.batch_size)
    trainer = Trainer(spec, data, config)
    accuracy = [e.valid_accuracy for e in trainer.run(epochs) if isinstance(e, EpochMetrics)]
    assert trainer.step == CHAPTER_STEPS
    # measured: 96.0 % on the default seed (the chapter's own run: ~97 %)
    assert accuracy[-1] >= 0.96


@pytest.mark.slow
def test_ten_classes_on_the_sample_every_model_learns(sample, one_torch_thread):
    """Measured (seed 0, 20 epochs): linear 91.4 %, MLP 92.3 %, CNN 96.4 %; with the
    chapter's std-1 start they were 85.8 %, 69.6 % and 10.0 %."""
    data = make_task_data(sample, Task.all_ten())
    acc = {kind: _train(data, kind) for kind in ("linear", "mlp", "cnn")}
    assert acc["linear"] >= 0.88
    assert acc["mlp"] > acc["linear"]
    assert acc["cnn"] > acc["linear"]
    assert acc["cnn"] >= 0.85


@pytest.mark.slow
@needs_fashion
def test_one_epoch_of_full_fashion_mnist_every_model_learns(one_torch_thread):
    """Measured (seed 0, one epoch of 60,000 images): linear 81.8 %, MLP 83.3 %,
    CNN 86.2 %."""
    data = make_task_data(load_idx_folder(FASHION), Task.all_ten())
    acc = {kind: _train(data, kind, epochs=1) for kind in ("linear", "mlp", "cnn")}
    assert acc["linear"] >= 0.78
    assert acc["mlp"] > acc["linear"]
    assert acc["cnn"] > acc["linear"]
    assert acc["cnn"] >= 0.83


# -- the CLI uses the same recipe as the app ---------------------------------------------------
@pytest.mark.parametrize("argv, kind, n_outputs", [
    (["--task", "3,7"], "single", 1),
    (["--task", "all"], "linear", 10),
    (["--task", "all", "--model", "cnn"], "cnn", 10),
    (["--task", "2,4", "--model", "mlp"], "mlp", 1),
])
def test_cli_train_defaults_are_the_recipe(argv, kind, n_outputs):
    from biasviz import cli
    from biasviz.core.datasets import Task

    ns = cli.build_parser().parse_args(["train", *argv])
    task = Task.parse(ns.task)
    assert (cli._build_spec(ns, task), cli._build_config(ns)) == defaults_for(kind, n_outputs)


def test_cli_options_override_the_recipe():
    from biasviz import cli
    from biasviz.core.datasets import Task

    ns = cli.build_parser().parse_args(
        ["train", "--task", "all", "--model", "mlp", "--init-std", "0.05", "--lr", "0.5"])
    spec, config = cli._build_spec(ns, Task.parse(ns.task)), cli._build_config(ns)
    assert (spec.init, spec.init_std) == (InitKind.RANDOM, 0.05)  # a std means random
    assert config.lr == 0.5 and config.batch_size == 32  # the rest stays the recipe's


# -- the tracker the app model uses --------------------------------------------------------------
def test_tracker_switches_recipe_and_remembers_hand_made_changes():
    from biasviz.core.recipes import RecipeTracker

    tracker = RecipeTracker()
    spec, config = ModelSpec(), TrainConfig()  # the chapter's
    # the learner sets lr 0.5 on the single neuron
    spec2, config2 = tracker.update(spec, config, spec, TrainConfig(lr=0.5))
    assert config2.lr == 0.5 and tracker.user_changed == {"lr"}
    assert tracker.label(spec2, config2) == "recipe: the chapter's recipe, changed: learning rate"
    # then picks the MLP: standard start and batch, the learner's lr
    mlp = ModelSpec(kind="mlp")
    spec3, config3 = tracker.update(spec2, config2, mlp, config2)
    assert spec3.init is InitKind.STANDARD and config3.batch_size == 32
    assert config3.loss is BinaryLoss.BCE and config3.lr == 0.5
    # sets lr to the standard recipe's own value: no longer "by hand"
    spec4, config4 = tracker.update(spec3, config3, spec3,
                                    TrainConfig(**{**config3.to_dict(), "lr": 0.1}))
    assert tracker.user_changed == set() and tracker.follows_recipe(spec4, config4)
    # a zero start by hand survives the way back to the single neuron
    zeros = ModelSpec(**{**spec4.to_dict(), "init": "zeros"})
    spec5, config5 = tracker.update(spec4, config4, zeros, config4)
    spec6, config6 = tracker.update(spec5, config5, ModelSpec(init="zeros"), config5)
    assert spec6.init is InitKind.ZEROS and config6.lr == 1.0 and config6.batch_size == 256
    assert not tracker.follows_recipe(spec6, config6)
    spec7, config7 = tracker.back_to_recipe(spec6, config6)
    assert CHAPTER_RECIPE.matches(spec7, config7) and tracker.user_changed == set()
