"""What this replica knows about batches: the batcher's latest status of each, read from
barcode.batch-status (every partition: a few records per batch), so any replica answers
GET /v1/batches/{id}, and the replica holding a batch's socket pushes its progress.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from services.contract import BatchStatus, now_ms

# Kept this long after it finished (the outputs live longer, in the object store).
FINISHED_KEPT_MS = 24 * 3600 * 1000
Sign = Callable[[str | None, str | None], str | None]


class BatchIndex:
    def __init__(self) -> None:
        self.batches: dict[str, BatchStatus] = {}
        self.idempotency: dict[tuple[str, str], str] = {}  # (owner, key) -> batch id
        self._changed: dict[str, asyncio.Event] = {}  # made only while someone waits
        # Batches being published now, not indexed yet: counted against the caller's cap, and
        # their keys taken, the moment they start (batch_api.py `submit_batch`), so concurrent
        # submissions cannot all pass the same check before any of them is recorded.
        self.starting: Counter[str] = Counter()  # owner -> batches
        self.starting_keys: dict[tuple[str, str], tuple[str, asyncio.Future[None]]] = {}  # -> fingerprint, done

    def add(self, status: BatchStatus) -> bool:
        """The latest status of a batch; False for one older than what is known (a replay)."""
        known = self.batches.get(status.batch_id)
        if known is not None and (known.updated_ms > status.updated_ms or _final(known) and not _final(status)):
            return False
        self.batches[status.batch_id] = status
        if status.idempotency_key:
            self.idempotency.setdefault((status.owner or "", status.idempotency_key), status.batch_id)
        event = self._changed.pop(status.batch_id, None)
        if event is not None:
            event.set()
        return True

    @contextlib.contextmanager
    def starting_batch(self, owner: str, key: str | None, fingerprint: str) -> Iterator[None]:
        """While a batch is published: counted in `running(owner)` and its key taken (a
        concurrent submission of the key waits on the future, then finds the batch indexed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.starting[owner] += 1
        if key:
            self.starting_keys[(owner, key)] = (fingerprint, done)
        try:
            yield
        finally:
            self.starting[owner] -= 1
            if self.starting[owner] <= 0:
                del self.starting[owner]
            if key:
                self.starting_keys.pop((owner, key), None)
            done.set_result(None)

    def get(self, batch_id: str) -> BatchStatus | None:
        return self.batches.get(batch_id)

    def running(self, owner: str) -> int:
        """Batches of this owner not finished yet, those being published included (a few per
        caller: a scan is cheap)."""
        return self.starting[owner] + sum(1 for s in self.batches.values() if s.owner == owner and not _final(s))

    def earlier(self, owner: str, key: str) -> BatchStatus | None:
        batch_id = self.idempotency.get((owner, key))
        return self.batches.get(batch_id) if batch_id else None

    async def wait_final(self, batch_id: str, timeout_s: float) -> BatchStatus | None:
        """The batch's status once it is completed or cancelled, or its latest after `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            status = self.batches.get(batch_id)
            if status is not None and _final(status):
                return status
            remaining = deadline - loop.time()
            if remaining <= 0:
                return status
            event = self._changed.setdefault(batch_id, asyncio.Event())
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return self.batches.get(batch_id)

    def prune(self, now: float | None = None) -> None:
        cutoff = (now if now is not None else now_ms()) - FINISHED_KEPT_MS
        for batch_id in [b for b, s in self.batches.items() if (s.finished_ms or now_ms()) < cutoff]:
            status = self.batches.pop(batch_id)
            if status.idempotency_key:
                self.idempotency.pop((status.owner or "", status.idempotency_key), None)


def _final(status: BatchStatus) -> bool:
    return status.status in ("completed", "cancelled")


def public(status: BatchStatus, sign: Sign) -> dict[str, Any]:
    """A batch as GET /v1/batches/{id} and the WebSocket show it; URLs signed for this read."""
    out: dict[str, Any] = {
        "batch_id": status.batch_id, "status": status.status, "total": status.total,
        "completed": status.completed, "failed": status.failed, "cancelled": status.cancelled,
        "done": status.completed + status.failed + status.cancelled,
        "rows_per_s": status.rows_per_s, "eta_s": status.eta_s,
    }
    if status.request_id is not None:
        out["request_id"] = status.request_id
    if status.errors:
        out["errors"] = status.errors
    if _final(status):
        out.update(archive_url=sign(status.bucket, status.archive_key), sheet_url=sign(status.bucket, status.sheet_key),
                   manifest_url=sign(status.bucket, status.manifest_key), labels=status.labels,
                   labels_not_placed=status.labels_not_placed)
        if status.zpl_key is not None:  # batches assembled before labels.zpl existed have none
            out.update(zpl_url=sign(status.bucket, status.zpl_key), zpl_labels=status.zpl_labels,
                       zpl_labels_not_placed=status.zpl_labels_not_placed)
    return out


def socket_message(status: BatchStatus, sign: Sign) -> dict[str, Any]:
    """`batch_progress` while it runs, `batch_completed` once its outputs are stored (also
    when it was cancelled: its status says so)."""
    return {"type": "batch_completed" if _final(status) else "batch_progress", **public(status, sign)}
