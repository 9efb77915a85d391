"""Idempotency keys belong to their caller and to the parameters they were first used with."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from services.contract import ErrorCode, GenerateRequest
from services.gateway.edge.auth import Caller
from services.gateway.context import Gateway
from services.gateway.edge.errors import ApiError
from services.gateway.settings import GatewaySettings
from services.gateway.results.sockets import SocketRegistry
from services.gateway.jobs.state import JobIndex, fingerprint
from services.gateway.jobs.submit import IDEMPOTENT_ID_WINDOW_S, idempotent_job_id, submit
from services.settings import Env

A, B = "anonymous:aaaa", "anonymous:bbbb"


def _request(owner: str, data: str = "A-SECRET", key: str = "invoice-1", job_id: str = "j") -> GenerateRequest:
    return GenerateRequest(job_id=job_id, data=data, symbology="qrcode", owner=owner, idempotency_key=key)


def test_a_key_is_scoped_to_its_owner() -> None:
    """Issue 14 item 1: caller B posting caller A's key got A's job (and A's file)."""
    index = JobIndex(ttl_s=3600)
    index.add_request(_request(A, job_id="a-job"))
    assert index.earlier_job(_request(A)) is not None
    assert index.earlier_job(_request(B, data="B-DATA")) is None


def test_the_same_key_with_other_parameters_has_another_fingerprint() -> None:
    index = JobIndex(ttl_s=3600)
    first = index.add_request(_request(A, job_id="a-job"))
    assert first.fingerprint == fingerprint(_request(A))
    assert first.fingerprint != fingerprint(_request(A, data="OTHER"))
    # What only labels the request (its id, the socket it came from) is not a parameter.
    relabelled = _request(A)
    relabelled.request_id, relabelled.client_id = "r2", "c2"
    assert fingerprint(relabelled) == first.fingerprint


def test_two_replicas_make_the_same_job_id_for_the_same_new_key() -> None:
    """Two replicas taking the same key at the same instant publish one job id (the duplicate
    is dropped downstream), not two jobs."""
    now = 1_000_000 * IDEMPOTENT_ID_WINDOW_S + 1.0
    one = idempotent_job_id(b"secret", _request(A), now)
    assert one == idempotent_job_id(b"secret", _request(A), now + 0.5)
    assert len(one) == 32 and int(one, 16) >= 0
    assert one != idempotent_job_id(b"secret", _request(B), now)  # another caller
    assert one != idempotent_job_id(b"secret", _request(A, data="OTHER"), now)  # other parameters
    assert one != idempotent_job_id(b"other-secret", _request(A), now)  # not guessable without the secret
    assert one != idempotent_job_id(b"secret", _request(A), now + IDEMPOTENT_ID_WINDOW_S)  # a later window


def test_a_discarded_request_frees_its_key() -> None:
    """Issue 14 item 3: a request that never reached Kafka kept its key, and the key then
    answered with a job that stayed queued forever."""
    index = JobIndex(ttl_s=3600)
    index.add_request(_request(A, job_id="never-published"))
    index.discard("never-published")
    assert index.earlier_job(_request(A)) is None


class _Feed:
    """Stands in for the Kafka feed: caught up, nothing from other replicas to read."""

    def __init__(self) -> None:
        self.caught_up = asyncio.Event()
        self.caught_up.set()

    async def read_other_replicas(self) -> None:
        return None

    def new_id(self) -> str:
        return uuid.uuid4().hex


def _gateway(publisher: object) -> Gateway:
    """A gateway with a caught-up feed and `publisher` in place of Kafka."""
    return Gateway(settings=GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s"})), index=JobIndex(60),
                   registry=SocketRegistry(), publisher=publisher, feed=_Feed())  # type: ignore[arg-type]


class _HangingThenFailingPublisher:
    """The first publish hangs until released, then fails (a broker deleted mid-send); later
    ones succeed."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.published: list[str] = []

    async def publish_request(self, request: GenerateRequest, headers: object = None) -> None:
        if not self.published and not self.release.is_set():
            await self.release.wait()
            raise ApiError(ErrorCode.UNAVAILABLE, "the job queue is unavailable; try again")
        self.published.append(request.job_id)


async def test_a_repeat_is_not_answered_with_a_job_whose_publish_then_fails() -> None:
    """Found by `make k8s-test` (4 jobs lost): a client reconnected while its first socket's
    publish hung on a deleted broker, re-sent its key, and was told `accepted` for the pending
    job; that publish then failed, and the job never existed."""
    publisher = _HangingThenFailingPublisher()
    gw = _gateway(publisher)
    caller = Caller("anonymous:1", None, A)
    body = {"data": "X", "idempotency_key": "k"}
    first = asyncio.create_task(submit(gw, caller, body, None))
    await asyncio.sleep(0.01)  # the first publish is pending now
    second = asyncio.create_task(submit(gw, caller, body, None, wait_for_other_replicas=False))
    await asyncio.sleep(0.01)
    assert not second.done()  # it waits for the outcome instead of answering `replayed`
    publisher.release.set()
    with pytest.raises(ApiError):
        await first
    done = await second
    assert not done.replayed and publisher.published == [done.job_id]
    assert gw.index.get(done.job_id) is not None


def _frozen_clock(monkeypatch: pytest.MonkeyPatch, second: float) -> list[float]:
    """submit's clock at `second` of a minute; move it by changing the list's one value."""
    clock = [1_000_000 * IDEMPOTENT_ID_WINDOW_S + second]
    monkeypatch.setattr("services.gateway.jobs.submit.time.time", lambda: clock[0])
    return clock


class _FailingOncePublisher:
    """The first publish fails as a broker that died after appending it would look; later ones
    succeed."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    async def publish_request(self, request: GenerateRequest, headers: object = None) -> None:
        self.attempts.append(request.job_id)
        if len(self.attempts) == 1:
            raise ApiError(ErrorCode.UNAVAILABLE, "the job queue is unavailable; try again")


async def test_a_retry_after_a_failed_publish_keeps_its_job_id_across_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by `make chaos` (3 and 5 jobs): a publish that timed out while Kafka was down had
    reached the log after all; the client's retry a minute later got another job id and made a
    second job, whose result came for a job the client was never told about."""
    publisher = _FailingOncePublisher()
    gw = _gateway(publisher)
    caller = Caller("anonymous:1", None, A)
    clock = _frozen_clock(monkeypatch, 59.9)
    with pytest.raises(ApiError):
        await submit(gw, caller, {"data": "X", "idempotency_key": "k"}, None)
    clock[0] += 1.0  # the next minute
    retried = await submit(gw, caller, {"data": "X", "idempotency_key": "k"}, None, wait_for_other_replicas=False)
    assert publisher.attempts == [retried.job_id, retried.job_id]  # one job id, so at most one job
    # The key is still free for other parameters (a new job), and settled ids are forgotten.
    other = await submit(gw, caller, {"data": "Y", "idempotency_key": "k2"}, None)
    assert other.job_id != retried.job_id and len(gw.index.unsettled) == 0


async def test_a_resend_waiting_on_a_pending_attempt_that_fails_takes_its_job_id(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: the resend came in the next minute while the first attempt's publish
    was still pending; it computed another id before waiting, and published that one after the
    first attempt failed (which may have reached Kafka): two jobs."""
    publisher = _HangingThenFailingPublisher()
    gw = _gateway(publisher)
    caller = Caller("anonymous:1", None, A)
    clock = _frozen_clock(monkeypatch, 59.99)
    body = {"data": "X", "idempotency_key": "k"}
    first = asyncio.create_task(submit(gw, caller, body, "c" * 32))
    await asyncio.sleep(0.01)
    first_id = next(iter(gw.publishing))
    clock[0] += 1.0  # the resend comes in the next minute, from another client id
    second = asyncio.create_task(submit(gw, caller, body, "d" * 32, wait_for_other_replicas=False))
    await asyncio.sleep(0.01)
    publisher.release.set()
    with pytest.raises(ApiError):
        await first
    done = await second
    assert publisher.published == [first_id] and done.job_id == first_id
    assert done.results_also_at == "c" * 32  # where the first attempt's result would go
