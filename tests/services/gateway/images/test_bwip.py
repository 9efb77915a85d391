"""bwip-js's URL parameters as a job's body: names, scale, text, rotation, padding, colours, and
the refusals that name what is not taken."""
from __future__ import annotations

import pytest

from services.gateway.edge.errors import ApiError
from services.gateway.images.bwip import POINT_MM, body_of, symbology_of


def test_bwipp_names_map_to_ours_and_ours_pass_through() -> None:
    assert symbology_of("gs1-128") == ("gs1_128", {})
    assert symbology_of("AztecCode") == ("aztec", {})
    assert symbology_of("interleaved2of5") == ("itf", {})
    assert symbology_of("gs1datamatrix") == ("datamatrix", {"gs1": True})
    assert symbology_of("code128") == ("code128", {})
    assert symbology_of("hanxin") == ("hanxin", {})


def test_an_unknown_bcid_names_the_nearest() -> None:
    with pytest.raises(ApiError) as refused:
        symbology_of("qrcod")
    assert refused.value.code == "unknown_symbology" and "'qrcode'" in refused.value.message


def test_scale_is_pixels_per_module_at_72_dpi_times_scale() -> None:
    body = body_of({"bcid": "code128", "text": "HELLO", "scale": "3"})
    assert body["symbology"] == "code128" and body["data"] == "HELLO" and body["format"] == "png"
    options = body["options"]
    assert options["dpi"] == 216 and options["module_width"] * options["dpi"] / 25.4 == pytest.approx(3, abs=1e-4)
    assert options["write_text"] is False  # bwip-js prints no text unless asked


def test_the_rest_of_the_parameters() -> None:
    assert "write_text" not in body_of({"bcid": "qrcode", "text": "x", "includetext": ""})["options"]  # none to print
    options = body_of({"bcid": "code128", "text": "x", "includetext": "", "rotate": "L", "paddingwidth": "10",
                       "paddingheight": "10", "backgroundcolor": "FFFFEE", "BarColor": "000080", "eclevel": "h",
                       "height": "12"})["options"]
    assert options["write_text"] is True and options["rotation"] == 270
    assert options["quiet_zone"] == round(10 * POINT_MM, 3)
    assert (options["background"], options["foreground"]) == ("#ffffee", "#000080")
    assert options["ecc_level"] == "H" and options["module_height"] == 12  # (code128 refuses ecc_level later)


@pytest.mark.parametrize("params, words", [
    ({"bcid": "code128", "text": "A", "alttext": "B"}, "'alttext'"),
    ({"bcid": "code128", "text": "A", "scaleX": "2", "scaleY": "3"}, "scaleY"),
    ({"bcid": "code128", "text": "A", "scale": "2.5"}, "whole number"),
    ({"bcid": "code128", "text": "A", "scale": "nan"}, "positive"),
    ({"bcid": "code128", "text": "A", "rotate": "X"}, "N, R, L, I"),
    ({"bcid": "code128", "text": "A", "barcolor": "navy"}, "six hex digits"),
    ({"bcid": "code128", "text": "A", "paddingwidth": "1", "paddingheight": "2"}, "equal"),
])
def test_what_is_not_taken_is_refused_by_name(params: dict[str, str], words: str) -> None:
    with pytest.raises(ApiError) as refused:
        body_of(params)
    assert refused.value.code == "invalid_option" and words in refused.value.message


def test_text_is_required() -> None:
    with pytest.raises(ApiError) as refused:
        body_of({"bcid": "code128"})
    assert refused.value.code == "invalid_request"
