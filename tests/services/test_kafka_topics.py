from __future__ import annotations

from services import contract
from services.kafka import topic_specs
from services.settings import Env, KafkaSettings


def test_topics_take_partitions_replication_and_min_isr_from_the_environment() -> None:
    settings = KafkaSettings.from_env(Env({"BARCODE_PARTITIONS": "12", "BARCODE_REPLICATION_FACTOR": "3",
                                           "BARCODE_MIN_INSYNC_REPLICAS": "2", "BARCODE_TOPIC_PREFIX": "prod."}))
    specs = {t.name: t for t in topic_specs(settings)}
    assert set(specs) == {f"prod.{t}" for t in (contract.REQUESTS, contract.RENDER, contract.RESULTS,
                                                 contract.NOTIFICATIONS, contract.DELIVERIES, contract.PROGRESS,
                                                 contract.DEADLETTER)}
    for name, spec in specs.items():
        assert spec.replication_factor == 3 and spec.topic_configs["min.insync.replicas"] == "2"
        assert spec.num_partitions == (1 if name.endswith("deadletter") else 12)


def test_a_single_broker_is_the_default() -> None:
    specs = topic_specs(KafkaSettings.from_env(Env({})))
    assert {(s.replication_factor, s.topic_configs["min.insync.replicas"]) for s in specs} == {(1, "1")}
