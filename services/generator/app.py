"""The generator as a stage: barcode.render -> barcode.results (+ S3 objects, progress steps).

Its handler awaits (rendering in a thread pool, the upload), so the runtime runs each job as a
task beside the others, up to GENERATOR_MAX_IN_FLIGHT: a slow PDF does not delay the QR codes
polled with it, and a partition's offset moves only past jobs whose results are acknowledged.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from services import contract, tracing
from services.contract import ErrorCode
from services.generator.jobs import JobRunner
from services.generator.progress import ProgressSender
from services.generator.settings import GeneratorSettings
from services.generator.storage import ObjectStore, ensure_bucket
from services.kafka import clients
from services.kafka.renewing import RenewingProducer
from services.kafka.handler import DeadLetters, Handler, Output, Outputs, Record
from services.kafka.stage import Stage

log = logging.getLogger(__name__)

# /metrics: JobRunner.counts, each as <name>_total.
HELP = {
    "rendered_total": "Barcodes drawn and stored as new objects.",
    "cached_total": "Jobs answered with an object already stored under the same key (not stored again).",
    "failed_total": "Jobs answered with a failure (a bad input, a timeout, storage unavailable, a bug).",
    "verification_failed_total": "Drawn barcodes that did not decode back to their input (also in failed_total).",
}


def render_handler(runner: JobRunner, results_topic: str, dead_letters: DeadLetters) -> Handler:
    async def handle(record: Record) -> Outputs:
        job = contract.decode(contract.RenderJob, record.value)  # SchemaError: a dead letter
        tracing.annotate(job_id=job.job_id, company=job.company, symbology=job.symbology, format=job.format,
                         batch_id=job.batch_id)
        result = await runner.run(job)
        out = [Output(results_topic, job.job_id.encode(), contract.encode(result))]
        error = result.error
        if error is not None and error.code in (ErrorCode.STORAGE_UNAVAILABLE, ErrorCode.INTERNAL):
            # The client has its answer (failed, retryable); the job waits there to be redriven.
            attempts = runner.attempts if error.code == ErrorCode.STORAGE_UNAVAILABLE else 1
            out.append(dead_letters.of(record, error.code, error.message, attempts, retryable=True))
        return out

    return handle


def build_stage(settings: GeneratorSettings) -> Stage:
    executor = ThreadPoolExecutor(settings.render_threads, thread_name_prefix="render")
    store = ObjectStore(settings.s3, connections=settings.upload_connections)
    # Progress steps go out on the stage's own producer (one producer per job keeps them in order).
    producer = RenewingProducer(lambda: clients.stage_producer(settings.kafka, "generator"))
    runner = JobRunner(store, executor, settings.upload_attempts, settings.upload_backoff_s,
                       settings.max_pixels, settings.render_timeout_s,
                       report=ProgressSender(producer, settings.kafka.topic(contract.PROGRESS)))

    async def prepare() -> None:
        await asyncio.get_running_loop().run_in_executor(executor, ensure_bucket, settings.s3,
                                                         settings.object_ttl_days)
        log.info("bucket %s ready, %d render threads", store.bucket, settings.render_threads)

    async def close() -> None:
        await store.close()
        executor.shutdown(wait=True)

    return Stage(
        name="generator", kafka=settings.kafka, group="barcode-generator", source=contract.RENDER, span="generate",
        outputs=(contract.RESULTS, contract.PROGRESS),
        handler=render_handler(runner, settings.kafka.topic(contract.RESULTS),
                               DeadLetters(settings.kafka.topic(contract.DEADLETTER), "generator")),
        max_in_flight=settings.max_in_flight, health=settings.health,
        counters=lambda: {f"{name}_total": value for name, value in runner.counts.items()}, helps=HELP,
        close=close, prepare=prepare, producer=producer,
    )
