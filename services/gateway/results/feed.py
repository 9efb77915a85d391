"""Follows barcode.requests, .notifications and .deliveries into the JobIndex, and pushes new
final results onto the sockets this replica holds.

No consumer group. At start it seeks to BARCODE_STATE_TTL_SECONDS ago and reports ready once it
has caught up with the end offsets it saw then, so a restarted replica answers job status like
the one that accepted the job.

Requests and delivery receipts: every partition, fetched in batches (GATEWAY_STATE_FETCH_WAIT_MS):
they only tell this replica about jobs and results another replica handled (the replica that
handles them updates its own index at once), so under load that is one broker fetch per replica
every 100 ms instead of one per record. The decisions that must see other replicas' latest work
(a new idempotency key over REST, a resuming socket's missed results, a job id not known here)
wait for that feed to pass the topics' end offsets first: `read_other_replicas`.

Notifications and progress steps are on the client's path: fetched as soon as one arrives, and
only from the partitions this replica's clients are on (replies.py): its home partition, where
the ids it issues land, plus the partition of any client or job it was asked about, read from
the retention's start (or where it stopped reading it last) for as long as something holds it
(`hold`), and a while after (GATEWAY_RESULTS_LINGER_SECONDS), for a client polling a job's status.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import time
from typing import Any, Callable, Coroutine

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from services import contract, tracing
from services.metrics import Histogram
from services.gateway.batches.index import BatchIndex, Sign, socket_message
from services.gateway.results.messages import progress_messages, step_messages
from services.gateway.results.replies import Hold, ReplyRoutes, Route
from services.gateway.results.sockets import SocketRegistry
from services.gateway.jobs.state import JobIndex
from services.kafka import clients, topics
from services.kafka.follower import Follower, Handler
from services.settings import KafkaSettings

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 30.0
BATCHES_KEPT_MS = 24 * 3600 * 1000  # barcode.batch-status's retention
ConsumerFor = Callable[[str, int, int], AIOKafkaConsumer]


async def _start(follower: Follower, kafka: KafkaSettings, since_ms: int, only: dict[str, int] | None = None,
                 positions: dict[TopicPartition, int] | None = None) -> None:
    """Every partition of the follower's topics, or the one partition per topic `only` names."""
    await follower.consumer.start()
    if only:
        partitions = [TopicPartition(t, p) for t, p in only.items()]
    else:
        found = await topics.partitions_of(kafka, follower.handlers)
        partitions = [TopicPartition(t, p) for t, ps in found.items() for p in ps]
    await follower.assign(partitions, since_ms, positions)


class _Held:
    """A route read besides home: its follower, the task polling it, who holds it."""

    def __init__(self) -> None:
        self.follower: Follower | None = None
        self.task: asyncio.Task[None] | None = None
        self.holders = 0
        self.ready = asyncio.Event()  # caught up with the partition's end at its start (or failed)
        self.failed: BaseException | None = None  # why the reader could not start
        self.linger: asyncio.TimerHandle | None = None


class Feed:
    def __init__(self, kafka: KafkaSettings, index: JobIndex, registry: SocketRegistry, client_id: str,
                 state_fetch_wait_ms: int = 100, state_fetch_min_bytes: int = 64 * 1024,
                 known_companies: frozenset[str] = frozenset(), replica: str = "gateway",
                 hold_linger_s: float = 30.0, batches: BatchIndex | None = None,
                 sign: Sign = lambda bucket, key: None, consumer_for: ConsumerFor | None = None,
                 on_file: Callable[[str, bytes], None] = lambda key, body: None) -> None:
        self.kafka = kafka
        self.on_file = on_file  # a file that came with its result: (object key, bytes)
        # A group-less consumer (client id, fetch wait, fetch min bytes); tests pass a fake.
        self._consumer_for = consumer_for or (lambda name, wait_ms, min_bytes: clients.consumer(
            kafka, name, None, fetch_max_wait_ms=wait_ms, fetch_min_bytes=min_bytes))
        # Companies this replica has API keys for; a request owned by another keyed company
        # means replicas on these topics disagree on GATEWAY_API_KEYS (said once per company).
        self.known_companies = known_companies
        self.foreign_companies: set[str] = set()
        self.index = index
        self.registry = registry
        self.client_id = client_id
        self.replica = replica
        self.hold_linger_s = hold_linger_s
        self.routes: ReplyRoutes | None = None  # known once the topics' partition counts are
        self.home: Follower | None = None
        self.state = self._follower(f"{client_id}-state", {kafka.topic(contract.REQUESTS): self._on_request,
                                                           kafka.topic(contract.DELIVERIES): self._on_delivery},
                                    state_fetch_wait_ms, state_fetch_min_bytes)
        # Batch statuses: every partition, a few records per batch, kept a day.
        self.batches = batches if batches is not None else BatchIndex()
        self.sign = sign
        self.batch_state = self._follower(f"{client_id}-batches", {kafka.topic(contract.BATCH_STATUS): self._on_batch_status},
                                          state_fetch_wait_ms, 1)
        self._held: dict[Route, _Held] = {}
        self._stopped_at: dict[Route, dict[TopicPartition, int]] = {}  # where a dropped route's reading ended
        self._dropped_records = 0  # read by followers since stopped
        self.caught_up = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._drops: set[asyncio.Task[None]] = set()  # routes being dropped after their linger
        # A job's whole way, request in to result out to its socket (jobs asked over a WebSocket).
        self.job_seconds = Histogram()

    @property
    def followers(self) -> list[Follower]:
        return [f for f in (self.home, self.state, self.batch_state, *(h.follower for h in self._held.values()))
                if f is not None]

    def _since_ms(self) -> int:
        return int(time.time() * 1000 - self.kafka.state_ttl_s * 1000)

    def _follower(self, name: str, handlers: dict[str, Handler], fetch_max_wait_ms: int,
                  fetch_min_bytes: int) -> Follower:
        return Follower(self._consumer_for(name, fetch_max_wait_ms, fetch_min_bytes), handlers)

    async def _read_route(self, route: Route, name: str,
                          positions: dict[TopicPartition, int] | None = None) -> Follower:
        """A started reader of one route's notifications and progress partitions."""
        notifications, progress = self.kafka.topic(contract.NOTIFICATIONS), self.kafka.topic(contract.PROGRESS)
        follower = self._follower(f"{self.client_id}-{name}",
                             {notifications: self._on_notification, progress: self._on_progress},
                             self.kafka.fetch_max_wait_ms, self.kafka.fetch_min_bytes)
        try:
            await _start(follower, self.kafka, self._since_ms(),
                         only={notifications: route.notifications, progress: route.progress}, positions=positions)
        except BaseException:
            await follower.stop()
            raise
        return follower

    async def start(self) -> None:
        notifications, progress = self.kafka.topic(contract.NOTIFICATIONS), self.kafka.topic(contract.PROGRESS)
        found = await topics.partitions_of(self.kafka, (notifications, progress))
        self.routes = ReplyRoutes(len(found[notifications]), len(found[progress]), self.replica)
        self.home = await self._read_route(self.routes.home, "home")
        await _start(self.state, self.kafka, self._since_ms())
        await _start(self.batch_state, self.kafka, int(time.time() * 1000) - BATCHES_KEPT_MS)
        self._report_caught_up()
        self._tasks = [asyncio.create_task(self._run(f), name=f"gateway-feed-{n}")
                       for n, f in enumerate((self.home, self.state, self.batch_state))]
        self._tasks.append(asyncio.create_task(self._prune(), name="gateway-feed-prune"))

    async def stop(self) -> None:
        for held in self._held.values():
            if held.linger is not None:
                held.linger.cancel()
        tasks = self._tasks + list(self._drops) + [h.task for h in self._held.values() if h.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for follower in self.followers:
            await follower.stop()
        self._held.clear()  # a hold released after this (a socket closing late) has nothing to linger on

    def new_id(self) -> str:
        """An id (client id, or a REST job's id) whose results land where this replica reads."""
        assert self.routes is not None, "the feed has not started"
        return self.routes.new_id()

    def reads(self, key: str) -> bool:
        """Whether results keyed by `key` reach this replica now. Only a Hold keeps it so: a
        partition read for someone else stops after its linger."""
        if self.routes is None:
            return False
        route = self.routes.route(key)
        held = self._held.get(route)
        return route == self.routes.home or (held is not None and held.ready.is_set())

    async def hold(self, key: str, timeout_s: float = 10.0, from_now: bool = False) -> Hold:
        """Read the partitions of results keyed by `key` (a client id, or a job id without one)
        until the returned Hold is released; returns once what they held when asked is in the
        index. Home: nothing to do. `from_now`: the caller needs only results published after
        this call (a job it is about to publish), so a reader already running is enough as it is."""
        assert self.routes is not None, "the feed has not started"
        route = self.routes.route(key)
        if route == self.routes.home:
            return Hold()
        held = self._held.get(route)
        reused = held is not None
        if held is None:
            held = self._held[route] = _Held()
            held.task = asyncio.create_task(self._read_held(route, held), name=f"gateway-feed-p{route.notifications}")
        held.holders += 1
        if held.linger is not None:
            held.linger.cancel()
            held.linger = None
        hold = Hold(lambda: self._release(route, held))
        try:
            async with asyncio.timeout(timeout_s):
                await held.ready.wait()
                if reused and not from_now and held.failed is None and held.follower is not None:
                    # A reader kept from an earlier hold (or lingering after one) caught up with
                    # the partition as it was then: a result published since may not be read yet
                    # (found by CI under load: a replayed key answered `queued` on the other
                    # replica for a job completed a moment before). Read past now first.
                    await held.follower.read_past_now()
            if held.failed is not None:
                raise KafkaError(f"results partition {route.notifications} cannot be read") from held.failed
        except BaseException:
            hold.release()
            raise
        return hold

    async def _read_held(self, route: Route, held: _Held) -> None:
        try:
            held.follower = await self._read_route(route, f"p{route.notifications}", self._stopped_at.pop(route, None))
        except Exception as exc:
            # A broker gone while starting: the holders are told at once (not after their
            # timeout), and the next hold tries afresh.
            log.exception("reading results partition %d failed", route.notifications)
            if self._held.get(route) is held:
                del self._held[route]
            held.failed = exc
            held.ready.set()
            return
        while True:
            if held.follower.caught_up:
                held.ready.set()
            await held.follower.poll_or_pause()

    def _release(self, route: Route, held: _Held) -> None:
        held.holders -= 1
        if held.holders == 0 and self._held.get(route) is held:
            held.linger = asyncio.get_running_loop().call_later(
                self.hold_linger_s, lambda: self._background(self._drop(route, held)))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._drops.add(task)
        task.add_done_callback(self._drops.discard)

    async def _drop(self, route: Route, held: _Held) -> None:
        if held.holders or self._held.get(route) is not held:
            return
        del self._held[route]
        assert held.task is not None
        held.task.cancel()
        try:
            try:
                await held.task
            except asyncio.CancelledError:
                pass
            if held.follower is not None and held.ready.is_set():
                self._stopped_at[route] = await held.follower.positions()
        finally:
            # Also when the feed stops during the drop (this task cancelled): the reader is no
            # longer among the held ones that stop() closes.
            if held.follower is not None:  # None: cancelled while starting, it stopped itself
                self._dropped_records += held.follower.records
                await held.follower.stop()

    @property
    def results_read(self) -> int:
        """Notification and progress records read so far (home and held partitions)."""
        return self._dropped_records + sum(f.records for f in self.followers
                                           if f is not self.state and f is not self.batch_state)

    @property
    def partitions_held(self) -> int:
        return len(self._held)

    async def read_other_replicas(self, timeout_s: float = 10.0) -> None:
        """Wait until the requests and receipts published anywhere before now are in the index.

        For the decisions that must see other replicas' work: whether an idempotency key is new,
        which results a resuming client has not seen, whether a job id exists. Costs up to
        GATEWAY_STATE_FETCH_WAIT_MS (the batched fetch in progress).
        """
        async with asyncio.timeout(timeout_s):
            await self.state.read_past_now()

    def _report_caught_up(self) -> None:
        if self.caught_up.is_set() or self.home is None or not (self.home.caught_up and self.state.caught_up
                                                                 and self.batch_state.caught_up):
            return
        self.caught_up.set()
        log.info("job state caught up: %d jobs, %d clients with pending results",
                 len(self.index.jobs), len(self.index.pending))

    async def _run(self, follower: Follower) -> None:
        while True:
            await follower.poll_or_pause()
            self._report_caught_up()

    async def _prune(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            self.index.prune()
            self.batches.prune()

    def _on_request(self, record: ConsumerRecord[bytes, bytes]) -> None:
        request = contract.decode(contract.GenerateRequest, record.value)
        if request.batch_id:
            return  # a batch row: the batcher sent it and counts it; no client asks for it alone
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
        if notification.file_b64 is not None:
            # The file came along (an image URL's job): kept with the recent files, not in the
            # index, which holds every job of the last hour.
            if notification.key:
                self.on_file(notification.key, base64.b64decode(notification.file_b64))
            notification.file_b64 = None
        if not self.index.add_notification(notification):
            return
        recipients = self.registry.recipients(notification)
        # The end of a traced job: the replica that holds its socket pushes the result.
        span = tracing.start("deliver", tracing.parent_of(record.headers), job_id=notification.job_id,
                             sockets=len(recipients)) if recipients and tracing.enabled() else None
        if recipients:
            out = notification.trace["gateway_out"] = contract.now_ms()
            if "gateway_in" in notification.trace:
                self.job_seconds.observe(max(0.0, out - notification.trace["gateway_in"]) / 1000)
        for conn in recipients:
            if notification.steps and notification.job_id not in conn.sent_final:
                # Steps too quick for a record of their own ride on the result: sent first, as
                # a progress record's would have been.
                for message in step_messages(notification.job_id, notification.request_id, notification.steps):
                    conn.send(message)
            conn.send_final(notification)
        tracing.end(span)
        notification.steps = None  # a replay (a resume) is the result only, as for recorded steps

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

    def _on_batch_status(self, record: ConsumerRecord[bytes, bytes]) -> None:
        status = contract.decode(contract.BatchStatus, record.value)
        if not self.batches.add(status) or not status.client_id:
            return
        for conn in self.registry.for_client(status.client_id):
            conn.send(socket_message(status, self.sign))

    def _on_delivery(self, record: ConsumerRecord[bytes, bytes]) -> None:
        for client_id, job_id in contract.decode(contract.Delivery, record.value).receipts():
            self.index.add_delivery(client_id, job_id)
