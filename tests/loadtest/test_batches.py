"""The load tool's batch mode: the rows it makes and the table it prints."""
from __future__ import annotations

from loadtest.batches import BatchRun, report, rows_for, to_csv


def test_rows_are_distinct_and_take_turns_between_symbologies() -> None:
    rows = rows_for(9, ("qrcode", "datamatrix", "ean13"), "T1")
    assert len({d for d, _ in rows}) == 9
    assert [s for _, s in rows[:3]] == ["qrcode", "datamatrix", "ean13"]
    assert all(len(d) == 12 and d.isdigit() for d, s in rows if s == "ean13")  # its check digit is added
    assert to_csv(rows[:1]).splitlines() == ["data,symbology", f"{rows[0][0]},qrcode"]


def test_the_report_gives_rows_per_second_from_acceptance_to_the_last_row() -> None:
    runs = [BatchRun("a" * 32, 1000, 0.0, 1.0, last_row_s=11.0, outputs_s=13.0, final={"completed": 1000, "failed": 0})]
    text = report(runs)
    assert "| aaaaaaaa | 1000 | 1.0 | 11.0 | 13.0 | 100 | 1000 | 0 |" in text
    assert "last row at 11.0 s (91 rows/s)" in text
