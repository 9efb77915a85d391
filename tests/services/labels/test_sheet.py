"""The label sheet PDF: what a user prints. Real barcodes from the project's renderer, the PDF
rasterised by poppler (pdftoppm) and read back with zxing-cpp, cell by cell."""
from __future__ import annotations

import io
import re
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from services.labels.sheet import png_samples, svg_symbol, PRESETS, SheetError, SheetLayout, SheetWriter, layout_from
from services.render.api import render
from services.render.symbologies import lookup
from services.render.types import Rendered

MM_PER_INCH = 25.4


def _render(symbology: str, data: str, options: dict[str, Any] | None = None) -> tuple[Image.Image, Rendered]:
    found = lookup(symbology)
    assert found is not None
    rendered = render(found, data, "png", options or {})
    return Image.open(io.BytesIO(rendered.body)), rendered


def _pdfinfo(path: Path) -> dict[str, str]:
    done = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr  # poppler reports any syntax error
    return {key: value.strip() for key, _, value in (line.partition(":") for line in done.stdout.splitlines())}


def _rasterise(path: Path, dpi: int = 600) -> list[Image.Image]:
    prefix = path.with_suffix("")
    done = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(path), str(prefix)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    files = sorted(path.parent.glob(f"{prefix.name}-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [_load(f) for f in files]


def _load(path: Path) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        return image.copy()


def _cell(page: Image.Image, layout: SheetLayout, index: int, dpi: int = 600) -> Image.Image:
    left, top = layout.cell_origin_mm(index)
    px = dpi / MM_PER_INCH
    return page.crop((round(left * px), round(top * px), round((left + layout.label_width_mm) * px),
                      round((top + layout.label_height_mm) * px)))


def _decoded(image: Image.Image) -> set[str]:
    return {result.text for result in zxingcpp.read_barcodes(image)}


def _ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    box = image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None, "no ink in the cell"
    return box


def _write(path: Path, layout: SheetLayout, labels: list[tuple[Image.Image, str]]) -> SheetWriter:
    with path.open("wb") as out:
        writer = SheetWriter(out, layout, title="test sheet")
        for image, caption in labels:
            assert writer.add(image, 300, caption) is None
        writer.close()
    return writer


def _mixed(i: int) -> tuple[str, str]:
    """Label i of the mixed sheet: symbology and data."""
    return [("code128", f"LBL-{i:03d}"), ("qrcode", f"https://example.com/item/{i}"), ("datamatrix", f"DM-{i:04d}"),
            ("ean13", f"400638133{i:03d}")][i % 4]  # EAN-13: 12 digits, the renderer adds the check digit


def test_a_mixed_sheet_reads_back_label_by_label_over_two_pages(tmp_path: Path) -> None:
    layout = layout_from({"preset": "avery-l7163"})  # 14 labels a page
    rendered = [_render(*_mixed(i)) for i in range(20)]
    writer = _write(tmp_path / "sheet.pdf", layout, [(image, r.info.data) for image, r in rendered])
    assert (writer.pages, writer.labels) == (2, 20)
    assert _pdfinfo(tmp_path / "sheet.pdf")["Pages"] == "2"
    pages = _rasterise(tmp_path / "sheet.pdf")
    assert len(pages) == 2
    for i, (_, r) in enumerate(rendered):
        page, cell = divmod(i, layout.cells_per_page)
        assert _decoded(_cell(pages[page], layout, cell)) & set(r.info.scan), f"label {i} ({r.info.data})"


@pytest.mark.parametrize("mode", ["RGB", "1"])
def test_a_barcode_is_printed_at_its_true_size_centred_in_its_cell(tmp_path: Path, mode: str) -> None:
    # 4 dots per module at 300 dpi; no quiet zone or text: the image is exactly the symbol's width.
    image, r = _render("code128", "ABC-123", {"module_width": 0.3387, "dpi": 300, "quiet_zone": 0,
                                              "write_text": False, "module_height": 10})
    assert r.info.x_mm == pytest.approx(4 * MM_PER_INCH / 300)
    image = image.convert(mode)
    layout = layout_from(None)
    _write(tmp_path / "sheet.pdf", layout, [(image, "")])
    cell = _cell(_rasterise(tmp_path / "sheet.pdf")[0], layout, 0)
    left, top, right, bottom = _ink_box(cell)
    assert right - left == pytest.approx(image.width / 300 * 600, rel=0.01)  # X-dimension kept, not scaled
    _, ink_top, _, ink_bottom = _ink_box(image)  # the bars: python-barcode draws a margin above and below
    assert bottom - top == pytest.approx((ink_bottom - ink_top) / 300 * 600, rel=0.01)
    assert (left + right) / 2 == pytest.approx(cell.width / 2, abs=2)  # 2 px: 0.08 mm
    assert _decoded(cell) == {"ABC-123"}


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
    cell = _cell(_rasterise(tmp_path / "sheet.pdf")[0], layout, 0)
    with Image.open(io.BytesIO(body)) as image:
        _, _, ink_right, _ = _ink_box(image)
        ink_left = _ink_box(image)[0]
    left, _, right, _ = _ink_box(cell.crop((0, 0, cell.width, cell.height * 3 // 4)))  # above the caption
    assert right - left == pytest.approx((ink_right - ink_left) / 300 * 600, rel=0.01)
    assert "PNG-42" in _decoded(cell)


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
    cell = _cell(_rasterise(tmp_path / "sheet.pdf")[0], layout, 0)
    assert any(text.startswith(data) for text in _decoded(cell)), _decoded(cell)
    # The dark rectangles' extent, from the SVG, against the ink on the 600 dpi page.
    left_mm = min(x for x, _, _, _, _ in symbol.rects)
    right_mm = max(x + w for x, _, w, _, _ in symbol.rects)
    ink_left, _, ink_right, _ = _ink_box(cell)
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


def test_a_label_larger_than_the_cell_is_refused_and_leaves_the_cell_free(tmp_path: Path) -> None:
    layout = layout_from({"preset": "avery-l7651"})  # 38.1 x 21.2 mm labels
    big, _ = _render("code128", "ABC-123")  # 43 mm wide at the default X-dimension
    small, _ = _render("qrcode", "first")
    with (tmp_path / "sheet.pdf").open("wb") as out:
        writer = SheetWriter(out, layout)
        reason = writer.add(big, 300, "too big")
        assert reason is not None
        assert re.fullmatch(r"43\.0 x \d+\.\d mm label does not fit the 36\.1 x 19\.2 mm cell \(avery-l7651\)",
                            reason), reason
        assert (writer.labels, writer.pages) == (0, 0)
        assert writer.add(small, 300, "first") is None
        writer.close()
    page = _rasterise(tmp_path / "sheet.pdf", dpi=300)[0]
    assert _decoded(_cell(page, layout, 0, dpi=300)) == {"first"}
    assert _decoded(_cell(page, layout, 1, dpi=300)) == set()


def test_captions_are_helvetica_latin1_and_cut_to_the_cell(tmp_path: Path) -> None:
    image, _ = _render("qrcode", "x")
    layout = layout_from({"preset": "avery-l7651"})
    _write(tmp_path / "sheet.pdf", layout, [(image, "Café (No. 1) \\ ☃"), (image, "W" * 40)])
    text = subprocess.run(["pdftotext", str(tmp_path / "sheet.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Café (No. 1) \\ ?" in text  # not Latin-1: "?"
    cut = re.search(r"(W+)\.\.\.", text)
    assert cut is not None and 5 < len(cut.group(1)) < 40
    fonts = subprocess.run(["pdffonts", str(tmp_path / "sheet.pdf")], capture_output=True, text=True,
                           check=True).stdout
    assert "Helvetica" in fonts and "WinAnsi" in fonts


def test_pages_are_written_as_they_fill_not_at_close() -> None:
    out = io.BytesIO()
    image, _ = _render("datamatrix", "DM-1")
    writer = SheetWriter(out, layout_from({"preset": "avery-5163"}))  # 10 a page
    for i in range(11):
        assert writer.add(image, 300, f"#{i}") is None
    assert writer.pages == 2
    assert out.getvalue().count(b"/Type /Page ") == 1  # the first page is out; the second is open
    writer.close()
    assert out.getvalue().count(b"/Type /Page ") == 2 and out.getvalue().endswith(b"%%EOF\n")


def test_two_thousand_labels_stream_in_bounded_memory(tmp_path: Path) -> None:
    image, _ = _render("qrcode", "ABC")
    layout = layout_from({"preset": "avery-l7651"})  # 65 a page: 31 pages
    tracemalloc.start()
    try:
        with (tmp_path / "sheet.pdf").open("wb") as out:
            writer = SheetWriter(out, layout)
            held = []
            for i in range(2000):
                assert writer.add(image, 300, f"item {i:05d}") is None
                if i in (499, 1999):
                    held.append(tracemalloc.get_traced_memory()[0])
            writer.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"peak {peak / 1e6:.1f} MB"
    # 1,500 more labels cost (almost) nothing: earlier pages are not kept.
    assert held[1] - held[0] < 64_000, held
    assert (writer.pages, writer.labels) == (31, 2000)
    assert _pdfinfo(tmp_path / "sheet.pdf")["Pages"] == "31"


@pytest.mark.parametrize(("preset", "size"), [("avery-l7160", "595.276 x 841.89 pts (A4)"),
                                              ("avery-5160", "612 x 792 pts (letter)")])
def test_a_sheet_without_labels_is_one_blank_page(tmp_path: Path, preset: str, size: str) -> None:
    writer = _write(tmp_path / "empty.pdf", layout_from({"preset": preset}), [])
    info = _pdfinfo(tmp_path / "empty.pdf")
    assert info["Pages"] == "1" and info["Page size"] == size
    assert info["Title"] == "test sheet" and info["Producer"] == "barcode-pipeline"
    assert (writer.pages, writer.labels) == (1, 0)


def test_the_default_sheet_is_avery_l7160_on_a4() -> None:
    layout = layout_from(None)
    assert layout == layout_from({"preset": "avery-l7160"})
    assert (layout.paper, layout.columns, layout.rows, layout.preset) == ("A4", 3, 7, "avery-l7160")
    assert (layout.page_width_mm, layout.page_height_mm) == (210.0, 297.0)
    assert layout.cell_origin_mm(0) == (7.2, 15.15)
    assert layout.cell_origin_mm(4) == pytest.approx((7.2 + 63.5 + 2.5, 15.15 + 38.1))
    assert layout.cell_origin_mm(20) == pytest.approx((7.2 + 2 * 66.0, 15.15 + 6 * 38.1))
    with pytest.raises(IndexError):
        layout.cell_origin_mm(21)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_fits_its_page_with_a_margin(name: str) -> None:
    layout = layout_from({"preset": name})
    right, bottom = layout.grid_size_mm()
    assert 0 < layout.page_width_mm - right < 15 and 0 < layout.page_height_mm - bottom < 25


def test_a_preset_takes_overrides_and_a_bare_grid_defaults_to_a4_without_margins() -> None:
    layout = layout_from({"preset": "avery-l7160", "rows": 6, "margin_top_mm": 20, "paper": "letter"})
    assert (layout.rows, layout.margin_top_mm, layout.paper, layout.label_width_mm) == (6, 20.0, "Letter", 63.5)
    grid = layout_from({"columns": 2, "rows": 3, "label_width_mm": 80, "label_height_mm": 40})
    assert grid == SheetLayout("A4", 2, 3, 80.0, 40.0, 0.0, 0.0, 0.0, 0.0, None)


OK = {"preset": "avery-l7160"}


@pytest.mark.parametrize(("spec", "message"), [
    ([1], "sheet must be an object, not an array"),
    ({**OK, "colour": "red"}, "sheet.colour is not a sheet field"),
    ({"preset": "avery-9999"}, "sheet.preset 'avery-9999' is not a known label stock; presets: avery-l7160, "),
    ({**OK, "paper": "A3"}, "sheet.paper must be one of A4, Letter, not 'A3'"),
    ({**OK, "label_width_mm": "63"}, "sheet.label_width_mm must be a number of millimetres, not a string"),
    ({**OK, "gap_x_mm": True}, "sheet.gap_x_mm must be a number of millimetres, not a boolean"),
    ({**OK, "gap_y_mm": -1}, "sheet.gap_y_mm must not be negative, got -1"),
    ({**OK, "label_height_mm": 0}, "sheet.label_height_mm must be greater than 0 mm, got 0"),
    ({**OK, "columns": 0}, "sheet.columns must be an integer from 1 to 50, not 0"),
    ({**OK, "rows": 51}, "sheet.rows must be an integer from 1 to 50, not 51"),
    ({**OK, "columns": 2.5}, "sheet.columns must be an integer from 1 to 50, not 2.5"),
    ({**OK, "rows": True}, "sheet.rows must be an integer from 1 to 50, not a boolean"),
    ({"columns": 2, "rows": 3, "label_width_mm": 80}, "sheet.label_height_mm is required without a preset"),
])
def test_an_unusable_sheet_is_refused_naming_the_field(spec: object, message: str) -> None:
    with pytest.raises(SheetError) as raised:
        layout_from(spec)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(("spec", "message"), [
    ({"preset": "avery-l7160", "columns": 4}, "58.70 mm wider than the A4 page"),  # 7.2 + 4 x 63.5 + 3 x 2.5
    ({"preset": "avery-5160", "rows": 11}, "12.70 mm taller than the Letter page"),  # 12.7 + 11 x 25.4
])
def test_a_grid_larger_than_the_page_is_refused_saying_by_how_much(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SheetError, match=message):
        layout_from(spec)
