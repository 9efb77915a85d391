"""Four of the largest job the pipeline accepts, rendered at once by a generator pod: do they fit
the pod's memory limit?

The peak is read from the pod's own memory cgroup on the node (cgroup v1
`memory.max_usage_in_bytes`, reset just before the job), so it is what the kernel charged the
pod, not an estimate; the limit from the same cgroup is the chart's `resources.limits.memory`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from devstack.k8s import cluster

JOBS_AT_ONCE = 4  # GENERATOR_RENDER_THREADS' default: what one generator draws at the same time


def worst_jobs() -> list[dict[str, object]]:
    """Four of the largest job the gateway accepts for the Default profile (zint): QR version 40,
    rotated, at the highest dpi whose final bitmap fits the pixel budget
    (devstack/bench/render_budget.py finds it). Each with its own colour: four renders, not one
    render and three cache hits."""
    from devstack.bench.render_budget import SCENARIOS, worst_case
    from services.render.budget import MAX_PIXELS

    [(_, symbology, engine, fmt, data, options)] = [s for s in SCENARIOS if s[0].startswith("zint qrcode")]
    worst = worst_case(symbology, engine, fmt, data, options, MAX_PIXELS)
    return [{"type": "generate", "symbology": symbology, "format": fmt, "data": data,
             "options": {**worst, "foreground": f"#0000{n:02x}"}} for n in range(JOBS_AT_ONCE)]


def pod_memory_cgroup(uid: str) -> Path:
    root = Path("/sys/fs/cgroup/memory") / cluster._cgroup_root().lstrip("/")
    found = [p for p in root.rglob(f"pod{uid}") if p.is_dir()]
    if not found:
        raise RuntimeError(f"no memory cgroup for pod {uid} under {root}")
    return found[0]


async def _one(url: str, job: dict[str, object]) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/v1/ws") as ws:
        await ws.receive_json(timeout=30)
        await ws.send_json(job)
        while True:
            message = await ws.receive_json(timeout=120)
            if message["type"] in ("completed", "failed", "error"):
                return message


async def _all(url: str, jobs: list[dict[str, object]]) -> list[dict[str, object]]:
    return list(await asyncio.gather(*(_one(url, job) for job in jobs)))


def worst_job_fits(url: str, kubectl: Callable[..., str], pods: Callable[[str], list[str]]) -> str:
    [pod] = pods("generator")[:1]

    def restart_count() -> str:
        return kubectl("get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}").strip()

    uid = kubectl("get", "pod", pod, "-o", "jsonpath={.metadata.uid}").strip()
    restarts = restart_count()
    cgroup = pod_memory_cgroup(uid)
    (cgroup / "memory.max_usage_in_bytes").write_text("0")  # v1: resets the peak to the current usage
    jobs = worst_jobs()
    # The same data and size each time: a rerun on a kept cluster finds them stored. Fresh
    # colours per run keep the four renders real.
    salt = time.time_ns() % 200
    jobs = [{**job, "options": {**job["options"], "foreground": f"#00{salt:02x}{n:02x}"}}  # type: ignore[dict-item]
            for n, job in enumerate(jobs)]
    messages = asyncio.run(_all(url, jobs))
    peak = int((cgroup / "memory.max_usage_in_bytes").read_text())
    limit = int((cgroup / "memory.limit_in_bytes").read_text())
    after = restart_count()
    dpi = jobs[0]["options"]["dpi"]  # type: ignore[index]
    outcomes = sorted({str(m["type"]) for m in messages})
    detail = (f"{len(jobs)} x QR v40 rotated at {dpi} dpi at once ({', '.join(outcomes)}): generator peak "
              f"{peak / 2**20:.0f} MiB of its {limit / 2**20:.0f} MiB limit, restarts {restarts} -> {after}")
    if outcomes != ["completed"] or after != restarts or peak >= limit:
        raise RuntimeError(f"{detail}; {messages}")
    return detail
