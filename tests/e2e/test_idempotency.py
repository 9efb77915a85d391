"""A repeated request with the same idempotency_key returns the original job; a resuming
client that says which result it saw last gets exactly what came after."""
from __future__ import annotations

import asyncio
import uuid

import aiohttp

from tests.support.client import generate, next_message, proof, resume_headers
from tests.support.keys import KEY_A


async def test_rest_repeat_returns_the_original_job_on_any_replica(gateway_a: str, gateway_b: str) -> None:
    key = uuid.uuid4().hex
    body = {"data": "ONCE-ONLY", "symbology": "code128", "idempotency_key": key, "company": "CompanyA"}
    async with aiohttp.ClientSession(headers={"X-API-Key": KEY_A}) as session:
        async with session.post(f"{gateway_a}/v1/jobs", json=body) as resp:
            assert resp.status == 202
            first = await resp.json()
        async with session.get(f"{gateway_a}/v1/jobs/{first['job_id']}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
        for url in (gateway_a, gateway_b):
            async with session.post(f"{url}/v1/jobs", json=body) as resp:
                assert resp.status == 200
                again = await resp.json()
            assert again == {"job_id": first["job_id"], "status": "completed", "replayed": True}
        async with session.post(f"{gateway_a}/v1/jobs", json={**body, "idempotency_key": key + "-other"}) as resp:
            assert resp.status == 202 and (await resp.json())["job_id"] != first["job_id"]


async def test_rest_repeat_at_once_on_the_other_replica_is_the_same_job(gateway_a: str, gateway_b: str) -> None:
    # Replicas read each other's requests in batches; a new key waits for that feed to catch up.
    body = {"data": "RETRY-ELSEWHERE", "idempotency_key": uuid.uuid4().hex}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json=body) as resp:
            assert resp.status == 202
            first = await resp.json()
        async with session.post(f"{gateway_b}/v1/jobs", json=body) as resp:
            assert resp.status == 200
            again = await resp.json()
    assert again["job_id"] == first["job_id"] and again["replayed"] is True


async def test_two_replicas_taking_the_same_new_key_at_once_make_one_job(gateway_a: str, gateway_b: str) -> None:
    """Issue 14 item 1: both replicas see a new key at the same instant; one job, not two."""
    body = {"data": f"RACE-{uuid.uuid4().hex[:8]}", "idempotency_key": uuid.uuid4().hex}
    async with aiohttp.ClientSession() as session:
        async def post(url: str) -> dict[str, object]:
            async with session.post(f"{url}/v1/jobs", json=body) as resp:
                assert resp.status in (200, 202)
                return await resp.json()  # type: ignore[no-any-return]
        answers = await asyncio.gather(*(post(url) for url in (gateway_a, gateway_b, gateway_a, gateway_b)))
    assert len({a["job_id"] for a in answers}) == 1


async def test_the_same_key_with_other_parameters_is_refused(gateway_a: str, gateway_b: str) -> None:
    """Issue 14 item 1: a replay ignored the body (and answered with the first request's file)."""
    key = uuid.uuid4().hex
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json={"data": "FIRST", "idempotency_key": key}) as resp:
            first = await resp.json()
        for url in (gateway_a, gateway_b):
            async with session.post(f"{url}/v1/jobs", json={"data": "SECOND", "idempotency_key": key}) as resp:
                refusal = await resp.json()
                assert resp.status == 409 and refusal["error"]["code"] == "idempotency_key_reused"
                assert first["job_id"] in refusal["error"]["message"]


async def test_keys_belong_to_their_caller(gateway_a: str) -> None:
    """Issue 14 items 1 and 13: an anonymous caller and a keyed company using the same key each
    get their own job; neither learns of (or plants) the other's."""
    key = uuid.uuid4().hex
    async with aiohttp.ClientSession() as anonymous, aiohttp.ClientSession(headers={"X-API-Key": KEY_A}) as keyed:
        async with anonymous.post(f"{gateway_a}/v1/jobs", json={"data": "ANON", "idempotency_key": key}) as resp:
            assert resp.status == 202
            planted = (await resp.json())["job_id"]
        async with keyed.post(f"{gateway_a}/v1/jobs", json={"data": "A-SECRET", "idempotency_key": key}) as resp:
            assert resp.status == 202, await resp.text()
            own = (await resp.json())["job_id"]
        assert own != planted
        async with anonymous.get(f"{gateway_a}/v1/jobs/{own}") as resp:
            assert resp.status == 404  # not yours, said like "not there"


async def test_websocket_repeat_gets_the_original_job_and_one_final(gateway_a: str) -> None:
    key = uuid.uuid4().hex
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        accepted, final = await generate(ws, data="WS-ONCE", idempotency_key=key)
        await ws.send_json({"type": "generate", "data": "WS-ONCE", "idempotency_key": key})
        again = await next_message(ws)
        assert again == {"type": "accepted", "job_id": accepted["job_id"], "replayed": True}
        # This socket already has the final result: it is not sent twice.
        await ws.send_json({"type": "ping"})
        assert (await next_message(ws))["type"] == "pong"
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as other:
        await next_message(other)
        await other.send_json({"type": "generate", "data": "WS-ONCE", "idempotency_key": key})
        # Another socket of the same caller: the key is the caller's, so the same job, and its
        # result is answered here too.
        again = await next_message(other)
        assert again["job_id"] == accepted["job_id"] and again["replayed"] is True
        assert (await next_message(other))["type"] == "completed"


async def test_a_socket_repeating_a_key_in_flight_elsewhere_gets_the_result(gateway_a: str) -> None:
    key = uuid.uuid4().hex
    body = {"data": f"SLOW-{uuid.uuid4().hex[:8]}", "symbology": "qrcode", "idempotency_key": key}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json=body) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            await ws.send_json({"type": "generate", **body})
            accepted = await next_message(ws)
            assert accepted["job_id"] == job_id and accepted["replayed"] is True
            final = await next_message(ws)
            assert final["type"] == "completed" and final["job_id"] == job_id


async def test_resume_with_last_seq_replays_only_what_came_after(gateway_a: str, gateway_b: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            hello = await next_message(ws)
            _, seen = await generate(ws, data="SEEN-1")
        assert isinstance(seen["seq"], int)
        job_ids = []
        for n in range(2):
            async with session.post(f"{gateway_a}/v1/jobs", headers=proof(hello),
                                    json={"data": f"MISSED-{n}", "client_id": hello["client_id"]}) as resp:
                job_ids.append((await resp.json())["job_id"])
        for job_id in job_ids:
            async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
                assert (await resp.json())["status"] == "completed"
        async with session.ws_connect(f"{gateway_b}/v1/ws", headers=resume_headers(hello, seen["seq"])) as ws:
            await next_message(ws)
            replayed = [await next_message(ws), await next_message(ws)]
            assert sorted(m["job_id"] for m in replayed) == sorted(job_ids)
            assert replayed[0]["seq"] < replayed[1]["seq"]
            await ws.send_json({"type": "ping"})
            assert (await next_message(ws))["type"] == "pong"  # and nothing else


async def test_keyed_messages_on_a_socket_are_not_slowed_to_one_per_fetch_wait(gateway_a: str) -> None:
    """Found by `make k8s-test`: each new key on a socket waited for the other replicas' feed
    (up to 100 ms, one message after another), so a client sending 100 keyed jobs had one of
    them accepted before its gateway pod was deleted."""
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        started = asyncio.get_running_loop().time()
        for n in range(50):
            await ws.send_json({"type": "generate", "data": f"FAST-{n}-{uuid.uuid4().hex[:6]}",
                                "idempotency_key": uuid.uuid4().hex, "request_id": str(n)})
        accepted = 0
        while accepted < 50:
            if (await next_message(ws))["type"] == "accepted":
                accepted += 1
        assert asyncio.get_running_loop().time() - started < 2.5  # was about 50 x 100 ms
