"""Datasets and tasks: what the models learn from.

Images stay ``uint8`` in memory (full MNIST is about 55 MB that way); training converts
each batch to float on the fly.  Nothing here imports torch: torchvision is imported only
inside the download function.
"""

from __future__ import annotations

from pathlib import Path

from biasviz.core.datasets.catalogue import (  # noqa: F401 - the package's names
    _ALIASES,
    _KINDS,
    DATASET_CHOICES,
    DOWNLOADABLE,
    FASHION_ATTRIBUTION,
    KMNIST_ATTRIBUTION,
    MNIST_ATTRIBUTION,
    SAMPLE_ATTRIBUTION,
    SAMPLE_FILE,
    SAMPLE_NAME,
    SAMPLE_SEED,
    SAMPLE_VALID_FRACTION,
    CancelCallback,
    ProgressCallback,
    _Kind,
    _readonly,
)
from biasviz.core.datasets.download import (  # noqa: F401 - the package's names
    _STALE_PART_S,
    _USER_AGENT,
    _VERIFIED_FILE,
    DOWNLOAD_CHUNK,
    DOWNLOAD_TIMEOUT_S,
    _cache_verified,
    _check_cancel,
    _ChecksumError,
    _content_length,
    _download_file,
    _fetch,
    _kind,
    _md5,
    _Progress,
    _raw_dir,
    _record_verified,
    _remove_stale_parts,
    _SaveError,
    _short_reason,
    _Source,
    _torchvision_dataset,
    _torchvision_source,
    _unverified_hint,
    cache_dir,
    dataset_root,
    download_torchvision,
    find_cached,
    installed_copy,
    installed_copy_in_use,
    installed_name,
    is_installed_copy,
)
from biasviz.core.datasets.folders import (  # noqa: F401 - the package's names
    _IDX_ROLES,
    _exists,
    _find_idx_files,
    _guess_kind,
    _idx_candidates,
    _is_dir,
    _read_folder,
    _read_pair,
    load_idx_folder,
)
from biasviz.core.datasets.sample import (  # noqa: F401 - the package's names
    load_sample,
    sample_split,
)
from biasviz.core.datasets.types import (  # noqa: F401 - the package's names
    DIGIT_NAMES,
    FASHION_NAMES,
    IMAGE_SIDE,
    KMNIST_NAMES,
    N_PIXELS,
    Dataset,
    ImageSet,
    Task,
    TaskData,
    _select,
    make_task_data,
    to_float,
)
from biasviz.core.errors import DatasetError

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
        then cached; read from a system package's copy such as
        /usr/share/datasets/fashion-mnist when there is one) or the path of a folder
        with IDX files.
    progress, cancel
        Passed to :func:`download_torchvision` for the downloadable datasets.

    Raises
    ------
    DatasetError
        Unknown ``spec`` (the message lists the choices) or any loader's failure.
    """
    key = check_dataset_spec(spec)
    if key == "sample":
        return load_sample()
    if key in _KINDS:
        return download_torchvision(key, progress=progress, cancel=cancel)
    return load_idx_folder(Path(key).expanduser())


def check_dataset_spec(spec: str) -> str:
    """The dataset ``spec`` names: a key of :data:`DATASET_CHOICES` (aliases resolved), or
    the folder path as given.  Reads nothing, so a command line can tell a typo (a bad
    argument) from a folder whose files fail to load (bad data) before any work.

    Raises
    ------
    DatasetError
        Neither a known name nor a folder (the message lists the choices).
    """
    text = str(spec).strip()
    key = _ALIASES.get(text.lower(), text.lower())
    if key in DATASET_CHOICES:
        return key
    if text and _is_dir(Path(text).expanduser()):
        return text
    raise DatasetError(
        f"unknown dataset {spec!r}: choose one of {', '.join(DATASET_CHOICES)}, "
        "or give a folder holding MNIST-style IDX files"
    )
