"""Follows barcode.requests, .notifications and .deliveries into the JobIndex, and pushes new
final results onto the sockets this replica holds.

No consumer group: every replica reads every partition. At start it seeks to
BARCODE_STATE_TTL_SECONDS ago and reports ready once it has caught up with the end offsets it
saw then, so a restarted replica answers job status like the one that accepted the job.
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services import contract, kafka
from services.gateway.messages import final_message
from services.gateway.sockets import SocketRegistry
from services.gateway.state import JobIndex
from services.settings import KafkaSettings

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 30.0


class Feed:
    def __init__(self, kafka: KafkaSettings, index: JobIndex, registry: SocketRegistry, client_id: str) -> None:
        self.kafka = kafka
        self.index = index
        self.registry = registry
        self.topics = {
            kafka.topic(contract.REQUESTS): self._on_request,
            kafka.topic(contract.NOTIFICATIONS): self._on_notification,
            kafka.topic(contract.DELIVERIES): self._on_delivery,
        }
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap, client_id=client_id, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=kafka.fetch_max_wait_ms, fetch_min_bytes=1,
        )
        self.caught_up = asyncio.Event()
        self._targets: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.lag_records = 0

    async def start(self) -> None:
        await self.consumer.start()
        found = await kafka.partitions_of(self.kafka, self.topics)
        partitions = [TopicPartition(t, p) for t, ps in found.items() for p in ps]
        self.consumer.assign(partitions)
        since_ms = int(time.time() * 1000 - self.kafka.state_ttl_s * 1000)
        starts = await self.consumer.offsets_for_times({tp: since_ms for tp in partitions})
        ends = await self.consumer.end_offsets(partitions)
        for tp in partitions:
            found = starts.get(tp)
            self.consumer.seek(tp, found.offset if found is not None else ends[tp])
        self._targets = {tp: end for tp, end in ends.items() if end > 0}
        await self._check_caught_up()
        self._task = asyncio.create_task(self._run(), name="gateway-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.consumer.stop()

    async def _check_caught_up(self) -> None:
        if self.caught_up.is_set():
            return
        for tp, end in self._targets.items():
            if await self.consumer.position(tp) < end:
                return
        self.caught_up.set()
        log.info("job state caught up: %d jobs, %d clients with pending results",
                 len(self.index.jobs), len(self.index.pending))

    async def _run(self) -> None:
        last_prune = time.monotonic()
        while True:
            batches = await self.consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batches.values():
                for record in records:
                    self._dispatch(record)
            if not self.caught_up.is_set():
                await self._check_caught_up()
            if time.monotonic() - last_prune > PRUNE_EVERY_S:
                last_prune = time.monotonic()
                self.index.prune()

    def _dispatch(self, record: ConsumerRecord[bytes, bytes]) -> None:
        handler = self.topics[record.topic]
        try:
            handler(record)
        except contract.SchemaError as exc:
            log.error("skipping undecodable record %s/%d@%d: %s", record.topic, record.partition, record.offset, exc)

    def _on_request(self, record: ConsumerRecord[bytes, bytes]) -> None:
        self.index.add_request(contract.decode(contract.GenerateRequest, record.value))

    def _on_notification(self, record: ConsumerRecord[bytes, bytes]) -> None:
        notification = contract.decode(contract.Notification, record.value)
        notification.seq = record.offset
        if not self.index.add_notification(notification) or not notification.client_id:
            return
        notification.trace["gateway_out"] = contract.now_ms()
        for conn in self.registry.for_client(notification.client_id):
            conn.send(final_message(notification, conn.base_url), final_job=notification.job_id)

    def _on_delivery(self, record: ConsumerRecord[bytes, bytes]) -> None:
        delivery = contract.decode(contract.Delivery, record.value)
        self.index.add_delivery(delivery.client_id, delivery.job_id)
