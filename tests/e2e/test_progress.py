"""Jobs that ask for progress get each step on the socket as it happens, then the result."""
from __future__ import annotations

import uuid

import aiohttp

from tests.support.client import FINAL, generate, next_message


async def _until_final(ws: aiohttp.ClientWebSocketResponse) -> list[dict]:
    seen = []
    while not seen or seen[-1]["type"] not in FINAL:
        seen.append(await next_message(ws))
    return seen


async def test_progress_steps_arrive_in_order_before_the_result(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)  # hello
        await ws.send_json({"type": "generate", "data": f"STEPS-{uuid.uuid4().hex[:8]}", "symbology": "code128",
                            "progress": True, "request_id": "r1"})
        accepted, *steps, final = await _until_final(ws)
    assert accepted["type"] == "accepted"
    assert [s["step"] for s in steps] == ["routed", "rendered", "stored"]
    assert all(s["job_id"] == accepted["job_id"] and s["request_id"] == "r1" for s in steps)
    times = [s["at_ms"] for s in steps]
    assert times == sorted(times)
    assert steps[0]["detail"]["company"] == "Default"
    assert steps[1]["detail"] == {"verified": True, "size_bytes": final["size_bytes"]}
    assert "detail" not in steps[2]  # nothing about whether it was stored before (issue 14 item 10)
    assert final["type"] == "completed" and final["verified"] is True and final["size_bytes"] > 100


async def test_without_progress_the_result_follows_accepted(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        _, final = await generate(ws, data=f"QUIET-{uuid.uuid4().hex[:8]}", symbology="code128")
    assert final["type"] == "completed" and final["verified"] is True


async def test_progress_must_be_a_boolean(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        await ws.send_json({"type": "generate", "data": "X", "progress": "yes"})
        error = await next_message(ws)
    assert error["error"] == {"code": "invalid_request", "message": "progress must be true or false"}


async def test_a_repeat_served_from_storage_does_not_tell_the_caller_so(gateway_a: str) -> None:
    """Issue 14 item 10: `cached: true` told a caller that someone else had made the same barcode."""
    data = f"AGAIN-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        for attempt in ("first", "again"):
            await ws.send_json({"type": "generate", "data": data, "symbology": "code128", "progress": True,
                                "request_id": attempt})
            accepted, *steps, final = await _until_final(ws)
    # The generator that gets the repeat either knows the key (no render) or finds the object
    # already stored by its conditional PUT; the caller sees a stored job either way.
    assert final["type"] == "completed" and "cached" not in final
    # Steps are best effort: on a busy machine the result can overtake them, and a step after the
    # result is dropped. Those that came must say nothing about an earlier copy.
    assert [s["step"] for s in steps] in ([], ["routed"], ["routed", "stored"], ["routed", "rendered"],
                                          ["routed", "rendered", "stored"])
    assert all("cached" not in s.get("detail", {}) for s in steps)
