"""The manifest's cells: a cell a spreadsheet would read as a formula gets a leading `'` (OWASP
"CSV Injection"), and dropping one leading `'` gives the exact text back."""
from __future__ import annotations

import pytest

from services.batcher.manifest_cells import safe_cell, safe_line

FORMULAS = ['=HYPERLINK("http://x.test","y")', "+1+1", "-5", "@SUM(A1)", "\tTAB", "\rCR"]
PLAIN = ["", "ABC-123", "5901234123457", "page 1", "not placed: 42 mm wide", " =leading space", "a=b"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", PLAIN)
def test_any_other_cell_is_unchanged(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", FORMULAS + PLAIN + ["'QUOTED", "''", "'=1"])
def test_dropping_one_leading_quote_gives_the_exact_text_back(value: str) -> None:
    cell = safe_cell(value)
    assert (cell[1:] if cell.startswith("'") else cell) == value


def test_every_text_cell_of_a_line_and_no_number() -> None:
    line = {"row": 3, "data": "-5", "symbology": "=nosuch", "error_message": "@x", "label": "page 1"}
    assert safe_line(line) == {"row": 3, "data": "'-5", "symbology": "'=nosuch", "error_message": "'@x",
                               "label": "page 1"}
