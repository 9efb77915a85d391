"""A bug while making one job answers that job with internal_error, and says nothing of the code."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from services.contract import RenderJob
from services.generator.jobs import JobRunner


class BrokenStore:
    """An object store whose upload has a bug (not an outage: those are TransientError)."""

    bucket = "barcodes"

    async def put_new(self, key: str, body: bytes, content_type: str) -> bool:
        raise KeyError("internal_detail_of_the_store")


async def test_an_unexpected_exception_is_internal_error_without_its_name() -> None:
    with ThreadPoolExecutor(1) as executor:
        runner = JobRunner(BrokenStore(), executor, attempts=1, backoff_s=0.0)  # type: ignore[arg-type]
        result = await runner.run(RenderJob(job_id="job-7", company="Default", data="ABC", symbology="code128",
                                            format="png", options={}, engine="zint"))
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "internal_error" and result.error.retryable
    assert "KeyError" not in result.error.message and "internal_detail" not in result.error.message
    assert "job-7" in result.error.message
