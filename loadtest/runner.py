"""The open-loop run: requests are scheduled at a fixed arrival rate and their latency is
measured from the *scheduled* send time to the final result, so a stalled server shows up as
latency instead of silently slowing the sender (no coordinated omission)."""
from __future__ import annotations

import asyncio
import itertools
import sys
import time
from typing import Any
from urllib.parse import quote

import aiohttp

from loadtest.results import Results
from loadtest.workload import LabelMix, Mix

FINAL = ("completed", "failed")


class SocketClient:
    """One WebSocket connection; results are matched to requests by request_id."""

    def __init__(self, results: Results) -> None:
        self.results = results
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.pending: dict[str, tuple[float, float]] = {}  # request_id -> (scheduled monotonic, sent epoch ms)
        self.reader: asyncio.Task[None] | None = None

    async def open(self, session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> None:
        self.ws = await session.ws_connect(f"{url}/v1/ws", headers=headers, heartbeat=20, max_msg_size=0)
        await self.ws.receive_json(timeout=10)  # hello
        self.reader = asyncio.create_task(self._read())

    async def send(self, request_id: str, scheduled: float, body: dict[str, Any]) -> None:
        assert self.ws is not None
        self.pending[request_id] = (scheduled, time.time() * 1000)
        await self.ws.send_json({"type": "generate", "request_id": request_id, **body})

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            body = msg.json()
            kind, request_id = body.get("type"), body.get("request_id")
            if request_id not in self.pending:
                continue
            if kind in FINAL:
                scheduled, sent_ms = self.pending.pop(request_id)
                self.results.record((time.monotonic() - scheduled) * 1000)
                if "trace" in body:
                    self.results.record_stages({**body["trace"], "client_send": sent_ms,
                                                "client_receive": time.time() * 1000})
                if kind == "completed":
                    self.results.completed += 1
                else:
                    self.results.failed[body["error"]["code"]] += 1
            elif kind == "error":
                self.pending.pop(request_id)
                self.results.rejected[body["error"]["code"]] += 1

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


async def _rest_job(session: aiohttp.ClientSession, url: str, scheduled: float, body: dict[str, Any],
                    results: Results) -> None:
    try:
        async with session.post(f"{url}/v1/jobs", json=body) as resp:
            answer = await resp.json()
            if resp.status != 202:
                results.rejected[answer.get("error", {}).get("code", str(resp.status))] += 1
                return
        async with session.get(f"{url}/v1/jobs/{answer['job_id']}", params={"wait": "60"}) as resp:
            job = await resp.json()
    except (aiohttp.ClientError, TimeoutError) as exc:
        results.rejected[f"client:{type(exc).__name__}"] += 1
        return
    results.record((time.monotonic() - scheduled) * 1000)
    if job.get("status") == "completed":
        results.completed += 1
    else:
        results.failed[job.get("error", {}).get("code", job.get("status", "?"))] += 1


# A synchronous render server's query for one request (bwip-js's handler: bcid, text, scale in
# pixels per module, height in mm at 72 dpi, padding in modules). Draws the pipeline's default
# Code 128 pixel for pixel: 4 px per module, 10-module quiet zones, text; "LOAD-123456" is
# 616 x 209 from both (`make bench` checks it on every run and prints both sizes).
RENDER_QUERY = "bcid={symbology}&text={data}&scale=4&height=15.6&includetext&paddingwidth=10"


async def _render_job(session: aiohttp.ClientSession, url: str, scheduled: float, body: dict[str, Any],
                      results: Results, path: str = "/") -> None:
    """One request to a plain render server (or, `path` /v1/barcode, the gateway's image URL with
    the same bwip-js parameters): the image comes back in the response."""
    query = RENDER_QUERY.format(symbology=quote(body["symbology"]), data=quote(body["data"]))
    try:
        async with session.get(f"{url}{path}?{query}") as resp:
            image = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        results.rejected[f"client:{type(exc).__name__}"] += 1
        return
    results.record((time.monotonic() - scheduled) * 1000)
    if resp.status == 200 and image:
        results.completed += 1
    else:
        results.failed[f"http:{resp.status}"] += 1


async def run(url: str, rate: float, duration_s: float, connections: int, mode: str, mix: Mix | LabelMix,
              api_key: str | None = None, drain_s: float = 60.0, progress: bool = True) -> Results:
    """`mode`: ws (the pipeline over WebSockets), rest (POST then GET ?wait), render (a plain
    render server answering each GET with the image), image (the gateway's GET /v1/barcode with
    the render server's parameters). `url` may list several servers, comma
    separated (gateway replicas): sockets and requests are spread over them in turn."""
    urls = [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
    results = Results(offered_rate=rate, duration_s=duration_s)
    headers = {"X-API-Key": api_key} if api_key else {}
    total = int(rate * duration_s)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        sockets = [SocketClient(results) for _ in range(connections)] if mode == "ws" else []
        await asyncio.gather(*(s.open(session, urls[i % len(urls)], headers) for i, s in enumerate(sockets)))
        rest_tasks: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        next_report = started + 1
        ring = itertools.cycle(sockets) if sockets else None
        for n in range(total):
            scheduled = started + n / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            body = mix.request()
            results.sent += 1
            if ring is not None:
                await next(ring).send(f"r{n}", scheduled, body)
            else:
                target = urls[n % len(urls)]
                work = (_rest_job(session, target, scheduled, body, results) if mode == "rest" else
                        _render_job(session, target, scheduled, body, results, "/v1/barcode" if mode == "image" else "/"))
                task = asyncio.create_task(work)
                rest_tasks.add(task)
                task.add_done_callback(rest_tasks.discard)
            if time.monotonic() >= next_report:
                _progress(results, time.monotonic() - started, total, progress)
                next_report += 1
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and _outstanding(results) > 0:
            await asyncio.sleep(0.1)
        results.duration_s = time.monotonic() - started
        await asyncio.gather(*rest_tasks, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in sockets))
    _progress(results, results.duration_s, total, progress)
    if progress:
        print(file=sys.stderr)
    return results


def _outstanding(results: Results) -> int:
    return results.sent - results.completed - sum(results.failed.values()) - sum(results.rejected.values())


def _progress(results: Results, elapsed: float, total: int, show: bool) -> None:
    done = results.sent - _outstanding(results)
    bar = "#" * int(30 * results.sent / max(total, 1))
    results.timeline.append((round(elapsed, 1), done, round(results.percentile_ms(99), 1)))
    results.close_interval(elapsed)
    if not show:
        return
    print(f"\r[{bar:<30}] {elapsed:5.1f}s sent {results.sent}/{total} done {done} in flight "
          f"{_outstanding(results)} p99 {results.percentile_ms(99):.1f} ms", end="", file=sys.stderr, flush=True)
