"""Lessons number neurons and kernels as the main view does (walk-through 13: the
Counting lesson said "kernel 1…4" for the kernels the main view calls "kernel 0…3")."""

from __future__ import annotations

from biasviz.core.models import build_model, snapshot_params
from biasviz.core.spec import ModelSpec, Snapshot
from biasviz.core.weight_display import weight_display
from biasviz.gui.lessons.counting_lesson import CountingLesson
from biasviz.gui.lessons.zero_init_lesson import ZeroInitLesson


def _name(label: str) -> str:
    """A tile's name without its bias ("kernel 0  b=+0.12" → "kernel 0")."""
    return label.split("  b=")[0]


def test_counting_names_kernels_as_the_main_view(show_lesson):
    spec = ModelSpec(kind="cnn", n_outputs=10, channels=8, kernel=5)
    snap = Snapshot(spec, snapshot_params(build_model(spec)))
    lesson = show_lesson(CountingLesson)
    lesson.set_model(snap)
    main = weight_display(snap.params, spec, [str(d) for d in range(10)]).labels
    assert main[0] == "kernel 0"
    shown = [_name(lesson.kernels_view.tile_label(i)) for i in range(8)]
    assert shown == main


def test_zero_init_numbers_hidden_neurons_from_0(show_lesson, data):
    lesson = show_lesson(ZeroInitLesson, data)
    spec = ModelSpec(kind="mlp", hidden=8)
    main = weight_display(snapshot_params(build_model(spec)), spec, ["3", "7"]).labels
    assert main[0] == "hidden 0"
    for view in (lesson.zero_view, lesson.random_view):
        names = [_name(view.tile_label(i)) for i in range(8)]
        assert names == [m.removeprefix("hidden ") for m in main] == [str(i) for i in range(8)]
