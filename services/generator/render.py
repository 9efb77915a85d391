"""Drawing: python-barcode for the symbol, Pillow for PNG and PDF. Pure CPU, no I/O.

Called from a worker thread (see worker.py), so nothing here may touch the event loop.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import barcode
from barcode.writer import BaseWriter, ImageWriter, SVGWriter
from PIL import Image

from services.contract import FORMATS, ErrorCode
from services.generator.errors import JobError
from services.generator.validate import Normalised, normalise

# python-barcode's constructor arguments per symbology, beyond (data, writer).
_CLASS_ARGS: dict[str, dict[str, Any]] = {
    "ean13": {"no_checksum": True},
    "ean13-guard": {"no_checksum": True},
    "ean8": {"no_checksum": True},
    "ean8-guard": {"no_checksum": True},
    "jan": {"no_checksum": True},
    "isbn13": {"no_checksum": True},
    "isbn10": {"no_checksum": True},
    "issn": {"no_checksum": True},
}
# Symbologies drawn by another python-barcode class. python-barcode's own "EAN-14" draws 14
# digits with EAN-13 patterns, which no scanner reads; a GTIN-14 is printed as GS1-128 with
# AI (01). Its ISBN-10 and ISSN classes build a truncated symbol in 0.16.1; both are EAN-13
# symbols (978 / 977 prefix) by definition, so validate.py computes that EAN-13 and we draw it.
_DRAWN_AS = {"ean14": "gs1_128", "isbn10": "ean13", "issn": "ean13"}
# Options that are ours, not python-barcode writer options.
_NON_WRITER_OPTIONS = {"checksum", "dpi"}
DEFAULT_DPI = 300


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    scan: str  # the text a scanner should read back


def _writer_options(options: dict[str, Any], fmt: str) -> dict[str, Any]:
    out = {k: v for k, v in options.items() if k not in _NON_WRITER_OPTIONS}
    if fmt != "svg":
        out["dpi"] = int(options.get("dpi", DEFAULT_DPI))
        out["format"] = "PNG"
    return out


def _symbol(symbology: str, normalised: Normalised, writer: BaseWriter, options: dict[str, Any]) -> barcode.Barcode:
    kwargs = dict(_CLASS_ARGS.get(symbology, {}))
    name = _DRAWN_AS.get(symbology, symbology)
    if symbology == "code39":
        kwargs["add_checksum"] = bool(options.get("checksum", False))
    try:
        return barcode.get(name, normalised.data, writer=writer, options=kwargs)
    except barcode.errors.BarcodeError as exc:
        # validate.py should have caught this first; keep the library's words for the user.
        raise JobError(ErrorCode.INVALID_DATA, f"{symbology}: {exc}") from exc


def render(symbology: str, data: str, fmt: str, options: dict[str, Any]) -> Rendered:
    """Render one barcode. Raises JobError for data or options the symbology cannot take."""
    normalised = normalise(symbology, data, options)
    scan = normalised.scan
    writer: BaseWriter = SVGWriter() if fmt == "svg" else ImageWriter()
    symbol = _symbol(symbology, normalised, writer, options)
    try:
        drawn = symbol.render(_writer_options(options, fmt))
    except (ValueError, OSError) as exc:
        raise JobError(ErrorCode.RENDER_FAILED, f"could not draw {symbology}: {exc}") from exc
    if fmt == "svg":
        return Rendered(bytes(drawn), FORMATS["svg"], scan)
    image: Image.Image = drawn
    dpi = int(options.get("dpi", DEFAULT_DPI))
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, format="PNG", dpi=(dpi, dpi), optimize=False)
    else:
        # A raster page at the requested DPI, so the printed size matches the PNG.
        image.convert("RGB").save(out, format="PDF", resolution=float(dpi))
    return Rendered(out.getvalue(), FORMATS[fmt], scan)
