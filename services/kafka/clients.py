"""Kafka clients with every delivery setting stated, and waiting for the broker.

aiokafka's defaults are acks=1, no idempotence and auto-commit on; none of them is what this
pipeline promises, so nothing here relies on a default. Every service makes its clients here.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import KafkaError, KafkaTimeoutError

from services.kafka import librdkafka
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
             assignors: tuple[Any, ...] = (RoundRobinPartitionAssignor,), fetch_max_wait_ms: int | None = None,
             fetch_min_bytes: int | None = None) -> AIOKafkaConsumer:
    """`assignors`: the batcher asks for the range assignor (a batch's two topics, one member).
    `group_id` None: a follower that is assigned its partitions and commits nothing. The fetch
    settings default to the service's (`settings`); the gateway's state feed fetches in batches."""
    return AIOKafkaConsumer(
        *topics,
        partition_assignment_strategy=assignors,
        bootstrap_servers=settings.bootstrap,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,  # we commit after the work and its outputs are acknowledged
        auto_offset_reset="earliest",  # a new group must not skip requests already queued
        fetch_max_wait_ms=settings.fetch_max_wait_ms if fetch_max_wait_ms is None else fetch_max_wait_ms,
        fetch_min_bytes=settings.fetch_min_bytes if fetch_min_bytes is None else fetch_min_bytes,
        isolation_level="read_uncommitted",
        # A request on a connection to a broker that went away (its pod deleted, so no reset
        # ever comes) waits this long before the client reconnects: aiokafka's 40 s default
        # stalled a generator that long after a Kafka pod deletion in `make k8s-test`.
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )


def stage_producer(settings: KafkaSettings, client_id: str) -> Any:
    """The producer of a stage (router, generator, notifier): aiokafka's, or librdkafka's when
    `settings.stage_client` says so (issue 28's decision record). Same delivery settings."""
    if settings.stage_client == "librdkafka":
        return librdkafka.Producer(settings, client_id)
    return producer(settings, client_id)


async def started_stage_consumer(settings: KafkaSettings, client_id: str, group_id: str, topics: list[str],
                                 listener: ConsumerRebalanceListener) -> Any:
    """A stage's started consumer, of the client `settings.stage_client` names."""
    if settings.stage_client != "librdkafka":
        return await started_consumer(settings, client_id, group_id, topics, listener)
    started = librdkafka.Consumer(settings, client_id, group_id)
    await started.start()
    started.subscribe(topics, listener)
    return started


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
