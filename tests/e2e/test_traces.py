"""One job's trace across every service, read back from a real Jaeger through its query API.

A traced pipeline (router, generator, notifier, gateway with BARCODE_OTLP_ENDPOINT set) runs on
the shared broker and store under a topic prefix of its own, exporting to a Jaeger started here.
A job asked over a WebSocket must come back as one trace: publish -> route -> generate (render,
verify, upload inside) -> notify -> deliver, each span in its own service, under the one before;
and the per-hop stamps the client gets (`trace`, which the page's timeline draws) fall inside
the spans of the stages that wrote them.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devstack.jaeger import JaegerServer
from devstack.services import ServiceProcess
from devstack.stack import Stack

pytestmark = pytest.mark.stack
STAGES = ("router", "generator", "notifier")


@pytest.fixture(scope="module")
def traced(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, JaegerServer]]:
    jaeger = JaegerServer(tmp_path_factory.mktemp("jaeger"))
    jaeger.start()
    # Spans leave every 100 ms instead of the SDK's 5 s, so the test waits on Jaeger briefly.
    env = {"BARCODE_OTLP_ENDPOINT": jaeger.otlp_endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100",
           "BARCODE_TOPIC_PREFIX": f"traced-{uuid.uuid4().hex[:6]}."}
    started: list[tuple[str, ServiceProcess]] = []
    try:
        for name in (*(f"{stage}-traced" for stage in STAGES), "gateway-traced"):
            svc = stack.service(name, **env)
            svc.start(wait=False)
            started.append((name, svc))
        for _, svc in started:
            svc.wait_ready(timeout=120)
        yield started[-1][1].url, jaeger
    finally:
        for name, svc in reversed(started):
            svc.stop()
            stack.services.pop(name, None)
        jaeger.stop()


async def _one_job(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/v1/ws") as ws:
        await ws.receive_json(timeout=10)  # hello
        await ws.send_json({"type": "generate", "request_id": "r1", "symbology": "qrcode", "data": "TRACE-ME"})
        async with asyncio.timeout(30):
            while True:
                message = await ws.receive_json()
                if message["type"] in ("completed", "failed"):
                    return message


def _spans_of_job(jaeger: JaegerServer, job_id: str, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The job's trace once every wanted span is in it (spans of different services arrive
    separately): its spans by name, and each span's service."""
    deadline = time.monotonic() + 30
    while True:
        traces = jaeger.traces_of_job(job_id)
        if traces:
            (trace,) = traces
            services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
            spans = {s["operationName"]: s for s in trace["spans"]}
            if wanted <= spans.keys():
                return spans, {name: services[s["processID"]] for name, s in spans.items()}
        assert time.monotonic() < deadline, f"Jaeger has not the whole trace of {job_id}: {traces and spans.keys()}"
        time.sleep(0.2)


def _parent(span: dict[str, Any]) -> str | None:
    refs = [r["spanID"] for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0] if refs else None


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in span["tags"]}


def test_a_jobs_trace_crosses_every_service_in_order_and_agrees_with_its_timeline(
        traced: tuple[str, JaegerServer]) -> None:
    url, jaeger = traced
    final = asyncio.run(_one_job(url))
    assert final["type"] == "completed", final
    job_id = final["job_id"]
    spans, services = _spans_of_job(jaeger, job_id, {"publish", "route", "generate", "render", "verify", "upload",
                                                     "notify", "deliver"})
    assert services == {"publish": "barcode-gateway", "route": "barcode-router", "generate": "barcode-generator",
                        "render": "barcode-generator", "verify": "barcode-generator", "upload": "barcode-generator",
                        "notify": "barcode-notifier", "deliver": "barcode-gateway"}
    # Each stage under the one before it, the generator's steps under its stage.
    chain = {"route": "publish", "generate": "route", "render": "generate", "verify": "generate",
             "upload": "generate", "notify": "generate", "deliver": "notify"}
    for name, parent in chain.items():
        assert _parent(spans[name]) == spans[parent]["spanID"], (name, json.dumps(spans[name])[:500])
    assert _parent(spans["publish"]) is None
    for name in ("publish", "route", "generate", "notify", "deliver"):
        assert _tags(spans[name])["job.id"] == job_id, name
    assert _tags(spans["route"])["company"] == _tags(spans["generate"])["company"] == final["company"]
    assert _tags(spans["generate"])["symbology"] == "qrcode"
    assert _tags(spans["verify"])["verified"] is True

    # The timeline the client got (ms since the epoch) against the spans (µs), 1 ms of rounding.
    stamps = final["trace"]

    def inside(stamp: str, span: str) -> None:
        start_ms = spans[span]["startTime"] / 1000
        end_ms = start_ms + spans[span]["duration"] / 1000
        assert start_ms - 1 <= stamps[stamp] <= end_ms + 1, (stamp, stamps[stamp], span, start_ms, end_ms)

    assert stamps["gateway_in"] <= spans["publish"]["startTime"] / 1000 + 1
    inside("routed", "route")
    for stamp in ("generator_in", "rendered", "generated"):
        inside(stamp, "generate")
    inside("rendered", "verify")
    inside("notified", "notify")
    inside("gateway_out", "deliver")
    ordered = [spans[name]["startTime"] for name in ("publish", "route", "generate", "notify", "deliver")]
    assert ordered == sorted(ordered)


def test_a_job_the_gateway_did_not_trace_leaves_no_span_anywhere(stack: Stack, tmp_path: Path,
                                                                 traced: tuple[str, JaegerServer]) -> None:
    """BARCODE_TRACE_SAMPLE 0 on a gateway of its own, the same traced stages behind it: the
    stages follow the gateway's decision, so its job has no trace at all."""
    _, jaeger = traced
    prefix = stack.services["gateway-traced"].env["BARCODE_TOPIC_PREFIX"]
    svc = stack.service("gateway-unsampled", BARCODE_OTLP_ENDPOINT=jaeger.otlp_endpoint, OTEL_BSP_SCHEDULE_DELAY="100",
                        BARCODE_TOPIC_PREFIX=prefix, BARCODE_TRACE_SAMPLE="0")
    try:
        svc.start()
        final = asyncio.run(_one_job(svc.url))
        assert final["type"] == "completed", final
        # A traced job after it, through the same stages, shows their spans have been exported meanwhile.
        marker = asyncio.run(_one_job(stack.services["gateway-traced"].url))
        _spans_of_job(jaeger, marker["job_id"], {"notify", "deliver"})
        for service in ("barcode-gateway", "barcode-router", "barcode-generator", "barcode-notifier"):
            assert jaeger.traces_of_job(final["job_id"], service) == [], service
    finally:
        svc.stop()
        stack.services.pop("gateway-unsampled", None)
