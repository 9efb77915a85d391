"""The WebSocket path end to end: gateway -> router -> generator -> MinIO -> notifier -> socket."""
from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.support.client import fetch, generate, next_message
from tests.support.decode import decode
from tests.support.keys import KEY_B


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
async def test_generate_over_websocket_and_decode_the_stored_file(gateway_a: str, fmt: str) -> None:
    data = f"WS-{fmt.upper()}-{uuid.uuid4().hex[:8].upper()}"
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        hello = await next_message(ws)
        assert hello["type"] == "hello" and hello["client_id"] and hello["resume_token"]
        accepted, final = await generate(ws, request_id="r-1", symbology="code128", data=data, format=fmt)
        assert accepted["request_id"] == "r-1"
        assert final["type"] == "completed", final
        assert final["request_id"] == "r-1"
        expected_type = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}[fmt]
        assert final["content_type"] == expected_type
        # The signed URL is fetched straight from the object store, as a client would.
        status, content_type, body = await fetch(session, final["url"])
        assert status == 200
        assert decode(body, expected_type) == [data]
        # And through the gateway, for clients that can only reach the gateway.
        status, content_type, body = await fetch(session, final["file_url"])
        assert (status, content_type) == (200, expected_type)
        assert decode(body, expected_type) == [data]


async def test_invalid_check_digit_is_answered_before_kafka(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        await ws.send_json({"type": "generate", "request_id": "bad-ean", "symbology": "ean13",
                            "data": "5901234123458", "format": "png"})
        refused = await next_message(ws)
    assert refused["type"] == "error" and refused["request_id"] == "bad-ean"
    assert refused["error"]["code"] == "invalid_check_digit"
    assert "7" in refused["error"]["message"]  # names the digit it should have been


async def test_unknown_company_gets_the_default_profile(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        # No symbology or format: both come from the profile (Default: code128 as png).
        _, final = await generate(ws, company="NoSuchCompany", data="DEFAULT-PROFILE")
        assert final["type"] == "completed", final
        assert final["company"] == "Default"
        assert final["content_type"] == "image/png"
        status, _, body = await fetch(session, final["url"])
        assert decode(body, "image/png") == ["DEFAULT-PROFILE"]


async def test_company_profile_forbids_a_symbology(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws",
                                                                      headers={"X-API-Key": KEY_B}) as ws:
        await next_message(ws)
        _, final = await generate(ws, company="CompanyB", symbology="ean13", data="5901234123457")
    assert final["type"] == "failed"
    assert final["company"] == "CompanyB"
    assert final["error"]["code"] == "symbology_not_allowed"


BAD_MESSAGES: list[tuple[str, str]] = [
    ("{not json", "invalid_json"),
    ('["a", "list"]', "unknown_message_type"),
    ('{"type": "shout"}', "unknown_message_type"),
    ('{"type": "generate"}', "invalid_request"),
    ('{"type": "generate", "data": 12345}', "invalid_request"),
    ('{"type": "generate", "data": ""}', "invalid_request"),
    ('{"type": "generate", "data": "A", "options": []}', "invalid_request"),
    ('{"type": "generate", "data": "A", "symbology": "nope"}', "unknown_symbology"),
    ('{"type": "generate", "data": "A", "format": "gif"}', "unknown_format"),
    ('{"type": "generate", "data": "123456789", "symbology": "ean8"}', "data_too_long"),
    ('{"type": "generate", "data": "A", "symbology": "code128", "options": {"module_width": 99}}', "invalid_option"),
    ('{"type": "generate", "data": "A", "symbology": "code128", "options": {"colour": 1}}', "invalid_option"),
]


async def test_bad_messages_get_errors_and_the_socket_keeps_working(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        for text, code in BAD_MESSAGES:
            await ws.send_str(text)
            reply = await next_message(ws)
            assert reply["type"] == "error", (text, reply)
            assert reply["error"]["code"] == code, (text, reply)
            assert reply["error"]["message"]
        await ws.send_bytes(b"\x00\x01binary")
        reply = await next_message(ws)
        assert reply["error"]["code"] == "invalid_request"
        await ws.send_str('{"type": "generate", "data": "' + "A" * 70_000 + '"}')
        reply = await next_message(ws)
        assert reply["error"]["code"] == "payload_too_large"
        # An error carries the request_id when the client gave one.
        await ws.send_str('{"type": "generate", "request_id": "x9", "data": "A", "format": "bmp"}')
        reply = await next_message(ws)
        assert reply["request_id"] == "x9"
        # After all that, the same socket still gets work done.
        _, final = await generate(ws, symbology="code39", data="STILL-OPEN")
        assert final["type"] == "completed"
        assert not ws.closed


async def test_an_oversized_output_is_refused_before_drawing(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        await ws.send_json({"type": "generate", "symbology": "qrcode", "data": "X" * 500,
                            "options": {"module_width": 2, "dpi": 2400}})
        refused = await next_message(ws)
    assert refused["type"] == "error" and refused["error"]["code"] == "output_too_large"
