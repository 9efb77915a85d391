"""Batch mode of the load tool: N batches of M rows, submitted together over REST, followed to
the end, with rows/s, the time to each batch's last row and to its outputs; `--verify` downloads
the outputs and decodes every file in the ZIP and every label on the PDF sheet.

Also the client side the tests and `make k8s-test` use: submit, wait, download, check.
"""
from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import zxingcpp
from PIL import Image

from services.labels.layout import layout_from

SHEET_DPI = 300  # the sheets are rasterised at the labels' own resolution
MM_PER_INCH = 25.4
MIXES = {
    "code128": ("code128",),
    "mixed": ("qrcode", "datamatrix", "ean13"),
}


def rows_for(count: int, symbologies: tuple[str, ...], tag: str) -> list[tuple[str, str]]:
    """`count` distinct rows (data, symbology), the symbologies taking turns; EAN-13 gets 12
    digits (its check digit is added), the others `tag` and the row number."""
    out = []
    for n in range(count):
        symbology = symbologies[n % len(symbologies)]
        data = f"{zlib.crc32(tag.encode()) % 1000:03d}{n:09d}" if symbology == "ean13" else f"{tag}{n:06d}"
        out.append((data, symbology))
    return out


def to_csv(rows: list[tuple[str, str]]) -> str:
    return "data,symbology\n" + "".join(f"{d},{s}\n" for d, s in rows)


async def submit_csv(session: aiohttp.ClientSession, gateway: str, text: str, **query: str) -> dict[str, Any]:
    async with session.post(f"{gateway}/v1/batches", data=text.encode(), params=query,
                            headers={"Content-Type": "text/csv"}) as resp:
        body: dict[str, Any] = await resp.json()
        if resp.status != 202:
            raise RuntimeError(f"batch refused: {resp.status} {body}")
        return body


async def status_of(session: aiohttp.ClientSession, gateway: str, batch_id: str, wait: float = 0) -> dict[str, Any]:
    async with session.get(f"{gateway}/v1/batches/{batch_id}", params={"wait": f"{wait:g}"}) as resp:
        body: dict[str, Any] = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"batch status: {resp.status} {body}")
        return body


async def wait_finished(session: aiohttp.ClientSession, gateway: str, batch_id: str, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        left = deadline - time.monotonic()
        body = await status_of(session, gateway, batch_id, wait=max(0.0, min(30.0, left)))
        if body["status"] in ("completed", "cancelled") or time.monotonic() >= deadline:
            return body


async def download(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as resp:
        if resp.status != 200:
            raise RuntimeError(f"download {url}: {resp.status}")
        return await resp.read()


def manifest_rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def _reads_as(image: Image.Image, data: str) -> bool:
    # EAN-13 rows are given 12 digits: the decode has the check digit too.
    return any(r.text.startswith(data) for r in zxingcpp.read_barcodes(image))


def check_archive(archive: bytes, manifest: list[dict[str, str]]) -> int:
    """Every completed row's file is in the ZIP, verified, and decodes to the row's data (PNG
    rows; others are counted as present). Returns the number of files checked."""
    checked = 0
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = set(zf.namelist())
        if "manifest.csv" not in names:
            raise AssertionError("the ZIP has no manifest.csv")
        for line in manifest:
            if line["status"] != "completed":
                if line["file"]:
                    raise AssertionError(f"row {line['row']} failed but has a file")
                continue
            if line["file"] not in names or line["verified"] != "true":
                raise AssertionError(f"row {line['row']}: file missing or not verified: {line}")
            if line["file"].endswith(".png"):
                with Image.open(io.BytesIO(zf.read(line["file"]))) as image:
                    if not _reads_as(image, line["data"]):
                        raise AssertionError(f"row {line['row']}: {line['file']} does not decode to {line['data']!r}")
            checked += 1
    return checked


def check_sheet(pdf: bytes, manifest: list[dict[str, str]], sheet: dict[str, Any] | None = None) -> int:
    """Rasterise every page with poppler's pdftoppm, cut out each cell in the order the labels
    were placed, and decode it. Returns the number of labels checked."""
    layout = layout_from(sheet)
    placed = [line for line in manifest if line["label"].startswith("page")]
    per_page = layout.columns * layout.rows
    px = SHEET_DPI / MM_PER_INCH
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sheet.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(SHEET_DPI), "-gray", "-png", "sheet.pdf", "page"], cwd=tmp,
                       check=True, timeout=600)
        pages = sorted(Path(tmp).glob("page-*.png"))
        if len(pages) != max(1, -(-len(placed) // per_page)):
            raise AssertionError(f"{len(pages)} pages for {len(placed)} labels of {per_page} a page")
        for index, line in enumerate(placed):
            page_no, cell = divmod(index, per_page)
            if line["label"] != f"page {page_no + 1}":
                raise AssertionError(f"row {line['row']} is on {line['label']}, expected page {page_no + 1}")
            x, y = layout.cell_origin_mm(cell)
            with Image.open(pages[page_no]) as page:
                crop = page.crop((int(x * px), int(y * px), int((x + layout.label_width_mm) * px),
                                  int((y + layout.label_height_mm) * px)))
                if not _reads_as(crop, line["data"]):
                    raise AssertionError(f"row {line['row']}: its label on page {page_no + 1} does not decode")
    return len(placed)


@dataclass
class BatchRun:
    batch_id: str
    rows: int
    submitted_s: float  # since the run's start
    accepted_s: float
    last_row_s: float | None = None  # every row had an outcome
    outputs_s: float | None = None  # ZIP, PDF and manifest stored
    final: dict[str, Any] = field(default_factory=dict)


async def _follow(session: aiohttp.ClientSession, gateway: str, run: BatchRun, started: float,
                  within_s: float, say: Any) -> None:
    last_said = 0.0
    while time.monotonic() - started < within_s:
        body = await status_of(session, gateway, run.batch_id, wait=0)
        now = time.monotonic() - started
        if run.last_row_s is None and body["done"] >= run.rows:
            run.last_row_s = now
        if body["status"] in ("completed", "cancelled"):
            run.outputs_s, run.final = now, body
            return
        if now - last_said >= 2:
            last_said = now
            say(f"batch {run.batch_id[:8]}: {body['done']}/{run.rows} rows, {body.get('rows_per_s') or 0:.0f} rows/s, "
                f"ETA {body.get('eta_s') or 0:.0f} s")
        await asyncio.sleep(0.1)
    raise TimeoutError(f"batch {run.batch_id} not finished after {within_s:.0f} s")


async def run_batches(gateway: str, batches: int, rows: int, symbologies: tuple[str, ...], verify: bool = False,
                      within_s: float = 1800, say: Any = print) -> list[BatchRun]:
    """Submit `batches` batches of `rows` rows at once and follow them to their outputs."""
    tag = f"{int(time.time()) % 100000:05d}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        started = time.monotonic()

        async def one(n: int) -> BatchRun:
            text = to_csv(rows_for(rows, symbologies, f"{tag}{n:02d}"))
            submitted = time.monotonic() - started
            accepted = await submit_csv(session, gateway, text)
            run = BatchRun(accepted["batch_id"], rows, submitted, time.monotonic() - started)
            await _follow(session, gateway, run, started, within_s, say)
            if verify:
                manifest = manifest_rows(await download(session, run.final["manifest_url"]))
                files = check_archive(await download(session, run.final["archive_url"]), manifest)
                labels = check_sheet(await download(session, run.final["sheet_url"]), manifest)
                say(f"batch {run.batch_id[:8]}: {files} files and {labels} labels decoded")
            return run

        return list(await asyncio.gather(*(one(n) for n in range(batches))))


def report(runs: list[BatchRun]) -> str:
    lines = ["| batch | rows | accepted (s) | last row (s) | outputs (s) | rows/s | completed | failed |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        span = (r.last_row_s or 0) - r.accepted_s
        lines.append(f"| {r.batch_id[:8]} | {r.rows} | {r.accepted_s:.1f} | {r.last_row_s or 0:.1f} | "
                     f"{r.outputs_s or 0:.1f} | {r.rows / span if span > 0 else 0:.0f} | "
                     f"{r.final.get('completed')} | {r.final.get('failed')} |")
    total_rows = sum(r.rows for r in runs)
    last = max((r.last_row_s or 0) for r in runs)
    first = min(r.submitted_s for r in runs)
    lines.append(f"\nall: {total_rows} rows, last row at {last:.1f} s ({total_rows / max(last - first, 1e-9):.0f} rows/s), "
                 f"last outputs at {max((r.outputs_s or 0) for r in runs):.1f} s")
    return "\n".join(lines)
