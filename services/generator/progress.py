"""Sends the generator's steps of jobs that asked for progress (barcode.progress).

Best effort and off the job's path: the send is not awaited to the broker, and a failure is
only logged, because the final result (which is awaited) tells the client the same thing.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services import contract
from services.contract import RenderJob
from services.kafka.renewing import RenewingProducer

log = logging.getLogger(__name__)


class ProgressSender:
    def __init__(self, producer: AIOKafkaProducer | RenewingProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self._sending: set[asyncio.Task[None]] = set()

    def __call__(self, job: RenderJob, step: str, **detail: Any) -> None:
        message = contract.progress_of(job, step, **detail)
        if message is None:
            return
        task = asyncio.create_task(self._send(message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, message: contract.Progress) -> None:
        try:
            await self.producer.send(self.topic, key=message.client_id.encode(), value=contract.encode(message))
        except KafkaError as exc:
            log.debug("progress of job %s not sent: %s", message.job_id, exc)
