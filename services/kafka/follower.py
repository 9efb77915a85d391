"""The reader that follows topics without committing: assigned partitions, read from a time, a
saved position or their start, caught up to the end offsets seen then, each record handed to
its topic's handler.

Used where the state is a fold of the topics, not a queue of work: the gateway's job and batch
state and its results partitions (no group, from BARCODE_STATE_TTL_SECONDS ago), the batcher's
tallies (a group assigns the partitions; each is read again from its start), and redrive (the
dead letters up to the end seen at start; redrive commits through the group itself). The
committing reader for work is the stage runtime (`runtime.py`).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services import contract

log = logging.getLogger(__name__)
Handler = Callable[[ConsumerRecord[bytes, bytes]], None]
ERROR_PAUSE_S = 0.5  # after a failed poll, before the same position is polled again


class Follower:
    def __init__(self, consumer: AIOKafkaConsumer, handlers: dict[str, Handler]) -> None:
        self.consumer = consumer
        self.handlers = handlers  # topic (full name) -> what a record of it does
        self.targets: dict[TopicPartition, int] = {}  # end offsets still to reach before caught up
        self.caught_up = False
        self.records = 0  # read so far (/metrics)
        self._polled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def assign(self, partitions: list[TopicPartition], since_ms: int | None = None,
                     positions: dict[TopicPartition, int] | None = None) -> None:
        """Read `partitions` (no group rebalancing them): from `since_ms` on, except where
        `positions` says where reading stopped last time; with neither, from the group's
        committed offsets (or the start)."""
        self.consumer.assign(partitions)
        positions = positions or {}
        # The end offsets first: a record appended after them is found by offsets_for_times. In
        # the other order a record appended between the two calls was skipped: no record since
        # `since_ms` yet, so "start at the end", which by then was past it (found by CI: a
        # result that arrived as a replica began to read its partition never reached the wait).
        ends = await self.consumer.end_offsets(partitions)
        unread = [tp for tp in partitions if tp not in positions]
        if since_ms is not None and unread:
            starts = await self.consumer.offsets_for_times({tp: since_ms for tp in unread})
            for tp in unread:
                start = starts.get(tp)
                self.consumer.seek(tp, start.offset if start is not None else ends[tp])
        for tp, position in positions.items():
            self.consumer.seek(tp, position)
        self._catch_up_to(ends)
        await self.check_caught_up()

    async def rewind(self, partitions: Iterable[TopicPartition]) -> None:
        """Read `partitions` (just given by the group) again from their start."""
        partitions = list(partitions)
        await self.consumer.seek_to_beginning(*partitions)
        self._catch_up_to(await self.consumer.end_offsets(partitions))

    def _catch_up_to(self, ends: dict[TopicPartition, int]) -> None:
        self.targets.update({tp: end for tp, end in ends.items() if end > 0})
        self.caught_up = False

    async def check_caught_up(self) -> bool:
        """Whether every partition has been read up to the end offset it had when it was assigned
        (a partition taken away since no longer counts)."""
        if self.targets:
            assignment = self.consumer.assignment()
            for tp, end in list(self.targets.items()):
                if tp not in assignment or await self.consumer.position(tp) >= end:
                    del self.targets[tp]
        self.caught_up = not self.targets
        return self.caught_up

    async def poll(self, timeout_ms: int = 500, max_records: int = 1000) -> int:
        """Read what has arrived (waiting up to `timeout_ms` for something) and hand each record
        to its topic's handler; an undecodable record is logged and skipped. Returns the count."""
        batches = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        count = 0
        for records in batches.values():
            count += len(records)
            for record in records:
                try:
                    self.handlers[record.topic](record)
                except contract.SchemaError as exc:
                    log.error("skipping undecodable record %s/%d@%d: %s",
                              record.topic, record.partition, record.offset, exc)
        self.records += count
        await self.check_caught_up()
        polled, self._polled = self._polled, asyncio.get_running_loop().create_future()
        polled.set_result(None)
        return count

    async def poll_or_pause(self) -> None:
        """One poll; an error is logged and the same position polled again after a pause. A
        reader that stopped on an error would leave every wait on its partitions to time out."""
        try:
            await self.poll()
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception:
            log.exception("reading %s failed; trying again", sorted(self.handlers))
            await asyncio.sleep(ERROR_PAUSE_S)

    async def read_past_now(self) -> None:
        """Returns once every record its partitions held when this was called has been read
        (by the task that polls this follower)."""
        ends = await self.consumer.end_offsets(list(self.consumer.assignment()))
        while True:
            for tp, end in ends.items():
                if await self.consumer.position(tp) < end:
                    break
            else:
                return
            await asyncio.shield(self._polled)

    async def positions(self) -> dict[TopicPartition, int]:
        """Where reading got to: a later `assign` from here reads nothing twice and misses nothing."""
        return {tp: await self.consumer.position(tp) for tp in self.consumer.assignment()}

    async def stop(self) -> None:
        await self.consumer.stop()
