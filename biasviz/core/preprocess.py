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
MIN_CONTRAST = 0.03
"""Ink fainter than this (in 0..1 units above the background) counts as no ink."""
BBOX_THRESHOLD = 0.1
"""Pixels below this fraction of the ink's peak don't widen the bounding box."""
POLARITY_TOLERANCE = 0.03
"""Deviations from the background smaller than this are noise when judging polarity."""

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


def _border(gray: np.ndarray) -> np.ndarray:
    # A ring a few pixels deep, so a stroke touching the edge is outvoted by the paper.
    depth = max(1, min(gray.shape) // 50)
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
    background = float(np.median(_border(gray)))
    deviation = gray - np.float32(background)
    lighter = float(np.clip(deviation - POLARITY_TOLERANCE, 0.0, None).sum())
    darker = float(np.clip(-deviation - POLARITY_TOLERANCE, 0.0, None).sum())
    # Dark strokes on light paper: the pixels that stand out are below the background.
    inverted = darker > lighter
    ink = np.clip(-deviation if inverted else deviation, 0.0, None)
    return ink, inverted, float(ink.max())


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
    ink, inverted, peak = _ink(gray)
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
        top * factor,
        left * factor,
        min(bottom * factor, shape[0]),
        min(right * factor, shape[1]),
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


# --------------------------------------------------------------------------- files


def _fail(name: str, reason: str) -> ImageError:
    return ImageError(f"Cannot read image '{name}': {reason}")


def _orientation(picture: Image.Image) -> int:
    try:
        return int(picture.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block should not make the pixels unreadable
        return 1


def _reduced(picture: Image.Image) -> Image.Image:
    """Box-reduce (premultiplied for LA / RGBA) to at most MAX_WORK_SIDE on the long side."""
    factor = math.ceil(max(picture.size) / MAX_WORK_SIDE)
    return picture.reduce(factor) if factor > 1 else picture


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


def _decode(picture: Image.Image, name: str) -> np.ndarray:
    width, height = picture.size
    orientation = _orientation(picture)
    if picture.format in ("JPEG", "MPO") and max(width, height) > MAX_WORK_SIDE:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale (never below the size we need)
        # and straight to grayscale: big photos never exist at full size in memory.
        shrink = max(width, height) / MAX_WORK_SIDE
        picture.draft("L", (max(1, int(width / shrink)), max(1, int(height / shrink))))
        width, height = picture.size
    if width * height > MAX_FILE_PIXELS:
        raise _fail(
            name,
            f"{width}x{height} pixels is more than the {MAX_FILE_PIXELS // 1_000_000} "
            "megapixels this app reads",
        )
    picture.load()
    mode = picture.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        # High bit depth: convert("L") would clip, so normalise in numpy instead.
        pixels: np.ndarray = np.asarray(picture)
        if mode.startswith("I;16"):
            pixels = pixels.astype(np.uint16)
    else:
        transparent = mode in ("LA", "La", "PA", "RGBA", "RGBa") or (
            "transparency" in picture.info
        )
        if transparent:
            # Reduce in LA: Pillow premultiplies, so averaging then compositing equals
            # compositing then averaging.
            flat = picture.convert("RGBA").convert("LA") if mode != "LA" else picture
        else:
            flat = _to_luma(picture)
        pixels = np.asarray(_reduced(flat))
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
        # Reliability fix (issue 5): on Python 3.11 exists() raises OSError for some
        # paths (ENAMETOOLONG for a name over 255 bytes) instead of returning False.
        raise _fail(name, f"cannot open it ({exc.strerror or exc})") from exc
    if not exists:
        raise _fail(name, "no such file")
    if is_dir:
        raise _fail(name, "it is a folder, not a file")
    try:
        if file.stat().st_size == 0:
            raise _fail(name, "the file is empty")
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
        # Reliability fix (issue 5): an error from the file system itself (permission
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
