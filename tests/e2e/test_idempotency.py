"""A repeated request with the same idempotency_key returns the original job; a resuming
client that says which result it saw last gets exactly what came after."""
from __future__ import annotations

import uuid

import aiohttp

from tests.support.client import generate, next_message
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
    body = {"data": "RETRY-ELSEWHERE", "idempotency_key": uuid.uuid4().hex, "client_id": "retrying-client"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json=body) as resp:
            assert resp.status == 202
            first = await resp.json()
        async with session.post(f"{gateway_b}/v1/jobs", json=body) as resp:
            assert resp.status == 200
            again = await resp.json()
    assert again["job_id"] == first["job_id"] and again["replayed"] is True


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
        # Another client: its own scope, so a new job.
        assert (await next_message(other))["job_id"] != accepted["job_id"]


async def test_resume_with_last_seq_replays_only_what_came_after(gateway_a: str, gateway_b: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            hello = await next_message(ws)
            _, seen = await generate(ws, data="SEEN-1")
        assert isinstance(seen["seq"], int)
        job_ids = []
        for n in range(2):
            async with session.post(f"{gateway_a}/v1/jobs", json={"data": f"MISSED-{n}",
                                                                  "client_id": hello["client_id"]}) as resp:
                job_ids.append((await resp.json())["job_id"])
        for job_id in job_ids:
            async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
                assert (await resp.json())["status"] == "completed"
        params = {"client_id": hello["client_id"], "resume_token": hello["resume_token"], "last_seq": str(seen["seq"])}
        async with session.ws_connect(f"{gateway_b}/v1/ws", params=params) as ws:
            await next_message(ws)
            replayed = [await next_message(ws), await next_message(ws)]
            assert sorted(m["job_id"] for m in replayed) == sorted(job_ids)
            assert replayed[0]["seq"] < replayed[1]["seq"]
            await ws.send_json({"type": "ping"})
            assert (await next_message(ws))["type"] == "pong"  # and nothing else
