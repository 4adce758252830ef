"""Datasets a system package installed (Debian's dataset-fashion-mnist in
/usr/share/datasets/fashion-mnist) are read where they are instead of downloaded: a
learner with the package and no internet got "could not download Fashion-MNIST file
train-images-idx3-ubyte.gz … Check the internet connection".

The system locations are replaced by folders built here (gzip and plain IDX files), so
nothing depends on what this machine has installed; the network is never used.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from biasviz.core.datasets import (
    DIGIT_NAMES,
    FASHION_NAMES,
    KMNIST_NAMES,
    download_torchvision,
    installed_copy,
    load_dataset,
)
from biasviz.core.datasets import download as dl
from biasviz.core.errors import DatasetError
from biasviz.core.idx import write_idx

IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def write_idx_folder(folder: Path, suffix: str = ".gz", seed: int = 0) -> dict[str, np.ndarray]:
    """The four IDX files of a small dataset (30 training, 20 validation images)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(30) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(20) % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / (name + suffix), array)
    return arrays


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty system dataset location (what /usr/share/datasets is), an empty cache,
    and no network: any attempt to download fails as it does offline."""
    where = tmp_path / "usr-share-datasets"
    where.mkdir()
    monkeypatch.setattr(dl, "SYSTEM_DATASET_DIRS", (where,))
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))

    def offline(*_args, **_kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(dl, "_torchvision_source",
                        lambda kind: dl._Source(("http://mirror.invalid/",),
                                                tuple((n + ".gz", "0" * 32) for n in IDX_NAMES)))
    return where


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize(("key", "title", "names"), [
    ("fashion-mnist", "Fashion-MNIST", FASHION_NAMES),
    ("mnist", "MNIST", DIGIT_NAMES),
    ("kmnist", "Kuzushiji-MNIST", KMNIST_NAMES),
])
def test_an_installed_copy_is_read_instead_of_downloaded(system: Path, suffix: str, key: str,
                                                         title: str, names) -> None:
    folder = system / key
    arrays = write_idx_folder(folder, suffix)
    assert installed_copy(key) == folder
    d = download_torchvision(key)
    # the dataset it is (class names, attribution, sessions and lessons go by the key) ...
    assert d.key == key and d.class_names == names and d.attribution
    # ... and where it was read: the name the status bar shows, the source a session keeps
    assert d.name == f"{title} (installed copy in {folder})"
    assert d.source == str(folder)
    np.testing.assert_array_equal(d.train.images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(d.valid.labels, arrays["t10k-labels-idx1-ubyte"])
    assert not (system.parent / "cache").exists()  # nothing downloaded, nothing cached


def test_the_menu_names_and_aliases_find_it_too(system: Path) -> None:
    arrays = write_idx_folder(system / "fashion-mnist")
    for spec in ("fashion-mnist", "Fashion", "fashion_mnist"):
        d = load_dataset(spec)
        assert d.key == "fashion-mnist" and d.source == str(system / "fashion-mnist")
        np.testing.assert_array_equal(d.train.labels, arrays["train-labels-idx1-ubyte"])


def test_a_verified_download_in_the_cache_comes_first(system: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache already worked without the network; it still does, before an installed
    copy is looked at."""
    raw = tmp_path / "cache" / "datasets" / "mnist" / "MNIST" / "raw"
    cached = write_idx_folder(raw, ".gz", seed=1)
    dl._record_verified(raw, {n + ".gz": dl._md5(raw / (n + ".gz")) for n in IDX_NAMES})
    write_idx_folder(system / "mnist", ".gz", seed=2)
    d = download_torchvision("mnist")
    assert d.source == str(raw) and d.name == "MNIST"
    np.testing.assert_array_equal(d.train.images, cached["train-images-idx3-ubyte"])


def test_with_nothing_installed_the_offline_message_stays(system: Path) -> None:
    write_idx_folder(system / "mnist")  # another dataset is installed, not this one
    with pytest.raises(DatasetError) as info:
        download_torchvision("fashion-mnist")
    message = str(info.value)
    assert "could not download Fashion-MNIST file train-images-idx3-ubyte.gz" in message
    assert "Name or service not known" in message
    assert "Check the internet connection" in message
    assert "installed" not in message


def test_an_incomplete_installed_copy_is_not_used(system: Path) -> None:
    folder = system / "fashion-mnist"
    write_idx_folder(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    assert installed_copy("fashion-mnist") is None
    with pytest.raises(DatasetError, match="Check the internet connection"):
        download_torchvision("fashion-mnist")


def test_a_damaged_installed_copy_is_named_when_the_download_fails(system: Path) -> None:
    folder = system / "fashion-mnist"
    write_idx_folder(folder)
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-40])  # cut short
    with pytest.raises(DatasetError) as info:
        download_torchvision("fashion-mnist")
    message = str(info.value)
    assert "Check the internet connection" in message
    assert "installed copy could not be used" in message and str(images) in message


def test_a_folder_path_is_still_read_as_a_folder(system: Path) -> None:
    """Giving the installed folder itself stays what it was: a local folder."""
    write_idx_folder(system / "fashion-mnist")
    d = load_dataset(str(system / "fashion-mnist"))
    assert d.key == "folder" and d.class_names == FASHION_NAMES


def test_archives_already_in_the_cache_are_used_without_a_record(
        system: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The download's own folder already worked offline (checked here, not changed):
    archives torchvision left there, or copied in, are used when their md5 is the
    published one, even without biasviz's record of a verified download."""
    raw = tmp_path / "cache" / "datasets" / "kmnist" / "KMNIST" / "raw"
    arrays = write_idx_folder(raw, ".gz", seed=3)
    published = tuple((n + ".gz", dl._md5(raw / (n + ".gz"))) for n in IDX_NAMES)
    monkeypatch.setattr(dl, "_torchvision_source",
                        lambda kind: dl._Source(("http://mirror.invalid/",), published))
    d = download_torchvision("kmnist")  # urlopen fails if it is called (the fixture)
    assert d.key == "kmnist" and d.source == str(raw)
    np.testing.assert_array_equal(d.train.images, arrays["train-images-idx3-ubyte"])


def test_a_local_copy_is_the_download_first_then_the_installed_copy(system: Path,
                                                                    tmp_path: Path) -> None:
    """What a lesson reads without downloading (the saturation lesson's Pullover vs
    Coat): nothing, an installed copy, and a download in the cache ahead of it."""
    assert dl.local_copy("fashion-mnist") is None
    installed = system / "fashion-mnist"
    write_idx_folder(installed)
    assert dl.local_copy("fashion-mnist") == installed
    assert dl.local_copy("kmnist") is None
    cached = tmp_path / "cache" / "datasets" / "fashion-mnist" / "FashionMNIST" / "raw"
    write_idx_folder(cached, suffix="")
    assert dl.find_cached("fashion-mnist")
    assert dl.local_copy("fashion-mnist") == cached
