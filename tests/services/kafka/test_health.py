"""A stage's probes and metrics, in process (no broker: /readyz is covered end to end)."""
from __future__ import annotations

from typing import Any

from services.kafka.health import health_app, metrics_text
from services.kafka.readiness import KafkaReadiness


def test_counts_stay_integers_and_names_ending_in_total_are_counters() -> None:
    text = metrics_text("barcode_notifier", {"records_total": 12_345_678, "in_flight": 3, "ratio": 0.25})
    assert "# TYPE barcode_notifier_records_total counter\nbarcode_notifier_records_total 12345678" in text
    assert "# TYPE barcode_notifier_in_flight gauge\nbarcode_notifier_in_flight 3" in text
    assert "barcode_notifier_ratio 0.25" in text


async def test_healthz_and_metrics_answer_without_kafka(aiohttp_client: Any) -> None:
    readiness = KafkaReadiness("127.0.0.1:1")
    client = await aiohttp_client(health_app("router", readiness, lambda: {"records_total": 2}))
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    resp = await client.get("/metrics")
    assert "barcode_router_records_total 2" in await resp.text()
    await readiness.close()
