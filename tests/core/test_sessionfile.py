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


def test_an_imported_model_stays_imported_after_a_round_trip(tmp_path):
    """Saved right after an import, a session reopened with the file's values called
    "initial" ("Reset all to initial"): they are the imported ones."""
    from biasviz.core.paramfiles.model_file import ModelFile

    m = AppModel()
    m.attach_engine()
    params = {"weights": np.full(784, 0.01, np.float32), "bias": np.array([-1.5], np.float32)}
    m.import_model_file(ModelFile(m.spec, params, {}))
    assert m.reference_word == "imported"
    path = tmp_path / "imported.biasviz"
    write_session(path, *m.session_state())
    back = AppModel()
    back.restore_session(*read_session(path), load_sample())
    assert back.reference_word == "imported"
    fresh = AppModel()  # and a session of a model started here stays "initial"
    fresh.attach_engine()
    write_session(path, *fresh.session_state())
    back.restore_session(*read_session(path), load_sample())
    assert back.reference_word == "initial"


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


# -- a session saved while training is paused in the middle of an epoch -----------------------
def _report(model: AppModel, events: list) -> None:
    """What the window's session does with a run's events (history, timeline, snapshot)."""
    from biasviz.core.training import EpochMetrics, StepMetrics

    steps = [e for e in events if isinstance(e, StepMetrics)]
    ends = [e for e in events if isinstance(e, EpochMetrics)]
    for event in steps:
        model.record_step(event, model.trainer.snapshot())
    for event in ends:
        model.record_epoch(event)
    model.training_update(steps, ends, model.trainer.snapshot())


def _step_record(events: list) -> list[tuple]:
    from biasviz.core.training import StepMetrics

    return [(e.step, e.epoch, e.batch, e.batches_per_epoch, e.loss) for e in events
            if isinstance(e, StepMetrics)]


def _epoch_record(events: list) -> list[tuple]:
    from biasviz.core.training import EpochMetrics

    return [(e.epoch, e.step, e.train_loss, e.valid_loss, e.valid_accuracy) for e in events
            if isinstance(e, EpochMetrics)]


MID_EPOCH_CASES = {
    "chapter neuron": (Task.pair(3, 7), ModelSpec(), TrainConfig(epochs=4)),
    "ten-class MLP": (Task.all_ten(), ModelSpec(kind="mlp", n_outputs=10, hidden=8,
                                                init="standard"),
                      TrainConfig(epochs=2, lr=0.1, batch_size=200)),
}


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "training process"])
@pytest.mark.parametrize("case", MID_EPOCH_CASES)
def test_a_session_saved_mid_epoch_goes_on_from_its_next_batch(tmp_path, case, in_process):
    """Saved while paused in the middle of an epoch and opened again, training goes on
    from the epoch's next batch: the same batches, losses, epoch figures and parameters
    as the run that was never interrupted (the window trains in a process of its own;
    without one, in a thread: both are checked)."""
    from biasviz.core.training import Paused, TrainingControl

    task, spec, config = MID_EPOCH_CASES[case]

    def fresh() -> AppModel:
        m = AppModel(task=task, spec=spec, config=config)
        m.attach_engine()
        return m

    process = None
    if in_process:
        from biasviz.core.train_process import TrainingProcess

        process = TrainingProcess()

    def run(model: AppModel, epochs: int, control) -> list:
        """Train, reporting to the model; returns the events up to the first pause."""
        if process is None:
            it = model.trainer.run(epochs, control)
            events = []
            for event in it:
                events.append(event)
                if isinstance(event, Paused):
                    break
            return events, it
        it = process.run(model.trainer, epochs, control)
        events = []
        for report in it:
            events.extend(report.events)
            if report.events and isinstance(report.events[-1], Paused):
                break
        return events, it

    def control():
        return process.control() if process is not None else TrainingControl()

    try:
        reference = fresh()
        expected, _ = run(reference, config.epochs, control())
        per_epoch = reference.trainer.batches_per_epoch
        assert per_epoch > 2

        interrupted = fresh()
        pausing = control()
        stop_at = per_epoch + 2  # two batches into the second epoch
        pausing.step(stop_at)
        interrupted.training_started()
        before, it = run(interrupted, config.epochs, pausing)
        assert isinstance(before[-1], Paused) and before[-1].step == stop_at
        _report(interrupted, before)
        interrupted.training_paused(interrupted.trainer.snapshot())
        path = tmp_path / "paused.biasviz"
        write_session(path, *interrupted.session_state())
        pausing.stop()
        for _rest in it:  # the paused run ends (as quitting the window would end it)
            pass

        reopened = AppModel()
        reopened.restore_session(*read_session(path), load_sample())
        assert reopened.history.last_step.batch == 2  # the progress the window shows
        assert reopened.trainer.batches_left_in_epoch() == per_epoch - 2
        # saved again before training on, it keeps its place too
        write_session(path, *reopened.session_state())
        reopened = AppModel()
        reopened.restore_session(*read_session(path), load_sample())
        assert reopened.trainer.batches_left_in_epoch() == per_epoch - 2

        # the unfinished second epoch and the rest of the run
        reopened.training_started()
        after, _ = run(reopened, config.epochs - 1, control())
        assert _step_record(after)[0][:3] == (stop_at + 1, 2, 3)  # its next batch
        assert _step_record(before) + _step_record(after) == _step_record(expected)
        assert _epoch_record(before) + _epoch_record(after) == _epoch_record(expected)
        for name, value in reference.trainer.snapshot().params.items():
            np.testing.assert_array_equal(reopened.trainer.snapshot().params[name], value)
        # and the run after that, too, starts where the uninterrupted one's would
        more_expected, _ = run(reference, 1, control())
        more, _ = run(reopened, 1, control())
        assert _step_record(more) == _step_record(more_expected)
    finally:
        if process is not None:
            process.close()


def test_a_damaged_position_in_the_epoch_is_refused_and_changes_nothing(tmp_path):
    from biasviz.core.training import Paused, TrainingControl

    m = AppModel()
    m.attach_engine()
    control = TrainingControl()
    control.step(2)
    it = m.trainer.run(3, control)  # kept: a run closed ends its epoch
    for event in it:
        if isinstance(event, Paused):
            break
    meta, arrays = m.session_state()
    assert meta["engine"]["epoch_position"] == 2 and len(arrays["engine/epoch_losses"]) == 2
    other = AppModel()
    other.attach_engine()
    before = other.snapshot
    for position, losses in ((99, 2), (-1, 0), (2, 5)):
        meta["engine"]["epoch_position"] = position
        arrays["engine/epoch_losses"] = np.zeros(losses)
        write_session(tmp_path / "odd.biasviz", meta, arrays)
        with pytest.raises(ParamFileError, match="position in the epoch"):
            other.restore_session(*read_session(tmp_path / "odd.biasviz"), load_sample())
        assert other.snapshot is before
    it.close()


def test_a_new_batch_size_or_a_reset_starts_a_new_epoch_instead(tmp_path):
    """The saved epoch's batches only exist with its batch size: another size (or Reset)
    starts a whole new epoch, as after Stop."""
    from biasviz.core.training import Paused, TrainingControl

    m = AppModel()
    m.attach_engine()
    control = TrainingControl()
    control.step(3)
    it = m.trainer.run(3, control)
    for event in it:
        if isinstance(event, Paused):
            break
    write_session(tmp_path / "p.biasviz", *m.session_state())
    it.close()
    for change in ("batch size", "reset"):
        back = AppModel()
        back.restore_session(*read_session(tmp_path / "p.biasviz"), load_sample())
        per_epoch = back.trainer.batches_per_epoch
        assert back.trainer.batches_left_in_epoch() == per_epoch - 3
        if change == "reset":
            back.reset_model()
        else:
            back.set_config(TrainConfig(batch_size=100))
        assert back.trainer.batches_left_in_epoch() == back.trainer.batches_per_epoch
        first = next(iter(back.trainer.run(1)))
        assert first.batch == 1


def test_a_session_saved_after_step_epoch_counts_that_epoch():
    """Paused at an epoch's end in the training process (Step epoch), the model's snapshot
    (which the session saves as its position) counts the finished epoch: reopened, the
    next epoch is the second, not the first again."""
    from biasviz.core.train_process import TrainingProcess
    from biasviz.core.training import Paused

    m = AppModel()
    m.attach_engine()
    process = TrainingProcess()
    try:
        control = process.control()
        control.step_epoch()
        m.training_started()
        it = process.run(m.trainer, 3, control)
        for report in it:
            m.training_update([], [], report.snapshot)
            if report.events and isinstance(report.events[-1], Paused):
                m.training_paused(None)
                break
        assert m.trainer.epoch == 1 and m.snapshot.epoch == 1
        meta, arrays = m.session_state()
        assert meta["position"] == {"step": m.trainer.batches_per_epoch, "epoch": 1}
        control.stop()
        for _rest in it:
            pass
    finally:
        process.close()
    back = AppModel()
    back.restore_session(meta, arrays, load_sample())
    first = next(iter(back.trainer.run(1)))
    assert (first.epoch, first.batch) == (2, 1)
