"""A batch's state as a fold of its events and its rows' results: pure, no Kafka.

The batcher owns a batch through the partition its key lands on (barcode.batches and
barcode.batch-rows share it). Its state is never stored anywhere else: after a restart or a
rebalance the new owner reads the partition again and folds the same records into the same
counts. A row counts once, whatever the number of results that reach it (a row sent twice
after a crash, a result redelivered): the first result of a row wins.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from services import contract
from services.contract import BatchEvent, BatchStatus, ErrorCode, Result

ERRORS_SHOWN = 5  # failed rows listed in each status (the manifest lists all of them)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one row."""

    status: str  # "completed", "failed", "cancelled"
    key: str | None = None
    content_type: str | None = None
    verified: bool | None = None
    cached: bool = False
    error_code: str | None = None
    error_message: str | None = None
    text_printed: bool | None = None  # the image shows its own human-readable text


# A row that fails with a retryable error (the object store away, an enrichment partner down)
# is sent again, up to this many times in all, after 2, 4, 8 s: a batch rides out an outage of
# a few seconds instead of shipping those rows as failed (found by `make chaos`: "MinIO down
# 6 s" failed 16 rows of a 20,000-row batch).
ROW_ATTEMPTS = 4
RETRY_AFTER_S = 2.0


def row_job_id(batch_id: str, row: int, attempt: int = 0) -> str:
    """A row's job id: the same every time this attempt is sent, so a row sent twice is one
    job; a retry after a retryable failure is a new job (the notifier drops a repeated id)."""
    return f"{batch_id}-{row}" if attempt == 0 else f"{batch_id}-{row}-{attempt}"


@dataclass
class Tally:
    batch_id: str
    created: BatchEvent | None = None  # None until the "created" event is read
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)  # row -> BatchRow.to_json()
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    cancelled: bool = False
    finished: dict[str, Any] | None = None  # outputs, once stored
    # Not folded (the owner's own bookkeeping): rows sent and not answered yet, the next row to
    # consider, when sending began. After a restart sending starts over from row 1, skipping
    # rows that have an outcome; a row in flight at the crash is sent again (same job id).
    in_flight: set[int] = field(default_factory=set)
    cursor: int = 1
    retryable_failures: dict[int, int] = field(default_factory=dict)  # folded: row -> count
    retry_due: dict[int, float] = field(default_factory=dict)  # row -> when (monotonic) to send it again
    started_s: float | None = None
    counted_since_start: int = 0  # results counted by this owner (for its rate)
    last_result_s: float | None = None
    bucket: str | None = None

    # ---- the fold -------------------------------------------------------------------------
    def apply_event(self, event: BatchEvent) -> None:
        if self.finished is not None:
            return  # its outputs are stored: nothing changes it any more
        if event.kind == "created":
            if self.created is None:  # a repeated create (an idempotent retry) changes nothing
                self.created = event
        elif event.kind == "rows":
            for row in event.rows or ():
                number = int(row["row"])
                self.rows.setdefault(number, row)
                if row.get("error_code") and number not in self.outcomes:
                    # Refused at the gateway: failed from the start, never sent.
                    self.outcomes[number] = Outcome("failed", error_code=row["error_code"],
                                                    error_message=row.get("error_message"))
        elif event.kind == "cancel":
            self.cancelled = True
        elif event.kind == "finished":
            self.finish(event.outputs or {})
            return
        self._cancel_unsent()

    def finish(self, outputs: dict[str, Any]) -> None:
        """The outputs are stored: keep their counts, let the rows go (a finished batch costs
        the batcher a few hundred bytes, however many rows it had)."""
        self.finished = outputs
        self.rows.clear()
        self.outcomes.clear()
        self.in_flight.clear()
        self.retry_due.clear()

    def apply_result(self, result: Result) -> bool:
        """Count a row's result; False when the row already had one (counted once)."""
        row = result.row
        if row is None or row in self.outcomes or self.finished is not None:
            return False
        self.in_flight.discard(row)
        error = result.error
        if result.status != "completed" and error is not None and error.retryable:
            failures = self.retryable_failures[row] = self.retryable_failures.get(row, 0) + 1
            if failures < ROW_ATTEMPTS:
                self.retry_due[row] = time.monotonic() + RETRY_AFTER_S * 2 ** (failures - 1)
                self._cancel_unsent()  # a batch cancelled meanwhile does not try it again
                return True
        if result.status == "completed":
            self.outcomes[row] = Outcome("completed", key=result.key, content_type=result.content_type,
                                         verified=result.verified, cached=result.cached,
                                         text_printed=result.text_printed)
            self.bucket = self.bucket or result.bucket
        else:
            self.outcomes[row] = Outcome("failed", error_code=error.code if error else ErrorCode.INTERNAL,
                                         error_message=error.message if error else None)
        self.counted_since_start += 1
        self.last_result_s = time.monotonic()
        return True

    def _cancel_unsent(self) -> None:
        """Once cancelled, every row not started (not in flight, no outcome) is cancelled."""
        if not self.cancelled or self.total is None:
            return
        for row in range(1, self.total + 1):
            if row not in self.outcomes and row not in self.in_flight:
                self.retry_due.pop(row, None)
                self.outcomes[row] = Outcome("cancelled", error_code=ErrorCode.CANCELLED,
                                             error_message="the batch was cancelled before this row started")

    # ---- what the owner does next ---------------------------------------------------------
    @property
    def total(self) -> int | None:
        return self.created.total if self.created is not None else None

    @property
    def input_complete(self) -> bool:
        return self.total is not None and len(self.rows) >= self.total

    @property
    def done(self) -> bool:
        """Every row has an outcome: time to assemble the outputs."""
        return self.finished is None and self.input_complete and self.total is not None and len(self.outcomes) >= self.total

    def to_send(self, window: int, now: float | None = None) -> list[int]:
        """Rows to send now: retries that are due, then the next rows in order, while fewer
        than `window` are in flight. A window keeps one batch from filling the pipeline's queues
        ahead of single jobs."""
        if not self.input_complete or self.cancelled or self.finished is not None or self.total is None:
            return []
        out: list[int] = []
        now = time.monotonic() if now is None else now
        for row in [r for r, due in self.retry_due.items() if due <= now]:
            if len(self.in_flight) >= window:
                break
            del self.retry_due[row]
            if row not in self.outcomes and row not in self.in_flight:
                self.in_flight.add(row)
                out.append(row)
        while self.cursor <= self.total and len(self.in_flight) < window:
            row = self.cursor
            self.cursor += 1
            if row not in self.outcomes and row not in self.in_flight and row not in self.retry_due:
                self.in_flight.add(row)
                out.append(row)
        if out and self.started_s is None:
            self.started_s = time.monotonic()
        return out

    def unsent(self, row: int) -> None:
        """The broker did not take the row's request: send it again with the next rows."""
        self.in_flight.discard(row)
        self.cursor = min(self.cursor, row)

    def request_for(self, row: int) -> contract.GenerateRequest:
        spec, created = self.rows[row], self.created
        assert created is not None
        return contract.GenerateRequest(
            job_id=row_job_id(self.batch_id, row, self.retryable_failures.get(row, 0)), data=spec["data"], symbology=spec.get("symbology"),
            format=spec.get("format"), company=created.company, options=spec.get("options") or {},
            owner=created.owner, batch_id=self.batch_id, row=row, trace={"gateway_in": contract.now_ms()})

    # ---- what clients see -----------------------------------------------------------------
    def first_errors(self) -> list[dict[str, Any]]:
        return [{"row": row, "code": o.error_code, "message": o.error_message}
                for row, o in sorted(self.outcomes.items()) if o.status == "failed"][:ERRORS_SHOWN]

    def rate(self) -> float | None:
        """Rows answered per second since this owner began sending; up to the last row once
        there are no more (the time spent assembling is not the batch's pace)."""
        if self.started_s is None or not self.counted_since_start:
            return None
        end = self.last_result_s if self.done and self.last_result_s is not None else time.monotonic()
        return self.counted_since_start / max(end - self.started_s, 1e-3)

    def counts(self) -> dict[str, int]:
        out = {"completed": 0, "failed": 0, "cancelled": 0}
        for outcome in self.outcomes.values():
            out[outcome.status] += 1
        return out

    def status(self) -> BatchStatus:
        created = self.created
        assert created is not None and self.total is not None
        counts = self.counts()
        if self.finished is not None:
            counts = {k: int(self.finished.get(k, 0)) for k in counts}
            state = "cancelled" if self.cancelled else "completed"
        elif self.done:
            state = "assembling"
        else:
            state = "running"
        rate, eta = self.rate(), None
        if rate:
            eta = (self.total - len(self.outcomes)) / rate if state == "running" else 0.0
        if self.finished is not None:
            rate = self.finished.get("rows_per_s")
        outputs = self.finished or {}
        errors = outputs.get("errors") if self.finished is not None else self.first_errors()
        return BatchStatus(
            batch_id=self.batch_id, status=state, total=self.total, completed=counts["completed"],
            failed=counts["failed"], cancelled=counts["cancelled"], owner=created.owner, company=created.company,
            client_id=created.client_id, request_id=created.request_id, created_ms=created.created_ms,
            finished_ms=outputs.get("finished_ms"), rows_per_s=round(rate, 1) if rate is not None else None,
            eta_s=round(eta, 1) if eta is not None else None, bucket=outputs.get("bucket"),
            archive_key=outputs.get("archive_key"), sheet_key=outputs.get("sheet_key"),
            manifest_key=outputs.get("manifest_key"), labels=outputs.get("labels"),
            labels_not_placed=outputs.get("labels_not_placed"), zpl_key=outputs.get("zpl_key"),
            zpl_labels=outputs.get("zpl_labels"), zpl_labels_not_placed=outputs.get("zpl_labels_not_placed"),
            errors=errors or None,
            idempotency_key=created.idempotency_key, fingerprint=created.fingerprint,
        )
