"""The format registry is the one place a format is described: every entry can be drawn by
both engines, is named by the contract and found again from its content type."""
from __future__ import annotations

import pytest

from services import contract
from services.render import api, vector
from services.render.formats import FORMATS, by_content_type
from services.render.symbologies import CATALOGUE


def test_the_contract_accepts_exactly_the_registered_formats() -> None:
    assert contract.FORMATS == {name: f.content_type for name, f in FORMATS.items()}


def test_a_stored_files_content_type_names_its_format() -> None:
    for fmt in FORMATS.values():
        assert by_content_type(fmt.content_type) is fmt
    assert by_content_type("application/octet-stream") is None and by_content_type(None) is None
    assert len({f.extension for f in FORMATS.values()}) == len(FORMATS)


def test_every_vector_format_has_its_writer_and_is_verified_on_a_raster() -> None:
    for fmt in FORMATS.values():
        if fmt.drawn_as == "vector":
            assert fmt.name in vector.WRITERS and fmt.verified_on == "raster"


@pytest.mark.parametrize("engine", ["zint", "python-barcode"])
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_both_engines_draw_every_format_with_its_content_type(name: str, engine: str) -> None:
    rendered = api.render(CATALOGUE["code128"], "FORMAT-1", name, {}, engine)
    assert rendered.content_type == FORMATS[name].content_type and rendered.body
