"""A batch's state as a fold: counted once, rebuilt the same after a restart, cancelled rows,
the window that keeps a batch from flooding the pipeline."""
from __future__ import annotations

import time

from services.batcher.tally import ROW_ATTEMPTS, Tally, row_job_id
from services.contract import BatchEvent, ErrorCode, ErrorInfo, Result


def _events(batch_id: str = "b1", total: int = 5, invalid: tuple[int, ...] = ()) -> list[BatchEvent]:
    rows = [{"row": n, "data": f"ROW-{n}", **({"error_code": "invalid_characters", "error_message": "bad"}
                                             if n in invalid else {})} for n in range(1, total + 1)]
    return [BatchEvent(batch_id, "rows", rows=rows[:2]), BatchEvent(batch_id, "rows", rows=rows[2:]),
            BatchEvent(batch_id, "created", owner="anonymous:x", company="CompanyA", total=total)]


def _result(row: int, ok: bool = True, batch_id: str = "b1") -> Result:
    if ok:
        return Result(job_id=row_job_id(batch_id, row), status="completed", bucket="barcodes", key=f"k{row}",
                      content_type="image/png", verified=True, batch_id=batch_id, row=row)
    return Result(job_id=row_job_id(batch_id, row), status="failed", batch_id=batch_id, row=row,
                  error=ErrorInfo(ErrorCode.INVALID_CHECK_DIGIT, "check digit"))


def _folded(*records: BatchEvent | Result) -> Tally:
    tally = Tally("b1")
    for record in records:
        if isinstance(record, BatchEvent):
            tally.apply_event(record)
        else:
            tally.apply_result(record)
    return tally


def test_rows_are_sent_in_order_within_the_window_and_each_counts_once() -> None:
    tally = _folded(*_events(total=5))
    assert tally.to_send(window=2) == [1, 2]
    assert tally.to_send(window=2) == []  # the window is full
    assert tally.apply_result(_result(1)) and not tally.apply_result(_result(1))  # a repeat counts nothing
    assert tally.to_send(window=2) == [3]
    for row in (2, 3):
        tally.apply_result(_result(row, ok=row != 3))
    assert tally.to_send(window=10) == [4, 5]
    tally.apply_result(_result(4))
    tally.apply_result(_result(5))
    assert tally.done and tally.counts() == {"completed": 4, "failed": 1, "cancelled": 0}
    status = tally.status()
    assert (status.status, status.completed, status.failed) == ("assembling", 4, 1)
    assert status.errors == [{"row": 3, "code": ErrorCode.INVALID_CHECK_DIGIT, "message": "check digit"}]


def test_a_batch_is_not_sent_before_its_created_event_or_all_its_rows() -> None:
    events = _events(total=5)
    tally = _folded(events[0], events[2])  # the second chunk of rows is missing
    assert not tally.input_complete and tally.to_send(10) == []
    assert _folded(events[0], events[1]).to_send(10) == []  # no "created": not a batch (yet)


def test_rows_refused_at_the_gateway_are_failed_and_never_sent() -> None:
    tally = _folded(*_events(total=4, invalid=(2,)))
    assert tally.to_send(10) == [1, 3, 4]
    assert tally.outcomes[2].error_code == "invalid_characters"


def test_the_same_records_in_another_order_fold_to_the_same_counts() -> None:
    """A restarted batcher reads the two topics again; their relative order may differ."""
    events = _events(total=3)
    results = [_result(1), _result(2, ok=False), _result(3), _result(2)]  # one partition: in this order
    first, second = _folded(*events, *results), _folded(*results, *reversed(events))
    assert first.counts() == second.counts() == {"completed": 2, "failed": 1, "cancelled": 0}
    assert first.done and second.done


def test_after_a_restart_unanswered_rows_are_sent_again_under_the_same_job_id() -> None:
    events = _events(total=3)
    before = _folded(*events)
    sent = [before.request_for(row).job_id for row in before.to_send(10)]
    after = _folded(*events, _result(1))  # the rebuilt state: row 1 answered, 2 and 3 in flight at the crash
    again = [after.request_for(row).job_id for row in after.to_send(10)]
    assert again == sent[1:]


def test_cancel_stops_what_has_not_started_and_rows_in_flight_finish() -> None:
    tally = _folded(*_events(total=5))
    assert tally.to_send(window=2) == [1, 2]
    tally.apply_event(BatchEvent("b1", "cancel"))
    assert tally.to_send(10) == []
    assert tally.counts()["cancelled"] == 3 and not tally.done
    tally.apply_result(_result(1))
    tally.apply_result(_result(2))
    assert tally.done and tally.counts() == {"completed": 2, "failed": 0, "cancelled": 3}


def test_a_finished_batch_keeps_its_counts_and_lets_its_rows_go() -> None:
    tally = _folded(*_events(total=2), _result(1), _result(2))
    tally.apply_event(BatchEvent("b1", "finished", outputs={"completed": 2, "failed": 0, "cancelled": 0,
                                                            "archive_key": "a.zip", "bucket": "barcodes",
                                                            "errors": [{"row": 9, "code": "x", "message": "y"}]}))
    assert not tally.rows and not tally.done and not tally.apply_result(_result(1))
    status = tally.status()
    assert (status.status, status.completed, status.archive_key) == ("completed", 2, "a.zip")
    assert status.errors == [{"row": 9, "code": "x", "message": "y"}]  # kept with the outputs


def test_a_row_the_broker_refused_goes_again() -> None:
    tally = _folded(*_events(total=3))
    assert tally.to_send(10) == [1, 2, 3]
    tally.unsent(2)
    assert tally.to_send(10) == [2]


def test_a_repeated_created_event_changes_nothing() -> None:
    events = _events(total=3)
    tally = _folded(*events, BatchEvent("b1", "created", total=99, company="Other"))
    assert tally.total == 3 and tally.created is not None and tally.created.company == "CompanyA"


def _retryable(row: int, attempt: int) -> Result:
    return Result(job_id=row_job_id("b1", row, attempt), status="failed", batch_id="b1", row=row,
                  error=ErrorInfo(ErrorCode.STORAGE_UNAVAILABLE, "object store unavailable", retryable=True))


def test_a_row_failing_with_a_retryable_error_is_sent_again_later_as_a_new_job() -> None:
    tally = _folded(*_events(total=2))
    assert tally.to_send(10) == [1, 2]
    tally.apply_result(_retryable(1, 0))
    assert 1 not in tally.outcomes and tally.to_send(10) == []  # not yet: it backs off
    assert tally.to_send(10, now=time.monotonic() + 60) == [1]
    assert tally.request_for(1).job_id == row_job_id("b1", 1, 1) != row_job_id("b1", 1)
    tally.apply_result(_result(1))
    tally.apply_result(_result(2))
    assert tally.done and tally.counts() == {"completed": 2, "failed": 0, "cancelled": 0}


def test_a_row_that_keeps_failing_is_failed_after_its_attempts_and_a_rebuild_agrees() -> None:
    failures = [_retryable(1, attempt) for attempt in range(ROW_ATTEMPTS)]
    live = _folded(*_events(total=1))
    for failure in failures:
        assert live.to_send(10, now=time.monotonic() + 3600) == [1]
        live.apply_result(failure)
    rebuilt = _folded(*failures, *_events(total=1))
    for tally in (live, rebuilt):
        assert tally.done and tally.outcomes[1].error_code == ErrorCode.STORAGE_UNAVAILABLE


def test_a_rebuild_sends_a_row_between_retries_under_its_next_job_id() -> None:
    rebuilt = _folded(*_events(total=1), _retryable(1, 0))
    assert rebuilt.to_send(10, now=time.monotonic() + 60) == [1]
    assert rebuilt.request_for(1).job_id == row_job_id("b1", 1, 1)


def test_a_retry_pending_when_the_batch_is_cancelled_is_cancelled() -> None:
    tally = _folded(*_events(total=1))
    tally.to_send(10)
    tally.apply_result(_retryable(1, 0))
    tally.apply_event(BatchEvent("b1", "cancel"))
    assert tally.done and tally.outcomes[1].status == "cancelled"
    assert tally.to_send(10, now=time.monotonic() + 60) == []
