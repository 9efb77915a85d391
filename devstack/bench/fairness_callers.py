"""The two callers of `make bench-fairness` (devstack/bench/fairness.py): the victim, a steady
open-loop stream of cheap requests whose latency is the measurement, and the attacker, the
costliest valid requests kept in flight at its full rate budget. Each from its own source
address: the gateway keys an anonymous caller's budget by it.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from devstack.bench.fairness_report import KINDS

VICTIM, ATTACKER, PROBE = "127.0.0.2", "127.0.0.3", "127.0.0.4"  # loopback reaches 127.0.0.1 from any 127.x
# The costliest valid requests (services/render/cost.py): the longest QR code to check (a
# 7,088-digit one: ~4 ms, estimated 38) and the largest symbol to draw (a Han Xin version 84
# as PDF: ~500 ms of the generator, estimated ~490).
LONG_QR = {"symbology": "qrcode"}
HANXIN_PDF = {"symbology": "hanxin", "options": {"version": 84}, "format": "pdf"}
REQUEST_TIMEOUT_S = 60.0  # a victim request (a job: until it is final) that takes longer counts as failed
FINAL = ("completed", "failed")


def long_digits(tag: str) -> str:
    """7,088 digits that differ for each tag (a QR code's longest numeric data, rounded)."""
    digits = "".join(str(ord(c) % 10) for c in tag) or "0"
    return (digits * (7088 // len(digits) + 1))[:7088]


@dataclass(frozen=True)
class Phase:
    name: str
    attack: str  # what the table calls it
    path: str
    template: dict[str, Any]  # the request, or a batch's settings, without its data
    long_data: bool  # its data are a long QR's digits; else a short tag

    @property
    def batch(self) -> bool:
        return self.path.startswith("/v1/batches")

    def _data(self, tag: str) -> str:
        return long_digits(tag) if self.long_data else tag

    def body(self, n: int, rows: int, repeat: bool) -> dict[str, Any]:
        """The attacker's `n`-th request: its data (each row's) seen nowhere before, unless `repeat`."""
        if self.batch:
            items = [{"data": self._data("A" if repeat else f"A{n}-{row}")} for row in range(rows)]
            return {"items": items, **self.template}
        return {"data": self._data("A" if repeat else f"A{n}"), **self.template}


PHASES = {p.name: p for p in (
    Phase("A", "validate 7,088-digit QR", "/v1/validate", LONG_QR, True),
    Phase("B", "jobs Han Xin v84 PDF", "/v1/jobs", HANXIN_PDF, False),
    Phase("C", "batch dry runs of 7,088-digit QRs", "/v1/batches?dry_run=1", LONG_QR, True),
)}


def session(address: str, limit: int = 0) -> aiohttp.ClientSession:
    """A client whose connections leave from `address`: the gateway keys an anonymous caller's
    budget by it."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=limit))


# -- the victim --------------------------------------------------------------------------------

@dataclass
class Stream:
    """One kind of victim request: the latencies of those answered right, every outcome counted."""
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def record(self, scheduled: float, outcome: str) -> None:
        self.outcomes[outcome] += 1
        if outcome == "ok":
            self.latencies_ms.append(round((time.monotonic() - scheduled) * 1000, 2))


async def _validate(client: aiohttp.ClientSession, url: str, data: str, scheduled: float, stream: Stream) -> None:
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            async with client.post(f"{url}/v1/validate", json={"symbology": "code128", "data": data}) as resp:
                await resp.read()
        stream.record(scheduled, "ok" if resp.status == 200 else f"http {resp.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        stream.record(scheduled, f"client {type(exc).__name__}")


async def _job(client: aiohttp.ClientSession, url: str, data: str, scheduled: float, stream: Stream) -> None:
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            async with client.post(f"{url}/v1/jobs", json={"symbology": "code128", "data": data}) as resp:
                answer = await resp.json()
            if resp.status != 202:
                stream.record(scheduled, f"http {resp.status}")
                return
            status = "queued"
            while status not in FINAL:
                async with client.get(f"{url}/v1/jobs/{answer['job_id']}", params={"wait": "10"}) as resp:
                    if resp.status != 200:
                        stream.record(scheduled, f"http {resp.status}")
                        return
                    status = (await resp.json())["status"]
        stream.record(scheduled, "ok" if status == "completed" else str(status))
    except (aiohttp.ClientError, TimeoutError) as exc:
        stream.record(scheduled, f"client {type(exc).__name__}")


async def victim(url: str, rate: float, seconds: float, names: Iterator[int],
                 scheduled_all: asyncio.Event | None = None) -> dict[str, Stream]:
    """`rate` validations and `rate` jobs a second for `seconds`, open loop (the jobs half a
    period after the validations); sets `scheduled_all` once the last is sent, returns once
    every one is answered."""
    streams = {kind: Stream() for kind in KINDS}
    tasks = []
    async with session(VICTIM) as client:
        started = time.monotonic()
        for n in range(int(rate * seconds) * 2):
            scheduled = started + n / (2 * rate)
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            send, kind = (_validate, "validate") if n % 2 == 0 else (_job, "jobs")
            tasks.append(asyncio.create_task(send(client, url, f"VICTIM-{next(names)}", scheduled, streams[kind])))
        if scheduled_all is not None:
            scheduled_all.set()
        await asyncio.gather(*tasks)
    return streams


# -- the attacker ------------------------------------------------------------------------------

@dataclass
class Attacker:
    url: str
    phase: Phase
    concurrency: int
    rows: int  # per batch; cut while the gateway refuses a batch as too costly (413)
    repeat: bool
    names: Iterator[int]  # shared with every step: data never repeats across steps either
    accepted: int = 0
    rejected_429: int = 0
    other: Counter[str] = field(default_factory=Counter)
    job_ids: list[str] = field(default_factory=list)
    last_answer: float = 0.0  # time.monotonic() of the last accepted answer

    async def run(self, stop: asyncio.Event) -> None:
        """`concurrency` workers, each sending one request after another until `stop`; a worker
        in flight when it is set finishes its request."""
        async with session(ATTACKER, self.concurrency) as client:
            await asyncio.gather(*(self._worker(client, stop) for _ in range(self.concurrency)))

    async def _worker(self, client: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            rows = self.rows
            body = self.phase.body(next(self.names), rows, self.repeat)
            pause = 0.0
            try:
                async with client.post(f"{self.url}{self.phase.path}", json=body) as resp:
                    answer = await resp.read()
                if resp.status in (200, 202):
                    self.accepted += 1
                    self.last_answer = time.monotonic()
                    if self.phase.path == "/v1/jobs":
                        self.job_ids.append(json.loads(answer)["job_id"])
                elif resp.status == 429:
                    self.rejected_429 += 1
                    pause = float(resp.headers.get("Retry-After", "1"))
                elif resp.status == 413 and self.phase.batch and rows > 1:
                    # Too costly to be taken at all: the costliest valid batch is a smaller one.
                    # Cut from the size refused, so workers refused at once cut it only once.
                    self.other["http 413"] += 1
                    self.rows = min(self.rows, rows * 3 // 4)
                else:
                    self.other[f"http {resp.status}"] += 1
                    pause = 1.0  # not a request the gateway takes: do not spin on it
            except (aiohttp.ClientError, ValueError) as exc:
                self.other[f"client {type(exc).__name__}"] += 1
                pause = 1.0
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    async def jobs_final(self) -> None:
        """Wait until every job the attacker had accepted is final (the generator's backlog)."""
        async with session(ATTACKER, 1) as client:
            for job_id in self.job_ids:
                status = "queued"
                while status not in FINAL:
                    async with client.get(f"{self.url}/v1/jobs/{job_id}", params={"wait": "10"}) as resp:
                        if resp.status == 429:
                            await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                        elif resp.status == 200:
                            status = (await resp.json())["status"]
                        else:
                            self.other[f"status read: http {resp.status}"] += 1
                            break

    def summary(self, seconds: float) -> dict[str, Any]:
        return {"seconds": round(seconds, 2), "accepted": self.accepted, "rejected_429": self.rejected_429,
                "other": dict(self.other), "jobs": len(self.job_ids),
                "batch_rows": self.rows if self.phase.batch else None}
