"""Puts requests, batch events and delivery receipts on Kafka."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiokafka.errors import KafkaError

from services import contract
from services.contract import ErrorCode, GenerateRequest
from services.gateway.edge.errors import ApiError
from services.gateway.jobs.receipts import Receipts
from services.settings import KafkaSettings
from services.kafka.renewing import RenewingProducer

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 10.0


class Publisher:
    def __init__(self, kafka: KafkaSettings, producer: RenewingProducer, receipts: RenewingProducer,
                 replica: str) -> None:
        self.producer = producer
        self.receipts = receipts
        self.requests_topic = kafka.topic(contract.REQUESTS)
        self.deliveries_topic = kafka.topic(contract.DELIVERIES)
        self.published = 0
        self.receipts_out = Receipts(self._send_receipt, replica)

    @property
    def renewals(self) -> int:
        """Producers replaced after the broker refused their sequence (a broker restart)."""
        return self.producer.renewals + self.receipts.renewals

    async def publish_request(self, request: GenerateRequest,
                              headers: list[tuple[str, bytes]] | None = None) -> None:
        """Returns once the broker has the request (acks=all): only then is it `accepted`.
        send_and_wait, not send: after a broker restart the producer's sequence is refused once,
        and the request is sent again on a renewed producer inside the same call. `headers`: a
        traced job's `traceparent`."""
        async with _refused_as_unavailable(SEND_TIMEOUT_S, "the job queue is unavailable; try again",
                                           f"job {request.job_id}"):
            await self.producer.send_and_wait(
                self.requests_topic, key=request.job_id.encode(), value=contract.encode(request), headers=headers)
        self.published += 1

    async def publish_all(self, topic: str, records: list[tuple[str, bytes]], refusal: str,
                          timeout_s: float = SEND_TIMEOUT_S) -> None:
        """Sends (key, value) records in order, all in flight at once, and returns once the
        broker has every one (acks=all), within `timeout_s`; else ApiError(unavailable, `refusal`)."""
        async with _refused_as_unavailable(timeout_s, refusal, f"{len(records)} record(s) to {topic}"):
            sent = [await self.producer.send(topic, key=key.encode(), value=value) for key, value in records]
            await asyncio.gather(*sent)

    async def publish_delivery(self, client_id: str, job_id: str) -> None:
        """A receipt so other replicas stop holding this result for the client: coalesced with
        the others of its window (receipts.py), not awaited to the broker."""
        self.receipts_out.add(client_id, job_id)

    async def _send_receipt(self, key: bytes, value: bytes) -> "asyncio.Future[object]":
        return await self.receipts.send(self.deliveries_topic, key=key, value=value)


@contextlib.asynccontextmanager
async def _refused_as_unavailable(timeout_s: float, refusal: str, what: str) -> AsyncIterator[None]:
    """A send that Kafka refuses or does not acknowledge in time is the client's 503."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except (KafkaError, TimeoutError) as exc:
        log.error("could not publish %s: %s", what, exc)
        raise ApiError(ErrorCode.UNAVAILABLE, refusal) from exc
