"""What a sheet places, from each kind of rendered file: a PNG's samples copied in at its own dpi
(or decoded when PDF cannot take them), an SVG's rectangles as vectors, and an SVG of other shapes
refused. Each is printed, rasterised and read back."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from services.labels.layout import layout_from
from services.labels.pdf import SheetWriter
from services.labels.sources import png_samples, svg_symbol
from services.render.api import render
from services.render.symbologies import lookup
from tests.services.labels.readback import MM_PER_INCH, cell_of, decoded, ink_box, rasterise


@pytest.mark.parametrize(("engine", "transparent"), [("zint", False), ("python-barcode", False), ("zint", True)])
def test_a_png_goes_in_unchanged_at_the_dpi_it_says_and_reads_back(tmp_path: Path, engine: str, transparent: bool) -> None:
    """Palette (libzint) and RGB (python-barcode) PNGs are copied in without decoding; one with
    transparency is decoded and flattened onto white. Either way: true size, and it scans."""
    found = lookup("code128")
    assert found is not None
    body = render(found, "PNG-42", "png", {"module_width": 0.3387, "dpi": 300}, engine=engine).body
    if transparent:
        with Image.open(io.BytesIO(body)) as image:
            buffer = io.BytesIO()
            image.convert("RGBA").save(buffer, "PNG", dpi=(300, 300))
            body = buffer.getvalue()
    assert (png_samples(body) is None) == transparent
    layout = layout_from(None)
    with (tmp_path / "sheet.pdf").open("wb") as out:
        writer = SheetWriter(out, layout)
        assert writer.add_png(body, "PNG-42", default_dpi=150) is None  # the PNG's own 300 dpi wins
        writer.close()
    cell = cell_of(rasterise(tmp_path / "sheet.pdf")[0], layout, 0)
    with Image.open(io.BytesIO(body)) as image:
        _, _, ink_right, _ = ink_box(image)
        ink_left = ink_box(image)[0]
    left, _, right, _ = ink_box(cell.crop((0, 0, cell.width, cell.height * 3 // 4)))  # above the caption
    assert right - left == pytest.approx((ink_right - ink_left) / 300 * 600, rel=0.01)
    assert "PNG-42" in decoded(cell)


@pytest.mark.parametrize(("symbology", "engine", "data"), [
    ("code128", "zint", "VEC-1"), ("code128", "python-barcode", "VEC-2"), ("qrcode", "zint", "VEC-3"),
    ("datamatrix", "zint", "VEC-4"), ("ean13", "python-barcode", "400638133393")])
def test_an_svg_row_is_drawn_as_vectors_at_its_true_size_and_reads_back(tmp_path: Path, symbology: str, engine: str,
                                                                        data: str) -> None:
    found = lookup(symbology)
    assert found is not None
    svg = render(found, data, "svg", {"module_width": 0.3387}, engine=engine).body
    symbol = svg_symbol(svg)
    assert symbol is not None and symbol.rects
    layout = layout_from({"preset": "avery-l7163"})
    with (tmp_path / "sheet.pdf").open("wb") as out:
        writer = SheetWriter(out, layout)
        assert writer.add_svg(svg, "") is None  # no caption: the ink is the symbol's alone
        writer.close()
    pdf = (tmp_path / "sheet.pdf").read_bytes()
    assert b"/Subtype /Form" in pdf and b"/Subtype /Image" not in pdf  # vectors, no raster
    cell = cell_of(rasterise(tmp_path / "sheet.pdf")[0], layout, 0)
    assert any(text.startswith(data) for text in decoded(cell)), decoded(cell)
    # The dark rectangles' extent, from the SVG, against the ink on the 600 dpi page.
    left_mm = min(x for x, _, _, _, _ in symbol.rects)
    right_mm = max(x + w for x, _, w, _, _ in symbol.rects)
    ink_left, _, ink_right, _ = ink_box(cell)
    assert ink_right - ink_left == pytest.approx((right_mm - left_mm) / MM_PER_INCH * 600, rel=0.01)


def test_an_svg_with_other_shapes_is_refused_not_drawn_wrong() -> None:
    circle = b'<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10"><circle cx="5" cy="5" r="2"/></svg>'
    rotated = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">'
               b'<g transform="rotate(90)"><rect x="1" y="1" width="2" height="2"/></g></svg>')
    assert svg_symbol(circle) is None and svg_symbol(rotated) is None and svg_symbol(b"not xml") is None
    with io.BytesIO() as out:
        writer = SheetWriter(out, layout_from(None))
        assert "rectangles" in (writer.add_svg(circle, "x") or "")
        assert writer.labels == 0
