"""Consumer lag against the real broker: what a group has not committed, per partition, as the
stages serve it on /metrics (`barcode_<stage>_consumer_lag`) and `python -m services.kafka.lag` prints."""
from __future__ import annotations

import asyncio
import re
import time
import urllib.request
import uuid

import aiohttp
from confluent_kafka import Consumer, TopicPartition

from devstack.stack import Stack
from services.kafka.lag import group_lag
from services.kafka.leaders import describe

REQUESTS = "barcode.requests"


def test_a_group_lags_by_what_it_has_not_committed(stack: Stack, gateway_a: str) -> None:
    request = urllib.request.Request(f"{gateway_a}/v1/jobs", data=b'{"symbology": "code128", "data": "LAG-1"}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:  # at least one record on the topic
        assert resp.status == 202
    bootstrap = stack.kafka.bootstrap
    ends = {str(s.partition): s.end_offset for s in describe(bootstrap) if s.topic == REQUESTS}
    group = f"lag-test-{uuid.uuid4().hex[:8]}"
    # A group that never committed has read nothing: its lag is every record.
    assert group_lag(bootstrap, group, [REQUESTS]) == {(REQUESTS, p): float(end) for p, end in ends.items()}
    assert group_lag(bootstrap, group, [REQUESTS], committed_only=True) == {}
    # Commit one record short of the end of the first partition with a record in it.
    partition, end = next((p, e) for p, e in sorted(ends.items()) if e > 0)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(REQUESTS, int(partition), end - 1)], asynchronous=False)
    finally:
        consumer.close()
    assert group_lag(bootstrap, group, [REQUESTS], committed_only=True) == {(REQUESTS, partition): 1.0}


async def test_each_stage_serves_its_groups_lag_and_it_falls_to_zero_when_idle(stack: Stack, gateway_a: str) -> None:
    ports = {name: stack.services[name].env[f"{name.upper()}_HEALTH_PORT"] for name in ("router", "notifier")}
    series = re.compile(r'^barcode_(\w+)_consumer_lag\{partition="(\d+)",topic="([\w.-]+)"\} ([\d.]+)$', re.M)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json={"symbology": "code128", "data": "LAG"}) as resp:
            job = await resp.json()
        status, deadline = "queued", time.monotonic() + 120  # a fresh stack's groups may still be joining
        while status != "completed" and time.monotonic() < deadline:
            async with session.get(f"{gateway_a}/v1/jobs/{job['job_id']}?wait=20") as resp:
                status = (await resp.json())["status"]
        assert status == "completed"
        deadline, seen = time.monotonic() + 45, {}
        while time.monotonic() < deadline:
            for name, port in ports.items():
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    seen[name] = series.findall(await resp.text())
            if all(rows and all(float(lag) == 0 for *_, lag in rows) for rows in seen.values()):
                break
            await asyncio.sleep(1)
    assert {row[2] for row in seen["router"]} == {REQUESTS}, seen
    assert {row[2] for row in seen["notifier"]} == {"barcode.results"}, seen
    assert all(float(lag) == 0 for rows in seen.values() for *_, lag in rows), seen
