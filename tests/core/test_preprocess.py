"""Tests for biasviz.core.preprocess: picture -> 28x28 MNIST-style input."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageDraw, ImageOps, JpegImagePlugin

from biasviz.core.errors import ImageError
from biasviz.core.preprocess import (
    MAX_WORK_SIDE,
    BBox,
    Preprocessed,
    load_image_file,
    preprocess,
    preprocess_file,
)

REPO = Path(__file__).resolve().parents[2]
MNIST_SAMPLE = REPO / "resources" / "mnist_sample.npz"


# --------------------------------------------------------------------------- helpers


def draw(height: int, width: int, points: list[tuple[int, int]], stroke: int) -> np.ndarray:
    """White anti-aliased-free polyline on black, uint8 (height, width)."""
    picture = Image.new("L", (width, height), 0)
    ImageDraw.Draw(picture).line(points, fill=255, width=stroke, joint="curve")
    return np.asarray(picture).copy()


def seven(height: int = 150, width: int = 200) -> np.ndarray:
    """A thick '7' in the top-left part of the canvas (off-centre on purpose)."""
    sx, sy = width / 200, height / 150
    pts = [(int(20 * sx), int(15 * sy)), (int(90 * sx), int(15 * sy)), (int(45 * sx), int(110 * sy))]
    return draw(height, width, pts, max(2, int(10 * sx)))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def ink_box(image: np.ndarray, threshold: float = 0.0) -> tuple[int, int]:
    """(height, width) of the pixels above ``threshold``."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def check_valid(result: Preprocessed) -> None:
    assert isinstance(result, Preprocessed)
    assert result.image.shape == (28, 28)
    assert result.image.dtype == np.float32
    assert np.isfinite(result.image).all()
    assert result.image.min() >= 0.0
    assert result.image.max() <= 1.0
    assert result.flat.shape == (784,)
    assert result.flat.dtype == np.float32
    if result.empty:
        assert not result.image.any()
        assert result.bbox is None
    else:
        assert result.image.max() == pytest.approx(1.0)
        assert isinstance(result.bbox, BBox)


def assert_centred_digit(result: Preprocessed) -> None:
    check_valid(result)
    assert not result.empty
    height, width = ink_box(result.image)
    assert 19 <= max(height, width) <= 21
    com_y, com_x = centre_of_mass(result.image)
    assert abs(com_y - 14.0) <= 0.5
    assert abs(com_x - 14.0) <= 0.5


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    return seven()


@pytest.fixture(scope="module")
def reference(digit: np.ndarray) -> Preprocessed:
    return preprocess(digit)


# --------------------------------------------------------------------------- recipe


def test_off_centre_digit_is_scaled_to_20_and_centred(digit: np.ndarray) -> None:
    result = preprocess(digit)
    assert_centred_digit(result)
    assert result.inverted is False
    # The box is reported in input coordinates and matches the drawn ink.
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    assert result.bbox == BBox(rows[0], cols[0], rows[-1] + 1, cols[-1] + 1)
    # The digit is taller than wide, so its height is the one scaled to 20.
    height, width = ink_box(result.image)
    assert height in (20, 21)
    assert width < height


def test_position_in_the_canvas_does_not_matter(digit: np.ndarray) -> None:
    moved = np.zeros((400, 300), np.uint8)
    moved[230:380, 90:290] = digit
    np.testing.assert_allclose(preprocess(moved).image, preprocess(digit).image, atol=1e-6)


def test_black_on_white_is_inverted_to_the_same_input(digit: np.ndarray, reference: Preprocessed) -> None:
    result = preprocess(255 - digit)
    assert result.inverted is True
    assert reference.inverted is False
    np.testing.assert_allclose(result.image, reference.image, atol=1e-6)
    assert result.bbox == reference.bbox


def test_grey_paper_with_grey_ink_matches_the_clean_canvas(
    digit: np.ndarray, reference: Preprocessed
) -> None:
    # A photo-like picture: mid-grey paper, darker grey ink.  Background subtraction and
    # stretching make it the same input as the clean white-on-black drawing.
    paper = (170 - (digit.astype(np.float64) / 255) * 100).astype(np.float64) / 255
    result = preprocess(paper)
    assert result.inverted is True
    np.testing.assert_allclose(result.image, reference.image, atol=1e-4)


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda d: np.stack([d] * 3, axis=-1), id="rgb"),
        pytest.param(lambda d: np.dstack([d, d, d, np.full_like(d, 255)]), id="rgba-opaque"),
        pytest.param(lambda d: d[:, :, None], id="hw1"),
        pytest.param(lambda d: d.astype(np.uint16) * 257, id="uint16"),
        pytest.param(lambda d: d.astype(np.float32) / 255, id="float32-0-1"),
        pytest.param(lambda d: d.astype(np.float64), id="float64-0-255"),
        pytest.param(lambda d: d.astype(np.int32), id="int32-0-255"),
        pytest.param(lambda d: d.astype(np.float16) / 255, id="float16"),
        pytest.param(lambda d: (255 - d).astype(np.int64) * 1000, id="int64-big-inverted"),
    ],
)
def test_dtypes_and_channels_agree_with_uint8_gray(
    digit: np.ndarray, reference: Preprocessed, convert
) -> None:
    result = preprocess(convert(digit))
    np.testing.assert_allclose(result.image, reference.image, atol=2e-3)
    assert result.bbox == reference.bbox


def test_coloured_ink_on_white(digit: np.ndarray, reference: Preprocessed) -> None:
    coverage = digit.astype(np.float64)[..., None] / 255
    blue_ink = (255 * (1 - coverage) + np.array([0, 0, 255]) * coverage).round().astype(np.uint8)
    result = preprocess(blue_ink)
    assert result.inverted is True
    np.testing.assert_allclose(result.image, reference.image, atol=2e-2)


def test_colour_becomes_luma_not_channel_mean(digit: np.ndarray, reference: Preprocessed) -> None:
    # Green ink on red paper: equal in channel mean, but green is much lighter in luma.
    coverage = digit.astype(np.float64)[..., None] / 255
    picture = 255 * ((1 - coverage) * np.array([1, 0, 0]) + coverage * np.array([0, 1, 0]))
    result = preprocess(picture.round().astype(np.uint8))
    assert not result.empty
    assert result.inverted is False
    np.testing.assert_allclose(result.image, reference.image, atol=2e-2)


def test_black_strokes_on_transparent_are_black_on_white(
    digit: np.ndarray, reference: Preprocessed
) -> None:
    rgba = np.zeros(digit.shape + (4,), np.uint8)
    rgba[..., 3] = digit  # black strokes, shape in alpha, nothing around them
    result = preprocess(rgba)
    assert result.inverted is True
    np.testing.assert_allclose(result.image, reference.image, atol=1e-5)


def test_white_strokes_on_transparent_stay_white_on_black(
    digit: np.ndarray, reference: Preprocessed
) -> None:
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, digit.shape + (4,), dtype=np.uint8)  # junk colour...
    rgba[..., 3] = digit  # ...where fully transparent, so it must not matter
    rgba[digit > 0, :3] = 255
    result = preprocess(rgba)
    assert result.inverted is False
    np.testing.assert_allclose(result.image, reference.image, atol=1e-5)


def test_transparent_hole_in_opaque_paper_takes_the_paper_shade(
    digit: np.ndarray, reference: Preprocessed
) -> None:
    rgba = np.dstack([255 - digit] * 3 + [np.full_like(digit, 255)])
    rgba[100:140, 150:190] = (0, 0, 0, 0)  # a transparent, black-coloured hole away from ink
    result = preprocess(rgba)
    assert result.inverted is True
    np.testing.assert_allclose(result.image, reference.image, atol=1e-5)


@pytest.mark.parametrize(("ink_h", "ink_w"), [(200, 20), (20, 200), (180, 6)])
def test_aspect_ratio_is_kept_and_thin_strokes_are_centred(ink_h: int, ink_w: int) -> None:
    canvas = np.zeros((300, 320), np.uint8)
    canvas[40 : 40 + ink_h, 250 - ink_w : 250] = 255
    result = preprocess(canvas)
    assert_centred_digit(result)
    height, width = ink_box(result.image, threshold=0.05)
    expected = (20 * ink_h / max(ink_h, ink_w), 20 * ink_w / max(ink_h, ink_w))
    assert abs(height - expected[0]) <= 1
    assert abs(width - expected[1]) <= 1
    assert result.bbox == BBox(40, 250 - ink_w, 40 + ink_h, 250)


def test_faint_noise_does_not_widen_the_box(digit: np.ndarray, reference: Preprocessed) -> None:
    noisy = digit.copy()
    noisy[140, 195] = 12  # a faint speck far from the ink, 5% of the ink's peak
    noisy[0, 0] = 8
    result = preprocess(noisy)
    assert result.bbox == reference.bbox
    np.testing.assert_allclose(result.image, reference.image, atol=1e-6)


def test_tiny_drawing_is_enlarged_to_20(reference: Preprocessed) -> None:
    small = np.zeros((280, 280), np.uint8)
    small[100:108, 50:54] = 255
    result = preprocess(small)
    assert_centred_digit(result)
    assert ink_box(result.image, threshold=0.05)[0] in (20, 21)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((280, 280), np.uint8), id="black"),
        pytest.param(np.full((280, 280), 255, np.uint8), id="white"),
        pytest.param(np.full((50, 60), 0.4, np.float32), id="grey"),
        pytest.param(np.full((50, 60), np.nan), id="all-nan"),
        pytest.param(np.random.default_rng(0).integers(0, 4, (64, 64)).astype(np.uint8), id="faint-noise"),
        pytest.param(np.zeros((0, 0), np.uint8), id="0x0"),
        pytest.param(np.zeros((0, 7, 3), np.uint8), id="0x7-rgb"),
        pytest.param(np.full((1, 1), 255, np.uint8), id="1x1"),
        pytest.param(np.zeros((40, 40, 4), np.uint8), id="all-transparent"),
    ],
)
def test_no_ink_gives_an_empty_zero_result(image: np.ndarray) -> None:
    result = preprocess(image)
    check_valid(result)
    assert result.empty
    assert result.inverted is False


def test_non_finite_values_count_as_zero(digit: np.ndarray, reference: Preprocessed) -> None:
    values = digit.astype(np.float64) / 255
    values[140:, :30] = np.nan
    values[0, :10] = np.inf
    values[5, 190] = -np.inf
    result = preprocess(values)
    np.testing.assert_allclose(result.image, reference.image, atol=1e-6)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros(10, np.uint8), id="1-d"),
        pytest.param(np.zeros((2, 5, 5, 3), np.uint8), id="4-d"),
        pytest.param(np.zeros((5, 5, 5), np.uint8), id="5-channels"),
        pytest.param(np.zeros((3, 28, 28), np.uint8), id="channels-first"),
        pytest.param(np.zeros((5, 5), np.complex64), id="complex"),
        pytest.param(np.array([["a", "b"], ["c", "d"]]), id="strings"),
        pytest.param(np.empty((2, 2), dtype=object), id="object"),
    ],
)
def test_unusable_arrays_raise_image_error(image: np.ndarray) -> None:
    with pytest.raises(ImageError):
        preprocess(image)


def test_huge_array_is_reduced_band_by_band() -> None:
    big = np.zeros((8000, 8000), np.uint8)
    big[1000:5000, 2000:2600] = 255
    tracemalloc.start()
    try:
        result = preprocess(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_centred_digit(result)
    assert result.bbox == BBox(1000, 2000, 5000, 2600)
    # A full-size float32 copy alone would be 256 MB.
    assert peak < 40e6


# --------------------------------------------------------------------------- MNIST


def test_real_mnist_digits_survive_preprocessing() -> None:
    if not MNIST_SAMPLE.exists():
        pytest.skip(f"{MNIST_SAMPLE} not present (made by the dataset tooling)")
    with np.load(MNIST_SAMPLE, allow_pickle=False) as data:
        images = data["images"][:500]
    correlations = []
    for image in images:
        result = preprocess(image)
        check_valid(result)
        assert not result.empty
        correlations.append(np.corrcoef(image.ravel(), result.image.ravel())[0, 1])
    correlations = np.asarray(correlations)
    # Measured on all 5,000: median 1.0, 1st percentile 0.9997, 99.8% above 0.9, worst
    # 0.63 (MNIST placed a few digits one pixel away from where the CoM rule puts them).
    assert np.median(correlations) > 0.99
    assert np.mean(correlations > 0.9) > 0.98
    assert correlations.min() > 0.5


# --------------------------------------------------------------------------- files


def save(picture: Image.Image, path: Path, **options) -> Path:
    picture.save(path, **options)
    return path


def test_png_grayscale_round_trip(tmp_path: Path, digit: np.ndarray, reference: Preprocessed) -> None:
    path = save(Image.fromarray(digit), tmp_path / "digit.png")
    loaded = load_image_file(path)
    assert loaded.dtype == np.float32
    assert loaded.shape == digit.shape
    np.testing.assert_allclose(loaded, digit / 255, atol=1e-6)
    result = preprocess_file(path)
    np.testing.assert_allclose(result.image, reference.image, atol=1e-5)
    assert result.bbox == reference.bbox
    # str paths work as well as Path objects.
    np.testing.assert_array_equal(load_image_file(str(path)), loaded)


@pytest.mark.parametrize("suffix", ["png", "bmp", "tiff", "webp"])
def test_rgb_files_black_on_white(
    tmp_path: Path, suffix: str, digit: np.ndarray, reference: Preprocessed
) -> None:
    rgb = Image.fromarray(np.stack([255 - digit] * 3, axis=-1))
    options = {"lossless": True} if suffix == "webp" else {}
    path = save(rgb, tmp_path / f"digit.{suffix}", **options)
    result = preprocess_file(path)
    assert result.inverted is True
    np.testing.assert_allclose(result.image, reference.image, atol=2e-3)


def test_png_rgba_black_strokes_on_transparent(
    tmp_path: Path, digit: np.ndarray, reference: Preprocessed
) -> None:
    rgba = np.zeros(digit.shape + (4,), np.uint8)
    rgba[..., 3] = digit
    path = save(Image.fromarray(rgba), tmp_path / "strokes.png")
    loaded = load_image_file(path)
    # Black ink composited onto white paper.
    np.testing.assert_allclose(loaded, 1 - digit / 255, atol=1e-6)
    result = preprocess_file(path)
    assert result.inverted is True
    np.testing.assert_allclose(result.image, reference.image, atol=1e-5)


def test_png_palette_with_transparency(tmp_path: Path, digit: np.ndarray) -> None:
    binary = np.where(digit > 127, 255, 0).astype(np.uint8)
    picture = Image.fromarray(binary).convert("P")
    picture.info["transparency"] = 0  # palette index 0 (black) is transparent
    path = save(picture, tmp_path / "palette.png", transparency=0)
    assert Image.open(path).mode == "P"
    loaded = load_image_file(path)
    # White strokes on nothing: composited onto black, so the strokes stay white.
    np.testing.assert_allclose(loaded, binary / 255, atol=1e-6)
    assert_centred_digit(preprocess_file(path))


def test_png_16_bit(tmp_path: Path, digit: np.ndarray, reference: Preprocessed) -> None:
    path = save(Image.fromarray(digit.astype(np.uint16) * 257), tmp_path / "deep.png")
    assert Image.open(path).mode.startswith("I")
    loaded = load_image_file(path)
    # convert("L") would have clipped everything above 255 to white: check we didn't.
    np.testing.assert_allclose(loaded, digit / 255, atol=1e-6)
    np.testing.assert_allclose(preprocess_file(path).image, reference.image, atol=1e-5)


def test_tiff_16_bit_uses_the_full_range(tmp_path: Path) -> None:
    values = np.zeros((40, 30), np.uint16)
    values[10:30, 12:18] = 40000
    path = save(Image.fromarray(values), tmp_path / "deep.tiff")
    loaded = load_image_file(path)
    assert loaded.max() == pytest.approx(40000 / 65535, abs=1e-6)


def test_one_bit_png(tmp_path: Path, digit: np.ndarray) -> None:
    mask = digit > 127
    path = save(Image.fromarray(mask), tmp_path / "mask.png")
    assert Image.open(path).mode == "1"
    loaded = load_image_file(path)
    np.testing.assert_array_equal(loaded, mask.astype(np.float32))


def test_jpeg(tmp_path: Path, digit: np.ndarray, reference: Preprocessed) -> None:
    path = save(Image.fromarray(255 - digit), tmp_path / "digit.jpg", quality=95)
    result = preprocess_file(path)
    assert result.inverted is True
    correlation = np.corrcoef(result.image.ravel(), reference.image.ravel())[0, 1]
    assert correlation > 0.95


def test_cmyk_jpeg(tmp_path: Path, digit: np.ndarray, reference: Preprocessed) -> None:
    rgb = Image.fromarray(np.stack([255 - digit] * 3, axis=-1))
    path = save(rgb.convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(path).mode == "CMYK"
    result = preprocess_file(path)
    assert result.inverted is True
    correlation = np.corrcoef(result.image.ravel(), reference.image.ravel())[0, 1]
    assert correlation > 0.95


def test_animated_gif_uses_the_first_frame(
    tmp_path: Path, digit: np.ndarray, reference: Preprocessed
) -> None:
    first = Image.fromarray(digit)
    second = Image.fromarray(np.flipud(digit).copy())
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(path).n_frames == 2
    loaded = load_image_file(path)
    np.testing.assert_allclose(loaded, digit / 255, atol=1e-6)
    np.testing.assert_allclose(preprocess_file(path).image, reference.image, atol=1e-5)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    values = np.zeros((40, 60), np.uint8)
    values[5:15, 5:25] = 255  # a bar near the top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = save(Image.fromarray(values), tmp_path / "rotated.png", exif=exif)
    loaded = load_image_file(path)
    with Image.open(path) as picture:
        expected = np.asarray(ImageOps.exif_transpose(picture), dtype=np.float32) / 255
    assert loaded.shape == (60, 40)
    np.testing.assert_allclose(loaded, expected, atol=1e-6)


def test_large_png_is_reduced_without_a_full_size_copy(tmp_path: Path) -> None:
    side = 8000
    picture = Image.new("L", (side, side), 0)
    ImageDraw.Draw(picture).line([(1000, 1000), (1000, 6000)], fill=255, width=400)
    path = save(picture, tmp_path / "big.png", compress_level=1)
    del picture
    tracemalloc.start()
    try:
        loaded = load_image_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(loaded.shape) <= MAX_WORK_SIDE
    assert loaded.shape == (1000, 1000)
    # Python/numpy-side memory only (Pillow's own buffers are not traced); a full-size
    # float32 copy would be 256 MB.
    assert peak < 40e6
    assert_centred_digit(preprocess(loaded))


def test_large_jpeg_is_decoded_at_reduced_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = Image.new("RGB", (4096, 3072), (255, 255, 255))
    ImageDraw.Draw(picture).line([(1500, 500), (1500, 2500)], fill=(0, 0, 0), width=200)
    path = save(picture, tmp_path / "photo.jpg", quality=85)
    decoded_sizes = []
    original_load = JpegImagePlugin.JpegImageFile.load

    def spy_load(self):  # records the size libjpeg actually decodes at
        decoded_sizes.append(self.size)
        return original_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy_load)
    start = time.perf_counter()
    loaded = load_image_file(path)
    elapsed = time.perf_counter() - start
    assert decoded_sizes and max(decoded_sizes[-1]) == 1024
    # draft() decodes at 1/4 scale straight away: exactly 1024 x 768, no reduce needed.
    assert loaded.shape == (768, 1024)
    assert elapsed < 2.0
    result = preprocess(loaded)
    assert result.inverted
    assert_centred_digit(result)


def png_with_claimed_size(path: Path, width: int, height: int) -> Path:
    """A tiny valid PNG whose header claims ``width`` x ``height`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00\x00")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [
        (9000, 8000, "more than the 67 megapixels"),  # our own limit, checked before decoding
        (40000, 40000, "too many pixels"),  # Pillow's DecompressionBombError
    ],
)
def test_decompression_bombs_are_refused(
    tmp_path: Path, width: int, height: int, reason: str
) -> None:
    path = png_with_claimed_size(tmp_path / "bomb.png", width, height)
    with pytest.raises(ImageError, match=reason) as caught:
        load_image_file(path)
    assert "bomb.png" in str(caught.value)


def test_unreadable_files_raise_image_error_naming_the_file(tmp_path: Path, digit: np.ndarray) -> None:
    noise = tmp_path / "noise.png"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    good = save(Image.fromarray(digit), tmp_path / "good.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n")
    eps = tmp_path / "drawing.eps"
    eps.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    missing = tmp_path / "missing.png"
    cases = {
        noise: "format",
        empty: "empty",
        truncated: "damaged",
        text: "format",
        eps: "format",
        folder: "folder",
        missing: "no such file",
    }
    for path, reason in cases.items():
        with pytest.raises(ImageError, match=reason) as caught:
            load_image_file(path)
        assert path.name in str(caught.value)
        with pytest.raises(ImageError):
            preprocess_file(path)


def test_non_path_argument_raises_image_error() -> None:
    with pytest.raises(ImageError):
        load_image_file(12345)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- fuzz

_DTYPES = [
    np.bool_, np.uint8, np.uint16, np.uint32, np.uint64,
    np.int8, np.int16, np.int32, np.int64,
    np.float16, np.float32, np.float64,
]


@st.composite
def arbitrary_arrays(draw_: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw_(st.sampled_from(_DTYPES)))
    ndim = draw_(st.sampled_from([1, 2, 2, 3, 3, 3, 4]))
    shape = tuple(draw_(st.integers(0, 9)) for _ in range(ndim))
    if ndim == 3:
        shape = shape[:2] + (draw_(st.integers(1, 5)),)
    elements = None
    if dtype.kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8)
    return draw_(hnp.arrays(dtype, shape, elements=elements))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arbitrary_arrays())
def test_any_small_array_gives_a_valid_result_or_image_error(image: np.ndarray) -> None:
    valid_shape = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 2, 3, 4))
    try:
        result = preprocess(image)
    except ImageError:
        assert not valid_shape
        return
    assert valid_shape
    check_valid(result)
    if not result.empty:
        top, left, bottom, right = result.bbox
        assert 0 <= top < bottom <= image.shape[0]
        assert 0 <= left < right <= image.shape[1]


@st.composite
def drawings(draw_: st.DrawFn) -> np.ndarray:
    """A canvas with 1-3 solid rectangles of ink, a clear margin of paper around them."""
    height, width = draw_(st.integers(12, 120)), draw_(st.integers(12, 120))
    paper = draw_(st.integers(0, 255))
    ink = draw_(st.integers(0, 255).filter(lambda v: abs(v - paper) >= 60))
    canvas = np.full((height, width), paper, np.uint8)
    for _ in range(draw_(st.integers(1, 3))):
        top = draw_(st.integers(2, height - 3))
        left = draw_(st.integers(2, width - 3))
        bottom = draw_(st.integers(top + 1, height - 2))
        right = draw_(st.integers(left + 1, width - 2))
        canvas[top:bottom, left:right] = ink
    return canvas


@settings(max_examples=100, deadline=None)
@given(drawings())
def test_polarity_follows_the_ink_not_the_values(canvas: np.ndarray) -> None:
    result = preprocess(canvas)
    flipped = preprocess(255 - canvas)
    check_valid(result)
    check_valid(flipped)
    assert not result.empty
    ink_is_darker = int(canvas.min()) < int(canvas[0, 0])
    assert result.inverted == ink_is_darker
    assert flipped.inverted != result.inverted
    assert result.bbox == flipped.bbox
    np.testing.assert_allclose(result.image, flipped.image, atol=1e-5)
    assert max(ink_box(result.image)) <= 20


# --------------------------------------------------------------------------- issue 11
# Pictures from strangers and from phones: each of these failed before its fix.


def _similar(a: Preprocessed, b: Preprocessed) -> float:
    return float(np.corrcoef(a.image.ravel(), b.image.ravel())[0, 1])


def _paper_digit(side: int = 240) -> np.ndarray:
    """The '7' as dark ink on white paper, float 0..1, ``side`` pixels square."""
    ink = seven(side, side).astype(np.float32) / 255
    return 1.0 - 0.85 * ink


def test_a_photo_with_a_shading_gradient_reads_like_a_clean_scan() -> None:
    paper = _paper_digit()
    clean = preprocess(paper)
    light = np.linspace(0.3, 1.0, paper.shape[1], dtype=np.float32)[None, :]
    shaded = preprocess(paper * light)  # a lamp on the right: the left side is dim
    assert clean.inverted and shaded.inverted
    assert _similar(shaded, clean) > 0.9


def test_a_scan_with_a_dark_frame_reads_like_the_page() -> None:
    paper = _paper_digit()
    clean = preprocess(paper)
    framed = np.zeros((paper.shape[0] + 80, paper.shape[1] + 60), np.float32)
    framed[40:-40, 30:-30] = paper  # the scanner lid around the page is black
    result = preprocess(framed)
    assert result.inverted
    assert _similar(result, clean) > 0.9
    assert result.bbox.top >= 40 and result.bbox.left >= 30  # in the framed picture


@pytest.mark.parametrize("peak", [255, 1023, 4095])
def test_sixteen_bit_files_holding_fewer_bits_are_normalised(tmp_path: Path, digit: np.ndarray,
                                                               reference: Preprocessed,
                                                               peak: int) -> None:
    values = (digit.astype(np.uint32) * peak // 255).astype(np.uint16)
    path = tmp_path / f"deep{peak}.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    result = preprocess_file(path)
    assert not result.empty, "8- or 10-bit values in a 16-bit file gave 'no ink'"
    np.testing.assert_allclose(result.image, reference.image, atol=0.02)


def _ico_with_png(path: Path, png: bytes, claimed: int = 256) -> Path:
    side = 0 if claimed >= 256 else claimed
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), 6 + 16)
    path.write_bytes(header + entry + png)
    return path


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def test_an_icon_whose_directory_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    # The directory says 256x256; the PNG inside is 13000x13000 (687 MB decoded).
    path = _ico_with_png(tmp_path / "liar.ico", _png_header_only(13000, 13000))
    with pytest.raises(ImageError, match="13000x13000"):
        load_image_file(path)


def test_an_honest_icon_still_loads(tmp_path: Path, digit: np.ndarray) -> None:
    path = tmp_path / "digit.ico"
    Image.fromarray(digit).resize((64, 64)).save(path, sizes=[(64, 64)])
    assert not preprocess_file(path).empty


def test_rgba_pictures_are_limited_by_decoded_bytes(tmp_path: Path) -> None:
    # 6000x6000 RGBA is 36 MP (under the pixel limit) but 144 MB decoded: over the
    # byte limit, refused before decoding.  The same size in grayscale loads.
    from biasviz.core.preprocess import MAX_DECODED_BYTES

    side = 6000
    assert side * side * 4 > MAX_DECODED_BYTES
    rgba = tmp_path / "big.png"
    Image.new("RGBA", (side, side), (255, 255, 255, 255)).save(rgba, compress_level=1)
    with pytest.raises(ImageError, match="MB"):
        load_image_file(rgba)
