"""The job behind an image URL: found when the same parameters were asked for before, made once
when they were not.

An image's job id is derived from what decides its file (the company, symbology, data, format
and options, after checking) under the replicas' shared secret: every replica finds the same
job for the same URL in its job index (rebuilt from Kafka, BARCODE_STATE_TTL_SECONDS), so a
repeat is served from the store without a new job, on any replica, and identical misses at the
same moment publish one job id (a copy from another replica is dropped downstream). The id also
names a time window: a job the index has forgotten is made again under a new id, never under
one the notifier still remembers answering (it would drop the result as a repeat)."""
from __future__ import annotations

import hashlib
import hmac
import math
import time

import orjson

from services.contract import GenerateRequest
from services.gateway.context import Gateway
from services.gateway.edge.auth import Caller
from services.gateway.jobs.state import Job
from services.gateway.jobs.submit import checked, hold_results, publish, read_results_of
from services.gateway.results.replies import Hold


def window_s(state_ttl_s: int) -> int:
    """The span of one job id: a quarter of the state's retention (at least a minute), so an
    index that still knows a job knows it under one of the last few windows' ids."""
    return max(60, state_ttl_s // 4)


def image_job_id(secret: bytes, request: GenerateRequest, window: int) -> str:
    canonical = orjson.dumps([request.company, request.symbology, request.data, request.format,
                              request.options, window], option=orjson.OPT_SORT_KEYS)
    return hmac.new(secret, b"image|" + canonical, hashlib.sha256).hexdigest()[:32]


def candidate_ids(secret: bytes, request: GenerateRequest, state_ttl_s: int, now: float | None = None) -> list[str]:
    """The ids this request's job may have, newest window first: as far back as the index keeps jobs."""
    span = window_s(state_ttl_s)
    current = int((now if now is not None else time.time()) // span)
    back = math.ceil(state_ttl_s / span)
    return [image_job_id(secret, request, window) for window in range(current, current - back - 1, -1)]


def retry_id(secret: bytes, failed_job_id: str) -> str:
    """The id of the next try after a job failed for a reason a retry may cure (storage or a
    partner away): the same on every replica, so the retry is made once too."""
    return hmac.new(secret, f"retry|{failed_job_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _retry_due(job: Job) -> bool:
    n = job.notification
    return n is not None and n.status == "failed" and n.error is not None and n.error.retryable


def find(gw: Gateway, request: GenerateRequest) -> tuple[Job | None, str]:
    """The job this replica knows for these parameters (any replica may have made it), and the
    id to make one under if there is none: a failure a retry may cure is not kept, its retry is
    looked for instead (the failure of bad data is: the same parameters fail the same way)."""
    secret = gw.settings.resume_secret
    ids = candidate_ids(secret, request, gw.settings.kafka.state_ttl_s)
    for job_id in ids:
        job = gw.index.get(job_id)
        while job is not None and _retry_due(job):
            job_id = retry_id(secret, job.job_id)
            job = gw.index.get(job_id)
            if job is None:
                return None, job_id
        if job is not None:
            return job, job_id
    return None, ids[0]


async def made(gw: Gateway, caller: Caller, request: GenerateRequest, job_id: str) -> tuple[Job, Hold]:
    """A new job for these parameters under `job_id` (find's), checked and charged like any
    submission, then published (or the one a concurrent identical request published meanwhile),
    with its results partition read from before the publish: the result cannot be missed, and
    a reader already running needs no catching up (hold_results `from_now`)."""
    await checked(gw, caller, request)
    request.job_id = job_id
    job = gw.index.get(request.job_id)
    if job is not None:
        return job, await read_results_of(gw, job)
    # Its result comes back on this replica's own partition (the id is not ours to choose):
    # nothing more to read for it. Another replica that finds the job reads there for it.
    request.reply_key = gw.feed.new_id() if gw.feed is not None else None
    request.inline_file = True  # a small file comes back with its result: no store read to answer
    hold = await hold_results(gw, request.reply_key or job_id, from_now=True)
    if gw.index.get(job_id) is None:  # not published by an identical request meanwhile
        try:
            await publish(gw, request)  # indexed before its first wait: later requests find it
        except BaseException:
            hold.release()
            raise
    job = gw.index.get(request.job_id)
    assert job is not None
    return job, hold
