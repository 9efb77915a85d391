"""Traces through the stage runtime, against the real OpenTelemetry SDK with an in-memory
exporter and the runtime's in-process fakes: a record that names a parent gets a span under
it, and what it causes names that span; a record without one costs nothing and carries nothing."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services import tracing
from services.kafka.handler import DeadLetters, Output, Outputs, Record
from services.kafka.outbox import Outbox
from services.kafka.runtime import Runtime
from services.settings import ConfigError
from tests.services.kafka.fakes import FakeConsumer, FakeProducer, record

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-01".encode()
ON = {"BARCODE_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure("router", ON, exporter=exporter)
    yield exporter
    tracing.configure("router", {})  # off again for the other tests


async def _until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def _annotated(record: Record) -> Outputs:
    tracing.annotate(job_id="job-1", company=None)  # None is left out, not refused
    with tracing.child("inner"):
        pass
    return (Output("out", record.key, b"x"), Output("out", record.key, b"y"))


async def _run_one(handler: Callable[[Record], object], rec: Record) -> FakeProducer:
    consumer, producer = FakeConsumer(), FakeProducer(auto_ack=True)
    consumer.polls.append([rec])
    runtime = Runtime(Outbox(producer), handler, DeadLetters("dl", "test"), 100, 2.0,  # type: ignore[arg-type]
                      consumer=consumer, span="route")  # type: ignore[arg-type]
    loop = asyncio.create_task(runtime.run())
    await _until(lambda: len(producer.sent) == 2)
    runtime.stop()
    await loop
    return producer


async def test_a_traced_record_gets_a_span_under_its_parent_and_its_outputs_name_that_span(
        spans: InMemorySpanExporter) -> None:
    producer = await _run_one(_annotated, record(0, headers=(("traceparent", TRACEPARENT),)))
    by_name = {s.name: s for s in spans.get_finished_spans()}
    route, inner = by_name["route"], by_name["inner"]
    assert route.context.trace_id == TRACE_ID and route.parent is not None and route.parent.span_id == PARENT_ID
    assert inner.parent is not None and inner.parent.span_id == route.context.span_id
    assert route.attributes == {"job.id": "job-1"}
    assert route.resource.attributes["service.name"] == "barcode-router"
    expected = f"00-{TRACE_ID:032x}-{route.context.span_id:016x}-01".encode()
    assert producer.headers == [[("traceparent", expected)]] * 2


async def test_an_async_handlers_task_sees_the_span_of_its_record(spans: InMemorySpanExporter) -> None:
    async def slow(record: Record) -> Outputs:
        await asyncio.sleep(0.01)
        return _annotated(record)

    await _run_one(slow, record(0, headers=(("traceparent", TRACEPARENT),)))
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert by_name["inner"].parent.span_id == by_name["route"].context.span_id  # type: ignore[union-attr]
    assert by_name["route"].end_time >= by_name["inner"].end_time  # type: ignore[operator]


async def test_a_record_without_a_traceparent_makes_no_span_and_carries_no_header(spans: InMemorySpanExporter) -> None:
    producer = await _run_one(_annotated, record(0))
    assert spans.get_finished_spans() == ()
    assert producer.headers == [None, None]


async def test_a_parent_that_was_not_sampled_is_followed(spans: InMemorySpanExporter) -> None:
    unsampled = f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-00".encode()
    producer = await _run_one(_annotated, record(0, headers=(("traceparent", unsampled),)))
    assert spans.get_finished_spans() == ()
    assert producer.headers == [None, None]


def test_a_root_span_follows_the_sample_share() -> None:
    exporter = InMemorySpanExporter()
    try:
        tracing.configure("gateway", {**ON, "BARCODE_TRACE_SAMPLE": "0"}, exporter=exporter)
        assert tracing.start("publish", root=True, job_id="j") is None
        tracing.configure("gateway", ON, exporter=exporter)
        span = tracing.start("publish", root=True, job_id="j")
        assert span is not None
        tracing.end(span, RuntimeError("broker away"))
        (finished,) = exporter.get_finished_spans()
        assert finished.status.description == "RuntimeError: broker away"
    finally:
        tracing.configure("gateway", {})


def test_off_by_default_and_bad_settings_name_the_variable() -> None:
    assert tracing.configure("gateway", {}) is False and not tracing.enabled()
    assert tracing.parent_of((("traceparent", TRACEPARENT),)) is None
    with pytest.raises(ConfigError, match="BARCODE_TRACE_SAMPLE"):
        tracing.configure("gateway", {**ON, "BARCODE_TRACE_SAMPLE": "1.5"})
    with pytest.raises(ConfigError, match="BARCODE_OTLP_ENDPOINT"):
        tracing.configure("gateway", {"BARCODE_OTLP_ENDPOINT": "127.0.0.1:4318"})
