"""One way in for a generate request, REST or WebSocket: validate -> idempotency -> index ->
publish. A request is bound to its idempotency key only once Kafka has taken it."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

from services import tracing
from services.contract import ErrorCode, GenerateRequest, Notification
from services.gateway.edge.auth import Caller
from services.gateway.context import Gateway
from services.gateway.edge.errors import ApiError
from services.gateway.results.replies import Hold
from services.gateway.jobs.state import Job, fingerprint
from services.gateway.jobs.validation import check_renderable_named, parse_generate
from services.render import cost
from services.render.symbologies import lookup

# Requests with the same owner, key and parameters in the same minute get the same job id, on
# any replica: two replicas taking the same new key at the same instant publish one job (the
# second copy is dropped as a duplicate downstream), not two. Later repeats are answered from
# the index; a new job id per minute keeps a key reused after the index forgot it (TTL) from
# colliding with the notifier's memory of job ids it already answered.
IDEMPOTENT_ID_WINDOW_S = 60


@dataclass(frozen=True)
class Submitted:
    job_id: str
    status: str  # "queued", or the earlier job's status
    replayed: bool  # an earlier request with this idempotency key made this job
    final: Notification | None = None  # the earlier job's result, if it has one
    # A retry of a failed attempt from another client: that attempt may run (and its result go
    # to its client's partition) instead of this copy, so the caller reads there too.
    results_also_at: str | None = None


def idempotent_job_id(secret: bytes, request: GenerateRequest, now: float | None = None) -> str:
    window = int((now if now is not None else time.time()) // IDEMPOTENT_ID_WINDOW_S)
    message = f"{request.owner}|{request.idempotency_key}|{fingerprint(request)}|{window}"
    return hmac.new(secret, message.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:32]


async def hold_results(gw: Gateway, key: str, from_now: bool = False) -> Hold:
    """Read the results of `key` (a client id, or a job id without one) here until released:
    its partition may be another replica's (feed.py `Feed.hold`; `from_now`: only results
    published after this call are wanted)."""
    if gw.feed is None:
        return Hold()
    try:
        return await gw.feed.hold(key, from_now=from_now)
    except (KafkaError, TimeoutError) as exc:
        raise ApiError(ErrorCode.UNAVAILABLE, "the job state is unavailable; try again") from exc


async def read_results_of(gw: Gateway, job: Job) -> Hold:
    """For a job not final yet whose result is on a partition this replica does not read
    (submitted on another replica): read that partition (from where its results begin) until
    the Hold is released, having caught up with it, so the job's status here is its latest."""
    if job.notification is not None:
        return Hold()
    # Always a hold, also when the partition is read now: one read for another status request
    # may be in its linger, and would stop during this wait (found by CI: a `?wait=20` of a
    # keyed job stayed `queued`). Home and partitions already caught up cost no wait.
    return await hold_results(gw, job.client_id or job.reply_key or job.job_id)


async def read_other_replicas(gw: Gateway) -> None:
    if gw.feed is None:
        return
    try:
        await gw.feed.read_other_replicas()
    except (KafkaError, TimeoutError) as exc:
        raise ApiError(ErrorCode.UNAVAILABLE, "the job queue is unavailable; try again") from exc


async def submit(gw: Gateway, caller: Caller, body: Any, client_id: str | None,
                 wait_for_other_replicas: bool = True) -> Submitted:
    """`wait_for_other_replicas`: before calling a key new, read every request published
    anywhere before now (up to GATEWAY_STATE_FETCH_WAIT_MS): REST does, so a retry sent to
    another replica at once is answered `replayed` (or 409 with other parameters). A socket does
    not: its messages are handled one after another, and a wait per keyed message would cap a
    socket at ten of them a second; a retry of its key on another replica within that moment
    gets the same job id anyway, and the copy is dropped downstream."""
    gw.check_serving()
    # A result is keyed by its client id, else by its job id: a REST job's id is issued to land
    # where this replica reads results (replies.py), so a `?wait` here needs no other partition.
    job_id = gw.feed.new_id() if gw.feed is not None and client_id is None else uuid.uuid4().hex
    job = parse_generate(body, job_id, client_id, render_check=False)
    if job.symbology is not None:
        await checked(gw, caller, job)
    job.company = gw.keys.effective_company(caller, job.company)
    job.owner = caller.owner
    elsewhere: str | None = None  # where a failed earlier attempt's result would go, if not here
    if job.idempotency_key:
        job.job_id = idempotent_job_id(gw.settings.resume_secret, job)
        earlier = gw.index.earlier_job(job)
        if earlier is None and wait_for_other_replicas:
            # The key may have come in on another replica a moment ago (no stickiness).
            await read_other_replicas(gw)
            earlier = gw.index.earlier_job(job)
        if earlier is not None and not await _published(gw, earlier.job_id):
            earlier = None  # its publish failed (and forgot it): this request is the job now
        if earlier is not None:
            if earlier.fingerprint != fingerprint(job):
                raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                               f"idempotency_key {job.idempotency_key!r} was used for job {earlier.job_id} "
                               "with other parameters; use a new key for a new request", status=409)
            (await read_results_of(gw, earlier)).release()  # its status may be another replica's to read
            return Submitted(earlier.job_id, earlier.status, True, earlier.notification)
        # A retry of a request whose publish failed keeps that attempt's id: the request may be
        # on Kafka after all, and a second id would be a second job (state.py UnsettledKeys).
        # Looked up here, after the waits above: an attempt pending there may have failed since.
        pinned = gw.index.unsettled.pinned(job)
        if pinned is not None:
            job.job_id, attempt_results = pinned
            if attempt_results != (job.client_id or job.job_id):
                elsewhere = attempt_results
    await publish(gw, job)
    return Submitted(job.job_id, "queued", False, results_also_at=elsewhere)


async def checked(gw: Gateway, caller: Caller, job: GenerateRequest) -> None:
    """The renderer's check of a job (charset, check digits, the pixel budget), charged to the
    caller as the pipeline will spend it (the checks, then drawing the symbol the check
    described), and off the event loop when it is costly (costs.py)."""
    symbology = lookup(job.symbology or "")
    assert symbology is not None  # parse_generate named it
    estimate = cost.check_ms(symbology, job.data, job.options)
    info = await gw.costs.check(caller, estimate, cost.PIPELINE_FACTOR, check_renderable_named, symbology.name,
                                job.data, job.options, job.format)
    gw.costs.charge_render(caller, cost.render_ms(symbology, info, job.format, job.options))


async def _published(gw: Gateway, job_id: str) -> bool:
    """Whether the job's request is on Kafka: at once for what the feed read or a publish
    finished; else the outcome of the publish in progress. A repeat must not be answered with a
    job whose publish is still pending (found by `make k8s-test`: a client that reconnected
    while its first socket's publish hung on a deleted broker was told `accepted` for a job
    whose publish then failed: lost)."""
    pending = gw.publishing.get(job_id)
    return True if pending is None else await asyncio.shield(pending)


async def publish(gw: Gateway, job: GenerateRequest) -> None:
    """Index, then publish; a request whose publish failed is forgotten again, so no job waits
    for a request that may never have left and its key stays free for other parameters (a retry
    with the same ones keeps its job id). Indexed first so a result that comes back at once
    finds its job."""
    assert gw.publisher is not None
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    gw.publishing[job.job_id] = outcome
    gw.index.add_request(job)
    # Where a traced job begins (services/tracing.py): its request record names this span.
    span = tracing.start("publish", root=True, job_id=job.job_id, company=job.company, symbology=job.symbology,
                         format=job.format, batch_id=job.batch_id)
    try:
        await gw.publisher.publish_request(job, tracing.headers(span))
    except BaseException as exc:
        tracing.end(span, exc)
        gw.index.discard(job.job_id)
        if job.idempotency_key:
            gw.index.unsettled.failed(job)
        outcome.set_result(False)
        raise
    else:
        tracing.end(span)
        outcome.set_result(True)
    finally:
        if gw.publishing.get(job.job_id) is outcome:
            del gw.publishing[job.job_id]
