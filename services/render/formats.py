"""Every output format, in one place: what the contract accepts, how the engines draw it, how it
is verified, what a batch's ZIP calls it and whether a label sheet can place it.

Adding a format is one entry here plus its writer: a raster format's in the engines (they draw
bitmaps), a vector format's in `render/vector.py` (`WRITERS`, from the engine's SVG), a printer
language's in `render/api.py` (ZPL: `render/zpl.py` from the PNG, `render/zpl_native.py`). Everyone
else reads this table: `contract.FORMATS` (the names a request may give, with their content
types), the engines and `render.api` (how to draw and verify), the batcher (file extensions,
ZIP compression, sheet placement) and the page (`GET /v1/formats`: which ones a browser shows).

Pure data with no imports of its own: the contract imports it, and so does every service.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Format:
    name: str  # as a request names it (`"format": "svg"`)
    content_type: str
    extension: str  # of the file in a batch's ZIP
    # The engine's bitmap written out, its SVG converted (vector.WRITERS), or a printer's label
    # (ZPL: the bitmap as a graphic field, or the printer's own barcode command).
    drawn_as: Literal["raster", "vector", "printer"]
    # What decode-back verification reads: the file's own bytes (a ZPL label: as an independent
    # ZPL renderer draws them), or (a vector file cannot be decoded as it is) a raster of the same
    # symbol at budget.raster_options.
    verified_on: Literal["file", "raster"]
    inline: bool  # a browser shows it in an <img>: the page previews it
    compress: bool  # text: deflated in a batch's ZIP (a PNG is compressed already)
    sheet: Literal["raster", "vector", None]  # how a label sheet places it, or None: listed as not placed

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "content_type": self.content_type, "extension": self.extension,
                "vector": self.drawn_as == "vector", "inline": self.inline, "on_sheet": self.sheet is not None}


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("png", "image/png", "png", "raster", "file", inline=True, compress=False, sheet="raster"),
    Format("svg", "image/svg+xml", "svg", "vector", "raster", inline=True, compress=True, sheet="vector"),
    Format("pdf", "application/pdf", "pdf", "vector", "raster", inline=False, compress=False, sheet=None),
    Format("eps", "application/postscript", "eps", "vector", "raster", inline=False, compress=True, sheet=None),
    # ZPL II for Zebra-class thermal printers. No registered media type exists; application/zpl
    # is what label tools send, and a browser downloads it instead of showing text.
    Format("zpl", "application/zpl", "zpl", "printer", "file", inline=False, compress=True, sheet=None),
)}
CONTENT_TYPES: dict[str, str] = {f.name: f.content_type for f in FORMATS.values()}
_BY_CONTENT_TYPE: dict[str, Format] = {f.content_type: f for f in FORMATS.values()}


def by_content_type(content_type: str | None) -> Format | None:
    """The format a stored file's content type names (a result carries the content type)."""
    return _BY_CONTENT_TYPE.get(content_type or "")
