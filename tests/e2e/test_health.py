"""Every service answers the health endpoint its Kubernetes probes ask (helm/ chart)."""
from __future__ import annotations

import aiohttp

from devstack.stack import Stack


async def test_every_worker_serves_healthz(stack: Stack) -> None:
    ports = {name: svc.env[f"{name.upper()}_HEALTH_PORT"] for name, svc in stack.services.items()
             if name in ("router", "notifier")}
    ports["generator"] = stack.services["generator"].env["GENERATOR_HEALTH_PORT"]
    assert set(ports) == {"router", "notifier", "generator"}
    async with aiohttp.ClientSession() as session:
        for name, port in ports.items():
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200, name
                assert (await resp.json())["status"] == "ok"


async def test_every_worker_is_ready_only_while_kafka_answers(stack: Stack) -> None:
    """/readyz (the chart's readiness probe) asks the broker; /healthz (liveness) does not."""
    ports = {name: svc.env[f"{name.upper()}_HEALTH_PORT"] for name, svc in stack.services.items()
             if name in ("router", "notifier")}
    ports["generator"] = stack.services["generator"].env["GENERATOR_HEALTH_PORT"]
    async with aiohttp.ClientSession() as session:
        for name, port in ports.items():
            async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                body = await resp.json()
                assert resp.status == 200, (name, body)
                assert body["status"] == "ready" and "broker" in body["kafka"], name
