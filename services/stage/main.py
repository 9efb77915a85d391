"""Running a stage as a process: wait for Kafka, serve the probes, run the loop, drain on SIGTERM.

The broker may be away when a stage starts, or leave while it starts: every step waits for it
with back-off (`kafka.until_connected`), /healthz 200 and /readyz 503 meanwhile, and a SIGTERM
during the wait stops the process at once. Once running, the clients ride out a broker
restart (the publisher resends unacknowledged outputs), so nothing restarts in place.

The drain order follows uvicorn's `shutdown()`: stop polling, let the records in hand finish
(up to three quarters of BARCODE_DRAIN_SECONDS), commit, leave the group (`consumer.stop()`),
flush the producer; `exit_after` ends the process if that overruns the deadline.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from aiokafka import AIOKafkaConsumer

from services import contract
from services.settings import KafkaSettings, drain_seconds, exit_after, log_level, read_config
from services.stage import eventloop, kafka
from services.stage.batch import DeadLetters, Handler
from services.stage.health import serve_health
from services.stage.publisher import Publisher
from services.stage.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Stage:
    """What a service is to the runtime: where it reads, how it answers a record, where it serves."""

    name: str  # the service: Kafka client id, dead letters' `service`, metrics prefix, logs
    kafka: KafkaSettings
    group: str  # consumer group
    source: str  # input topic (base name; the prefix is added)
    outputs: tuple[str, ...]  # topics it writes (base names): their metadata is fetched at start
    handler: Handler
    max_in_flight: int = 1000  # records polled and not yet acknowledged downstream
    health: tuple[str, int] = ("127.0.0.1", 0)  # /healthz, /readyz, /metrics; port 0: none
    counters: Callable[[], Mapping[str, float]] = field(default=dict)  # the service's own metrics
    # Closes what the service opened (an HTTP session, a thread pool), after the drain.
    close: Callable[[], Awaitable[None]] | None = None
    # Work before the first poll, once Kafka answers (the generator's bucket); a stop interrupts it.
    prepare: Callable[[], Awaitable[None]] | None = None
    # The service's own producer when its handler sends beside its outputs (the generator's
    # progress steps); by default the runtime makes one.
    producer: kafka.RenewingProducer | None = None


class Stopped(Exception):
    """SIGTERM/SIGINT came while the stage was still waiting for Kafka."""


async def unless_stopped(stop: asyncio.Event, step: Awaitable[T]) -> T:
    """`step`'s result, or Stopped if a signal comes first: a wait for an absent broker can be
    long, and a stop must not have to wait for it."""
    task, stopper = asyncio.ensure_future(step), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise Stopped


def stop_on_signals(name: str, drain_s: float, also: Callable[[], None]) -> asyncio.Event:
    """On SIGTERM or SIGINT: set the returned event, call `also` (begin the drain), and end the
    process after `drain_s` whatever is still running."""
    stop = asyncio.Event()

    def on_signal() -> None:
        exit_after(drain_s, name)  # finish what is in hand, or give up on it
        stop.set()
        also()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    return stop


async def serve(stage: Stage, drain_s: float) -> None:
    runtime: Runtime | None = None

    def begin_drain() -> None:
        if runtime is not None:
            runtime.stop()

    stop = stop_on_signals(stage.name, drain_s, begin_drain)
    # Replaced by a new one if a restarted broker refuses its sequence: retries would fail forever.
    producer = stage.producer or kafka.RenewingProducer(lambda: kafka.producer(stage.kafka, stage.name))
    publisher = Publisher(producer)
    dead_letters = DeadLetters(stage.kafka.topic(contract.DEADLETTER), stage.name)
    consumer: AIOKafkaConsumer | None = None

    def counters() -> dict[str, float]:
        own = runtime.metrics() if runtime is not None else {}
        return {**own, "producer_renewals_total": producer.renewals, **stage.counters()}

    host, port = stage.health
    try:
        async with serve_health(stage.name, host, port, stage.kafka.bootstrap, counters), \
                contextlib.AsyncExitStack() as on_exit:
            if stage.close is not None:
                on_exit.push_async_callback(stage.close)
            await unless_stopped(stop, kafka.ensure_topics(stage.kafka))
            if stage.prepare is not None:
                await unless_stopped(stop, stage.prepare())
            await unless_stopped(stop, kafka.until_connected(stage.kafka, "starting the producer", producer.start))

            async def metadata() -> None:
                # Now, not at the first record: its output would wait for the metadata round trip.
                for topic in (*stage.outputs, contract.DEADLETTER):
                    await producer.partitions_for(stage.kafka.topic(topic))

            await unless_stopped(stop, kafka.until_connected(stage.kafka, "reading topic metadata", metadata))
            fresh = Runtime(publisher, stage.handler, dead_letters, stage.max_in_flight, drain_s)
            listener = fresh.rebalance_listener()
            consumer = await unless_stopped(stop, kafka.until_connected(
                stage.kafka, "starting the consumer",
                lambda: kafka.started_consumer(stage.kafka, stage.name, stage.group, [stage.kafka.topic(stage.source)],
                                               listener)))
            fresh.consumer, runtime = consumer, fresh
            if stop.is_set():
                runtime.stop()
            log.info("%s ready: reading %s as group %s", stage.name, stage.kafka.topic(stage.source), stage.group)
            await runtime.run()
    except Stopped:
        log.info("%s stopped while waiting for Kafka", stage.name)
    finally:
        # Leave the group (the runtime has committed), then flush what is still queued.
        if consumer is not None:
            await consumer.stop()
        await producer.stop()
        log.info("%s stopped: %s", stage.name, counters())


def start_process(serve_with: Callable[[float], Awaitable[None]]) -> None:
    """The process entry of every Kafka service: logging, the event loop, the drain deadline,
    then `serve_with(drain_s)` until it returns."""
    logging.basicConfig(level=log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def prepare() -> float:
        eventloop.install()
        # Read now, not at SIGTERM: a bad value must stop the start, not the drain (and first:
        # the build logs, and a configuration error must stay the only line).
        return drain_seconds()

    drain_s = read_config(prepare)
    asyncio.run(serve_with(drain_s))


def run(build: Callable[[], Stage]) -> None:
    """`python -m services.<name>` of a stage."""

    async def main(drain_s: float) -> None:
        # Built on the loop: aiokafka clients (a service's own producer) need a running loop.
        await serve(read_config(build), drain_s)

    start_process(main)
