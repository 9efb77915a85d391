"""`python -m services.kafka.redrive` (`make redrive`): put dead letters back on the topic they
came from, unchanged, so the pipeline tries them again (after an outage is over, or a bug fixed).

Reads barcode.deadletter with its own consumer group, up to the end offsets seen at start,
and commits what it re-queued: running it twice does not re-queue a letter twice.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
from collections import Counter

from aiokafka import ConsumerRecord, TopicPartition

from services import contract
from services.settings import KafkaSettings
from services.kafka import clients, topics
from services.kafka.follower import Follower

GROUP = "barcode-redrive"


async def redrive(settings: KafkaSettings, dry_run: bool, only_code: str | None) -> Counter[str]:
    await topics.ensure_topics(settings)
    topic = settings.topic(contract.DEADLETTER)
    letters: list[contract.DeadLetter] = []

    def take(record: ConsumerRecord[bytes, bytes]) -> None:
        letter = contract.decode(contract.DeadLetter, record.value)  # unreadable: the follower skips it
        if not only_code or letter.error.code == only_code:
            letters.append(letter)

    # Assigned, not subscribed: no rebalance to wait for; the group only stores our offsets.
    follower = Follower(clients.consumer(settings, "redrive", GROUP), {topic: take})
    producer = clients.producer(settings, "redrive")
    found = await topics.partitions_of(settings, [topic])
    done: Counter[str] = Counter()
    try:
        await follower.consumer.start()
        await producer.start()
        await follower.assign([TopicPartition(topic, p) for p in found[topic]])  # from the committed offsets
        while not follower.caught_up:
            read = await follower.poll(timeout_ms=1000, max_records=500)
            acks = []
            for letter in letters:
                done[f"{letter.source_topic} ({letter.error.code})"] += 1
                if not dry_run:
                    key = base64.b64decode(letter.key) if letter.key else None
                    acks.append(await producer.send(letter.source_topic, key=key,
                                                    value=base64.b64decode(letter.value)))
            letters.clear()
            await asyncio.gather(*acks)
            if not dry_run and read:
                await follower.consumer.commit()
    finally:
        await follower.stop()
        await producer.stop()
    return done


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.kafka.redrive", description=__doc__)
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
