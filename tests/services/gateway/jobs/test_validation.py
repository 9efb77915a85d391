from __future__ import annotations

import pytest

from services.gateway.edge.errors import ApiError
from services.gateway.jobs.validation import parse_generate

CLIENT = "0123456789abcdef0123456789abcdef"


def test_a_full_request_is_normalised() -> None:
    job = parse_generate({"data": "590123412345", "symbology": "EAN", "format": "PNG", "company": "CompanyA",
                          "request_id": "r", "options": {"write_text": False}}, "j1", CLIENT)
    assert (job.symbology, job.format, job.company, job.client_id) == ("ean13", "png", "CompanyA", CLIENT)
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


def _deep(levels: int) -> dict[str, object]:
    nested: dict[str, object] = {}
    for _ in range(levels):
        nested = {"a": nested}
    return nested


@pytest.mark.parametrize("body,client_id,code", [
    # Issue 14: what the renderer would refuse is refused here, with the renderer's code.
    ({"data": "😀", "symbology": "code128"}, None, "invalid_characters"),
    ({"data": "HELLO", "symbology": "ean13"}, None, "invalid_characters"),
    ({"data": "5901234123458", "symbology": "ean13"}, None, "invalid_check_digit"),
    ({"data": "1" * 2529, "symbology": "pdf417"}, None, "data_too_long"),
    ({"data": "A", "symbology": "code128", "options": {"foreground": "#ffffff\n"}}, None, "invalid_option"),
    ({"data": "A", "symbology": "code128", "options": {"module_width": 5.0, "dpi": 2400}}, None, "invalid_option"),
    ({"data": "A", "symbology": "code128", "options": {"small_text": True, "font_size": 10}}, None, "invalid_option"),
    # The final bitmap (quiet zones, text) over the budget: the attacker's 12201 x 12201 QR.
    ({"data": "A", "symbology": "qrcode",
      "options": {"version": 10, "dpi": 2400, "module_width": 0.52, "quiet_zone": 50}}, None, "output_too_large"),
    ({"data": "HELLO", "symbology": "code128", "format": "png",
      "options": {"quiet_zone": 50, "module_height": 200, "dpi": 2400}}, None, "output_too_large"),
    # Options without a symbology: flat, known, in range; 1000 levels deep is a 400, not a 500.
    ({"data": "A", "options": _deep(1000)}, None, "invalid_option"),
    ({"data": "A", "options": {"dpi": _deep(1000)}}, None, "invalid_option"),
    ({"data": "A", "options": {"foreground": "#000000\n"}}, None, "invalid_option"),
    # A client id has the issued shape, whatever the transport.
    ({"data": "A"}, "c" * 60_000, "invalid_request"),
    ({"data": "A"}, "0123456789ABCDEF0123456789ABCDEF", "invalid_request"),
    ({"data": "A"}, 12, "invalid_request"),
])
def test_what_would_fail_later_is_refused_here(body: dict[str, object], client_id: object, code: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_generate(body, "j1", client_id)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.status) == (code, 400), caught.value.message


def test_what_one_engine_draws_is_accepted_and_sizes_fit() -> None:
    # libzint draws Latin-1 in Code 128 (the Default profile's engine); python-barcode cannot.
    assert parse_generate({"data": "Grüße", "symbology": "code128"}, "j1", CLIENT).data == "Grüße"
    # The same large symbol is fine as a vector: only its (bounded) verification raster is a bitmap.
    parse_generate({"data": "HELLO", "symbology": "code128", "format": "svg",
                    "options": {"quiet_zone": 50, "module_height": 200, "dpi": 2400}}, "j1", None)


@pytest.mark.parametrize("body", [{"data": "A", "engine": "nope"}, {"data": "A", "symbology": "code93",
                                                                    "engine": "python-barcode"}])
async def test_a_dry_run_with_an_engine_the_symbology_lacks_is_a_400(body: dict[str, object]) -> None:
    """Found by `make fuzz`: a KeyError in Symbology.options_for answered 500."""
    from services.gateway.edge.auth import Caller, Limits
    from services.gateway.jobs.costs import Costs
    from services.gateway.jobs.dryrun import dry_run

    with pytest.raises(ApiError) as refused:
        await dry_run(Costs(Limits(0, 1, 1), None, 1.0), Caller("anonymous:x", None), body)
    assert refused.value.status == 400 and refused.value.code == "invalid_request"


def test_structured_gs1_data_with_a_digital_link_is_a_qr_code_of_the_link_not_gs1_mode() -> None:
    body = {"data": {"gs1": {"01": "09506000134352", "10": "ABC123"}}, "options": {"digital_link": True}}
    request = parse_generate(body, "job", None)
    assert (request.symbology, request.data, request.options) == \
        ("qrcode", "(01)09506000134352(10)ABC123", {"digital_link": True})


def test_a_digital_link_as_a_gs1_symbols_data_becomes_its_element_string() -> None:
    link = "https://id.example.com/01/09506000134352/10/ABC%2F1?17=271231"
    request = parse_generate({"symbology": "gs1_128", "data": link}, "job", None)
    assert request.data == "(01)09506000134352(10)ABC/1(17)271231"
    with pytest.raises(ApiError) as refused:
        parse_generate({"symbology": "gs1_128", "data": "https://id.example.com/01/09506000134352/21/1/10/A"},
                       "job", None)
    assert refused.value.code == "invalid_data" and "AI (10)" in refused.value.message
