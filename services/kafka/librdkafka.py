"""The stage runtime's Kafka clients on librdkafka (confluent-kafka), for issue 28's measurement.

`BARCODE_STAGE_KAFKA_CLIENT=librdkafka` gives the router, generator and notifier these instead
of aiokafka's, with the same surface the runtime uses (`send` returning a future, `getmany`,
`assignment`, `commit`, a rebalance listener) and the same delivery settings (acks=all,
idempotence, no auto-commit, earliest). librdkafka batches, compresses, parses fetches and
retries in its own C threads; what is left in Python is one hop per poll and per delivery batch:

- Producer: `produce` only queues. A thread serves delivery reports (`poll`) and hands each
  poll's reports to the event loop in one `call_soon_threadsafe`, not one per message.
- Consumer: `consume` runs on one thread of its own (librdkafka's consumer is driven from one
  thread); rebalance callbacks run there too and wait for the loop's listener (which lets the
  records in flight finish and commits) before the partitions move. Commits run on another
  thread: a commit must not wait behind a poll's timeout.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Sequence
from typing import Any

import confluent_kafka
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from services.settings import KafkaSettings

log = logging.getLogger(__name__)
REQUEST_TIMEOUT_MS = 15_000  # as services.kafka.clients: any answer under load, a dead connection dropped
METADATA_WAIT_S = 5.0
REVOKE_LIMIT_S = 30.0  # a listener that never answers must not hold the group forever


class LibrdkafkaError(KafkaError):  # type: ignore[misc]
    """A librdkafka error in the vocabulary the rest of the code catches (aiokafka's KafkaError),
    retriable when librdkafka says a retry may succeed."""

    def __init__(self, error: confluent_kafka.KafkaError | str, retriable: bool | None = None) -> None:
        super().__init__(str(error))
        if retriable is None:
            retriable = isinstance(error, confluent_kafka.KafkaError) and error.retriable()
        self.retriable = retriable


class FatalProducerError(LibrdkafkaError):
    """librdkafka's idempotent producer has failed for good (its sequence or epoch cannot be
    recovered): only a new producer can go on, which renewing.RenewingProducer makes."""


def _failure(error: confluent_kafka.KafkaError) -> LibrdkafkaError:
    return FatalProducerError(error, retriable=True) if error.fatal() else LibrdkafkaError(error)


class Record:
    """The fields of aiokafka's ConsumerRecord that handlers and dead letters read."""

    __slots__ = ("topic", "partition", "offset", "key", "value", "timestamp", "headers")

    def __init__(self, message: confluent_kafka.Message) -> None:
        self.topic: str = message.topic()
        self.partition: int = message.partition()
        self.offset: int = message.offset()
        self.key: bytes | None = message.key()
        self.value: bytes | None = message.value()
        self.timestamp: int = message.timestamp()[1]
        self.headers: Sequence[tuple[str, bytes]] = message.headers() or ()


def _common(settings: KafkaSettings, client_id: str) -> dict[str, Any]:
    # librdkafka's own log lines (a broker away, a retry) go through this module's logger.
    return {"bootstrap.servers": settings.bootstrap, "client.id": client_id,
            "socket.nagle.disable": True, "log_level": 4, "logger": log,
            # A broker that comes back is found within a second (librdkafka's default backs off
            # to 10 s), and a connection to an address that is gone (a deleted Kafka pod's) is
            # given up after 5 s, not 30: `make k8s-test`'s first result after a Kafka pod
            # deletion took 32.5 s with the defaults, 17 s on aiokafka.
            "reconnect.backoff.max.ms": 1000, "socket.connection.setup.timeout.ms": 5000}


class Producer:
    def __init__(self, settings: KafkaSettings, client_id: str) -> None:
        self._config = {**_common(settings, client_id), "acks": "all", "enable.idempotence": True,
                        "linger.ms": settings.linger_ms,
                        "request.timeout.ms": REQUEST_TIMEOUT_MS,
                        # The Java client's (and aiokafka's) key hash: a client's replies must land
                        # on the partition its gateway reads (librdkafka's default is CRC32).
                        "partitioner": "murmur2_random"}
        self._producer: confluent_kafka.Producer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reports: list[tuple[asyncio.Future[Any], Any]] = []
        self._running = False
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._producer = confluent_kafka.Producer(self._config)
        try:
            # librdkafka connects lazily: ask for metadata so a start fails while the broker is away.
            await self._loop.run_in_executor(None, lambda: self._metadata(None))
        except BaseException:
            self._producer = None
            raise
        self._running = True
        self._thread = threading.Thread(target=self._serve_reports, name="librdkafka-reports", daemon=True)
        self._thread.start()

    def _metadata(self, topic: str | None) -> Any:
        assert self._producer is not None
        try:
            return self._producer.list_topics(topic, timeout=METADATA_WAIT_S)
        except confluent_kafka.KafkaException as exc:
            raise LibrdkafkaError(exc.args[0], retriable=True) from exc

    async def partitions_for(self, topic: str) -> set[int]:
        found = (await asyncio.get_running_loop().run_in_executor(None, self._metadata, topic)).topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise LibrdkafkaError(f"no metadata for {topic}: {found.error if found else 'unknown'}", retriable=True)
        return set(found.partitions)

    def _serve_reports(self) -> None:
        assert self._producer is not None and self._loop is not None
        while self._running:
            self._producer.poll(0.1)
            if self._reports:
                reports, self._reports = self._reports, []
                self._loop.call_soon_threadsafe(_settle, reports)

    async def send(self, topic: str, *, key: bytes | None = None, value: bytes | None = None,
                   headers: Sequence[tuple[str, bytes]] | None = None) -> "asyncio.Future[Any]":
        assert self._producer is not None and self._loop is not None
        future: asyncio.Future[Any] = self._loop.create_future()

        def delivered(error: confluent_kafka.KafkaError | None, message: confluent_kafka.Message) -> None:
            # On the reports thread (inside poll): only noted here, settled on the loop.
            self._reports.append((future, _failure(error) if error is not None else message.offset()))

        try:
            if headers:  # a traced job's traceparent (services/tracing.py); most records have none
                self._producer.produce(topic, value, key, on_delivery=delivered, headers=list(headers))
            else:
                self._producer.produce(topic, value, key, on_delivery=delivered)
        except (BufferError, confluent_kafka.KafkaException) as exc:  # the local queue is full
            future.set_exception(LibrdkafkaError(str(exc), retriable=True))
        return future

    async def send_and_wait(self, topic: str, *, key: bytes | None = None, value: bytes | None = None,
                            headers: Sequence[tuple[str, bytes]] | None = None) -> Any:
        return await (await self.send(topic, key=key, value=value, headers=headers))

    async def stop(self) -> None:
        if self._producer is None:
            return
        loop = asyncio.get_running_loop()
        # The reports thread ends first: flush serves the last reports on its own thread, and
        # two threads must not swap the report list.
        self._running = False
        if self._thread is not None:
            await loop.run_in_executor(None, self._thread.join)
        await loop.run_in_executor(None, self._producer.flush, REQUEST_TIMEOUT_MS / 1000)
        if self._reports:
            reports, self._reports = self._reports, []
            _settle(reports)


def _settle(reports: list[tuple["asyncio.Future[Any]", Any]]) -> None:
    for future, outcome in reports:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class Consumer:
    def __init__(self, settings: KafkaSettings, client_id: str, group_id: str) -> None:
        self._config = {**_common(settings, client_id), "group.id": group_id,
                        "enable.auto.commit": False, "enable.auto.offset.store": False,
                        "auto.offset.reset": "earliest", "isolation.level": "read_uncommitted",
                        "partition.assignment.strategy": "roundrobin",
                        "session.timeout.ms": 10_000, "heartbeat.interval.ms": 3_000,
                        "fetch.wait.max.ms": settings.fetch_max_wait_ms,
                        "fetch.min.bytes": settings.fetch_min_bytes,
                        # librdkafka prefetches up to 64 MiB per consumer by default: a backlog
                        # would then sit in a pod's memory. 4 MiB is thousands of records.
                        "queued.max.messages.kbytes": 4096,
                        "socket.timeout.ms": REQUEST_TIMEOUT_MS}
        self._consumer: confluent_kafka.Consumer | None = None
        self._polls = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="librdkafka-poll")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: ConsumerRebalanceListener | None = None
        self._assigned: frozenset[TopicPartition] = frozenset()
        self._revoking = False  # the poll thread is in a revoke callback, waiting for the listener
        self._held_commits: dict[tuple[str, int], int] = {}  # what the listener committed meanwhile

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._consumer = confluent_kafka.Consumer(self._config)

    def subscribe(self, topics: list[str], listener: ConsumerRebalanceListener) -> None:
        assert self._consumer is not None
        self._listener = listener
        self._consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)

    # Rebalance callbacks: on the poll thread, inside consume().
    def _on_assign(self, _consumer: Any, partitions: list[confluent_kafka.TopicPartition]) -> None:
        self._assigned = self._assigned | {TopicPartition(p.topic, p.partition) for p in partitions}
        log.info("assigned %s", sorted((p.topic, p.partition) for p in partitions))

    def _on_revoke(self, _consumer: Any, partitions: list[confluent_kafka.TopicPartition]) -> None:
        revoked = {TopicPartition(p.topic, p.partition) for p in partitions}
        if self._listener is not None and self._loop is not None and revoked:
            self._revoking = True
            waiting = asyncio.run_coroutine_threadsafe(self._listener.on_partitions_revoked(revoked), self._loop)
            try:
                waiting.result(REVOKE_LIMIT_S)
            except Exception:  # noqa: BLE001 - the move goes on; its records are redone downstream-safely
                log.warning("committing before a rebalance failed; the new owner redoes those records", exc_info=True)
            finally:
                self._revoking = False
            self._commit_here(self._held_commits)
        self._assigned = self._assigned - revoked
        log.info("revoked %s", sorted((p.topic, p.partition) for p in partitions))

    def _commit_here(self, held: dict[tuple[str, int], int]) -> None:
        """The listener's commit, made on this thread (the one driving the consumer) before the
        partitions move. Made from another thread meanwhile, it waited on this very thread: a
        SIGTERM during a rebalance (a rolling restart) held the router until its drain deadline."""
        if not held or self._consumer is None:
            return
        offsets = [confluent_kafka.TopicPartition(topic, partition, offset)
                   for (topic, partition), offset in held.items()]
        held.clear()
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except confluent_kafka.KafkaException as exc:
            log.warning("commit before a rebalance failed, those records are redone: %s", exc)

    def assignment(self) -> frozenset[TopicPartition]:
        return self._assigned

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[str, list[Record]]:
        assert self._consumer is not None and self._loop is not None
        messages = await self._loop.run_in_executor(self._polls, self._poll, max_records or 500, timeout_ms / 1000)
        records = []
        for message in messages:
            error = message.error()
            if error is not None:
                log.warning("consumer: %s", error)
                continue
            records.append(Record(message))
        return {"records": records} if records else {}

    def _poll(self, most: int, timeout_s: float) -> list[confluent_kafka.Message]:
        """What has arrived, at once; else the first record to arrive within `timeout_s`.
        consume(n, t) alone waits for n records or the whole timeout: every hop waited ~60 ms."""
        assert self._consumer is not None
        ready = self._consumer.consume(most, 0)
        if ready or timeout_s <= 0:
            return ready
        first = self._consumer.consume(1, timeout_s)
        return first + self._consumer.consume(most - 1, 0) if first and most > 1 else first

    async def commit(self, positions: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None and self._loop is not None
        if self._revoking:
            # The poll thread waits in a rebalance callback for this: it commits them itself.
            for tp, offset in positions.items():
                key = (tp.topic, tp.partition)
                self._held_commits[key] = max(offset, self._held_commits.get(key, offset))
            return
        offsets = [confluent_kafka.TopicPartition(tp.topic, tp.partition, offset) for tp, offset in positions.items()]
        consumer = self._consumer
        try:
            answered = await self._loop.run_in_executor(
                None, lambda: consumer.commit(offsets=offsets, asynchronous=False))
        except confluent_kafka.KafkaException as exc:
            raise LibrdkafkaError(exc.args[0]) from exc
        failed = [p for p in answered or () if p.error is not None]
        if failed:
            raise LibrdkafkaError(f"commit refused for {len(failed)} partitions: {failed[0].error}")

    async def stop(self) -> None:
        if self._consumer is not None and self._loop is not None:
            # close() leaves the group: its revoke callback commits through the listener first.
            await self._loop.run_in_executor(self._polls, self._consumer.close)
            self._consumer = None
        self._polls.shutdown(wait=False)
