"""From a pipeline result to what the client is told. Pure.

No URL is signed here: the gateway signs one for each message it sends (a replay long after the
job gets a fresh one), so a signature made here was never read."""
from __future__ import annotations

from collections import OrderedDict
from services.contract import Notification, Result, now_ms


def to_notification(result: Result) -> Notification:
    return Notification(
        job_id=result.job_id, status=result.status, created_ms=now_ms(), company=result.company,
        request_id=result.request_id, client_id=result.client_id, bucket=result.bucket,
        key=result.key, content_type=result.content_type, cached=result.cached, error=result.error,
        trace={**result.trace, "notified": now_ms()}, size_bytes=result.size_bytes, verified=result.verified,
        unverified_reason=result.unverified_reason, file_b64=result.file_b64, steps=result.steps,
    )


class RecentJobs:
    """Job ids already notified, newest last, bounded. Repeated results (a redelivered render
    after a crash) are dropped here; the gateway drops whatever slips through a restart."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, job_id: str) -> bool:
        if job_id in self._seen:
            self._seen.move_to_end(job_id)
            return False
        self._seen[job_id] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True
