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


def resume_headers(hello: dict[str, Any], last_seq: int | None = None) -> dict[str, str]:
    """Handshake headers that resume the client a `hello` (or `authenticated`) named."""
    headers = {"X-Client-Id": hello["client_id"], "X-Resume-Token": hello["resume_token"]}
    if last_seq is not None:
        headers["X-Last-Seq"] = str(last_seq)
    return headers


def proof(hello: dict[str, Any]) -> dict[str, str]:
    """The header a REST request needs to send its result to that socket's client id."""
    return {"X-Resume-Token": hello["resume_token"]}
