"""A WebSocket client whose gateway pod is deleted resumes on another pod and gets what completed meanwhile.

Two port-forwards, one per gateway pod (a Service forward would pick either). The client sends
a burst of jobs on pod A and, at its first `accepted`, pod A is deleted at once (no grace: the
socket dies mid-flight, as with a node loss). Jobs keep completing while the client is away; it then
connects to pod B with X-Client-Id + X-Resume-Token + X-Last-Seq headers, re-sends what was never
acknowledged with the same idempotency keys, and must get every job's final result exactly once.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from devstack.k8s.portforward import PortForward

JOBS = 100


class _Client:
    """What one WebSocket client saw, across its two connections."""

    def __init__(self) -> None:
        self.requests = {f"r{n}": (f"resume-{time.time_ns()}-{n}", f"RESUME-{n}-{time.time_ns()}") for n in range(JOBS)}
        self.accepted: dict[str, str] = {}
        self.finals: dict[str, list[dict[str, Any]]] = {}
        self.last_seq = -1

    async def send(self, ws: aiohttp.ClientWebSocketResponse, request_ids: list[str]) -> None:
        for rid in request_ids:
            key, data = self.requests[rid]
            # A PDF QR code: slow enough (vector conversion, decode-back) that many are still in
            # flight when the gateway pod dies.
            await ws.send_json({"type": "generate", "request_id": rid, "idempotency_key": key,
                                "symbology": "qrcode", "format": "pdf", "data": data})

    def take(self, body: dict[str, Any]) -> None:
        """Record an acknowledgement or a final result (anything else is not counted)."""
        if body["type"] == "accepted":
            self.accepted[body["request_id"]] = body["job_id"]
        elif body["type"] in ("completed", "failed"):
            self.finals.setdefault(body["job_id"], []).append(body)
            self.last_seq = max(self.last_seq, body.get("seq", -1))


async def _session(url_a: str, url_b: str, kill_a: Callable[[], None]) -> dict[str, Any]:
    client = _Client()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{url_a}/v1/ws")
        hello = await ws.receive_json(timeout=30)
        await client.send(ws, list(client.requests))
        while not client.accepted:
            client.take(await ws.receive_json(timeout=30))
        kill = asyncio.create_task(asyncio.to_thread(kill_a))  # the pod dies while jobs are in flight
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    client.take(msg.json())
        except (aiohttp.ClientError, ConnectionResetError):
            pass
        await kill
        seen_on_a = {job for job in client.finals}
        accepted_on_a = dict(client.accepted)
        await asyncio.sleep(3)  # results complete while the client is away
        ws_b = await http.ws_connect(f"{url_b}/v1/ws", headers={
            "X-Client-Id": hello["client_id"], "X-Resume-Token": hello["resume_token"],
            **({"X-Last-Seq": str(client.last_seq)} if client.last_seq >= 0 else {})})
        hello_b = await ws_b.receive_json(timeout=30)
        # As the docs tell clients: re-send, with the same key, what was never acknowledged.
        await client.send(ws_b, [rid for rid in client.requests if rid not in client.accepted])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (len(client.accepted) < JOBS
                                               or any(j not in client.finals for j in client.accepted.values())):
            try:
                client.take(await ws_b.receive_json(timeout=max(1.0, deadline - time.monotonic())))
            except asyncio.TimeoutError:
                break
        try:  # a short wait for anything sent twice
            while True:
                client.take(await ws_b.receive_json(timeout=2))
        except asyncio.TimeoutError:
            pass
        await ws_b.close()
    jobs = set(client.accepted.values())
    return {"same_client": hello_b["client_id"] == hello["client_id"], "accepted_on_a": len(accepted_on_a),
            "finals_on_a": len(seen_on_a), "accepted": len(client.accepted),
            "resumed": sum(1 for j in accepted_on_a.values() if j not in seen_on_a and j in client.finals),
            "missing": sum(1 for j in jobs if j not in client.finals),
            "duplicated": sum(len(v) - 1 for v in client.finals.values()),
            "failed": sum(1 for v in client.finals.values() if v[0]["type"] != "completed")}


def resume_after_gateway_loss(pods: Callable[[str], list[str]], kubectl: Callable[..., str]) -> str:
    gateways = pods("gateway")
    if len(gateways) < 2:
        raise RuntimeError(f"need two gateway pods for this step, found {gateways}")
    pod_a, pod_b = gateways[:2]
    with PortForward(f"pod/{pod_a}", 8080) as a, PortForward(f"pod/{pod_b}", 8080) as b:
        result = asyncio.run(_session(a.url, b.url, lambda: kubectl(
            "delete", "pod", pod_a, "--grace-period=0", "--force", "--wait=false")))
    detail = (f"{result['accepted_on_a']} accepted and {result['finals_on_a']} results on {pod_a} before it died; "
              f"{result['resumed']} of its jobs' results received on {pod_b} after resuming; "
              f"{result['accepted']}/{JOBS} accepted in all, missing {result['missing']}, "
              f"duplicated {result['duplicated']}, failed {result['failed']}")
    if (not result["same_client"] or result["accepted"] < JOBS or result["missing"] or result["duplicated"]
            or result["failed"] or not result["resumed"]):
        raise RuntimeError(detail)
    return detail
