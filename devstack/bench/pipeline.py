"""`make bench`: one run that measures, side by side on this machine,

1. the pipeline's peak sustainable rate (open-loop ramp over WebSockets, Code 128 PNG with
   unique data, verified and stored) and its latency percentiles and per-stage times at half
   of that rate;
2. bwip-js's HTTP handler (a plain render server) on the same workload, same load tool;
3. the raw in-process render + verify + upload rate (the ceiling for one generator process);
4. scaling: 1 or 2 generator processes, 1 or 2 gateways;
5. peak RSS (VmHWM) of every service after its peak-load ramp.

Kafka and MinIO are started once on free ports (under .local/bench) and warmed up (a fresh
JVM broker is several times slower until its JIT has compiled the hot paths); the services are
restarted for each configuration. Results go to .local/bench/results.json, the plots to
docs/bench/, and the tables into docs/benchmarks.md between the `bench:begin`/`bench:end`
markers (the rest of that file is prose and is left alone).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from devstack import paths
from devstack.bench import report as bench_report
from devstack.bench.memory import rss_kib
from devstack.bench.bwip import BwipServer
from devstack.stack import Stack
from loadtest.plot import write_plot
from loadtest.ramp import Ramp, ramp, rates
from loadtest.results import Results
from loadtest.runner import run
from loadtest.workload import Mix
from services.settings import Env, S3Settings
from services.stage import eventloop

BENCH_DIR = paths.LOCAL / "bench"
DOCS = paths.ROOT / "docs"
CODE128 = paths.ROOT / "loadtest" / "code128.json"


@dataclass(frozen=True)
class Config:
    label: str
    generators: int
    gateways: int


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mix = Mix.load(args.mix)
        shutil.rmtree(BENCH_DIR / "stack", ignore_errors=True)
        self.stack = Stack.create(BENCH_DIR / "stack")

    # -- the pipeline ------------------------------------------------------------------------
    def start_pipeline(self, config: Config, **env: str) -> list[str]:
        """(Re)start the services for `config`, with `env` overriding their settings; returns
        the gateways' URLs. Kafka and MinIO keep running (and warm)."""
        for svc in self.stack.services.values():
            svc.stop()
        self.stack.services.clear()
        return self.stack.start_pipeline(generators=config.generators, gateways=config.gateways, **env)

    def load(self, url: str, rate: float, seconds: float, mode: str = "ws") -> Results:
        return asyncio.run(run(url, rate, seconds, self.args.connections, mode, self.mix, progress=False))

    def ramp(self, url: str, mode: str = "ws") -> Ramp:
        def report(results: Results) -> None:
            s = results.summary()
            _say(f"  {s['offered_rate']:g}/s -> achieved {s['achieved_rate']:g}/s, p50 {s['latency_ms']['p50']} ms, "
                 f"p99 {s['latency_ms']['p99']} ms, errors {results.errors}, lost {s['lost']}")

        return ramp(lambda rate: self.load(url, rate, self.args.step_seconds, mode), self.args.ramp,
                    self.args.p99_bound, report)

    def pids(self, extra: dict[str, int] | None = None) -> dict[str, int]:
        """Every process on the path of a job, by name."""
        out = {name: svc.proc.pid for name, svc in self.stack.services.items() if svc.proc is not None}
        for name, server in (("kafka", self.stack.kafka), ("minio", self.stack.minio)):
            if server.proc is not None:
                out[name] = server.proc.pid
        return {**out, **(extra or {}), "load tool": os.getpid()}

    def measure(self, url: str, mode: str, pids: dict[str, int]) -> dict[str, Any]:
        """Peak by ramp, then a longer run at half of it for the latency percentiles and the CPU
        each process spends per job."""
        found = self.ramp(url, mode)
        peak_rss = {name: round(rss_kib(pid, "VmHWM") / 1024, 1) for name, pid in pids.items()
                    if name not in ("kafka", "minio", "load tool")}
        out: dict[str, Any] = {"ramp": found.steps, "peak": found.peak, "peak_rss_mib": peak_rss}
        if found.peak:
            before = cpu_seconds(pids)
            half = self.load(url, found.peak / 2, self.args.half_seconds, mode)
            out["half"] = half.summary()
            out["cpu_ms_per_job"] = cpu_ms_per_job(before, cpu_seconds(pids), half.completed)
        return out

    # -- the whole run -----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv), "started": time.time(),
                                   "p99_bound_ms": self.args.p99_bound, "mix": json.loads(self.args.mix.read_text())}
        _say("starting Kafka and MinIO ...")
        self.stack.start_infra()
        try:
            configs = [Config("1 gateway, 1 generator", 1, 1)]
            if not self.args.quick:
                configs += [Config("1 gateway, 2 generators", 2, 1), Config("2 gateways, 1 generator", 1, 2),
                            Config("2 gateways, 2 generators", 2, 2)]
            results["pipeline"] = {}
            for n, config in enumerate(configs):
                urls = ",".join(self.start_pipeline(config))
                warm = self.args.warmup if n == 0 else 5
                _say(f"{config.label}: warming up {warm:g} s at {self.args.warmup_rate:g}/s ...")
                self.load(urls, self.args.warmup_rate, warm)
                _say(f"{config.label}: ramp")
                results["pipeline"][config.label] = self.measure(urls, "ws", self.pids())
            for svc in self.stack.services.values():
                svc.stop()
            self.stack.services.clear()

            if self.args.pipeline_only:
                return results
            _say("bwip-js: ramp")
            bwip = BwipServer(BENCH_DIR / "stack" / "logs" / "bwip.log")
            bwip.start()
            try:
                self.load(bwip.url, self.args.warmup_rate, 5, "render")
                assert bwip.proc is not None
                results["bwip"] = self.measure(bwip.url, "render", {"bwip-js": bwip.proc.pid, "load tool": os.getpid()})
                results["bwip"]["version"] = _bwip_version()
            finally:
                bwip.stop()

            _say("ceiling: render + verify + upload in one process ...")
            # Imported here: the rest of the harness drives any build of the services over the
            # network (it also benchmarks older commits), this part calls their code directly.
            from devstack.bench import ceiling as bench_ceiling

            s3 = S3Settings.from_env(Env(self.stack.env()))
            ceiling = bench_ceiling.measure(s3, seconds=self.args.ceiling_seconds)
            results["ceiling"] = ceiling.summary()
        finally:
            self.stack.stop()
        return results


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU time of each process so far (/proc/<pid>/stat), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        out[name] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def cpu_ms_per_job(before: dict[str, float], after: dict[str, float], jobs: int) -> dict[str, float]:
    """Milliseconds of CPU each process spent per completed job between two cpu_seconds()."""
    return {name: round((after[name] - before[name]) * 1000 / max(jobs, 1), 3) for name in before}


def _bwip_version() -> str:
    lock = json.loads((paths.ROOT / "scripts" / "bwip" / "package-lock.json").read_text())
    return str(lock["packages"]["node_modules/bwip-js"]["version"])


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    mem_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": str(os.cpu_count()), "cpu": cpu, "memory_gib": f"{mem_kib / 1024 / 1024:.0f}",
        "os": platform.platform(), "python": platform.python_version(), "java": java, "node": node,
        "kafka": paths.kafka_version(), "minio": paths.minio_module().rsplit("@", 1)[1],
        **{pkg: metadata.version(pkg) for pkg in ("aiokafka", "faust-streaming", "aiohttp", "zint-bindings",
                                                   "zxing-cpp", "Pillow")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", type=Path, default=CODE128, help="the workload (default: Code 128 PNG)")
    parser.add_argument("--ramp", type=rates, default="10:10:2000", help="start:step:max requests per second")
    parser.add_argument("--step-seconds", type=float, default=6.0)
    parser.add_argument("--half-seconds", type=float, default=20.0, help="the run at half of the peak")
    parser.add_argument("--p99-bound", type=float, default=100.0, help="ms: what 'sustainable' allows")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of load before the first ramp")
    parser.add_argument("--warmup-rate", type=float, default=40.0, help="below the peak: a backlog would spill "
                                                                         "into the first ramp step")
    parser.add_argument("--ceiling-seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="only the 1 gateway / 1 generator configuration")
    parser.add_argument("--pipeline-only", action="store_true",
                        help="skip bwip-js and the ceiling (tuning runs; implies --no-docs)")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/ (results JSON only)")
    args = parser.parse_args()
    eventloop.install()  # the load tool and the ceiling run on the services' event loop
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results = Bench(args).run()
    out = BENCH_DIR / "results.json"
    out.write_text(json.dumps(results, indent=2))
    _say(f"results in {out}")
    if args.pipeline_only:
        for label, r in results["pipeline"].items():
            print(label, "peak", r["peak"], "half", r.get("half", {}).get("latency_ms"), "cpu ms/job",
                  r.get("cpu_ms_per_job"))
        return
    report = bench_report.render(results)
    print(report)
    if not args.no_docs:
        (DOCS / "bench").mkdir(exist_ok=True)
        first = next(iter(results["pipeline"].values()))
        write_plot(first["ramp"], DOCS / "bench" / "pipeline.png")
        write_plot(results["bwip"]["ramp"], DOCS / "bench" / "bwip.png")
        doc = DOCS / "benchmarks.md"
        doc.write_text(bench_report.splice(doc.read_text(), report))
        _say(f"wrote {doc} and docs/bench/*.png")


if __name__ == "__main__":
    main()
