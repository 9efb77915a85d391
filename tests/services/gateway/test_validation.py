from __future__ import annotations

import pytest

from services.gateway.errors import ApiError
from services.gateway.validation import parse_generate


def test_a_full_request_is_normalised() -> None:
    job = parse_generate({"data": "ABC", "symbology": "EAN", "format": "PNG", "company": "CompanyA",
                          "request_id": "r", "options": {"write_text": False}}, "j1", "c1")
    assert (job.symbology, job.format, job.company, job.client_id) == ("ean13", "png", "CompanyA", "c1")
    assert job.trace["gateway_in"] > 0


def test_symbology_and_format_may_come_from_the_profile() -> None:
    job = parse_generate({"data": "ABC"}, "j1", None)
    assert job.symbology is None and job.format is None and job.options == {}


@pytest.mark.parametrize("body,code,status", [
    ("text", "invalid_request", 400),
    ({"data": 1}, "invalid_request", 400),
    ({"data": "A", "company": ["x"]}, "invalid_request", 400),
    ({"data": "A", "company": "x" * 65}, "invalid_request", 400),
    ({"data": "A", "options": "big"}, "invalid_request", 400),
    ({"data": "A", "symbology": "nope"}, "unknown_symbology", 400),
    ({"data": "A", "format": "jpeg"}, "unknown_format", 400),
    ({"data": "1234567890", "symbology": "pzn"}, "data_too_long", 400),
    ({"data": "A", "symbology": "code128", "options": {"write_text": "yes"}}, "invalid_option", 400),
    ({"data": "A", "symbology": "code128", "options": {"foreground": "red"}}, "invalid_option", 400),
    ({"data": "A", "symbology": "code128", "options": {"checksum": True}}, "invalid_option", 400),
])
def test_rejections(body: object, code: str, status: int) -> None:
    with pytest.raises(ApiError) as caught:
        parse_generate(body, "j1", None)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.body()["error"]["message"]
