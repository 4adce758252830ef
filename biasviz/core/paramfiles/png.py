""".png (export only): the first layer's weights as pictures, one tile per neuron (or
kernel), on a shared blue-white-red scale centred on 0 (:mod:`biasviz.core.colormap`),
with that scale drawn beneath them: a colour bar from −limit through 0 to +limit."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import IO

import numpy as np

from biasviz.core.colormap import diverging_rgb
from biasviz.core.paramfiles.model_file import FORMAT, FORMAT_VERSION, ModelFile
from biasviz.core.spec import ModelKind, first_layer

PNG_SCALE = 8  # 28x28 weights → 224x224 tiles
PNG_GAP = 2  # pixels between tiles and around the grid
PNG_MAX_SIDE = 4096  # big hidden layers get smaller tiles so the picture stays sane
PNG_GAP_COLOR = (64, 64, 64)
PNG_LEGEND_HEIGHT = 60  # the colour bar and its values under the tiles
PNG_LABEL_HEIGHT = 18  # a tile's name above it (more than one tile)
PNG_LABEL_SIZE = 12
_LEGEND_TEXT = (235, 235, 235)


def _grid_columns(n: int) -> int:
    # About twice as wide as tall: ten classes → 5×2, eight kernels → 4×2, 32 → 8×4.
    return max(1, min(n, math.ceil(math.sqrt(2 * n))))


def png_layout(n_tiles: int, side: int) -> tuple[int, int, int]:
    """Columns, rows and enlargement used for ``n_tiles`` tiles of ``side``×``side`` values.

    Tiles are 8× for 28×28 weights (224 px) and ~224 px for kernels, made smaller (down to
    1×) when the picture would be wider or taller than ``PNG_MAX_SIDE``.
    """
    cols = _grid_columns(n_tiles)
    rows = math.ceil(n_tiles / cols)
    scale = max(1, 28 * PNG_SCALE // side)
    longest = max(cols, rows)
    fit = (PNG_MAX_SIDE - (longest + 1) * PNG_GAP) // (longest * side)
    return cols, rows, max(1, min(scale, fit))


def _font(size: int):  # noqa: ANN202 - a PIL font
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def tile_labels(mf: ModelFile, n: int, tile_px: int) -> list[str]:
    """What each tile is ("T-shirt/top", "hidden 3", "kernel 2"), as the app's view names
    them; the bare numbers where names do not fit a tile; none for one tile, or where
    even numbers do not fit (a picture of unlabelled tiles said nothing of which is which)."""
    from PIL import Image, ImageDraw

    if n <= 1:
        return []
    from biasviz.core.weight_display import first_layer_names

    names = first_layer_names(mf.spec, n, mf.metadata.get("class_names") or ())
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength
    font = _font(PNG_LABEL_SIZE)
    for labels in (names, [str(i) for i in range(n)]):
        if all(measure(text, font=font) <= tile_px - 2 for text in labels):
            return labels
    return []


def weight_picture(mf: ModelFile) -> tuple[np.ndarray, dict]:
    """The RGB grid (h, w, 3) of first-layer weights and how it was drawn (with room for
    each tile's label above it, ``info["labels"]``)."""
    weights, _ = first_layer(mf.params, mf.spec)
    side = mf.spec.kernel if mf.spec.kind is ModelKind.CNN else 28
    tiles = weights.reshape(-1, side, side)
    n = tiles.shape[0]
    cols, rows, scale = png_layout(n, side)
    # One limit for all tiles, so that equal colours mean equal weights across neurons.
    limit = float(np.max(np.abs(tiles))) if tiles.size else 0.0
    tile_px = side * scale
    labels = tile_labels(mf, n, tile_px)
    label_h = PNG_LABEL_HEIGHT if labels else 0
    pitch = tile_px + PNG_GAP + label_h
    height = rows * pitch + PNG_GAP
    width = cols * tile_px + (cols + 1) * PNG_GAP
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = PNG_GAP_COLOR
    colours = diverging_rgb(tiles, limit)  # n, side, side, 3
    for i in range(n):
        r, c = divmod(i, cols)
        y = PNG_GAP + label_h + r * pitch
        x = PNG_GAP + c * (tile_px + PNG_GAP)
        big = np.repeat(np.repeat(colours[i], scale, axis=0), scale, axis=1)  # nearest
        canvas[y : y + tile_px, x : x + tile_px] = big
    info = {
        "color_limit": limit,
        "colors": "blue = -limit, white = 0, red = +limit (shared by all tiles)",
        "tiles": n,
        "columns": cols,
        "rows": rows,
        "tile_pixels": tile_px,
        "scale": scale,
        "gap": PNG_GAP,
        "label_height": label_h,
        "labels": labels,
        "order": "row by row, neuron 0 top left",
    }
    return canvas, info


def _draw_labels(image, info: dict) -> None:  # noqa: ANN001 - a PIL Image
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    font = _font(PNG_LABEL_SIZE)
    tile_px, label_h, cols = info["tile_pixels"], info["label_height"], info["columns"]
    pitch = tile_px + PNG_GAP + label_h
    for i, text in enumerate(info["labels"]):
        r, c = divmod(i, cols)
        x = PNG_GAP + c * (tile_px + PNG_GAP) + tile_px // 2
        draw.text((x, PNG_GAP + r * pitch + label_h // 2), text, fill=_LEGEND_TEXT,
                  font=font, anchor="mm")


def _signed(value: float) -> str:
    text = f"{abs(value):.3g}"  # ASCII "-": Pillow's own font has no U+2212
    return "0" if value == 0 else ("+" if value > 0 else "-") + text


def with_legend(canvas: np.ndarray, limit: float):  # noqa: ANN201 - a PIL Image
    """``canvas`` above a strip that reads its colours: "weight", then a bar from blue
    (−limit) through white (0) to red (+limit) with those three values under it."""
    from PIL import Image, ImageDraw

    height, width = canvas.shape[:2]
    image = Image.new("RGB", (width, height + PNG_LEGEND_HEIGHT), PNG_GAP_COLOR)
    image.paste(Image.fromarray(canvas, mode="RGB"), (0, 0))
    left, right = PNG_GAP + 8, width - PNG_GAP - 8
    values = np.linspace(-1.0, 1.0, max(right - left, 1), dtype=np.float32)
    bar = np.repeat(diverging_rgb(values, 1.0)[None, :, :], 12, axis=0)
    draw = ImageDraw.Draw(image)
    font = _font(13)
    middle = (left + right) // 2
    caption = "weight" if limit else "weight (all 0)"
    draw.text((middle, height + 3), caption, fill=_LEGEND_TEXT, font=font, anchor="ma")
    top = height + 22
    image.paste(Image.fromarray(bar, mode="RGB"), (left, top))
    for text, x, anchor in ((_signed(-limit), left, "la"), ("0", middle, "ma"),
                            (_signed(limit), right, "ra")):
        draw.text((x, top + 15), text, fill=_LEGEND_TEXT, font=font, anchor=anchor)
    return image


def write_png(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    from PIL import PngImagePlugin

    canvas, drawing = weight_picture(mf)
    image = with_legend(canvas, drawing["color_limit"])
    _draw_labels(image, drawing)
    drawing["legend_height"] = PNG_LEGEND_HEIGHT
    png_info = PngImagePlugin.PngInfo()
    envelope = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": mf.metadata,
        "spec": mf.spec.to_dict(),
        "picture": drawing,
    }
    png_info.add_itxt("biasviz", json.dumps(envelope, ensure_ascii=False, allow_nan=False))
    png_info.add_text(
        "Description",
        f"biasviz: first-layer weights of {mf.spec.describe()}; "
        f"blue negative, white 0, red positive, limit ±{drawing['color_limit']:.4g}",
    )

    def write(fh: IO[bytes]) -> None:
        image.save(fh, format="PNG", pnginfo=png_info)

    return write
