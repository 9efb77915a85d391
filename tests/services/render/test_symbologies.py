from __future__ import annotations

import barcode

import pytest

from services.render import api
from services.render.symbologies import ALIASES, CATALOGUE, lookup


def test_every_python_barcode_symbology_is_offered() -> None:
    offered = {barcode.get_barcode_class(name) for name, s in CATALOGUE.items() if "python-barcode" in s.engines}
    provided = {barcode.get_barcode_class(name) for name in barcode.PROVIDED_BARCODES}
    assert provided <= offered
    for name in barcode.PROVIDED_BARCODES:
        # 'gs1' is python-barcode's alias for ISBN-13, not GS1-128: offering it would mislead.
        if name != "gs1":
            assert lookup(name) is not None, name


def test_names_and_aliases_resolve_case_insensitively() -> None:
    assert lookup("EAN") is CATALOGUE["ean13"]
    assert lookup(" Code128 ") is CATALOGUE["code128"]
    assert lookup("qr") is None
    assert all(target in CATALOGUE for target in ALIASES.values())


def test_examples_fit_their_limits() -> None:
    for symbology in CATALOGUE.values():
        assert len(symbology.example) <= symbology.max_length, symbology.name


# Data of exactly max_length that each symbology takes, where neither digits nor letters do
# (check digits, fixed formats, add-ons). Everything else: max_length digits, or letters.
LONGEST = {
    "ean13": "5901234123457+12345", "ean13-guard": "5901234123457", "ean8": "96385074", "ean8-guard": "96385074",
    "ean14": "09501101530003", "upca": "036000291452+12345", "jan": "4901234567894", "isbn13": "978-3-16-148410-0",
    "isbn10": "3-16-148410-X", "issn": "0317-8471", "pzn": "1234562",
    "gs1_128": "(20)12(11)251231(12)251231(13)251231(15)251231(16)251231(10)12",
    "dx-film-edge": "112-15/62A", "upu-s10": "EE876543216CA", "upce": "01234565+12345", "itf14": "09501101530003",
    "sscc18": "12345678901234567", "databar": "09501101530003", "databar-limited": "09501101530003",
    "databar-stacked": "09501101530003", "databar-stacked-omni": "09501101530003",
    "databar-expanded": "(01)09501101530003(91)" + "1" * 52, "databar-expanded-stacked": "(01)09501101530003(91)" + "1" * 52,
    "usps-imb": "01234567094987654321-01234567891", "mailmark-4s": "41038422416563762EF61AH8T ",
    "mailmark-2d": "JGB 012100123412345678AB19XY1A 0             " + "A" * 45,
    "pzn8": "12345678", "code32": "14352312", "hibc-39": "A" * 68,
}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_the_advertised_max_length_is_accepted(name: str) -> None:
    """GET /v1/symbologies advertises max_length: data that long is accepted by some engine
    (issue 14: PDF417 said 2710, and 2710 digits were refused)."""
    symbology = CATALOGUE[name]
    candidates = [LONGEST[name]] if name in LONGEST else ["1" * symbology.max_length, "A" * symbology.max_length]
    accepted = []
    for data in candidates:
        assert len(data) == symbology.max_length, (name, len(data))
        for engine in symbology.engines:
            try:
                api.check(symbology, data, {}, engine)
                accepted.append(engine)
            except Exception:  # noqa: BLE001 - collected: the assertion names the symbology
                pass
    assert accepted, f"{name}: nothing of {symbology.max_length} characters is accepted"
