"""The router's handler in process: a request record in, what to publish out; requests for a
company with an enrichment endpoint are awaitables (they run beside the others)."""
from __future__ import annotations

import asyncio
import dataclasses
import inspect
from typing import Any

import pytest

from services import contract
from services.companies.profiles import DEFAULT_COMPANIES, EnrichmentSettings, Profile, load_profiles
from services.router.app import route_handler
from services.router.enrichment import EnrichmentFailed, Enricher
from services.settings import Env, KafkaSettings
from services.kafka.handler import DeadLetters
from tests.services.kafka.fakes import record

KAFKA = KafkaSettings.from_env(Env({}))


class FakeEnricher(Enricher):
    def __init__(self, answer: dict[str, Any] | Exception, delay_s: float = 0.0) -> None:
        super().__init__()
        self.answer, self.delay_s = answer, delay_s

    async def fetch(self, company: str, settings: EnrichmentSettings, payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(self.delay_s)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    loaded = load_profiles(DEFAULT_COMPANIES)
    partner = EnrichmentSettings(url="http://127.0.0.1:1/enrich")
    return {**loaded, "Partner": dataclasses.replace(loaded["Default"], name="Partner", enrichment=partner),
            "Lenient": dataclasses.replace(loaded["Default"], name="Lenient",
                                           enrichment=dataclasses.replace(partner, on_failure="defaults"))}


def _request(job_id: str = "j1", **fields: Any) -> bytes:
    return contract.encode(contract.GenerateRequest(job_id=job_id, data=fields.pop("data", "ABC"), **fields))


def _handler(profiles: dict[str, Profile], enricher: Enricher | None = None) -> Any:
    return route_handler(KAFKA, profiles, enricher or FakeEnricher({}), DeadLetters("barcode.deadletter", "router"))


def test_a_request_without_enrichment_is_routed_inline(profiles: dict[str, Profile]) -> None:
    [out] = _handler(profiles)(record(0, _request(company="CompanyA", data="590123412345")))
    job = contract.decode(contract.RenderJob, out.value)
    assert out.topic == "barcode.render" and out.key == b"j1" and job.symbology == "ean13"


def test_a_forbidden_request_is_a_failed_result(profiles: dict[str, Profile]) -> None:
    [out] = _handler(profiles)(record(0, _request(company="CompanyB", symbology="ean13")))
    assert out.topic == "barcode.results"
    assert contract.decode(contract.Result, out.value).error.code == "symbology_not_allowed"  # type: ignore[union-attr]


async def test_enrichment_is_awaited_and_its_parameters_applied(profiles: dict[str, Profile]) -> None:
    outcome = _handler(profiles, FakeEnricher({"format": "svg"}))(record(0, _request(company="Partner")))
    assert inspect.isawaitable(outcome)
    [out] = await outcome
    assert contract.decode(contract.RenderJob, out.value).format == "svg"


async def test_a_failing_partner_answers_the_client_and_dead_letters_the_request(profiles: dict[str, Profile]) -> None:
    handle = _handler(profiles, FakeEnricher(EnrichmentFailed("down", attempts=3)))
    result, letter = await handle(record(4, _request(company="Partner"), partition=1))
    failed = contract.decode(contract.Result, result.value)
    assert failed.error is not None and failed.error.code == "enrichment_unavailable" and failed.error.retryable
    dead = contract.decode(contract.DeadLetter, letter.value)
    assert (dead.partition, dead.offset, dead.attempts, dead.error.retryable) == (1, 4, 3, True)


async def test_on_failure_defaults_goes_on_without_the_partner(profiles: dict[str, Profile]) -> None:
    [out] = await _handler(profiles, FakeEnricher(EnrichmentFailed("down", 3)))(record(0, _request(company="Lenient")))
    assert out.topic == "barcode.render"


async def test_a_bug_in_enrichment_still_answers_the_client(profiles: dict[str, Profile]) -> None:
    [out] = await _handler(profiles, FakeEnricher(RuntimeError("bug")))(record(0, _request(company="Partner")))
    assert contract.decode(contract.Result, out.value).error.code == "internal_error"  # type: ignore[union-attr]


def test_undecodable_bytes_raise_for_the_runtime_to_dead_letter(profiles: dict[str, Profile]) -> None:
    with pytest.raises(contract.SchemaError):
        _handler(profiles)(record(0, b"\xff"))
