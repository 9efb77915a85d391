from __future__ import annotations

import asyncio

from services.contract import ErrorInfo, GenerateRequest, Notification
from services.gateway.jobs.state import JobIndex


def _done(job_id: str, client_id: str | None = "c1", status: str = "completed", at: float = 1000.0) -> Notification:
    error = ErrorInfo("invalid_check_digit", "m") if status == "failed" else None
    return Notification(job_id=job_id, status=status, created_ms=at, client_id=client_id, error=error)  # type: ignore[arg-type]


def test_request_then_result() -> None:
    index = JobIndex(ttl_s=3600)
    job = index.add_request(GenerateRequest(job_id="j1", data="x", client_id="c1", trace={"gateway_in": 5.0}))
    assert job.status == "queued" and job.notification is None
    assert index.add_notification(_done("j1"))
    assert job.status == "completed" and job.notification is not None
    assert [n.job_id for n in index.pending_for("c1")] == ["j1"]


def test_first_final_status_wins_and_repeats_are_counted() -> None:
    index = JobIndex(ttl_s=3600)
    assert index.add_notification(_done("j1", status="failed"))
    assert not index.add_notification(_done("j1", status="completed"))
    assert index.get("j1").status == "failed"  # type: ignore[union-attr]
    assert index.duplicates_dropped == 1
    assert len(index.pending_for("c1")) == 1


def test_delivery_clears_pending_in_either_order() -> None:
    index = JobIndex(ttl_s=3600)
    index.add_notification(_done("j1"))
    index.add_delivery("c1", "j1")
    assert index.pending_for("c1") == []
    # A receipt read before its notification (different topics) still counts.
    index.add_delivery("c1", "j2")
    index.add_notification(_done("j2"))
    assert index.pending_for("c1") == []


def test_results_without_a_client_are_status_only() -> None:
    index = JobIndex(ttl_s=3600)
    index.add_notification(_done("j1", client_id=None))
    assert index.pending == {} and index.get("j1") is not None


def test_prune_forgets_what_is_older_than_the_ttl() -> None:
    index = JobIndex(ttl_s=60)
    index.add_notification(_done("old", at=0.0))
    index.add_notification(_done("new", at=100_000.0))
    assert index.prune(now=120_000.0) == 1
    assert index.get("old") is None and index.get("new") is not None
    assert [n.job_id for n in index.pending_for("c1")] == ["new"]


def test_a_result_read_before_its_request_keeps_the_company_it_ran_as() -> None:
    # Requests are read in batches, notifications at once: a protected company's job must not
    # be readable by everyone in between.
    index = JobIndex(ttl_s=3600)
    index.add_notification(Notification(job_id="j1", status="completed", created_ms=1.0, client_id="c1",
                                        company="Acme"))
    assert index.get("j1").company == "Acme"  # type: ignore[union-attr]
    job = index.add_request(GenerateRequest(job_id="j1", data="x", client_id="c1", company="Acme", request_id="r"))
    assert job.status == "completed" and job.request_id == "r" and job.company == "Acme"


async def test_a_waiter_wakes_when_the_result_comes_and_a_finished_job_does_not_wait() -> None:
    index = JobIndex(ttl_s=3600)
    job = index.add_request(GenerateRequest(job_id="j1", data="x", client_id="c1"))
    waiter = asyncio.create_task(job.wait_final())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    index.add_notification(_done("j1"))
    await asyncio.wait_for(waiter, 1)
    await asyncio.wait_for(job.wait_final(), 1)  # already final: returns at once


def test_beyond_max_jobs_the_oldest_are_forgotten_with_their_keys_and_pending_results() -> None:
    index = JobIndex(ttl_s=3600, max_jobs=3)
    index.add_request(GenerateRequest(job_id="j0", data="x", client_id="c1", idempotency_key="k0"))
    index.add_notification(_done("j0"))
    for n in range(1, 5):
        index.add_notification(_done(f"j{n}"))
    assert list(index.jobs) == ["j2", "j3", "j4"] and index.evicted == 2
    assert index.idempotency == {} and [n.job_id for n in index.pending_for("c1")] == ["j2", "j3", "j4"]


def test_a_resume_with_last_seq_gets_results_written_to_a_socket_that_died() -> None:
    """A receipt means "written to a socket", not "read": in `make k8s-test` 8-10 results written
    to connections that then dropped were never replayed to the resuming client."""
    index = JobIndex(ttl_s=3600)
    for seq, job_id in enumerate(["j1", "j2", "j3"], start=10):
        n = _done(job_id)
        n.seq = seq
        index.add_notification(n)
    index.add_delivery("c1", "j1")  # read by the client (its last_seq says so)
    index.add_delivery("c1", "j2")  # written, then the connection died
    index.add_delivery("c1", "j3")
    assert [n.job_id for n in index.pending_for("c1", after_seq=10)] == ["j2", "j3"]
    assert index.pending_for("c1", after_seq=12) == []
    assert index.pending_for("c1") == []  # without last_seq, receipts decide (as documented)


def test_results_kept_for_resumes_are_forgotten_with_their_jobs() -> None:
    index = JobIndex(ttl_s=3600, max_jobs=2)
    for n in range(4):
        done = _done(f"j{n}")
        done.seq = n
        index.add_notification(done)
    assert [n.job_id for n in index.pending_for("c1", after_seq=-1)] == ["j2", "j3"]
    assert list(index.finals["c1"]) == ["j2", "j3"]
