"""Cells of a batch's manifest.csv made safe to open in a spreadsheet.

Every text column can carry what a client sent (the data, an unknown symbology's name, an
error message quoting either), and Excel, LibreOffice and Google Sheets read a cell that starts
with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula: `=HYPERLINK(...)` in a row's
data would run when the manifest is opened. OWASP's "CSV Injection" page
(https://owasp.org/www-community/attacks/CSV_Injection) recommends prefixing such a cell with
a single quote; the csv writer already does the RFC 4180 quoting (commas, double quotes, line
breaks).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value: str) -> str:
    """`value` with a `'` in front if a spreadsheet would read it as a formula (OWASP "CSV
    Injection"), otherwise unchanged.

    A negative number such as `-5` is prefixed too, as OWASP recommends: a spreadsheet then
    shows it as the text `'-5`, not the number -5, but a formula such as `-2+3+cmd|...` also
    starts with a minus and cannot be told apart from data by a prefix check. A cell that
    already starts with `'` gets one more, so the rule is reversible: a program reading the
    manifest gets each cell's exact text back by dropping one leading `'` where there is one.
    """
    if value.startswith(FORMULA_STARTS + (QUOTE,)):
        return QUOTE + value
    return value


def safe_line(line: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest row with every text cell made safe (numbers are written as digits already).
    All of them, not only `data`: a column that holds only our own words today may quote the
    client's tomorrow, and the check costs nothing on text that starts with a letter."""
    return {name: safe_cell(value) if isinstance(value, str) else value for name, value in line.items()}
