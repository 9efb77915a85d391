"""A label's caption in the sheet's one font: Helvetica, base-14, so the PDF embeds no font program.

Nothing in the PDF can measure the text for us, so its advance widths live here: a caption is
measured to centre it under its barcode and cut to its cell before it is drawn, and reduced to the
characters WinAnsiEncoding can show.
"""
from __future__ import annotations

FONT_SIZE_PT = 6.0
ASCENT, DESCENT = 0.718, 0.207  # Helvetica AFM, per point of font size

# Helvetica advance widths (AFM, 1/1000 em) for ASCII 32..126 in WinAnsiEncoding (39 is
# quotesingle, 96 grave). Any other character is measured as 556, a digit's width.
_WIDTHS = (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
           *(556,) * 10, 278, 278, 584, 584, 584, 556, 1015,
           667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611,
           722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,
           556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278,
           556, 500, 722, 500, 500, 500, 334, 260, 334, 584)
ELLIPSIS = "..."


def winansi(text: str) -> str:
    # Printable ASCII and Latin-1 are the same code points in WinAnsiEncoding; 0x80-0x9F differ
    # (and controls draw nothing), so those and everything beyond Latin-1 become "?".
    return "".join(c if 32 <= ord(c) <= 126 or 160 <= ord(c) <= 255 else "?" for c in text)


def _glyph_width(char: str) -> int:
    code = ord(char)
    return _WIDTHS[code - 32] if 32 <= code <= 126 else 556


def text_width_pt(text: str, size: float = FONT_SIZE_PT) -> float:
    return sum(_glyph_width(c) for c in text) * size / 1000


def fit_caption(text: str, width_pt: float) -> str:
    """The caption, cut and ended with "..." when wider than the cell."""
    if text_width_pt(text) <= width_pt:
        return text
    room, used = (width_pt - text_width_pt(ELLIPSIS)) * 1000 / FONT_SIZE_PT, 0
    for end, char in enumerate(text):
        used += _glyph_width(char)
        if used > room:
            return text[:end] + ELLIPSIS if end else ""
    return text
