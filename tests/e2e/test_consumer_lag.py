"""Consumer lag against the real broker: what a group has not committed, per partition, as
`python -m services.kafka.lag` prints it."""
from __future__ import annotations

import urllib.request
from pathlib import Path
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


def test_the_lag_exporter_serves_each_stage_groups_lag_to_prometheus(stack: Stack, gateway_a: str,
                                                                     tmp_path: Path) -> None:
    """`python -m services.lag` (the chart's lag component) against the real broker: every stage
    group's partitions appear as barcode_kafka_consumer_lag{group,topic,partition}, and a group
    that is not reading (a stopped consumer's) shows what it has not committed."""
    import subprocess
    import sys
    import time

    from devstack import paths
    from devstack.ports import free_port
    from tests.support.metrics import samples

    request = urllib.request.Request(f"{gateway_a}/v1/jobs", data=b'{"symbology": "code128", "data": "LAG-2"}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        job_id = __import__("json").loads(resp.read())["job_id"]
    with urllib.request.urlopen(f"{gateway_a}/v1/jobs/{job_id}?wait=30", timeout=40) as resp:
        assert __import__("json").loads(resp.read())["status"] == "completed"  # every stage has committed on it
    port = free_port()
    env = stack.env(LAG_HEALTH_PORT=str(port), LAG_INTERVAL_SECONDS="1")
    with open(tmp_path / "lag.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.lag"], env=env, cwd=paths.ROOT, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        deadline, found = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                    found = samples(resp.read().decode())
                if found.get("barcode_kafka_lag_reads_total", 0) >= 2:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        lag = {name: value for name, value in found.items() if name.startswith("barcode_kafka_consumer_lag{")}
        for group, topic in (("barcode-router", "barcode.requests"), ("barcode-generator", "barcode.render"),
                             ("barcode-notifier", "barcode.results")):
            mine = [v for name, v in lag.items() if f'group="{group}"' in name and f'topic="{topic}"' in name]
            assert mine and all(v >= 0 for v in mine), (group, sorted(lag), (tmp_path / "lag.log").read_text()[-2000:])
        assert not any('group="barcode-router"' in name and "barcode.render" in name for name in lag)
        assert found["barcode_kafka_lag_read_failures_total"] == 0
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
