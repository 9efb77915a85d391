"""aiokafka clients with every delivery setting stated, and topic creation.

aiokafka's defaults are acks=1, no idempotence and auto-commit on; none of them is what this
pipeline promises, so nothing here relies on a default.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (InvalidProducerEpoch, KafkaConnectionError, OutOfOrderSequenceNumber, TopicAlreadyExistsError,
                             UnknownProducerId)

from services import contract
from services.settings import KafkaSettings

log = logging.getLogger(__name__)
# Every client's request timeout (faust's too, services/faust_app.py): long enough for any answer
# under load, short enough that a dead connection is given up quickly. At least the consumers'
# session timeout (10 s), as the group protocol requires.
REQUEST_TIMEOUT_MS = 15_000


def producer(settings: KafkaSettings, client_id: str, linger_ms: int | None = None) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.linger_ms if linger_ms is None else linger_ms,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
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
        # A request on a connection to a broker that went away (its pod deleted, so no reset
        # ever comes) waits this long before the client reconnects: aiokafka's 40 s default
        # stalled a generator that long after a Kafka pod deletion in `make k8s-test`.
        request_timeout_ms=REQUEST_TIMEOUT_MS,
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


async def _admin_when_reachable(settings: KafkaSettings) -> AIOKafkaAdminClient:
    """A started admin client, once the broker answers: up to `start_wait_s`, then the error."""
    deadline = time.monotonic() + settings.start_wait_s
    delay = 0.5
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="barcode-admin")
        try:
            await admin.start()
            return admin
        except KafkaConnectionError as exc:
            await admin.close()
            if time.monotonic() + delay > deadline:
                raise
            log.warning("Kafka at %s does not answer yet (%s); waiting up to %.0f s more", settings.bootstrap,
                        exc, deadline - time.monotonic())
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def ensure_topics(settings: KafkaSettings, specs: Iterable[NewTopic] | None = None) -> None:
    """Create missing topics; existing ones are left as they are. Every service calls this at
    start, waiting for the broker (`start_wait_s`), so no start order is required."""
    admin = await _admin_when_reachable(settings)
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


# An idempotent producer that replaces itself when the broker has forgotten its sequence.
#
# A broker that restarts while a batch is in flight can leave the producer's sequence numbers
# ahead of what it stored; it then refuses every later batch with OutOfOrderSequenceNumber (or no
# longer knows the producer id). The Java client resets its producer id and carries on (KIP-360);
# aiokafka does not, so the gateway stayed unable to accept any job after a Kafka pod was deleted
# under load (found by `make k8s-test`). Only a new producer (a new id, sequences from zero) can
# go on. A refused batch was not written, so sending it again on the new producer makes no
# duplicate.
BROKEN_SEQUENCE = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)


class RenewingProducer:
    def __init__(self, make: Callable[[], AIOKafkaProducer]) -> None:
        self._make = make
        self.producer = make()
        self.renewals = 0
        self._lock = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.producer.start()

    async def partitions_for(self, topic: str) -> Any:
        return await self.producer.partitions_for(topic)

    async def stop(self) -> None:
        await self.producer.stop()
        await asyncio.gather(*self._retired, return_exceptions=True)

    async def send_and_wait(self, topic: str, **kwargs: Any) -> Any:
        """Send and wait for the broker; once more on a new producer if this one's sequence broke."""
        producer = self.producer
        try:
            return await producer.send_and_wait(topic, **kwargs)
        except BROKEN_SEQUENCE as exc:
            await self.renew(producer, exc)
        return await self.producer.send_and_wait(topic, **kwargs)

    async def send(self, topic: str, **kwargs: Any) -> "asyncio.Future[Any]":
        """Queue a message; the returned future fails if the broker refuses it. A refusal for a
        broken sequence renews the producer for the messages after it (this one is not re-sent)."""
        producer = self.producer
        future = await producer.send(topic, **kwargs)

        def check(done: "asyncio.Future[Any]") -> None:
            if not done.cancelled() and isinstance(done.exception(), BROKEN_SEQUENCE):
                task = asyncio.ensure_future(self.renew(producer, done.exception()))
                self._retired.add(task)
                task.add_done_callback(self._retired.discard)

        future.add_done_callback(check)
        return future

    async def renew(self, broken: AIOKafkaProducer, cause: BaseException | None) -> None:
        """Replace `broken` with a started new producer, once, however many sends saw it fail."""
        async with self._lock:
            if self.producer is not broken:
                return
            fresh = self._make()
            await fresh.start()
            self.producer = fresh
            self.renewals += 1
            log.warning("Kafka producer replaced (the broker refused its sequence: %s); renewals: %d",
                        cause, self.renewals)
        stopping = asyncio.ensure_future(broken.stop())
        self._retired.add(stopping)
        stopping.add_done_callback(self._retired.discard)
