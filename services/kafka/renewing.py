"""An idempotent producer that replaces itself when the broker has forgotten its sequence."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidProducerEpoch, OutOfOrderSequenceNumber, UnknownProducerId

from services.kafka.librdkafka import FatalProducerError

log = logging.getLogger(__name__)

# An idempotent producer that replaces itself when the broker has forgotten its sequence.
#
# A broker that restarts while a batch is in flight can leave the producer's sequence numbers
# ahead of what it stored; it then refuses every later batch with OutOfOrderSequenceNumber (or no
# longer knows the producer id). The Java client resets its producer id and carries on (KIP-360);
# aiokafka does not, so the gateway stayed unable to accept any job after a Kafka pod was deleted
# under load (found by `make k8s-test`). Only a new producer (a new id, sequences from zero) can
# go on. A refused batch was not written, so sending it again on the new producer makes no
# duplicate.
# librdkafka recovers most of these itself (it bumps its epoch); what it cannot, it reports as
# fatal, and the producer is renewed the same way.
BROKEN_SEQUENCE = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, FatalProducerError)


class RenewingProducer:
    def __init__(self, make: Callable[[], AIOKafkaProducer]) -> None:
        self._make = make
        self.producer = make()
        self.renewals = 0
        self._lock = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        try:
            await self.producer.start()
        except BaseException:
            # A producer whose start failed (broker away) is not tried again: the next start,
            # in services.kafka.clients.until_connected, gets a fresh one.
            failed, self.producer = self.producer, self._make()
            await failed.stop()
            raise

    async def partitions_for(self, topic: str) -> Any:
        return await self.producer.partitions_for(topic)

    async def stop(self) -> None:
        await self.producer.stop()
        await asyncio.gather(*self._retired, return_exceptions=True)

    async def send_and_wait(self, topic: str, **kwargs: Any) -> Any:
        """Send and wait for the broker; once more on a new producer if this one's sequence broke."""
        producer = self.producer
        try:
            return await producer.send_and_wait(topic, **kwargs)
        except BROKEN_SEQUENCE as exc:
            await self.renew(producer, exc)
        return await self.producer.send_and_wait(topic, **kwargs)

    async def send(self, topic: str, **kwargs: Any) -> "asyncio.Future[Any]":
        """Queue a message; the returned future fails if the broker refuses it. A refusal for a
        broken sequence renews the producer for the messages after it (this one is not re-sent)."""
        producer = self.producer
        future = await producer.send(topic, **kwargs)

        def check(done: "asyncio.Future[Any]") -> None:
            if not done.cancelled() and isinstance(done.exception(), BROKEN_SEQUENCE):
                task = asyncio.ensure_future(self.renew(producer, done.exception()))
                self._retired.add(task)
                task.add_done_callback(self._retired.discard)

        future.add_done_callback(check)
        return future

    async def renew(self, broken: AIOKafkaProducer, cause: BaseException | None) -> None:
        """Replace `broken` with a started new producer, once, however many sends saw it fail."""
        async with self._lock:
            if self.producer is not broken:
                return
            fresh = self._make()
            await fresh.start()
            self.producer = fresh
            self.renewals += 1
            log.warning("Kafka producer replaced (the broker refused its sequence: %s); renewals: %d",
                        cause, self.renewals)
        stopping = asyncio.ensure_future(broken.stop())
        self._retired.add(stopping)
        stopping.add_done_callback(self._retired.discard)
