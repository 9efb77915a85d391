"""What can be rendered: the catalogue the gateway validates against and serves, and the
generator renders from. Plain data: no rendering library is imported here.

Two engines: python-barcode (+ Pillow) for the 1D symbologies it covers, libzint (through
zint-bindings) for everything else. Where both can draw a symbology, python-barcode is the
default and a company profile may choose zint (`engines:` in config/companies.yaml).

`max_length` is the longest data the symbology takes (for the data that packs best, e.g.
digits; tests/services/render/test_symbologies.py proves each one), checked first. The exact rules
(check digits, character sets, capacity for this data) are the renderer's `check()`, which the
gateway runs too: a violation is a 400 naming the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.contract import FORMATS
from services.render.zint_table import GS1, HIBC, LIN, PHARMA, POSTAL, RETAIL, STACKED, TWO_D, ZINT_TABLE

PYBARCODE, ZINT = "python-barcode", "zint"


@dataclass(frozen=True)
class OptionSpec:
    """One render option: its JSON type, range and meaning (served in /v1/symbologies)."""

    type: str  # "number" | "integer" | "boolean" | "string" | "link" (an https URL, or true)
    description: str
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    choices: tuple[Any, ...] | None = None

    def describe(self) -> dict[str, Any]:
        # JSON Schema has no "link": an https URL (a string) or true (a boolean).
        kind: Any = ["string", "boolean"] if self.type == "link" else self.type
        out: dict[str, Any] = {"type": kind, "description": self.description}
        for key in ("minimum", "maximum", "pattern"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices is not None:
            out["enum"] = list(self.choices)
        return out


COLOUR = r"^#[0-9a-fA-F]{6}$"

# Options every symbology takes, whatever the engine. Sizes in millimetres.
COMMON: dict[str, OptionSpec] = {
    "module_width": OptionSpec("number", "X-dimension: width of the narrowest bar or module, mm; snapped to whole "
                               "printer dots at `dpi`", 0.1, 5.0),
    "dpi": OptionSpec("integer", "printer resolution the X-dimension snaps to; PNG pixels and metadata", 72, 2400),
    "quiet_zone": OptionSpec("number", "blank margin around the symbol, mm; 0 turns quiet zones off "
                             "(default: the symbology's standard quiet zone)", 0.0, 50.0),
    "foreground": OptionSpec("string", "bar colour, #rrggbb", pattern=COLOUR),
    "background": OptionSpec("string", "background colour, #rrggbb", pattern=COLOUR),
    "rotation": OptionSpec("integer", "rotate the symbol clockwise, degrees", choices=(0, 90, 180, 270)),
    # Format zpl's own (render/options.py refuses them with any other format).
    "dpmm": OptionSpec("integer", "format zpl: the printer's density in dots per mm (6, 8, 12, 24 = 152, 203, 300, "
                       "600 dpi; default 8); the X-dimension snaps to its dots", choices=(6, 8, 12, 24)),
    "zpl_mode": OptionSpec("string", "format zpl: graphic (the drawn symbol as a ^GFA bitmap, every symbology; "
                           "default) or native (the printer's own barcode command, where ZPL has one)",
                           choices=("graphic", "native")),
}
BAR_HEIGHT = {"module_height": OptionSpec("number", "bar height, mm", 1.0, 200.0)}
TEXT_PYBARCODE: dict[str, OptionSpec] = {
    "write_text": OptionSpec("boolean", "print the human-readable text"),
    "font_size": OptionSpec("number", "human-readable text size, pt", 4, 40),
    "text_distance": OptionSpec("number", "gap between bars and text, mm", 0.0, 20.0),
}
TEXT_ZINT: dict[str, OptionSpec] = {
    "write_text": OptionSpec("boolean", "print the human-readable text"),
    "small_text": OptionSpec("boolean", "use the small human-readable font"),
}
GS1_MODE = {"gs1": OptionSpec("boolean", "GS1 mode: data is bracketed AIs, e.g. (01)09501101530003(17)251231")}
CHECKSUM = {"checksum": OptionSpec("boolean", "append the optional check character")}
# 2D symbols that carry a URL a phone opens: GS1 data as a GS1 Digital Link (render/digital_link.py).
DIGITAL_LINK = {"digital_link": OptionSpec(
    "link", "GS1 Digital Link: encode GS1 data (bracketed AIs or {\"gs1\": {...}}) as the canonical Digital Link "
            "URI at this resolver (an https URL), or true for the company's resolver (default https://id.gs1.org)",
    pattern=r"^https://[^\s?#]+$")}


def _ecc(description: str, choices: tuple[str, ...]) -> dict[str, OptionSpec]:
    return {"ecc_level": OptionSpec("string", description, choices=choices)}


def _version(description: str, maximum: int) -> dict[str, OptionSpec]:
    return {"version": OptionSpec("integer", description, 1, maximum)}


# Error correction and symbol size, per zint symbology (libzint option_1 / option_2).
ZINT_EXTRA: dict[str, dict[str, OptionSpec]] = {
    "qrcode": {**_ecc("L 7%, M 15%, Q 25%, H 30%", ("L", "M", "Q", "H")), **_version("QR version (size) 1-40", 40),
               **GS1_MODE, **DIGITAL_LINK},
    "microqr": {**_ecc("L, M, Q (M4 only)", ("L", "M", "Q")), **_version("M1-M4", 4)},
    "rmqr": {**_ecc("M or H", ("M", "H")), **_version("rMQR size 1-38 (R7x43 .. R17x139)", 38), **GS1_MODE,
             **DIGITAL_LINK},
    "hanxin": {**_ecc("L1-L4", ("L1", "L2", "L3", "L4")), **_version("Han Xin version 1-84", 84)},
    "aztec": {**_ecc("minimum error correction: 10%, 23%, 36%, 50%", ("10%", "23%", "36%", "50%")),
              **_version("Aztec size 1-36 (1-4 compact)", 36), **GS1_MODE, **DIGITAL_LINK},
    "pdf417": {**_ecc("PDF417 error correction level 0-8", tuple(str(n) for n in range(9)))},
    "pdf417-compact": {**_ecc("PDF417 error correction level 0-8", tuple(str(n) for n in range(9)))},
    "datamatrix": {**_version("Data Matrix size 1-48 (10x10 .. 144x144, then rectangles)", 48), **GS1_MODE,
                   **DIGITAL_LINK},
    "gridmatrix": {**_ecc("error correction level 1-5", ("1", "2", "3", "4", "5")),
                   **_version("Grid Matrix version 1-13", 13)},
    "codeone": {**_version("Code One version 1-10 (A-H, S, T)", 10), **GS1_MODE},
    "dotcode": GS1_MODE,
    "ultracode": GS1_MODE,
    "code16k": GS1_MODE,
    "code49": GS1_MODE,
}
# Matrix symbols have a fixed aspect ratio: no bar height, and zint draws no text under them.
ZINT_MATRIX_LIKE = {e.name for e in ZINT_TABLE if e.family in (TWO_D, HIBC) and e.name not in ("hibc-128", "hibc-39")} | {
    "pdf417", "pdf417-compact", "micropdf417", "mailmark-2d", "codablockf", "code16k", "code49", "hibc-pdf417",
    "hibc-micropdf417", "hibc-codablockf"}
# No human-readable text in libzint for these (postal, pharma tracks, stacked, 2D).
ZINT_NO_TEXT = ZINT_MATRIX_LIKE | {e.name for e in ZINT_TABLE if e.family == POSTAL and e.zxing == ()} | {
    "pharmacode", "pharmacode-2track", "flattermarken", "databar-stacked", "databar-stacked-omni",
    "databar-expanded-stacked", "dpd"} - {"dpleit", "dpident"}


@dataclass(frozen=True)
class Symbology:
    name: str
    label: str
    family: str
    data: str  # what the data field accepts, in words
    max_length: int
    example: str
    engines: tuple[str, ...]  # the first is the default
    aliases: tuple[str, ...] = ()
    formats: tuple[str, ...] = tuple(FORMATS)
    zxing: tuple[str, ...] = ()  # zxing-cpp formats that read it; empty: served unverified
    gs1: bool = False  # data is a GS1 element string
    options_by_engine: dict[str, dict[str, OptionSpec]] = field(default_factory=dict)

    @property
    def engine(self) -> str:
        return self.engines[0]

    @property
    def verifiable(self) -> bool:
        return bool(self.zxing)

    def options_for(self, engine: str | None = None) -> dict[str, OptionSpec]:
        return self.options_by_engine[engine or self.engine]

    @property
    def options(self) -> dict[str, OptionSpec]:
        return self.options_for(self.engine)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "family": self.family,
            "aliases": list(self.aliases),
            "engine": self.engine,
            "engines": list(self.engines),
            "data": self.data,
            "gs1": self.gs1,
            "max_length": self.max_length,
            "example": self.example,
            "formats": list(self.formats),
            "verified": self.verifiable,
            "options": {k: v.describe() for k, v in self.options.items()},
            "options_by_engine": {e: {k: v.describe() for k, v in opts.items()}
                                  for e, opts in self.options_by_engine.items() if e != self.engine},
        }


def _pybarcode_options(name: str) -> dict[str, OptionSpec]:
    return {**COMMON, **BAR_HEIGHT, **TEXT_PYBARCODE, **(CHECKSUM if name == "code39" else {})}


def _zint_options(name: str) -> dict[str, OptionSpec]:
    options = dict(COMMON)
    if name not in ZINT_MATRIX_LIKE:
        options.update(BAR_HEIGHT)
    if name not in ZINT_NO_TEXT:
        options.update(TEXT_ZINT)
    options.update(ZINT_EXTRA.get(name, {}))
    return options


# python-barcode's symbologies: (name, label, family, data, max_length, example, aliases, zxing formats)
_PYBARCODE = [
    ("code128", "Code 128", LIN, "ASCII 0-127", 80, "HELLO-123", (), ("Code128",)),
    ("code39", "Code 39", LIN, "A-Z 0-9 space - . $ / + %", 43, "HELLO-123", (), ("Code39", "Code39Std")),
    ("codabar", "Codabar (NW-7)", LIN, "0-9 - $ : / . +, optional start/stop A-D", 40, "A40156B", ("nw-7",),
     ("Codabar",)),
    ("itf", "Interleaved 2 of 5", LIN, "an even number of digits", 80, "12345670", (), ("ITF",)),
    ("ean13", "EAN-13", RETAIL, "12 digits, or 13 with a valid check digit; +2 or +5 digit add-on with the zint engine",
     19, "5901234123457", ("ean",), ("EAN13",)),
    ("ean13-guard", "EAN-13 with guard bars", RETAIL, "12 digits, or 13 with a valid check digit", 13,
     "5901234123457", (), ("EAN13",)),
    ("ean8", "EAN-8", RETAIL, "7 digits, or 8 with a valid check digit", 8, "96385074", (), ("EAN8",)),
    ("ean8-guard", "EAN-8 with guard bars", RETAIL, "7 digits, or 8 with a valid check digit", 8, "96385074", (),
     ("EAN8",)),
    ("ean14", "EAN-14 / GTIN-14 (GS1-128 with AI 01)", GS1, "13 digits, or 14 with a valid check digit", 14,
     "09501101530003", ("gtin",), ("Code128",)),
    ("upca", "UPC-A", RETAIL, "11 digits, or 12 with a valid check digit; +2 or +5 digit add-on with the zint engine",
     18, "036000291452", ("upc",),
     ("UPCA", "EAN13")),
    ("jan", "JAN (EAN-13 with 45/49 prefix)", RETAIL, "12 digits starting 45 or 49, or 13 with check digit", 13,
     "4901234567894", (), ("EAN13",)),
    ("isbn13", "ISBN-13", RETAIL, "978/979 + 9 digits, or 13 with a valid check digit", 17, "9783161484100",
     ("isbn",), ("EAN13", "ISBN")),
    ("isbn10", "ISBN-10 (drawn as ISBN-13)", RETAIL, "9 digits, or 10 with a valid check character (0-9, X)", 13,
     "316148410X", (), ("EAN13", "ISBN")),
    ("issn", "ISSN (drawn as EAN-13 977)", RETAIL, "7 digits, or 8 with a valid check character (0-9, X)", 9,
     "03178471", (), ("EAN13",)),
    ("pzn", "PZN7 (Pharmazentralnummer)", PHARMA, "6 digits, or 7 with a valid check digit", 7, "1234562", (),
     ("PZN", "Code39")),
    # GS1-128 carries at most 48 data characters (FNC1 separators included): 62 with brackets.
    ("gs1_128", "GS1-128", GS1, "GS1 element string, e.g. (01)09501101530003(10)AB12", 62, "(01)09501101530003",
     (), ("Code128",)),
]


def _build() -> dict[str, Symbology]:
    zint_by_name = {e.name: e for e in ZINT_TABLE}
    catalogue: dict[str, Symbology] = {}
    for name, label, family, data, max_length, example, aliases, zxing in _PYBARCODE:
        engines = (PYBARCODE, ZINT) if name in zint_by_name else (PYBARCODE,)
        by_engine = {PYBARCODE: _pybarcode_options(name)}
        if name in zint_by_name:
            by_engine[ZINT] = _zint_options(name)
        catalogue[name] = Symbology(name, label, family, data, max_length, example, engines, aliases,
                                    zxing=zxing, gs1=name == "gs1_128", options_by_engine=by_engine)
    for entry in ZINT_TABLE:
        if entry.name in catalogue:
            continue
        catalogue[entry.name] = Symbology(
            entry.name, entry.label, entry.family, entry.data, entry.max_length, entry.example, (ZINT,),
            zxing=entry.zxing, gs1=entry.name.startswith("databar-expanded") or entry.name == "gs1_128",
            options_by_engine={ZINT: _zint_options(entry.name)})
    return catalogue


CATALOGUE: dict[str, Symbology] = _build()
ALIASES: dict[str, str] = {alias: s.name for s in CATALOGUE.values() for alias in s.aliases}
# Kept for the OpenAPI document: the options every symbology accepts.
OPTIONS = COMMON


def lookup(name: str) -> Symbology | None:
    """Resolve a symbology name or alias, case-insensitively."""
    key = name.strip().lower()
    return CATALOGUE.get(ALIASES.get(key, key))
