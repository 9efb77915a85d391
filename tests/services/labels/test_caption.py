"""Captions as the sheet prints them: Helvetica, Latin-1 (anything else a "?"), cut to the cell."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from services.labels.layout import layout_from
from tests.services.labels.readback import render_image, write_sheet


def test_captions_are_helvetica_latin1_and_cut_to_the_cell(tmp_path: Path) -> None:
    image, _ = render_image("qrcode", "x")
    layout = layout_from({"preset": "avery-l7651"})
    write_sheet(tmp_path / "sheet.pdf", layout, [(image, "Café (No. 1) \\ ☃"), (image, "W" * 40)])
    text = subprocess.run(["pdftotext", str(tmp_path / "sheet.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Café (No. 1) \\ ?" in text  # not Latin-1: "?"
    cut = re.search(r"(W+)\.\.\.", text)
    assert cut is not None and 5 < len(cut.group(1)) < 40
    fonts = subprocess.run(["pdffonts", str(tmp_path / "sheet.pdf")], capture_output=True, text=True,
                           check=True).stdout
    assert "Helvetica" in fonts and "WinAnsi" in fonts
