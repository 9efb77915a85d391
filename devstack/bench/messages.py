"""`python -m devstack.bench.messages`: how many Kafka records one job causes, per topic, by the
way it was asked for (issue 28's first table). Against a running stack (`make run`): it reads
every topic's end offsets, sends `--jobs` jobs of one kind and waits for all of them, waits for
the lingering producers (delivery receipts, progress) to flush, reads the end offsets again and
divides. New data every job: nothing is served from the generator's key cache.
"""
from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from loadtest.batches import submit_csv, wait_finished
from services import contract

TOPICS = (contract.REQUESTS, contract.RENDER, contract.RESULTS, contract.NOTIFICATIONS, contract.DELIVERIES,
          contract.PROGRESS, contract.DEADLETTER, contract.BATCHES, contract.BATCH_ROWS, contract.BATCH_STATUS)
SETTLE_S = 2.0  # receipts wait 50 ms, progress 100 ms and batch status is throttled: well past all


async def _ends(bootstrap: str) -> dict[str, int]:
    # A producer asks the cluster for a topic's partitions (a consumer knows only those it reads).
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await producer.start()
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in TOPICS for p in await producer.partitions_for(t)]
        ends = await consumer.end_offsets(parts)
        out = dict.fromkeys(TOPICS, 0)
        for tp, end in ends.items():
            out[tp.topic] += end
        return out
    finally:
        await consumer.stop()
        await producer.stop()


async def _websocket(url: str, jobs: int, progress: bool) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/v1/ws") as ws:
        await ws.receive_json()
        for n in range(jobs):
            await ws.send_json({"type": "generate", "symbology": "code128", "format": "png",
                                "data": f"MSG-{uuid.uuid4().hex[:10]}", "progress": progress})
        final = 0
        while final < jobs:
            message = await ws.receive_json(timeout=60)
            final += message["type"] in ("completed", "failed")


async def _paced(url: str, jobs: int, rate: float, sockets: int = 8) -> None:
    """`jobs` WebSocket jobs at `rate` a second over `sockets` sockets, as a steady load sends
    them (a burst on one socket lets receipts coalesce more than steady traffic does)."""
    async with aiohttp.ClientSession() as session:
        conns = [await session.ws_connect(f"{url}/v1/ws") for _ in range(sockets)]
        try:
            for ws in conns:
                await ws.receive_json()

            async def finals(ws: aiohttp.ClientWebSocketResponse, expected: int) -> None:
                seen = 0
                while seen < expected:
                    seen += (await ws.receive_json(timeout=60))["type"] in ("completed", "failed")

            readers = [asyncio.create_task(finals(ws, len(range(n, jobs, sockets)))) for n, ws in enumerate(conns)]
            started = time.monotonic()
            for n in range(jobs):
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                await conns[n % sockets].send_json({"type": "generate", "symbology": "code128", "format": "png",
                                                    "data": f"MSG-{uuid.uuid4().hex[:10]}"})
            await asyncio.gather(*readers)
        finally:
            for ws in conns:
                await ws.close()


async def _rest(url: str, jobs: int) -> None:
    async with aiohttp.ClientSession() as session:
        ids = []
        for _ in range(jobs):
            async with session.post(f"{url}/v1/jobs", json={"symbology": "code128", "format": "png",
                                                             "data": f"MSG-{uuid.uuid4().hex[:10]}"}) as resp:
                ids.append((await resp.json())["job_id"])
        for job_id in ids:
            async with session.get(f"{url}/v1/jobs/{job_id}", params={"wait": "30"}) as resp:
                assert (await resp.json())["status"] != "queued", job_id


async def _image_urls(url: str, jobs: int) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(jobs):
            params = {"symbology": "code128", "data": f"MSG-{uuid.uuid4().hex[:10]}"}
            async with session.get(f"{url}/v1/barcode", params=params) as resp:
                assert resp.status == 200, resp.status


async def _batch(url: str, jobs: int) -> None:
    text = "data,symbology\n" + "".join(f"MSG-{uuid.uuid4().hex[:10]},code128\n" for _ in range(jobs))
    async with aiohttp.ClientSession() as session:
        accepted = await submit_csv(session, url, text)
        final = await wait_finished(session, url, accepted["batch_id"], within_s=300)
        assert final["status"] == "completed", final


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    kinds: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("WebSocket job", lambda: _websocket(args.url, args.jobs, False)),
        ("WebSocket job with progress", lambda: _websocket(args.url, args.jobs, True)),
        ("WebSocket job, 8 sockets at 20/s", lambda: _paced(args.url, args.jobs, 20.0)),
        ("WebSocket job, 8 sockets at 100/s", lambda: _paced(args.url, args.jobs, 100.0)),
        ("REST job (GET ?wait)", lambda: _rest(args.url, args.jobs)),
        ("image URL, a miss", lambda: _image_urls(args.url, args.jobs)),
        (f"batch row (one batch of {args.jobs})", lambda: _batch(args.url, args.jobs)),
    ]
    short = [t.removeprefix("barcode.") for t in TOPICS]
    print(f"records per job, {args.jobs} jobs of each kind, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| kind | " + " | ".join(short) + " | all |")
    print("|---" * (len(TOPICS) + 2) + "|")
    for name, run in kinds:
        before = await _ends(args.bootstrap)
        await run()
        await asyncio.sleep(SETTLE_S)
        after = await _ends(args.bootstrap)
        per = [(after[t] - before[t]) / args.jobs for t in TOPICS]
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in per) + f" | {sum(per):.2f} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
