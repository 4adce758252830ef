"""A folder of MNIST-style IDX files (gz or raw)."""

from __future__ import annotations

import os
from pathlib import Path

from biasviz.core.datasets.catalogue import _KINDS, _Kind
from biasviz.core.datasets.types import DIGIT_NAMES, Dataset, ImageSet
from biasviz.core.errors import DatasetError
from biasviz.core.idx import read_idx_images, read_idx_labels

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
