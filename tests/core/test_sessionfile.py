"""Session files: a saved session reopens as it was, and training goes on from it with the
same result as a run that was never saved; hostile files are refused like parameter
files are."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from biasviz.core.app_model import AppModel, dataset_fingerprint
from biasviz.core.datasets import Task, load_sample
from biasviz.core.errors import ParamFileError
from biasviz.core.sessionfile import read_session, write_session
from biasviz.core.spec import ModelSpec, TrainConfig


def train(model: AppModel, epochs: int) -> None:
    """Run the model's trainer the way the window does, recording the timeline."""
    from biasviz.core.training import EpochMetrics, StepMetrics

    model.set_config(TrainConfig(epochs=epochs))
    model.training_started()
    steps, ends = [], []
    for event in model.trainer.run(epochs):
        if isinstance(event, StepMetrics):
            snap = model.trainer.snapshot()
            model.record_step(event, snap)
            steps.append(event)
        elif isinstance(event, EpochMetrics):
            model.record_epoch(event)
            ends.append(event)
    model.training_update(steps, ends, model.trainer.snapshot())
    model.training_finished()


@pytest.fixture
def trained() -> AppModel:
    m = AppModel()
    m.attach_engine()
    train(m, 3)
    m.set_threshold(0.75)
    return m


def test_round_trip_is_exact_and_training_goes_on_as_if_never_saved(trained, tmp_path):
    path = tmp_path / "run.biasviz"
    meta, arrays = trained.session_state(view={"tab": 2, "show": "delta"})
    write_session(path, meta, arrays)
    meta2, arrays2 = read_session(path)
    reopened = AppModel()
    view = reopened.restore_session(meta2, arrays2, load_sample())
    assert view == {"tab": 2, "show": "delta"}
    for name, a in trained.snapshot.params.items():
        np.testing.assert_array_equal(reopened.snapshot.params[name], a)
        np.testing.assert_array_equal(reopened.initial_params[name], trained.initial_params[name])
    assert reopened.threshold == 0.75
    assert reopened.snapshot.step == trained.snapshot.step
    np.testing.assert_array_equal(reopened.history.loss.y, trained.history.loss.y)
    np.testing.assert_array_equal(reopened.history.accuracy.y, trained.history.accuracy.y)
    assert reopened.timeline.moments() == trained.timeline.moments()
    # continuing: two more epochs on each, from the same batch-order state
    train(trained, 2)
    train(reopened, 2)
    for name, a in trained.snapshot.params.items():
        np.testing.assert_array_equal(reopened.snapshot.params[name], a)
    assert reopened.history.last_accuracy == trained.history.last_accuracy


def test_a_ten_class_mlp_session_round_trips(tmp_path):
    m = AppModel(task=Task.all_ten(), spec=ModelSpec(kind="mlp", n_outputs=10, hidden=8,
                                                     init="standard"))
    m.attach_engine()
    m.set_config(TrainConfig(lr=0.1))
    train(m, 1)
    path = tmp_path / "mlp.biasviz"
    write_session(path, *m.session_state())
    back = AppModel()
    back.restore_session(*read_session(path), load_sample())
    assert back.spec == m.spec and back.task == Task.all_ten()
    np.testing.assert_array_equal(back.snapshot.params["hidden.weights"],
                                  m.snapshot.params["hidden.weights"])


def test_fingerprint_notices_a_changed_dataset():
    ds = load_sample()
    same = dataset_fingerprint(ds)
    assert dataset_fingerprint(load_sample()) == same
    from dataclasses import replace

    from biasviz.core.datasets import ImageSet

    images = ds.train.images.copy()
    images[0, 14, 14] ^= 0xFF
    changed = replace(ds, train=ImageSet(images, ds.train.labels))
    assert dataset_fingerprint(changed) != same


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("content, words", [
    (b"not a zip", "not a zip"),
    (_zip({"other.txt": b"x"}), "no session.json"),
    (_zip({"session.json": b'{"format": "something-else", "version": 1}'}), "not a biasviz"),
    (_zip({"session.json": b'{"format": "biasviz-session", "version": 99}'}), "version 99"),
    (_zip({"session.json": b'{"format": "biasviz-session", "version": 1, "arrays": ["a"]}'}),
     "missing"),
    (_zip({"session.json": b"[" * 100_000}), ""),
    (_zip({"session.json": b"{}"}, method=zipfile.ZIP_BZIP2), "compression"),
])
def test_hostile_or_damaged_files_are_refused(tmp_path, content, words):
    path = tmp_path / "bad.biasviz"
    path.write_bytes(content)
    with pytest.raises(ParamFileError) as info:
        read_session(path)
    assert words in str(info.value)


def test_pickled_arrays_are_refused(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    path = tmp_path / "pickle.biasviz"
    path.write_bytes(_zip({
        "session.json": b'{"format": "biasviz-session", "version": 1, "arrays": ["p"]}',
        "arrays/p.npy": buf.getvalue(),
    }))
    with pytest.raises(ParamFileError, match="numbers only"):
        read_session(path)


def test_a_session_that_does_not_fit_together_changes_nothing(trained, tmp_path):
    meta, arrays = trained.session_state()
    arrays["params/current/weights"] = np.zeros(10, np.float32)  # wrong shape
    path = tmp_path / "broken.biasviz"
    write_session(path, meta, arrays)
    other = AppModel()
    other.attach_engine()
    before = other.snapshot.params["weights"].copy()
    with pytest.raises(ParamFileError, match="cannot open this session"):
        other.restore_session(*read_session(path), load_sample())
    np.testing.assert_array_equal(other.snapshot.params["weights"], before)


def test_scrubbing_shows_the_recorded_moment_and_branching_cuts_history(trained):
    m = trained
    steps = m.timeline.moments()
    k = steps[len(steps) // 2]
    m.scrub_to(k)
    shown = m.shown_snapshot()
    moment = m.timeline.nearest(k)
    assert shown.step == k
    np.testing.assert_array_equal(shown.params["weights"], moment.params["weights"])
    assert not m.bias_editable()[0]
    m.scrub_to(None)
    assert m.shown_snapshot() is m.snapshot
    m.scrub_to(k)
    assert m.branch_from_scrub() == k
    assert m.snapshot.step == k and m.trainer.step == k
    assert m.timeline.moments()[-1] == k
    assert m.history.loss.x[-1] <= k
    train(m, 1)
    assert m.snapshot.step == k + m.trainer.batches_per_epoch


def test_damaged_history_records_are_refused(trained, tmp_path):
    meta, arrays = trained.session_state()
    assert meta["dataset"]["class_names"] == list(trained.dataset.class_names)
    meta["history"]["last_epoch"]["valid_accuracy"] = "high"
    path = tmp_path / "odd.biasviz"
    write_session(path, meta, arrays)
    with pytest.raises(ParamFileError, match="not a number"):
        AppModel().restore_session(*read_session(path), load_sample())
