"""From a pipeline result to what the client is told. Pure apart from URL signing."""
from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from services.contract import Notification, Result, now_ms


class UrlSigner(Protocol):
    def __call__(self, bucket: str, key: str) -> str: ...


def to_notification(result: Result, sign: UrlSigner) -> Notification:
    url = sign(result.bucket, result.key) if result.status == "completed" and result.bucket and result.key else None
    return Notification(
        job_id=result.job_id, status=result.status, created_ms=now_ms(), company=result.company,
        request_id=result.request_id, client_id=result.client_id, url=url, bucket=result.bucket,
        key=result.key, content_type=result.content_type, cached=result.cached, error=result.error,
        trace={**result.trace, "notified": now_ms()}, size_bytes=result.size_bytes, verified=result.verified,
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
