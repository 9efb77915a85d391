"""Delivery receipts, coalesced: every receipt of a window goes out as one record.

A receipt tells the other replicas "this client has this result" (a resume skips it). It is
best effort by design (a lost one only repeats a result on a resume), so it can wait a few
milliseconds for others: under load one record then carries the receipts of many results
instead of a record per result, which every replica's feed would read and decode.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError

from services import contract

log = logging.getLogger(__name__)
WINDOW_S = 0.05  # a receipt waits at most this long for others to share its record
MAX_PER_RECORD = 1000  # ~70 KB: far below the broker's message size limit

Send = Callable[[bytes, bytes], Awaitable["asyncio.Future[object]"]]  # (key, value) -> ack future


class Receipts:
    def __init__(self, send: Send, key: str, window_s: float = WINDOW_S) -> None:
        self._send = send
        self._key = key.encode()  # the replica: readers take every partition, order does not matter
        self._window_s = window_s
        self._waiting: list[tuple[str, str]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()

    def add(self, client_id: str, job_id: str) -> None:
        self._waiting.append((client_id, job_id))
        if len(self._waiting) >= MAX_PER_RECORD:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window_s, self._start_flush)

    def _start_flush(self) -> None:
        # The receipts are taken now (those added after go in the next record), sent on a task.
        task = asyncio.ensure_future(self._send_record(self._take()))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    def _take(self) -> list[tuple[str, str]]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, []
        return waiting

    async def flush(self) -> None:
        """Send what waits now as one record (not awaited to the broker)."""
        await self._send_record(self._take())

    async def _send_record(self, waiting: list[tuple[str, str]]) -> None:
        if not waiting:
            return
        (client_id, job_id), *rest = waiting
        record = contract.Delivery(job_id=job_id, client_id=client_id, also=[list(pair) for pair in rest] or None)
        try:
            future = await self._send(self._key, contract.encode(record))
        except KafkaError as exc:
            log.warning("%d delivery receipt(s) not sent: %s", len(waiting), exc)
            return
        future.add_done_callback(_log_failure)

    async def close(self) -> None:
        """Send what still waits (at a stop), then let the sends in progress finish."""
        await self.flush()
        await asyncio.gather(*self._flushing, return_exceptions=True)


def _log_failure(future: "asyncio.Future[object]") -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("delivery receipts failed: %s", future.exception())
