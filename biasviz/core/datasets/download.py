"""torchvision's MNIST, Fashion-MNIST and KMNIST: downloaded once with checks, then
cached and verified on reuse; a copy a system package installed is read instead of
downloading."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import NamedTuple

from biasviz.core.datasets.catalogue import (
    _ALIASES,
    _KINDS,
    DOWNLOADABLE,
    CancelCallback,
    ProgressCallback,
    _Kind,
)
from biasviz.core.datasets.folders import _find_idx_files, _read_folder
from biasviz.core.datasets.types import Dataset
from biasviz.core.errors import DatasetError, DownloadCancelled

# --- torchvision downloads -----------------------------------------------------------

DOWNLOAD_TIMEOUT_S = 30.0
DOWNLOAD_CHUNK = 1 << 16
_STALE_PART_S = 3600.0
_USER_AGENT = "biasviz dataset downloader"


class _Source(NamedTuple):
    mirrors: tuple[str, ...]
    resources: tuple[tuple[str, str], ...]  # (file name, md5)


def _kind(name: str) -> _Kind:
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _KINDS:
        raise DatasetError(
            f"unknown dataset {name!r}: torchvision downloads are {', '.join(DOWNLOADABLE)}"
        )
    return _KINDS[key]


def _torchvision_source(kind: _Kind) -> _Source:
    """Mirrors and (file, md5) list from torchvision's dataset class (imports torch)."""
    try:
        import torchvision.datasets as tvd
    except ImportError as e:  # pragma: no cover - torchvision is a dependency
        raise DatasetError(
            f"cannot download {kind.name}: torchvision is not installed ({e}). "
            "The bundled sample and local IDX folders still work."
        ) from None
    cls = getattr(tvd, kind.torchvision_class)
    return _Source(tuple(cls.mirrors), tuple((str(f), str(m)) for f, m in cls.resources))


def cache_dir() -> Path:
    """Where biasviz keeps downloads: ``$BIASVIZ_CACHE_DIR`` or the user cache directory."""
    env = os.environ.get("BIASVIZ_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("biasviz"))


def dataset_root(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """torchvision ``root`` for dataset ``name``: ``root`` or ``cache_dir()/datasets/name``."""
    kind = _kind(name)
    if root is not None:
        return Path(root).expanduser()
    return cache_dir() / "datasets" / kind.key


def _raw_dir(kind: _Kind, root: str | os.PathLike[str] | None) -> Path:
    return dataset_root(kind.key, root) / kind.torchvision_class / "raw"


def find_cached(name: str, root: str | os.PathLike[str] | None = None) -> bool:
    """True if all four IDX files of ``name`` are in the cache (raw or ``.gz``).

    Cheap: looks at file names only and does not import torchvision.
    """
    try:
        _find_idx_files(_raw_dir(_kind(name), root), prefer_gz=True)
    except DatasetError:
        return False
    return True


# --- copies installed by a system package --------------------------------------------

#: Folders where system packages install datasets, one sub-folder per dataset named like
#: its key (``fashion-mnist``, ``mnist``, ``kmnist``): Debian's dataset-fashion-mnist puts
#: the four published ``.gz`` files in /usr/share/datasets/fashion-mnist.  A learner with
#: the package and no internet was sent to download what was on the disk already.  Tests
#: replace this with folders of their own.
SYSTEM_DATASET_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)


def installed_copy(name: str) -> Path | None:
    """The first folder in :data:`SYSTEM_DATASET_DIRS` that holds the four IDX files of
    dataset ``name`` (raw or ``.gz``), or None.  Cheap: looks at file names only."""
    kind = _kind(name)
    for parent in SYSTEM_DATASET_DIRS:
        folder = Path(parent) / kind.key
        try:
            _find_idx_files(folder, prefer_gz=True)
        except (DatasetError, OSError):  # absent, incomplete, or not ours to look at
            continue
        return folder
    return None


def installed_copy_in_use(name: str) -> Path | None:
    """The installed copy :func:`download_torchvision` would read for ``name``: none
    when a download is in the cache (it goes first)."""
    return None if find_cached(name) else installed_copy(name)


def local_copy(name: str) -> Path | None:
    """The folder of ``name``'s IDX files on this machine without a download: the
    cache's when it was downloaded before, else an installed copy, else None.  Cheap."""
    if find_cached(name):
        return _raw_dir(_kind(name), None)
    return installed_copy(name)


def is_installed_copy(source: str | os.PathLike[str]) -> bool:
    """Is ``source`` (a loaded dataset's folder) a copy in :data:`SYSTEM_DATASET_DIRS`?"""
    if not source:
        return False
    parent = Path(source).parent
    return any(parent == Path(d) for d in SYSTEM_DATASET_DIRS)


def installed_name(kind_name: str, folder: str | os.PathLike[str]) -> str:
    """What an installed copy is called: "Fashion-MNIST (installed copy in /usr/…)"."""
    return f"{kind_name} (installed copy in {folder})"


def _read_installed(kind: _Kind) -> tuple[Dataset | None, str]:
    """The installed copy of ``kind`` if there is one that reads cleanly, else None and,
    when one was there but could not be read, a sentence for the download's error.

    No checksum is asked of it: the package manager installed and vouches for these
    files (they may be extracted, which torchvision publishes no checksum for), and
    reading them checks that each is complete and that images and labels agree.
    """
    folder = installed_copy(kind.key)
    if folder is None:
        return None, ""
    try:
        train, valid = _read_folder(folder, prefer_gz=True)
    except DatasetError as exc:
        return None, f" The installed copy could not be used either: {exc}."
    return Dataset(
        key=kind.key,
        name=installed_name(kind.name, folder),
        class_names=kind.class_names,
        train=train,
        valid=valid,
        attribution=kind.attribution,
        source=str(folder),
    ), ""


def _md5(path: Path) -> str:
    import hashlib  # here, not at the top: OpenSSL's 3-5 ms at start-up, for downloads

    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _remove_stale_parts(folder: Path) -> None:
    """Delete temporary files that an earlier, killed download left behind."""
    if not folder.is_dir():
        return
    now = time.time()
    for part in folder.glob(".*.part"):
        try:
            if now - part.stat().st_mtime > _STALE_PART_S:
                part.unlink()
        except OSError:
            pass


class _Progress:
    """Adds up bytes over several files for the ``progress(done, total)`` callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.done = 0
        self.expected: int | None = 0

    def start_file(self, size: int | None) -> None:
        # total = bytes finished so far + the size of the file being fetched now
        self.expected = None if size is None else self.done + size
        self.report()

    def add(self, n: int) -> None:
        self.done += n
        self.report()

    def report(self) -> None:
        if self.callback is not None:
            total = self.expected
            if total is not None and total < self.done:
                total = None
            self.callback(self.done, total)


def _check_cancel(cancel: CancelCallback | None, what: str) -> None:
    if cancel is not None and cancel():
        raise DownloadCancelled(f"download of {what} cancelled")


def _content_length(response: object) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _ChecksumError(Exception):
    """A download finished but its md5 is not torchvision's."""


class _SaveError(DatasetError):
    """A downloaded file could not be written to the cache (not a network problem)."""

    @classmethod
    def of(cls, exc: OSError, target: Path) -> _SaveError:
        full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", None))
        reason = "the disk is full" if full else (exc.strerror or str(exc))
        return cls(
            f"cannot save the download {target.name} in {target.parent}: {reason}. "
            "Free some space or set BIASVIZ_CACHE_DIR to a folder with room."
        )


def _fetch(
    url: str,
    target: Path,
    md5: str,
    progress: _Progress,
    cancel: CancelCallback | None,
) -> None:
    """Stream ``url`` to a temporary file beside ``target``, check md5, move into place."""
    import tempfile
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    done_before = progress.done
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
        # A failure to *save* (disk full, read-only cache) is
        # not a network failure: it was reported as one ("check the internet
        # connection") after trying every mirror.  _SaveError is a DatasetError, which
        # _download_file does not catch, so it reaches the user at once.
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                            dir=target.parent)
        except OSError as e:
            raise _SaveError.of(e, target) from e
        tmp = Path(tmp_name)
        try:
            import hashlib

            h = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out:
                progress.start_file(_content_length(response))
                while True:
                    _check_cancel(cancel, target.name)
                    chunk = response.read(DOWNLOAD_CHUNK)
                    if not chunk:
                        break
                    try:
                        out.write(chunk)
                    except OSError as e:
                        raise _SaveError.of(e, target) from e
                    h.update(chunk)
                    progress.add(len(chunk))
                try:
                    out.flush()
                except OSError as e:
                    raise _SaveError.of(e, target) from e
            got = h.hexdigest()
            if got != md5:
                raise _ChecksumError(
                    f"checksum mismatch (md5 {got}, expected {md5}; "
                    f"{progress.done - done_before:,} bytes received)"
                )
            try:
                os.replace(tmp, target)
            except OSError as e:
                raise _SaveError.of(e, target) from e
        except BaseException:
            progress.done = done_before
            tmp.unlink(missing_ok=True)
            raise



def _short_reason(e: BaseException) -> str:
    import http.client
    import urllib.error

    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return str(e.reason)
    if isinstance(e, http.client.IncompleteRead):
        return "connection closed before the file was complete"
    text = str(e) or type(e).__name__
    return text


def _download_file(
    kind: _Kind,
    source: _Source,
    filename: str,
    md5: str,
    raw: Path,
    progress: _Progress,
    cancel: CancelCallback | None,
) -> None:
    import http.client  # network modules load only when a download really starts

    failures = []
    for mirror in source.mirrors:
        url = mirror + filename
        _check_cancel(cancel, kind.name)
        try:
            _fetch(url, raw / filename, md5, progress, cancel)
        except DownloadCancelled:
            raise
        except (OSError, http.client.HTTPException, ValueError, _ChecksumError) as e:
            failures.append(f"{url}: {_short_reason(e)}")
            continue
        # A stale uncompressed copy must not shadow the fresh archive.
        stale = raw / filename.removesuffix(".gz")
        if stale != raw / filename:
            stale.unlink(missing_ok=True)
        return
    raise DatasetError(
        f"could not download {kind.name} file {filename}: " + "; ".join(failures)
        + ". Check the internet connection and try again; the bundled MNIST sample "
        "and local IDX folders work without internet."
    )


def download_torchvision(
    name: str,
    root: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> Dataset:
    """Fetch (or reuse) MNIST, Fashion-MNIST or KMNIST from torchvision's mirrors.

    Files go to ``<root>/<TorchvisionClass>/raw/`` (torchvision's layout), ``root``
    defaulting to :func:`dataset_root`.  When the four IDX files are already there and
    read cleanly the network is not touched; nor is it when a system package installed
    the dataset (:data:`SYSTEM_DATASET_DIRS`): that copy is read where it is, and the
    dataset's ``name`` and ``source`` say so.  Downloads stream to a temporary file,
    are checked against torchvision's md5 and only then renamed into place.

    Parameters
    ----------
    name
        ``"mnist"``, ``"fashion-mnist"`` or ``"kmnist"``.
    root
        Dataset directory (torchvision's ``root``) instead of the cache.
    progress
        Called as ``progress(done_bytes, total_bytes)`` from the calling thread;
        ``done_bytes`` counts all files of this call (it steps back if a mirror fails
        mid-file and the next one starts over); ``total_bytes`` is the bytes expected
        by the end of the file being fetched (``None`` if the server does not say), so
        it grows when the next file starts.
    cancel
        Polled between chunks; returning True stops with :class:`DownloadCancelled`.

    Raises
    ------
    DatasetError
        Network failure, bad checksum or unreadable files.
    DownloadCancelled
        ``cancel()`` returned True.
    """
    kind = _kind(name)
    raw = _raw_dir(kind, root)
    if find_cached(kind.key, root) and _cache_verified(raw):
        try:
            return _torchvision_dataset(kind, raw)
        except DatasetError:
            pass  # damaged cache: download what does not match its checksum
    installed, trouble = _read_installed(kind)
    if installed is not None:
        return installed
    _check_cancel(cancel, kind.name)
    source = _torchvision_source(kind)
    _remove_stale_parts(raw)
    tracker = _Progress(progress)
    verified: dict[str, str] = {}
    for filename, md5 in source.resources:
        target = raw / filename
        if not (target.is_file() and _md5(target) == md5):
            try:
                _download_file(kind, source, filename, md5, raw, tracker, cancel)
            except DownloadCancelled:
                raise
            except DatasetError as exc:
                raise DatasetError(str(exc) + _unverified_hint(raw) + trouble) from None
        verified[filename] = md5
    _record_verified(raw, verified)
    return _torchvision_dataset(kind, raw)


# The checksums a download was verified with, kept next to the files: reusing the cache
# checks each file against them (torchvision's md5 are those of the .gz archives; the
# files it extracts have none, so an extracted-only cache is fetched again).
_VERIFIED_FILE = "biasviz-verified.json"


def _record_verified(raw: Path, md5s: dict[str, str]) -> None:
    import json

    record = {}
    for filename, md5 in md5s.items():
        try:
            record[filename] = {"size": (raw / filename).stat().st_size, "md5": md5}
        except OSError:
            return
    try:
        (raw.parent / _VERIFIED_FILE).write_text(json.dumps(record, indent=1), "utf-8")
    except OSError:
        pass  # a read-only cache still works; the next load verifies against the source


def _cache_verified(raw: Path) -> bool:
    """True when every cached file the loader would read has the size and md5 recorded
    when it was verified."""
    import json

    try:
        files = _find_idx_files(raw, prefer_gz=True)
        text = (raw.parent / _VERIFIED_FILE).read_text("utf-8")
        record = json.loads(text) if len(text) < 100_000 else {}
    except (DatasetError, OSError, ValueError):
        return False
    if not isinstance(record, dict):
        return False
    for path in files.values():
        entry = record.get(path.name)
        try:
            if (not isinstance(entry, dict) or entry.get("size") != path.stat().st_size
                    or entry.get("md5") != _md5(path)):
                return False
        except OSError:
            return False
    return True


def _unverified_hint(raw: Path) -> str:
    """What to say when a download failed but unverifiable files sit in the cache."""
    try:
        _find_idx_files(raw, prefer_gz=False)
    except DatasetError:
        return ""
    return (
        f" The files already in {raw} cannot be used as the download: they do not match "
        "the recorded checksums (torchvision's extracted files have none). To train on "
        f"them as they are, give the folder itself: --dataset {raw}"
    )


def _torchvision_dataset(kind: _Kind, raw: Path) -> Dataset:
    train, valid = _read_folder(raw, prefer_gz=True)
    return Dataset(
        key=kind.key,
        name=kind.name,
        class_names=kind.class_names,
        train=train,
        valid=valid,
        attribution=kind.attribution,
        source=str(raw),
    )
