"""Submitting a batch and checking what came back: every file in its ZIP decodes to its row,
the manifest says what became of each row, and every label on the PDF sheet (rasterised with
poppler's pdftoppm) decodes to its row too."""
from __future__ import annotations

import csv
import io
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import zxingcpp
from PIL import Image

from services.labels.sheet import layout_from
from tests.support.decode import decode

SHEET_DPI = 300
MM_PER_INCH = 25.4


async def submit_csv(session: aiohttp.ClientSession, gateway: str, text: str, **query: str) -> dict[str, Any]:
    async with session.post(f"{gateway}/v1/batches", data=text.encode(), params=query,
                            headers={"Content-Type": "text/csv"}) as resp:
        body: dict[str, Any] = await resp.json()
        assert resp.status == 202, body
        return body


async def wait_finished(session: aiohttp.ClientSession, gateway: str, batch_id: str, within_s: float) -> dict[str, Any]:
    loop_deadline = within_s
    while True:
        wait = min(30.0, loop_deadline)
        async with session.get(f"{gateway}/v1/batches/{batch_id}", params={"wait": str(wait)}) as resp:
            body: dict[str, Any] = await resp.json()
            assert resp.status == 200, body
        loop_deadline -= wait
        if body["status"] in ("completed", "cancelled") or loop_deadline <= 0:
            return body


async def download(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as resp:
        assert resp.status == 200, url
        return await resp.read()


def manifest_rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def check_archive(archive: bytes, manifest: list[dict[str, str]]) -> int:
    """Every completed row's file is in the ZIP and decodes to the row's data; returns how many."""
    checked = 0
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = set(zf.namelist())
        assert "manifest.csv" in names
        for line in manifest:
            if line["status"] != "completed":
                assert not line["file"], line
                continue
            assert line["file"] in names, line
            texts = decode(zf.read(line["file"]), "image/png")
            assert any(t.startswith(line["data"]) for t in texts), (line, texts)
            assert line["verified"] == "true", line
            checked += 1
    return checked


def check_sheet(pdf: bytes, manifest: list[dict[str, str]], sheet: dict[str, Any] | None = None) -> int:
    """Rasterise every page, cut out each cell in the order labels were placed, and decode it."""
    layout = layout_from(sheet)
    placed = [line for line in manifest if line["label"].startswith("page")]
    per_page = layout.columns * layout.rows
    px = SHEET_DPI / MM_PER_INCH
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sheet.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(SHEET_DPI), "-gray", "-png", "sheet.pdf", "page"], cwd=tmp,
                       check=True, timeout=300)
        pages = sorted(Path(tmp).glob("page-*.png"))
        assert len(pages) == max(1, -(-len(placed) // per_page))
        for index, line in enumerate(placed):
            page_no, cell = divmod(index, per_page)
            assert line["label"] == f"page {page_no + 1}", line
            x, y = layout.cell_origin_mm(cell)
            with Image.open(pages[page_no]) as page:
                crop = page.crop((int(x * px), int(y * px), int((x + layout.label_width_mm) * px),
                                  int((y + layout.label_height_mm) * px)))
                texts = [r.text for r in zxingcpp.read_barcodes(crop)]
            assert any(t.startswith(line["data"]) for t in texts), (line, texts)
    return len(placed)
