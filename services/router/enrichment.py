"""Per-company enrichment: ask the company's own HTTP endpoint for render parameters
(the original workflow's "could make REST calls, with retries").

Each call has a timeout, failed calls are retried with backoff and jitter, and a circuit
breaker per company stops calling a partner that keeps failing: while it is open, requests fail
(or fall back to the profile's defaults) at once instead of each waiting out the timeouts, so
one slow partner holds up the router's partition for a bounded time only.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import aiohttp

from services.companies.profiles import EnrichmentSettings

log = logging.getLogger(__name__)


class EnrichmentFailed(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class CircuitBreaker:
    def __init__(self, failures: int, reset_s: float) -> None:
        self.failures, self.reset_s = failures, reset_s
        self.consecutive = 0
        self.opened_at: float | None = None

    def allow(self, now: float | None = None) -> bool:
        """Closed: yes. Open: no, until reset_s has passed; then one trial call (half-open)."""
        if self.opened_at is None:
            return True
        return (now if now is not None else time.monotonic()) - self.opened_at >= self.reset_s

    def succeeded(self) -> None:
        self.consecutive, self.opened_at = 0, None

    def failed(self, now: float | None = None) -> None:
        self.consecutive += 1
        if self.consecutive >= self.failures:
            if self.opened_at is None:
                log.warning("enrichment circuit opened after %d failed requests", self.consecutive)
            self.opened_at = now if now is not None else time.monotonic()


class Enricher:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.breakers: dict[str, CircuitBreaker] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, company: str, settings: EnrichmentSettings, payload: dict[str, Any]) -> dict[str, Any]:
        """The partner's parameters: a JSON object with optional symbology, format, options."""
        breaker = self.breakers.setdefault(company, CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s))
        if not breaker.allow():
            raise EnrichmentFailed(f"{company}'s enrichment endpoint is failing; circuit open, not called", 0)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        last = ""
        for attempt in range(1, settings.attempts + 1):
            try:
                timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
                async with self._session.post(settings.url, json=payload, timeout=timeout) as resp:
                    if resp.status >= 500 or resp.status == 429:
                        raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status)
                    if resp.status >= 400:  # the partner refuses this request: retrying will not help
                        breaker.succeeded()
                        raise EnrichmentFailed(f"{company}'s enrichment endpoint answered {resp.status}", attempt)
                    body = await resp.json(content_type=None)
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                breaker.succeeded()
                return body
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt < settings.attempts:
                    await asyncio.sleep(random.uniform(0, settings.backoff_s * 2 ** (attempt - 1)))
        breaker.failed()
        raise EnrichmentFailed(f"{company}'s enrichment endpoint failed {settings.attempts} times ({last})",
                               settings.attempts)
