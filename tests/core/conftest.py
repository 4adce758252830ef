"""Fixtures shared by the core tests (no display)."""

from __future__ import annotations

from pathlib import Path

import pytest

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def fashion():
    """The 70,000 Fashion-MNIST images of Debian's dataset-fashion-mnist (skipped
    without it)."""
    from biasviz.core.datasets import load_idx_folder

    if not (FASHION / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    return load_idx_folder(FASHION)


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (a busy 2-core machine: the second thread only
    slows down)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
