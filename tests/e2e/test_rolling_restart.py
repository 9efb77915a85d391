"""A rolling restart of the workers under load, as `helm upgrade` does it: a new process joins
each group, then the old one gets SIGTERM. Results keep coming, nothing is lost.

Found by `make k8s-test` (issue 28): on librdkafka, a SIGTERM that arrived while the group was
rebalancing for the new member held the old router until its drain deadline, and no request was
routed for 28 s. Run on both stage clients.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from devstack.stack import Stack
from tests.support.client import next_message
from tests.support.stacks import on_own_stack

RATE = 20  # jobs a second while the workers are replaced
LONGEST_GAP_S = 5.0  # the stall was 28 s; a rebalance here takes well under a second


@pytest.mark.parametrize("client", ["librdkafka", "aiokafka"])
def test_workers_replaced_one_by_one_under_load_keep_results_coming(tmp_path: Path, client: str) -> None:
    on_own_stack(tmp_path, {"BARCODE_STAGE_KAFKA_CLIENT": client, "GATEWAY_RATE_LIMIT": "0",
                            "BARCODE_DRAIN_SECONDS": "20"}, _drive)


async def _roll(stack: Stack) -> list[tuple[str, float]]:
    """Replace router, generator and notifier in turn; how long each old one took to stop."""
    stops = []
    await asyncio.sleep(5)  # the groups settled and under load, as in a cluster
    # The stall depended on where the rebalance stood at the SIGTERM: the router is replaced
    # four times to meet it more often than once would.
    for n, name in enumerate(("router", "router", "router", "router", "generator", "notifier")):
        old = next(k for k in reversed(stack.services) if k.split("-")[0] == name)
        await asyncio.to_thread(stack.service(f"{name}-{n}").start, True)
        started = time.monotonic()
        await asyncio.to_thread(stack.services.pop(old).stop, 25.0)
        stops.append((name, time.monotonic() - started))
    return stops


async def _drive(stack: Stack) -> None:
    url = stack.services["gateway"].url
    accepted: set[str] = set()
    finals: dict[str, float] = {}
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/v1/ws") as ws:
        await next_message(ws)

        async def read() -> None:
            while True:
                msg = await next_message(ws, timeout=60)
                if msg["type"] == "accepted":
                    accepted.add(msg["job_id"])
                elif msg["type"] in ("completed", "failed"):
                    assert msg["type"] == "completed", msg
                    finals[msg["job_id"]] = time.monotonic()

        reader = asyncio.create_task(read())
        rolling = asyncio.create_task(_roll(stack))
        sent = 0
        # Load before, during and for 2 s after the roll.
        rolled_at: float | None = None
        while rolled_at is None or time.monotonic() < rolled_at + 2:
            await ws.send_json({"type": "generate", "data": f"ROLL-{uuid.uuid4().hex[:12]}"})
            sent += 1
            await asyncio.sleep(1 / RATE)
            if rolled_at is None and rolling.done():
                rolled_at = time.monotonic()
        stops = rolling.result()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(accepted) < sent or set(finals) != accepted):
            await asyncio.sleep(0.1)
        reader.cancel()
    assert len(accepted) == sent and set(finals) == accepted, f"{sent} sent, {len(accepted)} accepted, {len(finals)} results"
    for name, took in stops:
        assert took < 10, f"the old {name} took {took:.1f} s to stop on SIGTERM (drain deadline 20 s)"
    times = sorted(finals.values())
    longest = max(b - a for a, b in zip(times, times[1:]))
    assert longest < LONGEST_GAP_S, f"no result for {longest:.1f} s during the rolling restart"
