"""A batch's outputs from its tally: the label sheet captions a row with its data only when the
image does not print that text itself (a 1D barcode with its human-readable line would show it
twice)."""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from services.batcher.assemble import assemble
from services.batcher.tally import Tally, row_job_id
from services.contract import BatchEvent, Result
from services.render.api import check, prints_text, render
from services.render.symbologies import lookup

ROWS = [("code128", "CAP-128", {}, "png"), ("qrcode", "CAP-QR", {}, "png"),
        ("code128", "CAP-NOTXT", {"write_text": False}, "png"), ("code128", "CAP-SVG", {}, "svg")]
TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def _tally(bodies: dict[str, bytes]) -> Tally:
    tally = Tally("b1")
    rows = [{"row": n, "data": data, "symbology": name, "format": fmt, "options": options}
            for n, (name, data, options, fmt) in enumerate(ROWS, start=1)]
    tally.apply_event(BatchEvent("b1", "rows", rows=rows))
    tally.apply_event(BatchEvent("b1", "created", owner="anonymous:x", company="Default", total=len(rows)))
    for n, (name, data, options, fmt) in enumerate(ROWS, start=1):
        symbology = lookup(name)
        assert symbology is not None
        bodies[f"k{n}"] = render(symbology, data, fmt, options).body
        # What the generator reports: the text the engine prints under these options.
        printed = prints_text(symbology, check(symbology, data, options), options)
        tally.apply_result(Result(job_id=row_job_id("b1", n), status="completed", bucket="barcodes", key=f"k{n}",
                                  content_type=TYPES[fmt], verified=True, batch_id="b1", row=n,
                                  text_printed=printed))
    return tally


def test_the_sheet_captions_only_rows_whose_image_prints_no_text(tmp_path: Path) -> None:
    bodies: dict[str, bytes] = {}
    tally = _tally(bodies)
    uploaded: dict[str, bytes] = {}

    def upload(path: Path, key: str, content_type: str) -> None:
        uploaded[key] = path.read_bytes()

    summary = assemble(tally, bodies.__getitem__, upload, workdir=str(tmp_path))
    assert summary["labels"] == 4
    sheet = next(body for key, body in uploaded.items() if key.endswith(".pdf"))
    (tmp_path / "sheet.pdf").write_bytes(sheet)
    text = subprocess.run(["pdftotext", str(tmp_path / "sheet.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    # The QR code and the Code 128 drawn without its text line are captioned; the Code 128 PNG
    # that prints "CAP-128" under its bars is not (pdftotext reads captions, not bitmaps). An
    # SVG's own text is not drawn on the sheet, so the SVG row keeps its caption.
    assert "CAP-QR" in text and "CAP-NOTXT" in text and "CAP-SVG" in text
    assert "CAP-128" not in text
    archive = next(body for key, body in uploaded.items() if key.endswith(".zip"))
    (tmp_path / "out.zip").write_bytes(archive)
    with zipfile.ZipFile(tmp_path / "out.zip") as opened:
        assert len([n for n in opened.namelist() if n.endswith((".png", ".svg"))]) == 4
