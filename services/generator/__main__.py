"""`python -m services.generator`: run the generator until SIGTERM/SIGINT."""
from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from services import contract, eventloop, kafka
from services.generator.jobs import JobRunner
from services.generator.metrics import serve_metrics
from services.generator.progress import ProgressSender
from services.generator.settings import GeneratorSettings
from services.generator.storage import ObjectStore, ensure_bucket
from services.generator.worker import GeneratorWorker
from services.settings import drain_seconds, exit_after, log_level

log = logging.getLogger("services.generator")


async def main(settings: GeneratorSettings) -> None:
    await kafka.ensure_topics(settings.kafka)
    executor = ThreadPoolExecutor(settings.render_threads, thread_name_prefix="render")
    await asyncio.get_running_loop().run_in_executor(executor, ensure_bucket, settings.s3, settings.object_ttl_days)
    store = ObjectStore(settings.s3, connections=settings.upload_connections)
    # Replaced by a new one if a restarted broker refuses its sequence: the retry loop would spin forever.
    producer = kafka.RenewingProducer(lambda: kafka.producer(settings.kafka, "generator"))
    await producer.start()
    # Fetch the topics' metadata now: otherwise the first job of each waits for it, and its
    # progress steps (not awaited) can reach the client after the result.
    for topic in (contract.RESULTS, contract.PROGRESS, contract.DEADLETTER):
        await producer.partitions_for(settings.kafka.topic(topic))
    runner = JobRunner(store, executor, settings.upload_attempts, settings.upload_backoff_s,
                       settings.max_pixels, settings.render_timeout_s,
                       report=ProgressSender(producer, settings.kafka.topic(contract.PROGRESS)))
    consumer = kafka.consumer(settings.kafka, "generator", "barcode-generator",
                              settings.kafka.topic(contract.RENDER))
    await consumer.start()
    worker = GeneratorWorker(consumer, producer, runner, settings.kafka.topic(contract.RESULTS),
                             settings.kafka.topic(contract.DEADLETTER), settings.max_in_flight)
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        exit_after(drain_seconds(), "generator")  # finish the batch, or give up on it
        worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        async with serve_metrics(runner, settings.metrics_host, settings.metrics_port, settings.kafka.bootstrap):
            log.info("generator ready: bucket %s, %d render threads", store.bucket, settings.render_threads)
            await worker.run()
    finally:
        # Order matters: leave the group (commits are done per batch), then flush results.
        await consumer.stop()
        await producer.stop()
        await store.close()
        executor.shutdown(wait=True)
        log.info("generator stopped: %s", runner.counts)


if __name__ == "__main__":
    logging.basicConfig(level=log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    eventloop.install()
    asyncio.run(main(GeneratorSettings.from_env()))
