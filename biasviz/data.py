"""The one biasviz function exported code needs: the images and targets of a task.

Code written by *Export as notebook / Python script* (``biasviz code``) calls::

    from biasviz.data import load_task
    train_x, train_y, valid_x, valid_y = load_task("sample", "3,7")

and from there on uses only torch and numpy.  The arrays are exactly the ones the app
trains on, in the same order, so a seeded run in the script follows the app's run.

This module imports numpy and biasviz's data readers only (no torch, no Qt).
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_task"]


def load_task(
    dataset: str = "sample", task: str = "3,7"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and validation images and targets of ``task`` on ``dataset``.

    Parameters
    ----------
    dataset
        ``"sample"`` (the 5,000 MNIST digits bundled with biasviz, split 4,000 / 1,000
        the same way on every machine), ``"mnist"``, ``"fashion-mnist"``, ``"kmnist"``
        (downloaded once into biasviz's cache, or read from a copy a system package
        installed in /usr/share/datasets, as the app does) or the path of a folder with
        the four MNIST-style IDX files.
    task
        Two classes, ``"3,7"``: the target is 1 for the *first* class and 0 for the
        second (the fastai chapter's threes = 1, sevens = 0); or ``"all"`` for the ten
        classes, where the target is the label.

    Returns
    -------
    train_x, train_y, valid_x, valid_y
        ``*_x``: uint8 pixels, shape (n, 784), 0 = black, 255 = white (divide by 255 for
        the chapter's 0..1 floats); ``*_y``: int64 targets, shape (n,).  Fresh, writable
        arrays, ready for ``torch.from_numpy``.

    Raises
    ------
    biasviz.core.errors.DatasetError
        Unknown dataset, missing or damaged files, failed download.
    biasviz.core.errors.ConfigError
        A task that cannot be read, or classes the dataset has no images of.
    """
    from biasviz.core.datasets import Task, load_dataset, make_task_data

    data = make_task_data(load_dataset(dataset), Task.parse(str(task)))
    # The app's arrays are shared and read-only; the caller gets its own copies.
    return (
        np.array(data.train_x, dtype=np.uint8),
        np.array(data.train_y, dtype=np.int64),
        np.array(data.valid_x, dtype=np.uint8),
        np.array(data.valid_y, dtype=np.int64),
    )
