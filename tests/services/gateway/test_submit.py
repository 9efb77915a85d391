"""Idempotency keys belong to their caller and to the parameters they were first used with."""
from __future__ import annotations

from services.contract import GenerateRequest
from services.gateway.state import JobIndex, fingerprint
from services.gateway.submit import IDEMPOTENT_ID_WINDOW_S, idempotent_job_id

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
