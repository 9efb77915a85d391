"""SIGTERM drains every worker within its deadline: in-flight work is finished or handed back,
and nothing is lost (the jobs sent around the stop all complete once a worker is back)."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from devstack.stack import Stack
from tests.support.client import next_message
from tests.support.stacks import on_own_stack


# librdkafka: the stage runtime's other client (issue 28) drains, commits on a rebalance and
# hands work back as aiokafka does.
@pytest.mark.parametrize("client", ["aiokafka", "librdkafka"])
def test_workers_stop_on_sigterm_within_the_deadline_and_lose_nothing(tmp_path: Path, client: str) -> None:
    on_own_stack(tmp_path, {"BARCODE_DRAIN_SECONDS": "8", "BARCODE_STAGE_KAFKA_CLIENT": client}, _drive)


async def _drive(stack: Stack) -> None:
    url = stack.services["gateway"].url
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/v1/ws") as ws:
        await next_message(ws)
        accepted: set[str] = set()
        finals: set[str] = set()
        for name in ("router", "generator", "notifier"):
            for n in range(20):
                await ws.send_json({"type": "generate", "data": f"DRAIN-{name}-{n}"})
            svc = stack.services[name]
            started = time.monotonic()
            await asyncio.to_thread(svc.stop, 15.0)  # SIGTERM, SIGKILL only after 15 s
            assert time.monotonic() - started < 10, f"{name} overran its 8 s drain deadline"
            await asyncio.to_thread(svc.start, False)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (len(accepted) < 60 or finals < accepted):
            msg = await next_message(ws, timeout=90)
            if msg["type"] == "accepted":
                accepted.add(msg["job_id"])
            elif msg["type"] in ("completed", "failed"):
                assert msg["type"] == "completed", msg
                finals.add(msg["job_id"])
        assert len(accepted) == 60 and finals == accepted
