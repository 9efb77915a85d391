"""The label sheet PDF: what a user prints. Pages, cells, true sizes, refusals and bounded memory,
each checked on the PDF as poppler reads it and zxing-cpp decodes it, cell by cell."""
from __future__ import annotations

import io
import re
import tracemalloc
from pathlib import Path

import pytest

from services.labels.layout import layout_from
from services.labels.pdf import SheetWriter
from tests.services.labels.readback import (MM_PER_INCH, cell_of, decoded, ink_box, pdfinfo, rasterise, render_image,
                                            write_sheet)


def _mixed(i: int) -> tuple[str, str]:
    """Label i of the mixed sheet: symbology and data."""
    return [("code128", f"LBL-{i:03d}"), ("qrcode", f"https://example.com/item/{i}"), ("datamatrix", f"DM-{i:04d}"),
            ("ean13", f"400638133{i:03d}")][i % 4]  # EAN-13: 12 digits, the renderer adds the check digit


def test_a_mixed_sheet_reads_back_label_by_label_over_two_pages(tmp_path: Path) -> None:
    layout = layout_from({"preset": "avery-l7163"})  # 14 labels a page
    rendered = [render_image(*_mixed(i)) for i in range(20)]
    writer = write_sheet(tmp_path / "sheet.pdf", layout, [(image, r.info.data) for image, r in rendered])
    assert (writer.pages, writer.labels) == (2, 20)
    assert pdfinfo(tmp_path / "sheet.pdf")["Pages"] == "2"
    pages = rasterise(tmp_path / "sheet.pdf")
    assert len(pages) == 2
    for i, (_, r) in enumerate(rendered):
        page, cell = divmod(i, layout.cells_per_page)
        assert decoded(cell_of(pages[page], layout, cell)) & set(r.info.scan), f"label {i} ({r.info.data})"


@pytest.mark.parametrize("mode", ["RGB", "1"])
def test_a_barcode_is_printed_at_its_true_size_centred_in_its_cell(tmp_path: Path, mode: str) -> None:
    # 4 dots per module at 300 dpi; no quiet zone or text: the image is exactly the symbol's width.
    image, r = render_image("code128", "ABC-123", {"module_width": 0.3387, "dpi": 300, "quiet_zone": 0,
                                              "write_text": False, "module_height": 10})
    assert r.info.x_mm == pytest.approx(4 * MM_PER_INCH / 300)
    image = image.convert(mode)
    layout = layout_from(None)
    write_sheet(tmp_path / "sheet.pdf", layout, [(image, "")])
    cell = cell_of(rasterise(tmp_path / "sheet.pdf")[0], layout, 0)
    left, top, right, bottom = ink_box(cell)
    assert right - left == pytest.approx(image.width / 300 * 600, rel=0.01)  # X-dimension kept, not scaled
    _, ink_top, _, ink_bottom = ink_box(image)  # the bars: python-barcode draws a margin above and below
    assert bottom - top == pytest.approx((ink_bottom - ink_top) / 300 * 600, rel=0.01)
    assert (left + right) / 2 == pytest.approx(cell.width / 2, abs=2)  # 2 px: 0.08 mm
    assert decoded(cell) == {"ABC-123"}


def test_a_label_larger_than_the_cell_is_refused_and_leaves_the_cell_free(tmp_path: Path) -> None:
    layout = layout_from({"preset": "avery-l7651"})  # 38.1 x 21.2 mm labels
    big, _ = render_image("code128", "ABC-123")  # 43 mm wide at the default X-dimension
    small, _ = render_image("qrcode", "first")
    with (tmp_path / "sheet.pdf").open("wb") as out:
        writer = SheetWriter(out, layout)
        reason = writer.add(big, 300, "too big")
        assert reason is not None
        assert re.fullmatch(r"43\.0 x \d+\.\d mm label does not fit the 36\.1 x 19\.2 mm cell \(avery-l7651\)",
                            reason), reason
        assert (writer.labels, writer.pages) == (0, 0)
        assert writer.add(small, 300, "first") is None
        writer.close()
    page = rasterise(tmp_path / "sheet.pdf", dpi=300)[0]
    assert decoded(cell_of(page, layout, 0, dpi=300)) == {"first"}
    assert decoded(cell_of(page, layout, 1, dpi=300)) == set()


def test_pages_are_written_as_they_fill_not_at_close() -> None:
    out = io.BytesIO()
    image, _ = render_image("datamatrix", "DM-1")
    writer = SheetWriter(out, layout_from({"preset": "avery-5163"}))  # 10 a page
    for i in range(11):
        assert writer.add(image, 300, f"#{i}") is None
    assert writer.pages == 2
    assert out.getvalue().count(b"/Type /Page ") == 1  # the first page is out; the second is open
    writer.close()
    assert out.getvalue().count(b"/Type /Page ") == 2 and out.getvalue().endswith(b"%%EOF\n")


def test_two_thousand_labels_stream_in_bounded_memory(tmp_path: Path) -> None:
    image, _ = render_image("qrcode", "ABC")
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
    assert pdfinfo(tmp_path / "sheet.pdf")["Pages"] == "31"


@pytest.mark.parametrize(("preset", "size"), [("avery-l7160", "595.276 x 841.89 pts (A4)"),
                                              ("avery-5160", "612 x 792 pts (letter)")])
def test_a_sheet_without_labels_is_one_blank_page(tmp_path: Path, preset: str, size: str) -> None:
    writer = write_sheet(tmp_path / "empty.pdf", layout_from({"preset": preset}), [])
    info = pdfinfo(tmp_path / "empty.pdf")
    assert info["Pages"] == "1" and info["Page size"] == size
    assert info["Title"] == "test sheet" and info["Producer"] == "barcode-pipeline"
    assert (writer.pages, writer.labels) == (1, 0)
