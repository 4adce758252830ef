"""Long and hostile GUI sessions: a seeded random user, and start-then-close, many times.

``test_random_user_session`` drives the real main window the way an impatient user
would: Start/Pause/Stop/Reset/Step in any order, switching model, task and dataset
(the sample, a local IDX folder, a broken folder, a download that fails offline) while
training or not, dragging the decision sliders, drawing and clearing, painting weights,
exporting (to good and bad places) and importing (good and hostile files), opening and
closing lessons and tabs.  Afterwards it asserts that no exception escaped (a
``sys.excepthook`` and ``threading.excepthook`` catcher, plus pytest-qt's own capture of
exceptions in slots and virtual methods), that Qt never said a running thread was
destroyed, that every error box was an expected one, and that the app still trains.

300 actions by default; ``BIASVIZ_LONG_TESTS=1`` makes it 2,000 and
``BIASVIZ_SOAK_SEED=N`` picks another seed (the failing seed and action log are printed).
Three known bugs are pinned by strict xfail tests here; the random user steers around
them (``AVOID_KNOWN_*``) so that it keeps checking everything else.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from reliability_helpers import budget, record

from biasviz.core.idx import write_idx
from biasviz.core.spec import ModelKind, TrainConfig
from biasviz.gui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]
ACTIONS = budget(300, 2000)
SEED = int(os.environ.get("BIASVIZ_SOAK_SEED", "0"))
WAIT = 60_000
LEFT, NO_BUTTON = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

# Two races found by this soak, now fixed and pinned by the tests below: a dataset that
# finished loading while training ran (or after an import) replaced the trainer under the
# user's feet; and after Reset while training, updates the stopped worker had queued put
# the old parameters back on screen.  The flags let the random user avoid those paths
# again should a regression need to be bisected.
AVOID_KNOWN_DATASET_RACE = False
AVOID_KNOWN_RESET_RACE = False

# Error boxes a user can cause on purpose; anything else (e.g. "Training failed") is a bug.
EXPECTED_TITLES = {"Import failed", "Export failed", "Could not load the dataset",
                   "Training diverged"}


def make_idx_folder(folder: Path, n_train: int = 200, n_valid: int = 60) -> Path:
    rng = np.random.default_rng(1)
    folder.mkdir()
    for prefix, n in (("train", n_train), ("t10k", n_valid)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 30, (n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):  # a class-dependent bar: learnable
            images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 250
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def model_is_consistent(s) -> None:
    """When idle, the model the views show is the model the trainer holds."""
    held = s.trainer.snapshot()
    assert held.step == s.snapshot.step, (held.step, s.snapshot.step)
    assert held.spec == s.snapshot.spec == s.spec
    for name, value in held.params.items():
        np.testing.assert_array_equal(value, s.snapshot.params[name], err_msg=name)


class Catcher:
    """Collects exceptions that reach sys.excepthook or threading.excepthook."""

    def __init__(self) -> None:
        self.caught: list[str] = []
        self._sys, self._thread = sys.excepthook, threading.excepthook

    def sys_hook(self, kind, value, tb) -> None:
        self.caught.append(f"{kind.__name__}: {value}")
        self._sys(kind, value, tb)  # pytest-qt's own capture sees it too

    def thread_hook(self, args) -> None:
        self.caught.append(f"thread {args.thread.name}: {args.exc_type.__name__}: "
                           f"{args.exc_value}")
        self._thread(args)


class RandomUser:
    """Picks and performs random actions; remembers what it did and what it expects."""

    def __init__(self, qtbot, window: MainWindow, tmp: Path, seed: int) -> None:
        self.qtbot, self.w, self.s, self.p = qtbot, window, window.session, window.training_panel
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.log: list[str] = []
        self.boxes: list[tuple[str, str]] = []
        self.expected: dict[str, int] = dict.fromkeys(EXPECTED_TITLES, 0)
        self.exports: list[Path] = []
        self.folder = make_idx_folder(tmp / "my-digits")
        self.broken = make_idx_folder(tmp / "broken-digits")
        (self.broken / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00")
        self.hostile = []
        for name, data in (("noise.npz", self.rng.randbytes(3000)), ("cut.json", b'{"format": "bi'),
                           ("pickle.pt", b"\x80\x02cposix\nsystem\nq\x00X\x01\x00\x00\x00xq"
                                         b"\x01\x85q\x02Rq\x03.")):
            (tmp / name).write_bytes(data)
            self.hostile.append(tmp / name)
        self.dialog_folder = ""
        self.loads_started = 0
        self.failing_loads = 0
        self.s.datasetLoading.connect(self._on_loading)
        self._next_load_fails = False
        self.counts: dict[str, int] = {}
        self.cancels_during_loads = 0

    # -- bookkeeping ---------------------------------------------------------------------
    def _on_loading(self, _name: str) -> None:
        self.loads_started += 1
        if self._next_load_fails:
            self.failing_loads += 1

    def dismiss_boxes(self) -> None:
        for box in self.w.findChildren(QMessageBox):
            if box.objectName() != "error_box" or not box.isVisible():
                continue
            self.boxes.append((box.windowTitle(), box.text()))
            self.log.append(f"   error box: {box.windowTitle()}: {box.text()[:80]}")
            box.setObjectName("dismissed")
            box.close()
            box.deleteLater()

    def check_invariants(self) -> None:
        s, w = self.s, self.w
        assert s.state in ("ready", "running", "paused"), s.state
        if s.state == "ready":
            assert not s.training_thread_alive
        for series in (w.session.history.loss, w.session.history.smoothed, w.session.history.bias):
            assert len(series) <= series.capacity
        assert all(np.isfinite(a).all() for a in s.snapshot.params.values())
        if s.state == "ready":
            model_is_consistent(s)

    # -- actions -------------------------------------------------------------------------
    def click(self, button) -> None:
        if button.isVisible() and button.isEnabled():
            self.qtbot.mouseClick(button, LEFT)

    def pick(self, combo) -> None:
        if combo.isEnabled() and combo.count():
            combo.setCurrentIndex(self.rng.randrange(combo.count()))

    def spin(self, box, values) -> None:
        if box.isEnabled():
            box.setValue(self.rng.choice(values))

    def a_start(self) -> None:
        if self.s._loading_dataset and AVOID_KNOWN_DATASET_RACE:
            return  # see test_a_dataset_arriving_during_training_keeps_the_trained_model
        self.click(self.p.start_button)

    def a_pause(self) -> None:
        self.click(self.p.pause_button)

    def a_stop(self) -> None:
        self.click(self.p.stop_button)

    def a_reset(self) -> None:
        if self.s.is_running and AVOID_KNOWN_RESET_RACE:
            return  # see test_reset_while_training_shows_the_reset_model
        self.click(self.p.reset_button)

    def a_step(self) -> None:
        if self.s._loading_dataset and AVOID_KNOWN_DATASET_RACE:
            return
        self.click(self.rng.choice([self.p.step_button, self.p.epoch_button]))

    def a_toolbar(self) -> None:
        if self.s._loading_dataset and AVOID_KNOWN_DATASET_RACE:
            return
        action = self.rng.choice([self.w.start_action, self.w.stop_action, self.w.reset_action])
        if action is self.w.reset_action and self.s.is_running and AVOID_KNOWN_RESET_RACE:
            return
        if action.isEnabled():
            action.trigger()

    def a_model(self) -> None:
        self.pick(self.rng.choice([self.p.model_combo, self.p.model_combo, self.p.bias_combo,
                                   self.p.kernel_combo, self.p.init_combo]))

    def a_model_size(self) -> None:
        if self.rng.random() < 0.5:
            self.spin(self.p.hidden_spin, [1, 3, 16, 48])
        else:
            self.spin(self.p.channels_spin, [1, 2, 4])

    def a_task(self) -> None:
        self.pick(self.rng.choice([self.p.task_combo, self.p.first_combo, self.p.second_combo]))

    def a_training_settings(self) -> None:
        which = self.rng.randrange(5)
        if which == 0:
            self.spin(self.p.lr_spin, [0.01, 0.1, 1.0, 5.0, 1e4])
        elif which == 1:
            self.spin(self.p.batch_spin, [8, 32, 64, 256, 2048])
        elif which == 2:
            self.spin(self.p.epochs_spin, [1, 2, 3])
        elif which == 3:
            self.pick(self.rng.choice([self.p.optimizer_combo, self.p.loss_combo]))
        else:
            if self.p.slow_slider.isEnabled():
                self.p.slow_slider.setValue(self.rng.choice([0, 0, 0, 3, 40]))

    def a_dataset(self) -> None:
        combo = self.p.dataset_combo
        if not combo.isEnabled():
            return
        i = self.rng.randrange(combo.count())
        key = combo.itemData(i)
        self._next_load_fails = key in ("mnist", "fashion-mnist", "kmnist")
        if key == "folder":
            choice = self.rng.choice(["good", "good", "broken", "cancel"])
            self.dialog_folder = {"good": str(self.folder), "broken": str(self.broken),
                                  "cancel": ""}[choice]
            self._next_load_fails = choice == "broken"
        before = self.loads_started
        combo.setCurrentIndex(i)
        combo.activated.emit(i)
        if self.loads_started > before and self._next_load_fails:
            self.expected["Could not load the dataset"] += 1
        self._next_load_fails = False

    def a_cancel_download(self) -> None:
        button = self.p.cancel_download_button
        if self.s._loading_dataset and button.isVisible() and button.isEnabled():
            self.cancels_during_loads += 1  # a failing load may end as "cancelled" instead
        self.click(button)

    def a_decision(self) -> None:
        d = self.w.decision_panel
        r = self.rng.random()
        if d.mode() == "binary":
            if r < 0.3:
                d.set_bias(self.rng.uniform(-30, 30))
            elif r < 0.5:
                d.set_threshold(self.rng.uniform(-8, 8))
            elif r < 0.65:
                d.set_probability(self.rng.random())
            elif r < 0.75:
                d.reset_bias()
            elif d.bias_slider.isEnabled():
                lo, hi = d.bias_slider.minimum(), d.bias_slider.maximum()
                d.bias_slider.setValue(self.rng.randint(lo, hi))
            elif d.threshold_slider.isEnabled():
                lo, hi = d.threshold_slider.minimum(), d.threshold_slider.maximum()
                d.threshold_slider.setValue(self.rng.randint(lo, hi))
        elif d.mode() == "multiclass" and d.is_editable():
            if r < 0.7:
                biases = d.biases() + np.array([self.rng.uniform(-5, 5) for _ in range(10)])
                d.set_biases(biases)
            else:
                d.reset_biases()

    def _mouse(self, kind, point, button, buttons) -> None:
        canvas = self.w.draw_panel.canvas
        pos = canvas.map_from_image(QPointF(*point))
        event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas, event)

    def a_draw(self) -> None:
        canvas = self.w.draw_panel.canvas
        r = self.rng.random()
        if r < 0.5:
            side = canvas.side
            points = [(self.rng.uniform(0, side), self.rng.uniform(0, side)) for _ in range(4)]
            self._mouse(QEvent.Type.MouseButtonPress, points[0], LEFT, LEFT)
            for p in points[1:]:
                self._mouse(QEvent.Type.MouseMove, p, NO_BUTTON, LEFT)
            self._mouse(QEvent.Type.MouseButtonRelease, points[-1], LEFT, NO_BUTTON)
        elif r < 0.7:
            size = self.rng.choice([1, 5, 28, 300])
            canvas.set_image_array(
                np.random.default_rng(self.rng.randrange(1000)).random((size, size // 2 + 1))
            )
        elif r < 0.9:
            self.click(self.w.draw_panel._clear_button)
        else:
            canvas.undo()

    def a_paint(self) -> None:
        w = self.w
        if w.paint_combo.isEnabled() and self.s.spec.kind is ModelKind.SINGLE:
            w.paint_combo.setCurrentIndex(self.rng.randrange(w.paint_combo.count()))
            if w.paint_combo.currentData() is not None and self.s.state != "running":
                weights = self.s.snapshot.params["weights"] + np.float32(
                    self.rng.uniform(-2, 2))
                w.weights_view.weightsPainted.emit(weights)
        elif self.rng.random() < 0.5:
            self.click(w.restore_weights_button)
        else:
            self.pick(w.show_combo)

    def a_tabs(self) -> None:
        tabs = self.w.tabs
        r = self.rng.random()
        if r < 0.4 and self.w.lesson_actions:
            action = self.rng.choice(list(self.w.lesson_actions.values()))
            action.trigger()
        elif r < 0.6 and tabs.count():
            self.w.close_tab(self.rng.randrange(tabs.count()))
        else:
            tabs.setCurrentIndex(self.rng.randrange(tabs.count()))

    def a_export(self) -> None:
        r = self.rng.random()
        if r < 0.15:
            target = self.tmp  # a folder: must fail with a message
            self.expected["Export failed"] += 1
            assert not self.w.export_to(str(target))
            return
        ext = self.rng.choice([".npz", ".pt", ".json", ".csv", ".png"])
        target = self.tmp / f"export-{len(self.log)}{ext}"
        if self.s.snapshot is None:
            return
        assert self.w.export_to(str(target)), "an export to a good place failed"
        if ext in (".npz", ".pt", ".json"):
            self.exports.append(target)

    def a_import(self) -> None:
        if not self.w.import_action.isEnabled():
            return
        if self.s._loading_dataset and AVOID_KNOWN_DATASET_RACE:
            return  # see test_an_import_during_a_dataset_load_is_refused_then_works
        if self.exports and self.rng.random() < 0.6:
            loading = self.s._loading_dataset
            ok = self.w.import_from(str(self.rng.choice(self.exports)))
            # refused (with a message) only while a dataset loads; else it must work
            assert ok != loading, "a good import failed" if not ok else \
                "an import was accepted during a dataset load"
            if loading:
                self.expected["Import failed"] += 1
        else:
            self.expected["Import failed"] += 1
            assert not self.w.import_from(str(self.rng.choice(self.hostile)))

    def a_wait(self) -> None:
        self.qtbot.wait(self.rng.choice([1, 5, 20, 60, 150]))

    ACTIONS = {
        "start": 12, "pause": 6, "stop": 5, "reset": 3, "step": 5, "toolbar": 4,
        "model": 5, "model_size": 2, "task": 5, "training_settings": 5, "dataset": 3,
        "cancel_download": 1, "decision": 8, "draw": 6, "paint": 4, "tabs": 5, "export": 3,
        "import": 3, "wait": 10,
    }

    def step(self, i: int) -> None:
        names = list(self.ACTIONS)
        name = self.rng.choices(names, weights=[self.ACTIONS[n] for n in names])[0]
        self.counts[name] = self.counts.get(name, 0) + 1
        self.log.append(f"{i:5d} {name:<18} state={self.s.state} spec={self.s.spec.kind.value}"
                        f" task={self.s.task.to_text()} data={self.s.dataset.key}")
        getattr(self, "a_" + name)()
        QApplication.processEvents()
        self.dismiss_boxes()


@pytest.fixture
def soak_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))

    def offline(*_a, **_k):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.session.load_engine_now()
    yield w
    w.session.shutdown()


@pytest.mark.timeout(900)
def test_random_user_session(qtbot, qtlog, soak_window, tmp_path, monkeypatch):
    catcher = Catcher()
    monkeypatch.setattr(sys, "excepthook", catcher.sys_hook)
    monkeypatch.setattr(threading, "excepthook", catcher.thread_hook)
    w, s = soak_window, soak_window.session
    user = RandomUser(qtbot, w, tmp_path, SEED)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: user.dialog_folder))
    # The question before a trained model is lost (Reset, a change of model): the user
    # answers it one way or the other (not "Save session first…": no file dialogs here).
    original_exec = QMessageBox.exec

    def answer(box: QMessageBox) -> int:
        if box.objectName() != "discard_box":
            return original_exec(box)
        user.rng.choice([b for b in box.buttons() if "Save" not in b.text()]).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    try:
        for i in range(ACTIONS):
            user.step(i)
            if i % 25 == 24:
                user.check_invariants()
            assert not catcher.caught, catcher.caught

        # wind down: stop training, let dataset loads finish, then a short healthy run
        s.stop()
        qtbot.waitUntil(lambda: s.state == "ready" and not s._loading_dataset, timeout=WAIT)
        QApplication.processEvents()
        user.dismiss_boxes()
        user.check_invariants()
        s.set_config(TrainConfig(epochs=1, lr=0.1, batch_size=64))
        w._on_settings_changed()
        accuracies = []
        s.historyChanged.connect(
            lambda h: h.last_epoch is not None and accuracies.append(h.last_epoch.valid_accuracy)
        )
        s.start()
        qtbot.waitUntil(lambda: s.state == "ready" and bool(accuracies), timeout=WAIT)
        user.dismiss_boxes()
    except BaseException:
        print(f"seed {SEED}; last actions:\n" + "\n".join(user.log[-40:]))
        raise

    titles = [t for t, _ in user.boxes]
    unexpected = [(t, m) for t, m in user.boxes if t not in EXPECTED_TITLES]
    assert not unexpected, unexpected
    for title in ("Import failed", "Export failed"):
        assert titles.count(title) == user.expected[title], (title, titles, user.expected)
    failed_loads = titles.count("Could not load the dataset")
    expected_loads = user.expected["Could not load the dataset"]
    assert expected_loads - user.cancels_during_loads <= failed_loads <= expected_loads, (
        titles, user.expected, user.cancels_during_loads)
    assert not catcher.caught, catcher.caught
    destroyed = [r.message for r in qtlog.records if "Destroyed while thread" in r.message]
    assert not destroyed, destroyed
    assert 0.0 <= accuracies[-1] <= 1.0
    assert s.trainer.epoch >= 1 and s.last_accuracy is not None
    print(f"seed {SEED}: {ACTIONS} actions {user.counts}; error boxes "
          f"{ {t: titles.count(t) for t in set(titles)} }; dataset loads {user.loads_started}; "
          f"final accuracy {accuracies[-1]:.3f}")
    record("gui: random user actions", ACTIONS)
    record("gui: error boxes shown and dismissed (all expected)", len(titles))

    w.close()  # closing after all that: settings saved, thread gone
    assert not s.training_thread_alive


# -- known bug: a dataset that arrives late replaces the model ---------------------------------
@pytest.fixture
def gated_dataset_load(monkeypatch):
    """Dataset loads wait for ``gate.set()``: a slow download, made deterministic."""
    import biasviz.core.datasets as datasets

    gate = threading.Event()
    real = datasets.load_dataset

    def slow(*args, **kwargs):
        gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", slow)
    return gate


def test_start_during_a_dataset_load_waits_for_the_data(qtbot, soak_window, tmp_path,
                                                       gated_dataset_load):
    """Start pressed while a dataset loads is queued, then trains on the new data; the
    data never changes under a running worker (it used to: the views and the trainer
    then disagreed)."""
    s = soak_window.session
    folder = make_idx_folder(tmp_path / "late-digits")
    s.set_config(TrainConfig(epochs=1000, batch_size=8))
    s.load_dataset(str(folder))  # a slow download or a big folder
    s.start()
    qtbot.wait(200)
    assert s.state == "ready" and s.trainer.step == 0, "trained on the old data meanwhile"
    with qtbot.waitSignal(s.datasetLoadFinished, timeout=WAIT):
        gated_dataset_load.set()
    qtbot.waitUntil(lambda: s.state == "running" and s.snapshot.step > 20, timeout=WAIT)
    assert s.dataset.key == "folder" and s.trainer.data is s.data
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    model_is_consistent(s)


def test_an_import_during_a_dataset_load_is_refused_then_works(qtbot, soak_window, tmp_path,
                                                               gated_dataset_load):
    """An import while a dataset loads would be overwritten by the new data's fresh
    model: it is refused with a message, nothing changes, and it works afterwards."""
    w, s = soak_window, soak_window.session
    folder = make_idx_folder(tmp_path / "late-digits")
    s.set_config(TrainConfig(epochs=2))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch == 2, timeout=WAIT)
    model = tmp_path / "trained.npz"
    assert w.export_to(str(model))
    s.reset()
    before = s.current_params()
    s.load_dataset(str(folder))
    assert not w.import_from(str(model))
    boxes = [b for b in w.findChildren(QMessageBox) if b.objectName() == "error_box"]
    assert boxes and "loading" in boxes[-1].text()
    for name, value in before.items():
        np.testing.assert_array_equal(s.snapshot.params[name], value, err_msg=name)
    with qtbot.waitSignal(s.datasetLoadFinished, timeout=WAIT):
        gated_dataset_load.set()
    assert w.import_from(str(model))
    imported = s.current_params()
    qtbot.wait(100)
    for name, value in imported.items():
        np.testing.assert_array_equal(s.snapshot.params[name], value, err_msg=name)


def test_reset_while_training_shows_the_reset_model(qtbot, soak_window):
    """Updates the worker queued before a reset must not bring the old model back."""
    s = soak_window.session
    s.set_config(TrainConfig(epochs=1000, batch_size=8))
    for round_ in range(20):  # the race used to be lost in ~95% of rounds
        s.start()
        qtbot.waitUntil(lambda: s.snapshot.step > 0, timeout=WAIT)
        qtbot.wait(10 * (round_ % 5))
        s.reset()
        qtbot.wait(30)  # queued updates, if any, would arrive now
        assert s.state == "ready"
        model_is_consistent(s)
        assert s.snapshot.step == 0


# -- start, then close at once: many times in one process ------------------------------------------
START_CLOSE = """
import gc, json, sys, time, weakref
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biasviz.gui.main_window import MainWindow

def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0

n, settings, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
modes = ["background-engine", "start", "start-wait", "step", "pause", "dataset-load"]
sizes = []
for i in range(n):
    mode = modes[i % len(modes)]
    w = MainWindow(settings=QSettings(settings, QSettings.Format.IniFormat))
    w.show()
    if mode == "background-engine":  # as the app starts: torch still loading
        w.session.load_engine_in_background()
        w.session.start()  # queued until torch is there
    else:
        w.session.load_engine_now()
        w.training_panel.epochs_spin.setValue(10000)
        if mode == "step":
            w.session.step_batches(3)
        elif mode == "dataset-load":
            w.session.load_dataset(folder)
            w.session.start()
        else:
            w.session.start()
    if mode in ("start-wait", "pause"):
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            app.processEvents()
        if mode == "pause":
            w.session.pause()
            app.processEvents()
    w.close()
    app.processEvents()
    assert not w.session.training_thread_alive, f"round {i} ({mode}): the training thread survived"
    gone = weakref.ref(w)
    w.deleteLater()
    del w
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
    gc.collect()
    assert gone() is None, f"round {i} ({mode}): the closed window was not freed"
    sizes.append(rss())
print(json.dumps({"rounds": n, "rss_mb": sizes}))
"""


@pytest.mark.timeout(600)
def test_start_then_close_many_times(tmp_path):
    rounds = budget(50, 200)
    folder = make_idx_folder(tmp_path / "digits")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                         if p)}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(START_CLOSE), str(rounds),
         str(tmp_path / "s.ini"), str(folder)],
        capture_output=True, text=True, timeout=540, env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "QThread: Destroyed" not in out.stderr
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    sizes = report["rss_mb"]
    assert report["rounds"] == rounds
    growth = sizes[-1] - sizes[min(9, len(sizes) - 1)]
    print(f"{rounds} start/close rounds: RSS {sizes[0]} -> {sizes[-1]} MiB "
          f"(+{growth} MiB after the first 10)")
    assert growth < 100, sizes  # closed windows are freed: no growth per round
    record("gui: start then close at once (rounds)", rounds)
