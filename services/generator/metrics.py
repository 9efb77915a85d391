"""The generator's HTTP side: /healthz (the process), /readyz (Kafka reachable) and Prometheus
/metrics (jobs rendered, served from storage, failed, and failed verification: a verification
failure is a bug worth alerting on)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from services.generator.jobs import JobRunner
from services.readiness import KafkaReadiness


def _metrics_app(runner: JobRunner, readiness: KafkaReadiness) -> web.Application:
    async def metrics(request: web.Request) -> web.Response:
        lines = []
        for name, value in sorted(runner.counts.items()):
            lines += [f"# TYPE barcode_generator_{name}_total counter", f"barcode_generator_{name}_total {value}"]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        body, status = await readiness.answer()
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serve_metrics(runner: JobRunner, host: str, port: int, bootstrap: str) -> AsyncIterator[None]:
    """Serve while the generator runs; port 0 turns the endpoint off."""
    if port == 0:
        yield
        return
    readiness = KafkaReadiness(bootstrap)
    web_runner = web.AppRunner(_metrics_app(runner, readiness), access_log=None)
    await web_runner.setup()
    await web.TCPSite(web_runner, host, port).start()
    try:
        yield
    finally:
        await web_runner.cleanup()
        await readiness.close()
