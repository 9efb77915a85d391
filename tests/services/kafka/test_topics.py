from __future__ import annotations

import time

from aiokafka.errors import (InvalidReplicationFactorError, KafkaConnectionError, KafkaTimeoutError,
                             NodeNotReadyError)

from devstack.ports import free_port
from services import contract
from services.settings import Env, KafkaSettings
from services.kafka import clients, topics
from services.kafka.topics import topic_specs


def test_topics_take_partitions_replication_and_min_isr_from_the_environment() -> None:
    settings = KafkaSettings.from_env(Env({"BARCODE_PARTITIONS": "12", "BARCODE_REPLICATION_FACTOR": "3",
                                           "BARCODE_MIN_INSYNC_REPLICAS": "2", "BARCODE_TOPIC_PREFIX": "prod."}))
    specs = {t.name: t for t in topic_specs(settings)}
    assert set(specs) == {f"prod.{t}" for t in (contract.REQUESTS, contract.RENDER, contract.RESULTS,
                                                 contract.NOTIFICATIONS, contract.DELIVERIES, contract.PROGRESS,
                                                 contract.DEADLETTER, contract.BATCHES, contract.BATCH_ROWS,
                                                 contract.BATCH_STATUS)}
    for name, spec in specs.items():
        assert spec.replication_factor == 3 and spec.topic_configs["min.insync.replicas"] == "2"
        assert spec.num_partitions == (1 if name.endswith("deadletter") else 12)


def test_a_batch_and_its_rows_results_share_a_partition_count() -> None:
    """The batcher owns a batch through one partition number of both topics (range assignor)."""
    specs = {t.name: t for t in topic_specs(KafkaSettings.from_env(Env({"BARCODE_PARTITIONS": "6"})))}
    assert specs[contract.BATCHES].num_partitions == specs[contract.BATCH_ROWS].num_partitions == 6
    assert specs[contract.BATCH_STATUS].topic_configs["cleanup.policy"] == "compact,delete"


def test_a_single_broker_is_the_default() -> None:
    specs = topic_specs(KafkaSettings.from_env(Env({})))
    assert {(s.replication_factor, s.topic_configs["min.insync.replicas"]) for s in specs} == {(1, "1")}


async def test_a_service_waits_for_a_broker_that_is_not_there_yet_then_says_why() -> None:
    """Pods start before Kafka in a cluster: a start waits `start_wait_s`, then fails with the reason."""
    settings = KafkaSettings(bootstrap=f"127.0.0.1:{free_port()}", topic_prefix="", partitions=1,
                             fetch_max_wait_ms=100, fetch_min_bytes=1, linger_ms=0, state_ttl_s=60, start_wait_s=2.0)
    started = time.monotonic()
    try:
        await topics.ensure_topics(settings)
    except KafkaConnectionError:
        pass
    else:
        raise AssertionError("ensure_topics returned without a broker")
    assert 1.0 <= time.monotonic() - started < 10.0


def _settings(start_wait_s: float = 0.0) -> KafkaSettings:
    return KafkaSettings(bootstrap="127.0.0.1:1", topic_prefix="", partitions=1, fetch_max_wait_ms=100,
                         fetch_min_bytes=1, linger_ms=0, state_ttl_s=60, start_wait_s=start_wait_s)


async def test_a_step_is_retried_while_the_broker_is_away_then_returns_its_result() -> None:
    """No time limit by default: a worker waits for the broker instead of exiting."""
    assert KafkaSettings.from_env(Env({})).start_wait_s == 0
    failures = [KafkaConnectionError("refused"), NodeNotReadyError("electing"), KafkaTimeoutError()]

    async def step() -> str:
        if failures:
            raise failures.pop(0)
        return "started"

    started = time.monotonic()
    assert await clients.until_connected(_settings(), "test", step) == "started"
    assert 3.0 <= time.monotonic() - started < 6.0  # 0.5 + 1 + 2 s of back-off


async def test_an_error_no_wait_can_cure_is_raised_at_once() -> None:
    async def step() -> None:
        raise InvalidReplicationFactorError("3 replicas on 1 broker")

    started = time.monotonic()
    try:
        await clients.until_connected(_settings(), "test", step)
    except InvalidReplicationFactorError:
        pass
    else:
        raise AssertionError("until_connected returned")
    assert time.monotonic() - started < 0.5
