"""The batcher: fans each batch out into ordinary jobs, counts their results, reports progress,
and assembles the outputs when the last row is in.

It reads barcode.batches (created / rows / cancel / finished) and barcode.batch-rows (each row's
Result, forwarded by the notifier) as one consumer group with the range assignor: both topics
are keyed by batch id with the same partition count, so one member owns a batch's events and
its results together. That member's state is a fold of the two partitions (tally.py), read
again from their start whenever it is assigned them: a restarted or new batcher rebuilds every
count exactly, and nothing is committed. Until it has caught up with what the partitions held at
assignment it only reads; then it sends rows (at most BATCHER_WINDOW in flight per batch), and
publishes each batch's status on barcode.batch-status a few times a second at most.

A row sent twice (it was in flight when a batcher died) is the same job id: the object store
already holds its file, and the tally counts its first result only.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

import urllib3
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from services import contract, tracing
from services.batcher.assemble import assemble
from services.batcher.settings import BatcherSettings
from services.batcher.tally import Tally
from services.labels.zpl_stream import shared_draw_back
from services.kafka import clients
from services.kafka.follower import Follower
from services.kafka.handler import Record
from services.kafka.health import serve_health
from services.kafka.process import Stopped, connect, start_process, stop_on_signals
from services.kafka.renewing import RenewingProducer
from services.settings import read_config
from services.storage.client import boto3_client
from services.storage.sigv4 import Signer

log = logging.getLogger(__name__)
GROUP = "barcode-batcher"
HELP = {  # /metrics: Batcher.metrics
    "rows_sent_total": "Batch rows sent as jobs to the requests topic (a row whose send failed is counted again).",
    "rows_counted_total": "Results counted into their batch (the first result of each row).",
    "duplicate_results_total": "Results of rows already counted, dropped.",
    "batches_assembled_total": "Batches whose outputs (ZIP, manifest, label sheet) were stored and announced finished.",
    "assembly_failures_total": "Assemblies of a batch's outputs that failed (tried again 5 s later).",
    "batches_owned": "Batches on the partitions this batcher owns, finished ones included.",
    "batches_assembling": "Batch assemblies started since this batcher took their partitions, running or done.",
    "rows_in_flight": "Batch rows sent as jobs whose result has not been counted yet.",
}


class Batcher(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, settings: BatcherSettings, producer: RenewingProducer) -> None:
        self.settings = settings
        self.producer = producer
        self.follower: Follower | None = None  # made with the consumer, whose rebalances call us
        self.topics = {name: settings.kafka.topic(name) for name in
                       (contract.BATCHES, contract.BATCH_ROWS, contract.BATCH_STATUS, contract.REQUESTS)}
        self.tallies: dict[str, Tally] = {}
        self.partition: dict[str, int] = {}  # batch -> its partition number
        self.assembling: dict[str, asyncio.Task[None]] = {}
        self.dirty: set[str] = set()
        self.last_status: dict[str, float] = {}
        self.s3 = boto3_client(settings.s3, attempts=5, connections=16)  # uploads (multipart from disk)
        s3 = settings.s3
        self.signer = Signer(s3.endpoint, s3.access_key, s3.secret_key, s3.region)
        self.http = urllib3.PoolManager(maxsize=16, timeout=urllib3.Timeout(connect=2, read=30))
        self.stopping = False
        self.counts = {"rows_sent_total": 0, "rows_counted_total": 0, "batches_assembled_total": 0,
                       "duplicate_results_total": 0, "assembly_failures_total": 0}

    # ---- ownership ------------------------------------------------------------------------
    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        numbers = {tp.partition for tp in revoked}
        for batch_id in [b for b, p in self.partition.items() if p in numbers]:
            task = self.assembling.pop(batch_id, None)
            if task is not None:
                task.cancel()
            self.tallies.pop(batch_id, None)
            self.partition.pop(batch_id, None)
            self.dirty.discard(batch_id)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Read every assigned partition again from its start: the state is their fold."""
        assert self.follower is not None
        if not assigned:
            return
        await self.follower.rewind(assigned)
        log.info("batcher owns %s; reading them from the start", sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))

    def follow(self, consumer: AIOKafkaConsumer) -> None:
        """Read through `consumer` (before it joins the group: its first assignment calls us)."""
        self.follower = Follower(consumer, {self.topics[contract.BATCHES]: self.on_event,
                                            self.topics[contract.BATCH_ROWS]: self.on_result})

    # ---- the fold -------------------------------------------------------------------------
    def _tally(self, batch_id: str, partition: int) -> Tally:
        tally = self.tallies.get(batch_id)
        if tally is None:
            tally = self.tallies[batch_id] = Tally(batch_id)
            self.partition[batch_id] = partition
        return tally

    def on_event(self, record: Record) -> None:
        event = contract.decode(contract.BatchEvent, record.value)  # undecodable: the follower skips it
        self._tally(event.batch_id, record.partition).apply_event(event)
        self.dirty.add(event.batch_id)

    def on_result(self, record: Record) -> None:
        result = contract.decode(contract.Result, record.value)
        if result.batch_id is None:
            return
        if self._tally(result.batch_id, record.partition).apply_result(result):
            self.counts["rows_counted_total"] += 1
            self.dirty.add(result.batch_id)
        else:
            self.counts["duplicate_results_total"] += 1

    # ---- acting on the state --------------------------------------------------------------
    async def act(self) -> None:
        for batch_id, tally in list(self.tallies.items()):
            if tally.created is None:
                continue
            await self._send_rows(tally)
            if tally.done and batch_id not in self.assembling:
                self.assembling[batch_id] = asyncio.create_task(self._assemble(tally), name=f"assemble-{batch_id}")
        await self._publish_statuses()

    async def _send_rows(self, tally: Tally) -> None:
        for row in tally.to_send(self.settings.window):
            request = tally.request_for(row)
            try:
                future = await self.producer.send(self.topics[contract.REQUESTS], key=request.job_id.encode(),
                                                  value=contract.encode(request))
            except Exception as exc:  # noqa: BLE001 - the row goes again with the next ones
                log.warning("row %d of batch %s not sent: %s", row, tally.batch_id, exc)
                tally.unsent(row)
                continue
            future.add_done_callback(lambda f, t=tally, r=row: None if f.cancelled() or f.exception() is None
                                     else t.unsent(r))
            self.counts["rows_sent_total"] += 1

    async def _assemble(self, tally: Tally) -> None:
        loop = asyncio.get_running_loop()
        bucket = tally.bucket or self.settings.s3.bucket

        def fetch(key: str) -> bytes:
            # A presigned GET on a pooled connection: boto3's get_object cost ~1.8 ms of CPU
            # per object, which made a 10,000-row batch's outputs take 19 s (docs/benchmarks.md).
            response = self.http.request("GET", self.signer.presign_get(bucket, key, 300), retries=3)
            if response.status != 200:
                raise RuntimeError(f"GET {key}: HTTP {response.status}")
            return bytes(response.data)

        def upload(path: Path, key: str, content_type: str) -> None:
            self.s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})

        self.dirty.add(tally.batch_id)  # "assembling"
        # A trace of its own (its rows' jobs have theirs): how long the ZIP and the sheet took.
        span = tracing.start("batch assembly", root=True, batch_id=tally.batch_id, rows=tally.total)
        try:
            outputs = await loop.run_in_executor(None, assemble, tally, fetch, upload, self.settings.workdir,
                                                 shared_draw_back())
        except asyncio.CancelledError:
            tracing.end(span)
            raise
        except Exception as exc:
            tracing.end(span, exc)
            self.counts["assembly_failures_total"] += 1
            log.exception("assembling batch %s failed; trying again in 5 s", tally.batch_id)
            await asyncio.sleep(5)
            self.assembling.pop(tally.batch_id, None)  # act() starts it again
            return
        tracing.end(span)
        outputs["bucket"] = bucket
        outputs["rows_per_s"] = round(tally.rate() or 0.0, 1)
        # Stored first, then said: a batcher that dies in between assembles again (same keys).
        event = contract.BatchEvent(batch_id=tally.batch_id, kind="finished", outputs=outputs)
        await self.producer.send_and_wait(self.topics[contract.BATCHES], key=tally.batch_id.encode(),
                                          value=contract.encode(event))
        tally.finish(outputs)
        self.counts["batches_assembled_total"] += 1
        self.last_status.pop(tally.batch_id, None)  # the final status goes out at once
        self.dirty.add(tally.batch_id)
        await self._publish_statuses()

    async def _publish_statuses(self) -> None:
        now = time.monotonic()
        for batch_id in list(self.dirty):
            tally = self.tallies.get(batch_id)
            if tally is None or tally.created is None:
                self.dirty.discard(batch_id)
                continue
            first_or_final = batch_id not in self.last_status or tally.finished is not None
            if not first_or_final and now - self.last_status[batch_id] < self.settings.status_interval_s:
                continue
            self.dirty.discard(batch_id)
            self.last_status[batch_id] = now
            status = tally.status()
            await self.producer.send(self.topics[contract.BATCH_STATUS], key=batch_id.encode(),
                                     value=contract.encode(status))

    # ---- the loop -------------------------------------------------------------------------
    async def run(self) -> None:
        assert self.follower is not None
        while not self.stopping:
            await self.follower.poll(timeout_ms=100, max_records=5000)
            if self.follower.caught_up:
                await self.act()

    def metrics(self) -> dict[str, float]:
        return {**self.counts, "batches_owned": len(self.tallies), "batches_assembling": len(self.assembling),
                "rows_in_flight": sum(len(t.in_flight) for t in self.tallies.values())}


async def serve(settings: BatcherSettings, drain_s: float) -> None:
    producer = RenewingProducer(lambda: clients.producer(settings.kafka, "batcher"))
    batcher = Batcher(settings, producer)

    def begin_drain() -> None:
        batcher.stopping = True

    stop = stop_on_signals("batcher", drain_s, begin_drain)
    consumer: AIOKafkaConsumer | None = None
    host, port = settings.health
    try:
        async with serve_health("batcher", host, port, settings.kafka.bootstrap, batcher.metrics, HELP):
            reads = [batcher.topics[contract.BATCHES], batcher.topics[contract.BATCH_ROWS]]
            consumer = await connect(stop, settings.kafka, producer, lambda: clients.started_consumer(
                settings.kafka, "batcher", settings.kafka.group(GROUP), reads, batcher, assignors=(RangePartitionAssignor,),
                made=batcher.follow))
            log.info("batcher ready: reading %s and %s as group %s", *reads, settings.kafka.group(GROUP))
            await batcher.run()
    except Stopped:
        log.info("batcher stopped while waiting for Kafka")
    finally:
        for task in batcher.assembling.values():
            task.cancel()
        if consumer is not None:
            await consumer.stop()
        with contextlib.suppress(Exception):
            await producer.stop()
        log.info("batcher stopped: %s", batcher.metrics())


def run() -> None:
    async def main(drain_s: float) -> None:
        settings = read_config(BatcherSettings.from_env)
        read_config(lambda: tracing.configure("batcher"))
        await serve(settings, drain_s)

    start_process(main)
