"""The drawing canvas and the draw panel's live predictions (pytest-qt, offscreen).

Mouse drags are sent as QMouseEvents with QApplication.sendEvent: QTest's mouseMove
carries no held button, so a drag through it would never draw.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from biasviz.core.drawing import Prediction
from biasviz.core.spec import ModelSpec
from biasviz.gui.canvas import CANVAS_SIDE, UNDO_LIMIT, DrawingCanvas
from biasviz.gui.draw_panel import DrawPanel

LEFT = Qt.MouseButton.LeftButton
NO_BUTTON = Qt.MouseButton.NoButton

# An "L": a vertical bar with a foot to the right.  The model input is centred on the
# ink's centre of mass (as MNIST), so where on the canvas a stroke lies does not matter;
# what does is the shape: most of an L's ink is left of its centre of mass, most of a
# mirrored L's ink is right of it.
L_SHAPE = [(90, 50), (90, 230), (200, 230)]
MIRRORED_L = [(CANVAS_SIDE - x, y) for x, y in L_SHAPE]


# --------------------------------------------------------------------------- helpers


def _send(canvas: DrawingCanvas, kind: QEvent.Type, point, button, buttons) -> None:
    pos = canvas.map_from_image(QPointF(*point))
    event = QMouseEvent(
        kind, pos, canvas.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas, event)


def _polyline(points, step: float = 6.0):
    """Points every ``step`` canvas pixels along a polyline (what a mouse reports)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        n = max(1, int(np.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * t / n, y0 + (y1 - y0) * t / n) for t in range(1, n + 1)]
    return out


def press(canvas, point):
    _send(canvas, QEvent.Type.MouseButtonPress, point, LEFT, LEFT)


def move(canvas, point):
    _send(canvas, QEvent.Type.MouseMove, point, NO_BUTTON, LEFT)


def release(canvas, point):
    _send(canvas, QEvent.Type.MouseButtonRelease, point, LEFT, NO_BUTTON)


def stroke(canvas: DrawingCanvas, points) -> None:
    """Press at the first point, drag through the rest, release at the last."""
    path = _polyline(points)
    press(canvas, path[0])
    for p in path[1:]:
        move(canvas, p)
    release(canvas, path[-1])


def settle(qtbot, panel: DrawPanel) -> Prediction:
    """Wait until the panel shows the answer to its latest request."""

    def current() -> bool:
        last = panel.last_prediction()
        return not panel.is_busy() and last is not None and last.generation == panel.generation

    qtbot.waitUntil(current, timeout=5000)
    return panel.last_prediction()


def left_right_model() -> tuple[dict[str, np.ndarray], ModelSpec]:
    """A single neuron whose weights favour ink on the left half of the 28x28 input."""
    w = np.zeros((28, 28), np.float32)
    w[:, :14] = 0.05
    w[:, 14:] = -0.05
    return {"weights": w.reshape(-1), "bias": np.zeros(1, np.float32)}, ModelSpec()


def write_digit_png(path, dark_on_light: bool = True) -> None:
    paper, ink = (255, 0) if dark_on_light else (0, 255)
    picture = Image.new("L", (120, 160), paper)
    ImageDraw.Draw(picture).line([(30, 20), (90, 20), (50, 140)], fill=ink, width=14)
    picture.save(path)


@pytest.fixture
def canvas(qtbot):
    c = DrawingCanvas()
    qtbot.addWidget(c)
    c.resize(CANVAS_SIDE + 2, CANVAS_SIDE + 2)
    return c


@pytest.fixture
def panel(draw_panel):
    return draw_panel  # (tests/gui/conftest.py)


# --------------------------------------------------------------------------- canvas


def test_new_canvas_is_black_and_empty(canvas):
    image = canvas.image_array()
    assert image.shape == (CANVAS_SIDE, CANVAS_SIDE)
    assert image.dtype == np.uint8
    assert canvas.is_empty()
    assert not canvas.can_undo()


def test_drag_draws_ink_along_the_stroke_and_signals_while_drawing(canvas):
    changes = []
    canvas.changed.connect(lambda: changes.append(1))
    press(canvas, (40, 140))
    for x in range(46, 241, 6):
        move(canvas, (x, 140))
    assert len(changes) > 10  # on every move that adds ink, before the button is released
    release(canvas, (240, 140))

    image = canvas.image_array()
    assert not canvas.is_empty()
    assert (image[140, 40:241] > 200).all()  # bright along the whole stroke
    assert image[120:161, 20:261].max() == 255
    assert image[:100].max() == 0 and image[180:].max() == 0  # nothing far from it
    assert image[140, 40 - canvas.brush_width() // 2 + 2] > 0  # a round cap beyond the end


def test_strokes_are_antialiased(canvas):
    stroke(canvas, [(40, 50), (230, 250)])
    image = canvas.image_array()
    soft = (image > 0) & (image < 255)
    assert soft.sum() > 100  # grey edge pixels, not a jagged black/white staircase


def test_qtest_click_leaves_a_round_dot(qtbot, canvas):
    centre = canvas.map_from_image(QPointF(100, 100)).toPoint()
    qtbot.mouseClick(canvas, LEFT, pos=centre)
    image = canvas.image_array()
    ys, xs = np.nonzero(image > 128)
    assert len(xs) > 0
    assert abs(xs.mean() - 100) < 2 and abs(ys.mean() - 100) < 2
    width = canvas.brush_width()
    assert abs((xs.max() - xs.min()) - width) <= 3
    assert abs((ys.max() - ys.min()) - width) <= 3


def test_brush_width_changes_the_stroke_and_is_clamped(canvas):
    canvas.set_brush_width(4)
    stroke(canvas, [(40, 70), (240, 70)])
    thin = int((canvas.image_array() > 128).sum())
    canvas.clear()
    canvas.set_brush_width(30)
    stroke(canvas, [(40, 70), (240, 70)])
    thick = int((canvas.image_array() > 128).sum())
    assert thick > 4 * thin
    canvas.set_brush_width(0)
    assert canvas.brush_width() >= 1
    canvas.set_brush_width(10_000)
    assert canvas.brush_width() <= CANVAS_SIDE


def test_canvas_keeps_square_when_resized(canvas):
    canvas.resize(500, 300)
    top_left = canvas.map_from_image(QPointF(0, 0))
    bottom_right = canvas.map_from_image(QPointF(CANVAS_SIDE, CANVAS_SIDE))
    width, height = bottom_right.x() - top_left.x(), bottom_right.y() - top_left.y()
    assert width == pytest.approx(height)
    assert height <= 300
    back = canvas.map_to_image(canvas.map_from_image(QPointF(17, 230)))
    assert (back.x(), back.y()) == pytest.approx((17, 230))


def test_clear_and_undo(canvas):
    stroke(canvas, [(60, 60), (200, 60)])
    first = canvas.image_array()
    stroke(canvas, [(60, 200), (200, 200)])
    second = canvas.image_array()
    assert not np.array_equal(first, second)

    changes = []
    canvas.changed.connect(lambda: changes.append(1))
    assert canvas.undo()
    assert np.array_equal(canvas.image_array(), first)
    canvas.clear()
    assert canvas.is_empty()
    assert canvas.undo()  # a clear can be taken back too
    assert np.array_equal(canvas.image_array(), first)
    assert canvas.undo()
    assert canvas.is_empty()
    assert not canvas.undo()  # nothing left: no change, no signal
    assert len(changes) == 4


def test_undo_history_is_bounded(canvas):
    for i in range(UNDO_LIMIT + 5):
        press(canvas, (20 + 4 * (i % 60), 140))
        release(canvas, (20 + 4 * (i % 60), 140))
    undone = 0
    while canvas.undo():
        undone += 1
    assert undone == UNDO_LIMIT
    assert not canvas.is_empty()  # the oldest strokes are beyond reach


def test_load_png_inverts_dark_ink_and_fits(qtbot, canvas, tmp_path):
    path = tmp_path / "digit.png"
    write_digit_png(path, dark_on_light=True)
    stroke(canvas, [(10, 10), (40, 10)])
    before = canvas.image_array()
    with qtbot.waitSignal(canvas.changed, timeout=1000):
        assert canvas.load_image(path)
    image = canvas.image_array()
    # white ink on black, like the canvas: paper is black, ink peaks at white
    assert image[0, 0] == 0 and image[-1, -1] == 0
    assert image.max() == 255
    # scaled to fit: the 120x160 picture fills the full height
    rows = np.nonzero(image.max(axis=1) > 0)[0]
    assert rows.max() - rows.min() > 0.6 * CANVAS_SIDE
    assert canvas.undo()
    assert np.array_equal(canvas.image_array(), before)


def test_load_light_ink_on_black_keeps_polarity(canvas, tmp_path):
    path = tmp_path / "mnist_like.png"
    write_digit_png(path, dark_on_light=False)
    assert canvas.load_image(path)
    image = canvas.image_array()
    assert image[0, 0] == 0 and image.max() == 255


def test_corrupt_file_emits_load_failed_and_leaves_canvas(qtbot, canvas, tmp_path):
    stroke(canvas, [(60, 60), (200, 200)])
    before = canvas.image_array()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a picture")
    changes = []
    canvas.changed.connect(lambda: changes.append(1))
    with qtbot.waitSignal(canvas.loadFailed, timeout=1000) as blocker:
        assert not canvas.load_image(bad)
    assert "broken.png" in blocker.args[0]
    assert np.array_equal(canvas.image_array(), before)
    assert changes == []
    with qtbot.waitSignal(canvas.loadFailed, timeout=1000):
        assert not canvas.load_image(tmp_path / "missing.png")


# Qt 6.12 deprecates the QPoint constructor, but PySide offers no other one yet.
@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_drop_of_an_image_file_loads_it(canvas, tmp_path):
    path = tmp_path / "dropped.png"
    write_digit_png(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    where = QPoint(canvas.width() // 2, canvas.height() // 2)
    enter = QDragEnterEvent(
        where, Qt.DropAction.CopyAction, mime, LEFT, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(where), Qt.DropAction.CopyAction, mime, LEFT, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas, drop)
    assert not canvas.is_empty()

    web = QMimeData()
    web.setUrls([QUrl("https://example.org/digit.png")])
    refused = QDragEnterEvent(
        where, Qt.DropAction.CopyAction, web, LEFT, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas, refused)
    assert not refused.isAccepted()


# --------------------------------------------------------------------------- panel


def test_without_a_model_the_panel_asks_for_one(qtbot, panel):
    stroke(panel.canvas, L_SHAPE)
    result = settle(qtbot, panel)
    assert not result.has_model
    assert result.probabilities is None
    assert result.image.max() == pytest.approx(1.0)  # the preview still shows the input
    assert "model first" in panel._headline.text()


def test_single_neuron_predicts_the_drawing(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    settle(qtbot, panel)
    with qtbot.waitSignal(panel.predicted, timeout=5000):
        stroke(panel.canvas, L_SHAPE)
    result = settle(qtbot, panel)

    assert result.image.shape == (28, 28)
    assert result.image.max() > 0.5  # the preview is not empty
    assert np.isfinite(result.probabilities).all()
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert len(result.probabilities) == 2

    # the logit is Σ w⊙x + b, computed here from the preview the model saw
    z = float(params["weights"] @ result.image.reshape(-1).astype(np.float64)) + 0.0
    assert result.logit == pytest.approx(z, abs=1e-4)
    assert result.contribution_sum == pytest.approx(z, abs=1e-4)
    assert result.probabilities[0] == pytest.approx(1 / (1 + np.exp(-z)))
    assert f"logit {z:.2f}".replace("-", "−") in panel._sum.text()
    assert "Σ w⊙x" in panel._sum.text() and "+ b =" in panel._sum.text()

    assert result.predicted == 0 and result.predicted_name == "left"
    assert panel._headline.text().startswith("Prediction: left (")
    assert np.allclose(result.contribution, params["weights"].reshape(28, 28) * result.image)


def test_mirrored_shape_gives_the_second_class(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    stroke(panel.canvas, MIRRORED_L)
    result = settle(qtbot, panel)
    assert result.logit < 0
    assert result.predicted == 1 and result.predicted_name == "right"
    assert result.probabilities[1] > 0.5
    assert panel._headline.text().startswith("Prediction: right (")


def test_set_model_repredicts_the_current_drawing(qtbot, panel):
    stroke(panel.canvas, L_SHAPE)
    settle(qtbot, panel)
    params, spec = left_right_model()
    with qtbot.waitSignal(panel.predicted, timeout=5000) as blocker:
        panel.set_model(params, spec, ["left", "right"])
    assert blocker.args[0].predicted_name == "left"
    flipped = {"weights": -params["weights"], "bias": params["bias"]}
    panel.set_model(flipped, spec, ["left", "right"])
    assert settle(qtbot, panel).predicted_name == "right"


def test_clear_shows_draw_a_digit(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    stroke(panel.canvas, L_SHAPE)
    assert settle(qtbot, panel).predicted is not None
    panel._clear_button.click()
    result = settle(qtbot, panel)
    assert panel.canvas.is_empty()
    assert result.empty
    assert result.image.max() == 0  # the preview is black
    assert result.probabilities is None and result.predicted is None
    # "left"/"right" are not the digits 0–9: the panel asks for an item
    assert panel.headline_text() == "Draw an item"
    assert "nan" not in panel._detail.text().lower() + panel._sum.text().lower()
    panel.set_model(params, spec, ["3", "7"])
    settle(qtbot, panel)
    assert panel.headline_text() == "Draw a digit"


def test_a_two_class_model_says_it_knows_only_its_two(qtbot, panel):
    """A 0 drawn for the chapter's 3-vs-7 neuron read "Prediction: 7 (86%)" as a verdict
    on a digit it has never seen."""
    params, spec = left_right_model()
    panel.set_model(params, spec, ["3", "7"])
    settle(qtbot, panel)
    assert "knows only “3” and “7”" in panel._detail.text()  # before any drawing
    stroke(panel.canvas, L_SHAPE)
    assert settle(qtbot, panel).predicted is not None
    assert "knows only “3” and “7”" in panel._detail.text()
    assert "called one of the two" in panel._detail.text()


def test_undo_button_restores_previous_prediction(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    stroke(panel.canvas, L_SHAPE)
    first = settle(qtbot, panel)
    assert panel._undo_button.isEnabled()
    stroke(panel.canvas, [(20, 20), (260, 20)])
    settle(qtbot, panel)
    panel._undo_button.click()
    again = settle(qtbot, panel)
    assert np.array_equal(again.image, first.image)
    assert again.logit == pytest.approx(first.logit)


def test_stale_results_are_dropped(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    stroke(panel.canvas, L_SHAPE)
    current = settle(qtbot, panel)
    shown = panel._headline.text()
    old = Prediction(
        generation=current.generation - 1,
        image=np.ones((28, 28), np.float32),
        empty=False,
        has_model=True,
        class_names=("left", "right"),
        probabilities=np.array([0.0, 1.0]),
        predicted=1,
        logits=np.array([-50.0]),
    )
    emitted = []
    panel.predicted.connect(emitted.append)
    assert not panel.handle_result(old)
    assert emitted == []
    assert panel.last_prediction() is current
    assert panel._headline.text() == shown


def test_changes_while_busy_are_coalesced(qtbot, panel, monkeypatch):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    settle(qtbot, panel)
    started = []
    original = panel._start_job
    monkeypatch.setattr(panel, "_start_job", lambda: (started.append(1), original()))
    accepted = []
    panel.predicted.connect(accepted.append)
    # A whole stroke arrives before the event loop runs again: one job, on the next
    # turn, for the finished stroke (none for the drawings it went through).
    stroke(panel.canvas, L_SHAPE)
    assert started == [] and panel.is_busy()
    result = settle(qtbot, panel)
    assert len(started) == 1
    assert [r.generation for r in accepted] == [panel.generation]
    assert result.predicted_name == "left"

    # Changes while a job runs: no second job at once, one more run when it reports.
    import biasviz.gui.draw_panel as draw_panel_module

    slow = draw_panel_module.predict_drawing

    def slowly(*args, **kwargs):
        time.sleep(0.2)
        return slow(*args, **kwargs)

    monkeypatch.setattr(draw_panel_module, "predict_drawing", slowly)
    # slow models (a CNN) predict on the worker thread: as if this one were one
    monkeypatch.setattr(panel, "_runs_inline", lambda _spec: False)
    started.clear()
    accepted.clear()
    stroke(panel.canvas, [(40, 40), (60, 60)])
    qtbot.waitUntil(lambda: len(started) == 1, timeout=5000)
    for _ in range(3):
        stroke(panel.canvas, [(50, 200), (60, 220)])
    assert len(started) == 1
    settle(qtbot, panel)
    assert len(started) == 2
    assert [r.generation for r in accepted] == [panel.generation]


def test_a_quick_models_answer_comes_before_the_stroke_is_painted(qtbot, panel):
    """The prediction reaches the screen with the stroke's own repaint, not a frame
    later (a worker's answer waited for that paint)."""
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    settle(qtbot, panel)
    qtbot.wait(50)  # the relayout (and repaint) that the model's texts under the canvas cause
    order: list[str] = []

    class PaintSpy(QObject):
        def eventFilter(self, _obj, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                order.append("paint")
            return False

    spy = PaintSpy()
    panel.canvas.installEventFilter(spy)
    panel.predicted.connect(lambda _r: order.append("predicted"))
    stroke(panel.canvas, L_SHAPE)
    assert settle(qtbot, panel).predicted_name == "left"
    qtbot.waitUntil(lambda: "paint" in order, timeout=5000)
    assert order.index("predicted") < order.index("paint")
    panel.canvas.removeEventFilter(spy)


def test_ten_class_linear_model_gives_ten_bars(qtbot, panel):
    rng = np.random.default_rng(0)
    params = {
        "weights": rng.normal(0, 0.1, (10, 784)).astype(np.float32),
        "biases": rng.normal(0, 0.1, 10).astype(np.float32),
    }
    spec = ModelSpec(kind="linear", n_outputs=10)
    names = [str(i) for i in range(10)]
    panel.set_model(params, spec, names)
    stroke(panel.canvas, L_SHAPE)
    result = settle(qtbot, panel)
    assert result.probabilities.shape == (10,)
    assert result.probabilities.sum() == pytest.approx(1.0)
    x = result.image.reshape(-1).astype(np.float64)
    logits = params["weights"].astype(np.float64) @ x + params["biases"]
    assert result.predicted == int(np.argmax(logits))
    assert result.logit == pytest.approx(logits[result.predicted], abs=1e-4)
    assert result.contribution_sum + result.bias_term == pytest.approx(result.logit, abs=1e-4)
    heights = panel._bars.opts["height"]
    assert len(heights) == 10 and float(np.sum(heights)) == pytest.approx(1.0)
    assert panel._headline.text().startswith(f"Prediction: {result.predicted_name} (")


@pytest.mark.parametrize(
    ("bias_mode", "expected"), [("per_pixel", "+ Σbᵢ ="), ("none", "+ 0 (no bias)")]
)
def test_sum_line_names_the_bias(qtbot, panel, bias_mode, expected):
    params, _ = left_right_model()
    spec = ModelSpec(bias_mode=bias_mode)
    if bias_mode == "per_pixel":
        params["bias"] = np.full(784, -0.001, np.float32)
    else:
        del params["bias"]
    panel.set_model(params, spec, ["left", "right"])
    stroke(panel.canvas, L_SHAPE)
    result = settle(qtbot, panel)
    assert expected in panel._sum.text()
    assert "✓" in panel._sum.text()
    assert result.contribution_sum + result.bias_term == pytest.approx(result.logit, abs=1e-4)


def test_mlp_hides_the_contribution_map(qtbot, panel):
    spec = ModelSpec(kind="mlp", n_outputs=10, hidden=8)
    rng = np.random.default_rng(1)
    params = {
        name: rng.normal(0, 0.1, shape).astype(np.float32)
        for name, shape in spec.param_shapes().items()
    }
    panel.set_model(params, spec, [str(i) for i in range(10)])
    stroke(panel.canvas, L_SHAPE)
    result = settle(qtbot, panel)
    assert result.contribution is None
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert panel._map_stack.currentIndex() == 1
    assert "look at pixels directly" in panel._map_note.text()


def test_bad_parameters_show_an_error_not_a_crash(qtbot, panel):
    panel.set_model({"weights": np.zeros(10, np.float32)}, ModelSpec(), ["a", "b"])
    stroke(panel.canvas, L_SHAPE)
    result = settle(qtbot, panel)
    assert result.error is not None
    assert panel._headline.text() == "Cannot predict with this model"


def test_load_error_is_shown_in_the_panel(qtbot, panel, tmp_path):
    bad = tmp_path / "nope.png"
    bad.write_bytes(b"garbage")
    panel.canvas.load_image(bad)
    assert "nope.png" in panel._message.text()


def test_pointing_at_a_pixel_reads_its_numbers(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    stroke(panel.canvas, L_SHAPE)
    result = settle(qtbot, panel)
    view = panel._contribution
    ys, xs = np.nonzero(result.image > 0.5)
    row, col = int(ys[0]), int(xs[0])
    where = QPointF(view.mapFromScene(view.item.mapToScene(QPointF(col + 0.5, row + 0.5))))
    event = QMouseEvent(
        QEvent.Type.MouseMove, where, where, NO_BUTTON, NO_BUTTON, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(view.viewport(), event)
    text = panel._readout.text()
    assert f"row {row}, column {col}" in text
    assert f"ink x = {result.image[row, col]:.2f}" in text
    assert "weight w = " in text and "w·x = " in text
