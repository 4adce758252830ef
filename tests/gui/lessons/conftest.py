"""Fixtures shared by the lesson tests."""

import pytest

from biasviz.core.datasets import Task, load_sample, make_task_data


@pytest.fixture(scope="session")
def sample():
    """The bundled MNIST sample (all ten digits)."""
    return load_sample()


@pytest.fixture(scope="session")
def data(sample):
    """The chapter's task on the bundled sample: 3s vs 7s."""
    return make_task_data(sample, Task.pair(3, 7))


@pytest.fixture
def show_lesson(qtbot):
    """Build a lesson, show it at 1200×800, and shut it down after the test."""
    made = []

    def make(cls, *args):
        widget = cls(*args)
        qtbot.addWidget(widget)
        widget.resize(1200, 800)
        widget.show()
        qtbot.waitExposed(widget)
        made.append(widget)
        return widget

    yield make
    for widget in made:
        widget.shutdown()
