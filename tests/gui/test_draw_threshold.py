"""The Draw tab applies the threshold t of the Neuron & bias tab (pytest-qt, offscreen).

A single neuron calls its first class when z = w·x + b ≥ t, on every tab.  The Draw tab
used to call it when z ≥ 0 whatever t was: with b = 20 and t = 6.907 (p = 0.999) a 7
with z = 5.62 showed "Prediction: 3 (> 99%)" and "z ≥ 0 means “3”".
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from test_canvas import L_SHAPE, left_right_model, settle, stroke

from biasviz.core.decisions import sigmoid
from biasviz.core.drawing import predict_drawing
from biasviz.core.spec import ModelKind, ModelSpec
from biasviz.core.text import MINUS, num, rough_percent

WAIT = 30_000


@pytest.fixture
def panel(draw_panel):
    return draw_panel  # (tests/gui/conftest.py)


def _texts(panel) -> tuple[str, str, str]:
    return panel.headline_text(), panel._detail.text(), panel._sum.text()


def test_predict_drawing_calls_the_first_class_when_z_reaches_t():
    params, spec = left_right_model()
    drawing = np.zeros((280, 280), np.uint8)
    drawing[50:230, 80:100] = 255
    drawing[210:230, 80:200] = 255  # an "L": ink left of its centre, z > 0
    z = predict_drawing(drawing, params, spec, ("left", "right")).logit
    assert z > 0
    above = predict_drawing(drawing, params, spec, ("left", "right"), threshold=z + 1.0)
    assert above.predicted_name == "right" and above.threshold == z + 1.0
    assert above.confidence == pytest.approx(1.0 - sigmoid(z))  # P("right"), as Evaluate
    assert above.logit == pytest.approx(z)  # t moves the decision, never the logit
    at = predict_drawing(drawing, params, spec, ("left", "right"), threshold=z)
    assert at.predicted_name == "left"  # z ≥ t, with equality
    # ten outputs: an argmax, no threshold
    w = np.zeros((10, 784), np.float32)
    w[4] = 0.01
    linear = {"weights": w, "biases": np.zeros(10, np.float32)}
    spec10 = ModelSpec(kind=ModelKind.LINEAR, n_outputs=10)
    names = [str(i) for i in range(10)]
    r = predict_drawing(drawing, linear, spec10, names, threshold=50.0)
    assert r.predicted_name == "4" and r.threshold == 0.0


def test_the_draw_panel_follows_the_threshold_live(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"])
    stroke(panel.canvas, L_SHAPE)
    before = settle(qtbot, panel)
    z = before.logit
    assert z > 0 and before.predicted_name == "left"
    old_texts = _texts(panel)
    assert "z ≥ 0 means “left”" in old_texts[1]

    t = z + 1.0  # the drawing stays; only t moves: "left" needs z ≥ t now
    panel.set_threshold(t)
    after = settle(qtbot, panel)
    headline, detail, sums = _texts(panel)
    assert after.predicted_name == "right"
    assert headline == f"Prediction: right ({rough_percent(1.0 - sigmoid(z))})"
    assert f"z ≥ t = <b>{num(t)}</b>" in detail and "means “left”" in detail
    assert "z ≥ 0" not in detail
    assert f"σ(z) ≥ {sigmoid(t):.3f}" in detail
    # the arithmetic still adds up to the logit, and says it is what t is compared with
    assert f"= logit {num(z)}" in sums and "✓" in sums
    assert f"compared with t: {num(z)} &lt; {num(t)}" in sums.replace("&nbsp;", " ")
    assert "“right”" in sums
    assert "The taller bar" not in panel._bars_box.toolTip()

    below = -(z + 1.0)  # a negative t: written with the typographic minus
    panel.set_threshold(below)
    settle(qtbot, panel)
    headline, detail, sums = _texts(panel)
    assert headline.startswith("Prediction: left (")
    assert f"z ≥ t = <b>{MINUS}{abs(below):.2f}</b>" in detail
    assert "-" not in detail.replace("&nbsp;", " ").replace("font-size", "")

    panel.set_threshold(0.0)  # back to 0: the old prediction and the old words
    again = settle(qtbot, panel)
    assert again.predicted_name == "left"
    assert _texts(panel) == old_texts
    assert "compared with t" not in panel._sum.text()


def test_a_model_change_keeps_the_threshold(qtbot, panel):
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"], threshold=100.0)
    stroke(panel.canvas, L_SHAPE)
    assert settle(qtbot, panel).predicted_name == "right"
    panel.set_model(params, spec, ["left", "right"])  # None: t stays
    assert settle(qtbot, panel).predicted_name == "right"
    panel.set_model(params, spec, ["left", "right"], threshold=0.0)
    assert settle(qtbot, panel).predicted_name == "left"


def _write_seven(path) -> None:
    picture = Image.new("L", (120, 160), 255)
    ImageDraw.Draw(picture).line([(30, 20), (90, 20), (50, 140)], fill=0, width=14)
    picture.save(path)


def test_the_draw_tab_uses_the_windows_threshold(qtbot, window, tmp_path):
    """The tester's case: z = 5.62 (a big bias), p = 0.999 (t = 6.907) set on the Neuron
    & bias tab, a digit on the Draw tab; then t changed while the Draw tab shows."""
    w, s = window, window.session
    qtbot.waitUntil(lambda: s.model.shown_snapshot() is not None
                    and w.decision_panel.mode() == "binary", timeout=WAIT)
    first, second = (str(c) for c in s.model.data.class_names)

    w.tabs.setCurrentIndex(2)  # Draw
    panel = w.draw_panel
    png = tmp_path / "seven.png"
    _write_seven(png)
    assert panel.canvas.load_image(png)
    weighted = settle(qtbot, panel).contribution_sum
    assert s.set_bias(5.62 - weighted)  # z = Σ w⊙x + b = 5.62
    w.tabs.setCurrentIndex(0)
    w.tabs.setCurrentIndex(2)
    plain = settle(qtbot, panel)
    assert plain.logit == pytest.approx(5.62, abs=1e-3)
    assert plain.binary
    assert plain.predicted_name == first
    old_texts = _texts(panel)
    assert old_texts[0] == f"Prediction: {first} (> 99%)"
    assert f"z ≥ 0 means “{first}”" in old_texts[1]

    # p = 0.999 set on the Neuron & bias tab, as the user does: 5.62 < 6.91 means second
    w.tabs.setCurrentIndex(0)
    w.decision_panel.set_probability(0.999)
    assert s.model.threshold == pytest.approx(6.907, abs=1e-3)
    w.tabs.setCurrentIndex(2)
    flipped = settle(qtbot, panel)
    assert flipped.predicted_name == second
    headline, detail, sums = _texts(panel)
    assert headline == f"Prediction: {second} (< 1%)"  # P(second) = 1 − σ(5.62)
    assert f"z ≥ t = <b>6.91</b> (σ(z) ≥ 0.999) means “{first}”" in detail
    assert "compared with t: 5.62 &lt; 6.91" in sums.replace("&nbsp;", " ")
    assert f"“{second}”" in sums and "= logit 5.62" in sums

    # back to 0 while the Draw tab shows (a session file, another view): live
    s.set_threshold(0.0)
    restored = settle(qtbot, panel)
    assert restored.predicted_name == first
    assert _texts(panel) == old_texts
    # and t again, still on the Draw tab
    s.set_threshold(6.907)
    assert settle(qtbot, panel).predicted_name == second


def test_an_untrained_models_prediction_says_it_is_a_guess(qtbot, panel):
    # "Prediction: 4 (56%)" from the random start read as a verdict (a walk-through)
    params, spec = left_right_model()
    panel.set_model(params, spec, ["left", "right"], untrained=True)
    stroke(panel.canvas, L_SHAPE)
    settle(qtbot, panel)
    headline, detail, _ = _texts(panel)
    assert headline.startswith("Prediction:")
    assert "untrained" in detail and "guess" in detail
    panel.set_model(params, spec, ["left", "right"])  # trained (the default)
    settle(qtbot, panel)
    assert "untrained" not in _texts(panel)[1]


def test_the_window_tells_the_draw_tab_whether_its_model_has_trained(qtbot, window):
    w = window
    w.tabs.setCurrentWidget(w.draw_panel)
    stroke(w.draw_panel.canvas, L_SHAPE)
    settle(qtbot, w.draw_panel)
    qtbot.waitUntil(lambda: "untrained" in w.draw_panel._detail.text(), timeout=WAIT)
    s = w.session
    s.set_config(s.config.__class__(epochs=2))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.model.has_trained, timeout=WAIT)
    qtbot.waitUntil(lambda: "untrained" not in w.draw_panel._detail.text()
                    and w.draw_panel.headline_text().startswith("Prediction:"), timeout=WAIT)
