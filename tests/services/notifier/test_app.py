"""The notifier's handler in process: a result record in, the notification to publish out."""
from __future__ import annotations

import pytest

from services import contract
from services.notifier.app import notify_handler
from services.notifier.notify import RecentJobs
from tests.services.kafka.fakes import record


def _result(job_id: str, client_id: str | None = "c1") -> bytes:
    return contract.encode(contract.Result(job_id=job_id, status="completed", bucket="b", key=f"{job_id}.png",
                                           content_type="image/png", client_id=client_id))


def test_a_result_becomes_a_notification_keyed_by_its_client() -> None:
    handle = notify_handler("barcode.notifications", RecentJobs(10))
    [out] = handle(record(0, _result("j1")))
    note = contract.decode(contract.Notification, out.value)
    assert out.topic == "barcode.notifications" and out.key == b"c1"
    assert note.job_id == "j1" and (note.bucket, note.key) == ("b", "j1.png")


def test_without_a_client_the_job_id_is_the_key() -> None:
    [out] = notify_handler("n", RecentJobs(10))(record(0, _result("j2", client_id=None)))
    assert out.key == b"j2"


def test_a_repeated_result_is_dropped() -> None:
    handle = notify_handler("n", RecentJobs(10))
    assert len(handle(record(0, _result("j1")))) == 1
    assert handle(record(1, _result("j1"))) == ()


def test_an_undecodable_result_raises_schema_error_for_the_runtime_to_dead_letter() -> None:
    with pytest.raises(contract.SchemaError):
        notify_handler("n", RecentJobs(10))(record(0, b"\xff"))


def test_without_a_client_a_reply_key_says_where_the_result_goes() -> None:
    """An image URL's job id is derived from its parameters; the gateway that asked names a key
    on the partition it reads, so the result needs no reader of another partition."""
    value = contract.encode(contract.Result(job_id="j3", status="completed", bucket="b", key="j3.png",
                                            content_type="image/png", reply_key="home-key"))
    [out] = notify_handler("n", RecentJobs(10))(record(0, value))
    assert out.key == b"home-key"
