"""A stage's probes and metrics, in process (no broker: /readyz is covered end to end)."""
from __future__ import annotations

from typing import Any

from services.kafka.health import health_app
from services.kafka.readiness import KafkaReadiness
from tests.support.metrics import families, samples

HELPS = {"records_total": "Records polled.", "in_flight": "Records not yet acknowledged.", "ratio": "A fraction."}


async def _scrape(aiohttp_client: Any, counters: dict[str, float]) -> tuple[str, str]:
    readiness = KafkaReadiness("127.0.0.1:1")
    client = await aiohttp_client(health_app("notifier", readiness, lambda: counters, HELPS))
    resp = await client.get("/metrics")
    assert resp.status == 200
    text = await resp.text()
    await readiness.close()
    return resp.headers["Content-Type"], text


async def test_metrics_are_prometheus_text_with_help_and_type(aiohttp_client: Any) -> None:
    content_type, text = await _scrape(aiohttp_client, {"records_total": 12_345_678, "in_flight": 3, "ratio": 0.25})
    assert content_type.startswith("text/plain; version=")
    # Names ending in _total are counters (name unchanged), the rest gauges; each has its help text.
    assert "# HELP barcode_notifier_records_total Records polled.\n" \
           "# TYPE barcode_notifier_records_total counter\n" in text
    assert "# HELP barcode_notifier_in_flight Records not yet acknowledged.\n" \
           "# TYPE barcode_notifier_in_flight gauge\n" in text
    found = families(text)
    assert (found["barcode_notifier_records"].type, found["barcode_notifier_in_flight"].type) == ("counter", "gauge")
    # A counter says when it started from zero; a gauge does not.
    assert "barcode_notifier_records_created" in found and "barcode_notifier_in_flight_created" not in found
    values = samples(text)
    assert values["barcode_notifier_records_total"] == 12_345_678  # exact, as Prometheus reads it
    assert (values["barcode_notifier_in_flight"], values["barcode_notifier_ratio"]) == (3, 0.25)


async def test_values_are_read_at_each_scrape(aiohttp_client: Any) -> None:
    counts = {"records_total": 2}
    readiness = KafkaReadiness("127.0.0.1:1")
    client = await aiohttp_client(health_app("router", readiness, lambda: counts, HELPS))
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    first = samples(await (await client.get("/metrics")).text())
    counts["records_total"] = 5
    second = samples(await (await client.get("/metrics")).text())
    assert (first["barcode_router_records_total"], second["barcode_router_records_total"]) == (2, 5)
    assert first["barcode_router_records_created"] == second["barcode_router_records_created"]
    await readiness.close()
