"""The bundled MNIST sample (works offline)."""

from __future__ import annotations

import functools

import numpy as np

from biasviz.core.datasets.catalogue import (
    SAMPLE_ATTRIBUTION,
    SAMPLE_FILE,
    SAMPLE_NAME,
    SAMPLE_SEED,
    SAMPLE_VALID_FRACTION,
    _readonly,
)
from biasviz.core.datasets.types import DIGIT_NAMES, IMAGE_SIDE, Dataset, ImageSet
from biasviz.core.errors import BiasvizError, DatasetError
from biasviz.core.resources import resource_path

# --- the bundled sample --------------------------------------------------------------

#: :func:`sample_split`'s result for the bundled sample, stored beside it (arrays
#: ``train`` and ``valid``, written by scripts/convert_sample.py): reading it spares the
#: start-up ``numpy.random``, and OpenSSL with it (~10 ms of the 0.6 s to the window).
SAMPLE_SPLIT_FILE = "mnist_sample_split.npz"


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
    # the labels present, ascending (np.unique would import numpy.ma: 10 ms of start-up)
    for c in np.flatnonzero(np.bincount(labels)):
        members = by_pick[labels[by_pick] == c]  # this class, in key order
        in_valid[members[: members.size // SAMPLE_VALID_FRACTION]] = True
    return order[~in_valid[order]], order[in_valid[order]]


def _stored_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The split stored in :data:`SAMPLE_SPLIT_FILE`, or None when it is missing or does
    not fit ``labels`` (then :func:`sample_split` makes it).  It fits when it uses every
    image once and puts a fifth of each class in validation, as the split does."""
    try:
        with np.load(resource_path(SAMPLE_SPLIT_FILE), allow_pickle=False) as npz:
            train = npz["train"].astype(np.intp)
            valid = npz["valid"].astype(np.intp)
    except (BiasvizError, OSError, ValueError, KeyError):
        return None
    n = labels.shape[0]
    both = np.concatenate([train, valid])
    if both.shape != (n,) or not np.array_equal(np.sort(both), np.arange(n)):
        return None
    counts = np.bincount(labels, minlength=10)
    if not np.array_equal(np.bincount(labels[valid], minlength=counts.size),
                          counts // SAMPLE_VALID_FRACTION):
        return None
    return train, valid


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
    train_idx, valid_idx = _stored_split(labels) or sample_split(labels)
    return Dataset(
        key="sample",
        name=SAMPLE_NAME,
        class_names=DIGIT_NAMES,
        train=ImageSet(_readonly(images[train_idx]), _readonly(labels[train_idx])),
        valid=ImageSet(_readonly(images[valid_idx]), _readonly(labels[valid_idx])),
        attribution=SAMPLE_ATTRIBUTION,
        source=str(path),
    )
