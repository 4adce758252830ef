"""The IDX reader: round trips, and every kind of damaged file it must refuse."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from biasviz.core.errors import DatasetError
from biasviz.core.idx import (
    MAX_DATA_BYTES,
    read_idx,
    read_idx_images,
    read_idx_labels,
    write_idx,
)
from biasviz.core.shared_images import shared_handle


def _images(n: int = 12, side: int = 28, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, side, side), dtype=np.uint8)


def _labels(n: int = 12) -> np.ndarray:
    return (np.arange(n) % 10).astype(np.uint8)


def _header(magic: int, *dims: int) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _raises_naming(path: Path, match: str, func=read_idx) -> DatasetError:
    with pytest.raises(DatasetError, match=match) as info:
        func(path)
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_images_and_labels_round_trip(tmp_path: Path, suffix: str) -> None:
    images, labels = _images(), _labels()
    write_idx(tmp_path / f"img{suffix}", images)
    write_idx(tmp_path / f"lab{suffix}", labels)
    got_images = read_idx_images(tmp_path / f"img{suffix}")
    got_labels = read_idx_labels(tmp_path / f"lab{suffix}")
    assert got_images.dtype == np.uint8 and got_images.shape == (12, 28, 28)
    assert got_labels.dtype == np.uint8 and got_labels.shape == (12,)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_gz_name_really_compresses_and_raw_does_not(tmp_path: Path) -> None:
    images = np.zeros((50, 28, 28), np.uint8)
    write_idx(tmp_path / "a.gz", images)
    write_idx(tmp_path / "a", images)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    raw = (tmp_path / "a").read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">3I", raw[4:16]) == (50, 28, 28)
    assert len(raw) == 16 + 50 * 784


def test_generic_read_keeps_declared_shape(tmp_path: Path) -> None:
    a = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    write_idx(tmp_path / "four.idx", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "four.idx"), a)


def test_zero_images_is_a_valid_file(tmp_path: Path) -> None:
    write_idx(tmp_path / "empty", np.zeros((0, 28, 28), np.uint8))
    assert read_idx_images(tmp_path / "empty").shape == (0, 28, 28)


def test_write_refuses_other_dtypes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "f", np.zeros((2, 2), np.float32))


@pytest.mark.parametrize("compress", [False, True])
def test_bad_magic(tmp_path: Path, compress: bool) -> None:
    data = b"PK\x03\x04" + bytes(100)
    path = tmp_path / ("bad.gz" if compress else "bad")
    path.write_bytes(_gzip(data) if compress else data)
    _raises_naming(path, "bad magic")


def test_labels_file_where_images_expected(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte"
    write_idx(path, _labels())
    err = _raises_naming(path, "magic", read_idx_images)
    assert "labels" in str(err) and "images" in str(err)


def test_images_file_where_labels_expected(tmp_path: Path) -> None:
    path = tmp_path / "imgs"
    write_idx(path, _images())
    _raises_naming(path, "magic", read_idx_labels)


def test_unsupported_element_type(tmp_path: Path) -> None:
    path = tmp_path / "floats"
    path.write_bytes(_header(0x00000D03, 1, 28, 28) + bytes(4 * 784))
    _raises_naming(path, "unsupported element type 0x0D", read_idx_images)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    _raises_naming(path, "truncated")


def test_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(_header(0x00000803, 10, 28))  # third dimension missing
    _raises_naming(path, "truncated")


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data(tmp_path: Path, compress: bool) -> None:
    data = _header(0x00000803, 10, 28, 28) + bytes(9 * 784 + 5)
    path = tmp_path / ("t.gz" if compress else "t")
    path.write_bytes(_gzip(data) if compress else data)
    err = _raises_naming(path, "truncated", read_idx_images)
    assert "7,840" in str(err)  # the declared byte count is in the message


def test_gzip_stream_cut_off(tmp_path: Path) -> None:
    write_idx(tmp_path / "full.gz", _images(200))
    blob = (tmp_path / "full.gz").read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(blob[: len(blob) // 2])
    _raises_naming(path, "gzip", read_idx_images)


@pytest.mark.parametrize("compress", [False, True])
def test_trailing_bytes(tmp_path: Path, compress: bool) -> None:
    data = _header(0x00000801, 12) + _labels().tobytes() + b"extra"
    path = tmp_path / ("l.gz" if compress else "l")
    path.write_bytes(_gzip(data) if compress else data)
    err = _raises_naming(path, "unexpected bytes", read_idx_labels)
    assert " 5 unexpected" in str(err)


def test_wrong_image_size(tmp_path: Path) -> None:
    path = tmp_path / "small.gz"
    write_idx(path, _images(side=27))
    _raises_naming(path, "27x27", read_idx_images)


def test_labels_outside_zero_to_nine(tmp_path: Path) -> None:
    labels = _labels()
    labels[7] = 12
    path = tmp_path / "labels"
    write_idx(path, labels)
    err = _raises_naming(path, "outside 0..9", read_idx_labels)
    assert "position 7" in str(err) and "is 12" in str(err)


def _peak_bytes_while(func) -> int:
    tracemalloc.start()
    try:
        func()
    except DatasetError:
        pass
    else:  # pragma: no cover - the tests below expect a refusal
        raise AssertionError("expected DatasetError")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_declared_size_larger_than_raw_file_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "liar"
    path.write_bytes(_header(0x00000803, 1_000_000, 28, 28) + bytes(784))  # says 784 MB
    _raises_naming(path, "truncated", read_idx_images)
    assert _peak_bytes_while(lambda: read_idx_images(path)) < 8 << 20


def test_declared_size_impossible_for_gzip_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "liar.gz"
    path.write_bytes(_gzip(_header(0x00000803, 1_000_000, 28, 28) + bytes(784)))
    _raises_naming(path, "gzip file can hold", read_idx_images)
    assert _peak_bytes_while(lambda: read_idx_images(path)) < 8 << 20


def test_declared_size_over_the_limit(tmp_path: Path) -> None:
    n = MAX_DATA_BYTES // 784 + 1
    path = tmp_path / "huge"
    path.write_bytes(_header(0x00000803, n, 28, 28))
    _raises_naming(path, "more than", read_idx_images)
    path.write_bytes(_header(0x00000803, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
    _raises_naming(path, "more than", read_idx)


def test_corrupt_gzip(tmp_path: Path) -> None:
    write_idx(tmp_path / "ok.gz", _images(50))
    blob = bytearray((tmp_path / "ok.gz").read_bytes())
    middle = len(blob) // 2
    blob[middle : middle + 16] = bytes(b ^ 0xFF for b in blob[middle : middle + 16])
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(blob))
    _raises_naming(path, "gzip", read_idx_images)


def test_gzip_with_garbage_after_it(tmp_path: Path) -> None:
    path = tmp_path / "junk.gz"
    path.write_bytes(_gzip(_header(0x00000801, 12) + _labels().tobytes()) + b"garbage!")
    with pytest.raises(DatasetError) as info:
        read_idx_labels(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    _raises_naming(tmp_path / "nope.gz", "not found", read_idx_images)


def test_an_io_error_on_the_first_bytes_names_the_file(tmp_path: Path, monkeypatch) -> None:
    # Issue 11: the gzip sniff read the first two bytes outside the error handling; a
    # failing disk gave a bare OSError naming nothing.
    import errno

    from biasviz.core import idx

    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, _images())
    real_open = open

    class Failing:
        def __init__(self, f):
            self._f = f

        def read(self, *a):
            raise OSError(errno.EIO, "Input/output error")

        def __getattr__(self, name):
            return getattr(self._f, name)

    monkeypatch.setattr(idx, "open", lambda p, *a, **k: Failing(real_open(p, *a, **k)),
                        raising=False)
    err = _raises_naming(path, "Input/output error")
    assert "train-images-idx3-ubyte" in str(err)


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gz"])
def test_images_are_read_into_one_array_without_a_second_copy(tmp_path: Path,
                                                              compressed: bool) -> None:
    # 16,000 images = 12.5 MB: read in 4 MB chunks, so a byte string grown chunk by chunk
    # (and copied into the array at the end) would show as a peak well above the data.
    images = _images(16_000, seed=3)
    path = tmp_path / ("big.gz" if compressed else "big")
    write_idx(path, images)
    tracemalloc.start()
    try:
        got = read_idx_images(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(got, images)
    # images this big go in shared memory (for the training process) where there is any
    shared = shared_handle(got) is not None
    assert got.flags.c_contiguous and got.flags.writeable and (got.flags.owndata or shared)
    # the array itself (tracemalloc does not see shared memory), plus at most one 4 MB
    # chunk in flight for gzip
    assert peak < (0 if shared else images.nbytes) + (5 << 20 if compressed else 1 << 20)
