"""Readiness of a Kafka worker (router, generator, notifier): can it reach the cluster right now?

Liveness stays process-only (/healthz): a broker outage must not make Kubernetes restart every
worker, which would only add rebalances to the outage. Readiness (/readyz) asks the cluster for
its metadata through a small client of its own, so a pod that cannot reach Kafka is reported,
and a rollout waits for workers that can work.
"""
from __future__ import annotations

import asyncio
import time

from aiokafka.client import AIOKafkaClient

# Probes come every few seconds per pod; one metadata request per second at most.
CACHE_S = 1.0


class KafkaReadiness:
    def __init__(self, bootstrap: str, timeout_s: float = 2.0) -> None:
        self.bootstrap, self.timeout_s = bootstrap, timeout_s
        self._client: AIOKafkaClient | None = None
        self._last: tuple[float, bool, str] = (0.0, False, "not checked yet")
        self._lock = asyncio.Lock()

    async def check(self) -> tuple[bool, str]:
        """(ready, why): True once a metadata request answered within `timeout_s`."""
        async with self._lock:
            checked_at, ready, why = self._last
            if time.monotonic() - checked_at < CACHE_S:
                return ready, why
            try:
                if self._client is None:
                    client = AIOKafkaClient(bootstrap_servers=self.bootstrap, client_id="readiness",
                                            request_timeout_ms=int(self.timeout_s * 1000))
                    await asyncio.wait_for(client.bootstrap(), self.timeout_s)
                    self._client = client
                metadata = await asyncio.wait_for(self._client.fetch_all_metadata(), self.timeout_s)
                ready, why = bool(metadata.brokers()), f"{len(metadata.brokers())} broker(s) reachable"
            except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001 - any failure means "not ready"
                ready, why = False, f"kafka unreachable: {type(exc).__name__}: {exc}"
            self._last = (time.monotonic(), ready, why)
            return ready, why

    async def answer(self) -> tuple[dict[str, str], int]:
        """The /readyz body and status every worker serves: 200 ready, 503 not (with why)."""
        ready, why = await self.check()
        return {"status": "ready" if ready else "not_ready", "kafka": why}, 200 if ready else 503

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
