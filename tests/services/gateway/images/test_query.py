"""Our own GET parameters as a job's body: options read by their declared type."""
from __future__ import annotations

import pytest
from multidict import MultiDict

from services.gateway.edge.errors import ApiError
from services.gateway.images.query import body_of


def test_options_are_read_by_their_type_and_png_is_the_default() -> None:
    body = body_of(MultiDict(symbology="code128", data="A1", dpi="300", module_width="0.33", write_text="false",
                             foreground="#000080"))
    assert body == {"symbology": "code128", "data": "A1", "format": "png",
                    "options": {"dpi": 300, "module_width": 0.33, "write_text": False, "foreground": "#000080"}}


@pytest.mark.parametrize("raw, option", [("true", True), ("false", False),
                                          ("https://id.example.com", "https://id.example.com")])
def test_digital_link_is_true_false_or_the_resolver_s_address(raw: str, option: object) -> None:
    body = body_of(MultiDict(symbology="qrcode", data="(01)09506000134352", digital_link=raw))
    assert body["options"] == {"digital_link": option}


def test_bcid_switches_to_bwip_js_parameters() -> None:
    assert body_of(MultiDict(bcid="ean13", text="5901234123457"))["symbology"] == "ean13"


@pytest.mark.parametrize("params, code", [
    (MultiDict(data="A"), "invalid_request"),
    (MultiDict(symbology="code128", data="A", dpi="high"), "invalid_option"),
    (MultiDict(symbology="code128", data="A", module_width="inf"), "invalid_option"),
    (MultiDict(symbology="code128", data="A", write_text="maybe"), "invalid_option"),
    (MultiDict([("symbology", "code128"), ("data", "A"), ("data", "B")]), "invalid_request"),
    (MultiDict([("bcid", "code128"), ("text", "A"), ("TEXT", "B")]), "invalid_request"),
])
def test_refusals(params: MultiDict[str], code: str) -> None:
    with pytest.raises(ApiError) as refused:
        body_of(params)
    assert refused.value.code == code


def test_an_unknown_parameter_travels_on_to_be_refused_by_the_option_check() -> None:
    assert body_of(MultiDict(symbology="code128", data="A", colour="red"))["options"] == {"colour": "red"}
