"""Sessions from the command line: ``biasviz train --out run.biasviz`` writes the whole run
(history, timeline, initial/trained/current parameters, batch order) the app reopens and
trains on as if never saved; ``biasviz animate run.biasviz`` draws its timeline;
``biasviz info run.biasviz`` describes it, escaping what the file says."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image, ImageSequence

from biasviz.cli import _session_curves, main
from biasviz.core.app_model import AppModel
from biasviz.core.datasets import load_sample
from biasviz.core.paramfiles import import_params
from biasviz.core.sessionfile import read_session, write_session
from biasviz.core.spec import TrainConfig

EPOCHS = 5  # the sample's 3 vs 7: 4 steps an epoch, so 20 steps and 21 moments


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("session") / "run.biasviz"
    assert main(["train", "--epochs", str(EPOCHS), "--out", str(path), "-q"]) == 0
    return path


def _reopen(path) -> AppModel:
    model = AppModel()
    model.restore_session(*read_session(path), load_sample())
    return model


def _train_more(model: AppModel, epochs: int) -> None:
    """Go on training as the window would after opening the session."""
    from biasviz.core.training import EpochMetrics, StepMetrics

    model.set_config(TrainConfig(epochs=epochs))
    model.training_started()
    steps, ends = [], []
    for event in model.trainer.run(epochs):
        if isinstance(event, StepMetrics):
            model.record_step(event, model.trainer.snapshot())
            steps.append(event)
        elif isinstance(event, EpochMetrics):
            model.record_epoch(event)
            ends.append(event)
    model.training_update(steps, ends, model.trainer.snapshot())
    model.training_finished()


def test_train_writes_a_session_with_the_whole_run(session, tmp_path, capsys):
    model = _reopen(session)
    assert model.snapshot.step == 4 * EPOCHS and model.snapshot.epoch == EPOCHS
    assert model.timeline.moments() == list(range(4 * EPOCHS + 1))  # every step and w₀
    assert model.history.n_epochs == EPOCHS and len(model.history.loss) == 4 * EPOCHS
    first = model.timeline.first()
    for name, w0 in model.initial_params.items():
        np.testing.assert_array_equal(first.params[name], w0)
        assert not np.array_equal(model.snapshot.params[name], w0)  # it did train
    # the same run as 'train --out model.npz' (same recipe, same seed)
    npz = tmp_path / "same.npz"
    assert main(["train", "--epochs", str(EPOCHS), "--out", str(npz), "-q"]) == 0
    plain = import_params(npz)
    for name, a in plain.params.items():
        np.testing.assert_array_equal(model.snapshot.params[name], a)
    out = capsys.readouterr().out
    assert f"validation accuracy: {model.history.last_accuracy:.4f}" in out


def test_a_session_goes_on_training_as_if_never_saved(session, tmp_path):
    model = _reopen(session)
    _train_more(model, 2)
    npz = tmp_path / "longer.npz"
    assert main(["train", "--epochs", str(EPOCHS + 2), "--out", str(npz), "-q"]) == 0
    for name, a in import_params(npz).params.items():
        np.testing.assert_array_equal(model.snapshot.params[name], a)


def test_train_session_progress_and_note(tmp_path, capsys):
    path = tmp_path / "Run.BIASVIZ"  # the extension in any case
    assert main(["train", "--epochs", "1", "--out", str(path)]) == 0
    err = capsys.readouterr().err
    assert "saved the session" in err and "5 recorded moments" in err
    assert read_session(path)[0]["position"] == {"step": 4, "epoch": 1}


def test_train_session_out_is_checked_before_training(tmp_path, capsys):
    target = tmp_path / "missing" / "run.biasviz"
    assert main(["train", "--epochs", "1", "--out", str(target)]) == 1
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and "epoch 1/1" not in captured.err
    assert not (tmp_path / "missing").exists()


def test_an_interrupted_session_run_writes_nothing(tmp_path, monkeypatch, capsys):
    from biasviz.core import train_loop as training

    def interrupted_run(self, epochs=None, control=None):
        yield training.StepMetrics(1, 1, 1, 4, 0.5, 0.0)
        raise KeyboardInterrupt

    monkeypatch.setattr(training.TrainerCore, "run", interrupted_run)
    assert main(["train", "--out", str(tmp_path / "run.biasviz")]) == 130
    assert "nothing was written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_session_run_writes_nothing(tmp_path, capsys):
    path = tmp_path / "run.biasviz"
    assert main(["train", "--loss", "bce", "--lr", "1e38", "--epochs", "3", "-q",
                 "--out", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("biasviz: error: training diverged") and "nothing was written" in err
    assert not path.exists()


def test_a_ten_class_mlp_session_animates_as_tiles(tmp_path, capsys):
    path = tmp_path / "mlp.biasviz"
    assert main(["train", "--task", "all", "--model", "mlp", "--hidden", "4", "--epochs", "1",
                 "--batch-size", "256", "--out", str(path), "-q"]) == 0
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "MLP: 784 → 4 (ReLU) → 10" in out and "all ten classes" in out
    gif = tmp_path / "mlp.gif"
    assert main(["animate", str(path), "--out", str(gif), "--frames", "4", "--size",
                 "480x270", "-q"]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 4


# -- animate ---------------------------------------------------------------------------------
def _frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def test_animate_a_session_writes_the_requested_frames(session, tmp_path, capsys):
    gif = tmp_path / "run.gif"
    code = main(["animate", str(session), "--out", str(gif), "--frames", "8", "--size",
                 "480x270", "--fps", "5", "--show", "both"])
    assert code == 0
    out = capsys.readouterr().out
    assert "8 frames" in out and "480x270" in out and "steps 0 to 20" in out
    with Image.open(gif) as im:
        assert im.n_frames == 8 and im.size == (480, 270)
    frames = _frames(gif)
    changed = [np.any(a != b) for a, b in zip(frames, frames[1:], strict=False)]
    assert all(changed)  # every frame is a later moment of training


def test_animate_a_session_with_fewer_moments_than_asked(session, tmp_path, capsys):
    gif = tmp_path / "all.gif"
    assert main(["animate", str(session), "--out", str(gif), "--frames", "50", "--size",
                 "480x270", "--last-step", "6"]) == 0
    assert "only 7 moments" in capsys.readouterr().err  # steps 0..6
    with Image.open(gif) as im:
        assert im.n_frames == 7


def test_session_curves_put_each_epoch_s_accuracy_at_its_step(session):
    model = _reopen(session)
    curves = _session_curves(model.history, model.timeline)
    np.testing.assert_array_equal(curves.accuracy_steps, [4, 8, 12, 16, 20])
    np.testing.assert_array_equal(curves.accuracies, model.history.accuracy.y)
    np.testing.assert_array_equal(curves.loss_steps, np.arange(1, 21))
    np.testing.assert_array_equal(curves.losses, model.history.loss.y)


@pytest.mark.parametrize("extra, message", [
    (["--train"], "not both"),
    (["--epochs", "3"], "--epochs: for --train only"),
    (["--dataset", "mnist", "--lr", "0.5"], "--dataset, --lr: for --train only"),
    (["--budget", "8"], "--budget: for --train only"),
])
def test_animate_a_session_refuses_run_options(session, tmp_path, capsys, extra, message):
    gif = tmp_path / "x.gif"
    assert main(["animate", str(session), "--out", str(gif), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("biasviz: error:") and message in err and err.count("\n") == 1
    assert not gif.exists()


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    (b"not a zip at all", "not a zip archive"),
])
def test_animate_a_bad_session_is_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.biasviz"
    if content is not None:
        path.write_bytes(content)
    gif = tmp_path / "x.gif"
    assert main(["animate", str(path), "--out", str(gif)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("biasviz: error:") and message in err and err.count("\n") == 1
    assert not gif.exists()


# -- info ------------------------------------------------------------------------------------
def test_info_describes_a_session(session, capsys):
    assert main(["info", str(session)]) == 0
    out = capsys.readouterr().out
    model = _reopen(session)
    assert "MNIST sample (5,000 digits), bundled with biasviz" in out
    assert "task:            3 vs 7" in out
    assert "Single neuron, one bias" in out
    assert "20 steps, 5 epochs" in out
    assert f"{model.history.last_accuracy:.4f} (validation, after epoch 5, step 20)" in out
    assert "21 moments, steps 0 to 20 (every step; 5 epoch ends)" in out
    assert "MiB of its 64 MiB budget" in out
    assert "weights  (784,)" in out and "total         784        1        785" in out
    assert "edited" not in out  # nothing changed by hand


def _rewrite(session, tmp_path, change) -> str:
    meta, arrays = read_session(session)
    change(meta, arrays)
    path = tmp_path / "changed.biasviz"
    write_session(path, meta, arrays)
    return str(path)


def test_info_escapes_control_characters_from_the_file(session, tmp_path, capsys):
    hostile = "\x1b]0;owned\x07\x1b[2J\rfake line\nnext\u202e"

    def change(meta, arrays):
        meta["dataset"]["name"] = hostile
        meta["dataset"]["key"] = "folder"
        meta["dataset"]["source"] = "/data/" + hostile
        meta["view"] = {"show": hostile}

    path = _rewrite(session, tmp_path, change)
    assert main(["info", path]) == 0
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\x1b\x07\r\u202e")
    assert "\\x1b]0;owned\\x07" in out and "\\u202e" in out
    assert all(line.startswith(("file:", "session:", "parameter", "  ")) for line in
               out.splitlines())  # no line of the file's own making


def test_info_says_what_was_edited_by_hand(session, tmp_path, capsys):
    def change(meta, arrays):
        arrays["params/current/bias"] = arrays["params/current/bias"] + 1.0

    assert main(["info", _rewrite(session, tmp_path, change)]) == 0
    assert "edited:          bias changed by hand after training" in capsys.readouterr().out


@pytest.mark.parametrize("change, message", [
    (lambda meta, arrays: meta.pop("spec"), "'spec' is missing"),
    (lambda meta, arrays: meta.update(task="all"), "does not fit its task"),
    (lambda meta, arrays: arrays.update({"params/current/weights": np.zeros(3, np.float32)}),
     "weights has shape (3,)"),
    (lambda meta, arrays: arrays.update({"timeline/params/weights": np.zeros((21, 5), "f4"),
                                         "timeline/last_update/weights": np.zeros((21, 5), "f4")}),
     "weights has shape (5,)"),
    (lambda meta, arrays: arrays.update({"timeline/steps": np.zeros(21, np.int64)}),
     "timeline is damaged: the steps are not increasing"),
])
def test_info_and_animate_refuse_a_session_that_does_not_fit(session, tmp_path, capsys,
                                                             change, message):
    path = _rewrite(session, tmp_path, change)
    for args in (["info", path], ["animate", path, "--out", str(tmp_path / "x.gif")]):
        assert main(args) == 1
        err = capsys.readouterr().err
        assert err.startswith("biasviz: error: cannot open session changed.biasviz")
        assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.gif").exists()


def _meta_paths(d: dict, prefix: tuple = ()):
    for key, value in d.items():
        if not prefix and key in ("format", "version", "arrays"):
            continue  # read_session's own checks (tests/core/test_sessionfile.py)
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _meta_paths(value, (*prefix, key))


def test_info_on_every_damaged_description_value_is_one_line_or_a_description(
        session, capsys, monkeypatch):
    """Every value of session.json replaced by a wrong type: ``info`` describes the file or
    refuses it in one line (exit 1); it never crashes or prints the value raw.  (The zip
    layer is skipped here: read_session hands the damaged description over.)"""
    from biasviz.core import sessionfile

    meta0, arrays = read_session(session)
    damaged: list[dict] = []
    monkeypatch.setattr(sessionfile, "read_session", lambda _path: (damaged[-1], arrays))
    tried = 0
    for keys in _meta_paths(meta0):
        for bad in (None, "\x1b[2Jx", [1, {"a": 2}]):
            meta = copy.deepcopy(meta0)
            target = meta
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = bad
            damaged.append(meta)
            code = main(["info", "damaged.biasviz"])
            out, err = capsys.readouterr()
            assert code in (0, 1), (keys, bad)
            if code == 1:
                assert err.startswith("biasviz: error:") and err.count("\n") == 1, (keys, err)
            assert "\x1b" not in out + err, keys
            tried += 1
    assert tried > 100
