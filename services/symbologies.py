"""What can be rendered: the catalogue the gateway validates against and serves, and the
generator renders from. Plain data, no rendering library imported here.

`max_length` is what the gateway checks before anything touches Kafka; the exact per-symbology
rules (check digits, character sets) are applied by the generator, which answers with a
`failed` result naming the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.contract import FORMATS


@dataclass(frozen=True)
class OptionSpec:
    """One render option: its JSON type, range and meaning (served in /v1/symbologies)."""

    type: str  # "number" | "boolean" | "string"
    description: str
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.pattern is not None:
            out["pattern"] = self.pattern
        return out


COLOUR = r"^#[0-9a-fA-F]{6}$"

# Options every linear symbology accepts. Sizes are millimetres, as python-barcode uses.
OPTIONS: dict[str, OptionSpec] = {
    "module_width": OptionSpec("number", "width of the narrowest bar, mm", 0.1, 2.0),
    "module_height": OptionSpec("number", "bar height, mm", 2.0, 100.0),
    "quiet_zone": OptionSpec("number", "blank margin left and right, mm", 0.0, 20.0),
    "font_size": OptionSpec("number", "human-readable text size, pt", 4, 40),
    "text_distance": OptionSpec("number", "gap between bars and text, mm", 0.0, 20.0),
    "write_text": OptionSpec("boolean", "print the human-readable text under the bars"),
    "foreground": OptionSpec("string", "bar colour, #rrggbb", pattern=COLOUR),
    "background": OptionSpec("string", "background colour, #rrggbb", pattern=COLOUR),
    "dpi": OptionSpec("number", "raster resolution for png and pdf, dots per inch", 72, 1200),
}


@dataclass(frozen=True)
class Symbology:
    name: str
    label: str
    data: str  # what the data field accepts, in words
    max_length: int
    example: str
    aliases: tuple[str, ...] = ()
    formats: tuple[str, ...] = tuple(FORMATS)
    engine: str = "python-barcode"
    extra_options: dict[str, OptionSpec] = field(default_factory=dict)

    @property
    def options(self) -> dict[str, OptionSpec]:
        return {**OPTIONS, **self.extra_options}

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "aliases": list(self.aliases),
            "engine": self.engine,
            "data": self.data,
            "max_length": self.max_length,
            "example": self.example,
            "formats": list(self.formats),
            "options": {k: v.describe() for k, v in self.options.items()},
        }


_CHECKSUM = {"checksum": OptionSpec("boolean", "append the optional check character")}

CATALOGUE: dict[str, Symbology] = {
    s.name: s
    for s in [
        Symbology("code128", "Code 128", "ASCII 0-127", 80, "HELLO-123"),
        Symbology("code39", "Code 39", "A-Z 0-9 space - . $ / + %", 43, "HELLO-123",
                  extra_options=_CHECKSUM),
        Symbology("codabar", "Codabar (NW-7)", "0-9 - $ : / . +, optional start/stop A-D", 40,
                  "A40156B", aliases=("nw-7",)),
        Symbology("itf", "Interleaved 2 of 5", "an even number of digits", 80, "12345670"),
        Symbology("ean13", "EAN-13", "12 digits, or 13 with a valid check digit", 13,
                  "5901234123457", aliases=("ean",)),
        Symbology("ean13-guard", "EAN-13 with guard bars", "12 digits, or 13 with a valid check digit",
                  13, "5901234123457"),
        Symbology("ean8", "EAN-8", "7 digits, or 8 with a valid check digit", 8, "96385074"),
        Symbology("ean8-guard", "EAN-8 with guard bars", "7 digits, or 8 with a valid check digit", 8,
                  "96385074"),
        Symbology("ean14", "EAN-14 / GTIN-14 (GS1-128 with AI 01)",
                  "13 digits, or 14 with a valid check digit", 14, "09501101530003", aliases=("gtin",)),
        Symbology("upca", "UPC-A", "11 digits, or 12 with a valid check digit", 12, "036000291452",
                  aliases=("upc",)),
        Symbology("jan", "JAN (EAN-13 with 45/49 prefix)", "12 digits starting 45 or 49, or 13 with check digit",
                  13, "4901234567894"),
        Symbology("isbn13", "ISBN-13", "978/979 + 9 digits, or 13 with a valid check digit", 17,
                  "9783161484100", aliases=("isbn",)),
        Symbology("isbn10", "ISBN-10 (drawn as ISBN-13)", "9 digits, or 10 with a valid check character (0-9, X)",
                  13, "316148410X"),
        Symbology("issn", "ISSN (drawn as EAN-13 977)", "7 digits, or 8 with a valid check character (0-9, X)",
                  9, "03178471"),
        Symbology("pzn", "PZN7 (Pharmazentralnummer)", "6 digits, or 7 with a valid check digit", 7,
                  "1234562"),
        Symbology("gs1_128", "GS1-128", "GS1 element string, e.g. (01)09501101530003", 80,
                  "(01)09501101530003"),
    ]
}

ALIASES: dict[str, str] = {alias: s.name for s in CATALOGUE.values() for alias in s.aliases}


def lookup(name: str) -> Symbology | None:
    """Resolve a symbology name or alias, case-insensitively."""
    key = name.strip().lower()
    return CATALOGUE.get(ALIASES.get(key, key))
