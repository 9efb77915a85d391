"""A faust App with the delivery and latency settings this pipeline needs.

faust-streaming 0.15.3 builds its worker consumer with a hard-coded fetch_max_wait_ms=1500
(faust/transport/drivers/aiokafka.py, `_create_worker_consumer`). A faust worker also reads
its own internal topics, so a fetch waiting on those can hold a new record back for that long:
1.5 s on a hop. Its non-transactional producer also runs without idempotence. Both are fixed
here by subclassing the driver, not by patching faust globally; tests/test_faust_app.py checks
that the settings reach aiokafka.
"""
from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar, cast

import aiokafka
import faust
from aiokafka.errors import KafkaError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import EventT, TransportT

from services import contract
from services.deadletter import dead_letter
from services.kafka import BROKEN_SEQUENCE, REQUEST_TIMEOUT_MS
from services.readiness import KafkaReadiness
from services.settings import KafkaSettings

log = logging.getLogger(__name__)
T = TypeVar("T", contract.GenerateRequest, contract.Result)

class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka 0.14.0 copies this attribute into its Fetcher at start(); we run before that.
        app = cast(PipelineApp, self.app)
        consumer._fetch_max_wait_ms = app.fetch_max_wait_ms
        consumer._fetch_min_bytes = app.fetch_min_bytes
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Producer(faust_aiokafka.Producer):
    renewals = 0
    _renew_lock: asyncio.Lock | None = None

    def _settings_extra(self) -> dict[str, Any]:
        # acks=all and idempotence: a retried send can neither be lost nor duplicated.
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}

    async def renew(self, broken: aiokafka.AIOKafkaProducer | None) -> None:
        """A new aiokafka producer in place of one whose sequence a restarted broker refuses for
        good (services.kafka.BROKEN_SEQUENCE says why); once, however many sends saw it fail."""
        if self._renew_lock is None:
            self._renew_lock = asyncio.Lock()
        async with self._renew_lock:
            if broken is None or self._producer is not broken:
                return  # already replaced after another failed send
            fresh = self._new_producer()
            await fresh.start()
            self._producer = fresh
            self.renewals += 1
        log.warning("Kafka producer replaced (the broker refused its sequence); renewals: %d", self.renewals)
        stopping = asyncio.ensure_future(broken.stop())
        _RETIRED.add(stopping)
        stopping.add_done_callback(_RETIRED.discard)


_RETIRED: set[asyncio.Future[None]] = set()  # old producers being stopped in the background


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer
    Producer = _Producer


class PipelineApp(faust.App):
    fetch_max_wait_ms = 10  # set per app by make_app; read by its worker consumer
    fetch_min_bytes = 1

    def _new_transport(self) -> TransportT:
        return cast(TransportT, _Transport(self.conf.broker_consumer, self))

    def _new_producer_transport(self) -> TransportT:
        return cast(TransportT, _Transport(self.conf.broker_producer, self))


def make_app(app_id: str, kafka: KafkaSettings, health: tuple[str, int] = ("127.0.0.1", 0),
             **extra: Any) -> PipelineApp:
    """A faust app with the pipeline's settings; `health` (host, port): serve GET /healthz
    there (port 0: no web server at all, as faust's own web views are not wanted)."""
    host, port = health
    app = PipelineApp(
        app_id,
        broker=f"kafka://{kafka.bootstrap}",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=kafka.linger_ms / 1000.0,
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        # Our topics are created by services.kafka.ensure_topics; this lets faust add its own
        # internal leader topic.
        topic_allow_declare=True,
        web_enabled=port != 0,
        web_bind=host,
        web_port=port or 6066,
        web_host=host,
        broker_commit_interval=0.5,
        # faust's 60 s session timeout means a SIGKILLed worker holds its partitions for a
        # minute before its replacement gets them; 10 s (aiokafka's default) bounds that stall.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        # faust's 90 s default: after a broker restart a request on a dead connection held a
        # worker that long (`make k8s-test`, Kafka pod deleted under load).
        broker_request_timeout=REQUEST_TIMEOUT_MS / 1000,
        processing_guarantee="at_least_once",
        store="memory://",
        # faust writes a data folder even with in-memory tables; not into the working directory
        # (a read-only root filesystem in a container, a source checkout locally).
        datadir=os.environ.get("BARCODE_FAUST_DATADIR", os.path.join(tempfile.gettempdir(), "{conf.id}-data")),
        **extra,
    )
    app.fetch_max_wait_ms = kafka.fetch_max_wait_ms
    app.fetch_min_bytes = kafka.fetch_min_bytes
    if port:
        readiness = KafkaReadiness(kafka.bootstrap)

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            # Answers while the worker's event loop runs; faust stops the process if an agent crashes.
            return web.json({"status": "ok", "app": app.conf.id})

        @app.page("/readyz")
        async def readyz(web: Any, request: Any) -> Any:
            body, status = await readiness.answer()
            return web.json(body, status=status)
    return app


def raw_topic(app: faust.App, base: str, kafka: KafkaSettings) -> faust.TopicT:
    """Our topics carry contract bytes; faust must not (de)serialise them."""
    return app.topic(kafka.topic(base), value_serializer="raw", key_serializer="raw")


class Outbox:
    """Publishes each input's outputs without waiting for the broker between inputs, and acks
    the input (so faust may commit its offset) only once its output is acknowledged.

    Waiting for every ack before taking the next message (2-4 ms a round trip here) capped an
    agent at a few hundred messages a second and queued everything behind it; pipelined, the
    producer batches whatever arrives while a request is in flight. faust commits only the
    contiguous prefix of acked offsets, so an output that is never acknowledged keeps its input
    uncommitted: it is redone after a crash, and duplicates are dropped downstream. Sends are
    issued in input order, so the producer keeps per-key order.
    """

    def __init__(self, stream: faust.StreamT[bytes], max_in_flight: int = 2000) -> None:
        stream.enable_acks = False  # the agent's iterator must not ack an event on its own
        self.stream = stream
        self._slots = asyncio.Semaphore(max_in_flight)  # back-pressure while the broker is away
        self._tasks: set[asyncio.Task[None]] = set()

    async def ack(self, event: EventT) -> None:
        """An input that produces no output (a dropped duplicate) is done at once."""
        await self.stream.ack(event)

    async def publish(self, event: EventT, topic: faust.TopicT, key: str, message: Any) -> None:
        await self._slots.acquire()
        value = contract.encode(message)
        try:
            sent_on = _aiokafka_producer(topic)
            delivery = await topic.send(key=key.encode(), value=value)
        except BaseException:
            self._slots.release()
            raise
        task = asyncio.create_task(self._settle(event, topic, key.encode(), value, delivery, sent_on))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, event: EventT, topic: faust.TopicT, key: bytes, value: bytes,
                      delivery: Awaitable[Any], sent_on: aiokafka.AIOKafkaProducer | None) -> None:
        delay = 0.5
        try:
            while True:
                try:
                    await delivery
                    break
                except KafkaError as exc:
                    if isinstance(exc, BROKEN_SEQUENCE):
                        # Retrying on this producer would fail forever: the input stayed
                        # unacknowledged and its result never reached the client (8 jobs in
                        # one `make k8s-test` Kafka pod deletion, before this).
                        await cast(_Producer, topic.app.producer).renew(sent_on)
                    # aiokafka gave up (broker away past its timeout): send again, in order.
                    log.warning("publishing to %s failed, retrying in %.1fs: %s", topic.get_topic_name(), delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    sent_on = _aiokafka_producer(topic)
                    delivery = await topic.send(key=key, value=value)
        finally:
            self._slots.release()
        await self.stream.ack(event)


def _aiokafka_producer(topic: faust.TopicT) -> aiokafka.AIOKafkaProducer | None:
    """The aiokafka producer a send on `topic` goes through now (None before the app started)."""
    return getattr(topic.app.producer, "_producer", None)


async def decoded(kind: type[T], stream: faust.StreamT[bytes], outbox: Outbox, dead_letters: faust.TopicT,
                  service: str) -> AsyncIterator[tuple[EventT, T]]:
    """The stream's events with their messages as contract objects. Poison (undecodable)
    messages have no one to answer to: they go to the dead-letter topic, and the partition
    moves on."""
    async for event in stream.events():
        message = event.message
        try:
            value = contract.decode(kind, message.value)
        except contract.SchemaError as exc:
            letter = dead_letter(topic=message.topic, partition=message.partition, offset=message.offset,
                                 key=message.key, value=message.value, service=service,
                                 code=contract.ErrorCode.UNDECODABLE, message=str(exc))
            await outbox.publish(event, dead_letters, letter.job_id or f"{message.topic}-{message.offset}", letter)
            continue
        yield event, value


async def send_acked(topic: faust.TopicT, key: str, message: Any) -> None:
    """Send and wait for the broker's ack (off the hot path: a dead letter beside an output)."""
    delivery = await topic.send(key=key.encode(), value=contract.encode(message))
    await delivery
