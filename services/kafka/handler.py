"""What a handler gives back, how poison becomes a dead letter, and how much to poll at once.

Pure: no Kafka client here, so the rules are unit-tested without a broker
(tests/services/kafka/test_handler.py).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Union

from aiokafka import ConsumerRecord

from services import contract
from services.contract import ErrorCode
from services.kafka.deadletter import dead_letter

log = logging.getLogger(__name__)
Record = ConsumerRecord  # [bytes, bytes]: a stage reads and writes contract bytes


@dataclass(frozen=True, slots=True)
class Output:
    """One message to publish before the input record's offset may be committed."""

    topic: str
    key: bytes | None
    value: bytes
    # The traced job's `traceparent` (services/tracing.py): set by the runtime, not by handlers.
    headers: list[tuple[str, bytes]] | None = None


Outputs = Sequence[Output]
# A handler answers one record with its outputs: at once (a pure transformation, no task per
# record) or as an awaitable (it waits on I/O; the runtime runs it beside the others).
Handler = Callable[[Record], Union[Outputs, Awaitable[Outputs]]]


class Poison(Exception):
    """Raised by a handler for a record no retry can help: it goes to the dead-letter topic."""

    def __init__(self, code: str, message: str, attempts: int = 1, retryable: bool = False) -> None:
        super().__init__(message)
        self.code, self.attempts, self.retryable = code, attempts, retryable


class DeadLetters:
    """Builds a stage's dead letters (its service name, the dead-letter topic)."""

    def __init__(self, topic: str, service: str) -> None:
        self.topic, self.service = topic, service

    def of(self, record: Record, code: str, message: str, attempts: int = 1, retryable: bool = False) -> Output:
        letter = dead_letter(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                             value=record.value, service=self.service, code=code, message=message,
                             attempts=attempts, retryable=retryable)
        key = record.key or (letter.job_id or f"{record.topic}-{record.offset}").encode()
        return Output(self.topic, key, contract.encode(letter))

    def for_failure(self, record: Record, exc: Exception) -> Outputs:
        """What a failed handler call publishes instead of its outputs: the partition moves on.
        Undecodable bytes and Poison are the record's fault; anything else is a bug on this
        record (retryable once fixed: `make redrive`)."""
        if isinstance(exc, contract.SchemaError):
            return [self.of(record, ErrorCode.UNDECODABLE, str(exc))]
        if isinstance(exc, Poison):
            return [self.of(record, exc.code, str(exc), exc.attempts, exc.retryable)]
        log.error("%s: handling %s/%d@%d failed", self.service, record.topic, record.partition, record.offset,
                  exc_info=exc)
        return [self.of(record, ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}", 1, True)]


def poll_size(in_flight: int, max_in_flight: int, max_batch: int) -> int:
    """How many records the next poll may take: what is there, up to the room left.

    A poll returns at once with whatever the consumer has fetched, so an idle stage takes one
    record at a time (no waiting to fill a batch: latency does not pay for throughput) and a
    loaded one takes many, whose outputs then share produce requests. 0: full, wait for acks.
    """
    return max(0, min(max_in_flight - in_flight, max_batch))
