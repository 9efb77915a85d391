"""API keys, company isolation, limits, origin and idle checks, resume-token and URL expiry."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import boto3
import pytest

from devstack.minio import ACCESS_KEY, SECRET_KEY
from devstack.stack import Stack
from services.gateway.edge.auth import KeyRing
from services.gateway.results.tokens import new_client_id, resume_token, token_valid
from tests.support.client import generate, next_message
from tests.support.keys import KEY_A, KEY_B


async def test_keys_bind_callers_to_their_company(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json={"data": "A-ONLY", "symbology": "code128"},
                                headers={"X-API-Key": KEY_A}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"},
                               headers={"X-API-Key": KEY_A}) as resp:
            job = await resp.json()
        assert job["status"] == "completed" and job["company"] == "CompanyA"
        for headers in ({"X-API-Key": KEY_B}, {}):  # another company, or nobody
            # "Not yours" is answered like "not there" (issue 14 item 20: 403 vs 404 told
            # whether a job existed).
            async with session.get(f"{gateway_a}/v1/jobs/{job_id}", headers=headers) as resp:
                assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
            async with session.get(f"{gateway_a}/v1/jobs/{job_id}/file", headers=headers) as resp:
                assert resp.status == 404
        # A wrong key is a 401 whether or not the job exists.
        for some_job in (job_id, "0" * 32):
            async with session.get(f"{gateway_a}/v1/jobs/{some_job}", headers={"X-API-Key": "wrong"}) as resp:
                assert resp.status == 401
        cases = [({"data": "X", "company": "CompanyB"}, {"X-API-Key": KEY_A}, 403, "company_not_allowed"),
                 ({"data": "X", "company": "CompanyA"}, {}, 403, "company_not_allowed"),
                 ({"data": "X"}, {"X-API-Key": "not-a-key"}, 401, "invalid_api_key")]
        for body, headers, status, code in cases:
            async with session.post(f"{gateway_a}/v1/jobs", json=body, headers=headers) as resp:
                assert resp.status == status
                assert (await resp.json())["error"]["code"] == code


async def test_websocket_auth_message_and_company_check(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        await ws.send_json({"type": "generate", "data": "X", "company": "CompanyB"})
        assert (await next_message(ws))["error"]["code"] == "company_not_allowed"
        await ws.send_json({"type": "auth", "api_key": KEY_B})
        authenticated = await next_message(ws)
        assert authenticated["type"] == "authenticated" and authenticated["company"] == "CompanyB"
        _, final = await generate(ws, symbology="code39", data="AS-B")
        assert final["company"] == "CompanyB"


async def test_expired_or_foreign_resume_tokens_are_refused(stack: Stack, gateway_a: str) -> None:
    secret = stack.extra_env["GATEWAY_RESUME_SECRET"].encode()
    me = KeyRing({}, owner_salt=secret).caller(None, "127.0.0.1").owner  # how the gateway sees this test
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            hello = await next_message(ws)
        expired = resume_token(secret, hello["client_id"], me, ttl_s=60, now=time.time() - 120)
        other = resume_token(secret, new_client_id(), me, ttl_s=600)
        foreign = resume_token(secret, hello["client_id"], "company:CompanyB", ttl_s=600)
        assert token_valid(secret, hello["client_id"], me, hello["resume_token"])  # `me` is right
        for token in (expired, other, foreign):
            async with session.ws_connect(f"{gateway_a}/v1/ws", headers={
                    "X-Client-Id": hello["client_id"], "X-Resume-Token": token}) as ws:
                assert (await next_message(ws))["error"]["code"] == "invalid_resume_token"


async def test_presigned_urls_expire(stack: Stack) -> None:
    s3 = boto3.client("s3", endpoint_url=stack.minio.endpoint, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    s3.put_object(Bucket="barcodes", Key="expiry-test", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "barcodes", "Key": "expiry-test"}, ExpiresIn=1)
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            assert resp.status == 200
        await asyncio.sleep(2.5)
        async with session.get(url) as resp:
            assert resp.status == 403
        # Objects are private: no signature, no file.
        async with session.get(f"{stack.minio.endpoint}/barcodes/expiry-test") as resp:
            assert resp.status == 403


@pytest.fixture(scope="module")
def strict_gateway(stack: Stack) -> str:
    gateway = stack.service("gateway-strict", GATEWAY_RATE_LIMIT="2", GATEWAY_RATE_BURST="3",
                            GATEWAY_MAX_SOCKETS_PER_CALLER="2", GATEWAY_IDLE_TIMEOUT_SECONDS="4",
                            GATEWAY_MAX_IN_FLIGHT_PER_SOCKET="1", GATEWAY_ALLOWED_ORIGINS="https://app.example")
    gateway.start()
    yield gateway.url
    gateway.stop()


async def test_rate_limit_answers_429_with_retry_after(strict_gateway: str) -> None:
    async with aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(6):
            async with session.post(f"{strict_gateway}/v1/jobs", json={"data": "RATE"}) as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    assert int(resp.headers["Retry-After"]) >= 1
                    assert (await resp.json())["error"]["code"] == "rate_limited"
        assert statuses[:3] == [202, 202, 202] and 429 in statuses


async def test_reads_count_against_the_budget_too(strict_gateway: str) -> None:
    """Issue 14 item 8: 900 concurrent status reads from one caller got no 429."""
    await asyncio.sleep(1.5)  # the budget of the test before refills
    async with aiohttp.ClientSession() as session:
        async def status(path: str) -> int:
            async with session.get(f"{strict_gateway}{path}") as resp:
                return resp.status
        paths = ["/v1/jobs/" + "0" * 32, "/v1/symbologies", "/openapi.json", "/v1/jobs/x/file"] * 5
        statuses = await asyncio.gather(*(status(p) for p in paths))
        assert statuses.count(429) >= len(paths) - 4  # the burst is 3 (plus what refills meanwhile)
        async with session.get(f"{strict_gateway}/healthz") as resp:
            assert resp.status == 200  # probes are not limited


async def test_socket_limits_origin_in_flight_and_idle_timeout(strict_gateway: str) -> None:
    # Every request takes a token from the caller's budget (burst 3, 2/s), handshakes included:
    # pauses below let it refill so each refusal is the one under test.
    await asyncio.sleep(1.5)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{strict_gateway}/v1/ws", headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 403 and (await resp.json())["error"]["code"] == "origin_not_allowed"
        first = await session.ws_connect(f"{strict_gateway}/v1/ws", headers={"Origin": "https://app.example"})
        second = await session.ws_connect(f"{strict_gateway}/v1/ws")
        await asyncio.sleep(1.0)
        async with session.get(f"{strict_gateway}/v1/ws") as resp:
            assert resp.status == 429 and (await resp.json())["error"]["code"] == "too_many_sockets"
        await next_message(first)
        await asyncio.sleep(1.5)  # let the token bucket refill
        await first.send_json({"type": "generate", "data": "SLOW-1"})
        await first.send_json({"type": "generate", "data": "SLOW-2"})
        replies = [await next_message(first), await next_message(first)]
        codes = {r["type"] if r["type"] != "error" else r["error"]["code"] for r in replies}
        assert {"accepted", "too_many_in_flight"} <= codes
        await second.close()
        # Nothing sent for longer than the idle timeout: the server closes the socket.
        await asyncio.sleep(1.0)
        idle = await session.ws_connect(f"{strict_gateway}/v1/ws")
        await next_message(idle)
        closing = await idle.receive(timeout=10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await first.close()


async def test_a_key_header_that_is_not_utf8_is_refused_401_not_500(gateway_a: str) -> None:
    """Sent as raw bytes (clients would encode it): the gateway answered 500 (UnicodeEncodeError)."""
    host, port = gateway_a.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = b'{"data": "X", "symbology": "code128"}'
    writer.write(b"POST /v1/jobs HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\nX-API-Key: \xff\xfe-not-utf8\r\n"
                 b"Connection: close\r\n\r\n" + body)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.split()[1] == b"401", status_line
