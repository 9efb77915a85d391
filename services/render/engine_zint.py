"""libzint through zint-bindings: every symbology in render/zint_table.py.

zint validates data itself (check digits, character sets, GS1 AI syntax with dates and check
digits) and says what is wrong; its messages are kept, and mapped to our error codes.
"""
from __future__ import annotations

import io
import logging
import math
import re
from typing import Any

import zint
from PIL import Image

from services.contract import ErrorCode
from services.render import vector
from services.render.budget import raster_options
from services.render.errors import JobError
from services.render.formats import FORMATS
from services.render.geometry import MAX_DOTS_PER_MODULE, Geometry, geometry
from services.render.types import Rendered, SymbolInfo
from services.render.validate import check_digits, gs1_mod10, normalise
from services.render.zint_table import ZINT_TABLE

# zint-bindings logs libzint's warnings; they are returned in SymbolInfo.warnings instead.
logging.getLogger("zint").setLevel(logging.ERROR)

NAME = "zint"
VERSION = "zint-bindings-1.2.2"
_ENTRIES = {e.name: e for e in ZINT_TABLE}
# Symbologies whose data rules we check ourselves first, so both engines answer alike.
# (GS1 strings are left to zint, which knows every AI's format, date rules and check digits.)
_OUR_RULES = {"ean13", "ean8", "upca", "isbn13", "ean14", "itf", "code39", "codabar"}
_ECC = {"qrcode": {"L": 1, "M": 2, "Q": 3, "H": 4}, "microqr": {"L": 1, "M": 2, "Q": 3},
        "rmqr": {"M": 2, "H": 4}, "hanxin": {"L1": 1, "L2": 2, "L3": 3, "L4": 4},
        "aztec": {"10%": 1, "23%": 2, "36%": 3, "50%": 4}, "gridmatrix": {str(n): n for n in range(1, 6)}}
_ASCII_ONLY = {"microqr"}
_ALWAYS_GS1 = {"gs1_128", "databar-expanded", "databar-expanded-stacked"}


def _error(exc: Exception, symbology: str) -> JobError:
    message = re.sub(r"^(Error|Warning) \d+: ", "", str(exc))
    lower = message.lower()
    if "check digit" in lower or "check character" in lower or "checksum" in lower:
        code = ErrorCode.INVALID_CHECK_DIGIT
    elif "invalid character" in lower or "invalid characters" in lower or "non-numeric" in lower:
        code = ErrorCode.INVALID_CHARACTERS
    elif "too long" in lower or "length" in lower or "too short" in lower:
        code = ErrorCode.INVALID_LENGTH
    elif "option" in lower or "version" in lower or "size" in lower:
        code = ErrorCode.INVALID_OPTION
    else:
        code = ErrorCode.INVALID_DATA
    return JobError(code, f"{symbology}: {message}")


def _gs1(symbology: str, options: dict[str, Any]) -> bool:
    return symbology in _ALWAYS_GS1 or bool(options.get("gs1"))


# GTIN-based symbologies zint wants without the check digit; a given one is verified here.
_GTIN13 = {"itf14", "databar", "databar-limited", "databar-stacked", "databar-stacked-omni"}


def _zint_data(symbology: str, data: str, options: dict[str, Any]) -> tuple[str, str]:
    """The zint symbology member and the data to give it."""
    member = _ENTRIES[symbology].zint
    if symbology in _GTIN13 and len(data) == 14 and data.isdigit():
        data = check_digits(symbology, data, 13)[:13]
    addon = ""
    if symbology in ("ean13", "upca") and "+" in data:
        data, addon = data.split("+", 1)
        if not (addon.isdigit() and addon.isascii() and len(addon) in (2, 5)):
            raise JobError(ErrorCode.INVALID_DATA, f"{symbology} add-on must be 2 or 5 digits, got {addon!r}")
    if symbology == "telepen" and any("\x10" <= c <= "\x1f" for c in data):
        # Found by the property test: libzint draws them, but every one (DLE .. US) reads back as
        # digits in zxing-cpp (DLE is Telepen's switch to numeric pairs), so none would verify.
        raise JobError(ErrorCode.INVALID_CHARACTERS, "telepen: control characters 0x10-0x1F (DLE to US) cannot be "
                                                     "read back as themselves; 0x00-0x0F and 0x20-0x7F can")
    if symbology in _OUR_RULES:
        data = normalise(symbology, data, options).data.replace("\xf1", "")
        if symbology == "ean14":
            data = data[2:-1]  # zint takes the 13 digits and adds (01) and the check digit
        if symbology in ("ean13", "ean8", "upca"):
            member = {"upca": "UPCA_CHK"}.get(symbology, "EANX_CHK")
    return member, data + (f"+{addon}" if addon else "")


def _symbol(symbology: str, data: str, options: dict[str, Any], geo: Geometry) -> tuple[zint.Symbol, str]:
    """The encoded symbol, and the data as given to zint (check digits added, add-on kept)."""
    symbol = zint.Symbol()
    member, payload = _zint_data(symbology, data, options)
    symbol.symbology = zint.Symbology.__members__[member]
    if _gs1(symbology, options):
        symbol.input_mode = zint.InputMode.GS1 | zint.InputMode.GS1PARENS
        # zint reports a bad GS1 check digit or date as a warning; for us it is an error.
        symbol.warn_level = zint.WarningLevel.FAIL_ALL
    else:
        # zint-bindings passes UTF-8. In zint's default (DATA) mode a linear symbology encodes
        # those bytes as they are: "é" became "Ã©" in a Code 128 that decoded back as printed.
        # UNICODE mode converts to the symbology's character set and refuses what it lacks.
        symbol.input_mode = zint.InputMode.UNICODE
        if symbology in _ASCII_ONLY and not payload.isascii():
            # No ECI to declare a character set: byte-mode text is read as whatever the
            # reader guesses (zxing-cpp read Shift-JIS bytes as Latin-1).
            raise JobError(ErrorCode.INVALID_CHARACTERS, f"{symbology} data must be ASCII: it cannot declare a "
                                                         "character set, so readers would guess")
        if (_ENTRIES[symbology].family in ("2d", "stacked") and not payload.isascii()
                and zint.CapabilityFlags.ECI in zint.Symbol.capabilities(symbol.symbology)):
            # Without an ECI, bytes above 0x7F are ISO-8859-1 by the standard but readers guess
            # (zxing-cpp read "¡" as Shift-JIS "｡"): declare UTF-8 so every reader agrees.
            symbol.eci = 26
    flags = zint.OutputOptions.BARCODE_MEMORY_FILE
    quiet = options.get("quiet_zone")
    if quiet is None:
        flags |= zint.OutputOptions.BARCODE_QUIET_ZONES
    else:
        flags |= zint.OutputOptions.BARCODE_NO_QUIET_ZONES
        symbol.whitespace_width = round(float(quiet) / geo.x_mm)
        symbol.whitespace_height = round(float(quiet) / geo.x_mm) if symbology not in ("code128",) else 0
    if options.get("small_text"):
        flags |= zint.OutputOptions.SMALL_TEXT
    symbol.output_options = flags
    if "module_height" in options:
        symbol.height = float(options["module_height"]) / geo.x_mm
    symbol.show_text = bool(options.get("write_text", True))
    if "foreground" in options:
        symbol.fgcolour = str(options["foreground"]).lstrip("#")
    if "background" in options:
        symbol.bgcolour = str(options["background"]).lstrip("#")
    if "ecc_level" in options:
        level = options["ecc_level"]
        symbol.option_1 = _ECC[symbology][level] if symbology in _ECC else int(level)
    if "version" in options:
        symbol.option_2 = int(options["version"])
    # zint draws 2 pixels per module at scale 1; raster scale may be a multiple of 0.5.
    if geo.dots_per_module > MAX_DOTS_PER_MODULE:  # options.py refuses it first; kept for direct callers
        raise JobError(ErrorCode.INVALID_OPTION, f"module_width {geo.requested_x_mm:g} mm at {geo.dpi} dpi is "
                                                 f"{geo.dots_per_module} dots per module; at most {MAX_DOTS_PER_MODULE}")
    _layout_rules(symbology, geo, quiet)
    symbol.scale = geo.dots_per_module / 2
    symbol.dpmm = geo.dpi / 25.4
    try:
        symbol.encode(payload)
    except RuntimeError as exc:
        raise _error(exc, symbology) from None
    except UnicodeDecodeError:
        # zint-bindings could not decode libzint's answer (it echoed non-UTF-8 bytes of the input).
        raise JobError(ErrorCode.INVALID_CHARACTERS, f"{symbology}: data has characters it cannot encode") from None
    return symbol, payload


def _layout_rules(symbology: str, geo: Geometry, quiet: Any) -> None:
    """Layouts libzint draws but no reader reads (found by the catalogue property test)."""
    if symbology == "itf14" and quiet is not None and float(quiet) / geo.x_mm < 10:
        # Its bearer bars would touch the bars: the first and last bar merge into the frame.
        raise JobError(ErrorCode.INVALID_OPTION, f"itf14 needs a quiet zone of at least 10 modules "
                                                 f"({10 * geo.x_mm:.2f} mm) inside its bearer bars")
    if symbology == "maxicode" and geo.dots_per_module < 2:
        # One-dot hexagons do not survive rotation at all, nor most printers.
        raise JobError(ErrorCode.INVALID_OPTION, f"maxicode needs at least 2 printer dots per module; module_width "
                                                 f"{geo.requested_x_mm:g} mm at {geo.dpi} dpi is 1")


_CODE39 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"  # HIBC check: mod 43 over these values


def _code39_full_ascii(data: str) -> str | None:
    """The Code 39 characters a Full ASCII symbol carries (ISO/IEC 16388 annex): what a plain
    Code 39 reading returns. zxing-cpp's extended reading misses some (%F..%J), so this is also
    accepted as proof; None for data beyond ASCII."""
    out = []
    for c in data:
        n = ord(c)
        if n > 127:
            return None
        if c.isdigit() or "A" <= c <= "Z" or c in " -.":
            out.append(c)
        elif n == 0:
            out.append("%U")
        elif n <= 26:
            out.append("$" + chr(64 + n))
        elif n <= 31:
            out.append("%" + chr(65 + n - 27))
        elif 33 <= n <= 44 or c == "/":
            out.append("/" + chr(65 + n - 33))
        elif c == ":":
            out.append("/Z")
        elif 59 <= n <= 63:
            out.append("%" + chr(70 + n - 59))
        elif c == "@":
            out.append("%V")
        elif 91 <= n <= 95:
            out.append("%" + chr(75 + n - 91))
        elif c == "`":
            out.append("%W")
        elif "a" <= c <= "z":
            out.append("+" + c.upper())
        else:  # { | } ~ DEL
            out.append("%" + chr(80 + n - 123))
    return "".join(out)


def _upce_to_ean13(upce: str) -> str:
    """The EAN-13 a scanner reports for an 8-digit UPC-E (number system, 6 digits, check)."""
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return "0" + ns + body + check


def _scan_texts(symbology: str, data: str, text: str, options: dict[str, Any]) -> tuple[str, ...]:
    """What a correct decode may return: zxing-cpp reports some symbologies differently from
    their printed text (UPC as EAN-13, GS1 with parentheses, PZN without its prefix ...)."""
    stripped = text.replace("*", "").replace(" ", "")
    texts = {data, text, stripped, re.sub(r"\D", "", text)}
    if _gs1(symbology, options):
        texts.add(data.replace("[", "(").replace("]", ")"))
    if symbology.startswith("databar") and data.isdigit() and len(data) <= 14:
        # zint pads a short GTIN with leading zeros: "12" is (01)00000000000123.
        gtin = data if len(data) == 14 else data.zfill(13) + str(gs1_mod10(data.zfill(13)))
        texts.add(f"(01){gtin}")
    if symbology == "upca":
        texts.add("0" + re.sub(r"\D", "", text))
    if symbology == "upce" and len(re.sub(r"\D", "", text)) >= 8:
        texts.add(_upce_to_ean13(re.sub(r"\D", "", text)[:8]))
    if symbology.startswith("hibc"):
        body = "+" + data.upper()
        texts.add(body + _CODE39[sum(_CODE39.index(c) for c in body) % 43])
    if symbology == "aztec-rune" and data.isdigit():
        texts.add(f"{int(data):03d}")  # a rune reads back as three digits
    if symbology == "code39ext":
        texts.add(_code39_full_ascii(data) or data)
    if symbology == "dx-film-edge":
        # A DX number given whole (e.g. 20) reads back as its two parts, 20 // 16 - 20 % 16: "1-4".
        # Parts read back without leading zeros ("01-0": "1-0").
        number, slash, frame = data.partition("/")
        part1, dash, part2 = number.partition("-")
        if number.isdigit():
            texts.add(f"{int(number) // 16}-{int(number) % 16}{slash}{frame}")
        elif dash and part1.isdigit() and part2.isdigit():
            texts.add(f"{int(part1)}-{int(part2)}{slash}{frame}")
    if symbology == "pzn8":
        texts.add("-" + re.sub(r"\D", "", text))
    return tuple(sorted(t for t in texts if t))


def check(symbology: str, data: str, options: dict[str, Any]) -> SymbolInfo:
    geo = geometry(options)
    symbol, payload = _symbol(symbology, data, options, geo)
    return _info(symbology, payload, options, symbol, geo)


def _outline(symbol: zint.Symbol) -> tuple[float, float]:
    """The width and height of the symbol's vector outline, drawn with every module blank.

    The outline's size comes from the symbol's dimensions, quiet zones, text and borders, never
    from which modules are dark; but libzint merges the rectangles of the dark ones pairwise,
    which costs 158 ms for a Han Xin version 84 (50 ms for a 7,089-digit QR) against 0.1 ms
    blank. The modules are put back afterwards: the symbol draws exactly as before (the same
    size and PNG bytes over the catalogue: tests/render/test_engine_zint.py)."""
    modules = symbol.encoded_data.cast("B")
    saved = bytes(modules)
    modules[:] = bytes(len(saved))
    try:
        symbol.buffer_vector()
        return symbol.vector.width, symbol.vector.height
    finally:
        modules[:] = saved


def _bitmap_size(symbology: str, symbol: zint.Symbol, rotation: int) -> tuple[int, int]:
    """The PNG's size in pixels, from the symbol's vector outline: libzint lays out quiet zones,
    text and borders in it at the raster's scale, but allocates no pixels. Measured over the
    catalogue it is the raster's size to a pixel, except MaxiCode (its raster draws hexagons at
    about 5x the vector scale) and DotCode below scale 1 (rasterised at scale 1). Rounded up,
    plus 2: never below the real size."""
    width, height = _outline(symbol)
    factor = 1.0
    if symbology == "maxicode":
        factor = 5.25
    elif symbology == "dotcode" and symbol.scale < 1:
        factor = 1 / symbol.scale
    width_px, height_px = math.ceil(width * factor) + 2, math.ceil(height * factor) + 2
    return (height_px, width_px) if rotation % 180 else (width_px, height_px)


def _info(symbology: str, payload: str, options: dict[str, Any], symbol: zint.Symbol, geo: Geometry) -> SymbolInfo:
    warnings = list(geo.warnings())
    if symbol.errtxt:
        warnings.append(re.sub(r"^Warning \d+: ", "", symbol.errtxt))
    # The version libzint chose, from the symbol's size (QR: 17 + 4v modules; Micro QR: 9 + 2v;
    # Han Xin: 21 + 2v). Other 2D symbols report their size as rows x width_modules.
    version = {"qrcode": (symbol.width - 17) // 4, "microqr": (symbol.width - 9) // 2,
               "hanxin": (symbol.width - 21) // 2}.get(symbology)
    width_px, height_px = _bitmap_size(symbology, symbol, int(options.get("rotation", 0)))
    return SymbolInfo(data=payload, text=symbol.text, scan=_scan_texts(symbology, payload, symbol.text, options),
                      width_modules=symbol.width, rows=symbol.rows, version=version, x_mm=geo.x_mm,
                      warnings=tuple(warnings), width_px=width_px, height_px=height_px)


def _memfile(symbol: zint.Symbol, ext: str, rotation: int) -> bytes:
    symbol.outfile = f"out.{ext}"
    try:
        symbol.print(rotation)
    except RuntimeError as exc:
        raise JobError(ErrorCode.RENDER_FAILED, f"zint could not write {ext}: {exc}") from None
    return bytes(symbol.memfile)


def render(symbology: str, data: str, fmt: str, options: dict[str, Any]) -> Rendered:
    geo = geometry(options)
    symbol, payload = _symbol(symbology, data, options, geo)
    info = _info(symbology, payload, options, symbol, geo)
    rotation = int(options.get("rotation", 0))
    if FORMATS[fmt].drawn_as == "raster":
        # No raster kept: verification decodes these exact PNG bytes (cheaper than a second bitmap).
        return Rendered(_memfile(symbol, fmt, rotation), FORMATS[fmt].content_type, info)
    # zint's SVG is in pixels at its scale (2 * scale per module): size it in millimetres.
    svg = vector.physical(_memfile(symbol, "svg", rotation), geo.x_mm / (2 * symbol.scale))
    return Rendered(vector.WRITERS[fmt](svg), FORMATS[fmt].content_type, info)


def raster(symbology: str, data: str, options: dict[str, Any]) -> Image.Image:
    """A bitmap of the same symbol at a decoder-friendly scale, for verifying vector output
    (its size is budgeted by api.check with the same raster_options)."""
    options = raster_options(options)
    return Image.open(io.BytesIO(_memfile(_symbol(symbology, data, options, geometry(options))[0], "png", 0)))
