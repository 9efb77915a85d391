"""Every symbology, with every engine that can draw it, in every format: drawn, then read back
by an independent decoder wherever zxing-cpp can read the symbology (all of them, in CI)."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from services.render import api
from services.render.errors import JobError
from services.render.symbologies import CATALOGUE
from tests.support.decode import decode

CASES = [(s.name, engine, fmt) for s in CATALOGUE.values() for engine in s.engines for fmt in s.formats]


@pytest.mark.parametrize("name,engine,fmt", CASES)
def test_every_symbology_renders_and_reads_back(name: str, engine: str, fmt: str) -> None:
    symbology = CATALOGUE[name]
    rendered = api.render(symbology, symbology.example, fmt, {}, engine)
    assert rendered.body
    if fmt == "eps":
        # No EPS rasteriser here (Ghostscript is not installed); the same SVG made the PDF.
        assert rendered.body.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
        assert re.search(rb"%%BoundingBox: \d+ \d+ \d+ \d+", rendered.body)
        return
    if symbology.verifiable:
        found = decode(rendered.body, rendered.content_type, symbology.zxing)
        assert set(found) & set(rendered.info.scan), (found, rendered.info.scan)


def test_the_catalogue_is_zint_class() -> None:
    assert len(CATALOGUE) >= 90
    required = {"ean13", "upca", "upce", "code128", "gs1_128", "code39", "code93", "itf14", "codabar", "databar",
                "databar-limited", "databar-expanded", "databar-stacked", "qrcode", "microqr", "rmqr", "datamatrix",
                "pdf417", "micropdf417", "aztec", "maxicode", "dotcode", "hanxin", "usps-imb", "rm4scc", "auspost",
                "kix", "japanpost", "pzn", "pzn8", "hibc-128", "hibc-datamatrix"}
    assert required <= set(CATALOGUE)


def test_x_dimension_snaps_to_printer_dots_and_sets_the_pixel_width() -> None:
    options = {"module_width": 0.33, "dpi": 300, "quiet_zone": 0, "write_text": False}
    rendered = api.render(CATALOGUE["code128"], "HELLO", "png", options, "zint")
    image = Image.open(io.BytesIO(rendered.body))
    # 0.33 mm at 300 dpi is 3.9 dots: printed as 4 dots (0.3387 mm) per module.
    assert rendered.info.width_modules is not None
    assert image.width == rendered.info.width_modules * 4
    assert round(image.info["dpi"][0]) == 300
    assert rendered.info.x_mm == pytest.approx(4 * 25.4 / 300)
    assert any("snapped" in w for w in rendered.info.warnings)
    coarse = Image.open(io.BytesIO(api.render(CATALOGUE["code128"], "HELLO", "png", {**options, "dpi": 150},
                                              "zint").body))
    assert coarse.width == rendered.info.width_modules * 2


def test_python_barcode_png_width_follows_the_snapped_x_dimension() -> None:
    rendered = api.render(CATALOGUE["ean13"], "590123412345", "png",
                          {"module_width": 0.254, "dpi": 300, "quiet_zone": 0, "write_text": False})
    image = Image.open(io.BytesIO(rendered.body))
    assert image.width == 95 * 3  # EAN-13 is 95 modules; 0.254 mm = 3 dots at 300 dpi


@pytest.mark.parametrize("engine", ["python-barcode", "zint"])
def test_rotation_turns_the_image(engine: str) -> None:
    upright = Image.open(io.BytesIO(api.render(CATALOGUE["code128"], "ROT", "png", {}, engine).body))
    turned = api.render(CATALOGUE["code128"], "ROT", "png", {"rotation": 90}, engine)
    image = Image.open(io.BytesIO(turned.body))
    assert (image.width, image.height) == (upright.height, upright.width)
    assert decode(turned.body, "image/png") == ["ROT"]


def test_rotated_vector_output_still_reads() -> None:
    for engine in ("python-barcode", "zint"):
        svg = api.render(CATALOGUE["code128"], "VEC", "svg", {"rotation": 270}, engine)
        assert decode(svg.body, "image/svg+xml") == ["VEC"]


def test_colours_reach_both_engines() -> None:
    for engine in ("python-barcode", "zint"):
        svg = api.render(CATALOGUE["code128"], "ABC", "svg", {"foreground": "#112233", "background": "#ffeedd"},
                         engine).body.lower()
        assert b"112233" in svg and b"ffeedd" in svg


def test_qr_error_correction_and_version_are_applied() -> None:
    small = api.check(CATALOGUE["qrcode"], "HELLO", {"ecc_level": "L"})
    large = api.check(CATALOGUE["qrcode"], "HELLO", {"ecc_level": "H", "version": 10})
    assert (small.width_modules, large.width_modules) == (21, 57)  # version 1 and version 10


def test_pdf_from_both_engines_is_vector() -> None:
    for engine in ("python-barcode", "zint"):
        pdf = api.render(CATALOGUE["code128"], "VECTOR", "pdf", {}, engine).body
        assert pdf.startswith(b"%PDF") and b"/Subtype /Image" not in pdf


def test_the_wrong_expected_text_is_a_verification_failure() -> None:
    from services.render.verify import verify

    rendered = api.render(CATALOGUE["qrcode"], "RIGHT", "png", {})
    with pytest.raises(JobError) as caught:
        verify(Image.open(io.BytesIO(rendered.body)), CATALOGUE["qrcode"], ("WRONG",))
    assert caught.value.code == "verification_failed"


def test_unreadable_symbologies_are_served_unverified() -> None:
    assert not CATALOGUE["usps-imb"].verifiable and not CATALOGUE["dotcode"].verifiable
    assert CATALOGUE["qrcode"].describe()["verified"] is True
    assert CATALOGUE["rm4scc"].describe()["verified"] is False


def test_ean_add_on_with_zint_and_a_clear_error_without() -> None:
    rendered = api.render(CATALOGUE["ean13"], "590123412345+12", "png", {}, "zint")
    assert rendered.info.text.replace(" ", "").startswith("5901234123457")
    with pytest.raises(JobError) as caught:
        api.render(CATALOGUE["ean13"], "590123412345+12", "png", {})
    assert "zint" in caught.value.message


def test_dry_run_reports_the_qr_version_chosen() -> None:
    assert api.check(CATALOGUE["qrcode"], "HELLO WORLD", {}).version == 1
    assert api.check(CATALOGUE["qrcode"], "HELLO WORLD", {"version": 7}).version == 7


@pytest.mark.parametrize("engine", ["python-barcode", "zint"])
def test_control_characters_verify_as_themselves(engine: str) -> None:
    # Found by the WebSocket fuzzer: zxing-cpp's readable text spells them "<NUL>", "<ESC>".
    rendered = api.render(CATALOGUE["code128"], "AB\x00CD\x1b[0m", "png", {}, engine)
    assert rendered.body


def test_aztec_runes_verify_in_their_three_digit_form() -> None:
    assert api.render(CATALOGUE["aztec-rune"], "5", "png", {}).body


@pytest.mark.parametrize("data", ["99", "9912", "99A", "990"])
def test_python_barcode_code128_data_starting_with_99_is_drawn_correctly(data: str) -> None:
    """python-barcode 0.16.1 drops a leading 99 in code set C; libzint draws those, with a warning."""
    rendered = api.render(CATALOGUE["code128"], data, "png", {}, "python-barcode")
    assert decode(rendered.body, "image/png", ("Code128",)) == [data]
    assert any("python-barcode 0.16.1" in w for w in rendered.info.warnings)
    assert not any("libzint" in w for w in api.render(CATALOGUE["code128"], "12", "png", {}, "python-barcode").info.warnings)


def test_python_barcode_fallback_also_verifies_vector_output() -> None:
    rendered = api.render(CATALOGUE["code128"], "9912", "svg", {}, "python-barcode")
    assert rendered.body.lstrip().startswith(b"<")


@pytest.mark.parametrize("name", ["mailmark-2d", "datamatrix"])
def test_latin1_data_without_an_eci_verifies_as_iso_8859_1(name: str) -> None:
    """Found by the property test: Mailmark 2D with "¡¡" (Latin-1, no ECI) failed
    verification, because zxing-cpp guessed Shift_JIS ("｡｡") for those bytes; a reader takes
    ISO 8859-1 there, and so does the check now."""
    symbology = CATALOGUE[name]
    data = "JGB 012100123412345678AB19XY1A 0             \xa1\xa1ww.xyz.com" if name == "mailmark-2d" else "\xa1\xa1 ok"
    rendered = api.render(symbology, data, "png", {})  # verifies, or raises verification_failed
    assert rendered.body.startswith(b"\x89PNG")
