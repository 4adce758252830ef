"""The diagnosis names the true cause on runs that really have it, offers fixes that
really cure it, and raises no false alarm on the chapter's own 3 vs 7."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biasviz.core import diagnosis as dg
from biasviz.core.datasets import Task, load_sample, make_task_data, to_float
from biasviz.core.diagnosis import Diagnoser, Fix, diagnose
from biasviz.core.recipes import CHAPTER_STEPS, defaults_for, epochs_for_steps
from biasviz.core.saturation import Z_SATURATED
from biasviz.core.spec import BinaryLoss, InitKind, ModelSpec, TrainConfig
from tests.core.diagnosis_run import Run

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
OLD_ADVICE = "Try a smaller learning rate, or a random (not all-zero) start"


# (Run: tests/core/diagnosis_run.py)


def fixed(run, fix: Fix, epochs):
    spec, config = fix.apply(run.spec, run.config)
    return Run(spec, run.data, config).train(epochs)


def check_text(findings):
    for f in findings:
        assert OLD_ADVICE not in f.text()
        assert f.title and f.evidence and f.where
        assert "see the" in f.evidence  # says where to look
        # numbers as the rest of the app writes them: "10⁻⁵", "−0.3" (not "1e-05", "-0.3")
        for part in (f.title, f.evidence, *(fix.label for fix in f.fixes)):
            assert not re.search(r"\de[-+]?\d|(?<![\w)])-\d", part), part


@pytest.fixture(scope="module")
def sample():
    return load_sample()


# (fashion and one_torch_thread: tests/core/conftest.py)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- saturation --------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", [(2, 4), (1, 8)], ids=["pullover-coat", "trouser-bag"])
def test_fashion_pairs_with_the_chapters_recipe_are_diagnosed_as_saturated(fashion, pair):
    data = make_task_data(fashion, Task.pair(*pair))
    spec, config = defaults_for("single", 1)
    run = Run(spec, data, config).train(2)
    assert run.accuracy == pytest.approx(0.5, abs=0.01)  # the "exactly 50 %"
    findings = run.findings()
    check_text(findings)
    first = findings[0]
    assert first.code == dg.SATURATED
    assert first.value >= 0.45  # about half the images: wrong, and deep in a flat tail
    assert "%" in first.evidence and "histogram" in first.where
    # the histogram can shade where the images are flat
    assert first.z_limit == Z_SATURATED and first.saturated_ranges
    for lo, hi in first.saturated_ranges:
        assert abs(lo) >= Z_SATURATED - 1e-9 and abs(hi) >= Z_SATURATED - 1e-9 and hi > lo
    codes = [f.code for f in first.fixes]
    assert codes == ["init_std_small", "loss_bce", "init_standard"]
    assert all("lr" not in f.config_changes for f in first.fixes)  # not the lr's fault
    # every image gets one answer: reported, as a consequence with no fixes of its own
    one = next(f for f in findings if f.code == dg.ONE_CLASS)
    assert not one.fixes and data.class_names[0] in one.title
    # said plainly: how many are called it, and how many really are
    assert re.search(r"\d+% of .* are called “.+”, though only \d+% of them are", one.evidence)
    # the fixes cure it (measured after 5 epochs, Pullover vs Coat, the hard pair: std
    # 0.01 and standard ≈ 82 %, BCE ≈ 78 % and climbing to 82 % by epoch 20)
    for fix in first.fixes:
        cured = fixed(run, fix, 5)
        assert cured.accuracy > 0.7, fix.code
        assert not [f for f in cured.findings() if f.code == dg.SATURATED]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_false_alarm_on_the_chapters_3_vs_7_during_and_after_training(sample, seed):
    data = make_task_data(sample, Task.pair(3, 7))
    spec, config = defaults_for("single", 1, seed=seed)
    config = TrainConfig(**{**config.to_dict(), "seed": seed})
    run = Run(spec, data, config)
    assert run.findings() == []  # at the start
    alarms = []
    diagnoser = Diagnoser()
    run.train(epochs_for_steps(CHAPTER_STEPS, data.n_train, config.batch_size),
              on_epoch=lambda r: alarms.extend((r.trainer.step, f.code)
                                               for f in r.findings(diagnoser)))
    assert alarms == []
    assert run.findings() == [] and run.accuracy >= 0.95


def test_saturation_is_not_reported_for_cross_entropy(sample):
    """Cross-entropy's gradient stays ~1 on a confident mistake: no freeze to report."""
    data = make_task_data(sample, Task.pair(3, 7))
    x, y = to_float(data.valid_x), data.valid_y
    params = {"weights": np.full(784, 1.0, np.float32), "bias": np.zeros(1, np.float32)}
    mnist = diagnose(ModelSpec(), TrainConfig(), params, x, y)
    assert [f.code for f in mnist][:1] == [dg.SATURATED]  # all called "3", σ′ ≈ 0
    bce = diagnose(ModelSpec(), TrainConfig(loss="bce"), params, x, y)
    assert dg.SATURATED not in [f.code for f in bce]
    assert dg.ONE_CLASS in [f.code for f in bce]


# -- hidden layers --------------------------------------------------------------------------------
def test_a_huge_learning_rate_kills_the_relus_and_the_fix_is_a_smaller_one(sample):
    data = make_task_data(sample, Task.all_ten())
    spec, config = defaults_for("mlp", 10)
    config = TrainConfig(**{**config.to_dict(), "lr": 10.0})
    run = Run(spec, data, config).train(2)
    findings = run.findings()
    check_text(findings)
    codes = [f.code for f in findings]
    assert dg.DEAD_RELUS in codes
    dead = findings[codes.index(dg.DEAD_RELUS)]
    assert dead.value >= 0.9 and "of the 32 hidden neurons" in dead.evidence
    assert [f.code for f in dead.fixes] == ["smaller_lr"]
    lr_fix = dead.fixes[0]
    assert lr_fix.config_changes["lr"] <= 1.0 and lr_fix.restart
    if dg.DIVERGED in codes:  # the loss exploded on the way: the same cause, same fix
        assert findings[0].code == dg.DIVERGED and findings[0].fixes[0].code == "smaller_lr"
    cured = fixed(run, lr_fix, 2)
    assert cured.accuracy > 0.8 and cured.findings() == []


def test_a_start_far_too_large_blames_the_start_not_the_learning_rate(sample):
    """The issue's CNN: std 1.0 → 10 %; lr 0.1 or 0.01 do not help, a smaller start does."""
    data = make_task_data(sample, Task.all_ten())
    spec = ModelSpec(kind="cnn", n_outputs=10, init="random", init_std=1.0)
    run = Run(spec, data, TrainConfig(epochs=1, lr=1.0, batch_size=256)).train(1)
    findings = run.findings()
    check_text(findings)
    causes = [f for f in findings if f.is_cause]
    assert causes and all(fix.code == "init_standard" for f in causes for fix in f.fixes)
    assert dg.DEAD_RELUS in [f.code for f in causes]


def test_zeros_in_the_mlp_are_diagnosed_as_symmetry(sample):
    data = make_task_data(sample, Task.pair(3, 7))
    spec, config = defaults_for("mlp", 1, init="zeros")
    spec = ModelSpec(**{**spec.to_dict(), "init": "zeros"})
    run = Run(spec, data, config).train(3)
    findings = run.findings()
    check_text(findings)
    assert findings[0].code == dg.SYMMETRY
    assert "32 hidden neurons" in findings[0].title
    assert [f.code for f in findings[0].fixes] == ["init_standard"]
    assert dg.DEAD_RELUS not in [f.code for f in findings]  # one cause, not two
    assert all(fix.code != "smaller_lr" for f in findings for fix in f.fixes)
    cured = fixed(run, findings[0].fixes[0], 3)
    assert cured.accuracy > 0.9 and cured.findings() == []


# -- divergence, a flat loss --------------------------------------------------------------------------
def test_a_non_finite_loss_is_divergence_and_the_lr_is_the_cause(sample):
    data = make_task_data(sample, Task.pair(3, 7))
    config = TrainConfig(lr=1e38, loss="bce")
    run = Run(ModelSpec(), data, config).train(5)
    assert run.diverged
    findings = run.findings()
    check_text(findings)
    assert findings[0].code == dg.DIVERGED
    # a tenth, but no more than the recipe's own learning rate (the chapter's 1.0)
    assert findings[0].fixes[0].config_changes["lr"] == pytest.approx(1.0)


def test_exploding_loss_without_nan_is_divergence():
    spec, config = ModelSpec(), TrainConfig(lr=5.0)
    params = {"weights": np.zeros(784, np.float32), "bias": np.zeros(1, np.float32)}
    x = np.random.default_rng(0).random((50, 784), dtype=np.float32)
    y = np.arange(50) % 2
    losses = [0.7, 0.6, 0.7, 3.0, 40.0, 900.0]
    found = diagnose(spec, config, params, x, y, losses)
    assert found[0].code == dg.DIVERGED and "900" in found[0].evidence
    assert "step 6" in found[0].evidence
    calm = diagnose(spec, config, params, x, y, [0.7, 0.6, 0.5, 0.4])
    assert dg.DIVERGED not in [f.code for f in calm]
    # a thinned history (every 500th step kept): the evidence names the real step
    thinned = diagnose(spec, config, params, x, y, losses,
                       steps=[500, 1000, 1500, 2000, 2500, 3000])
    assert "step 3,000" in thinned[0].evidence


def test_a_flat_loss_names_the_steps_it_spans():
    spec, config = ModelSpec(), TrainConfig(lr=1e-6)
    params = {"weights": np.zeros(784, np.float32), "bias": np.zeros(1, np.float32)}
    x = np.random.default_rng(0).random((50, 784), dtype=np.float32)
    y = np.arange(50) % 2
    losses = [0.5] * 40
    plain = [f for f in diagnose(spec, config, params, x, y, losses) if f.code == dg.LOSS_FLAT]
    thinned = [f for f in diagnose(spec, config, params, x, y, losses,
                                   steps=np.arange(1, 41) * 100) if f.code == dg.LOSS_FLAT]
    assert plain and thinned
    span = int(plain[0].evidence.split("over the last ")[1].split(" steps")[0])
    assert f"over the last {span * 100 - 99:,} steps" in thinned[0].evidence


def test_a_tiny_learning_rate_leaves_the_loss_flat(sample):
    data = make_task_data(sample, Task.all_ten())
    spec, config = defaults_for("linear", 10)
    config = TrainConfig(**{**config.to_dict(), "lr": 1e-5})
    run = Run(spec, data, config).train(4)
    findings = run.findings()
    check_text(findings)
    # the cause, with its fix, then the symptom (which had the fix alone before)
    assert [f.code for f in findings] == [dg.TINY_STEPS, dg.LOSS_FLAT]
    assert "crawls" in findings[0].title and not findings[1].fixes
    fix = findings[0].fixes[0]
    assert fix.code == "larger_lr" and fix.config_changes["lr"] == pytest.approx(0.1)


# -- the machinery ------------------------------------------------------------------------------------
def test_the_diagnoser_caches_per_snapshot(sample):
    data = make_task_data(sample, Task.all_ten())
    spec, config = defaults_for("mlp", 10)
    run = Run(spec, data, config)
    d = Diagnoser()
    params = run.trainer.snapshot().params
    d.diagnose(spec, config, params, run.x, run.y)
    cached = d._forward
    d.diagnose(spec, config, params, run.x, run.y, [1.0] * 10)
    assert d._forward is cached
    d.diagnose(spec, config, run.trainer.snapshot().params, run.x, run.y)
    assert d._forward is not cached  # a new snapshot: a new forward pass
    # as the app calls it: a new slice of the same images each time
    params = run.trainer.snapshot().params
    d.diagnose(spec, config, params, data.valid_x[:500], data.valid_y[:500])
    cached = d._forward
    d.diagnose(spec, config, params, data.valid_x[:500], data.valid_y[:500])
    assert d._forward is cached
    d.diagnose(spec, config, params, data.valid_x[:400], data.valid_y[:400])
    assert d._forward is not cached  # other images


def test_fixes_apply_to_spec_and_config():
    fix = dg.fix_small_start()
    spec, config = fix.apply(ModelSpec(init="standard"), TrainConfig())
    assert (spec.init, spec.init_std) == (InitKind.RANDOM, 0.01) and fix.restart
    spec, config = dg.fix_bce().apply(ModelSpec(), TrainConfig())
    assert config.loss is BinaryLoss.BCE
    assert set(dg.fix_bce().fields) == {"loss"}
    assert dg.fix_recipe(ModelSpec(), TrainConfig()) is None  # already the chapter's
    back = dg.fix_recipe(ModelSpec(), TrainConfig(lr=0.3))
    assert back is not None and back.apply(ModelSpec(), TrainConfig(lr=0.3))[1].lr == 1.0


def test_diagnosis_does_not_import_torch_or_qt():
    code = ("import sys, biasviz.core.diagnosis, biasviz.core.recipes, "
            "biasviz.core.saturation; bad = [m for m in ('torch', 'PySide6', 'pyqtgraph') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_no_false_alarm_while_the_standard_recipe_trains(sample, kind):
    data = make_task_data(sample, Task.all_ten())
    spec, config = defaults_for(kind, 10)
    alarms: list = []
    diagnoser = Diagnoser()
    run = Run(spec, data, config).train(
        8, on_epoch=lambda r: alarms.extend(f.code for f in r.findings(diagnoser)))
    assert alarms == [] and run.accuracy > 0.85


def test_no_false_alarm_on_a_hard_pair_with_a_small_start(fashion):
    """Pullover vs Coat tops out near 85 % for one neuron: nothing to report."""
    data = make_task_data(fashion, Task.pair(2, 4))
    spec = ModelSpec(init="random", init_std=0.01)
    run = Run(spec, data, TrainConfig(loss="bce")).train(12)
    assert run.accuracy > 0.75
    assert run.findings() == []


def test_a_plateau_above_guessing_is_not_reported():
    """A loss that levels off while the model is well above guessing is the model's
    limit, not a failure; the same plateau at chance level is reported."""
    spec, config = ModelSpec(), TrainConfig(loss="bce")
    rng = np.random.default_rng(0)
    x = rng.random((100, 784), dtype=np.float32) * 0.01
    y = np.arange(100) % 2
    params = {"weights": rng.normal(0, 0.01, 784).astype(np.float32),
              "bias": np.zeros(1, np.float32)}
    losses = [0.69] * 5 + [0.45] * 200
    plateau = diagnose(spec, config, params, x, y, losses, accuracies=[0.84, 0.85])
    assert dg.LOSS_FLAT not in [f.code for f in plateau]
    stuck = diagnose(spec, config, params, x, y, losses, accuracies=[0.5, 0.52])
    assert dg.LOSS_FLAT in [f.code for f in stuck]


@pytest.mark.parametrize("kind", ["single", "mlp"])
def test_the_diagnosis_takes_the_stored_uint8_images_as_well_as_floats(sample, kind):
    # The window can pass the stored images: no float copy of the validation set is kept.
    task = Task.pair(3, 7) if kind == "single" else Task.all_ten()
    data = make_task_data(sample, task)
    spec, config = defaults_for(kind, task.n_outputs)
    run = Run(spec, data, config).train(1)
    params = run.trainer.snapshot().params
    from_float = Diagnoser()._forward_for(spec, params, run.x)
    from_uint8 = Diagnoser()._forward_for(spec, params, data.valid_x[:2000])
    np.testing.assert_array_equal(from_uint8.logits, from_float.logits)
    assert (from_uint8.dead_share, from_uint8.n_images) == (from_float.dead_share,
                                                            from_float.n_images)
    assert ([f.title for f in run.findings()] == [f.title for f in Diagnoser().diagnose(
        spec, config, params, data.valid_x[:2000], run.y, run.losses, run.accuracies,
        run.diverged, data.target_names())])


@pytest.mark.parametrize("lr", [100.0, 1e-6])
def test_a_saturated_neuron_at_a_far_off_learning_rate_names_the_learning_rate(fashion, lr):
    """Saturated at learning rate 100 (huge steps threw w·x into the tails) or 1e-6 (tiny
    steps on top of a ~0 slope): the evidence says so and the first fix is the learning
    rate; it never claims that no learning rate helps (from the same start, Shirt vs
    T-shirt reaches 81 % at lr 1 and 84 % at lr 10)."""
    from dataclasses import replace

    data = make_task_data(fashion, Task.pair(6, 0))
    spec, config = defaults_for("single", 1)
    run = Run(spec, data, replace(config, lr=lr)).train(2)
    findings = run.findings()
    check_text(findings)
    saturated = next(f for f in findings if f.code == dg.SATURATED)
    assert "No learning rate helps" not in saturated.evidence
    assert f"Learning rate {dg._num(lr)}" in saturated.evidence or \
        f"learning rate {dg._num(lr)}" in saturated.evidence
    first = saturated.fixes[0]
    if lr > 1:
        assert first.config_changes["lr"] <= 1.0 and first.restart
    else:
        # the recipe's lr; from this std-1 start (typical |w·x| past what lr 1 is known
        # to survive on Fashion pairs: going on froze Pullover vs Coat again, 2 of 2
        # seeds) a small start at it, the same fix once (not twice in other words)
        assert first.config_changes["lr"] == 1.0
        assert first.code == "larger_lr_small_start" and first.restart
        assert [f.code for f in saturated.fixes].count("init_std_small") == 0
    cured = fixed(run, first, 3)
    assert cured.accuracy > 0.7
