"""python-barcode + Pillow: the 1D symbologies python-barcode covers."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Any

import barcode
from barcode.writer import BaseWriter, ImageWriter, SVGWriter, mm2px
from PIL import Image

from services.contract import ErrorCode
from services.render import engine_zint, vector
from services.render.budget import raster_options
from services.render.errors import JobError
from services.render.formats import FORMATS
from services.render.geometry import Geometry, geometry
from services.render.types import Rendered, SymbolInfo
from services.render.validate import Normalised, normalise

NAME = "python-barcode"
VERSION = barcode.version

# python-barcode's constructor arguments per symbology, beyond (data, writer).
_CLASS_ARGS: dict[str, dict[str, Any]] = {
    name: {"no_checksum": True} for name in ("ean13", "ean13-guard", "ean8", "ean8-guard", "jan", "isbn13",
                                             "isbn10", "issn")
}
# Symbologies drawn by another python-barcode class. python-barcode's own "EAN-14" draws 14
# digits with EAN-13 patterns, which no scanner reads; a GTIN-14 is printed as GS1-128 with
# AI (01). Its ISBN-10 and ISSN classes build a truncated symbol in 0.16.1; both are EAN-13
# symbols (978 / 977 prefix) by definition, so validate.py computes that EAN-13 and we draw it.
_DRAWN_AS = {"ean14": "gs1_128", "isbn10": "ean13", "issn": "ean13"}
_WRITER_OPTIONS = ("module_height", "font_size", "text_distance", "foreground", "background", "write_text")


def _symbol(symbology: str, normalised: Normalised, writer: BaseWriter, options: dict[str, Any]) -> barcode.Barcode:
    kwargs = dict(_CLASS_ARGS.get(symbology, {}))
    if symbology == "code39":
        kwargs["add_checksum"] = bool(options.get("checksum", False))
    try:
        return barcode.get(_DRAWN_AS.get(symbology, symbology), normalised.data, writer=writer, options=kwargs)
    except barcode.errors.BarcodeError as exc:
        # validate.py should have caught this first; keep the library's words for the user.
        raise JobError(ErrorCode.INVALID_DATA, f"{symbology}: {exc}") from exc


def _writer_options(options: dict[str, Any], geo: Geometry, raster: bool) -> dict[str, Any]:
    out = {k: options[k] for k in _WRITER_OPTIONS if k in options}
    # A hair above the snapped width: python-barcode truncates mm * dpi / 25.4 to whole pixels,
    # and 3 dots computed as 2.9999999 would lose one.
    out["module_width"] = geo.x_mm * (1 + 1e-9)
    if "quiet_zone" in options:
        out["quiet_zone"] = options["quiet_zone"]
    if raster:
        out.update(dpi=geo.dpi, format="PNG")
    return out


class _Size(Exception):
    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self.width, self.height = width, height


class _SizingWriter(ImageWriter):
    """ImageWriter up to the point where it would allocate the image: the size it computes
    from quiet zones, bar height, text and its distance, in python-barcode's own arithmetic."""

    def _init(self, code: list[str]) -> None:
        width, height = self.calculate_size(len(code[0]), 1)
        raise _Size(int(mm2px(width, self.dpi)), int(mm2px(height, self.dpi)))


def _bitmap_size(symbology: str, normalised: Normalised, options: dict[str, Any], geo: Geometry) -> tuple[int, int]:
    try:
        _symbol(symbology, normalised, _SizingWriter(), options).render(_writer_options(options, geo, raster=True))
    except _Size as size:
        width, height = size.width, size.height
    else:
        raise AssertionError("python-barcode did not size its image")
    return (height, width) if int(options.get("rotation", 0)) % 180 else (width, height)


def _text_clear_of_bars(symbol: barcode.Barcode, options: dict[str, Any]) -> None:
    """python-barcode anchors the text at its baseline, below the bars by text_distance (or, under
    EAN/UPC guard bars, by the font size): a large font over short bars paints over them, and the
    symbol no longer reads (found by the catalogue property test). At most half the bar height
    may be covered. Text height: 1.2 x the font size (DejaVu's ascent plus descent)."""
    writer = {**symbol.default_writer_options, **options}
    if not writer.get("write_text", True) or not writer.get("font_size"):
        return
    font_mm = float(writer["font_size"]) * 25.4 / 72
    gap = font_mm if "G" in symbol.build()[0] else float(writer["text_distance"])
    covered = 1.2 * font_mm - gap
    if covered > float(writer["module_height"]) / 2:
        raise JobError(ErrorCode.INVALID_OPTION, f"font_size {writer['font_size']:g} pt would print over the "
                                                 f"{writer['module_height']:g} mm bars: raise module_height or "
                                                 "text_distance, or lower font_size")


def _checked(symbology: str, data: str, options: dict[str, Any]) -> tuple[Normalised, SymbolInfo]:
    if symbology == "gs1_128":
        # libzint knows every AI's format, date rules and check digits; its error names the AI.
        engine_zint.check(symbology, data, {})
    normalised = normalise(symbology, data, options)
    symbol = _symbol(symbology, normalised, SVGWriter(), options)
    _text_clear_of_bars(symbol, options)
    geo = geometry(options)
    text = normalised.scan if symbology in ("gs1_128", "ean14") else symbol.get_fullcode()
    width_px, height_px = _bitmap_size(symbology, normalised, options, geo)
    # The printed text is a correct reading too: Code 39 with `checksum` reads with its check character.
    scan = tuple(dict.fromkeys((normalised.scan, text)))
    return normalised, SymbolInfo(data=normalised.data.replace("\xf1", ""), text=text, scan=scan,
                                  width_modules=len(symbol.build()[0]), x_mm=geo.x_mm, warnings=tuple(geo.warnings()),
                                  width_px=width_px, height_px=height_px)


# python-barcode 0.16.1 drops the leading "99" of Code 128 data it starts in code set C ("99",
# "9912", "99A": the symbol encodes nothing or the wrong digits). Decode-back verification caught
# it (a hypothesis example); such data is drawn by libzint at the same size, with a warning.
_ZINT_DRAWS = {"code128": lambda data: data.startswith("99")}
_FALLBACK_WARNING = "drawn by libzint: python-barcode 0.16.1 mis-encodes Code 128 data starting with 99"


def _falls_back(symbology: str, data: str) -> bool:
    rule = _ZINT_DRAWS.get(symbology)
    return rule is not None and rule(data)


def _with_warning(info: SymbolInfo) -> SymbolInfo:
    return replace(info, warnings=(*info.warnings, _FALLBACK_WARNING))


def check(symbology: str, data: str, options: dict[str, Any]) -> SymbolInfo:
    if _falls_back(symbology, data):
        return _with_warning(engine_zint.check(symbology, data, options))
    return _checked(symbology, data, options)[1]


def render(symbology: str, data: str, fmt: str, options: dict[str, Any]) -> Rendered:
    """Render one barcode. Raises JobError for data the symbology cannot take."""
    if _falls_back(symbology, data):
        rendered = engine_zint.render(symbology, data, fmt, options)
        return replace(rendered, info=_with_warning(rendered.info))
    normalised, info = _checked(symbology, data, options)
    geo = geometry(options)
    rotation = int(options.get("rotation", 0))
    try:
        if FORMATS[fmt].drawn_as == "raster":
            image: Image.Image = _symbol(symbology, normalised, ImageWriter(), options).render(
                _writer_options(options, geo, raster=True))
            if rotation:
                image = image.rotate(-rotation, expand=True)
            out = io.BytesIO()
            image.save(out, format="PNG", dpi=(geo.dpi, geo.dpi))
            return Rendered(out.getvalue(), FORMATS[fmt].content_type, info, raster=image)
        symbol = _symbol(symbology, normalised, SVGWriter(), options)
        svg = bytes(symbol.render(_writer_options(options, geo, raster=False), _svg_text(symbol, options)))
    except (ValueError, OSError) as exc:
        raise JobError(ErrorCode.RENDER_FAILED, f"could not draw {symbology}: {exc}") from exc
    svg = vector.rotate(vector.user_units_in_mm(svg), rotation)
    return Rendered(vector.WRITERS[fmt](svg), FORMATS[fmt].content_type, info)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _svg_text(symbol: barcode.Barcode, options: dict[str, Any]) -> str | None:
    """The human-readable text for SVG: XML 1.0 has no control characters (Code 128 carries
    them: "\x08" made an SVG no parser reads), so they print as spaces. None: python-barcode's own."""
    text = symbol.get_fullcode()
    if not options.get("write_text", True) or not _CONTROL.search(text):
        return None
    return _CONTROL.sub(" ", text)


def raster(symbology: str, data: str, options: dict[str, Any]) -> Image.Image:
    """A PNG-path image of the same symbol at a decoder-friendly scale, for verifying vector
    output (its size is budgeted by api.check with the same raster_options)."""
    rendered = render(symbology, data, "png", raster_options(options))
    return rendered.raster if rendered.raster is not None else Image.open(io.BytesIO(rendered.body))
