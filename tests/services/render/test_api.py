"""Facts about a drawn symbol that the rest of the pipeline relies on."""
from __future__ import annotations

import pytest

from services.render.api import check, prints_text
from services.render.symbologies import CATALOGUE


@pytest.mark.parametrize(("name", "options", "engine", "printed"), [
    ("code128", {}, "zint", True),
    ("code128", {}, "python-barcode", True),
    ("code128", {"write_text": False}, "zint", False),
    ("ean13", {}, "zint", True),
    ("qrcode", {}, None, False),
    # check() names a text for these, but libzint draws them without one.
    ("dpd", {}, None, False),
    ("koreapost", {}, None, False),
])
def test_whether_a_symbol_prints_its_own_text(name: str, options: dict[str, object], engine: str | None,
                                              printed: bool) -> None:
    symbology = CATALOGUE[name]
    info = check(symbology, symbology.example, options, engine)
    assert prints_text(symbology, info, options, engine) is printed
