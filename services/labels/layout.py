"""Label-sheet layouts: paper, the grid of label cells on it, and the client's `sheet` object read into one.

Apart from the PDF writer because the gateway checks a batch's layout before it takes the batch
(a sheet that cannot print is refused at the door, not after every row is rendered), and that
check needs the geometry alone: no imaging, no PDF.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}  # width, height mm
MAX_GRID = 50
DEFAULT_PRESET = "avery-l7160"

# Common stocks, mm (the makers' templates). Each fits its page: layout_from checks it.
PRESETS: dict[str, dict[str, Any]] = {
    "avery-l7160": {"paper": "A4", "columns": 3, "rows": 7, "label_width_mm": 63.5, "label_height_mm": 38.1,
                    "margin_left_mm": 7.2, "margin_top_mm": 15.15, "gap_x_mm": 2.5, "gap_y_mm": 0.0},
    "avery-l7163": {"paper": "A4", "columns": 2, "rows": 7, "label_width_mm": 99.1, "label_height_mm": 38.1,
                    "margin_left_mm": 4.65, "margin_top_mm": 15.15, "gap_x_mm": 2.5, "gap_y_mm": 0.0},
    "avery-l7651": {"paper": "A4", "columns": 5, "rows": 13, "label_width_mm": 38.1, "label_height_mm": 21.2,
                    "margin_left_mm": 4.75, "margin_top_mm": 10.7, "gap_x_mm": 2.5, "gap_y_mm": 0.0},
    "avery-5160": {"paper": "Letter", "columns": 3, "rows": 10, "label_width_mm": 66.7, "label_height_mm": 25.4,
                   "margin_left_mm": 4.8, "margin_top_mm": 12.7, "gap_x_mm": 3.2, "gap_y_mm": 0.0},
    "avery-5163": {"paper": "Letter", "columns": 2, "rows": 5, "label_width_mm": 101.6, "label_height_mm": 50.8,
                   "margin_left_mm": 3.97, "margin_top_mm": 12.7, "gap_x_mm": 4.76, "gap_y_mm": 0.0},
}
_COUNTS = ("columns", "rows")
_SIZES = ("label_width_mm", "label_height_mm")
_SPACING = ("margin_left_mm", "margin_top_mm", "gap_x_mm", "gap_y_mm")
# The printer density of the batch's labels.zpl (its labels are the sheet's label size).
DPMM_CHOICES = (6, 8, 12, 24)
DEFAULT_DPMM = 8
FIELDS = ("preset", "paper", *_COUNTS, *_SIZES, *_SPACING, "dpmm")


class SheetError(ValueError):
    """The client's `sheet` object is not a usable layout; the message names the field."""


@dataclass(frozen=True)
class SheetLayout:
    paper: str
    columns: int
    rows: int
    label_width_mm: float
    label_height_mm: float
    margin_left_mm: float = 0.0
    margin_top_mm: float = 0.0
    gap_x_mm: float = 0.0
    gap_y_mm: float = 0.0
    preset: str | None = None
    dpmm: int = DEFAULT_DPMM  # labels.zpl's printer density, dots per mm

    @property
    def page_width_mm(self) -> float:
        return PAPERS[self.paper][0]

    @property
    def page_height_mm(self) -> float:
        return PAPERS[self.paper][1]

    @property
    def cells_per_page(self) -> int:
        return self.columns * self.rows

    def cell_origin_mm(self, index_on_page: int) -> tuple[float, float]:
        """Top-left corner of a cell, from the page's top-left; cells run row by row."""
        if not 0 <= index_on_page < self.cells_per_page:
            raise IndexError(f"cell {index_on_page} is not on a {self.columns} x {self.rows} page")
        row, column = divmod(index_on_page, self.columns)
        return (self.margin_left_mm + column * (self.label_width_mm + self.gap_x_mm),
                self.margin_top_mm + row * (self.label_height_mm + self.gap_y_mm))

    def grid_size_mm(self) -> tuple[float, float]:
        """Where the grid's right and bottom edges fall, from the page's left and top."""
        return (self.margin_left_mm + self.columns * self.label_width_mm + (self.columns - 1) * self.gap_x_mm,
                self.margin_top_mm + self.rows * self.label_height_mm + (self.rows - 1) * self.gap_y_mm)


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _millimetres(name: str, value: object) -> float:
    # bool is an int subclass, but `true` is no size.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SheetError(f"sheet.{name} must be a number of millimetres, not {_json_type(value)}")
    if name in _SIZES and value <= 0:
        raise SheetError(f"sheet.{name} must be greater than 0 mm, got {value:g}")
    if value < 0:
        raise SheetError(f"sheet.{name} must not be negative, got {value:g}")
    return float(value)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GRID:
        shown = f"{value!r}" if isinstance(value, (int, float)) and not isinstance(value, bool) else _json_type(value)
        raise SheetError(f"sheet.{name} must be an integer from 1 to {MAX_GRID}, not {shown}")
    return value


def _paper(value: object) -> str:
    for name in PAPERS:
        if isinstance(value, str) and value.lower() == name.lower():
            return name
    shown = repr(value) if isinstance(value, str) else _json_type(value)
    raise SheetError(f"sheet.paper must be one of {', '.join(PAPERS)}, not {shown}")


def _dpmm(value: object) -> int:
    if isinstance(value, bool) or value not in DPMM_CHOICES:
        shown = repr(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else _json_type(value)
        raise SheetError(f"sheet.dpmm (the printer density of labels.zpl) must be one of "
                         f"{', '.join(map(str, DPMM_CHOICES))} dots per mm, not {shown}")
    return int(value)  # type: ignore[call-overload]


def _base_fields(spec: dict[Any, Any]) -> dict[str, Any]:
    """The preset's fields, or a bare grid's defaults after checking the grid is all there."""
    preset = spec.get("preset")
    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            shown = repr(preset) if isinstance(preset, str) else _json_type(preset)
            raise SheetError(f"sheet.preset {shown} is not a known label stock; presets: {', '.join(PRESETS)}")
        return dict(PRESETS[preset])
    for name in (*_COUNTS, *_SIZES):
        if name not in spec:
            raise SheetError(f"sheet.{name} is required without a preset (presets: {', '.join(PRESETS)})")
    return {"paper": "A4", **dict.fromkeys(_SPACING, 0.0)}


def _check_fits(layout: SheetLayout) -> None:
    right, bottom = layout.grid_size_mm()
    for edge, page, way in ((right, layout.page_width_mm, "wider"), (bottom, layout.page_height_mm, "taller")):
        if edge > page + 1e-6:
            raise SheetError(f"the sheet's grid is {edge - page:.2f} mm {way} than the {layout.paper} page "
                             f"({edge:.2f} mm of {page:g} mm with the margin)")


def layout_from(spec: object) -> SheetLayout:
    """The layout of a client's `sheet` object: a preset, a preset with overrides, or a full grid."""
    if spec is None:
        spec = {"preset": DEFAULT_PRESET}
    if not isinstance(spec, dict):
        raise SheetError(f"sheet must be an object, not {_json_type(spec)}")
    unknown = [str(key) for key in spec if key not in FIELDS]
    if unknown:
        raise SheetError(f"sheet.{unknown[0]} is not a sheet field; fields: {', '.join(FIELDS)}")
    fields, preset = _base_fields(spec), spec.get("preset")
    fields.update((key, value) for key, value in spec.items() if key != "preset")
    checked: dict[str, Any] = {name: _count(name, fields[name]) for name in _COUNTS}
    checked.update((name, _millimetres(name, fields[name])) for name in (*_SIZES, *_SPACING))
    layout = SheetLayout(paper=_paper(fields["paper"]), preset=preset if isinstance(preset, str) else None,
                         dpmm=_dpmm(fields.get("dpmm", DEFAULT_DPMM)), **checked)
    _check_fits(layout)
    return layout
