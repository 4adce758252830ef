"""``biasviz.show(model)``: open the app on a notebook's model from a Jupyter cell.

    import biasviz
    window = biasviz.show((weights, bias))   # the fastai chapter's tensors
    window = biasviz.show(model)             # an nn.Module (its state_dict)
    window.close()                           # when done (or just close the window)

The notebook is never blocked and needs no Qt event loop: the parameters are written to
an ``.npz`` in a private temporary folder and the app runs as a separate process
(``python -m biasviz FILE``, detached from the kernel, its output in a log file next to
the parameters).  What comes back is a small :class:`ShowHandle` (pid, path, ``wait``,
``close``, ``log``).

On Linux a window needs a display: without ``DISPLAY`` or ``WAYLAND_DISPLAY`` (a kernel on
a server, in a container, over SSH without X forwarding) :func:`show` raises
:class:`NoDisplayError` saying what to do instead, rather than starting an app that
could only fail where nobody sees it.

Importing this module is cheap (standard library only); numpy and the parameter-file
code are imported by :func:`show`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from biasviz.core.errors import BiasvizError

PARAMS_NAME = "notebook-model.npz"
LOG_NAME = "biasviz.log"
TEMP_PREFIX = "biasviz-show-"
LOG_TAIL_BYTES = 64 * 1024  # what ShowHandle.log() returns at most
# Qt platforms that need a display server; any other QT_QPA_PLATFORM (offscreen, vnc,
# eglfs, linuxfb...) was chosen on purpose and needs no DISPLAY.
_DISPLAY_PLATFORMS = ("", "xcb", "wayland", "wayland-egl")


class NoDisplayError(BiasvizError):
    """There is no display for the app's window here (e.g. a kernel on a server)."""


def display_problem(environ: Mapping[str, str] | None = None,
                    platform: str | None = None) -> str | None:
    """Why a window cannot open from this process, in plain words; None when it can
    (as far as can be told without starting Qt: on Linux, a display server must be
    named in ``DISPLAY`` or ``WAYLAND_DISPLAY``)."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None  # macOS and Windows have their own window systems
    # "wayland;xcb" is a list Qt tries in turn; "xcb:option" passes options
    platforms = [p.split(":", 1)[0].strip().lower()
                 for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    if any(p not in _DISPLAY_PLATFORMS for p in platforms):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "biasviz.show() cannot open a window: this Python has no display (neither DISPLAY "
        "nor WAYLAND_DISPLAY is set, as for a notebook on a server, in a container or over "
        "SSH without X forwarding). Save the model instead - torch.save(model.state_dict(), "
        "'model.pt'), or np.savez('model.npz', weights=weights, bias=bias) - and open that "
        "file where there is a screen: biasviz model.pt"
    )


def _child_env() -> dict[str, str]:
    """The app's environment: this one, plus the folder this biasviz was imported from
    (a notebook may import it from a checkout that is not installed).  An installed
    biasviz is found anyway; its site-packages is not put ahead of the standard library."""
    env = dict(os.environ)
    env.pop("BIASVIZ_DEBUG", None)
    root = Path(__file__).resolve().parent.parent
    if root.name not in ("site-packages", "dist-packages"):
        parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if str(root) not in parts:
            env["PYTHONPATH"] = os.pathsep.join([str(root), *parts])
    return env


def _detached() -> dict[str, Any]:
    """Popen options that detach the app from the kernel: interrupting or restarting the
    kernel does not take the window with it."""
    if sys.platform == "win32":  # pragma: no cover - not tested on this platform
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(
            subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return {"creationflags": flags}
    return {"start_new_session": True}


class ShowHandle:
    """The app started by :func:`show`.

    Attributes: ``pid``, ``path`` (the parameters it opened), ``log_path`` (its output).
    ``wait(timeout)`` waits for the window to be closed; ``close()`` closes it and
    removes the temporary folder.
    """

    def __init__(self, process: Any, path: Path, log_path: Path, folder: Path) -> None:
        self._process = process
        self.pid: int = int(process.pid)
        self.path = path
        self.log_path = log_path
        self._folder = folder
        self._closed = False

    @property
    def running(self) -> bool:
        """Is the app still running (its window open)?"""
        return self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The app's exit status; None while it runs."""
        return self._process.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds (None: until the window is closed) and return
        the app's exit status, or None if it is still running."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self) -> str:
        """What the app printed (the end of it), e.g. why it could not start."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - LOG_TAIL_BYTES))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self, timeout: float = 5.0) -> None:
        """Close the window (terminate the app if it still runs) and remove the temporary
        folder with the parameters and the log.  Safe to call twice."""
        if self._closed:
            return
        if self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._process.terminate()
            if self.wait(timeout) is None:
                with contextlib.suppress(OSError):
                    self._process.kill()
                self.wait(timeout)
        self._closed = True
        _forget(self)
        shutil.rmtree(self._folder, ignore_errors=True)

    def _cleanup_if_done(self) -> None:
        """At the kernel's exit: remove the folder of an app that has ended (a running
        app keeps its file: it may not have read it yet)."""
        if not self._closed and self._process.poll() is not None:
            self._closed = True
            shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> ShowHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        code = self._process.poll()
        if code is None:
            state = "running"
        else:
            state = f"exited with status {code}"
            last = [line for line in self.log().splitlines() if line.strip()]
            if code != 0 and last:
                state += f": {last[-1].strip()}"
        return f"<biasviz window, pid {self.pid}, {state}; showing {self.path}>"


_HANDLES: list[ShowHandle] = []
_HANDLES_LOCK = threading.Lock()
_ATEXIT_REGISTERED = False


def _remember(handle: ShowHandle) -> None:
    global _ATEXIT_REGISTERED
    with _HANDLES_LOCK:
        _HANDLES.append(handle)
        if not _ATEXIT_REGISTERED:
            atexit.register(_cleanup_at_exit)
            _ATEXIT_REGISTERED = True


def _forget(handle: ShowHandle) -> None:
    with _HANDLES_LOCK:
        if handle in _HANDLES:
            _HANDLES.remove(handle)


def _cleanup_at_exit() -> None:
    with _HANDLES_LOCK:
        handles = list(_HANDLES)
    for handle in handles:
        handle._cleanup_if_done()


def show(obj: object, *, activation: str | None = None, app_args: Sequence[str] = (),
         launcher: Callable[..., Any] | None = None) -> ShowHandle:
    """Open the biasviz window on a model from a notebook, without blocking it.

    Parameters
    ----------
    obj
        An ``nn.Module``, a ``(weights, bias)`` tuple (the fastai chapter's tensors), a
        dict of tensors or arrays (a state_dict), or a
        :class:`~biasviz.core.paramfiles.ModelFile`.
    activation
        The hidden layer's activation for a two-layer state_dict that does not say
        (``"relu"``); a module's own ReLU is found by itself.
    app_args
        Extra arguments for the app (``biasviz gui --help`` lists them).
    launcher
        What starts the process, called like :class:`subprocess.Popen` (tests inject a
        fake); default ``subprocess.Popen``.

    Returns
    -------
    ShowHandle
        ``pid``, ``path``, ``wait(timeout)``, ``close()``, ``log()``.

    Raises
    ------
    ParamFileError
        ``obj`` is not a model biasviz can show (the message says how to pass it).
    NoDisplayError
        There is no display to open a window on (Linux without DISPLAY/WAYLAND_DISPLAY).
    """
    from biasviz.core.paramfiles import export_params, model_file_from_objects

    model_file = model_file_from_objects(obj, activation=activation)
    problem = display_problem()
    if problem is not None:
        raise NoDisplayError(problem)
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))  # private: mode 0700
    try:
        path = folder / PARAMS_NAME
        export_params(path, model_file)
        log_path = folder / LOG_NAME
        command = [sys.executable, "-m", "biasviz", str(path), *map(str, app_args)]
        start = launcher if launcher is not None else subprocess.Popen
        with open(log_path, "wb") as log:  # the app keeps its own descriptor
            process = start(command, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, cwd=str(folder), env=_child_env(),
                            close_fds=True, **_detached())
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise BiasvizError(f"biasviz.show() could not start the app: {exc}") from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    handle = ShowHandle(process, path, log_path, folder)
    _remember(handle)
    return handle
