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
from services.settings import KafkaSettings
from services.kafka.renewing import RenewingProducer

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 10.0


class Publisher:
    def __init__(self, kafka: KafkaSettings, producer: RenewingProducer, receipts: RenewingProducer) -> None:
        self.producer = producer
        self.receipts = receipts
        self.requests_topic = kafka.topic(contract.REQUESTS)
        self.deliveries_topic = kafka.topic(contract.DELIVERIES)
        self.published = 0

    @property
    def renewals(self) -> int:
        """Producers replaced after the broker refused their sequence (a broker restart)."""
        return self.producer.renewals + self.receipts.renewals

    async def publish_request(self, request: GenerateRequest) -> None:
        """Returns once the broker has the request (acks=all): only then is it `accepted`.
        send_and_wait, not send: after a broker restart the producer's sequence is refused once,
        and the request is sent again on a renewed producer inside the same call."""
        async with _refused_as_unavailable(SEND_TIMEOUT_S, "the job queue is unavailable; try again",
                                           f"job {request.job_id}"):
            await self.producer.send_and_wait(
                self.requests_topic, key=request.job_id.encode(), value=contract.encode(request))
        self.published += 1

    async def publish_all(self, topic: str, records: list[tuple[str, bytes]], refusal: str,
                          timeout_s: float = SEND_TIMEOUT_S) -> None:
        """Sends (key, value) records in order, all in flight at once, and returns once the
        broker has every one (acks=all), within `timeout_s`; else ApiError(unavailable, `refusal`)."""
        async with _refused_as_unavailable(timeout_s, refusal, f"{len(records)} record(s) to {topic}"):
            sent = [await self.producer.send(topic, key=key.encode(), value=value) for key, value in records]
            await asyncio.gather(*sent)

    async def publish_delivery(self, client_id: str, job_id: str) -> None:
        """A receipt so other replicas stop holding this result for the client. Not awaited to
        the broker: a lost receipt only means a resume may repeat a result the client has."""
        try:
            future = await self.receipts.send(
                self.deliveries_topic, key=client_id.encode(),
                value=contract.encode(contract.Delivery(job_id=job_id, client_id=client_id)))
        except KafkaError as exc:
            log.warning("delivery receipt for %s not sent: %s", job_id, exc)
            return
        future.add_done_callback(_log_failure)


@contextlib.asynccontextmanager
async def _refused_as_unavailable(timeout_s: float, refusal: str, what: str) -> AsyncIterator[None]:
    """A send that Kafka refuses or does not acknowledge in time is the client's 503."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except (KafkaError, TimeoutError) as exc:
        log.error("could not publish %s: %s", what, exc)
        raise ApiError(ErrorCode.UNAVAILABLE, refusal) from exc


def _log_failure(future: "asyncio.Future[object]") -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("delivery receipt failed: %s", future.exception())
