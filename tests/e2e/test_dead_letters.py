"""Poison never stalls a partition: it goes to barcode.deadletter with its cause, the
consumers move on, and `make redrive` puts a dead letter back where it came from."""
from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import uuid

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from devstack import paths
from devstack.stack import Stack
from services import contract
from tests.support.client import generate, next_message


async def _dead_letters(bootstrap: str) -> list[contract.DeadLetter]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(contract.DEADLETTER, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        letters = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                letters += [contract.decode(contract.DeadLetter, r.value) for r in records]
        return letters
    finally:
        await consumer.stop()


async def _send(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def test_poison_goes_to_dead_letters_and_the_pipeline_moves_on(stack: Stack, gateway_a: str) -> None:
    marker = uuid.uuid4().hex.encode()
    for topic in (contract.REQUESTS, contract.RENDER, contract.RESULTS):
        # Same key as the job below: same partition, so a stall would block that job.
        await _send(stack.kafka.bootstrap, topic, b"\xff not json " + marker, key=b"k")
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        _, final = await generate(ws, data="AFTER-POISON")
        assert final["type"] == "completed"
    for _ in range(50):
        letters = [d for d in await _dead_letters(stack.kafka.bootstrap)
                   if marker in base64.b64decode(d.value)]
        if len(letters) == 3:
            break
        await asyncio.sleep(0.2)
    assert sorted((d.source_topic, d.service) for d in letters) == sorted([
        (contract.REQUESTS, "router"), (contract.RENDER, "generator"), (contract.RESULTS, "notifier")])
    assert all(d.error.code == "undecodable_message" and d.attempts == 1 for d in letters)


async def test_redrive_puts_a_dead_letter_back(stack: Stack, gateway_a: str) -> None:
    job_id = uuid.uuid4().hex
    request = contract.GenerateRequest(job_id=job_id, data="REDRIVEN", symbology="code128")
    letter = contract.DeadLetter(
        source_topic=contract.REQUESTS, partition=0, offset=0, service="test",
        error=contract.ErrorInfo("storage_unavailable", "simulated outage", True), attempts=5,
        value=base64.b64encode(contract.encode(request)).decode(), key=base64.b64encode(job_id.encode()).decode(),
        job_id=job_id)
    await _send(stack.kafka.bootstrap, contract.DEADLETTER, contract.encode(letter))
    env = stack.env()
    run = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "services.kafka.redrive", "--code",
                                                   "storage_unavailable"], env=env, cwd=paths.ROOT,
                                  capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "re-queued" in run.stdout
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            job = await resp.json()
    assert job["status"] == "completed"
    again = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "services.kafka.redrive", "--dry-run"],
                                    env=env, cwd=paths.ROOT, capture_output=True, text=True, timeout=60)
    assert "would re-queue 0 dead letters" in again.stdout  # committed: not twice
