"""Faults: exports that cannot be written (read-only folder or file system, full disk,
a folder in the way), downloads that break half-way, caches that rot, special files, and
exceptions inside the training thread.  Every case gives one clear error; an existing
file at an export's target is byte-identical afterwards; a broken download leaves
nothing that could later be read as data; the app keeps working.

Already covered elsewhere, and not repeated here:

* tests/core/test_paramfiles.py: rename failing (EIO), fsync failing with ENOSPC, a writer
  crashing half-way (npz/pt/png), mkstemp denied, a chmod'ed folder (skipped as root),
  target is a folder / missing folder / unknown type.
* tests/core/test_datasets.py: connection reset half-way then success, failure on a later
  file keeps the finished ones, checksum mismatch, second mirror, truncated cache
  repaired, offline, cancel.
* tests/core/test_training.py: divergence at absurd learning rates and NaN in the data
  stop with a reason and finite parameters; tests/gui/test_main_window.py: the GUI shows
  divergence and recovers, an exception injected mid-epoch reaches the user and Start
  works again.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox
from reliability_helpers import fuzz, record

from biasviz.core import datasets as ds
from biasviz.core import paramfiles
from biasviz.core.datasets import download as dl  # where the downloader looks things up
from biasviz.core.datasets import download_torchvision, find_cached, load_idx_folder
from biasviz.core.errors import DatasetError, ImageError, ParamFileError
from biasviz.core.idx import write_idx
from biasviz.core.paramfiles import FORMATS, ModelFile, export_params, import_params, make_metadata
from biasviz.core.preprocess import load_image_file
from biasviz.core.spec import ModelKind, ModelSpec

REPO = Path(__file__).resolve().parents[2]
EXPORT_EXTS = [ext for ext, _ in FORMATS]
SMALL = ModelSpec()
BIG = ModelSpec(kind=ModelKind.MLP, hidden=256, n_outputs=10)


def model(spec: ModelSpec, seed: int) -> ModelFile:
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s).astype(np.float32) for k, s in spec.param_shapes().items()}
    return ModelFile(spec, params, make_metadata(spec, task="3,7" if spec.n_outputs == 1 else "all"))


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# == exports ===================================================================================
class FailingFile:
    """A file object whose writes fail once ``limit`` bytes are written (or on close)."""

    def __init__(self, real, limit: int | None, code: int, on_close: bool = False) -> None:
        self._real, self._limit, self._code, self._on_close = real, limit, code, on_close
        self._written = 0

    def write(self, data) -> int:
        n = len(memoryview(data))
        if self._limit is not None and self._written + n > self._limit:
            raise OSError(self._code, os.strerror(self._code))
        self._written += n
        return self._real.write(data)

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._real.close()
        if self._on_close and exc[0] is None:
            raise OSError(self._code, os.strerror(self._code))


def _fail_writes(monkeypatch, limit, code, on_close=False):
    real = os.fdopen
    monkeypatch.setattr(paramfiles.os, "fdopen",
                        lambda fd, *a, **k: FailingFile(real(fd, *a, **k), limit, code, on_close))


def _fail_call(monkeypatch, target, name, code):
    def fail(*_a, **_k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(target, name, fail)


EXPORT_FAULTS = {
    # name: (install the fault, words the message must contain)
    "disk full on the first write": (
        lambda mp: _fail_writes(mp, 0, errno.ENOSPC), "disk space"),
    "disk full half-way": (lambda mp: _fail_writes(mp, 700, errno.ENOSPC), "disk space"),
    "disk full when closing": (
        lambda mp: _fail_writes(mp, None, errno.ENOSPC, on_close=True), "disk space"),
    "quota exceeded": (lambda mp: _fail_writes(mp, 100, errno.EDQUOT), "disk space"),
    "I/O error on write": (lambda mp: _fail_writes(mp, 100, errno.EIO), "input/output"),
    "read-only folder (create)": (
        lambda mp: _fail_call(mp, paramfiles.tempfile, "mkstemp", errno.EACCES),
        "permission denied"),
    "read-only file system (create)": (
        lambda mp: _fail_call(mp, paramfiles.tempfile, "mkstemp", errno.EROFS), "read-only"),
    "permission denied on rename": (
        lambda mp: _fail_call(mp, paramfiles.os, "replace", errno.EACCES), "permission denied"),
    "read-only file system on rename": (
        lambda mp: _fail_call(mp, paramfiles.os, "replace", errno.EROFS), "read-only"),
    "disk full on fsync": (
        lambda mp: _fail_call(mp, paramfiles.os, "fsync", errno.ENOSPC), "disk space"),
}


@pytest.mark.parametrize("ext", EXPORT_EXTS)
@pytest.mark.parametrize("fault", list(EXPORT_FAULTS))
def test_export_faults_leave_the_existing_file_intact(tmp_path, monkeypatch, fault, ext):
    target = tmp_path / f"model{ext}"
    export_params(target, model(SMALL, 1))
    before = target.read_bytes()
    install, words = EXPORT_FAULTS[fault]
    install(monkeypatch)
    with pytest.raises(ParamFileError) as info:
        export_params(target, model(BIG, 2))
    monkeypatch.undo()
    message = str(info.value)
    assert words in message.lower() and target.name in message, message
    assert target.read_bytes() == before, "the existing file changed"
    assert listing(tmp_path) == [target.name], "a temporary file was left behind"
    if ext in (".npz", ".pt", ".json"):
        import_params(target)  # and it still reads
    record("faults: export (simulated errno) x format")


def _folder_in_the_way(t: Path) -> Path:
    (t / "model.npz").mkdir()
    return t / "model.npz"


def _file_as_folder(t: Path) -> Path:
    (t / "file").write_bytes(b"x")
    return t / "file" / "model.npz"


BAD_TARGETS = {
    "a folder": _folder_in_the_way,
    "a missing folder": lambda t: t / "nowhere" / "model.npz",
    "a file as its folder": _file_as_folder,
    "a name too long": lambda t: t / ("m" * 300 + ".npz"),
    "a NUL in the name": lambda t: t / "bad\x00name.npz",
    "no extension": lambda t: t / "model",
    "an unknown extension": lambda t: t / "model.docx",
}


@pytest.mark.parametrize("case", list(BAD_TARGETS))
def test_bad_export_targets(tmp_path, case):
    target = BAD_TARGETS[case](tmp_path)
    before = listing(tmp_path)
    with pytest.raises(ParamFileError) as info:
        export_params(target, model(SMALL, 1))
    assert str(info.value).strip()
    assert listing(tmp_path) == before
    record("faults: bad export targets")


def test_names_the_os_refuses_to_look_at(tmp_path):
    """A name over 255 bytes makes Path.exists()/is_dir() raise on Python 3.11: every
    entry point still answers with its own error type."""
    long = tmp_path / ("x" * 300)
    with pytest.raises(ParamFileError, match="too long"):
        import_params(str(long) + ".npz")
    with pytest.raises(ImageError, match="too long"):
        load_image_file(str(long) + ".png")
    with pytest.raises(DatasetError, match="too long"):
        load_idx_folder(long)
    with pytest.raises(DatasetError, match="too long"):
        ds.load_dataset(str(long))
    record("faults: bad export targets", 4)


# -- a real full disk and a real read-only mount, in a private mount namespace ---------------------
REAL_MOUNTS = """
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
from biasviz.core.errors import ParamFileError
from biasviz.core.paramfiles import ModelFile, export_params, make_metadata
from biasviz.core.spec import ModelKind, ModelSpec

base = Path(sys.argv[1])
full, ro = base / "full", base / "ro"
full.mkdir(); ro.mkdir()

def mount(*args):
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode:
        print(json.dumps({"skip": r.stderr.strip()})); sys.exit(0)

def model(spec, seed):
    rng = np.random.default_rng(seed)
    p = {k: rng.standard_normal(s).astype(np.float32) for k, s in spec.param_shapes().items()}
    return ModelFile(spec, p, make_metadata(spec))

small, big = ModelSpec(), ModelSpec(kind=ModelKind.MLP, hidden=256, n_outputs=10)
mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(full))
results = []
for ext in (".npz", ".pt", ".json", ".csv", ".png"):
    target = full / f"m{ext}"
    export_params(target, model(small, 1))
    before = target.read_bytes()
    filler = full / "filler"  # fill the disk, then leave about 64 KiB
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(65536))
    except OSError:
        pass
    os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - 65536))
    try:
        export_params(target, model(big, 2))
        message = None
    except ParamFileError as exc:
        message = str(exc)
    results.append({"case": "full disk " + ext, "message": message,
                    "intact": target.read_bytes() == before,
                    "files": sorted(p.name for p in full.iterdir() if p.name != "filler")})
    filler.unlink(); target.unlink()

(ro / "m.npz").write_bytes(b"")
export_params(ro / "m.npz", model(small, 1))
before = (ro / "m.npz").read_bytes()
mount("--bind", str(ro), str(ro))
mount("-o", "remount,ro,bind", str(ro))
for ext in (".npz", ".json"):
    try:
        export_params(ro / f"m{ext}", model(big, 2))
        message = None
    except ParamFileError as exc:
        message = str(exc)
    results.append({"case": "read-only mount " + ext, "message": message,
                    "intact": (ro / "m.npz").read_bytes() == before,
                    "files": sorted(p.name for p in ro.iterdir())})
print(json.dumps({"results": results}))
"""


def test_real_full_disk_and_read_only_mount(tmp_path):
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        pytest.skip("needs Linux and unshare(1)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        out = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", sys.executable, "-c",
             textwrap.dedent(REAL_MOUNTS), str(tmp_path)],
            capture_output=True, text=True, timeout=180, env=env,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot run unshare: {exc}")
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 and not lines:
        pytest.skip(f"no private mount namespace here: {out.stderr.strip()[:200]}")
    report = json.loads(lines[-1])
    if "skip" in report:
        pytest.skip(f"cannot mount here: {report['skip']}")
    for r in report["results"]:
        assert r["message"] is not None, f"{r['case']}: the export succeeded?"
        wanted = "disk space" if r["case"].startswith("full") else "read-only file system"
        assert wanted in r["message"], r
        assert r["intact"], f"{r['case']}: the existing file changed"
        expected = "m.npz" if r["case"].startswith("read-only") else "m" + r["case"].split()[-1]
        assert r["files"] == [expected], r
        record("faults: real tmpfs full / read-only bind mount")


# == special files =============================================================================
def _special(tmp_path: Path, kind: str, name: str) -> Path:
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "dev-urandom":
        path.symlink_to("/dev/urandom")
    elif kind == "broken-link":
        path.symlink_to(tmp_path / "gone")
    elif kind == "link-loop":
        path.symlink_to(path)
    else:
        path.mkdir()
    return path


SPECIAL = ["fifo", "dev-zero", "dev-urandom", "broken-link", "link-loop", "folder"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", SPECIAL)
def test_special_files_never_hang(tmp_path, kind):
    """FIFOs and devices would block or never end if read: refused at once."""
    started = time.monotonic()
    for ext in (".npz", ".pt", ".json"):
        with pytest.raises(ParamFileError):
            import_params(_special(tmp_path, kind, f"params{ext}"))
    with pytest.raises(ImageError):
        load_image_file(_special(tmp_path, kind, "picture.png"))
    folder = tmp_path / "idx"
    folder.mkdir()
    _write_idx_folder(folder)
    (folder / "train-labels-idx1-ubyte").unlink()
    _special(folder, kind, "train-labels-idx1-ubyte")
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte"):
        load_idx_folder(folder)
    assert time.monotonic() - started < 30
    record("faults: special files (fifo, devices, links)", 5)


def test_unreadable_files_say_so(tmp_path, monkeypatch):
    """Permission denied on reading (simulated: root reads everything)."""
    good = tmp_path / "m.json"
    export_params(good, model(SMALL, 1))
    picture = tmp_path / "p.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")

    def denied(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied", str(good))

    real_open = os.open

    def denied_open(path, *args, **kwargs):  # import reads through one os.open
        if os.fspath(path) == str(good):
            denied()
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied_open)
    monkeypatch.setattr("PIL.Image.open", denied)
    with pytest.raises(ParamFileError, match="Permission denied"):
        import_params(good)
    with pytest.raises(ImageError, match="cannot open it \\(Permission denied\\)"):
        load_image_file(picture)
    record("faults: unreadable files", 2)


# == downloads =================================================================================
IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
MIRROR = "https://mirror.invalid/data/"


def _write_idx_folder(folder: Path, gz: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    arrays = {}
    for prefix, n in (("train", 24), ("t10k", 12)):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, (n, 28, 28), np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte"] = (np.arange(n) % 10).astype(np.uint8)
    for name, a in arrays.items():
        write_idx(folder / (name + (".gz" if gz else "")), a)
    return arrays


class Server:
    """Serves four IDX .gz files; each request can be made to fail in a chosen way."""

    def __init__(self, tmp: Path) -> None:
        src = tmp / "served"
        src.mkdir()
        self.arrays = _write_idx_folder(src, gz=True)
        self.files = {n + ".gz": (src / (n + ".gz")).read_bytes() for n in IDX_NAMES}
        self.faults: dict[str, str] = {}  # file name -> fault, used once
        self.requests: list[str] = []

    def resources(self):
        return tuple((n, hashlib.md5(b).hexdigest()) for n, b in self.files.items())

    def urlopen(self, request, timeout=None):
        url = request.full_url if hasattr(request, "full_url") else request
        name = url.removeprefix(MIRROR)
        self.requests.append(name)
        fault = self.faults.pop(name, None)
        data = self.files[name]
        if fault == "http 500":
            raise urllib.error.HTTPError(url, 500, "Internal Server Error", {}, None)
        if fault == "timeout on connect":
            raise TimeoutError("timed out")
        return Response(data, fault)


class Response:
    def __init__(self, data: bytes, fault: str | None) -> None:
        self._data, self._fault, self._pos = data, fault, 0
        self.headers = {"Content-Length": str(len(data))}
        if fault == "corrupt bytes":
            flipped = bytearray(data)
            flipped[len(data) // 2] ^= 0x40
            self._data = bytes(flipped)

    def read(self, n: int = -1) -> bytes:
        half = len(self._data) // 2
        if self._pos >= half and self._fault in FAIL_MID_READ:
            raise FAIL_MID_READ[self._fault]()
        if self._fault == "silently short" and self._pos >= half:
            return b""
        n = 512 if n < 0 else min(n, 512)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


FAIL_MID_READ = {
    "connection reset": lambda: ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
    "incomplete read": lambda: http.client.IncompleteRead(b"", 1000),
    "read timeout": lambda: TimeoutError("The read operation timed out"),
    "keyboard interrupt": KeyboardInterrupt,
}


@pytest.fixture
def server(tmp_path, monkeypatch):
    srv = Server(tmp_path)
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "_torchvision_source", lambda kind: ds._Source((MIRROR,), srv.resources()))
    monkeypatch.setattr(urllib.request, "urlopen", srv.urlopen)
    monkeypatch.setattr(dl, "DOWNLOAD_CHUNK", 512)
    return srv


def _cache_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "cache"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _assert_served(dataset, srv: Server) -> None:
    np.testing.assert_array_equal(dataset.train.images, srv.arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(dataset.train.labels, srv.arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(dataset.valid.images, srv.arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(dataset.valid.labels, srv.arrays["t10k-labels-idx1-ubyte"])


DOWNLOAD_FAULTS = ["silently short", "corrupt bytes", "incomplete read", "read timeout",
                   "http 500", "timeout on connect", "disk full", "keyboard interrupt"]


@pytest.mark.parametrize("which", [0, 2])
@pytest.mark.parametrize("fault", DOWNLOAD_FAULTS)
def test_broken_download_leaves_nothing_bad_then_succeeds(server, tmp_path, monkeypatch,
                                                          fault, which):
    name = IDX_NAMES[which] + ".gz"
    real_fdopen = os.fdopen
    if fault == "disk full":  # the download itself is fine; saving it is not
        server.files = dict(server.files)
        monkeypatch.setattr(dl.os, "fdopen", lambda fd, *a, **k: FailingFile(
            real_fdopen(fd, *a, **k), 2000 if which == 0 else 0, errno.ENOSPC))
    else:
        server.faults[name] = fault
    if fault == "keyboard interrupt":
        with pytest.raises(KeyboardInterrupt):
            download_torchvision("mnist")
    else:
        with pytest.raises(DatasetError) as info:
            download_torchvision("mnist")
        message = str(info.value)
        assert "\n" not in message, message
        if fault == "disk full":  # said as such, not blamed on the network
            assert "disk is full" in message and "internet" not in message, message
            assert server.requests.count(IDX_NAMES[0] + ".gz") == 1  # no other mirror tried
        else:
            assert name in message, message
    monkeypatch.setattr(dl.os, "fdopen", real_fdopen)
    left = [p.name for p in _cache_files(tmp_path)]
    assert not [n for n in left if n.endswith(".part")], left  # no temporary file
    assert name not in left  # nothing half-written under the real name
    assert not find_cached("mnist")
    # the next attempt, the network healthy again, downloads what is missing
    server.requests.clear()
    _assert_served(download_torchvision("mnist"), server)
    assert name in server.requests and set(server.requests) <= set(server.files)
    record("faults: broken downloads")


@fuzz(ci=40, long=1000)
@given(which=st.sampled_from(IDX_NAMES), damage=st.sampled_from(["flip", "cut", "append", "zero"]),
       where=st.floats(0, 1), value=st.integers(1, 255))
def test_a_damaged_cache_is_never_read_as_good_data(tmp_path_factory, which, damage, where, value):
    """Any damage to a downloaded (.gz) file: the next load gives exactly the served data,
    downloading again what no longer checks out."""
    tmp = tmp_path_factory.mktemp("cache")
    srv = Server(tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIASVIZ_CACHE_DIR", str(tmp / "cache"))
        mp.setattr(dl, "_torchvision_source", lambda kind: ds._Source((MIRROR,), srv.resources()))
        mp.setattr(urllib.request, "urlopen", srv.urlopen)
        download_torchvision("mnist")
        path = tmp / "cache" / "datasets" / "mnist" / "MNIST" / "raw" / (which + ".gz")
        data = bytearray(path.read_bytes())
        i = min(len(data) - 1, int(where * len(data)))
        if damage == "flip":
            data[i] ^= value
        elif damage == "cut":
            del data[i:]
        elif damage == "append":
            data += bytes([value]) * 3
        else:
            data[i:] = bytes(len(data) - i)
        path.write_bytes(bytes(data))
        _assert_served(download_torchvision("mnist"), srv)
    record("faults: damaged download cache")


def test_leftover_partial_files_are_never_read_and_old_ones_are_cleaned(server, tmp_path):
    raw = tmp_path / "cache" / "datasets" / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    old = raw / ".train-images-idx3-ubyte.gz.abc123.part"
    fresh = raw / ".t10k-images-idx3-ubyte.gz.def456.part"
    for p in (old, fresh):
        p.write_bytes(server.files["train-images-idx3-ubyte.gz"][:300])
    past = time.time() - 2 * 3600
    os.utime(old, (past, past))
    assert not find_cached("mnist")
    _assert_served(download_torchvision("mnist"), server)
    assert not old.exists(), "a part file left by a killed download was not cleaned"
    assert fresh.exists(), "a part file that may belong to a running download was deleted"
    record("faults: broken downloads")


def test_damaged_extracted_cache_is_replaced_by_a_checked_download(server, tmp_path):
    """torchvision leaves uncompressed files; if one is damaged, the .gz is fetched
    (and checked) and the damaged file removed."""
    raw = tmp_path / "cache" / "datasets" / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in IDX_NAMES:
        (raw / name).write_bytes(gzip.decompress(server.files[name + ".gz"]))
    bad = raw / "train-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:-3])
    _assert_served(download_torchvision("mnist"), server)
    # extracted files have no published checksum: all four are fetched (and checked)
    assert sorted(server.requests) == sorted(n + ".gz" for n in IDX_NAMES)
    assert sorted(p.name for p in raw.iterdir()) == sorted(n + ".gz" for n in IDX_NAMES)
    record("faults: damaged download cache")


# == in the GUI ================================================================================
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from biasviz.gui.main_window import MainWindow

    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.session.load_engine_now()
    yield w
    w.session.shutdown()


def _boxes(w) -> list[QMessageBox]:
    return [b for b in w.findChildren(QMessageBox) if b.objectName() == "error_box"]


def _dismiss(w) -> list[str]:
    texts = []
    for box in _boxes(w):
        texts.append(box.text())
        box.close()
        box.setObjectName("dismissed")
        box.deleteLater()
    return texts


def test_gui_export_faults_show_an_error_and_keep_the_file(qtbot, window, tmp_path, monkeypatch):
    w = window
    target = tmp_path / "mine.npz"
    assert w.export_to(str(target))
    before = target.read_bytes()
    for fault in ("disk full half-way", "read-only file system on rename",
                  "permission denied on rename"):
        install, words = EXPORT_FAULTS[fault]
        install(monkeypatch)
        assert not w.export_to(str(target))
        monkeypatch.undo()
        texts = _dismiss(w)
        assert len(texts) == 1 and words in texts[0].lower(), texts
        assert target.read_bytes() == before
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine")]
    assert w.export_to(str(target))  # and it works again
    assert import_params(target).spec == w.session.spec
    record("faults: GUI export and import", 3)


def test_gui_import_of_hostile_files_changes_nothing(qtbot, window, tmp_path):
    w, s = window, window.session
    before = s.current_params()
    spec = s.spec
    files = {
        "noise.npz": os.urandom(5000),
        "half.json": json.dumps({"format": "biasviz-params", "params": {}})[:20].encode(),
        "nan.json": json.dumps({"format": "biasviz-params", "params": {
            "weights": {"shape": [784], "values": [float("nan")] * 784},
            "bias": {"shape": [1], "values": [0.0]}}}).encode(),
        "pickle.pt": b"\x80\x02cposix\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03.",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        assert not w.import_from(str(tmp_path / name))
        texts = _dismiss(w)
        assert len(texts) == 1 and name in texts[0], texts
        assert s.spec == spec
        for k, v in before.items():
            np.testing.assert_array_equal(s.snapshot.params[k], v)
    record("faults: GUI export and import", len(files))


@pytest.mark.parametrize("where", ["first batch", "evaluate", "snapshot"])
def test_worker_exceptions_at_other_points(qtbot, window, monkeypatch, where):
    """Complements tests/gui/test_main_window.py (exception mid-epoch): the user sees it,
    the thread ends, Start works again.  Training in a thread of this process (the CNN's
    way, and the fallback), where a fault can be injected; the training process' own
    failures are tested below and in tests/core/test_train_process.py."""
    from biasviz.core.training import TrainConfig, Trainer

    monkeypatch.setenv("BIASVIZ_TRAIN_PROCESS", "0")
    w, s = window, window.session
    s.set_config(TrainConfig(epochs=1, batch_size=64))
    main = threading.main_thread()

    def boom(*_a, **_k):
        raise RuntimeError(f"injected failure in {where}")

    window_trainer = type(s.trainer)  # the window's (the numpy engine's, without torch)
    if where == "evaluate":
        monkeypatch.setattr(window_trainer, "evaluate", boom)
    elif where == "snapshot":
        real = window_trainer.snapshot
        monkeypatch.setattr(window_trainer, "snapshot", lambda self: boom()
                            if threading.current_thread() is not main else real(self))
    else:
        # the first batch's loss: the autograd path's loss_fn, the numpy engine's step
        from biasviz.core import engine_numpy

        monkeypatch.setattr(Trainer, "loss_fn", boom)
        monkeypatch.setattr(engine_numpy.NumpyModel, "step", boom)
    s.start()
    qtbot.waitUntil(lambda: bool(_boxes(w)), timeout=30_000)
    qtbot.waitUntil(lambda: s.state == "ready" and not s.training_thread_alive, timeout=30_000)
    texts = _dismiss(w)
    assert any("injected failure" in t for t in texts), texts
    monkeypatch.undo()
    assert all(np.isfinite(a).all() for a in s.snapshot.params.values())
    s.set_config(TrainConfig(epochs=1))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch >= 1, timeout=30_000)
    assert s.last_accuracy is not None
    record("faults: exceptions inside the training thread")


def test_a_failure_in_the_training_process_reaches_the_user_and_start_works_again(
        qtbot, window, monkeypatch):
    """The child process fails (here: it is sent parameters of the wrong shape): the
    user reads why, nothing shown changes, and the next Start trains."""
    from biasviz.core import train_process
    from biasviz.core.training import TrainConfig

    w, s = window, window.session
    s.set_config(TrainConfig(epochs=1, batch_size=64))
    before = s.current_params()
    real_send = train_process.TrainingProcess._send

    def corrupt(self, message):
        if message[0] == "run":
            state = dict(message[3])
            state["params"] = {**state["params"], "weights": state["params"]["weights"][:5]}
            message = (*message[:3], state, *message[4:])
        return real_send(self, message)

    monkeypatch.setattr(train_process.TrainingProcess, "_send", corrupt)
    s.start()
    qtbot.waitUntil(lambda: bool(_boxes(w)), timeout=30_000)
    qtbot.waitUntil(lambda: s.state == "ready" and not s.training_thread_alive, timeout=30_000)
    texts = _dismiss(w)
    assert any("training failed" in t.lower() and "shape" in t for t in texts), texts
    for k, v in before.items():
        np.testing.assert_array_equal(s.snapshot.params[k], v)
    monkeypatch.undo()
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch == 1, timeout=60_000)
    assert s.history.last_accuracy is not None


def test_gui_broken_dataset_folder_names_the_file_and_keeps_the_sample(qtbot, window, tmp_path):
    w, s = window, window.session
    folder = tmp_path / "digits"
    folder.mkdir()
    _write_idx_folder(folder)
    bad = folder / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    with qtbot.waitSignal(s.datasetLoadFinished, timeout=30_000) as blocker:
        s.load_dataset(str(folder))
    assert blocker.args == [False]
    texts = _dismiss(w)
    assert len(texts) == 1 and "t10k-images-idx3-ubyte" in texts[0], texts
    assert s.dataset.key == "sample"
    record("faults: GUI export and import")
