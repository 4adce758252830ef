"""``biasviz.show(model)`` from a notebook: the parameters go to a private temporary .npz,
the app starts as a separate, detached process (never blocking the kernel, no Qt event
loop in it), a handle comes back; no display gives a clear error, not a silent failure."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import biasviz
from biasviz import notebook
from biasviz.core.errors import BiasvizError, ParamFileError
from biasviz.core.paramfiles import import_params, model_file_from_objects

REPO = Path(__file__).resolve().parents[2]


class FakeProcess:
    """What subprocess.Popen returns, as far as the handle uses it."""

    def __init__(self, pid: int = 4242) -> None:
        self.pid = pid
        self.code: int | None = None
        self.terminated = self.killed = False

    def poll(self) -> int | None:
        return self.code

    def wait(self, timeout: float | None = None) -> int:
        if self.code is None:
            raise subprocess.TimeoutExpired("biasviz", timeout)
        return self.code

    def terminate(self) -> None:
        self.terminated = True
        self.code = -15

    def kill(self) -> None:
        self.killed = True
        self.code = -9


class FakeLauncher:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict]] = []
        self.process = FakeProcess()

    def __call__(self, command, **kwargs):
        # what the app would see: the file is there when it starts
        assert Path(command[3]).is_file()
        self.calls.append((list(command), kwargs))
        return self.process


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """Temporary folders go under tmp_path (to see what is created and left); a display
    is there unless a test takes it away."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("DISPLAY", ":99")
    return tmp_path


def _chapter_neuron():
    torch.manual_seed(0)
    return torch.randn(784, 1), torch.randn(1)


def _mlp():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 8), torch.nn.ReLU(),
                               torch.nn.Linear(8, 10))


@pytest.mark.parametrize("make", [
    _chapter_neuron,  # the chapter's (weights, bias) tensors
    lambda: torch.nn.Linear(784, 1),
    _mlp,
    lambda: {"weights": np.linspace(-1, 1, 784, dtype=np.float32).reshape(28, 28),
             "bias": np.float32(0.5)},
    lambda: model_file_from_objects(_chapter_neuron()),
], ids=["tensors", "linear", "mlp", "dict", "model-file"])
def test_show_writes_the_parameters_and_starts_the_app_detached(make, private_tmp):
    obj = make()
    launcher = FakeLauncher()
    handle = biasviz.show(obj, launcher=launcher)
    (command, kwargs), = launcher.calls
    assert command == [sys.executable, "-m", "biasviz", str(handle.path)]
    assert handle.pid == 4242 and handle.running
    # the parameters, exactly, in a private folder of its own
    folder = handle.path.parent
    assert folder.parent == private_tmp and folder.name.startswith("biasviz-show-")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    expected = model_file_from_objects(obj)
    back = import_params(handle.path)
    assert back.spec == expected.spec
    for name, a in expected.params.items():
        np.testing.assert_array_equal(back.params[name], a)
    # detached, quiet, its output in the log file
    assert kwargs["start_new_session"] is True
    assert kwargs["stdin"] is subprocess.DEVNULL and kwargs["stderr"] is subprocess.STDOUT
    assert Path(kwargs["stdout"].name) == handle.log_path == folder / "biasviz.log"
    assert kwargs["stdout"].closed  # the kernel keeps no descriptor of it
    assert str(REPO) in kwargs["env"]["PYTHONPATH"].split(os.pathsep)
    # close: the app is stopped and the folder removed; twice is harmless
    handle.close()
    assert launcher.process.terminated and not folder.exists()
    handle.close()


def test_wait_and_the_handle_s_report():
    launcher = FakeLauncher()
    handle = notebook.show(_chapter_neuron(), launcher=launcher, app_args=["--tab", "2"])
    assert launcher.calls[0][0][-2:] == ["--tab", "2"]
    assert handle.wait(0.01) is None  # still running: the notebook is not held
    assert "running" in repr(handle) and str(handle.pid) in repr(handle)
    handle.log_path.write_text("Traceback ...\nqt.qpa.xcb: could not connect to display\n")
    launcher.process.code = 1
    assert handle.wait(0.01) == 1 and not handle.running and handle.returncode == 1
    assert "exited with status 1: qt.qpa.xcb: could not connect to display" in repr(handle)
    assert "could not connect" in handle.log()
    handle.close()
    assert not launcher.process.terminated  # it had ended already
    assert not handle.path.parent.exists()


def test_a_running_app_that_ignores_terminate_is_killed():
    launcher = FakeLauncher()
    launcher.process.terminate = lambda: None  # type: ignore[method-assign]
    with notebook.show(_chapter_neuron(), launcher=launcher) as handle:
        pass
    assert launcher.process.killed and not handle.path.parent.exists()


def test_not_a_model_is_refused_before_anything_starts(private_tmp):
    launcher = FakeLauncher()
    with pytest.raises(ParamFileError, match="cannot show this model"):
        biasviz.show("weights.npz", launcher=launcher)
    with pytest.raises(ParamFileError):
        biasviz.show((np.zeros(5), np.zeros(1)), launcher=launcher)
    assert not launcher.calls and not list(private_tmp.iterdir())


def test_no_display_is_a_clear_error_not_a_silent_failure(private_tmp, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    launcher = FakeLauncher()
    with pytest.raises(notebook.NoDisplayError) as info:
        biasviz.show(_chapter_neuron(), launcher=launcher)
    message = str(info.value)
    assert "DISPLAY" in message and "torch.save(model.state_dict()" in message
    assert isinstance(info.value, BiasvizError)
    assert not launcher.calls and not list(private_tmp.iterdir())


@pytest.mark.parametrize("env, platform, can", [
    ({}, "linux", False),
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),  # chosen on purpose
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
    ({"QT_QPA_PLATFORM": "xcb;offscreen"}, "linux", True),
    ({}, "darwin", True),
    ({}, "win32", True),
])
def test_display_problem(env, platform, can):
    assert (notebook.display_problem(env, platform) is None) is can


def test_a_launcher_that_fails_leaves_nothing(private_tmp):
    def broken(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", command[0])

    with pytest.raises(BiasvizError, match="could not start the app"):
        biasviz.show(_chapter_neuron(), launcher=broken)
    assert not list(private_tmp.iterdir())


def test_finished_apps_folders_are_removed_at_the_kernel_s_exit():
    done, running = FakeLauncher(), FakeLauncher()
    first = notebook.show(_chapter_neuron(), launcher=done)
    second = notebook.show(_chapter_neuron(), launcher=running)
    done.process.code = 0
    notebook._cleanup_at_exit()
    assert not first.path.parent.exists()
    assert second.path.exists()  # a running app may not have read its file yet
    second.close()


def test_import_biasviz_stays_cheap():
    code = ("import sys, biasviz; biasviz.show; "
            "print(sorted(m for m in ('numpy', 'torch', 'PySide6', 'biasviz.notebook') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_the_real_app_starts_from_show_and_exits_cleanly(monkeypatch):
    """``python -m biasviz FILE --quit-after-show``, started by show() as a notebook
    would, offscreen: the window comes up on the file's command line and quits."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.delenv("DISPLAY", raising=False)
    handle = biasviz.show(torch.nn.Linear(784, 1), app_args=["--quit-after-show"])
    try:
        code = handle.wait(120)
        assert code == 0, handle.log()
        assert "Traceback" not in handle.log()
    finally:
        handle.close()
    assert not handle.path.parent.exists()
