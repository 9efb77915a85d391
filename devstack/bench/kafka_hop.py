"""`make kafka-hop`: the floor under every pipeline hop on this machine.

Starts its own broker on a free port, warms it up, then times one bare aiokafka producer ->
consumer hop at a time: the broker acknowledgement, and the record reaching a consumer. Each
service hop in `make smoke` is this plus the service's own work.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devstack.kafka import KafkaBroker


async def measure(bootstrap: str, warmup: int, samples: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("hop", 1, 1)])
    await admin.close()
    tp = TopicPartition("hop", 0)
    for acks, idempotent in (("all", True), (1, False)):
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=acks, enable_idempotence=idempotent, linger_ms=0)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=100, enable_auto_commit=False)
        await producer.start()
        await consumer.start()
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        for _ in range(warmup):
            await producer.send_and_wait("hop", b"w")
            await consumer.getone()
        acked, consumed = [], []
        for _ in range(samples):
            started = time.perf_counter()
            receive = asyncio.create_task(consumer.getone())
            await producer.send_and_wait("hop", b"x")
            acked.append((time.perf_counter() - started) * 1000)
            await receive
            consumed.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
        print(f"acks={acks!s:3} idempotence={idempotent!s:5}  ack median {statistics.median(acked):5.2f} ms"
              f"  produce->consume median {statistics.median(consumed):5.2f} ms, p99 "
              f"{sorted(consumed)[int(len(consumed) * 0.99) - 1]:5.2f} ms")
        await producer.stop()
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        broker = KafkaBroker(Path(folder))
        broker.start()
        try:
            asyncio.run(measure(broker.bootstrap, args.warmup, args.samples))
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
