"""`make bench-images` (issue 25): image URLs (`GET /v1/barcode` with bwip-js's own parameters)
against bwip-js's HTTP handler, side by side, same client, same URL parameters, same pixels.

On its own stack (Kafka, MinIO, every service, one gateway, rate limit off: the load tool is
one caller) beside one bwip-js process:

1. **All misses**: Code 128 with new data on every request. Three systems ramp interleaved (at
   each rate every system still holding runs its step): the image URL, the WebSocket pipeline
   (the same jobs over a socket) and bwip-js.
2. **A label workload**: Code 128 of 2,000 SKUs drawn by popularity (Zipf, s = 1.1), so most
   requests repeat. Every SKU is asked for once first (a shop's first morning); then the image
   URL and bwip-js ramp interleaved.
3. At half of each peak: latency percentiles and the CPU every process spends per request, and
   for the label workload how many requests reached Kafka (jobs published) and a renderer.

The peak is the highest step with no error, nothing lost, >= 95 % of the offered rate achieved
and p99 within `--p99-bound`. Prints markdown tables; writes .local/bench/images.json.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from devstack import paths
from devstack.bench.batches import pids
from devstack.bench.bwip import BwipServer
from devstack.bench.pipeline import cpu_ms_per_job, cpu_seconds
from devstack.stack import Stack
from loadtest.ramp import Ramp, ramp_together, rates
from loadtest.results import Results
from loadtest.runner import RENDER_QUERY, run
from loadtest.workload import LabelMix, Mix
from services.kafka import eventloop

BENCH_DIR = paths.LOCAL / "bench"
CODE128 = Path(__file__).resolve().parents[2] / "loadtest" / "code128.json"


def _say(message: str) -> None:
    print(f"[bench-images] {message}", file=sys.stderr, flush=True)


def _metrics(gateway: str) -> dict[str, float]:
    """The gateway's unlabelled samples by name."""
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.labels}


async def _ask_each_once(gateway: str, codes: list[str], concurrency: int = 16) -> None:
    """Every SKU's image URL once (a shop's first morning), `concurrency` at a time."""
    queue = iter(codes)
    async with aiohttp.ClientSession() as session:
        async def worker() -> None:
            for code in queue:
                query = RENDER_QUERY.format(symbology="code128", data=code)
                async with session.get(f"{gateway}/v1/barcode?{query}") as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"{code}: HTTP {resp.status} {await resp.text()}")
                    await resp.read()
        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _size(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return Image.open(io.BytesIO(resp.read())).size


def _step(url: str, mode: str, mix: Mix | LabelMix, rate: float, seconds: float, connections: int) -> Results:
    return asyncio.run(run(url, rate, seconds, connections, mode, mix, progress=False))


def _report(name: str, results: Results) -> None:
    s = results.summary()
    _say(f"{name:>14} {results.offered_rate:6.0f}/s achieved {s['achieved_rate']:7.1f}/s p50 "
         f"{s['latency_ms']['p50']:6.1f} p99 {s['latency_ms']['p99']:7.1f} ms errors {results.errors}")


def _at_half(name: str, url: str, mode: str, mix: Mix | LabelMix, peak: float | None, seconds: float,
             connections: int, processes: dict[str, int], gateway: str) -> dict[str, Any]:
    rate = max(10.0, (peak or 20.0) / 2)
    before_cpu, before_metrics = cpu_seconds(processes), _metrics(gateway)
    results = _step(url, mode, mix, rate, seconds, connections)
    after_cpu, after_metrics = cpu_seconds(processes), _metrics(gateway)
    _report(f"{name} @half", results)
    served = results.completed
    per_request = cpu_ms_per_job(before_cpu, after_cpu, served)
    delta = {k: after_metrics.get(k, 0) - before_metrics.get(k, 0) for k in
             ("barcode_gateway_jobs_published_total", "barcode_gateway_image_hits_total",
              "barcode_gateway_image_misses_total", "barcode_gateway_image_from_memory_total")}
    return {"rate": rate, "summary": results.summary(), "cpu_ms_per_request": per_request,
            "cpu_ms_total": round(sum(per_request.values()), 3), "gateway_counts": delta}


def _peaks(ramps: dict[str, Ramp]) -> dict[str, float | None]:
    return {name: r.peak for name, r in ramps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench.images", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses-ramp", default="50:50:500", help="start:step:max requests per second")
    parser.add_argument("--labels-ramp", default="100:100:2000")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--half-seconds", type=float, default=20.0)
    parser.add_argument("--p99-bound", type=float, default=100.0, help="ms")
    parser.add_argument("--connections", type=int, default=16, help="WebSockets of the pipeline's step")
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--zipf", type=float, default=1.1)
    args = parser.parse_args()
    eventloop.install()
    root = BENCH_DIR / "images"
    stack = Stack.create(root, extra_env={"GATEWAY_RATE_LIMIT": "0"})
    bwip = BwipServer(root / "logs" / "bwip.log")
    out: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "args": vars(args)}
    try:
        stack.start_infra()
        [gateway] = stack.start_pipeline()
        bwip.start()
        processes = {**pids(stack), **bwip.pids()}
        query = RENDER_QUERY.format(symbology="code128", data="LOAD-123456")
        sizes = {"image URL": _size(f"{gateway}/v1/barcode?{query}"), "bwip-js": _size(f"{bwip.url}/?{query}")}
        _say(f"the same parameters, drawn by each: {sizes}")
        out["sizes"] = sizes
        _say("warming up (a fresh broker JVM is slow until its JIT has compiled the hot paths)")
        _step(gateway, "ws", Mix.load(CODE128), 50, 20, args.connections)

        misses = Mix.load(CODE128)
        _say("1. all misses: new data every request")
        miss_ramps = ramp_together({
            "image URL": lambda rate: _step(gateway, "image", misses, rate, args.step_seconds, args.connections),
            "WebSocket": lambda rate: _step(gateway, "ws", misses, rate, args.step_seconds, args.connections),
            "bwip-js": lambda rate: _step(bwip.url, "render", misses, rate, args.step_seconds, args.connections),
        }, rates(args.misses_ramp), args.p99_bound, _report)
        out["misses"] = {"peaks": _peaks(miss_ramps), "steps": {n: r.steps for n, r in miss_ramps.items()}}

        labels = LabelMix(args.skus, args.zipf)
        _say(f"2. labels: {args.skus} SKUs, Zipf s={args.zipf}; each SKU asked for once first")
        asyncio.run(_ask_each_once(gateway, labels.codes))
        label_ramps = ramp_together({
            "image URL": lambda rate: _step(gateway, "image", labels, rate, args.step_seconds, args.connections),
            "bwip-js": lambda rate: _step(bwip.url, "render", labels, rate, args.step_seconds, args.connections),
        }, rates(args.labels_ramp), args.p99_bound, _report)
        out["labels"] = {"peaks": _peaks(label_ramps), "steps": {n: r.steps for n, r in label_ramps.items()}}

        _say("3. at half of each peak")
        out["half"] = {
            "misses, image URL": _at_half("misses URL", gateway, "image", misses, miss_ramps["image URL"].peak,
                                          args.half_seconds, args.connections, processes, gateway),
            "misses, bwip-js": _at_half("misses bwip", bwip.url, "render", misses, miss_ramps["bwip-js"].peak,
                                        args.half_seconds, args.connections, processes, gateway),
            "labels, image URL": _at_half("labels URL", gateway, "image", labels, label_ramps["image URL"].peak,
                                          args.half_seconds, args.connections, processes, gateway),
            "labels, bwip-js": _at_half("labels bwip", bwip.url, "render", labels, label_ramps["bwip-js"].peak,
                                        args.half_seconds, args.connections, processes, gateway),
        }
    finally:
        bwip.stop()
        stack.stop()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "images.json").write_text(json.dumps(out, indent=2))
    print(report(out))


def report(out: dict[str, Any]) -> str:
    lines = [f"Measured {out['started']}; same parameters drawn as {out['sizes']}.", "",
             "| workload | image URL peak | WebSocket peak | bwip-js peak | image URL / bwip-js |", "|---|---|---|---|---|"]
    for name in ("misses", "labels"):
        peaks = out[name]["peaks"]
        url, bwip = peaks.get("image URL"), peaks.get("bwip-js")
        ratio = f"{url / bwip:.2f}x" if url and bwip else "-"
        lines.append(f"| {name} | {url} | {peaks.get('WebSocket', '-')} | {bwip} | {ratio} |")
    lines += ["", "| at half peak | rate | p50 ms | p99 ms | CPU ms per request (all processes) | jobs published | hits |",
              "|---|---|---|---|---|---|---|"]
    for name, half in out["half"].items():
        s, counts = half["summary"], half["gateway_counts"]
        lines.append(f"| {name} | {half['rate']:.0f}/s | {s['latency_ms']['p50']:.1f} | {s['latency_ms']['p99']:.1f} | "
                     f"{half['cpu_ms_total']:.2f} | {counts['barcode_gateway_jobs_published_total']:.0f} | "
                     f"{counts['barcode_gateway_image_hits_total']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
