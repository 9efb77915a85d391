"""Every symbology in every format is drawn and read back by an independent decoder."""
from __future__ import annotations

import pytest

from services.generator.errors import JobError
from services.generator.render import render
from services.symbologies import CATALOGUE
from tests.support.decode import decode

CASES = [(s.name, fmt) for s in CATALOGUE.values() for fmt in s.formats]


@pytest.mark.parametrize("symbology,fmt", CASES)
def test_renders_and_decodes(symbology: str, fmt: str) -> None:
    example = CATALOGUE[symbology].example
    rendered = render(symbology, example, fmt, {})
    assert decode(rendered.body, rendered.content_type) == [rendered.scan]


def test_png_carries_its_dpi_and_options_change_the_image() -> None:
    from io import BytesIO

    from PIL import Image

    small = Image.open(BytesIO(render("code128", "ABC", "png", {"dpi": 150}).body))
    large = Image.open(BytesIO(render("code128", "ABC", "png", {"dpi": 300}).body))
    assert round(small.info["dpi"][0]) == 150
    assert large.width > small.width * 1.8
    no_text = render("code128", "ABC", "svg", {"write_text": False}).body
    assert b"<text" not in no_text and b"<text" in render("code128", "ABC", "svg", {}).body


def test_colours_are_applied() -> None:
    svg = render("code39", "ABC", "svg", {"foreground": "#112233", "background": "#ffeedd"}).body
    assert b"#112233" in svg and b"#ffeedd" in svg


def test_bad_data_never_reaches_the_drawing() -> None:
    with pytest.raises(JobError):
        render("ean13", "5901234123458", "png", {})
