"""A worker whose broker does not answer reports not ready (the chart's readiness probe)."""
from __future__ import annotations

from devstack.ports import free_port
from services.kafka.readiness import KafkaReadiness


async def test_not_ready_when_nothing_listens_at_the_bootstrap_address() -> None:
    readiness = KafkaReadiness(f"127.0.0.1:{free_port()}", timeout_s=1.0)
    try:
        ready, why = await readiness.check()
        body, status = await readiness.answer()
    finally:
        await readiness.close()
    assert ready is False
    assert why.startswith("kafka unreachable")
    assert status == 503 and body == {"status": "not_ready", "kafka": why}
