"""Builds the router's faust app: one agent, barcode.requests -> barcode.render | barcode.results."""
from __future__ import annotations

import logging
from pathlib import Path

import faust

from services import contract
from services.faust_app import decoded, make_app, raw_topic, send_acked
from services.router.profiles import load_profiles
from services.router.routing import internal_failure, route
from services.router.settings import RouterSettings

log = logging.getLogger(__name__)


def build_app(settings: RouterSettings) -> faust.App:
    profiles = load_profiles(Path(settings.companies_file))
    log.info("company profiles: %s", ", ".join(profiles))
    kafka = settings.kafka
    app = make_app("barcode-router", kafka)
    requests = raw_topic(app, contract.REQUESTS, kafka)
    render = raw_topic(app, contract.RENDER, kafka)
    results = raw_topic(app, contract.RESULTS, kafka)
    dead_letters = raw_topic(app, contract.DEADLETTER, kafka)

    @app.agent(requests, concurrency=1)
    async def route_requests(stream: faust.StreamT[bytes]) -> None:
        async for request in decoded(contract.GenerateRequest, stream, dead_letters, "router"):
            try:
                outcome = route(request, profiles)
            except Exception as exc:  # noqa: BLE001 - a bug must not stall the partition
                log.exception("routing job %s failed", request.job_id)
                outcome = internal_failure(request, exc)
            target = render if isinstance(outcome, contract.RenderJob) else results
            await send_acked(target, request.job_id, outcome)

    return app
