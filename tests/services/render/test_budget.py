"""The pixel budget is computed on the final bitmap, before anything is drawn (issue 14)."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from services.render import api
from services.render.budget import MAX_PIXELS
from services.render.errors import JobError
from services.render.symbologies import CATALOGUE

# The attacker's requests: the old estimate (modules x dots, no quiet zone, no text) said 7.8 M
# pixels for a PNG that came out 12201 x 12201; a 9862 x 19725 RGB one took 1.26 GB.
QR_ATTACK = ("qrcode", "A", {"version": 10, "dpi": 2400, "module_width": 0.52, "quiet_zone": 50}, "zint")
CODE128_ATTACK = ("code128", "HELLO", {"quiet_zone": 50, "module_height": 200, "dpi": 2400}, "python-barcode")


@pytest.mark.parametrize("name,data,options,engine", [QR_ATTACK, CODE128_ATTACK])
def test_the_attack_sizes_are_refused_before_drawing(name: str, data: str, options: dict[str, object],
                                                     engine: str) -> None:
    with pytest.raises(JobError) as caught:
        api.check(CATALOGUE[name], data, options, engine, "png")
    assert caught.value.code == "output_too_large"
    with pytest.raises(JobError) as caught:
        api.render(CATALOGUE[name], data, "png", options, engine)
    assert caught.value.code == "output_too_large"


CASES = [
    ("code128", "HELLO", {}, "python-barcode"),
    ("code128", "HELLO", {"quiet_zone": 12, "module_height": 40, "dpi": 600, "font_size": 24}, "python-barcode"),
    ("ean13", "590123412345", {"rotation": 90, "module_width": 0.5}, "python-barcode"),
    ("code128", "HELLO", {"quiet_zone": 12, "module_height": 40, "dpi": 600, "small_text": True}, "zint"),
    ("ean13", "590123412345+12", {"rotation": 270}, "zint"),
    ("qrcode", "A", {"version": 10, "dpi": 600, "module_width": 0.52, "quiet_zone": 5}, "zint"),
    ("maxicode", "HELLO", {"quiet_zone": 3}, "zint"),
    ("dotcode", "HELLO", {"dpi": 72, "module_width": 0.1}, "zint"),
    ("itf14", "0950110153000", {}, "zint"),
]


@pytest.mark.parametrize("name,data,options,engine", CASES)
def test_the_checked_size_is_the_png_size(name: str, data: str, options: dict[str, object], engine: str) -> None:
    info = api.check(CATALOGUE[name], data, options, engine)
    image = Image.open(io.BytesIO(api.render(CATALOGUE[name], data, "png", options, engine).body))
    assert info.width_px is not None and info.height_px is not None
    if engine == "python-barcode":
        assert (info.width_px, info.height_px) == image.size  # its own arithmetic, exactly
    else:
        # From libzint's vector layout: never below the raster, a few pixels above (MaxiCode: 7%).
        assert image.width <= info.width_px <= image.width * 1.08 + 3
        assert image.height <= info.height_px <= image.height * 1.08 + 3


def test_a_vector_job_budgets_its_verification_raster_not_a_png() -> None:
    code128 = CATALOGUE["code128"]
    options = {"quiet_zone": 50, "module_height": 200, "dpi": 2400}
    with pytest.raises(JobError):
        api.check(code128, "HELLO", options, "python-barcode", "png")
    api.check(code128, "HELLO", options, "python-barcode", "svg")
    svg = api.render(code128, "HELLO", "svg", options, "python-barcode")  # verified from a bounded raster
    assert svg.body.lstrip().startswith(b"<")


def test_a_job_at_the_budget_renders_without_pillows_bomb_check() -> None:
    # Just under the budget (filterwarnings=error turns a DecompressionBombWarning into a failure).
    qr = CATALOGUE["qrcode"]
    options = {"version": 40, "module_width": 0.5, "quiet_zone": 20, "dpi": 600}
    info = api.check(qr, "A", options)
    assert MAX_PIXELS / 2 < info.pixels <= MAX_PIXELS
    assert api.render(qr, "A", "png", options).body
