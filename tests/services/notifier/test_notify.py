from __future__ import annotations

from services.contract import ErrorInfo, Result
from services.notifier.notify import RecentJobs, to_notification


def _sign(bucket: str, key: str) -> str:
    return f"https://s3.example/{bucket}/{key}?sig"


def test_completed_result_gets_a_signed_url() -> None:
    n = to_notification(Result(job_id="j", status="completed", bucket="b", key="k.png", content_type="image/png",
                               client_id="c", trace={"generated": 1.0}), _sign)
    assert n.url == "https://s3.example/b/k.png?sig" and n.client_id == "c"
    assert n.trace["notified"] > 1.0


def test_failed_result_keeps_its_error_and_has_no_url() -> None:
    n = to_notification(Result(job_id="j", status="failed", error=ErrorInfo("invalid_length", "m")), _sign)
    assert n.url is None and n.error is not None and n.error.code == "invalid_length"


def test_recent_jobs_drops_repeats_within_its_window() -> None:
    recent = RecentJobs(capacity=2)
    assert recent.first_time("a") and recent.first_time("b")
    assert not recent.first_time("a")
    assert recent.first_time("c")  # evicts b, the least recently seen
    assert recent.first_time("b")
