"""The pipeline's topics: their partitions and retention, creating the missing ones, and
reading how many partitions each has."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from services import contract
from services.kafka.clients import REQUEST_TIMEOUT_MS, until_connected
from services.settings import KafkaSettings

log = logging.getLogger(__name__)


def topic_specs(settings: KafkaSettings) -> list[NewTopic]:
    """Every topic of the pipeline with its partitions and retention."""
    ttl = str(settings.state_ttl_s * 1000)
    rf, isr = settings.replication_factor, {"min.insync.replicas": str(settings.min_insync_replicas)}
    short_lived = {**isr, "retention.ms": ttl, "segment.ms": str(min(settings.state_ttl_s * 1000, 600_000))}
    day = {**isr, "retention.ms": str(24 * 3600 * 1000)}
    return [
        NewTopic(settings.topic(contract.REQUESTS), settings.partitions, rf, topic_configs=day),
        NewTopic(settings.topic(contract.RENDER), settings.partitions, rf, topic_configs=day),
        NewTopic(settings.topic(contract.RESULTS), settings.partitions, rf, topic_configs=day),
        NewTopic(settings.topic(contract.NOTIFICATIONS), settings.reply_partitions, rf, topic_configs=short_lived),
        NewTopic(settings.topic(contract.DELIVERIES), settings.partitions, rf, topic_configs=short_lived),
        # Progress matters only while a job runs: ten minutes.
        NewTopic(settings.topic(contract.PROGRESS), settings.reply_partitions, rf,
                 topic_configs={**isr, "retention.ms": "600000", "segment.ms": "600000"}),
        # A batch's events and its rows' results share a key (the batch id) and a partition
        # count, so both land in the same partition number: the batcher that owns one owns both.
        NewTopic(settings.topic(contract.BATCHES), settings.partitions, rf, topic_configs=day),
        NewTopic(settings.topic(contract.BATCH_ROWS), settings.partitions, rf, topic_configs=day),
        # Only each batch's latest count matters: compacted (and gone after a day).
        NewTopic(settings.topic(contract.BATCH_STATUS), settings.partitions, rf,
                 topic_configs={**day, "cleanup.policy": "compact,delete"}),
        # Kept a week: long enough for someone to look and redrive.
        NewTopic(settings.topic(contract.DEADLETTER), 1, rf,
                 topic_configs={**isr, "retention.ms": str(7 * 24 * 3600 * 1000)}),
    ]


async def ensure_topics(settings: KafkaSettings, specs: Iterable[NewTopic] | None = None) -> None:
    """Create missing topics; existing ones are left as they are. Every service calls this at
    start, waiting for the broker (`until_connected`), so no start order is required."""
    wanted = list(specs or topic_specs(settings))

    async def attempt() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="barcode-admin",
                                    request_timeout_ms=REQUEST_TIMEOUT_MS)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in wanted if t.name not in existing]
            if missing:
                await _create(admin, missing)
        finally:
            await admin.close()

    await until_connected(settings, "creating topics", attempt)


async def _create(admin: AIOKafkaAdminClient, missing: list[NewTopic]) -> None:
    try:
        response = await admin.create_topics(missing)
    except TopicAlreadyExistsError:
        return  # another service won the race
    # Per-topic errors come back in the answer, not as exceptions: a broker still electing its
    # controller refuses with a retriable code, which must be retried, not taken for success.
    for topic, code, *_ in getattr(response, "topic_errors", ()):
        if code not in (0, TopicAlreadyExistsError.errno):
            raise for_code(code)(f"creating {topic}")
    log.info("created topics %s", ", ".join(t.name for t in missing))


async def partitions_of(settings: KafkaSettings, topics: Iterable[str], timeout_s: float = 30.0) -> dict[str, list[int]]:
    """Partition ids per topic. A topic created a moment ago can be missing from the first
    metadata answers, so this asks until every topic has its partitions."""
    wanted = list(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="barcode-admin")
    await admin.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            described = await admin.describe_topics(wanted)
            found = {t["topic"]: sorted(p["partition"] for p in t["partitions"])
                     for t in described if t["error_code"] == 0 and t["partitions"]}
            if all(found.get(t) for t in wanted):
                return {t: found[t] for t in wanted}
            if time.monotonic() > deadline:
                missing = ", ".join(t for t in wanted if not found.get(t))
                raise RuntimeError(f"topics not in Kafka metadata after {timeout_s:.0f}s: {missing}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
