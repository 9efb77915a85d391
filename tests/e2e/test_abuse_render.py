"""Issue 14 through the real gateway and pipeline: what the gateway accepts renders, verifies
and fits the pixel budget; what it cannot is a 400 with a code, never a failed job."""
from __future__ import annotations

import io
import uuid

import aiohttp
import pytest
from PIL import Image

from tests.support.client import fetch


def _deep(levels: int) -> dict[str, object]:
    nested: dict[str, object] = {}
    for _ in range(levels):
        nested = {"a": nested}
    return nested


@pytest.mark.parametrize("body,code", [
    ({"symbology": "qrcode", "data": "A", "options": {"version": 10, "dpi": 2400, "module_width": 0.52,
                                                      "quiet_zone": 50}}, "output_too_large"),
    ({"symbology": "code128", "data": "HELLO", "options": {"quiet_zone": 50, "module_height": 200, "dpi": 2400}},
     "output_too_large"),
    ({"symbology": "code128", "data": "😀"}, "invalid_characters"),
    ({"symbology": "code128", "data": "A", "options": {"foreground": "#ffffff\n"}}, "invalid_option"),
    ({"symbology": "code128", "data": "A", "options": {"module_width": 5.0, "dpi": 2400}}, "invalid_option"),
    ({"data": "A", "options": _deep(200)}, "invalid_option"),
    ({"data": "A", "client_id": "c" * 60_000}, "invalid_request"),
])
async def test_the_attacks_are_refused_at_the_gateway(gateway_a: str, body: dict[str, object], code: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(f"{gateway_a}/v1/jobs", json=body) as resp:
        answer = await resp.json()
    assert (resp.status, answer["error"]["code"]) == (400, code), answer


async def test_the_dry_run_size_is_the_delivered_png(gateway_a: str) -> None:
    body = {"symbology": "qrcode", "data": f"SIZE-{uuid.uuid4().hex[:8]}", "format": "png",
            "options": {"dpi": 600, "module_width": 0.5, "quiet_zone": 4, "rotation": 90}}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/validate", json=body) as resp:
            dry = await resp.json()
        assert resp.status == 200, dry
        async with session.post(f"{gateway_a}/v1/jobs", json=body) as resp:
            queued = await resp.json()
        assert resp.status == 202, queued
        async with session.get(f"{gateway_a}/v1/jobs/{queued['job_id']}", params={"wait": "20"}) as resp:
            job = await resp.json()
        assert job["status"] == "completed", job
        status, _, png = await fetch(session, f"{gateway_a}/v1/jobs/{queued['job_id']}/file")
    assert status == 200
    width, height = Image.open(io.BytesIO(png)).size
    # libzint's size is computed from its vector layout: never below, at most a few pixels above.
    assert width <= dry["width_px"] <= width + 3 and height <= dry["height_px"] <= height + 3
