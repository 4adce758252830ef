"""The numbers behind the evaluation view: predictions, counts, mistakes, breakdowns."""

import math
import re

import numpy as np
import pytest

from biasviz.core.datasets import DIGIT_NAMES, Task, TaskData
from biasviz.core.errors import ConfigError
from biasviz.core.evaluation import (
    evaluate,
    explain,
    explanation_text,
    fmt,
    has_pixel_neurons,
)
from biasviz.core.spec import BiasMode, ModelSpec, numpy_logits


def pair_data(n: int = 200, seed: int = 0) -> TaskData:
    rng = np.random.default_rng(seed)
    return TaskData(
        task=Task((3, 7)),
        class_names=("3", "7"),
        dataset_name="synthetic",
        dataset_key="test",
        train_x=rng.integers(0, 256, (10, 784), dtype=np.uint8),
        train_y=rng.integers(0, 2, 10).astype(np.int64),
        valid_x=rng.integers(0, 256, (n, 784), dtype=np.uint8),
        valid_y=rng.integers(0, 2, n).astype(np.int64),
    )


def ten_data(n: int = 300, seed: int = 1) -> TaskData:
    rng = np.random.default_rng(seed)
    return TaskData(
        task=Task.all_ten(),
        class_names=DIGIT_NAMES,
        dataset_name="synthetic",
        dataset_key="test",
        train_x=rng.integers(0, 256, (10, 784), dtype=np.uint8),
        train_y=rng.integers(0, 10, 10).astype(np.int64),
        valid_x=rng.integers(0, 256, (n, 784), dtype=np.uint8),
        valid_y=rng.integers(0, 10, n).astype(np.int64),
    )


def left_half_params(bias: float = 0.02) -> dict[str, np.ndarray]:
    """+ on the left half of the image, − on the right: calls 3 when the left is inkier."""
    w = np.where(np.arange(784) % 28 < 14, 0.01, -0.01).astype(np.float32)
    return {"weights": w, "bias": np.array([bias], dtype=np.float32)}


def expected_single(data: TaskData, w: np.ndarray, b: float, t: float = 0.0):
    z = (data.valid_x.astype(np.float64) / 255) @ w.astype(np.float64) + b
    pred = np.where(z >= t, 0, 1)  # display order: 0 = the first class (3)
    true = 1 - data.valid_y
    conf = np.zeros((2, 2), dtype=np.int64)
    for tr, pr in zip(true, pred, strict=True):
        conf[tr, pr] += 1
    return pred, true, conf


def test_single_neuron_counts_match_direct_computation():
    data = pair_data()
    params = left_half_params(0.02)
    ev = evaluate(params, ModelSpec(), data)
    pred, true, conf = expected_single(data, params["weights"], 0.02)
    assert np.array_equal(ev.predicted, pred)
    assert np.array_equal(ev.true, true)
    assert np.array_equal(ev.confusion, conf)
    assert ev.accuracy == pytest.approx(np.mean(pred == true))
    for c in range(2):
        assert ev.per_class_accuracy[c] == pytest.approx(np.mean(pred[true == c] == c))
    assert np.array_equal(ev.misclassified, np.flatnonzero(pred != true))
    assert 0 < len(ev.misclassified) < data.n_valid  # the test data is not trivial


def test_bias_override_and_threshold_move_the_line():
    data = pair_data()
    params = left_half_params(0.02)
    base = evaluate(params, ModelSpec(), data)
    lifted = evaluate(params, ModelSpec(), data, bias_override=5.0)
    pred, _, conf = expected_single(data, params["weights"], 5.0)
    assert np.array_equal(lifted.predicted, pred)
    assert np.array_equal(lifted.confusion, conf)
    assert not np.array_equal(lifted.predicted, base.predicted)
    assert lifted.bias_overridden and not base.bias_overridden
    # raising the threshold by 5 undoes raising the bias by 5
    both = evaluate(params, ModelSpec(), data, bias_override=5.02, threshold=5.0)
    assert np.array_equal(both.predicted, base.predicted)


def test_confidence_is_for_the_called_class():
    data = pair_data()
    ev = evaluate(left_half_params(), ModelSpec(), data)
    p_first = 1 / (1 + np.exp(-ev.logits))
    assert np.allclose(ev.confidence, np.where(ev.predicted == 0, p_first, 1 - p_first))
    assert np.all(ev.confidence >= 0.5)


def test_mistakes_sorted_by_confidence_and_filtered():
    data = pair_data()
    ev = evaluate(left_half_params(), ModelSpec(), data)
    m = ev.mistakes()
    assert sorted(m.tolist()) == ev.misclassified.tolist()
    assert np.all(np.diff(ev.confidence[m]) <= 0)
    assert len(ev.mistakes(limit=3)) == min(3, len(m))
    cell = ev.mistakes(true=0, predicted=1)
    assert len(cell) == ev.confusion[0, 1]
    assert np.all(ev.true[cell] == 0) and np.all(ev.predicted[cell] == 1)


def test_breakdown_adds_up_to_the_logit():
    data = pair_data()
    params = left_half_params(-0.05)
    spec = ModelSpec()
    ev = evaluate(params, spec, data)
    i = int(ev.misclassified[0])
    ex = explain(params, spec, data, ev, i)
    (b,) = ex.breakdowns
    z = numpy_logits(params, spec, data.valid_x[i : i + 1].astype(np.float32) / 255)[0]
    assert b.weighted_sum + b.bias == pytest.approx(float(z), abs=1e-4)
    assert b.contributions.sum() == pytest.approx(b.weighted_sum)
    assert b.bias == pytest.approx(-0.05)
    text = explanation_text(ex, ev, spec)
    s, bias, logit = (
        float(v.replace("−", "-"))
        for v in re.search(r"Σ w⊙x = (\S+), \+ b = (\S+) → logit (\S+)", text).groups()
    )
    assert s + bias == pytest.approx(logit, abs=1e-4)
    assert abs(logit - float(z)) <= 0.011
    assert f"called {ev.class_names[ex.predicted]} (true {ev.class_names[ex.true]})" in text


def test_per_pixel_bias_is_summed():
    data = pair_data()
    spec = ModelSpec(bias_mode=BiasMode.PER_PIXEL)
    w = left_half_params()["weights"]
    params = {"weights": w, "bias": np.full(784, 0.001, dtype=np.float32)}
    ev = evaluate(params, spec, data)
    ex = explain(params, spec, data, ev, 0)
    assert ex.breakdowns[0].bias == pytest.approx(0.784, abs=1e-5)
    assert "Σbᵢ" in explanation_text(ex, ev, spec)


def test_ten_class_linear():
    data = ten_data()
    rng = np.random.default_rng(3)
    spec = ModelSpec(kind="linear", n_outputs=10)
    params = {
        "weights": rng.normal(0, 0.05, (10, 784)).astype(np.float32),
        "biases": rng.normal(0, 0.5, 10).astype(np.float32),
    }
    ev = evaluate(params, spec, data)
    logits = data.valid_x.astype(np.float64) / 255 @ params["weights"].T.astype(np.float64)
    pred = np.argmax(logits + params["biases"], axis=1)
    assert np.array_equal(ev.predicted, pred)
    conf = np.zeros((10, 10), dtype=np.int64)
    np.add.at(conf, (data.valid_y, pred), 1)
    assert np.array_equal(ev.confusion, conf)
    with np.errstate(invalid="ignore"):
        assert np.allclose(ev.per_class_accuracy, np.diag(conf) / conf.sum(1), equal_nan=True)

    i = int(ev.misclassified[0])
    ex = explain(params, spec, data, ev, i)
    called, true = ex.breakdowns
    assert called.class_index == ex.predicted and true.class_index == ex.true
    for b in ex.breakdowns:
        assert b.logit == pytest.approx(ev.logits[i, b.class_index], abs=1e-4)
    text = explanation_text(ex, ev, spec)
    assert f"Neuron {ex.predicted} (called)" in text and f"Neuron {ex.true} (true)" in text

    # a right answer shows the runner-up instead
    j = int(np.flatnonzero(ev.predicted == ev.true)[0])
    exj = explain(params, spec, data, ev, j)
    assert exj.second is not None and exj.breakdowns[1].class_index == exj.second

    # overriding the ten biases changes the answers
    pushed = np.zeros(10)
    pushed[4] = 100.0
    ev4 = evaluate(params, spec, data, bias_override=pushed)
    assert np.all(ev4.predicted == 4)
    with pytest.raises(ConfigError):
        evaluate(params, spec, data, bias_override=1.0)


def test_mlp_has_no_pixel_breakdown():
    data = pair_data()
    spec = ModelSpec(kind="mlp", hidden=4)
    rng = np.random.default_rng(0)
    params = {
        "hidden.weights": rng.normal(0, 0.1, (4, 784)).astype(np.float32),
        "hidden.biases": np.zeros(4, np.float32),
        "output.weights": rng.normal(0, 1, (1, 4)).astype(np.float32),
        "output.biases": np.array([0.2], np.float32),
    }
    assert not has_pixel_neurons(spec)
    ev = evaluate(params, spec, data)
    z = numpy_logits(params, spec, data.valid_x.astype(np.float32) / 255)
    assert np.allclose(ev.logits, z, atol=1e-5)
    ex = explain(params, spec, data, ev, 0)
    assert ex.breakdowns == ()
    assert explanation_text(ex, ev, spec).startswith("logit ")
    # an override replaces the output bias
    ev2 = evaluate(params, spec, data, bias_override=1.2)
    assert np.allclose(ev2.logits, z + 1.0, atol=1e-5)


def test_task_and_model_must_agree():
    with pytest.raises(ConfigError):
        evaluate(left_half_params(), ModelSpec(), ten_data())


def test_fmt():
    assert fmt(-1.3) == "−1.30"
    assert fmt(-0.001) == "0.00"
    assert fmt(2.0, 1) == "2.0"


def test_near_the_threshold_more_digits_are_shown():
    data = pair_data(n=20)
    params = {"weights": np.zeros(784, np.float32), "bias": np.array([0.003], np.float32)}
    spec = ModelSpec()
    ev = evaluate(params, spec, data)
    assert np.all(ev.predicted == 0)  # 0.003 ≥ 0: every image is called "3"
    text = explanation_text(explain(params, spec, data, ev, 0), ev, spec)
    assert "logit 0.0030" in text and "called 3" in text
    ev2 = evaluate(params, spec, data, bias_override=-0.003)
    text2 = explanation_text(explain(params, spec, data, ev2, 0), ev2, spec)
    assert "logit −0.0030" in text2 and "called 7" in text2
    assert "training had left it at 0.00" in text2


def test_probability_and_confidence_wording():
    from biasviz.core.evaluation import percent_sure, sigma_text

    assert sigma_text(0.95) == "σ = 0.95"
    assert sigma_text(0.004) == "σ = 0.004"
    assert sigma_text(1e-9) == "σ < 0.001"
    assert sigma_text(1 - 1e-9) == "σ > 0.999"
    assert percent_sure(0.923) == "92%"
    assert percent_sure(0.9999) == ">99%"


def test_an_evaluation_asked_to_stop_stops_between_chunks(monkeypatch):
    """The window stops an evaluation a newer moment has made stale: ``cancel`` is asked
    before each chunk of images; never true, the result is the plain evaluation's."""
    import biasviz.core.decisions as decisions_module
    from biasviz.core.evaluation import EvaluationCancelled

    monkeypatch.setattr(decisions_module, "SCORE_CHUNK", 64)  # (score_chunk's)
    data = pair_data(n=200)
    spec, params = ModelSpec(), left_half_params()
    asked = []
    with pytest.raises(EvaluationCancelled):
        evaluate(params, spec, data, cancel=lambda: asked.append(1) or len(asked) >= 2)
    assert len(asked) == 2  # the second chunk was not computed
    plain = evaluate(params, spec, data)
    asked.clear()
    kept = evaluate(params, spec, data, cancel=lambda: asked.append(1) and False)
    assert len(asked) == 4  # 200 images, chunks of 64
    np.testing.assert_array_equal(kept.confusion, plain.confusion)
    np.testing.assert_array_equal(kept.logits, plain.logits)


def test_a_probability_threshold_never_reads_as_0_or_1():
    """At t = 6.91 the explanation said "σ ≥ 1.00", which no σ reaches."""
    from biasviz.core.evaluation import sigma_bound

    assert sigma_bound(0.5) == "0.50" and sigma_bound(0.8) == "0.80"
    assert sigma_bound(1 / (1 + math.exp(-6.907))) == "0.999"
    assert sigma_bound(1 / (1 + math.exp(-15.0))) == "0.9999997"
    assert sigma_bound(1 / (1 + math.exp(15.0))) == "0.0000003"
    assert sigma_bound(0.004) == "0.004"
