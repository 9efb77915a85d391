"""A stage as a process: router, generator and notifier are each a `Stage` (where it reads, how
it answers a record, where it serves) run by `run`.

The drain order follows uvicorn's `shutdown()`: stop polling, let the records in hand finish
(up to three quarters of BARCODE_DRAIN_SECONDS), commit, leave the group (`consumer.stop()`),
flush the producer; `exit_after` ends the process if that overruns the deadline.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from services import contract, tracing
from services.kafka import clients
from services.kafka.handler import DeadLetters, Handler
from services.kafka.health import serve_health
from services.kafka.outbox import Outbox
from services.kafka.process import Stopped, connect, start_process, stop_on_signals
from services.kafka.renewing import RenewingProducer
from services.kafka.runtime import Runtime
from services.metrics import Value
from services.settings import KafkaSettings, read_config

log = logging.getLogger(__name__)

# The help texts of what every stage counts (Runtime.metrics and the producer); a stage's own
# metrics have theirs in its Stage.helps.
HELP = {
    "records_total": "Records polled from the input topic and handed to the handler.",
    "batches_total": "Polls of the input topic that returned records.",
    "dead_letters_total": "Records the handler raised on (undecodable, poison, a bug): dead letters, not outputs.",
    "commits_total": "Offset commits the broker accepted.",
    "commit_failures_total": "Offset commits that failed (a rebalance, the broker away); their records are redone.",
    "in_flight": "Records polled whose outputs the broker has not acknowledged yet.",
    "publish_retries_total": "Outputs sent again after a send failed or the broker refused it (one per attempt).",
    "producer_renewals_total": "Producers replaced after the broker refused their sequence (a broker restart).",
    "handle_seconds": "Seconds from taking a record to its outputs queued for the broker: this stage's share of a job.",
}


@dataclass
class Stage:
    """What a service is to the runtime: where it reads, how it answers a record, where it serves."""

    name: str  # the service: Kafka client id, dead letters' `service`, metrics prefix, logs
    kafka: KafkaSettings
    group: str  # consumer group
    source: str  # input topic (base name; the prefix is added)
    outputs: tuple[str, ...]  # topics it writes (base names): their metadata is fetched at start
    handler: Handler
    max_in_flight: int = 1000  # records polled and not yet acknowledged downstream
    health: tuple[str, int] = ("127.0.0.1", 0)  # /healthz, /readyz, /metrics; port 0: none
    counters: Callable[[], Mapping[str, Value]] = field(default=dict)  # the service's own metrics
    helps: Mapping[str, str] = field(default_factory=dict)  # the help text of each of those
    # Closes what the service opened (an HTTP session, a thread pool), after the drain.
    close: Callable[[], Awaitable[None]] | None = None
    # Work before the first poll, once Kafka answers (the generator's bucket); a stop interrupts it.
    prepare: Callable[[], Awaitable[None]] | None = None
    # The service's own producer when its handler sends beside its outputs (the generator's
    # progress steps); by default the runtime makes one.
    producer: RenewingProducer | None = None
    # The name of its span in a traced job (services/tracing.py): "route", "generate", "notify".
    span: str | None = None


async def serve(stage: Stage, drain_s: float) -> None:
    runtime: Runtime | None = None

    def begin_drain() -> None:
        if runtime is not None:
            runtime.stop()

    stop = stop_on_signals(stage.name, drain_s, begin_drain)
    # Replaced by a new one if a restarted broker refuses its sequence: retries would fail forever.
    producer = stage.producer or RenewingProducer(lambda: clients.stage_producer(stage.kafka, stage.name))
    outbox = Outbox(producer)
    dead_letters = DeadLetters(stage.kafka.topic(contract.DEADLETTER), stage.name)
    consumer: AIOKafkaConsumer | None = None

    def counters() -> dict[str, Value]:
        own = runtime.metrics() if runtime is not None else {}
        return {**own, "producer_renewals_total": producer.renewals, **stage.counters()}

    host, port = stage.health
    try:
        helps = {**HELP, **stage.helps}
        async with serve_health(stage.name, host, port, stage.kafka.bootstrap, counters, helps), \
                contextlib.AsyncExitStack() as on_exit:
            if stage.close is not None:
                on_exit.push_async_callback(stage.close)
            fresh = Runtime(outbox, stage.handler, dead_letters, stage.max_in_flight, drain_s, span=stage.span)
            listener = fresh.rebalance_listener()
            consumer = await connect(
                stop, stage.kafka, producer,
                lambda: clients.started_stage_consumer(stage.kafka, stage.name, stage.kafka.group(stage.group),
                                                 [stage.kafka.topic(stage.source)], listener),
                outputs=(*stage.outputs, contract.DEADLETTER), prepare=stage.prepare)
            fresh.consumer, runtime = consumer, fresh
            if stop.is_set():
                runtime.stop()
            log.info("%s ready: reading %s as group %s", stage.name, stage.kafka.topic(stage.source),
                     stage.kafka.group(stage.group))
            await runtime.run()
    except Stopped:
        log.info("%s stopped while waiting for Kafka", stage.name)
    finally:
        # Leave the group (the runtime has committed), then flush what is still queued.
        if consumer is not None:
            await consumer.stop()
        await producer.stop()
        log.info("%s stopped: %s", stage.name, counters())


def run(build: Callable[[], Stage]) -> None:
    """`python -m services.<name>` of a stage."""

    async def main(drain_s: float) -> None:
        # Built on the loop: aiokafka clients (a service's own producer) need a running loop.
        stage = read_config(build)
        read_config(lambda: tracing.configure(stage.name))
        await serve(stage, drain_s)

    start_process(main)
