"""`python -m services.generator`: run the generator until SIGTERM/SIGINT."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aiokafka import AIOKafkaConsumer

from services import contract, eventloop, kafka
from services.generator.jobs import JobRunner
from services.generator.metrics import serve_metrics
from services.generator.progress import ProgressSender
from services.generator.settings import GeneratorSettings
from services.generator.storage import ObjectStore, ensure_bucket
from services.generator.worker import GeneratorWorker
from services.settings import drain_seconds, exit_after, log_level, read_config

log = logging.getLogger("services.generator")
T = TypeVar("T")


class Stopped(Exception):
    """SIGTERM/SIGINT came while the generator was still waiting for Kafka."""


async def _unless_stopped(stop: asyncio.Event, step: Awaitable[T]) -> T:
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


async def main(settings: GeneratorSettings, drain_s: float) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    worker: GeneratorWorker | None = None

    def on_signal() -> None:
        exit_after(drain_s, "generator")  # finish the batch, or give up on it
        stop.set()
        if worker is not None:
            worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    executor = ThreadPoolExecutor(settings.render_threads, thread_name_prefix="render")
    store = ObjectStore(settings.s3, connections=settings.upload_connections)
    # Replaced by a new one if a restarted broker refuses its sequence: the retry loop would spin forever.
    producer = kafka.RenewingProducer(lambda: kafka.producer(settings.kafka, "generator"))
    runner = JobRunner(store, executor, settings.upload_attempts, settings.upload_backoff_s,
                       settings.max_pixels, settings.render_timeout_s,
                       report=ProgressSender(producer, settings.kafka.topic(contract.PROGRESS)))
    consumer: AIOKafkaConsumer | None = None
    try:
        # Probes first: while the broker is away /healthz answers (the process is fine) and
        # /readyz says why it is not ready, instead of nothing listening at all.
        async with serve_metrics(runner, settings.metrics_host, settings.metrics_port, settings.kafka.bootstrap):
            await _unless_stopped(stop, kafka.ensure_topics(settings.kafka))
            await _unless_stopped(stop, loop.run_in_executor(executor, ensure_bucket, settings.s3,
                                                             settings.object_ttl_days))
            await _unless_stopped(stop, kafka.until_connected(settings.kafka, "starting the producer", producer.start))
            # Fetch the topics' metadata now: otherwise the first job of each waits for it, and its
            # progress steps (not awaited) can reach the client after the result.
            async def metadata() -> None:
                for topic in (contract.RESULTS, contract.PROGRESS, contract.DEADLETTER):
                    await producer.partitions_for(settings.kafka.topic(topic))

            await _unless_stopped(stop, kafka.until_connected(settings.kafka, "reading topic metadata", metadata))
            consumer = await _unless_stopped(stop, kafka.until_connected(
                settings.kafka, "starting the consumer", lambda: _started_consumer(settings)))
            worker = GeneratorWorker(consumer, producer, runner, settings.kafka.topic(contract.RESULTS),
                                     settings.kafka.topic(contract.DEADLETTER), settings.max_in_flight)
            if stop.is_set():
                worker.stop()
            log.info("generator ready: bucket %s, %d render threads", store.bucket, settings.render_threads)
            await worker.run()
    except Stopped:
        log.info("stopped while waiting for Kafka")
    finally:
        # Order matters: leave the group (commits are done per batch), then flush results.
        if consumer is not None:
            await consumer.stop()
        await producer.stop()
        await store.close()
        executor.shutdown(wait=True)
        log.info("generator stopped: %s", runner.counts)


async def _started_consumer(settings: GeneratorSettings) -> AIOKafkaConsumer:
    """A started consumer; one whose start failed is closed, and the next try makes a new one."""
    consumer = kafka.consumer(settings.kafka, "generator", "barcode-generator", settings.kafka.topic(contract.RENDER))
    try:
        await consumer.start()
    except BaseException:
        await consumer.stop()
        raise
    return consumer


if __name__ == "__main__":
    logging.basicConfig(level=log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def _prepare() -> tuple[GeneratorSettings, float]:
        eventloop.install()
        return GeneratorSettings.from_env(), drain_seconds()

    generator_settings, drain = read_config(_prepare)
    asyncio.run(main(generator_settings, drain))
