from __future__ import annotations

import barcode

from services.symbologies import ALIASES, CATALOGUE, lookup


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
