"""Bad input at scale: the REST API fuzzed from its OpenAPI document (schemathesis), and the
WebSocket protocol with hypothesis-generated frames. No 5xx, no crash, no stuck socket, every
rejection a documented error code."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack import paths
from tests.support.client import next_message

DOCUMENTED = set(re.findall(r"^\| `([a-z_]+)` \|", (paths.ROOT / "docs" / "api.md").read_text(), re.M))


def test_rest_api_fuzzed_from_its_openapi_document(gateway_a: str) -> None:
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "run", f"{gateway_a}/openapi.json", "--checks",
         "not_a_server_error", "--max-examples", "25", "--workers", "2"],
        capture_output=True, text=True, timeout=600)
    summary = run.stdout[-1500:]
    print(summary)
    # A finding (a 5xx) is listed under "Failures" and fails this test. schemathesis 4.32 on
    # CPython 3.11 also reports its own crashes inside hypothesis ("Runtime Error": "AST
    # constructor recursion depth mismatch") for some generated strategies; those are tool
    # errors, not answers of ours, and only the cases it did run are counted.
    assert "Server error" not in run.stdout and "Failures" not in summary, summary
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated is not None, summary
    assert int(generated.group(1)) == int(generated.group(2)) >= 150  # cases tried, all answered


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)
GENERATE_LIKE = st.fixed_dictionaries({"type": st.just("generate")}, optional={
    "data": JSON | st.text(max_size=300), "symbology": JSON | st.sampled_from(["qrcode", "ean13", "nope"]),
    "format": JSON | st.sampled_from(["png", "svg", "gif"]), "options": JSON, "company": JSON,
    "request_id": JSON, "idempotency_key": JSON})
FRAMES = st.one_of(
    JSON.map(lambda v: ("text", json.dumps(v))),
    GENERATE_LIKE.map(lambda v: ("text", json.dumps(v))),
    st.text(max_size=200).map(lambda t: ("text", t)),
    st.integers(1, 30).map(lambda depth: ("text", "[" * depth * 40 + "]" * depth * 40)),
    st.integers(60_000, 70_000).map(lambda n: ("text", json.dumps({"type": "generate", "data": "A" * n}))),
    st.binary(max_size=100).map(lambda b: ("binary", b)),
    st.just(("binary", b"\xff\xfe\xc3\x28 invalid utf-8")),
)


def test_websocket_protocol_fuzzed_with_generated_frames(gateway_a: str) -> None:
    tried = 0

    async def exchange(frames: list[tuple[str, object]]) -> None:
        nonlocal tried
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            for kind, payload in frames:
                tried += 1
                if kind == "text":
                    await ws.send_str(str(payload))
                else:
                    await ws.send_bytes(bytes(payload))  # type: ignore[arg-type]
                reply = await next_message(ws, timeout=20)
                while reply["type"] in ("completed", "failed"):  # results of accepted jobs may interleave
                    reply = await next_message(ws, timeout=20)
                if reply["type"] == "error":
                    assert reply["error"]["code"] in DOCUMENTED, reply
                else:
                    assert reply["type"] == "accepted", reply
            await ws.send_json({"type": "ping"})
            while (await next_message(ws, timeout=20))["type"] != "pong":
                pass  # still open and answering
            assert not ws.closed

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(frames=st.lists(FRAMES, min_size=1, max_size=8))
    def run(frames: list[tuple[str, object]]) -> None:
        asyncio.run(exchange(frames))

    run()
    print(f"websocket fuzz: {tried} frames")
    assert tried >= 40
