"""The same render request maps to the same object, and a repeat is not rendered again."""
from __future__ import annotations

import uuid

import aiohttp

from tests.support.client import generate, next_message


async def test_same_request_twice_same_key_second_not_rendered(gateway_a: str) -> None:
    request = {"symbology": "code128", "data": f"TWICE-{uuid.uuid4().hex[:8]}", "format": "svg",
               "options": {"module_height": 12}}
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        _, first = await generate(ws, **request)
        _, second = await generate(ws, **request)
        _, different = await generate(ws, **{**request, "format": "png"})
    assert first["type"] == second["type"] == "completed"
    assert first["job_id"] != second["job_id"]
    key = first["url"].split("?")[0]
    assert second["url"].split("?")[0] == key
    # Clients are not told whether a file was already stored (issue 14 item 10); the trace still
    # shows where the time went: the repeat was never drawn.
    assert "cached" not in first and "cached" not in second
    assert "rendered" in first["trace"] and "rendered" not in second["trace"]
    assert different["url"].split("?")[0] != key
