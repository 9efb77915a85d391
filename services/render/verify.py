"""Decode-back verification with zxing-cpp, an independent decoder.

A symbol that does not read back as its input is a bug in an engine (or in our use of it):
the job fails with `verification_failed` rather than shipping a label that scans wrong.
"""
from __future__ import annotations

import zxingcpp
from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from PIL import Image, ImageOps

from services.contract import ErrorCode
from services.render.budget import MAX_PIXELS
from services.render.errors import JobError
from services.render.symbologies import Symbology


def _formats(symbology: Symbology) -> list[zxingcpp.BarcodeFormat]:
    """Only the symbology's own formats: a Code 39 Extended reading of HIBC data is no proof."""
    return [getattr(zxingcpp.BarcodeFormat, name) for name in symbology.zxing if hasattr(zxingcpp.BarcodeFormat, name)]


def decoded_texts(image: Image.Image, symbology: Symbology,
                  text_mode: zxingcpp.TextMode = zxingcpp.TextMode.HRI, pure: bool = False) -> list[str]:
    formats = _formats(symbology)
    # Read EAN/UPC add-ons when present, so "590123412345+12" is checked whole.
    results = (zxingcpp.read_barcodes(image, formats=formats, text_mode=text_mode, is_pure=pure,
                                      ean_add_on_symbol=zxingcpp.EanAddOnSymbol.Read)
               if formats else [])
    return sorted({r.text for r in results})


def decoded_as_latin1(image: Image.Image, symbology: Symbology) -> list[str]:
    """The symbols' bytes read as ISO 8859-1, the character set a reader assumes without an ECI
    (the default of Data Matrix, QR Code, Aztec...). zxing-cpp's text guesses instead, and read
    Mailmark 2D's Latin-1 "¡¡" as Shift_JIS "｡｡" (found by the property test)."""
    formats = _formats(symbology)
    results = zxingcpp.read_barcodes(image, formats=formats) if formats else []
    return sorted({bytes(r.bytes).decode("latin-1") for r in results})


# The last try enlarges the symbol to this many pixels per module and surrounds it with a
# margin, when the copy stays this small: zxing-cpp misses MicroPDF417 below 3-4 pixels per
# module, and symbols drawn with quiet_zone 0 (ITF-14, MicroPDF417). Whole-pixel enlargement
# and a blank border change no module: what reads there is what was drawn.
_RETRY_PX_PER_MODULE = 4
_RETRY_MAX_PIXELS = 4_000_000


def _enlarged(image: Image.Image, px_per_module: int) -> Image.Image | None:
    """The image at >= 4 pixels per module when that copy is small, with 10 modules of margin
    (a luminance copy, 1 byte a pixel); None when even the margin alone would pass the cap."""
    px_per_module = max(1, px_per_module)
    factor = max(1, -(-_RETRY_PX_PER_MODULE // px_per_module))

    def size(factor: int) -> int:
        margin = 10 * px_per_module * factor
        return (image.width * factor + 2 * margin) * (image.height * factor + 2 * margin)

    if size(factor) > _RETRY_MAX_PIXELS:
        factor = 1
        if size(1) > 2 * MAX_PIXELS:
            return None
    margin = 10 * px_per_module * factor
    if factor > 1:
        image = image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
    return ImageOps.expand(image, border=margin, fill=image.getextrema()[1])  # the background: lightest


_CODE32 = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"


def _as_code32(text: str) -> str | None:
    """zxing-cpp reports a 6-character Code 39 whose characters are all Code 32 (Italian
    Pharmacode) digits as that Code 32: "A" and 9 decimal digits ("000000": "A000000000")."""
    if len(text) != 6 or any(c not in _CODE32 for c in text):
        return None
    value = 0
    for c in text:
        value = value * 32 + _CODE32.index(c)
    return f"A{value:09d}"


# Code 39 Full ASCII: a shift character and a letter stand for one other character.
_SHIFTS = {"+": lambda n: chr(ord(n) + 32) if "A" <= n <= "Z" else None,
           "$": lambda n: chr(ord(n) - 64) if "A" <= n <= "Z" else None,
           "/": lambda n: chr(ord(n) - 32) if "A" <= n <= "O" else ":" if n == "Z" else None,
           "%": lambda n: (chr(ord(n) - 38) if "A" <= n <= "E" else chr(ord(n) - 11) if "F" <= n <= "J"
                           else chr(ord(n) + 16) if "K" <= n <= "O" else chr(ord(n) + 43) if "P" <= n <= "T"
                           else {"U": "\0", "V": "@", "W": "`", "X": "\x7f", "Y": "\x7f", "Z": "\x7f"}.get(n))}


def _as_code39_full_ascii(text: str) -> str | None:
    """zxing-cpp reads a plain Code 39 whose shift pairs are all valid ("/A") as Full ASCII
    ("!"): the same bars, so that reading counts too (found by the property test: code39 "/A"
    decoded as "!"). None when the text has no valid reading of that kind."""
    out: list[str] = []
    i = 0
    while i < len(text):
        shift = _SHIFTS.get(text[i])
        if shift is None:
            out.append(text[i])
            i += 1
            continue
        one = shift(text[i + 1]) if i + 1 < len(text) else None
        if one is None:
            return None
        out.append(one)
        i += 2
    joined = "".join(out)
    return joined if joined != text else None


def verify(image: Image.Image, symbology: Symbology, expected: tuple[str, ...], px_per_module: int = 4) -> None:
    """Raise JobError(verification_failed) unless the image decodes to one of `expected`."""
    if any(name.startswith("Code39") for name in symbology.zxing):
        expected = (*expected, *filter(None, map(_as_code32, expected)),
                    *filter(None, map(_as_code39_full_ascii, expected)))
    if image.mode != "L":
        image = image.convert("L")  # zxing-cpp reads luminance; converting first is cheaper than RGB
    # Our images are "pure" (one upright symbol, no noise, no perspective): zxing-cpp's pure mode
    # reads them from the symbol's bounding box in about 0.05 ms instead of 2-3 ms of line scans
    # for a linear symbol. Anything it does not read as expected gets the full scan.
    if any(text in expected for text in decoded_texts(image, symbology, pure=True)):
        return
    texts = decoded_texts(image, symbology)
    if not any(text in expected for text in texts):
        # zxing-cpp's default (human-readable) text spells control characters as "<NUL>",
        # "<ESC>"...; the plain text is what was encoded. Asked only when the first read differs.
        texts = decoded_texts(image, symbology, zxingcpp.TextMode.Plain)
    if not any(text in expected for text in texts):
        enlarged = _enlarged(image, px_per_module)
        if enlarged is not None:
            texts = sorted({*decoded_texts(enlarged, symbology), *decoded_texts(enlarged, symbology,
                                                                                zxingcpp.TextMode.Plain)})
    if not any(text in expected for text in texts):
        texts = sorted({*texts, *decoded_as_latin1(image, symbology)})
    if not any(text in expected for text in texts):
        raise JobError(ErrorCode.VERIFICATION_FAILED,
                       f"{symbology.name} did not read back as its input: decoded {texts or 'nothing'}, "
                       f"expected {expected[0] if len(expected) == 1 else list(expected)}")


def verify_digital_link(link: str, asked: list[tuple[str, str]]) -> None:
    """Raise JobError(verification_failed) unless an independent parser (biip) reads the link as
    exactly the AIs asked for: the symbol decoded to this link, and the link must carry them."""
    try:
        read = sorted((es.ai.ai, es.value) for es in GS1DigitalLinkURI.parse(link).element_strings)
    except ParseError as exc:
        raise JobError(ErrorCode.VERIFICATION_FAILED, f"the Digital Link does not parse back: {exc}") from None
    if read != sorted(asked):
        raise JobError(ErrorCode.VERIFICATION_FAILED, f"the Digital Link reads back as {read}, not {sorted(asked)}")
