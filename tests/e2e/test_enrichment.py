"""A company profile with an HTTP enrichment endpoint, through the real router."""
from __future__ import annotations

import aiohttp

from tests.support.client import generate, next_message


async def test_partner_parameters_are_applied_and_a_failing_partner_is_an_answer(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        _, enriched = await generate(ws, company="CompanyE", data="ENRICHED")
        assert enriched["type"] == "completed", enriched
        assert enriched["content_type"] == "image/svg+xml"  # the partner chose SVG; the profile says PNG
        _, failed = await generate(ws, company="CompanyE", data="FAIL-PARTNER")
        assert failed["type"] == "failed"
        assert failed["error"]["code"] == "enrichment_unavailable" and failed["error"]["retryable"] is True
