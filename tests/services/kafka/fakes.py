"""In-process stand-ins for aiokafka's consumer and producer: the runtime's rules without a broker."""
from __future__ import annotations

import asyncio
from collections import deque

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaTimeoutError


def record(offset: int, value: bytes = b"{}", partition: int = 0, topic: str = "in", key: bytes | None = b"k",
           headers: tuple[tuple[str, bytes], ...] = ()) -> ConsumerRecord:
    return ConsumerRecord(topic=topic, partition=partition, offset=offset, timestamp=0, timestamp_type=0, key=key,
                          value=value, checksum=None, serialized_key_size=1, serialized_value_size=len(value),
                          headers=headers)


class FakeConsumer:
    def __init__(self, partitions: int = 2, topic: str = "in") -> None:
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.polls: deque[list[ConsumerRecord]] = deque()
        self.commits: list[dict[TopicPartition, int]] = []
        self.max_records_seen: list[int] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.tps)

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        self.max_records_seen.append(max_records)
        if not self.polls:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        batch = self.polls.popleft()[:max_records]
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        for r in batch:
            out.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
        return out

    async def commit(self, positions: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(positions))

    def committed(self) -> dict[int, int]:
        """The last committed offset per partition."""
        out: dict[int, int] = {}
        for c in self.commits:
            out.update({tp.partition: o for tp, o in c.items()})
        return out


class FakeProducer:
    """Sends return futures the test resolves (acks in any order) or fail (the broker away)."""

    def __init__(self, auto_ack: bool = False) -> None:
        self.auto_ack = auto_ack
        self.sent: list[tuple[str, bytes | None, bytes, asyncio.Future[object]]] = []
        self.headers: list[list[tuple[str, bytes]] | None] = []  # of each send, in order
        self.fail_next = 0

    async def send(self, topic: str, *, key: bytes | None, value: bytes,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, key, value, future))
        self.headers.append(headers)
        if self.fail_next:
            self.fail_next -= 1
            future.set_exception(KafkaTimeoutError("broker away"))
        elif self.auto_ack:
            future.set_result(None)
        return future

    def ack(self, index: int) -> None:
        self.sent[index][3].set_result(None)
