"""Who leads what: every partition of the pipeline's topics with its leader, its in-sync replicas
and its end offset, as `kafka-topics --describe` would say it, in JSON.

    python -m services.kafka.leaders            # BARCODE_KAFKA_BOOTSTRAP, or --bootstrap

Operators read it to see a cluster's health (a partition with fewer in-sync replicas than
replicas is under-replicated; one without a leader takes no writes). The fault runs read it to
pick the broker to kill: the leader of the busiest partition (`make chaos KAFKA_BROKERS=3`
locally; `make k8s-test` runs it inside a gateway pod, the only place cluster addresses resolve).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

TOPIC_MARK = "barcode."


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    leader: int  # -1: none (no replica in sync is up)
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    end_offset: int

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)


def admin_client(bootstrap: str) -> AdminClient:
    """librdkafka's admin client, giving up on a broker that does not answer within 5 s."""
    return AdminClient({"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 5000})


def describe(bootstrap: str, timeout_s: float = 10.0, topics: set[str] | None = None) -> list[PartitionState]:
    """Every partition of the barcode.* topics (or of `topics` only: one end-offset request per
    partition), busiest (highest end offset) first."""
    metadata = admin_client(bootstrap).list_topics(timeout=timeout_s)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "barcode-leaders", "enable.auto.commit": False})
    try:
        states = []
        for name, topic in sorted(metadata.topics.items()):
            # "barcode." anywhere: a release's BARCODE_TOPIC_PREFIX goes in front of it.
            if (name not in topics) if topics is not None else (TOPIC_MARK not in name):
                continue
            for number, part in sorted(topic.partitions.items()):
                end = -1
                if part.leader >= 0:
                    _, end = consumer.get_watermark_offsets(TopicPartition(name, number), timeout=timeout_s)
                states.append(PartitionState(name, number, part.leader, tuple(part.replicas), tuple(part.isrs), end))
    finally:
        consumer.close()
    return sorted(states, key=lambda s: -s.end_offset)


def busiest_leader(states: list[PartitionState]) -> int:
    """The broker leading the partition with the most records: where a kill hurts most."""
    led = [s for s in states if s.leader >= 0]
    if not led:
        raise RuntimeError("no partition has a leader")
    return led[0].leader


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.kafka.leaders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("BARCODE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    args = parser.parse_args(argv)
    states = describe(args.bootstrap)
    print(json.dumps({"busiest_leader": busiest_leader(states) if states else None,
                      "under_replicated": sum(s.under_replicated for s in states),
                      "partitions": [asdict(s) for s in states]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
