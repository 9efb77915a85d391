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
import zlib
from collections.abc import Callable
from typing import BinaryIO

from PIL import Image

from services.labels.caption import ASCENT, DESCENT, FONT_SIZE_PT, fit_caption, text_width_pt, winansi
from services.labels.layout import SheetLayout
from services.labels.sources import gray_samples, png_samples, svg_symbol

MM_PER_INCH = 25.4
PT_PER_INCH = 72.0
# Die-cut labels sit up to ~0.5 mm off their nominal place on the sheet: keep ink 1 mm inside.
PADDING_MM = 1.0
CAPTION_GAP_PT = 1.5  # between the image's bottom edge and the caption's ascender
PRODUCER = "barcode-pipeline"


def _pt(mm: float) -> float:
    return mm / MM_PER_INCH * PT_PER_INCH


def _num(value: float) -> str:
    # Fixed point: PDF has no exponent notation.
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


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
        ops: list[str] = []
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
        text = fit_caption(winansi(caption), inner_w)
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
        samples, bits = gray_samples(image)
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
