"""`make bench-servers`: the CPU the broker and the object store spend per job under candidate
settings of their own (thread pools, garbage collectors), with the services unchanged.

Kafka and MinIO are a third of the pipeline's CPU per job on this machine (docs/benchmarks.md).
Each variant restarts the server it changes (and the services, so every client starts fresh),
warms up at the measured rate, then measures CPU per completed job per process. Variants run
interleaved, `--rounds` times, so host drift hits all of them alike; the broker gets a longer
warm-up after a restart (a fresh JVM is several times slower until its JIT has compiled the hot
paths). Also measured: each server's CPU while idle, the background work a per-job figure hides.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from devstack.bench import pipeline as bench
from services.kafka import eventloop

DEFAULT_JVM = "-Xms256m -Xmx768m -XX:+UseG1GC"

# name -> (broker properties, broker JVM options, MinIO environment); {} / None = as shipped.
VARIANTS: dict[str, tuple[dict[str, str], str | None, dict[str, str]]] = {
    "as shipped (3 network, 8 io threads; G1; MinIO defaults)": ({}, None, {}),
    "broker: 1 network, 2 io threads": ({"num.network.threads": "1", "num.io.threads": "2"}, None, {}),
    "broker: 1 network, 2 io threads, SerialGC": (
        {"num.network.threads": "1", "num.io.threads": "2"}, "-Xms256m -Xmx768m -XX:+UseSerialGC", {}),
    "MinIO: GOGC=400": ({}, None, {"GOGC": "400"}),
    "MinIO: GOMAXPROCS=1": ({}, None, {"GOMAXPROCS": "1"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench.servers", description=__doc__)
    parser.add_argument("--rate", type=float, default=125.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds at the rate before measuring")
    parser.add_argument("--broker-warmup", type=float, default=60.0, help="the warm-up after a broker restart")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the variants whose name starts with TEXT (repeatable; the first stays)")
    args = parser.parse_args()
    names = [n for n in VARIANTS if n == next(iter(VARIANTS)) or not args.only
             or any(n.startswith(t) for t in args.only)]
    eventloop.install()
    run = bench.Bench(argparse.Namespace(mix=bench.CODE128, connections=16))
    stack = run.stack
    rows: list[dict[str, object]] = []
    current: tuple[dict[str, str], str | None, dict[str, str]] | None = None
    try:
        for round_no in range(1, args.rounds + 1):
            for name in names:
                props, jvm, minio_env = VARIANTS[name]
                broker_changed = current is None or (props, jvm) != current[:2]
                minio_changed = current is None or minio_env != current[2]
                for svc in stack.services.values():
                    svc.stop()
                stack.services.clear()
                if broker_changed:
                    stack.kafka.stop()
                    stack.kafka.extra_props = dict(props)
                    os.environ["BARCODE_KAFKA_JVM_OPTS"] = jvm or DEFAULT_JVM
                    stack.kafka.start()
                if minio_changed:
                    stack.minio.stop()
                    stack.minio.extra_env = dict(minio_env)
                    stack.minio.start()
                current = (props, jvm, minio_env)
                url = run.start_pipeline()[0]
                warm = args.broker_warmup if broker_changed else args.warmup
                print(f"[bench-servers] round {round_no}: {name}: warming up {warm:g} s", file=sys.stderr, flush=True)
                run.load(url, args.rate, warm)
                pids = run.pipeline_pids()
                before = bench.cpu_seconds(pids)
                results = run.load(url, args.rate, args.seconds)
                after = bench.cpu_seconds(pids)
                cpu = bench.cpu_ms_per_job(before, after, results.completed)
                idle_before, started = bench.cpu_seconds(pids), time.monotonic()
                time.sleep(5.0)
                idle_after, idle_took = bench.cpu_seconds(pids), time.monotonic() - started
                summary = results.summary()
                row = {"variant": name, "round": round_no, "rate": args.rate, "achieved": summary["achieved_rate"],
                       "p50": summary["latency_ms"]["p50"], "p99": summary["latency_ms"]["p99"],
                       "cpu_ms_per_job": cpu, "total_ms": round(sum(cpu.values()), 2),
                       "idle_cpu_pct": {k: round((idle_after[k] - idle_before[k]) / idle_took * 100, 1)
                                        for k in ("kafka", "minio")}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        stack.stop()
    print("\nvariant | kafka ms/job | minio ms/job | total ms/job | p50 ms | p99 ms | idle kafka/minio % (medians)")
    for name in names:
        mine = [r for r in rows if r["variant"] == name]
        med = lambda f: round(statistics.median(f(r) for r in mine), 2)  # noqa: E731
        print(f"{name} | {med(lambda r: r['cpu_ms_per_job']['kafka'])} | {med(lambda r: r['cpu_ms_per_job']['minio'])}"
              f" | {med(lambda r: r['total_ms'])} | {med(lambda r: r['p50'])} | {med(lambda r: r['p99'])}"
              f" | {med(lambda r: r['idle_cpu_pct']['kafka'])}/{med(lambda r: r['idle_cpu_pct']['minio'])}")


if __name__ == "__main__":
    main()
