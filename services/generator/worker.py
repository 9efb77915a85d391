"""The generator's Kafka loop: poll a batch, run its jobs concurrently, publish each result as
soon as it is ready, commit the batch once every result is acknowledged by the broker.

Committing after the outputs are acknowledged is what makes a SIGKILL lose nothing: an
uncommitted batch is redelivered, and deterministic keys make the redo cheap (a HEAD).
"""
from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import CommitFailedError

from services import contract
from services.contract import ErrorCode
from services.deadletter import dead_letter
from services.generator.jobs import JobRunner

log = logging.getLogger(__name__)


class GeneratorWorker:
    def __init__(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, runner: JobRunner,
                 results_topic: str, dead_letter_topic: str, batch_size: int) -> None:
        self.consumer = consumer
        self.producer = producer
        self.runner = runner
        self.results_topic = results_topic
        self.dead_letter_topic = dead_letter_topic
        self.batch_size = batch_size
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in hand, commit it, then return from run()."""
        self._stopping.set()

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], code: str, message: str, attempts: int,
                           retryable: bool) -> "asyncio.Future[object]":
        letter = dead_letter(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                             value=record.value, service="generator", code=code, message=message,
                             attempts=attempts, retryable=retryable)
        return await self.producer.send(self.dead_letter_topic, key=record.key, value=contract.encode(letter))

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> list["asyncio.Future[object]"]:
        """Answer one record; returns the broker acks to wait for before committing it."""
        try:
            job = contract.decode(contract.RenderJob, record.value)
        except contract.SchemaError as exc:
            return [await self._dead_letter(record, ErrorCode.UNDECODABLE, str(exc), 1, False)]
        result = await self.runner.run(job)
        acks = [await self.producer.send(self.results_topic, key=job.job_id.encode(), value=contract.encode(result))]
        error = result.error
        if error is not None and error.code in (ErrorCode.STORAGE_UNAVAILABLE, ErrorCode.INTERNAL):
            # The client has its answer (failed, retryable); the job waits here to be redriven.
            attempts = self.runner.attempts if error.code == ErrorCode.STORAGE_UNAVAILABLE else 1
            acks.append(await self._dead_letter(record, error.code, error.message, attempts, True))
        return acks

    async def run(self) -> None:
        while not self._stopping.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            if not batches:
                continue
            records = [r for rs in batches.values() for r in rs]
            acks = await asyncio.gather(*(self._handle(r) for r in records))
            await asyncio.gather(*(ack for record_acks in acks for ack in record_acks))
            offsets = {tp: rs[-1].offset + 1 for tp, rs in batches.items()}
            try:
                await self.consumer.commit(offsets)
            except CommitFailedError as exc:
                # The partitions moved to another member during a rebalance; it will redo the
                # batch and deterministic keys make that a cache hit.
                log.warning("commit failed after rebalance, batch will be redelivered: %s", exc)
