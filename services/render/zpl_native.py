"""ZPL II native mode: the printer's own barcode command instead of a drawn graphic (zpl.py).

The printer builds the symbol from `^FD` at its own density: a label of a few hundred bytes
instead of a bitmap. Each label stands alone: `^PW`/`^LL` from module counts (quiet zones and
interpretation line included), `^LH0,0`, the field at `^FO` past the quiet zone, and `^BY` set
every time (a printer keeps the last one between labels).

How data reaches each command, and why:

- `^FH_` hex escapes (`_5E`) for `^` and `~` (ZPL's command prefixes: they would end `^FD`), for
  control and non-ASCII bytes (zebrash drops tabs and line feeds anywhere in a label), and for
  `_` itself once `^FH` is on. Labels are plain ASCII.
- Code 128 `^BC`: ASCII data in mode A (automatic; Zebra: "the full ASCII character set can be
  used", the printer picks the code sets). GS1-128 in mode D, the bracketed element strings as
  they are with `>8` (FNC1) after each variable-length one but the last: Zebra's own example
  writes it so, and mode D adds only the leading FNC1. Latin-1 data (FNC4, which mode A does not
  promise) in mode N with our own code sets: `>:`/`>;`/`>9` start, `>5`/`>6`/`>7` switch, `>0` a
  literal `>`, subset A as digit pairs of the code value (control characters).
- Code 39: the check character is computed here and sent as data (zebrash ignores `^B3`'s).
  EAN/UPC take the digits without the check digit (the printer adds it); `^B9` (UPC-E) takes the
  UPC-A's 10 manufacturer and product digits, number system 0 only. Add-ons (`^BS`) are not written.
- 2D: `^BQ`, `^BX`, `^B7`, `^BO`, `^BD` have no way to declare a character set (ECI), so
  non-ASCII data would be read as whatever a reader guesses: refused (graphic mode declares
  UTF-8), and no label needs `^CI28`.
- QR `^BQN,2,<dots>` with `<ecc>A,` (automatic input), M unless asked. Data Matrix ECC 200,
  square, with an escape character the data does not contain (no data character then starts an
  escape sequence); GS1 starts `<esc>1`. PDF417 with libzint's column count (the graphic's shape),
  rows 3 modules high, the security level asked or ISO/IEC 15438's recommended minimum. Aztec
  with `^BO`'s one size-or-ECC parameter: the layers for `version`, else the ECC percent (23,
  libzint's default). MaxiCode mode 4, the data as it is.

Whether zebrash (zpl_render.py) draws a command so that zxing-cpp reads it back was measured
(tests/services/render/test_zpl_native.py); `Native.why` and `unverifiable()` say why not.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from services.contract import ErrorCode
from services.render.errors import JobError
from services.render.geometry import geometry
from services.render.types import SymbolInfo

_RENDERER = "zebrash 1.38.0 (zpl-renderer-js 3.4.0)"


@dataclass(frozen=True)
class Native:
    """A symbology's native ZPL command, and whether zebrash can check its labels."""

    command: str
    renders_back: bool  # zebrash draws it and zxing-cpp decodes it: native labels are verified
    why: str | None = None  # why not, when renders_back is False
    quiet: tuple[int, int] = (10, 10)  # standard quiet zone in modules: left, right (2D: every side)
    hri: bool = True  # the command prints an interpretation line
    rotates: bool = True  # the command takes a field orientation
    max_magnification: int | None = 10  # most dots per module a printer takes; None: no such limit


def _not_drawn(command: str) -> str:
    return f"{_RENDERER} does not draw {command}: the field comes out as plain text"


_BC, _BE = Native("^BC", True), Native("^BE", True, quiet=(11, 7))
NATIVE: dict[str, Native] = {
    "code128": _BC,
    "gs1_128": _BC,
    "ean14": _BC,
    "sscc18": _BC,
    "code39": Native("^B3", True),
    "code93": Native("^BA", False, _not_drawn("^BA")),
    "ean13": _BE,
    "isbn13": _BE,
    "isbn10": _BE,
    "issn": _BE,
    "jan": _BE,
    "ean8": Native("^B8", False, _not_drawn("^B8"), quiet=(7, 7)),
    "upca": Native("^BU", False, _not_drawn("^BU"), quiet=(9, 9)),
    "upce": Native("^B9", False, _not_drawn("^B9"), quiet=(9, 7)),
    "itf": Native("^B2", True),
    "codabar": Native("^BK", False, _not_drawn("^BK")),
    "databar": Native("^BR", False, _not_drawn("^BR"), quiet=(1, 1), hri=False),
    "qrcode": Native("^BQ", True, quiet=(4, 4), hri=False, rotates=False),
    "datamatrix": Native("^BX", True, quiet=(1, 1), hri=False, max_magnification=None),
    "pdf417": Native("^B7", True, quiet=(2, 2), hri=False),
    "aztec": Native("^BO", True, quiet=(1, 1), hri=False),
    "maxicode": Native("^BD", False, f"{_RENDERER} draws ^BD only for UPS's structured carrier message laid out "
                                     "the ZPL way (class of service, country, postal code, then \"[)>\"); other data "
                                     "fails (\"invalid length of maxicode data\")",
                       quiet=(1, 1), hri=False, rotates=False, max_magnification=None),
}
_GS1_128 = {"gs1_128", "ean14", "sscc18"}
_EAN13 = {"ean13", "isbn13", "isbn10", "issn", "jan"}

_ORIENTATION = {0: "N", 90: "R", 180: "I", 270: "B"}
_DEFAULT_BAR_MM = 15.0  # python-barcode's default bar height (the default engine of most of these)
_RATIO = 3  # wide:narrow of Code 39, ITF, Codabar: ZPL's default, the easiest to read
_QR_SHIFT = 10  # ^BQ draws the symbol this far below ^FO: the ^BY height (zebrash, as Labelary)
_MAXICODE_MM = (28.14, 26.91)  # ISO/IEC 16023's one size; ^BD ignores ^BY
_NO_NATIVE = "zpl_mode"  # unsupported_options' answer for a symbology without a native command


# --- field data ---------------------------------------------------------------------------------

_FH = "_"  # the ^FH escape character (ZPL's default)


def _needs_hex(code: int) -> bool:
    return code in (0x5E, 0x7E) or code < 0x20 or code >= 0x7F  # ^ ~ control, non-ASCII


def hex_escaped(text: str) -> tuple[str, bool]:
    """`text` (Latin-1) as ^FD content, and whether it needs `^FH`: `^`, `~`, control and
    non-ASCII bytes become `_XX`, and so does `_` once `^FH` is on."""
    data = text.encode("latin-1")
    if not any(_needs_hex(b) for b in data):
        return text, False
    return "".join(f"{_FH}{b:02X}" if _needs_hex(b) or b == ord(_FH) else chr(b) for b in data), True


def _ascii_only(name: str, data: str) -> None:
    if not data.isascii():
        raise JobError(ErrorCode.INVALID_CHARACTERS,
                       f"{name} in zpl_mode native takes ASCII only: {NATIVE[name].command} cannot declare a "
                       "character set, so readers would guess; use zpl_mode graphic")


# --- GS1 element strings ------------------------------------------------------------------------

# AIs whose length their first two digits fix (GS1 General Specifications, "predefined length"):
# no FNC1 after them. Any other element string is followed by FNC1 unless it is the last.
_PREDEFINED = {"00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
               "31", "32", "33", "34", "35", "36", "41"}
_ELEMENT = re.compile(r"\((\d{2,4})\)([^()]*)")
_FNC1 = None  # a Code 128 token: the function character, not data


def gs1_elements(info: SymbolInfo) -> list[tuple[str, str]]:
    """(AI, value) pairs, from the bracketed form the engines report (in text or scan)."""
    for candidate in (info.text, *info.scan, info.data):
        text = candidate.replace("[", "(").replace("]", ")")
        elements = _ELEMENT.findall(text)
        if elements and "".join(f"({ai}){value}" for ai, value in elements) == text:
            return elements
    raise JobError(ErrorCode.INVALID_DATA, f"no GS1 element string in {info.data!r}")


def _separated(elements: list[tuple[str, str]]) -> list[bool]:
    """Whether FNC1 follows each element string."""
    return [n < len(elements) - 1 and ai[:2] not in _PREDEFINED for n, (ai, _) in enumerate(elements)]


def gs1_tokens(elements: list[tuple[str, str]]) -> list[str | None]:
    """FNC1, then the element strings with their FNC1 separators."""
    tokens: list[str | None] = [_FNC1]
    for (ai, value), separated in zip(elements, _separated(elements)):
        tokens.extend(ai + value)
        if separated:
            tokens.append(_FNC1)
    return tokens


# --- Code 128 -----------------------------------------------------------------------------------

_A, _B, _C = "A", "B", "C"
_START = {_A: ">9", _B: ">:", _C: ">;"}
_SWITCH = {_A: ">7", _B: ">6", _C: ">5"}
_FNC4 = {_A: ">7", _B: ">6"}  # the invocations that switch set elsewhere (Zebra's table)
# Codewords allowed beyond our own plan when the printer packs the data (modes A and D): where it
# changes set may differ from ours by a set change or an odd digit.
_C128_SLACK = 2
_ZEBRASH_C128_MAX = 80  # zebrash refuses longer data in modes A and D; printers do not


@dataclass(frozen=True)
class Code128Plan:
    """Mode N field data with our own code sets (the size estimate in every mode)."""

    field: str  # ^FD content, escaped
    hex: bool  # needs ^FH
    codewords: int  # start and data codewords: without check character and stop
    lone_tail: bool  # the last character is a single B one after an invocation: zebrash drops it
    to_c: bool  # changes to code set C after the start: zebrash writes another codeword instead


def _digit_run(tokens: list[str | None], i: int) -> tuple[int, bool]:
    """Consecutive digits from i, and whether they reach the end."""
    n = i
    while n < len(tokens) and tokens[n] is not None and "0" <= str(tokens[n]) <= "9":
        n += 1
    return n - i, n == len(tokens)


def _set_for(code: int, current: str | None) -> str:
    if code < 32:
        return _A
    if code >= 96:
        return _B
    return current if current in (_A, _B) else _B


def _literal(code: int, in_set: str) -> str:
    if in_set == _A:
        return f"{code + 64 if code < 32 else code - 32:02d}"  # Zebra: subset A is programmed as digit pairs
    if code == ord(">"):
        return ">0"  # a bare ">" starts an invocation
    if code == 0x7F:
        return ">1"
    return chr(code)


def code128_plan(tokens: list[str | None]) -> Code128Plan:
    """Mode N data for characters (None: FNC1). Digits go in C in runs of 4 or more (6 in the
    middle, where the way back costs a codeword), an odd one first in A or B; control characters
    in A; everything else in B; Latin-1 as FNC4 and the character less 128 (ISO/IEC 15417)."""
    parts: list[tuple[str, str]] = []  # (kind, text), kind "start", "switch", "fnc" or "data": a codeword each
    current: str | None = None

    def go(target: str) -> str:
        nonlocal current
        if current != target:
            parts.append(("start", _START[target]) if current is None else ("switch", _SWITCH[target]))
            current = target
        return target

    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token is None:
            if current is None:
                go(_C if _digit_run(tokens, i + 1)[0] >= 2 else _B)
            parts.append(("fnc", ">8"))
            i += 1
            continue
        run, to_end = _digit_run(tokens, i)
        if current != _C and run >= 4 and (current is None or run >= 6 or to_end):
            if run % 2:
                parts.append(("data", _literal(ord(token), go(_set_for(ord(token), current)))))
                i += 1
            go(_C)
        if current == _C and _digit_run(tokens, i)[0] >= 2:
            parts.append(("data", f"{tokens[i]}{tokens[i + 1]}"))
            i += 2
            continue
        code = ord(token)
        if code >= 128:
            parts.append(("fnc", _FNC4[go(_set_for(code - 128, current))]))
            code -= 128
        parts.append(("data", _literal(code, go(_set_for(code, current)))))
        i += 1
    parts = _keep_tail(parts)
    field, hexed = hex_escaped("".join(text for _, text in parts))
    return Code128Plan(field, hexed, len(parts), _lone_tail(parts), ("switch", _SWITCH[_C]) in parts)


def _lone_tail(parts: list[tuple[str, str]]) -> bool:
    """zebrash reads mode N data in pairs after an invocation and drops a single B character left
    at the end ("AB>0C" draws "AB>"); a printer does not."""
    def single(part: tuple[str, str]) -> bool:
        return part[0] == "data" and len(part[1]) == 1

    return len(parts) >= 2 and single(parts[-1]) and not single(parts[-2])


def _keep_tail(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Where it costs nothing, a last lone character goes in A (a digit pair, which zebrash
    reads): alone in the data (start A for start B), or after C (code A for code B)."""
    if not _lone_tail(parts) or ord(parts[-1][1]) >= 96:
        return parts
    code = ord(parts[-1][1])
    before = [text for kind, text in parts[:-2] if kind in ("start", "switch")]
    if parts[-2] == ("start", _START[_B]) or parts[-2] == ("switch", _SWITCH[_B]) and before[-1:] in (
            [_START[_C]], [_SWITCH[_C]]):
        kind = parts[-2][0]
        return [*parts[:-2], (kind, _START[_A] if kind == "start" else _SWITCH[_A]), ("data", _literal(code, _A))]
    return parts


@dataclass(frozen=True)
class _Bc:
    mode: str  # ^BC's mode: A automatic, D GS1 (UCC/EAN), N ours
    field: str
    hex: bool
    codewords: int  # our own plan's, for the size
    why: str | None  # why zebrash's drawing is no check of it


def code128(name: str, info: SymbolInfo) -> _Bc:
    """^BC's mode and field data for Code 128 or GS1-128 (see the module docstring). GS1 values
    with "(", ")" or ">" (mode D strips the first two and reads the last as an invocation) and
    Latin-1 data go in mode N."""
    data = info.data
    if any(ord(c) > 255 for c in data):
        raise JobError(ErrorCode.INVALID_CHARACTERS, f"{name} takes Latin-1 characters only")
    if name in _GS1_128:
        elements = gs1_elements(info)
        tokens = gs1_tokens(elements)
        plan = code128_plan(tokens)
        if not any(c in value for _, value in elements for c in "()> "):
            written = "".join(f"({ai}){value}" + (">8" if separated else "")
                              for (ai, value), separated in zip(elements, _separated(elements)))
            field, hexed = hex_escaped(written)
            return _Bc("D", field, hexed, plan.codewords, _too_long(len(tokens)))
    else:
        plan = code128_plan(list(data))
        if data.isascii():
            field, hexed = hex_escaped(data)
            return _Bc("A", field, hexed, plan.codewords, _too_long(len(data)))
    why = None
    if plan.lone_tail:
        why = f"{_RENDERER} drops a last single character after an invocation in ^BC mode N (\">:a>0b\" draws \"a>\")"
    elif plan.to_c:
        why = f"{_RENDERER} does not change ^BC mode N data to code set C (>5): it writes another codeword"
    return _Bc("N", plan.field, plan.hex, plan.codewords, why)


def _too_long(characters: int) -> str | None:
    if characters > _ZEBRASH_C128_MAX:
        return f"{_RENDERER} refuses ^BC data of more than {_ZEBRASH_C128_MAX} characters in modes A and D"
    return None


# --- other data ---------------------------------------------------------------------------------

_CODE39 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"


def code39_check(data: str) -> str:
    return _CODE39[sum(_CODE39.index(c) for c in data) % 43]


def _full_ascii(c: str) -> str:
    """Code 39/93 full ASCII: a character as itself, or a shift ($ % / +) and a letter."""
    n = ord(c)
    if "A" <= c <= "Z" or "0" <= c <= "9" or c in " -.":
        return c
    if n == 0:
        return "%U"
    if n <= 26:
        return "$" + chr(64 + n)
    if n <= 31:
        return "%" + chr(65 + n - 27)
    if 33 <= n <= 44 or c == "/":
        return "/" + chr(65 + n - 33)
    if c == ":":
        return "/Z"
    if 59 <= n <= 63:
        return "%" + chr(70 + n - 59)
    if c == "@":
        return "%V"
    if 91 <= n <= 95:
        return "%" + chr(75 + n - 91)
    if c == "`":
        return "%W"
    if 97 <= n <= 122:
        return "+" + chr(n - 32)
    return "%" + chr(80 + n - 123)  # { | } ~ DEL


# ^BA writes Code 93's four shift characters as & ' ( ) (Zebra's substitutes for Ctrl $ % / +):
# its $ % / + are Code 93's own characters.
_CODE93_SHIFT = {"$": "&", "%": "'", "/": "(", "+": ")"}


def code93_field(data: str) -> str:
    out: list[str] = []
    for c in data:
        pair = c if c in "$%/+" else _full_ascii(c)
        out.append(_CODE93_SHIFT[pair[0]] + pair[1] if len(pair) == 2 else pair)
    return "".join(out)


def upce_manufacturer_product(upce6: str) -> str:
    """The UPC-A's 10 manufacturer and product digits (what ^B9 takes) of a UPC-E's 6."""
    d, last = upce6, upce6[5]
    if last in "012":
        return d[0:2] + last + "0000" + d[2:5]
    if last == "3":
        return d[0:3] + "00000" + d[3:5]
    if last == "4":
        return d[0:4] + "00000" + d[4]
    return d[0:5] + "0000" + last


# Candidates for ^BX's escape character: not ^ ~ (command prefixes), "," (the parameter
# separator) or "_" (^FH's), and not in the data.
_DM_ESCAPES = "`|#@!$%&*+=?;:<>{}[]\\/'\"" + "".join(chr(c) for c in range(33, 127) if chr(c) not in "^~,_")


def _dm_escape(data: str) -> str | None:
    return next((c for c in _DM_ESCAPES if c not in data), None)


# --- sizes --------------------------------------------------------------------------------------

# Data Matrix ECC 200 squares: (side in modules, data codewords).
_DM_SQUARES = ((10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36), (26, 44), (32, 62),
               (36, 86), (40, 114), (44, 144), (48, 174), (52, 204), (64, 280), (72, 368), (80, 456), (88, 576),
               (96, 696), (104, 816), (120, 1050), (132, 1304), (144, 1558))


def datamatrix_side(codewords: int, version: int | None = None) -> int:
    """The smallest square for this many data codewords, or version 1-24's."""
    if version is not None:
        return _DM_SQUARES[version - 1][0]
    for side, capacity in _DM_SQUARES:
        if capacity >= codewords:
            return side
    raise JobError(ErrorCode.INVALID_LENGTH, "the data does not fit a Data Matrix square")


def _aztec_full_side(layers: int) -> int:
    base = 14 + 4 * layers
    return base + 1 + 2 * ((base // 2 - 1) // 15)  # with the reference grid's lines


def aztec_side(data_bytes: int, ecc_percent: int, version: int | None = None) -> int:
    """An upper bound on the Aztec symbol a printer builds: all data in one binary shift (no
    encoder does worse), bit stuffing at its worst, ECC as a share of the whole symbol."""
    if version is not None:
        return 11 + 4 * version if version <= 4 else _aztec_full_side(version - 4)
    bits = 8 * data_bytes + 31
    for compact, layers in [(True, n) for n in range(1, 5)] + [(False, n) for n in range(1, 33)]:
        word = 6 if layers <= 2 else 8 if layers <= 8 else 10 if layers <= 22 else 12
        capacity = ((88 if compact else 112) + 16 * layers) * layers // word
        data_words = math.ceil((bits + math.ceil(bits / (word - 1))) / word)
        if compact and data_words > 64:
            continue
        if data_words / (1 - ecc_percent / 100) + 3 <= capacity:
            return 11 + 4 * layers if compact else _aztec_full_side(layers)
    raise JobError(ErrorCode.INVALID_LENGTH, "the data does not fit an Aztec symbol")


def qr_side(data_bytes: int, ecc: str) -> int:
    """An upper bound on the QR a printer builds: the size libzint picks for as many bytes in
    byte mode (the widest mode; automatic input uses it or a denser one)."""
    from services.render import engine_zint  # libzint as a capacity table, only here

    return engine_zint.check("qrcode", "a" * max(1, data_bytes), {"ecc_level": ecc}).width_modules or 177


def pdf417_security(codewords: int) -> int:
    """ISO/IEC 15438's recommended minimum error correction level for this many data codewords."""
    return 2 if codewords <= 40 else 3 if codewords <= 160 else 4 if codewords <= 320 else 5


# --- layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    commands: str  # ^BY and the barcode command
    data: str  # ^FD content
    hex: bool  # needs ^FH
    width: int  # the symbol in dots, unrotated: what the printer turns about ^FO
    height: int
    content: tuple[int, int, int, int]  # everything drawn (text too), from the symbol's corner: x0, y0, x1, y1
    quiet: tuple[int, int, int, int]  # left, top, right, bottom, in dots


def _rotate(box: tuple[int, int, int, int], rotation: int, width: int, height: int) -> tuple[int, int, int, int]:
    """A box in the field's own axes, in the label's relative to ^FO: the turned symbol's corner
    is at ^FO, and what hangs off it (the interpretation line) turns with it."""
    x0, y0, x1, y1 = box
    corners = [(x0, y0), (x1, y1)]
    if rotation == 90:
        corners = [(height - y, x) for x, y in corners]
    elif rotation == 180:
        corners = [(width - x, height - y) for x, y in corners]
    elif rotation == 270:
        corners = [(y, width - x) for x, y in corners]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _label(field: _Field, rotation: int) -> tuple[bytes, int, int]:
    content = _rotate(field.content, rotation, field.width, field.height)
    left, top, right, bottom = field.quiet
    quiet = _rotate((-left, -top, field.width + right, field.height + bottom), rotation, field.width, field.height)
    # Whether a printer starts what hangs left of or above the symbol (a turned interpretation
    # line, EAN's first digit) at ^FO or before it, Zebra does not say (zebrash: before): the
    # label has room for both.
    shift_x, shift_y = max(0, -content[0]), max(0, -content[1])
    x0, y0 = min(content[0], quiet[0]), min(content[1], quiet[1])
    width = max(content[2], quiet[2]) + shift_x - x0
    height = max(content[3], quiet[3]) + shift_y - y0
    fh = f"^FH{_FH}" if field.hex else ""
    zpl = f"^XA^PW{width}^LL{height}^LH0,0^FO{-x0},{-y0}{field.commands}{fh}^FD{field.data}^FS^XZ\n"
    return zpl.encode("ascii"), width, height


def _dots(mm: float, dpmm: int) -> int:
    return max(0, round(mm * dpmm))


def _linear(name: str, options: dict[str, Any], dpmm: int, module: int, modules: int, command: str, data: str,
            hexed: bool, text: str, outside: tuple[int, int] = (0, 0), guard: int = 0,
            min_height: int = 0) -> _Field:
    """Bars `modules` modules wide; `command` with {o}, {h}, {f}: orientation, bar height,
    interpretation line. `outside`: modules of digits EAN/UPC print left and right of the bars;
    `guard`: how far guard bars reach below the others, in dots."""
    native = NATIVE[name]
    height = max(1, _dots(float(options.get("module_height", _DEFAULT_BAR_MM)), dpmm))
    line = native.hri and bool(options.get("write_text", True))
    width = modules * module
    drawn_height = max(height, min_height) + guard
    x0, x1, y1 = 0, width, drawn_height
    if line:
        # The printer's font: ~10 modules high in zebrash, with descenders; 0.6 em a character
        # (monospaced), centred under the bars.
        band = max(14 * module, 3 * dpmm)
        overhang = max(0, (len(text) * 6 * module - width) // 2)
        x0, x1, y1 = -max(overhang, outside[0] * module), width + max(overhang, outside[1] * module), y1 + band
    if options.get("quiet_zone") is not None:
        q = _dots(float(options["quiet_zone"]), dpmm)
        quiet = (q, q, q, q)
    else:
        left, right = native.quiet[0] * module, native.quiet[1] * module
        quiet = (left, min(left, right), right, min(left, right))  # none needed above and below: the smaller
    orientation = _ORIENTATION[int(options.get("rotation", 0))]
    commands = f"^BY{module},{_RATIO:.1f},{height}" + command.format(o=orientation, h=height, f="Y" if line else "N")
    # zebrash moves a turned EAN-13 by its guard bars' reach: the box allows for it on every side.
    content = (x0 - guard, -guard, x1 + guard, y1 + guard)
    return _Field(commands, data, hexed, width, drawn_height, content, quiet)


def _retail(name: str, info: SymbolInfo, options: dict[str, Any], dpmm: int, module: int) -> _Field:
    data = info.data
    if "+" in data:
        raise JobError(ErrorCode.INVALID_DATA, f"{name}: add-ons need ^BS, which zpl_mode native does not write; "
                                               "use zpl_mode graphic")
    digits = re.sub(r"\D", "", data)
    guard = min(5 * module, 20)  # zebrash's guard bar reach
    if name in _EAN13:
        return _linear(name, options, dpmm, module, 95, "^BE{o},{h},{f},N", digits[:12], False, digits,
                       outside=(12, 0), guard=guard)
    if name == "ean8":
        return _linear(name, options, dpmm, module, 67, "^B8{o},{h},{f},N", digits[:7], False, digits, guard=guard)
    if name == "upca":
        return _linear(name, options, dpmm, module, 95, "^BU{o},{h},{f},N,Y", digits[:11], False, digits,
                       outside=(12, 12), guard=guard)
    full = re.sub(r"\D", "", info.text) or digits  # number system, 6 digits, check digit
    if len(full) < 8 or full[0] != "0":
        raise JobError(ErrorCode.INVALID_DATA, "^B9 prints UPC-E of number system 0 only; use zpl_mode graphic")
    return _linear(name, options, dpmm, module, 51, "^B9{o},{h},{f},N,Y", upce_manufacturer_product(full[1:7]),
                   False, full[:8], outside=(12, 12), guard=guard)


def _matrix(name: str, info: SymbolInfo, options: dict[str, Any], dpmm: int, module: int) -> _Field:
    data = info.data
    orientation = _ORIENTATION[int(options.get("rotation", 0))]
    q = NATIVE[name].quiet[0] * module if options.get("quiet_zone") is None \
        else _dots(float(options["quiet_zone"]), dpmm)
    quiet = (q, q, q, q)
    if name == "qrcode":
        _ascii_only(name, data)
        ecc = str(options.get("ecc_level", "M"))
        side = qr_side(len(data), ecc) * module
        text, hexed = hex_escaped(data)
        # The field is _QR_SHIFT taller: the quiet zone holds below a shifted symbol and above an
        # unshifted one.
        return _Field(f"^BY{module},{_RATIO:.1f},{_QR_SHIFT}^BQN,2,{module}", f"{ecc}A,{text}", hexed, side,
                      side + _QR_SHIFT, (0, 0, side, side + _QR_SHIFT), quiet)
    if name == "datamatrix":
        elements = gs1_elements(info) if options.get("gs1") else []
        plain = "".join(ai + value for ai, value in elements) if elements else data
        _ascii_only(name, plain)
        escape = _dm_escape(plain)
        doubled = escape is None  # every candidate is in the data: Zebra writes the escape character twice
        escape = escape or _DM_ESCAPES[0]
        if elements:
            body = "".join(escape + "1" if t is None else t * (2 if doubled and t == escape else 1)
                           for t in gs1_tokens(elements))
        else:
            body = plain.replace(escape, escape * 2) if doubled else plain
        version = int(options["version"]) if options.get("version") else None
        side = datamatrix_side(len(body) + 2, version) * module  # ASCII encodation: a codeword a character at most
        size = f"{side // module},{side // module}" if version else ","
        text, hexed = hex_escaped(body)
        return _Field(f"^BY{module}^BX{orientation},{module},200,{size},6,{escape},1", text, hexed, side, side,
                      (0, 0, side, side), quiet)
    if name == "pdf417":
        _ascii_only(name, data)
        columns = max(1, min(30, ((info.width_modules or 86) - 69) // 17))  # 17 per column, 69 for the rest
        level = int(options["ecc_level"]) if "ecc_level" in options else pdf417_security(len(data) + 1)
        # At most a codeword a byte, the length descriptor, 2^(level+1) ECC codewords.
        rows = max(3, min(90, math.ceil((len(data) + 3 + 2 ** (level + 1)) / columns)))
        width, row = (17 * (columns + 4) + 1) * module, 3 * module
        text, hexed = hex_escaped(data)
        return _Field(f"^BY{module},{_RATIO:.1f},{row}^B7{orientation},{row},{level},{columns},,N", text, hexed,
                      width, rows * row, (0, 0, width, rows * row), quiet)
    if name == "aztec":
        _ascii_only(name, data)
        version = int(options["version"]) if options.get("version") else None
        percent = int(str(options.get("ecc_level", "23%")).rstrip("%"))
        # ^BO's size: 101-104 compact layers, 201-232 full-range layers; 1-99 an ECC percent.
        size = percent if version is None else 100 + version if version <= 4 else 200 + version - 4
        side = aztec_side(len(data), percent, version) * module
        text, hexed = hex_escaped(data)
        return _Field(f"^BY{module}^BO{orientation},{module},N,{size}", text, hexed, side, side, (0, 0, side, side),
                      quiet)
    if name == "maxicode":
        _ascii_only(name, data)
        width, height = (math.ceil(mm * dpmm) for mm in _MAXICODE_MM)
        reach = dpmm  # zebrash draws it up and left of ^FO by about a hexagon (0.76 x 0.88 mm)
        text, hexed = hex_escaped(data)
        if options.get("quiet_zone") is not None:
            quiet = (q, q, q, q)
        else:
            quiet = (reach, reach, reach, reach)
        return _Field("^BD4,1,1", text, hexed, width, height, (-reach, -reach, width, height), quiet)
    raise KeyError(name)


def _field(name: str, info: SymbolInfo, options: dict[str, Any], dpmm: int) -> _Field:
    module = geometry(options).dots_per_module
    data = info.data
    if name == "code128" or name in _GS1_128:
        bc = code128(name, info)
        modules = 11 * (bc.codewords + _C128_SLACK + 1) + 13  # + check character; the stop is 13
        return _linear(name, options, dpmm, module, modules, "^BC{o},{h},{f},N,N," + bc.mode, bc.field, bc.hex,
                       info.text or data)
    if name == "code39":
        body = data + (code39_check(data) if options.get("checksum") else "")
        modules = (len(body) + 2) * (6 + 3 * _RATIO) + len(body) + 1  # with start, stop, gaps
        return _linear(name, options, dpmm, module, modules, "^B3{o},N,{h},{f},N", body, False, f"*{body}*")
    if name == "code93":
        _ascii_only(name, data)
        body = code93_field(data)
        modules = 9 * (len(body) + 4) + 1  # start, two check characters, stop, termination bar
        return _linear(name, options, dpmm, module, modules, "^BA{o},{h},{f},N,N", body, False, data)
    if name in _EAN13 or name in ("ean8", "upca", "upce"):
        return _retail(name, info, options, dpmm, module)
    if name == "itf":
        modules = 4 + len(data) * (3 + 2 * _RATIO) + _RATIO + 2  # start, digits, stop
        return _linear(name, options, dpmm, module, modules, "^B2{o},{h},{f},N,N", data, False, data)
    if name == "codabar":
        ends = len(data) > 2 and data[0].upper() in "ABCD" and data[-1].upper() in "ABCD"
        start, body, stop = (data[0].upper(), data[1:-1], data[-1].upper()) if ends else ("A", data, "A")
        modules = (len(body) + 2) * (5 + 3 * _RATIO) - 1  # at most 3 wide elements a character, with gaps
        return _linear(name, options, dpmm, module, modules, f"^BK{{o}},N,{{h}},{{f}},N,{start},{stop}", body, False,
                       data)
    if name == "databar":
        gtin = re.sub(r"\D", "", data)[-13:].zfill(13)
        # DataBar Omnidirectional is 33 modules high whatever the height (^BR's is for other types).
        return _linear(name, options, dpmm, module, 96, f"^BR{{o}},1,{module},1,{{h}},22", gtin, False, "",
                       min_height=33 * module)
    return _matrix(name, info, options, dpmm, module)


# --- the interface ------------------------------------------------------------------------------


def native_label(symbology_name: str, info: SymbolInfo, options: dict[str, Any], dpmm: int) -> tuple[bytes, int, int]:
    """A whole label holding the symbol as the printer's own command: (ZPL, width, height in
    dots). `info`: api.check()'s for the same data and options; `options` with `dpi` set to the
    printer's (DPI_OF_DPMM[dpmm]), so that geometry() gives the module in printer dots. Raises
    JobError for data the command cannot carry (non-ASCII 2D data, EAN/UPC add-ons, UPC-E of
    number system 1)."""
    field = _field(symbology_name, info, options, dpmm)
    rotation = int(options.get("rotation", 0)) if NATIVE[symbology_name].rotates else 0
    return _label(field, rotation)


def unverifiable(symbology_name: str, info: SymbolInfo, options: dict[str, Any]) -> str | None:
    """Why zebrash's drawing of this label is no check of it, or None: the symbology's reason
    (Native.why), or this data's (zebrash's ^BC mode N slips, an escape character written twice)."""
    native = NATIVE[symbology_name]
    if not native.renders_back:
        return native.why
    if symbology_name == "code128" or symbology_name in _GS1_128:
        return code128(symbology_name, info).why
    if symbology_name == "datamatrix":
        plain = "".join(ai + value for ai, value in gs1_elements(info)) if options.get("gs1") else info.data
        if _dm_escape(plain) is None:
            return f"{_RENDERER} reads a doubled ^BX escape character as two"
    return None


def unsupported_options(symbology_name: str, options: dict[str, Any]) -> list[str]:
    """The options native mode cannot honour for this symbology ([] when it honours them all).
    Module widths are judged at the options' dpi: pass them with the printer's."""
    native = NATIVE.get(symbology_name)
    if native is None:
        return [_NO_NATIVE]
    out: list[str] = []
    for key, value in options.items():
        if key == "foreground" and str(value).lower() != "#000000" or \
                key == "background" and str(value).lower() != "#ffffff":
            out.append(key)  # a thermal printer prints black on the label's own colour
        elif key in ("font_size", "text_distance", "small_text"):
            out.append(key)  # the interpretation line is the printer's font, where the printer puts it
        elif key == "write_text" and value and not native.hri:
            out.append(key)
        elif key == "rotation" and value and not native.rotates:
            out.append(key)  # ^BQ and ^BD take no orientation
        elif key == "version" and (symbology_name == "qrcode" or symbology_name == "datamatrix" and int(value) > 24):
            out.append(key)  # ^BQ has no size; ^BX forces squares only
        elif key == "gs1" and value and symbology_name in ("qrcode", "aztec"):
            out.append(key)  # no FNC1 in ^BQ's or ^BO's field data
        elif key == "ecc_level" and symbology_name == "aztec" and options.get("version"):
            out.append(key)  # ^BO takes a size or an error correction percentage, not both
        elif key == "module_width":
            if symbology_name == "maxicode" or native.max_magnification is not None \
                    and geometry(options).dots_per_module > native.max_magnification:
                out.append(key)  # ^BY, ^BQ, ^BO, ^BR take 1-10 dots; MaxiCode has one size
    return sorted(out)
