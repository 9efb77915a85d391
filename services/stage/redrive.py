"""`python -m services.stage.redrive` (`make redrive`): put dead letters back on the topic they
came from, unchanged, so the pipeline tries them again (after an outage is over, or a bug fixed).

Reads barcode.deadletter with its own consumer group, up to the end offsets seen at start,
and commits what it re-queued: running it twice does not re-queue a letter twice.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections import Counter

from aiokafka import AIOKafkaConsumer, TopicPartition

from services import contract
from services.settings import KafkaSettings
from services.stage import kafka

GROUP = "barcode-redrive"


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def redrive(settings: KafkaSettings, dry_run: bool, only_code: str | None) -> Counter[str]:
    await kafka.ensure_topics(settings)
    topic = settings.topic(contract.DEADLETTER)
    # Assigned, not subscribed: no rebalance to wait for; the group only stores our offsets.
    consumer = kafka.consumer(settings, "redrive", GROUP)
    producer = kafka.producer(settings, "redrive")
    found = await kafka.partitions_of(settings, [topic])
    await consumer.start()
    await producer.start()
    done: Counter[str] = Counter()
    try:
        partitions = [TopicPartition(topic, p) for p in found[topic]]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        while await _behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            acks = []
            for records in batches.values():
                for record in records:
                    try:
                        letter = contract.decode(contract.DeadLetter, record.value)
                    except contract.SchemaError as exc:
                        print(f"skipping unreadable dead letter at offset {record.offset}: {exc}", file=sys.stderr)
                        continue
                    if only_code and letter.error.code != only_code:
                        continue
                    done[f"{letter.source_topic} ({letter.error.code})"] += 1
                    if not dry_run:
                        key = base64.b64decode(letter.key) if letter.key else None
                        acks.append(await producer.send(letter.source_topic, key=key,
                                                        value=base64.b64decode(letter.value)))
            await asyncio.gather(*acks)
            if not dry_run and batches:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return done


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.stage.redrive", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="list what would be re-queued")
    parser.add_argument("--code", help="only dead letters with this error code, e.g. storage_unavailable")
    args = parser.parse_args()
    done = asyncio.run(redrive(KafkaSettings.from_env(), args.dry_run, args.code))
    verb = "would re-queue" if args.dry_run else "re-queued"
    for source, count in sorted(done.items()):
        print(f"{verb} {count:6d}  {source}")
    print(f"{verb} {sum(done.values())} dead letters")


if __name__ == "__main__":
    main()
