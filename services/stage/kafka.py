"""aiokafka clients with every delivery setting stated, and topic creation.

aiokafka's defaults are acks=1, no idempotence and auto-commit on; none of them is what this
pipeline promises, so nothing here relies on a default.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import (InvalidProducerEpoch, KafkaError, KafkaTimeoutError, OutOfOrderSequenceNumber,
                             TopicAlreadyExistsError, UnknownProducerId, for_code)

from services import contract
from services.settings import KafkaSettings

log = logging.getLogger(__name__)
# Every client's request timeout: long enough for any answer
# under load, short enough that a dead connection is given up quickly. At least the consumers'
# session timeout (10 s), as the group protocol requires.
REQUEST_TIMEOUT_MS = 15_000
MAX_BACKOFF_S = 5.0  # longest pause between two tries to reach the broker
T = TypeVar("T")


def producer(settings: KafkaSettings, client_id: str, linger_ms: int | None = None) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.linger_ms if linger_ms is None else linger_ms,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )


def consumer(settings: KafkaSettings, client_id: str, group_id: str | None, *topics: str,
             assignors: tuple[Any, ...] = (RoundRobinPartitionAssignor,)) -> AIOKafkaConsumer:
    """`assignors`: the batcher asks for the range assignor (a batch's two topics, one member)."""
    return AIOKafkaConsumer(
        *topics,
        partition_assignment_strategy=assignors,
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


async def started_consumer(settings: KafkaSettings, client_id: str, group_id: str, topics: list[str],
                           listener: ConsumerRebalanceListener,
                           assignors: tuple[Any, ...] = (RoundRobinPartitionAssignor,),
                           made: Callable[[AIOKafkaConsumer], None] | None = None) -> AIOKafkaConsumer:
    """A started consumer subscribed to `topics`; one whose start failed is closed, and the next
    try makes a new one. `made` sees the consumer before it joins (a listener that uses it)."""
    started = consumer(settings, client_id, group_id, assignors=assignors)
    if made is not None:
        made(started)
    try:
        await started.start()
        started.subscribe(topics, listener=listener)
    except BaseException:
        await started.stop()
        raise
    return started


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


def broker_unreachable(exc: BaseException) -> bool:
    """True for what a client raises while the broker is away, restarting or electing: worth
    waiting for. Errors that no wait can cure (a replication factor the cluster cannot meet)
    are not, so they still end the start with their reason."""
    if isinstance(exc, (KafkaTimeoutError, OSError, asyncio.TimeoutError)):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


async def until_connected(settings: KafkaSettings, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` until the broker lets it succeed, retrying with bounded backoff (0.5 s
    doubling to 5 s). No time limit by default: a worker that waits (readiness false) heals
    by itself when Kafka returns, one that exits needs somebody to start it again (the notifier
    that died this way left 1,041 jobs waiting under `make run`). `start_wait_s` > 0 gives up
    after that long with the last error."""
    deadline = time.monotonic() + settings.start_wait_s if settings.start_wait_s > 0 else None
    delay = 0.5
    while True:
        try:
            return await attempt()
        except Exception as exc:  # noqa: BLE001 - sorted by broker_unreachable, the rest re-raised
            if not broker_unreachable(exc) or (deadline is not None and time.monotonic() + delay > deadline):
                raise
            log.warning("%s: Kafka at %s does not answer (%s: %s); retrying in %.1f s", what, settings.bootstrap,
                        type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)


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
        try:
            await self.producer.start()
        except BaseException:
            # A producer whose start failed (broker away) is not tried again: the next start,
            # in services.stage.kafka.until_connected, gets a fresh one.
            failed, self.producer = self.producer, self._make()
            await failed.stop()
            raise

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
