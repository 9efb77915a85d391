"""The generator's Kafka loop: keep up to `max_in_flight` jobs in work, start each as soon as it
is polled, publish its result as soon as it is ready, and commit a partition's offset up to
the first record whose result the broker has not yet acknowledged.

Committing after the outputs are acknowledged is what makes a SIGKILL lose nothing: an
uncommitted record is redelivered, and deterministic keys make the redo cheap. Jobs are not
held back for a batch to finish: a slow PDF does not delay the QR codes polled with it.
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError

from services import contract
from services.contract import ErrorCode
from services.deadletter import dead_letter
from services.generator.jobs import JobRunner
from services.stage.offsets import OffsetTracker
from services.kafka import RenewingProducer

log = logging.getLogger(__name__)
Outgoing = tuple[str, bytes | None, bytes]  # topic, key, value
COMMIT_EVERY_S = 0.2  # a commit is a broker round trip; a crash redoes at most this much more


class GeneratorWorker:
    def __init__(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer | RenewingProducer, runner: JobRunner,
                 results_topic: str, dead_letter_topic: str, max_in_flight: int) -> None:
        self.consumer = consumer
        self.producer = producer
        self.runner = runner
        self.results_topic = results_topic
        self.dead_letter_topic = dead_letter_topic
        self.max_in_flight = max_in_flight
        self.offsets = OffsetTracker()
        self._finished = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the jobs in hand, commit them, then return from run()."""
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
        waits (the record stays uncommitted) instead of crashing: a repeat after a timeout may
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

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        await self._publish(await self._handle(record))
        self.offsets.finished((record.topic, record.partition), record.offset)
        self._finished.set()

    def _start(self, record: ConsumerRecord[bytes, bytes]) -> None:
        self.offsets.started((record.topic, record.partition), record.offset)
        task = asyncio.create_task(self._process(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _commit(self) -> None:
        owned = {(tp.topic, tp.partition): tp for tp in self.consumer.assignment()}
        self.offsets.forget({tp for tp in self.offsets.partitions() if tp not in owned})
        positions = {owned[tp]: offset for tp, offset in self.offsets.committable().items() if tp in owned}
        if not positions:
            return
        try:
            await self.consumer.commit(positions)
        except KafkaError as exc:
            # A rebalance moved the partitions, or the broker is away: those records are redone
            # (here or by another member), and deterministic keys make that a cache hit.
            log.warning("commit failed, its records will be redelivered: %s", exc)

    async def run(self) -> None:
        next_commit = time.monotonic() + COMMIT_EVERY_S
        while not self._stopping.is_set():
            room = self.max_in_flight - len(self.offsets)
            if room <= 0:
                # Full: wait for a job to finish rather than polling records we cannot start.
                self._finished.clear()
                try:
                    await asyncio.wait_for(self._finished.wait(), COMMIT_EVERY_S)
                except TimeoutError:
                    pass
            else:
                batches = await self.consumer.getmany(timeout_ms=100, max_records=room)
                for records in batches.values():
                    for record in records:
                        self._start(record)
            if time.monotonic() >= next_commit:
                next_commit = time.monotonic() + COMMIT_EVERY_S
                await self._commit()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._commit()
