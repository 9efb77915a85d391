"""Consumer lag, the number Kafka shops alert on: per group and partition, the records written to
a partition that the group has not committed yet (log end offset minus committed offset).

Read from the broker, not from the consumer: a member that is stuck (or gone) stops fetching,
and a lag it computed itself from its last fetch would freeze instead of grow. The lag exporter
(services/lag) serves it to Prometheus from a process of its own, not from the stages: a reader
in each stage (librdkafka clients every 10 s in a thread of a process that also runs aiokafka)
was withdrawn after a generator died with SIGSEGV in `make test` (2026-12-07, cause not known).

    python -m services.kafka.lag [--group barcode-router ...]   # JSON, per group and partition
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from services.kafka.leaders import PartitionState, admin_client, describe

# The groups that commit. The batcher's does not: it folds its topics from their start at every
# assignment (docs/architecture.md, Batches), so "not committed" says nothing there.
GROUPS = ("barcode-router", "barcode-generator", "barcode-notifier")
Lags = dict[tuple[str, str], float]  # (topic, partition) -> records not committed


def group_lag(bootstrap: str, group: str, topics: Iterable[str], timeout_s: float = 10.0,
              committed_only: bool = False) -> Lags:
    """The group's lag on every partition of `topics` (a partition it never committed counts
    from its start: the group has read none of it; left out with `committed_only`)."""
    return lag_of(admin_client(bootstrap), group, describe(bootstrap, timeout_s, set(topics)), timeout_s,
                  committed_only)


def lag_of(admin: AdminClient, group: str, states: Iterable[PartitionState], timeout_s: float = 10.0,
           committed_only: bool = False) -> Lags:
    """The group's lag on the partitions of `states` (their end offsets read once by `describe`,
    so several groups' lags cost one read of them), as `group_lag` counts it."""
    ends = {(s.topic, s.partition): (s.end_offset, s.leader) for s in states}
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in ends])
    committed = admin.list_consumer_group_offsets([request], request_timeout=timeout_s)[group].result(timeout_s)
    at = {(tp.topic, tp.partition): tp.offset for tp in committed.topic_partitions}
    lags: Lags = {}
    for (topic, partition), (end, leader) in ends.items():
        if leader < 0 or end < 0:
            continue  # no leader now: no end offset to count from
        done = at.get((topic, partition), -1)
        if done < 0 and committed_only:
            continue
        lags[(topic, str(partition))] = float(end - done if done >= 0 else end)
    return lags


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.kafka.lag", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("BARCODE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--group", action="append", help="a consumer group (default: the pipeline's three stages)")
    args = parser.parse_args(argv)
    states, admin = describe(args.bootstrap), admin_client(args.bootstrap)
    out = {group: {f"{t}/{p}": lag for (t, p), lag in sorted(
        lag_of(admin, group, states, committed_only=True).items())} for group in args.group or GROUPS}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
