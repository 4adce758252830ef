"""Images, datasets, tasks and task data: the types every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from biasviz.core.errors import ConfigError

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE

DIGIT_NAMES: tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
KMNIST_NAMES: tuple[str, ...] = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


@dataclass(frozen=True)
class ImageSet:
    """Labelled images: ``images`` uint8 (N, 28, 28), ``labels`` uint8 (N,) in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 3 or self.images.shape[1:] != (
            IMAGE_SIDE, IMAGE_SIDE
        ):
            raise ValueError(f"images must be uint8 (N, 28, 28), got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"{self.images.shape[0]} images but labels of shape {self.labels.shape}"
            )

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A train and a validation set with the names of their ten classes.

    ``key`` says where it came from: ``"sample"``, ``"mnist"``, ``"fashion-mnist"``,
    ``"kmnist"`` or ``"folder"``; ``name`` is for people ("MNIST sample (5,000 digits)").
    """

    key: str
    name: str
    class_names: tuple[str, ...]
    train: ImageSet
    valid: ImageSet
    attribution: str = ""
    source: str = ""  # file or folder it was read from, if any


@dataclass(frozen=True)
class Task:
    """Which classes the model tells apart.

    Two classes (``Task((3, 7))``): target 1 means the *first* class, as in the fastai
    chapter where threes are 1 and sevens are 0.  Ten classes: ``Task(tuple(range(10)))``,
    the target is the label itself.
    """

    classes: tuple[int, ...] = (3, 7)

    def __post_init__(self) -> None:
        classes = tuple(int(c) for c in self.classes)
        object.__setattr__(self, "classes", classes)
        if len(classes) == 2:
            if classes[0] == classes[1]:
                raise ConfigError(f"a two-class task needs two different classes, got {classes}")
        elif classes != tuple(range(10)):
            raise ConfigError(
                f"a task is either two classes or all ten in order, got {classes}"
            )
        if any(not 0 <= c <= 9 for c in classes):
            raise ConfigError(f"classes must be between 0 and 9, got {classes}")

    @classmethod
    def pair(cls, first: int = 3, second: int = 7) -> Task:
        return cls((first, second))

    @classmethod
    def all_ten(cls) -> Task:
        return cls(tuple(range(10)))

    @classmethod
    def parse(cls, text: str) -> Task:
        """``"3,7"``, ``"3v7"``, ``"3 vs 7"`` → a pair; ``"all"``/``"10"`` → all ten."""
        if not isinstance(text, str):
            raise ConfigError(
                f"a task is text like '3,7' or 'all', not {type(text).__name__}"
            )
        t = text.strip().lower()
        if t in {"all", "10", "ten", "all10"}:
            return cls.all_ten()
        for sep in ("vs", "v", ",", "-", " "):
            if sep in t:
                parts = [p.strip() for p in t.split(sep) if p.strip()]
                # ASCII digits only: "²" and "٣" pass str.isdigit() but are no class.
                if len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts):
                    return cls.pair(int(parts[0]), int(parts[1]))
        shown = text.encode("unicode_escape").decode("ascii")[:40]
        raise ConfigError(f"cannot read task '{shown}': use two classes like '3,7' or 'all'")

    @property
    def is_binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def n_outputs(self) -> int:
        """Output neurons a model needs: 1 for two classes (a logit for the first), else 10."""
        return 1 if self.is_binary else 10

    def names(self, class_names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(class_names[c] for c in self.classes)

    def describe(self, class_names: tuple[str, ...] = DIGIT_NAMES) -> str:
        if self.is_binary:
            a, b = self.names(class_names)
            return f"{a} vs {b}"
        return "all ten classes"

    def to_text(self) -> str:
        return f"{self.classes[0]},{self.classes[1]}" if self.is_binary else "all"


@dataclass(frozen=True)
class TaskData:
    """A dataset cut down to a task, flattened to 784 pixels, with targets.

    ``train_x``/``valid_x`` are uint8 (n, 784); ``train_y``/``valid_y`` are int64 targets:
    for two classes 1 = the first class and 0 = the second; for ten classes the label.
    """

    task: Task
    class_names: tuple[str, ...]  # names of the task's classes, in target order
    dataset_name: str
    dataset_key: str
    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(self.train_x.shape[0])

    @property
    def n_valid(self) -> int:
        return int(self.valid_x.shape[0])

    def describe(self) -> str:
        """"3 vs 7" or "all ten classes"."""
        return " vs ".join(self.class_names) if self.task.is_binary else "all ten classes"

    def target_names(self) -> tuple[str, ...]:
        """Name of each target value: for two classes index 1 is the first class."""
        if self.task.is_binary:
            return (self.class_names[1], self.class_names[0])
        return self.class_names


def _select(images: ImageSet, task: Task) -> tuple[np.ndarray, np.ndarray]:
    labels = images.labels
    if task.is_binary:
        first, second = task.classes
        keep = (labels == first) | (labels == second)
        x = images.images[keep].reshape(-1, N_PIXELS)
        y = (labels[keep] == first).astype(np.int64)
    else:
        x = images.images.reshape(-1, N_PIXELS)
        y = labels.astype(np.int64)
    return np.ascontiguousarray(x), y


def make_task_data(dataset: Dataset, task: Task) -> TaskData:
    """Cut ``dataset`` down to ``task``; keeps uint8 pixels (no float copy of the data)."""
    train_x, train_y = _select(dataset.train, task)
    valid_x, valid_y = _select(dataset.valid, task)
    if len(train_y) == 0 or len(valid_y) == 0:
        raise ConfigError(
            f"{dataset.name} has no images of classes {task.describe(dataset.class_names)}"
        )
    return TaskData(
        task=task,
        class_names=task.names(dataset.class_names),
        dataset_name=dataset.name,
        dataset_key=dataset.key,
        train_x=train_x,
        train_y=train_y,
        valid_x=valid_x,
        valid_y=valid_y,
    )


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 pixels → float32 in [0, 1], the chapter's ``/255``."""
    return x.astype(np.float32) / 255.0
