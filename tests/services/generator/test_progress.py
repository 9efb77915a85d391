"""Progress steps: a quick job's ride on its result, a slow job's are sent while it works."""
from __future__ import annotations

import asyncio
from typing import Any

from services import contract
from services.contract import RenderJob
from services.generator.progress import ProgressSender


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[contract.Progress] = []
        self.arrived = asyncio.Event()

    async def send(self, topic: str, *, key: bytes | None = None, value: bytes | None = None) -> Any:
        self.sent.append(contract.decode(contract.Progress, value))
        self.arrived.set()


def job(progress: bool = True) -> RenderJob:
    return RenderJob(job_id="j1", company="Default", data="123", symbology="code128", format="png", options={},
                     client_id="c1", request_id="r1", progress=progress, trace={"routed": 5.0})


async def test_a_quick_jobs_steps_ride_on_its_result_and_no_record_is_sent() -> None:
    producer = FakeProducer()
    steps = ProgressSender(producer, "barcode.progress", visible_after_s=0.05)
    steps(job(), "rendered", with_routed=True, verified=True)
    steps(job(), "stored", cached=False)
    unsent = steps.unsent("j1")
    assert [s["step"] for s in unsent or []] == ["routed", "rendered", "stored"]
    assert unsent and unsent[0]["at_ms"] == 5.0 and unsent[1]["detail"] == {"verified": True}
    # Well past the time a held step would have been sent: nothing is.
    await asyncio.sleep(0.15)
    assert producer.sent == [] and steps.unsent("j1") is None


async def test_a_slow_jobs_held_steps_are_sent_as_one_record_and_later_ones_stay_for_the_result() -> None:
    producer = FakeProducer()
    steps = ProgressSender(producer, "barcode.progress", visible_after_s=0.02)
    steps(job(), "rendered", with_routed=True, verified=True)
    await asyncio.wait_for(producer.arrived.wait(), 2)
    record, = producer.sent
    assert (record.job_id, record.client_id, record.request_id, record.step) == ("j1", "c1", "r1", "rendered")
    assert [s["step"] for s in record.earlier or []] == ["routed"]
    steps(job(), "stored")
    assert [s["step"] for s in steps.unsent("j1") or []] == ["stored"]


async def test_a_job_that_did_not_ask_holds_nothing() -> None:
    steps = ProgressSender(FakeProducer(), "barcode.progress")
    steps(job(progress=False), "rendered", with_routed=True)
    assert steps.unsent("j1") is None
