"""Enrichment against a real HTTP server on loopback: merge, retries, timeouts, breaker."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from services.companies.profiles import EnrichmentSettings
from services.router.enrichment import CircuitBreaker, EnrichmentFailed, Enricher


class Partner:
    """A company's endpoint that answers as told and counts its calls."""

    def __init__(self) -> None:
        self.hits = 0
        self.mode = "ok"

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        body = await request.json()
        if self.mode == "slow":
            await asyncio.sleep(1.0)
        if self.mode == "error":
            return web.json_response({"oops": True}, status=503)
        if self.mode == "refuse":
            return web.json_response({"no": True}, status=404)
        return web.json_response({"format": "svg", "options": {"module_height": 9}, "echo": body["data"]})


@pytest.fixture
async def partner() -> AsyncIterator[tuple[Partner, str]]:
    state = Partner()
    app = web.Application()
    app.router.add_post("/params", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield state, f"http://127.0.0.1:{port}/params"
    await runner.cleanup()


async def test_parameters_come_back(partner: tuple[Partner, str]) -> None:
    state, url = partner
    enricher = Enricher()
    try:
        body = await enricher.fetch("C", EnrichmentSettings(url=url), {"data": "X"})
    finally:
        await enricher.close()
    assert body["options"] == {"module_height": 9} and body["echo"] == "X" and state.hits == 1


@pytest.mark.parametrize("mode", ["error", "slow"])
async def test_failures_are_retried_then_reported(partner: tuple[Partner, str], mode: str) -> None:
    state, url = partner
    state.mode = mode
    enricher = Enricher()
    settings = EnrichmentSettings(url=url, timeout_s=0.2, attempts=3, backoff_s=0.01)
    try:
        with pytest.raises(EnrichmentFailed) as caught:
            await enricher.fetch("C", settings, {"data": "X"})
    finally:
        await enricher.close()
    assert caught.value.attempts == 3 and state.hits == 3


async def test_a_refusal_is_not_retried(partner: tuple[Partner, str]) -> None:
    state, url = partner
    state.mode = "refuse"
    enricher = Enricher()
    try:
        with pytest.raises(EnrichmentFailed, match="404"):
            await enricher.fetch("C", EnrichmentSettings(url=url), {"data": "X"})
    finally:
        await enricher.close()
    assert state.hits == 1


async def test_the_breaker_stops_calling_a_failing_partner(partner: tuple[Partner, str]) -> None:
    state, url = partner
    state.mode = "error"
    enricher = Enricher()
    settings = EnrichmentSettings(url=url, attempts=2, backoff_s=0.01, breaker_failures=3, breaker_reset_s=60)
    try:
        for _ in range(5):
            with pytest.raises(EnrichmentFailed):
                await enricher.fetch("C", settings, {"data": "X"})
    finally:
        await enricher.close()
    assert state.hits == 3 * 2  # after three failed requests the breaker opened: two calls skipped


def test_breaker_half_opens_after_the_reset_time() -> None:
    breaker = CircuitBreaker(failures=2, reset_s=10)
    breaker.failed(now=0)
    assert breaker.allow(now=1)
    breaker.failed(now=1)
    assert not breaker.allow(now=5)
    assert breaker.allow(now=11)  # one trial call
    breaker.succeeded()
    assert breaker.allow(now=12) and breaker.consecutive == 0
