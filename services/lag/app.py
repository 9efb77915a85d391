"""The lag exporter: per consumer group and partition, the records written that the group has not
committed, read from the broker every LAG_INTERVAL_SECONDS and served on /metrics as
`barcode_kafka_consumer_lag{group,topic,partition}` (the number Kafka shops alert on).

A process of its own, not a thread in each stage: the lag is read with librdkafka's admin
client (services/kafka/lag.py), and a stage that ran such a reader beside aiokafka died with
SIGSEGV once (docs/architecture.md); here nothing else runs beside it. One replica is enough: it
reads what the broker says of every group, whichever member is alive.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from services.kafka.health import serve_health
from services.kafka.lag import GROUPS, lag_of
from services.kafka.leaders import admin_client, describe
from services.kafka.process import start_process, stop_on_signals
from services.metrics import Labelled, Value
from services.settings import Env, KafkaSettings, health_endpoint, read_config

log = logging.getLogger(__name__)

HELP = {
    "consumer_lag": "Records of a partition the group has not committed (log end offset minus committed offset).",
    "lag_reads_total": "Times the lag of every group was read from the broker.",
    "lag_read_failures_total": "Reads that failed (the broker away): the last values stay until the next read.",
    "lag_read_seconds": "How long the last read took.",
}


@dataclass(frozen=True)
class LagSettings:
    kafka: KafkaSettings
    health: tuple[str, int]  # LAG_HEALTH_HOST/_PORT: /healthz, /readyz, /metrics (9105: it exists to serve)
    interval_s: float

    @classmethod
    def from_env(cls, env: Env | None = None) -> "LagSettings":
        env = env or Env()
        return cls(kafka=KafkaSettings.from_env(env), health=health_endpoint("lag", env, default_port=9105),
                   interval_s=env.float("LAG_INTERVAL_SECONDS", 15.0, 1.0))


class LagReader:
    """The last lag read of each stage group (prefixed like the topics), and how reads went."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.groups = tuple(kafka.group(g) for g in GROUPS)
        self.lags: dict[tuple[str, str, str], float] = {}
        self.reads = self.failures = 0
        self.read_s = 0.0

    def read(self) -> None:
        """Blocking (librdkafka): run in a thread."""
        started = time.monotonic()
        # One read of the partitions' end offsets (this stack's topics) for every group.
        states = [s for s in describe(self.kafka.bootstrap) if s.topic.startswith(self.kafka.topic(""))]
        admin = admin_client(self.kafka.bootstrap)
        lags: dict[tuple[str, str, str], float] = {}
        for group in self.groups:
            # committed_only: a group's own topics are those it committed on (the others' partitions
            # would all read as "never read").
            for (topic, partition), lag in lag_of(admin, group, states, committed_only=True).items():
                lags[(group, topic, partition)] = lag
        self.lags, self.read_s = lags, time.monotonic() - started
        self.reads += 1

    def reading(self) -> dict[str, Value]:
        return {"consumer_lag": Labelled(("group", "topic", "partition"), self.lags),
                "lag_reads_total": self.reads, "lag_read_failures_total": self.failures,
                "lag_read_seconds": self.read_s}


async def serve(settings: LagSettings, drain_s: float) -> None:
    reader = LagReader(settings.kafka)
    stop = stop_on_signals("lag", drain_s, lambda: None)
    host, port = settings.health
    async with serve_health("kafka", host, port, settings.kafka.bootstrap, reader.reading, HELP):
        log.info("lag ready: groups %s every %g s on :%d/metrics", ", ".join(reader.groups), settings.interval_s, port)
        while not stop.is_set():
            try:
                await asyncio.to_thread(reader.read)
            except Exception as exc:  # noqa: BLE001 - the broker away: say so, keep the last values
                reader.failures += 1
                log.warning("reading consumer lag failed: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), settings.interval_s)
            except TimeoutError:
                pass


def run() -> None:
    async def main(drain_s: float) -> None:
        await serve(read_config(LagSettings.from_env), drain_s)

    start_process(main)
