"""Several gateway replicas, no sticky sessions: results reach the client wherever it is."""
from __future__ import annotations

import asyncio
import uuid

import aiohttp

from devstack.stack import Stack
from tests.support.client import next_message, proof, resume_headers
from tests.support.metrics import scrape


async def test_rest_job_on_a_is_pushed_to_the_socket_on_b(gateway_a: str, gateway_b: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_b}/v1/ws") as ws:
        hello = await next_message(ws)
        async with session.post(f"{gateway_a}/v1/jobs", headers=proof(hello), json={
                "data": "CROSS-REPLICA", "symbology": "code128", "client_id": hello["client_id"],
                "request_id": "via-a"}) as resp:
            job_id = (await resp.json())["job_id"]
        final = await next_message(ws)
        assert final["type"] == "completed"
        assert final["job_id"] == job_id
        assert final["request_id"] == "via-a"
        # Status answers on the replica that did not take the job, too.
        async with session.get(f"{gateway_b}/v1/jobs/{job_id}") as resp:
            assert (await resp.json())["status"] == "completed"


async def test_a_job_posted_on_a_is_known_on_b_at_once(gateway_a: str, gateway_b: str) -> None:
    # b reads other replicas' requests in batches; asked about a job it has not read yet, it
    # catches up first instead of answering 404.
    async with aiohttp.ClientSession() as session:
        for n in range(5):
            async with session.post(f"{gateway_a}/v1/jobs", json={"data": f"KNOWN-{n}-{uuid.uuid4().hex[:6]}"}) as resp:
                job_id = (await resp.json())["job_id"]
            async with session.get(f"{gateway_b}/v1/jobs/{job_id}") as resp:
                assert resp.status == 200, await resp.text()
                assert (await resp.json())["status"] in ("queued", "completed")
        async with session.get(f"{gateway_b}/v1/jobs/{uuid.uuid4().hex}") as resp:
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


async def test_resume_on_b_receives_what_completed_while_away(gateway_a: str, gateway_b: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            hello = await next_message(ws)
            client_id = hello["client_id"]
        # The client is gone; a job for it completes meanwhile.
        async with session.post(f"{gateway_a}/v1/jobs", headers=proof(hello), json={
                "data": "WHILE-AWAY", "symbology": "code39", "client_id": client_id}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
        async with session.ws_connect(f"{gateway_b}/v1/ws", headers=resume_headers(hello)) as ws:
            hello = await next_message(ws)
            assert hello["type"] == "hello" and hello["client_id"] == client_id and hello["resumed"] is True
            missed = await next_message(ws)
            assert missed["type"] == "completed" and missed["job_id"] == job_id
            # Delivered once: nothing else is waiting for this client.
            await ws.send_json({"type": "ping"})
            assert (await next_message(ws))["type"] == "pong"


async def test_wrong_resume_token_is_refused(gateway_a: str, gateway_b: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            hello = await next_message(ws)
        client_id = hello["client_id"]
        async with session.post(f"{gateway_a}/v1/jobs", headers=proof(hello), json={
                "data": "NOT-FOR-YOU", "symbology": "code128", "client_id": client_id}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
        refused_before = await _refusals(session, gateway_b, "invalid_resume_token")
        for token in ("forged-token", ""):
            async with session.ws_connect(f"{gateway_b}/v1/ws",
                                          headers={"X-Client-Id": client_id, "X-Resume-Token": token}) as ws:
                await _assert_refused(ws)
            # The same through a resume message (what browsers send).
            async with session.ws_connect(f"{gateway_b}/v1/ws") as ws:
                await next_message(ws)  # hello
                await ws.send_json({"type": "resume", "client_id": client_id, "resume_token": token})
                await _assert_refused(ws)
        # Each refusal counted once in /metrics (it was counted twice).
        assert await _refusals(session, gateway_b, "invalid_resume_token") == refused_before + 4


async def _refusals(session: aiohttp.ClientSession, gateway: str, code: str) -> int:
    counts = await scrape(session, gateway)
    return int(counts.get(f'barcode_gateway_rejections_total{{code="{code}"}}', 0))


async def test_a_resume_token_in_the_url_is_refused(gateway_a: str) -> None:
    """Issue 14 item 14: query strings end up in logs and proxies; tokens moved to a header or a
    resume message, and a token in the URL is refused rather than honoured."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            hello = await next_message(ws)
        async with session.ws_connect(f"{gateway_a}/v1/ws", params={
                "client_id": hello["client_id"], "resume_token": hello["resume_token"]}) as ws:
            refusal = await next_message(ws)
            assert refusal["error"]["code"] == "invalid_request" and "URL" in refusal["error"]["message"]
            await ws.receive(timeout=10)
            assert ws.close_code == 1008


async def _assert_refused(ws: aiohttp.ClientWebSocketResponse) -> None:
    refusal = await next_message(ws)
    assert refusal["type"] == "error"
    assert refusal["error"]["code"] == "invalid_resume_token"
    closing = await ws.receive(timeout=10)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 1008


async def test_job_status_survives_a_gateway_restart(stack: Stack, gateway_a: str) -> None:
    replica = stack.service("gateway-c")
    replica.start()
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{replica.url}/v1/jobs", json={"data": f"RESTART-{uuid.uuid4().hex[:6]}"}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{replica.url}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
        replica.stop()
        await asyncio.to_thread(replica.start)  # same port, empty memory: state comes from Kafka
        try:
            async with session.get(f"{replica.url}/v1/jobs/{job_id}") as resp:
                job = await resp.json()
            assert job["status"] == "completed"
            assert job["company"] == "Default"
        finally:
            replica.stop()


async def test_sigterm_closes_sockets_with_going_away_and_a_resume_elsewhere_works(
        stack: Stack, gateway_b: str) -> None:
    replica = stack.service("gateway-d")
    replica.start()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{replica.url}/v1/ws") as ws:
            hello = await next_message(ws)
            started = asyncio.get_running_loop().time()
            await asyncio.to_thread(replica.stop)  # SIGTERM, waits for the process to exit
            closing = await ws.receive(timeout=10)
            # The server's close frame says 1001; the process may exit before our reply.
            assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1001)
            assert asyncio.get_running_loop().time() - started < 10  # drained, not killed
        async with session.ws_connect(f"{gateway_b}/v1/ws", headers=resume_headers(hello)) as ws:
            assert (await next_message(ws))["resumed"] is True


async def test_malformed_resume_tokens_are_answered_and_closed_1008(gateway_a: str) -> None:
    """Non-ASCII digits, a 5000-digit expiry, non-ASCII MAC text: each once dropped the socket
    (1006) with a traceback; now each is answered invalid_resume_token and closed 1008."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            client_id = (await next_message(ws))["client_id"]
        for token in ("١٢٣٤.abc", "9" * 5000 + "." + "A" * 43, "4102444800.é" + "A" * 42, 12, None, ["x"]):
            async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
                await next_message(ws)  # hello
                await ws.send_json({"type": "resume", "client_id": client_id, "resume_token": token})
                refusal = await next_message(ws)
                assert refusal["error"]["code"] == "invalid_resume_token", str(token)[:20]
                await ws.receive(timeout=10)
                assert ws.close_code == 1008, str(token)[:20]


async def _metric(session: aiohttp.ClientSession, gateway: str, name: str) -> float:
    counts = await scrape(session, gateway)
    assert name in counts, f"{name} not in {gateway}/metrics"
    return counts[name]


async def test_a_replica_reads_only_its_own_clients_results_until_asked_about_others(
        gateway_a: str, gateway_b: str) -> None:
    # The fixture's replicas are named "gateway" and "gateway-b": homes 7 and 10 of 12.
    from services.gateway.results.replies import ReplyRoutes
    assert ReplyRoutes(12, 12, "gateway").home != ReplyRoutes(12, 12, "gateway-b").home
    read, held = "barcode_gateway_results_read_total", "barcode_gateway_result_partitions_held"
    async with aiohttp.ClientSession() as session:
        # Earlier tests resumed a's clients on b: b reads a's partition until 2 s after
        # (GATEWAY_RESULTS_LINGER_SECONDS in the test stack).
        for _ in range(100):
            if await _metric(session, gateway_b, held) == 0:
                break
            await asyncio.sleep(0.1)
        assert await _metric(session, gateway_b, held) == 0
        b_before = await _metric(session, gateway_b, read)
        a_before = await _metric(session, gateway_a, read)
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            hello = await next_message(ws)
            for n in range(20):
                await ws.send_json({"type": "generate", "data": f"OWN-{n}-{uuid.uuid4().hex[:8]}",
                                    "symbology": "code128", "request_id": str(n)})
            finals = 0
            while finals < 20:
                message = await next_message(ws)
                finals += message["type"] in ("completed", "failed")
        assert await _metric(session, gateway_a, read) - a_before >= 20
        assert await _metric(session, gateway_b, read) == b_before  # none of those 20 results
        # Asked about one of them, b reads that client's partition and answers.
        async with session.post(f"{gateway_a}/v1/jobs", headers=proof(hello), json={
                "data": "ASKED-ON-B", "symbology": "code128", "client_id": hello["client_id"]}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_b}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
        assert await _metric(session, gateway_b, held) == 1
        assert await _metric(session, gateway_b, read) - b_before >= 21
