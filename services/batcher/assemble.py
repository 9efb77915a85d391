"""A finished batch's outputs: a ZIP of every file with its manifest, the manifest on its own,
a print-ready PDF label sheet and a ZPL label stream for a thermal printer (labels/zpl_stream.py),
written to temporary files and uploaded next to the barcodes.

Blocking (boto3, zipfile, the sheet writer): the batcher runs it in a thread. Memory stays
bounded whatever the batch size: one object at a time goes from the store into the ZIP and
onto the sheet (with a few fetched ahead), the files are written as they grow, and uploads are
multipart from disk.
"""
from __future__ import annotations

import csv
import logging
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from services.batcher.manifest_cells import safe_line
from services.batcher.tally import Outcome, Tally
from services.labels.layout import layout_from
from services.labels.pdf import SheetWriter
from services.labels.zpl_stream import DrawBack, ZplStream
from services.render.formats import FORMATS, Format, by_content_type

log = logging.getLogger(__name__)
MANIFEST_FIELDS = ("row", "data", "symbology", "format", "status", "error_code", "error_message", "object_key",
                   "verified", "file", "label", "zpl_label")
FETCH_AHEAD = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

Fetch = Callable[[str], bytes]  # object key -> its bytes
Upload = Callable[[Path, str, str], None]  # file, object key, content type


def file_name(row: int, data: str, ext: str) -> str:
    """The row number first (so names sort as the input did and never collide), then a safe
    form of the data for a human looking at the folder. Starting with a digit, a name is never
    read as a formula in the manifest's `file` column either."""
    safe = _UNSAFE.sub("_", data).strip("._")[:40] or "row"
    return f"{row:06d}-{safe}.{ext}"


def output_keys(batch_id: str) -> dict[str, str]:
    base = f"batches/{batch_id}"
    return {"archive_key": f"{base}/{batch_id}.zip", "sheet_key": f"{base}/{batch_id}-labels.pdf",
            "manifest_key": f"{base}/{batch_id}-manifest.csv", "zpl_key": f"{base}/{batch_id}-labels.zpl"}


def _prefetched(keys: list[str | None], fetch: Fetch) -> Iterator[bytes | None]:
    """The objects in order, fetched a few ahead on a small pool (the store answers in ~2 ms;
    one at a time would leave the batcher waiting on the network)."""
    with ThreadPoolExecutor(FETCH_AHEAD) as pool:
        pending: list[Future[bytes] | None] = []
        upcoming = iter(keys)
        for key in upcoming:
            pending.append(pool.submit(fetch, key) if key else None)
            if len(pending) > FETCH_AHEAD:
                break
        while pending:
            head = pending.pop(0)
            nxt = next(upcoming, "__end__")
            if nxt != "__end__":
                pending.append(pool.submit(fetch, nxt) if nxt else None)
            yield head.result() if head is not None else None


# What the sheet places, for the manifest's "not placed" line.
_ON_SHEET = " and ".join(f.name.upper() for f in FORMATS.values() if f.sheet)


def _place(sheet: SheetWriter, body: bytes, outcome: Outcome, fmt: Format | None, caption: str) -> str:
    """Put a row on the sheet at its true size (a PNG at the dpi it was drawn for, an SVG as
    vectors), captioned with its data unless the PNG prints that itself; what the manifest
    says about its label."""
    placing = fmt.sheet if fmt is not None else None
    if outcome.text_printed and placing == "raster":
        caption = ""  # an SVG's own text is not drawn on the sheet (labels/sources.py): it keeps the caption
    if placing == "vector":
        refused = sheet.add_svg(body, caption)  # vectors, at the size in mm the SVG states
    elif placing == "raster":
        refused = sheet.add_png(body, caption)
    else:
        return f"not placed: {fmt.extension if fmt else '?'} rows are not drawn on the sheet ({_ON_SHEET} are)"
    return f"not placed: {refused}" if refused else f"page {sheet.pages}"


def assemble(tally: Tally, fetch: Fetch, upload: Upload, workdir: str | None = None,
             draw_back: DrawBack | None = None) -> dict[str, Any]:
    """Write and upload the four outputs; returns what BatchStatus reports about them.
    `draw_back`: the ZPL renderer each label of labels.zpl is checked with (None: not checked)."""
    assert tally.total is not None and tally.created is not None
    started = time.monotonic()
    keys = output_keys(tally.batch_id)
    layout = layout_from(tally.created.sheet)
    rows = range(1, tally.total + 1)
    outcomes = [tally.outcomes[row] for row in rows]
    with tempfile.TemporaryDirectory(dir=workdir, prefix="batch-") as tmp:
        zip_path, pdf_path, manifest_path, zpl_path = (Path(tmp) / n for n in ("out.zip", "labels.pdf", "manifest.csv",
                                                                               "labels.zpl"))
        placed = not_placed = zpl_not_placed = 0
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive, \
                open(pdf_path, "wb") as pdf_file, open(manifest_path, "w", newline="", encoding="utf-8") as manifest_file, \
                open(zpl_path, "wb") as zpl_file:
            sheet = SheetWriter(pdf_file, layout, title=f"batch {tally.batch_id}")
            labels_zpl = ZplStream(zpl_file, layout, draw_back)
            manifest = csv.DictWriter(manifest_file, MANIFEST_FIELDS)
            manifest.writeheader()
            fetched = _prefetched([o.key if o.status == "completed" else None for o in outcomes], fetch)
            for row, outcome, body in zip(rows, outcomes, fetched):
                spec = tally.rows.get(row, {})
                data = str(spec.get("data", ""))
                line: dict[str, Any] = {
                    "row": row, "data": data, "symbology": spec.get("symbology") or "", "format": spec.get("format") or "",
                    "status": outcome.status, "error_code": outcome.error_code or "",
                    "error_message": outcome.error_message or "", "object_key": outcome.key or "",
                    "verified": "" if outcome.verified is None else str(outcome.verified).lower(), "file": "", "label": "",
                    "zpl_label": ""}
                if body is not None:
                    fmt = by_content_type(outcome.content_type)
                    name = file_name(row, data, fmt.extension if fmt else "bin")
                    # PNG and PDF are compressed already; SVG and EPS are text and shrink well.
                    kind = zipfile.ZIP_DEFLATED if fmt is not None and fmt.compress else zipfile.ZIP_STORED
                    archive.writestr(name, body, compress_type=kind)
                    line["file"] = name
                    line["label"] = _place(sheet, body, outcome, fmt, data)
                    if line["label"].startswith("page"):
                        placed += 1
                    else:
                        not_placed += 1
                    line["zpl_label"] = labels_zpl.add(body, fmt, "" if outcome.text_printed else data)
                    zpl_not_placed += line["zpl_label"].startswith("not placed")
                # The file name and the barcode keep the exact data; only the manifest's
                # cells are escaped, for the spreadsheet that will open them.
                manifest.writerow(safe_line(line))
            sheet.close()
            manifest_file.flush()
            zpl_file.flush()
            archive.write(manifest_path, "manifest.csv")
            archive.write(zpl_path, "labels.zpl", compress_type=zipfile.ZIP_DEFLATED)
        upload(zip_path, keys["archive_key"], "application/zip")
        upload(pdf_path, keys["sheet_key"], "application/pdf")
        upload(manifest_path, keys["manifest_key"], "text/csv")
        upload(zpl_path, keys["zpl_key"], FORMATS["zpl"].content_type)
    counts = tally.counts()
    log.info("batch %s assembled in %.1f s: %d rows, %d labels placed, %d not placed; labels.zpl %d labels "
             "(%.1f s drawing them back), %d not placed", tally.batch_id, time.monotonic() - started, tally.total,
             placed, not_placed, labels_zpl.labels, labels_zpl.checking_s, zpl_not_placed)
    return {**keys, "labels": placed, "labels_not_placed": not_placed, "zpl_labels": labels_zpl.labels,
            "zpl_labels_not_placed": zpl_not_placed, "finished_ms": time.time() * 1000,
            "errors": tally.first_errors(), **counts}
