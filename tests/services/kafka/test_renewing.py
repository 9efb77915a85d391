"""After a broker restart refuses a producer's sequence, the service goes on with a new producer.

A stand-in producer here (pure logic of the swap); the real broker restart is `make k8s-test`'s
Kafka pod deletion under load, where the old gateway refused every job from then on."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber

from services.kafka.renewing import RenewingProducer


class StandIn:
    """Accepts sends until told its sequence is broken; then refuses every one, like aiokafka."""

    made = 0

    def __init__(self) -> None:
        StandIn.made += 1
        self.broken = False
        self.sent: list[bytes] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send_and_wait(self, topic: str, **kwargs: Any) -> str:
        await asyncio.sleep(0)
        if self.broken:
            raise OutOfOrderSequenceNumber()
        self.sent.append(kwargs["value"])
        return "ok"

    async def send(self, topic: str, **kwargs: Any) -> "asyncio.Future[str]":
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if self.broken:
            future.set_exception(OutOfOrderSequenceNumber())
        else:
            self.sent.append(kwargs["value"])
            future.set_result("ok")
        return future


@pytest.fixture(autouse=True)
def _count() -> None:
    StandIn.made = 0


async def test_a_refused_send_goes_out_once_on_a_new_producer() -> None:
    renewing = RenewingProducer(StandIn)
    await renewing.start()
    first = renewing.producer
    first.broken = True
    assert await renewing.send_and_wait("t", value=b"job-1") == "ok"
    assert renewing.producer is not first and renewing.producer.started
    assert renewing.producer.sent == [b"job-1"] and first.sent == []
    assert renewing.renewals == 1
    await renewing.stop()
    assert first.stopped


async def test_many_sends_failing_together_make_one_new_producer() -> None:
    renewing = RenewingProducer(StandIn)
    await renewing.start()
    renewing.producer.broken = True
    results = await asyncio.gather(*(renewing.send_and_wait("t", value=f"job-{n}".encode()) for n in range(20)))
    assert results == ["ok"] * 20
    assert StandIn.made == 2 and renewing.renewals == 1
    assert sorted(renewing.producer.sent) == sorted(f"job-{n}".encode() for n in range(20))
    await renewing.stop()


async def test_a_refused_receipt_renews_the_producer_for_the_next_ones() -> None:
    renewing = RenewingProducer(StandIn)
    await renewing.start()
    renewing.producer.broken = True
    future = await renewing.send("t", value=b"receipt-1")
    with pytest.raises(OutOfOrderSequenceNumber):
        await future
    for _ in range(5):
        await asyncio.sleep(0)
    assert renewing.renewals == 1
    await (await renewing.send("t", value=b"receipt-2"))
    assert renewing.producer.sent == [b"receipt-2"]
    await renewing.stop()
