"""Prometheus /metrics of every service, written by prometheus_client from values read at each scrape.

A service hands over a reading (the current value of each of its metrics, by name without the
`barcode_<service>` prefix) and one table of help texts; names ending in `_total` are counters,
the rest gauges. A value is a number, `Labelled` for a metric with labels, or a `Histogram`
(latencies: Prometheus' histogram_quantile reads their buckets). Counters carry
their `_created` time: when the app was made, before the service counted anything. Each app has a
registry of its own (not prometheus_client's global one: tests build many apps in one process).
"""
from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest


class Labelled(NamedTuple):
    """One metric per value of a label: `rejections_total{code="not_found"}`; or of several,
    their values as tuples: `consumer_lag{topic="barcode.requests",partition="0"}`."""

    label: str | tuple[str, ...]
    values: Mapping[str, float] | Mapping[tuple[str, ...], float]


# Upper bounds, in seconds: a job's stages take from well under a millisecond (a notification)
# to seconds (a large PDF, a slow store).
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    """Observations counted in fixed buckets, as a Prometheus histogram: an observe is a bisect
    and two additions (a stage observes every record)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float] = LATENCY_BUCKETS_S) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last: above every bound (+Inf)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # le: a value on a bound counts in it
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts by upper bound, +Inf last (what HistogramMetricFamily takes)."""
        out, running = [], 0
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts):
            running += count
            out.append((bound, float(running)))
        return out


Value = float | Labelled | Histogram
Reading = Callable[[], Mapping[str, Value]]


class Readings:
    """A prometheus_client collector: the service's reading, as metric families."""

    def __init__(self, prefix: str, read: Reading, helps: Mapping[str, str]) -> None:
        self.prefix, self.read, self.helps = prefix, read, helps
        self.created = time.time()

    def collect(self) -> Iterator[Metric]:
        for name, value in sorted(self.read().items()):
            if name not in self.helps:
                raise KeyError(f"{self.prefix}_{name} has no help text")
            if isinstance(value, Histogram):
                yield HistogramMetricFamily(f"{self.prefix}_{name}", self.helps[name], buckets=value.buckets(),
                                            sum_value=value.total)
                continue
            labels, rows = _rows(value)
            if name.endswith("_total"):  # prometheus_client keeps the name: it ends in _total
                counter = CounterMetricFamily(f"{self.prefix}_{name}", self.helps[name], labels=labels)
                for at, number in rows:
                    counter.add_metric(at, number, created=self.created)
                yield counter
            else:
                gauge = GaugeMetricFamily(f"{self.prefix}_{name}", self.helps[name], labels=labels)
                for at, number in rows:
                    gauge.add_metric(at, number)
                yield gauge


def _rows(value: float | Labelled) -> tuple[list[str], list[tuple[list[str], float]]]:
    """(label names, [(label values, number)]) of one reading."""
    if not isinstance(value, Labelled):
        return [], [([], value)]
    if isinstance(value.label, tuple):
        return list(value.label), [(list(key), n) for key, n in sorted(value.values.items())]  # type: ignore[arg-type]
    return [value.label], [([str(key)], n) for key, n in sorted(value.values.items())]


def add_metrics_route(app: web.Application, prefix: str, read: Reading, helps: Mapping[str, str]) -> None:
    """GET /metrics on `app`: `read()` at each scrape, as `<prefix>_<name>` with its help text."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Readings(prefix, read, helps))

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
