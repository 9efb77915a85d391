"""Consumer lag against the real broker: what a group has not committed, per partition, as
`python -m services.kafka.lag` prints it."""
from __future__ import annotations

import urllib.request
import uuid

from confluent_kafka import Consumer, TopicPartition

from devstack.stack import Stack
from services.kafka.lag import group_lag
from services.kafka.leaders import describe

REQUESTS = "barcode.requests"


def test_a_group_lags_by_what_it_has_not_committed(stack: Stack, gateway_a: str) -> None:
    request = urllib.request.Request(f"{gateway_a}/v1/jobs", data=b'{"symbology": "code128", "data": "LAG-1"}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:  # at least one record on the topic
        assert resp.status == 202
    bootstrap = stack.kafka.bootstrap
    ends = {str(s.partition): s.end_offset for s in describe(bootstrap) if s.topic == REQUESTS}
    group = f"lag-test-{uuid.uuid4().hex[:8]}"
    # A group that never committed has read nothing: its lag is every record.
    assert group_lag(bootstrap, group, [REQUESTS]) == {(REQUESTS, p): float(end) for p, end in ends.items()}
    assert group_lag(bootstrap, group, [REQUESTS], committed_only=True) == {}
    # Commit one record short of the end of the first partition with a record in it.
    partition, end = next((p, e) for p, e in sorted(ends.items()) if e > 0)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(REQUESTS, int(partition), end - 1)], asynchronous=False)
    finally:
        consumer.close()
    assert group_lag(bootstrap, group, [REQUESTS], committed_only=True) == {(REQUESTS, partition): 1.0}
