"""Builds the router's faust app: one agent, barcode.requests -> barcode.render | barcode.results."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import faust

from services import contract
from services.faust_app import Outbox, decoded, make_app, raw_topic, send_acked
from services.router.profiles import load_profiles
from services.deadletter import dead_letter
from services.router.enrichment import EnrichmentFailed, Enricher
from services.router.routing import enrichment_failure, internal_failure, profile_for, route
from services.router.settings import RouterSettings
from services.settings import health_endpoint

log = logging.getLogger(__name__)


def build_app(settings: RouterSettings) -> faust.App:
    profiles = load_profiles(Path(settings.companies_file))
    log.info("company profiles: %s", ", ".join(profiles))
    kafka = settings.kafka
    app = make_app("barcode-router", kafka, health=health_endpoint("router"))
    requests = raw_topic(app, contract.REQUESTS, kafka)
    render = raw_topic(app, contract.RENDER, kafka)
    results = raw_topic(app, contract.RESULTS, kafka)
    dead_letters = raw_topic(app, contract.DEADLETTER, kafka)

    enricher = Enricher()

    async def enrich(request: contract.GenerateRequest) -> tuple[dict[str, Any] | None, contract.Result | None]:
        """The partner's parameters, or the failed result to send instead (and dead-letter)."""
        profile = profile_for(request, profiles)
        if profile.enrichment is None:
            return None, None
        payload = {"job_id": request.job_id, "company": profile.name, "symbology": request.symbology,
                   "format": request.format, "data": request.data, "options": request.options}
        try:
            return await enricher.fetch(profile.name, profile.enrichment, payload), None
        except EnrichmentFailed as exc:
            if profile.enrichment.on_failure == "defaults":
                log.warning("job %s goes on without enrichment: %s", request.job_id, exc)
                return None, None
            letter = dead_letter(topic=kafka.topic(contract.REQUESTS), partition=-1, offset=-1,
                                 key=request.job_id.encode(), value=contract.encode(request), service="router",
                                 code=contract.ErrorCode.ENRICHMENT_UNAVAILABLE, message=str(exc),
                                 attempts=exc.attempts, retryable=True)
            await send_acked(dead_letters, request.job_id, letter)
            return None, enrichment_failure(request, profile, str(exc))

    @app.agent(requests, concurrency=1)
    async def route_requests(stream: faust.StreamT[bytes]) -> None:
        outbox = Outbox(stream)
        async for event, request in decoded(contract.GenerateRequest, stream, outbox, dead_letters, "router"):
            try:
                enriched, failed = await enrich(request)
                outcome = failed or route(request, profiles, enriched)
            except Exception as exc:  # noqa: BLE001 - a bug must not stall the partition
                log.exception("routing job %s failed", request.job_id)
                outcome = internal_failure(request, exc)
            target = render if isinstance(outcome, contract.RenderJob) else results
            await outbox.publish(event, target, request.job_id, outcome)

    return app
