"""Render resources/icons/biasviz.svg to PNG with Qt's SVG renderer (no display needed).

Usage (from the repository root)::

    python scripts/render_icon.py                 # resources/icons/biasviz.png, 256x256
    python scripts/render_icon.py --size 512 --out /tmp/biasviz-512.png

The SVG is the source; the PNG is committed so that nothing has to render it at run
time.  Re-run this script after editing the SVG.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SVG = REPO / "resources" / "icons" / "biasviz.svg"
PNG = REPO / "resources" / "icons" / "biasviz.png"


def render(svg: Path, out: Path, size: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - keeps Qt alive
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icon: {svg} is not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"render_icon: could not write {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG, help=f"default {SVG.relative_to(REPO)}")
    parser.add_argument("--out", type=Path, default=PNG, help=f"default {PNG.relative_to(REPO)}")
    parser.add_argument("--size", type=int, default=256, help="side in pixels (default 256)")
    args = parser.parse_args(argv)
    render(args.svg, args.out, args.size)
    print(f"wrote {args.out} ({args.size}x{args.size})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
