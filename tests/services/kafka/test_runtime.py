"""The stage loop against in-process fakes: commits follow acknowledgements, never past an
unacknowledged output, whatever order acks come in; poison moves on; the drain commits."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import TopicPartition

from services.kafka.handler import DeadLetters, Output, Outputs, Record
from services.kafka.outbox import Outbox
from services.kafka.runtime import Runtime
from tests.services.kafka.fakes import FakeConsumer, FakeProducer, record


def echo(record: Record) -> Outputs:
    return (Output("out", record.key, record.value or b""),)


def _runtime(handler: Callable[[Record], object], producer: FakeProducer, consumer: FakeConsumer,
             max_in_flight: int = 100, drain_s: float = 2.0) -> Runtime:
    return Runtime(Outbox(producer), handler, DeadLetters("dl", "test"), max_in_flight,  # type: ignore[arg-type]
                   drain_s, consumer=consumer)  # type: ignore[arg-type]


async def _until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_commits_the_prefix_whose_outputs_are_acknowledged_with_out_of_order_acks() -> None:
    consumer, producer = FakeConsumer(), FakeProducer()
    consumer.polls.append([record(0), record(1), record(2), record(5, partition=1)])
    runtime = _runtime(echo, producer, consumer)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 4)
    producer.ack(2)  # offset 2 acked first: nothing may be committed on partition 0
    producer.ack(3)  # partition 1 moves on its own
    await asyncio.sleep(0.3)
    assert consumer.committed() == {1: 6}
    producer.ack(0)
    await asyncio.sleep(0.3)
    assert consumer.committed() == {1: 6, 0: 1}  # 1 is still unacknowledged
    producer.ack(1)
    await _until(lambda: consumer.committed().get(0) == 3)
    runtime.stop()
    await loop


async def test_a_sync_handler_publishes_a_batch_in_input_order_without_waiting_between_records() -> None:
    consumer, producer = FakeConsumer(), FakeProducer()
    consumer.polls.append([record(n, f"v{n}".encode()) for n in range(5)])
    runtime = _runtime(echo, producer, consumer)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 5)  # all queued before any ack
    assert [value for _, _, value, _ in producer.sent] == [f"v{n}".encode() for n in range(5)]
    for n in range(5):
        producer.ack(n)
    runtime.stop()
    await loop
    assert consumer.committed() == {0: 5}


async def test_poison_is_dead_lettered_and_the_partition_moves_on() -> None:
    def handler(record: Record) -> Outputs:
        if record.offset == 1:
            raise ValueError("a bug on this record")
        return echo(record)

    consumer, producer = FakeConsumer(), FakeProducer(auto_ack=True)
    consumer.polls.append([record(0), record(1), record(2)])
    runtime = _runtime(handler, producer, consumer)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: consumer.committed().get(0) == 3)
    runtime.stop()
    await loop
    assert [topic for topic, *_ in producer.sent] == ["out", "dl", "out"]
    assert runtime.counts["dead_letters_total"] == 1


async def test_an_awaiting_handler_does_not_hold_back_the_records_polled_with_it() -> None:
    slow = asyncio.Event()

    async def handler(record: Record) -> Outputs:
        if record.offset == 0:
            await slow.wait()  # a slow partner
        return echo(record)

    consumer, producer = FakeConsumer(), FakeProducer(auto_ack=True)
    consumer.polls.append([record(0), record(1), record(2)])
    runtime = _runtime(handler, producer, consumer)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 2)  # 1 and 2 are out while 0 waits
    await asyncio.sleep(0.3)
    assert consumer.committed() == {}  # but nothing is committed past 0
    slow.set()
    await _until(lambda: consumer.committed().get(0) == 3)
    runtime.stop()
    await loop


async def test_a_failed_send_is_sent_again_until_acknowledged_and_only_then_committed() -> None:
    consumer, producer = FakeConsumer(), FakeProducer(auto_ack=True)
    producer.fail_next = 1
    consumer.polls.append([record(0)])
    runtime = _runtime(echo, producer, consumer)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 1)
    await asyncio.sleep(0.25)
    assert consumer.committed() == {}
    await _until(lambda: consumer.committed().get(0) == 1)
    assert len(producer.sent) == 2 and runtime.outbox.retries == 1
    runtime.stop()
    await loop


async def test_a_full_stage_stops_polling_until_acks_make_room() -> None:
    consumer, producer = FakeConsumer(), FakeProducer()
    consumer.polls.extend([[record(n) for n in range(3)], [record(3)]])
    runtime = _runtime(echo, producer, consumer, max_in_flight=3)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 3)
    await asyncio.sleep(0.3)
    assert len(producer.sent) == 3 and len(consumer.polls) == 1  # full: the next batch waits
    producer.ack(0)
    await _until(lambda: len(producer.sent) == 4)
    assert consumer.max_records_seen[-1] == 1  # one slot free: one record
    runtime.stop()
    for n in (1, 2, 3):
        producer.ack(n)
    await loop
    assert consumer.committed() == {0: 4}


async def test_drain_commits_what_was_acknowledged_and_gives_up_on_the_rest_within_its_bound() -> None:
    consumer, producer = FakeConsumer(), FakeProducer()
    consumer.polls.append([record(0), record(1)])
    runtime = _runtime(echo, producer, consumer, drain_s=0.4)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 2)
    producer.ack(0)
    runtime.stop()
    started = asyncio.get_running_loop().time()
    await loop
    assert asyncio.get_running_loop().time() - started < 0.6  # 0.75 of the drain, then commit
    assert consumer.committed() == {0: 1}  # offset 1 is redone by whoever reads next


async def test_a_rebalance_lets_in_flight_records_finish_and_commits_them() -> None:
    consumer, producer = FakeConsumer(), FakeProducer()
    consumer.polls.append([record(0)])
    runtime = _runtime(echo, producer, consumer)
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 1)
    revoking = asyncio.create_task(runtime.rebalance_listener().on_partitions_revoked({TopicPartition("in", 0)}))
    await asyncio.sleep(0.05)
    assert not revoking.done()
    producer.ack(0)
    await revoking
    assert consumer.committed() == {0: 1}
    runtime.stop()
    await loop


