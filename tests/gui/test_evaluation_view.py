"""EvaluationView: accuracy, confusion, the gallery of mistakes and the detail panel."""

import re
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from biasviz.core.datasets import DIGIT_NAMES, Task, TaskData
from biasviz.core.errors import ConfigError
from biasviz.core.spec import ModelSpec, numpy_logits
from biasviz.gui.evaluation_view import GALLERY_LIMIT, EvaluationView

LEFT = np.arange(784) % 28 < 14


def left_half_weights() -> np.ndarray:
    """+ on the left half, − on the right: the neuron says "3" when the left is inkier."""
    return np.where(LEFT, 0.01, -0.01).astype(np.float32)


def pair_data(n: int = 120, flips: int = 20, seed: int = 0) -> tuple[TaskData, np.ndarray]:
    """Random images whose target follows the left-half rule, except ``flips`` of them."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 784), dtype=np.uint8)
    z = (x.astype(np.float64) / 255) @ left_half_weights().astype(np.float64)
    y = (z >= 0).astype(np.int64)
    flipped = np.sort(rng.choice(n, flips, replace=False))
    y[flipped] = 1 - y[flipped]
    data = TaskData(
        task=Task((3, 7)),
        class_names=("3", "7"),
        dataset_name="synthetic",
        dataset_key="test",
        train_x=x[:10],
        train_y=y[:10],
        valid_x=x,
        valid_y=y,
    )
    return data, flipped


def single_params(bias: float = 0.0) -> dict[str, np.ndarray]:
    return {"weights": left_half_weights(), "bias": np.array([bias], dtype=np.float32)}


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


def linear_params(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "weights": rng.normal(0, 0.05, (10, 784)).astype(np.float32),
        "biases": rng.normal(0, 0.5, 10).astype(np.float32),
    }


def expected_binary(data: TaskData, bias: float, threshold: float = 0.0):
    z = (data.valid_x.astype(np.float64) / 255) @ left_half_weights().astype(np.float64) + bias
    pred = np.where(z >= threshold, 0, 1)  # display order: 0 = "3" (the first class)
    true = 1 - data.valid_y
    conf = np.zeros((2, 2), dtype=np.int64)
    np.add.at(conf, (true, pred), 1)
    per_class = np.array([np.mean(pred[true == c] == c) for c in range(2)])
    return pred, conf, per_class, np.flatnonzero(pred != true)


def numbers(text: str) -> list[float]:
    return [float(v.replace("−", "-")) for v in re.findall(r"[−-]?\d+\.\d+", text)]


@pytest.fixture
def view(qtbot):
    w = EvaluationView()
    qtbot.addWidget(w)
    w.resize(1100, 700)
    return w


def test_empty_view_explains_itself(view):
    assert "Train a model" in view.header.text()
    assert view.gallery_indices() == []
    with pytest.raises(RuntimeError):
        view.per_class_accuracy()
    with pytest.raises(RuntimeError):
        view.select_sample(0)


def test_single_neuron_accuracy_and_confusion(view):
    data, flipped = pair_data()
    view.set_evaluation(single_params(), ModelSpec(), data)
    pred, conf, per_class, wrong = expected_binary(data, 0.0)
    assert np.array_equal(view.confusion(), conf)
    assert np.allclose(view.per_class_accuracy(), per_class)
    assert np.array_equal(view.misclassified_indices(), wrong)
    assert np.array_equal(wrong, flipped)  # exactly the images whose label was flipped
    # the gallery holds exactly the mistakes (fewer than the cap here)
    assert sorted(view.gallery_indices()) == wrong.tolist()
    assert view.gallery_list.count() == len(wrong)
    overall = np.mean(pred == 1 - data.valid_y)
    assert f"{100 * overall:.1f}%" in view.bar_plot.getPlotItem().titleLabel.text
    assert np.allclose(view.bars.opts["height"], 100 * per_class)


def test_gallery_captions_and_icons(view):
    data, _ = pair_data()
    view.set_evaluation(single_params(), ModelSpec(), data)
    ev = view.evaluation()
    for row in range(view.gallery_list.count()):
        item = view.gallery_list.item(row)
        idx = item.data(Qt.ItemDataRole.UserRole)
        assert idx == view.gallery_indices()[row]
        t, p = ev.class_names[ev.true[idx]], ev.class_names[ev.predicted[idx]]
        assert item.text().startswith(f"true {t} → called {p}\n")
        assert "sure" in item.text()
        assert not item.icon().isNull()
        assert item.toolTip()
    # most confident mistakes first
    conf = ev.confidence[view.gallery_indices()]
    assert np.all(np.diff(conf) <= 0)


def test_gallery_is_capped(view):
    data, _ = pair_data(n=400, flips=150)
    view.set_evaluation(single_params(), ModelSpec(), data)
    wrong = set(view.misclassified_indices().tolist())
    assert len(wrong) == 150
    shown = view.gallery_indices()
    assert len(shown) == GALLERY_LIMIT == view.gallery_list.count()
    assert set(shown) <= wrong
    assert "48 most confident of 150" in view.gallery_label.text()


def test_gallery_is_fast(view):
    data, _ = pair_data(n=400, flips=150)
    view.set_evaluation(single_params(), ModelSpec(), data)
    start = time.perf_counter()
    for _ in range(5):
        view._update_gallery()
    per_build = (time.perf_counter() - start) / 5
    assert per_build < 0.05, f"building {GALLERY_LIMIT} thumbnails took {per_build * 1e3:.0f} ms"


def test_select_sample_detail_adds_up(view, qtbot):
    data, _ = pair_data()
    params = single_params(-0.05)
    spec = ModelSpec()
    view.set_evaluation(params, spec, data)
    i = int(view.misclassified_indices()[0])
    with qtbot.waitSignal(view.sampleSelected) as blocker:
        view.select_sample(i)
    assert blocker.args == [i]
    assert view.selected_index() == i
    text = view.detail_text()
    s, b, logit = numbers(re.search(r"Σ w⊙x = \S+, \+ b = \S+ → logit \S+", text).group())
    assert s + b == pytest.approx(logit, abs=1e-4)
    (br,) = view.explanation().breakdowns
    z = numpy_logits(params, spec, data.valid_x[i : i + 1].astype(np.float32) / 255)[0]
    assert br.weighted_sum + br.bias == pytest.approx(float(z), abs=1e-4)
    assert br.contributions.sum() == pytest.approx(br.weighted_sum, abs=1e-9)
    ev = view.evaluation()
    assert f"called {ev.class_names[ev.predicted[i]]} (true {ev.class_names[ev.true[i]]})" in text
    assert "σ" in text
    assert view.has_contribution_map()
    assert view.image_view.image() is not None
    assert view.map_views[0].image() is not None
    assert view.map_views[1].isHidden()
    assert view.note.isHidden()
    # the thumbnail of the selected mistake is highlighted
    row = view.gallery_indices().index(i)
    assert view.gallery_list.currentRow() == row


def test_clicking_a_thumbnail_selects_it(view, qtbot):
    data, _ = pair_data()
    view.set_evaluation(single_params(), ModelSpec(), data)
    target = view.gallery_indices()[3]
    with qtbot.waitSignal(view.sampleSelected) as blocker:
        view.gallery_list.setCurrentRow(3)
    assert blocker.args == [target]
    assert f"#{target}" in view.image_view.caption()


def test_bias_override_changes_predictions_and_keeps_selection(view):
    data, _ = pair_data()
    spec = ModelSpec()
    params = single_params(0.0)
    view.set_evaluation(params, spec, data)
    before = view.confusion()
    i = int(view.misclassified_indices()[0])
    view.select_sample(i)
    view.set_evaluation(params, spec, data, bias_override=0.3)
    _, conf, per_class, wrong = expected_binary(data, 0.3)
    assert np.array_equal(view.confusion(), conf)
    assert not np.array_equal(conf, before)
    assert np.allclose(view.per_class_accuracy(), per_class)
    assert np.array_equal(view.misclassified_indices(), wrong)
    assert "bias set to 0.30" in view.header.text()
    # the same image stays in the detail, with the new bias in its arithmetic
    assert view.selected_index() == i
    assert "+ b = 0.30" in view.detail_text()
    assert "training had left it at 0.00" in view.detail_text()
    # a threshold works the other way: raising both by the same amount changes nothing
    view.set_evaluation(params, spec, data, bias_override=0.3, threshold=0.3)
    assert np.array_equal(view.confusion(), before)
    assert "threshold 0.30" in view.header.text()


def test_new_data_forgets_the_selection(view):
    data, _ = pair_data()
    view.set_evaluation(single_params(), ModelSpec(), data)
    view.select_sample(0)
    other, _ = pair_data(seed=5)
    view.set_evaluation(single_params(), ModelSpec(), other)
    assert view.selected_index() is None
    assert view.explanation() is None
    assert "Click a mistake" in view.detail_text()


def test_filter_by_confusion_cell(view):
    data, _ = pair_data()
    view.set_evaluation(single_params(), ModelSpec(), data)
    ev = view.evaluation()
    view.filter_mistakes((1, 0))  # true 7, called 3
    shown = view.gallery_indices()
    assert len(shown) == ev.confusion[1, 0]
    assert all(ev.true[i] == 1 and ev.predicted[i] == 0 for i in shown)
    assert "true 7 → called 3" in view.gallery_label.text()
    assert not view.show_all_button.isHidden()
    view.show_all_button.click()
    assert sorted(view.gallery_indices()) == ev.misclassified.tolist()
    assert view.show_all_button.isHidden()


def test_clicking_a_confusion_cell_filters(view, qtbot):
    data, _ = pair_data()
    view.show()
    qtbot.waitExposed(view)
    view.set_evaluation(single_params(), ModelSpec(), data)
    plot = view.confusion_plot
    vb = plot.getPlotItem().getViewBox()

    def click(i, j):
        scene_pos = vb.mapViewToScene(QPointF(j + 0.5, i + 0.5))
        QTest.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(scene_pos))

    click(0, 1)  # true 3, called 7
    assert view._filter == (0, 1)
    ev = view.evaluation()
    assert len(view.gallery_indices()) == ev.confusion[0, 1]
    view._on_confusion_hover(vb.mapViewToScene(QPointF(1.5, 0.5)))
    assert "called 7" in view.confusion_image.toolTip()
    click(0, 0)  # the diagonal goes back to all the mistakes
    assert view._filter is None
    assert sorted(view.gallery_indices()) == ev.misclassified.tolist()


def test_clicking_a_thumbnail_with_the_mouse(view, qtbot):
    data, _ = pair_data()
    view.show()
    qtbot.waitExposed(view)
    view.set_evaluation(single_params(), ModelSpec(), data)
    lst = view.gallery_list
    rect = lst.visualItemRect(lst.item(2))
    with qtbot.waitSignal(view.sampleSelected) as blocker:
        QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [view.gallery_indices()[2]]
    assert view.has_contribution_map()


def test_ten_class_linear(view):
    data = ten_data()
    params = linear_params()
    spec = ModelSpec(kind="linear", n_outputs=10)
    view.set_evaluation(params, spec, data)
    logits = data.valid_x.astype(np.float64) / 255 @ params["weights"].T + params["biases"]
    pred = np.argmax(logits, axis=1)
    conf = np.zeros((10, 10), dtype=np.int64)
    np.add.at(conf, (data.valid_y, pred), 1)
    assert np.array_equal(view.confusion(), conf)
    with np.errstate(invalid="ignore"):
        per_class = np.diag(conf) / conf.sum(axis=1)
    assert np.allclose(view.per_class_accuracy(), per_class, equal_nan=True)
    wrong = np.flatnonzero(pred != data.valid_y)
    assert np.array_equal(view.misclassified_indices(), wrong)
    assert len(view.gallery_indices()) == min(GALLERY_LIMIT, len(wrong))

    i = int(wrong[0])
    view.select_sample(i)
    text = view.detail_text()
    called, true = int(pred[i]), int(data.valid_y[i])
    assert f"Neuron {called} (called)" in text and f"Neuron {true} (true)" in text
    for line in text.splitlines()[:2]:
        s, b, logit = numbers(line.split(":", 1)[1])
        assert s + b == pytest.approx(logit, abs=1e-4)
    for br in view.explanation().breakdowns:
        assert br.logit == pytest.approx(logits[i, br.class_index], abs=1e-4)
    assert not view.map_views[0].isHidden() and not view.map_views[1].isHidden()
    assert view.has_contribution_map()

    # ten output biases can be overridden
    pushed = np.zeros(10)
    pushed[4] = 100.0
    view.set_evaluation(params, spec, data, bias_override=pushed)
    assert view.confusion()[:, 4].sum() == data.n_valid
    assert "set by you" in view.header.text()
    with pytest.raises(ConfigError):
        view.set_evaluation(params, spec, data, bias_override=1.0)


def mlp_params(n_outputs: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "hidden.weights": rng.normal(0, 0.1, (8, 784)).astype(np.float32),
        "hidden.biases": np.zeros(8, np.float32),
        "output.weights": rng.normal(0, 1, (n_outputs, 8)).astype(np.float32),
        "output.biases": rng.normal(0, 0.1, n_outputs).astype(np.float32),
    }


@pytest.mark.parametrize("n_outputs", [1, 10])
def test_mlp_shows_logits_and_a_note(view, n_outputs):
    data = pair_data()[0] if n_outputs == 1 else ten_data()
    spec = ModelSpec(kind="mlp", hidden=8, n_outputs=n_outputs)
    params = mlp_params(n_outputs)
    view.set_evaluation(params, spec, data)
    z = numpy_logits(params, spec, data.valid_x.astype(np.float32) / 255)
    i = int(view.misclassified_indices()[0])
    view.select_sample(i)
    text = view.detail_text()
    assert not view.has_contribution_map()
    assert view.map_views[0].isHidden() and view.map_views[1].isHidden()
    assert view.image_view.image() is not None
    assert not view.note.isHidden()
    assert "look at the pixels directly" in text
    assert "logit" in text and "Σ w⊙x" not in text
    if n_outputs == 1:
        assert f"logit {float(z[i]):.2f}".replace("-", "−") in text
    else:
        assert "highest of the 10 logits" in text


def test_every_part_has_a_tooltip(view):
    data, _ = pair_data()
    view.set_evaluation(single_params(), ModelSpec(), data)
    view.select_sample(int(view.misclassified_indices()[0]))
    parts = [
        view.accuracy_panel, view.confusion_panel, view.gallery_panel, view.detail_panel,
        view.gallery_list, view.image_view, *view.map_views, view.arithmetic, view.note,
        view.show_all_button, view.header,
    ]
    for part in parts:
        assert part.toolTip().strip(), part
    assert view.bar_plot.getPlotItem().toolTip()
    assert view.confusion_plot.getPlotItem().toolTip()


@pytest.mark.parametrize("size", [(1100, 700), (936, 600)])  # the Evaluate tab at 1366 / 1280
def test_long_class_names_under_the_bars_show_whole(qtbot, size):
    """Walk-through S: the bars' axis showed "T-shirt/t…" and "Ankle b…" at 1366x768."""
    from biasviz.core.datasets.types import FASHION_NAMES

    view = EvaluationView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    data = ten_data()
    data = TaskData(**{**data.__dict__, "class_names": tuple(FASHION_NAMES)})
    view.set_evaluation(linear_params(), ModelSpec(kind="linear", n_outputs=10), data)
    qtbot.wait(20)
    assert view.bar_columns.names() == list(FASHION_NAMES)
    shown = [label.strip("\n") for label in view.bar_columns.shown_labels()]
    assert shown == list(FASHION_NAMES), shown
    assert not view.bar_columns.shortened
