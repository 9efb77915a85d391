"""A stage's HTTP side: /healthz (the process), /readyz (Kafka reachable, services/kafka/readiness.py)
and Prometheus /metrics (the runtime's counters, plus any the service adds)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from aiohttp import web

from services.kafka.readiness import KafkaReadiness

Counters = Callable[[], Mapping[str, float]]


def metrics_text(prefix: str, counters: Mapping[str, float]) -> str:
    """Prometheus text: names ending in _total are counters, the rest gauges."""
    lines = []
    for name, value in sorted(counters.items()):
        kind = "counter" if name.endswith("_total") else "gauge"
        shown = str(value) if isinstance(value, int) else f"{value:.6g}"  # a count stays an integer
        lines += [f"# TYPE {prefix}_{name} {kind}", f"{prefix}_{name} {shown}"]
    return "\n".join(lines) + "\n"


def health_app(service: str, readiness: KafkaReadiness, counters: Counters) -> web.Application:
    prefix = f"barcode_{service}"

    async def healthz(request: web.Request) -> web.Response:
        # Answers while the event loop runs: liveness must not depend on the broker.
        return web.json_response({"status": "ok", "app": f"barcode-{service}"})

    async def readyz(request: web.Request) -> web.Response:
        body, status = await readiness.answer()
        return web.json_response(body, status=status)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=metrics_text(prefix, counters()), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


@asynccontextmanager
async def serve_health(service: str, host: str, port: int, bootstrap: str, counters: Counters) -> AsyncIterator[None]:
    """Serve the probes while the stage runs, from before Kafka answers; port 0 serves nothing."""
    if port == 0:
        yield
        return
    readiness = KafkaReadiness(bootstrap)
    runner = web.AppRunner(health_app(service, readiness, counters), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        yield
    finally:
        await runner.cleanup()
        await readiness.close()
