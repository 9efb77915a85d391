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
from dataclasses import dataclass
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


def _escaped(text: str) -> str:
    """Every character that ZPL reads as a command, and every non-ASCII byte (as UTF-8, ^CI28),
    as a ^FH hex escape."""
    return "".join(c if 32 <= ord(c) < 127 and c not in "^~_\\" else
                   "".join(f"_{b:02X}" for b in c.encode("utf-8")) for c in text)


def _caption_head(x: int, y: int, width: int, dots_per_mm: int) -> bytes:
    height = round(CAPTION_MM * dots_per_mm)
    return f"^FO{x},{y}^A0N,{height},{height}^FB{width},1,0,C".encode("ascii")


def caption_field(text: str, x: int, y: int, width: int, dots_per_mm: int) -> bytes:
    """The caption as a ZPL text field centred in `width` dots, ^FH-escaped."""
    return _caption_head(x, y, width, dots_per_mm) + f"^FH^FD{_escaped(text)}^FS".encode("ascii")


# A native label's one data field (its ^FH, if any, travels with the data to the recall).
_DATA_FIELD = re.compile(rb"(\^FH_?)?\^FD(.*?)\^FS", re.S)


@dataclass(frozen=True)
class _Label:
    """A label in parts: what every row of one layout shares, and its data fields."""

    fields: bytes  # ^CI28 ^PW ^LL ^LH and the symbol's fields, without ^XA/^XZ
    caption_head: bytes | None  # the caption's ^FO/^A0/^FB, None: no caption
    caption: bytes  # the caption's escaped text

    def whole(self) -> bytes:
        caption = self.caption_head + b"^FH^FD" + self.caption + b"^FS" if self.caption_head is not None else b""
        return b"^XA" + self.fields + caption + b"^XZ\n"

    def stored(self, name: str) -> tuple[bytes, bytes] | None:
        """(^DF that stores this label's layout as `name`, ^XF that prints it with this row's
        data), for a label whose symbol is a printer command with one data field (native mode);
        None for a graphic (its dots are the data: nothing to share)."""
        fields = list(_DATA_FIELD.finditer(self.fields))
        if len(fields) != 1 or b"^GF" in self.fields:
            return None
        data = fields[0]
        layout = self.fields[:data.start()] + b"^FN1^FS" + self.fields[data.end():]
        recall = b"^FN1" + (data.group(1) or b"") + b"^FD" + data.group(2) + b"^FS"
        if self.caption_head is not None:
            layout += self.caption_head + b"^FN2^FS"
            recall += b"^FN2^FH^FD" + self.caption + b"^FS"
        return (b"^XA^DF" + name.encode() + b"^FS" + layout + b"^XZ\n",
                b"^XA^XF" + name.encode() + b"^FS" + recall + b"^XZ\n")


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
        # A native layout (its data fields taken out) -> the stored format's name; "" seen once.
        self._stored: dict[bytes, str] = {}

    def _label(self, symbol: bytes, symbol_w: int, symbol_h: int, caption: str) -> _Label | str:
        """The label in parts, or why the symbol does not fit on it."""
        caption_h = round((CAPTION_MM + CAPTION_GAP_MM) * self.dpmm) if caption else 0
        if symbol_w > self.width or symbol_h + caption_h > self.height:
            return (f"{symbol_w / self.dpmm:.1f} x {(symbol_h + caption_h) / self.dpmm:.1f} mm does not fit the "
                    f"{self.width / self.dpmm:g} x {self.height / self.dpmm:g} mm label")
        x, y = (self.width - symbol_w) // 2, (self.height - symbol_h - caption_h) // 2
        fields = f"^CI28^PW{self.width}^LL{self.height}^LH{x},{y}".encode() + symbol
        if not caption:
            return _Label(fields, None, b"")
        head = b"^LH0,0" + _caption_head(0, y + symbol_h + round(CAPTION_GAP_MM * self.dpmm), self.width, self.dpmm)
        return _Label(fields, head, _escaped(caption).encode("ascii"))

    def _written(self, label: _Label) -> tuple[bytes, bytes]:
        """(what goes into the stream, what draws this row's label on its own). A native layout
        seen before is stored once (^DF, when its second row comes) and recalled (^XF) with each
        row's data: smaller from the third row of one symbology, size and caption on. A graphic
        label's dots are its data: it is always written whole."""
        whole = label.whole()
        if b"^GF" in label.fields:
            return whole, whole
        layout = _DATA_FIELD.sub(b"^FN1^FS", label.fields) + (label.caption_head or b"")
        seen = self._stored.get(layout)
        if seen is None:
            self._stored[layout] = ""  # seen once: written whole
            return whole, whole
        name = seen or f"R:BP{len(self._stored)}.ZPL"
        parts = label.stored(name)
        if parts is None:
            return whole, whole
        store, recall = parts
        if seen:
            return recall, store + recall
        self._stored[layout] = name
        return store + recall, store + recall

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
            symbol = zpl.graphic_at_origin(bitmap)
        label = self._label(symbol, symbol_w, symbol_h, caption)
        if isinstance(label, str):
            return f"not placed: {label}"
        written, alone = self._written(label)
        if self.draw_back is not None and source is not None:
            started = time.monotonic()
            expected = _texts(source)
            printed = _texts(self.draw_back(alone, self.width, self.height, self.dpmm)) if expected else set()
            if expected and not expected & printed:
                # Once in ~2,000 Data Matrix rows in `make test` (CI, 2026-12-07) a label did not
                # read back, and 20,000 labels of the same kind drawn here all did: drawn again
                # before it is refused, and logged whole so that a label failing twice can be
                # drawn and read by hand.
                printed = _texts(self.draw_back(alone, self.width, self.height, self.dpmm))
                log.warning("a ZPL label did not read back as %s (read as %s after a second draw): %r",
                            sorted(expected), sorted(printed) or "nothing", alone)
            self.checking_s += time.monotonic() - started
            if expected and not expected & printed:
                return "not placed: the ZPL label did not read back as the row's file does"
        self.out.write(written)
        self.labels += 1
        return f"label {self.labels}" + ("" if self.draw_back else ", not drawn back: no ZPL renderer here")
