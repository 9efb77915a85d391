"""Traces of a job across the services: W3C trace context in Kafka record headers, a span per
stage, exported with OTLP over HTTP (to Jaeger, or any OpenTelemetry collector).

Off unless BARCODE_OTLP_ENDPOINT is set (e.g. http://127.0.0.1:4318). Off, nothing here imports
the SDK, no header is written or read, and the per-record cost is one `None` check.

On, the gateway decides which jobs are traced (BARCODE_TRACE_SAMPLE, the share of jobs, 1.0 by
default): a traced job's request record carries `traceparent`; every stage that reads a record
with one makes a span whose parent it names and puts its own span's `traceparent` on what it
writes. A job the gateway did not sample carries no header, so no stage spends anything on it.

Spans: `publish` (gateway) -> `route` (router) -> `generate` (generator; `render`, `verify`,
`upload` inside it) -> `notify` (notifier) -> `deliver` (the gateway that pushes the result to
a socket), and `batch assembly` (batcher). Each has the job's id as `job.id` (a batch's as
`batch.id`) and, once known, `company`: Jaeger finds a job's trace by the tag `job.id=<id>`.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from services.settings import ConfigError, Env

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

log = logging.getLogger(__name__)
HEADER = "traceparent"
Headers = Sequence[tuple[str, bytes]]

_tracer: "Tracer | None" = None


def configure(service: str, environ: Mapping[str, str] | None = None, exporter: "SpanExporter | None" = None) -> bool:
    """Once per process, at its start: the exporter and the sampler from the environment.
    True if traces are on. `service` becomes the spans' service.name (barcode-<service>).
    `exporter`: instead of OTLP (the unit tests' in-memory one); spans then go out one by one."""
    global _tracer
    env = Env(environ)
    endpoint = env.str("BARCODE_OTLP_ENDPOINT", "").rstrip("/")
    sample = env.float("BARCODE_TRACE_SAMPLE", 1.0)
    if sample > 1.0:
        raise ConfigError(f"BARCODE_TRACE_SAMPLE={sample} must be a share of jobs, from 0 to 1")
    if not endpoint:
        _tracer = None
        return False
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"BARCODE_OTLP_ENDPOINT={endpoint!r} must be an http(s) URL, e.g. http://127.0.0.1:4318")
    # Imported only when on: the SDK and the exporter cost start time and memory otherwise.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    # ParentBased: a stage follows the gateway's decision carried in the header's flags; the
    # ratio applies only where a trace starts (the gateway's publish, the batcher's assembly).
    provider = TracerProvider(resource=Resource.create({"service.name": f"barcode-{service}"}),
                              sampler=ParentBased(TraceIdRatioBased(sample)))
    if exporter is not None:
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        # Batched and sent from the SDK's own thread: a span's end is a queue append on the loop.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=5)))
    _tracer = provider.get_tracer("barcode-pipeline")
    log.info("traces on: OTLP to %s/v1/traces, %.0f%% of jobs", endpoint, sample * 100)
    return True


def enabled() -> bool:
    return _tracer is not None


def parent_of(headers: Headers | None) -> "Context | None":
    """The context a record's `traceparent` names, or None (no header: the job is not traced)."""
    if _tracer is None or not headers:
        return None
    for name, value in headers:
        if name == HEADER:
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
            return TraceContextTextMapPropagator().extract({HEADER: value.decode("ascii", "replace")})
    return None


def start(name: str, parent: "Context | None" = None, root: bool = False, **attributes: Any) -> "Span | None":
    """A span that the caller ends (`end`): one that outlives the block it began in (a stage's
    record whose outputs are published later). None when off, or when there is no parent and
    `root` is False (a record of a job that is not traced)."""
    if _tracer is None or (parent is None and not root):
        return None
    from opentelemetry.trace import SpanKind
    span = _tracer.start_span(name, context=parent, kind=SpanKind.CONSUMER if parent else SpanKind.PRODUCER,
                              attributes=_clean(attributes))
    return span if span.is_recording() else None


def end(span: "Span | None", error: BaseException | None = None) -> None:
    if span is None:
        return
    if error is not None:
        span.record_exception(error)
        from opentelemetry.trace import Status, StatusCode
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.end()


def headers(span: "Span | None") -> list[tuple[str, bytes]] | None:
    """The `traceparent` header that makes `span` the parent of whatever reads the record (a
    list: aiokafka's record builder takes no other sequence)."""
    if span is None:
        return None
    ctx = span.get_span_context()
    return [(HEADER, f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}".encode())]


_NOTHING = contextlib.nullcontext()  # reusable: what `active` is for every untraced record


def active(span: "Span | None") -> contextlib.AbstractContextManager[None]:
    """Makes `span` the current one inside the block (a child span, `annotate`, a task created
    here all see it); nothing when None (the shared null context: no generator per record)."""
    return _NOTHING if span is None else _attached(span)


@contextlib.contextmanager
def _attached(span: "Span") -> Iterator[None]:
    from opentelemetry import context, trace
    token = context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        context.detach(token)


@contextlib.contextmanager
def child(name: str, **attributes: Any) -> Iterator[None]:
    """A span inside the current one (the generator's render, verify, upload); nothing when the
    job is not traced. An exception ends it marked as an error, and goes on."""
    if _tracer is None:
        yield
        return
    from opentelemetry import trace
    if not trace.get_current_span().is_recording():
        yield
        return
    with _tracer.start_as_current_span(name, attributes=_clean(attributes)):
        yield


def record(name: str, start_ns: int, end_ns: int, **attributes: Any) -> None:
    """A finished span inside the current one, from times taken elsewhere (the render thread's
    draw and decode, which no span can be opened around from the loop)."""
    if _tracer is None:
        return
    from opentelemetry import trace
    if trace.get_current_span().is_recording():
        _tracer.start_span(name, start_time=start_ns, attributes=_clean(attributes)).end(end_time=end_ns)


def annotate(**attributes: Any) -> None:
    """Attributes on the current span (the company, once the router has chosen it)."""
    if _tracer is None:
        return
    from opentelemetry import trace
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(_clean(attributes))


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """OpenTelemetry refuses None values; dotted names read better in Jaeger (`job_id` -> `job.id`)."""
    return {name.replace("_", "."): value for name, value in attributes.items() if value is not None}
