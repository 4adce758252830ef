"""Turn a drawn or loaded picture into the 28x28 input an MNIST model expects.

The recipe is the one MNIST itself was made with (LeCun et al.): take the ink, crop it to
its bounding box, scale it to fit a 20x20 box keeping its aspect ratio (anti-aliased),
then paste it into a 28x28 field so that its centre of mass lands on the centre.  MNIST
digits are white ink on black, so a picture with dark ink on light paper is inverted.

Decisions worth knowing:

* Input values are normalised by dtype (``uint8`` / 255, ``uint16`` / 65535, ``bool``)
  or, for every other dtype, by value range (largest finite value up to 1, 255 or 65535,
  else the maximum itself).  Non-finite values (NaN, +-inf) count as 0.
* Ink polarity comes from the background level (median of a border ring) and from which
  side of it the pixels that differ from it lie; a light background with dark strokes is
  inverted.  The background level is subtracted and the ink stretched so its peak is 1,
  which makes photos of grey paper work like a clean canvas.
* Transparent pixels (RGBA / LA) are composited onto the background: when the border is
  opaque, onto the border's shade; when the border is transparent (a PNG with strokes
  on nothing), onto the shade opposite to the strokes, so black strokes end up black on
  white and white strokes white on black.
* Anything with no ink (constant, no contrast above :data:`MIN_CONTRAST`, 0x0, 1x1)
  gives an ``empty`` result of zeros, never an exception and never NaN.
* Huge arrays are reduced by block means to at most :data:`MAX_WORK_SIDE` pixels on the
  long side first, band by band, so memory stays small whatever the input size.

Nothing here imports Qt or torch: numpy and Pillow only.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from biasviz.core.errors import ImageError

OUT_SIDE = 28
"""Side of the model input, in pixels."""
FIT_SIDE = 20
"""The ink's bounding box is scaled so its longer side is this many pixels (as MNIST)."""
CENTRE = 14.0
"""Row and column the centre of mass is moved to."""
MAX_WORK_SIDE = 1024
"""Inputs longer than this are block-averaged down before anything else."""
MAX_FILE_PIXELS = 64 * 1024 * 1024
"""Files with more pixels than this (after JPEG draft reduction) are refused."""
MAX_DECODED_BYTES = 128 * 1024 * 1024
"""Files whose decoded pixels would take more than this (Pillow keeps RGB, RGBA and
32-bit pixels in 4 bytes, 16-bit in 2, 8-bit in 1) are refused before decoding: a
64-megapixel RGBA picture would take 256 MB.  With the band-by-band conversion after it,
a picture costs at most about this plus 20 MB."""
MIN_CONTRAST = 0.03
"""Ink fainter than this (in 0..1 units above the background) counts as no ink."""
BBOX_THRESHOLD = 0.1
"""Pixels below this fraction of the ink's peak don't widen the bounding box."""
POLARITY_TOLERANCE = 0.03
"""Deviations from the background smaller than this are noise when judging polarity."""
UNEVEN_LIGHT = 0.12
"""When the four edges of a picture differ in brightness by more than this, the paper
is lit unevenly: ink is measured against a smooth surface fitted to the paper instead
of the border's median."""
FRAME_CONTRAST = 0.35
"""Edge rows or columns this much darker or lighter than the page are a frame (a
scanner lid, the table around a photographed sheet) and are cut off first."""
_MAX_FRAME_FRACTION = 0.3

# A band of rows converted to float at a time holds about this many values, so a
# 20000x20000 input never has a full-size float copy.
_CHUNK_VALUES = 1 << 20
# Float pictures a little above 1 (pen overshoot, rounding) are still 0..1 pictures.
_FLOAT_UNIT_SLACK = 1.5
# ITU-R 601-2 luma, the weights Pillow's convert("L") uses, so arrays and files agree.
_LUMA = (0.299, 0.587, 0.114)
# EPS makes Pillow run Ghostscript and WMF is a vector format: never open those.
_REFUSED_FORMATS = frozenset({"EPS", "WMF"})
_EXIF_ORIENTATION = 0x0112
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class BBox(NamedTuple):
    """An ink bounding box; ``image[top:bottom, left:right]`` is the ink (ends exclusive)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


# eq=False: a generated __eq__ would compare the arrays and raise "truth value ambiguous".
@dataclass(frozen=True, eq=False)
class Preprocessed:
    """A picture made ready for an MNIST model.

    Attributes
    ----------
    image : np.ndarray
        float32 (28, 28) in [0, 1], white ink on black, peak 1 unless empty.
    empty : bool
        True when there was no ink; ``image`` is then all zeros.
    inverted : bool
        True when the input had dark ink on a light background and was inverted.
    bbox : BBox or None
        The ink's bounding box in the coordinates of the array given to
        :func:`preprocess` (for :func:`preprocess_file`, of the loaded array); None if empty.
    """

    image: np.ndarray
    empty: bool
    inverted: bool
    bbox: BBox | None

    @property
    def flat(self) -> np.ndarray:
        """The image as a (784,) float32 vector (a copy, so the result stays unchanged)."""
        return self.image.reshape(-1).copy()


def _empty() -> Preprocessed:
    return Preprocessed(np.zeros((OUT_SIDE, OUT_SIDE), np.float32), True, False, None)


# --------------------------------------------------------------------------- arrays


def _validate(image: np.ndarray) -> np.ndarray:
    try:
        arr = np.asarray(image)
    except Exception as exc:  # ragged lists and the like: numpy raises several types
        raise ImageError(f"Cannot use this as an image: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise ImageError(f"Cannot use an image of pixel type {arr.dtype}; expected numbers.")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (2, 3, 4))):
        raise ImageError(
            f"Cannot use an array of shape {arr.shape} as an image; expected (H, W) "
            "grayscale or (H, W, 3) RGB or (H, W, 4) RGBA."
        )
    return arr


def _row_bands(arr: np.ndarray, rows: int) -> Iterator[np.ndarray]:
    for start in range(0, arr.shape[0], rows):
        yield arr[start : start + rows]


def _band_rows(arr: np.ndarray, multiple: int = 1) -> int:
    """Rows per band (a multiple of ``multiple``) so a band holds about _CHUNK_VALUES values."""
    per_row = max(1, arr.shape[1] * (arr.shape[2] if arr.ndim == 3 else 1))
    return multiple * max(1, _CHUNK_VALUES // (per_row * multiple))


def _divisor(arr: np.ndarray) -> float:
    """What to divide values by to bring them to 0..1 (by dtype, else by value range)."""
    if arr.dtype == np.bool_:
        return 1.0
    if arr.dtype == np.uint8:
        return 255.0
    if arr.dtype == np.uint16:
        return 65535.0
    peak = -math.inf
    if arr.dtype.kind == "f":
        for band in _row_bands(arr, _band_rows(arr)):
            finite = band[np.isfinite(band)]
            if finite.size:
                peak = max(peak, float(finite.max()))
        unit = _FLOAT_UNIT_SLACK
    else:
        if arr.size:
            peak = float(arr.max())
        unit = 1.0
    if peak <= unit:
        return 1.0
    if peak <= 255.0:
        return 255.0
    if peak <= 65535.0:
        return 65535.0
    # A longdouble peak beyond float64's range is inf here; any huge finite divisor will do.
    return peak if math.isfinite(peak) else float(np.finfo(np.float64).max)


def _work_dtype(dtype: np.dtype) -> type[np.floating]:
    # float32 holds every uint8/uint16/int16/float16/float32 value well enough;
    # wider types go through float64 so huge values divide before they overflow.
    if dtype.itemsize <= 2 or dtype == np.float32:
        return np.float32
    return np.float64


def _normalise(band: np.ndarray, divisor: float) -> np.ndarray:
    """A float copy of ``band`` scaled to 0..1, non-finite values set to 0."""
    x = band.astype(_work_dtype(band.dtype))
    if band.dtype.kind == "f":
        np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    x /= divisor
    np.clip(x, 0.0, 1.0, out=x)
    return x


def _channels(arr: np.ndarray) -> int:
    return arr.shape[2] if arr.ndim == 3 else 1


def _split(x: np.ndarray, channels: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Luma and alpha (None without alpha) of normalised pixels, channels on the last axis."""
    if channels == 1:
        return x, None
    if channels >= 3:
        gray = x[..., 0] * _LUMA[0] + x[..., 1] * _LUMA[1] + x[..., 2] * _LUMA[2]
    else:
        gray = x[..., 0]
    return gray, (x[..., -1] if channels in (2, 4) else None)


def _alpha_background(arr: np.ndarray, divisor: float) -> float:
    """The shade (0..1) that transparent pixels are composited onto."""
    channels = _channels(arr)
    if channels not in (2, 4):
        return 0.0
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    gray, alpha = _split(_normalise(border, divisor), channels)
    assert alpha is not None
    if np.median(alpha) >= 0.5:
        # An opaque frame is the paper: holes in it are more paper.
        return float(np.median(gray[alpha >= 0.5]))
    # Strokes on nothing: put them on the opposite shade so they stay visible.  A full
    # pass (not a subsample) so that thin strokes in a huge picture are not missed.
    weighted = total = 0.0
    for band in _row_bands(arr, _band_rows(arr)):
        gray, alpha = _split(_normalise(band, divisor), channels)
        assert alpha is not None
        weighted += float((gray * alpha).sum())
        total += float(alpha.sum())
    if total <= 0.0:
        return 0.0
    return 1.0 if weighted / total < 0.5 else 0.0


def _to_gray(band: np.ndarray, divisor: float, background: float) -> np.ndarray:
    gray, alpha = _split(_normalise(band, divisor), _channels(band))
    if alpha is not None:
        gray = gray * alpha + (1.0 - alpha) * background
    return gray


def _work_image(arr: np.ndarray) -> tuple[np.ndarray, int]:
    """Grayscale float32 in 0..1, block-averaged by an integer factor to <= MAX_WORK_SIDE.

    Returns the image and the factor.  Works band by band so that only about
    ``_CHUNK_VALUES`` values are ever held as floats at full resolution.
    """
    height, width = arr.shape[:2]
    divisor = _divisor(arr)
    background = _alpha_background(arr, divisor)
    factor = max(1, math.ceil(max(height, width) / MAX_WORK_SIDE))
    if factor == 1:
        return _to_gray(arr, divisor, background).astype(np.float32), 1
    col_starts = np.arange(0, width, factor)
    col_counts = np.diff(np.append(col_starts, width)).astype(np.float32)
    out = []
    for band in _row_bands(arr, _band_rows(arr, factor)):
        gray = _to_gray(band, divisor, background)
        row_starts = np.arange(0, gray.shape[0], factor)
        row_counts = np.diff(np.append(row_starts, gray.shape[0])).astype(np.float32)
        # reduceat sums ragged last blocks too; dividing by the counts makes them means.
        sums = np.add.reduceat(np.add.reduceat(gray, row_starts, axis=0), col_starts, axis=1)
        out.append((sums / row_counts[:, None] / col_counts[None, :]).astype(np.float32))
    return np.concatenate(out), factor


# --------------------------------------------------------------------------- recipe


def _ring_depth(shape: tuple[int, ...]) -> int:
    """How deep the border ring is: a few pixels, so that a stroke touching the edge is
    outvoted by the paper."""
    return max(1, min(shape[:2]) // 50)


def _border(gray: np.ndarray) -> np.ndarray:
    depth = _ring_depth(gray.shape)
    return np.concatenate(
        [
            gray[:depth].ravel(),
            gray[-depth:].ravel(),
            gray[:, :depth].ravel(),
            gray[:, -depth:].ravel(),
        ]
    )


def _ink(gray: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """Ink above the background (white on black), whether inverted, and the ink's peak."""
    uneven = _uneven_background(gray)
    if uneven is not None:
        return uneven
    background = float(np.median(_border(gray)))
    deviation = gray - np.float32(background)
    lighter = float(np.clip(deviation - POLARITY_TOLERANCE, 0.0, None).sum())
    darker = float(np.clip(-deviation - POLARITY_TOLERANCE, 0.0, None).sum())
    # Dark strokes on light paper: the pixels that stand out are below the background.
    inverted = darker > lighter
    ink = np.clip(-deviation if inverted else deviation, 0.0, None)
    return ink, inverted, float(ink.max())


def _surface(gray: np.ndarray, keep: str, step: int) -> np.ndarray:
    """Coefficients of a quadratic surface fitted to the paper by trimmed least squares.

    ``keep`` says which outliers are ink and left out of the next fit: ``"dark"``,
    ``"light"`` or ``"both"``.  A lamp's light across a sheet is smooth; ink is not.
    """
    h, w = gray.shape
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    x, y = (xs / w).ravel(), (ys / h).ravel()
    design = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    values = gray[::step, ::step].ravel().astype(np.float64)
    mask = np.ones(values.size, bool)
    coef = np.zeros(6)
    for _ in range(5):
        if mask.sum() < 12:
            break
        coef = np.linalg.lstsq(design[mask], values[mask], rcond=None)[0]
        residual = values - design @ coef
        spread = 1.4826 * float(np.median(np.abs(residual[mask]))) + 0.01
        if keep == "dark":
            mask = residual > -2.5 * spread
        elif keep == "light":
            mask = residual < 2.5 * spread
        else:
            mask = np.abs(residual) < 2.5 * spread
    return coef


def _evaluate(coef: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape
    x = (np.arange(w) / w)[None, :]
    y = (np.arange(h) / h)[:, None]
    c = coef
    surface = c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y
    return surface.astype(np.float32)


def _uneven_background(gray: np.ndarray) -> tuple[np.ndarray, bool, float] | None:
    """Ink against paper whose brightness changes smoothly across the picture (a photo
    lit from one side), or None when the light is even enough for the border's median.

    A quadratic surface is fitted to the paper, leaving the ink out (trimmed least
    squares); ink is measured relative to the paper under it, so a stroke in the dim
    corner counts as much as one in the light.  Small pictures (drawings, MNIST itself)
    are never photos: they keep the plain rule.
    """
    if min(gray.shape) < 64:
        return None
    # Even light gives the four edges of the sheet one level; paper around a drawing
    # does too.  Light from one side makes the edges differ.
    depth = _ring_depth(gray.shape)
    sides = [np.median(gray[:depth]), np.median(gray[-depth:]),
             np.median(gray[:, :depth]), np.median(gray[:, -depth:])]
    if float(max(sides) - min(sides)) <= UNEVEN_LIGHT:
        return None
    step = max(1, int(math.sqrt(gray.size / 65536)))
    both = _evaluate(_surface(gray, "both", step), gray.shape)
    deviation = gray - both
    lighter = float(np.clip(deviation - POLARITY_TOLERANCE, 0.0, None).sum())
    darker = float(np.clip(-deviation - POLARITY_TOLERANCE, 0.0, None).sum())
    inverted = darker > lighter
    paper = _evaluate(_surface(gray, "dark" if inverted else "light", step), gray.shape)
    if inverted:
        # Dim paper has dim ink: relative to its paper, the ink is as dark everywhere.
        ink = (paper - gray) / np.maximum(paper, np.float32(0.05))
    else:
        ink = gray - paper
    ink = np.clip(ink - POLARITY_TOLERANCE, 0.0, 1.0).astype(np.float32)
    return ink, inverted, float(ink.max())


def _frame(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) rows/columns to cut: a frame around the page (a black
    scanner lid, the table around a photographed sheet), or nothing.

    Edge rows and columns whose median is far from the picture's (the page is most of
    it; ink is too sparse to move a median) are frame candidates.  They are cut only if
    what remains has contrast and its ink is unlike the frame (ink darker than the page
    but lighter than a black frame): otherwise the "frame" is the paper around a big
    drawing, and the border rule stands.  At most 30% of each side is cut.
    """
    h, w = gray.shape
    if h < 32 or w < 32:
        return 0, 0, 0, 0
    page = float(np.median(gray))
    row_far = np.abs(np.median(gray, axis=1) - page) > FRAME_CONTRAST
    col_far = np.abs(np.median(gray, axis=0) - page) > FRAME_CONTRAST

    def run(flags: np.ndarray, limit: int) -> int:
        n = 0
        while n < limit and flags[n]:
            n += 1
        return n

    cut = (run(row_far, int(h * _MAX_FRAME_FRACTION)),
           run(row_far[::-1], int(h * _MAX_FRAME_FRACTION)),
           run(col_far, int(w * _MAX_FRAME_FRACTION)),
           run(col_far[::-1], int(w * _MAX_FRAME_FRACTION)))
    if not any(cut):
        return 0, 0, 0, 0
    top, bottom, left, right = cut
    inner = gray[top : h - bottom, left : w - right]
    outside = np.ones(gray.shape, bool)
    outside[top : h - bottom, left : w - right] = False
    frame = float(np.median(gray[outside]))
    darkest, lightest = np.percentile(inner, [0.5, 99.5])
    if lightest - darkest < 0.1:
        return 0, 0, 0, 0
    if frame < page and darkest < frame + 0.08:
        return 0, 0, 0, 0
    if frame > page and lightest > frame - 0.08:
        return 0, 0, 0, 0
    return cut


def _fit(crop: np.ndarray) -> np.ndarray:
    """Scale so the longer side is FIT_SIDE, keeping the aspect ratio, anti-aliased."""
    height, width = crop.shape
    scale = FIT_SIDE / max(height, width)
    new_h = min(FIT_SIDE, max(1, int(height * scale + 0.5)))
    new_w = min(FIT_SIDE, max(1, int(width * scale + 0.5)))
    if (new_h, new_w) == (height, width):
        return crop.copy()
    # Area averaging when shrinking is what anti-aliasing means here and never rings;
    # Lanczos when enlarging a tiny drawing keeps it from looking blocky.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.LANCZOS
    picture = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32))
    out = np.asarray(picture.resize((new_w, new_h), resample), dtype=np.float32).copy()
    return np.clip(out, 0.0, 1.0, out=out)


def _centre(box: np.ndarray) -> np.ndarray | None:
    """Paste ``box`` into OUT_SIDE x OUT_SIDE with its centre of mass at (CENTRE, CENTRE)."""
    total = float(box.sum())
    if total <= 0.0:
        return None
    height, width = box.shape
    com_y = float(box.sum(axis=1) @ np.arange(height)) / total
    com_x = float(box.sum(axis=0) @ np.arange(width)) / total
    # Round half up (not to even) so equal offsets always move the same way; clip so
    # the box stays whole inside the field (FIT_SIDE < OUT_SIDE, so it always fits).
    top = min(max(math.floor(CENTRE - com_y + 0.5), 0), OUT_SIDE - height)
    left = min(max(math.floor(CENTRE - com_x + 0.5), 0), OUT_SIDE - width)
    out = np.zeros((OUT_SIDE, OUT_SIDE), np.float32)
    out[top : top + height, left : left + width] = box
    return out


def _mnistify(gray: np.ndarray, factor: int, shape: tuple[int, int]) -> Preprocessed:
    top_cut, bottom_cut, left_cut, right_cut = _frame(gray)
    if top_cut or bottom_cut or left_cut or right_cut:
        gray = gray[top_cut : gray.shape[0] - bottom_cut, left_cut : gray.shape[1] - right_cut]
    ink, inverted, peak = _ink(gray)
    return _place(ink, peak, inverted, (top_cut, bottom_cut, left_cut, right_cut), factor,
                  shape)


def _place(ink: np.ndarray, peak: float, inverted: bool, cuts: tuple[int, int, int, int],
           factor: int, shape: tuple[int, int]) -> Preprocessed:
    """Crop the ink to its box, fit it in 20x20 and centre it by mass in 28x28."""
    top_cut, _bottom_cut, left_cut, _right_cut = cuts
    if peak < MIN_CONTRAST:
        return _empty()
    ink /= np.float32(peak)
    mask = ink > BBOX_THRESHOLD
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    left, right = int(cols[0]), int(cols[-1]) + 1
    placed = _centre(_fit(ink[top:bottom, left:right]))
    if placed is None:
        return _empty()
    # Shrinking thin strokes dims them; MNIST strokes peak at full white, so match that.
    placed /= placed.max()
    bbox = BBox(
        (top + top_cut) * factor,
        (left + left_cut) * factor,
        min((bottom + top_cut) * factor, shape[0]),
        min((right + left_cut) * factor, shape[1]),
    )
    return Preprocessed(placed, False, inverted, bbox)


def preprocess(image: np.ndarray) -> Preprocessed:
    """Make a drawn or loaded picture into a 28x28 MNIST-style model input.

    Parameters
    ----------
    image : np.ndarray
        (H, W) grayscale of any numeric dtype, or (H, W, 3) RGB / (H, W, 4) RGBA
        ((H, W, 1) and (H, W, 2) gray+alpha work too).  See the module docstring for
        how values are normalised and transparency is handled.

    Returns
    -------
    Preprocessed
        ``empty`` (and all zeros) when there is no ink.

    Raises
    ------
    ImageError
        If ``image`` is not a numeric array of one of the shapes above.
    """
    arr = _validate(image)
    height, width = arr.shape[:2]
    if height * width <= 1:
        return _empty()
    gray, factor = _work_image(arr)
    return _mnistify(gray, factor, (height, width))


def preprocess_drawing(drawing: np.ndarray) -> Preprocessed:
    """:func:`preprocess` for the app's own canvas (uint8, white ink on black paper): the
    same result, without the analysis a photo needs (polarity, frames, uneven light),
    whose answers a clean canvas already gives — about ten times faster, which matters
    because the canvas predicts while the user draws.  A drawing whose ink touches the
    border or covers half the canvas takes the general path."""
    arr = np.asarray(drawing)
    if arr.dtype != np.uint8 or arr.ndim != 2 or min(arr.shape) < 2 \
            or max(arr.shape) > MAX_WORK_SIDE:
        return preprocess(arr)
    depth = _ring_depth(arr.shape)
    if (arr[:depth].any() or arr[-depth:].any() or arr[:, :depth].any()
            or arr[:, -depth:].any() or 2 * np.count_nonzero(arr) >= arr.size):
        return preprocess(arr)
    # A clear border ring and paper on most of the canvas: the border's median (the
    # background) is 0, no edge row or column is a frame, the light is even and the ink
    # is lighter than the paper, so the ink is the picture itself.
    gray = _to_gray(arr, 255.0, 0.0).astype(np.float32)
    return _place(gray, float(gray.max()), False, (0, 0, 0, 0), 1, arr.shape)


# --------------------------------------------------------------------------- files


def _fail(name: str, reason: str) -> ImageError:
    return ImageError(f"Cannot read image '{name}': {reason}")


def _orientation(picture: Image.Image) -> int:
    try:
        return int(picture.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not hide the pixels
        return 1


def _to_luma(picture: Image.Image) -> Image.Image:
    try:
        return picture.convert("L")
    except ValueError:
        pass
    try:
        return picture.convert("RGB").convert("L")
    except ValueError:
        # e.g. CIELab TIFFs: the first band is lightness already.
        return picture.getchannel(0)


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _embedded_size(head: bytes) -> tuple[int, int] | None:
    """Width and height an embedded PNG (IHDR) or BMP (DIB header) declares."""
    if head.startswith(_PNG_MAGIC) and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if len(head) >= 12 and struct.unpack("<I", head[:4])[0] in (12, 40, 52, 56, 108, 124):
        if struct.unpack("<I", head[:4])[0] == 12:
            w, h = struct.unpack("<HH", head[4:8])
        else:
            w, h = struct.unpack("<ii", head[4:12])
        return abs(w), abs(h) // 2  # an icon's DIB counts the AND mask in its height
    return None


def _icon_sizes(file: Path) -> list[tuple[int, int]]:
    """The sizes an .ico / .cur really holds, read from the embedded images' own
    headers.  Its directory may lie (256x256 around a 13000x13000 PNG), and Pillow
    decodes the largest image inside Image.open, before any check could run."""
    sizes: list[tuple[int, int]] = []
    try:
        with open(file, "rb") as fh:
            head = fh.read(6)
            if len(head) < 6:
                return sizes
            reserved, kind, count = struct.unpack("<HHH", head)
            if reserved != 0 or kind not in (1, 2) or not 0 < count <= 512:
                return sizes
            entries = fh.read(16 * count)
            for i in range(len(entries) // 16):
                offset = struct.unpack("<I", entries[16 * i + 12 : 16 * i + 16])[0]
                fh.seek(offset)
                size = _embedded_size(fh.read(32))
                if size is not None:
                    sizes.append(size)
    except (OSError, struct.error):
        return sizes
    return sizes


def _real_sizes(picture: Image.Image) -> list[tuple[int, int]]:
    """The sizes an .icns really holds (its elements' own headers), like _icon_sizes."""
    sizes: list[tuple[int, int]] = []
    try:
        if picture.format == "ICNS":
            icns = picture.icns  # type: ignore[attr-defined]
            for start, _length in icns.dct.values():
                icns.fobj.seek(start)
                head = icns.fobj.read(256)
                size = _embedded_size(head)
                if size is None and b"ihdr" in head:  # JPEG 2000's image header box
                    at = head.index(b"ihdr") + 4
                    if len(head) >= at + 8:
                        h, w = struct.unpack(">II", head[at : at + 8])
                        size = (w, h)
                if size is not None:
                    sizes.append(size)
    except (AttributeError, OSError, struct.error, ValueError):
        return sizes
    return sizes


def _bytes_per_pixel(mode: str) -> int:
    # How Pillow stores a decoded pixel: 8-bit modes in 1 byte, 16-bit in 2, all others
    # (RGB included) in 4.
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _check_size(width: int, height: int, mode: str, name: str) -> None:
    if width * height > MAX_FILE_PIXELS:
        raise _fail(
            name,
            f"{width}x{height} pixels is more than the {MAX_FILE_PIXELS // 1_000_000} "
            "megapixels this app reads",
        )
    decoded = width * height * _bytes_per_pixel(mode)
    if decoded > MAX_DECODED_BYTES:
        raise _fail(
            name,
            f"{width}x{height} pixels in mode {mode} would take {decoded / 1e6:.0f} MB to "
            f"decode, more than the {MAX_DECODED_BYTES / 1e6:.0f} MB this app allows",
        )


def _high_depth_divisor(picture: Image.Image, band_rows: int) -> float:
    """What to divide 16/32-bit pixels by: the smallest of 2⁸-1, 2¹⁰-1, 2¹²-1 and
    2¹⁶-1 that holds the largest value (files often store 8- or 10-bit data in 16-bit
    containers; dividing those by 65535 made every picture "no ink"), else by value
    range as for arrays."""
    peak, low = -math.inf, math.inf
    width, height = picture.size
    for top in range(0, height, band_rows):
        band = np.asarray(picture.crop((0, top, width, min(height, top + band_rows))))
        finite = band[np.isfinite(band)] if band.dtype.kind == "f" else band
        if finite.size:
            peak = max(peak, float(finite.max()))
            low = min(low, float(finite.min()))
    if picture.mode == "F" or low < 0:
        return _divisor(np.array([peak if math.isfinite(peak) else 0.0], np.float64))
    for depth in (255.0, 1023.0, 4095.0, 65535.0):
        if peak <= depth:
            return depth
    return peak


def _decode_bands(picture: Image.Image) -> np.ndarray:
    """The decoded picture as a grayscale (or gray + alpha) array at most
    MAX_WORK_SIDE long, converted and box-reduced band by band: no full-size copy of
    the decoded pixels is ever made (an RGBA picture used to be copied twice)."""
    width, height = picture.size
    factor = max(1, math.ceil(max(width, height) / MAX_WORK_SIDE))
    per_row = max(1, width * 4)
    rows = factor * max(1, (1 << 22) // (per_row * factor))  # bands of about 4 MB
    mode = picture.mode
    high_depth = mode.startswith("I;16") or mode in ("I", "F")
    transparent = mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in picture.info
    divisor = _high_depth_divisor(picture, rows) if high_depth else 1.0
    out = []
    for top in range(0, height, rows):
        band = picture.crop((0, top, width, min(height, top + rows)))
        if high_depth:
            values = np.asarray(band).astype(np.float32)
            if values.dtype.kind == "f":
                np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            values /= np.float32(divisor)
            np.clip(values, 0.0, 1.0, out=values)
            if factor > 1:
                starts_r = np.arange(0, values.shape[0], factor)
                starts_c = np.arange(0, values.shape[1], factor)
                counts_r = np.diff(np.append(starts_r, values.shape[0])).astype(np.float32)
                counts_c = np.diff(np.append(starts_c, values.shape[1])).astype(np.float32)
                sums = np.add.reduceat(np.add.reduceat(values, starts_r, axis=0), starts_c,
                                       axis=1)
                values = sums / counts_r[:, None] / counts_c[None, :]
            out.append(values.astype(np.float32))
            continue
        if transparent:
            # Reduce in LA: Pillow premultiplies, so averaging then compositing equals
            # compositing then averaging.
            flat = band.convert("RGBA").convert("LA") if band.mode != "LA" else band
        else:
            flat = _to_luma(band)
        out.append(np.asarray(flat.reduce(factor) if factor > 1 else flat))
    return np.concatenate(out) if len(out) > 1 else out[0]


def _decode(picture: Image.Image, name: str) -> np.ndarray:
    width, height = picture.size
    for real_w, real_h in _real_sizes(picture):
        _check_size(real_w, real_h, "RGBA", name)
    if picture.format in ("JPEG", "MPO") and max(width, height) > MAX_WORK_SIDE:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale (never below the size we need)
        # and straight to grayscale: big photos never exist at full size in memory.
        shrink = max(width, height) / MAX_WORK_SIDE
        picture.draft("L", (max(1, int(width / shrink)), max(1, int(height / shrink))))
        width, height = picture.size
    _check_size(width, height, picture.mode, name)
    # After the size check: a PNG's getexif() decodes the whole image to look for an
    # eXIf chunk after the pixels (a refused 62 MP RGBA picture still cost 236 MiB).
    orientation = _orientation(picture)
    picture.load()
    if picture.size != (width, height):  # a container that lied despite the checks
        _check_size(*picture.size, picture.mode, name)
    pixels = _decode_bands(picture)
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    gray, _ = _work_image(pixels)
    if transpose is not None:
        gray = np.asarray(Image.fromarray(gray).transpose(transpose), dtype=np.float32)
    return np.ascontiguousarray(gray, dtype=np.float32)


def load_image_file(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file into a 2-D float32 grayscale array in [0, 1].

    Any format Pillow reads (PNG, JPEG, BMP, GIF, TIFF, WebP, ...) except EPS and WMF;
    16-bit, palette, 1-bit, CMYK and animated files (first frame) included.  Colour
    becomes luma; transparency is composited as :func:`preprocess` does (black strokes
    on a transparent PNG become black on white).  EXIF orientation is applied.  Files
    longer than :data:`MAX_WORK_SIDE` pixels are returned box-reduced by an integer
    factor to at most that size; files over :data:`MAX_FILE_PIXELS` are refused.

    Raises
    ------
    ImageError
        For a missing path, a folder, an empty, unreadable, unsupported or too large
        file; the message names the file and the reason.
    """
    try:
        name = os.fspath(path)
        file = Path(name)
    except TypeError as exc:
        raise ImageError(f"Cannot read image {path!r}: not a file path") from exc
    try:
        exists, is_dir = file.exists(), file.is_dir()
    except OSError as exc:
        # On Python 3.11 exists() raises OSError for some
        # paths (ENAMETOOLONG for a name over 255 bytes) instead of returning False.
        raise _fail(name, f"cannot open it ({exc.strerror or exc})") from exc
    if not exists:
        raise _fail(name, "no such file")
    if is_dir:
        raise _fail(name, "it is a folder, not a file")
    try:
        if file.stat().st_size == 0:
            raise _fail(name, "the file is empty")
        for real_w, real_h in _icon_sizes(file):
            _check_size(real_w, real_h, "RGBA", name)
        Image.init()
        formats = [f for f in Image.ID if f not in _REFUSED_FORMATS]
        with Image.open(file, formats=formats) as picture:
            return _decode(picture, name)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise _fail(name, f"too many pixels ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise _fail(name, "not an image in a format this app can read") from exc
    except MemoryError as exc:
        raise _fail(name, "not enough memory to decode it") from exc
    except OSError as exc:
        # An error from the file system itself (permission
        # denied, I/O error...) carries an errno; say that instead of "damaged".  Pillow's
        # decoders raise plain OSErrors without one for damaged data, handled below.
        if exc.errno is None:
            reason = str(exc) or type(exc).__name__
            raise _fail(name, f"the file is damaged or unsupported ({reason})") from exc
        raise _fail(name, f"cannot open it ({exc.strerror or exc})") from exc
    except Exception as exc:
        # Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error,
        # EOFError ... for damaged files: all of them mean "unreadable" to the user.
        reason = str(exc) or type(exc).__name__
        raise _fail(name, f"the file is damaged or unsupported ({reason})") from exc


def preprocess_file(path: str | os.PathLike[str]) -> Preprocessed:
    """:func:`load_image_file` then :func:`preprocess`; ``bbox`` is in loaded coordinates."""
    return preprocess(load_image_file(path))
