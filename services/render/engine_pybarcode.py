"""python-barcode + Pillow: the 1D symbologies python-barcode covers."""
from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import barcode
from barcode.writer import BaseWriter, ImageWriter, SVGWriter
from PIL import Image

from services.contract import ErrorCode, FORMATS
from services.render import engine_zint, vector
from services.render.errors import JobError
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


def _checked(symbology: str, data: str, options: dict[str, Any]) -> tuple[Normalised, SymbolInfo]:
    if symbology == "gs1_128":
        # libzint knows every AI's format, date rules and check digits; its error names the AI.
        engine_zint.check(symbology, data, {})
    normalised = normalise(symbology, data, options)
    symbol = _symbol(symbology, normalised, SVGWriter(), options)
    geo = geometry(options)
    text = normalised.scan if symbology in ("gs1_128", "ean14") else symbol.get_fullcode()
    return normalised, SymbolInfo(data=normalised.data.replace("\xf1", ""), text=text, scan=(normalised.scan,),
                                  width_modules=len(symbol.build()[0]), x_mm=geo.x_mm, warnings=tuple(geo.warnings()))


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
        if fmt == "png":
            image: Image.Image = _symbol(symbology, normalised, ImageWriter(), options).render(
                _writer_options(options, geo, raster=True))
            if rotation:
                image = image.rotate(-rotation, expand=True)
            out = io.BytesIO()
            image.save(out, format="PNG", dpi=(geo.dpi, geo.dpi))
            return Rendered(out.getvalue(), FORMATS["png"], info, raster=image)
        svg = bytes(_symbol(symbology, normalised, SVGWriter(), options).render(
            _writer_options(options, geo, raster=False)))
    except (ValueError, OSError) as exc:
        raise JobError(ErrorCode.RENDER_FAILED, f"could not draw {symbology}: {exc}") from exc
    svg = vector.rotate(vector.user_units_in_mm(svg), rotation)
    body = svg if fmt == "svg" else vector.to_pdf(svg) if fmt == "pdf" else vector.to_eps(svg)
    return Rendered(body, FORMATS[fmt], info)


def raster(symbology: str, data: str, options: dict[str, Any]) -> Image.Image:
    """A PNG-path image of the same symbol, for verifying vector output."""
    rendered = render(symbology, data, "png", {k: v for k, v in options.items() if k != "rotation"})
    return rendered.raster if rendered.raster is not None else Image.open(io.BytesIO(rendered.body))
