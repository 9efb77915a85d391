"""`make bench-settings`: the CPU each process spends per job under each candidate setting.

On a 2-core machine where the broker, the object store, four services and the load tool share
the CPUs, throughput is total CPU / CPU per job, so CPU per job at a fixed rate is the figure a
setting must lower (latency percentiles at saturation are too noisy to compare settings by).
Kafka and MinIO start once and are warmed up; the services restart for every variant; the
first variant runs again at the end to show how much the machine drifted meanwhile.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from devstack.bench import pipeline as bench
from devstack.install import install_jaeger
from devstack.jaeger import JaegerServer
from devstack.bench import report as bench_report
from loadtest.workload import Mix
from services.kafka import eventloop

# name -> service settings; "baseline" is how the services ran before issue #5's tuning.
VARIANTS: dict[str, dict[str, str]] = {
    "baseline: asyncio loop, fetch wait 10 ms": {"BARCODE_EVENT_LOOP": "asyncio", "BARCODE_FETCH_MAX_WAIT_MS": "10"},
    "fetch wait 100 ms": {"BARCODE_EVENT_LOOP": "asyncio", "BARCODE_FETCH_MAX_WAIT_MS": "100"},
    "uvloop, fetch wait 100 ms": {"BARCODE_EVENT_LOOP": "uvloop", "BARCODE_FETCH_MAX_WAIT_MS": "100"},
    "min 4 KiB, uvloop, fetch wait 10 ms": {"BARCODE_EVENT_LOOP": "uvloop", "BARCODE_FETCH_MAX_WAIT_MS": "10",
                                            "BARCODE_FETCH_MIN_BYTES": "4096"},
    "linger 2 ms, uvloop, fetch wait 100 ms": {"BARCODE_EVENT_LOOP": "uvloop", "BARCODE_FETCH_MAX_WAIT_MS": "100",
                                               "BARCODE_LINGER_MS": "2"},
    "1 render thread, uvloop, fetch wait 100 ms": {"BARCODE_EVENT_LOOP": "uvloop", "BARCODE_FETCH_MAX_WAIT_MS": "100",
                                                   "GENERATOR_RENDER_THREADS": "1"},
    "2 render threads, uvloop, fetch wait 100 ms": {"BARCODE_EVENT_LOOP": "uvloop", "BARCODE_FETCH_MAX_WAIT_MS": "100",
                                                    "GENERATOR_RENDER_THREADS": "2"},
    # Issue 28: the stage runtime's Kafka client (router, generator, notifier; the gateway keeps aiokafka).
    "aiokafka stage clients": {"BARCODE_STAGE_KAFKA_CLIENT": "aiokafka"},
    "librdkafka stage clients (confluent-kafka)": {"BARCODE_STAGE_KAFKA_CLIENT": "librdkafka"},
    # Not a setting but a request field: what the page's per-step timeline costs when every job asks.
    "progress events on every job (defaults)": {},
    # Issue 30: OpenTelemetry traces (services/tracing.py), exported to a Jaeger started here.
    # JAEGER stands for its OTLP endpoint; Jaeger's own CPU is not the pipeline's and is left out.
    "traces off (the default)": {},
    "traces on, every job": {"BARCODE_OTLP_ENDPOINT": "JAEGER"},
    "traces on, 10% of jobs": {"BARCODE_OTLP_ENDPOINT": "JAEGER", "BARCODE_TRACE_SAMPLE": "0.1"},
}
# Variants that send another workload than the Code 128 mix.
MIXES: dict[str, Path] = {"progress events on every job (defaults)": bench.CODE128.with_name("code128-progress.json")}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench.settings", description=__doc__)
    parser.add_argument("--rates", default="40,80")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--mode", default="ws", choices=("ws", "image"),
                        help="ws: jobs over WebSockets; image: GET /v1/barcode, every request a miss")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the chosen variants this many times, interleaved (then the first once more)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the variants whose name starts with TEXT (repeatable)")
    args = parser.parse_args()
    chosen = [n for n in VARIANTS if not args.only or any(n.startswith(t) for t in args.only)]
    if not chosen:
        parser.error(f"no variant matches {args.only}; variants: {', '.join(VARIANTS)}")
    eventloop.install()
    run = bench.Bench(argparse.Namespace(mix=bench.CODE128, connections=16))
    rates = [float(r) for r in args.rates.split(",")]
    rows = []
    run.stack.start_infra()
    jaeger = JaegerServer(run.stack.root / "jaeger") if any(
        "JAEGER" in VARIANTS[name].values() for name in chosen) else None
    try:
        if jaeger is not None:
            install_jaeger()
            jaeger.start()
        names = [*chosen * args.rounds, chosen[0]]
        for n, name in enumerate(names):
            env = {key: jaeger.otlp_endpoint if value == "JAEGER" and jaeger else value
                   for key, value in VARIANTS[name].items()}
            url = ",".join(run.start_pipeline(**env))
            run.mix = Mix.load(MIXES.get(name, bench.CODE128))
            warm = args.warmup if n == 0 else 5.0
            print(f"[bench-settings] {name}: warming up {warm:g} s", file=sys.stderr, flush=True)
            run.load(url, 100, warm, args.mode)
            for rate in rates:
                pids = run.pipeline_pids()
                before, started = bench.cpu_seconds(pids), time.monotonic()
                results = run.load(url, rate, args.seconds, args.mode)
                after, took = bench.cpu_seconds(pids), time.monotonic() - started
                summary = results.summary()
                cpu = bench.cpu_ms_per_job(before, after, results.completed)
                row = {"variant": name, "mode": args.mode, "rate": rate, "achieved": summary["achieved_rate"],
                       "p50": summary["latency_ms"]["p50"], "p99": summary["latency_ms"]["p99"],
                       "busy_pct": round(sum(after[k] - before[k] for k in pids) / took * 100),
                       "cpu_ms_per_job": cpu, "total_ms": round(sum(cpu.values()), 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        run.stack.stop()
        if jaeger is not None:
            jaeger.stop()
    (bench.BENCH_DIR / "settings.json").write_text(json.dumps(rows, indent=2))
    print(f"\n{'variant':42} {'rate':>5} {'p50':>7} {'p99':>7} {'busy':>5}  ms CPU/job: gw  router gen  notif kafka minio total")
    for r in rows:
        c = bench_report.per_kind(r["cpu_ms_per_job"])
        print(f"{r['variant']:42} {r['rate']:5g} {r['p50']:7.1f} {r['p99']:7.1f} {r['busy_pct']:4d}%  "
              + " ".join(f"{c.get(k, 0):5.2f}" for k in ("gateway", "router", "generator", "notifier", "kafka", "minio"))
              + f" {r['total_ms']:5.1f}")


if __name__ == "__main__":
    main()
