"""`make smoke`: send jobs one at a time through a running stack and print where the time goes.

Each hop stamps the message (ms since the epoch, one clock: everything is on this machine);
the client adds its own send and receive times.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import aiohttp

from loadtest.stages import STAGES

async def one_job(session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, url: str, n: int) -> dict[str, float]:
    sent = time.time() * 1000
    # Unique data each time, so the generator renders instead of finding a stored object.
    await ws.send_json({"type": "generate", "request_id": f"smoke-{n}", "symbology": "code128",
                        "data": f"SMOKE-{time.time_ns()}", "format": "png"})
    while True:
        msg = await ws.receive_json(timeout=30)
        if msg["type"] in ("completed", "failed") and msg.get("request_id") == f"smoke-{n}":
            received = time.time() * 1000
            break
        if msg["type"] == "error":
            raise RuntimeError(f"gateway rejected the job: {msg}")
    if msg["type"] != "completed":
        raise RuntimeError(f"job failed: {msg}")
    async with session.get(f"{url}/v1/jobs/{msg['job_id']}", params={"trace": "1"}) as resp:
        trace: dict[str, float] = (await resp.json())["trace"]
    return {**trace, "client_send": sent, "client_receive": received}


async def warm_up(ws: aiohttp.ClientWebSocketResponse, jobs: int) -> None:
    """A freshly started JVM broker answers several times slower until its JIT has compiled
    the hot paths; send a burst first so the figures are the steady state."""
    for n in range(jobs):
        await ws.send_json({"type": "generate", "symbology": "code128", "data": f"WARM-{n}-{time.time_ns()}"})
    finals = 0
    while finals < jobs:
        msg = await ws.receive_json(timeout=60)
        finals += msg["type"] in ("completed", "failed")


async def main(url: str, jobs: int, warmup: int) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/v1/ws") as ws:
        await ws.receive_json(timeout=10)  # hello
        await warm_up(ws, warmup)
        traces = []
        for n in range(1, jobs + 1):
            traces.append(await one_job(session, ws, url, n))
            await asyncio.sleep(0.05)  # idle between jobs: this measures latency, not throughput
    print(f"{jobs} jobs, one at a time, idle stack at {url}, after {warmup} warm-up jobs (milliseconds)")
    print(f"{'stage':34} {'median':>8} {'max':>8}")
    for label, start, end in STAGES:
        values = [t[end] - t[start] for t in traces if start in t and end in t]
        if values:
            print(f"{label:34} {statistics.median(values):8.1f} {max(values):8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=500, help="jobs sent in a burst first (0: measure cold)")
    args = parser.parse_args()
    try:
        asyncio.run(main(args.url, args.jobs, args.warmup))
    except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
        sys.exit(f"smoke failed: {exc}")
