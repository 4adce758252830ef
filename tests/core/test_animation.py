"""Animation export: frames chosen from the timeline, drawn with Pillow, written as GIF/MP4."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageSequence

from biasviz.core import animation
from biasviz.core.animation import (
    AnimationOptions,
    Animator,
    Curves,
    choose_frames,
    parse_size,
    write_animation,
)
from biasviz.core.colormap import to_rgb
from biasviz.core.errors import ConfigError, ParamFileError
from biasviz.core.spec import ModelSpec
from biasviz.core.timeline import Timeline


def _train(spec: ModelSpec, task: str, epochs: int, **config) -> Timeline:
    from biasviz.core.datasets import Task, load_sample, make_task_data
    from biasviz.core.training import EpochMetrics, StepMetrics, TrainConfig, Trainer

    data = make_task_data(load_sample(), Task.parse(task))
    trainer = Trainer(spec, data, TrainConfig(epochs=epochs, **config))
    timeline = Timeline()
    timeline.record(0, 0, trainer.snapshot().params, copy=False)
    for event in trainer.run():
        if isinstance(event, StepMetrics):
            timeline.record(event.step, event.epoch, trainer.snapshot().params, event.loss,
                            copy=False)
        elif isinstance(event, EpochMetrics):
            timeline.mark_epoch_end(event.step, event.valid_accuracy, event.valid_loss)
    return timeline


@pytest.fixture(scope="module")
def neuron_timeline() -> Timeline:
    """The chapter's neuron, 3 vs 7, 10 epochs of the sample: 40 steps."""
    return _train(ModelSpec(), "3,7", 10)


SMALL = dict(width=480, height=270)


def _gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def test_gif_has_the_requested_frames_size_and_frames_that_change(neuron_timeline, tmp_path):
    out = tmp_path / "run.gif"
    animator = Animator(neuron_timeline, ModelSpec(), AnimationOptions(frames=12, fps=8, **SMALL))
    result = write_animation(out, animator)
    assert result.frames == 12 and result.format == "gif"
    with Image.open(out) as im:
        assert im.n_frames == 12
        assert im.size == (480, 270)
        assert im.info.get("loop") == 0
        durations = []
        for frame in ImageSequence.Iterator(im):
            durations.append(frame.info["duration"])
    # 8 frames per second on average (GIF counts in 10 ms), the last held 1.5 s longer
    assert set(durations[:-1]) <= {120, 130}
    assert sum(durations) == 12 * 125 + 1500
    frames = _gif_frames(out)
    panel = animator.panels[0].image
    weights = [f[panel.y : panel.bottom, panel.x : panel.right].astype(int) for f in frames]
    # w − w₀ starts blank (white-ish everywhere) and fills in as training goes on
    change = [np.abs(w - weights[0]).mean() for w in weights]
    assert change[0] == 0
    assert change[-1] > 10
    assert change[len(change) // 2] > 0
    # every frame differs from the one before (caption, curves, weights)
    for a, b in zip(frames, frames[1:], strict=False):
        assert np.any(a != b)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_frame_shows_the_moment_s_weights_in_the_app_colours(neuron_timeline):
    animator = Animator(neuron_timeline, ModelSpec(), AnimationOptions(frames=5, show="both"))
    last = animator.moments[-1]
    w = np.asarray(last.params["weights"], np.float64).reshape(28, 28)
    w0 = np.asarray(neuron_timeline.first().params["weights"], np.float64).reshape(28, 28)
    image = np.asarray(animator.frame(len(animator) - 1))
    for panel, values in zip(animator.panels, (w, w - w0), strict=True):
        assert panel.kind in ("w", "delta")
        cell = panel.tile_px // 28
        centres = image[panel.image.y + cell // 2 :: cell, panel.image.x + cell // 2 :: cell]
        centres = centres[:28, :28]
        expected = to_rgb(values, panel.limit)
        np.testing.assert_array_equal(centres, expected)
    # one colour scale for the whole animation: the largest |value| over its frames
    delta_panel = animator.panels[1]
    largest = max(
        np.abs(np.asarray(m.params["weights"], np.float64) - w0.reshape(-1)).max()
        for m in animator.moments
    )
    assert delta_panel.limit == pytest.approx(largest)


def test_choose_frames_spreads_distinct_moments_over_the_range():
    steps = list(range(0, 101))
    picked = choose_frames(steps, 11)
    assert picked == list(range(0, 101, 10))
    # thinned timelines: nearest moments, never twice the same one
    thinned = [0, 1, 2, 3, 50, 51, 100]
    picked = choose_frames(thinned, 5)
    assert len(picked) == 5 and picked == sorted(set(picked))
    assert picked[0] == 0 and picked[-1] == len(thinned) - 1
    # asking for more frames than moments gives every moment in the range
    assert choose_frames(thinned, 50, first=2, last=60) == [2, 3, 4, 5]
    with pytest.raises(ConfigError, match="no recorded moment"):
        choose_frames(thinned, 5, first=60, last=90)
    early = [steps[i] for i in choose_frames(steps, 11, spacing="early")]
    assert early[0] == 0 and early[-1] == 100
    assert sum(s <= 25 for s in early) >= 5  # half the frames in the first quarter


def test_range_and_frame_count_options(neuron_timeline, tmp_path):
    options = AnimationOptions(frames=100, first_step=10, last_step=20, **SMALL)
    animator = Animator(neuron_timeline, ModelSpec(), options)
    assert animator.steps == list(range(10, 21))  # fewer moments than frames: all of them
    out = write_animation(tmp_path / "part.gif", animator)
    assert out.frames == 11
    with Image.open(tmp_path / "part.gif") as im:
        assert im.n_frames == 11


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(width=100, height=540), "size"),
        (dict(fps=0), "frame rate"),
        (dict(frames=0), "frames"),
        (dict(show="bias"), "show"),
        (dict(first_step=50, last_step=10), "range"),
        (dict(spacing="random"), "spacing"),
    ],
)
def test_bad_options_are_refused_with_a_message(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AnimationOptions(**kwargs)


def test_parse_size():
    assert parse_size("960x540") == (960, 540)
    assert parse_size("1280×720") == (1280, 720)
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        parse_size("big")


def test_unknown_extension_and_missing_folder(neuron_timeline, tmp_path):
    animator = Animator(neuron_timeline, ModelSpec(), AnimationOptions(frames=2, **SMALL))
    with pytest.raises(ConfigError, match=".gif or .mp4"):
        write_animation(tmp_path / "run.avi", animator)
    with pytest.raises(ParamFileError, match="does not exist"):
        write_animation(tmp_path / "missing" / "run.gif", animator)


def test_empty_timeline_is_refused():
    with pytest.raises(ConfigError, match="empty"):
        Animator(Timeline(), ModelSpec())


def test_tiles_for_ten_neurons_and_cnn_kernels():
    spec = ModelSpec(kind="cnn", n_outputs=10, channels=4, kernel=5)
    timeline = _train(spec, "all", 1, lr=0.1, batch_size=512)
    animator = Animator(timeline, spec, AnimationOptions(frames=3, show="w", **SMALL))
    panel = animator.panels[0]
    assert panel.tile_px % 5 == 0 and panel.cols * panel.tile_px <= panel.image.w
    frame = np.asarray(animator.frame(2))
    kernels = np.asarray(animator.moments[2].params["conv.weights"], np.float64)
    expected = to_rgb(kernels[1, 0], panel.limit)  # the second kernel, top row, 2nd column
    scale = panel.tile_px // 5
    x = panel.image.x + panel.tile_px + panel.gap + scale // 2
    y = panel.image.y + scale // 2
    np.testing.assert_array_equal(frame[y : y + 5 * scale : scale, x : x + 5 * scale : scale],
                                  expected)


def test_curves_from_the_timeline(neuron_timeline):
    curves = Curves.from_timeline(neuron_timeline)
    assert list(curves.accuracy_steps) == [4 * e for e in range(1, 11)]
    assert np.all((curves.accuracies >= 0) & (curves.accuracies <= 1))
    assert curves.loss_steps[0] == 1  # step 0 has no loss
    assert len(curves.losses) == 40


def _count_video_frames(exe: str, path) -> int:
    proc = subprocess.run([exe, "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60)
    found = re.findall(r"frame=\s*(\d+)", proc.stderr)
    assert found, proc.stderr
    return int(found[-1])


def test_mp4_where_an_encoder_exists(neuron_timeline, tmp_path):
    exe = animation.find_ffmpeg()
    if exe is None:
        pytest.skip("no ffmpeg (pip install imageio-ffmpeg)")
    options = AnimationOptions(frames=6, fps=5, hold_last=1.0, **SMALL)
    animator = Animator(neuron_timeline, ModelSpec(), options)
    out = tmp_path / "run.mp4"
    result = write_animation(out, animator)
    assert result.format == "mp4" and out.stat().st_size > 1000
    assert _count_video_frames(exe, out) == 6 + 5  # the last frame held for 1 s at 5 fps


def test_mp4_without_an_encoder_says_what_to_install(neuron_timeline, tmp_path, monkeypatch):
    monkeypatch.setattr(animation, "find_ffmpeg", lambda: None)
    animator = Animator(neuron_timeline, ModelSpec(), AnimationOptions(frames=2, **SMALL))
    with pytest.raises(ConfigError, match="imageio-ffmpeg"):
        write_animation(tmp_path / "run.mp4", animator)
    assert not list(tmp_path.iterdir())


# -- the command line ------------------------------------------------------------------------
def test_cli_animate_trains_and_writes_the_gif(tmp_path, capsys):
    from biasviz.cli import main

    out = tmp_path / "run.gif"
    code = main(["animate", "--train", "--epochs", "3", "--out", str(out), "--frames", "6",
                 "--size", "480x270", "--fps", "5", "--delta"])
    assert code == 0
    stdout, stderr = capsys.readouterr()
    assert "wrote" in stdout and "6 frames" in stdout and "480x270" in stdout
    assert "epoch 3/3" in stderr  # the usual training progress
    with Image.open(out) as im:
        assert im.n_frames == 6 and im.size == (480, 270)
    frames = _gif_frames(out)
    assert np.any(frames[0] != frames[-1])


def test_cli_animate_writes_every_moment_when_asked_for_more(tmp_path, capsys):
    from biasviz.cli import main

    out = tmp_path / "all.gif"
    assert main(["animate", "--train", "--epochs", "1", "--out", str(out), "--frames", "50",
                 "--size", "480x270"]) == 0
    _, stderr = capsys.readouterr()
    assert "only 5 moments" in stderr  # step 0 and the epoch's 4 steps
    with Image.open(out) as im:
        assert im.n_frames == 5


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "x.gif"], "add --train"),
        (["run.biasviz", "--train", "--out", "x.gif"], "not both"),
        (["--train", "--out", "x.png"], ".gif or an .mp4"),
        (["--train", "--out", "x.gif", "--size", "huge"], "WIDTHxHEIGHT"),
        (["--train", "--out", "x.gif", "--size", "100x100"], "size"),
        (["--train", "--out", "x.gif", "--frames", "0"], "frames"),
        (["--train", "--out", "x.gif", "--budget", "0"], "budget"),
    ],
)
def test_cli_animate_bad_arguments(args, message, tmp_path, capsys, monkeypatch):
    from biasviz.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["animate", *args]) == 2
    _, stderr = capsys.readouterr()
    assert stderr.startswith("biasviz: error:") and message in stderr
    assert stderr.count("\n") == 1  # one line, no traceback
    assert not list(tmp_path.iterdir())


def test_cli_animate_mp4_without_encoder(tmp_path, capsys, monkeypatch):
    from biasviz.cli import main

    monkeypatch.setattr(animation, "find_ffmpeg", lambda: None)
    assert main(["animate", "--train", "--out", str(tmp_path / "x.mp4")]) == 2
    _, stderr = capsys.readouterr()
    assert "pip install imageio-ffmpeg" in stderr
