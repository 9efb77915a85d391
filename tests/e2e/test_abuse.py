"""The attacks of issue 14, each replayed against real gateways: what was let through then is
refused now, and the refusal is an answer a client can act on (a code, a close code)."""
from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
import uuid
from collections.abc import Iterator

import aiohttp
import orjson
import pytest

from devstack.stack import Stack
from tests.support.client import generate, next_message, proof, resume_headers
from tests.support.keys import KEY_A, KEY_B
from tests.support.metrics import scrape

PUBLIC_URL = "http://barcodes.example:8443"


@pytest.fixture(scope="module")
def guarded(stack: Stack) -> Iterator[str]:
    """A gateway with tight abuse settings (the shared ones have their limits off)."""
    gateway = stack.service(
        "gateway-guarded", GATEWAY_RATE_LIMIT="0", GATEWAY_AUTH_FAILURE_BURST="6",
        GATEWAY_AUTH_FAILURES_PER_MINUTE="1", GATEWAY_PUBLIC_URL=PUBLIC_URL, GATEWAY_URL_TTL_SECONDS="2",
        GATEWAY_SLOW_CLIENT_SECONDS="2", GATEWAY_SOCKET_SEND_BUFFER_BYTES="4096",
        GATEWAY_HEADER_TIMEOUT_SECONDS="2")
    gateway.start()
    yield gateway.url
    gateway.stop()


async def _post(session: aiohttp.ClientSession, url: str, body: object, **kwargs: object) -> tuple[int, dict]:
    async with session.post(f"{url}/v1/jobs", json=body, **kwargs) as resp:  # type: ignore[arg-type]
        return resp.status, await resp.json()


async def _nothing_else(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_json({"type": "ping"})
    assert (await next_message(ws))["type"] == "pong"


async def test_a_rest_caller_cannot_push_results_into_another_socket(gateway_a: str) -> None:
    """Items 4 and 13: naming a socket's client_id in POST /v1/jobs delivered the result there."""
    async with aiohttp.ClientSession() as session, \
            aiohttp.ClientSession(headers={"X-API-Key": KEY_A}) as company_a:
        async with session.ws_connect(f"{gateway_a}/v1/ws", headers={"X-API-Key": KEY_B}) as victim:
            hello = await next_message(victim)
            body = {"data": "INJECTED", "client_id": hello["client_id"]}
            status, refused = await _post(session, gateway_a, body)  # no token
            assert status == 403 and refused["error"]["code"] == "invalid_resume_token"
            status, refused = await _post(company_a, gateway_a, body, headers=proof(hello))  # a stolen token
            assert status == 403 and refused["error"]["code"] == "invalid_resume_token"
            status, refused = await _post(session, gateway_a, {"data": "X", "client_id": "c" * 60_000})
            assert status == 400 and refused["error"]["code"] == "invalid_request"
            await _nothing_else(victim)
            # Its owner, with its token, may.
            async with aiohttp.ClientSession(headers={"X-API-Key": KEY_B}) as owner:
                status, _ = await _post(owner, gateway_a, {"data": "MINE", "client_id": hello["client_id"]},
                                        headers=proof(hello))
            assert status == 202
            assert (await next_message(victim))["type"] == "completed"


async def test_a_resume_token_works_only_for_the_caller_it_was_issued_to(gateway_a: str, gateway_b: str) -> None:
    """Item 14: key A resuming with B's client_id and token received B's results."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            await ws.send_json({"type": "auth", "api_key": KEY_B})
            b = await next_message(ws)
            assert b["type"] == "authenticated" and b["company"] == "CompanyB"
            await generate(ws, data="B-ONLY", symbology="code128")
        for headers in ({"X-API-Key": KEY_A}, {}):  # another company, or nobody
            async with session.ws_connect(f"{gateway_b}/v1/ws", headers={**headers, **resume_headers(b)}) as ws:
                assert (await next_message(ws))["error"]["code"] == "invalid_resume_token"
                await ws.receive(timeout=10)
                assert ws.close_code == 1008
        # The same key resumes, with the token in a message after auth (as the page does).
        async with session.ws_connect(f"{gateway_b}/v1/ws") as ws:
            await next_message(ws)
            await ws.send_json({"type": "auth", "api_key": KEY_B})
            await next_message(ws)
            await ws.send_json({"type": "resume", "client_id": b["client_id"], "resume_token": b["resume_token"]})
            hello = await next_message(ws)
            assert hello == {**hello, "type": "hello", "client_id": b["client_id"], "resumed": True}


async def test_wrong_keys_are_limited_per_address_and_close_a_socket(guarded: str) -> None:
    """Item 15: 60 wrong keys in 0.76 s were each answered 401, and 100 wrong `auth` messages on
    one socket were followed by the right one, accepted."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{guarded}/v1/ws") as ws:
            await next_message(ws)
            for n in range(3):
                await ws.send_json({"type": "auth", "api_key": f"guess-{n}"})
                assert (await next_message(ws))["error"]["code"] == "invalid_api_key"
            closing = await ws.receive(timeout=10)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) and ws.close_code == 1008
        statuses = []
        for n in range(4):
            async with session.get(f"{guarded}/v1/symbologies", headers={"X-API-Key": f"guess-{n}"}) as resp:
                statuses.append(resp.status)
        assert statuses == [401, 401, 401, 429]
        async with session.get(f"{guarded}/v1/symbologies", headers={"X-API-Key": KEY_A}) as resp:
            assert resp.status == 429  # the right key too, until the budget refills
            assert (await resp.json())["error"]["code"] == "too_many_auth_failures" and "Retry-After" in resp.headers
        async with session.get(f"{guarded}/v1/symbologies") as resp:
            assert resp.status == 200  # without a key nothing is guessed: not limited by it


async def test_an_oversized_key_header_is_refused_without_echoing_it(stack: Stack, guarded: str) -> None:
    """Item 16: a key in an oversized header came back in the 400 body and went into the log."""
    secret = "SECRET-" + uuid.uuid4().hex + "x" * 9000
    host, port = guarded.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /v1/symbologies HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {secret}\r\n"
                 "Connection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")) and b"bad_request" in answer
    assert b"SECRET-" not in answer
    await asyncio.sleep(0.5)
    assert "SECRET-" not in (stack.root / "logs" / "gateway-guarded.log").read_text(errors="replace")


async def test_cross_site_writes_are_refused(gateway_a: str) -> None:
    """Item 17: a text/plain form or a no-cors fetch from another origin created jobs."""
    async with aiohttp.ClientSession() as session:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            async with session.post(f"{gateway_a}/v1/jobs", data=b'{"data": "CSRF"}',
                                    headers={"Content-Type": content_type}) as resp:
                assert resp.status == 415 and (await resp.json())["error"]["code"] == "unsupported_media_type"
        status, refused = await _post(session, gateway_a, {"data": "CSRF"}, headers={"Origin": "https://evil.example"})
        assert status == 403 and refused["error"]["code"] == "origin_not_allowed"
        async with session.post(f"{gateway_a}/v1/validate", data=b'{"data": "X"}',
                                headers={"Content-Type": "text/plain"}) as resp:
            assert resp.status == 415
        status, _ = await _post(session, gateway_a, {"data": "SAME-ORIGIN"}, headers={"Origin": gateway_a})
        assert status == 202


async def test_responses_carry_security_headers_and_no_server_version(gateway_a: str) -> None:
    """Item 18: no CSP, no nosniff, framable, and the server version advertised."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json={"data": "SVG-CSP", "format": "svg",
                                                              "symbology": "qrcode"}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
            headers = resp.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Server"] == "barcode-gateway"
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}/file") as resp:
            assert resp.status == 200 and resp.content_type == "image/svg+xml"
            csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp and "script" not in csp.replace("default-src", "")


async def test_links_use_the_public_url_and_foreign_hosts_are_refused(guarded: str) -> None:
    """Item 7: the Host header became our links, and any Host passed the Origin check (DNS
    rebinding: a page on evil.example resolving to us sends Host and Origin evil.example)."""
    async with aiohttp.ClientSession() as session:
        rebound = {"Host": "evil.example:8080", "Origin": "http://evil.example:8080"}
        async with session.get(f"{guarded}/v1/ws", headers=rebound) as resp:
            assert resp.status == 421 and (await resp.json())["error"]["code"] == "host_not_allowed"
        async with session.get(f"{guarded}/openapi.json", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 421
        async with session.get(f"{guarded}/openapi.json") as resp:
            assert (await resp.json())["servers"] == [{"url": PUBLIC_URL}]
        async with session.get(f"{guarded}/healthz", headers={"Host": "10.244.0.7:8080"}) as resp:
            assert resp.status == 200  # probes come with the pod address as Host
        status, queued = await _post(session, guarded, {"data": "LINKS"}, headers={"Host": "localhost"})
        assert status == 202
        async with session.get(f"{guarded}/v1/jobs/{queued['job_id']}", params={"wait": "20"}) as resp:
            job = await resp.json()
        assert job["file_url"] == f"{PUBLIC_URL}/v1/jobs/{queued['job_id']}/file"


async def test_job_status_signs_the_url_on_every_read(guarded: str) -> None:
    """Item 10: status kept returning the URL signed when the job finished, long expired."""
    async with aiohttp.ClientSession() as session:
        status, queued = await _post(session, guarded, {"data": f"FRESH-{uuid.uuid4().hex[:8]}"})
        assert status == 202
        async with session.get(f"{guarded}/v1/jobs/{queued['job_id']}", params={"wait": "20"}) as resp:
            first = await resp.json()
        assert first["status"] == "completed" and "cached" not in first
        await asyncio.sleep(3.2)  # GATEWAY_URL_TTL_SECONDS=2: the first URL has expired
        async with session.get(first["url"]) as resp:
            assert resp.status == 403
        async with session.get(f"{guarded}/v1/jobs/{queued['job_id']}") as resp:
            again = await resp.json()
        assert again["url"] != first["url"]
        async with session.get(again["url"]) as resp:
            assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")


async def test_slow_request_headers_are_cut_off(guarded: str) -> None:
    """Item 11: a client trickling its headers held a connection about 78 s."""
    host, port = guarded.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.monotonic()
    writer.write(f"GET /v1/symbologies HTTP/1.1\r\nHost: {host}\r\n".encode())
    closed_after = None
    for _ in range(40):  # one header byte every 0.25 s, never the blank line
        await asyncio.sleep(0.25)
        if reader.at_eof():
            closed_after = time.monotonic() - started
            break
        try:
            writer.write(b"X")
            await writer.drain()
        except ConnectionError:
            closed_after = time.monotonic() - started
            break
        try:
            if await asyncio.wait_for(reader.read(1), 0.01) == b"":
                closed_after = time.monotonic() - started
                break
        except TimeoutError:
            pass
    writer.close()
    assert closed_after is not None and closed_after < 5  # GATEWAY_HEADER_TIMEOUT_SECONDS=2


async def test_too_many_headers_are_refused(guarded: str) -> None:
    """Item 11: 120 headers of 8 KB were accepted."""
    async with aiohttp.ClientSession() as session:
        headers = {f"X-Filler-{n}": "y" * 100 for n in range(120)}
        async with session.get(f"{guarded}/v1/symbologies", headers=headers) as resp:
            assert resp.status == 400
        async with session.get(f"{guarded}/v1/symbologies", headers={"X-Big": "y" * 9000}) as resp:
            assert resp.status == 400


async def test_validate_obeys_the_key(gateway_a: str) -> None:
    """Item 20: /v1/validate ignored the key (and the limiter)."""
    async with aiohttp.ClientSession() as session:
        for headers, status in (({}, 403), ({"X-API-Key": "wrong"}, 401), ({"X-API-Key": KEY_B}, 403),
                                ({"X-API-Key": KEY_A}, 200)):
            async with session.post(f"{gateway_a}/v1/validate", json={"data": "X", "company": "CompanyA"},
                                    headers=headers) as resp:
                assert resp.status == status, headers


def _frame(payload: bytes) -> bytes:
    """One masked client text frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack("!H", size))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def test_a_client_that_stops_reading_is_closed(guarded: str) -> None:
    """Item 9: after 3,000 results were queued into the kernel, a client that had stopped
    reading was still open: only a full queue (GATEWAY_SOCKET_QUEUE, 1000) closed it. Here far
    fewer messages than that fill the buffers, and the gateway cuts the socket once a write has
    waited GATEWAY_SLOW_CLIENT_SECONDS (2 here), long before its heartbeat would (30 s)."""
    host, port = guarded.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, set before connecting
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(f"GET /v1/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    data = f"UNREAD-{uuid.uuid4().hex[:8]}"
    for n in range(240):  # progress steps too: about 960 messages, under the queue's 1000
        writer.write(_frame(orjson.dumps({"type": "generate", "data": data, "progress": True, "request_id": str(n)})))
    await writer.drain()
    # Read nothing for a while: results pile up in the buffers until the gateway gives up.
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            if (await scrape(session, guarded))["barcode_gateway_websockets"] == 0:
                break
        else:
            raise AssertionError("the socket of a client that stopped reading is still open after 20 s")
    # What the kernel still held reaches the client, then the connection ends (with the 1013
    # close frame if it fit in the buffers; the documented bound is on what we hold, not that).
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 10):
            received += chunk
    except ConnectionError:
        pass
    writer.close()
    assert len(received) < 2_000_000  # bounded: not thousands of results


def _deep_request(depth: int, key: str) -> str:
    """A generate body whose options nest `depth` objects deep (as text: no encoder takes it)."""
    options = '{"x": ' * depth + "1" + "}" * depth
    return f'{{"type": "generate", "data": "DEEP", "idempotency_key": "{key}", "options": {options}}}'


async def test_deeply_nested_options_are_a_400_and_leave_the_key_free(gateway_a: str) -> None:
    """Item 3: options nested ~260 deep without a symbology gave a plain-text 500, the key of that
    request then answered with a job that stayed queued forever, and on a WebSocket the same
    message dropped the socket (1006)."""
    key = uuid.uuid4().hex
    for depth in (260, 1000):
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{gateway_a}/v1/jobs", data=_deep_request(depth, key),
                                    headers={"Content-Type": "application/json"}) as resp:
                assert resp.status == 400, depth
                assert (await resp.json())["error"]["code"] in ("invalid_option", "invalid_json")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", data=_deep_request(260, key),
                                headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 400 and (await resp.json())["error"]["code"] in ("invalid_option", "invalid_json")
        status, queued = await _post(session, gateway_a, {"data": "DEEP", "idempotency_key": key})
        assert status == 202  # the key was never bound to the refused request
        async with session.get(f"{gateway_a}/v1/jobs/{queued['job_id']}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            await ws.send_str(_deep_request(260, key))
            assert (await next_message(ws))["type"] == "error"
            await _nothing_else(ws)  # still open


async def test_a_replica_without_keys_does_not_expose_a_keyed_companys_jobs(stack: Stack, gateway_a: str) -> None:
    """Item 20: replicas with different key settings on the same topics exposed keyed jobs
    through the keyless one. The owner travels with the request, so the keyless replica says
    404 like the others would."""
    keyless = stack.service("gateway-keyless", GATEWAY_API_KEYS="", GATEWAY_RATE_LIMIT="0")
    keyless.start()
    try:
        async with aiohttp.ClientSession(headers={"X-API-Key": KEY_A}) as company_a, \
                aiohttp.ClientSession() as anyone:
            status, queued = await _post(company_a, gateway_a, {"data": f"KEYED-{uuid.uuid4().hex[:8]}",
                                                                "symbology": "code128"})
            assert status == 202
            async with company_a.get(f"{gateway_a}/v1/jobs/{queued['job_id']}", params={"wait": "20"}) as resp:
                assert (await resp.json())["status"] == "completed"
            for path in (f"/v1/jobs/{queued['job_id']}", f"/v1/jobs/{queued['job_id']}/file"):
                async with anyone.get(f"{keyless.url}{path}") as resp:
                    assert resp.status == 404, path
        log = keyless.log_path.read_text(errors="replace")
        assert "replicas must share GATEWAY_API_KEYS" in log  # said loudly, once per company
    finally:
        keyless.stop()
