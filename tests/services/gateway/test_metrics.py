"""The gateway's /metrics as Prometheus reads it: the app init_app builds, scraped without Kafka."""
from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.contract import GenerateRequest
from services.gateway.app import init_app
from services.gateway.context import GATEWAY
from services.gateway.settings import GatewaySettings
from services.settings import Env
from tests.support.metrics import families, samples

COUNTERS = ("jobs_published", "producer_renewals", "jobs_evicted", "duplicate_results_dropped", "results_read",
            "server_errors", "rejections", "image_hits", "image_misses", "image_not_modified", "image_from_memory")
GAUGES = ("jobs_known", "websockets", "result_partitions_held", "image_memory_bytes")
HISTOGRAMS = ("job_seconds",)


def _app() -> web.Application:
    return init_app(GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s"})))


async def _scrape(app: web.Application) -> str:
    request = make_mocked_request("GET", "/metrics", app=app)
    response = await (await app.router.resolve(request)).handler(request)
    assert isinstance(response, web.Response) and response.status == 200
    assert response.content_type == "text/plain" and response.text is not None
    return response.text


async def test_every_metric_keeps_its_name_and_type_and_has_help() -> None:
    app = _app()
    app[GATEWAY].errors["not_found"] += 1  # a labelled counter's family has a sample from its first
    text = await _scrape(app)
    found = families(text)
    for name in COUNTERS:
        assert found[f"barcode_gateway_{name}"].type == "counter", name
        assert f"# TYPE barcode_gateway_{name}_total counter\n" in text, name
        assert f"barcode_gateway_{name}_created" in found, name
    for name in GAUGES:
        assert found[f"barcode_gateway_{name}"].type == "gauge", name
        assert f"# TYPE barcode_gateway_{name} gauge\n" in text, name
    for name in HISTOGRAMS:
        assert found[f"barcode_gateway_{name}"].type == "histogram", name
        assert f'barcode_gateway_{name}_bucket{{le="+Inf"}} 0.0\n' in text, name  # none observed yet
    assert all(family.documentation for family in found.values())
    assert set(found) == {f"barcode_gateway_{n}" for n in (*COUNTERS, *GAUGES, *HISTOGRAMS)} | {
        f"barcode_gateway_{n}_created" for n in COUNTERS}


async def test_values_are_what_the_gateway_counted() -> None:
    app = _app()
    gw = app[GATEWAY]
    gw.index.max_jobs = 2  # the third job evicts the first
    before = samples(await _scrape(app))
    assert before["barcode_gateway_jobs_published_total"] == 0 and before["barcode_gateway_jobs_known"] == 0
    assert not any(name.startswith("barcode_gateway_rejections_total") for name in before)  # none yet
    for n in range(3):
        gw.index.add_request(GenerateRequest(job_id=f"j{n}", data="ABC"))
    gw.publisher = SimpleNamespace(published=3, renewals=1)  # type: ignore[assignment]
    gw.errors["not_found"] += 2
    gw.errors["rate_limited"] += 1
    gw.server_errors += 1
    after = samples(await _scrape(app))
    assert after["barcode_gateway_jobs_published_total"] == 3
    assert after["barcode_gateway_producer_renewals_total"] == 1
    assert (after["barcode_gateway_jobs_known"], after["barcode_gateway_jobs_evicted_total"]) == (2, 1)
    assert after["barcode_gateway_server_errors_total"] == 1
    assert after['barcode_gateway_rejections_total{code="not_found"}'] == 2
    assert after['barcode_gateway_rejections_total{code="rate_limited"}'] == 1
