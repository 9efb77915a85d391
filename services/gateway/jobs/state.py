"""What every gateway replica knows about jobs and clients, rebuilt from Kafka.

Each replica reads barcode.requests (a job exists: queued) and barcode.deliveries (a client has
seen a result) from BARCODE_STATE_TTL_SECONDS ago at start, then follows them, and
barcode.notifications (a job is final) on the partitions of the clients it serves or is asked
about (feed.py). So any replica answers job status, survives its own restart, and
can hand a reconnecting client what it missed. The first final notification of a job wins;
repeats are dropped here, before any client sees them.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from services.contract import ErrorInfo, GenerateRequest, Notification, now_ms


@dataclass(slots=True)
class Job:
    job_id: str
    created_ms: float
    status: str = "queued"
    client_id: str | None = None
    reply_key: str | None = None  # where its result goes without a client (contract.GenerateRequest)
    request_id: str | None = None
    company: str | None = None  # as submitted; an API key's company for keyed callers
    owner: str | None = None  # auth.Caller.owner of the request; None until the request is read
    notification: Notification | None = None
    idempotency: tuple[str, str] | None = None  # (owner, key)
    fingerprint: str | None = None  # of what the request asked for, to refuse a reused key
    # Made only when a GET ?wait= waits: an Event per job was a third of each job's memory,
    # and every replica holds every job of the last hour.
    _final: asyncio.Event | None = None

    async def wait_final(self) -> None:
        if self.notification is None:
            if self._final is None:
                self._final = asyncio.Event()
            await self._final.wait()

    def mark_final(self, n: Notification) -> None:
        self.notification = n
        self.status = n.status
        if self._final is not None:
            self._final.set()

    def public(self, url: str | None = None, file_url: str | None = None) -> dict[str, Any]:
        """The job as GET /v1/jobs/{id} shows it; `url` signed for this read (never a stored,
        possibly expired one). Whether the file was already stored (`cached`) is not shown: it
        would tell a caller that someone else made the same barcode."""
        out: dict[str, Any] = {"job_id": self.job_id, "status": self.status}
        if self.request_id is not None:
            out["request_id"] = self.request_id
        n = self.notification
        if n is not None:
            out["company"] = n.company
            if n.status == "completed":
                out.update(url=url, content_type=n.content_type)
                if file_url:
                    out["file_url"] = file_url
            elif n.error is not None:
                out["error"] = error_body(n.error)
        return out


def fingerprint(request: GenerateRequest) -> str:
    """What the request asks to be drawn, as a digest: the same idempotency key with another
    fingerprint is a reused key (refused), not a retry."""
    asked = {"data": request.data, "symbology": request.symbology, "format": request.format,
             "company": request.company, "options": request.options, "progress": bool(request.progress)}
    return hashlib.sha256(orjson.dumps(asked, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def error_body(error: ErrorInfo) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "retryable": error.retryable}


class UnsettledKeys:
    """The job id of each keyed request whose publish failed, by (owner, key, fingerprint).

    A failed publish is not proof that Kafka does not have the request: a broker that died
    after appending it, or a send that timed out and went through later, leave it on the log,
    where its job runs. The retry of the same request must then be the same job, whenever it
    comes: without this, a retry in a later minute got another id (submit.idempotent_job_id) and
    made a second job, whose result the client was sent for a job it was never told about
    (`make chaos`: 3 and 5 such jobs in two runs, around the Kafka kills). Other parameters under
    the same key are another fingerprint: the key stays free for them."""

    def __init__(self, ttl_s: float, limit: int = 10_000) -> None:
        self.ttl_s, self.limit = ttl_s, limit
        # (owner, key, fingerprint) -> (job id, where its result would be: client id or job id, when)
        self._ids: OrderedDict[tuple[str | None, str, str], tuple[str, str, float]] = OrderedDict()

    @staticmethod
    def _key(request: GenerateRequest) -> tuple[str | None, str, str]:
        return (request.owner, request.idempotency_key or "", fingerprint(request))

    def pinned(self, request: GenerateRequest) -> tuple[str, str] | None:
        """(job id, result key) of this request's earlier failed attempt, if one is remembered:
        the result key (its client id, else its job id) is where that attempt's result goes."""
        if not self._ids:  # nearly always: no fingerprint to compute on the submit path
            return None
        found = self._ids.get(self._key(request))
        if found is None or time.monotonic() - found[2] > self.ttl_s:
            return None
        return found[0], found[1]

    def failed(self, request: GenerateRequest) -> None:
        key = self._key(request)
        self._ids[key] = (request.job_id, request.client_id or request.job_id, time.monotonic())
        self._ids.move_to_end(key)
        while len(self._ids) > self.limit:  # the oldest go first: bounded memory
            self._ids.popitem(last=False)

    def settled(self, request: GenerateRequest) -> None:
        """The request is in the index (published here, or read from Kafka): it answers from now on."""
        if self._ids:  # every keyed request the feed reads passes here: no fingerprint when empty
            self._ids.pop(self._key(request), None)

    def __len__(self) -> int:
        return len(self._ids)


class JobIndex:
    def __init__(self, ttl_s: float, max_jobs: int = 1_000_000) -> None:
        self.ttl_ms = ttl_s * 1000.0
        # Beyond this many, the oldest job is forgotten before its TTL: the memory a replica
        # needs stays bounded at any rate (and a restart, which reads the TTL's worth of
        # topics back, cannot run it out of memory).
        self.max_jobs = max_jobs
        self.evicted = 0  # jobs forgotten early for max_jobs
        self.jobs: OrderedDict[str, Job] = OrderedDict()  # insertion order = age order
        self.pending: dict[str, OrderedDict[str, Notification]] = {}  # client -> undelivered
        # client -> every final result of the TTL, in seq order: a receipt says a result was
        # written to a socket, not that the client read it (the connection can die with it in
        # flight), so a resume with last_seq must look past receipts.
        self.finals: dict[str, OrderedDict[str, Notification]] = {}
        self.delivered: OrderedDict[str, float] = OrderedDict()  # job id -> when
        self.idempotency: dict[tuple[str, str], str] = {}  # (owner, key) -> job id
        # Keyed requests whose publish failed here, until the request is indexed (UnsettledKeys).
        self.unsettled = UnsettledKeys(ttl_s)
        self.duplicates_dropped = 0

    def _job(self, job_id: str, created_ms: float) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            job = self.jobs[job_id] = Job(job_id=job_id, created_ms=created_ms)
            if len(self.jobs) > self.max_jobs:
                self._forget(self.jobs.popitem(last=False)[1])
                self.evicted += 1
        return job

    def add_request(self, request: GenerateRequest) -> Job:
        job = self._job(request.job_id, request.trace.get("gateway_in", now_ms()))
        job.client_id = request.client_id
        job.reply_key = request.reply_key
        job.request_id = request.request_id
        job.company = request.company
        job.owner = request.owner
        if request.idempotency_key:
            job.idempotency = (request.owner or "", request.idempotency_key)
            job.fingerprint = fingerprint(request)
            self.idempotency.setdefault(job.idempotency, job.job_id)  # the first job with a key wins
            self.unsettled.settled(request)
        return job

    def discard(self, job_id: str) -> None:
        """Forget a job whose request never reached Kafka, so a retry with its key is new."""
        job = self.jobs.pop(job_id, None)
        if job is not None and job.idempotency is not None and self.idempotency.get(job.idempotency) == job_id:
            del self.idempotency[job.idempotency]

    def earlier_job(self, request: GenerateRequest) -> Job | None:
        """The job an earlier request of the same owner with the same idempotency key made."""
        if not request.idempotency_key:
            return None
        job_id = self.idempotency.get((request.owner or "", request.idempotency_key))
        return self.jobs.get(job_id) if job_id else None

    def add_notification(self, n: Notification) -> bool:
        """Record a final status. False if the job was already final (a duplicate)."""
        job = self._job(n.job_id, n.created_ms)
        if job.notification is not None:
            self.duplicates_dropped += 1
            return False
        job.mark_final(n)
        job.client_id = job.client_id or n.client_id
        # The request may not have been read yet (its feed is batched): the company the job
        # ran as decides who may read it meanwhile.
        job.company = job.company or n.company
        job.request_id = job.request_id or n.request_id
        if n.client_id:
            self.finals.setdefault(n.client_id, OrderedDict())[n.job_id] = n
            if n.job_id not in self.delivered:
                self.pending.setdefault(n.client_id, OrderedDict())[n.job_id] = n
        return True

    def add_delivery(self, client_id: str, job_id: str) -> None:
        self.delivered[job_id] = now_ms()
        waiting = self.pending.get(client_id)
        if waiting is not None:
            waiting.pop(job_id, None)
            if not waiting:
                del self.pending[client_id]

    def pending_for(self, client_id: str, after_seq: int = -1) -> list[Notification]:
        """What a resuming client is owed, oldest first. With `after_seq` (the last seq it read):
        every result after it, whether or not a receipt says it was written to a socket (found
        by `make k8s-test`: results written to connections that then died were never replayed).
        Without: the results no receipt covers."""
        if after_seq < 0:
            return list(self.pending.get(client_id, {}).values())
        undelivered = self.pending.get(client_id, {})
        return [n for n in self.finals.get(client_id, {}).values()
                if (n.seq is not None and n.seq > after_seq) or (n.seq is None and n.job_id in undelivered)]

    def _forget(self, job: Job) -> None:
        """Drop what refers to a job already removed from `jobs`."""
        if job.idempotency is not None and self.idempotency.get(job.idempotency) == job.job_id:
            del self.idempotency[job.idempotency]
        for by_client in (self.pending, self.finals):
            if job.client_id and job.client_id in by_client:
                by_client[job.client_id].pop(job.job_id, None)
                if not by_client[job.client_id]:
                    del by_client[job.client_id]
        self.delivered.pop(job.job_id, None)

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def prune(self, now: float | None = None) -> int:
        """Forget what is older than the TTL, like the topics it was read from."""
        cutoff = (now if now is not None else now_ms()) - self.ttl_ms
        removed = 0
        while self.jobs:
            job = next(iter(self.jobs.values()))
            if job.created_ms >= cutoff:
                break
            self.jobs.popitem(last=False)
            removed += 1
            self._forget(job)
        while self.delivered and next(iter(self.delivered.values())) < cutoff:
            self.delivered.popitem(last=False)
        return removed
