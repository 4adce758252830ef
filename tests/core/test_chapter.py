"""The numbers behind the activation lesson (seed 001) and the chapter lesson: activations
and their trigger point, the threshold/bias equivalence, the pixel-similarity baseline,
mnist_loss in numpy, and why scaling one weight by 1.0001 moves the loss but not the
accuracy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from biasviz.core.chapter import (
    ACTIVATIONS,
    accuracy_loss_curve,
    accuracy_of,
    activation,
    baseline_linear,
    fires_bias,
    fires_threshold,
    influential_pixel,
    mean_images,
    midpoint,
    mnist_loss_np,
    nearest_mean_bias,
    per_class_accuracy,
    pixel_column,
    pixel_similarity_accuracy,
    pixel_similarity_predictions,
    scale_weight_effect,
    single_neuron_bias,
    slope_at_midpoint,
)
from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.errors import ConfigError
from biasviz.core.spec import ModelSpec
from biasviz.core.training import Trainer, mnist_loss

finite = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)


@pytest.fixture(scope="module")
def threes_sevens():
    return make_task_data(load_sample(), Task.pair(3, 7))


@pytest.fixture(scope="module")
def trained(threes_sevens):
    """A single neuron trained briefly with the chapter's settings."""
    trainer = Trainer(ModelSpec(), threes_sevens)
    list(trainer.run(30))
    return trainer.snapshot().params


# -- activations ------------------------------------------------------------------------
def test_activation_values():
    x = np.array([-2.0, 0.0, 1.0])
    w, b = 2.0, -1.0  # z = -5, -1, 1
    z = np.array([-5.0, -1.0, 1.0])
    np.testing.assert_allclose(activation("sigmoid", w, x, b), 1 / (1 + np.exp(-z)))
    np.testing.assert_array_equal(activation("step", w, x, b), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(activation("relu", w, x, b), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(activation("tanh", w, x, b), np.tanh(z))
    assert activation("sigmoid", 1.0, 1e4, 0.0) == pytest.approx(1.0)  # no overflow
    assert activation("sigmoid", 1.0, -1e4, 0.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="unknown activation"):
        activation("softplus", 1.0, x, 0.0)
    assert ACTIVATIONS == ("sigmoid", "step", "relu", "tanh")


def test_step_fires_at_zero():
    """w·x + b ≥ 0 fires: step(0) = 1, the same convention as the neuron's z ≥ 0."""
    assert activation("step", 2.0, 1.5, -3.0) == 1.0
    assert activation("step", 2.0, 1.4999, -3.0) == 0.0
    assert activation("step", 0.0, 5.0, 0.0) == 1.0


def test_midpoint_is_minus_b_over_w():
    assert midpoint(2.0, -3.0) == 1.5
    assert midpoint(-2.0, -3.0) == -1.5
    assert midpoint(0.5, 1.0) == -2.0
    assert midpoint(1.0, 0.0) == 0.0 and str(midpoint(-1.0, 0.0)) == "0.0"  # no "-0.0"
    assert midpoint(0.0, 3.0) is None
    # at the midpoint σ is one half, the step jumps, ReLU bends
    for w, b in ((2.0, -3.0), (-0.7, 2.1), (5.0, 10.0)):
        m = midpoint(w, b)
        assert activation("sigmoid", w, m, b) == pytest.approx(0.5)
        assert activation("tanh", w, m, b) == pytest.approx(0.0, abs=1e-12)


def test_w_zero_gives_a_constant_sigma_of_b():
    x = np.linspace(-6, 6, 13)
    out = activation("sigmoid", 0.0, x, -3.0)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(3.0)))


@pytest.mark.parametrize("w", [0.5, 1.0, 2.0, -3.0])
def test_slope_at_the_midpoint_is_proportional_to_w(w):
    b = 1.0
    m = midpoint(w, b)
    h = 1e-5
    numeric = (activation("sigmoid", w, m + h, b) - activation("sigmoid", w, m - h, b)) / (2 * h)
    assert numeric == pytest.approx(w / 4, rel=1e-6)
    assert slope_at_midpoint("sigmoid", w) == w / 4
    numeric_tanh = (activation("tanh", w, m + h, b) - activation("tanh", w, m - h, b)) / (2 * h)
    assert numeric_tanh == pytest.approx(slope_at_midpoint("tanh", w), rel=1e-6)


@given(w=finite, t=finite, x=st.lists(finite, min_size=1, max_size=30))
def test_threshold_and_bias_forms_fire_on_the_same_inputs(w, t, x):
    """w·x ≥ t  ⇔  w·x + b ≥ 0 with b = −t, exactly (also in floating point)."""
    x = np.array(x)
    np.testing.assert_array_equal(fires_threshold(w, x, t), fires_bias(w, x, -t))


# -- pixel similarity -------------------------------------------------------------------
def test_mean_images_are_the_class_averages(threes_sevens):
    first, second = mean_images(threes_sevens)
    assert first.shape == second.shape == (784,)
    assert 0.0 <= first.min() and first.max() <= 1.0
    threes = threes_sevens.train_x[threes_sevens.train_y == 1].astype(np.float64) / 255
    np.testing.assert_allclose(first, threes.mean(axis=0))
    # a 3 has ink in the middle-left where a 7 usually has none, and the 7's bar is on top
    assert first.sum() > 0 and second.sum() > 0
    assert not np.allclose(first, second)


def test_pixel_similarity_is_well_above_chance(threes_sevens):
    """The chapter's rule on the bundled sample: 92.5% (3s 85%, 7s 100%) on its 200
    validation 3s and 7s; the chapter reports about 95% on full MNIST."""
    accuracy = pixel_similarity_accuracy(threes_sevens)
    assert accuracy == pytest.approx(0.925, abs=1e-9)
    predicted = pixel_similarity_predictions(threes_sevens)
    assert predicted.shape == (threes_sevens.n_valid,)
    acc3, acc7 = per_class_accuracy(predicted, threes_sevens.valid_y)
    assert acc3 == pytest.approx(0.85) and acc7 == pytest.approx(1.0)
    # the chapter's rule written out by hand: mean |x − ideal|, the smaller one wins
    first, second = mean_images(threes_sevens)
    x = threes_sevens.valid_x.astype(np.float64) / 255
    by_hand = np.abs(x - first).mean(1) < np.abs(x - second).mean(1)
    np.testing.assert_array_equal(predicted, by_hand.astype(int))


def test_pixel_similarity_on_another_pair():
    data = make_task_data(load_sample(), Task.pair(1, 0))
    assert pixel_similarity_accuracy(data) > 0.9


def test_baseline_linear_is_a_neuron_on_the_mean_difference(threes_sevens):
    weights, bias, accuracy = baseline_linear(threes_sevens)
    first, second = mean_images(threes_sevens)
    np.testing.assert_allclose(weights, first - second)
    assert accuracy == pytest.approx(0.965, abs=1e-9)  # measured on the sample
    # the bias is the best one on the training images
    z_train = threes_sevens.train_x.astype(np.float64) / 255 @ weights
    best = accuracy_of(z_train + bias, threes_sevens.train_y)
    for other in np.linspace(bias - 3, bias + 3, 61):
        assert accuracy_of(z_train + other, threes_sevens.train_y) <= best + 1e-12


def test_nearest_mean_bias_is_squared_distance_comparison(threes_sevens):
    """x·(m₁ − m₂) + b ≥ 0 with b = −(|m₁|² − |m₂|²)/2  ⇔  |x − m₁|² ≤ |x − m₂|²."""
    first, second = mean_images(threes_sevens)
    b = nearest_mean_bias(first, second)
    x = threes_sevens.valid_x.astype(np.float64) / 255
    z = x @ (first - second) + b
    closer = ((x - second) ** 2).sum(1) - ((x - first) ** 2).sum(1)
    np.testing.assert_allclose(2 * z, closer, atol=1e-9)


def test_ten_classes_have_no_two_class_baseline():
    data = make_task_data(load_sample(), Task.all_ten())
    with pytest.raises(ConfigError, match="two-class"):
        mean_images(data)
    with pytest.raises(ConfigError, match="two-class"):
        pixel_similarity_accuracy(data)


# -- why accuracy cannot be the loss -------------------------------------------------------
def test_mnist_loss_np_matches_the_torch_loss():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 4, 500)
    t = rng.integers(0, 2, 500)
    expected = float(mnist_loss(torch.tensor(z), torch.tensor(t)))
    assert mnist_loss_np(z, t) == pytest.approx(expected, rel=1e-12)
    # perfect, confident answers cost nothing; a 50/50 guess costs one half
    assert mnist_loss_np(np.array([50.0, -50.0]), np.array([1, 0])) == pytest.approx(0.0)
    assert mnist_loss_np(np.zeros(4), np.array([1, 0, 1, 0])) == pytest.approx(0.5)


def test_scaling_one_weight_moves_the_loss_not_the_accuracy(trained, threes_sevens):
    data = threes_sevens
    pixel = influential_pixel(trained["weights"], data.valid_x)
    loss_b, loss_a, acc_b, acc_a = scale_weight_effect(
        trained, data.valid_x, data.valid_y, pixel, 1.0001)
    assert acc_a == acc_b
    assert loss_a != loss_b
    assert 1e-10 < abs(loss_a - loss_b) < 1e-4  # the 6th decimal or later
    # "before" is the neuron's own loss and accuracy
    z = data.valid_x.astype(np.float64) / 255 @ trained["weights"] + float(trained["bias"][0])
    assert loss_b == pytest.approx(mnist_loss_np(z, data.valid_y), rel=1e-6)
    assert acc_b == accuracy_of(z, data.valid_y)


def test_scaling_a_weight_where_no_image_has_ink_changes_nothing(threes_sevens):
    data = threes_sevens
    rng = np.random.default_rng(3)
    params = {"weights": rng.normal(0, 1, 784).astype(np.float32),
              "bias": np.array([0.2], dtype=np.float32)}
    corner = 0  # the top-left pixel is blank in every MNIST digit
    assert not data.valid_x[:, corner].any()
    loss_b, loss_a, acc_b, acc_a = scale_weight_effect(params, data.valid_x, data.valid_y,
                                                       corner, 1000.0)
    assert (loss_b, acc_b) == (loss_a, acc_a)
    with pytest.raises(ValueError, match="pixel"):
        scale_weight_effect(params, data.valid_x, data.valid_y, 784, 2.0)


def test_fixed_neuron_big_factor_flips_predictions():
    """A hand-made neuron: one image sits just on the first-class side; doubling the
    weight it relies on pushes it across, the accuracy drops by one image."""
    weights = np.zeros(784)
    weights[0], weights[1] = -1.0, 1.0
    params = {"weights": weights, "bias": np.array([0.0])}
    x = np.zeros((3, 784))
    x[0, 0], x[0, 1] = 0.5, 0.6  # z = 0.1 → first class, correct
    x[1, 1] = 1.0  # z = 1 → first class, correct
    x[2, 0] = 1.0  # z = −1 → second class, correct
    targets = np.array([1, 1, 0])
    loss_b, loss_a, acc_b, acc_a = scale_weight_effect(params, x, targets, 0, 1.0001)
    assert acc_a == acc_b == 1.0 and loss_a != loss_b
    loss_b, loss_a, acc_b, acc_a = scale_weight_effect(params, x, targets, 0, 2.0)
    assert acc_b == 1.0 and acc_a == pytest.approx(2 / 3)


def test_accuracy_loss_curve_uses_the_cached_z(trained, threes_sevens):
    data = threes_sevens
    w = trained["weights"].astype(np.float64)
    bias = single_neuron_bias(trained)
    pixel = influential_pixel(w, data.valid_x)
    x = data.valid_x.astype(np.float64) / 255
    z = x @ w
    x_j = pixel_column(data.valid_x, pixel)
    np.testing.assert_array_equal(x_j, x[:, pixel])
    factors = np.linspace(-4, 6, 301)
    accs, losses = accuracy_loss_curve(z, w[pixel], x_j, data.valid_y, bias, factors)
    assert accs.shape == losses.shape == factors.shape
    for f in (factors[0], 1.0, 2.5, factors[-1]):
        scaled = w.copy()
        scaled[pixel] *= f
        z_f = x @ scaled + bias
        acc, loss = accuracy_loss_curve(z, w[pixel], x_j, data.valid_y, bias, np.array([f]))
        assert acc[0] == accuracy_of(z_f, data.valid_y)
        assert loss[0] == pytest.approx(mnist_loss_np(z_f, data.valid_y), rel=1e-9)
    # a staircase: few distinct accuracies, flat between jumps; the loss never repeats
    assert len(np.unique(accs)) < len(factors) / 5
    assert np.count_nonzero(np.diff(accs) == 0) > len(factors) / 2
    assert len(np.unique(losses)) == len(factors)
    assert np.all(np.isfinite(losses))


def test_accuracy_loss_curve_checks_shapes():
    with pytest.raises(ValueError, match="differ"):
        accuracy_loss_curve(np.zeros(3), 1.0, np.zeros(4), np.zeros(3), 0.0, np.ones(2))


def test_single_neuron_bias_modes():
    assert single_neuron_bias({"weights": np.zeros(784)}) == 0.0
    assert single_neuron_bias({"weights": np.zeros(784), "bias": np.array([0.5])}) == 0.5
    per_pixel = np.full(784, 0.001)
    assert single_neuron_bias({"weights": np.zeros(784), "bias": per_pixel}) == pytest.approx(0.784)


def test_influential_pixel_has_ink(trained, threes_sevens):
    pixel = influential_pixel(trained["weights"], threes_sevens.valid_x)
    assert threes_sevens.valid_x[:, pixel].any()
    # the largest |w| of a randomly started neuron can sit on a pixel no image ever inks
    largest = int(np.argmax(np.abs(trained["weights"])))
    assert pixel != largest or threes_sevens.valid_x[:, largest].any()


def test_chapter_module_needs_neither_qt_nor_torch():
    code = (
        "import sys\nimport biasviz.core.chapter\n"
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    loaded = set(out.stdout.split())
    assert "numpy" in loaded
    assert not loaded & {"PySide6", "pyqtgraph", "shiboken6", "torch", "torchvision"}
