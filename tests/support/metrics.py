"""A /metrics page read the way Prometheus reads it (prometheus_client's parser)."""
from __future__ import annotations

import aiohttp
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families


def families(text: str) -> dict[str, Metric]:
    """Each metric family by its name (a counter's without `_total`, as the parser names it)."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(text: str) -> dict[str, float]:
    """Each sample's value by its name as written, labels included: `name` or `name{code="x"}`."""
    out = {}
    for family in families(text).values():
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def scrape(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """The samples of `base`/metrics (a service's HTTP server)."""
    async with session.get(f"{base}/metrics") as resp:
        assert resp.status == 200, f"{base}/metrics: {resp.status}"
        return samples(await resp.text())
