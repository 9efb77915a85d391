"""bwip-js's URL parameters (`/?bcid=code128&text=...&scale=3&includetext`), translated to ours,
so moving from bwip-js's online API is a change of host and path.

bwip-js draws at 72 dpi with one module per point at scale 1, so `scale` pixels per module is
a 25.4/72 mm module at 72 x scale dpi: the same pixels, and a PNG whose dpi says how large it
prints. `height` is the bar height in mm, `padding*` in points, colours six hex digits.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from services.contract import ErrorCode
from services.gateway.edge.errors import ApiError
from services.render.symbologies import CATALOGUE

POINT_MM = 25.4 / 72
# BWIPP's names for what we draw under another name (a name both use needs no entry), and the
# options a BWIPP name implies (its GS1 variants).
BCID: dict[str, tuple[str, dict[str, Any]]] = {
    "azteccode": ("aztec", {}),
    "azteccodecompact": ("aztec", {}),
    "aztecrune": ("aztec-rune", {}),
    "gs1-128": ("gs1_128", {}),
    "ean128": ("gs1_128", {}),
    "interleaved2of5": ("itf", {}),
    "code2of5": ("c25standard", {}),
    "industrial2of5": ("c25industrial", {}),
    "iata2of5": ("c25iata", {}),
    "datalogic2of5": ("c25logic", {}),
    "code39ext": ("code39ext", {}),
    "code32": ("code32", {}),
    "microqrcode": ("microqr", {}),
    "rectangularmicroqrcode": ("rmqr", {}),
    "gs1qrcode": ("qrcode", {"gs1": True}),
    "gs1datamatrix": ("datamatrix", {"gs1": True}),
    "gs1dotcode": ("dotcode", {"gs1": True}),
    "isbn": ("isbn13", {}),
    "ismn": ("isbn13", {}),
    "issn": ("issn", {}),
    "databaromni": ("databar", {}),
    "gs1databar": ("databar", {}),
    "databarstacked": ("databar-stacked", {}),
    "databarstackedomni": ("databar-stacked-omni", {}),
    "databarlimited": ("databar-limited", {}),
    "databarexpanded": ("databar-expanded", {}),
    "databarexpandedstacked": ("databar-expanded-stacked", {}),
    "pdf417compact": ("pdf417-compact", {}),
    "royalmail": ("rm4scc", {}),
    "onecode": ("usps-imb", {}),
    "auspost": ("auspost", {}),
    "japanpost": ("japanpost", {}),
    "hibccode128": ("hibc-128", {}),
    "hibccode39": ("hibc-39", {}),
    "hibcdatamatrix": ("hibc-datamatrix", {}),
    "hibcqrcode": ("hibc-qr", {}),
    "hibcpdf417": ("hibc-pdf417", {}),
    "hibcmicropdf417": ("hibc-micropdf417", {}),
    "hibcazteccode": ("hibc-aztec", {}),
    "hibccodablockf": ("hibc-codablockf", {}),
    "pharmacode2": ("pharmacode-2track", {}),
    "telepennumeric": ("telepen-numeric", {}),
    "mailmark": ("mailmark-4s", {}),
    "swissqrcode": ("qrcode", {}),
    "ean14": ("ean14", {}),
    "sscc18": ("sscc18", {}),
    "leitcode": ("dpleit", {}),
    "identcode": ("dpident", {}),
    "channelcode": ("channel", {}),
    "flattermarken": ("flattermarken", {}),
    "code11": ("code11", {}),
    "rationalizedCodabar".lower(): ("codabar", {}),
    "upnqr": ("upnqr", {}),
}
# bwip-js's rotate values -> our clockwise degrees.
ROTATE = {"N": 0, "R": 90, "I": 180, "L": 270}
# Parameters of bwip-js this translation takes; any other is refused by name.
TAKEN = {"bcid", "text", "scale", "scalex", "scaley", "height", "includetext", "rotate", "paddingwidth",
         "paddingheight", "padding", "backgroundcolor", "barcolor", "eclevel", "format", "company"}


def symbology_of(bcid: str) -> tuple[str, dict[str, Any]]:
    """Our name (and the options it implies) for a BWIPP name, or ours given as it is."""
    name = bcid.strip().lower()
    if name in BCID:
        return BCID[name]
    if name in CATALOGUE:
        return name, {}
    nearest = difflib.get_close_matches(name, [*BCID, *CATALOGUE], n=1, cutoff=0.6)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    raise ApiError(ErrorCode.UNKNOWN_SYMBOLOGY, f"unknown bcid {bcid[:64]!r}{hint} (GET /v1/symbologies lists ours; "
                                                f"docs/api.md maps BWIPP's)")


def _number(name: str, raw: str, zero: bool = False) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(ErrorCode.INVALID_OPTION, f"{name} must be a number, not {raw[:32]!r}") from None
    if not (0 <= value if zero else 0 < value) or not value < 1e6:  # NaN fails both
        raise ApiError(ErrorCode.INVALID_OPTION, f"{name} must be a {'non-negative' if zero else 'positive'} number")
    return value


def _colour(name: str, raw: str) -> str:
    digits = raw.removeprefix("#")
    if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ApiError(ErrorCode.INVALID_OPTION, f"{name} must be six hex digits (RRGGBB), not {raw[:32]!r}")
    return f"#{digits.lower()}"


def _flag(raw: str) -> bool:
    """bwip-js takes a flag by its presence (`&includetext`) or as true/false."""
    return raw.strip().lower() not in ("false", "0", "no", "off")


def body_of(query: Mapping[str, str]) -> dict[str, Any]:
    """A job's body from bwip-js parameters (names compared without case, as bwip-js does)."""
    params = {name.lower(): value for name, value in query.items()}
    refused = sorted(set(params) - TAKEN)
    if refused:
        raise ApiError(ErrorCode.INVALID_OPTION, f"bwip-js option {refused[0]!r} is not supported here; "
                                                 "docs/api.md lists the ones that are")
    symbology, options = symbology_of(params["bcid"])
    options = dict(options)
    if "text" not in params or not params["text"]:
        raise ApiError(ErrorCode.INVALID_REQUEST, "text is required (the data to encode)")
    scale_x = _number("scaleX", params.get("scalex", params.get("scale", "2")))
    scale_y = _number("scaleY", params.get("scaley", params.get("scale", str(scale_x))))
    if scale_x != scale_y:
        raise ApiError(ErrorCode.INVALID_OPTION, "scaleX and scaleY must be equal here (one module size); "
                                                 "set the bar height with height (mm)")
    if scale_x != int(scale_x):
        raise ApiError(ErrorCode.INVALID_OPTION, "scale must be a whole number of pixels per module")
    options["module_width"] = round(POINT_MM, 6)
    options["dpi"] = int(72 * scale_x)
    if "height" in params:
        options["module_height"] = _number("height", params["height"])
    if any("write_text" in CATALOGUE[symbology].options_for(engine) for engine in CATALOGUE[symbology].engines):
        # bwip-js prints no text unless asked; a 2D symbol has none to print either way.
        options["write_text"] = _flag(params["includetext"]) if "includetext" in params else False
    if "rotate" in params:
        rotate = params["rotate"].strip().upper()
        if rotate not in ROTATE:
            raise ApiError(ErrorCode.INVALID_OPTION, f"rotate must be one of N, R, L, I, not {params['rotate'][:8]!r}")
        options["rotation"] = ROTATE[rotate]
    paddings = {params[name] for name in ("padding", "paddingwidth", "paddingheight") if name in params}
    if len(paddings) > 1:
        raise ApiError(ErrorCode.INVALID_OPTION, "paddingwidth and paddingheight must be equal here (one quiet zone)")
    if paddings:
        options["quiet_zone"] = round(_number("padding", paddings.pop(), zero=True) * POINT_MM, 3)
    if "backgroundcolor" in params:
        options["background"] = _colour("backgroundcolor", params["backgroundcolor"])
    if "barcolor" in params:
        options["foreground"] = _colour("barcolor", params["barcolor"])
    if "eclevel" in params:
        options["ecc_level"] = params["eclevel"].strip().upper()
    body: dict[str, Any] = {"symbology": symbology, "data": params["text"], "options": options,
                            "format": params.get("format", "png")}
    if "company" in params:
        body["company"] = params["company"]
    return body
