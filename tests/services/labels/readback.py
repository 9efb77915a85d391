"""A written label sheet read back as a user would: the PDF rasterised by poppler (pdfinfo,
pdftoppm), cut into its label cells, and each cell decoded with zxing-cpp. Real barcodes come from
the project's renderer. Shared by the label tests, which check what the sheet prints rather than
how its PDF is spelled."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from services.labels.layout import SheetLayout
from services.labels.pdf import SheetWriter
from services.render.api import render
from services.render.symbologies import lookup
from services.render.types import Rendered

MM_PER_INCH = 25.4


def render_image(symbology: str, data: str, options: dict[str, Any] | None = None) -> tuple[Image.Image, Rendered]:
    found = lookup(symbology)
    assert found is not None
    rendered = render(found, data, "png", options or {})
    return Image.open(io.BytesIO(rendered.body)), rendered


def pdfinfo(path: Path) -> dict[str, str]:
    done = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr  # poppler reports any syntax error
    return {key: value.strip() for key, _, value in (line.partition(":") for line in done.stdout.splitlines())}


def rasterise(path: Path, dpi: int = 600) -> list[Image.Image]:
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


def cell_of(page: Image.Image, layout: SheetLayout, index: int, dpi: int = 600) -> Image.Image:
    left, top = layout.cell_origin_mm(index)
    px = dpi / MM_PER_INCH
    return page.crop((round(left * px), round(top * px), round((left + layout.label_width_mm) * px),
                      round((top + layout.label_height_mm) * px)))


def decoded(image: Image.Image) -> set[str]:
    return {result.text for result in zxingcpp.read_barcodes(image)}


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    box = image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None, "no ink in the cell"
    return box


def write_sheet(path: Path, layout: SheetLayout, labels: list[tuple[Image.Image, str]]) -> SheetWriter:
    with path.open("wb") as out:
        writer = SheetWriter(out, layout, title="test sheet")
        for image, caption in labels:
            assert writer.add(image, 300, caption) is None
        writer.close()
    return writer