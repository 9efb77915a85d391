"""Per-symbology data rules: check digits, character sets, lengths.

python-barcode silently repairs some bad input (it recomputes a wrong EAN check digit,
upper-cases Code 39, truncates PZN). A barcode service must not print something other than
what it was asked for, so every rule is checked here first and a violation names itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from services.contract import ErrorCode
from services.render.errors import JobError

FNC1 = "\xf1"  # python-barcode's marker for the GS1 function character


@dataclass(frozen=True)
class Normalised:
    data: str  # what python-barcode is given
    scan: str  # what a scanner reads back from the symbol


def gs1_mod10(digits: str) -> int:
    """GS1 check digit: weights 3,1,3,... from the right, over the digits without the check."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def check_digits(symbology: str, data: str, base: int, prefixes: tuple[str, ...] = ()) -> str:
    """Digits-only codes of `base` digits plus an optional, then verified, check digit."""
    if "+" in data:
        raise JobError(ErrorCode.INVALID_CHARACTERS, f"{symbology}: add-ons (+2/+5 digits) need the zint engine")
    if not data.isdigit() or not data.isascii():
        raise JobError(ErrorCode.INVALID_CHARACTERS, f"{symbology} data must be digits only, got {data!r}")
    if len(data) not in (base, base + 1):
        raise JobError(
            ErrorCode.INVALID_LENGTH,
            f"{symbology} needs {base} digits, or {base + 1} with the check digit; got {len(data)}",
        )
    if prefixes and not data.startswith(prefixes):
        raise JobError(ErrorCode.INVALID_DATA, f"{symbology} data must start with one of {', '.join(prefixes)}")
    check = gs1_mod10(data[:base])
    if len(data) == base + 1 and int(data[base]) != check:
        raise JobError(
            ErrorCode.INVALID_CHECK_DIGIT,
            f"{symbology} check digit is {data[base]}, but {data[:base]} needs {check}",
        )
    return data[:base] + str(check)


def _mod11(symbology: str, data: str, base: int) -> str:
    """ISBN-10 / ISSN: mod 11 with weights descending to 2; a check value of 10 is written X."""
    body = data[:base]
    if not body.isdigit() or not body.isascii() or (len(data) > base and data[base] not in "0123456789Xx"):
        raise JobError(ErrorCode.INVALID_CHARACTERS, f"{symbology} data must be digits (check may be X)")
    if len(data) not in (base, base + 1):
        raise JobError(ErrorCode.INVALID_LENGTH, f"{symbology} needs {base} digits, or {base + 1} with the check")
    remainder = sum(int(d) * w for d, w in zip(body, range(base + 1, 1, -1))) % 11
    value = (11 - remainder) % 11
    check = "X" if value == 10 else str(value)
    if len(data) == base + 1 and data[base].upper() != check:
        raise JobError(ErrorCode.INVALID_CHECK_DIGIT, f"{symbology} check is {data[base]}, but {body} needs {check}")
    return body + check


CODE39_CHARS = re.compile(r"^[0-9A-Z \-.$/+%]+$")
CODABAR_BODY = re.compile(r"^[0-9\-$:/.+]+$")
GS1_ELEMENT = re.compile(r"\((\d{2,4})\)([^()]+)")
# AIs whose data has a predefined length need no FNC1 after them (GS1 General Specs 7.8.5).
GS1_FIXED_PREFIXES = ("00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19",
                      "20", "31", "32", "33", "34", "35", "36", "41")


def _gs1_128(data: str) -> Normalised:
    elements = GS1_ELEMENT.findall(data)
    if not elements or "".join(f"({ai}){value}" for ai, value in elements) != data:
        raise JobError(ErrorCode.INVALID_DATA, "gs1_128 data must be bracketed AIs, e.g. (01)09501101530003(10)AB12")
    encoded = ""
    for index, (ai, value) in enumerate(elements):
        if ai in ("01", "02") and (len(value) != 14 or check_digits(f"AI ({ai})", value, 13) != value):
            raise JobError(ErrorCode.INVALID_CHECK_DIGIT, f"AI ({ai}) needs a GTIN-14 with a valid check digit")
        encoded += ai + value
        if not ai.startswith(GS1_FIXED_PREFIXES) and index < len(elements) - 1:
            encoded += FNC1
    return Normalised(data=encoded, scan=data)


def normalise(symbology: str, data: str, options: dict[str, object]) -> Normalised:
    """Return what to draw and what a scanner will read, or raise JobError naming the rule."""
    if symbology in ("ean13", "ean13-guard"):
        full = check_digits(symbology, data, 12)
        return Normalised(full, full)
    if symbology == "jan":
        full = check_digits(symbology, data, 12, prefixes=("45", "49"))
        return Normalised(full, full)
    if symbology in ("ean8", "ean8-guard"):
        full = check_digits(symbology, data, 7)
        return Normalised(full, full)
    if symbology == "upca":
        full = check_digits(symbology, data, 11)
        return Normalised(full, "0" + full)  # scanners commonly report UPC-A as EAN-13
    if symbology == "ean14":
        full = check_digits(symbology, data, 13)
        return Normalised("01" + full, f"(01){full}")
    if symbology == "isbn13":
        full = check_digits(symbology, data.replace("-", "").replace(" ", ""), 12, prefixes=("978", "979"))
        return Normalised(full, full)
    if symbology == "isbn10":
        isbn10 = _mod11(symbology, data.replace("-", "").replace(" ", ""), 9)
        ean = "978" + isbn10[:9]
        return Normalised(ean + str(gs1_mod10(ean)), ean + str(gs1_mod10(ean)))
    if symbology == "issn":
        issn = _mod11(symbology, data.replace("-", ""), 7)
        ean = "977" + issn[:7] + "00"
        return Normalised(ean + str(gs1_mod10(ean)), ean + str(gs1_mod10(ean)))
    if symbology == "pzn":
        return _pzn(data)
    if symbology == "code128":
        if not data or not data.isascii():
            raise JobError(ErrorCode.INVALID_CHARACTERS, "code128 data must be non-empty ASCII")
        return Normalised(data, data)
    if symbology == "code39":
        if not CODE39_CHARS.match(data):
            raise JobError(ErrorCode.INVALID_CHARACTERS,
                           "code39 data may contain only A-Z, 0-9, space and - . $ / + % (upper case)")
        return Normalised(data, data)
    if symbology == "codabar":
        return _codabar(data)
    if symbology == "itf":
        if not data.isdigit() or not data.isascii():
            raise JobError(ErrorCode.INVALID_CHARACTERS, "itf data must be digits only")
        if len(data) % 2:
            raise JobError(ErrorCode.INVALID_LENGTH, f"itf needs an even number of digits; got {len(data)}")
        return Normalised(data, data)
    if symbology == "gs1_128":
        return _gs1_128(data)
    raise JobError(ErrorCode.INVALID_DATA, f"no data rules for {symbology}")


def _pzn(data: str) -> Normalised:
    body = data.removeprefix("PZN-").removeprefix("-")
    if not body.isdigit() or not body.isascii():
        raise JobError(ErrorCode.INVALID_CHARACTERS, "pzn data must be digits only")
    if len(body) not in (6, 7):
        raise JobError(ErrorCode.INVALID_LENGTH, f"pzn needs 6 digits, or 7 with the check digit; got {len(body)}")
    check = sum(int(d) * w for d, w in zip(body[:6], range(2, 8))) % 11
    if check == 10:
        raise JobError(ErrorCode.INVALID_DATA, f"{body[:6]} has check value 10: not a valid PZN")
    if len(body) == 7 and int(body[6]) != check:
        raise JobError(ErrorCode.INVALID_CHECK_DIGIT, f"pzn check digit is {body[6]}, but {body[:6]} needs {check}")
    # python-barcode draws Code 39 "PZN-" + 7 digits, so that is what a scanner reads.
    return Normalised(body[:6], f"PZN-{body[:6]}{check}")


def _codabar(data: str) -> Normalised:
    upper = data.upper()
    if len(upper) >= 2 and upper[0] in "ABCD" and upper[-1] in "ABCD":
        body = upper[1:-1]
    else:
        body, upper = upper, f"A{upper}A"  # start/stop are required; A is the common default
    if not body or not CODABAR_BODY.match(body):
        raise JobError(ErrorCode.INVALID_CHARACTERS,
                       "codabar data may contain 0-9 - $ : / . + between optional start/stop A-D")
    if len(body) < 2:
        # Readers refuse shorter Codabar (zxing-cpp does): a one-character symbol, start and
        # stop included, is too easily read from noise.
        raise JobError(ErrorCode.INVALID_LENGTH, "codabar needs at least 2 characters between start and stop")
    return Normalised(upper, upper)
