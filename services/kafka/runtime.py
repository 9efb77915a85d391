"""The stage loop: poll a batch, handle each record, publish its outputs, commit each partition
up to the first record whose outputs the broker has not acknowledged.

Committing after the outputs are acknowledged is what makes a SIGKILL lose nothing: an
uncommitted record is redelivered, and downstream drops the repeat. A handler that answers at
once is called inline, in input order (its outputs keep per-key order); one that awaits runs as
a task beside the others, so a slow record (a PDF, a slow partner) does not hold back the
records polled with it. Poison and handler bugs become dead letters: a partition never stalls.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from services.kafka.handler import DeadLetters, Handler, Outputs, Record, poll_size
from services.kafka.offsets import OffsetTracker
from services.kafka.outbox import Outbox
from services import tracing
from services.metrics import Histogram

if TYPE_CHECKING:
    from opentelemetry.trace import Span

log = logging.getLogger(__name__)
COMMIT_EVERY_S = 0.2  # a commit is a broker round trip; a crash redoes at most this much more
POLL_TIMEOUT_MS = 100  # how long an empty poll waits before the loop looks at commits and stops
MAX_BATCH = 500  # records per poll at most (aiokafka's max_poll_records default)
REVOKE_WAIT_S = 5.0  # at a rebalance, how long to let in-flight records finish before committing


class Runtime:
    def __init__(self, outbox: Outbox, handler: Handler, dead_letters: DeadLetters, max_in_flight: int,
                 drain_s: float = 20.0, consumer: AIOKafkaConsumer | None = None, span: str | None = None) -> None:
        """`span`: the name of this stage's span of a traced job (services/tracing.py); None or
        traces off: no span, no header read."""
        # Set before run(); the consumer is started with this runtime's rebalance_listener().
        self.consumer: AIOKafkaConsumer = consumer  # type: ignore[assignment]
        self.outbox = outbox
        self.handler = handler
        self.dead_letters = dead_letters
        self.max_in_flight = max_in_flight
        self.span = span if tracing.enabled() else None
        # Leave a quarter of the deadline to commit and leave the group before exit_after ends us.
        self.drain_wait_s = drain_s * 0.75
        self.offsets = OffsetTracker()
        self.counts = {"records_total": 0, "batches_total": 0, "dead_letters_total": 0, "commits_total": 0,
                       "commit_failures_total": 0}
        self.handle_seconds = Histogram()  # taken -> outputs queued: the stage's own share of a job
        self._finished = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._commit_lock = asyncio.Lock()

    def stop(self) -> None:
        """Poll no more; finish what is in hand (bounded by the drain), commit, return from run()."""
        self._stopping.set()
        self._finished.set()

    def metrics(self) -> dict[str, "float | Histogram"]:
        return {**self.counts, "in_flight": len(self.offsets), "publish_retries_total": self.outbox.retries,
                "handle_seconds": self.handle_seconds}

    # -- one record ----------------------------------------------------------------------
    def _call(self, record: Record) -> Outputs | Awaitable[Outputs]:
        try:
            return self.handler(record)
        except Exception as exc:  # noqa: BLE001 - poison or a bug on this record: dead-letter it
            self.counts["dead_letters_total"] += 1
            return self.dead_letters.for_failure(record, exc)

    async def _awaited(self, record: Record, pending: Awaitable[Outputs], taken: float, span: "Span | None") -> None:
        try:
            outputs = await pending
        except Exception as exc:  # noqa: BLE001 - as in _call
            self.counts["dead_letters_total"] += 1
            outputs = self.dead_letters.for_failure(record, exc)
        await self._publish(record, outputs, taken, span)

    async def _publish(self, record: Record, outputs: Outputs, taken: float, span: "Span | None" = None) -> None:
        tp, offset = (record.topic, record.partition), record.offset
        self.handle_seconds.observe(time.perf_counter() - taken)

        def done() -> None:
            self.offsets.finished(tp, offset)
            self._finished.set()

        if span is not None:
            # What this record caused names this stage's span as its parent; the span ends
            # with its outputs queued (their acknowledgement is the producer's, not the stage's).
            traced = tracing.headers(span)
            outputs = [dataclasses.replace(out, headers=traced) for out in outputs]
            tracing.end(span)
        await self.outbox.publish(outputs, done)

    async def _take(self, record: Record) -> None:
        self.offsets.started((record.topic, record.partition), record.offset)
        self.counts["records_total"] += 1
        taken = time.perf_counter()
        span = tracing.start(self.span, tracing.parent_of(record.headers)) if self.span else None
        with tracing.active(span):  # the handler's own spans, and its task, are this one's children
            outcome = self._call(record)
            if inspect.isawaitable(outcome):
                task = asyncio.create_task(self._awaited(record, outcome, taken, span))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                await self._publish(record, outcome, taken, span)

    # -- commits -------------------------------------------------------------------------
    async def commit(self) -> None:
        async with self._commit_lock:
            owned = {(tp.topic, tp.partition): tp for tp in self.consumer.assignment()}
            self.offsets.forget({tp for tp in self.offsets.partitions() if tp not in owned})
            positions = {owned[tp]: offset for tp, offset in self.offsets.committable().items() if tp in owned}
            if not positions:
                return
            try:
                await self.consumer.commit(positions)
                self.counts["commits_total"] += 1
            except KafkaError as exc:
                # A rebalance moved the partitions, or the broker is away: those records are
                # redone (here or by another member) and the repeat is dropped downstream.
                self.counts["commit_failures_total"] += 1
                log.warning("commit failed, its records will be redelivered: %s", exc)

    async def _next_finish(self, timeout_s: float) -> None:
        """Until a record's outputs are acknowledged (or a stop), at most `timeout_s`."""
        self._finished.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finished.wait(), max(0.0, timeout_s))

    async def settle(self, timeout_s: float) -> bool:
        """Wait until nothing is in flight (True) or `timeout_s` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while len(self.offsets) and time.monotonic() < deadline:
            await self._next_finish(deadline - time.monotonic())
        return not len(self.offsets)

    def rebalance_listener(self) -> ConsumerRebalanceListener:
        return _CommitOnRevoke(self)

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        next_commit = time.monotonic() + COMMIT_EVERY_S
        while not self._stopping.is_set():
            room = poll_size(len(self.offsets), self.max_in_flight, MAX_BATCH)
            if room == 0:
                # Full (the broker is slow or away): wait for acks rather than poll what we cannot start.
                await self._next_finish(COMMIT_EVERY_S)
            else:
                batches = await self.consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=room)
                if batches:
                    self.counts["batches_total"] += 1
                for records in batches.values():
                    for record in records:
                        await self._take(record)
            if time.monotonic() >= next_commit:
                next_commit = time.monotonic() + COMMIT_EVERY_S
                await self.commit()
        if not await self.settle(self.drain_wait_s):
            log.warning("drain: %d records still unacknowledged, left uncommitted (they are redone)",
                        len(self.offsets))
        await self.commit()


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move, let their in-flight records finish (briefly) and commit them, so
    the new owner does not redo (and the client's gateway drop) what this member already did."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if not revoked:
            return
        await self.runtime.settle(REVOKE_WAIT_S)
        await self.runtime.commit()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None
