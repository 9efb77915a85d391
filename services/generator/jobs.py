"""One render job from start to result: validate, render, upload (unless already stored).

Rendering runs in a thread pool (libzint, Pillow and zxing-cpp do their work in C), so the event
loop keeps polling Kafka, uploading and publishing results while barcodes are drawn.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from services import tracing
from services.contract import FORMATS, INLINE_FILE_MAX_BYTES, ErrorCode, ErrorInfo, RenderJob, Result, now_ms
from services.generator.errors import JobError, TransientError
from services.generator.keys import object_key
from services.generator.progress import Steps
from services.generator.storage import ObjectStore
from services.render import api
from services.render.budget import MAX_PIXELS
from services.render.symbologies import lookup

log = logging.getLogger(__name__)
T = TypeVar("T")


class KnownKeys:
    """Keys known to be stored, so a repeat skips rendering and uploading, each with what its
    file's verification said (True, False with why, None: not verifiable). Bounded LRU."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[str, tuple[bool | None, str | None]] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def get(self, key: str) -> tuple[bool | None, str | None] | None:
        """(verified, unverified_reason) of a stored key; None for a key not known."""
        return self._keys.get(key)

    def add(self, key: str, verified: bool | None = None, unverified_reason: str | None = None) -> None:
        self._keys[key] = (verified, unverified_reason)
        self._keys.move_to_end(key)
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)


class JobRunner:
    def __init__(self, store: ObjectStore, executor: Executor, attempts: int, backoff_s: float,
                 max_pixels: int = MAX_PIXELS, render_timeout_s: float = 10.0,
                 report: Steps | None = None) -> None:
        # report(job, step, with_routed=..., **detail): steps of jobs that asked for progress;
        # a job's first report carries the router's step (contract.Progress says why). Those
        # not sent by the time the job ends ride on its result (report.unsent).
        self.report = report or Steps()
        self.max_pixels = max_pixels
        self.render_timeout_s = render_timeout_s
        self.store = store
        self.executor = executor
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.known = KnownKeys()
        self.counts = {"rendered": 0, "cached": 0, "failed": 0, "verification_failed": 0}

    async def _in_thread(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except TransientError as exc:
                if attempt == self.attempts:
                    raise
                # Exponential backoff with full jitter: replicas retrying together spread out.
                delay = random.uniform(0, self.backoff_s * 2 ** (attempt - 1))
                log.warning("%s failed (attempt %d/%d), retrying in %.2fs: %s",
                            what, attempt, self.attempts, delay, exc)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def run(self, job: RenderJob) -> Result:
        result = await self._run(job)
        result.steps = self.report.unsent(job.job_id)
        return result

    async def _run(self, job: RenderJob) -> Result:
        trace = {**job.trace, "generator_in": now_ms()}
        base: dict[str, Any] = dict(job_id=job.job_id, company=job.company, request_id=job.request_id,
                                    client_id=job.client_id, batch_id=job.batch_id, row=job.row,
                                    reply_key=job.reply_key)
        try:
            result = await self._make(job, trace, base)
        except JobError as exc:
            self.counts["failed"] += 1
            if exc.code == ErrorCode.VERIFICATION_FAILED:
                # Drawn but unreadable as its input: a bug in an engine, never the client's fault.
                # The message holds barcode data: logged only at debug level.
                self.counts["verification_failed"] += 1
                log.error("verification failed for job %s (%s)", job.job_id, job.symbology)
                log.debug("verification failure of job %s: %s", job.job_id, exc.message)
            return Result(status="failed", error=exc.info(), trace={**trace, "generated": now_ms()}, **base)
        except TransientError as exc:
            self.counts["failed"] += 1
            log.error("job %s failed after %d attempts: %s", job.job_id, self.attempts, exc)
            error = ErrorInfo(code=ErrorCode.STORAGE_UNAVAILABLE, retryable=True,
                              message=f"object store unavailable after {self.attempts} attempts")
            return Result(status="failed", error=error, trace={**trace, "generated": now_ms()}, **base)
        except Exception as exc:  # noqa: BLE001 - a bug in one job must not stop the others
            self.counts["failed"] += 1
            log.exception("job %s failed unexpectedly", job.job_id)
            error = ErrorInfo(code=ErrorCode.INTERNAL, retryable=True,
                              # No exception name or text for the client: they say how the
                              # service is built; the log has them under the job id.
                              message=f"the generator failed on this job; it was logged under job {job.job_id}")
            return Result(status="failed", error=error, trace={**trace, "generated": now_ms()}, **base)
        return result

    async def _make(self, job: RenderJob, trace: dict[str, float], base: dict[str, Any]) -> Result:
        symbology = lookup(job.symbology)
        if symbology is None:
            raise JobError(ErrorCode.UNKNOWN_SYMBOLOGY, f"unknown symbology {job.symbology!r}")
        engine = api.engine_for(symbology, job.engine)
        # Microseconds (zint) to well under a millisecond (python-barcode): cheaper inline than a thread hop.
        # It also refuses, output_too_large, a bitmap (the PNG with its quiet zones, text and
        # rotation, or a vector's verification raster) over the budget, before anything is drawn:
        # the gateway checked the request's own options and the router them merged with the
        # profile's (a render job comes only from the router: its options are not checked again).
        info = api.check(symbology, job.data, job.options, job.engine, job.format, self.max_pixels)
        key = object_key(symbology.name, info.data, job.format, job.options, f"{engine.NAME}-{engine.VERSION}")
        content_type = FORMATS[job.format]
        if job.batch_id is not None:
            base = {**base, "text_printed": api.prints_text(symbology, info, job.options, job.engine)}  # the sheet's caption
        known = self.known.get(key)
        if known is not None:
            # The stored file was checked when it was drawn: a repeat says what that check said
            # (it said nothing, and a batch's manifest called a repeated row "not verified").
            verified, reason = known
            self.counts["cached"] += 1
            self.report(job, "stored", with_routed=True, cached=True)
            return Result(status="completed", bucket=self.store.bucket, key=key, content_type=content_type,
                          cached=True, verified=verified, unverified_reason=reason if verified is False else None,
                          trace={**trace, "generated": now_ms()}, **base)
        trace["checked"] = now_ms()
        began_ns = time.time_ns()
        try:
            rendered = await asyncio.wait_for(self._in_thread(api.render, symbology, job.data, job.format,
                                                              job.options, job.engine, job.verify, self.max_pixels),
                                              self.render_timeout_s)
        except TimeoutError:
            # The thread cannot be stopped; its result is dropped when it ends.
            raise JobError(ErrorCode.RENDER_TIMEOUT, f"rendering took longer than {self.render_timeout_s:g} s") from None
        trace["rendered"] = now_ms()
        if tracing.enabled():
            ended_ns = time.time_ns()
            drawn_ns = rendered.drawn_ns or ended_ns
            tracing.record("render", began_ns, drawn_ns, engine=engine.NAME, bytes=len(rendered.body))
            if rendered.drawn_ns is not None:
                tracing.record("verify", drawn_ns, ended_ns, verified=rendered.unverified is None)
        verified = True if job.verify and symbology.verifiable else None
        if verified and rendered.unverified is not None:
            verified = False  # and the result says why: never silently
        self.report(job, "rendered", with_routed=True, verified=verified, size_bytes=len(rendered.body))
        # A conditional PUT: it stores the object, or reports that an earlier run (before a
        # restart, or another replica) already did; either way the key now holds this barcode.
        with tracing.child("upload", key=key):
            created = await self._with_retries(
                f"put {key}", lambda: self.store.put_new(key, rendered.body, rendered.content_type))
        self.known.add(key, verified, rendered.unverified if verified is False else None)
        self.counts["rendered" if created else "cached"] += 1
        self.report(job, "stored", cached=not created)
        inline = job.inline_file and len(rendered.body) <= INLINE_FILE_MAX_BYTES
        return Result(status="completed", bucket=self.store.bucket, key=key, content_type=content_type,
                      cached=not created, size_bytes=len(rendered.body), verified=verified,
                      unverified_reason=rendered.unverified if verified is False else None,
                      file_b64=base64.b64encode(rendered.body).decode() if inline else None,
                      trace={**trace, "generated": now_ms()}, **base)
