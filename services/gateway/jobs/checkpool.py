"""Processes for the gateway's work that takes more than a millisecond: costly renderer checks
(a Han Xin version 84 check is ~300 ms) and reading batch bodies.

Not threads: libzint holds the GIL for the whole of an encode, so a check in a thread stalled
this process's event loop as surely as one on it (measured: a loop that wakes every 1 ms saw
p50 221 ms beside one Han Xin check thread). A worker process leaves the loop alone; its CPU is
measured there and charged to the caller who asked (costs.py). Workers are started with
`spawn` (the gateway has threads and a running loop a fork would copy) and warmed at start,
so the first costly request does not pay for the imports.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from services.contract import ErrorCode
from services.gateway.edge.errors import ApiError

log = logging.getLogger(__name__)
T = TypeVar("T")


def _warm(modules: tuple[str, ...]) -> None:
    """Import what the checks use, in each worker as it starts (named by the gateway, which
    knows its checks: this module imports none of them)."""
    for module in modules:
        importlib.import_module(module)


def _timed(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[T | None, ApiError | None, float]:
    """Runs in the worker: the result or the ApiError, and the CPU it took in ms."""
    started = time.process_time()
    try:
        return fn(*args), None, (time.process_time() - started) * 1000
    except ApiError as error:
        return None, error, (time.process_time() - started) * 1000


def _ready() -> bool:
    return True


class CheckPool:
    """`workers` processes; at most `queue_limit` calls waiting for one, beyond that a 503 (the
    caller's budget bounds its own share: costs.py)."""

    def __init__(self, workers: int, warm: tuple[str, ...] = (), queue_limit: int = 64) -> None:
        self.workers = workers
        self.warm = warm
        self.queue_limit = queue_limit
        self.waiting = 0
        self.runs = 0
        self.cpu_ms = 0.0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm,
                                   initargs=(self.warm,))

    async def start(self) -> None:
        """Start the workers now (each imports the renderer: about a second)."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _ready) for _ in range(self.workers)))

    async def run(self, fn: Callable[..., T], *args: Any) -> tuple[T | None, ApiError | None, float]:
        """fn(*args) in a worker: its result or the ApiError it raised, and its CPU in ms (a
        refusal costs what it took too)."""
        if self.waiting >= self.queue_limit:
            raise ApiError(ErrorCode.UNAVAILABLE, "the gateway's check workers are busy; retry in a moment",
                           retry_after=1.0)
        self.waiting += 1
        try:
            result, error, cpu_ms = await asyncio.get_running_loop().run_in_executor(self._pool, _timed, fn, args)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the pool cannot be used again. A new one
            # serves the next request; this one is told to retry.
            log.error("a check worker died; starting new ones")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise ApiError(ErrorCode.UNAVAILABLE, "the check of this request was interrupted; retry") from None
        finally:
            self.waiting -= 1
        self.runs += 1
        self.cpu_ms += cpu_ms
        return result, error, cpu_ms

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
