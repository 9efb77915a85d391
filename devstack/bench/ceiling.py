"""The ceiling under the pipeline: render + verify + upload in one process, no Kafka, no hops.

What a single generator could do if requests appeared in its memory for free: the same code
path (services.render.api.render in a thread pool, ObjectStore.put_new on the event loop) on
Code 128 PNGs with unique data, `concurrency` jobs in flight, for `seconds`.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from services.generator.storage import ObjectStore, ensure_bucket
from services.render import api
from services.render.symbologies import lookup
from services.settings import S3Settings


@dataclass(frozen=True)
class Ceiling:
    jobs: int
    seconds: float
    render_ms_median: float  # CPU-bound part, per job, measured alone before the run
    uploads_only_rate: float  # the same PUTs of one pre-rendered image, nothing rendered

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds

    def summary(self) -> dict[str, Any]:
        return {"jobs": self.jobs, "seconds": round(self.seconds, 2), "rate": round(self.rate, 1),
                "render_verify_ms_median": round(self.render_ms_median, 3),
                "uploads_only_rate": round(self.uploads_only_rate, 1)}


def _render(n: int) -> bytes:
    symbology = lookup("code128")
    assert symbology is not None
    return api.render(symbology, f"CEIL-{time.time_ns()}-{n}", "png", {}, "zint", True).body


def _render_median(samples: int = 200) -> float:
    times = []
    for n in range(samples):
        start = time.perf_counter()
        _render(n)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


async def _uploads_only(store: ObjectStore, seconds: float, concurrency: int) -> float:
    body = _render(0)
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await store.put_new(f"bench/uploads/{time.time_ns()}-{w}.png", body, "image/png")
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return done / (time.monotonic() - started)


async def _run(s3: S3Settings, seconds: float, concurrency: int, threads: int) -> Ceiling:
    store = ObjectStore(s3, connections=concurrency)
    executor = ThreadPoolExecutor(threads)
    loop = asyncio.get_running_loop()
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        n = 0
        while time.monotonic() < deadline:
            body = await loop.run_in_executor(executor, _render, w * 10_000_000 + n)
            await store.put_new(f"bench/ceiling/{time.time_ns()}-{w}-{n}.png", body, "image/png")
            n += 1
            done += 1

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        took = time.monotonic() - started
        uploads = await _uploads_only(store, seconds / 2, concurrency)
    finally:
        await store.close()
        executor.shutdown()
    return Ceiling(jobs=done, seconds=took, render_ms_median=_render_median(), uploads_only_rate=uploads)


def measure(s3: S3Settings, seconds: float = 10.0, concurrency: int = 32, threads: int = 4) -> Ceiling:
    ensure_bucket(s3, ttl_days=1)
    return asyncio.run(_run(s3, seconds, concurrency, threads))
