"""aiokafka clients with every delivery setting stated, and topic creation.

aiokafka's defaults are acks=1, no idempotence and auto-commit on; none of them is what this
pipeline promises, so nothing here relies on a default.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services import contract
from services.settings import KafkaSettings

log = logging.getLogger(__name__)


def producer(settings: KafkaSettings, client_id: str, linger_ms: int | None = None) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.linger_ms if linger_ms is None else linger_ms,
        request_timeout_ms=15000,
    )


def consumer(settings: KafkaSettings, client_id: str, group_id: str | None, *topics: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,  # we commit after the work and its outputs are acknowledged
        auto_offset_reset="earliest",  # a new group must not skip requests already queued
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        fetch_min_bytes=settings.fetch_min_bytes,
        isolation_level="read_uncommitted",
    )


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
        NewTopic(settings.topic(contract.NOTIFICATIONS), settings.partitions, rf, topic_configs=short_lived),
        NewTopic(settings.topic(contract.DELIVERIES), settings.partitions, rf, topic_configs=short_lived),
        # Progress matters only while a job runs: ten minutes.
        NewTopic(settings.topic(contract.PROGRESS), settings.partitions, rf,
                 topic_configs={**isr, "retention.ms": "600000", "segment.ms": "600000"}),
        # Kept a week: long enough for someone to look and redrive.
        NewTopic(settings.topic(contract.DEADLETTER), 1, rf,
                 topic_configs={**isr, "retention.ms": str(7 * 24 * 3600 * 1000)}),
    ]


async def ensure_topics(settings: KafkaSettings, specs: Iterable[NewTopic] | None = None) -> None:
    """Create missing topics; existing ones are left as they are. Every service calls this at
    start, so no start order is required."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="barcode-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in (specs or topic_specs(settings)) if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
                log.info("created topics %s", ", ".join(t.name for t in missing))
            except TopicAlreadyExistsError:
                pass  # another service won the race
    finally:
        await admin.close()


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
