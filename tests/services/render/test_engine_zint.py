"""libzint's outline gives the PNG's size without drawing the modules, and leaves the symbol as
it was: measuring a symbol never changes what it draws."""
from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from services.render import engine_zint
from services.render.errors import JobError
from services.render.geometry import geometry
from services.render.symbologies import CATALOGUE

ZINT = sorted(name for name, symbology in CATALOGUE.items() if "zint" in symbology.engines)
OPTIONS: list[dict[str, Any]] = [{}, {"write_text": False, "quiet_zone": 2.0}, {"rotation": 90, "module_width": 0.5}]
# The symbols whose dark modules libzint's vector merged for hundreds of milliseconds.
LARGE = [("hanxin", "A", {"version": 84}), ("qrcode", "1" * 7000, {}), ("datamatrix", "A", {"version": 24}),
         ("aztec", "A", {"version": 36}), ("gridmatrix", "A", {"version": 13}), ("pdf417", "A" * 900, {}),
         ("codablockf", "A" * 1000, {}), ("maxicode", "A" * 50, {}), ("dotcode", "A" * 100, {})]


def _png(name: str, data: str, options: dict[str, Any], measured_first: bool) -> tuple[bytes, tuple[int, int] | None]:
    symbol, _ = engine_zint._symbol(name, data, options, geometry(options))
    rotation = int(options.get("rotation", 0))
    size = engine_zint._bitmap_size(name, symbol, rotation) if measured_first else None
    return engine_zint._memfile(symbol, "png", rotation), size


def _takes(name: str, options: dict[str, Any]) -> bool:
    """Whether the symbology takes these options (ITF-14 refuses a quiet zone inside its bearers)."""
    try:
        engine_zint._symbol(name, CATALOGUE[name].example, options, geometry(options))
    except JobError:
        return False
    return True


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, CATALOGUE[name].example, options) for name in ZINT for options in OPTIONS
            if _takes(name, options)] + LARGE


@pytest.mark.parametrize("name,data,options", _cases())
def test_measuring_a_symbol_leaves_it_drawing_the_same_png_inside_the_measured_size(
        name: str, data: str, options: dict[str, Any]) -> None:
    measured, size = _png(name, data, options, measured_first=True)
    untouched, _ = _png(name, data, options, measured_first=False)
    assert measured == untouched
    assert size is not None
    image = Image.open(io.BytesIO(measured))
    # Never below the PNG (the budget is safe), a few pixels above (MaxiCode's hexagons: 10 %).
    assert image.width <= size[0] <= image.width * 1.10 + 3
    assert image.height <= size[1] <= image.height * 1.10 + 3
