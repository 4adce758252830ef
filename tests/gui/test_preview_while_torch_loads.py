"""While torch loads (2-4 s after the window opens) the window shows the model about to be
trained, its first parameters computed without torch: a learner saw an empty weights
panel and "Train or load a model to see how its bias decides…" until then."""

from __future__ import annotations

import numpy as np

from biasviz.core.datasets import Task
from biasviz.core.spec import ModelKind, ModelSpec


def test_the_first_model_is_on_show_before_the_engine(window_loading):
    w = window_loading
    assert w.session.state == "loading" and w.session.snapshot is None
    w.session.model.show_preview()
    assert w.session.state == "loading" and not w.session.engine_ready
    shown = w.weights_view.current_weights().ravel()
    assert np.abs(shown).max() > 1.0  # the chapter's std-1 start, not a blank
    text = w.decision_panel.accuracy_label.text()
    assert "%" in text, text
    # nothing can be edited before the engine is there
    editable, why = w.session.model.bias_editable()
    assert not editable and "Loading" in why
    assert not w.session.model.set_bias(3.0)
    # the engine's own first parameters replace them: the same numbers
    w.session.load_engine_now()
    assert w.session.engine_ready
    np.testing.assert_allclose(w.weights_view.current_weights().ravel(), shown,
                               rtol=2e-6, atol=2e-6)
    assert w.decision_panel.accuracy_label.text() == text


def test_a_change_of_model_while_loading_previews_the_new_one(window_loading):
    w = window_loading
    w.session.model.show_preview()
    assert w.session.set_task(Task.all_ten())
    spec = ModelSpec(kind=ModelKind.LINEAR, n_outputs=10, seed=3)
    assert w.session.set_spec(spec)
    assert w.session.snapshot.spec == spec and w.weights_view.tile_count() == 10
    preview = {k: v.copy() for k, v in w.session.snapshot.params.items()}
    w.session.load_engine_now()
    for name, value in w.session.snapshot.params.items():
        np.testing.assert_allclose(value, preview[name], rtol=2e-6, atol=2e-6)
