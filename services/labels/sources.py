"""The rendered symbols a sheet places, read into what its PDF takes without drawing them again.

A PNG's compressed rows go in as they are, a decoded image as grey samples, an SVG as its dark
rectangles. The readers say None for what they cannot take that way; the writer then decodes the
PNG, or leaves the SVG off the sheet with a reason, rather than print a barcode wrong.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from PIL import Image


def gray_samples(image: Image.Image) -> tuple[bytes, int]:
    """Raw samples and bits per component: 1-bit stays 1-bit (0 is black in both PIL and PDF)."""
    if image.mode == "1":
        return image.tobytes(), 1
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # No soft mask in the PDF: transparent pixels are flattened onto the label's white.
        flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
        flat.alpha_composite(image.convert("RGBA"))
        image = flat
    return image.convert("L").tobytes(), 8


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLORS = {0: 1, 2: 3, 3: 1}  # PNG colour type -> samples per pixel (grey, RGB, palette)


@dataclass(frozen=True)
class PngSamples:
    """A PNG's pixels as PDF can take them unchanged: its IDAT data is a zlib stream of rows
    with PNG filter bytes, which PDF's FlateDecode reads with /Predictor 15. No decode and no
    re-compression (they were 70 % of a sheet's time, docs/benchmarks.md)."""

    width: int
    height: int
    dpi: float | None  # from pHYs, when it says metres
    entries: bytes  # the XObject's dictionary entries
    data: bytes


def png_samples(png: bytes) -> PngSamples | None:
    """None for a PNG that needs converting: transparency, interlacing, 16 bits, grey+alpha."""
    if not png.startswith(PNG_SIGNATURE):
        return None
    idat: list[bytes] = []
    header: tuple[int, ...] | None = None
    dpi: float | None = None
    pos, palette = 8, b""
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"pHYs" and body[8] == 1:  # pixels per metre
            dpi = struct.unpack(">I", body[:4])[0] * 0.0254
        elif kind in (b"tRNS", b"acTL"):
            return None
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        return None
    width, height, bits, colour, _, _, interlace = header
    if interlace or bits == 16 or colour not in _COLORS or (colour == 3 and not palette):
        return None
    space = (f"[/Indexed /DeviceRGB {len(palette) // 3 - 1} <{palette.hex()}>]" if colour == 3
             else "/DeviceRGB" if colour == 2 else "/DeviceGray")
    entries = (f"/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace {space} "
               f"/BitsPerComponent {bits} /Interpolate false /Filter /FlateDecode "
               f"/DecodeParms << /Predictor 15 /Colors {_COLORS[colour]} /BitsPerComponent {bits} /Columns {width} >>")
    return PngSamples(width, height, dpi, entries.encode(), b"".join(idat))


_PATH_RECT = re.compile(r"M(-?[\d.]+)[ ,](-?[\d.]+)h(-?[\d.]+)v(-?[\d.]+)h(-?[\d.]+)Z")
_SKIPPED = {"desc", "title", "text", "tspan", "metadata"}  # the caption is drawn by the sheet itself
_WHITE = {"#ffffff", "#fff", "white"}


@dataclass(frozen=True)
class VectorSymbol:
    """An SVG barcode as dark rectangles: what both engines' SVGs are made of (libzint: paths of
    `M x y h w v h h -w Z`; python-barcode: <rect>s), in millimetres from the top left."""

    width_mm: float
    height_mm: float
    rects: tuple[tuple[float, float, float, float, str], ...]  # x, y, w, h, fill (#rrggbb or a name)


def _fill_of(element: Any, inherited: str | None) -> str | None:
    style = dict(part.split(":", 1) for part in element.get("style", "").replace(" ", "").split(";") if ":" in part)
    return (style.get("fill") or element.get("fill") or inherited or "").lower() or None


def _mm(value: str | None) -> float:
    if value is None or not value.endswith("mm"):
        raise ValueError("not a size in mm")
    return float(value[:-2])


def svg_symbol(svg: bytes) -> VectorSymbol | None:
    """The SVG as rectangles, or None when it holds anything else (a circle, a transform, a
    curve): such a symbol is left off the sheet and the manifest says why, rather than drawn wrong."""
    try:
        root = ElementTree.fromstring(svg)
        width_mm, height_mm = _mm(root.get("width")), _mm(root.get("height"))
        box = [float(v) for v in (root.get("viewBox") or f"0 0 {width_mm} {height_mm}").replace(",", " ").split()]
    except (ElementTree.ParseError, ValueError, TypeError):
        return None
    sx, sy = width_mm / box[2], height_mm / box[3]
    rects: list[tuple[float, float, float, float, str]] = []

    def add(x: float, y: float, w: float, h: float, fill: str | None) -> None:
        """A rectangle in viewBox units, kept in mm from the top left."""
        rects.append(((x - box[0]) * sx, (y - box[1]) * sy, w * sx, h * sy, fill or "#000000"))

    def walk(element: Any, fill: str | None) -> bool:
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in _SKIPPED:
            return True
        if element.get("transform") or tag not in ("svg", "g", "rect", "path"):
            return False
        fill = _fill_of(element, fill)
        if tag == "rect" and fill not in _WHITE:
            try:
                x, y = float(element.get("x", 0)), float(element.get("y", 0))
                w, h = float(element.get("width")), float(element.get("height"))
            except (TypeError, ValueError):
                return False
            add(x, y, w, h, fill)
        elif tag == "path" and fill not in _WHITE:
            d = element.get("d", "").replace(" Z", "Z").strip()
            parts = _PATH_RECT.findall(d)
            if not parts or _PATH_RECT.sub("", d).strip():
                return False
            for x, y, w, h, _ in parts:
                add(float(x), float(y), float(w), float(h), fill)
        return all(walk(child, fill) for child in element)

    if not walk(root, None):
        return None
    return VectorSymbol(width_mm, height_mm, tuple(rects))
