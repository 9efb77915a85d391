"""Follows barcode.requests, .notifications and .deliveries into the JobIndex, and pushes new
final results onto the sockets this replica holds.

No consumer group: every replica reads every partition. At start it seeks to
BARCODE_STATE_TTL_SECONDS ago and reports ready once it has caught up with the end offsets it
saw then, so a restarted replica answers job status like the one that accepted the job.

Two consumers, because the topics differ in urgency. Notifications (and the progress steps of
jobs that asked for them) are on the client's path: they are fetched as soon as one arrives. Requests and delivery receipts only tell this replica
about jobs and results another replica handled (the replica that handles them updates its own
index at once), so they are fetched in batches (GATEWAY_STATE_FETCH_WAIT_MS): under load that is
one broker fetch per replica every 100 ms instead of one per record. The two decisions that must
see other replicas' latest work (a new idempotency key over REST, a resuming socket's missed
results) wait for that feed to pass the topics' end offsets first: `read_other_replicas`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services import contract
from services.gateway.messages import progress_messages
from services.gateway.sockets import SocketRegistry
from services.gateway.state import JobIndex
from services.settings import KafkaSettings
from services.stage import kafka

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 30.0
Handler = Callable[[ConsumerRecord[bytes, bytes]], None]


class _Follower:
    """One consumer assigned every partition of some topics, from `since_ms` on."""

    def __init__(self, kafka: KafkaSettings, client_id: str, handlers: dict[str, Handler],
                 fetch_max_wait_ms: int, fetch_min_bytes: int) -> None:
        self.kafka = kafka
        self.handlers = handlers
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap, client_id=client_id, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms, fetch_min_bytes=fetch_min_bytes,
        )
        self.targets: dict[TopicPartition, int] = {}
        self.caught_up = False
        self._polled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def start(self, since_ms: int) -> None:
        await self.consumer.start()
        found = await kafka.partitions_of(self.kafka, self.handlers)
        partitions = [TopicPartition(t, p) for t, ps in found.items() for p in ps]
        self.consumer.assign(partitions)
        starts = await self.consumer.offsets_for_times({tp: since_ms for tp in partitions})
        ends = await self.consumer.end_offsets(partitions)
        for tp in partitions:
            start = starts.get(tp)
            self.consumer.seek(tp, start.offset if start is not None else ends[tp])
        self.targets = {tp: end for tp, end in ends.items() if end > 0}
        await self.check_caught_up()

    async def check_caught_up(self) -> bool:
        if not self.caught_up:
            for tp, end in self.targets.items():
                if await self.consumer.position(tp) < end:
                    return False
            self.caught_up = True
        return True

    async def poll(self) -> None:
        batches = await self.consumer.getmany(timeout_ms=500, max_records=1000)
        for records in batches.values():
            for record in records:
                try:
                    self.handlers[record.topic](record)
                except contract.SchemaError as exc:
                    log.error("skipping undecodable record %s/%d@%d: %s",
                              record.topic, record.partition, record.offset, exc)
        await self.check_caught_up()
        polled, self._polled = self._polled, asyncio.get_running_loop().create_future()
        polled.set_result(None)

    async def read_past_now(self) -> None:
        """Returns once every record its topics held when this was called has been read."""
        ends = await self.consumer.end_offsets(list(self.consumer.assignment()))
        while True:
            for tp, end in ends.items():
                if await self.consumer.position(tp) < end:
                    break
            else:
                return
            await asyncio.shield(self._polled)


class Feed:
    def __init__(self, kafka: KafkaSettings, index: JobIndex, registry: SocketRegistry, client_id: str,
                 state_fetch_wait_ms: int = 100, state_fetch_min_bytes: int = 64 * 1024,
                 known_companies: frozenset[str] = frozenset()) -> None:
        self.kafka = kafka
        # Companies this replica has API keys for; a request owned by another keyed company
        # means replicas on these topics disagree on GATEWAY_API_KEYS (said once per company).
        self.known_companies = known_companies
        self.foreign_companies: set[str] = set()
        self.index = index
        self.registry = registry
        self.followers = [
            _Follower(kafka, client_id, {kafka.topic(contract.NOTIFICATIONS): self._on_notification,
                                         kafka.topic(contract.PROGRESS): self._on_progress},
                      kafka.fetch_max_wait_ms, kafka.fetch_min_bytes),
            _Follower(kafka, f"{client_id}-state", {kafka.topic(contract.REQUESTS): self._on_request,
                                                    kafka.topic(contract.DELIVERIES): self._on_delivery},
                      state_fetch_wait_ms, state_fetch_min_bytes),
        ]
        self.caught_up = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        since_ms = int(time.time() * 1000 - self.kafka.state_ttl_s * 1000)
        for follower in self.followers:
            await follower.start(since_ms)
        self._report_caught_up()
        self._tasks = [asyncio.create_task(self._run(f), name=f"gateway-feed-{n}") for n, f in enumerate(self.followers)]
        self._tasks.append(asyncio.create_task(self._prune(), name="gateway-feed-prune"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for follower in self.followers:
            await follower.consumer.stop()

    async def read_other_replicas(self, timeout_s: float = 10.0) -> None:
        """Wait until the requests and receipts published anywhere before now are in the index.

        For the two decisions that must see other replicas' work: whether an idempotency key
        is new, and which results a resuming client has not seen. Costs up to
        GATEWAY_STATE_FETCH_WAIT_MS (the batched fetch in progress).
        """
        async with asyncio.timeout(timeout_s):
            await self.followers[1].read_past_now()

    def _report_caught_up(self) -> None:
        if self.caught_up.is_set() or not all(f.caught_up for f in self.followers):
            return
        self.caught_up.set()
        log.info("job state caught up: %d jobs, %d clients with pending results",
                 len(self.index.jobs), len(self.index.pending))

    async def _run(self, follower: _Follower) -> None:
        while True:
            await follower.poll()
            self._report_caught_up()

    async def _prune(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            self.index.prune()

    def _on_request(self, record: ConsumerRecord[bytes, bytes]) -> None:
        request = contract.decode(contract.GenerateRequest, record.value)
        self.index.add_request(request)
        owner = request.owner or ""
        if owner.startswith("company:") and owner[8:] not in self.known_companies \
                and owner[8:] not in self.foreign_companies:
            self.foreign_companies.add(owner[8:])
            # Its jobs stay its own here too (the owner travels with each request), but keyed
            # callers of that company cannot use this replica: the key settings must match.
            log.warning("a replica with an API key for %s publishes on these topics, and this one has no key "
                        "for it: replicas must share GATEWAY_API_KEYS", owner[8:])

    def _on_notification(self, record: ConsumerRecord[bytes, bytes]) -> None:
        notification = contract.decode(contract.Notification, record.value)
        notification.seq = record.offset
        if not self.index.add_notification(notification):
            return
        recipients = self.registry.recipients(notification)
        if recipients:
            notification.trace["gateway_out"] = contract.now_ms()
        for conn in recipients:
            conn.send_final(notification)

    def _on_progress(self, record: ConsumerRecord[bytes, bytes]) -> None:
        step = contract.decode(contract.Progress, record.value)
        job = self.index.get(step.job_id)
        if job is not None and job.notification is not None:
            return  # the result got here first: a step after it would only confuse a timeline
        sockets = self.registry.for_client(step.client_id)
        if not sockets:
            return
        for message in progress_messages(step):
            for conn in sockets:
                conn.send(message)

    def _on_delivery(self, record: ConsumerRecord[bytes, bytes]) -> None:
        delivery = contract.decode(contract.Delivery, record.value)
        self.index.add_delivery(delivery.client_id, delivery.job_id)
