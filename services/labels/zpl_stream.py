"""A batch's `labels.zpl`: one ZPL label per row, for a thermal printer loaded with the sheet's
label stock (its label size) at the sheet's printer density (`sheet.dpmm`, default 8).

Each row's symbol is centred on its label, with the row's data as a caption underneath where
the symbol does not print its own text. What goes on the label:
- a ZPL row: its own label's fields, moved with a label home (`^LH`): the dots it was verified with;
- a PNG row: its pixels; dot for dot when drawn at the printer's density (a `dpi` of 152, 203,
  300 or 600), else scaled so that each module is a whole number of the printer's dots;
- an SVG row: rasterised at the printer's density;
- PDF and EPS rows are not placed (the manifest says so).

Every label is drawn back from its own bytes by the independent renderer and decoded; it goes
into the stream only if it reads as the row's own file did, else the manifest says why.
"""
from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable
from typing import BinaryIO

import cairosvg
import zxingcpp
from PIL import Image

from services.labels.layout import SheetLayout
from services.render import zpl, zpl_render
from services.render.formats import Format

log = logging.getLogger(__name__)

# Renders a label's bytes (label width and length in dots, density) as the printer would.
DrawBack = Callable[[bytes, int, int, int], Image.Image]

CAPTION_MM = 2.5  # the caption's character height: legible on a 203 dpi printer (20 dots)
CAPTION_GAP_MM = 1.0
_FIELDS = re.compile(rb"\^XA(.*)\^XZ", re.S)
_PAGE = re.compile(rb"\^(PW|LL|LH)[0-9,]*")
_SIZE = {b"PW": 0, b"LL": 1}


def shared_draw_back() -> DrawBack | None:
    """The process's ZPL renderer, or None (said in the log, and on every label in the
    manifest) when there is none here."""
    try:
        return zpl_render.shared().render
    except zpl_render.ZplRendererUnavailable as exc:
        log.warning("labels.zpl is written without drawing its labels back: %s", exc)
        return None


def _texts(image: Image.Image) -> set[str]:
    return {r.text for r in zxingcpp.read_barcodes(image.convert("L"))}


def module_dots(image: Image.Image) -> int | None:
    """The symbol's module width in pixels: the shortest run of one colour across the middle row
    (the margins at both ends left out). Our symbols are drawn on whole pixels per module, so
    every bar and space there is a multiple of it. None for a row with no inner run."""
    width, height = image.size
    row = image.convert("L").crop((0, height // 2, width, height // 2 + 1)).tobytes()
    runs, start = [], 0
    for x in range(1, width + 1):
        if x == width or (row[x] < 128) != (row[start] < 128):
            runs.append(x - start)
            start = x
    inner = runs[1:-1]
    return min(inner) if inner else None


def _bitmap_of(body: bytes, fmt: Format, dpi: int) -> Image.Image | None:
    """The row's symbol as printer dots at `dpi`, or None for a format a label does not take.
    A PNG drawn at another resolution is scaled so that a module becomes a whole number of dots
    (the nearest to its size in millimetres): scaling by the resolutions alone would make some
    modules a dot wider than others, which a linear symbol may not survive."""
    if fmt.name == "png":
        image = Image.open(io.BytesIO(body)).convert("L")
        drawn_at = Image.open(io.BytesIO(body)).info.get("dpi", (dpi, dpi))[0]
        if abs(drawn_at - dpi) > 0.5:
            module = module_dots(image)
            scale = dpi / drawn_at if module is None else max(1, round(module * dpi / drawn_at)) / module
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                 Image.Resampling.NEAREST)
        return image
    if fmt.name == "svg":
        png = cairosvg.svg2png(bytestring=body, dpi=dpi, background_color="white")
        return Image.open(io.BytesIO(png)).convert("L")
    return None


def _zpl_parts(body: bytes) -> tuple[bytes, int, int] | None:
    """A ZPL row's fields (its ^PW, ^LL and ^LH left out) and its label size in dots."""
    match = _FIELDS.search(body)
    if match is None:
        return None
    size = [0, 0]
    for found in re.finditer(rb"\^(PW|LL)(\d+)", match.group(1)):
        size[_SIZE[found.group(1)]] = int(found.group(2))
    return _PAGE.sub(b"", match.group(1)), size[0], size[1]


def caption_field(text: str, x: int, y: int, width: int, dots_per_mm: int) -> bytes:
    """The caption as a ZPL text field centred in `width` dots: UTF-8 (^CI28) with every
    character that ZPL reads as a command, and every non-ASCII byte, written as a ^FH hex escape."""
    height = round(CAPTION_MM * dots_per_mm)
    escaped = "".join(c if 32 <= ord(c) < 127 and c not in "^~_\\" else
                      "".join(f"_{b:02X}" for b in c.encode("utf-8")) for c in text)
    return (f"^FO{x},{y}^A0N,{height},{height}^FB{width},1,0,C^FH^FD{escaped}^FS").encode("ascii")


class ZplStream:
    """Labels written one after another to `out`; `add` says what the manifest says of a row."""

    def __init__(self, out: BinaryIO, layout: SheetLayout, draw_back: DrawBack | None) -> None:
        self.out = out
        self.dpmm = layout.dpmm
        self.dpi = zpl.DPI_OF_DPMM[layout.dpmm]
        self.width = round(layout.label_width_mm * self.dpmm)
        self.height = round(layout.label_height_mm * self.dpmm)
        self.draw_back = draw_back
        self.labels = 0
        self.checking_s = 0.0  # spent drawing labels back and decoding them

    def _label(self, symbol: bytes, symbol_w: int, symbol_h: int, caption: str) -> bytes | str:
        """The whole label, or why the symbol does not fit on it."""
        caption_h = round((CAPTION_MM + CAPTION_GAP_MM) * self.dpmm) if caption else 0
        if symbol_w > self.width or symbol_h + caption_h > self.height:
            return (f"{symbol_w / self.dpmm:.1f} x {(symbol_h + caption_h) / self.dpmm:.1f} mm does not fit the "
                    f"{self.width / self.dpmm:g} x {self.height / self.dpmm:g} mm label")
        x, y = (self.width - symbol_w) // 2, (self.height - symbol_h - caption_h) // 2
        head = f"^XA^CI28^PW{self.width}^LL{self.height}^LH{x},{y}".encode()
        tail = b"^LH0,0" + caption_field(caption, 0, y + symbol_h + round(CAPTION_GAP_MM * self.dpmm), self.width,
                                          self.dpmm) if caption else b""
        return head + symbol + tail + b"^XZ\n"

    def add(self, body: bytes, fmt: Format | None, caption: str) -> str:
        """Put a row on the stream; 'label N' or 'not placed: why'."""
        if fmt is not None and fmt.name == "zpl":
            parts = _zpl_parts(body)
            if parts is None:
                return "not placed: the row's ZPL has no ^XA ... ^XZ label"
            symbol, symbol_w, symbol_h = parts
            started = time.monotonic()
            source = self.draw_back(body, symbol_w, symbol_h, self.dpmm) if self.draw_back else None
            self.checking_s += time.monotonic() - started
        else:
            bitmap = _bitmap_of(body, fmt, self.dpi) if fmt is not None else None
            if bitmap is None:
                return f"not placed: {fmt.name if fmt else 'unknown'} rows are not drawn as ZPL labels (PNG, SVG and ZPL are)"
            source = bitmap
            symbol_w, symbol_h = bitmap.size
            total, per_row, data = zpl.graphic_field(bitmap)
            symbol = f"^FO0,0^GFA,{total},{total},{per_row},{data}^FS".encode("ascii")
        label = self._label(symbol, symbol_w, symbol_h, caption)
        if isinstance(label, str):
            return f"not placed: {label}"
        if self.draw_back is not None and source is not None:
            started = time.monotonic()
            expected = _texts(source)
            printed = _texts(self.draw_back(label, self.width, self.height, self.dpmm)) if expected else set()
            self.checking_s += time.monotonic() - started
            if expected and not expected & printed:
                return "not placed: the ZPL label did not read back as the row's file does"
        self.out.write(label)
        self.labels += 1
        return f"label {self.labels}" + ("" if self.draw_back else ", not drawn back: no ZPL renderer here")
