"""A stage's HTTP side: /healthz (the process), /readyz (Kafka reachable, services/kafka/readiness.py)
and Prometheus /metrics (the runtime's counters, plus any the service adds: services/metrics.py)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from aiohttp import web

from services.kafka.readiness import KafkaReadiness
from services.metrics import Reading, add_metrics_route


def health_app(service: str, readiness: KafkaReadiness, counters: Reading,
               helps: Mapping[str, str]) -> web.Application:
    """`counters` are read at each scrape, as barcode_<service>_<name>; `helps` has a help text for each name."""

    async def healthz(request: web.Request) -> web.Response:
        # Answers while the event loop runs: liveness must not depend on the broker.
        return web.json_response({"status": "ok", "app": f"barcode-{service}"})

    async def readyz(request: web.Request) -> web.Response:
        body, status = await readiness.answer()
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    add_metrics_route(app, f"barcode_{service}", counters, helps)
    return app


@asynccontextmanager
async def serve_health(service: str, host: str, port: int, bootstrap: str, counters: Reading,
                       helps: Mapping[str, str]) -> AsyncIterator[None]:
    """Serve the probes while the stage runs, from before Kafka answers; port 0 serves nothing."""
    if port == 0:
        yield
        return
    readiness = KafkaReadiness(bootstrap)
    runner = web.AppRunner(health_app(service, readiness, counters, helps), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        yield
    finally:
        await runner.cleanup()
        await readiness.close()
