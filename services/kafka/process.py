"""Running a Kafka service as a process: the event loop and logging, stopping on SIGTERM, and
the start sequence every one of them follows.

The broker may be away when a service starts, or leave while it starts: every step waits for it
with back-off (`clients.until_connected`), /healthz 200 and /readyz 503 meanwhile, and a SIGTERM
during the wait stops the process at once (`unless_stopped`). The stage runtime (`stage.py`) and
the batcher start through `connect`; the gateway has its own HTTP server and starts its clients
itself, with the same waits.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer

from services.kafka import clients, eventloop, topics
from services.kafka.renewing import RenewingProducer
from services.settings import KafkaSettings, drain_seconds, exit_after, log_level, read_config

log = logging.getLogger(__name__)
T = TypeVar("T")


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


async def connect(stop: asyncio.Event, kafka: KafkaSettings, producer: RenewingProducer,
                  open_consumer: Callable[[], Awaitable[AIOKafkaConsumer]], outputs: tuple[str, ...] = (),
                  prepare: Callable[[], Awaitable[None]] | None = None) -> AIOKafkaConsumer:
    """The start of every Kafka service that consumes: topics, the service's own preparation,
    the producer, its topics' metadata, then the consumer (joining its group last, so no
    partition is assigned to a process that cannot yet publish). Each step waits for the broker;
    a stop ends the wait with Stopped."""
    await unless_stopped(stop, topics.ensure_topics(kafka))
    if prepare is not None:
        await unless_stopped(stop, prepare())
    await unless_stopped(stop, clients.until_connected(kafka, "starting the producer", producer.start))

    async def metadata() -> None:
        # Now, not at the first record: its output would wait for the metadata round trip.
        for topic in outputs:
            await producer.partitions_for(kafka.topic(topic))

    if outputs:
        await unless_stopped(stop, clients.until_connected(kafka, "reading topic metadata", metadata))
    return await unless_stopped(stop, clients.until_connected(kafka, "starting the consumer", open_consumer))


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
