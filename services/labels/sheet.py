"""A batch's label sheet: a print-ready PDF of label-stock pages, one barcode per label cell.

The PDF 1.4 is written by hand: the image carries no PDF library, and a sheet needs only images,
one base-14 font and a grid. Objects go to the output as they are made, so a sheet of thousands
of labels holds the open page's drawing operators and the objects' byte offsets, never an
earlier page. Barcodes are placed at their true physical size (pixels / dpi), never scaled to
the cell: scaling would change the X-dimension the renderer snapped to whole printer dots.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import math
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO
from xml.etree import ElementTree

from PIL import Image

MM_PER_INCH = 25.4
PT_PER_INCH = 72.0
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}  # width, height mm
MAX_GRID = 50
DEFAULT_PRESET = "avery-l7160"
# Die-cut labels sit up to ~0.5 mm off their nominal place on the sheet: keep ink 1 mm inside.
PADDING_MM = 1.0
FONT_SIZE_PT = 6.0
CAPTION_GAP_PT = 1.5  # between the image's bottom edge and the caption's ascender
ASCENT, DESCENT = 0.718, 0.207  # Helvetica AFM, per point of font size
PRODUCER = "barcode-pipeline"

# Common stocks, mm (the makers' templates). Each fits its page: layout_from checks it.
PRESETS: dict[str, dict[str, Any]] = {
    "avery-l7160": {"paper": "A4", "columns": 3, "rows": 7, "label_width_mm": 63.5, "label_height_mm": 38.1,
                    "margin_left_mm": 7.2, "margin_top_mm": 15.15, "gap_x_mm": 2.5, "gap_y_mm": 0.0},
    "avery-l7163": {"paper": "A4", "columns": 2, "rows": 7, "label_width_mm": 99.1, "label_height_mm": 38.1,
                    "margin_left_mm": 4.65, "margin_top_mm": 15.15, "gap_x_mm": 2.5, "gap_y_mm": 0.0},
    "avery-l7651": {"paper": "A4", "columns": 5, "rows": 13, "label_width_mm": 38.1, "label_height_mm": 21.2,
                    "margin_left_mm": 4.75, "margin_top_mm": 10.7, "gap_x_mm": 2.5, "gap_y_mm": 0.0},
    "avery-5160": {"paper": "Letter", "columns": 3, "rows": 10, "label_width_mm": 66.7, "label_height_mm": 25.4,
                   "margin_left_mm": 4.8, "margin_top_mm": 12.7, "gap_x_mm": 3.2, "gap_y_mm": 0.0},
    "avery-5163": {"paper": "Letter", "columns": 2, "rows": 5, "label_width_mm": 101.6, "label_height_mm": 50.8,
                   "margin_left_mm": 3.97, "margin_top_mm": 12.7, "gap_x_mm": 4.76, "gap_y_mm": 0.0},
}
_COUNTS = ("columns", "rows")
_SIZES = ("label_width_mm", "label_height_mm")
_SPACING = ("margin_left_mm", "margin_top_mm", "gap_x_mm", "gap_y_mm")
FIELDS = ("preset", "paper", *_COUNTS, *_SIZES, *_SPACING)

# Helvetica advance widths (AFM, 1/1000 em) for ASCII 32..126 in WinAnsiEncoding (39 is
# quotesingle, 96 grave). Any other character is measured as 556, a digit's width.
_WIDTHS = (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
           *(556,) * 10, 278, 278, 584, 584, 584, 556, 1015,
           667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611,
           722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,
           556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278,
           556, 500, 722, 500, 500, 500, 334, 260, 334, 584)
ELLIPSIS = "..."


class SheetError(ValueError):
    """The client's `sheet` object is not a usable layout; the message names the field."""


@dataclass(frozen=True)
class SheetLayout:
    paper: str
    columns: int
    rows: int
    label_width_mm: float
    label_height_mm: float
    margin_left_mm: float = 0.0
    margin_top_mm: float = 0.0
    gap_x_mm: float = 0.0
    gap_y_mm: float = 0.0
    preset: str | None = None

    @property
    def page_width_mm(self) -> float:
        return PAPERS[self.paper][0]

    @property
    def page_height_mm(self) -> float:
        return PAPERS[self.paper][1]

    @property
    def cells_per_page(self) -> int:
        return self.columns * self.rows

    def cell_origin_mm(self, index_on_page: int) -> tuple[float, float]:
        """Top-left corner of a cell, from the page's top-left; cells run row by row."""
        if not 0 <= index_on_page < self.cells_per_page:
            raise IndexError(f"cell {index_on_page} is not on a {self.columns} x {self.rows} page")
        row, column = divmod(index_on_page, self.columns)
        return (self.margin_left_mm + column * (self.label_width_mm + self.gap_x_mm),
                self.margin_top_mm + row * (self.label_height_mm + self.gap_y_mm))

    def grid_size_mm(self) -> tuple[float, float]:
        """Where the grid's right and bottom edges fall, from the page's left and top."""
        return (self.margin_left_mm + self.columns * self.label_width_mm + (self.columns - 1) * self.gap_x_mm,
                self.margin_top_mm + self.rows * self.label_height_mm + (self.rows - 1) * self.gap_y_mm)


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _millimetres(name: str, value: object) -> float:
    # bool is an int subclass, but `true` is no size.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SheetError(f"sheet.{name} must be a number of millimetres, not {_json_type(value)}")
    if name in _SIZES and value <= 0:
        raise SheetError(f"sheet.{name} must be greater than 0 mm, got {value:g}")
    if value < 0:
        raise SheetError(f"sheet.{name} must not be negative, got {value:g}")
    return float(value)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GRID:
        shown = f"{value!r}" if isinstance(value, (int, float)) and not isinstance(value, bool) else _json_type(value)
        raise SheetError(f"sheet.{name} must be an integer from 1 to {MAX_GRID}, not {shown}")
    return value


def _paper(value: object) -> str:
    for name in PAPERS:
        if isinstance(value, str) and value.lower() == name.lower():
            return name
    shown = repr(value) if isinstance(value, str) else _json_type(value)
    raise SheetError(f"sheet.paper must be one of {', '.join(PAPERS)}, not {shown}")


def _base_fields(spec: dict[Any, Any]) -> dict[str, Any]:
    """The preset's fields, or a bare grid's defaults after checking the grid is all there."""
    preset = spec.get("preset")
    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            shown = repr(preset) if isinstance(preset, str) else _json_type(preset)
            raise SheetError(f"sheet.preset {shown} is not a known label stock; presets: {', '.join(PRESETS)}")
        return dict(PRESETS[preset])
    for name in (*_COUNTS, *_SIZES):
        if name not in spec:
            raise SheetError(f"sheet.{name} is required without a preset (presets: {', '.join(PRESETS)})")
    return {"paper": "A4", **dict.fromkeys(_SPACING, 0.0)}


def _check_fits(layout: SheetLayout) -> None:
    right, bottom = layout.grid_size_mm()
    for edge, page, way in ((right, layout.page_width_mm, "wider"), (bottom, layout.page_height_mm, "taller")):
        if edge > page + 1e-6:
            raise SheetError(f"the sheet's grid is {edge - page:.2f} mm {way} than the {layout.paper} page "
                             f"({edge:.2f} mm of {page:g} mm with the margin)")


def layout_from(spec: object) -> SheetLayout:
    """The layout of a client's `sheet` object: a preset, a preset with overrides, or a full grid."""
    if spec is None:
        spec = {"preset": DEFAULT_PRESET}
    if not isinstance(spec, dict):
        raise SheetError(f"sheet must be an object, not {_json_type(spec)}")
    unknown = [str(key) for key in spec if key not in FIELDS]
    if unknown:
        raise SheetError(f"sheet.{unknown[0]} is not a sheet field; fields: {', '.join(FIELDS)}")
    fields, preset = _base_fields(spec), spec.get("preset")
    fields.update((key, value) for key, value in spec.items() if key != "preset")
    checked: dict[str, Any] = {name: _count(name, fields[name]) for name in _COUNTS}
    checked.update((name, _millimetres(name, fields[name])) for name in (*_SIZES, *_SPACING))
    layout = SheetLayout(paper=_paper(fields["paper"]), preset=preset if isinstance(preset, str) else None, **checked)
    _check_fits(layout)
    return layout


def _pt(mm: float) -> float:
    return mm / MM_PER_INCH * PT_PER_INCH


def _num(value: float) -> str:
    # Fixed point: PDF has no exponent notation.
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _winansi(text: str) -> str:
    # Printable ASCII and Latin-1 are the same code points in WinAnsiEncoding; 0x80-0x9F differ
    # (and controls draw nothing), so those and everything beyond Latin-1 become "?".
    return "".join(c if 32 <= ord(c) <= 126 or 160 <= ord(c) <= 255 else "?" for c in text)


def _glyph_width(char: str) -> int:
    code = ord(char)
    return _WIDTHS[code - 32] if 32 <= code <= 126 else 556


def text_width_pt(text: str, size: float = FONT_SIZE_PT) -> float:
    return sum(_glyph_width(c) for c in text) * size / 1000


def _fit_caption(text: str, width_pt: float) -> str:
    """The caption, cut and ended with "..." when wider than the cell."""
    if text_width_pt(text) <= width_pt:
        return text
    room, used = (width_pt - text_width_pt(ELLIPSIS)) * 1000 / FONT_SIZE_PT, 0
    for end, char in enumerate(text):
        used += _glyph_width(char)
        if used > room:
            return text[:end] + ELLIPSIS if end else ""
    return text


def _pdf_string(data: bytes) -> bytes:
    out = bytearray(b"(")
    for byte in data:
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte <= 126:
            out.append(byte)
        else:
            out += f"\\{byte:03o}".encode()
    return bytes(out + b")")


def _pdf_text(text: str) -> bytes:
    """A text string for the Info dictionary: literal when ASCII, else UTF-16BE with its BOM."""
    if text.isascii() and text.isprintable():
        return _pdf_string(text.encode("ascii"))
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _gray(image: Image.Image) -> tuple[bytes, int]:
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
    pos, idat, palette, dpi, header = 8, [], b"", None, None
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


def _rgb(fill: str) -> str:
    """PDF fill operator for a hex colour (or black for a named one)."""
    value = fill.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6 or any(c not in "0123456789abcdef" for c in value):
        return "0 0 0 rg"
    return " ".join(_num(int(value[i:i + 2], 16) / 255) for i in (0, 2, 4)) + " rg"


class SheetWriter:
    """Writes a label sheet to `out` as labels are added; close() writes the document's tail."""

    def __init__(self, out: BinaryIO, layout: SheetLayout, title: str = "labels") -> None:
        self._out, self._layout, self._title = out, layout, title
        self._pos = 0  # bytes written: offsets without tell(), so a pipe or an upload stream works
        self._offsets: list[int] = []  # object n's byte offset at [n - 1]
        self._page_ids: list[int] = []
        self._labels = 0
        self._cell = 0  # the open page's next free cell
        self._ops: list[bytes] = []  # the open page's operators: at most one per cell
        self._images: dict[bytes, int] = {}  # the open page's image XObjects by content digest
        self._closed = False
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # high bytes: transfer tools treat the file as binary
        self._pages_id = self._reserve()  # pages name their /Parent before the tree is written
        self._font_id = self._object(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                                     b"/Encoding /WinAnsiEncoding >>")

    @property
    def pages(self) -> int:
        """Pages so far, the open one included (close() makes an empty sheet one page)."""
        return len(self._page_ids) + (1 if self._ops else 0)

    @property
    def labels(self) -> int:
        return self._labels

    def add_png(self, png: bytes, caption: str, default_dpi: float = 300.0) -> str | None:
        """`add` for a PNG file, at the dpi it says (pHYs) or `default_dpi`: its samples go into
        the PDF as they are when PDF can read them (palette, grey, RGB), else it is decoded."""
        samples = png_samples(png)
        if samples is None:
            with Image.open(io.BytesIO(png)) as image:
                image.load()
                dpi = float(image.info.get("dpi", (default_dpi,))[0]) or default_dpi
                return self.add(image, dpi, caption)
        return self._add(samples.width, samples.height, samples.dpi or default_dpi, caption,
                         lambda: self._shared(hashlib.sha256(samples.data).digest(),
                                              lambda: self._stream(samples.entries, samples.data)))

    def add_svg(self, svg: bytes, caption: str) -> str | None:
        """An SVG row as vectors at its true size (the mm its root states); why not, when its
        shapes are not the rectangles the sheet draws."""
        symbol = svg_symbol(svg)
        if symbol is None:
            return "its SVG holds shapes other than rectangles (the sheet draws only those)"
        w, h = symbol.width_mm, symbol.height_mm
        ops = []
        for fill, group in itertools.groupby(sorted(symbol.rects, key=lambda r: r[4]), key=lambda r: r[4]):
            ops.append(_rgb(fill))
            # Unit square coordinates, y up: the page draws it as it draws an image.
            ops += [f"{_num(x / w)} {_num(1 - (y + rh) / h)} {_num(rw / w)} {_num(rh / h)} re" for x, y, rw, rh, _ in group]
            ops.append("f")
        content = zlib.compress("\n".join(ops).encode())
        entries = b"/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Filter /FlateDecode"
        return self._add(w, h, MM_PER_INCH, caption,
                         lambda: self._shared(hashlib.sha256(content).digest(), lambda: self._stream(entries, content)))

    def add(self, image: Image.Image, dpi: float, caption: str) -> str | None:
        """Place `image` at its true size in the next free cell; None, or why it does not fit (the
        cell then stays free). An empty caption draws no caption line."""
        return self._add(image.width, image.height, dpi, caption, lambda: self._xobject(image))

    def _add(self, width_px: float, height_px: float, dpi: float, caption: str, xobject: Callable[[], int]) -> str | None:
        if self._closed:
            raise ValueError("the label sheet is closed")
        if not dpi > 0:
            raise ValueError(f"dpi must be positive, got {dpi}")
        width, height = width_px / dpi * PT_PER_INCH, height_px / dpi * PT_PER_INCH
        inner_w = _pt(self._layout.label_width_mm - 2 * PADDING_MM)
        inner_h = _pt(self._layout.label_height_mm - 2 * PADDING_MM)
        text = _fit_caption(_winansi(caption), inner_w)
        block = height + (CAPTION_GAP_PT + (ASCENT + DESCENT) * FONT_SIZE_PT if text else 0.0)
        if width > inner_w + 1e-6 or block > inner_h + 1e-6:
            return self._refusal(width, block, inner_w, inner_h)
        if self._cell == self._layout.cells_per_page:
            self._finish_page()
        self._ops.append(self._draw(xobject(), width, height, block, text))
        self._cell += 1
        self._labels += 1
        return None

    def close(self) -> None:
        """Finish the last page (an empty sheet is one blank page) and write the document's tail."""
        if self._closed:
            return
        if self._ops or not self._page_ids:
            self._finish_page()
        kids = " ".join(f"{n} 0 R" for n in self._page_ids)
        self._object(f"<< /Type /Pages /Kids [{kids}] /Count {len(self._page_ids)} >>".encode(), self._pages_id)
        catalog = self._object(f"<< /Type /Catalog /Pages {self._pages_id} 0 R >>".encode())
        info = self._object(b"<< /Title " + _pdf_text(self._title) + b" /Producer " + _pdf_string(PRODUCER.encode())
                            + b" >>")
        xref_at = self._pos
        # Each entry is exactly 20 bytes, "\n" preceded by a space.
        entries = [b"0000000000 65535 f \n"] + [b"%010d 00000 n \n" % offset for offset in self._offsets]
        self._write(b"xref\n0 %d\n" % (len(self._offsets) + 1) + b"".join(entries))
        self._write(f"trailer\n<< /Size {len(self._offsets) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
                    f"startxref\n{xref_at}\n%%EOF\n".encode())
        self._out.flush()
        self._closed = True

    def _refusal(self, width_pt: float, height_pt: float, inner_w: float, inner_h: float) -> str:
        mm = MM_PER_INCH / PT_PER_INCH
        stock = f" ({self._layout.preset})" if self._layout.preset else ""
        return (f"{width_pt * mm:.1f} x {height_pt * mm:.1f} mm label does not fit the "
                f"{inner_w * mm:.1f} x {inner_h * mm:.1f} mm cell{stock}")

    def _draw(self, xobject: int, width: float, height: float, block: float, text: str) -> bytes:
        """Operators for one cell: image centred across, image and caption centred down."""
        layout = self._layout
        left_mm, top_mm = layout.cell_origin_mm(self._cell)
        page_h = _pt(layout.page_height_mm)
        centre_x = _pt(left_mm + layout.label_width_mm / 2)
        block_top = _pt(top_mm + layout.label_height_mm / 2) - block / 2  # from the page's top
        # PDF's y axis runs up from the page's bottom edge.
        ops = (f"q {_num(width)} 0 0 {_num(height)} {_num(centre_x - width / 2)} "
               f"{_num(page_h - block_top - height)} cm /Im{xobject} Do Q\n").encode()
        if text:
            baseline = block_top + height + CAPTION_GAP_PT + ASCENT * FONT_SIZE_PT
            ops += (f"BT /F1 {_num(FONT_SIZE_PT)} Tf {_num(centre_x - text_width_pt(text) / 2)} "
                    f"{_num(page_h - baseline)} Td ").encode() + _pdf_string(text.encode("latin-1")) + b" Tj ET\n"
        return ops

    def _xobject(self, image: Image.Image) -> int:
        """The image's XObject on the open page: written now, or shared with an identical one."""
        samples, bits = _gray(image)
        digest = hashlib.sha256(b"%d %d %d " % (image.width, image.height, bits) + samples).digest()
        header = (f"/Type /XObject /Subtype /Image /Width {image.width} /Height {image.height} "
                  f"/ColorSpace /DeviceGray /BitsPerComponent {bits} /Interpolate false /Filter /FlateDecode")
        return self._shared(digest, lambda: self._stream(header.encode(), zlib.compress(samples)))

    def _shared(self, digest: bytes, write: Callable[[], int]) -> int:
        """One XObject per distinct image on the open page."""
        if digest not in self._images:
            self._images[digest] = write()
        return self._images[digest]

    def _finish_page(self) -> None:
        content = self._stream(b"/Filter /FlateDecode", zlib.compress(b"".join(self._ops)))
        images = " ".join(f"/Im{n} {n} 0 R" for n in self._images.values())
        width, height = _num(_pt(self._layout.page_width_mm)), _num(_pt(self._layout.page_height_mm))
        page = (f"<< /Type /Page /Parent {self._pages_id} 0 R /MediaBox [0 0 {width} {height}] "
                f"/Resources << /ProcSet [/PDF /Text /ImageB /ImageC /ImageI] /Font << /F1 {self._font_id} 0 R >> "
                f"/XObject << {images} >> >> /Contents {content} 0 R >>")
        self._page_ids.append(self._object(page.encode()))
        self._ops.clear()
        self._images.clear()
        self._cell = 0

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    def _reserve(self) -> int:
        self._offsets.append(0)
        return len(self._offsets)

    def _object(self, body: bytes, number: int | None = None) -> int:
        number = number or self._reserve()
        self._offsets[number - 1] = self._pos
        self._write(b"%d 0 obj\n" % number)
        self._write(body)
        self._write(b"\nendobj\n")
        return number

    def _stream(self, entries: bytes, data: bytes) -> int:
        return self._object(b"<< " + entries + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
