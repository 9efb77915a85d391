"""Reading another replica's results partition while something needs it (`Feed.hold`), with an
in-process stand-in for the Kafka client under the real reader: who shares a reader, when it stops, where it
resumes, and what happens when it cannot start."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from services.gateway.results.feed import Feed
from services.gateway.results.replies import ReplyRoutes, Route
from services.gateway.results.sockets import SocketRegistry
from services.gateway.jobs.state import JobIndex
from services.settings import Env, KafkaSettings


class _Consumer:
    """Stands in for the Kafka client under the real Follower, on one route: its partitions
    hold 42 records, all read as it starts; each poll reads one more."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.poll_errors = 0  # polls that raise before reading goes on
        self.polls = 0
        self.stopped = False
        self.assigned: list[Any] = []
        self.sought: dict[Any, int] = {}  # where reading was told to start
        self.at: dict[Any, int] = {}  # where reading is
        self.end_offset_calls = 0
        self.gate: asyncio.Event | None = None  # set: position() waits for it

    async def start(self) -> None:
        if self.fail:
            raise ConnectionError("broker gone")

    def assign(self, partitions: list[Any]) -> None:
        self.assigned = list(partitions)

    def assignment(self) -> set[Any]:
        return set(self.assigned)

    async def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        self.end_offset_calls += 1
        return {tp: 42 for tp in partitions}

    async def offsets_for_times(self, times: dict[Any, int]) -> dict[Any, None]:
        return {tp: None for tp in times}  # nothing since then: start at the end

    def seek(self, tp: Any, offset: int) -> None:
        self.sought[tp] = self.at[tp] = offset

    async def position(self, tp: Any) -> int:
        if self.gate is not None:
            await self.gate.wait()  # the broker slow to answer
        return self.at[tp]

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[Any]]:
        await asyncio.sleep(0.01)
        if self.poll_errors:
            self.poll_errors -= 1
            raise ConnectionError("fetch failed")
        self.polls += 1
        for tp in self.at:
            self.at[tp] += 1
        return {}

    async def stop(self) -> None:
        self.stopped = True


def _feed(fail_first: int = 0) -> tuple[Feed, list[_Consumer]]:
    consumers: list[_Consumer] = []

    def consumer_for(name: str, wait_ms: int, min_bytes: int) -> _Consumer:
        consumers.append(_Consumer(fail=len(consumers) < fail_first))
        return consumers[-1]

    feed = Feed(KafkaSettings.from_env(Env({})), JobIndex(3600), SocketRegistry(), "test", replica="gateway",
                hold_linger_s=0.05, consumer_for=consumer_for)  # type: ignore[arg-type]
    feed.routes = ReplyRoutes(12, 12, "gateway")
    del consumers[:]  # the state and batch-state readers, made with the feed (never started here)
    return feed, consumers


def _foreign_key(feed: Feed) -> str:
    assert feed.routes is not None
    while True:
        key = uuid.uuid4().hex
        if feed.routes.route(key) != feed.routes.home:
            return key


async def _settle() -> None:
    await asyncio.sleep(0.2)  # past the 0.05 s linger


async def test_the_home_partition_needs_no_other_reader() -> None:
    feed, readers = _feed()
    key = feed.new_id()
    (await feed.hold(key)).release()
    assert feed.reads(key) and readers == [] and feed.partitions_held == 0
    await feed.stop()


async def test_holders_share_one_reader_which_stops_after_the_linger_and_resumes_where_it_stopped() -> None:
    feed, readers = _feed()
    key = _foreign_key(feed)
    assert not feed.reads(key)
    first, second = await feed.hold(key), await feed.hold(key)
    assert len(readers) == 1 and feed.partitions_held == 1 and feed.reads(key)
    first.release()
    await _settle()
    assert feed.partitions_held == 1 and not readers[0].stopped  # the second still holds it
    second.release()
    second.release()  # releasing twice is harmless
    await _settle()
    assert feed.partitions_held == 0 and readers[0].stopped and not feed.reads(key)
    assert readers[0].polls > 0 and all(at > 42 for at in readers[0].at.values())
    # Asked again: a new reader, from where the last one stopped (nothing read twice or missed).
    again = await feed.hold(key)
    assert len(readers) == 2 and readers[1].sought == readers[0].at
    again.release()
    await feed.stop()


async def test_a_hold_taken_again_within_the_linger_keeps_the_reader() -> None:
    feed, readers = _feed()
    key = _foreign_key(feed)
    (await feed.hold(key)).release()
    held = await feed.hold(key)
    await _settle()
    assert len(readers) == 1 and feed.partitions_held == 1 and not readers[0].stopped
    held.release()
    await feed.stop()


async def test_a_hold_on_a_kept_reader_reads_past_now_before_it_returns() -> None:
    """Found by CI under load: a reader lingering after an earlier hold had caught up with the
    partition as it was then, and a second hold returned at once: a result published since was
    not read yet, and a replayed key answered `queued` for a completed job."""
    feed, readers = _feed()
    key = _foreign_key(feed)
    (await feed.hold(key)).release()
    assert readers[0].end_offset_calls == 1  # a new reader caught up with the ends it saw as it started
    lingering = await feed.hold(key)
    assert len(readers) == 1 and readers[0].end_offset_calls == 2  # the ends asked again, and read past
    again = await feed.hold(key)  # held by another caller meanwhile: the same
    assert readers[0].end_offset_calls == 3
    lingering.release()
    again.release()
    await feed.stop()


async def test_a_reader_that_cannot_start_is_forgotten_and_the_next_hold_tries_again() -> None:
    feed, readers = _feed(fail_first=1)
    key = _foreign_key(feed)
    started = asyncio.get_running_loop().time()
    with pytest.raises(KafkaError):
        await feed.hold(key, timeout_s=5)
    assert asyncio.get_running_loop().time() - started < 1  # told at once, not after the timeout
    assert feed.partitions_held == 0 and readers[0].stopped
    hold = await feed.hold(key)
    assert len(readers) == 2 and feed.reads(key)
    hold.release()
    await feed.stop()


async def test_a_poll_that_fails_is_retried_and_the_holder_keeps_reading() -> None:
    """A reader that ended on one failed fetch left every wait on its partition `queued`."""
    feed, readers = _feed()
    key = _foreign_key(feed)
    hold = await feed.hold(key)
    readers[0].poll_errors = 2
    before = readers[0].polls
    await asyncio.sleep(1.3)  # two failures, a pause after each, then reading again
    assert readers[0].poll_errors == 0 and readers[0].polls > before and feed.reads(key)
    hold.release()
    await feed.stop()


async def test_stop_ends_every_reader() -> None:
    feed, readers = _feed()
    hold = await feed.hold(_foreign_key(feed))
    await feed.stop()
    assert readers[0].stopped
    hold.release()  # after stop: nothing left to linger on


async def test_a_status_wait_holds_a_partition_that_was_only_lingering() -> None:
    """Found by CI: a `?wait=20` on a job whose partition was still read for an earlier status
    took no hold of its own; the reader stopped after its linger and the job stayed `queued`."""
    from services.gateway.context import Gateway
    from services.gateway.settings import GatewaySettings
    from services.gateway.jobs.state import Job
    from services.gateway.jobs.submit import read_results_of

    feed, readers = _feed()
    key = _foreign_key(feed)
    (await feed.hold(key)).release()  # an earlier status read: the reader lingers now
    gw = Gateway(settings=GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s"})), index=feed.index,
                 registry=feed.registry, feed=feed)
    waiting = await read_results_of(gw, Job(job_id=key, created_ms=0.0))
    await _settle()  # past the linger
    assert feed.partitions_held == 1 and not readers[0].stopped and feed.reads(key)
    waiting.release()
    await _settle()
    assert feed.partitions_held == 0
    await feed.stop()


async def test_a_reader_being_dropped_when_the_feed_stops_is_closed_too() -> None:
    """Found in review: stop() cancelled a drop in progress, and that reader, already out of
    the held ones, was never closed."""
    feed, readers = _feed()
    key = _foreign_key(feed)
    (await feed.hold(key)).release()
    readers[0].gate = asyncio.Event()  # the drop will wait in the middle, asking for positions
    deadline = asyncio.get_running_loop().time() + 5
    while feed.partitions_held:  # the linger ran out: the drop has begun (and now waits)
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    await asyncio.wait_for(feed.stop(), 5)
    assert readers[0].stopped
