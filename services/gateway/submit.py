"""One way in for a generate request, REST or WebSocket: validate -> idempotency -> index ->
publish. A request is bound to its idempotency key only once Kafka has taken it."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka.errors import KafkaError

from services.contract import ErrorCode, GenerateRequest, Notification
from services.gateway.auth import Caller
from services.gateway.context import Gateway
from services.gateway.errors import ApiError
from services.gateway.state import fingerprint
from services.gateway.validation import parse_generate

# Requests with the same owner, key and parameters in the same minute get the same job id, on
# any replica: two replicas taking the same new key at the same instant publish one job (the
# second copy is dropped as a duplicate downstream), not two. Later repeats are answered from
# the index; a new job id per minute keeps a key reused after the index forgot it (TTL) from
# colliding with the notifier's memory of job ids it already answered.
IDEMPOTENT_ID_WINDOW_S = 60
T = TypeVar("T")


# parse_generate runs the renderer's own check (charset, length, the pixel budget): microseconds
# for short data, but a 7089-digit QR takes ~46 ms. Long data is checked in a thread so one big
# request does not stall every socket of this replica.
LONG_DATA = 500


async def off_loop_if_long(body: Any, fn: Callable[..., T], *args: Any) -> T:
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, (str, dict)) and len(str(data)) > LONG_DATA:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


@dataclass(frozen=True)
class Submitted:
    job_id: str
    status: str  # "queued", or the earlier job's status
    replayed: bool  # an earlier request with this idempotency key made this job
    final: Notification | None = None  # the earlier job's result, if it has one


def idempotent_job_id(secret: bytes, request: GenerateRequest, now: float | None = None) -> str:
    window = int((now if now is not None else time.time()) // IDEMPOTENT_ID_WINDOW_S)
    message = f"{request.owner}|{request.idempotency_key}|{fingerprint(request)}|{window}"
    return hmac.new(secret, message.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:32]


async def read_other_replicas(gw: Gateway) -> None:
    if gw.feed is None:
        return
    try:
        await gw.feed.read_other_replicas()
    except (KafkaError, TimeoutError) as exc:
        raise ApiError(ErrorCode.UNAVAILABLE, "the job queue is unavailable; try again") from exc


async def submit(gw: Gateway, caller: Caller, body: Any, client_id: str | None) -> Submitted:
    gw.check_serving()
    job = await off_loop_if_long(body, parse_generate, body, uuid.uuid4().hex, client_id)
    job.company = gw.keys.effective_company(caller, job.company)
    job.owner = caller.owner
    if job.idempotency_key:
        job.job_id = idempotent_job_id(gw.settings.resume_secret, job)
        earlier = gw.index.earlier_job(job)
        if earlier is None:
            # The key may have come in on another replica a moment ago (no stickiness).
            await read_other_replicas(gw)
            earlier = gw.index.earlier_job(job)
        if earlier is not None:
            if earlier.fingerprint != fingerprint(job):
                raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                               f"idempotency_key {job.idempotency_key!r} was used for job {earlier.job_id} "
                               "with other parameters; use a new key for a new request", status=409)
            return Submitted(earlier.job_id, earlier.status, True, earlier.notification)
    await publish(gw, job)
    return Submitted(job.job_id, "queued", False)


async def publish(gw: Gateway, job: GenerateRequest) -> None:
    """Index, then publish; a request Kafka did not take (for whatever reason) is forgotten
    again, so its idempotency key stays free and no job waits for a request that never left."""
    assert gw.publisher is not None
    gw.index.add_request(job)
    try:
        await gw.publisher.publish_request(job)
    except BaseException:
        gw.index.discard(job.job_id)
        raise
