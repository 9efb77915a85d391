"""Publishing a record's outputs and learning when the broker has acknowledged all of them.

Sends are queued without waiting between records: the outputs of one poll land in the same
produce requests, and the producer batches whatever arrives while a request is in flight. The
happy path is a callback per message, no task. A send the broker refused (or that timed out
while it was away) is sent again with backoff until acknowledged, its input uncommitted
meanwhile; a producer whose sequence a restarted broker refuses for good is replaced
(`renewing.RenewingProducer`) and the refused message sent again on the new one (it was not
written: no duplicate).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from aiokafka.errors import KafkaError

from services.kafka.handler import Output, Outputs

log = logging.getLogger(__name__)
MAX_RETRY_DELAY_S = 5.0


class Producer(Protocol):
    async def send(self, topic: str, *, key: bytes | None, value: bytes,
                   headers: list[tuple[str, bytes]] | None = None) -> "asyncio.Future[object]": ...


class _Pending:
    """Counts one record's unacknowledged outputs; calls `done` when the last is acknowledged."""

    __slots__ = ("left", "done")

    def __init__(self, left: int, done: Callable[[], None]) -> None:
        self.left, self.done = left, done

    def acked(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.done()


class Outbox:
    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self.sent = 0
        self.retries = 0
        self._retrying: set[asyncio.Task[None]] = set()

    async def publish(self, outputs: Outputs, done: Callable[[], None]) -> None:
        """Queue `outputs` in order; `done()` runs once the broker has acknowledged every one."""
        if not outputs:
            done()
            return
        pending = _Pending(len(outputs), done)
        for out in outputs:
            try:
                future = await self.producer.send(out.topic, key=out.key, value=out.value, headers=out.headers)
            except KafkaError as exc:  # no metadata while the broker is away, for one
                self._retry(out, pending, exc)
                continue
            future.add_done_callback(lambda f, o=out: self._settled(f, o, pending))
        self.sent += len(outputs)

    def _settled(self, future: "asyncio.Future[object]", out: Output, pending: _Pending) -> None:
        if future.cancelled():
            self._retry(out, pending, asyncio.CancelledError())
        elif (exc := future.exception()) is not None:
            self._retry(out, pending, exc)
        else:
            pending.acked()

    def _retry(self, out: Output, pending: _Pending, cause: BaseException) -> None:
        task = asyncio.create_task(self._send_until_acked(out, pending, cause))
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)

    async def _send_until_acked(self, out: Output, pending: _Pending, cause: BaseException) -> None:
        delay = 0.5
        while True:
            self.retries += 1
            log.warning("publishing to %s failed, retrying in %.1fs: %s", out.topic, delay, cause)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
            try:
                await (await self.producer.send(out.topic, key=out.key, value=out.value, headers=out.headers))
            except KafkaError as exc:
                cause = exc
                continue
            pending.acked()
            return

    @property
    def retrying(self) -> int:
        return len(self._retrying)
