from __future__ import annotations

from services.contract import ErrorInfo, Result
from services.notifier.notify import RecentJobs, to_notification


def test_completed_result_names_its_object_and_no_signed_url() -> None:
    """The gateway signs a URL per message it sends; one signed here was never read."""
    n = to_notification(Result(job_id="j", status="completed", bucket="b", key="k.png", content_type="image/png",
                               client_id="c", trace={"generated": 1.0}))
    assert (n.bucket, n.key, n.content_type, n.url) == ("b", "k.png", "image/png", None) and n.client_id == "c"
    assert n.trace["notified"] > 1.0


def test_failed_result_keeps_its_error_and_has_no_url() -> None:
    n = to_notification(Result(job_id="j", status="failed", error=ErrorInfo("invalid_length", "m")))
    assert n.url is None and n.error is not None and n.error.code == "invalid_length"


def test_recent_jobs_drops_repeats_within_its_window() -> None:
    recent = RecentJobs(capacity=2)
    assert recent.first_time("a") and recent.first_time("b")
    assert not recent.first_time("a")
    assert recent.first_time("c")  # evicts b, the least recently seen
    assert recent.first_time("b")


def test_a_file_that_came_with_its_result_goes_on_to_the_gateway() -> None:
    n = to_notification(Result(job_id="j", status="completed", bucket="b", key="k.png", file_b64="iVBORw=="))
    assert n.file_b64 == "iVBORw=="
