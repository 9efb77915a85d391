"""Reading another replica's results partition while something needs it (`Feed.hold`), with
in-process stand-ins for the Kafka reader: who shares a reader, when it stops, where it
resumes, and what happens when it cannot start."""
from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from services.gateway.feed import Feed, _Follower
from services.gateway.replies import ReplyRoutes, Route
from services.gateway.sockets import SocketRegistry
from services.gateway.state import JobIndex
from services.settings import Env, KafkaSettings


class _Consumer:
    def __init__(self) -> None:
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True


class _Reader:
    """Stands in for feed._Follower on one route: caught up as soon as it starts."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.poll_errors = 0  # polls that raise before reading goes on
        self.handlers = {"notifications": None}
        self.consumer = _Consumer()
        self.caught_up = False
        self.records = 0
        self.started_at: dict[Any, int] | None = None
        self.read_past = 0  # read_past_now calls: a hold on a reader that was already caught up

    async def start(self, since_ms: int, positions: dict[Any, int] | None = None) -> None:
        if self.fail:
            raise ConnectionError("broker gone")
        self.started_at = positions
        self.caught_up = True

    async def poll(self) -> None:
        await asyncio.sleep(0.01)
        if self.poll_errors:
            self.poll_errors -= 1
            raise ConnectionError("fetch failed")
        self.records += 1

    async def positions(self) -> dict[Any, int]:
        return {"notifications-3": 42}

    async def read_past_now(self) -> None:
        self.read_past += 1


def _feed(fail_first: int = 0) -> tuple[Feed, list[_Reader]]:
    feed = Feed(KafkaSettings.from_env(Env({})), JobIndex(3600), SocketRegistry(), "test", replica="gateway",
                hold_linger_s=0.05)
    feed.routes = ReplyRoutes(12, 12, "gateway")
    readers: list[_Reader] = []

    def reader(route: Route, name: str) -> _Reader:
        readers.append(_Reader(fail=len(readers) < fail_first))
        return readers[-1]

    feed._reply_follower = reader  # type: ignore[method-assign,assignment]
    return feed, readers


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
    assert feed.partitions_held == 1 and not readers[0].consumer.stopped  # the second still holds it
    second.release()
    second.release()  # releasing twice is harmless
    await _settle()
    assert feed.partitions_held == 0 and readers[0].consumer.stopped and not feed.reads(key)
    # Asked again: a new reader, from where the last one stopped (nothing read twice or missed).
    again = await feed.hold(key)
    assert len(readers) == 2 and readers[1].started_at == {"notifications-3": 42}
    assert feed.results_read >= readers[0].records > 0
    again.release()
    await feed.stop()


async def test_a_hold_taken_again_within_the_linger_keeps_the_reader() -> None:
    feed, readers = _feed()
    key = _foreign_key(feed)
    (await feed.hold(key)).release()
    held = await feed.hold(key)
    await _settle()
    assert len(readers) == 1 and feed.partitions_held == 1 and not readers[0].consumer.stopped
    held.release()
    await feed.stop()


async def test_a_hold_on_a_kept_reader_reads_past_now_before_it_returns() -> None:
    """Found by CI under load: a reader lingering after an earlier hold had caught up with the
    partition as it was then, and a second hold returned at once: a result published since was
    not read yet, and a replayed key answered `queued` for a completed job."""
    feed, readers = _feed()
    key = _foreign_key(feed)
    (await feed.hold(key)).release()
    assert readers[0].read_past == 0  # a new reader caught up as it started
    lingering = await feed.hold(key)
    assert len(readers) == 1 and readers[0].read_past == 1
    again = await feed.hold(key)  # held by another caller meanwhile: the same
    assert readers[0].read_past == 2
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
    assert feed.partitions_held == 0 and readers[0].consumer.stopped
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
    before = readers[0].records
    await asyncio.sleep(1.3)  # two failures, a pause after each, then reading again
    assert readers[0].poll_errors == 0 and readers[0].records > before and feed.reads(key)
    hold.release()
    await feed.stop()


async def test_stop_ends_every_reader() -> None:
    feed, readers = _feed()
    hold = await feed.hold(_foreign_key(feed))
    await feed.stop()
    assert readers[0].consumer.stopped
    hold.release()  # after stop: nothing left to linger on


async def test_a_status_wait_holds_a_partition_that_was_only_lingering() -> None:
    """Found by CI: a `?wait=20` on a job whose partition was still read for an earlier status
    took no hold of its own; the reader stopped after its linger and the job stayed `queued`."""
    from services.gateway.context import Gateway
    from services.gateway.settings import GatewaySettings
    from services.gateway.state import Job
    from services.gateway.submit import read_results_of

    feed, readers = _feed()
    key = _foreign_key(feed)
    (await feed.hold(key)).release()  # an earlier status read: the reader lingers now
    gw = Gateway(settings=GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s"})), index=feed.index,
                 registry=feed.registry, feed=feed)
    waiting = await read_results_of(gw, Job(job_id=key, created_ms=0.0))
    await _settle()  # past the linger
    assert feed.partitions_held == 1 and not readers[0].consumer.stopped and feed.reads(key)
    waiting.release()
    await _settle()
    assert feed.partitions_held == 0
    await feed.stop()


class _RacingConsumer:
    """A partition that receives its first record between the reader's first and second call
    to the broker, whichever they are."""

    def __init__(self) -> None:
        self.records = 0
        self.calls = 0
        self.sought: dict[Any, int] = {}

    def _call(self) -> None:
        self.calls += 1
        if self.calls == 2:
            self.records = 1  # appended now, at offset 0

    async def start(self) -> None:
        pass

    def assign(self, partitions: list[Any]) -> None:
        self.partitions = partitions

    async def offsets_for_times(self, times: dict[Any, int]) -> dict[Any, Any]:
        self._call()
        return {tp: (SimpleNamespace(offset=0) if self.records else None) for tp in times}

    async def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        self._call()
        return {tp: self.records for tp in partitions}

    def seek(self, tp: Any, offset: int) -> None:
        self.sought[tp] = offset

    async def position(self, tp: Any) -> int:
        return self.sought[tp]


async def test_a_record_arriving_as_a_reader_starts_is_read_not_skipped() -> None:
    """Found by CI (test_idempotency, about 1 run in 9): a job's result was appended between
    the reader's two start-up calls to the broker; it began past it and the wait never ended."""
    follower = _Follower(KafkaSettings.from_env(Env({})), "test", {"barcode.notifications": lambda r: None}, 100, 1,
                         only={"barcode.notifications": 5})
    await follower.consumer.stop()  # the real client it made, never started
    consumer = _RacingConsumer()
    follower.consumer = consumer  # type: ignore[assignment]
    await follower.start(since_ms=0)
    [(tp, offset)] = consumer.sought.items()
    assert offset == 0  # reading starts at the record, not past it (it was 1)
