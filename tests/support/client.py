"""A small WebSocket/REST client for tests: what a user's script would do."""
from __future__ import annotations

from typing import Any

import aiohttp

FINAL = ("completed", "failed")


async def next_message(ws: aiohttp.ClientWebSocketResponse, timeout: float = 30.0) -> dict[str, Any]:
    msg: dict[str, Any] = await ws.receive_json(timeout=timeout)
    return msg


async def generate(ws: aiohttp.ClientWebSocketResponse, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send one generate request; return (accepted, final) for it."""
    await ws.send_json({"type": "generate", **fields})
    accepted = await next_message(ws)
    assert accepted["type"] == "accepted", accepted
    final = await next_message(ws)
    assert final["type"] in FINAL, final
    assert final["job_id"] == accepted["job_id"]
    return accepted, final


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, str, bytes]:
    async with session.get(url) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()
