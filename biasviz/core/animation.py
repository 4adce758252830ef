"""A training timeline as an animation: animated GIF (Pillow) or MP4 (ffmpeg).

Each frame shows, at one recorded moment: the first layer's weights as an image (one
28×28 picture for the single neuron, a grid of tiles for ten or hidden neurons, the
kernels of a CNN) in the app's diverging colours with a colour bar, the loss and
accuracy curves grown up to that moment, and a caption with step, epoch and accuracy.

Drawn with Pillow only, so it runs headless from the command line.  The colour scale is
fixed for the whole animation (the largest |value| over its frames): the template is
seen *growing*, not re-stretched each frame.  Curves are drawn once, supersampled for
anti-aliasing, and revealed up to each frame's step.

    animator = Animator(timeline, spec, AnimationOptions(frames=100, show="delta"))
    animator.frame(0)                     # a PIL image
    write_animation("run.gif", animator)  # or "run.mp4" where an encoder exists
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from biasviz.core.colormap import diverging_lut, to_rgb
from biasviz.core.errors import ConfigError, ParamFileError
from biasviz.core.history import smooth
from biasviz.core.spec import ModelKind, ModelSpec, first_layer
from biasviz.core.timeline import Moment, Timeline

SHOW_CHOICES = ("w", "delta", "both")
SPACING_CHOICES = ("even", "early")
MAX_SIDE = 3840
MIN_WIDTH, MIN_HEIGHT = 320, 200
MAX_FRAMES = 2000
MAX_GIF_PIXELS = 600_000_000  # Pillow holds every GIF frame in memory before writing
MAX_TILES = 32  # hidden neurons shown; more would be specks
SUPERSAMPLE = 3  # curves are drawn 3× larger and scaled down: anti-aliased lines

# The app's colours (gui/training_plots.py, Okabe-Ito): loss per batch grey, smoothed
# blue, validation loss orange, accuracy green.
BACKGROUND = (255, 255, 255)
TEXT = (33, 37, 41)
MUTED = (108, 117, 125)
GRID = (232, 234, 237)
AXIS = (150, 155, 160)
RAW = (165, 165, 165)
SMOOTH = (0, 114, 178)
VALID_LOSS = (213, 94, 0)
ACCURACY = (0, 158, 115)
TILE_GAP = (200, 200, 200)


@dataclass(frozen=True)
class AnimationOptions:
    """What to draw.

    ``show``: ``"w"`` the weights, ``"delta"`` w − w₀ (what training added to the random
    start), ``"both"`` side by side.  ``first_step``/``last_step`` bound the range
    (default: the whole timeline); ``frames`` are chosen evenly over it among the
    recorded moments.  ``hold_last`` keeps the last frame on screen a little longer.
    """

    width: int = 960
    height: int = 540
    fps: float = 10.0
    frames: int = 100
    first_step: int | None = None
    last_step: int | None = None
    show: str = "delta"
    hold_last: float = 1.5
    title: str | None = None
    class_names: tuple[str, ...] | None = None  # (first, second) for a single neuron
    spacing: str = "even"  # or "early": more frames at the start, where learning is fast

    def __post_init__(self) -> None:
        if not (MIN_WIDTH <= int(self.width) <= MAX_SIDE and MIN_HEIGHT <= int(self.height)
                <= MAX_SIDE):
            raise ConfigError(
                f"animation size {self.width}x{self.height}: width must be between "
                f"{MIN_WIDTH} and {MAX_SIDE}, height between {MIN_HEIGHT} and {MAX_SIDE}"
            )
        if not (isinstance(self.fps, int | float) and 0.5 <= self.fps <= 60):
            raise ConfigError(f"frame rate {self.fps}: choose between 0.5 and 60 per second")
        if not 1 <= int(self.frames) <= MAX_FRAMES:
            raise ConfigError(f"{self.frames} frames: choose between 1 and {MAX_FRAMES}")
        if self.show not in SHOW_CHOICES:
            raise ConfigError(f"show {self.show!r}: choose one of {', '.join(SHOW_CHOICES)}")
        if self.spacing not in SPACING_CHOICES:
            raise ConfigError(f"spacing {self.spacing!r}: choose {' or '.join(SPACING_CHOICES)}")
        if not (0 <= self.hold_last <= 30):
            raise ConfigError(f"hold_last {self.hold_last}: choose between 0 and 30 seconds")
        if (self.first_step is not None and self.last_step is not None
                and self.first_step > self.last_step):
            raise ConfigError(
                f"the range starts at step {self.first_step}, after its end {self.last_step}"
            )


def parse_size(text: str) -> tuple[int, int]:
    """``"960x540"`` → (960, 540); a clear error otherwise."""
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"size {text!r}: write it as WIDTHxHEIGHT, e.g. 960x540") from None
    return width, height


@dataclass(frozen=True)
class Curves:
    """The curves a frame shows, x in steps: loss per step, validation figures per epoch
    (accuracy as a fraction).  Built from the timeline's own moments by default; a
    caller with the full history (every step) can pass it instead."""

    loss_steps: np.ndarray
    losses: np.ndarray
    valid_steps: np.ndarray
    valid_losses: np.ndarray
    accuracy_steps: np.ndarray
    accuracies: np.ndarray

    @classmethod
    def build(
        cls,
        loss: tuple[Sequence[float], Sequence[float]],
        valid_loss: tuple[Sequence[float], Sequence[float]] = ((), ()),
        accuracy: tuple[Sequence[float], Sequence[float]] = ((), ()),
    ) -> Curves:
        def pair(xy):
            x = np.asarray(xy[0], dtype=np.float64).reshape(-1)
            y = np.asarray(xy[1], dtype=np.float64).reshape(-1)
            if x.shape != y.shape:
                raise ConfigError("a curve needs as many x as y values")
            ok = np.isfinite(x) & np.isfinite(y)
            return x[ok], y[ok]

        return cls(*pair(loss), *pair(valid_loss), *pair(accuracy))

    @classmethod
    def from_timeline(cls, timeline: Timeline) -> Curves:
        moments = timeline.all()
        ends = [m for m in moments if m.epoch_end]
        return cls.build(
            ([m.step for m in moments], [m.loss for m in moments]),
            ([m.step for m in ends if m.valid_loss is not None],
             [m.valid_loss for m in ends if m.valid_loss is not None]),
            ([m.step for m in ends if m.accuracy is not None],
             [m.accuracy for m in ends if m.accuracy is not None]),
        )


def choose_frames(steps: Sequence[int], n: int, first: int | None = None,
                  last: int | None = None, spacing: str = "even") -> list[int]:
    """Indices into ``steps`` (increasing) of up to ``n`` distinct moments spread over
    [first, last]: the moments nearest to ``n`` target steps, nudged apart where two
    targets share a nearest moment.  Fewer when fewer were recorded.

    ``spacing="even"`` spaces the targets evenly; ``"early"`` quadratically (the k-th of
    n at (k/n)² of the range), so the first steps, where most of the learning happens,
    get more frames."""
    steps_a = np.asarray(steps, dtype=np.int64)
    lo = steps_a[0] if first is None else first
    hi = steps_a[-1] if last is None else last
    if lo > hi:
        raise ConfigError(
            f"the range starts at step {lo}, after its end at step {hi} (the timeline has "
            f"steps {int(steps_a[0])} to {int(steps_a[-1])})"
        )
    inside = np.nonzero((steps_a >= lo) & (steps_a <= hi))[0]
    if inside.size == 0:
        raise ConfigError(
            f"no recorded moment between step {lo} and step {hi} (the timeline has steps "
            f"{int(steps_a[0])} to {int(steps_a[-1])})"
        )
    i0, i1 = int(inside[0]), int(inside[-1])
    m = i1 - i0 + 1
    if n >= m:
        return list(range(i0, i1 + 1))
    if n == 1:
        return [i1]
    sub = steps_a[i0 : i1 + 1]
    t = np.linspace(0.0, 1.0, n)
    if spacing == "early":
        t = t**2
    elif spacing != "even":
        raise ConfigError(f"spacing {spacing!r}: choose even or early")
    targets = sub[0] + t * (sub[-1] - sub[0])
    pos = np.searchsorted(sub, targets).clip(1, m - 1)
    nearer_left = (targets - sub[pos - 1]) <= (sub[pos] - targets)
    idx = np.where(nearer_left, pos - 1, pos)
    idx[0], idx[-1] = 0, m - 1
    for k in range(1, n):  # strictly increasing...
        idx[k] = max(idx[k], idx[k - 1] + 1)
    for k in range(n - 2, -1, -1):  # ...and still ending at the last moment
        idx[k] = min(idx[k], idx[k + 1] - 1)
    return [i0 + int(i) for i in idx]


# -- fonts -------------------------------------------------------------------------------
_ASCII = str.maketrans({"−": "-", "₀": "0", "·": "|", "Δ": "d", "≥": ">=", "–": "-"})


class _Fonts:
    """DejaVu Sans where the system has it (it has −, ₀, Δ), else Pillow's own font
    with those characters spelt in ASCII."""

    def __init__(self, unit: float) -> None:
        self.unicode = True
        self.title = self._load(("DejaVuSans-Bold.ttf", "DejaVuSans.ttf"), round(21 * unit))
        self.caption = self._load(("DejaVuSans.ttf",), round(20 * unit))
        self.label = self._load(("DejaVuSans.ttf",), round(15 * unit))
        self.small = self._load(("DejaVuSans.ttf",), round(12 * unit))

    def _load(self, names: tuple[str, ...], size: int) -> ImageFont.FreeTypeFont:
        size = max(8, size)
        for name in names:
            with contextlib.suppress(OSError):
                return ImageFont.truetype(name, size)  # searches the system's font folders
        self.unicode = False
        return ImageFont.load_default(size=size)  # type: ignore[return-value]

    def text(self, s: str) -> str:
        return s if self.unicode else s.translate(_ASCII)


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 × 10^k) covering [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = start
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _tick_text(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}"


def _limit_text(v: float) -> str:
    return f"{v:.3g}" if v >= 1e-3 else f"{v:.1e}"


# -- layout ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass(frozen=True)
class _Panel:
    kind: str  # "w" or "delta"
    label: str
    image: _Box  # where the tiles go
    bar: _Box  # the colour bar
    limit: float
    cols: int  # tiles per row
    tile_px: int  # side of one tile on screen
    gap: int  # pixels between tiles


class Animator:
    """Frames of one animation; ``frame(i)`` renders the i-th as a PIL RGB image."""

    def __init__(
        self,
        timeline: Timeline,
        spec: ModelSpec,
        options: AnimationOptions | None = None,
        curves: Curves | None = None,
    ) -> None:
        self.options = options or AnimationOptions()
        self.spec = spec
        moments = timeline.all()
        if not moments:
            raise ConfigError("the timeline is empty: train first, then export the animation")
        self.w0 = moments[0]
        steps = [m.step for m in moments]
        picked = choose_frames(steps, int(self.options.frames), self.options.first_step,
                               self.options.last_step, self.options.spacing)
        self.moments: list[Moment] = [moments[i] for i in picked]
        self.curves = curves if curves is not None else Curves.from_timeline(timeline)
        self.x_range = (float(self.moments[0].step), float(self.moments[-1].step))
        if self.x_range[1] <= self.x_range[0]:
            self.x_range = (self.x_range[0], self.x_range[0] + 1.0)
        self._accuracy_steps = self.curves.accuracy_steps
        self._w0_first, _ = first_layer(dict(self.w0.params), self.spec)
        # One colour scale per panel for the whole animation; the tiles themselves are
        # computed again per frame (keeping them all could take hundreds of MB).
        self._limits = {
            kind: max(1e-12, max(float(np.max(np.abs(self._tile_values(m, kind))))
                                 for m in self.moments))
            for kind in self._kinds()
        }
        self._layout()
        self._static = self._draw_static()
        self._plots = self._draw_plots()
        self._markers = {c: self._marker(c) for c in (SMOOTH, ACCURACY)}

    def __len__(self) -> int:
        return len(self.moments)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.options.width), int(self.options.height)

    @property
    def steps(self) -> list[int]:
        return [m.step for m in self.moments]

    # -- what is shown ----------------------------------------------------------------
    def _kinds(self) -> list[str]:
        return ["w", "delta"] if self.options.show == "both" else [self.options.show]

    def _tile_values(self, moment: Moment, kind: str) -> np.ndarray:
        """(n, side, side) float values of the first layer at ``moment``."""
        weights, _ = first_layer(dict(moment.params), self.spec)
        weights = np.asarray(weights[:MAX_TILES], dtype=np.float64)
        if kind == "delta":
            weights = weights - self._w0_first[:MAX_TILES]
        side = int(self.spec.kernel) if self.spec.kind is ModelKind.CNN else 28
        return weights.reshape(-1, side, side)

    def _n_neurons(self) -> int:
        return int(self._w0_first.shape[0])

    def _panel_label(self, kind: str) -> str:
        f = self.fonts
        n = self._n_neurons()
        if self.spec.kind is ModelKind.CNN:
            what = f"{n} kernels"
        elif self.spec.kind is ModelKind.MLP:
            what = f"{n} hidden neurons" if n <= MAX_TILES else f"first {MAX_TILES} of {n} hidden neurons"
        elif self.spec.kind is ModelKind.LINEAR:
            what = f"{n} neurons"
        else:
            what = ""
        base = "w" if kind == "w" else f"w − w{'₀'}"
        start = f" (step {self.w0.step})" if kind == "delta" and self.w0.step != 0 else ""
        meaning = "the weights" if kind == "w" else f"what training added{start}"
        text = f"{base}: {meaning}" + (f", {what}" if what else "")
        return f.text(text)

    # -- geometry --------------------------------------------------------------------
    def _layout(self) -> None:
        width, height = self.size
        u = min(width / 960, height / 540)
        self.unit = u
        self.fonts = _Fonts(u)
        pad = max(6, round(14 * u))
        self.pad = pad
        title_h = round(38 * u)
        caption_h = round(40 * u)
        self.title_box = _Box(pad, pad // 2, width - 2 * pad, title_h)
        self.caption_box = _Box(pad, height - caption_h - pad // 2, width - 2 * pad, caption_h)
        top = self.title_box.bottom + pad // 2
        bottom = self.caption_box.y - pad // 2
        middle_h = bottom - top
        label_h = round(22 * u)
        legend_h = round(20 * u)
        bar_w = max(6, round(12 * u))
        bar_text_w = round(58 * u)
        kinds = self._kinds()
        n_panels = len(kinds)
        # Weights take what is left of about half the width after the colour bars, and
        # never more than the height allows.
        share = 0.48 if n_panels == 1 else 0.68
        avail_w = int((width * share - n_panels * (bar_w + bar_text_w + pad)) / n_panels)
        avail_h = middle_h - label_h - legend_h
        n, tile_side = self._tile_values(self.w0, kinds[0]).shape[:2]
        cols, rows, tile_px, gap = self._grid(n, tile_side, max(20, avail_w), max(20, avail_h))
        used_w = cols * tile_px + gap * (cols - 1)
        used_h = rows * tile_px + gap * (rows - 1)
        panels = []
        x = pad
        # the weights block is centred vertically in the space between caption and title
        y = top + label_h + max(0, (avail_h - used_h) // 2)
        limits = self._limits
        for kind in kinds:
            image = _Box(x, y, used_w, used_h)
            bar = _Box(x + used_w + round(8 * u), y, bar_w, used_h)
            panels.append(_Panel(kind, self._panel_label(kind), image, bar, limits[kind],
                                 cols, tile_px, gap))
            x = max(bar.right + bar_text_w, x + avail_w) + pad
        self.panels = panels
        self.legend_y = y + used_h + round(4 * u)
        plots_x = x + pad
        plots_w = width - pad - plots_x - round(44 * u)  # room for the y tick labels
        axis_label_h = round(34 * u)  # tick labels and "step" under the lower plot
        gap = round(30 * u)
        plot_h = (middle_h - 2 * label_h - gap - axis_label_h) // 2
        left = plots_x + round(44 * u)
        self.loss_box = _Box(left, top + label_h, plots_w, plot_h)
        self.acc_box = _Box(left, self.loss_box.bottom + gap + label_h, plots_w, plot_h)
        if plots_w < 60 or plot_h < 30:
            raise ConfigError(
                f"animation size {width}x{height} leaves no room for the curves; make it "
                "wider (e.g. 960x540)"
            )
        # y ranges
        c = self.curves
        loss_vals = [c.losses, c.valid_losses]
        peak = 0.0
        for v in loss_vals:
            if v.size:
                peak = max(peak, float(np.percentile(v, 99)))
        self.loss_max = float(_nice_ticks(0, peak * 1.08 if peak > 0 else 1.0, 4)[-1])
        if self.loss_max < peak * 1.08:
            self.loss_max = peak * 1.08 if peak > 0 else 1.0

    def _x_to_px(self, step: float, box: _Box, scale: int = 1) -> float:
        lo, hi = self.x_range
        return (step - lo) / (hi - lo) * (box.w * scale - 1)

    # -- static parts ------------------------------------------------------------------
    def _draw_static(self) -> Image.Image:
        width, height = self.size
        im = Image.new("RGB", (width, height), BACKGROUND)
        d = ImageDraw.Draw(im)
        f = self.fonts
        title = self.options.title or self.spec.describe()
        d.text((self.title_box.x, self.title_box.y + self.title_box.h // 2), f.text(title),
               font=f.title, fill=TEXT, anchor="lm")
        d.text((self.title_box.right, self.title_box.y + self.title_box.h // 2), "biasviz",
               font=f.small, fill=MUTED, anchor="rm")
        lut = diverging_lut(256)
        for p in self.panels:
            d.text((p.image.x, p.image.y - round(6 * self.unit)), p.label, font=f.label,
                   fill=TEXT, anchor="ld")
            # colour bar: +limit at the top, 0 (white) in the middle, −limit at the bottom
            column = lut[::-1][np.linspace(0, 255, p.bar.h).round().astype(int)]
            bar = np.repeat(column[:, None, :], p.bar.w, axis=1)
            im.paste(Image.fromarray(bar, "RGB"), (p.bar.x, p.bar.y))
            d.rectangle([p.bar.x - 1, p.bar.y - 1, p.bar.right, p.bar.bottom], outline=AXIS)
            tx = p.bar.right + round(5 * self.unit)
            for value, y in ((p.limit, p.bar.y), (0.0, p.bar.y + p.bar.h // 2),
                             (-p.limit, p.bar.bottom)):
                d.line([p.bar.right, y, p.bar.right + round(3 * self.unit), y], fill=AXIS)
                text = "0" if value == 0 else f.text(("+" if value > 0 else "−")
                                                      + _limit_text(abs(value)))
                d.text((tx, y), text, font=f.small, fill=MUTED, anchor="lm")
        legend = self._legend_text()
        if legend:
            d.text((self.panels[0].image.x, self.legend_y), f.text(legend), font=f.small,
                   fill=MUTED, anchor="la")
        self._draw_axes(d, self.loss_box, "loss per step", (0.0, self.loss_max), percent=False)
        self._draw_axes(d, self.acc_box, "validation accuracy", (0.0, 1.0), percent=True)
        d.text((self.acc_box.x + self.acc_box.w // 2, self.acc_box.bottom + round(21 * self.unit)),
               "step", font=f.small, fill=MUTED, anchor="mt")
        return im

    def _legend_text(self) -> str:
        names = self.options.class_names
        delta_only = self.options.show == "delta"
        if self.spec.kind is ModelKind.SINGLE:
            first, second = names if names and len(names) == 2 else ("the first class",
                                                                       "the second")
            if delta_only:
                return f"red: training made the pixel vote more for {first}, blue: for {second}"
            return f"red pixels push towards {first}, blue towards {second}"
        if delta_only:
            return "red: the weight grew, blue: it shrank"
        return "red: positive weight, blue: negative"

    def _draw_axes(self, d: ImageDraw.ImageDraw, box: _Box, title: str,
                   y_range: tuple[float, float], percent: bool) -> None:
        f = self.fonts
        d.text((box.x, box.y - round(6 * self.unit)), title, font=f.label, fill=TEXT,
               anchor="ld")
        d.rectangle([box.x - 1, box.y - 1, box.right, box.bottom], outline=AXIS)
        lo, hi = y_range
        yticks = [0.0, 0.25, 0.5, 0.75, 1.0] if percent else _nice_ticks(lo, hi, 4)
        for v in yticks:
            y = box.bottom - (v - lo) / (hi - lo) * box.h
            d.line([box.x - round(4 * self.unit), y, box.x - 1, y], fill=AXIS)
            text = f"{v:.0%}" if percent else _tick_text(v)
            d.text((box.x - round(7 * self.unit), y), text, font=f.small, fill=MUTED, anchor="rm")
        for v in _nice_ticks(*self.x_range, 5):
            x = box.x + self._x_to_px(v, box)
            d.line([x, box.bottom + 1, x, box.bottom + round(4 * self.unit)], fill=AXIS)
            d.text((x, box.bottom + round(5 * self.unit)), _tick_text(v), font=f.small,
                   fill=MUTED, anchor="mt")

    def _plot_legend(self, im: Image.Image) -> None:
        """The loss plot's legend, in its top-right corner (loss curves fall from the
        top left, so that corner is normally empty) on a white box."""
        d = ImageDraw.Draw(im)
        f = self.fonts
        u = self.unit
        items = [("each batch", RAW), ("smoothed", SMOOTH)]
        if self.curves.valid_losses.size:
            items.append(("validation", VALID_LOSS))
        swatch, gap, pad = round(14 * u), round(5 * u), round(5 * u)
        widths = [round(d.textlength(t, font=f.small)) for t, _ in items]
        line_h = round(16 * u)
        box_w = swatch + gap + max(widths) + 2 * pad
        box_h = line_h * len(items) + 2 * pad
        x0 = im.width - box_w - pad
        y0 = pad
        d.rectangle([x0, y0, x0 + box_w, y0 + box_h], fill=BACKGROUND, outline=GRID)
        for k, (text, colour) in enumerate(items):
            y = y0 + pad + k * line_h + line_h // 2
            d.line([x0 + pad, y, x0 + pad + swatch, y], fill=colour,
                   width=max(2, round(2 * u)))
            d.text((x0 + pad + swatch + gap, y), text, font=f.small, fill=MUTED, anchor="lm")

    # -- curves: drawn once, revealed per frame ------------------------------------------
    def _draw_plots(self) -> dict[str, tuple[Image.Image, Image.Image]]:
        """For each plot: (empty, full) images of its area, grid included."""
        out = {}
        c = self.curves
        s = SUPERSAMPLE
        u = self.unit
        for name, box, y_max, grid in (
            ("loss", self.loss_box, self.loss_max, _nice_ticks(0, self.loss_max, 4)),
            ("acc", self.acc_box, 1.0, [0.25, 0.5, 0.75]),
        ):
            big = Image.new("RGB", (box.w * s, box.h * s), BACKGROUND)
            d = ImageDraw.Draw(big)
            for v in grid:
                y = (1 - v / y_max) * (box.h * s - 1)
                d.line([0, y, box.w * s, y], fill=GRID, width=s)
            for v in _nice_ticks(*self.x_range, 5):
                x = self._x_to_px(v, box, s)
                d.line([x, 0, x, box.h * s], fill=GRID, width=s)
            empty = big.resize((box.w, box.h), Image.Resampling.LANCZOS)

            def points(xs: np.ndarray, ys: np.ndarray, box=box, y_max=y_max):
                keep = (xs >= self.x_range[0]) & (xs <= self.x_range[1])
                px = [self._x_to_px(x, box, s) for x in xs[keep]]
                py = [(1 - min(max(y, 0.0), y_max) / y_max) * (box.h * s - 1) for y in ys[keep]]
                return list(zip(px, py, strict=True))

            if name == "loss":
                raw = points(c.loss_steps, c.losses)
                if len(raw) > 1:
                    d.line(raw, fill=RAW, width=max(1, round(1.2 * s * u)), joint="curve")
                if c.losses.size > 1:
                    sm = points(c.loss_steps, smooth(c.losses, alpha=0.1))
                    d.line(sm, fill=SMOOTH, width=max(2, round(2.4 * s * u)), joint="curve")
                vl = points(c.valid_steps, c.valid_losses)
                self._line_with_dots(d, vl, VALID_LOSS, s, u)
            else:
                acc = points(c.accuracy_steps, c.accuracies)
                self._line_with_dots(d, acc, ACCURACY, s, u)
            full = big.resize((box.w, box.h), Image.Resampling.LANCZOS)
            if name == "loss":
                for image in (empty, full):
                    self._plot_legend(image)
            out[name] = (empty, full)
        return out

    @staticmethod
    def _line_with_dots(d: ImageDraw.ImageDraw, pts: list, colour, s: int, u: float) -> None:
        if len(pts) > 1:
            d.line(pts, fill=colour, width=max(2, round(2.4 * s * u)), joint="curve")
        if 0 < len(pts) <= 60:  # dots help with a few epochs and only clutter many
            r = max(2, round(2.6 * s * u))
            for x, y in pts:
                d.ellipse([x - r, y - r, x + r, y + r], fill=colour)

    def _marker(self, colour) -> Image.Image:
        """An anti-aliased dot with a white ring (RGBA) marking "now" on a curve."""
        s = 4
        r = max(3, round(5 * self.unit))
        big = Image.new("RGBA", (2 * r * s + s, 2 * r * s + s), (0, 0, 0, 0))
        d = ImageDraw.Draw(big)
        d.ellipse([0, 0, 2 * r * s, 2 * r * s], fill=(*BACKGROUND, 255))
        ring = max(1, round(1.5 * s * self.unit))
        d.ellipse([ring, ring, 2 * r * s - ring, 2 * r * s - ring], fill=(*colour, 255))
        return big.resize((2 * r + 1, 2 * r + 1), Image.Resampling.LANCZOS)

    # -- one frame -----------------------------------------------------------------------
    def frame(self, index: int) -> Image.Image:
        moment = self.moments[index]
        im = self._static.copy()
        d = ImageDraw.Draw(im)
        f = self.fonts
        for p in self.panels:
            self._paste_tiles(im, p, self._tile_values(moment, p.kind))
        step = moment.step
        for name, box in (("loss", self.loss_box), ("acc", self.acc_box)):
            empty, full = self._plots[name]
            im.paste(empty, (box.x, box.y))
            reveal = int(round(self._x_to_px(step, box))) + 1
            if reveal > 0:
                im.paste(full.crop((0, 0, min(reveal, box.w), box.h)), (box.x, box.y))
            x_now = box.x + self._x_to_px(step, box)
            d.line([x_now, box.y, x_now, box.bottom - 1], fill=(205, 210, 215))
        self._mark_now(im, step)
        accuracy = self._accuracy_at(step)
        acc_text = "validation accuracy " + ("—" if accuracy is None else f"{accuracy:.1%}")
        text = f"step {step:,}  ·  epoch {moment.epoch:,}  ·  {acc_text}"
        cb = self.caption_box
        d.text((cb.x, cb.y + cb.h // 2), f.text(text), font=f.caption, fill=TEXT, anchor="lm")
        # progress through the range: a thin bar under the caption
        lo, hi = self.x_range
        done = (step - lo) / (hi - lo)
        y = cb.bottom - max(2, round(3 * self.unit))
        d.rectangle([cb.x, y, cb.right, cb.bottom], fill=GRID)
        d.rectangle([cb.x, y, cb.x + done * cb.w, cb.bottom], fill=SMOOTH)
        return im

    def _accuracy_at(self, step: int) -> float | None:
        i = int(np.searchsorted(self._accuracy_steps, step, side="right"))
        return float(self.curves.accuracies[i - 1]) if i > 0 else None

    def _mark_now(self, im: Image.Image, step: int) -> None:
        c = self.curves
        marks = []
        i = int(np.searchsorted(c.loss_steps, step, side="right")) - 1
        if c.losses.size > 1 and i >= 0:
            # on the smoothed curve: the one a viewer follows
            marks.append((self.loss_box, self.loss_max, float(c.loss_steps[i]),
                          float(self._smoothed()[i]), SMOOTH))
        i = int(np.searchsorted(c.accuracy_steps, step, side="right")) - 1
        if i >= 0:
            marks.append((self.acc_box, 1.0, float(c.accuracy_steps[i]),
                          float(c.accuracies[i]), ACCURACY))
        for box, y_max, at, value, colour in marks:
            if at < self.x_range[0]:
                continue  # before the range shown
            x = box.x + self._x_to_px(at, box)
            y = box.y + (1 - min(max(value, 0.0), y_max) / y_max) * (box.h - 1)
            marker = self._markers[colour]
            r = marker.width // 2
            im.paste(marker, (round(x) - r, round(y) - r), marker)

    def _smoothed(self) -> np.ndarray:
        if not hasattr(self, "_smoothed_cache"):
            self._smoothed_cache = smooth(self.curves.losses, alpha=0.1)
        return self._smoothed_cache

    def _grid(self, n: int, side: int, avail_w: int, avail_h: int) -> tuple[int, int, int, int]:
        """Columns, rows, tile size and gap that show ``n`` tiles of side×side values as
        large as possible in avail_w × avail_h (a whole-number enlargement when it fits:
        crisp square pixels)."""
        gap = 0 if n == 1 else max(1, round(3 * self.unit))
        best = (1, n, 0)
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            cell = min((avail_w - gap * (cols - 1)) // cols, (avail_h - gap * (rows - 1)) // rows)
            if cell > best[2]:
                best = (cols, rows, cell)
        cols, rows, cell = best
        tile_px = (cell // side) * side if cell >= side else max(1, cell)
        return cols, rows, tile_px, gap

    def _paste_tiles(self, im: Image.Image, panel: _Panel, tiles: np.ndarray) -> None:
        box, cols, tile_px, gap = panel.image, panel.cols, panel.tile_px, panel.gap
        colours = to_rgb(tiles, panel.limit)  # n, side, side, 3
        for i in range(tiles.shape[0]):
            r, c = divmod(i, cols)
            tile = Image.fromarray(np.ascontiguousarray(colours[i]), "RGB")
            tile = tile.resize((tile_px, tile_px), Image.Resampling.NEAREST)  # crisp pixels
            im.paste(tile, (box.x + c * (tile_px + gap), box.y + r * (tile_px + gap)))
        if tiles.shape[0] == 1:
            ImageDraw.Draw(im).rectangle(
                [box.x - 1, box.y - 1, box.x + tile_px, box.y + tile_px], outline=AXIS
            )

    def frames(self) -> Iterator[Image.Image]:
        for i in range(len(self)):
            yield self.frame(i)


# -- encoders ----------------------------------------------------------------------------
def find_ffmpeg() -> str | None:
    """An ffmpeg executable: imageio-ffmpeg's bundled one, else ``ffmpeg`` on PATH."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError, OSError):
        return shutil.which("ffmpeg")


def _palette_image() -> Image.Image:
    """One palette for every GIF frame: the colour map, greys for text and the curve
    colours faded into white (their anti-aliased edges).  No per-frame palettes, so no
    flicker, and unchanged pixels stay unchanged between frames (smaller files)."""
    colours: list[tuple[int, int, int]] = [(int(r), int(g), int(b))
                                           for r, g, b in diverging_lut(128)]
    greys = np.linspace(0, 255, 40).round().astype(int)
    colours += [(g, g, g) for g in greys]
    for base in (SMOOTH, VALID_LOSS, ACCURACY, TEXT, MUTED, AXIS, GRID, TILE_GAP):
        for t in np.linspace(0.0, 1.0, 11)[:-1]:
            r, g, b = (int(round(c + (255 - c) * t)) for c in base)
            colours.append((r, g, b))
    seen: list[tuple[int, int, int]] = []
    for c in colours:
        if c not in seen:
            seen.append(c)
    seen = seen[:256]
    flat = [v for c in seen for v in c] + [0, 0, 0] * (256 - len(seen))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    return pal


@dataclass(frozen=True)
class AnimationResult:
    path: Path
    frames: int
    format: str  # "gif" or "mp4"
    size: tuple[int, int]
    bytes: int


def write_animation(
    path: str | os.PathLike[str],
    animator: Animator,
    progress: Callable[[int, int], None] | None = None,
) -> AnimationResult:
    """Write ``animator``'s frames to ``path``: ``.gif`` (Pillow) or ``.mp4`` (ffmpeg).

    The file appears only when complete (written next to it, then renamed).  Raises
    :class:`ConfigError` for an unknown extension or when no MP4 encoder is installed,
    :class:`ParamFileError` when the file cannot be written.
    """
    target = Path(os.fspath(path)).expanduser()
    suffix = target.suffix.lower()
    if suffix == ".gif":
        return _write_gif(target, animator, progress)
    if suffix == ".mp4":
        return _write_mp4(target, animator, progress)
    raise ConfigError(f"{target.name}: unknown animation type {suffix or '(none)'!r}; "
                      "choose .gif or .mp4")


def _check_folder(target: Path) -> None:
    if target.is_dir():
        raise ParamFileError(f"cannot write {target}: it is a folder")
    if not target.parent.is_dir():
        raise ParamFileError(f"cannot write {target.name}: the folder {target.parent} does "
                             "not exist")


def _write_atomically(target: Path, write: Callable[[IO[bytes]], None]) -> None:
    """``write`` into a temporary file next to ``target``, renamed over it when complete:
    no half-written animation is ever seen, and a failure leaves nothing behind."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise ParamFileError(f"could not write {target}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _umask() -> int:
    # Read it where the system says it (setting it, even briefly, races other threads).
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_gif(target: Path, animator: Animator,
               progress: Callable[[int, int], None] | None) -> AnimationResult:
    width, height = animator.size
    n = len(animator)
    if width * height * n > MAX_GIF_PIXELS:
        raise ConfigError(
            f"{n} frames of {width}x{height} is too much for a GIF (all frames are held in "
            "memory): choose fewer frames or a smaller size, or write an .mp4"
        )
    _check_folder(target)
    palette = _palette_image()
    frames = []
    for i in range(n):
        frames.append(animator.frame(i).quantize(palette=palette, dither=Image.Dither.NONE))
        if progress is not None:
            progress(i + 1, n)
    # GIF times are whole centiseconds: round the running total, not each frame, so
    # that 8 fps stays 8 fps on average (125 ms would otherwise become 120 ms)
    ms = 1000.0 / animator.options.fps
    ends = [10 * round((i + 1) * ms / 10) for i in range(n)]
    durations = [b - a for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    durations[-1] += 10 * round(100 * animator.options.hold_last)

    def write(fh) -> None:
        frames[0].save(fh, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0, optimize=True, disposal=1)

    _write_atomically(target, write)
    return AnimationResult(target, n, "gif", (width, height), target.stat().st_size)


def _ffmpeg_encoders(exe: str) -> str:
    try:
        return subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True,
                              text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _write_mp4(target: Path, animator: Animator,
               progress: Callable[[int, int], None] | None) -> AnimationResult:
    exe = find_ffmpeg()
    if exe is None:
        raise ConfigError(
            "writing MP4 needs ffmpeg: pip install imageio-ffmpeg (or install ffmpeg); "
            "a .gif needs nothing more"
        )
    _check_folder(target)
    width, height = animator.size
    if width % 2 or height % 2:
        raise ConfigError(f"MP4 needs an even width and height, got {width}x{height}")
    fps = animator.options.fps
    codec = (["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "20", "-preset", "medium"]
             if " libx264 " in _ffmpeg_encoders(exe)
             else ["-c:v", "mpeg4", "-pix_fmt", "yuv420p", "-q:v", "3"])
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    cmd = [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{width}x{height}", "-framerate", f"{fps:g}", "-i", "-", "-an", *codec,
           "-movflags", "+faststart", "-f", "mp4", tmp]
    n = len(animator)
    hold = int(round(animator.options.hold_last * fps))
    ok = False
    try:
        # stderr to a file: a chatty ffmpeg can never block on a full pipe
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=errors)
            assert proc.stdin is not None
            try:
                for i in range(n):
                    data = animator.frame(i).tobytes()
                    for _ in range(1 + (hold if i == n - 1 else 0)):
                        proc.stdin.write(data)
                    if progress is not None:
                        progress(i + 1, n)
                proc.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped early; its message follows
            except BaseException:
                proc.kill()  # e.g. Ctrl+C while rendering: no half-encoded file is kept
                proc.wait()
                raise
            returncode = proc.wait(timeout=600)
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip().splitlines()
        if returncode != 0:
            raise ParamFileError(
                f"ffmpeg could not write {target.name}: "
                + (message[-1] if message else f"exit status {returncode}")
            )
        os.replace(tmp, target)
        ok = True
    except OSError as exc:
        raise ParamFileError(f"could not write {target.name}: {exc.strerror or exc}") from exc
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return AnimationResult(target, n, "mp4", (width, height), target.stat().st_size)
