from __future__ import annotations

from services.contract import ErrorInfo, GenerateRequest, Notification
from services.gateway.state import JobIndex


def _done(job_id: str, client_id: str | None = "c1", status: str = "completed", at: float = 1000.0) -> Notification:
    error = ErrorInfo("invalid_check_digit", "m") if status == "failed" else None
    return Notification(job_id=job_id, status=status, created_ms=at, client_id=client_id, error=error)  # type: ignore[arg-type]


def test_request_then_result() -> None:
    index = JobIndex(ttl_s=3600)
    job = index.add_request(GenerateRequest(job_id="j1", data="x", client_id="c1", trace={"gateway_in": 5.0}))
    assert job.status == "queued" and not job.done.is_set()
    assert index.add_notification(_done("j1"))
    assert job.status == "completed" and job.done.is_set()
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
