"""services/metrics.py, the /metrics of every service: each metric a service can report has its
help text (a missing one would fail the whole scrape), and labelled counters read right."""
from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from services.batcher import app as batcher
from services.batcher.settings import BatcherSettings
from services.gateway import metrics as gateway
from services.gateway.context import Gateway
from services.gateway.settings import GatewaySettings
from services.gateway.results.sockets import SocketRegistry
from services.gateway.jobs.state import JobIndex
from services.generator.app import build_stage as generator_stage
from services.generator.settings import GeneratorSettings
from services.kafka import stage
from services.kafka.handler import DeadLetters
from services.kafka.outbox import Outbox
from services.kafka.renewing import RenewingProducer
from services.kafka.runtime import Runtime
from services.metrics import Histogram, Labelled, Reading, Readings
from services.notifier.app import build_stage as notifier_stage
from services.notifier.settings import NotifierSettings
from services.router.app import build_stage as router_stage
from services.router.settings import RouterSettings
from services.settings import Env
from tests.services.kafka.fakes import FakeProducer
from tests.support.metrics import samples


def _text(read: Reading, helps: dict[str, str]) -> str:
    registry = CollectorRegistry()
    registry.register(Readings("barcode_test", read, helps))
    return generate_latest(registry).decode()


def test_a_labelled_counter_is_one_sample_per_label_value() -> None:
    text = _text(lambda: {"rejections_total": Labelled("code", {"not_found": 2, "rate_limited": 1})},
                 {"rejections_total": "Refusals by code."})
    assert "# HELP barcode_test_rejections_total Refusals by code.\n# TYPE barcode_test_rejections_total counter\n" \
           in text
    values = samples(text)
    assert values['barcode_test_rejections_total{code="not_found"}'] == 2
    assert values['barcode_test_rejections_total{code="rate_limited"}'] == 1
    assert set(values) >= {'barcode_test_rejections_created{code="not_found"}'}


def test_a_metric_without_help_text_is_a_bug_named_at_the_scrape() -> None:
    with pytest.raises(KeyError, match="barcode_test_unknown_total"):
        _text(lambda: {"unknown_total": 1}, {})


def test_every_stage_runtime_metric_has_help() -> None:
    runtime = Runtime(Outbox(FakeProducer()), lambda record: (), DeadLetters("dl", "test"), 10)  # type: ignore[arg-type]
    assert {*runtime.metrics(), "producer_renewals_total"} == set(stage.HELP)


async def test_every_service_metric_has_help() -> None:
    env = Env({})
    router, notifier = router_stage(RouterSettings.from_env(env)), notifier_stage(NotifierSettings.from_env(env))
    generator = generator_stage(GeneratorSettings.from_env(env))
    try:
        for built in (router, notifier, generator):
            assert set(built.counters()) == set(built.helps), built.name
            assert not set(built.helps) & set(stage.HELP), built.name  # no name served twice
    finally:
        assert generator.close is not None and generator.producer is not None
        await generator.close()
        await generator.producer.stop()
    no_kafka = RenewingProducer(lambda: None)  # type: ignore[arg-type, return-value]
    assert set(batcher.Batcher(BatcherSettings.from_env(env), no_kafka).metrics()) == set(batcher.HELP)
    gw = Gateway(settings=GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s"})), index=JobIndex(60),
                 registry=SocketRegistry())
    assert set(gateway.reading(gw)) == set(gateway.HELP)


def test_a_metric_with_two_labels_is_served_one_series_per_pair() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from services.metrics import Labelled, Readings

    registry = CollectorRegistry(auto_describe=False)
    lags = {("barcode.requests", "0"): 3.0, ("barcode.requests", "1"): 0.0}
    registry.register(Readings("barcode_router", lambda: {"consumer_lag": Labelled(("topic", "partition"), lags)},
                               {"consumer_lag": "records not committed"}))
    text = generate_latest(registry).decode()
    assert 'barcode_router_consumer_lag{partition="0",topic="barcode.requests"} 3.0' in text
    assert 'barcode_router_consumer_lag{partition="1",topic="barcode.requests"} 0.0' in text


def test_every_metric_the_documented_alerts_use_is_one_a_service_serves() -> None:
    from pathlib import Path

    from services.gateway.metrics import HELP as GATEWAY_HELP
    from services.generator.app import HELP as GENERATOR_HELP
    from services.lag.app import HELP as LAG_HELP

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    rules = doc[doc.index("The alerts that matter"):]
    served = {f"barcode_gateway_{name}" for name in GATEWAY_HELP}
    served |= {f"barcode_{stage_name}_{name}" for stage_name in ("router", "generator", "notifier")
               for name in stage.HELP}
    served |= {f"barcode_generator_{name}" for name in GENERATOR_HELP}
    served |= {f"barcode_kafka_{name}" for name in LAG_HELP}
    named = set(re.findall(r"\bbarcode_[a-z_]+\b", rules))
    # A regex over stage names stands for each of them.
    for pattern in re.findall(r"barcode_\(([a-z|]+)\)_([a-z_]+)", rules):
        named |= {f"barcode_{s}_{pattern[1]}" for s in pattern[0].split("|")}
    named = {n for n in named if not n.endswith("_")}
    assert named and named <= served, named - served


def test_a_histogram_reads_as_prometheus_buckets_that_histogram_quantile_can_use() -> None:
    latency = Histogram((0.01, 0.1, 1.0))
    for seconds in (0.005, 0.01, 0.05, 0.05, 0.5, 3.0):
        latency.observe(seconds)
    text = _text(lambda: {"handle_seconds": latency}, {"handle_seconds": "Seconds per record."})
    found = samples(text)
    assert "# TYPE barcode_test_handle_seconds histogram" in text
    # Cumulative, a value on a bound counted in it (le), everything in +Inf.
    assert [found[f'barcode_test_handle_seconds_bucket{{le="{le}"}}'] for le in ("0.01", "0.1", "1.0", "+Inf")] == [
        2, 4, 5, 6]
    assert found["barcode_test_handle_seconds_count"] == 6
    assert found["barcode_test_handle_seconds_sum"] == pytest.approx(3.615)


async def test_the_notifier_counts_each_jobs_result_once_by_status_and_code() -> None:
    from services.contract import ErrorInfo, Result, encode
    from services.notifier.app import notify_handler
    from services.notifier.notify import RecentJobs
    from tests.services.kafka.fakes import record

    outcomes: dict[tuple[str, str], float] = {}
    handle = notify_handler("notifications", RecentJobs(100), "rows", outcomes)
    failed = Result(job_id="j2", status="failed", error=ErrorInfo(code="data_invalid", message="no"))
    for n, result in enumerate((Result(job_id="j1", status="completed"), failed, failed)):  # j2 twice: a repeat
        handle(record(n, encode(result)))
    assert outcomes == {("completed", ""): 1, ("failed", "data_invalid"): 1}
    text = _text(lambda: {"results_total": Labelled(("status", "code"), outcomes)},
                 {"results_total": "Final results."})
    assert samples(text)['barcode_test_results_total{code="data_invalid",status="failed"}'] == 1
