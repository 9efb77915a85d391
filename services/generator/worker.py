"""The generator's Kafka loop: poll a batch, run its jobs concurrently, publish each result as
soon as it is ready, commit the batch once every result is acknowledged by the broker.

Committing after the outputs are acknowledged is what makes a SIGKILL lose nothing: an
uncommitted batch is redelivered, and deterministic keys make the redo cheap (a HEAD).
"""
from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError

from services import contract
from services.contract import ErrorCode
from services.deadletter import dead_letter
from services.generator.jobs import JobRunner

log = logging.getLogger(__name__)
Outgoing = tuple[str, bytes | None, bytes]  # topic, key, value


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

    def _dead_letter(self, record: ConsumerRecord[bytes, bytes], code: str, message: str, attempts: int,
                     retryable: bool) -> Outgoing:
        letter = dead_letter(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                             value=record.value, service="generator", code=code, message=message,
                             attempts=attempts, retryable=retryable)
        return (self.dead_letter_topic, record.key, contract.encode(letter))

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> list[Outgoing]:
        """Answer one record: the messages to publish before its offset may be committed."""
        try:
            job = contract.decode(contract.RenderJob, record.value)
        except contract.SchemaError as exc:
            return [self._dead_letter(record, ErrorCode.UNDECODABLE, str(exc), 1, False)]
        result = await self.runner.run(job)
        out = [(self.results_topic, job.job_id.encode(), contract.encode(result))]
        error = result.error
        if error is not None and error.code in (ErrorCode.STORAGE_UNAVAILABLE, ErrorCode.INTERNAL):
            # The client has its answer (failed, retryable); the job waits here to be redriven.
            attempts = self.runner.attempts if error.code == ErrorCode.STORAGE_UNAVAILABLE else 1
            out.append(self._dead_letter(record, error.code, error.message, attempts, True))
        return out

    async def _publish(self, messages: list[Outgoing]) -> None:
        """Publish until the broker has acknowledged every message. While Kafka is away this
        waits (the batch stays uncommitted) instead of crashing: a repeat after a timeout may
        duplicate a result, and duplicates are dropped downstream."""
        delay = 0.5
        while True:
            try:
                acks = [await self.producer.send(topic, key=key, value=value) for topic, key, value in messages]
                await asyncio.gather(*acks)
                return
            except KafkaError as exc:
                if self._stopping.is_set():
                    raise
                log.warning("publishing %d results failed, retrying in %.1fs: %s", len(messages), delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def run(self) -> None:
        while not self._stopping.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            if not batches:
                continue
            records = [r for rs in batches.values() for r in rs]
            answers = await asyncio.gather(*(self._handle(r) for r in records))
            await self._publish([message for answer in answers for message in answer])
            offsets = {tp: rs[-1].offset + 1 for tp, rs in batches.items()}
            try:
                await self.consumer.commit(offsets)
            except KafkaError as exc:
                # A rebalance moved the partitions, or the broker is away: the batch is redone
                # (here or by another member), and deterministic keys make that a cache hit.
                log.warning("commit failed, batch will be redelivered: %s", exc)
