"""Sheet layouts: the presets, a client's overrides and grids, and the refusals that name the field."""
from __future__ import annotations

from typing import Any

import pytest

from services.labels.layout import PRESETS, SheetError, SheetLayout, layout_from


def test_the_default_sheet_is_avery_l7160_on_a4() -> None:
    layout = layout_from(None)
    assert layout == layout_from({"preset": "avery-l7160"})
    assert (layout.paper, layout.columns, layout.rows, layout.preset) == ("A4", 3, 7, "avery-l7160")
    assert (layout.page_width_mm, layout.page_height_mm) == (210.0, 297.0)
    assert layout.cell_origin_mm(0) == (7.2, 15.15)
    assert layout.cell_origin_mm(4) == pytest.approx((7.2 + 63.5 + 2.5, 15.15 + 38.1))
    assert layout.cell_origin_mm(20) == pytest.approx((7.2 + 2 * 66.0, 15.15 + 6 * 38.1))
    with pytest.raises(IndexError):
        layout.cell_origin_mm(21)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_fits_its_page_with_a_margin(name: str) -> None:
    layout = layout_from({"preset": name})
    right, bottom = layout.grid_size_mm()
    assert 0 < layout.page_width_mm - right < 15 and 0 < layout.page_height_mm - bottom < 25


def test_a_preset_takes_overrides_and_a_bare_grid_defaults_to_a4_without_margins() -> None:
    layout = layout_from({"preset": "avery-l7160", "rows": 6, "margin_top_mm": 20, "paper": "letter"})
    assert (layout.rows, layout.margin_top_mm, layout.paper, layout.label_width_mm) == (6, 20.0, "Letter", 63.5)
    grid = layout_from({"columns": 2, "rows": 3, "label_width_mm": 80, "label_height_mm": 40})
    assert grid == SheetLayout("A4", 2, 3, 80.0, 40.0, 0.0, 0.0, 0.0, 0.0, None)


OK = {"preset": "avery-l7160"}


@pytest.mark.parametrize(("spec", "message"), [
    ([1], "sheet must be an object, not an array"),
    ({**OK, "colour": "red"}, "sheet.colour is not a sheet field"),
    ({"preset": "avery-9999"}, "sheet.preset 'avery-9999' is not a known label stock; presets: avery-l7160, "),
    ({**OK, "paper": "A3"}, "sheet.paper must be one of A4, Letter, not 'A3'"),
    ({**OK, "label_width_mm": "63"}, "sheet.label_width_mm must be a number of millimetres, not a string"),
    ({**OK, "gap_x_mm": True}, "sheet.gap_x_mm must be a number of millimetres, not a boolean"),
    ({**OK, "gap_y_mm": -1}, "sheet.gap_y_mm must not be negative, got -1"),
    ({**OK, "label_height_mm": 0}, "sheet.label_height_mm must be greater than 0 mm, got 0"),
    ({**OK, "columns": 0}, "sheet.columns must be an integer from 1 to 50, not 0"),
    ({**OK, "rows": 51}, "sheet.rows must be an integer from 1 to 50, not 51"),
    ({**OK, "columns": 2.5}, "sheet.columns must be an integer from 1 to 50, not 2.5"),
    ({**OK, "rows": True}, "sheet.rows must be an integer from 1 to 50, not a boolean"),
    ({"columns": 2, "rows": 3, "label_width_mm": 80}, "sheet.label_height_mm is required without a preset"),
])
def test_an_unusable_sheet_is_refused_naming_the_field(spec: object, message: str) -> None:
    with pytest.raises(SheetError) as raised:
        layout_from(spec)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(("spec", "message"), [
    ({"preset": "avery-l7160", "columns": 4}, "58.70 mm wider than the A4 page"),  # 7.2 + 4 x 63.5 + 3 x 2.5
    ({"preset": "avery-5160", "rows": 11}, "12.70 mm taller than the Letter page"),  # 12.7 + 11 x 25.4
])
def test_a_grid_larger_than_the_page_is_refused_saying_by_how_much(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SheetError, match=message):
        layout_from(spec)
