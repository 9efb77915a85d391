"""Builds the router's faust app: one agent, barcode.requests -> barcode.render | barcode.results."""
from __future__ import annotations

import logging
from pathlib import Path

import faust

from services import contract
from services.faust_app import make_app
from services.router.profiles import load_profiles
from services.router.routing import route
from services.router.settings import RouterSettings

log = logging.getLogger(__name__)


def build_app(settings: RouterSettings) -> faust.App:
    profiles = load_profiles(Path(settings.companies_file))
    log.info("company profiles: %s", ", ".join(profiles))
    kafka = settings.kafka
    app = make_app("barcode-router", kafka)
    requests = app.topic(kafka.topic(contract.REQUESTS), value_serializer="raw", key_serializer="raw")
    render = app.topic(kafka.topic(contract.RENDER), value_serializer="raw", key_serializer="raw")
    results = app.topic(kafka.topic(contract.RESULTS), value_serializer="raw", key_serializer="raw")

    @app.agent(requests, concurrency=1)
    async def route_requests(stream: faust.StreamT[bytes]) -> None:
        async for raw in stream:
            try:
                request = contract.decode(contract.GenerateRequest, raw)
            except contract.SchemaError as exc:
                # Poison: nothing to answer to. Logged and skipped so the partition moves on.
                log.error("dropping undecodable request: %s", exc)
                continue
            outcome = route(request, profiles)
            target = render if isinstance(outcome, contract.RenderJob) else results
            delivery = await target.send(key=request.job_id.encode(), value=contract.encode(outcome))
            # Wait for the broker's ack before faust may commit this request's offset.
            await delivery

    return app
