"""Bias and threshold maths from cached pre-activations agree with brute force."""

import numpy as np
import pytest

from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.decisions import (
    BinaryDecision,
    MulticlassDecision,
    output_biases,
    output_scores,
    probability_from_threshold,
    sigmoid,
    threshold_from_probability,
)
from biasviz.core.spec import ModelSpec, numpy_logits
from biasviz.core.training import TrainConfig, Trainer


@pytest.fixture(scope="module")
def trained_single():
    data = make_task_data(load_sample(), Task.pair(3, 7))
    trainer = Trainer(ModelSpec(), data, TrainConfig())
    list(trainer.run(10))
    return trainer


def brute_force(z, targets, bias, threshold):
    pred_first = (z + bias) >= threshold
    confusion = np.array([
        [np.sum(pred_first & (targets == 1)), np.sum(~pred_first & (targets == 1))],
        [np.sum(pred_first & (targets == 0)), np.sum(~pred_first & (targets == 0))],
    ])
    return np.mean(pred_first == (targets == 1)), confusion


def test_binary_decision_matches_brute_force_on_a_trained_neuron(trained_single):
    snap = trained_single.snapshot()
    data = trained_single.data
    z = output_scores(snap.params, snap.spec, data.valid_x)
    decision = BinaryDecision(z, data.valid_y)
    b0 = float(output_biases(snap.params, snap.spec)[0])
    # at the trained bias and t = 0 it is the trainer's own validation accuracy
    assert decision.evaluate(b0, 0.0).accuracy == pytest.approx(trained_single.evaluate()[1])
    rng = np.random.default_rng(0)
    zz = z.astype(np.float64)
    for bias, t in zip(rng.normal(0, 20, 50), rng.normal(0, 10, 50), strict=True):
        result = decision.evaluate(bias, t)
        acc, confusion = brute_force(zz, data.valid_y, bias, t)
        assert result.accuracy == pytest.approx(acc)
        np.testing.assert_array_equal(result.confusion, confusion)
        assert result.cut == pytest.approx(t - bias)
        assert result.confusion.sum() == data.n_valid


def test_threshold_equivalence_bias_minus_t():
    """w·x + b ≥ t  ⇔  w·x + (b − t) ≥ 0."""
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=500), rng.integers(0, 2, 500)
    d = BinaryDecision(z, y)
    for b, t in [(0.3, 1.2), (-2.0, -0.5), (5.0, 0.0)]:
        a, c = d.evaluate(b, t), d.evaluate(b - t, 0.0)
        assert a.accuracy == c.accuracy
        np.testing.assert_array_equal(a.confusion, c.confusion)


def test_probability_threshold_is_the_logit_threshold():
    rng = np.random.default_rng(2)
    z, y = rng.normal(0, 3, 400), rng.integers(0, 2, 400)
    d = BinaryDecision(z, y)
    for p in (0.1, 0.5, 0.9):
        got = d.evaluate_probability(0.7, p)
        expected = np.mean((sigmoid(z + 0.7) >= p) == (y == 1))
        assert got.accuracy == pytest.approx(expected)
    assert threshold_from_probability(0.5) == 0.0
    assert probability_from_threshold(threshold_from_probability(0.83)) == pytest.approx(0.83)


def test_histograms_count_every_image_once():
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=300), rng.integers(0, 2, 300)
    d = BinaryDecision(z, y)
    assert d.hist_first.sum() == np.sum(y == 1)
    assert d.hist_second.sum() == np.sum(y == 0)


def test_best_bias_is_at_least_as_good_as_any_other():
    rng = np.random.default_rng(4)
    z = np.concatenate([rng.normal(2, 1, 200), rng.normal(-1, 1, 200)])
    y = np.concatenate([np.ones(200, int), np.zeros(200, int)])
    d = BinaryDecision(z, y)
    best = d.evaluate(d.best_bias()).accuracy
    assert all(best >= d.evaluate(b).accuracy for b in np.linspace(-5, 5, 101))


def test_multiclass_bias_edits_match_full_logits():
    data = make_task_data(load_sample(), Task.all_ten())
    trainer = Trainer(ModelSpec(kind="linear", n_outputs=10), data)
    list(trainer.run(3))
    snap = trainer.snapshot()
    decision = MulticlassDecision(output_scores(snap.params, snap.spec, data.valid_x), data.valid_y)
    trained = decision.evaluate(output_biases(snap.params, snap.spec))
    assert trained.accuracy == pytest.approx(trainer.evaluate()[1])
    edited = snap.params["biases"].copy()
    edited[3] += 25.0  # push everything towards "3"
    result = decision.evaluate(edited)
    params = dict(snap.params, biases=edited)
    logits = numpy_logits(params, snap.spec, data.valid_x.astype(np.float32) / 255)
    pred = logits.argmax(1)
    assert result.accuracy == pytest.approx(np.mean(pred == data.valid_y))
    np.testing.assert_array_equal(np.diag(result.confusion), [np.sum((pred == k) & (data.valid_y == k)) for k in range(10)])
    assert result.confusion[:, 3].sum() > trained.confusion[:, 3].sum()
    assert result.per_class_accuracy[3] >= trained.per_class_accuracy[3]


def test_overflowed_scores_do_not_break_the_decision():
    z = np.array([np.inf, -np.inf, np.nan, 1.0, -1.0])
    y = np.array([1, 0, 1, 1, 0])
    d = BinaryDecision(z, y)
    assert np.all(np.isfinite(d.bin_edges))
    r = d.evaluate(0.0, 0.0)
    # +inf and 1.0 fire (correct), NaN never fires (a wrong "second"), −inf and −1.0 do not
    assert r.accuracy == pytest.approx(4 / 5)
    assert np.isfinite(d.best_bias())


def test_float_images_are_the_chapters_division_bit_for_bit():
    from biasviz.core.decisions import as_float_images

    x = np.tile(np.arange(256, dtype=np.uint8), 4)[:784].reshape(1, 784)
    got = as_float_images(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, x.astype(np.float32) / 255.0)


def _random_params(spec, seed=0):
    rng = np.random.default_rng(seed)
    return {k: (0.05 * rng.standard_normal(np.shape(v))).astype(np.float32)
            for k, v in Trainer(spec, make_task_data(load_sample(), Task.all_ten()
                                                     if spec.n_outputs == 10
                                                     else Task.pair(3, 7))).snapshot()
            .params.items()}


@pytest.mark.parametrize("kind", ["single", "linear", "mlp"])
def test_scores_from_uint8_images_in_chunks_equal_those_from_float_images(kind):
    import tracemalloc

    from biasviz.core.decisions import SCORE_CHUNK, as_float_images
    from biasviz.core.spec import ModelKind

    spec = {"single": ModelSpec(),
            "linear": ModelSpec(kind=ModelKind.LINEAR, n_outputs=10),
            "mlp": ModelSpec(kind=ModelKind.MLP, n_outputs=10, hidden=16)}[kind]
    params = _random_params(spec)
    x = np.random.default_rng(1).integers(0, 256, (3 * SCORE_CHUNK + 5, 784), dtype=np.uint8)
    expected = output_scores(params, spec, as_float_images(x))
    tracemalloc.start()
    try:
        got = output_scores(params, spec, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Not bit for bit: a threaded BLAS splits the rows between its threads, and the rows
    # at a split are summed in another order (±1 ulp) however the images are passed.
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # never the whole set as float32 (that alone would be 4 bytes a pixel)
    assert peak < x.size * 4 // 2


def test_a_cnns_scores_in_chunks_equal_one_pass_and_pooling_is_torchs():
    """The CNN is scored 256 images at a time (its feature maps stay in the cache) and
    pooled from four strided views: the same numbers as one pass, and as torch."""
    import torch

    from biasviz.core.decisions import CNN_SCORE_CHUNK, _scores, as_float_images
    from biasviz.core.spec import ModelKind, maxpool2

    spec = ModelSpec(kind=ModelKind.CNN, n_outputs=10)
    params = _random_params(spec)
    x = np.random.default_rng(2).integers(0, 256, (2 * CNN_SCORE_CHUNK + 7, 784), dtype=np.uint8)
    one_pass = _scores(params, spec, as_float_images(x))
    np.testing.assert_allclose(output_scores(params, spec, x), one_pass, rtol=1e-6, atol=1e-6)
    for side in (24, 23):  # an odd side drops its last row and column, as torch does
        a = np.random.default_rng(side).standard_normal((3, 8, side, side)).astype(np.float32)
        expected = torch.nn.functional.max_pool2d(torch.from_numpy(a), 2).numpy()
        np.testing.assert_array_equal(maxpool2(a), expected)
