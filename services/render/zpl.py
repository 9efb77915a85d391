"""ZPL II for thermal label printers: a drawn symbol as a compressed graphic field (`^GFA`).

Every symbol is already drawn on whole printer dots (`render/geometry.py`), so at the printer's
density one bitmap pixel is one dot and the graphic is exact. The field is ZPL's own ASCII
compression of the 1-bit rows (Zebra's ZPL II manual, "Alternative Data Compression Scheme for
~DG and ~DB Commands", which ^GF shares): hex digits with repeat counts (G-Y: 1-19, g-z: 20-400),
`,` for the rest of a row white, `:` for a row equal to the one above.
The byte counts in `^GFA` are the uncompressed ones (rows x bytes per row), as printers check.
"""
from __future__ import annotations

import re
from typing import Any

from PIL import Image

# Printer densities (dots per mm) and the dpi a symbol is drawn at for each: one pixel, one dot.
DPI_OF_DPMM = {6: 152, 8: 203, 12: 300, 24: 600}
DEFAULT_DPMM = 8  # 203 dpi: the desktop and most industrial Zebra printers
GRAPHIC, NATIVE = "graphic", "native"
# Options only a ZPL label takes (render/options.py refuses them for other formats).
ZPL_OPTIONS = ("dpmm", "zpl_mode")


def dpmm_of(options: dict[str, Any]) -> int:
    return int(options.get("dpmm", DEFAULT_DPMM))


def mode_of(options: dict[str, Any]) -> str:
    return str(options.get("zpl_mode", GRAPHIC))


def drawing_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options a ZPL label's symbol is drawn (or sized) with: at the printer's density, so one
    pixel is one dot (`dpi` itself is refused with format zpl: dpmm says it)."""
    out = {k: v for k, v in options.items() if k not in ZPL_OPTIONS}
    out["dpi"] = DPI_OF_DPMM[dpmm_of(options)]
    return out
_SMALL = "GHIJKLMNOPQRSTUVWXY"  # 1-19
_LARGE = "ghijklmnopqrstuvwxyz"  # 20, 40, ... 400


def _count(n: int) -> str:
    """ZPL's repeat count for `n` (>= 2 repeats: the count precedes the repeated digit)."""
    out = []
    while n > 400:
        out.append("z")
        n -= 400
    if n >= 20:
        out.append(_LARGE[n // 20 - 1])
        n %= 20
    if n:
        out.append(_SMALL[n - 1])
    return "".join(out)


# A run of one hex digit (two or more): ZPL writes its count before the digit.
_RUN = re.compile(r"([0-9A-F])\1+")


def compress_row(hex_row: str) -> str:
    """One row's hex digits, compressed. A row ending in white ends with `,`. A row ending in
    black keeps its run count instead of `!` (the rest black): the manual allows `!`, but
    zebrash 3.4.0 draws it as stripes, and a count costs one or two characters more."""
    stripped = hex_row.rstrip("0")
    tail = ""
    if len(stripped) < len(hex_row):
        tail = ","  # the rest of the row is white
        hex_row = stripped
    return _RUN.sub(lambda m: _count(len(m.group(0))) + m.group(1), hex_row) + tail


def graphic_field(image: Image.Image) -> tuple[int, int, str]:
    """(total bytes, bytes per row, compressed data) of the image's dark pixels as dots."""
    bitmap = image.convert("L").point(lambda v: 255 if v < 128 else 0, mode="1")  # dark -> set bit
    width, height = bitmap.size
    per_row = (width + 7) // 8
    raw = bitmap.tobytes()  # mode "1": rows padded to whole bytes, first pixel in the high bit
    rows, previous = [], None
    for y in range(height):
        hex_row = raw[y * per_row:(y + 1) * per_row].hex().upper()
        rows.append(":" if hex_row == previous else compress_row(hex_row))
        previous = hex_row
    return per_row * height, per_row, "".join(rows)


def graphic_at_origin(image: Image.Image) -> bytes:
    """The image as a ^GFA field at the label home (^FO0,0)."""
    total, per_row, data = graphic_field(image)
    return f"^FO0,0^GFA,{total},{total},{per_row},{data}^FS".encode("ascii")


def label(image: Image.Image) -> bytes:
    """A whole label holding the symbol at the origin (its quiet zones are in the bitmap): print
    width and label length in dots."""
    width, height = image.size
    return f"^XA^PW{width}^LL{height}^LH0,0".encode("ascii") + graphic_at_origin(image) + b"^XZ\n"
