"""ZPL's graphic field: compressed rows that expand back to the exact dots, with exact byte counts."""
from __future__ import annotations

import re

import pytest
from PIL import Image, ImageDraw

from services.render.zpl import _count, compress_row, graphic_field, label

_REPEAT = re.compile(r"([G-Yg-z]+)([0-9A-F])")


def _expand_count(letters: str) -> int:
    return sum((ord(c) - ord("G") + 1) if c.isupper() else (ord(c) - ord("g") + 1) * 20 for c in letters)


def _expand(data: str, per_row: int) -> list[str]:
    """A reader of ZPL's compression, written from the manual, to check ours against."""
    rows: list[str] = []
    i, current = 0, ""
    while i < len(data):
        c = data[i]
        if c == ":":
            rows.append(rows[-1])
            i += 1
            continue
        if c == ",":
            rows.append(current.ljust(per_row * 2, "0"))
            current = ""
        elif c == "!":
            rows.append(current.ljust(per_row * 2, "F"))
            current = ""
        else:
            m = _REPEAT.match(data, i)
            if m:
                current += m.group(2) * _expand_count(m.group(1))
                i = m.end()
            else:
                current += c
                i += 1
            if len(current) == per_row * 2:
                rows.append(current)
                current = ""
            continue
        i += 1
    assert current == ""
    return rows


@pytest.mark.parametrize("n, letters", [(1, "G"), (2, "H"), (19, "Y"), (20, "g"), (21, "gG"), (399, "yY"),
                                        (400, "z"), (401, "zG"), (845, "zzhK")])
def test_repeat_counts(n: int, letters: str) -> None:
    assert _count(n) == letters and _expand_count(letters) == n


def test_a_row_ends_white_in_one_character_and_black_with_its_count() -> None:
    assert compress_row("FF00000000") == "HF,"
    # Not "H0!": zebrash draws "!" as stripes (the Aztec of test_zpl_render at 24 dpmm read nothing).
    assert compress_row("00FFFFFFFF") == "H0NF"
    assert compress_row("0F0F") == "0F0F"


def test_a_drawn_image_expands_back_to_its_exact_dots() -> None:
    image = Image.new("L", (203, 61), 255)
    draw = ImageDraw.Draw(image)
    for x in range(10, 190, 7):
        draw.rectangle([x, 5, x + 2, 50], fill=0)
    draw.rectangle([0, 55, 202, 60], fill=0)  # rows black to the end
    total, per_row, data = graphic_field(image)
    assert per_row == 26 and total == 26 * 61
    rows = _expand(data, per_row)
    assert len(rows) == 61
    expected = image.point(lambda v: 255 if v < 128 else 0, mode="1").tobytes().hex().upper()
    assert "".join(rows) == expected
    assert len(data) < total  # compressed


def test_a_label_states_its_size_and_exact_counts() -> None:
    image = Image.new("L", (100, 40), 0)
    zpl = label(image).decode()
    assert zpl.startswith("^XA^PW100^LL40^LH0,0^FO0,0^GFA,520,520,13,") and zpl.rstrip().endswith("^FS^XZ")


@pytest.mark.parametrize("options,fmt,option", [
    ({"dpi": 300}, "zpl", "dpi"), ({"foreground": "#000080"}, "zpl", "foreground"),
    ({"dpmm": 8}, "png", "dpmm"), ({"zpl_mode": "graphic"}, "svg", "zpl_mode")])
def test_options_of_another_format_are_refused_by_name(options: dict[str, object], fmt: str, option: str) -> None:
    from services.render.options import OptionError, validate_options
    from services.render.symbologies import CATALOGUE
    with pytest.raises(OptionError) as refused:
        validate_options(CATALOGUE["code128"], options, None, fmt)
    assert refused.value.option == option


def test_a_company_default_dpi_is_left_out_of_a_zpl_label() -> None:
    from services.render.options import applies_to_format
    assert not applies_to_format("dpi", "zpl") and applies_to_format("dpi", "png")
    assert not applies_to_format("dpmm", "png") and applies_to_format("dpmm", "zpl")
