"""The largest job the pipeline accepts, rendered by a generator pod: does it fit the pod's memory limit?

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

# QR version 40 (177 x 177 modules) at 2400 dpi with 0.37 mm modules: 35 dots per module,
# 6195 x 6195 = 38.4 million pixels by the generator's estimate, under its 40 million cap.
WORST_JOB = {"type": "generate", "symbology": "qrcode", "format": "png", "data": "K8S-WORST-JOB",
             "options": {"version": 40, "dpi": 2400, "module_width": 0.37}}


def pod_memory_cgroup(uid: str) -> Path:
    root = Path("/sys/fs/cgroup/memory") / cluster._cgroup_root().lstrip("/")
    found = [p for p in root.rglob(f"pod{uid}") if p.is_dir()]
    if not found:
        raise RuntimeError(f"no memory cgroup for pod {uid} under {root}")
    return found[0]


async def _one(url: str, job: dict[str, object]) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/v1/ws") as ws:
        await ws.receive_json(timeout=30)
        await ws.send_json({**job, "data": f"{job['data']}-{time.time_ns()}"})
        while True:
            message = await ws.receive_json(timeout=120)
            if message["type"] in ("completed", "failed", "error"):
                return message


def worst_job_fits(url: str, kubectl: Callable[..., str], pods: Callable[[str], list[str]]) -> str:
    [pod] = pods("generator")[:1]

    def restart_count() -> str:
        return kubectl("get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}").strip()

    uid = kubectl("get", "pod", pod, "-o", "jsonpath={.metadata.uid}").strip()
    restarts = restart_count()
    cgroup = pod_memory_cgroup(uid)
    (cgroup / "memory.max_usage_in_bytes").write_text("0")  # v1: resets the peak to the current usage
    message = asyncio.run(_one(url, WORST_JOB))
    peak = int((cgroup / "memory.max_usage_in_bytes").read_text())
    limit = int((cgroup / "memory.limit_in_bytes").read_text())
    after = restart_count()
    detail = (f"QR v40 at 2400 dpi ({message['type']}, {message.get('size_bytes', '?')} bytes): generator peak "
              f"{peak / 2**20:.0f} MiB of its {limit / 2**20:.0f} MiB limit, restarts {restarts} -> {after}")
    if message["type"] != "completed" or after != restarts or peak >= limit:
        raise RuntimeError(detail)
    return detail
