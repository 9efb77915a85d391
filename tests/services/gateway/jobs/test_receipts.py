"""Delivery receipts leave as one record per window, and every receipt reaches the readers."""
from __future__ import annotations

import asyncio

from services import contract
from services.gateway.jobs import receipts as receipts_module
from services.gateway.jobs.receipts import Receipts


class FakeSend:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, contract.Delivery]] = []
        self.sent = asyncio.Event()

    async def __call__(self, key: bytes, value: bytes) -> "asyncio.Future[object]":
        self.records.append((key, contract.decode(contract.Delivery, value)))
        self.sent.set()
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_windows_receipts_share_one_record_and_all_are_read_back() -> None:
    send = FakeSend()
    receipts = Receipts(send, "gateway-a", window_s=0.02)
    for n in range(30):
        receipts.add(f"client-{n % 3}", f"job-{n}")
    assert send.records == []  # nothing before the window ends
    await asyncio.wait_for(send.sent.wait(), 2)
    assert len(send.records) == 1
    key, record = send.records[0]
    assert key == b"gateway-a"
    assert record.receipts() == [(f"client-{n % 3}", f"job-{n}") for n in range(30)]


async def test_a_full_record_leaves_at_once_and_close_sends_the_rest(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(receipts_module, "MAX_PER_RECORD", 10)
    send = FakeSend()
    receipts = Receipts(send, "gateway-a", window_s=60)  # the window never ends in this test
    for n in range(25):
        receipts.add("client", f"job-{n}")
    await receipts.close()
    got = [job for _, record in send.records for _, job in record.receipts()]
    # Receipts are a set to their readers: which record carries which does not matter.
    assert sorted(got) == sorted(f"job-{n}" for n in range(25))
    assert sorted(len(record.receipts()) for _, record in send.records) == [5, 10, 10]


def test_an_old_single_receipt_record_still_reads() -> None:
    old = contract.decode(contract.Delivery, b'{"job_id": "j1", "client_id": "c1", "v": 1}')
    assert old.receipts() == [("c1", "j1")]


def test_malformed_pairs_are_skipped() -> None:
    record = contract.Delivery(job_id="j1", client_id="c1", also=[["c2", "j2"], ["c3"], "x", ["c4", 5]])  # type: ignore[list-item]
    assert record.receipts() == [("c1", "j1"), ("c2", "j2")]
