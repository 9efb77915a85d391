"""`make bench`: one run that measures, side by side on this machine,

1. the peak sustainable rate (open-loop ramp) of the pipeline (over WebSockets, Code 128 PNG
   with unique data, verified and stored), of bwip-js's HTTP handler in one Node process, and
   of bwip-js in a two-process Node cluster behind one port, drawing the same pixel size. The
   ramps are interleaved (at each rate, every system still holding runs its step) and repeated
   `--runs` times (3): the report gives the median and the spread, so the host's drift hits
   every system alike;
2. at half of each system's median peak, latency percentiles, per-stage times and the CPU every
   process spends per job (median of the runs, interleaved too);
3. the raw in-process render + verify + upload rate (the ceiling for one generator process);
4. the gateway tier: with 1, 2 and 4 gateways, the load sent to one of them, the CPU each
   gateway spends per job: the one serving the clients, and the others (their cost of jobs
   they do not serve);
5. peak RSS (VmHWM) of every service.

Kafka and MinIO are started once on free ports (under .local/bench) and warmed up (a fresh
JVM broker is several times slower until its JIT has compiled the hot paths). The load tool is
one caller, so the gateways' per-caller budget is lifted (GATEWAY_RATE_LIMIT). Results go to
.local/bench/results.json, the plots to docs/bench/, and the tables into docs/benchmarks.md
between the `bench:begin`/`bench:end` markers (the rest of that file is prose and is left alone).
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from devstack import paths
from devstack.bench import report as bench_report
from devstack.bench.bwip import BwipServer
from devstack.bench.memory import rss_kib
from devstack.stack import Stack
from loadtest.plot import write_plot
from loadtest.ramp import ramp_together, rates
from loadtest.results import Results
from loadtest.runner import RENDER_QUERY, run
from loadtest.workload import Mix
from services.settings import Env, S3Settings
from services.kafka import eventloop

BENCH_DIR = paths.LOCAL / "bench"
DOCS = paths.ROOT / "docs"
CODE128 = paths.ROOT / "loadtest" / "code128.json"
PIPELINE, BWIP, BWIP2 = "pipeline", "bwip-js", "bwip-js, 2 processes"
# The load tool is one caller: without this, the gateway's per-caller budget (200/s by
# default) would be what the ramp finds. 0: no budget.
UNLIMITED = {"GATEWAY_RATE_LIMIT": "0"}


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class System:
    """One thing under load: where to send it, how (ws or render), and which processes it is."""

    def __init__(self, name: str, url: str, mode: str, pids: Callable[[], dict[str, int]]) -> None:
        self.name, self.url, self.mode, self.pids = name, url, mode, pids


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mix = Mix.load(args.mix)
        shutil.rmtree(BENCH_DIR / "stack", ignore_errors=True)
        self.stack = Stack.create(BENCH_DIR / "stack")

    # -- the pipeline ------------------------------------------------------------------------
    def start_pipeline(self, gateways: int = 1, **env: str) -> list[str]:
        """(Re)start the services with `gateways` gateways, `env` overriding their settings;
        returns the gateways' URLs. Kafka and MinIO keep running (and warm)."""
        for svc in self.stack.services.values():
            svc.stop()
        self.stack.services.clear()
        return self.stack.start_pipeline(gateways=gateways, **{**UNLIMITED, **env})

    def load(self, url: str, rate: float, seconds: float, mode: str = "ws") -> Results:
        return asyncio.run(run(url, rate, seconds, self.args.connections, mode, self.mix, progress=False))

    def pipeline_pids(self) -> dict[str, int]:
        """Every process on the path of a job, by name (the load tool included)."""
        out = {name: svc.proc.pid for name, svc in self.stack.services.items() if svc.proc is not None}
        for name, server in (("kafka", self.stack.kafka), ("minio", self.stack.minio)):
            if server.proc is not None:
                out[name] = server.proc.pid
        return {**out, "load tool": os.getpid()}

    # -- the comparison ----------------------------------------------------------------------
    def compare(self, systems: list[System]) -> dict[str, Any]:
        """`runs` interleaved ramps, then `runs` interleaved runs at half of each median peak."""
        out: dict[str, Any] = {s.name: {"ramps": [], "peaks": [], "half_runs": [], "cpu_runs": []} for s in systems}

        def step(system: System) -> Callable[[float], Results]:
            def run_step(rate: float) -> Results:
                # Unmeasured, at the step's rate: each system sat idle while the others ran
                # their steps, and its first second back (connections, caches, a broker fetch
                # session) would otherwise land in the measured step's p99.
                if self.args.step_warmup:
                    self.load(system.url, rate, self.args.step_warmup, system.mode)
                return self.load(system.url, rate, self.args.step_seconds, system.mode)
            return run_step

        def report(name: str, results: Results) -> None:
            s = results.summary()
            _say(f"  {name}: {s['offered_rate']:g}/s -> {s['achieved_rate']:g}/s, p50 {s['latency_ms']['p50']} ms, "
                 f"p99 {s['latency_ms']['p99']} ms, errors {results.errors}, lost {s['lost']}")

        for n in range(self.args.runs):
            _say(f"ramp {n + 1} of {self.args.runs}, interleaved: {', '.join(s.name for s in systems)}")
            found = ramp_together({s.name: step(s) for s in systems}, self.args.ramp, self.args.p99_bound, report)
            for name, r in found.items():
                out[name]["ramps"].append(r.steps)
                out[name]["peaks"].append(r.peak)
        for s in systems:
            peaks = [p for p in out[s.name]["peaks"] if p]
            out[s.name]["peak"] = statistics.median(peaks) if len(peaks) == len(out[s.name]["peaks"]) else None
            out[s.name]["peak_rss_mib"] = {name: round(rss_kib(pid, "VmHWM") / 1024, 1)
                                          for name, pid in s.pids().items()
                                          if name not in ("kafka", "minio", "load tool")}
        for n in range(self.args.runs):
            for s in systems:
                peak = out[s.name]["peak"]
                if not peak:
                    continue
                _say(f"half peak {n + 1} of {self.args.runs}: {s.name} at {peak / 2:g}/s")
                pids = s.pids()
                before = cpu_seconds(pids)
                half = self.load(s.url, peak / 2, self.args.half_seconds, s.mode)
                out[s.name]["half_runs"].append(half.summary())
                out[s.name]["cpu_runs"].append(cpu_ms_per_job(before, cpu_seconds(pids), half.completed))
        for s in systems:
            r = out[s.name]
            if r["half_runs"]:
                r["half"] = median_summary(r["half_runs"])
                r["cpu_ms_per_job"] = {k: round(statistics.median(c[k] for c in r["cpu_runs"]), 3)
                                       for k in r["cpu_runs"][0]}
        return out

    def gateway_scaling(self, rate: float) -> dict[str, Any]:
        """With 1, 2 and 4 gateways, `rate` jobs/s sent to the first one only: the CPU per job
        of the gateway serving them and of each other one (the cost of jobs it does not serve)."""
        out: dict[str, Any] = {}
        for count in self.args.gateways:
            urls = self.start_pipeline(gateways=count)
            _say(f"{count} gateway(s): {rate:g}/s to the first, {self.args.half_seconds:g} s")
            self.load(urls[0], rate, 10)
            pids = {n: svc.proc.pid for n, svc in self.stack.services.items()
                    if n.startswith("gateway") and svc.proc is not None}
            before = cpu_seconds(pids)
            results = self.load(urls[0], rate, self.args.half_seconds)
            cpu = cpu_ms_per_job(before, cpu_seconds(pids), results.completed)
            serving = min(pids)  # "gateway" or "gateway-1"
            others = [v for k, v in cpu.items() if k != serving]
            out[str(count)] = {"rate": rate, "completed": results.completed, "serving_ms": cpu[serving],
                               "other_ms": others, "latency_ms": results.summary()["latency_ms"]}
        return out

    def image_sizes(self, gateway: str, bwip: str) -> dict[str, list[int]]:
        """The pixel size each system draws for the same Code 128 data: equal work."""
        from PIL import Image

        data = "LOAD-123456"
        body = json.dumps({"symbology": "code128", "format": "png", "data": data}).encode()
        req = urllib.request.Request(f"{gateway}/v1/jobs", body, {"Content-Type": "application/json"})
        job = json.load(urllib.request.urlopen(req, timeout=10))
        done = json.load(urllib.request.urlopen(f"{gateway}/v1/jobs/{job['job_id']}?wait=10", timeout=15))
        ours = urllib.request.urlopen(done["file_url"], timeout=10).read()
        theirs = urllib.request.urlopen(f"{bwip}/?{RENDER_QUERY.format(symbology='code128', data=data)}",
                                        timeout=10).read()
        return {PIPELINE: list(Image.open(io.BytesIO(ours)).size), BWIP: list(Image.open(io.BytesIO(theirs)).size)}

    # -- the whole run -----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        results: dict[str, Any] = {"machine": machine(), "command": " ".join(["make bench", *sys.argv[1:]]),
                                   "started": time.time(),
                                   "p99_bound_ms": self.args.p99_bound, "runs": self.args.runs,
                                   "step_warmup": self.args.step_warmup,
                                   "mix": json.loads(self.args.mix.read_text())}
        _say("starting Kafka and MinIO ...")
        self.stack.start_infra()
        servers: list[BwipServer] = []
        try:
            url = self.start_pipeline()[0]
            systems = [System(PIPELINE, url, "ws", self.pipeline_pids)]
            if not self.args.pipeline_only:
                for name, workers in ((BWIP, 1), (BWIP2, 2)):
                    server = BwipServer(BENCH_DIR / "stack" / "logs" / f"bwip-{workers}.log", workers=workers)
                    server.start()
                    servers.append(server)
                    systems.append(System(name, server.url, "render",
                                          lambda srv=server: {**srv.pids(), "load tool": os.getpid()}))
                results["sizes"] = self.image_sizes(url, servers[0].url)
                _say(f"pixel size per image: {results['sizes']}")
            _say(f"warming up {self.args.warmup:g} s at {self.args.warmup_rate:g}/s ...")
            self.load(url, self.args.warmup_rate, self.args.warmup)
            for s in systems[1:]:
                self.load(s.url, self.args.warmup_rate, 5, "render")
            results["systems"] = self.compare(systems)
            for server in servers:
                server.stop()
            servers.clear()
            if not self.args.pipeline_only:
                results["bwip_version"] = _bwip_version()
                peak = results["systems"][PIPELINE]["peak"] or self.args.warmup_rate * 2
                results["gateways"] = self.gateway_scaling(peak / 2)
                _say("ceiling: render + verify + upload in one process ...")
                # Imported here: the rest of the harness drives any build of the services over the
                # network (it also benchmarks older commits), this part calls their code directly.
                from devstack.bench import ceiling as bench_ceiling

                s3 = S3Settings.from_env(Env(self.stack.env()))
                results["ceiling"] = bench_ceiling.measure(s3, seconds=self.args.ceiling_seconds).summary()
        finally:
            for server in servers:
                server.stop()
            self.stack.stop()
        return results


def median_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose p99 is the median one (its own p50, stages and all), plus every run's p50
    and p99 for the spread."""
    ordered = sorted(runs, key=lambda r: r["latency_ms"]["p99"])
    out = dict(ordered[(len(ordered) - 1) // 2])
    out["p50_runs"] = [r["latency_ms"]["p50"] for r in runs]
    out["p99_runs"] = [r["latency_ms"]["p99"] for r in runs]
    out["p50_median"] = statistics.median(out["p50_runs"])
    return out


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
        **{pkg: metadata.version(pkg) for pkg in ("aiokafka", "aiohttp", "zint-bindings", "zxing-cpp", "Pillow")},
    }


def _counts(spec: str) -> list[int]:
    return [int(x) for x in spec.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", type=Path, default=CODE128, help="the workload (default: Code 128 PNG)")
    parser.add_argument("--ramp", type=rates, default="50:25:1000", help="start:step:max requests per second")
    parser.add_argument("--runs", type=int, default=3, help="interleaved ramps (and half-peak runs) per system")
    parser.add_argument("--step-seconds", type=float, default=6.0)
    parser.add_argument("--step-warmup", type=float, default=2.0,
                        help="unmeasured seconds at a step's rate before the step (after the other systems' steps)")
    parser.add_argument("--half-seconds", type=float, default=20.0, help="the run at half of the peak")
    parser.add_argument("--p99-bound", type=float, default=100.0, help="ms: what 'sustainable' allows")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of load before the first ramp")
    parser.add_argument("--warmup-rate", type=float, default=40.0, help="below the peak: a backlog would spill "
                                                                         "into the first ramp step")
    parser.add_argument("--gateways", type=_counts, default="1,2,4", help="gateway counts for the scaling table")
    parser.add_argument("--ceiling-seconds", type=float, default=10.0)
    parser.add_argument("--pipeline-only", action="store_true",
                        help="only the pipeline's ramps and half-peak runs (tuning runs; implies --no-docs)")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/ (results JSON only)")
    args = parser.parse_args()
    eventloop.install()  # the load tool and the ceiling run on the services' event loop
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results = Bench(args).run()
    out = BENCH_DIR / "results.json"
    out.write_text(json.dumps(results, indent=2))
    _say(f"results in {out}")
    if args.pipeline_only:
        r = results["systems"][PIPELINE]
        print("peaks", r["peaks"], "half", r.get("half", {}).get("latency_ms"), "cpu ms/job", r.get("cpu_ms_per_job"),
              "total", round(sum(r.get("cpu_ms_per_job", {}).values()), 2))
        return
    report = bench_report.render(results)
    print(report)
    if not args.no_docs:
        (DOCS / "bench").mkdir(exist_ok=True)
        for name, file in ((PIPELINE, "pipeline.png"), (BWIP, "bwip.png"), (BWIP2, "bwip2.png")):
            ramps = results["systems"][name]["ramps"]
            write_plot(ramps[len(ramps) // 2], DOCS / "bench" / file)
        doc = DOCS / "benchmarks.md"
        doc.write_text(bench_report.splice(doc.read_text(), report))
        _say(f"wrote {doc} and docs/bench/*.png")


if __name__ == "__main__":
    main()
