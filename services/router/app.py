"""The router as a stage: barcode.requests -> barcode.render | barcode.results.

Most companies have no enrichment endpoint: their requests are routed inline, in input order,
with no task. A request for a company with one is an awaitable the runtime runs beside the
others, so a slow partner holds back only its own requests (bounded by its timeouts and
circuit breaker), not its partition's other companies; the partition's offset still moves only
past requests whose outputs the broker acknowledged.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from services import contract, tracing
from services.companies.profiles import Profile, load_profiles
from services.router.enrichment import EnrichmentFailed, Enricher
from services.router.routing import enrichment_failure, internal_failure, profile_for, route
from services.router.settings import RouterSettings
from services.settings import KafkaSettings
from services.kafka.handler import DeadLetters, Handler, Output, Outputs, Record
from services.kafka.stage import Stage

log = logging.getLogger(__name__)

HELP = {  # /metrics: the router's own
    "enrichment_breakers_open": "Companies whose enrichment endpoint's circuit breaker is open (calls refused, "
                                "but for a trial once the reset time has passed).",
}


def route_handler(kafka: KafkaSettings, profiles: dict[str, Profile], enricher: Enricher,
                  dead_letters: DeadLetters) -> Handler:
    render, results = kafka.topic(contract.RENDER), kafka.topic(contract.RESULTS)

    def answer(request: contract.GenerateRequest, enriched: dict[str, Any] | None) -> Output:
        try:
            outcome = route(request, profiles, enriched)
        except Exception as exc:  # noqa: BLE001 - a bug must not stall the partition; the client is answered
            log.exception("routing job %s failed", request.job_id)
            outcome = internal_failure(request, exc)
        target = render if isinstance(outcome, contract.RenderJob) else results
        return Output(target, request.job_id.encode(), contract.encode(outcome))

    async def enrich_then_route(record: Record, request: contract.GenerateRequest, profile: Profile) -> Outputs:
        assert profile.enrichment is not None
        payload = {"job_id": request.job_id, "company": profile.name, "symbology": request.symbology,
                   "format": request.format, "data": request.data, "options": request.options}
        try:
            enriched = await enricher.fetch(profile.name, profile.enrichment, payload)
        except EnrichmentFailed as exc:
            return failed_enrichment(record, request, profile, exc)
        except Exception as exc:  # noqa: BLE001 - as in answer(): the client is told, the partition moves on
            log.exception("enriching job %s failed", request.job_id)
            return (Output(results, request.job_id.encode(), contract.encode(internal_failure(request, exc))),)
        return (answer(request, enriched),)

    def failed_enrichment(record: Record, request: contract.GenerateRequest, profile: Profile,
                          exc: EnrichmentFailed) -> Outputs:
        assert profile.enrichment is not None
        if profile.enrichment.on_failure == "defaults":
            log.warning("job %s goes on without enrichment: %s", request.job_id, exc)
            return (answer(request, None),)
        # The client gets a retryable failure; the request waits in the dead letters for a redrive.
        failed = enrichment_failure(request, profile, str(exc))
        return (Output(results, request.job_id.encode(), contract.encode(failed)),
                dead_letters.of(record, contract.ErrorCode.ENRICHMENT_UNAVAILABLE, str(exc), exc.attempts,
                                retryable=True))

    def handle(record: Record) -> Outputs | Awaitable[Outputs]:
        request = contract.decode(contract.GenerateRequest, record.value)  # SchemaError: a dead letter
        profile = profile_for(request, profiles)
        tracing.annotate(job_id=request.job_id, company=profile.name, batch_id=request.batch_id)
        if profile.enrichment is None:
            return (answer(request, None),)
        return enrich_then_route(record, request, profile)

    return handle


def build_stage(settings: RouterSettings) -> Stage:
    profiles = load_profiles(Path(settings.companies_file))
    log.info("company profiles: %s", ", ".join(profiles))
    kafka = settings.kafka
    enricher = Enricher()

    dead_letters = DeadLetters(kafka.topic(contract.DEADLETTER), "router")
    return Stage(
        name="router", kafka=kafka, group="barcode-router", source=contract.REQUESTS, span="route",
        outputs=(contract.RENDER, contract.RESULTS),
        handler=route_handler(kafka, profiles, enricher, dead_letters),
        max_in_flight=settings.max_in_flight, health=settings.health,
        counters=lambda: {"enrichment_breakers_open": sum(b.opened_at is not None for b in enricher.breakers.values())},
        helps=HELP,
        close=enricher.close,
    )
