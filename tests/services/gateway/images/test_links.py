"""Signed image links: what a signature covers, expiry, revocation by rotation, and a link read
back as the parameters that made it."""
from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from services.contract import GenerateRequest
from services.gateway.edge.errors import ApiError
from services.gateway.images import links
from services.gateway.images.query import body_of


def _params(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


PARAMS = {"symbology": "code128", "data": "SKU-1", "format": "png", "company": "CompanyA", "dpi": "300"}


def test_a_link_verifies_to_its_parameters() -> None:
    query = _params(links.signed(PARAMS, b"secret", 0, expires=2_000_000_000))
    assert links.verified(query, b"secret", {}, now=1_900_000_000) == PARAMS


@pytest.mark.parametrize("change", [{"data": "SKU-2"}, {"company": "CompanyB"}, {"dpi": "600"},
                                    {"expires": "2100000000"}, {"sig": "0" * 64}, {"extra": "1"}])
def test_any_change_breaks_the_signature(change: dict[str, str]) -> None:
    query = {**_params(links.signed(PARAMS, b"secret", 0, expires=2_000_000_000)), **change}
    with pytest.raises(ApiError) as refused:
        links.verified(query, b"secret", {}, now=1_900_000_000)
    assert refused.value.code == "invalid_link" and refused.value.status == 403


def test_an_expired_link_is_refused_and_a_permanent_one_is_not() -> None:
    query = _params(links.signed(PARAMS, b"secret", 0, expires=1000))
    with pytest.raises(ApiError, match="expired"):
        links.verified(query, b"secret", {}, now=1001)
    forever = _params(links.signed(PARAMS, b"secret", 0, expires=None))
    assert "expires" not in forever and links.verified(forever, b"secret", {}, now=4e9) == PARAMS


def test_raising_a_companys_rotation_revokes_its_links_only() -> None:
    query_a = _params(links.signed(PARAMS, b"secret", 0, expires=None))
    query_b = _params(links.signed({**PARAMS, "company": "CompanyB"}, b"secret", 0, expires=None))
    with pytest.raises(ApiError):
        links.verified(query_a, b"secret", {"CompanyA": 1})
    assert links.verified(query_b, b"secret", {"CompanyA": 1})["company"] == "CompanyB"
    assert links.verified(_params(links.signed(PARAMS, b"secret", 1, expires=None)), b"secret", {"CompanyA": 1})


@pytest.mark.parametrize("sig", ["é" * 64, "short", "g" * 64])
def test_a_signature_that_is_not_even_hex_is_refused_not_a_crash(sig: str) -> None:
    query = {**_params(links.signed(PARAMS, b"secret", 0, None)), "sig": sig}
    with pytest.raises(ApiError) as refused:
        links.verified(query, b"secret", {})
    assert refused.value.code == "invalid_link"


def test_the_anonymous_profiles_links_are_revoked_whether_named_default_or_not() -> None:
    for company in ("Default", None):
        params = {k: v for k, v in PARAMS.items() if k != "company"} | ({"company": company} if company else {})
        query = _params(links.signed(params, b"secret", links.rotation_of({}, company), None))
        assert links.verified(query, b"secret", {})
        with pytest.raises(ApiError):
            links.verified(query, b"secret", {"": 1})  # GATEWAY_LINK_ROTATIONS=Default=1


def test_another_secret_is_a_foreign_link() -> None:
    with pytest.raises(ApiError):
        links.verified(_params(links.signed(PARAMS, b"secret", 0, None)), b"other", {})


def test_a_request_made_into_a_link_reads_back_as_the_same_body() -> None:
    request = GenerateRequest(job_id="", data="A&B=C", symbology="qrcode", format="svg", company="CompanyA",
                              options={"ecc_level": "H", "module_width": 0.5, "rotation": 90, "gs1": False})
    body = body_of(links.verified(_params(links.signed(links.query_of(request), b"s", 0, None)), b"s", {}))
    assert body == {"symbology": "qrcode", "data": "A&B=C", "format": "svg", "company": "CompanyA",
                    "options": {"ecc_level": "H", "module_width": 0.5, "rotation": 90, "gs1": False}}
