"""`python -m devstack.bench.stage_cpu`: one worker's CPU per job, two builds side by side.

Kafka, MinIO and the rest of the pipeline run once; only the measured service is swapped
between the build in this checkout and an older one (`--old-ref`, extracted with `git archive`
into a scratch directory and run from there with the same interpreter). Steps are interleaved
(old, new, new, old, old, new ...) so host drift hits both alike; each step offers the same
open-loop load over WebSockets (`--rate` jobs/s for `--seconds`) after a short warm-up of the
freshly started service, and reads every process's CPU from /proc/<pid>/stat before and after.

    python -m devstack.bench.stage_cpu --service notifier --rate 100 --seconds 30 --rounds 3
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from devstack import paths
from devstack.bench.pipeline import CODE128, cpu_ms_per_job, cpu_seconds
from devstack.ports import free_port
from devstack.process import spawn, stop_child, wait_until
from devstack.stack import Stack
from loadtest.runner import run as run_load
from loadtest.workload import Mix
from services.kafka import eventloop


def _say(message: str) -> None:
    print(f"[stage-cpu] {message}", file=sys.stderr, flush=True)


def extract(ref: str, into: Path) -> Path:
    """The `services/` package (and `config/`) of `ref`, unpacked under `into` (a directory to run it from)."""
    archive = subprocess.run(["git", "-C", str(paths.ROOT), "archive", "--format=tar", ref, "services", "config"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


class Variant:
    """One build of the measured service, started and stopped as the steps need it."""

    def __init__(self, label: str, root: Path, service: str, env: dict[str, str], log_dir: Path) -> None:
        self.label, self.root, self.service, self.env = label, root, service, env
        self.log = log_dir / f"{service}-{label}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _ready_lines(self) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count(f"{self.service} ready") + text.count("Worker]: Ready")

    def start(self) -> int:
        seen = self._ready_lines()
        self.proc = spawn([sys.executable, "-m", f"services.{self.service}"], self.log, env=self.env, cwd=self.root)
        wait_until(lambda: self._ready_lines() > seen, self.proc, 120, f"{self.service} ({self.label})", self.log)
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            stop_child(self.proc)
            self.proc = None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench.stage_cpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", default="notifier", choices=("notifier", "router", "generator"))
    parser.add_argument("--old-ref", default="main", help="git ref of the other build (default: main)")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two builds")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of load before the first step")
    parser.add_argument("--step-warmup", type=float, default=5.0, help="seconds of load after each swap")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mix", type=Path, default=CODE128)
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default: in the scratch dir)")
    args = parser.parse_args()
    eventloop.install()
    scratch = Path(tempfile.mkdtemp(prefix="stage-cpu-"))
    old_root = extract(args.old_ref, scratch / "old")
    mix = Mix.load(args.mix)
    stack = Stack.create(scratch / "stack")
    steps: list[dict[str, Any]] = []
    variants: dict[str, Variant] = {}

    def load(url: str, seconds: float) -> Any:
        return asyncio.run(run_load(url, args.rate, seconds, args.connections, "ws", mix, progress=False))

    _say(f"scratch {scratch}; starting Kafka and MinIO ...")
    stack.start_infra()
    try:
        port = "GENERATOR_HEALTH_PORT" if args.service == "generator" else f"{args.service.upper()}_HEALTH_PORT"
        health = {port: str(free_port())}
        env = stack.env(**health)
        variants = {"old": Variant("old", old_root, args.service, env, scratch / "stack" / "logs"),
                    "new": Variant("new", paths.ROOT, args.service, env, scratch / "stack" / "logs")}
        # The rest of the pipeline, from this checkout; the measured service is swapped below.
        for name in ("router", "notifier", "generator"):
            if name != args.service:
                stack.service(name).start(wait=False)
        gateway = stack.service("gateway")
        gateway.start(wait=False)
        for svc in stack.services.values():
            svc.wait_ready(timeout=120)
        variants["new"].start()
        _say(f"warming up {args.warmup:g} s at {args.rate:g}/s ...")
        load(gateway.url, args.warmup)
        variants["new"].stop()
        order = [("old", "new") if n % 2 == 0 else ("new", "old") for n in range(args.rounds)]
        for n, pair in enumerate(order):
            for label in pair:
                variant = variants[label]
                pid = variant.start()
                load(gateway.url, args.step_warmup)
                pids = {name: svc.proc.pid for name, svc in stack.services.items() if svc.proc is not None}
                pids.update({args.service: pid, "kafka": stack.kafka.proc.pid,  # type: ignore[union-attr]
                             "minio": stack.minio.proc.pid})  # type: ignore[union-attr]
                before, started = cpu_seconds(pids), time.monotonic()
                results = load(gateway.url, args.seconds)
                wall = time.monotonic() - started
                cpu = cpu_ms_per_job(before, cpu_seconds(pids), results.completed)
                summary = results.summary()
                step = {"round": n + 1, "build": label, "completed": results.completed, "lost": summary["lost"],
                        "failed": summary["failed"], "wall_s": round(wall, 1), "cpu_ms_per_job": cpu,
                        "p50_ms": summary["latency_ms"]["p50"], "p99_ms": summary["latency_ms"]["p99"]}
                steps.append(step)
                _say(f"round {n + 1} {label}: {args.service} {cpu[args.service]:.3f} ms CPU/job, all "
                     f"{sum(cpu.values()):.2f}; completed {results.completed}, p50 {step['p50_ms']} ms, "
                     f"p99 {step['p99_ms']} ms")
                variant.stop()
    finally:
        for variant in variants.values():
            variant.stop()
        stack.stop()
    out = args.out or scratch / "results.json"
    out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "steps": steps}, indent=2))
    print(report(steps, args.service))
    _say(f"results in {out}")


def report(steps: list[dict[str, Any]], service: str) -> str:
    lines = [f"| round | build | {service} ms CPU/job | all processes ms CPU/job | completed | p50 ms | p99 ms |",
             "|---|---|---|---|---|---|---|"]
    for s in steps:
        cpu = s["cpu_ms_per_job"]
        lines.append(f"| {s['round']} | {s['build']} | {cpu[service]:.3f} | {sum(cpu.values()):.2f} | "
                     f"{s['completed']} | {s['p50_ms']} | {s['p99_ms']} |")
    for label in ("old", "new"):
        own = [s["cpu_ms_per_job"][service] for s in steps if s["build"] == label]
        total = [sum(s["cpu_ms_per_job"].values()) for s in steps if s["build"] == label]
        if own:
            lines.append(f"| median | {label} | {statistics.median(own):.3f} | {statistics.median(total):.2f} | | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
